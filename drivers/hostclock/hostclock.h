/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostclock driver internals: one instance per shared page, whatever
 * transport found it, and the pieces that hang off it.
 */
#ifndef _HOSTCLOCK_DRV_H
#define _HOSTCLOCK_DRV_H

#include <linux/device.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/ptp_clock_kernel.h>
#include <linux/ratelimit.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "hostclock/core.h"
#include "hostclock/ext_abi.h"

/**
 * struct hostclock_counters - what an instance has seen; never reset
 * @page_updates: new page generations seen by the poller
 * @seq_retries: snapshot retries (the host was writing)
 * @read_timeouts: snapshots that spent their whole retry budget
 * @invalid_pages: transitions into an invalid page
 * @pair_bursts: pairing bursts answered
 * @pair_timeouts: pairing exchanges the agent did not answer in time
 * @crosststamp_failures: PTP_SYS_OFFSET_PRECISE refused: this kernel
 *	cannot snapshot the system clock asked for, or the TSC ran backwards
 * @crosststamp_bracketed: PTP_SYS_OFFSET_PRECISE answered from a bracket
 *	(the current clocksource is no function of the TSC)
 * @crosststamp_bracket_ns: the last such answer's bound, in ns
 * @disruptions: disruption_marker changes seen
 * @vm_generation_changes: vm_generation_counter changes seen
 * @freq_changes: new pages whose period moved by more than freq_change_ppb
 * @time_steps: new pages whose time jumped by more than time_step_ns
 * @disruption_steps: CLOCK_REALTIME steps taken by step_on_disruption
 * @steps_dropped: pending steps given up: the host was not synchronized,
 *	its maxerror unknown or too large, no usable page came in time, or a
 *	step was taken too recently
 * @step_refused_reads: PTP readings refused while a step was pending
 * @rate_refused: new pages whose rate the clocksource refused, too far
 *	from the guest's own TSC calibration (max_rate_offset_ppm)
 * @rate_limited: new pages whose rate change the clocksource took only in
 *	part (HOSTCLOCK_CS_RATE_STEP_PPM per page)
 * @tsc_unstable_refusals: times refused because the kernel marked the TSC
 *	unstable
 * @uevents_deferred: uevents held back by the rate limit; the next one
 *	carries the latest values
 */
struct hostclock_counters {
	u64 page_updates;
	u64 seq_retries;
	u64 read_timeouts;
	u64 invalid_pages;
	u64 pair_bursts;
	u64 pair_timeouts;
	u64 crosststamp_failures;
	u64 crosststamp_bracketed;
	u64 crosststamp_bracket_ns;
	u64 disruptions;
	u64 vm_generation_changes;
	u64 freq_changes;
	u64 time_steps;
	u64 disruption_steps;
	u64 steps_dropped;
	u64 step_refused_reads;
	u64 rate_refused;
	u64 rate_limited;
	u64 tsc_unstable_refusals;
	u64 uevents_deferred;
};

/**
 * struct hostclock_dev - one shared page and what the driver made of it
 * @dev: the PCI or platform device
 * @id: N of hostclockN
 * @name: "hostclockN"
 * @page: page 0 (VMClock); the driver never writes it
 * @region_size: bytes mapped from @page on, for the page's size check
 * @ext: page 1 (hostclock extension) or NULL (ACPI VMCLOCK device)
 * @poll: periodic page poller
 * @lock: protects everything below
 * @clk: the last snapshot that validated
 * @have_clk: @clk holds a valid page with a counter
 * @state: what the last poll concluded
 * @last_err: HOSTCLOCK_ERR_* of the last poll (OK when valid)
 * @last_seq: seq_count of the last page seen
 * @last_change: jiffies when @last_seq last changed
 * @have_markers: @disruption_marker and @vm_generation hold a page's values
 * @disruption_marker: the last page's disruption_marker
 * @vm_generation: the last page's vm_generation_counter
 * @stale_after: jiffies without a new page after which it is stale
 * @pair_answered: the agent's pair_request value last answered
 * @pair_seq: last exchange number used in the mailbox
 * @pair_rtt: round trip of the best exchange of the last burst, ticks
 * @count: event counters
 * @drift: the drift sampler's statistics
 * @last_step: jiffies of the last step_on_disruption step
 * @step_pending: a disruption armed a step that is neither taken nor
 *	dropped yet; the PTP clock refuses readings meanwhile
 * @step_armed: jiffies when @step_pending was set
 * @step_gen: bumped when a pending step ends, taken or dropped: a PTP
 *	reading whose system time was taken under another generation is
 *	refused (it may straddle the step)
 * @last_step_ns: the last step's size (host minus CLOCK_REALTIME before it)
 * @last_step_residual_ns: host minus CLOCK_REALTIME measured after the
 *	last step and its corrections
 * @uevent_rs: the rate limit on uevents, against a host that flips a
 *	marker at every poll (poller only)
 * @uevent_pending: HOSTCLOCK_SAW_* events waiting for the rate limit
 *	(poller only)
 * @ptp: the PTP clock, or NULL
 * @ptp_info: its operations
 * @sample: the drift sampler
 * @page_phys: physical address of page 0, for mmap of /dev/hostclockN
 * @misc: /dev/hostclockN, whose device carries the sysfs files and uevents
 * @misc_registered: @misc is registered
 * @wait: poll() waiters for a new page generation
 * @ref: the instance lives while open files of @misc hold it
 * @teardown: held for reading while a file uses the page (read(), a
 *	fault of a mapping), for writing while @gone is set and mappings are
 *	zapped; it also guards @files
 * @files: open files of @misc (struct hostclock_file), whose mappings are
 *	zapped when the device goes
 * @gone: the device went away; open files get -ENODEV, mappings SIGBUS
 */
struct hostclock_dev {
	struct device *dev;
	int id;
	char name[24];
	const struct vmclock_abi *page;
	size_t region_size;
	struct hostclock_ext *ext;
	struct delayed_work poll;

	spinlock_t lock;	/* guards the fields below */
	struct hostclock_clock clk;
	bool have_clk;
	enum hostclock_state state;
	int last_err;
	u32 last_seq;
	unsigned long last_change;
	bool have_markers;
	u64 disruption_marker;
	u64 vm_generation;
	unsigned long stale_after;
	u32 pair_answered;
	u32 pair_seq;
	u64 pair_rtt;
	struct hostclock_counters count;
	struct hostclock_drift drift;
	unsigned long last_step;
	bool step_pending;
	unsigned long step_armed;
	u32 step_gen;
	s64 last_step_ns;
	s64 last_step_residual_ns;
	struct ratelimit_state uevent_rs;
	unsigned int uevent_pending;

	struct ptp_clock *ptp;
	struct ptp_clock_info ptp_info;
	struct delayed_work sample;
	phys_addr_t page_phys;
	struct miscdevice misc;
	bool misc_registered;
	wait_queue_head_t wait;
	struct kref ref;
	struct rw_semaphore teardown;
	struct list_head files;
	bool gone;
};

/* What a poll saw change, for the log and the uevents. */
#define HOSTCLOCK_SAW_DISRUPTION	BIT(0)
#define HOSTCLOCK_SAW_VM_GENERATION	BIT(1)
#define HOSTCLOCK_SAW_UPDATE		BIT(2)
#define HOSTCLOCK_SAW_STATUS		BIT(3)

/* module parameters (hostclock_main.c, hostclock_sample.c) */
extern unsigned int hostclock_poll_ms;
extern int hostclock_timescale;
extern unsigned int hostclock_freq_change_ppb;
extern unsigned int hostclock_time_step_ns;

/* hostclock_dev.c: instances, the poller */
struct hostclock_dev *hostclock_dev_create(struct device *dev,
					   const struct vmclock_abi *page,
					   phys_addr_t page_phys, size_t region_size,
					   struct hostclock_ext *ext);
void hostclock_dev_destroy(struct hostclock_dev *hc);
void hostclock_dev_put(struct hostclock_dev *hc);
int hostclock_dev_time_at(struct hostclock_dev *hc, u64 tsc, int timescale,
			  struct timespec64 *ts);
int hostclock_dev_ptp_time_at(struct hostclock_dev *hc, u32 gen, u64 tsc, int timescale,
			      struct timespec64 *ts);
int hostclock_dev_snapshot(struct hostclock_dev *hc, struct hostclock_clock *clk);

/* hostclock_sample.c: drift sampler, step on disruption */
void hostclock_sample_init(struct hostclock_dev *hc);
void hostclock_sample_start(struct hostclock_dev *hc);
void hostclock_sample_stop(struct hostclock_dev *hc);
void hostclock_step_arm(struct hostclock_dev *hc);
bool hostclock_step_blocks(const struct hostclock_dev *hc, u32 gen, u64 marker);
u32 hostclock_step_gen(struct hostclock_dev *hc);
void hostclock_step_resolve(struct hostclock_dev *hc);

/* hostclock_chardev.c: /dev/hostclockN, its sysfs files and uevents */
int hostclock_chardev_register(struct hostclock_dev *hc);
void hostclock_chardev_unregister(struct hostclock_dev *hc);
void hostclock_chardev_gone(struct hostclock_dev *hc);
void hostclock_uevents(struct hostclock_dev *hc, unsigned int saw);
extern const struct attribute_group *hostclock_groups[];

/* hostclock_pair.c: the guest side of the pairing mailbox */
void hostclock_pair_answer(struct hostclock_dev *hc);

/* hostclock_cs.c: the clocksource */
int hostclock_cs_init(void);
void hostclock_cs_exit(void);
int hostclock_cs_feed(struct hostclock_dev *hc, const struct hostclock_clock *clk);
void hostclock_cs_forget(struct hostclock_dev *hc);
/* What hostclock_cs_snapshot() could say of the TSC behind a snapshot. */
enum hostclock_snap {
	HOSTCLOCK_SNAP_NONE,
	HOSTCLOCK_SNAP_EXACT,
	HOSTCLOCK_SNAP_BRACKETED,
};

enum hostclock_snap hostclock_cs_snapshot(clockid_t clock, struct system_time_snapshot *snap,
					  u64 *tsc, u64 *bracket);
u64 hostclock_cs_clamps(void);

/* hostclock_ptp.c: the PTP clock */
int hostclock_ptp_register(struct hostclock_dev *hc);
void hostclock_ptp_unregister(struct hostclock_dev *hc);

/* hostclock_pci.c, hostclock_acpi.c: transports */
int hostclock_pci_register(void);
void hostclock_pci_unregister(void);
int hostclock_acpi_register(void);
void hostclock_acpi_unregister(void);

#endif /* _HOSTCLOCK_DRV_H */
