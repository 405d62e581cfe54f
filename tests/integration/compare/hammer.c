// SPDX-License-Identifier: GPL-2.0
/*
 * hc-hammer: read CLOCK_MONOTONIC and CLOCK_REALTIME without pause in
 * several threads until STOPFILE exists (or MAX seconds have passed), and
 * fail if either clock went back. The lifecycle scenario runs it around
 * every rmmod and unbind, so that tasks are inside the clocksource's read
 * path (or preempted there) while it is switched away from and freed.
 *
 * Two checks per clock. Within a thread, each reading must be at least the
 * previous one. Across threads, each thread loads the highest reading any
 * thread has published before it reads the clock; that published reading
 * was taken before the load, so the new one must not be lower (a
 * clocksource whose CPUs disagree, or a switch that loses time, fails it).
 * Even threads read through libc (the vDSO where the clocksource has one),
 * odd ones through the system call, so the kernel's read path is always
 * exercised.
 *
 * STOPFILE must not exist yet; STOPFILE.ready is created once every
 * thread has read both clocks.
 *
 * usage: hc-hammer [-t THREADS] [-s MAX_SECONDS] STOPFILE
 * prints: hammer: threads=N reads=N monotonic_back=N realtime_back=N
 *         worst_back_ns=N seconds=N
 * exit status: 0 if no clock went back, 1 if one did, 2 on a usage or
 * system error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static const clockid_t clocks[2] = { CLOCK_MONOTONIC, CLOCK_REALTIME };

static atomic_int stop;
static atomic_int started;
/* per clock: the highest reading any thread has published */
static _Atomic int64_t published[2];

struct worker {
	pthread_t thread;
	int index;
	uint64_t reads;
	uint64_t back[2];
	int64_t worst_back_ns;
	int error;
};

static int read_ns(clockid_t clock, int use_syscall, int64_t *ns)
{
	struct timespec ts;
	int rc;

	if (use_syscall)
		rc = syscall(SYS_clock_gettime, clock, &ts);
	else
		rc = clock_gettime(clock, &ts);
	if (rc)
		return -1;
	*ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	return 0;
}

/* A reading lower than what was seen before it: count it, keep the worst. */
static void went_back(struct worker *w, int c, int64_t before, int64_t now)
{
	w->back[c]++;
	if (before - now > w->worst_back_ns)
		w->worst_back_ns = before - now;
}

static void *hammer(void *arg)
{
	struct worker *w = arg;
	int use_syscall = w->index & 1;
	int64_t last[2] = { INT64_MIN, INT64_MIN };
	int first = 1;
	int c;

	while (!atomic_load(&stop)) {
		for (c = 0; c < 2; c++) {
			int64_t seen = atomic_load(&published[c]);
			int64_t now, max;

			if (read_ns(clocks[c], use_syscall, &now)) {
				w->error = errno;
				return NULL;
			}
			if (now < last[c])
				went_back(w, c, last[c], now);
			else if (now < seen)
				went_back(w, c, seen, now);
			last[c] = now;
			max = atomic_load(&published[c]);
			while (now > max &&
			       !atomic_compare_exchange_weak(&published[c], &max, now))
				;
		}
		w->reads++;
		if (first) {
			atomic_fetch_add(&started, 1);
			first = 0;
		}
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: hc-hammer [-t THREADS] [-s MAX_SECONDS] STOPFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	struct timespec start, now;
	uint64_t reads = 0, back[2] = { 0, 0 };
	int64_t worst = 0;
	int threads = 4, max_seconds = 300, ready = 0, error = 0;
	char ready_path[4096];
	const char *stopfile;
	double secs;
	int opt, i;

	while ((opt = getopt(argc, argv, "t:s:")) != -1) {
		switch (opt) {
		case 't':
			threads = atoi(optarg);
			break;
		case 's':
			max_seconds = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || threads < 1 || threads > MAX_THREADS || max_seconds < 1)
		usage();
	stopfile = argv[optind];
	if (!access(stopfile, F_OK)) {
		fprintf(stderr, "hc-hammer: %s exists already\n", stopfile);
		return 2;
	}
	if (snprintf(ready_path, sizeof(ready_path), "%s.ready", stopfile) >=
	    (int)sizeof(ready_path))
		usage();
	atomic_init(&published[0], INT64_MIN);
	atomic_init(&published[1], INT64_MIN);

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < threads; i++) {
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, hammer, &workers[i])) {
			fprintf(stderr, "hc-hammer: pthread_create: %s\n", strerror(errno));
			atomic_store(&stop, 1);
			threads = i;
			error = 1;
			break;
		}
	}
	while (!error) {
		if (!ready && atomic_load(&started) == threads) {
			FILE *f = fopen(ready_path, "w");

			if (f)
				fclose(f);
			ready = 1;
		}
		if (!access(stopfile, F_OK))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= max_seconds) {
			fprintf(stderr, "hc-hammer: no %s after %d s\n", stopfile, max_seconds);
			break;
		}
		usleep(10000);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < threads; i++) {
		pthread_join(workers[i].thread, NULL);
		reads += workers[i].reads;
		back[0] += workers[i].back[0];
		back[1] += workers[i].back[1];
		if (workers[i].worst_back_ns > worst)
			worst = workers[i].worst_back_ns;
		if (workers[i].error) {
			fprintf(stderr, "hc-hammer: clock_gettime: %s\n",
				strerror(workers[i].error));
			error = 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
	printf("hammer: threads=%d reads=%llu monotonic_back=%llu realtime_back=%llu worst_back_ns=%lld seconds=%.1f\n",
	       threads, (unsigned long long)reads, (unsigned long long)back[0],
	       (unsigned long long)back[1], (long long)worst, secs);
	if (error)
		return 2;
	return back[0] || back[1] ? 1 : 0;
}
