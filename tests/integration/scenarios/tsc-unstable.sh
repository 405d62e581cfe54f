#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-tsc-reliable: no
# hostclock-cmdline: tsc=unstable
# hostclock-timeout: 180
#
# Guest side: a kernel that does not trust its TSC (check_tsc_unstable(),
# here from tsc=unstable, as the watchdog or the boot-time sync check
# would decide). The page maps the TSC of the vCPU that paired, so the PTP
# clock serves no time: status tsc-unstable, reads fail with ENODATA and
# are counted. The clocksource still takes the page's rate, which holds on
# every vCPU, with its monotonic guard on.

. /hc-lib.sh

check "the kernel marked the TSC unstable" sh -c "dmesg | grep -qi 'tsc.*unstable'"
modprobe hostclock
s=/sys/class/misc/hostclock0
i=0
until [ "$(cat $s/status 2>/dev/null)" = tsc-unstable ] || [ $i -ge 90 ]; do
	sleep 1
	i=$((i + 1))
done
find_ptp
note "pairing: bursts $(cat $s/pair_bursts), timeouts $(cat $s/pair_timeouts); agent: $(hc-compare --cmd state | grep -o 'pair_[a-z_]*=[0-9]*' | tr '\n' ' ')"
check "status tsc-unstable once paired ($(cat $s/status) after ${i} s)" \
	test "$(cat $s/status)" = tsc-unstable
n0=$(cat $s/tsc_unstable_refusals)
r=$(hc-ptp-check "$ptp" get 2>&1)
note "PTP read: $r"
check "the PTP clock refuses with ENODATA" sh -c "echo '$r' | grep -q errno=ENODATA"
check "the refusal is counted ($n0 -> $(cat $s/tsc_unstable_refusals))" \
	test "$(cat $s/tsc_unstable_refusals)" -gt "$n0"
check "no error bounds shown ($(cat $s/time_maxerror_ns))" test "$(cat $s/time_maxerror_ns)" = -1
make_current
note "current: $(cat "$cs/current_clocksource"); clamps $(cat $s/monotonic_clamps)"
check "the clocksource registered all the same, and can be made current" \
	grep -qx hostclock "$cs/current_clocksource"
check "clock_gettime advances with hostclock selected" sh -c \
	'a=$(cat /proc/uptime); sleep 0.2; [ "$(cat /proc/uptime)" != "$a" ]'
switch_away
check "rmmod after switching away" rmmod hostclock
