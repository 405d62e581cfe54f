/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmark programs share: a clock in nanoseconds, and the median
 * of a set of figures.
 */
#ifndef _HOSTCLOCK_BENCH_H
#define _HOSTCLOCK_BENCH_H

#include <stdlib.h>
#include <time.h>

static inline double bench_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* sorts @v */
static inline double bench_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* _HOSTCLOCK_BENCH_H */
