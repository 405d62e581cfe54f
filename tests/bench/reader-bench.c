// SPDX-License-Identifier: GPL-2.0
/*
 * The header-only reader against clock_gettime(CLOCK_REALTIME) (vDSO), side
 * by side in one run: ROUNDS rounds, each timing N calls of one then N of
 * the other, alternating which goes first. Prints each one's median
 * ns/call and the median of the per-round ratios.
 *
 * usage: reader-bench REGION_OR_DEVICE [N [ROUNDS]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "hostclock/reader.h"

static double now_ns(void)
{
	return bench_ns(CLOCK_MONOTONIC_RAW);
}

int main(int argc, char **argv)
{
	const struct vmclock_abi *page = NULL;
	struct hostclock_reading r;
	struct timespec ts;
	long n = argc > 2 ? atol(argv[2]) : 2000000, i;
	int rounds = argc > 3 ? atoi(argv[3]) : 9, k, errs = 0;
	double reader[64], vdso[64], ratio[64], t;
	volatile long sink = 0;

	if (argc < 2 || rounds < 1 || rounds > 64 || hostclock_reader_map(argv[1], &page)) {
		fprintf(stderr, "usage: reader-bench REGION_OR_DEVICE [N [ROUNDS<=64]]\n");
		return 1;
	}
	if (hostclock_reader_now(page, HOSTCLOCK_READER_UTC, &r)) {
		fprintf(stderr, "reader-bench: the page gives no time\n");
		return 1;
	}
	for (k = 0; k < rounds; k++) {
		int first = k % 2;
		int pass;

		for (pass = 0; pass < 2; pass++) {
			t = now_ns();
			if ((pass == 0) == first) {
				for (i = 0; i < n; i++) {
					errs += hostclock_reader_now(page, HOSTCLOCK_READER_UTC, &r) != 0;
					sink += r.nsec;
				}
				reader[k] = (now_ns() - t) / n;
			} else {
				for (i = 0; i < n; i++) {
					clock_gettime(CLOCK_REALTIME, &ts);
					sink += ts.tv_nsec;
				}
				vdso[k] = (now_ns() - t) / n;
			}
		}
		ratio[k] = reader[k] / vdso[k];
	}
	printf("reader_ns_per_call=%.1f clock_gettime_ns_per_call=%.1f ratio_median=%.3f rounds=%d calls=%ld errors=%d\n",
	       bench_median(reader, rounds), bench_median(vdso, rounds),
	       bench_median(ratio, rounds),
	       rounds, n, errs);
	return errs ? 1 : 0;
}
