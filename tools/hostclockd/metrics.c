// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's state as Prometheus metrics, in a file for node_exporter's
 * textfile collector (--metrics-dir).
 *
 * Why a file and not an endpoint: the agent serves untrusted guests and
 * shares the host with untrusted users; a listening socket would be one
 * more thing they can connect to, hold open and make the page writer's
 * loop wait for. A file in a directory only root can write asks nothing of
 * anyone: node_exporter (already there, with its own TLS and access rules)
 * reads it, and what it holds is what PATH.ro.ctl tells any local user.
 *
 * The file is written whole and renamed over the old one, so that a scrape
 * never sees half of it: a temporary name in the same directory, mode
 * 0644, then renameat(). No fsync(): a file lost in a crash is rewritten
 * within one interval. The loop only formats the file; a thread writes
 * it, so that a slow file system never delays a page. Each
 * agent holds .hostclock-NAME.lock in the directory, so two agents cannot
 * write the same file. Only what the agent itself decided goes in (the
 * page it published, its own counters); nothing is read back from the
 * region, which the guest can write.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "hcd.h"

/* A write slower than this says the directory is on something slow. */
#define HCD_METRICS_SLOW_NS	(100ULL * 1000000)

/*
 * Length of the valid UTF-8 sequence at @s (shortest form, no surrogate,
 * at most U+10FFFF), or 0. Stops at the terminating NUL, which is no
 * continuation byte.
 */
static size_t hcd_utf8_len(const unsigned char *s)
{
	size_t n = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : 2, i;
	u32 cp;

	if (*s < 0xc2 || *s > 0xf4)
		return 0;
	cp = *s & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/**
 * hcd_metrics_escape() - a label value as the text format wants it
 * @in: an operator-chosen name: any bytes
 * @out: the escaped value, always terminated
 * @len: size of @out, at least 1
 *
 * Backslash, double quote and newline are escaped as the format says;
 * other control characters and bytes that are not valid UTF-8 (which would
 * make node_exporter reject the whole file) become '?'. An escape is never
 * cut in half: a value too long for @out is truncated before it.
 *
 * Return: the length written.
 */
size_t hcd_metrics_escape(const char *in, char *out, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, n, adv;
	const char *put;
	char esc[2];

	while (*s) {
		put = esc;
		n = 1;
		adv = 1;
		if (*s == '\\' || *s == '"' || *s == '\n') {
			esc[0] = '\\';
			esc[1] = *s == '\n' ? 'n' : (char)*s;
			n = 2;
		} else if (*s < 0x20 || *s == 0x7f) {
			esc[0] = '?';
		} else if (*s < 0x80) {
			put = (const char *)s;
		} else if (hcd_utf8_len(s)) {
			put = (const char *)s;
			n = hcd_utf8_len(s);
			adv = n;
		} else {
			esc[0] = '?';
		}
		if (o + n >= len)
			break;
		memcpy(out + o, put, n);
		o += n;
		s += adv;
	}
	out[o] = '\0';
	return o;
}

/* The file's name from the label: letters, digits, '.', '_', '-' only. */
static void hcd_metrics_file_name(const char *name, char *out, size_t len)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++) {
		char c = name[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' ? c : '_';
	}
	out[i] = '\0';
}

/*
 * The directory, opened once, every component without following a
 * symlink; every later access is relative to it. Only the directory itself
 * must be root's or the agent's and writable by nobody else: that is what
 * keeps other users from making our names point elsewhere. Its parents
 * may be another user's (Debian gives /var/lib/prometheus to prometheus):
 * such a user can move directories it owns, but cannot make a directory of
 * root's appear under its own, so the walk still ends in root's one or is
 * refused.
 */
static int hcd_metrics_dir_open(const char *dir, char *why, size_t why_len)
{
	char path[4096], *save = NULL, *comp;
	struct stat st;
	int fd, next;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return snprintf(why, why_len, "%s: path too long", dir), -1;
	fd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (comp = strtok_r(path, "/", &save); comp && fd >= 0;
	     comp = strtok_r(NULL, "/", &save)) {
		if (!strcmp(comp, "..")) {
			close(fd);
			return snprintf(why, why_len, "%s: '..' in the path is refused", dir), -1;
		}
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			int err = errno;

			snprintf(why, why_len, "%s: %s%s", dir, strerror(err), err == ENOTDIR ?
				 " (or a symlink: symlinks are refused on the path)" : "");
			close(fd);
			return -1;
		}
		close(fd);
		fd = next;
	}
	if (fd < 0)
		return snprintf(why, why_len, "%s: %s", dir, strerror(errno)), -1;
	if (fstat(fd, &st)) {
		snprintf(why, why_len, "%s: %s", dir, strerror(errno));
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, why_len,
			 "%s: owned by uid %u, not root or the agent: its owner could replace the agent's files",
			 dir, (unsigned int)st.st_uid);
	} else if (st.st_mode & 0022) {
		snprintf(why, why_len,
			 "%s: writable by %s (mode %04o): other users could make the agent's names point elsewhere",
			 dir, st.st_mode & 0002 ? "everyone" : "its group",
			 (unsigned int)(st.st_mode & 07777));
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/**
 * hcd_metrics_open() - take a metrics file name in a directory
 * @m: the writer
 * @dir: node_exporter's textfile directory
 * @name: the vm label, the region's file name unless --metrics-name
 * @interval_ns: how often to write
 * @why: on failure, what was wrong
 * @why_len: size of @why
 *
 * Return: 0, or -1 (the directory is refused, or another agent writes
 * this name).
 */
int hcd_metrics_open(struct hcd_metrics *m, const char *dir, const char *name,
		     u64 interval_ns, char *why, size_t why_len)
{
	char base[HCD_METRICS_NAME_MAX + 1], lock[sizeof(base) + 32];
	struct stat st;

	memset(m, 0, sizeof(*m));
	m->dir_fd = -1;
	m->lock_fd = -1;
	m->interval_ns = interval_ns;
	if (!*name || strlen(name) > HCD_METRICS_NAME_MAX)
		return snprintf(why, why_len, "metrics name must be 1..%d bytes",
				HCD_METRICS_NAME_MAX), -1;
	snprintf(m->vm, sizeof(m->vm), "%s", name);
	hcd_metrics_file_name(name, base, sizeof(base));
	snprintf(m->file, sizeof(m->file), "hostclock-%s.prom", base);
	/* not *.prom: node_exporter never reads a half-written file */
	snprintf(m->tmp, sizeof(m->tmp), ".hostclock-%s.prom.tmp", base);
	snprintf(lock, sizeof(lock), ".hostclock-%s.lock", base);

	m->dir_fd = hcd_metrics_dir_open(dir, why, why_len);
	if (m->dir_fd < 0)
		return -1;
	m->lock_fd = openat(m->dir_fd, lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (m->lock_fd < 0 || fstat(m->lock_fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, why_len, "%s/%s: %s", dir, lock,
			 m->lock_fd < 0 ? strerror(errno) : "not a regular file");
		goto fail;
	}
	if (flock(m->lock_fd, LOCK_EX | LOCK_NB)) {
		snprintf(why, why_len, "%s/%s: %s", dir, lock,
			 errno == EWOULDBLOCK ?
			 "another hostclockd writes metrics under this name; give one --metrics-name" :
			 strerror(errno));
		goto fail;
	}
	m->start_ns = hcd_clock_ns(CLOCK_REALTIME);
	return 0;
fail:
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	close(m->dir_fd);
	m->lock_fd = -1;
	m->dir_fd = -1;
	return -1;
}

/* ---- the text format ---- */

struct hcd_out {
	char *buf;
	size_t len;
	size_t pos;
	bool overflow;
	char vm[3 * HCD_METRICS_NAME_MAX + 1];	/* escaped */
};

static void hcd_put(struct hcd_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void hcd_vput(struct hcd_out *o, const char *fmt, va_list ap)
{
	int n;

	if (o->overflow)
		return;
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	if (n < 0 || (size_t)n >= o->len - o->pos) {
		o->overflow = true;
		return;
	}
	o->pos += n;
}

static void hcd_put(struct hcd_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hcd_vput(o, fmt, ap);
	va_end(ap);
}

static void hcd_family(struct hcd_out *o, const char *name, const char *type,
		       const char *help)
{
	hcd_put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* one sample: NAME{vm="..."[,EXTRA]} VALUE; @extra holds fixed label text */
static void hcd_sample(struct hcd_out *o, const char *name, const char *extra,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void hcd_sample(struct hcd_out *o, const char *name, const char *extra,
		       const char *fmt, ...)
{
	va_list ap;

	hcd_put(o, "%s{vm=\"%s\"%s%s} ", name, o->vm, extra ? "," : "", extra ? extra : "");
	va_start(ap, fmt);
	hcd_vput(o, fmt, ap);
	va_end(ap);
	hcd_put(o, "\n");
}

static void hcd_counter(struct hcd_out *o, const char *name, const char *help, u64 v)
{
	hcd_family(o, name, "counter", help);
	hcd_sample(o, name, NULL, "%llu", (unsigned long long)v);
}

static void hcd_gauge_u64(struct hcd_out *o, const char *name, const char *help, u64 v)
{
	hcd_family(o, name, "gauge", help);
	hcd_sample(o, name, NULL, "%llu", (unsigned long long)v);
}

static void hcd_gauge_double(struct hcd_out *o, const char *name, const char *help,
			     double v)
{
	hcd_family(o, name, "gauge", help);
	hcd_sample(o, name, NULL, "%.9g", v);
}

/* nanoseconds as exact decimal seconds */
static void hcd_gauge_ns(struct hcd_out *o, const char *name, const char *help, s64 ns)
{
	u64 mag = ns < 0 ? -(u64)ns : (u64)ns;

	hcd_family(o, name, "gauge", help);
	hcd_sample(o, name, NULL, "%s%llu.%09llu", ns < 0 ? "-" : "",
		   (unsigned long long)(mag / NSEC_PER_SEC),
		   (unsigned long long)(mag % NSEC_PER_SEC));
}

/* a state set: one series per state, 1 for the current one */
static void hcd_state_set(struct hcd_out *o, const char *name, const char *label,
			  const char * const *states, unsigned int count, int current,
			  const char *help)
{
	char extra[64];
	unsigned int i;

	hcd_family(o, name, "gauge", help);
	for (i = 0; i < count; i++) {
		if (!states[i])
			continue;
		snprintf(extra, sizeof(extra), "%s=\"%s\"", label, states[i]);
		hcd_sample(o, name, extra, "%d", (int)i == current);
	}
}

static const char * const hcd_tsc_mode_names[] = {
	[HOSTCLOCK_TSC_NONE] = "none",
	[HOSTCLOCK_TSC_PAIRING] = "pairing",
	[HOSTCLOCK_TSC_KVM] = "kvm",
	[HOSTCLOCK_TSC_OFFSET] = "offset",
	[HOSTCLOCK_TSC_IDENTITY] = "identity",
};

/* adjtimex()'s return value; "error" also for a failed call */
static const char * const hcd_time_state_names[] = {
	[TIME_OK] = "ok", [TIME_INS] = "ins", [TIME_DEL] = "del",
	[TIME_OOP] = "oop", [TIME_WAIT] = "wait", [TIME_ERROR] = "error",
};

static void hcd_metrics_page(struct hcd_out *o, const struct hcd_agent *a)
{
	const struct hostclock_clock *p = &a->published;
	int err = hostclock_clock_validate(p, HOSTCLOCK_REGION_SIZE);
	char extra[64];

	hcd_counter(o, "hostclock_page_updates_total",
		    "Pages published (host, label vm) or new page generations seen (guest, label device).",
		    a->updates);
	hcd_gauge_ns(o, "hostclock_page_last_update_timestamp_seconds",
		     "Host CLOCK_REALTIME of the last published page.", a->last_sample.ns);
	hcd_state_set(o, "hostclock_clock_status", "status", hcd_status_names,
		      HCD_STATUS_COUNT, p->clock_status,
		      "clock_status of the published page (1 for the current one).");
	hcd_family(o, "hostclock_page_error_info", "gauge",
		   "Validation of the page: error is none or the failed check.");
	snprintf(extra, sizeof(extra), "error=\"%s\"", err ? hostclock_err_name(err) : "none");
	hcd_sample(o, "hostclock_page_error_info", extra, "1");
	hcd_counter(o, "hostclock_disruptions_total",
		    "Disruption markers published (host, the agent's start included) or new ones seen (guest).",
		    a->disruptions);
	hcd_gauge_u64(o, "hostclock_vm_generation", "vm_generation_counter of the page.",
		      a->vm_generation);
	if (p->flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID)
		hcd_gauge_ns(o, "hostclock_time_maxerror_seconds",
			     "time_maxerror of the page (host: when published; guest: grown to now); absent when not valid.",
			     (s64)p->time_maxerror_nanosec);
	if (p->flags & VMCLOCK_FLAG_TIME_ESTERROR_VALID)
		hcd_gauge_ns(o, "hostclock_time_esterror_seconds",
			     "time_esterror of the page (host: when published; guest: grown to now); absent when not valid.",
			     (s64)p->time_esterror_nanosec);
	hcd_gauge_u64(o, "hostclock_faults_active",
		      "1 while an injected fault (--enable-faults) is in force.",
		      a->faults.frozen || a->faults.corrupt || a->faults.forced_status >= 0 ||
		      a->faults.forced_leap >= 0 || a->faults.forced_maxerror_ns >= 0 ||
		      a->ref.step_ns || a->ref.rate_ppb);
}

static void hcd_metrics_mapping(struct hcd_out *o, const struct hcd_agent *a)
{
	static const char * const reasons[] = { "order", "rtt", "stale", "outlier", "skew" };
	const struct hcd_pair_stats *ps = &a->pair.stats;
	const u64 rejected[] = {
		ps->rejected_order, ps->rejected_rtt, ps->rejected_stale,
		ps->rejected_outlier, ps->rejected_skew,
	};
	long double ns_per_tick = 0;
	char extra[32];
	unsigned int i;

	hcd_state_set(o, "hostclock_tsc_mapping_mode", "mode", hcd_tsc_mode_names,
		      ARRAY_SIZE(hcd_tsc_mode_names), a->map.mode,
		      "How the agent maps host TSC to guest TSC (1 for the mode in use).");
	hcd_gauge_u64(o, "hostclock_tsc_mapping_valid", "1 once a guest TSC mapping is known.",
		      a->map.valid);
	hcd_gauge_u64(o, "hostclock_tsc_mapping_uncertainty_ticks",
		      "Half-width of the agent's guest TSC mapping, guest TSC ticks.",
		      a->map.uncertainty);
	if (a->have_fit && a->map.valid)
		ns_per_tick = a->last_fit.ns_per_tick / hcd_tscmap_ratio(&a->map);
	hcd_gauge_double(o, "hostclock_tsc_mapping_uncertainty_seconds",
			 "Half-width of the guest TSC mapping as time; 0 without a mapping.",
			 (double)(a->map.uncertainty * ns_per_tick) * 1e-9);
	hcd_gauge_double(o, "hostclock_fit_residual_seconds",
			 "RMS residual of the host clock period fit.",
			 a->have_fit ? a->last_fit.residual_ns * 1e-9 : 0);

	hcd_counter(o, "hostclock_pairing_bursts_total",
		    "Pairing bursts served (host) or answered (guest).", ps->bursts);
	hcd_counter(o, "hostclock_pairing_exchanges_total", "Pairing exchanges served.",
		    ps->exchanges);
	hcd_counter(o, "hostclock_pairing_accepted_total", "Pairing exchanges accepted.",
		    ps->accepted);
	hcd_family(o, "hostclock_pairing_rejected_total", "counter",
		   "Pairing exchanges or ratio fits rejected, by reason.");
	for (i = 0; i < ARRAY_SIZE(reasons); i++) {
		snprintf(extra, sizeof(extra), "reason=\"%s\"", reasons[i]);
		hcd_sample(o, "hostclock_pairing_rejected_total", extra, "%llu",
			   (unsigned long long)rejected[i]);
	}
	hcd_counter(o, "hostclock_pairing_timeouts_total",
		    "Pairing exchanges not completed in time (host: by the guest; guest: by the agent).",
		    ps->timeouts);
	hcd_counter(o, "hostclock_pairing_unsolicited_total",
		    "Exchanges the guest started unasked (not served).", ps->unsolicited);
	hcd_counter(o, "hostclock_pairing_jumps_total",
		    "Mappings learned again after a break (each is a disruption).", ps->jumps);
	hcd_gauge_u64(o, "hostclock_pairing_rtt_ticks",
		      "Pairing round trip, guest TSC ticks (host: last accepted exchange; guest: best of the last burst).",
		      ps->last_rtt);
}

static void hcd_metrics_host(struct hcd_out *o, const struct hcd_agent *a)
{
	const struct hcd_timex *tx = &a->last_timex;
	int state = tx->state >= 0 && tx->state < (int)ARRAY_SIZE(hcd_time_state_names) ?
		    tx->state : TIME_ERROR;

	hcd_gauge_u64(o, "hostclock_host_synchronized",
		      "1 when the host kernel says its clock is synchronized (adjtimex).",
		      tx->state >= 0 && !(tx->status & STA_UNSYNC) && tx->state != TIME_ERROR);
	hcd_state_set(o, "hostclock_host_time_state", "state", hcd_time_state_names,
		      ARRAY_SIZE(hcd_time_state_names), state,
		      "adjtimex() return value (error also when the call failed).");
	hcd_gauge_ns(o, "hostclock_host_maxerror_seconds", "The host kernel's maxerror.",
		     (s64)tx->maxerror_us * 1000);
	hcd_gauge_ns(o, "hostclock_host_esterror_seconds", "The host kernel's esterror.",
		     (s64)tx->esterror_us * 1000);
	hcd_gauge_double(o, "hostclock_host_frequency_ppm",
			 "The host kernel's frequency offset (adjtimex freq), ppm.",
			 tx->freq / 65536.0);
	hcd_gauge_u64(o, "hostclock_host_tai_offset_seconds", "TAI - UTC of the host kernel.",
		      tx->tai > 0 ? (u64)tx->tai : 0);
	hcd_gauge_u64(o, "hostclock_host_errors_trusted",
		      "1 while the page carries the host's maxerror/esterror (--host-errors).",
		      a->host_errors_trusted);
	hcd_counter(o, "hostclock_host_rate_changes_total",
		    "Changes of the host clock's rate seen between updates.", a->freq_changes);
}

/**
 * hcd_metrics_format() - the metrics file's content
 * @m: the writer (name, start time, its own counters)
 * @a: the agent
 * @buf: where
 * @len: its size
 *
 * Return: the length, or -1 if it did not fit (nothing usable in @buf).
 */
int hcd_metrics_format(const struct hcd_metrics *m, const struct hcd_agent *a,
		       char *buf, size_t len)
{
	struct hcd_out o = { .buf = buf, .len = len };
	char extra[128];

	if (!len)
		return -1;
	buf[0] = '\0';
	hcd_metrics_escape(m->vm, o.vm, sizeof(o.vm));

	hcd_family(&o, "hostclock_agent_info", "gauge",
		   "The agent serving this VM: version, time type; always 1.");
	snprintf(extra, sizeof(extra), "version=\"%s\",time_type=\"%s\"", HCD_VERSION,
		 a->opts.time_type == VMCLOCK_TIME_TAI ? "tai" : "utc");
	hcd_sample(&o, "hostclock_agent_info", extra, "1");
	hcd_gauge_ns(&o, "hostclock_agent_start_time_seconds",
		     "When this agent run started, host CLOCK_REALTIME.", m->start_ns);
	hcd_gauge_ns(&o, "hostclock_metrics_timestamp_seconds",
		     "When this file was written, host CLOCK_REALTIME.",
		     hcd_clock_ns(CLOCK_REALTIME));
	hcd_gauge_ns(&o, "hostclock_agent_update_interval_seconds",
		     "The agent's update interval (--interval).", (s64)a->opts.interval_ns);
	hcd_counter(&o, "hostclock_region_resizes_total",
		    "Times the region's size was restored after someone resized it.",
		    a->region->resizes);
	hcd_counter(&o, "hostclock_region_overwrites_total",
		    "Times another writer replaced the published region (a migration or snapshot restore copying the source's) and the agent adopted it.",
		    a->overwrites);
	hcd_counter(&o, "hostclock_control_refused_total",
		    "Control requests and peers refused.", a->control_refused);
	hcd_counter(&o, "hostclock_metrics_write_errors_total",
		    "Metrics files this agent run failed to write.",
		    __atomic_load_n(&m->errors, __ATOMIC_RELAXED));
	hcd_metrics_page(&o, a);
	hcd_metrics_mapping(&o, a);
	hcd_metrics_host(&o, a);
	return o.overflow ? -1 : (int)o.pos;
}

static int hcd_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= n;
	}
	return 0;
}

/* The file from @buf: temporary name, 0644, renamed over the old one. */
static int hcd_metrics_store(const struct hcd_metrics *m, const char *buf, size_t len)
{
	int fd, err;

	/* a previous run's leftover; the lock says no other agent uses it */
	unlinkat(m->dir_fd, m->tmp, 0);
	fd = openat(m->dir_fd, m->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0644);
	if (fd < 0)
		return -errno;
	/* 0644 whatever the umask: node_exporter runs as another user */
	err = fchmod(fd, 0644) ? -errno : hcd_write_all(fd, buf, len);
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(m->dir_fd, m->tmp, m->dir_fd, m->file))
		err = -errno;
	if (err)
		unlinkat(m->dir_fd, m->tmp, 0);
	return err;
}

/**
 * hcd_metrics_write() - format and write the file now, in this thread
 * @m: the writer
 * @a: the agent
 *
 * Return: 0, or a negative errno (the old file, if any, stays as it was).
 */
int hcd_metrics_write(struct hcd_metrics *m, const struct hcd_agent *a)
{
	static char buf[HCD_METRICS_BUF];
	int len = hcd_metrics_format(m, a, buf, sizeof(buf));

	return len < 0 ? -EOVERFLOW : hcd_metrics_store(m, buf, len);
}

/*
 * The writer thread: takes the newest formatted file and writes it. Only
 * the buffer handed over, the counters and the logs are shared with the
 * loop; the agent's state is read by the loop alone, when it formats.
 */
static void *hcd_metrics_thread(void *arg)
{
	struct hcd_metrics *m = arg;
	u64 start, took;
	int len, err;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		while (!m->pending_len && !m->stop)
			pthread_cond_wait(&m->cond, &m->lock);
		if (m->stop)
			break;
		len = m->pending_len;
		memcpy(m->writing, m->pending, len);
		m->pending_len = 0;
		pthread_mutex_unlock(&m->lock);

		start = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
		err = hcd_metrics_store(m, m->writing, len);
		took = (u64)hcd_clock_ns(CLOCK_MONOTONIC) - start;
		if (err) {
			__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
			if (hcd_ratelimit(&m->err_log, start, 60ULL * NSEC_PER_SEC))
				hcd_warn("metrics: writing %s: %s (%llu failures so far)", m->file,
					 strerror(-err),
					 (unsigned long long)__atomic_load_n(&m->errors,
									     __ATOMIC_RELAXED));
		} else if (took > HCD_METRICS_SLOW_NS &&
			   hcd_ratelimit(&m->slow_log, start, 600ULL * NSEC_PER_SEC)) {
			hcd_warn("metrics: writing %s took %llu ms: the metrics lag behind; a local or memory file system is faster",
				 m->file, (unsigned long long)(took / 1000000));
		}
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/**
 * hcd_metrics_start() - start the writer thread
 * @m: the writer, opened
 *
 * After daemon(): a thread does not survive fork(). The caller has
 * blocked the signals the loop takes through signalfd; the thread
 * inherits that mask, so they keep going to the loop.
 *
 * Return: 0 or a negative errno.
 */
int hcd_metrics_start(struct hcd_metrics *m)
{
	int err;

	if (m->dir_fd < 0)
		return 0;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	err = pthread_create(&m->thread, NULL, hcd_metrics_thread, m);
	if (err)
		return -err;
	m->thread_started = true;
	return 0;
}

/**
 * hcd_metrics_tick() - hand the writer a fresh file if one is due; called
 *	from the loop at each watch
 * @m: the writer
 * @a: the agent
 *
 * At most once per interval the loop formats the file (about 20 us here)
 * and hands it to the writer thread, which does the file system calls: a
 * rename can wait for the file system (ext4 writes out a file renamed
 * over another), and the loop must never wait for a disk. If the thread is
 * still busy, the newer file replaces the one waiting.
 */
void hcd_metrics_tick(struct hcd_metrics *m, const struct hcd_agent *a)
{
	u64 now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
	int len;

	if (!m->thread_started || (m->next_ns && now < m->next_ns))
		return;
	m->next_ns = now + m->interval_ns;
	len = hcd_metrics_format(m, a, m->formatted, sizeof(m->formatted));
	pthread_mutex_lock(&m->lock);
	if (len > 0) {
		memcpy(m->pending, m->formatted, len);
		m->pending_len = len;
		pthread_cond_signal(&m->cond);
	} else {
		/* a bug, not the directory: the buffer is twice what is used */
		__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&m->lock);
	if (len < 0 && hcd_ratelimit(&m->err_log, now, 60ULL * NSEC_PER_SEC))
		hcd_warn("metrics: %s does not fit in %d bytes", m->file, HCD_METRICS_BUF);
}

/**
 * hcd_metrics_close() - stop the writer and remove the file: a stopped
 *	agent has no metrics
 * @m: the writer
 *
 * The thread finishes the write it is in first, so that nothing is
 * written after the file is removed. The lock file stays, as the region's
 * does: removing it could let two agents hold locks on two different
 * files of the same name.
 */
void hcd_metrics_close(struct hcd_metrics *m)
{
	if (m->dir_fd < 0)
		return;
	if (m->thread_started) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
		m->thread_started = false;
	}
	unlinkat(m->dir_fd, m->file, 0);
	unlinkat(m->dir_fd, m->tmp, 0);
	close(m->lock_fd);
	close(m->dir_fd);
	m->lock_fd = -1;
	m->dir_fd = -1;
}
