// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs files of an instance, in /sys/class/misc/hostclockN/ (the directory
 * of /dev/hostclockN). One value per file; everything is readable by all,
 * reset_stats is writable by root only. Documented in
 * Documentation/ABI/testing/sysfs-class-misc-hostclock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <asm/tsc.h>

#include "hostclock.h"

static struct hostclock_dev *hostclock_of(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct hostclock_dev, misc);
}

static ssize_t status_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct hostclock_dev *hc = hostclock_of(dev);
	enum hostclock_state state;

	spin_lock(&hc->lock);
	state = hc->state;
	spin_unlock(&hc->lock);
	return sysfs_emit(buf, "%s\n", hostclock_state_name(state));
}
static DEVICE_ATTR_RO(status);

/* the failed check's name while invalid, else "none" */
static ssize_t error_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct hostclock_dev *hc = hostclock_of(dev);
	int err;

	spin_lock(&hc->lock);
	err = hc->state == HOSTCLOCK_STATE_INVALID ? hc->last_err : HOSTCLOCK_OK;
	spin_unlock(&hc->lock);
	return sysfs_emit(buf, "%s\n", err ? hostclock_err_name(err) : "none");
}
static DEVICE_ATTR_RO(error);

/* The drift statistics, all from one locked copy. */
enum hostclock_drift_field {
	HC_OFFSET, HC_MAX_ABS, HC_MEAN, HC_STDDEV, HC_DRIFT, HC_SAMPLES, HC_EXCEEDED,
};

static ssize_t hostclock_drift_show(struct device *dev, char *buf,
				    enum hostclock_drift_field field)
{
	struct hostclock_dev *hc = hostclock_of(dev);
	struct hostclock_drift_stats st;
	struct hostclock_drift *d;
	ssize_t ret;

	d = kmalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	spin_lock(&hc->lock);
	*d = hc->drift;
	spin_unlock(&hc->lock);
	hostclock_drift_stats(d, &st);
	switch (field) {
	case HC_OFFSET:
		ret = sysfs_emit(buf, "%lld\n", d->samples ? d->last_ns : 0);
		break;
	case HC_MAX_ABS:
		ret = sysfs_emit(buf, "%llu\n", d->max_abs_ns);
		break;
	case HC_MEAN:
		ret = sysfs_emit(buf, "%lld\n", st.mean_ns);
		break;
	case HC_STDDEV:
		ret = sysfs_emit(buf, "%llu\n", st.stddev_ns);
		break;
	case HC_DRIFT:
		ret = sysfs_emit(buf, "%lld\n", st.drift_ppb);
		break;
	case HC_SAMPLES:
		ret = sysfs_emit(buf, "%llu\n", d->samples);
		break;
	default:
		ret = sysfs_emit(buf, "%llu\n", d->exceeded);
		break;
	}
	kfree(d);
	return ret;
}

#define HOSTCLOCK_DRIFT_ATTR(_name, _field)					\
static ssize_t _name##_show(struct device *dev, struct device_attribute *attr,	\
			    char *buf)						\
{										\
	return hostclock_drift_show(dev, buf, _field);				\
}										\
static DEVICE_ATTR_RO(_name)

HOSTCLOCK_DRIFT_ATTR(offset_ns, HC_OFFSET);
HOSTCLOCK_DRIFT_ATTR(max_abs_offset_ns, HC_MAX_ABS);
HOSTCLOCK_DRIFT_ATTR(offset_mean_ns, HC_MEAN);
HOSTCLOCK_DRIFT_ATTR(offset_stddev_ns, HC_STDDEV);
HOSTCLOCK_DRIFT_ATTR(drift_ppb, HC_DRIFT);
HOSTCLOCK_DRIFT_ATTR(samples, HC_SAMPLES);
HOSTCLOCK_DRIFT_ATTR(offset_threshold_exceeded, HC_EXCEEDED);

/*
 * The host's error bounds grown to now; -1 when the page gives none, or
 * while no time is served (the last valid page's bounds no longer hold).
 */
static ssize_t hostclock_error_show(struct device *dev, char *buf, bool max)
{
	struct hostclock_dev *hc = hostclock_of(dev);
	struct hostclock_error_bound err = { 0 };
	struct hostclock_clock clk;
	bool have;

	spin_lock(&hc->lock);
	clk = hc->clk;
	have = hc->have_clk && hostclock_state_usable(hc->state);
	spin_unlock(&hc->lock);
	if (have)
		hostclock_counter_error(&clk, rdtsc_ordered(), &err);
	if (max)
		return err.maxerror_valid ? sysfs_emit(buf, "%llu\n", err.maxerror_ns) :
					    sysfs_emit(buf, "-1\n");
	return err.esterror_valid ? sysfs_emit(buf, "%llu\n", err.esterror_ns) :
				    sysfs_emit(buf, "-1\n");
}

static ssize_t time_esterror_ns_show(struct device *dev, struct device_attribute *attr,
				     char *buf)
{
	return hostclock_error_show(dev, buf, false);
}
static DEVICE_ATTR_RO(time_esterror_ns);

static ssize_t time_maxerror_ns_show(struct device *dev, struct device_attribute *attr,
				     char *buf)
{
	return hostclock_error_show(dev, buf, true);
}
static DEVICE_ATTR_RO(time_maxerror_ns);

/* A u64 of the instance, read under its lock. */
#define HOSTCLOCK_U64_ATTR(_name, _expr)					\
static ssize_t _name##_show(struct device *dev, struct device_attribute *attr,	\
			    char *buf)						\
{										\
	struct hostclock_dev *hc = hostclock_of(dev);				\
	u64 v;									\
										\
	spin_lock(&hc->lock);						\
	v = (_expr);								\
	spin_unlock(&hc->lock);						\
	return sysfs_emit(buf, "%llu\n", v);					\
}										\
static DEVICE_ATTR_RO(_name)

HOSTCLOCK_U64_ATTR(page_updates, hc->count.page_updates);
HOSTCLOCK_U64_ATTR(freq_changes, hc->count.freq_changes);
HOSTCLOCK_U64_ATTR(time_steps, hc->count.time_steps);
HOSTCLOCK_U64_ATTR(disruptions, hc->count.disruptions);
HOSTCLOCK_U64_ATTR(vm_generation_changes, hc->count.vm_generation_changes);
HOSTCLOCK_U64_ATTR(seq_retries, hc->count.seq_retries);
HOSTCLOCK_U64_ATTR(read_timeouts, hc->count.read_timeouts);
HOSTCLOCK_U64_ATTR(invalid_pages, hc->count.invalid_pages);
HOSTCLOCK_U64_ATTR(crosststamp_failures, hc->count.crosststamp_failures);
HOSTCLOCK_U64_ATTR(crosststamp_bracketed, hc->count.crosststamp_bracketed);
HOSTCLOCK_U64_ATTR(crosststamp_bracket_ns, hc->count.crosststamp_bracket_ns);
HOSTCLOCK_U64_ATTR(disruption_steps, hc->count.disruption_steps);
HOSTCLOCK_U64_ATTR(steps_dropped, hc->count.steps_dropped);
HOSTCLOCK_U64_ATTR(step_refused_reads, hc->count.step_refused_reads);
HOSTCLOCK_U64_ATTR(step_pending, hc->step_pending);
HOSTCLOCK_U64_ATTR(rate_refused, hc->count.rate_refused);
HOSTCLOCK_U64_ATTR(rate_limited, hc->count.rate_limited);
HOSTCLOCK_U64_ATTR(tsc_unstable_refusals, hc->count.tsc_unstable_refusals);
HOSTCLOCK_U64_ATTR(uevents_deferred, hc->count.uevents_deferred);
HOSTCLOCK_U64_ATTR(pair_bursts, hc->count.pair_bursts);
HOSTCLOCK_U64_ATTR(pair_timeouts, hc->count.pair_timeouts);
HOSTCLOCK_U64_ATTR(pair_rtt_ticks, hc->pair_rtt);
HOSTCLOCK_U64_ATTR(disruption_marker, hc->disruption_marker);
HOSTCLOCK_U64_ATTR(vm_generation_counter, hc->vm_generation);
HOSTCLOCK_U64_ATTR(tsc_offset_uncertainty_ticks,
		   hc->ext ? le64_to_cpu(READ_ONCE(hc->ext->tsc_offset_uncertainty)) : 0);

/* An s64 of the instance, read under its lock. */
#define HOSTCLOCK_S64_ATTR(_name, _expr)					\
static ssize_t _name##_show(struct device *dev, struct device_attribute *attr,	\
			    char *buf)						\
{										\
	struct hostclock_dev *hc = hostclock_of(dev);				\
	s64 v;									\
										\
	spin_lock(&hc->lock);						\
	v = (_expr);								\
	spin_unlock(&hc->lock);						\
	return sysfs_emit(buf, "%lld\n", v);					\
}										\
static DEVICE_ATTR_RO(_name)

HOSTCLOCK_S64_ATTR(last_step_ns, hc->last_step_ns);
HOSTCLOCK_S64_ATTR(last_step_residual_ns, hc->last_step_residual_ns);

/* the clocksource's, shared by all instances */
static ssize_t monotonic_clamps_show(struct device *dev, struct device_attribute *attr,
				     char *buf)
{
	return sysfs_emit(buf, "%llu\n", hostclock_cs_clamps());
}
static DEVICE_ATTR_RO(monotonic_clamps);

static ssize_t reset_stats_store(struct device *dev, struct device_attribute *attr,
				 const char *buf, size_t len)
{
	struct hostclock_dev *hc = hostclock_of(dev);
	bool yes;

	if (kstrtobool(buf, &yes) || !yes)
		return -EINVAL;
	spin_lock(&hc->lock);
	hostclock_drift_reset(&hc->drift);
	spin_unlock(&hc->lock);
	return len;
}
static DEVICE_ATTR_WO(reset_stats);

static struct attribute *hostclock_attrs[] = {
	&dev_attr_status.attr,
	&dev_attr_error.attr,
	&dev_attr_offset_ns.attr,
	&dev_attr_max_abs_offset_ns.attr,
	&dev_attr_offset_mean_ns.attr,
	&dev_attr_offset_stddev_ns.attr,
	&dev_attr_drift_ppb.attr,
	&dev_attr_samples.attr,
	&dev_attr_offset_threshold_exceeded.attr,
	&dev_attr_time_esterror_ns.attr,
	&dev_attr_time_maxerror_ns.attr,
	&dev_attr_page_updates.attr,
	&dev_attr_freq_changes.attr,
	&dev_attr_time_steps.attr,
	&dev_attr_disruptions.attr,
	&dev_attr_vm_generation_changes.attr,
	&dev_attr_seq_retries.attr,
	&dev_attr_read_timeouts.attr,
	&dev_attr_invalid_pages.attr,
	&dev_attr_monotonic_clamps.attr,
	&dev_attr_crosststamp_failures.attr,
	&dev_attr_crosststamp_bracketed.attr,
	&dev_attr_crosststamp_bracket_ns.attr,
	&dev_attr_disruption_steps.attr,
	&dev_attr_steps_dropped.attr,
	&dev_attr_step_refused_reads.attr,
	&dev_attr_step_pending.attr,
	&dev_attr_last_step_ns.attr,
	&dev_attr_last_step_residual_ns.attr,
	&dev_attr_rate_refused.attr,
	&dev_attr_rate_limited.attr,
	&dev_attr_tsc_unstable_refusals.attr,
	&dev_attr_uevents_deferred.attr,
	&dev_attr_pair_bursts.attr,
	&dev_attr_pair_timeouts.attr,
	&dev_attr_pair_rtt_ticks.attr,
	&dev_attr_tsc_offset_uncertainty_ticks.attr,
	&dev_attr_disruption_marker.attr,
	&dev_attr_vm_generation_counter.attr,
	&dev_attr_reset_stats.attr,
	NULL
};

static const struct attribute_group hostclock_group = {
	.attrs = hostclock_attrs,
};

const struct attribute_group *hostclock_groups[] = {
	&hostclock_group,
	NULL
};
