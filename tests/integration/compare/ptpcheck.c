// SPDX-License-Identifier: GPL-2.0
/*
 * hc-ptp-check: one PTP clock operation, its result as numbers, for the
 * guest scenarios.
 *
 * usage: hc-ptp-check DEV get|precise|extended N|basic N|settime|adjfreq|caps|hold F|rawrate S|loop S|churn S
 *
 * get       the clock's time, and CLOCK_REALTIME right after
 * precise   PTP_SYS_OFFSET_PRECISE: device - realtime
 * extended  PTP_SYS_OFFSET_EXTENDED with N samples: the narrowest
 *           bracket's width and device - bracket middle
 * basic     PTP_SYS_OFFSET with N samples, likewise
 * settime   clock_settime(); prints the errno name
 * adjfreq   clock_adjtime(ADJ_FREQUENCY); prints the errno name
 * hold F    keep the clock open until file F exists, then read it once
 *           and print the result (for reads after the driver went away)
 * rawrate S the rate of CLOCK_MONOTONIC_RAW against the device over S
 *           seconds, from two PTP_SYS_OFFSET_PRECISE cross-timestamps (each
 *           one counter read for both): positive when the device runs faster
 * loop S    keep DEV open and read it as fast as possible for S seconds,
 *           as chrony would while the driver goes away; succeeds when the
 *           only failures are ENODEV and none is followed by a good read
 * churn S   open and close DEV as fast as possible for S seconds, whether
 *           or not it exists (to race opens against registration)
 *
 * Exit status 0 on success (settime: when refused with EOPNOTSUPP;
 * adjfreq: EOPNOTSUPP or ERANGE), 1 otherwise; the errno name is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define FD_TO_CLOCKID(fd)	((~(clockid_t)(fd) << 3) | 3)

static long long pct_ns(const struct ptp_clock_time *t)
{
	return t->sec * 1000000000LL + t->nsec;
}

static int fail(const char *what)
{
	printf("%s: errno=%s\n", what, strerrorname_np(errno) ?: "?");
	return 1;
}

/* Refused as a read-only clock should be: EOPNOTSUPP, or @also. */
static int refused(int ret, const char *what, int also)
{
	if (!ret) {
		printf("%s: accepted\n", what);
		return 1;
	}
	printf("%s: errno=%s\n", what, strerrorname_np(errno) ?: "?");
	return errno == EOPNOTSUPP || errno == also ? 0 : 1;
}

static int churn(const char *dev, int seconds)
{
	long opened = 0, refused = 0;
	time_t end = time(NULL) + seconds;
	int fd;

	while (time(NULL) < end) {
		fd = open(dev, O_RDWR);
		if (fd < 0) {
			refused++;
			continue;
		}
		opened++;
		close(fd);
	}
	printf("opened=%ld refused=%ld\n", opened, refused);
	return 0;
}

static int read_loop(clockid_t clk, int seconds)
{
	long good = 0, gone = 0, other = 0, after_gone = 0;
	time_t end = time(NULL) + seconds;
	struct timespec ts;

	while (time(NULL) < end) {
		if (!clock_gettime(clk, &ts)) {
			good++;
			after_gone += gone > 0;
		} else if (errno == ENODEV) {
			gone++;
		} else {
			other++;
		}
	}
	printf("reads=%ld enodev=%ld other_errors=%ld good_after_enodev=%ld\n",
	       good, gone, other, after_gone);
	return !good || other || after_gone;
}

int main(int argc, char **argv)
{
	int fd, n = argc > 3 ? atoi(argv[3]) : 10, i;
	struct timespec ts, rt;
	clockid_t clk;

	if (argc < 3) {
		fprintf(stderr, "usage: hc-ptp-check DEV get|precise|extended N|basic N|settime|adjfreq|caps|hold FILE|rawrate S|loop S|churn S\n");
		return 1;
	}
	if (!strcmp(argv[2], "churn") && argc > 3)
		return churn(argv[1], atoi(argv[3]));
	fd = open(argv[1], O_RDWR);
	if (fd < 0)
		return fail("open");
	clk = FD_TO_CLOCKID(fd);

	if (!strcmp(argv[2], "loop") && argc > 3)
		return read_loop(clk, atoi(argv[3]));
	if (!strcmp(argv[2], "get")) {
		if (clock_gettime(clk, &ts))
			return fail("get");
		clock_gettime(CLOCK_REALTIME, &rt);
		printf("phc_ns=%lld realtime_ns=%lld\n",
		       ts.tv_sec * 1000000000LL + ts.tv_nsec,
		       rt.tv_sec * 1000000000LL + rt.tv_nsec);
		return 0;
	}
	if (!strcmp(argv[2], "rawrate") && argc > 3) {
		struct ptp_sys_offset_precise p0, p1;
		long long d0, d1, span;

		memset(&p0, 0, sizeof(p0));
		memset(&p1, 0, sizeof(p1));
		if (ioctl(fd, PTP_SYS_OFFSET_PRECISE, &p0))
			return fail("precise");
		sleep(atoi(argv[3]));
		if (ioctl(fd, PTP_SYS_OFFSET_PRECISE, &p1))
			return fail("precise");
		d0 = pct_ns(&p0.device) - pct_ns(&p0.sys_monoraw);
		d1 = pct_ns(&p1.device) - pct_ns(&p1.sys_monoraw);
		span = pct_ns(&p1.sys_monoraw) - pct_ns(&p0.sys_monoraw);
		if (span <= 0)
			return fail("rawrate span");
		printf("device_minus_raw_rate_ppb=%.1f span_ns=%lld\n", (d1 - d0) * 1e9 / span, span);
		return 0;
	}
	if (!strcmp(argv[2], "precise")) {
		struct ptp_sys_offset_precise p;

		memset(&p, 0, sizeof(p));
		if (ioctl(fd, PTP_SYS_OFFSET_PRECISE, &p))
			return fail("precise");
		printf("device_minus_realtime_ns=%lld\n", pct_ns(&p.device) - pct_ns(&p.sys_realtime));
		return 0;
	}
	if (!strcmp(argv[2], "extended") || !strcmp(argv[2], "basic")) {
		long long best_w = -1, best_off = 0;

		if (n < 1 || n > PTP_MAX_SAMPLES)
			n = PTP_MAX_SAMPLES;
		if (argv[2][0] == 'e') {
			struct ptp_sys_offset_extended e;

			memset(&e, 0, sizeof(e));
			e.n_samples = n;
			if (ioctl(fd, PTP_SYS_OFFSET_EXTENDED, &e))
				return fail("extended");
			for (i = 0; i < n; i++) {
				long long a = pct_ns(&e.ts[i][0]), d = pct_ns(&e.ts[i][1]);
				long long b = pct_ns(&e.ts[i][2]);

				if (best_w < 0 || b - a < best_w) {
					best_w = b - a;
					best_off = d - (a + (b - a) / 2);
				}
			}
		} else {
			struct ptp_sys_offset s;

			memset(&s, 0, sizeof(s));
			s.n_samples = n;
			if (ioctl(fd, PTP_SYS_OFFSET, &s))
				return fail("basic");
			for (i = 0; i < n; i++) {
				long long a = pct_ns(&s.ts[2 * i]), d = pct_ns(&s.ts[2 * i + 1]);
				long long b = pct_ns(&s.ts[2 * i + 2]);

				if (best_w < 0 || b - a < best_w) {
					best_w = b - a;
					best_off = d - (a + (b - a) / 2);
				}
			}
		}
		printf("bracket_ns=%lld device_minus_realtime_ns=%lld\n", best_w, best_off);
		return 0;
	}
	if (!strcmp(argv[2], "settime")) {
		clock_gettime(CLOCK_REALTIME, &ts);
		return refused(clock_settime(clk, &ts), "settime", EOPNOTSUPP);
	}
	if (!strcmp(argv[2], "adjfreq")) {
		struct timex tx = { .modes = ADJ_FREQUENCY, .freq = 65536 };

		/* max_adj is 0, so the PTP core itself says ERANGE */
		return refused(clock_adjtime(clk, &tx) < 0 ? -1 : 0, "adjfreq", ERANGE);
	}
	if (!strcmp(argv[2], "hold") && argc > 3) {
		struct timespec nap = { 0, 50 * 1000 * 1000 };

		while (access(argv[3], F_OK))
			nanosleep(&nap, NULL);
		if (clock_gettime(clk, &ts))
			return fail("held read");
		printf("held read: ok\n");
		return 0;
	}
	if (!strcmp(argv[2], "caps")) {
		struct ptp_clock_caps caps;

		memset(&caps, 0, sizeof(caps));
		if (ioctl(fd, PTP_CLOCK_GETCAPS, &caps))
			return fail("caps");
		printf("max_adj=%d cross_timestamping=%d n_pins=%d\n",
		       caps.max_adj, caps.cross_timestamping, caps.n_pins);
		return 0;
	}
	fprintf(stderr, "hc-ptp-check: unknown operation %s\n", argv[2]);
	return 1;
}
