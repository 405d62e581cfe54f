// SPDX-License-Identifier: GPL-2.0
/*
 * hc-steplat: how long a step of the agent's reference takes to reach the
 * page. Runs `hostclockctl --region REGION step NS` (alternately +1 us and
 * -1 us) and spins on the page's seq_count until the agent has published
 * again; the time includes starting hostclockctl. Each try starts 200 ms
 * after a periodic update, so that one cannot be mistaken for the answer.
 * Prints the median and the largest latency.
 *
 * The host's own clock is never touched: a real host step reaches the
 * agent through a TFD_TIMER_CANCEL_ON_SET timer and the same publish path,
 * but stepping a shared machine's clock to measure it is not ours to do.
 *
 * usage: hc-steplat REGION HOSTCLOCKCTL [TRIES]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostclock/vmclock_abi.h"
#include "bench.h"

static double now_ns(void)
{
	return bench_ns(CLOCK_MONOTONIC);
}

/* the next seq_count change, or -1 after @limit_ns */
static double wait_change(const volatile struct vmclock_abi *page, double limit_ns)
{
	unsigned int seq = page->seq_count;
	double t0 = now_ns(), t;

	do {
		t = now_ns();
		if (page->seq_count != seq)
			return t;
	} while (t - t0 < limit_ns);
	return -1;
}

static int step(const char *ctl, const char *region, const char *ns)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execl(ctl, ctl, "--region", region, "step", ns, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

int main(int argc, char **argv)
{
	int tries = argc > 3 ? atoi(argv[3]) : 20, i, got = 0, fd;
	struct timespec gap = { 0, 200 * 1000 * 1000 };
	const volatile struct vmclock_abi *page;
	double lat[100], t0, t1;
	unsigned int seq;

	if (argc < 3 || tries < 1 || tries > 100) {
		fprintf(stderr, "usage: hc-steplat REGION HOSTCLOCKCTL [TRIES<=100]\n");
		return 1;
	}
	fd = open(argv[1], O_RDONLY);
	page = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED) {
		perror(argv[1]);
		return 1;
	}
	for (i = 0; i < tries; i++) {
		if (wait_change(page, 3e9) < 0)
			break;		/* no periodic update: no agent */
		nanosleep(&gap, NULL);
		seq = page->seq_count;
		t0 = now_ns();
		if (step(argv[2], argv[1], i % 2 ? "-1000" : "1000"))
			break;
		t1 = page->seq_count != seq ? now_ns() : wait_change(page, 2e9);
		if (t1 > 0)
			lat[got++] = (t1 - t0) / 1000;
	}
	if (!got) {
		fprintf(stderr, "hc-steplat: the page never changed after a step\n");
		return 1;
	}
	qsort(lat, got, sizeof(lat[0]), bench_cmp);
	printf("step_to_page_us_median=%.1f step_to_page_us_max=%.1f tries=%d answered=%d\n",
	       lat[got / 2], lat[got - 1], tries, got);
	return got == tries ? 0 : 1;
}
