// SPDX-License-Identifier: GPL-2.0
/*
 * hc-hostile: what tests/tools/run.sh plays against hostclockd, as the
 * untrusted parties of Documentation/hostclockd.md's threat model.
 *
 *   flood REGION SECONDS   a hostile guest: maps the region as QEMU does and
 *                          floods the mailbox (exchanges started unasked,
 *                          answered at once with random times, requests
 *                          and page 0 scribbled on), spinning on one CPU
 *   sly REGION SECONDS     a hostile guest that never answers a request but
 *                          starts an exchange unasked 0.6 s after each one
 *                          appears (once the agent's has lapsed), so that
 *                          the agent, asking again soon, keeps one up as
 *                          often as it lets itself; sleeps between looks
 *   scribble REGION SECONDS  a hostile guest that writes page 0's seq_count
 *                          once a second (the agent adopts the region each
 *                          time, as after a migration's copy) and never
 *                          answers a request; counts the requests it saw,
 *                          and those from 20 s on (past the agent's eager
 *                          asking after the first adoptions)
 *   hold REGION SECONDS    QEMU: keeps the region mapped, then prints what
 *                          its own mapping shows: agent_state, heartbeat,
 *                          disruption_marker
 *   impostor SOCKET SECONDS  a local user's fake agent: answers every
 *                          command on SOCKET with a made-up reference
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hostclock/core.h"
#include "hostclock/ext_abi.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *map_region(const char *path)
{
	int fd = open(path, O_RDWR);
	void *m;

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	m = mmap(NULL, HOSTCLOCK_REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return m;
}

static unsigned long long rng(unsigned long long *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int flood(const char *path, double seconds)
{
	char *m = map_region(path);
	struct hostclock_ext *ext = (struct hostclock_ext *)(m + HOSTCLOCK_EXT_OFFSET);
	struct hostclock_mailbox *mb = &ext->mailbox;
	unsigned long long s = 0x9e3779b97f4a7c15ULL, n = 0, r;
	double end = now_s() + seconds;
	unsigned int seq = 0;

	while (now_s() < end) {
		r = rng(&s);
		/* an exchange started unasked, "completed" at once */
		WRITE_ONCE(mb->guest_t1, r);
		WRITE_ONCE(mb->guest_t3, r + (rng(&s) & 0xffff));
		WRITE_ONCE(mb->guest_seq, ++seq);
		WRITE_ONCE(mb->guest_done, seq);
		/* answer whatever the agent says it serves, with nonsense */
		if (READ_ONCE(mb->host_seq) == seq)
			WRITE_ONCE(mb->guest_done, seq);
		if (!(n++ & 1023)) {
			/* the agent's half and page 0 are the guest's to scribble on */
			WRITE_ONCE(mb->pair_request, (u32)r);
			m[r % 4096] = (char)r;
		}
	}
	printf("flooded %llu times\n", n);
	return 0;
}

static int sly(const char *path, double seconds)
{
	char *m = map_region(path);
	struct hostclock_ext *ext = (struct hostclock_ext *)(m + HOSTCLOCK_EXT_OFFSET);
	struct hostclock_mailbox *mb = &ext->mailbox;
	unsigned int request = READ_ONCE(mb->pair_request), seq = READ_ONCE(mb->guest_seq);
	unsigned long long requests = 0, unasked = 0;
	double end = now_s() + seconds, seen = 0;
	struct timespec nap = { 0, 5 * 1000 * 1000 };

	while (now_s() < end) {
		if (READ_ONCE(mb->pair_request) != request) {
			request = READ_ONCE(mb->pair_request);
			seen = now_s();
			requests++;
		}
		if (seen && now_s() - seen > 0.6) {
			WRITE_ONCE(mb->guest_seq, ++seq);
			WRITE_ONCE(mb->guest_done, seq);
			unasked++;
			seen = 0;
		}
		nanosleep(&nap, NULL);
	}
	printf("requests=%llu unasked=%llu\n", requests, unasked);
	return 0;
}

static int scribble(const char *path, double seconds)
{
	char *m = map_region(path);
	struct vmclock_abi *page = (struct vmclock_abi *)m;
	struct hostclock_ext *ext = (struct hostclock_ext *)(m + HOSTCLOCK_EXT_OFFSET);
	struct hostclock_mailbox *mb = &ext->mailbox;
	unsigned int request = READ_ONCE(mb->pair_request);
	unsigned long long requests = 0, late = 0, writes = 0;
	double start = now_s(), end = start + seconds, next = 0;
	struct timespec nap = { 0, 5 * 1000 * 1000 };

	while (now_s() < end) {
		if (READ_ONCE(mb->pair_request) != request) {
			request = READ_ONCE(mb->pair_request);
			requests++;
			late += now_s() - start >= 20;
		}
		if (now_s() >= next) {
			/* an even value the agent did not write: a copied page */
			WRITE_ONCE(page->seq_count, READ_ONCE(page->seq_count) + 0x10000);
			writes++;
			next = now_s() + 1;
		}
		nanosleep(&nap, NULL);
	}
	printf("requests=%llu writes=%llu from_20s=%llu\n", requests, writes, late);
	return 0;
}

static int hold(const char *path, double seconds)
{
	char *m = map_region(path);
	const struct hostclock_ext *ext = (const struct hostclock_ext *)(m + HOSTCLOCK_EXT_OFFSET);
	const struct vmclock_abi *page = (const struct vmclock_abi *)m;
	struct timespec nap = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };

	nanosleep(&nap, NULL);
	printf("agent_state=%u heartbeat=%llu disruption_marker=%llu\n",
	       le32_to_cpu(READ_ONCE(ext->agent_state)),
	       (unsigned long long)le64_to_cpu(READ_ONCE(ext->heartbeat)),
	       (unsigned long long)le64_to_cpu(READ_ONCE(page->disruption_marker)));
	return 0;
}

static int impostor(const char *path, double seconds)
{
	static const char fake[] = "ok reference_ns=1000000000 host_ns=0 offset_ns=1000000000";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	double end = now_s() + seconds;
	char buf[256];
	int fd, c;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 4)) {
		perror(path);
		return 1;
	}
	chmod(path, 0666);
	while (now_s() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) <= 0)
			continue;
		c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		if (recv(c, buf, sizeof(buf), 0) > 0)
			send(c, fake, sizeof(fake) - 1, MSG_NOSIGNAL);
		close(c);
	}
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = argc > 3 ? atof(argv[3]) : 0;

	if (argc != 4)
		return fprintf(stderr, "usage: hc-hostile flood|sly|scribble|hold|impostor PATH SECONDS\n"), 2;
	if (!strcmp(argv[1], "flood"))
		return flood(argv[2], seconds);
	if (!strcmp(argv[1], "sly"))
		return sly(argv[2], seconds);
	if (!strcmp(argv[1], "scribble"))
		return scribble(argv[2], seconds);
	if (!strcmp(argv[1], "hold"))
		return hold(argv[2], seconds);
	if (!strcmp(argv[1], "impostor"))
		return impostor(argv[2], seconds);
	return fprintf(stderr, "hc-hostile: unknown mode %s\n", argv[1]), 2;
}
