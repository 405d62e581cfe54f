// SPDX-License-Identifier: GPL-2.0
/*
 * What the host's own NTP state says about its clock, as page fields.
 *
 * The mapping is a pure function of adjtimex()'s answer so that every case
 * can be tested with made-up inputs.
 */
#include <sys/timex.h>

#include "hcd.h"

/**
 * hcd_timex_read() - query the kernel's NTP state without changing it
 * @tx: the answer; tx->state is -1 if adjtimex() failed
 *
 * Return: 0, or -1 if adjtimex() failed.
 */
int hcd_timex_read(struct hcd_timex *tx)
{
	struct timex t = { .modes = 0 };
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
	return 0;
}

/**
 * hcd_timex_map() - page fields from the host's NTP state
 * @tx: from hcd_timex_read() or a test
 * @last_leap: remembers which leap was announced, to tell the second after
 *	an inserted leap from the one after a deleted one (both TIME_WAIT)
 * @st: the page's view of the host clock
 *
 * An unsynchronised host clock is FREERUNNING, never SYNCHRONIZED, and its
 * error fields are not flagged valid; a failed query is UNKNOWN.
 */
void hcd_timex_map(const struct hcd_timex *tx, u8 *last_leap,
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
}
