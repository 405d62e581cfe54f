#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side: a simulated migration with chrony following hostclock's PTP
# clock and hostclock the current clocksource. The agent steps its reference
# by 5 ms, makes it (and the published period) run 100 ppm fast, and bumps
# the disruption marker. chrony must be back within 10 us of the reference
# (5 s in a row) within 20 s; CLOCK_MONOTONIC_RAW must run at the new
# reference rate within 0.1 ppm; the counters and the uevent must say what
# happened.

. /hc-lib.sh

modprobe hostclock
wait_readable 30
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"
s=/sys/class/misc/hostclock0

printf 'refclock PHC %s poll 0 dpoll -2 prefer\nmakestep 0.1 3\ncmdport 0\npidfile /tmp/chronyd.pid\n' \
	"$ptp" >/tmp/chrony.conf
start_chronyd /tmp/chrony.out

# settle LIMIT_S: seconds until |CLOCK_REALTIME - reference| stayed under
# 10 us for 5 s in a row, or -1; offsets kept in /tmp/settle
settle() {
	t=0 run=0 first=-1
	: >/tmp/settle
	while [ $t -lt "$1" ]; do
		sleep 1
		t=$((t + 1))
		off=$(realtime_offset)
		[ -n "$off" ] || continue
		echo "$t $off" >>/tmp/settle
		if within "$off" 10000; then
			run=$((run + 1))
			[ $run -eq 1 ] && first=$t
			[ $run -ge 5 ] && { echo "$first"; return; }
		else
			run=0
		fi
	done
	echo -1
}

t0=$(settle 30)
check "chrony converged before the migration (${t0}s)" test "$t0" -ge 0

b_dis=$(cat $s/disruptions) b_step=$(cat $s/time_steps) b_freq=$(cat $s/freq_changes)
hc-uevent 30 >/tmp/uevents &
uev=$!
sleep 0.5
agent step 5000000
agent rate 100ppm
agent disrupt
t1=$(settle 20)
note "offsets after the migration (s ns): $(head -n 8 /tmp/settle | tr '\n' ' ')"
check "chrony back within 10 us of the reference, 5 s in a row, within 20 s (after ${t1}s)" \
	test "$t1" -ge 0

r=$(hc-compare --clock raw -n 20 --repeat 17 --every 500 | sed -n 's/^rate_ppb=//p')
note "reference - CLOCK_MONOTONIC_RAW after the migration: $r ppb"
check "MONOTONIC_RAW runs at the new reference rate within 0.1 ppm ($r ppb)" within "${r%.*}" 100

kill "$uev" 2>/dev/null
wait "$uev" 2>/dev/null
check "counters: disruptions +1, time_steps +1, freq_changes +1" test \
	"$(( $(cat $s/disruptions) - b_dis )) $(( $(cat $s/time_steps) - b_step )) $(( $(cat $s/freq_changes) - b_freq ))" = "1 1 1"
check "a disruption uevent arrived" grep -q "HOSTCLOCK_EVENT=disruption" /tmp/uevents
kill "$chrony"
wait "$chrony" 2>/dev/null
agent restore
