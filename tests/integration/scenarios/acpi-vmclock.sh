#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-qemu: -device vmclock
#
# Guest side: QEMU's own ACPI VMCLOCK device (a peer implementation, not
# ours) next to the ivshmem region. The driver binds to both; the ACPI
# instance reports that its page has no clock and serves no time, and its
# PTP clock refuses reads with the documented errno. (Its disruption after
# a restore is checked by vmclock-restore.sh.)

. /hc-lib.sh

acpi=
for d in /sys/bus/acpi/devices/*; do
	case "$(cat "$d/hid" 2>/dev/null)" in AMZNC10C) acpi=$d ;; esac
done
check "QEMU exposes an ACPI VMCLOCK device ($acpi)" test -n "$acpi"
note "ACPI modalias: $(cat "$acpi/modalias" 2>/dev/null)"

# coldplug: PCI and platform (ACPI-enumerated) devices
coldplug
check "module autoloaded" test -d /sys/module/hostclock
plat=$(ls -d /sys/bus/platform/drivers/hostclock_acpi/*:* 2>/dev/null | head -n 1)
check "ACPI device bound to hostclock_acpi ($plat)" test -n "$plat"
dmesg | grep -i "hostclock" | sed 's/^/HCTEST note dmesg: /'
check "the VMCLOCK instance says its page has no clock" \
	sh -c 'dmesg | grep -q "VMCLOCK page, clock no-clock"'

# its PTP clock: present, but no time to give
for c in /sys/class/ptp/ptp*; do
	dev=$(basename "$(readlink -f "$c/device")")
	case "$dev" in AMZNC10C*|VMCLOCK*) ptp=/dev/$(basename "$c") ;; esac
done
note "VMCLOCK PTP clock: ${ptp:-none}"
r=$(hc-ptp-check "$ptp" get 2>&1)
note "read: $r"
check "its PTP clock refuses reads with ENODATA" sh -c "echo '$r' | grep -q errno=ENODATA"
check "unbind and rebind the ACPI device" sh -c \
	"echo $(basename "$plat") >/sys/bus/platform/drivers/hostclock_acpi/unbind &&
	 echo $(basename "$plat") >/sys/bus/platform/drivers/hostclock_acpi/bind"
check "rmmod" rmmod hostclock
