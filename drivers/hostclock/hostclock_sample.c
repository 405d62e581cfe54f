// SPDX-License-Identifier: GPL-2.0
/*
 * The drift sampler: every sample_interval_ms, one paired sample of the
 * guest's CLOCK_REALTIME and the host's UTC at the same TSC read, into the
 * core's statistics (core/drift.c). Both come from one system time
 * snapshot, as for PTP_SYS_OFFSET_PRECISE: exact with tsc, hostclock or
 * kvm-clock current, otherwise paired with the middle of the TSC reads
 * around it.
 *
 * Also here: the optional step of CLOCK_REALTIME to the host's time after a
 * disruption (step_on_disruption). A disruption arms the step; the poller
 * takes it at the first usable page, from one exact pair, and corrects
 * what setting the time lost; meanwhile the PTP clock refuses readings, so
 * that a time daemon on it never mixes samples from both sides of the step.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/mutex.h>
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

/*
 * How long a pending step waits for a usable page. After a migration the
 * destination's agent re-pairs with the guest's TSC before it publishes
 * time again, a few tenths of a second; a host that has no time for
 * longer is not coming back soon, and the PTP clock must not stay mute.
 */
#define HOSTCLOCK_STEP_WAIT_S		10

/*
 * A step is good when host time minus CLOCK_REALTIME is within this after
 * it: about what one settimeofday() costs between reading the time and
 * setting it under QEMU TCG. An offset already this small is not stepped
 * at all (a step could not do better).
 */
#define HOSTCLOCK_STEP_TOLERANCE_NS	1000

/* Steps after the first to correct its residual. */
#define HOSTCLOCK_STEP_CORRECTIONS	3

/*
 * The widest bracket a step is measured with (a clocksource that is no
 * function of the TSC: hpet, acpi_pm); a wider one could not tell a good
 * step from a bad one, and no step is taken.
 */
#define HOSTCLOCK_STEP_BRACKET_MAX_NS	(100 * NSEC_PER_USEC)

/* One step at a time, whichever instance: each measures its own result. */
static DEFINE_MUTEX(hostclock_step_mutex);

/*
 * The TSC and CLOCK_REALTIME at one moment, or the middle of a bracket;
 * @bracket_ns (if not NULL) is how far that middle can be from the read.
 */
static bool hostclock_sample_pair(u64 *tsc, ktime_t *real, u64 *bracket_ns)
{
	struct system_time_snapshot snap;
	u64 bracket;

	if (hostclock_cs_snapshot(CLOCK_REALTIME, &snap, tsc, &bracket) == HOSTCLOCK_SNAP_NONE)
		return false;
	*real = hostclock_snapshot_systime(&snap);
	if (bracket_ns)
		*bracket_ns = !bracket ? 0 : tsc_khz ?
			      mul_u64_u32_div(bracket, NSEC_PER_MSEC, tsc_khz) + 1 : U64_MAX;
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
	if (!hostclock_sample_pair(&tsc, &real, NULL) ||
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
 * hostclock_step_arm() - a disruption was seen: arm a step if asked for
 * @hc: instance; called under hc->lock, with the new marker stored
 *
 * A new disruption while one is pending keeps the first deadline, so that
 * a host flipping the marker cannot keep the PTP clock mute.
 */
void hostclock_step_arm(struct hostclock_dev *hc)
{
	lockdep_assert_held(&hc->lock);
	if (!READ_ONCE(hostclock_step_enabled) || hc->step_pending)
		return;
	hc->step_pending = true;
	hc->step_armed = jiffies;
}

/**
 * hostclock_step_gen() - the step generation, before a PTP reading
 * @hc: instance
 *
 * Taken before the reading's system time, and given back to
 * hostclock_step_blocks() after its page time: a step that ended between
 * the two moved CLOCK_REALTIME under the reading.
 *
 * Return: the generation.
 */
u32 hostclock_step_gen(struct hostclock_dev *hc)
{
	u32 gen = READ_ONCE(hc->step_gen);

	smp_rmb();	/* before the system time the reading takes next */
	return gen;
}

/**
 * hostclock_step_blocks() - must a PTP reading be refused?
 * @hc: instance; called under hc->lock
 * @gen: hostclock_step_gen() from before the reading's system time
 * @marker: disruption_marker of the page the reading used
 *
 * Return: true while a step is pending, when one ended since @gen, or when
 * the page carries a marker the poller has not seen yet (its next poll
 * arms a step).
 */
bool hostclock_step_blocks(const struct hostclock_dev *hc, u32 gen, u64 marker)
{
	lockdep_assert_held(&hc->lock);
	return hc->step_pending || hc->step_gen != gen ||
	       (READ_ONCE(hostclock_step_enabled) && hc->have_markers &&
		marker != hc->disruption_marker);
}

/*
 * Host time minus CLOCK_REALTIME, both of one counter read; @bracket_ns is
 * how wrong it can be (0 when exact). The page is read afresh.
 */
static int hostclock_step_offset(struct hostclock_dev *hc, s64 *offset, u64 *bracket_ns)
{
	struct timespec64 host;
	ktime_t real;
	u64 tsc;
	int ret;

	if (!hostclock_sample_pair(&tsc, &real, bracket_ns))
		return -EOPNOTSUPP;
	if (*bracket_ns > HOSTCLOCK_STEP_BRACKET_MAX_NS)
		return -ERANGE;
	ret = hostclock_dev_time_at(hc, tsc, HOSTCLOCK_TS_UTC, &host);
	if (ret)
		return ret;
	*offset = timespec64_to_ns(&host) - ktime_to_ns(real);
	return 0;
}

/* Is an offset measured within @bracket_ns as good as a step gets? */
static bool hostclock_step_close(s64 offset, u64 bracket_ns)
{
	return (u64)abs(offset) <= HOSTCLOCK_STEP_TOLERANCE_NS + bracket_ns;
}

/*
 * Move CLOCK_REALTIME by @delta ns. No offset-injection API is exported
 * to modules (timekeeping_inject_offset() is static, do_adjtimex() not
 * exported), so the time is read and set: whatever passes between the two
 * (a preemption, an interrupt) is lost, and measured afterwards.
 * do_settimeofday64() may sleep (clock_was_set() takes cpus_read_lock()).
 */
static int hostclock_step_by(s64 delta)
{
	struct timespec64 ts;
	s64 to;

	/* the host's offset is untrusted: no signed wrap */
	if (check_add_overflow(ktime_to_ns(ktime_get_real()), delta, &to))
		return -ERANGE;
	ts = ns_to_timespec64(to);
	return do_settimeofday64(&ts);
}

/**
 * struct hostclock_step_result - what a step did
 * @size_ns: host minus CLOCK_REALTIME before it
 * @residual_ns: the same after it and its corrections; S64_MAX when the
 *	measurement after a step failed
 * @first_residual_ns: the same after the first step alone
 * @corrections: steps taken after the first
 * @stepped: CLOCK_REALTIME was set at least once
 */
struct hostclock_step_result {
	s64 size_ns;
	s64 residual_ns;
	s64 first_residual_ns;
	unsigned int corrections;
	bool stepped;
};

/*
 * Step CLOCK_REALTIME to the host's time, then measure the residual
 * (another exact pair) and correct it, at most HOSTCLOCK_STEP_CORRECTIONS
 * times. Setting the time loses what passes between reading and setting
 * it (L): after a step by d, the offset o becomes o - d + L. So L of each
 * step is measured, and a correction steps by the residual plus the
 * smallest L seen (the smallest: a preempted step's L is no estimate of
 * the next one's).
 */
static int hostclock_step_take(struct hostclock_dev *hc, struct hostclock_step_result *res)
{
	s64 offset, after, delta, lost, least_lost = S64_MAX;
	u64 bracket_ns;
	int ret;

	ret = hostclock_step_offset(hc, &offset, &bracket_ns);
	if (ret)
		return ret;
	res->size_ns = offset;
	res->residual_ns = offset;
	res->first_residual_ns = offset;
	res->corrections = 0;
	res->stepped = false;
	delta = offset;
	while (!hostclock_step_close(res->residual_ns, bracket_ns)) {
		if (res->stepped) {
			if (res->corrections == HOSTCLOCK_STEP_CORRECTIONS)
				break;
			res->corrections++;
		}
		ret = hostclock_step_by(delta);
		if (ret)
			return ret;
		res->stepped = true;
		ret = hostclock_step_offset(hc, &after, &bracket_ns);
		if (ret) {
			res->residual_ns = S64_MAX;	/* not the offset before */
			return ret;
		}
		if (!res->corrections)
			res->first_residual_ns = after;
		lost = after - res->residual_ns + delta;
		least_lost = min(least_lost, lost);
		res->residual_ns = after;
		delta = after + max_t(s64, least_lost, 0);
	}
	return 0;
}

/* Why a pending step is dropped (for the log); NULL: take it, or *wait */
static const char *hostclock_step_why_not(struct hostclock_dev *hc, bool *wait)
{
	struct hostclock_error_bound err;
	struct hostclock_clock clk;
	enum hostclock_state state;
	unsigned long armed, last;

	spin_lock(&hc->lock);
	clk = hc->clk;
	state = hc->state;
	armed = hc->step_armed;
	last = hc->last_step;
	spin_unlock(&hc->lock);

	*wait = false;
	if (!READ_ONCE(hostclock_step_enabled))
		return "step_on_disruption was turned off";
	if (state == HOSTCLOCK_STATE_FREERUNNING)
		return "host not synchronized";
	if (state != HOSTCLOCK_STATE_SYNCHRONIZED) {
		if (time_after(jiffies, armed + HOSTCLOCK_STEP_WAIT_S * HZ))
			return "no usable page within 10 s";
		*wait = true;
		return NULL;
	}
	hostclock_counter_error(&clk, rdtsc_ordered(), &err);
	if (!err.maxerror_valid)
		return "host maxerror unknown";
	if (err.maxerror_ns > READ_ONCE(hostclock_step_max_error_ns))
		return "host maxerror too large";
	/* judged last: a page without time keeps the step pending */
	if (last && time_before(jiffies, last + HOSTCLOCK_STEP_RATELIMIT_S * HZ))
		return "stepped less than 10 s ago";
	return NULL;
}

/**
 * hostclock_step_resolve() - take or drop a pending step
 * @hc: instance; called by the poller after each poll (process context,
 *	may sleep)
 *
 * A pending step is taken at the first page that is synchronized with a
 * valid maxerror (grown to now) below step_max_error_ns; it is dropped,
 * logged and counted when the host is not synchronized or its maxerror is
 * unknown or too large (a time daemon then handles the disruption as it
 * would without the driver), after HOSTCLOCK_STEP_WAIT_S without a usable
 * page, or within HOSTCLOCK_STEP_RATELIMIT_S of the last step. PTP
 * readings stay refused until then.
 */
void hostclock_step_resolve(struct hostclock_dev *hc)
{
	struct hostclock_step_result res = { 0 };
	const char *why;
	bool pending, wait;
	int ret = 0;

	spin_lock(&hc->lock);
	pending = hc->step_pending;
	spin_unlock(&hc->lock);
	if (!pending)
		return;

	why = hostclock_step_why_not(hc, &wait);
	if (wait)
		return;
	if (!why) {
		mutex_lock(&hostclock_step_mutex);
		ret = hostclock_step_take(hc, &res);
		mutex_unlock(&hostclock_step_mutex);
	}

	/* a step that moved the clock counts even if a later measure failed */
	spin_lock(&hc->lock);
	hc->step_pending = false;
	hc->step_gen++;
	if (res.stepped) {
		hc->count.disruption_steps++;
		hc->last_step = jiffies;
		hc->last_step_ns = res.size_ns;
		hc->last_step_residual_ns = res.residual_ns;
	} else if (why || ret) {
		hc->count.steps_dropped++;
	}
	spin_unlock(&hc->lock);

	if (why)
		dev_info_ratelimited(hc->dev, "%s: disruption: not stepping: %s\n", hc->name, why);
	else if (ret)
		dev_warn_ratelimited(hc->dev, "%s: disruption: step %s: %d\n", hc->name,
				     res.stepped ? "not measured" : "failed", ret);
	if (why || ret)
		return;
	if (res.stepped)
		dev_info(hc->dev,
			 "%s: disruption: stepped CLOCK_REALTIME by %lld ns to the host's time, residual %lld ns after %u corrections (%lld ns after the first step)\n",
			 hc->name, res.size_ns, res.residual_ns, res.corrections,
			 res.first_residual_ns);
	else
		dev_info(hc->dev, "%s: disruption: no step needed, offset %lld ns\n",
			 hc->name, res.size_ns);
}
