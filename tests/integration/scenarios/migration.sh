#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-timeout: 300
# hostclock-lines: 6.12
#
# Guest side: simulated migrations with chrony following hostclock's PTP
# clock and hostclock the current clocksource.
#
# First chrony alone: the agent steps its reference by 5 ms, makes it (and
# the published period) run 100 ppm fast, and bumps the disruption marker.
# chrony must be back within 10 us of the reference (5 s in a row) within
# 20 s; CLOCK_MONOTONIC_RAW must run at the new reference rate within 0.1
# ppm; the counters and the uevent must say what happened.
#
# Then step_on_disruption, as a real migration goes: the new marker comes
# first on a page without time (the destination's agent re-pairing), the
# good page 0.3 s later, with a 5 ms step and a 100 ppm re-rate. The driver
# must step CLOCK_REALTIME within 10 us of the reference within 1 s of the
# good page, chrony running all along must not move it further than the
# step's residual and noise, and the PTP clock must refuse readings from
# the disruption to the step and none after. Then the gate alone (a
# disruption on a good page, polled once a second: every PTP reading of the
# new page before the poller saw it is refused), and the drops: no time for
# 10 s, a freerunning host (chrony then recovers alone), a maxerror too
# large. Last, the stepped migration again under phc2sys.
. /hc-lib.sh

modprobe hostclock
p=/sys/module/hostclock/parameters
wait_readable 30
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"
s=/sys/class/misc/hostclock0

start_chronyd_recommended /tmp/chrony.out

# follow_worst SECONDS: reference - CLOCK_REALTIME once a second, kept in
# /tmp/slow ("s ns" lines); the largest |offset| in $worst
follow_worst() {
	worst=0
	: >/tmp/slow
	for i in $(seq "$1"); do
		sleep 1
		off=$(realtime_offset)
		[ -n "$off" ] || continue
		echo "$i $off" >>/tmp/slow
		[ "$(abs "$off")" -gt "$worst" ] && worst=$(abs "$off")
	done
}

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

# --- step_on_disruption ---------------------------------------------------
echo 1 >$p/step_on_disruption
# the host says it is synchronized with a known maximum error (100 us)
agent status synchronized
agent maxerror 100000
sleep 12	# the step rate limit (10 s) is not what is tested here
# ms since boot (uptime: a step of CLOCK_REALTIME does not move it)
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
b_dis=$(cat $s/disruptions) b_steps=$(cat $s/disruption_steps) b_drop=$(cat $s/steps_dropped)
b_ref=$(cat $s/step_refused_reads)
agent status unknown
agent disrupt
agent step 5000000
agent rate 0
sleep 0.3
check "a step is pending while the page has no time" test "$(cat $s/step_pending)" = 1
agent status synchronized
g=$(now_ms)
# every ~0.1 s for 1.5 s: ms since the good page, offset, steps taken
: >/tmp/fast
while [ $(($(now_ms) - g)) -lt 1500 ]; do
	off=$(realtime_offset)
	echo "$(($(now_ms) - g)) ${off:-none} $(cat $s/disruption_steps)" >>/tmp/fast
	sleep 0.1
done
note "after the good page (ms offset_ns steps): $(tr '\n' ' ' </tmp/fast)"
a_ref=$(cat $s/step_refused_reads)
first=$(awk '$2 != "none" { o = $2 < 0 ? -$2 : $2; if (o <= 10000) { print $1; exit } }' /tmp/fast)
check "CLOCK_REALTIME within 10 us of the reference within 1 s of the good page (${first:-never} ms)" \
	test "${first:-9999}" -le 1000
residual=$(cat $s/last_step_residual_ns)
note "step $(cat $s/last_step_ns) ns, residual $residual ns; $(dmesg | grep 'disruption: stepped' | tail -n 1)"
check "counters: disruptions +1, disruption_steps +1, steps_dropped +0" test \
	"$(( $(cat $s/disruptions) - b_dis )) $(( $(cat $s/disruption_steps) - b_steps )) $(( $(cat $s/steps_dropped) - b_drop ))" = "1 1 0"
# 5 ms less what the guest, still at the old rate, gained on the reference
# from the re-rate to the good page's poll: 100 ppm over under 0.5 s
check "the step took the 5 ms (last_step_ns $(cat $s/last_step_ns))" \
	within "$(( $(cat $s/last_step_ns) - 5000000 ))" 50000
# the driver corrects while the residual exceeds 1 us, at most 3 times;
# under a loaded TCG host the cost of a settimeofday varies by microseconds
corr=$(dmesg | sed -n 's/.*disruption: stepped.* after \([0-9]*\) corrections.*/\1/p' | tail -n 1)
residual_ok() { within "$residual" 10000 && { within "$residual" 1000 || [ "$corr" = 3 ]; }; }
check "its residual is within 1 us, or within 10 us after the 3 corrections (last_step_residual_ns $residual, ${corr:-no} corrections)" \
	residual_ok
# then 20 s under chrony: the largest |offset| at most the residual plus 10 us
follow_worst 20
note "under chrony after the step (s ns): $(tr '\n' ' ' </tmp/slow)"
check "no overshoot under chrony: largest |offset| $worst ns <= |residual| + 10 us" \
	test "$worst" -le $(( $(abs "$residual") + 10000 ))
check "no PTP reading refused after the step ($(cat $s/step_refused_reads) - $a_ref)" \
	test "$(cat $s/step_refused_reads)" = "$a_ref"
note "PTP readings refused while the step was pending: $((a_ref - b_ref))"
check "chronyd ran all along" kill -0 "$chrony"

# the gate: with the poller at 1 s, a disruption on a good page; a PTP
# reading of the new page before the poller saw it must be refused
echo 1000 >$p/poll_ms
sleep 1.5
b_ref=$(cat $s/step_refused_reads)
early=0 early_ok=0 tries=0
# a try in which the poller saw the marker before the first reading
# judges nothing: up to 3 tries
while [ "$early" = 0 ] && [ $tries -lt 3 ]; do
	tries=$((tries + 1))
	b_dis=$(cat $s/disruptions)
	agent disrupt
	for i in $(seq 30); do
		d0=$(cat $s/disruptions)
		r=$(hc-ptp-check "$ptp" get 2>&1)
		if [ "$d0" != "$b_dis" ] || [ "$(cat $s/disruptions)" != "$b_dis" ]; then
			break
		fi
		early=$((early + 1))
		echo "$r" | grep -q errno=ENODATA || early_ok=$((early_ok + 1))
	done
	sleep 1.2
done
echo 100 >$p/poll_ms
gate_held() { [ "$early" -gt 0 ] && [ "$early_ok" = 0 ]; }
check "PTP readings of the new page before the poller saw it: $early in $tries tries, none served ($early_ok)" \
	gate_held
check "they are counted in step_refused_reads" test "$(cat $s/step_refused_reads)" -ge $((b_ref + early))
i=0
until [ "$(cat $s/step_pending)" = 0 ] || [ $i -ge 30 ]; do sleep 0.1; i=$((i + 1)); done
check "readings resume once the poller resolved it" hc-ptp-check "$ptp" get

# no usable page for 10 s: the step is dropped, readings resume
b_drop=$(cat $s/steps_dropped)
agent status unknown
agent disrupt
sleep 5
check "still pending after 5 s without time" test "$(cat $s/step_pending)" = 1
sleep 6
check "dropped after 10 s without time (steps_dropped +$(( $(cat $s/steps_dropped) - b_drop )))" \
	test "$(cat $s/step_pending) $(( $(cat $s/steps_dropped) - b_drop ))" = "0 1"
check "logged: no usable page within 10 s" sh -c "dmesg | grep -q 'not stepping: no usable page within 10 s'"
agent status synchronized
sleep 0.3
check "PTP readings resume" hc-ptp-check "$ptp" get

# a freerunning host: dropped at once, chrony handles the 2 ms step itself
b_drop=$(cat $s/steps_dropped) b_steps=$(cat $s/disruption_steps)
agent status unknown
agent disrupt
agent step 2000000
sleep 0.3
agent status freerunning
sleep 0.5
check "freerunning host: dropped, not stepped" test \
	"$(cat $s/step_pending) $(( $(cat $s/steps_dropped) - b_drop )) $(( $(cat $s/disruption_steps) - b_steps ))" = "0 1 0"
check "logged: host not synchronized" sh -c "dmesg | grep -q 'not stepping: host not synchronized'"
t2=$(settle 25)
note "chrony alone after a 2 ms step (s ns): $(tr '\n' ' ' </tmp/settle)"
check "chrony back within 10 us, 5 s in a row, within 25 s of a dropped step (after ${t2}s)" \
	test "$t2" -ge 0

# synchronized but a maxerror above step_max_error_ns (1 ms): dropped
b_drop=$(cat $s/steps_dropped)
agent status synchronized
agent maxerror 5000000
agent disrupt
sleep 0.5
check "maxerror 5 ms: dropped (steps_dropped +$(( $(cat $s/steps_dropped) - b_drop )))" \
	test "$(( $(cat $s/steps_dropped) - b_drop ))" = 1
check "logged: host maxerror too large" sh -c "dmesg | grep -q 'not stepping: host maxerror too large'"
kill "$chrony"
wait "$chrony" 2>/dev/null

# phc2sys instead of chrony, the same migration with the step. phc2sys
# exits at a failed reading (the page without time answers ENODATA): it
# runs here as under systemd's Restart=always, RestartSec=1
agent maxerror 100000
: >/tmp/phc2sys.exits
(
	while :; do
		phc2sys -m -s "$ptp" -c CLOCK_REALTIME -O 0 -R 4 >>/tmp/phc2sys.out 2>&1 &
		echo $! >/tmp/phc2sys.pid
		wait $!
		echo "exit $?" >>/tmp/phc2sys.exits
		sleep 1
	done
) &
phc2sys=$!
t3=$(settle 20)
check "phc2sys converged before the migration (${t3}s)" test "$t3" -ge 0
b_steps=$(cat $s/disruption_steps)
agent status unknown
agent disrupt
agent step 5000000
sleep 0.3
agent status synchronized
g=$(now_ms)
: >/tmp/fast
while [ $(($(now_ms) - g)) -lt 1000 ]; do
	off=$(realtime_offset)
	echo "$(($(now_ms) - g)) ${off:-none}" >>/tmp/fast
	sleep 0.1
done
note "phc2sys, after the good page (ms offset_ns): $(tr '\n' ' ' </tmp/fast)"
first=$(awk '$2 != "none" { o = $2 < 0 ? -$2 : $2; if (o <= 10000) { print $1; exit } }' /tmp/fast)
check "phc2sys: stepped once (disruption_steps +$(( $(cat $s/disruption_steps) - b_steps )))" \
	test "$(( $(cat $s/disruption_steps) - b_steps ))" = 1
# the step is the one judged above; here a loaded host may leave the
# comparator no exchange within 10 us in that second, which judges nothing
if grep -qv ' none$' /tmp/fast; then
	check "phc2sys: within 10 us of the reference within 1 s of the good page (${first:-never} ms)" \
		test "${first:-9999}" -le 1000
else
	note "phc2sys: 1 s after the good page not judged: the comparator measured nothing within 10 us"
fi
residual=$(cat $s/last_step_residual_ns)
follow_worst 10
note "phc2sys after the step (s ns): $(tr '\n' ' ' </tmp/slow); residual $residual ns"
check "phc2sys: no overshoot, largest |offset| $worst ns <= |residual| + 10 us" \
	test "$worst" -le $(( $(abs "$residual") + 10000 ))
note "phc2sys exited $(wc -l </tmp/phc2sys.exits) times ($(tr '\n' ' ' </tmp/phc2sys.exits)); it said: $(grep -v ' offset ' /tmp/phc2sys.out | sed 's/^phc2sys\[[0-9.]*\]: //' | sort | uniq -c | head -n 5 | tr '\n' ' ')"
kill "$phc2sys"
kill "$(cat /tmp/phc2sys.pid)" 2>/dev/null
wait "$phc2sys" 2>/dev/null
echo 0 >$p/step_on_disruption
agent restore
