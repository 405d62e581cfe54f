#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
# hostclock-timeout: 240
#
# Guest side: chronyd with the refclock line of Documentation/driver.md, and
# then phc2sys, each bring a CLOCK_REALTIME started 1 s wrong to the agent's
# reference, measured by the comparator (which does not use hostclock).
# With hostclock the current clocksource.

. /hc-lib.sh

modprobe hostclock
wait_readable 30
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"

# follow NAME SECONDS: every second, CLOCK_REALTIME vs the reference;
# prints the seconds until |offset| stayed under 10 us, and the last 10.
follow() {
	name=$1 secs=$2 t=0 settled=-1 run=0
	: >/tmp/$name.offsets
	while [ $t -lt "$secs" ]; do
		sleep 1
		t=$((t + 1))
		off=$(realtime_offset)
		[ -n "$off" ] || continue
		echo "$t $off" >>/tmp/$name.offsets
		if [ "$(abs "$off")" -le 10000 ]; then
			run=$((run + 1))
			[ $run -eq 1 ] && first=$t
			[ $run -ge 5 ] && [ $settled -lt 0 ] && settled=$first
		else
			run=0
		fi
	done
	echo "$settled"
}
# p50 and max |offset| of the last N seconds of a run
tail_stats() {
	tail -n "$2" /tmp/$1.offsets | awk '{ v = $2 < 0 ? -$2 : $2; print v }' | sort -n |
		awk '{ a[NR] = $1 } END { printf "p50=%d max=%d n=%d\n", a[int((NR + 1) / 2)], a[NR], NR }'
}

# chrony
one_second_behind
note "before chrony: $(hc-compare --clock realtime -n 10)"
cat >/tmp/chrony.conf <<CONF
refclock PHC $ptp poll 0 dpoll -2 prefer
makestep 0.1 3
driftfile /tmp/chrony/drift
pidfile /tmp/chrony/chronyd.pid
cmdport 0
CONF
start_chronyd /tmp/chrony/out
settled=$(follow chrony 25)
kill "$chrony"
wait "$chrony" 2>/dev/null
st=$(tail_stats chrony 10)
note "chrony: settled under 10 us after ${settled}s; last 10 s |offset| $st"
check "chrony: within 10 us of the reference, settled (after ${settled}s)" test "$settled" -ge 0
check "chrony: last 10 s median |offset| under 5 us ($st)" test "$(field p50 "$st")" -le 5000

# phc2sys, from 1 s behind again
one_second_behind
note "before phc2sys: $(hc-compare --clock realtime -n 10)"
phc2sys -s "$ptp" -c CLOCK_REALTIME -O 0 -R 4 >/tmp/phc2sys.out 2>&1 &
p2s=$!
settled=$(follow phc2sys 20)
kill "$p2s"
wait "$p2s" 2>/dev/null
st=$(tail_stats phc2sys 10)
note "phc2sys: settled under 10 us after ${settled}s; last 10 s |offset| $st"
check "phc2sys: within 10 us of the reference, settled (after ${settled}s)" test "$settled" -ge 0
check "phc2sys: last 10 s median |offset| under 5 us ($st)" test "$(field p50 "$st")" -le 5000
