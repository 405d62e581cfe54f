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

#define HCD_VERSION		"0.1.0"
#define HCD_PAIR_RETRY_MS	1000	/* while no mapping is known */

static const char hcd_usage[] =
"usage: hostclockd --region PATH [options]\n"
"\n"
"Publish this host's clock to a VM through a hostclock region (page 0 a\n"
"VMClock page, page 1 hostclock's extension), for QEMU to map as\n"
"ivshmem-plain BAR 2.\n"
"\n"
"  -r, --region PATH      the 8 KiB region file; created 0600 if missing\n"
"  -c, --control PATH     control socket (default: PATH.ctl)\n"
"  -t, --tsc MODE         guest TSC mapping: pairing (default), kvm:PID,\n"
"                         offset:N (guest - host ticks), identity\n"
"      --time-type TYPE   utc (default) or tai\n"
"  -i, --interval MS      update interval, default 1000\n"
"      --fit-window N     samples in the period fit, 2..64, default 16\n"
"      --pair-interval MS how often to re-pair once paired, default 16000\n"
"      --owner USER       owner of a region QEMU runs as another user to open\n"
"      --group GROUP      group of the region\n"
"      --kvm-debugfs DIR  KVM's debugfs directory (default /sys/kernel/debug/kvm)\n"
"  -f, --foreground       stay in the foreground (default: daemonize)\n"
"      --syslog           log to syslog (default when daemonized)\n"
"      --log-level LEVEL  error, warning, info (default) or debug\n"
"  -h, --help             this text\n"
"  -V, --version          version\n";

struct hcd_cli {
	const char *region;
	const char *control;
	const char *tsc;
	const char *owner;
	const char *group;
	bool foreground;
	bool syslog;
	enum hcd_log_level level;
	long pair_interval_ms;
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
	enum { O_TIME_TYPE = 256, O_FIT, O_PAIR, O_OWNER, O_GROUP, O_KVM, O_SYSLOG, O_LEVEL };
	static const struct option opts[] = {
		{ "region", required_argument, NULL, 'r' },
		{ "control", required_argument, NULL, 'c' },
		{ "tsc", required_argument, NULL, 't' },
		{ "time-type", required_argument, NULL, O_TIME_TYPE },
		{ "interval", required_argument, NULL, 'i' },
		{ "fit-window", required_argument, NULL, O_FIT },
		{ "pair-interval", required_argument, NULL, O_PAIR },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "group", required_argument, NULL, O_GROUP },
		{ "kvm-debugfs", required_argument, NULL, O_KVM },
		{ "foreground", no_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, O_SYSLOG },
		{ "log-level", required_argument, NULL, O_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ }
	};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "r:c:t:i:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			cli->region = optarg;
			break;
		case 'c':
			cli->control = optarg;
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
		case O_OWNER:
			cli->owner = optarg;
			break;
		case O_GROUP:
			cli->group = optarg;
			break;
		case O_KVM:
			cli->agent.kvm_debugfs = optarg;
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

static int hcd_resolve_owner(const struct hcd_cli *cli, struct hcd_region_opts *ro)
{
	ro->uid = (uid_t)-1;
	ro->gid = (gid_t)-1;
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

enum { HCD_FD_TICK, HCD_FD_STEP, HCD_FD_SIGNAL, HCD_FD_CONTROL, HCD_FD_COUNT };

struct hcd_loop {
	struct pollfd fds[HCD_FD_COUNT];
	u64 last_pair_ns;
	u64 pair_interval_ns;
	u64 retry_ns;		/* while unpaired; doubles while unanswered */
	u64 bursts_at_request;
};

/*
 * Time for a pairing request? Once a second while nothing is known, backing
 * off to the pairing interval while the guest does not answer (no driver
 * loaded yet), since an outstanding request costs a poll every millisecond.
 * After first contact or a jump, bursts come at 1, 2, 4, ... s so that the
 * TSC ratio is fitted early, then at the pairing interval.
 */
static void hcd_maybe_request_pairing(struct hcd_agent *a, struct hcd_loop *l)
{
	u64 now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
	u64 second = (u64)HCD_PAIR_RETRY_MS * 1000000;
	u64 every = l->retry_ns;

	if (a->pair.outstanding)
		return;
	if (a->map.valid) {
		every = l->pair_interval_ns;
		if (a->pair.npoints && a->pair.npoints < HCD_PAIR_HISTORY &&
		    (second << (a->pair.npoints - 1)) < every)
			every = second << (a->pair.npoints - 1);
	}
	if (l->last_pair_ns && now - l->last_pair_ns < every)
		return;
	/* decided once per request: was the previous one answered? */
	if (l->last_pair_ns && a->pair.stats.bursts == l->bursts_at_request)
		l->retry_ns = l->retry_ns * 2 < l->pair_interval_ns ?
			      l->retry_ns * 2 : l->pair_interval_ns;
	else
		l->retry_ns = second;
	hcd_pairing_request(&a->pair);
	l->last_pair_ns = now;
	l->bursts_at_request = a->pair.stats.bursts;
}

static void hcd_refresh_kvm(struct hcd_agent *a, char *last_err, size_t len)
{
	char why[512];

	if (hcd_kvm_read(a->opts.kvm_debugfs, a->opts.kvm_pid, &a->map, why, sizeof(why))) {
		if (strcmp(why, last_err))
			hcd_warn("kvm: %s; keeping the last mapping", why);
		snprintf(last_err, len, "%s", why);
		return;
	}
	last_err[0] = '\0';
}

static int hcd_run(struct hcd_agent *a, struct hcd_loop *l)
{
	char kvm_err[512] = "";
	struct signalfd_siginfo si;
	u64 ticks;

	for (;;) {
		int timeout = a->pair.outstanding ? 1 : -1;
		int n = poll(l->fds, HCD_FD_COUNT, timeout);

		if (n < 0 && errno != EINTR)
			return hcd_err("poll: %s", strerror(errno)), -1;

		if (a->map.mode == HOSTCLOCK_TSC_PAIRING &&
		    hcd_pairing_poll(&a->pair, &a->map) > 0 &&
		    a->map.generation != a->map_generation_seen) {
			hcd_info("pairing: guest TSC - host TSC = %lld +- %llu ticks",
				 (long long)a->map.offset,
				 (unsigned long long)a->map.uncertainty);
			hcd_agent_update(a);
		}
		if (n <= 0)
			continue;

		if (l->fds[HCD_FD_SIGNAL].revents & POLLIN &&
		    read(l->fds[HCD_FD_SIGNAL].fd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				hcd_info("SIGHUP: updating now");
				hcd_agent_update(a);
			} else {
				hcd_info("signal %u: stopping", si.ssi_signo);
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
		if (l->fds[HCD_FD_TICK].revents & POLLIN &&
		    read(l->fds[HCD_FD_TICK].fd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
			if (a->map.mode == HOSTCLOCK_TSC_KVM)
				hcd_refresh_kvm(a, kvm_err, sizeof(kvm_err));
			if (a->map.mode == HOSTCLOCK_TSC_PAIRING)
				hcd_maybe_request_pairing(a, l);
			hcd_agent_update(a);
		}
		if (l->fds[HCD_FD_CONTROL].revents & POLLIN)
			hcd_control_serve(a, l->fds[HCD_FD_CONTROL].fd);
	}
}

static int hcd_setup_fds(struct hcd_loop *l, const struct hcd_agent *a,
			 const char *control)
{
	struct itimerspec tick = { 0 };
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	tick.it_value.tv_sec = a->opts.interval_ns / NSEC_PER_SEC;
	tick.it_value.tv_nsec = a->opts.interval_ns % NSEC_PER_SEC;
	tick.it_interval = tick.it_value;

	l->fds[HCD_FD_TICK].fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	l->fds[HCD_FD_STEP].fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
	l->fds[HCD_FD_SIGNAL].fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	l->fds[HCD_FD_CONTROL].fd = hcd_control_listen(control);
	if (l->fds[HCD_FD_CONTROL].fd < 0)
		return hcd_err("control socket %s: %s", control, strerror(errno)), -1;
	if (l->fds[HCD_FD_TICK].fd < 0 || l->fds[HCD_FD_STEP].fd < 0 ||
	    l->fds[HCD_FD_SIGNAL].fd < 0 ||
	    timerfd_settime(l->fds[HCD_FD_TICK].fd, 0, &tick, NULL) ||
	    hcd_step_timer_arm(l->fds[HCD_FD_STEP].fd))
		return hcd_err("timers: %s", strerror(errno)), -1;
	for (int i = 0; i < HCD_FD_COUNT; i++)
		l->fds[i].events = POLLIN;
	return 0;
}

int main(int argc, char **argv)
{
	struct hcd_cli cli = {
		.tsc = "pairing",
		.level = HCD_LOG_INFO,
		.pair_interval_ms = 16000,
		.agent = {
			.time_type = VMCLOCK_TIME_UTC,
			.interval_ns = 1000000000ULL,
			.fit_window = 16,
			.kvm_debugfs = "/sys/kernel/debug/kvm",
		},
	};
	struct hcd_region_opts ro = { .mode = 0600 };
	static struct hcd_agent agent;
	struct hcd_loop loop = { 0 };
	struct hcd_region region;
	struct hcd_tscmap map;
	char why[512], control[4096];
	pid_t kvm_pid;
	int ret;

	if (hcd_parse_cli(argc, argv, &cli)) {
		fputs("Try 'hostclockd --help'.\n", stderr);
		return 1;
	}
	hcd_log_setup(cli.level, cli.syslog);
	if (hcd_tscmap_parse(cli.tsc, &map, &kvm_pid, why, sizeof(why)))
		return fprintf(stderr, "hostclockd: %s\n", why), 1;
	cli.agent.kvm_pid = kvm_pid;
	if (map.mode == HOSTCLOCK_TSC_KVM &&
	    hcd_kvm_read(cli.agent.kvm_debugfs, kvm_pid, &map, why, sizeof(why)))
		return fprintf(stderr, "hostclockd: kvm: %s\n", why), 1;
	if (hcd_resolve_owner(&cli, &ro))
		return 1;
	ro.path = cli.region;
	if (hcd_region_open(&ro, &region, why, sizeof(why)))
		return fprintf(stderr, "hostclockd: region %s\n", why), 1;
	snprintf(control, sizeof(control), "%s", cli.control ? cli.control : cli.region);
	if (!cli.control)
		strncat(control, ".ctl", sizeof(control) - strlen(control) - 1);

	if (!cli.foreground) {
		if (daemon(0, 0))
			return fprintf(stderr, "hostclockd: daemon: %s\n", strerror(errno)), 1;
		hcd_log_setup(cli.level, true);
	}

	hcd_agent_init(&agent, &region, &cli.agent, &map);
	loop.pair_interval_ns = (u64)cli.pair_interval_ms * 1000000;
	if (hcd_setup_fds(&loop, &agent, control)) {
		hcd_region_close(&region);
		return 1;
	}
	hcd_info("publishing on %s (%s region), TSC mapping %s, every %llu ms, control %s",
		 cli.region, region.created ? "new" : "existing", cli.tsc,
		 (unsigned long long)(agent.opts.interval_ns / 1000000), control);
	if (map.mode == HOSTCLOCK_TSC_PAIRING)
		hcd_maybe_request_pairing(&agent, &loop);
	hcd_agent_update(&agent);

	ret = hcd_run(&agent, &loop);
	hcd_agent_stop(&agent);
	unlink(control);
	hcd_region_close(&region);
	hcd_info("stopped");
	return ret ? 1 : 0;
}
