// SPDX-License-Identifier: GPL-2.0
/*
 * From a counter value to absolute time and its error bounds.
 *
 * time(c) = time_sec + time_frac_sec / 2^64
 *         + (c - counter_value) * period / 2^(64 + shift)
 *
 * evaluated in 64.64 fixed point held in 128 bits. The product of a 64-bit
 * counter delta and a 64-bit period fits in 128 bits, so the only rounding
 * is dropping the shifted-out bits (under 2^-64 s) and rounding the final
 * fraction to the nearest nanosecond.
 */
#include "hostclock/core.h"

/* Counter ticks from the page's reference point, as sign and magnitude. */
static u64 hostclock_counter_delta(const struct hostclock_clock *clk,
				   u64 counter, bool *negative)
{
	s64 delta = (s64)(counter - clk->counter_value);

	*negative = delta < 0;
	/* Unsigned negation: correct for S64_MIN too. */
	return *negative ? -(u64)delta : (u64)delta;
}

/**
 * hostclock_counter_to_time() - time at a counter value, in the page's timescale
 * @clk: a validated page copy
 * @counter: a counter reading; may be before counter_value
 * @t: the time, rounded to the nearest nanosecond
 *
 * Exact to within 1 ns of the exact rational result for any counter value.
 *
 * Return: HOSTCLOCK_OK; HOSTCLOCK_ERR_BAD_SHIFT if @clk was not validated;
 * HOSTCLOCK_ERR_RANGE if the time is before the epoch or its seconds do not
 * fit in a signed 64-bit value.
 */
int hostclock_counter_to_time(const struct hostclock_clock *clk, u64 counter,
			      struct hostclock_time *t)
{
	unsigned __int128 base, off, at;
	bool negative;
	u64 mag, sec, nsec;

	if (clk->counter_period_shift > HOSTCLOCK_SHIFT_MAX)
		return HOSTCLOCK_ERR_BAD_SHIFT;

	mag = hostclock_counter_delta(clk, counter, &negative);
	base = ((unsigned __int128)clk->time_sec << 64) | clk->time_frac_sec;
	off = ((unsigned __int128)mag * clk->counter_period_frac_sec) >>
	      clk->counter_period_shift;

	if (negative) {
		if (off > base)
			return HOSTCLOCK_ERR_RANGE;
		at = base - off;
	} else {
		at = base + off;
		if (at < base)
			return HOSTCLOCK_ERR_RANGE;
	}

	sec = (u64)(at >> 64);
	nsec = (u64)(((unsigned __int128)(u64)at * NSEC_PER_SEC +
		      (1ULL << 63)) >> 64);
	if (nsec == NSEC_PER_SEC) {
		sec++;
		nsec = 0;
	}
	if (sec > S64_MAX)
		return HOSTCLOCK_ERR_RANGE;
	t->sec = sec;
	t->nsec = (u32)nsec;
	return HOSTCLOCK_OK;
}

#define HOSTCLOCK_SEC_PER_DAY	86400ULL

/*
 * Is the UTC day starting at @day (days since 1970-01-01) the first of a
 * month? Civil-from-days over 400-year eras; leap seconds come only at the
 * end of a month.
 */
static bool hostclock_first_of_month(u64 day)
{
	u64 z = day + 719468;	/* days since 0000-03-01 */
	u64 doe = z % 146097;	/* day of the 400-year era */
	u64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	u64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* from March 1 */
	u64 mp = (5 * doy + 2) / 153;

	return doy - (153 * mp + 2) / 5 == 0;
}

/*
 * A UTC time extrapolated from a page across a leap second the page
 * announced: the page's own time is right, but counting on past the end of
 * the month must repeat 23:59:59 (a positive leap, as the kernel's
 * CLOCK_REALTIME does) or skip it (a negative one). @page_sec is the page's
 * time in UTC. During the leap second itself (VMCLOCK_LEAP_POS) the page's
 * time already repeats the second and nothing changes; TAI never changes.
 */
static int hostclock_leap_adjust_utc(const struct hostclock_clock *clk,
				     u64 page_sec, struct hostclock_time *t)
{
	u64 end = (page_sec / HOSTCLOCK_SEC_PER_DAY + 1) * HOSTCLOCK_SEC_PER_DAY;

	/* a page past the range (its day's end would wrap) announces nothing */
	if (page_sec > S64_MAX - HOSTCLOCK_SEC_PER_DAY ||
	    !hostclock_first_of_month(end / HOSTCLOCK_SEC_PER_DAY))
		return HOSTCLOCK_OK;
	if (clk->leap_indicator == VMCLOCK_LEAP_PRE_POS && t->sec >= end) {
		t->sec--;
	} else if (clk->leap_indicator == VMCLOCK_LEAP_PRE_NEG &&
		   page_sec < end - 1 && t->sec >= end - 1) {
		/* the skipped second must not carry a time past the range */
		if (t->sec >= S64_MAX)
			return HOSTCLOCK_ERR_RANGE;
		t->sec++;
	}
	return HOSTCLOCK_OK;
}

/**
 * hostclock_counter_to_timescale() - time at a counter value, in UTC or TAI
 * @clk: a validated page copy
 * @counter: a counter reading
 * @ts: the wanted timescale
 * @t: the time
 *
 * A page in one of UTC and TAI converts to the other through tai_offset_sec,
 * which must then be flagged valid. A page in an undefined epoch
 * (VMCLOCK_TIME_MONOTONIC) has no absolute time to give. A UTC result
 * honours a leap second the page announces (leap_indicator PRE_POS or
 * PRE_NEG) when the counter lies past the end of that month.
 *
 * Return: HOSTCLOCK_OK, HOSTCLOCK_ERR_NO_TIMESCALE, HOSTCLOCK_ERR_NO_TAI_OFFSET,
 * HOSTCLOCK_ERR_BAD_TIME_TYPE for an unknown @ts or page type, or an error of
 * hostclock_counter_to_time().
 */
int hostclock_counter_to_timescale(const struct hostclock_clock *clk,
				   u64 counter, enum hostclock_timescale ts,
				   struct hostclock_time *t)
{
	s64 shift_sec;
	int ret;

	if (ts != HOSTCLOCK_TS_UTC && ts != HOSTCLOCK_TS_TAI)
		return HOSTCLOCK_ERR_BAD_TIME_TYPE;
	if (clk->time_type == VMCLOCK_TIME_MONOTONIC)
		return HOSTCLOCK_ERR_NO_TIMESCALE;
	if (clk->time_type != VMCLOCK_TIME_UTC &&
	    clk->time_type != VMCLOCK_TIME_TAI)
		return HOSTCLOCK_ERR_BAD_TIME_TYPE;
	if (clk->time_type != ts &&
	    !(clk->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID))
		return HOSTCLOCK_ERR_NO_TAI_OFFSET;

	ret = hostclock_counter_to_time(clk, counter, t);
	if (ret)
		return ret;
	if (clk->time_type == ts)
		return ts == HOSTCLOCK_TS_UTC ?
		       hostclock_leap_adjust_utc(clk, clk->time_sec, t) : HOSTCLOCK_OK;

	/* TAI = UTC + tai_offset_sec */
	shift_sec = ts == HOSTCLOCK_TS_TAI ? clk->tai_offset_sec :
					     -(s64)clk->tai_offset_sec;
	if (shift_sec < 0 && t->sec < (u64)-shift_sec)
		return HOSTCLOCK_ERR_RANGE;
	if (shift_sec > 0 && t->sec > (u64)(S64_MAX - shift_sec))
		return HOSTCLOCK_ERR_RANGE;
	t->sec += shift_sec;
	/* a TAI page's time in UTC, with the same (pre-leap) offset */
	if (ts == HOSTCLOCK_TS_UTC && clk->time_sec >= (u64)-shift_sec)
		return hostclock_leap_adjust_utc(clk, clk->time_sec + shift_sec, t);
	return HOSTCLOCK_OK;
}

/*
 * How far an error rate of @rate (2^-(64 + shift) s per tick) carries over
 * @ticks ticks, in nanoseconds rounded up so that a bound stays a bound.
 * Saturates at U64_MAX.
 */
static u64 hostclock_error_growth(u64 ticks, u64 rate, u8 shift)
{
	unsigned __int128 x = (unsigned __int128)ticks * rate;
	unsigned __int128 q;	/* 2^-64 s units */
	u64 hi, lo_ns, ns;

	q = (x >> shift) + ((x & (((unsigned __int128)1 << shift) - 1)) != 0);
	hi = (u64)(q >> 64);
	if (hi > U64_MAX / NSEC_PER_SEC)
		return U64_MAX;
	lo_ns = (u64)(((unsigned __int128)(u64)q * NSEC_PER_SEC + U64_MAX) >> 64);
	ns = hi * NSEC_PER_SEC;
	return ns > U64_MAX - lo_ns ? U64_MAX : ns + lo_ns;
}

static u64 hostclock_add_sat(u64 a, u64 b)
{
	return a > U64_MAX - b ? U64_MAX : a + b;
}

/**
 * hostclock_counter_error() - the host's error bounds at a counter value
 * @clk: a validated page copy
 * @counter: a counter reading
 * @err: the bounds
 *
 * The page gives the time's errors at counter_value and the period's error
 * rates; away from counter_value a bound grows by |delta| times its rate. A
 * bound is valid when its time field is flagged valid and, unless the delta
 * is zero, its rate is flagged valid too: without the rate there is no bound
 * away from the reference point.
 */
void hostclock_counter_error(const struct hostclock_clock *clk, u64 counter,
			     struct hostclock_error_bound *err)
{
	u8 shift = clk->counter_period_shift;
	bool negative;
	u64 mag = hostclock_counter_delta(clk, counter, &negative);
	u64 rate, growth;

	err->esterror_valid = (clk->flags & VMCLOCK_FLAG_TIME_ESTERROR_VALID) &&
		(!mag || (clk->flags & VMCLOCK_FLAG_PERIOD_ESTERROR_VALID));
	err->maxerror_valid = (clk->flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) &&
		(!mag || (clk->flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID));
	if (shift > HOSTCLOCK_SHIFT_MAX) {
		err->esterror_valid = false;
		err->maxerror_valid = false;
	}

	err->esterror_ns = clk->time_esterror_nanosec;
	err->maxerror_ns = clk->time_maxerror_nanosec;
	if (!mag)
		return;
	if (err->esterror_valid) {
		rate = clk->counter_period_esterror_rate_frac_sec;
		growth = hostclock_error_growth(mag, rate, shift);
		err->esterror_ns = hostclock_add_sat(err->esterror_ns, growth);
	}
	if (err->maxerror_valid) {
		rate = clk->counter_period_maxerror_rate_frac_sec;
		growth = hostclock_error_growth(mag, rate, shift);
		err->maxerror_ns = hostclock_add_sat(err->maxerror_ns, growth);
	}
}
