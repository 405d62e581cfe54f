#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-qemu: -device vmclock
# hostclock-every-line: yes
#
# Guest side: QEMU's own ACPI VMCLOCK device (a peer implementation, not
# ours) next to the ivshmem region. The driver binds to both; the ACPI
# instance reports that its page has no clock and serves no time, and its
# PTP clock refuses reads with the documented errno. (Its disruption after
# a restore is checked by vmclock-restore.sh.) On a kernel with its own
# ptp_vmclock (6.13+), hostclock leaves the ACPI device to it, whichever
# loads first, and takes it only with acpi_override_ptp_vmclock=1
# (Documentation/driver.md#the-kernels-ptp_vmclock).

. /hc-lib.sh

acpi=
for d in /sys/bus/acpi/devices/*; do
	case "$(cat "$d/hid" 2>/dev/null)" in AMZNC10C) acpi=$d ;; esac
done
check "QEMU exposes an ACPI VMCLOCK device ($acpi)" test -n "$acpi"
note "ACPI modalias: $(cat "$acpi/modalias" 2>/dev/null)"

acpi_dev=$(basename "$acpi")
bound_to() { test -e "/sys/bus/platform/drivers/$1/$acpi_dev"; }
instances() { ls -d /sys/class/misc/hostclock* 2>/dev/null | wc -l; }

if [ -n "$(find /lib/modules -name ptp_vmclock.ko)" ]; then
	# ptp_vmclock first, then coldplug as udev would (both match the device)
	check "ptp_vmclock loads" modprobe ptp_vmclock
	coldplug
	check "ptp_vmclock first: the ACPI device is ptp_vmclock's" bound_to vmclock
	check "ptp_vmclock first: hostclock has only the ivshmem instance" test "$(instances)" = 1
	wait_readable 30
	check "hostclock's PTP clock reads beside ptp_vmclock ($ptp, ${waited}s)" hc-ptp-check "$ptp" get
	r=$(hc-compare --clock "$ptp" -n 20)
	off=$(field offset_ns "$r")
	unc=$(field unc_ns "$r")
	note "hostclock's PTP clock vs agent reference: $r"
	check "and agrees with the reference within its uncertainty + 2 us" \
		within "$off" $((${unc:-0} + 2000))
	vptp=
	for c in /sys/class/ptp/ptp*; do
		[ "$(basename "$(readlink -f "$c/device")")" = "$acpi_dev" ] && vptp=/dev/$(basename "$c")
	done
	note "ptp_vmclock's PTP clock: ${vptp:-none (QEMU's page has no clock)}; its page: $(ls /dev/vmclock* 2>&1)"
	check "ptp_vmclock's /dev/vmclock0 gives the VMClock page" \
		sh -c 'test "$(head -c 4 /dev/vmclock0)" = VCLK'
	if [ -n "$vptp" ]; then
		check "ptp_vmclock's PTP clock reads ($vptp)" hc-ptp-check "$vptp" get
	fi
	check "rmmod both" rmmod hostclock ptp_vmclock

	# hostclock first: it declines, and ptp_vmclock takes the device after
	check "hostclock first loads" modprobe hostclock
	coldplug
	check "hostclock first: it left the ACPI device unbound" sh -c '! ls /sys/bus/platform/drivers/hostclock_acpi/ | grep -q :'
	check "hostclock first: its log says so" \
		sh -c 'dmesg | grep -q "left to the kernel.s ptp_vmclock driver"'
	check "hostclock first: ptp_vmclock then binds it" \
		sh -c 'modprobe ptp_vmclock && test -e /sys/bus/platform/drivers/vmclock/'"$acpi_dev"
	check "hostclock first: one hostclock instance" test "$(instances)" = 1
	check "rmmod both again" rmmod hostclock ptp_vmclock

	# the override takes it, and ptp_vmclock then finds it bound
	check "modprobe hostclock acpi_override_ptp_vmclock=1" modprobe hostclock acpi_override_ptp_vmclock=1
	coldplug
	check "override: the ACPI device is hostclock's" bound_to hostclock_acpi
	check "override: two hostclock instances" test "$(instances)" = 2
	check "override: the VMCLOCK instance says its page has no clock" \
		sh -c 'dmesg | grep -q "VMCLOCK page, clock no-clock"'
	modprobe ptp_vmclock 2>/dev/null
	check "override: ptp_vmclock did not take it" sh -c '! bound_to vmclock'
	check "rmmod hostclock" rmmod hostclock
	# errors and warnings (levels 0-4) from either driver; the taint of an
	# unsigned out-of-tree module (two warnings) is expected here
	spam=$(dmesg -r | awk -F'[<>]' '/^</ && $2 % 8 <= 4' | grep -iE 'hostclock|vmclock' |
		grep -vE 'taints kernel|tainting kernel' | head -n 3)
	check "no errors or warnings from either driver in dmesg${spam:+: $spam}" test -z "$spam"
	exit 0
fi

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
