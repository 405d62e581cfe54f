// SPDX-License-Identifier: GPL-2.0
/*
 * hostclockctl: send one command to a running hostclockd.
 *
 * Reading commands go to the region's read-only socket (PATH.ro.ctl), the
 * others to its control socket (PATH.ctl). Whatever answers must be root or
 * the caller's own user: a socket another user bound (where no agent runs,
 * or in a directory that user can write) would otherwise feed the caller
 * forged references.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char usage[] =
"usage: hostclockctl (--socket PATH | --region PATH) COMMAND [ARG]\n"
"\n"
"Reading (PATH.ro.ctl, anyone):\n"
"  now                      the agent's reference time (possibly perturbed)\n"
"  state                    what the agent publishes and its faults\n"
"  metrics                  the agent's counters\n"
"Changing (PATH.ctl: root, the agent's user or its --admin):\n"
"  update                   publish a new page now\n"
"  step NS                  step the published reference by NS nanoseconds\n"
"  rate PPB | rate Nppm     make the reference drift at this extra rate\n"
"  disrupt                  new disruption_marker\n"
"  vmgen                    bump vm_generation_counter\n"
"Fault injection (only in an agent started with --enable-faults):\n"
"  status NAME|auto         force clock_status (unknown, initializing,\n"
"                           synchronized, freerunning, unreliable)\n"
"  leap NAME|auto           force leap_indicator (none, pre_pos, pre_neg,\n"
"                           pos, post_pos, post_neg)\n"
"  maxerror NS|auto         publish time_maxerror NS (esterror NS/2) as valid\n"
"  freeze | thaw            stop/resume updates (stale page, heartbeat frozen)\n"
"  corrupt WHAT             publish malformed pages: magic, version, seq,\n"
"                           period, shift, counter\n"
"  restore                  undo every fault; publish a valid page\n"
"\n"
"Exit status: 0 if the agent answered ok, 1 if it answered error, 2 if it\n"
"could not be reached or the command line was wrong.\n";

static bool is_reading(const char *verb)
{
	return !strcmp(verb, "now") || !strcmp(verb, "state") || !strcmp(verb, "metrics");
}

/* "100ppm" as parts per billion, if it is a number within +-1e9 ppm */
static int ppm_to_ppb(const char *arg, char *out, size_t len)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || strcmp(end, "ppm") || !(v >= -1e9 && v <= 1e9))
		return -1;
	snprintf(out, len, "%lld", (long long)(v * 1000 + (v < 0 ? -0.5 : 0.5)));
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char cmd[256] = "", reply[1024];
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	const char *suffix = "";
	int fd, i = 1;
	ssize_t n;

	if (argc < 4 || (strcmp(argv[1], "--socket") && strcmp(argv[1], "--region"))) {
		fputs(usage, argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	if (!strcmp(argv[1], "--region"))
		suffix = is_reading(argv[3]) ? ".ro.ctl" : ".ctl";
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s%s", argv[2], suffix) >=
	    (int)sizeof(addr.sun_path)) {
		fprintf(stderr, "hostclockctl: socket path too long\n");
		return 2;
	}
	for (i = 3; i < argc; i++) {
		const char *arg = argv[i];
		char conv[32];
		size_t l = strlen(arg);

		/* "rate 100ppm" is "rate 100000" */
		if (i == 4 && !strcmp(argv[3], "rate") && l > 3 &&
		    !strcmp(arg + l - 3, "ppm")) {
			if (ppm_to_ppb(arg, conv, sizeof(conv))) {
				fprintf(stderr, "hostclockctl: rate: '%s' is not a number of ppm\n", arg);
				return 2;
			}
			arg = conv;
		}
		if (strlen(cmd) + strlen(arg) + 2 > sizeof(cmd)) {
			fprintf(stderr, "hostclockctl: command too long\n");
			return 2;
		}
		if (i > 3)
			strcat(cmd, " ");
		strcat(cmd, arg);
	}

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		fprintf(stderr, "hostclockctl: %s: %s (is hostclockd running?)\n",
			addr.sun_path, strerror(errno));
		return 2;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &plen) ||
	    (peer.uid != 0 && peer.uid != getuid() && peer.uid != geteuid())) {
		fprintf(stderr, "hostclockctl: %s is served by uid %u, neither root nor you: not a hostclockd to trust\n",
			addr.sun_path, (unsigned int)peer.uid);
		close(fd);
		return 2;
	}
	if (send(fd, cmd, strlen(cmd), 0) < 0 ||
	    (n = recv(fd, reply, sizeof(reply) - 1, 0)) <= 0) {
		fprintf(stderr, "hostclockctl: no answer from %s\n", addr.sun_path);
		close(fd);
		return 2;
	}
	close(fd);
	reply[n] = '\0';
	puts(reply);
	return strncmp(reply, "ok", 2) ? 1 : 0;
}
