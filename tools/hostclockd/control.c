// SPDX-License-Identifier: GPL-2.0
/*
 * The control sockets, beside the region in its trusted directory, one
 * command per connection on a SOCK_SEQPACKET unix socket; the reply starts
 * with "ok" or "error". The commands are listed in hcd_control_help.
 *
 *   NAME.ro.ctl  mode 0666: reading only (now, state, metrics), for anyone
 *                on the host, monitoring included
 *   NAME.ctl     mode 0600, owned by the agent or the --admin user: also
 *                the commands that change what guests are told; the peer
 *                must be root, the agent's user or the admin (SO_PEERCRED)
 *
 * Fault injection (step, rate, status, leap, maxerror, freeze, corrupt,
 * ...) makes guests trust a wrong clock, so it exists only in an agent
 * started with --enable-faults, which the systemd unit never sets.
 *
 * Clients are served without blocking: a few per socket at a time, each
 * with a second to send its command, so that silent clients cannot stall
 * the agent's updates.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hcd.h"

const char * const hcd_status_names[HCD_STATUS_COUNT] = {
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
	"commands: now | state | metrics | update | disrupt | vmgen |"
	" with --enable-faults: step NS | rate PPB | status NAME|auto |"
	" leap NAME|auto | maxerror NS|auto | freeze | thaw |"
	" corrupt magic|version|seq|period|shift|counter | restore";

/* What a command needs: HCD_RIGHT_* */
static const struct {
	const char *verb;
	unsigned int needs;
} hcd_commands[] = {
	{ "now", HCD_RIGHT_READ }, { "state", HCD_RIGHT_READ },
	{ "metrics", HCD_RIGHT_READ },
	{ "update", HCD_RIGHT_ADMIN }, { "disrupt", HCD_RIGHT_ADMIN },
	{ "vmgen", HCD_RIGHT_ADMIN },
	{ "step", HCD_RIGHT_FAULTS }, { "rate", HCD_RIGHT_FAULTS },
	{ "status", HCD_RIGHT_FAULTS }, { "leap", HCD_RIGHT_FAULTS },
	{ "maxerror", HCD_RIGHT_FAULTS }, { "freeze", HCD_RIGHT_FAULTS },
	{ "thaw", HCD_RIGHT_FAULTS }, { "corrupt", HCD_RIGHT_FAULTS },
	{ "restore", HCD_RIGHT_FAULTS },
};

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
/* steps add up to at most 2^62 ns (146 years): no overflow, time stays positive */
#define HCD_STEP_MAX_NS		(1LL << 62)

#define hcd_reply(...) (snprintf(reply, len, __VA_ARGS__), 0)
#define hcd_fail(...) (snprintf(reply, len, "error " __VA_ARGS__), -1)

/**
 * hcd_control_exec() - run one control command against the agent
 * @a: the agent
 * @cmd: the command line; modified (tokenized)
 * @reply: the answer, "ok ..." or "error ..."
 * @len: size of @reply
 * @rights: HCD_RIGHT_* the connection has
 *
 * Commands that change the page publish a new one at once.
 *
 * Return: 0 on success, -1 on error.
 */
int hcd_control_exec(struct hcd_agent *a, char *cmd, char *reply, size_t len,
		     unsigned int rights)
{
	char *save = NULL, *verb = strtok_r(cmd, " \t\n", &save);
	char *arg = strtok_r(NULL, " \t\n", &save);
	s64 host, ref, v;
	int i;

	if (!verb)
		return hcd_fail("empty command; %s", hcd_control_help);
	for (i = 0; i < (int)ARRAY_SIZE(hcd_commands); i++) {
		if (strcmp(verb, hcd_commands[i].verb))
			continue;
		if (hcd_commands[i].needs & rights)
			break;
		a->control_refused++;
		if (hcd_commands[i].needs == HCD_RIGHT_FAULTS && rights & HCD_RIGHT_ADMIN)
			return hcd_fail("fault injection is disabled: '%s' exists only in an agent started with --enable-faults",
					verb);
		return hcd_fail("permission denied: '%s' changes what guests are told; use the control socket (.ctl) as root or the agent's admin",
				verb);
	}
	if (i == (int)ARRAY_SIZE(hcd_commands))
		return hcd_fail("unknown command '%s'; %s", verb, hcd_control_help);

	if (!strcmp(verb, "now")) {
		ref = hcd_agent_reference_ns(a, &host);
		return hcd_reply("ok reference_ns=%lld host_ns=%lld offset_ns=%lld",
				 (long long)ref, (long long)host, (long long)(ref - host));
	}
	if (!strcmp(verb, "state")) {
		const struct hostclock_clock *p = &a->published;

		/* so that a script waiting on it sees a copy that just landed */
		hcd_agent_check_overwrite(a);
		return hcd_reply("ok updates=%llu heartbeat=%llu status=%s counter_id=%u"
				 " disruption_marker=%llu vm_generation=%llu"
				 " step_ns=%lld rate_ppb=%lld frozen=%d corrupt=%s"
				 " tsc_mode=%u map_valid=%d map_offset=%lld map_uncertainty=%llu"
				 " pair_accepted=%llu pair_rejected=%llu overwrites=%llu",
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
						      a->pair.stats.rejected_outlier),
				 (unsigned long long)a->overwrites);
	}
	if (!strcmp(verb, "metrics")) {
		const struct hcd_pair_stats *ps = &a->pair.stats;

		return hcd_reply("ok updates=%llu region_resizes=%llu region_overwrites=%llu"
				 " control_refused=%llu"
				 " pair_bursts=%llu pair_unsolicited=%llu pair_exchanges=%llu"
				 " pair_accepted=%llu pair_rejected_order=%llu"
				 " pair_rejected_rtt=%llu pair_rejected_stale=%llu"
				 " pair_rejected_outlier=%llu pair_timeouts=%llu pair_jumps=%llu"
				 " host_freq_changes=%llu host_errors_trusted=%d",
				 (unsigned long long)a->updates,
				 (unsigned long long)a->region->resizes,
				 (unsigned long long)a->overwrites,
				 (unsigned long long)a->control_refused,
				 (unsigned long long)ps->bursts,
				 (unsigned long long)ps->unsolicited,
				 (unsigned long long)ps->exchanges,
				 (unsigned long long)ps->accepted,
				 (unsigned long long)ps->rejected_order,
				 (unsigned long long)ps->rejected_rtt,
				 (unsigned long long)ps->rejected_stale,
				 (unsigned long long)ps->rejected_outlier,
				 (unsigned long long)ps->timeouts,
				 (unsigned long long)ps->jumps,
				 (unsigned long long)a->freq_changes,
				 a->host_errors_trusted);
	}

	if (!strcmp(verb, "update")) {
		/* nothing to change */
	} else if (!strcmp(verb, "step")) {
		if (hcd_parse_s64(arg, &v))
			return hcd_fail("step needs nanoseconds");
		if (hcd_reference_step(&a->ref, v, HCD_STEP_MAX_NS))
			return hcd_fail("steps add up to at most +-%lld ns", (long long)HCD_STEP_MAX_NS);
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
	}

	if (hcd_agent_update(a))
		return hcd_fail("applied, but the update failed");
	return hcd_reply("ok heartbeat=%llu", (unsigned long long)a->heartbeat);
}

/*
 * Bind NAME in the trusted directory. Only root and the agent can create
 * names there and the agent holds the region's lock, so an old socket is a
 * previous run's; anything else is left alone and refused.
 */
static int hcd_control_bind(struct hcd_ctl_socket *cs, int dir_fd, mode_t mode,
			    uid_t owner, char *why, size_t why_len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int cwd, err;

	if (strlen(cs->name) >= sizeof(addr.sun_path))
		return snprintf(why, why_len, "%s: name too long", cs->name), -1;
	strcpy(addr.sun_path, cs->name);
	if (!fstatat(dir_fd, cs->name, &st, AT_SYMLINK_NOFOLLOW)) {
		if (!S_ISSOCK(st.st_mode))
			return snprintf(why, why_len, "%s exists and is not a socket; refusing to replace it",
					cs->name), -1;
		unlinkat(dir_fd, cs->name, 0);
	}
	cs->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cs->fd < 0 || cwd < 0 || fchdir(dir_fd)) {
		err = errno;
		if (cwd >= 0)
			close(cwd);
		return snprintf(why, why_len, "%s: %s", cs->name, strerror(err)), -1;
	}
	/* bind() by a name relative to the trusted directory, never a path */
	old_umask = umask(~mode & 0777);
	err = bind(cs->fd, (struct sockaddr *)&addr, sizeof(addr)) ? errno : 0;
	umask(old_umask);
	if (fchdir(cwd) && !err)
		err = errno;
	close(cwd);
	if (!err && fstatat(dir_fd, cs->name, &st, AT_SYMLINK_NOFOLLOW))
		err = errno;
	if (!err && owner != (uid_t)-1 &&
	    fchownat(dir_fd, cs->name, owner, (gid_t)-1, AT_SYMLINK_NOFOLLOW))
		err = errno;
	if (!err && listen(cs->fd, 8))
		err = errno;
	if (err)
		return snprintf(why, why_len, "%s: %s", cs->name, strerror(err)), -1;
	cs->ino = st.st_ino;
	return 0;
}

/**
 * hcd_control_open() - create the control sockets beside the region
 * @c: the control state
 * @r: the region: its trusted directory and name
 * @admin: a user besides root and the agent's who may change things, or -1
 * @faults: fault injection enabled (--enable-faults)
 * @why: on failure, what was wrong
 * @why_len: size of @why
 *
 * Return: 0 or -1.
 */
int hcd_control_open(struct hcd_control *c, const struct hcd_region *r, uid_t admin,
		     bool faults, char *why, size_t why_len)
{
	struct hcd_ctl_socket *rw = &c->sock[HCD_CTL_RW], *ro = &c->sock[HCD_CTL_RO];
	int i, j;

	memset(c, 0, sizeof(*c));
	c->dir_fd = r->dir_fd;
	c->admin = admin;
	for (i = 0; i < HCD_CTL_SOCKETS; i++) {
		c->sock[i].fd = -1;
		for (j = 0; j < HCD_CTL_CLIENTS; j++)
			c->sock[i].clients[j].fd = -1;
	}
	snprintf(rw->name, sizeof(rw->name), "%s.ctl", r->name);
	snprintf(ro->name, sizeof(ro->name), "%s.ro.ctl", r->name);
	rw->rights = HCD_RIGHT_READ | HCD_RIGHT_ADMIN | (faults ? HCD_RIGHT_FAULTS : 0);
	ro->rights = HCD_RIGHT_READ;
	if (hcd_control_bind(rw, c->dir_fd, 0600, admin, why, why_len) ||
	    hcd_control_bind(ro, c->dir_fd, 0666, (uid_t)-1, why, why_len)) {
		hcd_control_close(c);
		return -1;
	}
	return 0;
}

/* Root, the agent's own user and the configured admin may change things. */
bool hcd_control_peer_allowed(const struct hcd_control *c, uid_t uid)
{
	return uid == 0 || uid == geteuid() || (c->admin != (uid_t)-1 && uid == c->admin);
}

/**
 * hcd_control_pollfds() - the descriptors the main loop waits on for control
 * @c: the control state
 * @fds: filled with listening sockets with a free client slot, and clients
 * @max: room in @fds
 *
 * Return: how many were filled in.
 */
int hcd_control_pollfds(struct hcd_control *c, struct pollfd *fds, int max)
{
	int i, j, n = 0;

	for (i = 0; i < HCD_CTL_SOCKETS; i++) {
		struct hcd_ctl_socket *cs = &c->sock[i];
		bool room = false;

		for (j = 0; j < HCD_CTL_CLIENTS && n < max; j++) {
			if (cs->clients[j].fd < 0) {
				room = true;
				continue;
			}
			fds[n].fd = cs->clients[j].fd;
			fds[n++].events = POLLIN;
		}
		/* a full socket waits in its backlog, costing no wake-up */
		if (room && cs->fd >= 0 && n < max) {
			fds[n].fd = cs->fd;
			fds[n++].events = POLLIN;
		}
	}
	return n;
}

static void hcd_control_drop(struct hcd_ctl_client *cl)
{
	close(cl->fd);
	cl->fd = -1;
}

static void hcd_control_accept(struct hcd_control *c, struct hcd_agent *a,
			       struct hcd_ctl_socket *cs, u64 now)
{
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	int i, fd;

	for (i = 0; i < HCD_CTL_CLIENTS; i++) {
		struct hcd_ctl_client *cl = &cs->clients[i];

		if (cl->fd >= 0)
			continue;
		fd = accept4(cs->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &plen)) {
			close(fd);
			continue;
		}
		if (cs->rights & HCD_RIGHT_ADMIN && !hcd_control_peer_allowed(c, peer.uid)) {
			static const char no[] = "error permission denied: only root, the agent's user and its --admin may use this socket";

			a->control_refused++;
			if (hcd_ratelimit(&c->refusal_log, now, 10ULL * NSEC_PER_SEC))
				hcd_warn("control: refused uid %u (pid %d) on %s",
					 (unsigned int)peer.uid, (int)peer.pid, cs->name);
			send(fd, no, sizeof(no) - 1, MSG_NOSIGNAL);
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->deadline_ns = now + NSEC_PER_SEC;
	}
}

/**
 * hcd_control_serve() - accept, answer and expire control clients
 * @c: the control state
 * @a: the agent
 * @fds: what poll() said about hcd_control_pollfds()'s descriptors
 * @n: how many
 *
 * Never blocks: a client whose command has not arrived waits for a later
 * call, and is dropped a second after it connected.
 */
void hcd_control_serve(struct hcd_control *c, struct hcd_agent *a,
		       const struct pollfd *fds, int n)
{
	u64 now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
	char cmd[256], reply[1024];
	int i, j, k;
	ssize_t got;

	for (i = 0; i < HCD_CTL_SOCKETS; i++) {
		struct hcd_ctl_socket *cs = &c->sock[i];

		for (j = 0; j < HCD_CTL_CLIENTS; j++) {
			struct hcd_ctl_client *cl = &cs->clients[j];

			if (cl->fd < 0)
				continue;
			for (k = 0; k < n && fds[k].fd != cl->fd; k++)
				;
			if (k == n || !fds[k].revents) {
				if (now > cl->deadline_ns)
					hcd_control_drop(cl);
				continue;
			}
			got = recv(cl->fd, cmd, sizeof(cmd) - 1, 0);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got > 0) {
				cmd[got] = '\0';
				hcd_control_exec(a, cmd, reply, sizeof(reply), cs->rights);
				hcd_debug("control: %s -> %s", cmd, reply);
				send(cl->fd, reply, strlen(reply), MSG_NOSIGNAL);
			}
			hcd_control_drop(cl);
		}
		for (k = 0; k < n; k++) {
			if (fds[k].fd == cs->fd && fds[k].revents & POLLIN)
				hcd_control_accept(c, a, cs, now);
		}
	}
}

/**
 * hcd_control_close() - close every socket, removing those still ours
 * @c: the control state
 */
void hcd_control_close(struct hcd_control *c)
{
	struct stat st;
	int i, j;

	for (i = 0; i < HCD_CTL_SOCKETS; i++) {
		struct hcd_ctl_socket *cs = &c->sock[i];

		for (j = 0; j < HCD_CTL_CLIENTS; j++) {
			if (cs->clients[j].fd >= 0)
				hcd_control_drop(&cs->clients[j]);
		}
		if (cs->fd < 0)
			continue;
		close(cs->fd);
		cs->fd = -1;
		if (cs->ino && !fstatat(c->dir_fd, cs->name, &st, AT_SYMLINK_NOFOLLOW) &&
		    st.st_ino == cs->ino)
			unlinkat(c->dir_fd, cs->name, 0);
	}
}
