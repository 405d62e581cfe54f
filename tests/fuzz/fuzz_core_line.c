// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the clocksource's arithmetic on host-chosen rates. A
 * line started and rebased on fuzzed periods must be continuous at every
 * rebase and advance exactly by its segments (the multi-precision
 * reference of tests/common); its inverse must find the tick it was read
 * at; the bound on the host's rate must refuse, limit and pass exactly as
 * 128-bit arithmetic says; the guard never returns less than it recorded.
 *
 * fuzz-links: drivers/hostclock/core/line.c tests/common/hostclock_ref.c
 *
 * Input: a start (tsc 8 bytes), then up to 16 records of 12 bytes: ticks to advance
 * (4 bytes, shifted by a fifth byte's low bits), a period (4 bytes, placed
 * in the accepted range for the record's shift), the shift, and the rate
 * bound's tolerance and step (1 byte each, in tens of ppm).
 */
#include <stdio.h>
#include <stdlib.h>

#include "hostclock/core.h"
#include "hostclock_ref.h"

#define fuzz_assert(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_core_line: " __VA_ARGS__);	\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

#define FUZZ_RECORD	12
#define FUZZ_RECORDS	16	/* rebases per input: enough to accumulate, and fast */
#define FUZZ_START_NS	(1ULL << 50)

static u64 fuzz_le(const u8 *b, unsigned int n)
{
	u64 v = 0;

	while (n--)
		v = (v << 8) | b[n];
	return v;
}

/* A period the validator accepts at @shift: in [2^(28 + s), 2^(44 + s)]. */
static u64 fuzz_period(u32 raw, u8 shift)
{
	unsigned int lo = 28 + shift, hi = 44 + shift > 64 ? 64 : 44 + shift;
	unsigned int log = lo + raw % (hi - lo);

	return (1ULL << log) | ((u64)raw << (log > 32 ? log - 32 : 0) & ((1ULL << log) - 1));
}

/* The bound on the host's rate against plain 128-bit arithmetic. */
static void fuzz_rate(u64 want, u64 ref, u64 cur, u32 tol, u32 step)
{
	unsigned __int128 dref = want > ref ? want - ref : ref - want;
	unsigned __int128 dcur = want > cur ? want - cur : cur - want;
	bool refuse = tol && dref * 1000000 > (unsigned __int128)tol * ref;
	bool limit = !refuse && cur && step && dcur * 1000000 > (unsigned __int128)step * cur;
	u64 use, expect = cur;
	int got;

	if (limit) {
		u64 s = (u64)((unsigned __int128)cur * step / 1000000);

		expect = want > cur ? cur + s : cur - s;
	} else if (!refuse) {
		expect = want;
	}
	got = hostclock_rate_bound(want, ref, cur, tol, step, &use);
	fuzz_assert(got == (refuse ? HOSTCLOCK_RATE_REFUSED :
			    limit ? HOSTCLOCK_RATE_LIMITED : HOSTCLOCK_RATE_OK) && use == expect,
		    "rate bound %d: %llu for %llu (ref %llu cur %llu tol %u step %u)", got,
		    (unsigned long long)use, (unsigned long long)want, (unsigned long long)ref,
		    (unsigned long long)cur, tol, step);
}

/* The inverse finds the tick, within half a nanosecond's worth of ticks. */
static void fuzz_inverse(const struct hostclock_line *line, u64 c)
{
	u64 ns = hostclock_line_ns(line, c), back, per_ns, span;

	/* far beyond the base (or saturated) the inverse refuses by design */
	if (ns == U64_MAX || ns - line->base_ns >= (1ULL << 55))
		return;
	fuzz_assert(hostclock_line_tsc_at(line, ns, &back), "no inverse of %llu ns",
		    (unsigned long long)ns);
	per_ns = (1ULL << HOSTCLOCK_LINE_FRAC_BITS) / line->mult / 2 + 1;
	span = (s64)(back - c) < 0 ? c - back : back - c;	/* the counter wraps */
	fuzz_assert(span <= per_ns && hostclock_line_ns(line, back) == ns,
		    "inverse of %llu ns read at %llu: %llu", (unsigned long long)ns,
		    (unsigned long long)c, (unsigned long long)back);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct hostclock_line line;
	struct hc_mp acc;
	u64 tsc, period, mult, ref, exact, got, guard_last = 0, guard_max = 0;
	u64 run_period = 0, slack;
	unsigned __int128 all_ticks = 0;
	bool started = false;
	size_t off;
	u8 shift, run_shift = 0;

	if (size < 8)
		return 0;
	tsc = fuzz_le(data, 8);
	hc_mp_set(&acc, 0);
	if (size > 8 + FUZZ_RECORDS * FUZZ_RECORD)
		size = 8 + FUZZ_RECORDS * FUZZ_RECORD;
	for (off = 8; off + FUZZ_RECORD <= size; off += FUZZ_RECORD) {
		const u8 *r = data + off;
		u64 ticks = fuzz_le(r, 4) << (r[4] % 24);
		u64 before, after, out;
		bool clamped;

		shift = r[9] % (HOSTCLOCK_SHIFT_MAX + 1);
		period = fuzz_period(fuzz_le(r + 5, 4), shift);
		mult = hostclock_period_to_mult(period, shift);
		fuzz_assert(mult && mult != U64_MAX, "accepted period %llu shift %u gives %llu",
			    (unsigned long long)period, shift, (unsigned long long)mult);

		/* the guest's calibration near this rate, and the bound on it */
		ref = hostclock_khz_to_mult(1000000 + fuzz_le(r, 2) * 30);
		fuzz_assert(ref, "no rate for a calibration of 1..3 GHz");
		fuzz_rate(mult, ref, started ? line.mult : 0, r[10] * 10, r[11] * 10);

		if (!started) {
			hostclock_line_start(&line, tsc, FUZZ_START_NS, mult);
			started = true;
			run_period = period;
			run_shift = shift;
			continue;
		}
		/* advance at the rate in force, then rebase: continuous, exact in sum */
		hc_ref_line_add(&acc, ticks, run_period, run_shift);
		run_period = period;
		run_shift = shift;
		tsc += ticks;
		all_ticks += ticks;
		before = hostclock_line_ns(&line, tsc);
		hostclock_line_rebase(&line, tsc, mult);
		after = hostclock_line_ns(&line, tsc);
		fuzz_assert(before == after, "rebase moved the line: %llu -> %llu",
			    (unsigned long long)before, (unsigned long long)after);
		fuzz_inverse(&line, tsc + (ticks >> 3));

		/* the guard: the larger of the reading and every one before */
		out = hostclock_monotonic_guard(&guard_last, before ^ (r[4] & 0xc0 ? 0 : ticks),
						&clamped);
		fuzz_assert(out >= guard_max && guard_last == out, "guard returned %llu after %llu",
			    (unsigned long long)out, (unsigned long long)guard_max);
		guard_max = out;
	}
	/* the line saturates at U64_MAX ns, 584 years: no comparison there */
	if (!started || !hc_ref_line_ns(&acc, &exact) || exact > U64_MAX - FUZZ_START_NS - 1)
		return 0;
	/*
	 * Rebases add nothing, but each rate is the page's rounded to 2^-55 ns
	 * per tick: over the ticks run, that much, and 1 ns of flooring.
	 */
	got = hostclock_line_ns(&line, tsc) - FUZZ_START_NS;
	slack = (u64)(all_ticks >> 55) + 2;
	fuzz_assert(got + slack >= exact && got <= exact + slack,
		    "the line advanced %llu ns, exact %llu, slack %llu", (unsigned long long)got,
		    (unsigned long long)exact, (unsigned long long)slack);
	return 0;
}
