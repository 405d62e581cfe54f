// SPDX-License-Identifier: GPL-2.0
/*
 * What the host's own NTP state says about its clock, as page fields.
 *
 * The mapping is a pure function of adjtimex()'s answer so that every case
 * can be tested with made-up inputs.
 */
#include <sys/timex.h>
#include <time.h>

#include "hcd.h"

#define HCD_SHIFT_PLL		2	/* the kernel's PLL: offset >> (2 + constant) a second */
#define HCD_ADJTIME_RATE	500e-6	/* adjtime() slews at 500 us a second */

/**
 * hcd_timex_read() - query the kernel's NTP state without changing it
 * @tx: the answer; tx->state is -1 if adjtimex() failed
 *
 * Return: 0, or -1 if adjtimex() failed.
 */
int hcd_timex_read(struct hcd_timex *tx)
{
	struct timex t = { .modes = 0 }, ss = { .modes = ADJ_OFFSET_SS_READ };
	int state = adjtimex(&t);

	memset(tx, 0, sizeof(*tx));
	tx->state = state;
	if (state < 0)
		return -1;
	tx->status = t.status;
	tx->maxerror_us = t.maxerror;
	tx->esterror_us = t.esterror;
	tx->tai = t.tai;
	tx->tolerance_ppm = t.tolerance >> 16;
	tx->tick = t.tick;
	tx->freq = t.freq;
	tx->offset_ns = t.status & STA_NANO ? (long long)t.offset : (long long)t.offset * 1000;
	tx->constant = t.constant;
	/* a read, despite the name: what an adjtime() has still to slew */
	tx->adjtime_left = adjtimex(&ss) >= 0 && ss.offset;
	return 0;
}

/**
 * hcd_timex_rate() - CLOCK_REALTIME's rate against the clocksource's own,
 *	as adjtimex's tick and freq set it
 * @tx: the kernel's NTP state
 *
 * The kernel makes a second of its clocksource tick*100 us plus freq long;
 * its PLL and adjtime() slews come on top (hcd_host_status.kernel_slew).
 */
long double hcd_timex_rate(const struct hcd_timex *tx)
{
	long tick = tx->tick > 0 ? tx->tick : 10000;

	return tick / 10000.0L + tx->freq / 65536.0L * 1e-6L;
}

/* Is the UTC day of @utc_sec the last of its month? A leap second comes
 * only then (VMClock says "at the end of the month"); the kernel inserts
 * it at the end of whatever day the daemon set STA_INS on. */
static bool hcd_last_day_of_month(s64 utc_sec)
{
	time_t now = (time_t)utc_sec, next = now + 86400;
	struct tm a, b;

	return gmtime_r(&now, &a) && gmtime_r(&next, &b) && a.tm_mon != b.tm_mon;
}

/**
 * hcd_timex_map() - page fields from the host's NTP state
 * @tx: from hcd_timex_read() or a test
 * @utc_sec: UTC now, for the date of an announced leap second
 * @last_leap: remembers which leap was announced, to tell the second after
 *	an inserted leap from the one after a deleted one (both TIME_WAIT)
 * @st: the page's view of the host clock
 *
 * An unsynchronised host clock is FREERUNNING, never SYNCHRONIZED, and its
 * error fields are not flagged valid; a failed query is UNKNOWN.
 */
void hcd_timex_map(const struct hcd_timex *tx, s64 utc_sec, u8 *last_leap,
		   struct hcd_host_status *st)
{
	bool synced;

	memset(st, 0, sizeof(*st));
	if (tx->state < 0) {
		st->clock_status = VMCLOCK_STATUS_UNKNOWN;
		return;
	}
	synced = !(tx->status & STA_UNSYNC) && tx->state != TIME_ERROR;
	st->clock_status = synced ? VMCLOCK_STATUS_SYNCHRONIZED :
				    VMCLOCK_STATUS_FREERUNNING;

	switch (tx->state) {
	case TIME_INS:
		st->leap_indicator = VMCLOCK_LEAP_PRE_POS;
		break;
	case TIME_DEL:
		st->leap_indicator = VMCLOCK_LEAP_PRE_NEG;
		break;
	case TIME_OOP:
		st->leap_indicator = VMCLOCK_LEAP_POS;
		break;
	case TIME_WAIT:
		st->leap_indicator = *last_leap == VMCLOCK_LEAP_PRE_NEG ?
				     VMCLOCK_LEAP_POST_NEG : VMCLOCK_LEAP_POST_POS;
		break;
	default:
		/* TIME_ERROR still carries an announced leap in the status */
		if (tx->status & STA_INS)
			st->leap_indicator = VMCLOCK_LEAP_PRE_POS;
		else if (tx->status & STA_DEL)
			st->leap_indicator = VMCLOCK_LEAP_PRE_NEG;
		else
			st->leap_indicator = VMCLOCK_LEAP_NONE;
		break;
	}
	if ((st->leap_indicator == VMCLOCK_LEAP_PRE_POS ||
	     st->leap_indicator == VMCLOCK_LEAP_PRE_NEG) &&
	    !hcd_last_day_of_month(utc_sec)) {
		/* the guest would apply it at month end, the host tonight */
		st->leap_indicator = VMCLOCK_LEAP_NONE;
		st->leap_not_month_end = true;
	}
	if (st->leap_indicator == VMCLOCK_LEAP_PRE_POS ||
	    st->leap_indicator == VMCLOCK_LEAP_PRE_NEG)
		*last_leap = st->leap_indicator;

	/* 0 means the NTP daemon never set it; TAI - UTC has been >= 10 s since 1972 */
	if (tx->tai > 0 && tx->tai <= HOSTCLOCK_TAI_OFFSET_MAX) {
		st->tai_valid = true;
		st->tai_offset = (s16)tx->tai;
	}

	if (synced && tx->esterror_us >= 0 && tx->maxerror_us >= 0) {
		st->errors_valid = true;
		st->esterror_ns = (u64)tx->esterror_us * 1000;
		st->maxerror_ns = (u64)tx->maxerror_us * 1000;
	}
	st->tolerance = (tx->tolerance_ppm > 0 ? tx->tolerance_ppm : 500) * 1e-6;
	if (tx->status & STA_PLL && tx->offset_ns) {
		long long off = tx->offset_ns < 0 ? -tx->offset_ns : tx->offset_ns;
		long shift = HCD_SHIFT_PLL + (tx->constant > 0 ? tx->constant : 0);

		st->kernel_slew = off * 1e-9 / (double)(1ULL << (shift < 40 ? shift : 40));
	}
	if (tx->adjtime_left)
		st->kernel_slew += HCD_ADJTIME_RATE;
}
