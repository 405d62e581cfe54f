// SPDX-License-Identifier: GPL-2.0
/*
 * hostclockd: publish this host's clock to one VM through a hostclock region.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "hcd.h"

#define HCD_PAIR_RETRY_MS	1000	/* while no mapping is known */
#define HCD_REGION_CHECK_NS	(100ULL * 1000 * 1000)	/* between looks at the file */

static const char hcd_usage[] =
"usage: hostclockd --region PATH [options]\n"
"\n"
"Publish this host's clock to a VM through a hostclock region (page 0 a\n"
"VMClock page, page 1 hostclock's extension), for QEMU to map as\n"
"ivshmem-plain BAR 2.\n"
"\n"
"  -r, --region PATH      the 8 KiB region file; created 0600 if missing, in a\n"
"                         directory only root (or the agent's user) can change;\n"
"                         control sockets PATH.ctl and PATH.ro.ctl beside it\n"
"  -t, --tsc MODE         guest TSC mapping: pairing (default), kvm:PID,\n"
"                         offset:N (guest - host ticks), identity\n"
"      --time-type TYPE   utc (default) or tai\n"
"  -i, --interval MS      update interval, default 1000\n"
"      --fit-window N     samples in the period fit, 2..64, default 16\n"
"      --pair-interval MS how often to re-pair once paired, default 16000\n"
"      --watch MS         how often to look at the kernel's rate and the region\n"
"                         between updates, 1..1000, default 50\n"
"      --owner USER       owner of a region QEMU runs as another user to open\n"
"      --group GROUP      group of the region\n"
"      --kvm-debugfs DIR  KVM's debugfs directory (default /sys/kernel/debug/kvm)\n"
"      --admin USER       may also use PATH.ctl (besides root and the agent's user)\n"
"      --enable-faults    allow fault injection (step, rate, status, ...): tests only\n"
"      --host-errors MODE publish the host's maxerror/esterror: auto (default:\n"
"                         only under chronyd or ntpd), trust, ignore\n"
"      --host-max-slew PPM how fast the host daemon may change the clock's rate\n"
"                         (default: 83333 under chronyd, 500 under ntpd)\n"
"      --metrics-dir DIR  write Prometheus metrics to DIR/hostclock-NAME.prom for\n"
"                         node_exporter's textfile collector; removed on exit\n"
"      --metrics-interval SEC  how often, default 15\n"
"      --metrics-name NAME the vm label and file name (default: the region's name)\n"
"  -f, --foreground       stay in the foreground (default: daemonize)\n"
"      --syslog           log to syslog (default when daemonized)\n"
"      --log-level LEVEL  error, warning, info (default) or debug\n"
"  -h, --help             this text\n"
"  -V, --version          version\n";

struct hcd_cli {
	const char *region;
	const char *tsc;
	const char *owner;
	const char *group;
	const char *admin;
	bool enable_faults;
	bool foreground;
	bool syslog;
	enum hcd_log_level level;
	long pair_interval_ms;
	const char *metrics_dir;
	const char *metrics_name;
	long metrics_interval_s;
	struct hcd_agent_opts agent;
};

static int hcd_parse_long(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end || *v < lo || *v > hi ? -1 : 0;
}

static int hcd_parse_cli(int argc, char **argv, struct hcd_cli *cli)
{
	enum { O_TIME_TYPE = 256, O_FIT, O_PAIR, O_OWNER, O_GROUP, O_KVM, O_SYSLOG, O_LEVEL,
	       O_ADMIN, O_FAULTS, O_HOST_ERRORS, O_MAX_SLEW, O_METRICS_DIR, O_METRICS_INTERVAL,
	       O_METRICS_NAME, O_WATCH };
	static const struct option opts[] = {
		{ "region", required_argument, NULL, 'r' },
		{ "tsc", required_argument, NULL, 't' },
		{ "time-type", required_argument, NULL, O_TIME_TYPE },
		{ "interval", required_argument, NULL, 'i' },
		{ "fit-window", required_argument, NULL, O_FIT },
		{ "pair-interval", required_argument, NULL, O_PAIR },
		{ "watch", required_argument, NULL, O_WATCH },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "group", required_argument, NULL, O_GROUP },
		{ "kvm-debugfs", required_argument, NULL, O_KVM },
		{ "admin", required_argument, NULL, O_ADMIN },
		{ "enable-faults", no_argument, NULL, O_FAULTS },
		{ "host-errors", required_argument, NULL, O_HOST_ERRORS },
		{ "host-max-slew", required_argument, NULL, O_MAX_SLEW },
		{ "metrics-dir", required_argument, NULL, O_METRICS_DIR },
		{ "metrics-interval", required_argument, NULL, O_METRICS_INTERVAL },
		{ "metrics-name", required_argument, NULL, O_METRICS_NAME },
		{ "foreground", no_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, O_SYSLOG },
		{ "log-level", required_argument, NULL, O_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ }
	};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "r:t:i:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cli->region = optarg;
			break;
		case 't':
			cli->tsc = optarg;
			break;
		case O_TIME_TYPE:
			if (!strcmp(optarg, "utc"))
				cli->agent.time_type = VMCLOCK_TIME_UTC;
			else if (!strcmp(optarg, "tai"))
				cli->agent.time_type = VMCLOCK_TIME_TAI;
			else
				return fprintf(stderr, "hostclockd: --time-type is utc or tai\n"), -1;
			break;
		case 'i':
			if (hcd_parse_long(optarg, 10, 60000, &v))
				return fprintf(stderr, "hostclockd: --interval is 10..60000 ms\n"), -1;
			cli->agent.interval_ns = (u64)v * 1000000;
			break;
		case O_FIT:
			if (hcd_parse_long(optarg, 2, HCD_FIT_MAX, &v))
				return fprintf(stderr, "hostclockd: --fit-window is 2..%d\n", HCD_FIT_MAX), -1;
			cli->agent.fit_window = v;
			break;
		case O_PAIR:
			if (hcd_parse_long(optarg, 100, 3600000, &v))
				return fprintf(stderr, "hostclockd: --pair-interval is 100..3600000 ms\n"), -1;
			cli->pair_interval_ms = v;
			break;
		case O_WATCH:
			if (hcd_parse_long(optarg, HCD_WATCH_MIN_MS, HCD_WATCH_MAX_MS, &v))
				return fprintf(stderr, "hostclockd: --watch is %d..%d ms\n",
					       HCD_WATCH_MIN_MS, HCD_WATCH_MAX_MS), -1;
			cli->agent.watch_ns = (u64)v * 1000000;
			break;
		case O_OWNER:
			cli->owner = optarg;
			break;
		case O_GROUP:
			cli->group = optarg;
			break;
		case O_KVM:
			cli->agent.kvm_debugfs = optarg;
			break;
		case O_ADMIN:
			cli->admin = optarg;
			break;
		case O_FAULTS:
			cli->enable_faults = true;
			break;
		case O_HOST_ERRORS:
			if (!strcmp(optarg, "auto"))
				cli->agent.host_errors = HCD_HOST_ERRORS_AUTO;
			else if (!strcmp(optarg, "trust"))
				cli->agent.host_errors = HCD_HOST_ERRORS_TRUST;
			else if (!strcmp(optarg, "ignore"))
				cli->agent.host_errors = HCD_HOST_ERRORS_IGNORE;
			else
				return fprintf(stderr, "hostclockd: --host-errors is auto, trust or ignore\n"), -1;
			break;
		case O_MAX_SLEW:
			if (hcd_parse_long(optarg, 1, 200000, &v))
				return fprintf(stderr, "hostclockd: --host-max-slew is 1..200000 ppm\n"), -1;
			cli->agent.host_max_slew = v * 1e-6;
			break;
		case O_METRICS_DIR:
			if (!*optarg)
				return fprintf(stderr, "hostclockd: --metrics-dir needs a directory\n"), -1;
			cli->metrics_dir = optarg;
			break;
		case O_METRICS_INTERVAL:
			if (hcd_parse_long(optarg, 1, 3600, &v))
				return fprintf(stderr, "hostclockd: --metrics-interval is 1..3600 s\n"), -1;
			cli->metrics_interval_s = v;
			break;
		case O_METRICS_NAME:
			if (!*optarg || strlen(optarg) > HCD_METRICS_NAME_MAX)
				return fprintf(stderr, "hostclockd: --metrics-name is 1..%d bytes\n",
					       HCD_METRICS_NAME_MAX), -1;
			cli->metrics_name = optarg;
			break;
		case 'f':
			cli->foreground = true;
			break;
		case O_SYSLOG:
			cli->syslog = true;
			break;
		case O_LEVEL:
			if (hcd_log_level_parse(optarg, &cli->level))
				return fprintf(stderr, "hostclockd: --log-level is error, warning, info or debug\n"), -1;
			break;
		case 'h':
			fputs(hcd_usage, stdout);
			exit(0);
		case 'V':
			puts("hostclockd " HCD_VERSION);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind < argc)
		return fprintf(stderr, "hostclockd: unexpected argument '%s'\n", argv[optind]), -1;
	if (!cli->region)
		return fprintf(stderr, "hostclockd: --region PATH is required\n"), -1;
	return 0;
}

static int hcd_resolve_owner(const struct hcd_cli *cli, struct hcd_region_opts *ro,
			     uid_t *admin)
{
	ro->uid = (uid_t)-1;
	ro->gid = (gid_t)-1;
	*admin = (uid_t)-1;
	if (cli->admin) {
		struct passwd *pw = getpwnam(cli->admin);

		if (!pw)
			return fprintf(stderr, "hostclockd: no user '%s'\n", cli->admin), -1;
		*admin = pw->pw_uid;
	}
	if (cli->owner) {
		struct passwd *pw = getpwnam(cli->owner);

		if (!pw)
			return fprintf(stderr, "hostclockd: no user '%s'\n", cli->owner), -1;
		ro->uid = pw->pw_uid;
	}
	if (cli->group) {
		struct group *gr = getgrnam(cli->group);

		if (!gr)
			return fprintf(stderr, "hostclockd: no group '%s'\n", cli->group), -1;
		ro->gid = gr->gr_gid;
	}
	return 0;
}

/* A CLOCK_REALTIME timer whose read fails with ECANCELED when the clock is set. */
static int hcd_step_timer_arm(int fd)
{
	struct itimerspec its = { 0 };

	clock_gettime(CLOCK_REALTIME, &its.it_value);
	its.it_value.tv_sec += 86400;
	return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

enum { HCD_FD_TICK, HCD_FD_WATCH, HCD_FD_STEP, HCD_FD_SIGNAL, HCD_FD_FIXED };

struct hcd_loop {
	struct hcd_agent *agent;
	struct hcd_region *init_region;	/* hcd_agent_init()'s arguments */
	const struct hcd_agent_opts *init_opts;
	const struct hcd_tscmap *init_map;
	struct hcd_control *control;
	struct hcd_metrics *metrics;
	struct pollfd fds[HCD_FD_FIXED + HCD_CTL_POLLFDS];
	int nfds;
	int polled;		/* poll()'s result */
	u64 region_checked_ns;	/* CLOCK_MONOTONIC of the last look at the file */
	bool stop;
	u64 last_pair_ns;
	u64 pair_interval_ns;
	u64 retry_ns;		/* while unpaired; doubles while unanswered */
	u64 bursts_at_request;
	u64 unsolicited_at_request;
	u64 overwrites_seen;	/* adoptions hcd_adopted() has followed */
	u64 adopted_ns;		/* CLOCK_MONOTONIC of the last adoption, 0: none */
	u64 eager_until_ns;	/* hcd_pairing_eager() until then, */
	u64 eager_bursts;	/* while no burst was served since */
	u64 eager_adoptions;	/* adoptions in this sequence */
	bool quick_last;	/* the last request was a quick one */
	bool quick_ignored;	/* ... and lapsed unanswered: no more */
	char kvm_err[512];
	struct hcd_ratelimit pair_log;
	struct hcd_ratelimit region_log;
};

/*
 * Time for a pairing request? Once a second while nothing is known, backing
 * off to the pairing interval while the guest does not answer (no driver
 * loaded yet), since an outstanding request costs a poll every millisecond.
 * After first contact or a jump, bursts come at 1, 2, 4, ... s so that the
 * TSC ratio is fitted early, then at the pairing interval.
 */
/*
 * After an adoption a guest is on its way (a migration or restore copied
 * its region here; the VM is paused until the copy is complete): keep a
 * request up, asked again as soon as one lapses, so that the guest answers
 * at its first poll after resuming. Until the first burst is served, for
 * at most HCD_ADOPT_EAGER_NS after the last adoption. A sequence of
 * adoptions starts HCD_ADOPT_QUIET_NS after the one before; within it only
 * the first HCD_ADOPT_EAGER_MAX adoptions extend the window: a migration's
 * copy is adopted once or a few times (once in the live-migration
 * scenario), while a guest that scribbles on its region is adopted at every
 * look, each millisecond while a request is up, and gets no more than the
 * normal pace after a few milliseconds. An outstanding request costs a
 * poll every millisecond (2 to 4 % of a core here while it lasts), so one
 * scribble a minute followed by silence costs at most HCD_ADOPT_EAGER_NS of
 * it a minute.
 */
#define HCD_ADOPT_EAGER_NS	(10ULL * 1000 * 1000 * 1000)
#define HCD_ADOPT_QUIET_NS	(60ULL * 1000 * 1000 * 1000)
#define HCD_ADOPT_EAGER_MAX	16
#define HCD_ADOPT_LATE_RETRY_NS	(4ULL * 1000 * 1000 * 1000)

static bool hcd_pairing_eager(const struct hcd_agent *a, const struct hcd_loop *l, u64 now)
{
	return now < l->eager_until_ns && !a->map.valid &&
	       a->pair.stats.bursts == l->eager_bursts;
}

static void hcd_maybe_request_pairing(struct hcd_agent *a, struct hcd_loop *l)
{
	u64 now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
	u64 second = (u64)HCD_PAIR_RETRY_MS * 1000000;
	u64 every = l->retry_ns;
	bool answered, quick = false;

	if (a->pair.outstanding)
		return;
	if (hcd_pairing_eager(a, l, now)) {
		l->quick_last = false;
		hcd_pairing_request(&a->pair);
		l->last_pair_ns = now;
		l->bursts_at_request = a->pair.stats.bursts;
		l->unsolicited_at_request = a->pair.stats.unsolicited;
		return;
	}
	/*
	 * A guest that started exchanges while nothing was asked (a driver
	 * loaded meanwhile, answering a lapsed request) and was served no
	 * burst since: ask again within a second, not after the backoff.
	 */
	if (a->pair.stats.unsolicited != l->unsolicited_at_request &&
	    a->pair.stats.bursts == l->bursts_at_request && every > second &&
	    !l->quick_ignored) {
		every = second;
		quick = true;
	}
	if (a->map.valid) {
		every = l->pair_interval_ns;
		if (a->pair.npoints && a->pair.npoints < HCD_PAIR_HISTORY &&
		    (second << (a->pair.npoints - 1)) < every)
			every = second << (a->pair.npoints - 1);
	}
	if (l->last_pair_ns && now - l->last_pair_ns < every)
		return;
	/*
	 * Decided once per request: was the previous one answered? A slow
	 * guest (TCG on a busy host) answers with round trips too long to use
	 * and must be asked again soon; what a guest answering with nonsense
	 * costs is bounded per request instead (pairing.c).
	 */
	answered = a->pair.stats.bursts != l->bursts_at_request;
	if (l->last_pair_ns && !answered)
		l->retry_ns = l->retry_ns * 2 < l->pair_interval_ns ?
			      l->retry_ns * 2 : l->pair_interval_ns;
	else
		l->retry_ns = second;
	/*
	 * A guest that wrote unasked but let the quick request this brought
	 * lapse gets no quick request again until it answers one: else it
	 * could keep a request up half of every second, writing only while
	 * none is.
	 */
	l->quick_ignored = answered ? false : l->quick_ignored || l->quick_last;
	l->quick_last = quick;
	hcd_pairing_request(&a->pair);
	l->last_pair_ns = now;
	l->bursts_at_request = a->pair.stats.bursts;
	l->unsolicited_at_request = a->pair.stats.unsolicited;
}

/*
 * After an adoption the guest is new to this agent: requests go at the
 * first-contact pace again, and one that hcd_pairing_adopt() made counts as
 * the loop's own. Past the first HCD_ADOPT_EAGER_MAX adoptions of a
 * sequence an adoption only brings the backoff down to
 * HCD_ADOPT_LATE_RETRY_NS: a guest writing its region once a second would
 * otherwise be asked each second, while a long pre-copy migration, whose
 * copy may be adopted more often than that, is still asked within a few
 * seconds of resuming.
 */
static void hcd_adopted(struct hcd_agent *a, struct hcd_loop *l)
{
	u64 now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);

	if (!l->adopted_ns || now - l->adopted_ns >= HCD_ADOPT_QUIET_NS) {
		l->eager_adoptions = 0;
		l->eager_bursts = a->pair.stats.bursts;
	}
	l->eager_adoptions += a->overwrites - l->overwrites_seen;
	l->eager_until_ns = l->eager_adoptions <= HCD_ADOPT_EAGER_MAX ?
			    now + HCD_ADOPT_EAGER_NS : 0;
	l->overwrites_seen = a->overwrites;
	l->adopted_ns = now;
	if (l->eager_adoptions <= HCD_ADOPT_EAGER_MAX) {
		l->retry_ns = (u64)HCD_PAIR_RETRY_MS * 1000000;
		/*
		 * A quick request the paused VM could not answer (QEMU's
		 * copy of the guest's half looks like an exchange started
		 * unasked) is no sign of a guest that ignores them.
		 */
		l->quick_last = false;
		l->quick_ignored = false;
	} else if (l->retry_ns > HCD_ADOPT_LATE_RETRY_NS) {
		l->retry_ns = HCD_ADOPT_LATE_RETRY_NS;
	}
	if (a->pair.outstanding) {
		l->last_pair_ns = a->pair.requested_ns;
		l->bursts_at_request = a->pair.stats.bursts;
		l->unsolicited_at_request = a->pair.stats.unsolicited;
	}
}

static void hcd_refresh_kvm(struct hcd_agent *a, struct hcd_loop *l)
{
	char why[512];
	int err = hcd_kvm_read(a->opts.kvm_debugfs, a->opts.kvm_pid, a->opts.kvm_pidfd,
			       &a->map, why, sizeof(why));

	if (err == HCD_KVM_GONE) {
		/* its PID may go to another VM's QEMU: never read that one */
		hcd_info("kvm: %s; this agent served only that process: stopping", why);
		l->stop = true;
		return;
	}
	if (err) {
		if (strcmp(why, l->kvm_err))
			hcd_warn("kvm: %s; keeping the last mapping", why);
		snprintf(l->kvm_err, sizeof(l->kvm_err), "%s", why);
		return;
	}
	l->kvm_err[0] = '\0';
}

/*
 * One wake-up's work. Run under hcd_region_guard(): it may be abandoned at
 * any access to the region, so it keeps nothing half-done that matters
 * beyond the region itself.
 */
static int hcd_wake(void *arg)
{
	struct hcd_loop *l = arg;
	struct hcd_agent *a = l->agent;
	struct signalfd_siginfo si;
	u64 ticks, now;

	/* before the mailbox is served: it may hold the source's exchanges */
	hcd_agent_check_overwrite(a);
	if (a->map.mode == HOSTCLOCK_TSC_PAIRING &&
	    hcd_pairing_poll(&a->pair, &a->map) > 0 &&
	    a->map.generation != a->map_generation_seen) {
		now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
		if (hcd_ratelimit(&l->pair_log, now, 60ULL * NSEC_PER_SEC))
			hcd_info("pairing: guest TSC - host TSC = %lld +- %llu ticks",
				 (long long)a->map.offset,
				 (unsigned long long)a->map.uncertainty);
		hcd_agent_update(a);
	}
	/*
	 * A guest answering a request that lapsed (a driver loaded while the
	 * agent backed off, a VM resumed after a migration): asked again as
	 * soon as a second has passed since the last request, not only at the
	 * next tick, so that it pairs at its next poll. Just after an
	 * adoption, at once (hcd_pairing_eager()).
	 */
	if (a->map.mode == HOSTCLOCK_TSC_PAIRING &&
	    ((a->pair.stats.unsolicited != l->unsolicited_at_request &&
	      a->pair.stats.bursts == l->bursts_at_request) ||
	     hcd_pairing_eager(a, l, (u64)hcd_clock_ns(CLOCK_MONOTONIC))))
		hcd_maybe_request_pairing(a, l);
	if (l->polled <= 0)
		return 0;

	if (l->fds[HCD_FD_SIGNAL].revents & POLLIN &&
	    read(l->fds[HCD_FD_SIGNAL].fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			hcd_info("SIGHUP: updating now");
			hcd_agent_update(a);
		} else {
			hcd_info("signal %u: stopping", si.ssi_signo);
			l->stop = true;
			return 0;
		}
	}
	if (l->fds[HCD_FD_STEP].revents & POLLIN) {
		if (read(l->fds[HCD_FD_STEP].fd, &ticks, sizeof(ticks)) < 0 &&
		    errno == ECANCELED) {
			hcd_info("host clock was set: refitting and updating now");
			hcd_agent_host_stepped(a);
			hcd_agent_update(a);
		}
		hcd_step_timer_arm(l->fds[HCD_FD_STEP].fd);
	}
	if (l->fds[HCD_FD_WATCH].revents & POLLIN &&
	    read(l->fds[HCD_FD_WATCH].fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		hcd_agent_watch(a);
	if (l->fds[HCD_FD_TICK].revents & POLLIN &&
	    read(l->fds[HCD_FD_TICK].fd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
		if (a->map.mode == HOSTCLOCK_TSC_KVM) {
			hcd_refresh_kvm(a, l);
			if (l->stop)
				return 0;
		}
		if (a->map.mode == HOSTCLOCK_TSC_PAIRING)
			hcd_maybe_request_pairing(a, l);
		hcd_agent_update(a);
	}
	hcd_control_serve(l->control, a, l->fds + HCD_FD_FIXED, l->nfds - HCD_FD_FIXED);
	return 0;
}

static int hcd_first_update(void *arg)
{
	struct hcd_loop *l = arg;

	if (l->agent->map.mode == HOSTCLOCK_TSC_PAIRING)
		hcd_maybe_request_pairing(l->agent, l);
	return hcd_agent_update(l->agent);
}

static int hcd_republish(void *arg)
{
	hcd_agent_region_restored(arg);
	return 0;
}

/*
 * After a wake-up: is the region still whole and still the file at its
 * path? A resized one is restored and republished; a replaced one ends the
 * run, so that a restart serves the file now at the path.
 */
static int hcd_check_region(struct hcd_loop *l)
{
	struct hcd_region *r = l->agent->region;
	char why[512];
	u64 now;

	switch (hcd_region_check(r, why, sizeof(why))) {
	case HCD_REGION_OK:
		return 0;
	case HCD_REGION_RESIZED:
		now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
		if (hcd_ratelimit(&l->region_log, now, 10ULL * NSEC_PER_SEC))
			hcd_warn("region %s (%llu times so far)", why,
				 (unsigned long long)r->resizes);
		hcd_region_guard(r, hcd_republish, l->agent);
		return 0;
	default:
		hcd_err("region %s; exiting so that a restart serves the file at that path", why);
		return -1;
	}
}

/* The file at a watch 100 ms or more after the last look, at once after a fault. */
static bool hcd_region_check_due(struct hcd_loop *l)
{
	u64 now;

	if (l->agent->region->bus_faults)
		return true;
	if (l->polled <= 0 || !(l->fds[HCD_FD_WATCH].revents & POLLIN))
		return false;
	now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
	/* a tenth early: a watch that comes a little before 100 ms counts */
	if (l->region_checked_ns &&
	    now - l->region_checked_ns < HCD_REGION_CHECK_NS - HCD_REGION_CHECK_NS / 10)
		return false;
	l->region_checked_ns = now;
	return true;
}

static int hcd_run(struct hcd_agent *a, struct hcd_loop *l)
{
	for (;;) {
		int timeout = a->pair.outstanding ? 1 : -1;

		l->nfds = HCD_FD_FIXED + hcd_control_pollfds(l->control, l->fds + HCD_FD_FIXED,
							     HCD_CTL_POLLFDS);
		l->polled = poll(l->fds, l->nfds, timeout);
		if (l->polled < 0 && errno != EINTR)
			return hcd_err("poll: %s", strerror(errno)), -1;
		hcd_region_guard(a->region, hcd_wake, l);
		if (l->stop)
			return 0;
		if (a->overwrites != l->overwrites_seen)
			hcd_adopted(a, l);
		/* outside the guard: it reads the agent's state, never the region */
		if (l->polled > 0 && l->fds[HCD_FD_WATCH].revents & POLLIN)
			hcd_metrics_tick(l->metrics, a);
		if (hcd_region_check_due(l) && hcd_check_region(l))
			return -1;
	}
}

static int hcd_setup_fds(struct hcd_loop *l, const struct hcd_agent *a)
{
	struct itimerspec tick = { 0 }, watch = { 0 };
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);

	tick.it_value.tv_sec = a->opts.interval_ns / NSEC_PER_SEC;
	tick.it_value.tv_nsec = a->opts.interval_ns % NSEC_PER_SEC;
	tick.it_interval = tick.it_value;
	watch.it_value.tv_sec = a->opts.watch_ns / NSEC_PER_SEC;
	watch.it_value.tv_nsec = a->opts.watch_ns % NSEC_PER_SEC;
	watch.it_interval = watch.it_value;

	l->fds[HCD_FD_TICK].fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	l->fds[HCD_FD_WATCH].fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	l->fds[HCD_FD_STEP].fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	l->fds[HCD_FD_SIGNAL].fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (l->fds[HCD_FD_TICK].fd < 0 || l->fds[HCD_FD_STEP].fd < 0 ||
	    l->fds[HCD_FD_WATCH].fd < 0 || l->fds[HCD_FD_SIGNAL].fd < 0 ||
	    timerfd_settime(l->fds[HCD_FD_TICK].fd, 0, &tick, NULL) ||
	    timerfd_settime(l->fds[HCD_FD_WATCH].fd, 0, &watch, NULL) ||
	    hcd_step_timer_arm(l->fds[HCD_FD_STEP].fd))
		return hcd_err("timers: %s", strerror(errno)), -1;
	for (int i = 0; i < HCD_FD_FIXED; i++)
		l->fds[i].events = POLLIN;
	return 0;
}

/* Signals are taken through signalfd; blocked from the start, so that a
 * SIGHUP during start-up does not kill the agent. */
static void hcd_block_signals(void)
{
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int hcd_init_agent(void *arg)
{
	struct hcd_loop *l = arg;

	return hcd_agent_init(l->agent, l->init_region, l->init_opts, l->init_map);
}

static int hcd_stop_agent(void *arg)
{
	hcd_agent_stop(arg);
	return 0;
}

int main(int argc, char **argv)
{
	struct hcd_cli cli = {
		.tsc = "pairing",
		.level = HCD_LOG_INFO,
		.pair_interval_ms = 16000,
		.metrics_interval_s = 15,
		.agent = {
			.time_type = VMCLOCK_TIME_UTC,
			.interval_ns = 1000000000ULL,
			.fit_window = 16,
			.kvm_debugfs = "/sys/kernel/debug/kvm",
			.kvm_pidfd = -1,
			.host_errors = HCD_HOST_ERRORS_AUTO,
			.proc_root = "/proc",
		},
	};
	struct hcd_region_opts ro = { .mode = 0600 };
	static struct hcd_agent agent;
	static struct hcd_control control;
	static struct hcd_metrics metrics = { .dir_fd = -1, .lock_fd = -1 };
	struct hcd_loop loop = { .agent = &agent, .control = &control, .metrics = &metrics };
	struct hcd_region region;
	struct hcd_tscmap map;
	char why[512];
	uid_t admin;
	pid_t kvm_pid;
	int ret;

	if (hcd_parse_cli(argc, argv, &cli)) {
		fputs("Try 'hostclockd --help'.\n", stderr);
		return 1;
	}
	hcd_block_signals();
	hcd_log_setup(cli.level, cli.syslog);
	if (hcd_tscmap_parse(cli.tsc, &map, &kvm_pid, why, sizeof(why)))
		return fprintf(stderr, "hostclockd: %s\n", why), 1;
	cli.agent.kvm_pid = kvm_pid;
	if (map.mode == HOSTCLOCK_TSC_KVM) {
		/* bound to this process, not to a number another one may reuse */
		cli.agent.kvm_pidfd = hcd_pidfd_open(kvm_pid);
		if (cli.agent.kvm_pidfd < 0)
			return fprintf(stderr, "hostclockd: kvm: process %d: %s\n",
				       (int)kvm_pid, strerror(errno)), 1;
		if (hcd_kvm_read(cli.agent.kvm_debugfs, kvm_pid, cli.agent.kvm_pidfd, &map,
				 why, sizeof(why)))
			return fprintf(stderr, "hostclockd: kvm: %s\n", why), 1;
	}
	if (hcd_resolve_owner(&cli, &ro, &admin))
		return 1;
	ro.path = cli.region;
	if (hcd_region_open(&ro, &region, why, sizeof(why)))
		return fprintf(stderr, "hostclockd: region %s\n", why), 1;
	/* the sockets before anything is published: a failure leaves no page */
	if (hcd_control_open(&control, &region, admin, cli.enable_faults, why, sizeof(why))) {
		fprintf(stderr, "hostclockd: control socket %s\n", why);
		if (region.created)
			unlinkat(region.dir_fd, region.name, 0);
		hcd_region_close(&region);
		return 1;
	}

	if (cli.metrics_dir &&
	    hcd_metrics_open(&metrics, cli.metrics_dir,
			     cli.metrics_name ? cli.metrics_name : region.name,
			     (u64)cli.metrics_interval_s * NSEC_PER_SEC, why, sizeof(why))) {
		fprintf(stderr, "hostclockd: --metrics-dir %s\n", why);
		hcd_control_close(&control);
		if (region.created)
			unlinkat(region.dir_fd, region.name, 0);
		hcd_region_close(&region);
		return 1;
	}

	/* every path is resolved already: daemon()'s chdir("/") changes nothing */
	if (!cli.foreground) {
		if (daemon(0, 0))
			return fprintf(stderr, "hostclockd: daemon: %s\n", strerror(errno)), 1;
		hcd_log_setup(cli.level, true);
	}

	/* after daemon(): its fork() would leave the thread behind */
	ret = hcd_metrics_start(&metrics);
	if (ret) {
		hcd_err("metrics: cannot start the writer thread: %s", strerror(-ret));
		hcd_metrics_close(&metrics);
		hcd_control_close(&control);
		hcd_region_close(&region);
		return 1;
	}

	loop.init_region = &region;
	loop.init_opts = &cli.agent;
	loop.init_map = &map;
	if (hcd_region_guard(&region, hcd_init_agent, &loop) ||
	    hcd_setup_fds(&loop, &agent)) {
		hcd_err("region %s: could not set up the agent", cli.region);
		hcd_metrics_close(&metrics);
		hcd_control_close(&control);
		hcd_region_close(&region);
		return 1;
	}
	loop.pair_interval_ns = (u64)cli.pair_interval_ms * 1000000;
	hcd_info("publishing on %s (%s region), TSC mapping %s, every %llu ms, watch %llu ms, control %s.ctl%s",
		 cli.region, region.created ? "new" : "existing", cli.tsc,
		 (unsigned long long)(agent.opts.interval_ns / 1000000),
		 (unsigned long long)(agent.opts.watch_ns / 1000000), cli.region,
		 cli.enable_faults ? ", fault injection enabled" : "");
	if (cli.metrics_dir)
		hcd_info("metrics: %s/%s every %ld s", cli.metrics_dir, metrics.file,
			 cli.metrics_interval_s);
	hcd_region_guard(&region, hcd_first_update, &loop);

	ret = hcd_run(&agent, &loop);
	hcd_region_guard(&region, hcd_stop_agent, &agent);
	hcd_metrics_close(&metrics);
	hcd_control_close(&control);
	hcd_region_close(&region);
	hcd_info("stopped");
	return ret ? 1 : 0;
}
