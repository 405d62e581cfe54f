#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
# hostclock-migrate: yes
# hostclock-restore-wait: 5
# hostclock-migrate-dst: step 2000000; rate 20ppm; status synchronized; maxerror 100000
# hostclock-timeout: 180
#
# Guest side: a snapshot restore (Documentation/migration.md's runbook, run
# by scripts/qemu-run.sh): the VM saved to a file, 5 s of waiting, then
# restored into a QEMU whose devices are another host side's: its own agent,
# whose reference is 2 ms ahead of the source's and runs 20 ppm faster, as
# another host's TSC would. The restored guest's CLOCK_REALTIME starts as
# far behind as the VM was stopped (the wait and more). chronyd follows
# hostclock's PTP clock, hostclock current, step_on_disruption on. Once the
# guest has a good page again (the status uevent after the disruption),
# CLOCK_REALTIME must be within 10 us of the destination's reference within
# 1 s and stay there, with no overshoot (the time from resuming is
# measured and shown); CLOCK_MONOTONIC_RAW then runs at
# the destination's rate; one disruption, one step, one uevent.

. /hc-lib.sh

modprobe hostclock step_on_disruption=1
wait_readable 30
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"
s=/sys/class/misc/hostclock0

printf 'refclock PHC %s poll 0 dpoll -2 prefer\nmakestep 0.1 3\ncmdport 0\npidfile /tmp/chronyd.pid\n' \
	"$ptp" >/tmp/chrony.conf
start_chronyd /tmp/chrony.out
t0=$(converge 40)
check "chrony within 10 us of the source's reference before the move (${t0}s)" test "$t0" -ge 0

b_dis=$(cat $s/disruptions) b_steps=$(cat $s/disruption_steps)
moved restore 16
note "the move: first offset after it $resume_off ns; from the last sample before it: good page after $good_ms ms, within 10 us for good after $recovery_ms ms; from the good page: $settle_ms ms; max |offset| from the move on $max_after ns (the stop, and the rate difference until the good page)"
check "the trace saw the move" test "$moved_at" -gt 0
check "a good page again after the disruption (status uevent synchronized, $good_ms ms after the last sample before the move)" \
	test "$good_ms" -ge 0
check "CLOCK_REALTIME within 10 us of the destination's reference for good within 1 s of the good page ($settle_ms ms)" \
	test "$settle_ms" -gt -1000000 -a "$settle_ms" -lt 1000
check "CLOCK_REALTIME started behind by the wait and the save and load (5 to 15 s: $resume_off ns)" \
	test "$resume_off" -ge 5000000000 -a "$resume_off" -le 15000000000
check "no overshoot: once within 10 us, it stayed within 10 us (largest |offset| after: $overshoot ns)" \
	test "$overshoot" -le 10000

r=$(hc-compare --clock raw -n 20 --repeat 9 --every 500 | sed -n 's/^rate_ppb=//p')
note "destination reference - CLOCK_MONOTONIC_RAW: $r ppb"
check "MONOTONIC_RAW runs at the destination's rate within 1 ppm ($r ppb)" within "${r%.*}" 1000

note "counters: disruptions $b_dis -> $(cat $s/disruptions), disruption_steps $b_steps -> $(cat $s/disruption_steps), status $(cat $s/status)"
check "one disruption, one step" test \
	"$(( $(cat $s/disruptions) - b_dis )) $(( $(cat $s/disruption_steps) - b_steps ))" = "1 1"
check "one disruption uevent" test "$(grep -c "HOSTCLOCK_EVENT=disruption" /tmp/move-uevents)" = 1
check "chronyd still running" kill -0 "$chrony"
kill "$chrony"
wait "$chrony" 2>/dev/null
dmesg | grep -E "hostclock0: (disruption|clock)" | tail -n 4 | sed "s/^/HCTEST note dmesg: /"
