// SPDX-License-Identifier: GPL-2.0
/*
 * The drift sampler's statistics: offsets of the guest's CLOCK_REALTIME
 * from the host's time, over a window of recent samples. Integer
 * arithmetic only (no FPU in the kernel), 128-bit where sums of squares
 * need it; values too large to state saturate.
 */
#include "hostclock/core.h"

/*
 * |offset| beyond this (about 2.1 s) is clamped in the sums: a guest that
 * far off gets its mean and deviation stated at the limit, not wrapped.
 */
#define HOSTCLOCK_DRIFT_CLAMP	((1LL << 31) - 1)

static s64 hostclock_drift_clamp(s64 v)
{
	if (v > HOSTCLOCK_DRIFT_CLAMP)
		return HOSTCLOCK_DRIFT_CLAMP;
	if (v < -HOSTCLOCK_DRIFT_CLAMP)
		return -HOSTCLOCK_DRIFT_CLAMP;
	return v;
}

/**
 * hostclock_drift_reset() - forget every sample
 * @d: the statistics
 */
void hostclock_drift_reset(struct hostclock_drift *d)
{
	memset(d, 0, sizeof(*d));
}

/**
 * hostclock_drift_add() - one sample
 * @d: the statistics
 * @t_ns: when it was taken, on a monotonic clock
 * @offset_ns: host time minus guest CLOCK_REALTIME
 * @threshold_ns: |offset| above this counts as exceeded (0: never)
 */
void hostclock_drift_add(struct hostclock_drift *d, s64 t_ns, s64 offset_ns,
			 u64 threshold_ns)
{
	u64 mag = offset_ns < 0 ? -(u64)offset_ns : (u64)offset_ns;

	d->t_ns[d->head] = t_ns;
	d->offset_ns[d->head] = offset_ns;
	d->head = (d->head + 1) % HOSTCLOCK_DRIFT_WINDOW;
	if (d->n < HOSTCLOCK_DRIFT_WINDOW)
		d->n++;
	d->samples++;
	d->last_ns = offset_ns;
	if (mag > d->max_abs_ns)
		d->max_abs_ns = mag;
	if (threshold_ns && mag > threshold_ns)
		d->exceeded++;
}

/* floor(sqrt(v)) */
static u64 hostclock_isqrt(u64 v)
{
	u64 r = 0, bit = 1ULL << 62;

	while (bit > v)
		bit >>= 2;
	while (bit) {
		if (v >= r + bit) {
			v -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* |n| / d, saturating at U64_MAX */
static u64 hostclock_div_sat(__uint128_t n, u64 d)
{
	if (!d || (u64)(n >> 64) >= d)
		return U64_MAX;
	return hostclock_div128(n, d);
}

/**
 * hostclock_drift_stats() - mean, deviation and drift over the window
 * @d: the statistics
 * @s: the results
 *
 * Mean rounded toward zero, standard deviation (population) rounded down,
 * drift as the least-squares slope of offset over time in ppb (positive:
 * the host runs ahead faster), rounded toward zero; it needs two samples
 * at different times.
 */
void hostclock_drift_stats(const struct hostclock_drift *d,
			   struct hostclock_drift_stats *s)
{
	__int128_t sxy = 0;
	__uint128_t sq = 0, sxx = 0;
	s64 t0, sum = 0, tsum = 0, mean_t, x;	/* 64 clamped values fit */
	unsigned int i, n = d->n;
	u64 q;

	memset(s, 0, sizeof(*s));
	if (!n)
		return;
	t0 = d->t_ns[0];
	for (i = 0; i < n; i++) {
		sum += hostclock_drift_clamp(d->offset_ns[i]);
		/* time in microseconds from the first slot: sums fit */
		tsum += (d->t_ns[i] - t0) / 1000;
	}
	s->mean_ns = sum / (s64)n;
	mean_t = tsum / (s64)n;
	for (i = 0; i < n; i++) {
		s64 dev = hostclock_drift_clamp(d->offset_ns[i]) - s->mean_ns;

		sq += (__uint128_t)((__int128_t)dev * dev);
		x = (d->t_ns[i] - t0) / 1000 - mean_t;
		sxx += (__uint128_t)((__int128_t)x * x);
		sxy += (__int128_t)x * dev;
	}
	s->stddev_ns = hostclock_isqrt(hostclock_div_sat(sq, n));
	if (n < 2 || !sxx || (u64)(sxx >> 64))
		return;
	/* ppb = sum(x us * y ns) * 10^6 / sum(x us ^ 2) */
	q = hostclock_div_sat((sxy < 0 ? -(__uint128_t)sxy : (__uint128_t)sxy) *
			      1000000, (u64)sxx);
	if (q > S64_MAX)
		q = S64_MAX;
	s->drift_ppb = sxy < 0 ? -(s64)q : (s64)q;
	s->have_drift = true;
}
