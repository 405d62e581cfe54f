// SPDX-License-Identifier: GPL-2.0
/*
 * hc-uevent: listen to kernel uevents for SECONDS and print, one line each,
 * those that carry HOSTCLOCK_EVENT, with their HOSTCLOCK_* variables and
 * last mono_ns=CLOCK_MONOTONIC when it was received. The guests have no
 * udev; this is what a udev rule would match on.
 *
 * usage: hc-uevent SECONDS
 */
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int secs = argc > 1 ? atoi(argv[1]) : 10;
	struct timespec now;
	char buf[8192];
	time_t end;
	int fd;

	fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("hc-uevent: netlink");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n, i;
		int hostclock = 0;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (i = 0; i < n; i += strlen(buf + i) + 1)
			hostclock |= !strncmp(buf + i, "HOSTCLOCK_EVENT=", 16);
		if (!hostclock)
			continue;
		printf("%s", buf);	/* "change@/devices/..." */
		for (i = strlen(buf) + 1; i < n; i += strlen(buf + i) + 1)
			if (!strncmp(buf + i, "HOSTCLOCK_", 10))
				printf(" %s", buf + i);
		clock_gettime(CLOCK_MONOTONIC, &now);
		printf(" mono_ns=%lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
		fflush(stdout);
	}
	return 0;
}
