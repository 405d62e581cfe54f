#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2154 # wait_readable (hc-lib.sh) sets $ptp and $waited
#
# Guest side of scripts/libvirt-test.sh: in a domain libvirt started, with
# the region its hook's agent serves and the comparator's, hostclock binds
# the region, its PTP clock reads once paired, and it agrees with the
# agent's reference. Then the guest waits for virsh destroy.

. /hc-lib.sh

coldplug
check "module autoloaded from the ivshmem modalias" test -d /sys/module/hostclock
bound=0
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1af4:0x1110" ] || continue
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = hostclock ] && bound=$((bound + 1))
done
check "hostclock bound to the region libvirt mapped ($bound device)" test "$bound" = 1

wait_readable 60
check "PTP clock $ptp readable after pairing (${waited}s)" hc-ptp-check "$ptp" get

# the PTP clock against the agent's reference, retried while the
# comparator's own uncertainty is over 10 us (a delayed burst)
for _ in 1 2 3 4 5; do
	r=$(hc-compare --clock "$ptp" -n 20)
	unc=$(field unc_ns "$r")
	[ "${unc:-999999}" -le 10000 ] && break
done
off=$(field offset_ns "$r")
note "PTP clock vs agent reference: $r"
check "PTP clock within the comparator's uncertainty + 2 us of the reference (offset ${off} ns, uncertainty ${unc} ns)" \
	test -n "$off" -a "${unc:-999999}" -le 10000 -a "$(abs "${off:-999999999}")" -le $((${unc:-0} + 2000))

bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|soft lockup|hard LOCKUP|general protection' | head -n 3)
check "dmesg has no WARN/BUG/Oops" test -z "$bad"
echo "HCTEST libvirt: guest checks done, waiting for virsh destroy"

# Then one state line every 2 s, which the host follows across virsh save
# and restore: the guest runs on, still sees its device, and what its
# clock serves once the restoring side's agent has taken the region over.
for s in /sys/class/misc/hostclock*; do break; done
n=0
while :; do
	n=$((n + 1))
	bound=0
	for d in /sys/bus/pci/devices/*; do
		[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = hostclock ] && bound=$((bound + 1))
	done
	r=$(hc-compare --clock "$ptp" -n 10 2>/dev/null)
	echo "HCTEST state n=$n bound=$bound status=$(cat "$s/status" 2>/dev/null)" \
		"disruptions=$(cat "$s/disruptions" 2>/dev/null) offset_ns=$(field offset_ns "$r") unc_ns=$(field unc_ns "$r")"
	sleep 2
done
