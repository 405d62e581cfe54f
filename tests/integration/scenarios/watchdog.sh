#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-tsc-reliable: no
# hostclock-timeout: 200
#
# Guest side: with rating=450 (above hpet, acpi_pm and tsc) hostclock
# becomes current, yet never the clocksource watchdog: it is MUST_VERIFY,
# so the kernel checks it against another clocksource instead of checking
# the TSC against it (its own counter, at the host's rate). Booted without
# tsc=reliable, so that the TSC is watched and the watchdog runs. Which
# clocksource is the watchdog is read from the kernel's own variable, by a
# kprobe on the watchdog timer that fetches it. Also: the read path is not
# in ftrace's list of traceable functions (notrace).

. /hc-lib.sh

note "boot: $(dmesg | grep -iE 'tsc|clocksource' | grep -iE 'unstable|sync|watchdog|skew' | tr '\n' '|')"
modprobe hostclock rating=450
# registered once paired; the PTP clock may still refuse (6.1 under TCG
# marks the TSC unstable at boot without tsc=reliable: state tsc-unstable)
waited=0
until grep -qw hostclock "$cs/available_clocksource" || [ $waited -ge 90 ]; do
	sleep 1
	waited=$((waited + 1))
done
note "registered after $waited s: status $(cat /sys/class/misc/hostclock0/status), bursts $(cat /sys/class/misc/hostclock0/pair_bursts), agent: $(hc-compare --cmd state | grep -o 'pair_[a-z_]*=[0-9]*' | tr '\n' ' ')"
i=0
until grep -qx hostclock "$cs/current_clocksource" || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "rating=450: hostclock became current by itself" grep -qx hostclock "$cs/current_clocksource"

t=/sys/kernel/tracing
[ -d $t/events ] || mount -t tracefs nodev $t 2>/dev/null
wd=$(sed -n 's/^\([0-9a-f]*\) [bBdD] watchdog$/\1/p' /proc/kallsyms | head -n 1)
hc=$(sed -n 's/^\([0-9a-f]*\) [dD] hostclock_clocksource\t.*/\1/p' /proc/kallsyms | head -n 1)
note "the kernel's watchdog pointer at 0x$wd, hostclock's clocksource at 0x$hc"
if [ -n "$wd" ] && [ -n "$hc" ] &&
	echo "p:hcwd clocksource_watchdog wd=@0x$wd:x64" >$t/kprobe_events 2>/tmp/kp; then
	echo 1 >$t/events/kprobes/hcwd/enable
	sleep 2
	echo 0 >$t/events/kprobes/hcwd/enable
	seen=$(sed -n 's/.*wd=0x\([0-9a-f]*\).*/\1/p' $t/trace | sort -u | tr '\n' ' ')
	echo >$t/kprobe_events
	name=$(for a in $seen; do grep "^0*$a " /proc/kallsyms | head -n 1; done | tr '\n' ' ')
	note "watchdog during 2 s: $seen ($name)"
	check "the watchdog ran and was read" test -n "$seen"
	check "the watchdog is not hostclock" sh -c "! echo ' $seen ' | grep -q ' $hc '"
else
	fail "kprobe on clocksource_watchdog: $(cat /tmp/kp)"
fi
# the read path is notrace: the tracing clocks read the clocksource
traced=$(grep -oE '^(hostclock_cs_read|hostclock_cs_now|hostclock_line_ns|hostclock_monotonic_guard)\b' \
	$t/available_filter_functions | tr '\n' ' ')
check "the clocksource's read path is not traceable (${traced:-none listed})" test -z "$traced"
check "the TSC was not marked unstable" sh -c "! dmesg | grep -q 'Marking clocksource .tsc. as unstable'"
switch_away
check "rmmod once another clocksource is current" rmmod hostclock
