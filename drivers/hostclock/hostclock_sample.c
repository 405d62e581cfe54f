// SPDX-License-Identifier: GPL-2.0
/*
 * The drift sampler: every sample_interval_ms, one paired sample of the
 * guest's CLOCK_REALTIME and the host's UTC at the same TSC read, into the
 * core's statistics (core/drift.c). Both come from one system time
 * snapshot, as for PTP_SYS_OFFSET_PRECISE: exact with tsc, hostclock or
 * kvm-clock current, otherwise paired with the middle of the TSC reads
 * around it.
 *
 * Also here: the optional step of CLOCK_REALTIME to the host's time when a
 * disruption is seen (step_on_disruption), what operators otherwise write
 * an agent for after restoring a snapshot.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#include <asm/tsc.h>

#include "hostclock.h"
#include "hostclock_compat.h"

static unsigned int hostclock_sample_ms = 1000;
module_param_named(sample_interval_ms, hostclock_sample_ms, uint, 0644);
MODULE_PARM_DESC(sample_interval_ms,
		 "drift sample interval in ms, 0 to stop sampling (default 1000)");

static unsigned long hostclock_threshold_ns = 10000;
module_param_named(offset_threshold_ns, hostclock_threshold_ns, ulong, 0644);
MODULE_PARM_DESC(offset_threshold_ns,
		 "|offset| counted in offset_threshold_exceeded above this (default 10000)");

static bool hostclock_step_enabled;
module_param_named(step_on_disruption, hostclock_step_enabled, bool, 0644);
MODULE_PARM_DESC(step_on_disruption,
		 "step CLOCK_REALTIME to the host's time on a disruption (default off)");

static unsigned long hostclock_step_max_error_ns = 1000000;
module_param_named(step_max_error_ns, hostclock_step_max_error_ns, ulong, 0644);
MODULE_PARM_DESC(step_max_error_ns,
		 "step only when the host's maxerror is below this (default 1 ms)");

/* At most one step per this many seconds per instance. */
#define HOSTCLOCK_STEP_RATELIMIT_S	10

/* The TSC and CLOCK_REALTIME at one moment, or the middle of a bracket. */
static bool hostclock_sample_pair(u64 *tsc, ktime_t *real)
{
	struct system_time_snapshot snap;
	u64 bracket;

	if (hostclock_cs_snapshot(CLOCK_REALTIME, &snap, tsc, &bracket) == HOSTCLOCK_SNAP_NONE)
		return false;
	*real = hostclock_snapshot_systime(&snap);
	return true;
}

static void hostclock_sample_work(struct work_struct *work)
{
	struct hostclock_dev *hc = container_of(to_delayed_work(work),
						struct hostclock_dev, sample);
	unsigned int ms = READ_ONCE(hostclock_sample_ms);
	struct timespec64 host;
	ktime_t real;
	u64 tsc;

	if (!ms)
		goto again;
	if (!hostclock_sample_pair(&tsc, &real) ||
	    hostclock_dev_time_at(hc, tsc, HOSTCLOCK_TS_UTC, &host))
		goto again;	/* no pair, or no usable clock: no sample */
	spin_lock(&hc->lock);
	hostclock_drift_add(&hc->drift, ktime_get_ns(),
			    timespec64_to_ns(&host) - ktime_to_ns(real),
			    READ_ONCE(hostclock_threshold_ns));
	spin_unlock(&hc->lock);
again:
	schedule_delayed_work(&hc->sample, msecs_to_jiffies(ms ?: 1000));
}

void hostclock_sample_init(struct hostclock_dev *hc)
{
	hostclock_drift_reset(&hc->drift);
	INIT_DELAYED_WORK(&hc->sample, hostclock_sample_work);
}

void hostclock_sample_start(struct hostclock_dev *hc)
{
	schedule_delayed_work(&hc->sample, 0);
}

void hostclock_sample_stop(struct hostclock_dev *hc)
{
	cancel_delayed_work_sync(&hc->sample);
}

/**
 * hostclock_step_on_disruption() - step CLOCK_REALTIME after a disruption
 * @hc: instance that saw a new disruption_marker
 *
 * Only with step_on_disruption set, a synchronized host whose maxerror
 * (grown to now) is valid and below step_max_error_ns, and at most once
 * per HOSTCLOCK_STEP_RATELIMIT_S seconds. Counted and logged.
 */
void hostclock_step_on_disruption(struct hostclock_dev *hc)
{
	struct hostclock_error_bound err;
	struct hostclock_clock clk;
	struct timespec64 host;
	ktime_t before;
	bool go;
	u64 tsc;
	int ret;

	if (!READ_ONCE(hostclock_step_enabled))
		return;
	spin_lock(&hc->lock);
	clk = hc->clk;
	go = hc->have_clk && hc->state == HOSTCLOCK_STATE_SYNCHRONIZED &&
	     (!hc->last_step ||
	      time_after(jiffies, hc->last_step + HOSTCLOCK_STEP_RATELIMIT_S * HZ));
	spin_unlock(&hc->lock);
	if (!go)
		return;
	hostclock_counter_error(&clk, rdtsc_ordered(), &err);
	if (!err.maxerror_valid || err.maxerror_ns > READ_ONCE(hostclock_step_max_error_ns)) {
		dev_info_ratelimited(hc->dev, "%s: disruption: not stepping, host maxerror %s\n",
				     hc->name, err.maxerror_valid ? "too large" : "unknown");
		return;
	}

	tsc = rdtsc_ordered();
	before = ktime_get_real();
	ret = hostclock_dev_time_at(hc, tsc, HOSTCLOCK_TS_UTC, &host);
	if (!ret)
		ret = do_settimeofday64(&host);
	if (ret) {
		dev_warn_ratelimited(hc->dev, "%s: disruption: step failed: %d\n", hc->name, ret);
		return;
	}
	spin_lock(&hc->lock);
	hc->count.disruption_steps++;
	hc->last_step = jiffies;
	spin_unlock(&hc->lock);
	dev_info(hc->dev, "%s: disruption: stepped CLOCK_REALTIME by %lld ns to the host's time\n",
		 hc->name, timespec64_to_ns(&host) - ktime_to_ns(before));
}
