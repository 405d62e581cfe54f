#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
# hostclock-as-booted: yes
# hostclock-agent: --interval 500
#
# Guest side: with hostclock current, CLOCK_MONOTONIC_RAW runs at the
# reference's rate and follows a rate change of the host (the agent's
# "rate 100ppm", which stretches the published period) within a poll
# interval, while a host time step never reaches it; the PTP clock does
# follow the step. Measured against the agent's reference through the
# comparator, which does not use hostclock.

. /hc-lib.sh
# rate RESULT: the comparator's least-squares rate, whole ppb
rate() { echo "$1" | sed -n 's/^rate_ppb=\(-\{0,1\}[0-9]*\).*/\1/p'; }

coldplug
wait_readable 60
check "paired and readable ($ptp, ${waited}s)" hc-ptp-check "$ptp" get
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"
sleep 2	# a few agent updates on a settled fit

before=$(hc-compare --clock raw -n 20 --repeat 9 --every 500)
r1=$(rate "$before")
note "reference - CLOCK_MONOTONIC_RAW before: $r1 ppb"
check "MONOTONIC_RAW runs at the reference's rate (within 1 ppm; $r1 ppb)" within "$r1" 1000

check "agent: reference and period 100 ppm fast" hc-compare --cmd "rate 100ppm"
sleep 1	# two agent updates and several polls
after=$(hc-compare --clock raw -n 20 --repeat 9 --every 500)
r2=$(rate "$after")
note "reference - CLOCK_MONOTONIC_RAW after +100 ppm: $r2 ppb"
check "MONOTONIC_RAW follows the +100 ppm change (within 1 ppm; $r2 ppb)" within "$r2" 1000

# A 5 ms step of the host's time: the reference jumps, the raw clock not.
# Each offset from a measurement good to 10 us (offset_of).
a=$(offset_of raw 10000)
check "agent: reference stepped by 5 ms" hc-compare --cmd "step 5000000"
sleep 1
b=$(offset_of raw 10000)
moved=	# |jump| in ns, once both were measured
if [ -z "$a" ]; then
	jump="no measurement within 10 us before the step"
elif [ -z "$b" ]; then
	jump="no measurement within 10 us after the step"
else
	jump=$((b - a - 5000000))
	note "reference - MONOTONIC_RAW moved by 5 ms + $jump ns across the step"
	moved=$(abs "$jump")
	jump="$jump ns"
fi
check "the step did not reach MONOTONIC_RAW (within 100 us; $jump)" \
	sh -c "[ -n '$moved' ] && [ '$moved' -le 100000 ]"
r=$(offset_of "$ptp" 10000)
note "PTP clock vs reference after the step: $r ns"
check "the PTP clock follows the step (within 10 us; $r ns)" within "$r" 10000

check "agent: restore" hc-compare --cmd "restore"
check "hostclock still current" grep -qx hostclock "$cs/current_clocksource"
