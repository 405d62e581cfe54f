// SPDX-License-Identifier: GPL-2.0
/*
 * hostclockd's metrics file (metrics.c): label values from untrusted names,
 * the text format's structure, and the atomic write into a textfile
 * directory, with a reader that must never see half a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "hcd.h"
#include "hostclock_cases.h"

static void hc_escape_case(const char *name, const char *in, size_t len, const char *want)
{
	char out[64], msg[HC_MSG_LEN];

	hcd_metrics_escape(in, out, len);
	snprintf(msg, sizeof(msg), "got \"%s\", want \"%s\"", out, want);
	hc_report("metrics escape", name, !strcmp(out, want), msg);
}

static void hc_test_escape(void)
{
	hc_escape_case("plain", "vm1", 64, "vm1");
	hc_escape_case("quote, backslash, newline", "a\"b\\c\nd", 64, "a\\\"b\\\\c\\nd");
	hc_escape_case("control characters", "a\tb\x01\x7f", 64, "a?b??");
	hc_escape_case("valid UTF-8 kept", "v\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 64,
		       "v\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	hc_escape_case("invalid byte", "a\xff" "b", 64, "a?b");
	hc_escape_case("overlong NUL", "a\xc0\x80" "b", 64, "a??b");
	hc_escape_case("overlong 3-byte", "\xe0\x80\xaf", 64, "???");
	hc_escape_case("surrogate", "\xed\xa0\x80", 64, "???");
	hc_escape_case("beyond U+10FFFF", "\xf4\x90\x80\x80", 64, "????");
	hc_escape_case("truncated sequence at the end", "ab\xe2\x82", 64, "ab??");
	hc_escape_case("lone continuation", "\x80x", 64, "?x");
	/* room for "ab" and the NUL: the escape of '"' must not be cut */
	hc_escape_case("an escape is not cut in half", "ab\"c", 4, "ab");
	hc_escape_case("a sequence is not cut in half", "a\xe2\x82\xac", 3, "a");
	hc_escape_case("room for nothing", "abc", 1, "");
}

/* An agent state to format: no region mapping is needed. */
static struct hcd_region hc_fake_region;

static void hc_fake_agent(struct hcd_agent *a)
{
	memset(a, 0, sizeof(*a));
	a->region = &hc_fake_region;
	hc_fake_region.resizes = 3;
	a->opts.interval_ns = 250000000;
	a->opts.time_type = VMCLOCK_TIME_UTC;
	a->faults.forced_status = -1;
	a->faults.forced_leap = -1;
	a->faults.forced_maxerror_ns = -1;
	a->updates = 42;
	a->disruptions = 2;
	a->vm_generation = 7;
	a->map.mode = HOSTCLOCK_TSC_PAIRING;
	a->map.valid = true;
	a->map.uncertainty = 1500;
	a->pair.stats.bursts = 11;
	a->pair.stats.rejected_rtt = 5;
	a->pair.stats.last_rtt = 900;
	a->last_sample.ns = 1700000000123456789LL;
	a->last_timex.state = TIME_INS;
	a->last_timex.status = STA_PLL;
	a->last_timex.maxerror_us = 123;
	a->last_timex.esterror_us = 4;
	a->last_timex.freq = -65536 * 3 / 2;
	a->published.clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
	a->published.flags = VMCLOCK_FLAG_TIME_MAXERROR_VALID;
	a->published.time_maxerror_nanosec = 2500;
}

/*
 * The text format as node_exporter parses it: every family's HELP, then
 * TYPE, then its samples, each family once; names hostclock_*, counters
 * ending _total; every sample with the vm label first.
 */
static bool hc_format_ok(const char *text, const char *vm_label, char *msg)
{
	char fam[128] = "", seen[8192] = " ", line[1024], name[128], want[160];
	const char *p = text, *nl;
	int state = 0;	/* 0: want HELP, 1: want TYPE, 2: samples */

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			return snprintf(msg, HC_MSG_LEN, "no newline at the end"), false;
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		p = nl + 1;
		if (!strncmp(line, "# HELP ", 7)) {
			if (sscanf(line + 7, "%127s", name) != 1 || strncmp(name, "hostclock_", 10))
				return snprintf(msg, HC_MSG_LEN, "bad HELP: %.200s", line), false;
			snprintf(want, sizeof(want), " %s ", name);
			if (strstr(seen, want))
				return snprintf(msg, HC_MSG_LEN, "family twice: %.100s", name), false;
			if (strlen(seen) + strlen(want) < sizeof(seen))
				strcat(seen, name), strcat(seen, " ");
			snprintf(fam, sizeof(fam), "%s", name);
			state = 1;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			char type[32];

			if (state != 1 || sscanf(line + 7, "%127s %31s", name, type) != 2 ||
			    strcmp(name, fam))
				return snprintf(msg, HC_MSG_LEN, "TYPE out of place: %.200s", line), false;
			if (!strcmp(type, "counter") !=
			    (strlen(name) > 6 && !strcmp(name + strlen(name) - 6, "_total")))
				return snprintf(msg, HC_MSG_LEN, "counter naming: %.200s", line), false;
			state = 2;
		} else {
			snprintf(want, sizeof(want), "%s{vm=\"%s\"", fam, vm_label);
			if (state != 2 || strncmp(line, want, strlen(want)) ||
			    !strchr(line, '}') || strchr(line, '}')[1] != ' ')
				return snprintf(msg, HC_MSG_LEN, "sample out of place: %.200s", line), false;
		}
	}
	return snprintf(msg, HC_MSG_LEN, "ok"), state == 2;
}

static void hc_test_format(void)
{
	static struct hcd_agent a;
	static struct hcd_metrics m = { .dir_fd = -1, .lock_fd = -1 };
	static char buf[HCD_METRICS_BUF];
	char msg[HC_MSG_LEN];
	int len;

	hc_fake_agent(&a);
	snprintf(m.vm, sizeof(m.vm), "%s", "web \"1\"\\\n\xff");
	m.start_ns = 1700000000LL * NSEC_PER_SEC;
	len = hcd_metrics_format(&m, &a, buf, sizeof(buf));
	snprintf(msg, sizeof(msg), "length %d", len);
	hc_report("metrics format", "fits, under 12 KiB", len > 0 && len < 12288, msg);
	hc_report("metrics format", "structure: HELP, TYPE, samples; vm label escaped",
		  len > 0 && hc_format_ok(buf, "web \\\"1\\\"\\\\\\n?", msg), msg);
#define HC_HAS(what, text) \
	hc_report("metrics format", what, len > 0 && strstr(buf, text), text)
	HC_HAS("updates counter", "\nhostclock_page_updates_total{vm=\"web \\\"1\\\"\\\\\\n?\"} 42\n");
	HC_HAS("status state set: synchronized 1",
	       "hostclock_clock_status{vm=\"web \\\"1\\\"\\\\\\n?\",status=\"synchronized\"} 1\n");
	HC_HAS("status state set: freerunning 0", ",status=\"freerunning\"} 0\n");
	HC_HAS("page validation names the failed check", ",error=\"bad_magic\"} 1\n");
	HC_HAS("last update as exact seconds", "} 1700000000.123456789\n");
	HC_HAS("start time", "hostclock_agent_start_time_seconds{vm=\"web \\\"1\\\"\\\\\\n?\"} 1700000000.000000000\n");
	HC_HAS("interval", "} 0.250000000\n");
	HC_HAS("maxerror published as valid", "hostclock_time_maxerror_seconds{");
	HC_HAS("maxerror value", "} 0.000002500\n");
	HC_HAS("mapping mode", ",mode=\"pairing\"} 1\n");
	HC_HAS("mapping uncertainty ticks", "} 1500\n");
	HC_HAS("rejections by reason", ",reason=\"rtt\"} 5\n");
	HC_HAS("resizes", "hostclock_region_resizes_total{");
	HC_HAS("host adjtimex state", ",state=\"ins\"} 1\n");
	HC_HAS("host maxerror", "hostclock_host_maxerror_seconds{vm=\"web \\\"1\\\"\\\\\\n?\"} 0.000123000\n");
	HC_HAS("host frequency, negative", "} -1.5\n");
	HC_HAS("host synchronized (no STA_UNSYNC)", "hostclock_host_synchronized{vm=\"web \\\"1\\\"\\\\\\n?\"} 1\n");
	hc_report("metrics format", "esterror absent when not valid", len > 0 &&
		  !strstr(buf, "hostclock_time_esterror_seconds"), "");

	a.last_timex.state = -1;
	a.last_timex.status = STA_UNSYNC;
	a.faults.frozen = true;
	len = hcd_metrics_format(&m, &a, buf, sizeof(buf));
	HC_HAS("failed adjtimex: state error", ",state=\"error\"} 1\n");
	HC_HAS("failed adjtimex: not synchronized", "hostclock_host_synchronized{vm=\"web \\\"1\\\"\\\\\\n?\"} 0\n");
	HC_HAS("an injected fault shows", "hostclock_faults_active{vm=\"web \\\"1\\\"\\\\\\n?\"} 1\n");
#undef HC_HAS
	len = hcd_metrics_format(&m, &a, buf, 2000);
	hc_report("metrics format", "a buffer too small is an error, not a cut file", len == -1, "");
}

static void hc_slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/* drop the line of the one series that changes at every format: the time */
static void hc_drop_write_time(char *text)
{
	char *l = strstr(text, "\nhostclock_metrics_timestamp_seconds{"), *nl;

	if (l && (nl = strchr(l + 1, '\n')))
		memmove(l, nl, strlen(nl) + 1);
}

static bool hc_open_refused(const char *dir, const char *name, const char *expect, char *msg)
{
	static struct hcd_metrics m;
	char why[512] = "";

	if (!hcd_metrics_open(&m, dir, name, NSEC_PER_SEC, why, sizeof(why))) {
		hcd_metrics_close(&m);
		snprintf(msg, HC_MSG_LEN, "%s accepted", dir);
		return false;
	}
	snprintf(msg, HC_MSG_LEN, "%s", why);
	return strstr(why, expect) != NULL;
}

/*
 * A reader opening the file over and over while the writer replaces it
 * with contents of alternating length: every read must be one whole file.
 */
static bool hc_reader_sees_whole_files(struct hcd_metrics *m, struct hcd_agent *a,
				       const char *path, char *msg)
{
	static char buf[HCD_METRICS_BUF], got[HCD_METRICS_BUF];
	int len_a, len_b, status, i, pfd[2];
	long counts[3] = { 0, 0, 0 }, last[3] = { 0, 0, 0 };	/* reads, bad ones, a bad length */
	pid_t child;

	a->updates = 1;
	len_a = hcd_metrics_format(m, a, buf, sizeof(buf));
	a->updates = 123456789012345ULL;
	len_b = hcd_metrics_format(m, a, buf, sizeof(buf));
	/* the file the reader starts on: one of the two */
	a->updates = 1;
	if (hcd_metrics_write(m, a) || pipe(pfd))
		return false;
	child = fork();
	if (child == 0) {
		close(pfd[0]);
		for (;;) {
			int fd = open(path, O_RDONLY);
			ssize_t n, tot = 0;

			if (fd < 0) {
				counts[1]++;
			} else {
				while ((n = read(fd, got + tot, sizeof(got) - 1 - tot)) > 0)
					tot += n;
				close(fd);
				if (tot != len_a && tot != len_b) {
					counts[1]++;
					counts[2] = tot;
				}
			}
			if (++counts[0] % 16 == 0 &&
			    write(pfd[1], counts, sizeof(counts)) != sizeof(counts))
				_exit(0);
		}
	}
	close(pfd[1]);
	for (i = 0; i < 3000; i++) {
		a->updates = i & 1 ? 1 : 123456789012345ULL;
		if (hcd_metrics_write(m, a))
			break;
	}
	kill(child, SIGKILL);
	/* the child's last report */
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	while (read(pfd[0], counts, sizeof(counts)) == sizeof(counts))
		memcpy(last, counts, sizeof(last));
	close(pfd[0]);
	waitpid(child, &status, 0);
	snprintf(msg, HC_MSG_LEN, "%d writes, %ld reads, %ld torn or missing (lengths %d, %d; last bad %ld)",
		 i, last[0], last[1], len_a, len_b, last[2]);
	return i == 3000 && last[0] > 0 && last[1] == 0;
}

static void hc_test_write(void)
{
	char dir[256], path[400], sub[400], msg[HC_MSG_LEN], why[512] = "";
	static char want[HCD_METRICS_BUF], got[HCD_METRICS_BUF];
	static struct hcd_metrics m, m2;
	static struct hcd_agent a;
	struct passwd *nobody = getpwnam("nobody");
	struct stat st;
	mode_t old;
	int fd;

	hc_fake_agent(&a);
	snprintf(dir, sizeof(dir), "%s/textfile", hc_tmpdir());
	mkdir(dir, 0755);
	chmod(dir, 0755);
	hc_report("metrics write", "open", !hcd_metrics_open(&m, dir, "vm1", NSEC_PER_SEC, why,
							      sizeof(why)), why);
	/* a leftover temporary name as a symlink: never written through */
	snprintf(path, sizeof(path), "%s/victim", hc_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0 && write(fd, "keep", 4) == 4)
		close(fd);
	snprintf(sub, sizeof(sub), "%s/.hostclock-vm1.prom.tmp", dir);
	if (symlink(path, sub))
		hc_report("metrics write", "symlink for the test", false, strerror(errno));
	old = umask(077);	/* the file is 0644 whatever the umask */
	hc_report("metrics write", "write", !hcd_metrics_write(&m, &a), "");
	umask(old);
	hc_slurp(path, got, sizeof(got));
	hc_report("metrics write", "a symlink at the temporary name is not followed",
		  !strcmp(got, "keep"), got);
	snprintf(path, sizeof(path), "%s/hostclock-vm1.prom", dir);
	stat(path, &st);
	snprintf(msg, sizeof(msg), "mode %04o", st.st_mode & 07777);
	hc_report("metrics write", "file mode 0644", S_ISREG(st.st_mode) &&
		  (st.st_mode & 07777) == 0644, msg);
	hcd_metrics_format(&m, &a, want, sizeof(want));
	hc_slurp(path, got, sizeof(got));
	hc_drop_write_time(want);
	hc_drop_write_time(got);
	hc_report("metrics write", "content is the formatted text (but its time)",
		  *want && !strcmp(got, want), "");
	hc_report("metrics write", "no temporary file left", access(sub, F_OK) && errno == ENOENT,
		  sub);
	hc_report("metrics write", "a second agent with the same name is refused",
		  hc_open_refused(dir, "vm1", "another hostclockd writes metrics", msg), msg);
	hc_report("metrics write", "a reader never sees half a file",
		  hc_reader_sees_whole_files(&m, &a, path, msg), msg);

	hcd_metrics_close(&m);
	hc_report("metrics write", "close removes the file", access(path, F_OK) && errno == ENOENT,
		  path);
	hc_report("metrics write", "reopen after close",
		  !hcd_metrics_open(&m, dir, "vm1", NSEC_PER_SEC, why, sizeof(why)), why);
	hcd_metrics_close(&m);

	/* the agent's way: the loop formats, the thread writes */
	hc_report("metrics write", "open for the writer thread",
		  !hcd_metrics_open(&m, dir, "vm1", NSEC_PER_SEC, why, sizeof(why)) &&
		  !hcd_metrics_start(&m), why);
	a.updates = 77;
	hcd_metrics_tick(&m, &a);
	hcd_metrics_tick(&m, &a);	/* not due yet: nothing more */
	for (fd = 0; fd < 200 && access(path, F_OK); fd++)
		usleep(10000);
	hc_slurp(path, got, sizeof(got));
	hc_report("metrics write", "the thread writes what the loop formatted",
		  strstr(got, "hostclock_page_updates_total{vm=\"vm1\"} 77\n") != NULL, path);
	hcd_metrics_close(&m);
	hc_report("metrics write", "close stops the thread and removes the file",
		  access(path, F_OK) && errno == ENOENT, path);

	/* an untrusted name cannot leave the directory */
	hc_report("metrics write", "open with a hostile name",
		  !hcd_metrics_open(&m2, dir, "../../etc/x y", NSEC_PER_SEC, why, sizeof(why)), why);
	hc_report("metrics write", "its file stays in the directory, sanitized",
		  !strcmp(m2.file, "hostclock-.._.._etc_x_y.prom"), m2.file);
	hc_report("metrics write", "and is written there", !hcd_metrics_write(&m2, &a), "");
	snprintf(path, sizeof(path), "%s/hostclock-.._.._etc_x_y.prom", dir);
	hc_report("metrics write", "found there", !access(path, F_OK), path);
	hcd_metrics_close(&m2);

	snprintf(sub, sizeof(sub), "%s/open", hc_tmpdir());
	mkdir(sub, 0777);
	chmod(sub, 0777);
	hc_report("metrics write", "a world-writable directory is refused",
		  hc_open_refused(sub, "vm1", "writable by everyone", msg), msg);
	snprintf(path, sizeof(path), "%s/textfile-link", hc_tmpdir());
	if (symlink(dir, path))
		hc_report("metrics write", "symlink for the test", false, strerror(errno));
	hc_report("metrics write", "a symlinked directory is refused",
		  hc_open_refused(path, "vm1", "symlink", msg), msg);
	if (geteuid() == 0 && nobody) {
		snprintf(sub, sizeof(sub), "%s/nobodys", hc_tmpdir());
		mkdir(sub, 0755);
		if (chown(sub, nobody->pw_uid, (gid_t)-1))
			hc_report("metrics write", "chown for the test", false, strerror(errno));
		hc_report("metrics write", "another user's directory is refused",
			  hc_open_refused(sub, "vm1", "owned by uid", msg), msg);
		/* a root-owned directory under that user's is accepted */
		snprintf(path, sizeof(path), "%.300s/rootdir", sub);
		mkdir(path, 0755);
		hc_report("metrics write", "root's directory under another user's is accepted",
			  !hcd_metrics_open(&m, path, "vm1", NSEC_PER_SEC, why, sizeof(why)), why);
		hcd_metrics_close(&m);
	}
	hc_report("metrics write", "a missing directory is refused",
		  hc_open_refused("/nonexistent/textfile", "vm1", "No such file", msg), msg);
}

void hc_suite_metrics(void)
{
	hc_test_escape();
	hc_test_format();
	hc_test_write();
}
