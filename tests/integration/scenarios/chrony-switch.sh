#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
# hostclock-as-booted: yes
# hostclock-timeout: 240
#
# Guest side: a running chronyd with "refclock PHC" on hostclock's PTP
# clock, disciplining CLOCK_REALTIME, is walked through every clocksource
# the guest has (tsc, hpet, acpi_pm under QEMU, then hostclock and back to
# tsc). chrony keeps the read method that worked first
# (PTP_SYS_OFFSET_PRECISE here), so a PRECISE that failed after a switch
# would starve it: every phase must bring new samples, no read errors, and
# CLOCK_REALTIME back within BOUND of the reference within SETTLE seconds,
# measured by the comparator (which does not use hostclock). With hpet or
# acpi_pm current PRECISE is answered from a bracket: counted, and its
# bound shown. Booted without tsc=reliable, the kernel may mark the TSC
# unstable: then hostclock serves no time at all, which is what is checked
# instead (guest-lib.sh: tsc_unstable_end).

. /hc-lib.sh

# |offset| each phase must come back within, and stay within for two
# measurements running, in at most SETTLE seconds after the switch:
# chrony's samples are good to the bracket (well under 1 us here), but each
# clocksource has its own calibration, so CLOCK_REALTIME's rate changes at
# the switch until chrony has learnt it, and a switch to hpet under TCG
# loses time: 81 to 98 us on 5.10 in five runs here, a step that stayed up
# to 3 s before chrony slewed it out, past zero by up to 32 us, within
# 50 us after 3 to 7 s. In CI once not within 10 s (10 measurements, the
# largest 120 us; the offsets were not printed then): hence 20 s. A
# measurement counts as within when |offset| plus its uncertainty is, and
# one up to BOUND / 2 uncertain is taken: with two guests running at once
# here, the comparator found no round trip under 10 us for 7 s running in
# the hpet phase (3 measurements in 10 s: failed), and none under 25 us
# for 4 s in another run.
BOUND=50000
SETTLE=20

modprobe hostclock
wait_readable 60
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

# phase CLOCKSOURCE: switch; one offset measurement a second until two
# running are within BOUND (at most SETTLE s), then 2 s more of sampling
phase() {
	a=$(samples)
	echo "$1" >"$cs/current_clocksource"
	# bracketed answers counted from once the switch is done and a
	# request in flight under the old clocksource has returned
	_i=0
	until grep -qx "$1" "$cs/current_clocksource" || [ $_i -ge 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	sleep 0.2
	b0=$(cat $s/crosststamp_bracketed)
	worst=0 got=0 run=0 t=0 series=
	while [ $t -lt $SETTLE ] && [ $run -lt 2 ]; do
		sleep 1
		t=$((t + 1))
		_r=$(hc-compare --clock realtime -n 10)
		_o=$(field offset_ns "$_r") _u=$(field unc_ns "$_r")
		[ -n "$_o" ] && [ "${_u:-$BOUND}" -le $((BOUND / 2)) ] || { series="$series -"; continue; }
		got=$((got + 1))
		series="$series $_o+-$_u"
		[ "$(abs "$_o")" -gt "$worst" ] && worst=$(abs "$_o")
		if [ $(($(abs "$_o") + _u)) -le $BOUND ]; then run=$((run + 1)); else run=0; fi
	done
	sleep 2
	b=$(samples)
	br=$(($(cat $s/crosststamp_bracketed) - b0))
	note "$1: $((b - a)) samples in $((t + 2)) s, within $BOUND ns after $t s, largest |offset| $worst ns of $got measurements, bracketed $br, bound $(cat $s/crosststamp_bracket_ns) ns"
	note "$1: offsets +- uncertainty (ns, one a second, -: none within $((BOUND / 2))):$series"
	check "$1 current: chrony still samples ($((b - a)) new in $((t + 2)) s)" \
		sh -c "grep -qx $1 $cs/current_clocksource && [ $((b - a)) -ge $((2 * (t + 2))) ]"
	check "$1 current: CLOCK_REALTIME back within $BOUND ns of the reference in $SETTLE s ($t s, largest $worst)" \
		test $run -ge 2
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
