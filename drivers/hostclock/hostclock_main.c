// SPDX-License-Identifier: GPL-2.0
/*
 * hostclock: the host's disciplined clock for virtual machines.
 *
 * Module entry points. The portable time core (core/) is linked in; the
 * transports, the clocksource and the PTP clock register from here as they
 * are added.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "hostclock/core.h"

static int __init hostclock_init(void)
{
	pr_debug("time core loaded, no transport registered\n");
	return 0;
}

static void __exit hostclock_exit(void)
{
	pr_debug("unloaded\n");
}

module_init(hostclock_init);
module_exit(hostclock_exit);

MODULE_DESCRIPTION("hostclock: host-disciplined clock for virtual machines");
MODULE_LICENSE("GPL");
MODULE_VERSION(HOSTCLOCK_VERSION);
