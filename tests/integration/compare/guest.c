// SPDX-License-Identifier: GPL-2.0
/*
 * hc-compare: the guest side of the comparator (compare.h). Measures one of
 * the guest's clocks against the agent's reference without using
 * hostclock, or asks the host side to run an agent command.
 *
 * usage: hc-compare [--clock realtime|raw|PTPDEV] [-n EXCHANGES]
 *                   [--repeat K] [--every MS] [--for S] [--syscall]
 *        hc-compare --cmd "AGENT COMMAND"
 *
 * Prints "mono_ns=M offset_ns=O unc_ns=U ref_ns=R" per measurement:
 * reference minus the clock, from the exchange with the shortest round
 * trip, half that round trip, and the reference time of that exchange;
 * a burst whose best exchange is over 10 us is tried again, up to 5 times.
 * --for S measures every MS until S seconds have passed (or K measurements).
 * --syscall reads the clock through the system call, never the vDSO.
 * With --repeat or --for a failed measurement is reported on stderr and
 * skipped; the exit status is 1 only if every one failed.
 * With 3 measurements or more, a last line "rate_ppb=R": the least-squares
 * slope of the offsets over CLOCK_MONOTONIC, each weighted by 1/U^2 (a
 * measurement whose exchanges were all delayed hardly counts), that is how
 * much faster the reference runs than the clock.
 * With --clock raw, O is reference minus CLOCK_MONOTONIC_RAW, whose drift
 * gives the raw clock's rate error. Exit status 0, 1 on failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"

#define FD_TO_CLOCKID(fd)	((~(clockid_t)(fd) << 3) | 3)
#define EXCHANGE_NS		(10 * 1000 * 1000LL)

static int64_t ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static int64_t now_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return -1;
	return ts_ns(&ts);
}

/*
 * The measured clock. With --syscall through the system call even where
 * the vDSO could read it: the same read path as with a clocksource that has
 * no vDSO, to measure what that path does to the comparator (its read
 * point need not lie in the middle of the call).
 */
static int syscall_reads;

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	if (!syscall_reads)
		return now_ns(id);
	if (syscall(SYS_clock_gettime, id, &ts))
		return -1;
	return ts_ns(&ts);
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The ivshmem device whose BAR 2 carries the comparator's magic. */
static volatile struct hc_cmp_region *find_region(void)
{
	const char *base = "/sys/bus/pci/devices";
	char path[512], buf[32];
	struct dirent *de;
	DIR *d = opendir(base);

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		volatile struct hc_cmp_region *c;
		struct stat st;
		int fd;

		snprintf(path, sizeof(path), "%s/%s/vendor", base, de->d_name);
		if (read_file(path, buf, sizeof(buf)) || strtoul(buf, NULL, 0) != 0x1af4)
			continue;
		snprintf(path, sizeof(path), "%s/%s/device", base, de->d_name);
		if (read_file(path, buf, sizeof(buf)) || strtoul(buf, NULL, 0) != 0x1110)
			continue;
		snprintf(path, sizeof(path), "%s/%s/enable", base, de->d_name);
		fd = open(path, O_WRONLY);
		if (fd >= 0) {
			/* fails harmlessly when a driver enabled it already */
			if (write(fd, "1", 1) < 0)
				errno = 0;
			close(fd);
		}
		snprintf(path, sizeof(path), "%s/%s/resource2", base, de->d_name);
		fd = open(path, O_RDWR | O_SYNC);
		if (fd < 0 || fstat(fd, &st) || st.st_size < HC_CMP_SIZE) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		c = mmap(NULL, HC_CMP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (c == MAP_FAILED)
			continue;
		if (c->magic == HC_CMP_MAGIC) {
			closedir(d);
			return c;
		}
		munmap((void *)c, HC_CMP_SIZE);
	}
	closedir(d);
	return NULL;
}

/*
 * Waits for *@p to become @v, for about @limit_ns (the bound is checked
 * after each nap, or every WAIT_CLOCK_SPINS looks). Without a nap it spins
 * and reads the clock only every WAIT_CLOCK_SPINS looks: with a
 * clocksource that has no vDSO (hostclock current) every read is a system
 * call, and reads inside an exchange would widen the round trip the
 * comparator's uncertainty is made of.
 */
#define WAIT_CLOCK_SPINS	1024

static int wait_for(volatile uint32_t *p, uint32_t v, int64_t limit_ns, int sleep_us)
{
	struct timespec nap = { 0, sleep_us * 1000L };
	int64_t end = -1, now;
	unsigned int spins = 0;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != v) {
		if (sleep_us)
			nanosleep(&nap, NULL);
		else if (++spins % WAIT_CLOCK_SPINS)
			continue;
		now = now_ns(CLOCK_MONOTONIC);
		if (end < 0)
			end = now + limit_ns;
		else if (now > end)
			return -1;
	}
	return 0;
}

static int run_cmd(volatile struct hc_cmp_region *c, const char *cmd)
{
	uint32_t n = c->cmd_seq + 1;

	snprintf((char *)c->cmd, sizeof(c->cmd), "%s", cmd);
	__atomic_store_n(&c->cmd_seq, n, __ATOMIC_RELEASE);
	if (wait_for(&c->cmd_done, n, 10000000000LL, 1000)) {
		fprintf(stderr, "hc-compare: host side did not run '%s'\n", cmd);
		return 1;
	}
	printf("%s", (const char *)c->reply);
	return c->cmd_status;
}

/* One burst of @n exchanges; the best one's offset and half round trip. */
static int measure(volatile struct hc_cmp_region *c, clockid_t clk, int n,
		   int64_t *offset, int64_t *unc, int64_t *ref)
{
	uint32_t burst = c->burst + 1;
	int64_t best = -1;
	int i;

	__atomic_store_n(&c->burst, burst, __ATOMIC_RELEASE);
	if (wait_for(&c->burst_ready, burst, 2000000000LL, 100))
		return -1;
	for (i = 0; i < n; i++) {
		uint32_t seq = c->guest_seq + 1;
		int64_t t1, t3;

		t1 = clock_ns(clk);
		__atomic_store_n(&c->guest_seq, seq, __ATOMIC_RELEASE);
		if (wait_for(&c->host_seq, seq, EXCHANGE_NS, 0))
			break;
		t3 = clock_ns(clk);
		if (t1 < 0 || t3 < t1)
			return -1;
		if (best < 0 || t3 - t1 < best) {
			best = t3 - t1;
			*ref = c->ref_ns;
			*offset = *ref - (t1 + (t3 - t1) / 2);
			*unc = (t3 - t1 + 1) / 2;
		}
	}
	return best < 0 ? -1 : 0;
}

/*
 * A burst whose every exchange was delayed (a vCPU or the host side was
 * descheduled) says little: up to GOOD_TRIES bursts until one is within
 * GOOD_UNC_NS, keeping the best.
 */
#define GOOD_TRIES	5
#define GOOD_UNC_NS	10000

static int measure_good(volatile struct hc_cmp_region *c, clockid_t clk, int n,
			int64_t *offset, int64_t *unc, int64_t *ref)
{
	int64_t o = 0, u = 0, r = 0, best_o = 0, best_u = INT64_MAX, best_r = 0;
	int k;

	for (k = 0; k < GOOD_TRIES && best_u > GOOD_UNC_NS; k++) {
		if (measure(c, clk, n, &o, &u, &r))
			continue;
		if (u < best_u) {
			best_u = u;
			best_o = o;
			best_r = r;
		}
	}
	if (best_u == INT64_MAX)
		return -1;
	*offset = best_o;
	*unc = best_u;
	*ref = best_r;
	return 0;
}

int main(int argc, char **argv)
{
	volatile struct hc_cmp_region *c;
	const char *clock_name = "realtime", *cmd = NULL;
	int n = 20, repeat = 0, every_ms = 1000, for_s = 0, i, fd, got = 0, failed = 0;
	clockid_t clk = CLOCK_REALTIME;
	double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
	int64_t mono0 = 0, offset0 = 0, end = -1;
	struct timespec nap;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--clock") && i + 1 < argc)
			clock_name = argv[++i];
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--every") && i + 1 < argc)
			every_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--for") && i + 1 < argc)
			for_s = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--syscall"))
			syscall_reads = 1;
		else if (!strcmp(argv[i], "--cmd") && i + 1 < argc)
			cmd = argv[++i];
		else {
			fprintf(stderr, "usage: hc-compare [--clock realtime|raw|PTPDEV] [-n N] [--repeat K] [--every MS] [--for S] [--syscall] | --cmd CMD\n");
			return 1;
		}
	}
	c = find_region();
	if (!c) {
		fprintf(stderr, "hc-compare: no comparator device\n");
		return 1;
	}
	if (cmd)
		return run_cmd(c, cmd);

	if (!strcmp(clock_name, "raw")) {
		clk = CLOCK_MONOTONIC_RAW;
	} else if (strcmp(clock_name, "realtime")) {
		fd = open(clock_name, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "hc-compare: %s: %s\n", clock_name, strerror(errno));
			return 1;
		}
		clk = FD_TO_CLOCKID(fd);
	}
	nap.tv_sec = every_ms / 1000;
	nap.tv_nsec = (every_ms % 1000) * 1000000L;
	/* --repeat not given: once, or without a count under --for */
	if (for_s > 0)
		end = now_ns(CLOCK_MONOTONIC) + for_s * 1000000000LL;
	if (repeat <= 0)
		repeat = for_s > 0 ? INT32_MAX : 1;
	for (i = 0; i < repeat; i++) {
		int64_t offset, unc, mono, ref;
		double x, y, w;

		if (i)
			nanosleep(&nap, NULL);
		if (end >= 0 && now_ns(CLOCK_MONOTONIC) >= end)
			break;
		if (measure_good(c, clk, n, &offset, &unc, &ref)) {
			/*
			 * A trace across a migration goes on: the host side
			 * may be slow to take the copied region over
			 */
			fprintf(stderr, "hc-compare: no exchange completed (clock %s: %s)\n",
				clock_name, strerror(errno));
			if (repeat == 1)
				return 1;
			failed++;
			continue;
		}
		mono = now_ns(CLOCK_MONOTONIC);
		printf("mono_ns=%lld offset_ns=%lld unc_ns=%lld ref_ns=%lld\n",
		       (long long)mono, (long long)offset, (long long)unc, (long long)ref);
		fflush(stdout);
		/* relative to the first, so that doubles keep every nanosecond */
		if (!got++) {
			mono0 = mono;
			offset0 = offset;
		}
		x = (mono - mono0) / 1e9;
		y = (double)(offset - offset0);
		w = 1.0 / ((double)(unc + 1) * (double)(unc + 1));
		sw += w;
		sx += w * x;
		sy += w * y;
		sxx += w * x * x;
		sxy += w * x * y;
	}
	if (failed)
		fprintf(stderr, "hc-compare: %d of %d measurements failed\n", failed, failed + got);
	if (got >= 3)
		printf("rate_ppb=%.1f\n", (sw * sxy - sx * sy) / (sw * sxx - sx * sx));
	return got ? 0 : 1;
}
