/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An independent reference for the core's arithmetic: unsigned integers of
 * HC_MP_WORDS 32-bit limbs, schoolbook operations, no 128-bit types. It
 * multiplies by 10^9 before shifting, where the core shifts first, so the
 * two share neither method nor rounding.
 */
#ifndef _HOSTCLOCK_REF_H
#define _HOSTCLOCK_REF_H

#include "hostclock/core.h"

#define HC_MP_WORDS	12

struct hc_mp {
	u32 w[HC_MP_WORDS];
};

void hc_mp_set(struct hc_mp *a, u64 v);
void hc_mp_shl(struct hc_mp *a, unsigned int bits);
bool hc_mp_shr(struct hc_mp *a, unsigned int bits);
void hc_mp_add(struct hc_mp *a, const struct hc_mp *b);
bool hc_mp_sub(struct hc_mp *a, const struct hc_mp *b);
int hc_mp_cmp(const struct hc_mp *a, const struct hc_mp *b);
void hc_mp_mul_u64(struct hc_mp *a, u64 m);
u32 hc_mp_divmod_u32(struct hc_mp *a, u32 d);
bool hc_mp_to_u64(const struct hc_mp *a, u64 *v);

/*
 * Time at @counter: floor to the nanosecond, @inexact set when the exact
 * value had a further fraction. Returns HOSTCLOCK_OK or HOSTCLOCK_ERR_RANGE.
 */
int hc_ref_counter_to_time(const struct hostclock_clock *clk, u64 counter,
			   u64 *sec, u32 *nsec, bool *inexact);

/* Adds @ticks * @period * 10^9 in 2^-(64 + HOSTCLOCK_SHIFT_MAX) ns to @acc. */
void hc_ref_line_add(struct hc_mp *acc, u64 ticks, u64 period, u8 shift);
/* floor(@acc) in ns; false if it does not fit 64 bits. */
bool hc_ref_line_ns(const struct hc_mp *acc, u64 *ns);

/*
 * How far an error rate of @rate (2^-(64 + @shift) s per tick) carries over
 * @ticks ticks: the exact value rounded up to the nanosecond. False when it
 * does not fit 64 bits.
 */
bool hc_ref_error_growth(u64 ticks, u64 rate, u8 shift, u64 *ns);

/* xorshift64*, deterministic for a seed */
u64 hc_rand(u64 *state);

#endif /* _HOSTCLOCK_REF_H */
