// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket: fault and scenario injection for tests, and the
 * agent's reference time for comparators. One command per connection on a
 * SOCK_SEQPACKET unix socket (mode 0600); the reply starts with "ok" or
 * "error". The commands are listed in hcd_control_help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hcd.h"

static const char * const hcd_status_names[] = {
	[VMCLOCK_STATUS_UNKNOWN] = "unknown",
	[VMCLOCK_STATUS_INITIALIZING] = "initializing",
	[VMCLOCK_STATUS_SYNCHRONIZED] = "synchronized",
	[VMCLOCK_STATUS_FREERUNNING] = "freerunning",
	[VMCLOCK_STATUS_UNRELIABLE] = "unreliable",
};

static const char * const hcd_leap_names[] = {
	[VMCLOCK_LEAP_NONE] = "none",
	[VMCLOCK_LEAP_PRE_POS] = "pre_pos",
	[VMCLOCK_LEAP_PRE_NEG] = "pre_neg",
	[VMCLOCK_LEAP_POS] = "pos",
	[VMCLOCK_LEAP_POST_POS] = "post_pos",
	[VMCLOCK_LEAP_POST_NEG] = "post_neg",
};

static const char hcd_control_help[] =
	"commands: now | state | update | step NS | rate PPB | disrupt | vmgen |"
	" status NAME|auto | leap NAME|auto | maxerror NS|auto | freeze | thaw |"
	" corrupt magic|version|seq|period|shift|counter | restore";

static int hcd_lookup(const char *name, const char * const *names, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		if (names[i] && !strcmp(name, names[i]))
			return i;
	}
	return -1;
}

static int hcd_parse_s64(const char *s, s64 *v)
{
	char *end;

	if (!s)
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || end == s || *end ? -1 : 0;
}

/* 1000 ppm: far beyond any real migration, well inside what pages accept */
#define HCD_RATE_MAX_PPB	1000000LL

#define hcd_reply(...) (snprintf(reply, len, __VA_ARGS__), 0)
#define hcd_fail(...) (snprintf(reply, len, "error " __VA_ARGS__), -1)

/**
 * hcd_control_exec() - run one control command against the agent
 * @a: the agent
 * @cmd: the command line; modified (tokenized)
 * @reply: the answer, "ok ..." or "error ..."
 * @len: size of @reply
 *
 * Commands that change the page publish a new one at once.
 *
 * Return: 0 on success, -1 on error.
 */
int hcd_control_exec(struct hcd_agent *a, char *cmd, char *reply, size_t len)
{
	char *save = NULL, *verb = strtok_r(cmd, " \t\n", &save);
	char *arg = strtok_r(NULL, " \t\n", &save);
	s64 host, ref, v;
	int i;

	if (!verb)
		return hcd_fail("empty command; %s", hcd_control_help);

	if (!strcmp(verb, "now")) {
		ref = hcd_agent_reference_ns(a, &host);
		return hcd_reply("ok reference_ns=%lld host_ns=%lld offset_ns=%lld",
				 (long long)ref, (long long)host, (long long)(ref - host));
	}
	if (!strcmp(verb, "state")) {
		const struct hostclock_clock *p = &a->published;

		return hcd_reply("ok updates=%llu heartbeat=%llu status=%s counter_id=%u"
				 " disruption_marker=%llu vm_generation=%llu"
				 " step_ns=%lld rate_ppb=%lld frozen=%d corrupt=%s"
				 " tsc_mode=%u map_valid=%d map_offset=%lld map_uncertainty=%llu"
				 " pair_accepted=%llu pair_rejected=%llu",
				 (unsigned long long)a->updates,
				 (unsigned long long)a->heartbeat,
				 p->clock_status < ARRAY_SIZE(hcd_status_names) ?
					hcd_status_names[p->clock_status] : "?",
				 p->counter_id,
				 (unsigned long long)a->disruption_marker,
				 (unsigned long long)a->vm_generation,
				 (long long)a->ref.step_ns, (long long)a->ref.rate_ppb,
				 a->faults.frozen, hcd_corrupt_names[a->faults.corrupt],
				 a->map.mode, a->map.valid, (long long)a->map.offset,
				 (unsigned long long)a->map.uncertainty,
				 (unsigned long long)a->pair.stats.accepted,
				 (unsigned long long)(a->pair.stats.rejected_order +
						      a->pair.stats.rejected_rtt +
						      a->pair.stats.rejected_stale +
						      a->pair.stats.rejected_outlier));
	}

	if (!strcmp(verb, "update")) {
		/* nothing to change */
	} else if (!strcmp(verb, "step")) {
		if (hcd_parse_s64(arg, &v))
			return hcd_fail("step needs nanoseconds");
		hcd_reference_step(&a->ref, v);
	} else if (!strcmp(verb, "rate")) {
		if (hcd_parse_s64(arg, &v) || v > HCD_RATE_MAX_PPB || v < -HCD_RATE_MAX_PPB)
			return hcd_fail("rate needs parts per billion within +-%lld",
					(long long)HCD_RATE_MAX_PPB);
		hcd_reference_set_rate(&a->ref, hcd_clock_ns(CLOCK_REALTIME), v);
	} else if (!strcmp(verb, "disrupt")) {
		hcd_agent_disrupt(a);
	} else if (!strcmp(verb, "vmgen")) {
		a->vm_generation++;
	} else if (!strcmp(verb, "status") || !strcmp(verb, "leap")) {
		bool status = verb[0] == 's';
		int *slot = status ? &a->faults.forced_status : &a->faults.forced_leap;

		if (arg && !strcmp(arg, "auto")) {
			*slot = -1;
		} else {
			i = status ? hcd_lookup(arg ? arg : "", hcd_status_names,
						ARRAY_SIZE(hcd_status_names)) :
				     hcd_lookup(arg ? arg : "", hcd_leap_names,
						ARRAY_SIZE(hcd_leap_names));
			if (i < 0)
				return hcd_fail("unknown %s '%s'", verb, arg ? arg : "");
			*slot = i;
		}
	} else if (!strcmp(verb, "maxerror")) {
		char *end = NULL;

		if (arg && !strcmp(arg, "auto")) {
			a->faults.forced_maxerror_ns = -1;
		} else {
			v = arg ? strtoll(arg, &end, 10) : -1;
			if (!arg || *end || v < 0)
				return hcd_fail("maxerror needs nanoseconds or auto");
			a->faults.forced_maxerror_ns = v;
		}
	} else if (!strcmp(verb, "freeze")) {
		a->faults.frozen = true;
		return hcd_reply("ok frozen at heartbeat %llu",
				 (unsigned long long)a->heartbeat);
	} else if (!strcmp(verb, "thaw")) {
		a->faults.frozen = false;
	} else if (!strcmp(verb, "corrupt")) {
		i = hcd_lookup(arg ? arg : "", hcd_corrupt_names, HCD_CORRUPT_COUNT);
		if (i <= 0)
			return hcd_fail("corrupt what? magic|version|seq|period|shift|counter");
		a->faults.corrupt = i;
	} else if (!strcmp(verb, "restore")) {
		a->faults.frozen = false;
		a->faults.corrupt = HCD_CORRUPT_NONE;
		a->faults.forced_status = -1;
		a->faults.forced_leap = -1;
		a->faults.forced_maxerror_ns = -1;
	} else {
		return hcd_fail("unknown command '%s'; %s", verb, hcd_control_help);
	}

	if (hcd_agent_update(a))
		return hcd_fail("applied, but the update failed");
	return hcd_reply("ok heartbeat=%llu", (unsigned long long)a->heartbeat);
}

/**
 * hcd_control_listen() - create the control socket, root only
 * @path: where; an old socket there is replaced
 *
 * Return: the listening fd, or -1 with errno set.
 */
int hcd_control_listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old_umask;
	struct stat st;
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	/* Replace a stale socket, never a file of another kind. */
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	old_umask = umask(0177);
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (err || listen(fd, 8)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/**
 * hcd_control_serve() - answer the pending connections, one command each
 * @a: the agent
 * @listen_fd: from hcd_control_listen()
 *
 * A client gets one second to send its command, so a stuck client cannot
 * stall the agent's updates for long.
 */
void hcd_control_serve(struct hcd_agent *a, int listen_fd)
{
	struct timeval limit = { 1, 0 };
	char cmd[256], reply[1024];
	ssize_t n;
	int fd;

	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
		n = recv(fd, cmd, sizeof(cmd) - 1, 0);
		if (n > 0) {
			cmd[n] = '\0';
			hcd_control_exec(a, cmd, reply, sizeof(reply));
			hcd_debug("control: %s -> %s", cmd, reply);
			send(fd, reply, strlen(reply), MSG_NOSIGNAL);
		}
		close(fd);
	}
}
