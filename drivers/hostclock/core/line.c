// SPDX-License-Identifier: GPL-2.0
/*
 * The clocksource's line: nanoseconds as a linear function of the TSC.
 *
 * The clocksource never returns page time directly, since a host step would
 * step it. It keeps its own line and, when the host's period changes,
 * rebases: the new line starts at the old line's value at the rebase TSC,
 * fraction of a nanosecond included, so the switch is exact and no rounding
 * accumulates over many rebases. From there it runs at the new rate.
 */
#include "hostclock/core.h"

#define HOSTCLOCK_LINE_FRAC_MASK	((1ULL << HOSTCLOCK_LINE_FRAC_BITS) - 1)

/**
 * hostclock_period_to_mult() - a page period as a line rate
 * @period_frac_sec: counter period in 2^-(64 + @shift) s
 * @shift: counter_period_shift
 *
 * mult = period * 10^9 * 2^54 / 2^(64 + shift), rounded to nearest. For a
 * period that passed hostclock_clock_validate() the result is nonzero and
 * below 2^64.
 *
 * Return: the rate in 2^-54 ns per tick; 0 for a shift the validator
 * rejects; U64_MAX where the rate does not fit.
 */
u64 hostclock_period_to_mult(u64 period_frac_sec, u8 shift)
{
	unsigned __int128 ns_fixed;
	unsigned int drop = 64 - HOSTCLOCK_LINE_FRAC_BITS + shift;

	if (shift > HOSTCLOCK_SHIFT_MAX)
		return 0;
	ns_fixed = (unsigned __int128)period_frac_sec * NSEC_PER_SEC;
	ns_fixed = (ns_fixed + ((unsigned __int128)1 << (drop - 1))) >> drop;
	return ns_fixed > U64_MAX ? U64_MAX : (u64)ns_fixed;
}

/*
 * The line's value at @tsc in 2^-54 ns. The TSC delta is taken as signed so
 * that a read just before base_tsc (another CPU, a racing rebase) lands just
 * before base rather than 2^64 ticks later. With |delta| <= 2^63 and
 * mult < 2^64 the sum stays below 2^128.
 */
static notrace unsigned __int128 hostclock_line_fixed(const struct hostclock_line *line,
						      u64 tsc)
{
	unsigned __int128 base, step;
	s64 delta = (s64)(tsc - line->base_tsc);

	base = ((unsigned __int128)line->base_ns << HOSTCLOCK_LINE_FRAC_BITS) |
	       line->base_frac;
	if (delta >= 0)
		return base + (unsigned __int128)(u64)delta * line->mult;
	step = (unsigned __int128)(-(u64)delta) * line->mult;
	return step > base ? 0 : base - step;
}

/**
 * hostclock_line_start() - begin a line
 * @line: the line
 * @tsc: counter value at the start
 * @ns: nanoseconds the line reads at @tsc
 * @mult: rate from hostclock_period_to_mult()
 */
void hostclock_line_start(struct hostclock_line *line, u64 tsc, u64 ns,
			  u64 mult)
{
	line->base_tsc = tsc;
	line->base_ns = ns;
	line->base_frac = 0;
	line->mult = mult;
}

/**
 * hostclock_line_ns() - the line's value at a counter reading
 * @line: the line
 * @tsc: a counter reading
 *
 * notrace, like the rest of the clocksource's read path: the tracing clocks
 * (ktime_get_mono_fast_ns()) read the clocksource, and a traced read would
 * recurse into the tracer.
 *
 * Return: whole nanoseconds, rounded down; 0 before the line's origin and
 * U64_MAX past its end, neither of which a running system reaches.
 */
notrace u64 hostclock_line_ns(const struct hostclock_line *line, u64 tsc)
{
	unsigned __int128 ns = hostclock_line_fixed(line, tsc) >>
			       HOSTCLOCK_LINE_FRAC_BITS;

	return ns > U64_MAX ? U64_MAX : (u64)ns;
}

/**
 * hostclock_line_rebase() - continue the line at a new rate
 * @line: the line
 * @tsc: where the new rate starts, normally the current counter
 * @mult: the new rate
 *
 * The line reads exactly the same at @tsc before and after, to a fraction
 * of a nanosecond.
 */
void hostclock_line_rebase(struct hostclock_line *line, u64 tsc, u64 mult)
{
	unsigned __int128 at = hostclock_line_fixed(line, tsc);
	unsigned __int128 ns = at >> HOSTCLOCK_LINE_FRAC_BITS;

	if (ns > U64_MAX) {
		line->base_ns = U64_MAX;
		line->base_frac = 0;
	} else {
		line->base_ns = (u64)ns;
		line->base_frac = (u64)at & HOSTCLOCK_LINE_FRAC_MASK;
	}
	line->base_tsc = tsc;
	line->mult = mult;
}

/* Past this many ns from the base, inverting would overflow: refuse. */
#define HOSTCLOCK_LINE_INVERT_MAX_NS	BIT_ULL(56)
#define HOSTCLOCK_LINE_INVERT_MIN_MULT	BIT_ULL(47)

/**
 * hostclock_div128() - n / d for a quotient that fits in 64 bits
 * @n: dividend, with (n >> 64) < @d
 * @d: divisor
 *
 * Exact, by shift and subtract: no libgcc helper, and the kernel's generic
 * mul_u64_u64_div_u64() rounds on some versions.
 *
 * Return: the quotient.
 */
u64 hostclock_div128(unsigned __int128 n, u64 d)
{
	u64 hi = (u64)(n >> 64), lo = (u64)n, q = 0;
	unsigned int i;

	for (i = 0; i < 64; i++) {
		bool carry = hi >> 63;

		hi = (hi << 1) | (lo >> 63);
		lo <<= 1;
		q <<= 1;
		if (carry || hi >= d) {
			hi -= d;
			q |= 1;
		}
	}
	return q;
}

/**
 * hostclock_line_tsc_at() - where on the counter the line reads a value
 * @line: the line
 * @ns: a value hostclock_line_ns() returned on @line
 * @tsc: the counter value
 *
 * The ticks that read @ns form a run [first, last]; the answer is its
 * middle, so for a value read at counter c it lies within half a
 * nanosecond's worth of ticks of c (for a counter slower than 1 GHz the run
 * is the single tick c). The PTP clock uses it to recover the TSC behind a
 * clocksource reading.
 *
 * Return: false if no tick reads @ns (before the base, between two ticks of
 * a slow counter) or @ns lies too far beyond the base.
 */
bool hostclock_line_tsc_at(const struct hostclock_line *line, u64 ns, u64 *tsc)
{
	const unsigned __int128 one = (unsigned __int128)1 << HOSTCLOCK_LINE_FRAC_BITS;
	unsigned __int128 lo, hi;
	u64 d_ns, m = line->mult, first, last;

	/* a validated period gives mult > 2^47, so the quotients fit */
	if (ns < line->base_ns || m < HOSTCLOCK_LINE_INVERT_MIN_MULT)
		return false;
	d_ns = ns - line->base_ns;
	if (d_ns >= HOSTCLOCK_LINE_INVERT_MAX_NS)
		return false;
	/* ticks from the base to the start and the end of nanosecond @ns */
	lo = d_ns * one;
	hi = lo + one - 1;
	if (hi < line->base_frac)
		return false;
	hi -= line->base_frac;
	last = hostclock_div128(hi, m);
	if (lo <= line->base_frac)
		first = 0;
	else
		first = hostclock_div128(lo - line->base_frac + m - 1, m);
	if (first > last)
		return false;
	*tsc = line->base_tsc + first + (last - first) / 2;
	return true;
}

/**
 * hostclock_khz_to_mult() - the line rate of a counter of known frequency
 * @khz: the counter's frequency in kHz, as the kernel's tsc_khz gives it
 *
 * Return: 10^6 / @khz ns per tick in 2^-54 ns units, rounded to nearest;
 * 0 for a frequency outside the range the validator accepts of a page.
 */
u64 hostclock_khz_to_mult(u64 khz)
{
	const unsigned __int128 n = (unsigned __int128)1000000 << HOSTCLOCK_LINE_FRAC_BITS;

	/* the lowest accepted frequency keeps (n >> 64) below khz */
	if (khz < BIT_ULL(HOSTCLOCK_FREQ_MIN_LOG2) / 1000 ||
	    khz > BIT_ULL(HOSTCLOCK_FREQ_MAX_LOG2) / 1000)
		return 0;
	return hostclock_div128(n + khz / 2, khz);
}

/* Is |a - b| more than @ppm parts per million of b? (a, b below 2^64) */
static bool hostclock_rate_beyond(u64 a, u64 b, u32 ppm)
{
	u64 d = a > b ? a - b : b - a;

	return (unsigned __int128)d * 1000000 > (unsigned __int128)ppm * b;
}

/**
 * hostclock_rate_ppb() - how far one rate is from another
 * @rate: a line rate
 * @ref: the rate it is compared with, nonzero
 *
 * Return: (@rate - @ref) / @ref in parts per billion, rounded toward zero,
 * saturated at +-S64_MAX.
 */
s64 hostclock_rate_ppb(u64 rate, u64 ref)
{
	u64 d = rate > ref ? rate - ref : ref - rate;
	unsigned __int128 n = (unsigned __int128)d * 1000000000;
	u64 q;

	if (!ref || (u64)(n >> 64) >= ref)
		q = S64_MAX;
	else
		q = hostclock_div128(n, ref);
	if (q > S64_MAX)
		q = S64_MAX;
	return rate > ref ? (s64)q : -(s64)q;
}

/**
 * hostclock_rate_bound() - how much of a page's rate the clocksource takes
 * @want: the page's rate, from hostclock_period_to_mult()
 * @ref: the guest's own calibration of the counter, from
 *	hostclock_khz_to_mult(); 0 when the guest has none
 * @cur: the rate the line runs at now; 0 before the first page
 * @tolerance_ppm: @want further than this from @ref is refused; 0 sets no
 *	bound (and needs no @ref)
 * @step_ppm: the rate moves at most this far from @cur per page; 0 sets no
 *	limit
 * @use: the rate to run at from now; 0 when there is none (refused before
 *	the first page)
 *
 * The host's period is the host's calibration of the guest's counter. It
 * may differ from the guest's own by calibration error and the host NTP
 * daemon's frequency correction, but not by more: beyond the tolerance the
 * page is wrong (an agent bug, a fit across a host step, a hostile host)
 * and the line keeps its rate. Within it, a change is taken at most
 * @step_ppm at a time, so that no single page moves the rate far. Both
 * ppm values are capped below 10^6.
 *
 * Return: HOSTCLOCK_RATE_OK (@use is @want), HOSTCLOCK_RATE_LIMITED (@use
 * is @cur moved @step_ppm toward @want) or HOSTCLOCK_RATE_REFUSED (@use is
 * @cur).
 */
int hostclock_rate_bound(u64 want, u64 ref, u64 cur, u32 tolerance_ppm,
			 u32 step_ppm, u64 *use)
{
	unsigned __int128 step;

	if (tolerance_ppm > HOSTCLOCK_RATE_PPM_MAX)
		tolerance_ppm = HOSTCLOCK_RATE_PPM_MAX;
	if (step_ppm > HOSTCLOCK_RATE_PPM_MAX)
		step_ppm = HOSTCLOCK_RATE_PPM_MAX;
	*use = cur;
	if (!want || (tolerance_ppm && (!ref || hostclock_rate_beyond(want, ref, tolerance_ppm))))
		return HOSTCLOCK_RATE_REFUSED;
	if (!cur || !step_ppm || !hostclock_rate_beyond(want, cur, step_ppm)) {
		*use = want;
		return HOSTCLOCK_RATE_OK;
	}
	/* below cur, since step_ppm < 10^6; (step >> 64) < 10^6 for the divide */
	step = (unsigned __int128)cur * step_ppm;
	step = hostclock_div128(step, 1000000);
	*use = want > cur ? cur + (u64)step : cur - (u64)step;
	return HOSTCLOCK_RATE_LIMITED;
}

/**
 * hostclock_monotonic_guard() - never hand out less than was handed out
 * @last: the largest value handed out so far, shared by all CPUs
 * @ns: this CPU's reading
 * @clamped: set when @ns was behind *@last and the result is *@last
 *
 * For counters the kernel does not trust to be synchronised across CPUs:
 * a reading behind what another CPU already returned is raised to it.
 *
 * The exchange is retried until it wins or is overtaken, as pvclock's
 * guard does: a value returned without being recorded would let a later
 * reader return less. The loop is bounded by the other readers, not by
 * host data: each failed exchange means another CPU recorded a larger
 * value, so every round some CPU makes progress.
 *
 * Return: the larger of @ns and *@last; *@last is advanced to it.
 */
notrace u64 hostclock_monotonic_guard(u64 *last, u64 ns, bool *clamped)
{
	u64 prev = READ_ONCE(*last), seen;

	for (;;) {
		if ((s64)(ns - prev) <= 0) {
			*clamped = ns != prev;
			return prev;
		}
		seen = cmpxchg64(last, prev, ns);
		if (seen == prev) {
			*clamped = false;
			return ns;
		}
		prev = seen;
	}
}
