// SPDX-License-Identifier: GPL-2.0
/*
 * hostclockd's parts in userspace: the region file's rules, what a published
 * page says against the host clock, the adjtimex mapping, and every fault
 * injection command's effect on the page.
 */
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hcd.h"
#include "hostclock_cases.h"

static void hc_region_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", hc_tmpdir(), name);
}

static bool hc_region_refused(const char *path, const char *expect_why, char *msg)
{
	struct hcd_region_opts ro = { .path = path, .uid = -1, .gid = -1 };
	struct hcd_region r;
	char why[256] = "";

	if (!hcd_region_open(&ro, &r, why, sizeof(why))) {
		hcd_region_close(&r);
		snprintf(msg, HC_MSG_LEN, "%s was accepted", path);
		return false;
	}
	snprintf(msg, HC_MSG_LEN, "why: %s", why);
	return strstr(why, expect_why) != NULL;
}

static void hc_test_region_rules(void)
{
	struct hcd_region_opts ro = { .uid = -1, .gid = -1 };
	char path[256], link[256], msg[HC_MSG_LEN] = "";
	struct hcd_region r;
	struct stat st;
	int fd;

	hc_region_path(path, sizeof(path), "region");
	ro.path = path;
	umask(0);	/* the agent must not depend on the umask for 0600 */
	hc_report("region", "created", !hcd_region_open(&ro, &r, msg, HC_MSG_LEN) &&
		  r.created, msg);
	hcd_region_close(&r);
	umask(022);
	stat(path, &st);
	snprintf(msg, sizeof(msg), "mode %04o size %lld", st.st_mode & 07777,
		 (long long)st.st_size);
	hc_report("region", "new file is 0600 and 8 KiB",
		  (st.st_mode & 07777) == 0600 && st.st_size == HOSTCLOCK_REGION_SIZE, msg);
	hc_report("region", "reopened, not recreated",
		  !hcd_region_open(&ro, &r, msg, HC_MSG_LEN) && !r.created, msg);
	hcd_region_close(&r);

	hc_region_path(link, sizeof(link), "link");
	symlink(path, link);
	hc_report("region", "symlink refused", hc_region_refused(link, "symlink", msg), msg);

	chmod(path, 0646);
	hc_report("region", "world-writable refused",
		  hc_region_refused(path, "world-writable", msg), msg);
	chmod(path, 0600);

	hc_region_path(path, sizeof(path), "small");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ftruncate(fd, 4096);
	close(fd);
	hc_report("region", "wrong size refused", hc_region_refused(path, "size 4096", msg), msg);

	hc_report("region", "directory refused",
		  hc_region_refused(hc_tmpdir(), "directory", msg), msg);
	hc_region_path(path, sizeof(path), "fifo");
	mkfifo(path, 0600);
	hc_report("region", "fifo refused", hc_region_refused(path, "not a regular file", msg),
		  msg);
}


/*
 * Issue 13, items 1, 4 and 5: where a region may live and which existing
 * file is accepted. Every directory on the path must belong to root (or the
 * agent) and be writable by nobody else; a symlink anywhere is refused; an
 * existing file must be exactly what the agent would have made; one agent
 * per region.
 */
static void hc_test_region_paths(void)
{
	char dir[256], path[400], victim[400], msg[HC_MSG_LEN] = "";
	struct hcd_region_opts ro = { .uid = -1, .gid = -1 };
	struct hcd_region r, r2;
	struct passwd *nobody = getpwnam("nobody");
	int fd;

	snprintf(dir, sizeof(dir), "%s/shared", hc_tmpdir());
	mkdir(dir, 01777);
	chmod(dir, 01777);
	snprintf(path, sizeof(path), "%s/vm", dir);
	hc_report("paths", "a region in a world-writable directory is refused",
		  hc_region_refused(path, "writable by everyone", msg), msg);

	snprintf(dir, sizeof(dir), "%s/usersdir", hc_tmpdir());
	mkdir(dir, 0755);
	if (nobody)
		chown(dir, nobody->pw_uid, nobody->pw_gid);
	snprintf(path, sizeof(path), "%s/vm", dir);
	hc_report("paths", "a directory another user owns is refused",
		  nobody && hc_region_refused(path, "owned by uid", msg), msg);

	/* a symlinked directory component, to a file the agent must not touch */
	snprintf(dir, sizeof(dir), "%s/private", hc_tmpdir());
	mkdir(dir, 0700);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	fd = open(victim, O_CREAT | O_RDWR, 0600);
	ftruncate(fd, HOSTCLOCK_REGION_SIZE);
	close(fd);
	snprintf(path, sizeof(path), "%s/vms", hc_tmpdir());
	symlink(dir, path);
	snprintf(path, sizeof(path), "%s/vms/victim", hc_tmpdir());
	hc_report("paths", "a symlink in a directory component is refused",
		  hc_region_refused(path, "symlinks are refused anywhere", msg), msg);
	snprintf(path, sizeof(path), "%s/x", hc_tmpdir());
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/x/../region", hc_tmpdir());
	hc_report("paths", "'..' in the path is refused", hc_region_refused(path, "'..'", msg),
		  msg);

	/* a file the agent did not make: another owner, or a second link */
	hc_region_path(path, sizeof(path), "foreign");
	fd = open(path, O_CREAT | O_RDWR, 0600);
	ftruncate(fd, HOSTCLOCK_REGION_SIZE);
	close(fd);
	if (nobody)
		chown(path, nobody->pw_uid, nobody->pw_gid);
	hc_report("paths", "an existing file of another owner is refused",
		  nobody && hc_region_refused(path, "not a region this agent made", msg), msg);
	hc_region_path(path, sizeof(path), "linked");
	fd = open(path, O_CREAT | O_RDWR, 0600);
	ftruncate(fd, HOSTCLOCK_REGION_SIZE);
	close(fd);
	snprintf(victim, sizeof(victim), "%s/linked2", hc_tmpdir());
	link(path, victim);
	hc_report("paths", "an existing file with two links is refused",
		  hc_region_refused(path, "links 2", msg), msg);
	hc_region_path(path, sizeof(path), "g644");
	fd = open(path, O_CREAT | O_RDWR, 0644);
	fchmod(fd, 0644);
	ftruncate(fd, HOSTCLOCK_REGION_SIZE);
	close(fd);
	hc_report("paths", "an existing file of another mode is refused",
		  hc_region_refused(path, "mode 0644", msg), msg);

	hc_region_path(path, sizeof(path), "locked");
	ro.path = path;
	if (hcd_region_open(&ro, &r, msg, HC_MSG_LEN)) {
		hc_report("paths", "one agent per region", false, msg);
		return;
	}
	hc_report("paths", "a second agent on a region is refused",
		  hc_region_refused(path, "another hostclockd serves this region", msg), msg);
	hcd_region_close(&r);
	hc_report("paths", "the region is free again once the first has gone",
		  !hcd_region_open(&ro, &r2, msg, HC_MSG_LEN), msg);
	hcd_region_close(&r2);
}

static int hc_write_page0(void *arg)
{
	struct hcd_region *r = arg;

	WRITE_ONCE(r->page->magic, cpu_to_le32(VMCLOCK_MAGIC));
	return 7;
}

/*
 * Issue 13, item 2: the region shrunk under the agent (by whoever QEMU runs
 * as). Without the guard the write below is a SIGBUS that kills the test;
 * with it the agent sees a fault, restores the size and goes on.
 */
static void hc_test_region_shrink(void)
{
	struct hcd_region_opts ro = { .uid = -1, .gid = -1 };
	char path[256], other[300], msg[HC_MSG_LEN] = "";
	struct hcd_region r;
	struct stat st;
	int ret, check, fd;

	hc_region_path(path, sizeof(path), "shrink");
	ro.path = path;
	if (hcd_region_open(&ro, &r, msg, HC_MSG_LEN)) {
		hc_report("shrink", "region opens", false, msg);
		return;
	}
	truncate(path, 0);
	ret = hcd_region_guard(&r, hc_write_page0, &r);
	check = hcd_region_check(&r, msg, HC_MSG_LEN);
	stat(path, &st);
	hc_report("shrink", "a write to a truncated region faults, and is survived",
		  ret == -1 && check == HCD_REGION_RESIZED && st.st_size == HOSTCLOCK_REGION_SIZE,
		  msg);
	hc_report("shrink", "after the repair the region is written again",
		  hcd_region_guard(&r, hc_write_page0, &r) == 7 &&
		  hcd_region_check(&r, msg, HC_MSG_LEN) == HCD_REGION_OK, msg);
	truncate(path, 100);
	hc_report("shrink", "a shrink is noticed before any write",
		  hcd_region_check(&r, msg, HC_MSG_LEN) == HCD_REGION_RESIZED, msg);

	snprintf(other, sizeof(other), "%s.new", path);
	fd = open(other, O_CREAT | O_RDWR, 0600);
	close(fd);
	rename(other, path);
	hc_report("shrink", "a region replaced under the agent is noticed",
		  hcd_region_check(&r, msg, HC_MSG_LEN) == HCD_REGION_REPLACED &&
		  strstr(msg, "replaced"), msg);
	hcd_region_close(&r);
}

/* An agent on a fresh region, identity mapping, adjtimex faked as synced. */
static const struct hcd_timex hc_synced = {
	.state = TIME_OK, .status = STA_PLL, .maxerror_us = 200,
	.esterror_us = 10, .tai = 37, .tolerance_ppm = 500,
};

/*
 * The same with mapping @tsc; kvm:PID reads @kvm_debugfs, with no pidfd
 * (the PID is made up).
 */
static int hc_agent_start_as(struct hcd_agent *a, struct hcd_region *r, const char *name,
			     const char *tsc, const char *kvm_debugfs)
{
	struct hcd_region_opts ro = { .uid = -1, .gid = -1 };
	struct hcd_agent_opts opts = {
		.time_type = VMCLOCK_TIME_UTC, .interval_ns = 1000000000ULL,
		.fit_window = 16, .host_errors = HCD_HOST_ERRORS_TRUST,
		.kvm_debugfs = kvm_debugfs, .kvm_pidfd = -1,
	};
	struct hcd_tscmap map;
	char path[256], why[256];
	pid_t pid;

	hc_region_path(path, sizeof(path), name);
	ro.path = path;
	unlink(path);
	if (hcd_region_open(&ro, r, why, sizeof(why)) ||
	    hcd_tscmap_parse(tsc, &map, &pid, why, sizeof(why)))
		return -1;
	opts.kvm_pid = pid;
	if (map.mode == HOSTCLOCK_TSC_KVM &&
	    hcd_kvm_read(kvm_debugfs, pid, -1, &map, why, sizeof(why)))
		return -1;
	hcd_agent_init(a, r, &opts, &map);
	a->timex_override = &hc_synced;
	return hcd_agent_update(a);
}

static int hc_agent_start(struct hcd_agent *a, struct hcd_region *r, const char *name)
{
	return hc_agent_start_as(a, r, name, "identity", NULL);
}

/* |page time at a TSC read - host time at that read|, bracketed by clock reads */
static bool hc_page_vs_host(const struct vmclock_abi *page, s64 *worst_ns, char *msg)
{
	struct hostclock_clock clk;
	struct hostclock_time t;
	s64 before, after, at;
	u64 tsc;
	int err;

	err = hostclock_page_snapshot(page, &clk, 1000, NULL);
	if (!err)
		err = hostclock_clock_validate(&clk, HOSTCLOCK_REGION_SIZE);
	if (err) {
		snprintf(msg, HC_MSG_LEN, "page invalid: %s", hostclock_err_name(err));
		return false;
	}
	before = hcd_clock_ns(CLOCK_REALTIME);
	tsc = hcd_rdtsc();
	after = hcd_clock_ns(CLOCK_REALTIME);
	err = hostclock_counter_to_timescale(&clk, tsc, HOSTCLOCK_TS_UTC, &t);
	if (err) {
		snprintf(msg, HC_MSG_LEN, "conversion: %s", hostclock_err_name(err));
		return false;
	}
	at = (s64)t.sec * NSEC_PER_SEC + t.nsec;
	*worst_ns = at < before ? before - at : at > after ? at - after : 0;
	return true;
}

static void hc_test_publish_accuracy(void)
{
	static struct hcd_agent a;
	struct hcd_region r;
	char msg[HC_MSG_LEN] = "";
	s64 worst = 0, off;
	unsigned int i;
	bool ok = true;

	if (hc_agent_start(&a, &r, "accuracy")) {
		hc_report("publish", "agent starts", false, "no region or sample");
		return;
	}
	/* read back right away and after 100 ms of extrapolation, several times */
	for (i = 0; i < 5 && ok; i++) {
		struct timespec gap = { 0, 100 * 1000 * 1000 };

		ok = hc_page_vs_host(r.page, &off, msg);
		worst = off > worst ? off : worst;
		nanosleep(&gap, NULL);
		ok = ok && hc_page_vs_host(r.page, &off, msg);
		worst = off > worst ? off : worst;
		hcd_agent_update(&a);
	}
	if (ok)
		snprintf(msg, sizeof(msg), "worst |page - host| %lld ns", (long long)worst);
	hc_report("publish", "page time matches the host within 2 us",
		  ok && worst <= 2000, msg);
	snprintf(msg, sizeof(msg), "status %u flags %#llx est %llu max %llu",
		 a.published.clock_status, (unsigned long long)a.published.flags,
		 (unsigned long long)a.published.time_esterror_nanosec,
		 (unsigned long long)a.published.time_maxerror_nanosec);
	hc_report("publish", "synced host: SYNCHRONIZED, TAI 37, host errors carried",
		  a.published.clock_status == VMCLOCK_STATUS_SYNCHRONIZED &&
		  a.published.tai_offset_sec == 37 &&
		  (a.published.flags & VMCLOCK_FLAG_TAI_OFFSET_VALID) &&
		  (a.published.flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) &&
		  a.published.time_esterror_nanosec >= 10000 &&
		  a.published.time_maxerror_nanosec >= 200000 &&
		  !(a.published.flags & VMCLOCK_FLAG_TIME_MONOTONIC), msg);
	hcd_region_close(&r);
}

struct hc_timex_vector {
	const char *name;
	struct hcd_timex tx;
	u8 last_leap;
	u8 status;
	u8 leap;
	bool tai_valid;
	bool errors_valid;
};

#define HC_TX(st, sta, max, est, tai_off, tol) { .state = (st), .status = (sta), \
	.maxerror_us = (max), .esterror_us = (est), .tai = (tai_off), .tolerance_ppm = (tol) }

/* 2016-12-31 12:00 UTC, the day of a real leap second; and a mid-month day */
#define HC_MONTH_END	1483185600LL
#define HC_MID_MONTH	(HC_MONTH_END - 16 * 86400)

static const struct hc_timex_vector hc_timex_vectors[] = {
	{ "synchronized", HC_TX(TIME_OK, STA_PLL, 100, 5, 37, 500), 0,
	  VMCLOCK_STATUS_SYNCHRONIZED, VMCLOCK_LEAP_NONE, true, true },
	{ "unsynchronized", HC_TX(TIME_ERROR, STA_UNSYNC, 16000000, 16000000, 37, 500), 0,
	  VMCLOCK_STATUS_FREERUNNING, VMCLOCK_LEAP_NONE, true, false },
	{ "unsync bit with TIME_OK", HC_TX(TIME_OK, STA_UNSYNC, 100, 5, 0, 500), 0,
	  VMCLOCK_STATUS_FREERUNNING, VMCLOCK_LEAP_NONE, false, false },
	{ "adjtimex failed", HC_TX(-1, 0, 0, 0, 0, 0), 0,
	  VMCLOCK_STATUS_UNKNOWN, VMCLOCK_LEAP_NONE, false, false },
	{ "leap insert pending", HC_TX(TIME_INS, STA_INS, 100, 5, 37, 500), 0,
	  VMCLOCK_STATUS_SYNCHRONIZED, VMCLOCK_LEAP_PRE_POS, true, true },
	{ "leap delete pending", HC_TX(TIME_DEL, STA_DEL, 100, 5, 37, 500), 0,
	  VMCLOCK_STATUS_SYNCHRONIZED, VMCLOCK_LEAP_PRE_NEG, true, true },
	{ "in the leap second", HC_TX(TIME_OOP, STA_INS, 100, 5, 37, 500), 0,
	  VMCLOCK_STATUS_SYNCHRONIZED, VMCLOCK_LEAP_POS, true, true },
	{ "after an insert", HC_TX(TIME_WAIT, 0, 100, 5, 38, 500), VMCLOCK_LEAP_PRE_POS,
	  VMCLOCK_STATUS_SYNCHRONIZED, VMCLOCK_LEAP_POST_POS, true, true },
	{ "after a delete", HC_TX(TIME_WAIT, 0, 100, 5, 36, 500), VMCLOCK_LEAP_PRE_NEG,
	  VMCLOCK_STATUS_SYNCHRONIZED, VMCLOCK_LEAP_POST_NEG, true, true },
	{ "leap announced while unsynced", HC_TX(TIME_ERROR, STA_UNSYNC | STA_INS, 1, 1, 37, 500),
	  0, VMCLOCK_STATUS_FREERUNNING, VMCLOCK_LEAP_PRE_POS, true, false },
	{ "absurd TAI offset", HC_TX(TIME_OK, 0, 100, 5, 5000, 500), 0,
	  VMCLOCK_STATUS_SYNCHRONIZED, VMCLOCK_LEAP_NONE, false, true },
};

/*
 * STA_INS means "at the end of today"; the page can only say "at the end of
 * the month". Announced mid-month, it must not be published (issue 13,
 * item 11: the guest would apply it 16 days after the host did).
 */
static void hc_test_leap_date(void)
{
	const struct hcd_timex tx = HC_TX(TIME_INS, STA_INS, 100, 5, 37, 500);
	struct hcd_host_status st;
	u8 last = 0;

	hcd_timex_map(&tx, HC_MID_MONTH, &last, &st);
	hc_report("timex", "leap announced mid-month is not published",
		  st.leap_indicator == VMCLOCK_LEAP_NONE && st.leap_not_month_end, "");
	hcd_timex_map(&tx, HC_MONTH_END, &last, &st);
	hc_report("timex", "leap announced on the month's last day is published",
		  st.leap_indicator == VMCLOCK_LEAP_PRE_POS && !st.leap_not_month_end, "");
}

static void hc_test_timex_map(void)
{
	char msg[HC_MSG_LEN];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(hc_timex_vectors); i++) {
		const struct hc_timex_vector *v = &hc_timex_vectors[i];
		struct hcd_host_status st;
		u8 last = v->last_leap;

		hcd_timex_map(&v->tx, HC_MONTH_END, &last, &st);
		snprintf(msg, sizeof(msg), "status %u leap %u tai %d errors %d",
			 st.clock_status, st.leap_indicator, st.tai_valid, st.errors_valid);
		hc_report("timex", v->name,
			  st.clock_status == v->status && st.leap_indicator == v->leap &&
			  st.tai_valid == v->tai_valid && st.errors_valid == v->errors_valid &&
			  (!v->errors_valid || st.maxerror_ns == (u64)v->tx.maxerror_us * 1000),
			  msg);
	}
}

#define HC_ALL_RIGHTS	(HCD_RIGHT_READ | HCD_RIGHT_ADMIN | HCD_RIGHT_FAULTS)

/* Run a control command; the page after it, decoded and validated. */
static int hc_inject(struct hcd_agent *a, const char *cmd, struct hostclock_clock *clk,
		     char *msg)
{
	char line[128], reply[1024];
	int err;

	snprintf(line, sizeof(line), "%s", cmd);
	if (hcd_control_exec(a, line, reply, sizeof(reply), HC_ALL_RIGHTS)) {
		snprintf(msg, HC_MSG_LEN, "%s: %.200s", cmd, reply);
		return -1000;
	}
	err = hostclock_page_snapshot(a->region->page, clk, 1000, NULL);
	if (!err)
		err = hostclock_clock_validate(clk, HOSTCLOCK_REGION_SIZE);
	snprintf(msg, HC_MSG_LEN, "%s -> %.150s; page %s", cmd, reply,
		 hostclock_err_name(err));
	return err;
}

struct hc_corrupt_vector {
	const char *cmd;
	int expect;
};

static void hc_test_injection(void)
{
	static const struct hc_corrupt_vector corrupt[] = {
		{ "corrupt magic", HOSTCLOCK_ERR_BAD_MAGIC },
		{ "corrupt version", HOSTCLOCK_ERR_BAD_VERSION },
		{ "corrupt seq", HOSTCLOCK_ERR_SEQ_TIMEOUT },
		{ "corrupt period", HOSTCLOCK_ERR_ZERO_PERIOD },
		{ "corrupt shift", HOSTCLOCK_ERR_BAD_SHIFT },
		{ "corrupt counter", HOSTCLOCK_ERR_NO_COUNTER },
	};
	static struct hcd_agent a;
	struct hostclock_clock before, clk;
	struct hcd_region r;
	char msg[HC_MSG_LEN] = "", reply[256], line[32];
	long double ratio;
	unsigned int i;
	u64 hb;
	s64 off;

	if (hc_agent_start(&a, &r, "inject")) {
		hc_report("inject", "agent starts", false, "no region or sample");
		return;
	}
	before = a.published;

	hc_report("inject", "disrupt changes the marker, nothing else",
		  !hc_inject(&a, "disrupt", &clk, msg) &&
		  clk.disruption_marker != before.disruption_marker &&
		  clk.vm_generation_counter == before.vm_generation_counter, msg);
	hc_report("inject", "vmgen bumps the generation by one",
		  !hc_inject(&a, "vmgen", &clk, msg) &&
		  clk.vm_generation_counter == before.vm_generation_counter + 1, msg);
	hc_report("inject", "status unreliable",
		  !hc_inject(&a, "status unreliable", &clk, msg) &&
		  clk.clock_status == VMCLOCK_STATUS_UNRELIABLE, msg);
	hc_report("inject", "status auto",
		  !hc_inject(&a, "status auto", &clk, msg) &&
		  clk.clock_status == VMCLOCK_STATUS_SYNCHRONIZED, msg);
	hc_report("inject", "leap pre_pos announced",
		  !hc_inject(&a, "leap pre_pos", &clk, msg) &&
		  clk.leap_indicator == VMCLOCK_LEAP_PRE_POS, msg);
	hc_report("inject", "maxerror 100000 published as valid",
		  !hc_inject(&a, "maxerror 100000", &clk, msg) &&
		  (clk.flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) &&
		  clk.time_maxerror_nanosec == 100000 && clk.time_esterror_nanosec == 50000, msg);
	hc_report("inject", "maxerror auto gives the host's back",
		  !hc_inject(&a, "maxerror auto", &clk, msg) &&
		  clk.time_maxerror_nanosec != 100000, msg);
	hc_report("inject", "bad status name refused",
		  hc_inject(&a, "status sideways", &clk, msg) == -1000, msg);

	/* a 5 ms step shows in the page and in the reference for comparators */
	off = 0;
	if (!hc_inject(&a, "step 5000000", &clk, msg) && hc_page_vs_host(r.page, &off, msg))
		snprintf(msg, sizeof(msg), "page - host = %lld ns", (long long)off);
	hc_report("inject", "step 5 ms: the page is 5 ms ahead of the host",
		  off > 4990000 && off < 5010000, msg);
	off = hcd_agent_reference_ns(&a, NULL) - hcd_clock_ns(CLOCK_REALTIME);
	snprintf(msg, sizeof(msg), "reference - host = %lld ns", (long long)off);
	hc_report("inject", "reference is 5 ms ahead after the step",
		  off > 4990000 && off < 5010000, msg);

	before = a.published;
	hc_inject(&a, "rate 100000", &clk, msg);
	ratio = (long double)clk.counter_period_frac_sec / before.counter_period_frac_sec *
		((long double)1 / (1ULL << clk.counter_period_shift)) *
		(1ULL << before.counter_period_shift);
	snprintf(msg, sizeof(msg), "period ratio %.9Lf", ratio);
	hc_report("inject", "rate 100 ppm stretches the period by 100 ppm",
		  ratio > 1.0000995L && ratio < 1.0001005L, msg);
	hc_inject(&a, "rate 0", &clk, msg);

	hb = le64_to_cpu(r.ext->heartbeat);
	hc_inject(&a, "freeze", &clk, msg);
	before = clk;
	hcd_agent_update(&a);
	hcd_agent_update(&a);
	hostclock_page_snapshot(r.page, &clk, 1000, NULL);
	snprintf(msg, sizeof(msg), "heartbeat %llu -> %llu, seq %u -> %u",
		 (unsigned long long)hb, (unsigned long long)le64_to_cpu(r.ext->heartbeat),
		 before.seq_count, clk.seq_count);
	hc_report("inject", "freeze: page and heartbeat stop",
		  le64_to_cpu(r.ext->heartbeat) == hb && clk.seq_count == before.seq_count, msg);
	hc_report("inject", "thaw: updates again",
		  !hc_inject(&a, "thaw", &clk, msg) &&
		  le64_to_cpu(r.ext->heartbeat) > hb, msg);

	for (i = 0; i < ARRAY_SIZE(corrupt); i++) {
		int err = hc_inject(&a, corrupt[i].cmd, &clk, msg);

		hc_report("inject", corrupt[i].cmd, err == corrupt[i].expect, msg);
		hc_report("inject", "restore gives a valid page again",
			  !hc_inject(&a, "restore", &clk, msg) &&
			  clk.clock_status == VMCLOCK_STATUS_SYNCHRONIZED &&
			  clk.leap_indicator == VMCLOCK_LEAP_NONE, msg);
	}

	snprintf(line, sizeof(line), "now");
	hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ);
	hc_report("inject", "now answers with the reference", !strncmp(reply, "ok reference_ns=", 16),
		  reply);
	hcd_region_close(&r);
}

/* A fake KVM debugfs: DIR/<pid>-<fd>/vcpuN/{tsc-offset,...} */
static void hc_kvm_vcpu(const char *vm, int n, const char *offset, const char *ratio,
			const char *frac);

/*
 * Issue 13, item 7: reading, changing and fault injection are separate
 * rights; without --enable-faults nobody can make a guest trust a wrong
 * clock through the agent.
 */
static void hc_test_control_rights(void)
{
	static struct hcd_agent a;
	struct hcd_control c = { .admin = 4321 };
	struct hcd_region r;
	char line[64], reply[1024];
	int ret;

	if (hc_agent_start(&a, &r, "rights")) {
		hc_report("rights", "agent starts", false, "no region or sample");
		return;
	}
	snprintf(line, sizeof(line), "state");
	hc_report("rights", "the read-only socket reads",
		  !hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ), reply);
	snprintf(line, sizeof(line), "metrics");
	hc_report("rights", "metrics are readable",
		  !hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ) &&
		  strstr(reply, "region_resizes=0"), reply);
	snprintf(line, sizeof(line), "update");
	ret = hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ);
	hc_report("rights", "the read-only socket changes nothing",
		  ret && strstr(reply, "permission denied"), reply);
	snprintf(line, sizeof(line), "step 1000000000");
	ret = hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ | HCD_RIGHT_ADMIN);
	hc_report("rights", "no fault injection without --enable-faults",
		  ret && strstr(reply, "--enable-faults") && !a.ref.step_ns, reply);
	snprintf(line, sizeof(line), "status synchronized");
	ret = hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ | HCD_RIGHT_ADMIN);
	hc_report("rights", "no forced status without --enable-faults",
		  ret && a.faults.forced_status == -1, reply);
	snprintf(line, sizeof(line), "update");
	hc_report("rights", "the control socket updates",
		  !hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ | HCD_RIGHT_ADMIN),
		  reply);
	hc_report("rights", "peers: root, the agent's user and the admin only",
		  hcd_control_peer_allowed(&c, 0) && hcd_control_peer_allowed(&c, geteuid()) &&
		  hcd_control_peer_allowed(&c, 4321) && !hcd_control_peer_allowed(&c, 65534), "");
	c.admin = (uid_t)-1;
	hc_report("rights", "no admin configured: no one else",
		  !hcd_control_peer_allowed(&c, 65534) && !hcd_control_peer_allowed(&c, 4321), "");

	/* item 11: steps that would overflow are refused, not wrapped */
	snprintf(line, sizeof(line), "step 9223372036854775807");
	ret = hcd_control_exec(&a, line, reply, sizeof(reply), HC_ALL_RIGHTS);
	snprintf(line, sizeof(line), "step 4611686018427387000");
	ret = !ret || hcd_control_exec(&a, line, reply, sizeof(reply), HC_ALL_RIGHTS);
	snprintf(line, sizeof(line), "step 1000");
	ret = ret || !hcd_control_exec(&a, line, reply, sizeof(reply), HC_ALL_RIGHTS);
	hc_report("rights", "a step beyond 2^62 ns in all is refused",
		  !ret && a.ref.step_ns == 4611686018427387000LL, reply);
	/* and a page before 1970 still tells that time, fraction included */
	a.ref.step_ns = 0;
	snprintf(line, sizeof(line), "step -4000000000000000000");
	hcd_control_exec(&a, line, reply, sizeof(reply), HC_ALL_RIGHTS);
	{
		long double t = (s64)a.published.time_sec +
				ldexpl((long double)a.published.time_frac_sec, -64);
		long double want = (a.last_sample.ns - 4000000000000000000.0L) / 1e9L;

		snprintf(reply, sizeof(reply), "page %.3Lf s, reference %.3Lf s", t, want);
		hc_report("rights", "a time before 1970 is published as that time",
			  (s64)a.published.time_sec < 0 && fabsl(t - want) < 1e-3L, reply);
	}
	hcd_region_close(&r);
}

static void hc_fake_process(const char *root, int pid, const char *comm, uid_t uid)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0755);
	chown(path, uid, 0);
	snprintf(path, sizeof(path), "%s/%d/comm", root, pid);
	f = fopen(path, "w");
	fprintf(f, "%s\n", comm);
	fclose(f);
}

/*
 * Issue 13, item 8: the kernel's maxerror/esterror are published only when a
 * daemon that keeps them runs (chronyd, ntpd), never under one that leaves
 * them 0 (timesyncd, phc2sys), and a process merely named chronyd by an
 * ordinary user does not count.
 */
static void hc_test_host_errors(void)
{
	static struct hcd_agent a;
	struct hcd_host_daemons d;
	struct hcd_region r;
	char root[300], root2[300], root3[300];
	const char *why = "";
	double slew;

	snprintf(root, sizeof(root), "%s/proc-timesyncd", hc_tmpdir());
	mkdir(root, 0755);
	hc_fake_process(root, 1, "systemd", 0);
	hc_fake_process(root, 412, "systemd-timesyn", 0);
	hcd_host_daemons_scan(root, &d);
	hc_report("host errors", "timesyncd: not trusted",
		  !hcd_host_errors_trusted(HCD_HOST_ERRORS_AUTO, &d, &slew, &why), why);

	snprintf(root2, sizeof(root2), "%s/proc-chrony", hc_tmpdir());
	mkdir(root2, 0755);
	hc_fake_process(root2, 733, "chronyd", 0);
	hcd_host_daemons_scan(root2, &d);
	hc_report("host errors", "chronyd of root: trusted, slews up to 83333 ppm",
		  hcd_host_errors_trusted(HCD_HOST_ERRORS_AUTO, &d, &slew, &why) &&
		  slew > 0.083 && slew < 0.084, why);
	hc_fake_process(root2, 734, "phc2sys", 0);
	hcd_host_daemons_scan(root2, &d);
	hc_report("host errors", "chronyd beside phc2sys: not trusted",
		  !hcd_host_errors_trusted(HCD_HOST_ERRORS_AUTO, &d, &slew, &why), why);

	snprintf(root3, sizeof(root3), "%s/proc-fake", hc_tmpdir());
	mkdir(root3, 0755);
	hc_fake_process(root3, 900, "chronyd", 65534);
	hcd_host_daemons_scan(root3, &d);
	hc_report("host errors", "a 'chronyd' of an ordinary user: not trusted",
		  !hcd_host_errors_trusted(HCD_HOST_ERRORS_AUTO, &d, &slew, &why), why);

	/* the page under timesyncd: synced, but no error bounds claimed */
	if (hc_agent_start(&a, &r, "errors")) {
		hc_report("host errors", "agent starts", false, "no region or sample");
		return;
	}
	a.opts.host_errors = HCD_HOST_ERRORS_AUTO;
	a.opts.proc_root = root;
	a.daemons_scanned_ns = 0;
	hcd_agent_update(&a);
	hc_report("host errors", "under timesyncd the page claims no time error bound",
		  a.published.clock_status == VMCLOCK_STATUS_SYNCHRONIZED &&
		  !(a.published.flags & (VMCLOCK_FLAG_TIME_MAXERROR_VALID |
					 VMCLOCK_FLAG_TIME_ESTERROR_VALID)), "");
	a.opts.proc_root = root2;
	a.daemons_scanned_ns = 0;
	hc_fake_process(root2, 734, "sleep", 0);
	hcd_agent_update(&a);
	hc_report("host errors", "under chronyd it does, with 83333 ppm for the watch's period in it",
		  a.published.flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID &&
		  a.published.time_maxerror_nanosec > 200000 + 83333e-6 * HCD_WATCH_DEFAULT_NS, "");
	hcd_region_close(&r);
}

/*
 * Issue 13, item 9: the host daemon changes the clock's rate (chronyd slews
 * at up to 83333 ppm); one update later the published period must have the
 * new rate, not a 16-sample average that lags by half its window. The
 * samples are synthetic: a 3 GHz TSC, one sample a second.
 */
static void hc_test_fit_rate_change(void)
{
	static const double slews[] = { 500e-6, 5000e-6, 83333e-6 };
	struct hcd_fit_result res;
	struct hcd_fit fit;
	char msg[HC_MSG_LEN];
	unsigned int i, k;

	for (i = 0; i < ARRAY_SIZE(slews); i++) {
		long double ns_per_tick = 1 / 3.0L, rate = 1, ns = 1e18L;
		u64 tsc = 1ULL << 40;
		double err_next;

		hcd_fit_init(&fit, 16);
		for (k = 0; k < 20; k++) {
			struct hcd_sample s = { tsc, (s64)ns, 20, rate };

			if (k == 18) {		/* the daemon's change, between two samples */
				rate = 1 + slews[i];
			}
			hcd_fit_add(&fit, &s);
			tsc += 3000000000ULL;
			ns += 3000000000ULL * ns_per_tick * rate;
		}
		/* the sample after the change carries the new rate */
		{
			struct hcd_sample s = { tsc, (s64)ns, 20, rate };

			hcd_fit_add(&fit, &s);
		}
		hcd_fit_solve(&fit, &res);
		/* what the page's period gets wrong over the next second */
		err_next = (double)fabsl((res.ns_per_tick - ns_per_tick * rate) * 3e9L);
		snprintf(msg, sizeof(msg), "slew %.0f ppm: %.1f ns off over the next second",
			 slews[i] * 1e6, err_next);
		hc_report("rate change", "the period has the new rate one update later",
			  err_next < 10, msg);
	}
}

/* A child that waits to be killed, for kvm:PID's process. */
static pid_t hc_child(void)
{
	pid_t pid = fork();

	if (!pid) {
		pause();
		_exit(0);
	}
	return pid;
}

/* Issue 13, item 11's smaller points that the agent's logic decides. */
static void hc_test_small_points(void)
{
	static struct hcd_agent a;
	const struct hcd_timex no_tai = {
		.state = TIME_OK, .status = STA_PLL, .maxerror_us = 200,
		.esterror_us = 10, .tai = 0, .tolerance_ppm = 500,
	};
	char root[300], vm[400], why[256] = "";
	struct hcd_region r;
	struct hcd_tscmap map;
	pid_t pid, child;
	int pidfd, ret;

	/* TAI asked for, the kernel has no TAI offset: no time at all */
	if (hc_agent_start(&a, &r, "tai")) {
		hc_report("small", "agent starts", false, "no region or sample");
		return;
	}
	a.opts.time_type = VMCLOCK_TIME_TAI;
	a.timex_override = &no_tai;
	hcd_agent_update(&a);
	hc_report("small", "TAI without the kernel's TAI offset publishes no counter",
		  a.published.counter_id == VMCLOCK_COUNTER_INVALID &&
		  a.published.clock_status == VMCLOCK_STATUS_UNRELIABLE, "");

	/* a predecessor left seq odd: its vm_generation_counter is still kept */
	a.vm_generation = 7;
	hcd_agent_update(&a);
	WRITE_ONCE(r.page->seq_count, cpu_to_le32(le32_to_cpu(r.page->seq_count) | 1));
	hcd_agent_init(&a, &r, &a.opts, &a.map);
	hc_report("small", "a page left odd keeps its VM generation across a restart",
		  a.vm_generation == 7, "");
	hcd_region_close(&r);

	/* kvm:PID: once that process has exited, its PID is never read again */
	snprintf(root, sizeof(root), "%s/kvm-pid", hc_tmpdir());
	mkdir(root, 0700);
	child = hc_child();
	pidfd = hcd_pidfd_open(child);
	snprintf(vm, sizeof(vm), "%s/%d-12", root, (int)child);
	mkdir(vm, 0700);
	hc_kvm_vcpu(vm, 0, "-500", NULL, NULL);
	snprintf(why, sizeof(why), "kvm:%d", (int)child);
	hcd_tscmap_parse(why, &map, &pid, why, sizeof(why));
	ret = hcd_kvm_read(root, pid, pidfd, &map, why, sizeof(why));
	hc_report("small", "kvm:PID reads its live process", !ret && map.offset == -500, why);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* as if another VM's QEMU now had that PID */
	hc_kvm_vcpu(vm, 0, "-999", NULL, NULL);
	ret = hcd_kvm_read(root, pid, pidfd, &map, why, sizeof(why));
	hc_report("small", "kvm:PID stops at its process's exit, whoever has the PID next",
		  ret == HCD_KVM_GONE && map.offset == -500, why);
	close(pidfd);
}


static void hc_kvm_vcpu(const char *vm, int n, const char *offset, const char *ratio,
			const char *frac)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/vcpu%d", vm, n);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/vcpu%d/tsc-offset", vm, n);
	f = fopen(path, "w");
	fprintf(f, "%s\n", offset);
	fclose(f);
	if (!ratio)
		return;
	snprintf(path, sizeof(path), "%s/vcpu%d/tsc-scaling-ratio", vm, n);
	f = fopen(path, "w");
	fprintf(f, "%s\n", ratio);
	fclose(f);
	snprintf(path, sizeof(path), "%s/vcpu%d/tsc-scaling-ratio-frac-bits", vm, n);
	f = fopen(path, "w");
	fprintf(f, "%s\n", frac);
	fclose(f);
}

static void hc_test_kvm(void)
{
	char root[256], vm[300], why[256] = "", msg[HC_MSG_LEN];
	struct hcd_tscmap map;
	pid_t pid;
	int ret;

	hc_region_path(root, sizeof(root), "kvm");
	mkdir(root, 0700);
	hcd_tscmap_parse("kvm:4242", &map, &pid, why, sizeof(why));
	ret = hcd_kvm_read(root, pid, -1, &map, why, sizeof(why));
	hc_report("kvm", "no such VM: a clear error",
		  ret && strstr(why, "no KVM VM of process 4242"), why);

	snprintf(vm, sizeof(vm), "%s/4242-11", root);
	mkdir(vm, 0700);
	hc_kvm_vcpu(vm, 0, "-1000000", NULL, NULL);
	hc_kvm_vcpu(vm, 1, "-1000000", NULL, NULL);
	ret = hcd_kvm_read(root, pid, -1, &map, why, sizeof(why));
	snprintf(msg, sizeof(msg), "%s offset %lld guest(10^7) %llu", ret ? why : "ok",
		 (long long)map.offset, (unsigned long long)hcd_tscmap_guest(&map, 10000000));
	hc_report("kvm", "two vCPUs, same offset, no scaling",
		  !ret && map.valid && map.offset == -1000000 &&
		  hcd_tscmap_guest(&map, 10000000) == 9000000, msg);

	/* ratio 1.5 in 48 fractional bits */
	hc_kvm_vcpu(vm, 0, "500", "422212465065984", "48");
	hc_kvm_vcpu(vm, 1, "500", "422212465065984", "48");
	ret = hcd_kvm_read(root, pid, -1, &map, why, sizeof(why));
	snprintf(msg, sizeof(msg), "%s guest(1000) %llu ratio %.3Lf", ret ? why : "ok",
		 (unsigned long long)hcd_tscmap_guest(&map, 1000), hcd_tscmap_ratio(&map));
	hc_report("kvm", "TSC scaling ratio applied",
		  !ret && hcd_tscmap_guest(&map, 1000) == 2000 &&
		  hcd_tscmap_ratio(&map) == 1.5L, msg);

	hc_kvm_vcpu(vm, 1, "501", "422212465065984", "48");
	ret = hcd_kvm_read(root, pid, -1, &map, why, sizeof(why));
	hc_report("kvm", "vCPUs that disagree are refused",
		  ret && strstr(why, "not synchronized"), why);
}

/*
 * The disruption marker in pairing mode: fresh at start, unchanged when
 * pairing first learns the mapping (nothing could have been calibrated on
 * pages without a counter), changed when the mapping breaks (a jump).
 */
static void hc_test_pairing_marker(void)
{
	struct hcd_region_opts ro = { .uid = -1, .gid = -1 };
	struct hcd_agent_opts opts = {
		.time_type = VMCLOCK_TIME_UTC, .interval_ns = 1000000000ULL,
		.fit_window = 16,
	};
	static struct hcd_agent a;
	struct hcd_tscmap map;
	struct hcd_region r;
	char path[256], why[256], msg[HC_MSG_LEN];
	u64 m0, m1, m2, h = 1ULL << 40;
	pid_t pid;
	int i;

	hc_region_path(path, sizeof(path), "marker");
	ro.path = path;
	unlink(path);
	if (hcd_region_open(&ro, &r, why, sizeof(why)) ||
	    hcd_tscmap_parse("pairing", &map, &pid, why, sizeof(why))) {
		hc_report("marker", "agent starts", false, why);
		return;
	}
	hcd_agent_init(&a, &r, &opts, &map);
	a.timex_override = &hc_synced;
	hcd_agent_update(&a);
	m0 = a.published.disruption_marker;

	hcd_pairing_update(&a.pair, &a.map, h, -1000000, 600);	/* first contact */
	hcd_agent_update(&a);
	m1 = a.published.disruption_marker;
	for (i = 1; i <= 3; i++)	/* three bursts agreeing on a new offset */
		hcd_pairing_update(&a.pair, &a.map, h + i * 2600000ULL, 5000000, 600);
	hcd_agent_update(&a);
	m2 = a.published.disruption_marker;
	snprintf(msg, sizeof(msg), "markers %llx %llx %llx, generation %llu, counter %s",
		 (unsigned long long)m0, (unsigned long long)m1, (unsigned long long)m2,
		 (unsigned long long)a.map.generation,
		 a.published.counter_id == VMCLOCK_COUNTER_X86_TSC ? "TSC" : "none");
	hc_report("marker", "first pairing keeps the start's marker; a jump changes it",
		  m1 == m0 && m2 != m1 && a.map.generation == 2 &&
		  a.published.counter_id == VMCLOCK_COUNTER_X86_TSC, msg);
	hcd_region_close(&r);
}

/*
 * Issue 14: a migration (ivshmem master=on) or a snapshot restore copies the
 * source's region over the destination agent's, not in step with its
 * seqcount. These pages play the source: page 0 with a counter, under
 * @seq as found (odd: torn), and page 1 of another agent with its mailbox.
 */
static void hc_foreign_page(struct hcd_region *r, u32 seq, u64 marker, u64 vm_generation)
{
	struct hostclock_clock clk = {
		.magic = VMCLOCK_MAGIC, .size = HOSTCLOCK_PAGE_SIZE, .version = VMCLOCK_VERSION,
		.counter_id = VMCLOCK_COUNTER_X86_TSC, .time_type = VMCLOCK_TIME_UTC,
		.disruption_marker = marker, .flags = VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT,
		.clock_status = VMCLOCK_STATUS_SYNCHRONIZED, .counter_period_shift = 4,
		.counter_value = 1ULL << 50, .counter_period_frac_sec = 0x5555555555555555ULL,
		.time_sec = 1700000000, .vm_generation_counter = vm_generation,
	};
	struct vmclock_abi img;

	hostclock_clock_encode(&clk, &img);
	img.seq_count = cpu_to_le32(seq);
	memcpy(r->page, &img, sizeof(img));
}

static void hc_foreign_ext(struct hcd_region *r, u32 pair_request, u32 guest_seq)
{
	struct hostclock_ext *ext = r->ext;

	ext->seq_count = cpu_to_le32(77);
	ext->agent_state = cpu_to_le32(HOSTCLOCK_AGENT_RUNNING);
	ext->heartbeat = cpu_to_le64(5000);
	ext->mailbox.pair_request = cpu_to_le32(pair_request);
	ext->mailbox.host_seq = cpu_to_le32(guest_seq);
	ext->mailbox.host_tsc = cpu_to_le64(123456789);
	ext->mailbox.guest_seq = cpu_to_le32(guest_seq);
	ext->mailbox.guest_done = cpu_to_le32(guest_seq);
}

/* The page as a guest reads it: 0 or the failed check's error. */
static int hc_read_back(const struct hcd_region *r, struct hostclock_clock *clk)
{
	int err = hostclock_page_snapshot(r->page, clk, 1000, NULL);

	return err ? err : hostclock_clock_validate(clk, HOSTCLOCK_REGION_SIZE);
}

static u64 hc_max(u64 x, u64 y)
{
	return x > y ? x : y;
}

/* The guest's exchange @n, completed before the agent looks (rtt 600). */
static void hc_guest_exchange_done(struct hcd_region *r, u32 n)
{
	struct hostclock_mailbox *mb = &r->ext->mailbox;
	u64 t1 = hcd_rdtsc() + 5000000;

	WRITE_ONCE(mb->guest_t1, cpu_to_le64(t1));
	WRITE_ONCE(mb->guest_t3, cpu_to_le64(t1 + 600));
	WRITE_ONCE(mb->guest_done, cpu_to_le32(n));
	/* the times and guest_done before the guest_seq that starts it */
	smp_wmb();
	WRITE_ONCE(mb->guest_seq, cpu_to_le32(n));
}

/* Pairing mode: every field an adoption sets, then pairing again. */
static void hc_test_adopt_pairing(void)
{
	static struct hcd_agent a;
	static struct hcd_metrics metrics;
	static char buf[HCD_METRICS_BUF];
	const u32 found_seq = 1000, found_request = 41, found_guest = 0x90000000;
	const u64 found_marker = 0x1234567890ULL;
	struct hostclock_clock clk;
	struct hcd_region r;
	char msg[HC_MSG_LEN], line[32], reply[1024];
	u64 own, gen, adopted, h = 1ULL << 40;
	int err, polled;
	u32 seq;

	if (hc_agent_start_as(&a, &r, "adopt-pair", "pairing", NULL)) {
		hc_report("adopt", "agent starts", false, "no region or sample");
		return;
	}
	/* paired, with a counter, as the destination agent might be */
	hcd_pairing_update(&a.pair, &a.map, h, -1000000, 600);
	hcd_agent_update(&a);
	own = a.disruption_marker;
	gen = a.map.generation;
	adopted = hc_max(found_marker, own) + 1;

	hc_foreign_page(&r, found_seq, found_marker, 5);
	hc_foreign_ext(&r, found_request, found_guest);
	hcd_agent_watch(&a);
	err = hc_read_back(&r, &clk);

	snprintf(msg, sizeof(msg), "overwrites %llu", (unsigned long long)a.overwrites);
	hc_report("adopt", "one watch adopts a region another writer replaced, and counts it",
		  a.overwrites == 1, msg);
	snprintf(msg, sizeof(msg), "page %s, status %u", hostclock_err_name(err), clk.clock_status);
	hc_report("adopt", "the adopted page carries no time: no counter, initializing",
		  err == HOSTCLOCK_ERR_NO_COUNTER &&
		  clk.clock_status == VMCLOCK_STATUS_INITIALIZING, msg);
	snprintf(msg, sizeof(msg), "marker %#llx, found %#llx, own %#llx",
		 (unsigned long long)clk.disruption_marker, (unsigned long long)found_marker,
		 (unsigned long long)own);
	hc_report("adopt", "marker max(found, own) + 1: neither the found one nor the agent's",
		  clk.disruption_marker == adopted && adopted != found_marker &&
		  adopted != own, msg);
	snprintf(msg, sizeof(msg), "seq %u, found %u", clk.seq_count, found_seq);
	hc_report("adopt", "seq_count goes on past the found one, even",
		  clk.seq_count == found_seq + 2, msg);
	snprintf(msg, sizeof(msg), "valid %d generation %llu -> %llu bursts %u",
		 a.map.valid, (unsigned long long)gen, (unsigned long long)a.map.generation,
		 a.pair.npoints);
	hc_report("adopt", "the guest TSC mapping is invalid, a new generation, its bursts dropped",
		  !a.map.valid && a.map.generation == gen + 1 && !a.pair.npoints, msg);
	snprintf(msg, sizeof(msg), "pair_request %u, found %u, outstanding %d",
		 le32_to_cpu(r.ext->mailbox.pair_request), found_request, a.pair.outstanding);
	hc_report("adopt", "a burst is asked at once, with a pair_request past the found one",
		  le32_to_cpu(r.ext->mailbox.pair_request) == found_request + 1 &&
		  a.pair.outstanding, msg);
	snprintf(msg, sizeof(msg), "published %llu, page %llu",
		 (unsigned long long)a.published.vm_generation_counter,
		 (unsigned long long)clk.vm_generation_counter);
	hc_report("adopt", "the VM generation found is kept (a live migration is no restore)",
		  a.published.vm_generation_counter == 5 && clk.vm_generation_counter == 5, msg);
	snprintf(line, sizeof(line), "state");
	hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ);
	hc_report("adopt", "state: overwrites=1, map_valid=0, status=initializing",
		  strstr(reply, " overwrites=1") && strstr(reply, " map_valid=0 ") &&
		  strstr(reply, " status=initializing "), reply);
	hcd_agent_watch(&a);
	hc_report("adopt", "the next watch finds the agent's own page: no second adoption",
		  a.overwrites == 1, "");

	/* the guest answers: its exchange numbers go on from the found one */
	hc_guest_exchange_done(&r, found_guest + 1);
	polled = hcd_pairing_poll(&a.pair, &a.map);
	snprintf(msg, sizeof(msg), "poll %d, valid %d, accepted %llu, stale %llu, unsolicited %llu",
		 polled, a.map.valid, (unsigned long long)a.pair.stats.accepted,
		 (unsigned long long)a.pair.stats.rejected_stale,
		 (unsigned long long)a.pair.stats.unsolicited);
	hc_report("adopt", "the guest's exchange after the found guest_seq is served and pairs",
		  polled == 1 && a.map.valid, msg);
	hcd_agent_update(&a);
	err = hc_read_back(&r, &clk);
	snprintf(msg, sizeof(msg), "page %s, status %u, marker %#llx (adopted %#llx), %llu adopted",
		 hostclock_err_name(err), clk.clock_status,
		 (unsigned long long)clk.disruption_marker, (unsigned long long)adopted,
		 (unsigned long long)a.overwrites);
	hc_report("adopt", "then a page with time again, under the adoption's marker",
		  !err && clk.clock_status == VMCLOCK_STATUS_SYNCHRONIZED &&
		  clk.disruption_marker == adopted && a.overwrites == 1, msg);

	/* a torn copy, seq odd, within a second of the last request */
	own = a.disruption_marker;
	hc_foreign_page(&r, 2001, found_marker, 5);
	hc_foreign_ext(&r, 60, 7);
	hcd_agent_watch(&a);
	err = hc_read_back(&r, &clk);
	snprintf(msg, sizeof(msg), "overwrites %llu, seq %u, marker %#llx, page %s",
		 (unsigned long long)a.overwrites, clk.seq_count,
		 (unsigned long long)clk.disruption_marker, hostclock_err_name(err));
	hc_report("adopt", "a torn copy (seq 2001, odd): adopted, seq 2002, a new marker, no time",
		  a.overwrites == 2 && clk.seq_count == 2002 && err == HOSTCLOCK_ERR_NO_COUNTER &&
		  clk.disruption_marker == hc_max(found_marker, own) + 1, msg);
	snprintf(msg, sizeof(msg), "pair_request %u, outstanding %d",
		 le32_to_cpu(r.ext->mailbox.pair_request), a.pair.outstanding);
	hc_report("adopt", "within a second of the last request no burst is asked (the loop asks)",
		  le32_to_cpu(r.ext->mailbox.pair_request) == 60 && !a.pair.outstanding &&
		  a.pair.request == 60 && a.pair.last_guest_seq == 7, msg);

	/*
	 * Even seq, the agent's own page but for one field: a copy that caught
	 * two of the agent's versions looks like this. A second has passed.
	 */
	a.pair.requested_ns -= 2 * NSEC_PER_SEC;
	own = a.disruption_marker;
	seq = le32_to_cpu(r.page->seq_count);
	WRITE_ONCE(r.page->time_sec, cpu_to_le64(le64_to_cpu(r.page->time_sec) ^ 1));
	hcd_agent_watch(&a);
	err = hc_read_back(&r, &clk);
	snprintf(msg, sizeof(msg), "%llu adopted, seq %u -> %u, marker %#llx -> %#llx, request %u",
		 (unsigned long long)a.overwrites, seq, clk.seq_count, (unsigned long long)own,
		 (unsigned long long)clk.disruption_marker,
		 le32_to_cpu(r.ext->mailbox.pair_request));
	hc_report("adopt", "even seq, one field changed: adopted, seq + 2, marker + 1, asked again",
		  a.overwrites == 3 && !(seq & 1) && clk.seq_count == seq + 2 &&
		  clk.disruption_marker == own + 1 &&
		  le32_to_cpu(r.ext->mailbox.pair_request) == 61 && a.pair.outstanding, msg);

	/* found before any update writes over it, and before state answers */
	hc_foreign_page(&r, 3000, found_marker, 5);
	hcd_agent_update(&a);
	hc_report("adopt", "an update first adopts what it would write over",
		  a.overwrites == 4, "");
	hc_foreign_page(&r, 3100, found_marker, 5);
	snprintf(line, sizeof(line), "state");
	hcd_control_exec(&a, line, reply, sizeof(reply), HCD_RIGHT_READ);
	hc_report("adopt", "state adopts a copy that landed since the last watch",
		  strstr(reply, " overwrites=5"), reply);
	snprintf(metrics.vm, sizeof(metrics.vm), "adopt");
	hcd_metrics_format(&metrics, &a, buf, sizeof(buf));
	hc_report("adopt", "metrics: hostclock_region_overwrites_total counts them",
		  strstr(buf, "\nhostclock_region_overwrites_total{vm=\"adopt\"} 5\n"), "");

	/* the marker past U64_MAX */
	a.disruption_marker = 0;
	hcd_agent_update(&a);
	hc_foreign_page(&r, 4000, U64_MAX, 5);
	hcd_agent_watch(&a);
	snprintf(msg, sizeof(msg), "marker %#llx",
		 (unsigned long long)a.published.disruption_marker);
	hc_report("adopt", "found U64_MAX, own 0: the marker wraps past both, to 1",
		  a.published.disruption_marker == 1, msg);
	hcd_region_close(&r);
}

/* hc_adopt_asks: one more adoption @ago_ms after the last request; asked? */
static bool hc_adopt_asks(struct hcd_agent *a, struct hcd_region *r, u32 seq, u64 ago_ms)
{
	u32 before = le32_to_cpu(r->ext->mailbox.pair_request);

	a->pair.outstanding = false;	/* the request lapsed */
	if (a->pair.requested_ns)
		a->pair.requested_ns -= ago_ms * 1000000;
	hc_foreign_page(r, seq, 0x4242, 5);
	hcd_agent_watch(a);
	return le32_to_cpu(r->ext->mailbox.pair_request) != before;
}

/*
 * A guest that writes its region once a second and answers nothing: the
 * requests adoptions make come 1, 2, 4, ... 16 s apart, and a second apart
 * again once one is answered.
 */
static void hc_test_adopt_backoff(void)
{
	static struct hcd_agent a;
	struct hcd_region r;
	char msg[HC_MSG_LEN];
	bool asked[8];
	u64 gap;

	if (hc_agent_start_as(&a, &r, "adopt-backoff", "pairing", NULL)) {
		hc_report("adopt", "agent starts", false, "no region or sample");
		return;
	}
	asked[0] = hc_adopt_asks(&a, &r, 100, 5000);	/* the first: at once */
	asked[1] = hc_adopt_asks(&a, &r, 110, 1100);	/* unanswered, 1 s on: asks */
	asked[2] = hc_adopt_asks(&a, &r, 120, 1100);	/* now 2 s apart: not yet */
	asked[3] = hc_adopt_asks(&a, &r, 130, 1000);	/* 2.1 s: asks */
	asked[4] = hc_adopt_asks(&a, &r, 140, 3500);	/* now 4 s: 3.5 s is short */
	snprintf(msg, sizeof(msg), "asked %d %d %d %d %d, gap %llu ms", asked[0], asked[1],
		 asked[2], asked[3], asked[4], (unsigned long long)a.pair.adopt_gap_ns / 1000000);
	hc_report("adopt", "unanswered adoption requests back off: 1, 2, 4 s apart",
		  asked[0] && asked[1] && !asked[2] && asked[3] && !asked[4] &&
		  a.pair.adopt_gap_ns == 4ULL * NSEC_PER_SEC, msg);
	for (gap = 0; gap < 8; gap++)
		hc_adopt_asks(&a, &r, 200 + 10 * gap, 20000);
	snprintf(msg, sizeof(msg), "gap %llu ms", (unsigned long long)a.pair.adopt_gap_ns / 1000000);
	hc_report("adopt", "... to at most 16 s", a.pair.adopt_gap_ns == 16ULL * NSEC_PER_SEC, msg);
	a.pair.stats.bursts++;		/* the guest answered the last one */
	asked[5] = hc_adopt_asks(&a, &r, 400, 1100);
	asked[6] = hc_adopt_asks(&a, &r, 410, 1100);
	snprintf(msg, sizeof(msg), "asked %d %d, gap %llu ms", asked[5], asked[6],
		 (unsigned long long)a.pair.adopt_gap_ns / 1000000);
	hc_report("adopt", "an answered one: a second apart again, then backing off anew",
		  asked[5] && asked[6] && a.pair.adopt_gap_ns == 2ULL * NSEC_PER_SEC, msg);
	hcd_region_close(&r);
}

/*
 * Fixed and KVM mappings: the page keeps its time (KVM's mapping read
 * again), under a new marker; the agent's own repair of a cut region is no
 * overwrite.
 */
static void hc_test_adopt_fixed(void)
{
	static struct hcd_agent a;
	struct hostclock_clock clk;
	struct hcd_region r;
	char root[300], vm[400], msg[HC_MSG_LEN];
	s64 off = 0;
	u64 own;
	int err;

	if (hc_agent_start(&a, &r, "adopt-identity")) {
		hc_report("adopt", "agent starts", false, "no region or sample");
		return;
	}
	own = a.disruption_marker;
	hc_foreign_page(&r, 10, 42, 0);
	hcd_agent_watch(&a);
	err = hc_read_back(&r, &clk);
	snprintf(msg, sizeof(msg), "page %s", hostclock_err_name(err));
	if (!err && hc_page_vs_host(r.page, &off, msg))
		snprintf(msg, sizeof(msg), "%llu adopted, marker %#llx (own %#llx), page - host %lld",
			 (unsigned long long)a.overwrites,
			 (unsigned long long)clk.disruption_marker, (unsigned long long)own,
			 (long long)off);
	hc_report("adopt", "identity: adopted with a new marker, the host's time still published",
		  !err && a.overwrites == 1 && a.map.valid &&
		  clk.disruption_marker == hc_max(42, own) + 1 && off <= 2000, msg);

	memset(r.map, 0, HOSTCLOCK_REGION_SIZE);	/* as a restored cut region reads */
	hcd_agent_region_restored(&a);
	hcd_agent_watch(&a);
	snprintf(msg, sizeof(msg), "overwrites %llu", (unsigned long long)a.overwrites);
	hc_report("adopt", "the agent's own repair of a cut region is not adopted",
		  a.overwrites == 1 && !hc_read_back(&r, &clk), msg);
	hcd_region_close(&r);

	snprintf(root, sizeof(root), "%s/kvm-adopt", hc_tmpdir());
	mkdir(root, 0700);
	snprintf(vm, sizeof(vm), "%s/4343-9", root);
	mkdir(vm, 0700);
	hc_kvm_vcpu(vm, 0, "-500", NULL, NULL);
	if (hc_agent_start_as(&a, &r, "adopt-kvm", "kvm:4343", root)) {
		hc_report("adopt", "kvm agent starts", false, "no region, sample or fake debugfs");
		return;
	}
	own = a.disruption_marker;
	/* the destination VM's vCPUs got the source's TSC */
	hc_kvm_vcpu(vm, 0, "-900", NULL, NULL);
	hc_foreign_page(&r, 10, 42, 0);
	hcd_agent_watch(&a);
	err = hc_read_back(&r, &clk);
	snprintf(msg, sizeof(msg), "offset %lld, page %s, marker %#llx (own %#llx)",
		 (long long)a.map.offset, hostclock_err_name(err),
		 (unsigned long long)clk.disruption_marker, (unsigned long long)own);
	hc_report("adopt", "kvm: the mapping is read again, time published under a new marker",
		  a.map.offset == -900 && !err && clk.counter_value == a.published.counter_value &&
		  clk.disruption_marker == hc_max(42, own) + 1, msg);
	hcd_region_close(&r);
}

void hc_suite_agent(void)
{
	hcd_log_setup(HCD_LOG_ERR, false);
	hc_test_region_rules();
	hc_test_region_paths();
	hc_test_region_shrink();
	hc_test_control_rights();
	hc_test_host_errors();
	hc_test_fit_rate_change();
	hc_test_small_points();
	hc_test_leap_date();
	hc_test_publish_accuracy();
	hc_test_timex_map();
	hc_test_injection();
	hc_test_pairing_marker();
	hc_test_kvm();
	hc_test_adopt_pairing();
	hc_test_adopt_backoff();
	hc_test_adopt_fixed();
}
