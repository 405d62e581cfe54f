#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-qemu: -device vmclock
# hostclock-devices: 0
# hostclock-migrate: yes
#
# Guest side: QEMU's own VMCLOCK device (a peer implementation) across a
# restore. The host migrates the running VM to a file and resumes it in a
# new QEMU with -incoming, which is what restoring a snapshot does; QEMU's
# device then bumps its disruption_marker. The driver must count exactly
# one disruption, send a disruption uevent, and still report no clock. No
# ivshmem device here: QEMU refuses to migrate a VM with ivshmem-plain in
# peer mode.

. /hc-lib.sh

coldplug
inst=
for m in /sys/class/misc/hostclock*; do
	case "$(basename "$(readlink -f "$m/device/driver")")" in hostclock_acpi) inst=$m ;; esac
done
check "QEMU's VMCLOCK device bound by hostclock_acpi (${inst##*/})" test -n "$inst"
check "it reports no clock ($(cat "$inst/status"))" grep -qx no-clock "$inst/status"
d0=$(cat "$inst/disruptions")
g0=$(cat "$inst/vm_generation_changes")
m0=$(cat "$inst/disruption_marker")
v0=$(cat "$inst/vm_generation_counter")

hc-uevent 100 >/tmp/uevents &
uev=$!
sleep 0.5
echo "HCTEST qemu: restore"
i=0
until [ "$(cat "$inst/disruptions")" != "$d0" ] || [ $i -ge 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 1	# a second disruption would have been counted by now
d1=$(cat "$inst/disruptions")
m1=$(cat "$inst/disruption_marker")
note "after restore (seen in $((i / 10)) s): disruptions $d0 -> $d1, marker $m0 -> $m1, vm_generation_counter $v0 -> $(cat "$inst/vm_generation_counter"), vm_generation_changes $g0 -> $(cat "$inst/vm_generation_changes")"
check "exactly one disruption counted after the restore" test "$((d1 - d0))" = 1
check "the disruption marker moved" test "$m1" != "$m0"
kill "$uev" 2>/dev/null
wait "$uev" 2>/dev/null
grep -m 1 "HOSTCLOCK_EVENT=disruption" /tmp/uevents | sed 's/^/HCTEST note uevent: /'
check "one disruption uevent with the new marker" \
	test "$(grep -c "HOSTCLOCK_EVENT=disruption .*HOSTCLOCK_DISRUPTION_MARKER=$m1" /tmp/uevents)" = 1
check "still no clock after the restore ($(cat "$inst/status"))" grep -qx no-clock "$inst/status"
ptp=/dev/$(basename "$(ls -d "$inst"/device/ptp/ptp* | head -n 1)")
r=$(hc-ptp-check "$ptp" get 2>&1)
check "its PTP clock still refuses reads with ENODATA ($r)" sh -c "echo '$r' | grep -q errno=ENODATA"
check "rmmod" rmmod hostclock
