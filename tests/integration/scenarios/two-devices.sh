#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-devices: 2
#
# Guest side: two hostclock regions, each served by its own agent, give two
# instances with their own PTP clocks, sysfs directories and counters; one
# feeds the clocksource; unbinding one leaves the other working.

. /hc-lib.sh

coldplug
n=$(ls -d /sys/bus/pci/drivers/hostclock/0000:* 2>/dev/null | wc -l)
check "two ivshmem devices bound ($n)" test "$n" = 2
check "two instances: hostclock0 and hostclock1" test -d /sys/class/misc/hostclock0 -a -d /sys/class/misc/hostclock1
ptps=
for c in /sys/class/ptp/ptp*; do
	[ "$(cat "$c/clock_name")" = hostclock ] && ptps="$ptps /dev/$(basename "$c")"
done
note "hostclock PTP clocks:$ptps"
check "two PTP clocks named hostclock" test "$(echo $ptps | wc -w)" = 2
for p in $ptps; do
	i=0
	until hc-ptp-check "$p" get >/dev/null 2>&1 || [ $i -ge 30 ]; do sleep 1; i=$((i + 1)); done
	check "$p readable after pairing (${i}s)" hc-ptp-check "$p" get
done
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"
check "exactly one instance feeds the clocksource" \
	test "$(dmesg | grep -c 'feeds the hostclock clocksource')" = 1

# the comparator's agent serves the first region (hostclock0)
a0=$(cat /sys/class/misc/hostclock0/disruptions)
a1=$(cat /sys/class/misc/hostclock1/disruptions)
agent disrupt
sleep 0.5
check "a disruption of the first agent counts on hostclock0 only" \
	test "$(( $(cat /sys/class/misc/hostclock0/disruptions) - a0 )) $(( $(cat /sys/class/misc/hostclock1/disruptions) - a1 ))" = "1 0"

# unbind the first device: the second keeps serving, the clocksource counts
bdf=$(basename "$(readlink -f /sys/class/misc/hostclock0/device)")
check "unbind $bdf (hostclock0)" sh -c "echo $bdf >/sys/bus/pci/drivers/hostclock/unbind"
check "hostclock1 still readable" hc-ptp-check "/dev/$(basename "$(ls -d /sys/class/misc/hostclock1/device/ptp/ptp* | head -n 1)")" get
check "clocksource still hostclock and counting" sh -c \
	"grep -qx hostclock $cs/current_clocksource && a=\$(cat /proc/uptime) && sleep 0.3 && [ \"\$(cat /proc/uptime)\" != \"\$a\" ]"
sleep 1
check "hostclock1 now feeds the clocksource" sh -c "dmesg | grep 'hostclock1: feeds the hostclock clocksource'"
check "rebind $bdf" sh -c "echo $bdf >/sys/bus/pci/drivers/hostclock/bind"
check "rmmod with two instances, after switching to tsc" unload
