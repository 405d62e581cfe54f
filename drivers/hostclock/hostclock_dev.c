// SPDX-License-Identifier: GPL-2.0
/*
 * hostclock instances: one per shared page, whichever transport found it.
 *
 * A delayed work polls the page every hostclock_poll_ms: it takes a bounded
 * snapshot, validates it, decides the instance's state, counts what
 * changed, feeds the clocksource, wakes /dev/hostclockN's pollers, sends
 * uevents, and answers the agent's pairing requests. Everything read from
 * the page is untrusted; every loop over it is bounded by the core's retry
 * budget.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/idr.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <asm/tsc.h>

#include "hostclock.h"

static DEFINE_IDA(hostclock_ida);

/* Bounds on the agent's claimed update interval, when judging staleness. */
#define HOSTCLOCK_INTERVAL_MIN_NS	(10 * NSEC_PER_MSEC)
#define HOSTCLOCK_INTERVAL_MAX_NS	(60 * NSEC_PER_SEC)

/*
 * uevents per instance: at most HOSTCLOCK_UEVENT_BURST in any
 * HOSTCLOCK_UEVENT_INTERVAL. A host may flip a marker at every poll; each
 * flip would run the udev rules (a "chronyc makestep" for a disruption).
 * Held-back events go out, once, with the latest values, when the limit
 * allows.
 */
#define HOSTCLOCK_UEVENT_BURST		20
#define HOSTCLOCK_UEVENT_INTERVAL	(60 * HZ)

/*
 * How long a page may go without a new generation before it is stale:
 * three of the agent's update intervals and a second of slack. Without an
 * extension page (an ACPI VMCLOCK device) nobody promises updates, so a
 * page never goes stale.
 */
static unsigned long hostclock_stale_after(const struct hostclock_dev *hc)
{
	u64 ns;

	if (!hc->ext)
		return MAX_JIFFY_OFFSET;
	ns = le64_to_cpu(READ_ONCE(hc->ext->update_interval_ns));
	ns = clamp_t(u64, ns, HOSTCLOCK_INTERVAL_MIN_NS, HOSTCLOCK_INTERVAL_MAX_NS);
	return nsecs_to_jiffies(3 * ns + NSEC_PER_SEC);
}

/* Is page 1 ours and consistent? Only then is its mailbox used. */
static bool hostclock_ext_valid(const struct hostclock_ext *ext)
{
	return le32_to_cpu(READ_ONCE(ext->magic)) == HOSTCLOCK_EXT_MAGIC &&
	       le16_to_cpu(READ_ONCE(ext->version)) == HOSTCLOCK_EXT_VERSION &&
	       le16_to_cpu(READ_ONCE(ext->size)) >= sizeof(*ext);
}

/*
 * One snapshot, validated. Returns HOSTCLOCK_OK, HOSTCLOCK_ERR_NO_COUNTER
 * for a good page without a clock, or the failed check.
 */
static int hostclock_read_page(struct hostclock_dev *hc,
			       struct hostclock_clock *clk, unsigned int *retries)
{
	int err;

	err = hostclock_page_snapshot(hc->page, clk, HOSTCLOCK_READ_BUDGET, retries);
	if (err)
		return err;
	return hostclock_clock_validate(clk, hc->region_size);
}

/*
 * A good page (with or without a counter) carries the markers: a new
 * disruption_marker says the guest's counter relation broke (a migration,
 * a snapshot restore), a new vm_generation_counter that the VM was cloned
 * or restored. Under hc->lock.
 */
static unsigned int hostclock_follow_markers(struct hostclock_dev *hc,
					     const struct hostclock_clock *clk)
{
	unsigned int saw = 0;

	if (hc->have_markers && clk->disruption_marker != hc->disruption_marker) {
		hc->count.disruptions++;
		saw |= HOSTCLOCK_SAW_DISRUPTION;
		/* with the new marker, so that no PTP reading slips between */
		hostclock_step_arm(hc);
	}
	if (hc->have_markers && (clk->flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT) &&
	    clk->vm_generation_counter != hc->vm_generation) {
		hc->count.vm_generation_changes++;
		saw |= HOSTCLOCK_SAW_VM_GENERATION;
	}
	hc->disruption_marker = clk->disruption_marker;
	hc->vm_generation = clk->vm_generation_counter;
	hc->have_markers = true;
	return saw;
}

/* Count what changed from the last valid page to this one. Under hc->lock. */
static void hostclock_count_changes(struct hostclock_dev *hc,
				    const struct hostclock_clock *old,
				    const struct hostclock_clock *new)
{
	unsigned int changes = hostclock_page_changes(old, new, hostclock_freq_change_ppb,
						      hostclock_time_step_ns);

	if (changes & HOSTCLOCK_CHANGE_FREQ)
		hc->count.freq_changes++;
	if (changes & HOSTCLOCK_CHANGE_STEP)
		hc->count.time_steps++;
}

/* The clocksource's verdict on a page's rate: counted, and logged. */
static void hostclock_rate_verdict(struct hostclock_dev *hc, int verdict)
{
	if (verdict == HOSTCLOCK_RATE_OK)
		return;
	spin_lock(&hc->lock);
	if (verdict == HOSTCLOCK_RATE_REFUSED)
		hc->count.rate_refused++;
	else
		hc->count.rate_limited++;
	spin_unlock(&hc->lock);
	if (verdict == HOSTCLOCK_RATE_REFUSED)
		dev_warn_ratelimited(hc->dev,
				     "%s: page rate refused: too far from the guest's TSC calibration\n",
				     hc->name);
}

/* @announce: log a change of state (not on the first poll, which probe logs) */
static void hostclock_poll_once(struct hostclock_dev *hc, bool announce)
{
	struct hostclock_clock clk;
	enum hostclock_state state, was;
	unsigned int retries = 0, saw = 0;
	bool fresh, stale, feed = false;
	int err;

	err = hostclock_read_page(hc, &clk, &retries);

	spin_lock(&hc->lock);
	hc->count.seq_retries += retries;
	if (err == HOSTCLOCK_ERR_SEQ_TIMEOUT)
		hc->count.read_timeouts++;

	fresh = !err || err == HOSTCLOCK_ERR_NO_COUNTER;
	if (fresh && clk.seq_count != hc->last_seq) {
		hc->last_seq = clk.seq_count;
		hc->last_change = jiffies;
		hc->count.page_updates++;
		saw |= HOSTCLOCK_SAW_UPDATE;
	}
	if (fresh)
		saw |= hostclock_follow_markers(hc, &clk);

	stale = time_after(jiffies, hc->last_change + hc->stale_after);
	state = hostclock_state_of(err, clk.clock_status, stale, check_tsc_unstable());

	if (state == HOSTCLOCK_STATE_INVALID && hc->state != HOSTCLOCK_STATE_INVALID)
		hc->count.invalid_pages++;
	if (!err) {
		if (hc->have_clk && (saw & HOSTCLOCK_SAW_UPDATE))
			hostclock_count_changes(hc, &hc->clk, &clk);
		hc->clk = clk;
		hc->have_clk = true;
		/*
		 * The clocksource takes only the page's rate, which holds for
		 * every vCPU's TSC even when their offsets differ (its own
		 * guard keeps it monotonic then): an unstable TSC does not stop
		 * it, as it stops the PTP clock.
		 */
		feed = hostclock_state_usable(hostclock_state_of(err, clk.clock_status,
								 stale, false));
	}
	was = hc->state;
	hc->state = state;
	hc->last_err = err;
	spin_unlock(&hc->lock);

	if (saw & HOSTCLOCK_SAW_UPDATE)
		wake_up_interruptible(&hc->wait);
	if (saw & HOSTCLOCK_SAW_DISRUPTION)
		dev_info_ratelimited(hc->dev, "%s: disruption: the guest's clock relation broke\n",
				     hc->name);
	if (saw & HOSTCLOCK_SAW_VM_GENERATION)
		dev_info_ratelimited(hc->dev, "%s: VM generation changed\n", hc->name);
	if (state != was && announce) {
		if (state == HOSTCLOCK_STATE_INVALID)
			dev_warn_ratelimited(hc->dev, "%s: page invalid (%s)\n",
					     hc->name, hostclock_err_name(err));
		else
			dev_info_ratelimited(hc->dev, "%s: clock %s\n", hc->name,
					     hostclock_state_name(state));
		saw |= HOSTCLOCK_SAW_STATUS;
	}
	hostclock_uevents(hc, saw & (HOSTCLOCK_SAW_DISRUPTION | HOSTCLOCK_SAW_VM_GENERATION |
				     HOSTCLOCK_SAW_STATUS));
	if (feed)
		hostclock_rate_verdict(hc, hostclock_cs_feed(hc, &clk));
	/* after the feed: the clocksource runs at the new page's rate */
	hostclock_step_resolve(hc);
}

static void hostclock_poll_work(struct work_struct *work)
{
	struct hostclock_dev *hc = container_of(to_delayed_work(work),
						struct hostclock_dev, poll);

	if (hc->ext && hostclock_ext_valid(hc->ext))
		hc->stale_after = hostclock_stale_after(hc);
	hostclock_poll_once(hc, true);
	if (hc->ext && hostclock_ext_valid(hc->ext))
		hostclock_pair_answer(hc);
	schedule_delayed_work(&hc->poll, msecs_to_jiffies(hostclock_poll_ms));
}

/**
 * hostclock_dev_snapshot() - a consistent copy of page 0, valid or not
 * @hc: instance
 * @clk: the copy
 *
 * Return: 0, or -EAGAIN when the host kept the page busy beyond the retry
 * budget.
 */
int hostclock_dev_snapshot(struct hostclock_dev *hc, struct hostclock_clock *clk)
{
	if (hostclock_page_snapshot(hc->page, clk, HOSTCLOCK_READ_BUDGET, NULL))
		return -EAGAIN;
	return 0;
}

/* hostclock_dev_time_at(), and the disruption_marker of the page it used */
static int hostclock_dev_clock_at(struct hostclock_dev *hc, u64 tsc, int timescale,
				  struct timespec64 *ts, u64 *marker)
{
	struct hostclock_clock clk;
	struct hostclock_time t;
	enum hostclock_state state;
	int err;

	err = hostclock_read_page(hc, &clk, NULL);
	if (err == HOSTCLOCK_ERR_SEQ_TIMEOUT)
		return -EAGAIN;
	if (err)
		return -ENODATA;

	spin_lock(&hc->lock);
	state = hc->state;
	spin_unlock(&hc->lock);
	/* the poller judges staleness; the fresh page judges its status */
	state = hostclock_state_of(err, clk.clock_status, state == HOSTCLOCK_STATE_STALE,
				   check_tsc_unstable());
	if (state == HOSTCLOCK_STATE_TSC_UNSTABLE) {
		spin_lock(&hc->lock);
		hc->count.tsc_unstable_refusals++;
		spin_unlock(&hc->lock);
	}
	if (!hostclock_state_usable(state))
		return -ENODATA;

	err = hostclock_counter_to_timescale(&clk, tsc, timescale, &t);
	if (err || t.sec > (u64)TIME64_MAX)
		return -ENODATA;
	ts->tv_sec = (time64_t)t.sec;
	ts->tv_nsec = t.nsec;
	*marker = clk.disruption_marker;
	return 0;
}

/**
 * hostclock_dev_time_at() - the host's time at a guest TSC value
 * @hc: instance
 * @tsc: guest TSC value
 * @timescale: HOSTCLOCK_TS_UTC or HOSTCLOCK_TS_TAI
 * @ts: the time
 *
 * Reads the page afresh. Fails rather than give a wrong time.
 *
 * Return: 0; -EAGAIN when the host kept the page busy beyond the retry
 * budget; -ENODATA when there is no usable clock (invalid, stale, no
 * counter, status unreliable, unknown or initializing, or the kernel marked
 * the TSC unstable) or the time cannot be expressed in the timescale asked
 * for.
 */
int hostclock_dev_time_at(struct hostclock_dev *hc, u64 tsc, int timescale,
			  struct timespec64 *ts)
{
	u64 marker;

	return hostclock_dev_clock_at(hc, tsc, timescale, ts, &marker);
}

/**
 * hostclock_dev_ptp_time_at() - the host's time at a TSC value, for the PTP clock
 * @hc: instance
 * @gen: hostclock_step_gen() taken before the reading's system time
 * @tsc: guest TSC value
 * @timescale: HOSTCLOCK_TS_UTC or HOSTCLOCK_TS_TAI
 * @ts: the time
 *
 * As hostclock_dev_time_at(), but while a step on disruption is pending,
 * or the page already carries a disruption_marker the poller has not seen
 * (it would arm one), or a step ended since @gen was taken, the reading is
 * refused and counted: a time daemon must not take a sample of the new
 * page against the clock not yet stepped, which it would then mix with
 * the samples after the step.
 *
 * Return: as hostclock_dev_time_at(); -ENODATA also while a step is pending.
 */
int hostclock_dev_ptp_time_at(struct hostclock_dev *hc, u32 gen, u64 tsc, int timescale,
			      struct timespec64 *ts)
{
	bool blocked;
	u64 marker;
	int ret;

	ret = hostclock_dev_clock_at(hc, tsc, timescale, ts, &marker);
	if (ret)
		return ret;
	spin_lock(&hc->lock);
	blocked = hostclock_step_blocks(hc, gen, marker);
	if (blocked)
		hc->count.step_refused_reads++;
	spin_unlock(&hc->lock);
	return blocked ? -ENODATA : 0;
}

static void hostclock_dev_free(struct kref *ref)
{
	struct hostclock_dev *hc = container_of(ref, struct hostclock_dev, ref);

	ida_free(&hostclock_ida, hc->id);
	kfree(hc);
}

/**
 * hostclock_dev_put() - drop a reference taken by an open /dev/hostclockN
 * @hc: instance
 */
void hostclock_dev_put(struct hostclock_dev *hc)
{
	kref_put(&hc->ref, hostclock_dev_free);
}

/**
 * hostclock_dev_create() - a new instance on a mapped page
 * @dev: the device that found it; devres-managed mappings stay with it
 * @page: page 0, mapped
 * @page_phys: its physical address, for mmap of /dev/hostclockN
 * @region_size: bytes mapped from @page on
 * @ext: page 1, mapped read-write, or NULL
 *
 * Polls the page once before returning, so the instance starts with a
 * state, and registers its PTP clock and /dev/hostclockN.
 *
 * Return: the instance or an ERR_PTR().
 */
struct hostclock_dev *hostclock_dev_create(struct device *dev,
					   const struct vmclock_abi *page,
					   phys_addr_t page_phys, size_t region_size,
					   struct hostclock_ext *ext)
{
	struct hostclock_dev *hc;
	int ret;

	hc = kzalloc(sizeof(*hc), GFP_KERNEL);
	if (!hc)
		return ERR_PTR(-ENOMEM);
	hc->id = ida_alloc(&hostclock_ida, GFP_KERNEL);
	if (hc->id < 0) {
		ret = hc->id;
		kfree(hc);
		return ERR_PTR(ret);
	}
	kref_init(&hc->ref);
	snprintf(hc->name, sizeof(hc->name), "hostclock%d", hc->id);
	hc->dev = dev;
	hc->page = page;
	hc->page_phys = page_phys;
	hc->region_size = region_size;
	hc->ext = ext;
	spin_lock_init(&hc->lock);
	init_waitqueue_head(&hc->wait);
	init_rwsem(&hc->teardown);
	INIT_LIST_HEAD(&hc->files);
	ratelimit_state_init(&hc->uevent_rs, HOSTCLOCK_UEVENT_INTERVAL, HOSTCLOCK_UEVENT_BURST);
	/* held-back events are counted, not reported as "callbacks suppressed" */
	ratelimit_set_flags(&hc->uevent_rs, RATELIMIT_MSG_ON_RELEASE);
	hc->state = HOSTCLOCK_STATE_UNKNOWN;
	hc->last_change = jiffies;
	hc->stale_after = hostclock_stale_after(hc);
	if (ext)
		hc->pair_seq = le32_to_cpu(READ_ONCE(ext->mailbox.guest_seq));
	INIT_DELAYED_WORK(&hc->poll, hostclock_poll_work);
	hostclock_sample_init(hc);

	hostclock_poll_once(hc, false);
	ret = hostclock_ptp_register(hc);
	if (ret)
		goto err;
	ret = hostclock_chardev_register(hc);
	if (ret) {
		hostclock_ptp_unregister(hc);
		goto err;
	}
	schedule_delayed_work(&hc->poll, 0);
	hostclock_sample_start(hc);
	dev_info(dev, "%s: %s page, clock %s%s%s\n", hc->name,
		 ext ? "hostclock" : "VMCLOCK", hostclock_state_name(hc->state),
		 hc->last_err ? ": " : "",
		 hc->last_err ? hostclock_err_name(hc->last_err) : "");
	return hc;
err:
	hostclock_cs_forget(hc);
	hostclock_dev_put(hc);
	return ERR_PTR(ret);
}

/**
 * hostclock_dev_destroy() - stop an instance
 * @hc: instance
 *
 * The PTP clock goes first, then the workers, then /dev/hostclockN (open
 * file descriptors then get -ENODEV, mappings of the page SIGBUS), then the
 * clocksource forgets the instance; after this returns nothing touches the
 * page. The memory goes when the last open /dev/hostclockN is closed.
 */
void hostclock_dev_destroy(struct hostclock_dev *hc)
{
	hostclock_ptp_unregister(hc);
	hostclock_sample_stop(hc);
	/* the poller sends uevents on the device: stop it first */
	cancel_delayed_work_sync(&hc->poll);
	hostclock_chardev_unregister(hc);
	hostclock_cs_forget(hc);
	hostclock_chardev_gone(hc);
	wake_up_interruptible(&hc->wait);
	hostclock_dev_put(hc);
}
