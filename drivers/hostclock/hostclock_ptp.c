// SPDX-License-Identifier: GPL-2.0
/*
 * The PTP clock of an instance: the host's time (UTC by default) at a guest
 * TSC value, read-only, for chrony's "refclock PHC" and phc2sys.
 *
 * Both precise paths rest on one system time snapshot, which reads the
 * current clocksource exactly once: the TSC behind that read is recovered
 * (it is the reading itself when tsc is current, the line inverted when
 * hostclock is) and checked against two TSC reads around the snapshot. So
 * PTP_SYS_OFFSET_PRECISE is exact whichever of the two is current, and
 * with kvm-clock through its pvclock page, on every kernel, without
 * get_device_system_crosststamp(), which from 6.9 refuses a module's
 * clocksource. With a clocksource that is no function of the TSC (hpet,
 * acpi_pm), gettimex64 brackets honestly and getcrosststamp answers from
 * the narrowest bracket, with its bound in sysfs.
 *
 * While a step on disruption is pending (hostclock_sample.c), every
 * reading is refused with ENODATA, as when there is no usable clock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ptp_clock_kernel.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/timekeeping.h>
#include <asm/tsc.h>

#include "hostclock.h"
#include "hostclock_compat.h"

static struct hostclock_dev *hostclock_ptp_dev(struct ptp_clock_info *info)
{
	return container_of(info, struct hostclock_dev, ptp_info);
}

static int hostclock_ptp_gettimex(struct ptp_clock_info *info,
				  struct timespec64 *ts,
				  struct ptp_system_timestamp *sts)
{
	struct hostclock_dev *hc = hostclock_ptp_dev(info);
	u32 gen = hostclock_step_gen(hc);
	struct system_time_snapshot snap;
	u64 tsc, bracket;
	int ret;

	if (sts && hostclock_cs_snapshot(hostclock_sts_clockid(sts), &snap, &tsc,
					 &bracket) == HOSTCLOCK_SNAP_EXACT) {
		/* system time and device time from the same counter read */
		ret = hostclock_dev_ptp_time_at(hc, gen, tsc, hostclock_timescale, ts);
		if (ret)
			return ret;
		hostclock_sts_set_both(sts, &snap);
		return 0;
	}

	ptp_read_system_prets(sts);
	tsc = rdtsc_ordered();
	ptp_read_system_postts(sts);
	return hostclock_dev_ptp_time_at(hc, gen, tsc, hostclock_timescale, ts);
}

/*
 * PTP_SYS_OFFSET_PRECISE answers whatever the current clocksource: chrony
 * and phc2sys keep the reading method that worked first, so refusing it
 * after a clocksource change would starve them until restarted. Exact
 * where the clocksource is a function of the TSC; otherwise from the
 * narrowest bracket, its bound counted and shown in sysfs.
 */
static int hostclock_ptp_getcrosststamp(struct ptp_clock_info *info,
					struct system_device_crosststamp *xt)
{
	struct hostclock_dev *hc = hostclock_ptp_dev(info);
	u32 gen = hostclock_step_gen(hc);
	struct system_time_snapshot snap;
	enum hostclock_snap kind;
	struct timespec64 ts;
	u64 tsc, bracket;
	int ret;

	kind = hostclock_cs_snapshot(hostclock_xtstamp_clockid(xt), &snap, &tsc, &bracket);
	if (kind == HOSTCLOCK_SNAP_NONE) {
		spin_lock(&hc->lock);
		hc->count.crosststamp_failures++;
		spin_unlock(&hc->lock);
		return -EOPNOTSUPP;
	}
	ret = hostclock_dev_ptp_time_at(hc, gen, tsc, hostclock_timescale, &ts);
	if (ret)
		return ret;
	if (kind == HOSTCLOCK_SNAP_BRACKETED) {
		/* rounded up, so that it stays a bound */
		u64 ns = tsc_khz ? mul_u64_u32_div(bracket, NSEC_PER_MSEC, tsc_khz) + 1 : U64_MAX;

		spin_lock(&hc->lock);
		hc->count.crosststamp_bracketed++;
		hc->count.crosststamp_bracket_ns = ns;
		spin_unlock(&hc->lock);
	}
	xt->device = timespec64_to_ktime(ts);
	hostclock_xtstamp_set_sys(xt, &snap);
	return 0;
}

static int hostclock_ptp_settime(struct ptp_clock_info *info,
				 const struct timespec64 *ts)
{
	return -EOPNOTSUPP;
}

static int hostclock_ptp_adjtime(struct ptp_clock_info *info, s64 delta)
{
	return -EOPNOTSUPP;
}

static int hostclock_ptp_adjfine(struct ptp_clock_info *info, long scaled_ppm)
{
	return -EOPNOTSUPP;
}

static int hostclock_ptp_enable(struct ptp_clock_info *info,
				struct ptp_clock_request *rq, int on)
{
	return -EOPNOTSUPP;
}

static const struct ptp_clock_info hostclock_ptp_template = {
	.owner		= THIS_MODULE,
	.name		= "hostclock",
	.max_adj	= 0,
	.gettimex64	= hostclock_ptp_gettimex,
	.getcrosststamp	= hostclock_ptp_getcrosststamp,
	.settime64	= hostclock_ptp_settime,
	.adjtime	= hostclock_ptp_adjtime,
	.adjfine	= hostclock_ptp_adjfine,
	.enable		= hostclock_ptp_enable,
};

/**
 * hostclock_ptp_register() - give an instance its /dev/ptpN
 * @hc: instance
 *
 * Return: 0, or a negative errno. A kernel without PTP support gives no
 * clock and 0.
 */
int hostclock_ptp_register(struct hostclock_dev *hc)
{
	struct ptp_clock *ptp;

	hc->ptp_info = hostclock_ptp_template;
	ptp = ptp_clock_register(&hc->ptp_info, hc->dev);
	if (IS_ERR(ptp)) {
		dev_err(hc->dev, "%s: PTP clock registration failed: %ld\n",
			hc->name, PTR_ERR(ptp));
		return PTR_ERR(ptp);
	}
	hc->ptp = ptp;
	if (ptp)
		dev_info(hc->dev, "%s: PTP clock ptp%d\n", hc->name,
			 ptp_clock_index(ptp));
	return 0;
}

/**
 * hostclock_ptp_unregister() - remove an instance's PTP clock
 * @hc: instance
 *
 * Waits for reads in progress; file descriptors still open get -ENODEV
 * from then on.
 */
void hostclock_ptp_unregister(struct hostclock_dev *hc)
{
	if (hc->ptp)
		ptp_clock_unregister(hc->ptp);
	hc->ptp = NULL;
}
