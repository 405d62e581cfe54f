// SPDX-License-Identifier: GPL-2.0
/*
 * The header-only reader against clock_gettime(CLOCK_REALTIME) (vDSO), side
 * by side in one run: hostclock_reader_now(), hostclock_reader_now_cached()
 * and the vDSO. Each of ROUNDS rounds makes N calls of each, interleaved in
 * blocks of BLOCK calls whose order rotates, so that a burst of noise from
 * this shared machine falls on all three alike; a round's ns/call for each
 * is the median over its blocks, so that a block preempted or interrupted
 * counts no more than any other. Prints each one's median ns/call over the
 * rounds and, for each reader, the median of its per-round ratios to the
 * vDSO with their smallest and largest.
 *
 * usage: reader-bench REGION_OR_DEVICE [N [ROUNDS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "hostclock/reader.h"

#define BLOCK		4096
#define ROUNDS_MAX	64

enum { VDSO, READER, CACHED, WAYS };

struct ratio_stats {
	double median, min, max;
};

static double now_ns(void)
{
	return bench_ns(CLOCK_MONOTONIC_RAW);
}

/* median, smallest and largest of @rounds figures; sorts @v */
static struct ratio_stats stats(double *v, int rounds)
{
	struct ratio_stats s;

	s.median = bench_median(v, rounds);
	s.min = v[0];
	s.max = v[rounds - 1];
	return s;
}

int main(int argc, char **argv)
{
	const struct vmclock_abi *page = NULL;
	struct hostclock_reader_cache cache;
	struct hostclock_reading r;
	struct timespec ts;
	long n = argc > 2 ? atol(argv[2]) : 2000000, done, i, len;
	int rounds = argc > 3 ? atoi(argv[3]) : 9, k, w, way, block = 0, errs = 0;
	double ns[WAYS][ROUNDS_MAX], ratio[WAYS][ROUNDS_MAX], *blocks[WAYS], t;
	long nblocks;
	struct ratio_stats reader, cached;
	volatile long sink = 0;

	if (argc < 2 || n < 1 || rounds < 1 || rounds > ROUNDS_MAX ||
	    hostclock_reader_map(argv[1], &page)) {
		fprintf(stderr, "usage: reader-bench REGION_OR_DEVICE [N [ROUNDS<=%d]]\n",
			ROUNDS_MAX);
		return 1;
	}
	hostclock_reader_cache_init(&cache, HOSTCLOCK_READER_UTC);
	if (hostclock_reader_now(page, HOSTCLOCK_READER_UTC, &r) ||
	    hostclock_reader_now_cached(page, &cache, &r)) {
		fprintf(stderr, "reader-bench: the page gives no time\n");
		return 1;
	}
	nblocks = (n + BLOCK - 1) / BLOCK;
	for (w = 0; w < WAYS; w++) {
		blocks[w] = calloc(nblocks, sizeof(double));
		if (!blocks[w]) {
			fprintf(stderr, "reader-bench: out of memory\n");
			return 1;
		}
	}
	for (k = 0; k < rounds; k++) {
		for (done = 0; done < n; done += len, block++) {
			len = n - done < BLOCK ? n - done : BLOCK;
			for (w = 0; w < WAYS; w++) {
				/* rotate which goes first, and reverse every other block */
				way = (block % 2 ? WAYS - 1 - w : w) + block / 2;
				way %= WAYS;
				t = now_ns();
				switch (way) {
				case VDSO:
					for (i = 0; i < len; i++) {
						clock_gettime(CLOCK_REALTIME, &ts);
						sink += ts.tv_nsec;
					}
					break;
				case READER:
					for (i = 0; i < len; i++) {
						errs += hostclock_reader_now(page, HOSTCLOCK_READER_UTC,
									     &r) != 0;
						sink += r.nsec;
					}
					break;
				default:
					for (i = 0; i < len; i++) {
						errs += hostclock_reader_now_cached(page, &cache, &r) != 0;
						sink += r.nsec;
					}
					break;
				}
				blocks[way][done / BLOCK] = (now_ns() - t) / len;
			}
		}
		for (w = 0; w < WAYS; w++)
			ns[w][k] = bench_median(blocks[w], nblocks);
		ratio[READER][k] = ns[READER][k] / ns[VDSO][k];
		ratio[CACHED][k] = ns[CACHED][k] / ns[VDSO][k];
	}
	reader = stats(ratio[READER], rounds);
	cached = stats(ratio[CACHED], rounds);
	printf("reader_ns_per_call=%.1f cached_ns_per_call=%.1f clock_gettime_ns_per_call=%.1f\n",
	       bench_median(ns[READER], rounds), bench_median(ns[CACHED], rounds),
	       bench_median(ns[VDSO], rounds));
	printf("ratio_median=%.3f ratio_min=%.3f ratio_max=%.3f\n",
	       reader.median, reader.min, reader.max);
	printf("cached_ratio_median=%.3f cached_ratio_min=%.3f cached_ratio_max=%.3f\n",
	       cached.median, cached.min, cached.max);
	printf("rounds=%d calls=%ld block=%d errors=%d\n", rounds, n, BLOCK, errs);
	return errs ? 1 : 0;
}
