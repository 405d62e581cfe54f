// SPDX-License-Identifier: GPL-2.0
/*
 * hc-compare-host: the host side of the comparator (compare.h). Serves the
 * guest's clock exchanges with the agent's reference time and runs the
 * agent commands the guest asks for, through hostclockctl.
 *
 * usage: hc-compare-host REGION HOSTCLOCKCTL AGENT_REGION
 * Stops on SIGTERM or SIGINT.
 *
 * A migration (ivshmem master=on) or a snapshot restore copies the source's
 * region over this one: another process's host_pid, the source side's
 * cmd_done, host_seq and burst_ready, maybe a cmd_seq the source ran but
 * whose cmd_done it wrote after the copy. So this side keeps what it wrote
 * and, on finding anything else, takes the region over: its own magic and
 * host_pid again, a command found pending marked done with an error rather
 * than run a second time, exchanges served on from the numbers found.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"

#define SPIN_NS		(500 * 1000 * 1000LL)	/* a burst spins at most 0.5 s */
#define IDLE_NS		(50 * 1000 * 1000LL)	/* or until 50 ms without exchanges */

static volatile sig_atomic_t stop;
static const char *ctl, *agent_region;

/* What this side last wrote to its fields of the region. */
static struct {
	uint32_t host_pid;
	uint32_t cmd_done;
	uint32_t host_seq;
	uint32_t burst_ready;
} own;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Run hostclockctl with up to 7 words of @cmd; its stdout into @out. */
static int run_ctl(const char *cmd, char *out, size_t len)
{
	char buf[256], *argv[12], *save = NULL, *w;
	int fds[2], status, argc = 0;
	ssize_t n, got = 0;
	pid_t pid;

	snprintf(buf, sizeof(buf), "%s", cmd);
	argv[argc++] = (char *)ctl;
	argv[argc++] = "--region";
	argv[argc++] = (char *)agent_region;
	for (w = strtok_r(buf, " \t\n", &save); w && argc < 10; w = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	/* close-on-exec: an agent that host-ctl.sh starts must not hold it */
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execv(ctl, argv);
		_exit(127);
	}
	close(fds[1]);
	while (pid > 0 && got < (ssize_t)len - 1 &&
	       (n = read(fds[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* reference = host + offset0 + rate * (host - host0), from the agent */
struct reference {
	int64_t offset0, host0, ppb;
};

static int64_t field(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

static int reference_fetch(struct reference *r)
{
	char out[1024];

	if (run_ctl("now", out, sizeof(out)))
		return -1;
	r->offset0 = field(out, "offset_ns=");
	r->host0 = field(out, "host_ns=");
	if (run_ctl("state", out, sizeof(out)))
		return -1;
	r->ppb = field(out, "rate_ppb=");
	return 0;
}

static int64_t reference_now(const struct reference *r)
{
	int64_t host = now_ns(CLOCK_REALTIME);

	return host + r->offset0 + (int64_t)((__int128)(host - r->host0) * r->ppb / 1000000000);
}

static void serve_burst(volatile struct hc_cmp_region *c, uint32_t burst)
{
	struct reference ref = { 0, 0, 0 };
	int64_t start, last;
	uint32_t seq;

	if (reference_fetch(&ref))
		fprintf(stderr, "hc-compare-host: cannot read the agent's reference\n");
	__atomic_store_n(&c->burst_ready, burst, __ATOMIC_RELEASE);
	own.burst_ready = burst;
	start = last = now_ns(CLOCK_MONOTONIC);
	while (!stop) {
		int64_t t = now_ns(CLOCK_MONOTONIC);

		if (t - start > SPIN_NS || t - last > IDLE_NS)
			break;
		seq = __atomic_load_n(&c->guest_seq, __ATOMIC_ACQUIRE);
		if (seq == c->host_seq) {
			__builtin_ia32_pause();
			continue;
		}
		c->ref_ns = reference_now(&ref);
		__atomic_store_n(&c->host_seq, seq, __ATOMIC_RELEASE);
		own.host_seq = seq;
		last = now_ns(CLOCK_MONOTONIC);
	}
}

static bool region_is_ours(volatile struct hc_cmp_region *c)
{
	return c->magic == HC_CMP_MAGIC && c->host_pid == own.host_pid &&
	       c->cmd_done == own.cmd_done && c->host_seq == own.host_seq &&
	       c->burst_ready == own.burst_ready;
}

/* Another writer's region (a migration's copy): carry on from it. */
static void adopt(volatile struct hc_cmp_region *c)
{
	uint32_t cmd_seq = __atomic_load_n(&c->cmd_seq, __ATOMIC_ACQUIRE);
	uint32_t cmd_done = c->cmd_done;

	fprintf(stderr, "hc-compare-host: region written by another writer (a migration or restore copies the source's): host_pid %u, cmd_seq %u cmd_done %u, guest_seq %u host_seq %u; taking it over\n",
		c->host_pid, cmd_seq, cmd_done, c->guest_seq, c->host_seq);
	if (cmd_seq != cmd_done) {
		/* the source may have run it: never twice; a guest still waiting is told */
		snprintf((char *)c->reply, sizeof(c->reply),
			 "error hc-compare-host: command %u was found in a region copied from another host side, not run\n",
			 cmd_seq);
		c->cmd_status = 2;
		__atomic_store_n(&c->cmd_done, cmd_seq, __ATOMIC_RELEASE);
	}
	own.cmd_done = cmd_seq;
	own.host_seq = c->host_seq;
	own.burst_ready = c->burst_ready;
	c->host_pid = own.host_pid;
	__atomic_store_n(&c->magic, HC_CMP_MAGIC, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	struct timespec nap = { 0, 1000000 };
	volatile struct hc_cmp_region *c;
	struct sigaction sa = { .sa_handler = on_signal };
	uint32_t v;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: hc-compare-host REGION HOSTCLOCKCTL AGENT_REGION\n");
		return 1;
	}
	ctl = argv[2];
	agent_region = argv[3];
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, HC_CMP_SIZE)) {
		fprintf(stderr, "hc-compare-host: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	c = mmap(NULL, HC_CMP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED) {
		fprintf(stderr, "hc-compare-host: mmap: %s\n", strerror(errno));
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	own.host_pid = getpid();
	c->host_pid = own.host_pid;
	__atomic_store_n(&c->magic, HC_CMP_MAGIC, __ATOMIC_RELEASE);

	while (!stop) {
		char cmd[sizeof(c->cmd)], reply[sizeof(c->reply)];

		if (!region_is_ours(c))
			adopt(c);
		v = __atomic_load_n(&c->cmd_seq, __ATOMIC_ACQUIRE);
		memcpy(cmd, (const void *)c->cmd, sizeof(cmd));
		cmd[sizeof(cmd) - 1] = '\0';
		/* read before looking again: a copy landing meanwhile is never run */
		if (v != own.cmd_done && region_is_ours(c)) {
			c->cmd_status = run_ctl(cmd, reply, sizeof(reply));
			memcpy((void *)c->reply, reply, sizeof(reply));
			__atomic_store_n(&c->cmd_done, v, __ATOMIC_RELEASE);
			own.cmd_done = v;
		}
		v = __atomic_load_n(&c->burst, __ATOMIC_ACQUIRE);
		if (v != c->burst_ready)
			serve_burst(c, v);
		else
			nanosleep(&nap, NULL);
	}
	return 0;
}
