/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostclockd: the host agent that publishes the host's clock in a hostclock
 * region. Declarations shared by the agent's files, its tools and its tests.
 */
#ifndef _HOSTCLOCKD_H
#define _HOSTCLOCKD_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "hostclock/core.h"
#include "hostclock/ext_abi.h"

#define HCD_VERSION		"0.1.0"

/* ---- logging (log.c) ---- */

enum hcd_log_level { HCD_LOG_ERR, HCD_LOG_WARN, HCD_LOG_INFO, HCD_LOG_DEBUG };

void hcd_log_setup(enum hcd_log_level level, bool use_syslog);
int hcd_log_level_parse(const char *name, enum hcd_log_level *level);
void hcd_log(enum hcd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define hcd_err(...)	hcd_log(HCD_LOG_ERR, __VA_ARGS__)
#define hcd_warn(...)	hcd_log(HCD_LOG_WARN, __VA_ARGS__)
#define hcd_info(...)	hcd_log(HCD_LOG_INFO, __VA_ARGS__)
#define hcd_debug(...)	hcd_log(HCD_LOG_DEBUG, __VA_ARGS__)

/* at most one message per interval; the rest are counted */
struct hcd_ratelimit {
	u64 last_ns;
	u64 suppressed;
};

bool hcd_ratelimit(struct hcd_ratelimit *rl, u64 now_ns, u64 interval_ns);

/* ---- the region file (region.c) ---- */

/**
 * struct hcd_region - a mapped region and the directory it lives in
 * @fd: the region file
 * @dir_fd: the trusted directory (O_PATH) holding it, its lock and sockets
 * @lock_fd: NAME.lock, held exclusively while the agent runs
 * @name: the file name in @dir_fd
 * @path: as given, for messages
 * @dev: device of the file opened, to notice a replacement
 * @ino: inode of the file opened
 * @map: the 8 KiB mapping
 * @page: page 0
 * @ext: page 1
 * @created: this run created the file
 * @bus_faults: SIGBUS on the mapping since the last hcd_region_check()
 * @resizes: times the size was restored
 */
struct hcd_region {
	int fd;
	int dir_fd;
	int lock_fd;
	char name[256];
	const char *path;
	dev_t dev;
	ino_t ino;
	void *map;
	struct vmclock_abi *page;
	struct hostclock_ext *ext;
	bool created;
	unsigned int bus_faults;
	u64 resizes;
};

struct hcd_region_opts {
	const char *path;
	uid_t uid;			/* (uid_t)-1: leave as is */
	gid_t gid;			/* (gid_t)-1: leave as is */
	mode_t mode;			/* for a new file; 0600 by default */
};

enum { HCD_REGION_OK, HCD_REGION_RESIZED, HCD_REGION_REPLACED };

int hcd_dir_open_trusted(const char *dir, char *why, size_t why_len);
int hcd_region_open(const struct hcd_region_opts *opts, struct hcd_region *r,
		    char *why, size_t why_len);
int hcd_region_check(struct hcd_region *r, char *why, size_t why_len);
int hcd_region_guard(struct hcd_region *r, int (*fn)(void *), void *arg);
void hcd_region_close(struct hcd_region *r);

/* ---- publishing with the seqcount protocol (writer.c) ---- */

void hcd_write_page(struct vmclock_abi *page, const struct hostclock_clock *clk,
		    struct vmclock_abi *written);
void hcd_write_page_torn(struct vmclock_abi *page, const struct hostclock_clock *clk,
			 struct vmclock_abi *written);
bool hcd_page_is(const struct vmclock_abi *page, const struct vmclock_abi *img);

/**
 * struct hcd_ext_state - what the agent publishes in page 1
 */
struct hcd_ext_state {
	u32 agent_state;
	u64 heartbeat;
	u64 update_interval_ns;
	u8 tsc_mode;
	u64 tsc_offset_uncertainty;
	u64 pair_rtt;
};

u32 hcd_write_ext(struct hostclock_ext *ext, const struct hcd_ext_state *st);
bool hcd_ext_is(const struct hostclock_ext *ext, const struct hcd_ext_state *st, u32 seq);

/* ---- host clock samples and the period fit (sample.c) ---- */

/**
 * struct hcd_sample - one host clock reading bracketed by two TSC reads
 * @tsc: midpoint of the bracket
 * @ns: CLOCK_REALTIME in ns since the epoch
 * @bracket: width of the bracket in TSC ticks
 * @rate: the host kernel's CLOCK_REALTIME rate against its unsteered rate
 *	(from adjtimex's tick and freq) when the sample was taken; 0 unknown
 */
struct hcd_sample {
	u64 tsc;
	s64 ns;
	u64 bracket;
	long double rate;
};

int hcd_sample_take(unsigned int tries, struct hcd_sample *s);

#define HCD_FIT_MAX	64

/**
 * struct hcd_fit - least-squares fit of host time against host TSC
 * @samples: ring of the last @count samples
 * @count: samples held
 * @next: where the next sample goes
 * @window: samples used, at most HCD_FIT_MAX
 */
struct hcd_fit {
	struct hcd_sample samples[HCD_FIT_MAX];
	unsigned int count;
	unsigned int next;
	unsigned int window;
};

/**
 * struct hcd_fit_result - the host TSC's rate as the host clock sees it
 * @ns_per_tick: slope
 * @slope_stderr: standard error of the slope, relative (1e-9 is 1 ppb)
 * @residual_ns: RMS residual of the samples about the line
 * @segments: runs of samples at one kernel rate the fit joined
 */
struct hcd_fit_result {
	long double ns_per_tick;
	double slope_stderr;
	double residual_ns;
	unsigned int segments;
};

void hcd_fit_init(struct hcd_fit *fit, unsigned int window);
void hcd_fit_reset(struct hcd_fit *fit);
void hcd_fit_add(struct hcd_fit *fit, const struct hcd_sample *s);
int hcd_fit_solve(const struct hcd_fit *fit, struct hcd_fit_result *res);
int hcd_period_from_rate(long double ns_per_tick, u64 *period, u8 *shift);
u64 hcd_rate_to_frac(double relative, u64 period);

/* ---- host clock status from adjtimex (timex.c) ---- */

/**
 * struct hcd_timex - the parts of adjtimex() the page needs
 * @state: adjtimex() return value (TIME_OK, TIME_INS, ...) or -1
 * @status: STA_* bits
 * @maxerror_us: kernel maxerror, microseconds
 * @esterror_us: kernel esterror, microseconds
 * @tai: TAI - UTC offset, 0 when the NTP daemon did not set it
 * @tolerance_ppm: the kernel's frequency tolerance
 * @tick: microseconds per 1/100 s tick (10000 nominal; 0 taken as nominal)
 * @freq: frequency offset, ppm with 16 fractional bits
 * @offset_ns: the phase offset the kernel PLL is still slewing out
 * @constant: the PLL's time constant
 * @adjtime_left: an adjtime() slew is still running
 */
struct hcd_timex {
	int state;
	int status;
	long maxerror_us;
	long esterror_us;
	int tai;
	long tolerance_ppm;
	long tick;
	long freq;
	long long offset_ns;
	long constant;
	bool adjtime_left;
};

/**
 * struct hcd_host_status - what the page says about the host clock
 */
struct hcd_host_status {
	u8 clock_status;
	u8 leap_indicator;
	bool tai_valid;
	s16 tai_offset;
	bool leap_not_month_end;	/* announced for a day that ends no month */
	bool errors_valid;
	u64 esterror_ns;
	u64 maxerror_ns;
	double tolerance;		/* relative, for the maxerror rate */
	double kernel_slew;		/* relative rate the kernel adds beyond tick
					 * and freq: its PLL, an adjtime() */
};

int hcd_timex_read(struct hcd_timex *tx);
long double hcd_timex_rate(const struct hcd_timex *tx);
void hcd_timex_map(const struct hcd_timex *tx, s64 utc_sec, u8 *last_leap,
		   struct hcd_host_status *st);

/* ---- which daemon keeps the host clock (hostd.c) ---- */

enum { HCD_HOST_ERRORS_AUTO, HCD_HOST_ERRORS_TRUST, HCD_HOST_ERRORS_IGNORE };

/**
 * struct hcd_host_daemons - time daemons running on the host
 * @chronyd: a chronyd of root or the chrony user
 * @ntpd: an ntpd of root or the ntp user
 * @other: systemd-timesyncd, phc2sys, ptp4l or timemaster, of any user
 */
struct hcd_host_daemons {
	bool chronyd;
	bool ntpd;
	bool other;
};

void hcd_host_daemons_scan(const char *proc_root, struct hcd_host_daemons *d);
bool hcd_host_errors_trusted(int mode, const struct hcd_host_daemons *d,
			     double *max_slew, const char **why);

/* ---- the published reference and its perturbations (reference.c) ---- */

/**
 * struct hcd_reference - the published time is host time plus this offset
 * @step_ns: offset accrued up to @since_ns
 * @rate_ppb: extra rate since @since_ns
 * @since_ns: host time when @rate_ppb took effect
 */
struct hcd_reference {
	s64 step_ns;
	s64 rate_ppb;
	s64 since_ns;
};

void hcd_reference_init(struct hcd_reference *ref);
s64 hcd_reference_offset(const struct hcd_reference *ref, s64 host_ns);
int hcd_reference_step(struct hcd_reference *ref, s64 step_ns, s64 limit_ns);
void hcd_reference_set_rate(struct hcd_reference *ref, s64 host_ns, s64 ppb);

/* ---- guest TSC mapping (tscmap.c, pairing.c) ---- */

#define HCD_SKEW_SHIFT	48	/* fixed point of hcd_tscmap.skew */

/**
 * struct hcd_tscmap - how the guest TSC follows the host TSC
 * @mode: HOSTCLOCK_TSC_*
 * @valid: a mapping is known
 * @offset: without a ratio, guest minus host; with one (kvm), KVM's offset
 *	after scaling; with a skew (pairing), guest minus host at @ref_host
 * @ratio_num: KVM scaling ratio, fixed point
 * @ratio_frac_bits: fractional bits of @ratio_num; 0 with ratio_num 1 for none
 * @ref_host: host TSC where a pairing mapping's @offset was measured
 * @skew: pairing: guest ticks per host tick minus one, in 2^-HCD_SKEW_SHIFT
 * @uncertainty: half-width of @offset, ticks
 * @generation: bumped whenever the mapping broke (a jump, a new VM)
 *
 * kvm: guest = (host * ratio_num >> ratio_frac_bits) + offset, as KVM does.
 * pairing: guest = host + offset + (host - ref_host) * skew.
 */
struct hcd_tscmap {
	u8 mode;
	bool valid;
	s64 offset;
	u64 ratio_num;
	u8 ratio_frac_bits;
	u64 ref_host;
	s64 skew;
	u64 uncertainty;
	u64 generation;
};

int hcd_tscmap_parse(const char *spec, struct hcd_tscmap *map, pid_t *kvm_pid,
		     char *why, size_t why_len);
u64 hcd_tscmap_guest(const struct hcd_tscmap *map, u64 host_tsc);
long double hcd_tscmap_ratio(const struct hcd_tscmap *map);
#define HCD_KVM_GONE	(-2)
int hcd_pidfd_open(pid_t pid);
int hcd_kvm_read(const char *debugfs, pid_t pid, int pidfd, struct hcd_tscmap *map,
		 char *why, size_t why_len);

/* pairing.c */
/**
 * struct hcd_pair_stats - what the pairing side has seen, for logs and tests
 */
struct hcd_pair_stats {
	u64 bursts;
	u64 exchanges;
	u64 accepted;
	u64 rejected_order;	/* t3 < t1, or h outside what is possible */
	u64 rejected_rtt;	/* round trip over the bound */
	u64 rejected_stale;	/* guest_seq not new: replay or no answer */
	u64 rejected_outlier;	/* inconsistent with the current estimate */
	u64 timeouts;		/* guest did not complete in time */
	u64 unsolicited;	/* exchanges the guest started unasked: not served */
	u64 jumps;		/* accepted re-learns after a break */
	u64 skew_fits;		/* ratio estimates taken */
	u64 rejected_skew;	/* ratio estimates beyond HCD_PAIR_MAX_SKEW */
	u64 loose_skew;		/* fits not taken: too uncertain yet */
	u64 last_rtt;
};

#define HCD_PAIR_HISTORY	8	/* bursts the ratio is fitted over */

/* one accepted burst: guest minus host at a host TSC, +- unc ticks */
struct hcd_pair_point {
	u64 host;
	s64 offset;
	u64 unc;
};

/**
 * struct hcd_pairing - agent side of the mailbox protocol
 * @host_seq: what the agent last wrote to the mailbox's host_seq
 * @host_tsc: and to its host_tsc
 */
struct hcd_pairing {
	struct hostclock_mailbox *mb;
	u32 request;
	u32 last_guest_seq;
	u32 host_seq;
	u64 host_tsc;
	bool outstanding;
	unsigned int bursts_left;	/* for the outstanding request */
	u64 requested_ns;
	u64 max_rtt;
	u64 burst_ns;
	unsigned int burst_max;
	unsigned int outliers_in_row;
	s64 pending_offset;
	u64 pending_uncertainty;
	u64 pending_host;
	struct hcd_pair_point points[HCD_PAIR_HISTORY];
	unsigned int npoints;	/* since the last jump, saturating */
	bool skew_known;
	u64 adopt_gap_ns;	/* hcd_pairing_adopt() asks at most this often */
	bool adopt_asked;	/* it has asked at least once, */
	u64 bursts_at_adopt;	/* stats.bursts when it last did */
	struct hcd_pair_stats stats;
};

void hcd_pairing_init(struct hcd_pairing *p, struct hostclock_mailbox *mb);
void hcd_pairing_request(struct hcd_pairing *p);
bool hcd_pairing_mailbox_ours(const struct hcd_pairing *p);
void hcd_pairing_rewrite(const struct hcd_pairing *p);
bool hcd_pairing_adopt(struct hcd_pairing *p, struct hcd_tscmap *map);
int hcd_pairing_poll(struct hcd_pairing *p, struct hcd_tscmap *map);
bool hcd_pairing_check(struct hcd_pairing *p, u64 h, u64 t1, u64 t3, s64 *lo, u64 *rtt);
int hcd_pairing_update(struct hcd_pairing *p, struct hcd_tscmap *map,
		       u64 h, s64 lo, u64 rtt);

/* ---- the agent: composing and publishing pages (agent.c) ---- */

enum hcd_corrupt {
	HCD_CORRUPT_NONE,
	HCD_CORRUPT_MAGIC,
	HCD_CORRUPT_VERSION,
	HCD_CORRUPT_SEQ,
	HCD_CORRUPT_PERIOD,
	HCD_CORRUPT_SHIFT,
	HCD_CORRUPT_COUNTER,
	HCD_CORRUPT_COUNT
};

extern const char * const hcd_corrupt_names[HCD_CORRUPT_COUNT];

/**
 * struct hcd_faults - injected faults, in force until restored
 * @frozen: no updates at all: page and heartbeat go stale
 * @corrupt: HCD_CORRUPT_*: the next pages carry this defect
 * @forced_status: a VMCLOCK_STATUS_* to publish, or -1
 * @forced_leap: a VMCLOCK_LEAP_* to publish, or -1
 * @forced_maxerror_ns: time_maxerror (and esterror) to publish as valid,
 *	or -1 for the host's own
 */
struct hcd_faults {
	bool frozen;
	int corrupt;
	int forced_status;
	int forced_leap;
	s64 forced_maxerror_ns;
};

struct hcd_agent_opts {
	u8 time_type;			/* VMCLOCK_TIME_UTC or _TAI */
	u64 interval_ns;
	unsigned int fit_window;
	const char *kvm_debugfs;
	pid_t kvm_pid;
	int kvm_pidfd;			/* -1 without one */
	int host_errors;		/* HCD_HOST_ERRORS_* */
	const char *proc_root;		/* where to look for time daemons; NULL: don't */
	double host_max_slew;		/* relative; 0: by the daemon found */
	u64 watch_ns;			/* the watch's period; 0: the default */
};

/*
 * How often, by default, the agent looks at the kernel's NTP state and at
 * the region between updates. Each look is a wake-up (about 40 us of CPU on
 * the 2-core build machines, most of it the wake-up itself), and a host runs
 * one agent per VM: 20 a second kept an agent at 0.2 % of a core here. What a
 * rate change costs until it is seen is in the page's maxerror.
 */
#define HCD_WATCH_DEFAULT_NS	(50ULL * 1000 * 1000)
#define HCD_WATCH_MIN_MS	1
#define HCD_WATCH_MAX_MS	1000

struct hcd_agent {
	struct hcd_region *region;
	struct hcd_agent_opts opts;
	struct hcd_fit fit;
	struct hcd_reference ref;
	struct hcd_tscmap map;
	struct hcd_pairing pair;
	struct hcd_faults faults;
	const struct hcd_timex *timex_override;	/* tests: fake adjtimex */
	u64 disruption_marker;
	u64 vm_generation;
	u64 heartbeat;
	u64 map_generation_seen;
	u64 updates;
	u64 control_refused;		/* commands and peers refused */
	u64 freq_changes;		/* host frequency changes seen */
	bool host_errors_trusted;	/* the host daemon keeps maxerror */
	double host_max_slew;		/* what the host daemon may do, relative */
	u64 daemons_scanned_ns;
	long double last_rate;		/* kernel rate at the last update */
	u8 last_leap;
	bool tai_warned;
	bool leap_warned;
	u64 disruptions;		/* markers published, the start's included */
	bool counter_published;		/* a page with a counter under this marker */
	bool written;			/* @written_page and @written_ext are set */
	struct vmclock_abi written_page;	/* page 0 as last written, seq included */
	struct hcd_ext_state written_ext;	/* page 1's agent fields as last written */
	u32 written_ext_seq;
	u64 overwrites;			/* regions another writer replaced, adopted */
	u64 adopted_ns;			/* CLOCK_MONOTONIC of the last adoption */
	struct hcd_ratelimit overwrite_log;
	struct hcd_timex last_timex;	/* adjtimex at the last update */
	struct hcd_sample last_sample;
	struct hcd_fit_result last_fit;
	bool have_fit;
	struct hcd_host_status last_host;
	struct hostclock_clock published;
};

int hcd_agent_init(struct hcd_agent *a, struct hcd_region *region,
		   const struct hcd_agent_opts *opts, const struct hcd_tscmap *map);
int hcd_agent_update(struct hcd_agent *a);
void hcd_agent_host_stepped(struct hcd_agent *a);
void hcd_agent_watch(struct hcd_agent *a);
bool hcd_agent_check_overwrite(struct hcd_agent *a);
void hcd_agent_region_restored(struct hcd_agent *a);
void hcd_agent_disrupt(struct hcd_agent *a);
void hcd_agent_stop(struct hcd_agent *a);
s64 hcd_agent_reference_ns(const struct hcd_agent *a, s64 *host_ns);

/* ---- the control sockets (control.c) ---- */

#define HCD_RIGHT_READ		1	/* now, state, metrics */
#define HCD_RIGHT_ADMIN		2	/* update, disrupt, vmgen */
#define HCD_RIGHT_FAULTS	4	/* fault injection: --enable-faults */

#define HCD_CTL_CLIENTS		4	/* served at once per socket */
enum { HCD_CTL_RW, HCD_CTL_RO, HCD_CTL_SOCKETS };

struct hcd_ctl_client {
	int fd;
	u64 deadline_ns;
};

struct hcd_ctl_socket {
	int fd;
	ino_t ino;
	char name[272];
	unsigned int rights;
	struct hcd_ctl_client clients[HCD_CTL_CLIENTS];
};

struct hcd_control {
	int dir_fd;
	uid_t admin;
	struct hcd_ctl_socket sock[HCD_CTL_SOCKETS];
	struct hcd_ratelimit refusal_log;
};

#define HCD_CTL_POLLFDS	(HCD_CTL_SOCKETS * (HCD_CTL_CLIENTS + 1))

#define HCD_STATUS_COUNT	(VMCLOCK_STATUS_UNRELIABLE + 1)
extern const char * const hcd_status_names[HCD_STATUS_COUNT];

struct pollfd;
int hcd_control_exec(struct hcd_agent *a, char *cmd, char *reply, size_t len,
		     unsigned int rights);
int hcd_control_open(struct hcd_control *c, const struct hcd_region *r, uid_t admin,
		     bool faults, char *why, size_t why_len);
bool hcd_control_peer_allowed(const struct hcd_control *c, uid_t uid);
int hcd_control_pollfds(struct hcd_control *c, struct pollfd *fds, int max);
void hcd_control_serve(struct hcd_control *c, struct hcd_agent *a,
		       const struct pollfd *fds, int n);
void hcd_control_close(struct hcd_control *c);

/* ---- Prometheus metrics for node_exporter's textfile collector (metrics.c) ---- */

#define HCD_METRICS_NAME_MAX	200	/* bytes of the vm label and file name */
#define HCD_METRICS_BUF		32768	/* the whole file; about 8 KiB is used */

/**
 * struct hcd_metrics - the metrics file of one agent
 * @dir_fd: the textfile directory (O_PATH), -1 when not writing metrics
 * @lock_fd: .hostclock-NAME.lock there, held while the agent runs
 * @vm: the vm label, unescaped
 * @file: hostclock-NAME.prom
 * @tmp: the temporary name it is written under
 * @interval_ns: how often it is written
 * @next_ns: CLOCK_MONOTONIC when the next write is due (0: at once)
 * @start_ns: CLOCK_REALTIME of the agent's start
 * @errors: files that could not be written (atomic: the thread adds)
 * @err_log: rate limit of the failure message
 * @slow_log: rate limit of the slow-write message
 * @thread: the writer thread, once @thread_started
 * @thread_started: hcd_metrics_start() ran
 * @lock: protects @pending, @pending_len and @stop
 * @cond: signals a pending file or @stop to the thread
 * @stop: the thread is to exit
 * @pending_len: bytes in @pending waiting for the thread, 0 for none
 * @formatted: the loop's buffer
 * @pending: handed to the thread
 * @writing: the thread's own copy
 */
struct hcd_metrics {
	int dir_fd;
	int lock_fd;
	char vm[HCD_METRICS_NAME_MAX + 1];
	char file[HCD_METRICS_NAME_MAX + 16];
	char tmp[HCD_METRICS_NAME_MAX + 24];
	u64 interval_ns;
	u64 next_ns;
	s64 start_ns;
	u64 errors;
	struct hcd_ratelimit err_log;
	struct hcd_ratelimit slow_log;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	int pending_len;
	char formatted[HCD_METRICS_BUF];
	char pending[HCD_METRICS_BUF];
	char writing[HCD_METRICS_BUF];
};

size_t hcd_metrics_escape(const char *in, char *out, size_t len);
int hcd_metrics_open(struct hcd_metrics *m, const char *dir, const char *name,
		     u64 interval_ns, char *why, size_t why_len);
int hcd_metrics_format(const struct hcd_metrics *m, const struct hcd_agent *a,
		       char *buf, size_t len);
int hcd_metrics_write(struct hcd_metrics *m, const struct hcd_agent *a);
int hcd_metrics_start(struct hcd_metrics *m);
void hcd_metrics_tick(struct hcd_metrics *m, const struct hcd_agent *a);
void hcd_metrics_close(struct hcd_metrics *m);

/* ---- TSC and clocks ---- */

static inline u64 hcd_rdtsc(void)
{
	return __builtin_ia32_rdtsc();
}

s64 hcd_clock_ns(int clockid);

#endif /* _HOSTCLOCKD_H */
