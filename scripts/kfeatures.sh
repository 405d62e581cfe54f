#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Compile-time feature probes for the kernel tree at $1 (kbuild's srctree):
# prints -D flags for the API differences hostclock handles. Backports make
# version numbers lie, so each probe looks at the header itself.

tree=${1:?usage: kfeatures.sh SRCTREE}
h=$tree/include/linux

# struct ptp_system_timestamp.clockid (6.11): EXTENDED for other clocks
grep -q 'clockid_t clockid;' "$h/ptp_clock_kernel.h" 2>/dev/null &&
	echo -DHOSTCLOCK_HAVE_STS_CLOCKID
# struct platform_driver.remove returns void (6.11; 6.1 has remove_new)
grep -q 'void (\*remove)(struct platform_device' "$h/platform_device.h" 2>/dev/null &&
	echo -DHOSTCLOCK_PLATFORM_REMOVE_VOID
# vm_flags_clear() (6.3): vm_flags may no longer be written directly
grep -q 'static inline void vm_flags_clear' "$h/mm.h" 2>/dev/null &&
	echo -DHOSTCLOCK_HAVE_VM_FLAGS_CLEAR
exit 0
