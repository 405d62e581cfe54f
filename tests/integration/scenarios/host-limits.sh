#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-timeout: 200
#
# Guest side: what a host may not do to the guest. A host flipping the
# disruption marker at every poll gets at most 20 uevents a minute, the
# rest deferred and counted, the last one carrying the latest marker. A
# page rate 400 ppm off the guest's TSC calibration is taken 100 ppm per
# page (rate_limited), one 1000 ppm off is refused (rate_refused) and
# CLOCK_MONOTONIC_RAW keeps its rate. While a page is invalid the error
# bounds in sysfs say -1, not the last valid page's. Finally, with every
# other clocksource unbound, rmmod while hostclock is current is refused
# and the clock goes on (before .owner, the module was freed with the
# clocksource still registered).

. /hc-lib.sh
# rate RESULT: the comparator's least-squares rate, whole ppb
rate() { echo "$1" | sed -n 's/^rate_ppb=\(-\{0,1\}[0-9]*\).*/\1/p'; }
raw_rate() { rate "$(hc-compare --clock raw -n 20 --repeat 7 --every 500)"; }

modprobe hostclock
wait_readable 30
make_current
check "paired, hostclock current" grep -qx hostclock "$cs/current_clocksource"
s=/sys/class/misc/hostclock0

# A marker flipped 30 times in quick succession: 20 uevents, then held back
hc-uevent 20 >/tmp/uevents &
uev=$!
sleep 0.5
d0=$(cat $s/disruptions) q0=$(cat $s/uevents_deferred)
for n in $(seq 30); do agent disrupt; sleep 0.15; done	# a flip per poll
sleep 1
wait "$uev"
sent=$(grep -c 'HOSTCLOCK_EVENT=' /tmp/uevents)
flips=$(( $(cat $s/disruptions) - d0 )) deferred=$(( $(cat $s/uevents_deferred) - q0 ))
note "30 marker flips: $flips disruptions seen, $sent uevents, $deferred deferred"
check "flips seen: at least 21 disruptions counted ($flips)" test "$flips" -ge 21
check "at most 20 uevents in the minute ($sent)" test "$sent" -le 20
check "the others deferred and counted ($deferred = $flips + status uevents - $sent)" \
	test "$deferred" -ge $((flips - sent))

# The host's rate, bounded by the guest's own TSC calibration
sleep 2
r0=$(raw_rate)
note "reference - MONOTONIC_RAW before: $r0 ppb"
l0=$(cat $s/rate_limited) f0=$(cat $s/rate_refused)
agent rate 400ppm
sleep 6	# 100 ppm per page, one page a second, then a settled one
r1=$(raw_rate)
note "after +400 ppm: $r1 ppb, rate_limited +$(( $(cat $s/rate_limited) - l0 ))"
check "a 400 ppm change is taken 100 ppm per page (rate_limited +$(( $(cat $s/rate_limited) - l0 )))" \
	test $(( $(cat $s/rate_limited) - l0 )) -ge 3
check "then MONOTONIC_RAW runs at the new rate (within 1 ppm; $r1 ppb)" within "$r1" 1000
check "nothing refused within the bound" test "$(cat $s/rate_refused)" = "$f0"
agent rate 1000ppm
sleep 2
r2=$(raw_rate)
refused=$(( $(cat $s/rate_refused) - f0 ))
note "after +1000 ppm: $r2 ppb, rate_refused +$refused; $(dmesg | grep 'rate refused' | tail -n 1)"
check "a page 1000 ppm off the calibration is refused (rate_refused +$refused)" test "$refused" -ge 2
check "MONOTONIC_RAW keeps the +400 ppm rate: the reference gains 600 ppm on it ($r2 ppb)" \
	within $((r2 - 600000)) 20000
check "the refusal is logged" sh -c "dmesg | grep -q 'page rate refused'"
agent rate 0
sleep 6
r3=$(raw_rate)
check "back at the reference's rate, 100 ppm per page (within 1 ppm; $r3 ppb)" within "$r3" 1000

# Error bounds while the page is invalid: none, not the last valid page's
agent maxerror 100000
sleep 1.5
mx=$(cat $s/time_maxerror_ns)
check "with a valid page the host's maxerror shows ($mx)" test "$mx" -ge 100000
agent corrupt magic
sleep 0.5
check "while invalid: time_maxerror_ns -1 ($(cat $s/time_maxerror_ns))" \
	test "$(cat $s/time_maxerror_ns)" = -1
check "while invalid: time_esterror_ns -1 ($(cat $s/time_esterror_ns))" \
	test "$(cat $s/time_esterror_ns)" = -1
agent restore
agent maxerror 100000
sleep 1.5
check "valid again: maxerror back ($(cat $s/time_maxerror_ns))" \
	test "$(cat $s/time_maxerror_ns)" -ge 100000

# Nothing to fall back to: every other clocksource unbound (there is no way
# to bind them again; this comes last)
for c in $(cat "$cs/available_clocksource"); do
	[ "$c" = hostclock ] || echo "$c" >"$cs/unbind_clocksource" 2>/dev/null
done
note "left: $(cat "$cs/available_clocksource"), current $(cat "$cs/current_clocksource")"
check "every other clocksource unbound" test "$(echo $(cat "$cs/available_clocksource"))" = hostclock
check "rmmod with no other clocksource: refused ($(rmmod_refused | head -n 1))" rmmod_refused
check "the module is still there and hostclock current" sh -c \
	"[ -d /sys/module/hostclock ] && grep -qx hostclock $cs/current_clocksource"
check "clock_gettime still advances" sh -c \
	'a=$(cat /proc/uptime); sleep 0.2; [ "$(cat /proc/uptime)" != "$a" ]'
check "the PTP clock still reads" hc-ptp-check "$ptp" get
