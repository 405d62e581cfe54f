// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-clock's reading of the TSC, for finding the TSC behind a system time
 * snapshot taken while kvm-clock is the current clocksource.
 *
 * kvm-clock turns a TSC value into nanoseconds with a per-vCPU page the
 * hypervisor writes (struct pvclock_vcpu_time_info). Given that page's
 * values, the TSC reads bracketing a snapshot and the snapshot's kvm-clock
 * reading, the TSC behind the reading is the TSC in the bracket that the
 * page maps to it. The page is hypervisor input: a shift out of range, a
 * bracket before the page's timestamp or a product that wraps is refused,
 * and so is a reading no TSC in the bracket maps to (kvm-clock's own
 * monotonic guard may have raised it, or another clocksource is current).
 */
#include "hostclock/core.h"

/* KVM computes shifts in -31..31; anything wider is not a kvm-clock page. */
#define HOSTCLOCK_PVCLOCK_MAX_SHIFT	31

/**
 * hostclock_pvclock_ns() - kvm-clock's nanoseconds at a TSC value
 * @pv: the vCPU's pvclock values
 * @tsc: a TSC value at or after @pv->tsc_timestamp
 * @ns: the answer, computed as the kernel's kvm-clock read computes it
 *
 * Return: false when @pv cannot be used for @tsc (shift out of range, @tsc
 * before the page's timestamp, or a scaled delta wider than 64 bits).
 */
bool hostclock_pvclock_ns(const struct hostclock_pvclock *pv, u64 tsc, u64 *ns)
{
	u64 delta;

	if (pv->tsc_shift > HOSTCLOCK_PVCLOCK_MAX_SHIFT ||
	    pv->tsc_shift < -HOSTCLOCK_PVCLOCK_MAX_SHIFT || tsc < pv->tsc_timestamp)
		return false;
	delta = tsc - pv->tsc_timestamp;
	if (pv->tsc_shift < 0) {
		delta >>= -pv->tsc_shift;
	} else {
		if (delta > U64_MAX >> pv->tsc_shift)
			return false;
		delta <<= pv->tsc_shift;
	}
	*ns = pv->system_time +
	      (u64)(((__uint128_t)delta * pv->tsc_to_system_mul) >> 32);
	return true;
}

/*
 * The most TSC ticks one nanosecond of kvm-clock may stand for: a 16 GHz
 * TSC. A wider preimage means a page whose rate is flat (a tiny or zero
 * multiplier), and its middle could be far from the read.
 */
#define HOSTCLOCK_PVCLOCK_MAX_PREIMAGE	16

/**
 * hostclock_pvclock_tsc_of() - the TSC behind a kvm-clock reading
 * @pv: the pvclock values of the vCPU that took the reading
 * @cycles: the reading (kvm-clock's nanoseconds)
 * @tsc_lo: TSC read just before it
 * @tsc_hi: TSC read just after it
 * @tsc: the middle of the TSCs in [@tsc_lo, @tsc_hi] that @pv maps to @cycles
 *
 * The mapping is non-decreasing over the bracket (the endpoint checks rule
 * out a wrap), so two bisections of at most 64 steps each find the first
 * and the last TSC that give @cycles.
 *
 * Return: true if such TSCs exist and span at most
 * HOSTCLOCK_PVCLOCK_MAX_PREIMAGE ticks.
 */
bool hostclock_pvclock_tsc_of(const struct hostclock_pvclock *pv, u64 cycles,
			      u64 tsc_lo, u64 tsc_hi, u64 *tsc)
{
	u64 lo = tsc_lo, hi = tsc_hi, first, ns;

	if (tsc_lo > tsc_hi || !hostclock_pvclock_ns(pv, tsc_lo, &ns) || ns > cycles ||
	    !hostclock_pvclock_ns(pv, tsc_hi, &ns) || ns < cycles)
		return false;
	/*
	 * The first TSC in the bracket at or past @cycles. Every value in
	 * [tsc_lo, tsc_hi] converts, since both ends do: the results of
	 * hostclock_pvclock_ns() below need no check.
	 */
	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;

		hostclock_pvclock_ns(pv, mid, &ns);
		if (ns < cycles)
			lo = mid + 1;
		else
			hi = mid;
	}
	hostclock_pvclock_ns(pv, lo, &ns);
	if (ns != cycles)
		return false;
	first = lo;
	/* the last TSC in the bracket still at @cycles */
	hi = tsc_hi;
	while (lo < hi) {
		u64 mid = hi - (hi - lo) / 2;

		hostclock_pvclock_ns(pv, mid, &ns);
		if (ns > cycles)
			hi = mid - 1;
		else
			lo = mid;
	}
	if (lo - first > HOSTCLOCK_PVCLOCK_MAX_PREIMAGE)
		return false;
	*tsc = first + (lo - first) / 2;
	return true;
}
