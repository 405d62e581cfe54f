// SPDX-License-Identifier: GPL-2.0
/*
 * Host clock against host TSC: bracketed samples and the period fit.
 *
 * Each sample reads the TSC, CLOCK_REALTIME, and the TSC again, and keeps
 * the tightest of several tries, so a sample interrupted by the scheduler is
 * not used. The host TSC's rate as CLOCK_REALTIME sees it (which includes the
 * NTP daemon's frequency correction) is the least-squares slope over a
 * window of samples.
 */
#include <math.h>
#include <time.h>

#include "hcd.h"

s64 hcd_clock_ns(int clockid)
{
	struct timespec ts;

	clock_gettime(clockid, &ts);
	return (s64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* rdtsc that neither passes earlier loads nor lets later ones pass it */
static u64 hcd_rdtsc_ordered(void)
{
	u64 t;

	__builtin_ia32_lfence();
	t = __builtin_ia32_rdtsc();
	__builtin_ia32_lfence();
	return t;
}

/**
 * hcd_sample_take() - the tightest bracketed sample of several tries
 * @tries: attempts, at least 1
 * @s: the sample
 *
 * Return: 0, or -1 if the TSC went backwards in every try.
 */
int hcd_sample_take(unsigned int tries, struct hcd_sample *s)
{
	bool have = false;
	unsigned int i;

	for (i = 0; i < tries; i++) {
		struct timespec ts;
		u64 t1, t2;

		t1 = hcd_rdtsc_ordered();
		clock_gettime(CLOCK_REALTIME, &ts);
		t2 = hcd_rdtsc_ordered();
		if (t2 < t1)
			continue;
		if (!have || t2 - t1 < s->bracket) {
			s->tsc = t1 + (t2 - t1) / 2;
			s->ns = (s64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
			s->bracket = t2 - t1;
			have = true;
		}
	}
	return have ? 0 : -1;
}

void hcd_fit_init(struct hcd_fit *fit, unsigned int window)
{
	memset(fit, 0, sizeof(*fit));
	fit->window = window < 2 ? 2 : window > HCD_FIT_MAX ? HCD_FIT_MAX : window;
}

void hcd_fit_reset(struct hcd_fit *fit)
{
	fit->count = 0;
	fit->next = 0;
}

void hcd_fit_add(struct hcd_fit *fit, const struct hcd_sample *s)
{
	fit->samples[fit->next] = *s;
	fit->next = (fit->next + 1) % fit->window;
	if (fit->count < fit->window)
		fit->count++;
}

/* the k-th oldest sample held */
static const struct hcd_sample *hcd_fit_at(const struct hcd_fit *fit, unsigned int k)
{
	return &fit->samples[(fit->next + fit->window - fit->count + k) % fit->window];
}

/* Host time between @o and @s as it would have passed at kernel rate @now. */
static long double hcd_fit_y(const struct hcd_sample *s, const struct hcd_sample *o,
			     long double now)
{
	long double y = (long double)(s->ns - o->ns);

	return s->rate > 0 && now > 0 ? y * (now / s->rate) : y;
}

/**
 * hcd_fit_solve() - least-squares slope of host time over host TSC
 * @fit: at least two samples at one kernel rate
 * @res: slope, its relative standard error, RMS residual
 *
 * The slope is the host TSC's period as CLOCK_REALTIME measures it now.
 * CLOCK_REALTIME runs at the rate the NTP daemon sets through adjtimex
 * (tick and freq), which changes at once when the daemon says so; a plain
 * fit over the window would follow such a change only over half its width.
 * So each sample carries the kernel's rate when it was taken: samples at
 * another rate than the newest are rescaled to it, consecutive samples at
 * one rate form a segment with its own intercept, and the slope is common
 * to all segments. The interval across a rate change is never used, as the
 * moment of the change within it is unknown.
 *
 * Coordinates are taken relative to the oldest sample so that long double
 * keeps every bit that matters. The slope's error uses the larger of the
 * residual variance and the samples' own bracket widths, so two samples do
 * not claim a perfect fit.
 *
 * Return: 0, or -1 without two samples at one rate.
 */
int hcd_fit_solve(const struct hcd_fit *fit, struct hcd_fit_result *res)
{
	long double cxx = 0, cxy = 0, slope, ssr = 0, var_bracket = 0, var, now;
	long double seg_mx[HCD_FIT_MAX], seg_my[HCD_FIT_MAX];
	unsigned int seg_of[HCD_FIT_MAX], nseg = 0, i, start;
	const struct hcd_sample *o;

	if (fit->count < 2)
		return -1;
	o = hcd_fit_at(fit, 0);
	now = hcd_fit_at(fit, fit->count - 1)->rate;
	for (start = 0; start < fit->count; start = i) {
		long double sx = 0, sy = 0, sxx = 0, sxy = 0, n;
		long double rate = hcd_fit_at(fit, start)->rate;

		for (i = start; i < fit->count && hcd_fit_at(fit, i)->rate == rate; i++) {
			const struct hcd_sample *s = hcd_fit_at(fit, i);
			long double x = (long double)(s64)(s->tsc - o->tsc);
			long double y = hcd_fit_y(s, o, now);

			sx += x;
			sy += y;
			sxx += x * x;
			sxy += x * y;
			seg_of[i] = nseg;
		}
		n = i - start;
		seg_mx[nseg] = sx / n;
		seg_my[nseg] = sy / n;
		cxx += sxx - n * seg_mx[nseg] * seg_mx[nseg];
		cxy += sxy - n * seg_mx[nseg] * seg_my[nseg];
		nseg++;
	}
	if (cxx <= 0)
		return -1;
	slope = cxy / cxx;
	if (slope <= 0)
		return -1;

	for (i = 0; i < fit->count; i++) {
		const struct hcd_sample *s = hcd_fit_at(fit, i);
		long double x = (long double)(s64)(s->tsc - o->tsc);
		long double y = hcd_fit_y(s, o, now);
		long double r = y - (seg_my[seg_of[i]] + slope * (x - seg_mx[seg_of[i]]));
		long double half = s->bracket * slope / 2;

		ssr += r * r;
		var_bracket += half * half;
	}
	var_bracket /= fit->count;
	/* one intercept per segment and the common slope */
	var = fit->count > nseg + 1 ? ssr / (fit->count - nseg - 1) : 0;
	if (var < var_bracket)
		var = var_bracket;

	res->ns_per_tick = slope;
	res->slope_stderr = (double)(sqrtl(var / cxx) / slope);
	res->residual_ns = (double)sqrtl(ssr / fit->count);
	res->segments = nseg;
	return 0;
}

/**
 * hcd_period_from_rate() - a counter's rate as the page's period and shift
 * @ns_per_tick: nanoseconds per tick
 * @period: counter_period_frac_sec
 * @shift: counter_period_shift, the largest that keeps @period in 64 bits
 *
 * Return: 0, or -1 for a rate outside what the core accepts.
 */
int hcd_period_from_rate(long double ns_per_tick, u64 *period, u8 *shift)
{
	const long double two64 = 18446744073709551616.0L;
	long double p0 = ns_per_tick / NSEC_PER_SEC * two64, p;
	struct hostclock_clock clk;
	int s;

	if (!(p0 > 0) || !isfinite(p0))
		return -1;
	for (s = HOSTCLOCK_SHIFT_MAX; s >= 0; s--) {
		p = ldexpl(p0, s);
		if (p + 0.5L < two64 - 1)
			break;
	}
	if (s < 0)
		return -1;
	*period = (u64)(p + 0.5L);
	*shift = (u8)s;

	/* Publish nothing the guest's validator would refuse. */
	memset(&clk, 0, sizeof(clk));
	clk.magic = VMCLOCK_MAGIC;
	clk.version = VMCLOCK_VERSION;
	clk.size = HOSTCLOCK_PAGE_SIZE;
	clk.counter_id = VMCLOCK_COUNTER_X86_TSC;
	clk.counter_period_frac_sec = *period;
	clk.counter_period_shift = *shift;
	return hostclock_clock_validate(&clk, HOSTCLOCK_PAGE_SIZE) ? -1 : 0;
}

/**
 * hcd_rate_to_frac() - a relative error as an error rate in period units
 * @relative: e.g. 1e-9 for 1 ppb; negative is taken as its magnitude
 * @period: the period the rate goes with
 *
 * Rounded up, so that a bound stays a bound; saturates at U64_MAX.
 */
u64 hcd_rate_to_frac(double relative, u64 period)
{
	long double r = ceill(fabsl((long double)relative) * period);

	return r >= 18446744073709551615.0L ? U64_MAX : (u64)r;
}
