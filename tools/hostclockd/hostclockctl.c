// SPDX-License-Identifier: GPL-2.0
/*
 * hostclockctl: send one command to a running hostclockd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char usage[] =
"usage: hostclockctl (--socket PATH | --region PATH) COMMAND [ARG]\n"
"\n"
"  now                      the agent's reference time (possibly perturbed)\n"
"  state                    what the agent publishes and its faults\n"
"  update                   publish a new page now\n"
"  step NS                  step the published reference by NS nanoseconds\n"
"  rate PPB | rate Nppm     make the reference drift at this extra rate\n"
"  disrupt                  new disruption_marker\n"
"  vmgen                    bump vm_generation_counter\n"
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

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char cmd[256] = "", reply[1024];
	int fd, i = 1;
	ssize_t n;

	if (argc < 4 || (strcmp(argv[1], "--socket") && strcmp(argv[1], "--region"))) {
		fputs(usage, argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s%s", argv[2],
		     strcmp(argv[1], "--region") ? "" : ".ctl") >= (int)sizeof(addr.sun_path)) {
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
			snprintf(conv, sizeof(conv), "%lld",
				 (long long)(strtod(arg, NULL) * 1000));
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
