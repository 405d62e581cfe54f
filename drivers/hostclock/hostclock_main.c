// SPDX-License-Identifier: GPL-2.0
/*
 * hostclock: the host's disciplined clock for virtual machines.
 *
 * Module entry points and parameters. The transports (PCI ivshmem, ACPI
 * VMCLOCK) find pages and create instances (hostclock_dev.c); each instance
 * has a PTP clock, and the first with a usable clock feeds the one
 * "hostclock" clocksource.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "hostclock.h"

unsigned int hostclock_poll_ms = 100;
int hostclock_timescale = HOSTCLOCK_TS_UTC;

unsigned int hostclock_freq_change_ppb = 1000;
module_param_named(freq_change_ppb, hostclock_freq_change_ppb, uint, 0644);
MODULE_PARM_DESC(freq_change_ppb,
		 "a new period this far from the last counts in freq_changes (default 1000 ppb)");

unsigned int hostclock_time_step_ns = 100000;
module_param_named(time_step_ns, hostclock_time_step_ns, uint, 0644);
MODULE_PARM_DESC(time_step_ns,
		 "a page time jump above this counts in time_steps (default 100000 ns)");

static int hostclock_set_poll_ms(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;
	int ret = kstrtouint(val, 0, &ms);

	if (ret)
		return ret;
	if (ms < 10 || ms > 1000)
		return -ERANGE;
	*(unsigned int *)kp->arg = ms;
	return 0;
}

static const struct kernel_param_ops hostclock_poll_ms_ops = {
	.set = hostclock_set_poll_ms,
	.get = param_get_uint,
};
module_param_cb(poll_ms, &hostclock_poll_ms_ops, &hostclock_poll_ms, 0644);
MODULE_PARM_DESC(poll_ms, "page poll interval in ms, 10..1000 (default 100)");

static int hostclock_set_timescale(const char *val, const struct kernel_param *kp)
{
	if (sysfs_streq(val, "utc"))
		hostclock_timescale = HOSTCLOCK_TS_UTC;
	else if (sysfs_streq(val, "tai"))
		hostclock_timescale = HOSTCLOCK_TS_TAI;
	else
		return -EINVAL;
	return 0;
}

static int hostclock_get_timescale(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n",
			  hostclock_timescale == HOSTCLOCK_TS_TAI ? "tai" : "utc");
}

static const struct kernel_param_ops hostclock_timescale_ops = {
	.set = hostclock_set_timescale,
	.get = hostclock_get_timescale,
};
module_param_cb(timescale, &hostclock_timescale_ops, NULL, 0444);
MODULE_PARM_DESC(timescale, "time of the PTP clocks: utc (default) or tai");

static int __init hostclock_init(void)
{
	int ret;

	ret = hostclock_cs_init();
	if (ret)
		return ret;
	ret = hostclock_pci_register();
	if (ret)
		goto err_cs;
	ret = hostclock_acpi_register();
	if (ret)
		goto err_pci;
	return 0;

err_pci:
	hostclock_pci_unregister();
err_cs:
	/* a PCI probe may have registered the clocksource, even made it current */
	hostclock_cs_exit();
	return ret;
}

static void __exit hostclock_exit(void)
{
	/* instances first: PTP clocks gone, pollers stopped */
	hostclock_acpi_unregister();
	hostclock_pci_unregister();
	/* then the clocksource, which switches the kernel away from it */
	hostclock_cs_exit();
}

module_init(hostclock_init);
module_exit(hostclock_exit);

MODULE_DESCRIPTION("hostclock: host-disciplined clock for virtual machines");
MODULE_LICENSE("GPL");
MODULE_VERSION(HOSTCLOCK_VERSION);
