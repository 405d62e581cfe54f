#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
# hostclock-timeout: 240
#
# Guest side: a running chronyd with "refclock PHC" on hostclock's PTP
# clock, disciplining CLOCK_REALTIME, is walked through every clocksource
# the guest has (tsc, hpet, acpi_pm under QEMU, then hostclock and back to
# tsc). chrony keeps the read method that worked first
# (PTP_SYS_OFFSET_PRECISE here), so a PRECISE that failed after a switch
# would starve it: every phase must bring new samples, no read errors, and
# CLOCK_REALTIME within BOUND of the reference, measured by the comparator
# (which does not use hostclock). With hpet or acpi_pm current PRECISE is
# answered from a bracket: counted, and its bound shown.

. /hc-lib.sh

# |offset| allowed in each phase: chrony's filter over samples whose error
# is at most the bracket (a few us for an emulated hpet read under TCG),
# and a comparator measurement good to 10 us
BOUND=20000

modprobe hostclock
wait_readable 30
check "paired and readable ($ptp)" hc-ptp-check "$ptp" get
make_current	# registered and verified; chrony starts on tsc
echo tsc >"$cs/current_clocksource"
s=/sys/class/misc/hostclock0

cat >/tmp/chrony.conf <<CONF
refclock PHC $ptp poll 0 dpoll -2 refid HC prefer
makestep 0.1 3
logdir /tmp/chrony
log refclocks
driftfile /tmp/chrony/drift
pidfile /tmp/chrony/chronyd.pid
cmdport 0
CONF
start_chronyd /tmp/chrony/out
samples() { grep -c " HC " /tmp/chrony/refclocks.log 2>/dev/null || echo 0; }

# settle SECONDS: wait up to SECONDS for |offset| under 10 us twice running
settle() {
	_t=0 _run=0
	while [ $_t -lt "$1" ] && [ $_run -lt 2 ]; do
		sleep 1
		_t=$((_t + 1))
		_o=$(realtime_offset)
		if [ -n "$_o" ] && within "$_o" 10000; then _run=$((_run + 1)); else _run=0; fi
	done
	echo "$_t $_run"
}
set -- $(settle 20)
check "chronyd brought CLOCK_REALTIME within 10 us with tsc current (in $1 s, $(samples) samples)" \
	test "$2" -ge 2

# phase CLOCKSOURCE: switch, then 4 s of sampling; judge the last 2 s
phase() {
	a=$(samples)
	b0=$(cat $s/crosststamp_bracketed)
	echo "$1" >"$cs/current_clocksource"
	sleep 2
	worst=0 got=0
	for _i in 1 2; do
		sleep 1
		_o=$(realtime_offset)
		[ -n "$_o" ] || continue
		got=$((got + 1))
		[ "$(abs "$_o")" -gt "$worst" ] && worst=$(abs "$_o")
	done
	b=$(samples)
	br=$(($(cat $s/crosststamp_bracketed) - b0))
	note "$1: $((b - a)) samples in 4 s, |offset| <= $worst ns over $got measurements, bracketed $br, bound $(cat $s/crosststamp_bracket_ns) ns"
	check "$1 current: chrony still samples ($((b - a)) new in 4 s)" \
		sh -c "grep -qx $1 $cs/current_clocksource && [ $((b - a)) -ge 10 ]"
	check "$1 current: CLOCK_REALTIME within $BOUND ns of the reference ($worst, $got of 2 measured)" \
		sh -c "[ $got -ge 1 ] && [ $worst -le $BOUND ]"
	case $1 in
	tsc | hostclock | kvm-clock)
		check "$1 current: PRECISE exact, never bracketed ($br)" test "$br" -eq 0 ;;
	*)
		check "$1 current: PRECISE answered from a bracket ($br)" test "$br" -gt 0 ;;
	esac
}
walk=
for c in $(cat "$cs/available_clocksource"); do
	case $c in tsc | hostclock) ;; *) walk="$walk $c" ;; esac
done
note "walk:$walk hostclock tsc (available: $(cat "$cs/available_clocksource"))"
for c in $walk hostclock tsc; do
	phase "$c"
done
f=$(cat $s/crosststamp_failures)
check "no PRECISE request refused ($f)" test "$f" -eq 0
kill "$chrony"
wait "$chrony" 2>/dev/null
tail -n 3 /tmp/chrony/refclocks.log | sed 's/^/HCTEST note refclocks.log: /'
check "chronyd reported no PHC read errors" \
	sh -c '! grep -iE "could not|fail|error" /tmp/chrony/out'
grep -iE "could not|fail|error" /tmp/chrony/out | head -n 3 | sed 's/^/HCTEST note chronyd: /'
