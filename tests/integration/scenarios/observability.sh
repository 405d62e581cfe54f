#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
#
# Guest side: the sysfs files of /sys/class/misc/hostclockN, the counters
# moving exactly as the agent's injections say, the uevents, the drift
# sampler against a known shift of CLOCK_REALTIME, step_on_disruption, and
# /dev/hostclockN (read, read-only mmap, poll, hostclock-dump on it).

. /hc-lib.sh

modprobe hostclock sample_interval_ms=100
wait_readable 30
make_current
s=/sys/class/misc/hostclock0
dev=/dev/hostclock0

files="status error offset_ns max_abs_offset_ns offset_mean_ns offset_stddev_ns drift_ppb
samples offset_threshold_exceeded time_esterror_ns time_maxerror_ns page_updates
freq_changes time_steps disruptions vm_generation_changes seq_retries read_timeouts
invalid_pages monotonic_clamps crosststamp_failures crosststamp_bracketed
crosststamp_bracket_ns disruption_steps pair_bursts
pair_timeouts pair_rtt_ticks tsc_offset_uncertainty_ticks disruption_marker
vm_generation_counter rate_refused rate_limited tsc_unstable_refusals uevents_deferred"
missing=
for f in $files; do [ -r "$s/$f" ] && cat "$s/$f" >/dev/null || missing="$missing $f"; done
check "every documented sysfs file is there and readable" test -z "$missing"
check "status is freerunning or synchronized ($(cat $s/status))" \
	grep -qxE "freerunning|synchronized" "$s/status"
check "error is none" grep -qx none "$s/error"
check "reset_stats is root-writable only" sh -c "[ \"\$(stat -c %a $s/reset_stats)\" = 200 ]"
note "sysfs: $(for f in status samples offset_ns drift_ppb pair_rtt_ticks page_updates; do printf '%s=%s ' $f "$(cat $s/$f)"; done)"

# Counters move exactly as injected, and only the matching one.
counters="disruptions vm_generation_changes time_steps freq_changes invalid_pages"
snap() { for c in $counters; do printf '%s=%s ' "$c" "$(cat $s/$c)"; done; }
delta() {	# delta BEFORE AFTER NAME
	echo $(( $(field "$3" "$2") - $(field "$3" "$1") ))
}
expect() {	# expect WHAT BEFORE AFTER NAME=N ...: the others must not move
	what=$1 b=$2 a=$3
	shift 3
	bad=
	for c in $counters; do
		want=0
		for kv in "$@"; do [ "${kv%%=*}" = "$c" ] && want=${kv#*=}; done
		got=$(delta "$b" "$a" "$c")
		[ "$got" = "$want" ] || bad="$bad $c:+$got(want +$want)"
	done
	check "$what: counters exact" test -z "$bad"
	[ -z "$bad" ] || note "$what: $bad"
}

hc-uevent 30 >/tmp/uevents &
uev=$!
sleep 0.5

b=$(snap); for n in 1 2 3; do agent disrupt; sleep 0.5; done; a=$(snap)
expect "3 disruptions" "$b" "$a" disruptions=3
b=$(snap); for n in 1 2; do agent vmgen; sleep 0.5; done; a=$(snap)
expect "2 VM generation changes" "$b" "$a" vm_generation_changes=2
b=$(snap); for n in 1 2; do agent step 5000000; sleep 0.5; done; a=$(snap)
expect "2 time steps of 5 ms" "$b" "$a" time_steps=2
b=$(snap); agent rate 100ppm; sleep 0.5; agent rate 0; sleep 0.5; a=$(snap)
expect "2 frequency changes (+100 ppm, back)" "$b" "$a" freq_changes=2
b=$(snap)
for what in magic period; do
	agent corrupt "$what"
	sleep 0.5
	note "corrupt $what: status $(cat $s/status), error $(cat $s/error)"
	agent restore
	sleep 0.5
done
a=$(snap)
expect "2 invalid pages (bad magic, zero period)" "$b" "$a" invalid_pages=2
agent step -10000000	# undo the two steps

sleep 1
kill "$uev" 2>/dev/null
wait "$uev" 2>/dev/null
note "uevents: $(grep -c HOSTCLOCK_EVENT /tmp/uevents)"
check "3 disruption uevents with the marker" \
	test "$(grep -c 'HOSTCLOCK_EVENT=disruption HOSTCLOCK_STATUS=[a-z]* HOSTCLOCK_DISRUPTION_MARKER=[0-9]' /tmp/uevents)" = 3
check "2 vm_generation uevents" test "$(grep -c 'HOSTCLOCK_EVENT=vm_generation' /tmp/uevents)" = 2
check "status uevents for invalid and back (4)" \
	test "$(grep -c 'HOSTCLOCK_EVENT=status' /tmp/uevents)" = 4
grep -m 1 HOSTCLOCK_EVENT=status /tmp/uevents | sed 's/^/HCTEST note uevent: /'

# The drift sampler against an exact shift of CLOCK_REALTIME.
sleep 0.5
b=$(cat $s/offset_ns)
hc-dev-check - shift 2000000 >/dev/null
sleep 0.5
a=$(cat $s/offset_ns)
moved=$((b - a))
note "offset_ns $b -> $a after shifting CLOCK_REALTIME by +2 ms (moved $moved ns)"
check "offset_ns shows a 2 ms shift within 1 us" test "$(abs $((moved - 2000000)))" -le 1000
check "samples counted" test "$(cat $s/samples)" -gt 10
echo 1 >$s/reset_stats
check "reset_stats clears the sampler (samples $(cat $s/samples))" test "$(cat $s/samples)" -le 2
check "reset_stats leaves event counters ($(cat $s/disruptions) disruptions)" \
	test "$(cat $s/disruptions)" -ge 3

# step_on_disruption: a 1 s step of the reference, then a disruption.
echo 1 >/sys/module/hostclock/parameters/step_on_disruption
agent status synchronized
agent maxerror 100000
sleep 0.5
agent step 1000000000
agent disrupt
sleep 1
r=$(hc-compare --clock realtime -n 20)
note "after step_on_disruption: CLOCK_REALTIME vs reference $r; $(dmesg | grep stepped | tail -n 1)"
check "stepped once (disruption_steps $(cat $s/disruption_steps))" test "$(cat $s/disruption_steps)" = 1
check "CLOCK_REALTIME within 1 ms of the reference after the step" \
	test "$(abs "$(field offset_ns "$r")")" -le 1000000
agent restore
agent step -1000000000
echo 0 >/sys/module/hostclock/parameters/step_on_disruption

# /dev/hostclock0
check "$dev read() gives the 112-byte VMClock structure" hc-dev-check $dev read
check "$dev read-only mmap shows the magic" hc-dev-check $dev mmap
check "no writable mapping of $dev can be had" hc-dev-check $dev nowrite
hc-dev-check $dev nowrite | sed 's/^/HCTEST note /'
check "poll() on $dev wakes on a new page (within 3 s)" hc-dev-check $dev poll 3000
note "$(hc-dev-check $dev poll 3000)"
check "hostclock-dump on $dev: a valid page" hostclock-dump $dev
check "rmmod, after switching to tsc" unload
