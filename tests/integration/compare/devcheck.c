// SPDX-License-Identifier: GPL-2.0
/*
 * hc-dev-check: one check of /dev/hostclockN or of CLOCK_REALTIME, for the
 * guest scenarios. Prints what it saw; exit status 0 when it is as the
 * driver documents, 1 otherwise.
 *
 * usage: hc-dev-check DEV read         read() gives the VMClock structure
 *        hc-dev-check DEV mmap         a read-only mapping shows the magic
 *        hc-dev-check DEV nowrite      no writable mapping can be had
 *        hc-dev-check DEV poll MS      after a read, poll() wakes within MS
 *        hc-dev-check DEV hold FILE    map it, read the magic, wait for FILE
 *                                      to exist, read again: after the device
 *                                      went, that read must get SIGBUS or 0
 *        hc-dev-check - shift NS       step CLOCK_REALTIME by exactly NS
 *                                      (clock_adjtime ADJ_SETOFFSET)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define VMCLOCK_MAGIC	0x4b4c4356

static const char *err_name(int e)
{
	return strerrorname_np(e) ?: "?";
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Each way of getting a writable view must fail. */
static int nowrite(const char *dev)
{
	int fd, bad = 0;
	void *p;

	fd = open(dev, O_RDWR);
	printf("open O_RDWR: %s\n", fd < 0 ? err_name(errno) : "opened");
	if (fd >= 0) {
		close(fd);
		bad++;
	}
	fd = open(dev, O_RDONLY);
	if (fd < 0) {
		printf("open: %s\n", err_name(errno));
		return 1;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("mmap shared writable: %s\n", p == MAP_FAILED ? err_name(errno) : "mapped");
	bad += p != MAP_FAILED;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	printf("mmap private writable: %s\n", p == MAP_FAILED ? err_name(errno) : "mapped");
	bad += p != MAP_FAILED;
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		printf("mmap private read-only: %s\n", err_name(errno));
		return 1;
	}
	printf("mprotect to writable: %s\n",
	       mprotect(p, 4096, PROT_READ | PROT_WRITE) ? err_name(errno) : "allowed");
	bad += !mprotect(p, 4096, PROT_READ | PROT_WRITE);
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	printf("mmap of two pages: %s\n", p == MAP_FAILED ? err_name(errno) : "mapped");
	bad += p != MAP_FAILED;
	return bad ? 1 : 0;
}

static sigjmp_buf hold_jmp;

static void hold_sigbus(int sig __attribute__((unused)))
{
	siglongjmp(hold_jmp, 1);
}

/* A mapping kept across the device's going: the old page must not show. */
static int hold(int fd, const char *go)
{
	const volatile uint32_t *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	uint32_t again;

	if (p == MAP_FAILED) {
		printf("mmap: %s\n", err_name(errno));
		return 1;
	}
	printf("mapped, magic 0x%08x; ", p[0]);
	if (p[0] != VMCLOCK_MAGIC)
		return 1;
	fflush(stdout);
	while (access(go, F_OK))
		usleep(10000);
	signal(SIGBUS, hold_sigbus);
	if (sigsetjmp(hold_jmp, 1)) {
		printf("then SIGBUS\n");
		return 0;
	}
	again = p[0];
	printf("then read 0x%08x\n", again);
	return again ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned char buf[4096];
	const uint32_t *magic;
	struct pollfd pfd;
	int fd, n;
	int64_t t0;

	if (argc < 3) {
		fprintf(stderr, "usage: hc-dev-check DEV read|mmap|nowrite|poll MS|hold FILE | - shift NS\n");
		return 1;
	}
	if (!strcmp(argv[2], "shift") && argc > 3) {
		struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO };
		long long ns = atoll(argv[3]);

		tx.time.tv_sec = ns / 1000000000LL;
		tx.time.tv_usec = ns % 1000000000LL;	/* nanoseconds with ADJ_NANO */
		if (tx.time.tv_usec < 0) {
			tx.time.tv_sec--;
			tx.time.tv_usec += 1000000000LL;
		}
		if (clock_adjtime(CLOCK_REALTIME, &tx) < 0) {
			printf("shift: %s\n", err_name(errno));
			return 1;
		}
		printf("shifted CLOCK_REALTIME by %lld ns\n", ns);
		return 0;
	}
	if (!strcmp(argv[2], "nowrite"))
		return nowrite(argv[1]);

	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		printf("open: %s\n", err_name(errno));
		return 1;
	}
	if (!strcmp(argv[2], "read")) {
		n = read(fd, buf, sizeof(buf));
		magic = (const uint32_t *)buf;
		printf("read %d bytes, magic 0x%08x\n", n, n >= 4 ? *magic : 0);
		return n == 112 && *magic == VMCLOCK_MAGIC ? 0 : 1;
	}
	if (!strcmp(argv[2], "mmap")) {
		const volatile uint32_t *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED) {
			printf("mmap: %s\n", err_name(errno));
			return 1;
		}
		printf("mapped, magic 0x%08x\n", p[0]);
		return p[0] == VMCLOCK_MAGIC ? 0 : 1;
	}
	if (!strcmp(argv[2], "hold") && argc > 3)
		return hold(fd, argv[3]);
	if (!strcmp(argv[2], "poll") && argc > 3) {
		int limit = atoi(argv[3]);

		if (read(fd, buf, sizeof(buf)) < 0) {
			printf("read: %s\n", err_name(errno));
			return 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		t0 = mono_ms();
		n = poll(&pfd, 1, limit);
		printf("poll: %d (revents 0x%x) after %lld ms\n", n, pfd.revents,
		       (long long)(mono_ms() - t0));
		return n == 1 && (pfd.revents & POLLIN) ? 0 : 1;
	}
	fprintf(stderr, "hc-dev-check: unknown check %s\n", argv[2]);
	return 1;
}
