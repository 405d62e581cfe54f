// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a VMClock page as the host might write it, through the
 * core's snapshot, validation, conversion and error bounds, each checked
 * against what it must give: the snapshot against a plain decode, the
 * conversion and the error growth against the exact multi-precision
 * reference of tests/common.
 *
 * fuzz-links: drivers/hostclock/core/page.c drivers/hostclock/core/convert.c drivers/hostclock/core/line.c drivers/hostclock/core/state.c tests/common/hostclock_ref.c
 *
 * Input: 112 bytes XORed onto a valid page (so that an empty input is a
 * good page and small changes stay near one), then the region size (2
 * bytes), the counter's distance from counter_value (8 bytes), the
 * snapshot budget and the timescale (1 byte each); missing bytes are 0.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hostclock/core.h"
#include "hostclock/ext_abi.h"
#include "hostclock_ref.h"

#define fuzz_assert(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_core_page: " __VA_ARGS__);	\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

struct fuzz_input {
	u8 page[sizeof(struct vmclock_abi)];
	u8 region[2];
	u8 delta[8];
	u8 budget;
	u8 timescale;
};

static u64 fuzz_le(const u8 *b, unsigned int n)
{
	u64 v = 0;

	while (n--)
		v = (v << 8) | b[n];
	return v;
}

static void fuzz_good_page(struct vmclock_abi *page)
{
	struct hostclock_clock clk;

	memset(&clk, 0, sizeof(clk));
	clk.magic = VMCLOCK_MAGIC;
	clk.size = HOSTCLOCK_PAGE_SIZE;
	clk.version = VMCLOCK_VERSION;
	clk.counter_id = VMCLOCK_COUNTER_X86_TSC;
	clk.time_type = VMCLOCK_TIME_UTC;
	clk.clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
	clk.counter_value = 1000000000000ULL;
	clk.counter_period_frac_sec = 1ULL << 32;
	clk.time_sec = 1764000000ULL;
	hostclock_clock_encode(&clk, page);
}

/* The conversion against the reference: same verdict, within 1 ns. */
static void fuzz_convert(const struct hostclock_clock *clk, u64 counter)
{
	struct hostclock_time t = { 0, 0 };
	u64 sec, up_sec;
	u32 nsec, up_nsec;
	bool inexact;
	int got, want;

	got = hostclock_counter_to_time(clk, counter, &t);
	if (clk->counter_period_shift > HOSTCLOCK_SHIFT_MAX) {
		fuzz_assert(got == HOSTCLOCK_ERR_BAD_SHIFT, "shift %u converted",
			    clk->counter_period_shift);
		return;
	}
	want = hc_ref_counter_to_time(clk, counter, &sec, &nsec, &inexact);
	fuzz_assert(got == want, "core %s, reference %s", hostclock_err_name(got),
		    hostclock_err_name(want));
	if (got)
		return;
	fuzz_assert(t.nsec < NSEC_PER_SEC, "nsec %u", t.nsec);
	up_sec = sec + (nsec == 999999999);
	up_nsec = nsec == 999999999 ? 0 : nsec + 1;
	fuzz_assert((t.sec == sec && t.nsec == nsec) ||
		    (inexact && t.sec == up_sec && t.nsec == up_nsec),
		    "core %llu.%09u, reference %llu.%09u%s", (unsigned long long)t.sec,
		    t.nsec, (unsigned long long)sec, nsec, inexact ? "+" : "");
}

/* One bound against the reference: time error plus its exact growth. */
static void fuzz_bound(const char *what, bool valid, u64 got, u64 at, u64 ticks,
		       u64 rate, u8 shift)
{
	u64 growth, lo, hi;

	if (!valid)
		return;
	if (!ticks) {
		fuzz_assert(got == at, "%s at the reference point: %llu, page %llu", what,
			    (unsigned long long)got, (unsigned long long)at);
		return;
	}
	/* the core rounds up twice: the exact ceiling, or one more */
	if (!hc_ref_error_growth(ticks, rate, shift, &growth)) {
		fuzz_assert(got == U64_MAX, "%s: growth beyond 64 bits, got %llu", what,
			    (unsigned long long)got);
		return;
	}
	lo = at > U64_MAX - growth ? U64_MAX : at + growth;
	hi = lo == U64_MAX ? U64_MAX : lo + 1;
	fuzz_assert(got >= lo && got <= hi, "%s: %llu, exact %llu", what,
		    (unsigned long long)got, (unsigned long long)lo);
}

static void fuzz_errors(const struct hostclock_clock *clk, u64 counter)
{
	struct hostclock_error_bound err;
	u64 ticks = counter - clk->counter_value;
	u8 shift = clk->counter_period_shift;
	bool shift_ok = shift <= HOSTCLOCK_SHIFT_MAX;

	if ((s64)ticks < 0)
		ticks = -ticks;
	hostclock_counter_error(clk, counter, &err);
	fuzz_assert(err.esterror_valid == (shift_ok &&
		    (clk->flags & VMCLOCK_FLAG_TIME_ESTERROR_VALID) &&
		    (!ticks || (clk->flags & VMCLOCK_FLAG_PERIOD_ESTERROR_VALID))),
		    "esterror validity %d", err.esterror_valid);
	fuzz_assert(err.maxerror_valid == (shift_ok &&
		    (clk->flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) &&
		    (!ticks || (clk->flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID))),
		    "maxerror validity %d", err.maxerror_valid);
	fuzz_bound("esterror", err.esterror_valid, err.esterror_ns, clk->time_esterror_nanosec,
		   ticks, clk->counter_period_esterror_rate_frac_sec, shift);
	fuzz_bound("maxerror", err.maxerror_valid, err.maxerror_ns, clk->time_maxerror_nanosec,
		   ticks, clk->counter_period_maxerror_rate_frac_sec, shift);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_input in;
	struct vmclock_abi page, back;
	struct hostclock_clock clk, plain, again;
	struct hostclock_time t;
	unsigned int i, budget, retries = 12345;
	size_t region;
	u64 counter;
	int err, ts;

	memset(&in, 0, sizeof(in));
	memcpy(&in, data, size < sizeof(in) ? size : sizeof(in));
	fuzz_good_page(&page);
	for (i = 0; i < sizeof(page); i++)
		((u8 *)&page)[i] ^= in.page[i];
	region = fuzz_le(in.region, 2);
	budget = in.budget % 5;

	/* the snapshot: an odd seq spends the budget, else a plain decode */
	memset(&clk, 0, sizeof(clk));	/* padding, for the comparisons */
	memset(&plain, 0, sizeof(plain));
	memset(&again, 0, sizeof(again));
	err = hostclock_page_snapshot(&page, &clk, budget, &retries);
	hostclock_clock_decode(&page, &plain);
	if (!budget || (plain.seq_count & 1)) {
		fuzz_assert(err == HOSTCLOCK_ERR_SEQ_TIMEOUT && retries == budget,
			    "seq %u budget %u: %s after %u", plain.seq_count, budget,
			    hostclock_err_name(err), retries);
		return 0;
	}
	fuzz_assert(!err && !retries, "stable page: %s after %u", hostclock_err_name(err),
		    retries);
	fuzz_assert(!memcmp(&clk, &plain, sizeof(clk)), "snapshot differs from the page");
	hostclock_clock_encode(&clk, &back);
	back.pad[0] = page.pad[0];
	back.pad[1] = page.pad[1];
	fuzz_assert(!memcmp(&back, &page, sizeof(page)), "encode(decode(page)) differs");
	hostclock_clock_decode(&back, &again);
	fuzz_assert(!memcmp(&again, &clk, sizeof(clk)), "decode(encode(x)) differs");

	/* validation, and what a page it accepts promises */
	err = hostclock_clock_validate(&clk, region);
	fuzz_assert(err >= 0 && err < HOSTCLOCK_ERR_COUNT, "validate gave %d", err);
	if (!err) {
		u64 mult = hostclock_period_to_mult(clk.counter_period_frac_sec,
						    clk.counter_period_shift);

		fuzz_assert(clk.magic == VMCLOCK_MAGIC && clk.version == VMCLOCK_VERSION &&
			    clk.size >= sizeof(page) && clk.size <= region &&
			    clk.counter_id == VMCLOCK_COUNTER_X86_TSC &&
			    clk.counter_period_shift <= HOSTCLOCK_SHIFT_MAX &&
			    clk.counter_period_frac_sec, "accepted a bad page");
		fuzz_assert(mult && mult != U64_MAX, "accepted period gives rate %llu",
			    (unsigned long long)mult);
		fuzz_assert(!hostclock_page_changes(&clk, &clk, 0, 0),
			    "a page changed against itself");
	}
	for (i = 0; i < 2; i++) {
		enum hostclock_state st = hostclock_state_of(err, clk.clock_status, i, !i);

		fuzz_assert(!hostclock_state_usable(st) || !err, "usable state %s for %s",
			    hostclock_state_name(st), hostclock_err_name(err));
	}

	/* conversion and error bounds at a counter value near or far */
	counter = clk.counter_value + fuzz_le(in.delta, 8);
	fuzz_convert(&clk, counter);
	fuzz_errors(&clk, counter);
	ts = in.timescale & 1 ? HOSTCLOCK_TS_TAI : HOSTCLOCK_TS_UTC;
	if (!hostclock_counter_to_timescale(&clk, counter, ts, &t))
		fuzz_assert(t.nsec < NSEC_PER_SEC && t.sec <= (u64)S64_MAX,
			    "timescale time %llu.%u", (unsigned long long)t.sec, t.nsec);
	return 0;
}
