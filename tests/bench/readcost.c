// SPDX-License-Identifier: GPL-2.0
/*
 * hc-readcost: what reading the clock costs in a guest, with whichever
 * clocksource is current. ROUNDS rounds; each times N calls of
 * clock_gettime(CLOCK_MONOTONIC) through the vDSO, N through the syscall
 * (the clocksource's read() plus a system call, whatever the vDSO can do),
 * and N/20 each of the PTP_SYS_OFFSET_PRECISE and PTP_SYS_OFFSET_EXTENDED
 * (25 samples) ioctls on DEV. Prints the median ns per call of each.
 *
 * usage: hc-readcost DEV [N [ROUNDS]]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_ROUNDS 32

static double now_ns(void)
{
	return bench_ns(CLOCK_MONOTONIC_RAW);
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 200000, i, m;
	int rounds = argc > 3 ? atoi(argv[3]) : 5, k, fd, errs = 0;
	double vdso[MAX_ROUNDS], sys[MAX_ROUNDS], precise[MAX_ROUNDS], ext[MAX_ROUNDS], t;
	struct ptp_sys_offset_precise p;
	struct ptp_sys_offset_extended e;
	struct timespec ts;
	volatile long sink = 0;

	if (argc < 2 || n < 20 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: hc-readcost DEV [N>=20 [ROUNDS<=%d]]\n", MAX_ROUNDS);
		return 1;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	m = n / 20;
	for (k = 0; k < rounds; k++) {
		t = now_ns();
		for (i = 0; i < n; i++) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			sink += ts.tv_nsec;
		}
		vdso[k] = (now_ns() - t) / n;

		t = now_ns();
		for (i = 0; i < n; i++) {
			syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
			sink += ts.tv_nsec;
		}
		sys[k] = (now_ns() - t) / n;

		t = now_ns();
		for (i = 0; i < m; i++) {
			memset(&p, 0, sizeof(p));
			errs += ioctl(fd, PTP_SYS_OFFSET_PRECISE, &p) != 0;
		}
		precise[k] = (now_ns() - t) / m;

		t = now_ns();
		for (i = 0; i < m; i++) {
			memset(&e, 0, sizeof(e));
			e.n_samples = 25;
			errs += ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &e) != 0;
		}
		ext[k] = (now_ns() - t) / m;
	}
	printf("vdso_ns=%.1f syscall_ns=%.1f precise_ns=%.1f extended25_ns=%.1f rounds=%d calls=%ld errors=%d\n",
	       bench_median(vdso, rounds), bench_median(sys, rounds),
	       bench_median(precise, rounds), bench_median(ext, rounds), rounds, n, errs);
	return errs ? 1 : 0;
}
