// SPDX-License-Identifier: GPL-2.0
/*
 * Vectors and checks for the portable core; see hostclock_cases.h.
 */
#ifndef __KERNEL__
#include <stdio.h>
#endif
#include "hostclock_cases.h"
#include "hostclock_ref.h"
#include "hostclock/ext_abi.h"

#define HC_TICK_2_32	BIT_ULL(32)	/* period of a 2^32 Hz counter, shift 0 */
#define HC_T0		1764000000ULL	/* November 2025 */

#define hc_fail(msg, ...) \
	({ snprintf(msg, HC_MSG_LEN, __VA_ARGS__); false; })

void hc_good_clock(struct hostclock_clock *clk)
{
	memset(clk, 0, sizeof(*clk));
	clk->magic = VMCLOCK_MAGIC;
	clk->size = HOSTCLOCK_PAGE_SIZE;
	clk->version = VMCLOCK_VERSION;
	clk->counter_id = VMCLOCK_COUNTER_X86_TSC;
	clk->time_type = VMCLOCK_TIME_UTC;
	clk->clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
	clk->counter_value = 1000000000000ULL;
	clk->counter_period_frac_sec = HC_TICK_2_32;
	clk->time_sec = HC_T0;
}

#define HC_FLAGS_UNKNOWN	(~0ULL & ~VMCLOCK_FLAG_TAI_OFFSET_VALID)
#define HC_TAI_FLAG		VMCLOCK_FLAG_TAI_OFFSET_VALID
#define HC_TAI_BIG		(HOSTCLOCK_TAI_OFFSET_MAX + 1)

/* Each vector patches up to three fields of hc_good_clock(). */
const struct hc_validate_vector hc_validate_vectors[] = {
	{ "good", { }, 4096, HOSTCLOCK_OK },
	{ "bad magic", { { HC_F_MAGIC, 0x4b4c4357 } }, 4096, HOSTCLOCK_ERR_BAD_MAGIC },
	{ "zero magic", { { HC_F_MAGIC, 0 } }, 4096, HOSTCLOCK_ERR_BAD_MAGIC },
	{ "version 0", { { HC_F_VERSION, 0 } }, 4096, HOSTCLOCK_ERR_BAD_VERSION },
	{ "version 2", { { HC_F_VERSION, 2 } }, 4096, HOSTCLOCK_ERR_BAD_VERSION },
	{ "size below struct", { { HC_F_SIZE, 111 } }, 4096, HOSTCLOCK_ERR_BAD_SIZE },
	{ "size == struct", { { HC_F_SIZE, 112 } }, 4096, HOSTCLOCK_OK },
	{ "size over region", { { HC_F_SIZE, 8192 } }, 4096, HOSTCLOCK_ERR_BAD_SIZE },
	{ "size == region", { { HC_F_SIZE, 8192 } }, 8192, HOSTCLOCK_OK },
	{ "region below struct", { { HC_F_SIZE, 112 } }, 100, HOSTCLOCK_ERR_BAD_SIZE },
	{ "status 5", { { HC_F_STATUS, 5 } }, 4096, HOSTCLOCK_ERR_BAD_STATUS },
	{ "status unreliable", { { HC_F_STATUS, VMCLOCK_STATUS_UNRELIABLE } }, 4096,
	  HOSTCLOCK_OK },
	{ "time smeared", { { HC_F_TIME_TYPE, VMCLOCK_TIME_INVALID_SMEARED } }, 4096,
	  HOSTCLOCK_ERR_BAD_TIME_TYPE },
	{ "time maybe smeared", { { HC_F_TIME_TYPE, VMCLOCK_TIME_INVALID_MAYBE_SMEARED } },
	  4096, HOSTCLOCK_ERR_BAD_TIME_TYPE },
	{ "time type 255", { { HC_F_TIME_TYPE, 255 } }, 4096, HOSTCLOCK_ERR_BAD_TIME_TYPE },
	{ "time monotonic", { { HC_F_TIME_TYPE, VMCLOCK_TIME_MONOTONIC } }, 4096,
	  HOSTCLOCK_OK },
	{ "leap 6", { { HC_F_LEAP, 6 } }, 4096, HOSTCLOCK_ERR_BAD_LEAP },
	{ "leap post neg", { { HC_F_LEAP, VMCLOCK_LEAP_POST_NEG } }, 4096, HOSTCLOCK_OK },
	{ "tai +1001 flagged", { { HC_F_FLAGS, HC_TAI_FLAG }, { HC_F_TAI, HC_TAI_BIG } },
	  4096, HOSTCLOCK_ERR_BAD_TAI_OFFSET },
	{ "tai -1001 flagged", { { HC_F_FLAGS, HC_TAI_FLAG }, { HC_F_TAI, (u64)-HC_TAI_BIG } },
	  4096, HOSTCLOCK_ERR_BAD_TAI_OFFSET },
	{ "tai +1001 unflagged", { { HC_F_TAI, HC_TAI_BIG } }, 4096, HOSTCLOCK_OK },
	{ "tai 37 flagged", { { HC_F_FLAGS, HC_TAI_FLAG }, { HC_F_TAI, 37 } }, 4096,
	  HOSTCLOCK_OK },
	{ "no counter", { { HC_F_COUNTER, VMCLOCK_COUNTER_INVALID }, { HC_F_PERIOD, 0 },
	  { HC_F_SHIFT, 200 } }, 4096, HOSTCLOCK_ERR_NO_COUNTER },
	{ "no counter, bad magic", { { HC_F_COUNTER, VMCLOCK_COUNTER_INVALID },
	  { HC_F_MAGIC, 0 } }, 4096, HOSTCLOCK_ERR_BAD_MAGIC },
	{ "no counter, bad status", { { HC_F_COUNTER, VMCLOCK_COUNTER_INVALID },
	  { HC_F_STATUS, 9 } }, 4096, HOSTCLOCK_ERR_BAD_STATUS },
	{ "counter arm vcnt", { { HC_F_COUNTER, VMCLOCK_COUNTER_ARM_VCNT } }, 4096,
	  HOSTCLOCK_ERR_BAD_COUNTER },
	{ "counter 7", { { HC_F_COUNTER, 7 } }, 4096, HOSTCLOCK_ERR_BAD_COUNTER },
	{ "shift max + 1", { { HC_F_SHIFT, HOSTCLOCK_SHIFT_MAX + 1 },
	  { HC_F_PERIOD, 1ULL << 63 } }, 4096, HOSTCLOCK_ERR_BAD_SHIFT },
	{ "shift 255", { { HC_F_SHIFT, 255 } }, 4096, HOSTCLOCK_ERR_BAD_SHIFT },
	/* 2^63 at shift 35 is a 2^36 Hz counter, the fastest accepted */
	{ "shift max", { { HC_F_SHIFT, HOSTCLOCK_SHIFT_MAX }, { HC_F_PERIOD, 1ULL << 63 } },
	  4096, HOSTCLOCK_OK },
	{ "period zero", { { HC_F_PERIOD, 0 } }, 4096, HOSTCLOCK_ERR_ZERO_PERIOD },
	{ "period 2^36 Hz", { { HC_F_PERIOD, 1ULL << 28 } }, 4096, HOSTCLOCK_OK },
	{ "period over 2^36 Hz", { { HC_F_PERIOD, (1ULL << 28) - 1 } }, 4096,
	  HOSTCLOCK_ERR_BAD_PERIOD },
	{ "period 2^20 Hz", { { HC_F_PERIOD, 1ULL << 44 } }, 4096, HOSTCLOCK_OK },
	{ "period under 2^20 Hz", { { HC_F_PERIOD, (1ULL << 44) + 1 } }, 4096,
	  HOSTCLOCK_ERR_BAD_PERIOD },
	{ "period U64_MAX", { { HC_F_PERIOD, U64_MAX } }, 4096, HOSTCLOCK_ERR_BAD_PERIOD },
	{ "unknown flag bits", { { HC_F_FLAGS, HC_FLAGS_UNKNOWN } }, 4096, HOSTCLOCK_OK },
};

const unsigned int hc_validate_vector_count = ARRAY_SIZE(hc_validate_vectors);

static void hc_set_field(struct hostclock_clock *clk, const struct hc_set *set)
{
	switch (set->field) {
	case HC_F_NONE:
		break;
	case HC_F_MAGIC:
		clk->magic = set->value;
		break;
	case HC_F_VERSION:
		clk->version = set->value;
		break;
	case HC_F_SIZE:
		clk->size = set->value;
		break;
	case HC_F_STATUS:
		clk->clock_status = set->value;
		break;
	case HC_F_TIME_TYPE:
		clk->time_type = set->value;
		break;
	case HC_F_LEAP:
		clk->leap_indicator = set->value;
		break;
	case HC_F_FLAGS:
		clk->flags = set->value;
		break;
	case HC_F_TAI:
		clk->tai_offset_sec = (s16)set->value;
		break;
	case HC_F_COUNTER:
		clk->counter_id = set->value;
		break;
	case HC_F_SHIFT:
		clk->counter_period_shift = set->value;
		break;
	case HC_F_PERIOD:
		clk->counter_period_frac_sec = set->value;
		break;
	}
}

bool hc_check_validate(const struct hc_validate_vector *v, char *msg)
{
	struct hostclock_clock clk;
	unsigned int i;
	int got;

	hc_good_clock(&clk);
	for (i = 0; i < ARRAY_SIZE(v->set); i++)
		hc_set_field(&clk, &v->set[i]);
	got = hostclock_clock_validate(&clk, v->region);
	if (got != v->expect)
		return hc_fail(msg, "expected %s, got %s",
			       hostclock_err_name(v->expect),
			       hostclock_err_name(got));
	return true;
}

#define HC_S64_MAX_U	((u64)S64_MAX)
#define HC_KTIME_SEC	9223372036ULL	/* last whole second of ktime_t, 2262 */

/* Tick 2^-32 s unless said; expected values worked out by hand. */
const struct hc_convert_vector hc_convert_vectors[] = {
	{ "delta 0", HC_T0, 0, HC_TICK_2_32, 0, 0, 0, 0, 0, 0, HC_T0, 0 },
	{ "delta 0, half second", HC_T0, 1ULL << 63, HC_TICK_2_32, 0, 0, 0, 0, 0, 0,
	  HC_T0, 500000000 },
	{ "delta +1 rounds down", HC_T0, 0, HC_TICK_2_32, 0, 1, 0, 0, 0, 0, HC_T0, 0 },
	{ "delta +3 rounds up", HC_T0, 0, HC_TICK_2_32, 0, 3, 0, 0, 0, 0, HC_T0, 1 },
	{ "delta -1 carries into seconds", HC_T0, 0, HC_TICK_2_32, 0, -1, 0, 0, 0, 0,
	  HC_T0, 0 },
	{ "delta -3", HC_T0, 0, HC_TICK_2_32, 0, -3, 0, 0, 0, 0, HC_T0 - 1, 999999999 },
	{ "frac all ones carries", HC_T0, U64_MAX, HC_TICK_2_32, 0, 0, 0, 0, 0, 0,
	  HC_T0 + 1, 0 },
	{ "delta one second", HC_T0, 0, HC_TICK_2_32, 0, 1LL << 32, 0, 0, 0, 0, HC_T0 + 1, 0 },
	{ "delta minus one second", HC_T0, 0, HC_TICK_2_32, 0, -(1LL << 32), 0, 0, 0, 0,
	  HC_T0 - 1, 0 },
	{ "delta 2^62", HC_T0, 0, HC_TICK_2_32, 0, 1LL << 62, 0, 0, 0, 0,
	  HC_T0 + (1ULL << 30), 0 },
	{ "delta -2^62", 1ULL << 31, 0, HC_TICK_2_32, 0, -(1LL << 62), 0, 0, 0, 0,
	  (1ULL << 31) - (1ULL << 30), 0 },
	{ "shift 0, 2^36 Hz", HC_T0, 0, 1ULL << 28, 0, 3LL << 35, 0, 0, 0, 0,
	  HC_T0 + 1, 500000000 },
	{ "max shift, 2^36 Hz", HC_T0, 0, 1ULL << 63, HOSTCLOCK_SHIFT_MAX, 1LL << 36,
	  0, 0, 0, 0, HC_T0 + 1, 0 },
	{ "max shift, negative", HC_T0, 0, 1ULL << 63, HOSTCLOCK_SHIFT_MAX,
	  -(1LL << 35), 0, 0, 0, 0, HC_T0 - 1, 500000000 },
	{ "time_sec 2^32 - 1 + 1 s", 0xffffffffULL, 0, HC_TICK_2_32, 0, 1LL << 32,
	  0, 0, 0, 0, 1ULL << 32, 0 },
	{ "ktime limit", HC_KTIME_SEC, 0, HC_TICK_2_32, 0, 3LL << 31, 0, 0, 0, 0,
	  HC_KTIME_SEC + 1, 500000000 },
	{ "seconds fill s64", HC_S64_MAX_U, 0, HC_TICK_2_32, 0, 0, 0, 0, 0, 0,
	  HC_S64_MAX_U, 0 },
	{ "seconds beyond s64", HC_S64_MAX_U, 0, HC_TICK_2_32, 0, 1LL << 32, 0, 0, 0,
	  HOSTCLOCK_ERR_RANGE, 0, 0 },
	{ "time_sec U64_MAX", U64_MAX, 0, HC_TICK_2_32, 0, 0, 0, 0, 0,
	  HOSTCLOCK_ERR_RANGE, 0, 0 },
	{ "128-bit wrap", U64_MAX, U64_MAX, U64_MAX, 0, S64_MAX, 0, 0, 0,
	  HOSTCLOCK_ERR_RANGE, 0, 0 },
	{ "before the epoch", 0, 0, HC_TICK_2_32, 0, -(1LL << 32), 0, 0, 0,
	  HOSTCLOCK_ERR_RANGE, 0, 0 },
	{ "UTC page as TAI", HC_T0, 0, HC_TICK_2_32, 0, 0, VMCLOCK_TIME_UTC, 37,
	  HOSTCLOCK_TS_TAI, 0, HC_T0 + 37, 0 },
	{ "TAI page as UTC", HC_T0, 0, HC_TICK_2_32, 0, 0, VMCLOCK_TIME_TAI, 37,
	  HOSTCLOCK_TS_UTC, 0, HC_T0 - 37, 0 },
	{ "TAI page as TAI", HC_T0, 0, HC_TICK_2_32, 0, 0, VMCLOCK_TIME_TAI, 0,
	  HOSTCLOCK_TS_TAI, 0, HC_T0, 0 },
	{ "negative TAI offset", HC_T0, 0, HC_TICK_2_32, 0, 0, VMCLOCK_TIME_UTC, -5,
	  HOSTCLOCK_TS_TAI, 0, HC_T0 - 5, 0 },
	{ "UTC as TAI without offset", HC_T0, 0, HC_TICK_2_32, 0, 0, VMCLOCK_TIME_UTC,
	  0, HOSTCLOCK_TS_TAI, HOSTCLOCK_ERR_NO_TAI_OFFSET, 0, 0 },
	{ "monotonic page", HC_T0, 0, HC_TICK_2_32, 0, 0, VMCLOCK_TIME_MONOTONIC, 37,
	  HOSTCLOCK_TS_UTC, HOSTCLOCK_ERR_NO_TIMESCALE, 0, 0 },
	{ "TAI offset below epoch", 10, 0, HC_TICK_2_32, 0, 0, VMCLOCK_TIME_TAI, 37,
	  HOSTCLOCK_TS_UTC, HOSTCLOCK_ERR_RANGE, 0, 0 },
	{ "shift beyond max", HC_T0, 0, HC_TICK_2_32, HOSTCLOCK_SHIFT_MAX + 1, 0, 0,
	  0, 0, HOSTCLOCK_ERR_BAD_SHIFT, 0, 0 },
};

const unsigned int hc_convert_vector_count = ARRAY_SIZE(hc_convert_vectors);

bool hc_check_convert(const struct hc_convert_vector *v, char *msg)
{
	struct hostclock_clock clk;
	struct hostclock_time t = { 0, 0 };
	int got;

	hc_good_clock(&clk);
	clk.time_sec = v->time_sec;
	clk.time_frac_sec = v->time_frac;
	clk.counter_period_frac_sec = v->period;
	clk.counter_period_shift = v->shift;
	clk.time_type = v->time_type;
	if (v->tai) {
		clk.flags |= VMCLOCK_FLAG_TAI_OFFSET_VALID;
		clk.tai_offset_sec = v->tai;
	}
	got = hostclock_counter_to_timescale(&clk, clk.counter_value + (u64)v->delta,
					     v->want, &t);
	if (got != v->expect)
		return hc_fail(msg, "expected %s, got %s",
			       hostclock_err_name(v->expect),
			       hostclock_err_name(got));
	if (!got && (t.sec != v->sec || t.nsec != v->nsec))
		return hc_fail(msg, "expected %llu.%09u, got %llu.%09u",
			       (unsigned long long)v->sec, v->nsec,
			       (unsigned long long)t.sec, t.nsec);
	return true;
}

#define HC_2017		1483228800ULL	/* 2017-01-01, after a +1 s leap */
#define HC_2015_07	1435708800ULL	/* 2015-07-01, after a +1 s leap */
#define HC_UTC		VMCLOCK_TIME_UTC
#define HC_TAI		VMCLOCK_TIME_TAI
#define HC_PRE_POS	VMCLOCK_LEAP_PRE_POS
#define HC_PRE_NEG	VMCLOCK_LEAP_PRE_NEG

const struct hc_leap_vector hc_leap_vectors[] = {
	{ "+1: 23:59:59 repeats", HC_2017 - 1, HC_UTC, 0, HC_PRE_POS, 1,
	  HOSTCLOCK_TS_UTC, HC_2017 - 1 },
	{ "+1: a second later", HC_2017 - 1, HC_UTC, 0, HC_PRE_POS, 2,
	  HOSTCLOCK_TS_UTC, HC_2017 },
	{ "+1: end of June", HC_2015_07 - 1, HC_UTC, 0, HC_PRE_POS, 1,
	  HOSTCLOCK_TS_UTC, HC_2015_07 - 1 },
	{ "+1 announced, not a month's end", HC_2017 - 86401, HC_UTC, 0, HC_PRE_POS, 1,
	  HOSTCLOCK_TS_UTC, HC_2017 - 86400 },
	{ "+1: before midnight unchanged", HC_2017 - 2, HC_UTC, 0, HC_PRE_POS, 1,
	  HOSTCLOCK_TS_UTC, HC_2017 - 1 },
	{ "+1: TAI counts on", HC_2017 - 1, HC_UTC, 36, HC_PRE_POS, 1,
	  HOSTCLOCK_TS_TAI, HC_2017 + 36 },
	{ "+1: TAI page read as UTC", HC_2017 - 1 + 36, HC_TAI, 36, HC_PRE_POS, 1,
	  HOSTCLOCK_TS_UTC, HC_2017 - 1 },
	{ "+1 in progress: the page repeats already", HC_2017 - 1, HC_UTC, 0,
	  VMCLOCK_LEAP_POS, 1, HOSTCLOCK_TS_UTC, HC_2017 },
	{ "+1 passed", HC_2017, HC_UTC, 0, VMCLOCK_LEAP_POST_POS, 1,
	  HOSTCLOCK_TS_UTC, HC_2017 + 1 },
	{ "-1: 23:59:59 is skipped", HC_2017 - 2, HC_UTC, 0, HC_PRE_NEG, 1,
	  HOSTCLOCK_TS_UTC, HC_2017 },
	{ "-1: before it unchanged", HC_2017 - 3, HC_UTC, 0, HC_PRE_NEG, 1,
	  HOSTCLOCK_TS_UTC, HC_2017 - 2 },
	{ "no leap announced", HC_2017 - 1, HC_UTC, 0, VMCLOCK_LEAP_NONE, 1,
	  HOSTCLOCK_TS_UTC, HC_2017 },
};

const unsigned int hc_leap_vector_count = ARRAY_SIZE(hc_leap_vectors);

bool hc_check_leap(const struct hc_leap_vector *v, char *msg)
{
	struct hostclock_clock clk;
	struct hostclock_time t = { 0, 0 };
	int got;

	hc_good_clock(&clk);
	clk.time_sec = v->time_sec;
	clk.time_frac_sec = 1ULL << 63;
	clk.counter_period_frac_sec = HC_TICK_2_32;
	clk.counter_period_shift = 0;
	clk.time_type = v->time_type;
	clk.leap_indicator = v->leap;
	if (v->tai) {
		clk.flags |= VMCLOCK_FLAG_TAI_OFFSET_VALID;
		clk.tai_offset_sec = v->tai;
	}
	got = hostclock_counter_to_timescale(&clk, clk.counter_value +
					     ((u64)v->delta_sec << 32), v->want, &t);
	if (got || t.sec != v->sec || t.nsec != 500000000)
		return hc_fail(msg, "expected %llu.5, got %s %llu.%09u",
			       (unsigned long long)v->sec, hostclock_err_name(got),
			       (unsigned long long)t.sec, t.nsec);
	return true;
}

/*
 * A skipped second at the very end of the range: a valid page on the last
 * day of a month whose UTC time at the counter is S64_MAX seconds; the
 * skip must not carry it to 2^63.
 */
bool hc_check_leap_range(char *msg)
{
	struct hostclock_clock clk;
	struct hostclock_time t = { 0, 0 };
	const u64 day = 9223372036854374400ULL;	/* 292277026596-11-30 00:00 */
	int got;

	hc_good_clock(&clk);
	clk.time_sec = day;
	clk.time_frac_sec = 1ULL << 63;
	clk.counter_period_frac_sec = HC_TICK_2_32;
	clk.counter_period_shift = 0;
	clk.time_type = HC_UTC;
	clk.leap_indicator = HC_PRE_NEG;
	got = hostclock_counter_to_timescale(&clk, clk.counter_value +
					     ((S64_MAX - day) << 32), HOSTCLOCK_TS_UTC, &t);
	if (got != HOSTCLOCK_ERR_RANGE)
		return hc_fail(msg, "expected range, got %s %llu.%09u", hostclock_err_name(got),
			       (unsigned long long)t.sec, t.nsec);
	clk.leap_indicator = VMCLOCK_LEAP_NONE;
	got = hostclock_counter_to_timescale(&clk, clk.counter_value +
					     ((S64_MAX - day) << 32), HOSTCLOCK_TS_UTC, &t);
	if (got || t.sec != S64_MAX)
		return hc_fail(msg, "no leap: expected %lld, got %s %llu", (long long)S64_MAX,
			       hostclock_err_name(got), (unsigned long long)t.sec);
	return true;
}

#define HC_S(x)	HOSTCLOCK_STATE_##x
#define HC_ST(x)	VMCLOCK_STATUS_##x

const struct hc_state_vector hc_state_vectors[] = {
	{ "synchronized", 0, HC_ST(SYNCHRONIZED), false, HC_S(SYNCHRONIZED), true, false },
	{ "freerunning", 0, HC_ST(FREERUNNING), false, HC_S(FREERUNNING), true, false },
	{ "unreliable", 0, HC_ST(UNRELIABLE), false, HC_S(UNRELIABLE), false, false },
	{ "unknown", 0, HC_ST(UNKNOWN), false, HC_S(UNKNOWN), false, false },
	{ "status out of range", 0, 77, false, HC_S(UNKNOWN), false, false },
	{ "stale beats synchronized", 0, HC_ST(SYNCHRONIZED), true, HC_S(STALE), false, false },
	{ "no counter, initializing", HOSTCLOCK_ERR_NO_COUNTER, HC_ST(INITIALIZING), false,
	  HC_S(INITIALIZING), false, false },
	{ "no counter, synchronized", HOSTCLOCK_ERR_NO_COUNTER, HC_ST(SYNCHRONIZED), false,
	  HC_S(NO_CLOCK), false, false },
	{ "no counter, stale too", HOSTCLOCK_ERR_NO_COUNTER, HC_ST(UNKNOWN), true,
	  HC_S(NO_CLOCK), false, false },
	{ "bad magic", HOSTCLOCK_ERR_BAD_MAGIC, HC_ST(SYNCHRONIZED), false, HC_S(INVALID),
	  false, false },
	{ "seq stuck odd", HOSTCLOCK_ERR_SEQ_TIMEOUT, HC_ST(SYNCHRONIZED), false,
	  HC_S(INVALID), false, false },
	{ "zero period", HOSTCLOCK_ERR_ZERO_PERIOD, HC_ST(SYNCHRONIZED), true,
	  HC_S(INVALID), false, false },
	{ "synchronized, TSC unstable", 0, HC_ST(SYNCHRONIZED), false,
	  HC_S(TSC_UNSTABLE), false, true },
	{ "freerunning, TSC unstable", 0, HC_ST(FREERUNNING), false,
	  HC_S(TSC_UNSTABLE), false, true },
	{ "unreliable beats TSC unstable", 0, HC_ST(UNRELIABLE), false,
	  HC_S(UNRELIABLE), false, true },
	{ "initializing beats TSC unstable", 0, HC_ST(INITIALIZING), false,
	  HC_S(INITIALIZING), false, true },
	{ "stale beats TSC unstable", 0, HC_ST(SYNCHRONIZED), true, HC_S(STALE), false, true },
	{ "invalid beats TSC unstable", HOSTCLOCK_ERR_BAD_MAGIC, HC_ST(SYNCHRONIZED), false,
	  HC_S(INVALID), false, true },
	{ "no counter beats TSC unstable", HOSTCLOCK_ERR_NO_COUNTER, HC_ST(SYNCHRONIZED),
	  false, HC_S(NO_CLOCK), false, true },
};

const unsigned int hc_state_vector_count = ARRAY_SIZE(hc_state_vectors);

bool hc_check_state(const struct hc_state_vector *v, char *msg)
{
	enum hostclock_state got = hostclock_state_of(v->err, v->status, v->stale,
						      v->tsc_unstable);

	if (got != v->state || hostclock_state_usable(got) != v->usable)
		return hc_fail(msg, "expected %s (usable %d), got %s (usable %d)",
			       hostclock_state_name(v->state), v->usable,
			       hostclock_state_name(got), hostclock_state_usable(got));
	return true;
}

bool hc_check_state_names(char *msg)
{
	unsigned int i, j;

	for (i = 0; i < HOSTCLOCK_STATE_COUNT; i++) {
		const char *a = hostclock_state_name(i);

		if (!a || !strcmp(a, "?"))
			return hc_fail(msg, "state %u has no name", i);
		for (j = 0; j < i; j++)
			if (!strcmp(a, hostclock_state_name(j)))
				return hc_fail(msg, "states %u and %u share '%s'", j, i, a);
	}
	if (strcmp(hostclock_state_name(HOSTCLOCK_STATE_COUNT), "?"))
		return hc_fail(msg, "a state out of range has a name");
	return true;
}

/*
 * Which TSC a system snapshot was taken at, in each situation the PTP
 * clock meets: tsc current, hostclock current, a switch between them while
 * the PTP clock believed otherwise, and another clocksource current.
 */
bool hc_check_snapshot_tsc(char *msg)
{
	const u64 lo = 1ULL << 40, hi = lo + 3000, c = lo + 1234;
	struct hostclock_line line;
	u64 tsc, ns;

	/* 2.5 GHz: 0.4 ns per tick */
	hostclock_line_start(&line, lo - 1000000, 5ULL << 40,
			     hostclock_period_to_mult(1ULL << 60, 5));
	ns = hostclock_line_ns(&line, c);

	if (!hostclock_snapshot_tsc(NULL, c, lo, hi, &tsc) || tsc != c)
		return hc_fail(msg, "tsc current: no TSC, or not the reading itself");
	if (!hostclock_snapshot_tsc(&line, ns, lo, hi, &tsc) ||
	    tsc + 2 < c || tsc > c + 2)
		return hc_fail(msg, "hostclock current: %llu for a read at %llu",
			       (unsigned long long)tsc, (unsigned long long)c);
	if (!hostclock_snapshot_tsc(&line, c, lo, hi, &tsc) || tsc != c)
		return hc_fail(msg, "switched to tsc under a line: not the reading");
	if (hostclock_snapshot_tsc(NULL, ns, lo, hi, &tsc))
		return hc_fail(msg, "switched to hostclock unseen: a line value taken as TSC");
	if (hostclock_snapshot_tsc(&line, 123456, lo, hi, &tsc) ||
	    hostclock_snapshot_tsc(NULL, 123456, lo, hi, &tsc))
		return hc_fail(msg, "another clocksource's reading accepted");
	if (hostclock_snapshot_tsc(&line, hostclock_line_ns(&line, hi + 100000), lo, hi, &tsc))
		return hc_fail(msg, "a line value read outside the bracket accepted");
	return true;
}

/* kvm-clock's nanoseconds at @tsc, written out plainly as the reference */
static u64 hc_pvclock_ref(const struct hostclock_pvclock *pv, u64 tsc)
{
	u64 d = tsc - pv->tsc_timestamp;

	d = pv->tsc_shift < 0 ? d >> -pv->tsc_shift : d << pv->tsc_shift;
	return pv->system_time + (u64)(((__uint128_t)d * pv->tsc_to_system_mul) >> 32);
}

/*
 * Every reading of a bracket maps back to the middle of the TSCs in the
 * bracket that give it, or is refused when none does or when they span
 * more than 16 ticks; pages that cannot be used are refused.
 */
static bool hc_pvclock_sweep(const struct hostclock_pvclock *pv, const char *what,
			     char *msg)
{
	const u64 lo = pv->tsc_timestamp + 1000003, hi = lo + 2000;
	u64 ns, t;

	for (ns = hc_pvclock_ref(pv, lo) - 3; ns <= hc_pvclock_ref(pv, hi) + 3; ns++) {
		u64 first = 0, last = 0, want = 0, got = 0;
		bool have = false, ok;

		for (t = lo; t <= hi; t++) {
			if (hc_pvclock_ref(pv, t) != ns)
				continue;
			if (!have)
				first = t;
			last = t;
			have = true;
		}
		have = have && last - first <= 16;
		if (have)
			want = first + (last - first) / 2;
		ok = hostclock_pvclock_tsc_of(pv, ns, lo, hi, &got);
		if (!ok)
			got = 0;
		if (ok != have || (have && got != want))
			return hc_fail(msg, "%s: reading %llu: TSC %llu, expected %llu (0: none)",
				       what, (unsigned long long)ns, (unsigned long long)got,
				       (unsigned long long)want);
	}
	return true;
}

bool hc_check_pvclock(char *msg)
{
	/*
	 * 2.5 GHz (0.4 ns a tick) unshifted and, as KVM gives it, with a right
	 * shift; 1 GHz with a left shift; 0.5 GHz (2 ns a tick: readings no
	 * TSC gives); 21.3 ticks a nanosecond (each preimage too wide to
	 * use); a flat page (multiplier 0)
	 */
	struct hostclock_pvclock fast = { 1ULL << 40, 5000000000ULL, 1717986919U, 0 };
	struct hostclock_pvclock kvm = { 1ULL << 40, 5000000000ULL, 3435973837U, -1 };
	struct hostclock_pvclock one = { 1ULL << 40, 7ULL, 0x80000000U, 1 };
	struct hostclock_pvclock slow = { 1ULL << 41, 123ULL, 0x80000000U, 2 };
	struct hostclock_pvclock flat = { 1ULL << 40, 999ULL, 0, 0 };
	struct hostclock_pvclock crawl = { 1ULL << 40, 999ULL, 0x0c000000U, 0 };
	struct hostclock_pvclock bad = fast;
	u64 ns, tsc, at;

	if (!hc_pvclock_sweep(&fast, "2.5 GHz", msg) ||
	    !hc_pvclock_sweep(&kvm, "2.5 GHz, shift -1", msg) ||
	    !hc_pvclock_sweep(&one, "1 GHz, shift +1", msg) ||
	    !hc_pvclock_sweep(&slow, "0.5 GHz", msg) ||
	    !hc_pvclock_sweep(&crawl, "21 ticks a ns", msg))
		return false;
	at = (1ULL << 40) + 1000;
	if (hostclock_pvclock_tsc_of(&flat, 999, at, at + 100, &tsc))
		return hc_fail(msg, "a flat page (multiplier 0) taken as exact: TSC %llu",
			       (unsigned long long)tsc);
	ns = hc_pvclock_ref(&fast, at);
	if (!hostclock_pvclock_tsc_of(&fast, ns, at, at, &tsc) || tsc != at)
		return hc_fail(msg, "a one-tick bracket: not its TSC");
	if (!hostclock_pvclock_ns(&fast, fast.tsc_timestamp + 10, &ns) || ns != 5000000004ULL)
		return hc_fail(msg, "10 ticks at 2.5 GHz: %llu ns", (unsigned long long)ns);
	if (hostclock_pvclock_ns(&fast, fast.tsc_timestamp - 1, &ns))
		return hc_fail(msg, "a TSC before the page's timestamp accepted");
	bad.tsc_shift = 32;
	if (hostclock_pvclock_ns(&bad, fast.tsc_timestamp + 1, &ns))
		return hc_fail(msg, "shift 32 accepted");
	bad.tsc_shift = -100;
	if (hostclock_pvclock_ns(&bad, fast.tsc_timestamp + 1, &ns))
		return hc_fail(msg, "shift -100 accepted");
	bad.tsc_shift = 31;
	if (hostclock_pvclock_ns(&bad, fast.tsc_timestamp + (1ULL << 34), &ns))
		return hc_fail(msg, "a delta shifted past 64 bits accepted");
	ns = hc_pvclock_ref(&fast, (1ULL << 40) + 500);
	if (hostclock_pvclock_tsc_of(&fast, ns, (1ULL << 40) + 600, (1ULL << 40) + 400, &tsc))
		return hc_fail(msg, "an inverted bracket accepted");
	if (hostclock_pvclock_tsc_of(&fast, 123456, (1ULL << 40) + 400, (1ULL << 40) + 600, &tsc))
		return hc_fail(msg, "another clocksource's reading accepted");
	return true;
}

/* One series of drift samples and what its statistics must be. */
static bool hc_drift_expect(const struct hostclock_drift *d, const char *what,
			    s64 mean, u64 stddev, s64 ppb, bool have, char *msg)
{
	struct hostclock_drift_stats st;

	hostclock_drift_stats(d, &st);
	if (st.mean_ns != mean || st.stddev_ns != stddev || st.have_drift != have ||
	    (have && st.drift_ppb != ppb))
		return hc_fail(msg, "%s: %lld %llu %lld (%d), expected %lld %llu %lld (%d)",
			       what, (long long)st.mean_ns, (unsigned long long)st.stddev_ns,
			       (long long)st.drift_ppb, st.have_drift, (long long)mean,
			       (unsigned long long)stddev, (long long)ppb, have);
	return true;
}

/*
 * Known offset series give known statistics: a constant, a straight line
 * (its slope is the drift; 0..63 has a standard deviation of 18.47), an
 * alternation, a window that wrapped, the threshold count, far-off values
 * clamped, and a reset.
 */
bool hc_check_drift(char *msg)
{
	static struct hostclock_drift d;
	const s64 sec = 1000000000;
	unsigned int i;

	hostclock_drift_reset(&d);
	if (!hc_drift_expect(&d, "empty", 0, 0, 0, false, msg))
		return false;
	hostclock_drift_add(&d, 5 * sec, 500, 0);
	if (!hc_drift_expect(&d, "one sample", 500, 0, 0, false, msg))
		return false;
	for (i = 1; i < 10; i++)
		hostclock_drift_add(&d, (5 + i) * sec, 500, 0);
	if (!hc_drift_expect(&d, "constant 500", 500, 0, 0, true, msg))
		return false;

	hostclock_drift_reset(&d);
	for (i = 0; i < 64; i++)
		hostclock_drift_add(&d, i * sec, 1000 + 25 * (s64)i, 0);
	/* mean 1787.5 toward zero; sd 25 * 18.473 = 461.8 down; 25 ns/s */
	if (!hc_drift_expect(&d, "line 25 ppb", 1787, 461, 25, true, msg))
		return false;

	hostclock_drift_reset(&d);
	for (i = 0; i < 64; i++)
		hostclock_drift_add(&d, i * sec / 2, i % 2 ? 100 : -100, 0);
	/* slope 1600 ns s / 5460 s^2 = 0.29 ppb, toward zero */
	if (!hc_drift_expect(&d, "alternating +-100", 0, 100, 0, true, msg))
		return false;

	hostclock_drift_reset(&d);
	for (i = 0; i < 100; i++)
		hostclock_drift_add(&d, i * sec, i < 36 ? -7000 : -(s64)i, 1000);
	/* the window holds samples 36..99: offsets -36..-99 */
	if (d.samples != 100 || d.n != 64 || d.max_abs_ns != 7000 || d.exceeded != 36 ||
	    d.last_ns != -99)
		return hc_fail(msg, "wrapped: samples %llu n %u max %llu exceeded %llu last %lld",
			       (unsigned long long)d.samples, d.n,
			       (unsigned long long)d.max_abs_ns,
			       (unsigned long long)d.exceeded, (long long)d.last_ns);
	if (!hc_drift_expect(&d, "wrapped window", -67, 18, -1, true, msg))
		return false;

	hostclock_drift_reset(&d);
	hostclock_drift_add(&d, 0, S64_MAX, 0);
	hostclock_drift_add(&d, sec, -S64_MAX, 0);
	if (!hc_drift_expect(&d, "clamped", 0, (1ULL << 31) - 1, -4294967294LL, true, msg))
		return false;
	hostclock_drift_reset(&d);
	if (d.samples || d.n || d.max_abs_ns || d.exceeded)
		return hc_fail(msg, "reset left something");
	return true;
}

enum hc_change_what { HC_CH_NONE, HC_CH_PERIOD_PPB, HC_CH_TIME_NS, HC_CH_MARKER,
		      HC_CH_VMGEN, HC_CH_VMGEN_UNFLAGGED, HC_CH_TIMESCALE };

const struct hc_change_vector hc_change_vectors[] = {
	{ "an ordinary update", HC_CH_NONE, 0, 0 },
	{ "period +0.5 ppm", HC_CH_PERIOD_PPB, 500, 0 },
	{ "period +2 ppm", HC_CH_PERIOD_PPB, 2000, HOSTCLOCK_CHANGE_FREQ },
	{ "period -100 ppm", HC_CH_PERIOD_PPB, -100000, HOSTCLOCK_CHANGE_FREQ },
	{ "time +50 us", HC_CH_TIME_NS, 50000, 0 },
	{ "time +200 us", HC_CH_TIME_NS, 200000, HOSTCLOCK_CHANGE_STEP },
	{ "time -200 us", HC_CH_TIME_NS, -200000, HOSTCLOCK_CHANGE_STEP },
	{ "time +1000 s", HC_CH_TIME_NS, 1000000000000LL, HOSTCLOCK_CHANGE_STEP },
	{ "new disruption marker", HC_CH_MARKER, 1, HOSTCLOCK_CHANGE_DISRUPTION },
	{ "new VM generation", HC_CH_VMGEN, 1, HOSTCLOCK_CHANGE_VM_GENERATION },
	{ "VM generation not flagged present", HC_CH_VMGEN_UNFLAGGED, 1, 0 },
	{ "other timescale: no step measured", HC_CH_TIMESCALE, 0, 0 },
};

const unsigned int hc_change_vector_count = ARRAY_SIZE(hc_change_vectors);

/*
 * The new page is the old one a second later (2^32 ticks of a 2^32 Hz
 * counter), then the vector's change.
 */
bool hc_check_change(const struct hc_change_vector *v, char *msg)
{
	struct hostclock_clock old, new;
	unsigned int got;

	hc_good_clock(&old);
	old.flags |= VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;
	new = old;
	new.counter_value += 1ULL << 32;
	new.time_sec += 1;
	switch (v->what) {
	case HC_CH_PERIOD_PPB:
		new.counter_period_frac_sec = (u64)((__int128_t)old.counter_period_frac_sec *
						    (1000000000 + v->value) / 1000000000);
		break;
	case HC_CH_TIME_NS:
		new.time_sec += v->value / 1000000000;
		new.time_frac_sec += (u64)((v->value % 1000000000) * 18446744073LL);
		if (v->value % 1000000000 < 0)
			new.time_sec--;
		break;
	case HC_CH_MARKER:
		new.disruption_marker += v->value;
		break;
	case HC_CH_VMGEN_UNFLAGGED:
		new.flags &= ~VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;
		new.vm_generation_counter += v->value;
		break;
	case HC_CH_VMGEN:
		new.vm_generation_counter += v->value;
		break;
	case HC_CH_TIMESCALE:
		new.time_type = VMCLOCK_TIME_TAI;
		new.time_sec += 37;
		break;
	default:
		break;
	}
	got = hostclock_page_changes(&old, &new, 1000, 100000);
	if (got != v->expect)
		return hc_fail(msg, "changes %#x, expected %#x", got, v->expect);
	return true;
}

/*
 * Rates as ppm from a reference chosen so that one ppm of it is a whole
 * number of line units (2^20), which makes every expected value exact.
 */
#define HC_RATE_REF	(1000000ULL << 20)
#define HC_RATE_PPM	BIT_ULL(20)
#define HC_RN		HC_RATE_NONE
#define HC_R(x)		HOSTCLOCK_RATE_##x

const struct hc_rate_vector hc_rate_vectors[] = {
	{ "first page at the calibration", 0, false, HC_RN, 500, 100, HC_R(OK), 0 },
	{ "first page 500 ppm fast: at the bound", 500, false, HC_RN, 500, 100, HC_R(OK), 500 },
	{ "first page 501 ppm fast: refused", 501, false, HC_RN, 500, 100, HC_R(REFUSED), HC_RN },
	{ "first page 501 ppm slow: refused", -501, false, HC_RN, 500, 100, HC_R(REFUSED),
	  HC_RN },
	{ "first page: no step limit before a rate", 400, false, HC_RN, 500, 100, HC_R(OK), 400 },
	{ "refused: the line keeps its rate", 600, false, 10, 500, 100, HC_R(REFUSED), 10 },
	{ "a host twice as fast: refused", 1000000, false, 0, 500, 100, HC_R(REFUSED), 0 },
	{ "no calibration: refused", 0, true, HC_RN, 500, 100, HC_R(REFUSED), HC_RN },
	{ "no bound, no calibration", 3000, true, HC_RN, 0, 100, HC_R(OK), 3000 },
	{ "no bound: far off taken", 300000, false, HC_RN, 0, 0, HC_R(OK), 300000 },
	{ "step of exactly the limit", 100, false, 0, 500, 100, HC_R(OK), 100 },
	{ "step beyond the limit, up", 400, false, 0, 500, 100, HC_R(LIMITED), 100 },
	{ "step beyond the limit, down", -400, false, 0, 500, 100, HC_R(LIMITED), -100 },
	{ "no step limit", 400, false, 0, 500, 0, HC_R(OK), 400 },
	{ "limited from off the bound toward it", 0, false, 700, 500, 100, HC_R(LIMITED),
	  700 - 100 },
	{ "tolerance beyond 10^6 ppm is capped", 2000000, false, 0, 4000000, 0, HC_R(REFUSED), 0 },
};

const unsigned int hc_rate_vector_count = ARRAY_SIZE(hc_rate_vectors);

static u64 hc_rate_of(s64 ppm)
{
	return HC_RATE_REF + (u64)ppm * HC_RATE_PPM;
}

bool hc_check_rate(const struct hc_rate_vector *v, char *msg)
{
	u64 cur = v->cur_ppm == HC_RN ? 0 : hc_rate_of(v->cur_ppm);
	u64 want_use = v->use_ppm == HC_RN ? 0 : hc_rate_of(v->use_ppm);
	u64 use = 12345, step;
	int got;

	/*
	 * A limited step is step_ppm of the current rate, rounded down: from
	 * the reference that is use_ppm exactly; from elsewhere a little more.
	 */
	if (v->expect == HOSTCLOCK_RATE_LIMITED) {
		step = hostclock_div128((__uint128_t)cur * v->step_ppm, 1000000);
		want_use = v->want_ppm > v->cur_ppm ? cur + step : cur - step;
	}
	got = hostclock_rate_bound(hc_rate_of(v->want_ppm), v->no_ref ? 0 : HC_RATE_REF, cur,
				   v->tolerance_ppm, v->step_ppm, &use);
	if (got != v->expect || use != want_use ||
	    (want_use && hostclock_rate_ppb(use, hc_rate_of(v->use_ppm)) / 1000))
		return hc_fail(msg, "verdict %d rate %llu, expected %d rate %llu", got,
			       (unsigned long long)use, v->expect,
			       (unsigned long long)want_use);
	return true;
}

/* The guest's calibration as a rate, and rates as ppb. */
bool hc_check_rate_units(char *msg)
{
	/* 1 GHz: exactly 1 ns per tick */
	if (hostclock_khz_to_mult(1000000) != BIT_ULL(HOSTCLOCK_LINE_FRAC_BITS))
		return hc_fail(msg, "1 GHz: %llu",
			       (unsigned long long)hostclock_khz_to_mult(1000000));
	/* a page's period for 2^32 Hz (4294967.296 kHz): the same rate within rounding */
	if (hostclock_khz_to_mult(4294967) - hostclock_period_to_mult(1ULL << 32, 0) >
	    hostclock_period_to_mult(1ULL << 32, 0) / 10000000)
		return hc_fail(msg, "4294967 kHz against a 2^32 Hz page: %llu, %llu",
			       (unsigned long long)hostclock_khz_to_mult(4294967),
			       (unsigned long long)hostclock_period_to_mult(1ULL << 32, 0));
	if (hostclock_khz_to_mult(1047) || !hostclock_khz_to_mult(1048) ||
	    !hostclock_khz_to_mult(68719476) || hostclock_khz_to_mult(68719477) ||
	    hostclock_khz_to_mult(0))
		return hc_fail(msg, "the accepted frequency range is wrong");
	if (hostclock_rate_ppb(hc_rate_of(123), HC_RATE_REF) != 123000 ||
	    hostclock_rate_ppb(hc_rate_of(-5), HC_RATE_REF) != -5000 ||
	    hostclock_rate_ppb(HC_RATE_REF, HC_RATE_REF) != 0 ||
	    hostclock_rate_ppb(U64_MAX, 1) != S64_MAX || hostclock_rate_ppb(5, 0) != S64_MAX)
		return hc_fail(msg, "rate_ppb: %lld %lld",
			       (long long)hostclock_rate_ppb(hc_rate_of(123), HC_RATE_REF),
			       (long long)hostclock_rate_ppb(hc_rate_of(-5), HC_RATE_REF));
	return true;
}

/*
 * Random rates, calibrations and limits: the rate taken is never further
 * from the calibration than the tolerance (unless the line already was),
 * never moves further than the step from the current one, and moves all
 * the way when it may.
 */
bool hc_check_rate_random(u64 seed, unsigned int n, char *msg)
{
	u64 rng = seed | 1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		u64 ref = (hc_rand(&rng) >> 1) | (1ULL << 40);
		u64 want = ref + (hc_rand(&rng) >> (24 + hc_rand(&rng) % 40)) *
			   ((hc_rand(&rng) & 1) ? 1 : -1);
		u64 cur = (hc_rand(&rng) & 3) ? ref + (hc_rand(&rng) >> 44) : 0;
		u32 tol = hc_rand(&rng) % 2000, step = hc_rand(&rng) % 300;
		__int128 moved, dref, dcur;
		bool refuse, refused, up, went_up;
		u64 use;
		int got;

		got = hostclock_rate_bound(want, ref, cur, tol, step, &use);
		dref = (__int128)want - (__int128)ref;
		dcur = (__int128)use - (__int128)cur;
		moved = dcur < 0 ? -dcur : dcur;
		if (dref < 0)
			dref = -dref;
		refuse = tol && dref * 1000000 > (__int128)tol * ref;
		refused = got == HOSTCLOCK_RATE_REFUSED;
		up = want > cur;
		went_up = use > cur;
		if (refuse != refused || (refused && use != cur))
			return hc_fail(msg, "seed %llu #%u: verdict %d, %lld ppb off, tolerance %u",
				       (unsigned long long)seed, i, got,
				       (long long)hostclock_rate_ppb(want, ref), tol);
		if (got == HOSTCLOCK_RATE_OK && use != want)
			return hc_fail(msg, "seed %llu #%u: ok but not the page's rate",
				       (unsigned long long)seed, i);
		if (got == HOSTCLOCK_RATE_LIMITED &&
		    (!cur || !step || moved * 1000000 > (__int128)step * cur ||
		     (moved + 1) * 1000000 <= (__int128)step * cur ||
		     up != went_up))
			return hc_fail(msg, "seed %llu #%u: limited %llu -> %llu for %llu, step %u",
				       (unsigned long long)seed, i, (unsigned long long)cur,
				       (unsigned long long)use, (unsigned long long)want, step);
	}
	return true;
}

#define HC_EST	VMCLOCK_FLAG_TIME_ESTERROR_VALID
#define HC_MAX	VMCLOCK_FLAG_TIME_MAXERROR_VALID
#define HC_PEST	VMCLOCK_FLAG_PERIOD_ESTERROR_VALID
#define HC_PMAX	VMCLOCK_FLAG_PERIOD_MAXERROR_VALID
#define HC_ALL	(HC_EST | HC_MAX | HC_PEST | HC_PMAX)

/* A rate of 2^32 at shift 0 is 2^-32 s per tick: 2^32 ticks add 1 s. */
const struct hc_error_vector hc_error_vectors[] = {
	{ "no flags", 0, 5, 7, 1, 1, 0, 0, false, false, 5, 7 },
	{ "delta 0, time flags only", HC_EST | HC_MAX, 5, 7, 0, 0, 0, 0,
	  true, true, 5, 7 },
	{ "delta 1, no rate flags", HC_EST | HC_MAX, 5, 7, 1, 1, 0, 1,
	  false, false, 5, 7 },
	{ "rate flags without time flags", HC_PEST | HC_PMAX, 5, 7, 1, 1, 0, 1,
	  false, false, 5, 7 },
	{ "one second of growth", HC_ALL, 5, 7, HC_TICK_2_32, 2 * HC_TICK_2_32, 0,
	  1LL << 32, true, true, 1000000005, 2000000007 },
	{ "growth backwards", HC_ALL, 5, 7, HC_TICK_2_32, 2 * HC_TICK_2_32, 0,
	  -(1LL << 32), true, true, 1000000005, 2000000007 },
	{ "tiny growth rounds up", HC_ALL, 0, 0, 1, 1, 0, 1, true, true, 1, 1 },
	{ "tiny growth at max shift", HC_ALL, 0, 0, 1, 1, HOSTCLOCK_SHIFT_MAX, 1,
	  true, true, 1, 1 },
	{ "zero rate", HC_ALL, 3, 4, 0, 0, 0, 1000000, true, true, 3, 4 },
	{ "half second exactly", HC_ALL, 0, 0, HC_TICK_2_32, HC_TICK_2_32, 0,
	  1LL << 31, true, true, 500000000, 500000000 },
	{ "saturates", HC_ALL, 1, U64_MAX - 1, U64_MAX, U64_MAX, 0, S64_MAX,
	  true, true, U64_MAX, U64_MAX },
	{ "only maxerror", HC_MAX | HC_PMAX, 5, 7, 1, HC_TICK_2_32, 0, 1LL << 32,
	  false, true, 5, 1000000007 },
	{ "bad shift", HC_ALL, 5, 7, 1, 1, HOSTCLOCK_SHIFT_MAX + 1, 1,
	  false, false, 5, 7 },
};

const unsigned int hc_error_vector_count = ARRAY_SIZE(hc_error_vectors);

bool hc_check_error(const struct hc_error_vector *v, char *msg)
{
	struct hostclock_error_bound err;
	struct hostclock_clock clk;

	hc_good_clock(&clk);
	clk.flags = v->flags;
	clk.time_esterror_nanosec = v->time_est;
	clk.time_maxerror_nanosec = v->time_max;
	clk.counter_period_esterror_rate_frac_sec = v->est_rate;
	clk.counter_period_maxerror_rate_frac_sec = v->max_rate;
	clk.counter_period_shift = v->shift;
	hostclock_counter_error(&clk, clk.counter_value + (u64)v->delta, &err);

	if (err.esterror_valid != v->est_valid || err.maxerror_valid != v->max_valid)
		return hc_fail(msg, "validity est %d max %d, expected %d %d",
			       err.esterror_valid, err.maxerror_valid,
			       v->est_valid, v->max_valid);
	if (v->est_valid && err.esterror_ns != v->est)
		return hc_fail(msg, "esterror %llu, expected %llu",
			       (unsigned long long)err.esterror_ns,
			       (unsigned long long)v->est);
	if (v->max_valid && err.maxerror_ns != v->max)
		return hc_fail(msg, "maxerror %llu, expected %llu",
			       (unsigned long long)err.maxerror_ns,
			       (unsigned long long)v->max);
	return true;
}

bool hc_check_err_names(char *msg)
{
	int i, j;

	for (i = 0; i < HOSTCLOCK_ERR_COUNT; i++) {
		const char *name = hostclock_err_name(i);

		if (!strcmp(name, "unknown"))
			return hc_fail(msg, "error %d has no name", i);
		for (j = 0; j < i; j++) {
			if (!strcmp(name, hostclock_err_name(j)))
				return hc_fail(msg, "errors %d and %d share name %s",
					       j, i, name);
		}
	}
	if (strcmp(hostclock_err_name(-1), "unknown") ||
	    strcmp(hostclock_err_name(HOSTCLOCK_ERR_COUNT), "unknown"))
		return hc_fail(msg, "out-of-range codes must be named unknown");
	return true;
}

bool hc_check_snapshot_roundtrip(char *msg)
{
	struct hostclock_clock in, out;
	struct vmclock_abi page;
	unsigned int retries = 99;
	int ret;

	hc_good_clock(&in);
	in.seq_count = 42;
	in.disruption_marker = 0x0123456789abcdefULL;
	in.flags = VMCLOCK_FLAG_TAI_OFFSET_VALID | VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;
	in.tai_offset_sec = -37;
	in.leap_indicator = VMCLOCK_LEAP_PRE_POS;
	in.counter_period_shift = 3;
	in.counter_period_esterror_rate_frac_sec = 11;
	in.counter_period_maxerror_rate_frac_sec = 12;
	in.time_frac_sec = 0xfedcba9876543210ULL;
	in.time_esterror_nanosec = 13;
	in.time_maxerror_nanosec = 14;
	in.vm_generation_counter = 15;
	hostclock_clock_encode(&in, &page);

	ret = hostclock_page_snapshot(&page, &out, 4, &retries);
	if (ret != HOSTCLOCK_OK || retries != 0)
		return hc_fail(msg, "stable page: %s after %u retries",
			       hostclock_err_name(ret), retries);
	if (memcmp(&in, &out, sizeof(in)))
		return hc_fail(msg, "decode(encode(x)) differs from x");
	if (le32_to_cpu(page.magic) != VMCLOCK_MAGIC || page.pad[0] || page.pad[1])
		return hc_fail(msg, "encoded magic or padding wrong");
	return true;
}

bool hc_check_snapshot_stuck_odd(unsigned int budget, char *msg)
{
	struct hostclock_clock clk, good;
	struct vmclock_abi page;
	unsigned int retries = 0;
	int ret;

	hc_good_clock(&good);
	good.seq_count = 7;
	hostclock_clock_encode(&good, &page);
	ret = hostclock_page_snapshot(&page, &clk, budget, &retries);
	if (ret != HOSTCLOCK_ERR_SEQ_TIMEOUT)
		return hc_fail(msg, "seq stuck odd: got %s, expected seq_timeout",
			       hostclock_err_name(ret));
	if (retries != budget)
		return hc_fail(msg, "seq stuck odd: %u retries, budget %u",
			       retries, budget);
	return true;
}

/*
 * A random period accepted by the validator, at a random accepted shift:
 * at shift s that is [2^(28 + s), 2^(44 + s)], capped by 64 bits.
 */
static void hc_random_period(u64 *rng, u64 *period, u8 *shift)
{
	u8 s = hc_rand(rng) % (HOSTCLOCK_SHIFT_MAX + 1);
	unsigned int lo_log = 28 + s;
	unsigned int hi_log = 44 + s > 64 ? 64 : 44 + s;
	unsigned int log = lo_log + hc_rand(rng) % (hi_log - lo_log);

	/* in [2^log, 2^(log + 1)), so below 2^hi_log */
	*period = (1ULL << log) | (hc_rand(rng) & ((1ULL << log) - 1));
	*shift = s;
}

bool hc_check_convert_random(u64 seed, unsigned int n, char *msg)
{
	u64 rng = seed | 1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct hostclock_clock clk;
		struct hostclock_time t = { 0, 0 };
		u64 counter, ref_sec, up_sec;
		u32 ref_nsec, up_nsec;
		bool inexact;
		int got, want;
		u64 r = hc_rand(&rng);

		hc_good_clock(&clk);
		hc_random_period(&rng, &clk.counter_period_frac_sec,
				 &clk.counter_period_shift);
		clk.time_sec = (r & 1) ? hc_rand(&rng) >> (hc_rand(&rng) % 64) :
					 HC_T0 + (hc_rand(&rng) >> 40);
		clk.time_frac_sec = hc_rand(&rng);
		clk.counter_value = hc_rand(&rng);
		if (hostclock_clock_validate(&clk, HOSTCLOCK_PAGE_SIZE))
			return hc_fail(msg, "seed %llu case %u: generated an invalid page",
				       (unsigned long long)seed, i);
		/* |delta| up to 2^62 by spec; now and then up to 2^63 too */
		counter = hc_rand(&rng) >> (1 + hc_rand(&rng) % 63);
		if (r & 2)
			counter >>= 1;
		counter = (r & 4) ? clk.counter_value - counter :
				    clk.counter_value + counter;

		got = hostclock_counter_to_time(&clk, counter, &t);
		want = hc_ref_counter_to_time(&clk, counter, &ref_sec, &ref_nsec,
					      &inexact);
		if (got != want)
			return hc_fail(msg, "seed %llu case %u: core %s, reference %s",
				       (unsigned long long)seed, i,
				       hostclock_err_name(got),
				       hostclock_err_name(want));
		if (got)
			continue;
		/* within 1 ns: floor, or floor + 1 ns when not exact */
		up_sec = ref_sec + (ref_nsec == 999999999);
		up_nsec = ref_nsec == 999999999 ? 0 : ref_nsec + 1;
		if (t.sec == ref_sec && t.nsec == ref_nsec)
			continue;
		if (inexact && t.sec == up_sec && t.nsec == up_nsec)
			continue;
		return hc_fail(msg, "seed %llu case %u: core %llu.%09u, reference %llu.%09u%s",
			       (unsigned long long)seed, i,
			       (unsigned long long)t.sec, t.nsec,
			       (unsigned long long)ref_sec, ref_nsec,
			       inexact ? "+" : "");
	}
	return true;
}

/*
 * Rebase at a random point onto a random new rate: the line must read the
 * same at the rebase point, never less after it, and advance at the new
 * rate (checked over 2^32 ticks against the reference).
 */
bool hc_check_line_rebase_random(u64 seed, unsigned int n, char *msg)
{
	struct hostclock_line line;
	u64 rng = seed | 1;
	u64 tsc = hc_rand(&rng) >> 2;
	u64 period, ns_ref;
	unsigned int i;
	u8 shift;

	hc_random_period(&rng, &period, &shift);
	hostclock_line_start(&line, tsc, HC_T0 * 1000000000ULL,
			     hostclock_period_to_mult(period, shift));

	for (i = 0; i < n; i++) {
		u64 before, after, later, span = 1ULL << 32;
		struct hc_mp acc;
		u64 k;

		tsc += hc_rand(&rng) >> (24 + hc_rand(&rng) % 40);
		before = hostclock_line_ns(&line, tsc);
		hc_random_period(&rng, &period, &shift);
		hostclock_line_rebase(&line, tsc,
				      hostclock_period_to_mult(period, shift));
		after = hostclock_line_ns(&line, tsc);
		if (after != before)
			return hc_fail(msg, "seed %llu rebase %u: %llu ns before, %llu after",
				       (unsigned long long)seed, i,
				       (unsigned long long)before,
				       (unsigned long long)after);
		for (k = 1; k < (1ULL << 40); k <<= 3) {
			later = hostclock_line_ns(&line, tsc + k);
			if (later < before)
				return hc_fail(msg, "seed %llu rebase %u: back %llu ns at +%llu",
					       (unsigned long long)seed, i,
					       (unsigned long long)(before - later),
					       (unsigned long long)k);
		}
		hc_mp_set(&acc, 0);
		hc_ref_line_add(&acc, span, period, shift);
		hc_ref_line_ns(&acc, &ns_ref);
		later = hostclock_line_ns(&line, tsc + span) - after;
		if (later + 1 < ns_ref || later > ns_ref + 1)
			return hc_fail(msg, "seed %llu at %u: %llu ns in 2^32 ticks, exact %llu",
				       (unsigned long long)seed, i,
				       (unsigned long long)later,
				       (unsigned long long)ns_ref);
	}
	return true;
}

/*
 * Many rebases in a row: the line's total advance must match the exact sum
 * of its segments within 1 ns, so no rounding accumulates across rebases.
 */
bool hc_check_line_accumulation(u64 seed, unsigned int n, char *msg)
{
	struct hostclock_line line;
	struct hc_mp acc;
	u64 rng = seed | 1;
	u64 tsc = 1ULL << 40, start_ns = 1ULL << 50, period, ns_ref, got;
	unsigned int i;
	u8 shift;

	hc_random_period(&rng, &period, &shift);
	hostclock_line_start(&line, tsc, start_ns,
			     hostclock_period_to_mult(period, shift));
	hc_mp_set(&acc, 0);
	for (i = 0; i < n; i++) {
		/* up to 2^24 ticks: a 100 ms poll of a 100 MHz counter */
		u64 ticks = 1 + (hc_rand(&rng) >> 40);

		hc_ref_line_add(&acc, ticks, period, shift);
		tsc += ticks;
		hc_random_period(&rng, &period, &shift);
		hostclock_line_rebase(&line, tsc,
				      hostclock_period_to_mult(period, shift));
	}
	got = hostclock_line_ns(&line, tsc) - start_ns;
	if (!hc_ref_line_ns(&acc, &ns_ref))
		return hc_fail(msg, "reference overflowed");
	if (got + 1 < ns_ref || got > ns_ref + 1)
		return hc_fail(msg, "seed %llu: %u rebases advanced %llu ns, exact %llu",
			       (unsigned long long)seed, n,
			       (unsigned long long)got,
			       (unsigned long long)ns_ref);
	return true;
}

/*
 * Inverting the line: for a reading at counter c, the counter recovered
 * from the value read lies within half a nanosecond's worth of ticks of c
 * (exactly c for counters slower than 1 GHz) and reads back the same value. Random periods,
 * random rebases (so the base has a sub-ns fraction), random distances.
 */
bool hc_check_line_invert_random(u64 seed, unsigned int n, char *msg)
{
	struct hostclock_line line;
	u64 rng = seed | 1;
	u64 tsc = hc_rand(&rng) >> 2, period;
	unsigned int i;
	u8 shift;

	hc_random_period(&rng, &period, &shift);
	hostclock_line_start(&line, tsc, HC_T0 * 1000000000ULL,
			     hostclock_period_to_mult(period, shift));
	for (i = 0; i < n; i++) {
		u64 c, ns, back, span, per_ns;

		hc_random_period(&rng, &period, &shift);
		tsc += hc_rand(&rng) >> (30 + hc_rand(&rng) % 34);
		hostclock_line_rebase(&line, tsc, hostclock_period_to_mult(period, shift));
		c = tsc + (hc_rand(&rng) >> (24 + hc_rand(&rng) % 40));
		ns = hostclock_line_ns(&line, c);
		if (!hostclock_line_tsc_at(&line, ns, &back))
			return hc_fail(msg, "seed %llu case %u: no inverse of %llu ns",
				       (unsigned long long)seed, i, (unsigned long long)ns);
		/* half the ticks in one nanosecond, rounded up */
		per_ns = (1ULL << HOSTCLOCK_LINE_FRAC_BITS) / line.mult / 2 + 1;
		span = back > c ? back - c : c - back;
		if (span > per_ns || hostclock_line_ns(&line, back) != ns)
			return hc_fail(msg, "seed %llu #%u: c %llu: %llu, %llu (%llu/%llu) %llu",
				       (unsigned long long)seed, i, (unsigned long long)c,
				       (unsigned long long)ns, (unsigned long long)back,
				       (unsigned long long)span, (unsigned long long)per_ns,
				       (unsigned long long)hostclock_line_ns(&line, back));
	}
	/* before the base there is no inverse */
	if (line.base_ns && hostclock_line_tsc_at(&line, line.base_ns - 1, &tsc))
		return hc_fail(msg, "seed %llu: a value before the base was inverted",
			       (unsigned long long)seed);
	return true;
}

/*
 * The monotonic guard on one CPU's view: readings that jitter backwards are
 * raised to the largest value handed out, flagged as clamped exactly then,
 * and the shared value only ever grows.
 */
bool hc_check_guard_random(u64 seed, unsigned int n, char *msg)
{
	u64 rng = seed | 1, last = 1ULL << 40, ns = last, max = last, expect;
	unsigned int i, clamps = 0, expect_clamps = 0;

	for (i = 0; i < n; i++) {
		u64 out, r = hc_rand(&rng);
		bool clamped, behind;

		/* mostly forward, sometimes back, sometimes equal */
		if (r % 4 == 0)
			ns -= r % 1000;
		else if (r % 4 != 1)
			ns += r % 5000;
		if (ns < max)
			expect_clamps++;
		out = hostclock_monotonic_guard(&last, ns, &clamped);
		clamps += clamped;
		expect = ns > max ? ns : max;
		behind = ns < max;
		if (out != expect || last != out || clamped != behind)
			return hc_fail(msg, "seed %llu #%u: read %llu max %llu: %llu, %llu, %d",
				       (unsigned long long)seed, i, (unsigned long long)ns,
				       (unsigned long long)max, (unsigned long long)out,
				       (unsigned long long)last, clamped);
		max = out;
	}
	if (!expect_clamps || clamps != expect_clamps)
		return hc_fail(msg, "seed %llu: %u clamps, expected %u (and some)",
			       (unsigned long long)seed, clamps, expect_clamps);
	return true;
}
