// SPDX-License-Identifier: GPL-2.0
/*
 * Multi-precision reference arithmetic for the core's tests.
 */
#include "hostclock_ref.h"

void hc_mp_set(struct hc_mp *a, u64 v)
{
	memset(a, 0, sizeof(*a));
	a->w[0] = (u32)v;
	a->w[1] = (u32)(v >> 32);
}

void hc_mp_shl(struct hc_mp *a, unsigned int bits)
{
	int i;

	while (bits >= 32) {
		for (i = HC_MP_WORDS - 1; i > 0; i--)
			a->w[i] = a->w[i - 1];
		a->w[0] = 0;
		bits -= 32;
	}
	if (!bits)
		return;
	for (i = HC_MP_WORDS - 1; i > 0; i--)
		a->w[i] = (a->w[i] << bits) | (a->w[i - 1] >> (32 - bits));
	a->w[0] <<= bits;
}

/* Returns true if any nonzero bit was shifted out. */
bool hc_mp_shr(struct hc_mp *a, unsigned int bits)
{
	bool lost = false;
	int i;

	while (bits >= 32) {
		lost |= a->w[0] != 0;
		for (i = 0; i < HC_MP_WORDS - 1; i++)
			a->w[i] = a->w[i + 1];
		a->w[HC_MP_WORDS - 1] = 0;
		bits -= 32;
	}
	if (!bits)
		return lost;
	lost |= (a->w[0] & ((1U << bits) - 1)) != 0;
	for (i = 0; i < HC_MP_WORDS - 1; i++)
		a->w[i] = (a->w[i] >> bits) | (a->w[i + 1] << (32 - bits));
	a->w[HC_MP_WORDS - 1] >>= bits;
	return lost;
}

void hc_mp_add(struct hc_mp *a, const struct hc_mp *b)
{
	u64 carry = 0;
	int i;

	for (i = 0; i < HC_MP_WORDS; i++) {
		carry += (u64)a->w[i] + b->w[i];
		a->w[i] = (u32)carry;
		carry >>= 32;
	}
}

/* a -= b; returns true on borrow (b > a). */
bool hc_mp_sub(struct hc_mp *a, const struct hc_mp *b)
{
	u64 borrow = 0;
	int i;

	for (i = 0; i < HC_MP_WORDS; i++) {
		u64 d = (u64)a->w[i] - b->w[i] - borrow;

		a->w[i] = (u32)d;
		borrow = (d >> 32) ? 1 : 0;
	}
	return borrow;
}

int hc_mp_cmp(const struct hc_mp *a, const struct hc_mp *b)
{
	int i;

	for (i = HC_MP_WORDS - 1; i >= 0; i--) {
		if (a->w[i] != b->w[i])
			return a->w[i] < b->w[i] ? -1 : 1;
	}
	return 0;
}

static void hc_mp_mul_u32(struct hc_mp *a, u32 m)
{
	u64 carry = 0;
	int i;

	for (i = 0; i < HC_MP_WORDS; i++) {
		carry += (u64)a->w[i] * m;
		a->w[i] = (u32)carry;
		carry >>= 32;
	}
}

void hc_mp_mul_u64(struct hc_mp *a, u64 m)
{
	struct hc_mp hi = *a;

	hc_mp_mul_u32(a, (u32)m);
	hc_mp_mul_u32(&hi, (u32)(m >> 32));
	hc_mp_shl(&hi, 32);
	hc_mp_add(a, &hi);
}

u32 hc_mp_divmod_u32(struct hc_mp *a, u32 d)
{
	u64 rem = 0;
	int i;

	for (i = HC_MP_WORDS - 1; i >= 0; i--) {
		u64 cur = (rem << 32) | a->w[i];

		a->w[i] = (u32)(cur / d);
		rem = cur % d;
	}
	return (u32)rem;
}

bool hc_mp_to_u64(const struct hc_mp *a, u64 *v)
{
	int i;

	for (i = 2; i < HC_MP_WORDS; i++) {
		if (a->w[i])
			return false;
	}
	*v = ((u64)a->w[1] << 32) | a->w[0];
	return true;
}

int hc_ref_counter_to_time(const struct hostclock_clock *clk, u64 counter,
			   u64 *sec, u32 *nsec, bool *inexact)
{
	unsigned int shift = clk->counter_period_shift;
	struct hc_mp n, d, frac;
	u64 whole;
	bool back;
	u64 ticks;

	/* n = (time_sec * 2^64 + time_frac) * 2^shift, in 2^-(64+shift) s */
	hc_mp_set(&n, clk->time_sec);
	hc_mp_shl(&n, 64);
	hc_mp_set(&frac, clk->time_frac_sec);
	hc_mp_add(&n, &frac);
	hc_mp_shl(&n, shift);

	/* The counter is modular: a difference of 2^63 or more is backwards. */
	ticks = counter - clk->counter_value;
	back = ticks >= (1ULL << 63);
	if (back)
		ticks = clk->counter_value - counter;

	hc_mp_set(&d, ticks);
	hc_mp_mul_u64(&d, clk->counter_period_frac_sec);
	if (back) {
		if (hc_mp_sub(&n, &d))
			return HOSTCLOCK_ERR_RANGE;
	} else {
		hc_mp_add(&n, &d);
	}

	hc_mp_mul_u64(&n, 1000000000ULL);
	*inexact = hc_mp_shr(&n, 64 + shift);
	*nsec = hc_mp_divmod_u32(&n, 1000000000U);
	if (!hc_mp_to_u64(&n, &whole) || whole > (u64)S64_MAX)
		return HOSTCLOCK_ERR_RANGE;
	*sec = whole;
	return HOSTCLOCK_OK;
}

void hc_ref_line_add(struct hc_mp *acc, u64 ticks, u64 period, u8 shift)
{
	struct hc_mp t;

	hc_mp_set(&t, ticks);
	hc_mp_mul_u64(&t, period);
	hc_mp_mul_u64(&t, 1000000000ULL);
	hc_mp_shl(&t, HOSTCLOCK_SHIFT_MAX - shift);
	hc_mp_add(acc, &t);
}

bool hc_ref_line_ns(const struct hc_mp *acc, u64 *ns)
{
	struct hc_mp t = *acc;

	hc_mp_shr(&t, 64 + HOSTCLOCK_SHIFT_MAX);
	return hc_mp_to_u64(&t, ns);
}

bool hc_ref_error_growth(u64 ticks, u64 rate, u8 shift, u64 *ns)
{
	struct hc_mp n;
	bool lost;
	u64 v;

	hc_mp_set(&n, ticks);
	hc_mp_mul_u64(&n, rate);
	hc_mp_mul_u64(&n, 1000000000ULL);
	lost = hc_mp_shr(&n, 64 + shift);
	if (!hc_mp_to_u64(&n, &v) || (lost && v == U64_MAX))
		return false;
	*ns = v + lost;
	return true;
}

u64 hc_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}
