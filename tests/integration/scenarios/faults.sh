#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
# hostclock-as-booted: yes
#
# Guest side: every malformed page the agent can write, an unreliable
# status, a frozen (stale) agent, and the agent killed and restarted. While the page is bad the PTP clock
# refuses with the documented errno, sysfs names the state and the failed
# check, the matching counter moves by one, and the clocksource keeps
# counting at its rate (CLOCK_MONOTONIC_RAW against the reference across
# the fault); after the agent restores the page everything recovers. The
# guest's dmesg must stay free of WARN/BUG/Oops/lockups (guest-init checks).

. /hc-lib.sh
# raw_offset: reference - MONOTONIC_RAW (ns), or nothing when the comparator
# could not measure within 10 us in three tries (a loaded host delays whole
# bursts by hundreds of microseconds): such a measurement cannot judge a
# 20 us bound
raw_offset() {
	for _t in 1 2 3; do
		_r=$(hc-compare --clock raw -n 10)
		[ "$(field unc_ns "$_r")" -le 10000 ] 2>/dev/null && { field offset_ns "$_r"; return; }
	done
}
# kept_pace WHAT A B: MONOTONIC_RAW kept the reference's pace from A to B
kept_pace() {
	if [ -z "$2" ] || [ -z "$3" ]; then
		note "$1: MONOTONIC_RAW's pace not judged: no measurement within 10 us"
		return
	fi
	check "$1: MONOTONIC_RAW kept the reference's pace across it (moved $(($3 - $2)) ns)" \
		test "$(abs $(($3 - $2)))" -le 20000
}

modprobe hostclock
wait_readable 60
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"
s=/sys/class/misc/hostclock0

# fault NAME AGENT_CMD STATUS ERROR ERRNO INVALID+ WAIT_S
fault() {
	fname=$1 cmd=$2 want_status=$3 want_error=$4 want_errno=$5 want_inv=$6 wait=$7
	inv=$(cat $s/invalid_pages)
	a=$(raw_offset)
	agent "$cmd"
	sleep "$wait"
	st=$(cat $s/status) er=$(cat $s/error)
	r=$(hc-ptp-check $ptp get 2>&1)
	note "$fname: status $st, error $er, PTP read: $r"
	check "$fname: status $want_status, error $want_error" \
		test "$st $er" = "$want_status $want_error"
	check "$fname: PTP read fails with $want_errno" sh -c "echo '$r' | grep -q 'errno=$want_errno'"
	check "$fname: invalid_pages +$want_inv" test $(( $(cat $s/invalid_pages) - inv )) = "$want_inv"
	agent restore
	sleep 1
	b=$(raw_offset)
	check "$fname: recovered ($(cat $s/status))" sh -c \
		"hc-ptp-check $ptp get >/dev/null && grep -qxE 'freerunning|synchronized' $s/status"
	kept_pace "$fname" "$a" "$b"
}

fault "bad magic" "corrupt magic" invalid bad_magic ENODATA 1 0.5
fault "wrong version" "corrupt version" invalid bad_version ENODATA 1 0.5
t=$(cat $s/read_timeouts)
fault "seq stuck odd" "corrupt seq" invalid seq_timeout EAGAIN 1 0.5
check "seq stuck odd: read_timeouts counted ($(( $(cat $s/read_timeouts) - t )))" \
	test $(( $(cat $s/read_timeouts) - t )) -ge 1
fault "zero period" "corrupt period" invalid zero_period ENODATA 1 0.5
fault "shift out of range" "corrupt shift" invalid bad_shift ENODATA 1 0.5
fault "invalid counter" "corrupt counter" no-clock none ENODATA 0 0.5
fault "unreliable status" "status unreliable" unreliable none ENODATA 0 0.5
fault "agent frozen (stale)" "freeze" stale none ENODATA 0 5

# the agent killed (SIGKILL: the page stays as it was, nobody updates it),
# then started again: it writes a new disruption marker (the guest must
# recalibrate) and pairs again
d=$(cat $s/disruptions)
a=$(raw_offset)
agent agent-kill
sleep 5
st=$(cat $s/status)
r=$(hc-ptp-check $ptp get 2>&1)
note "agent killed: status $st, PTP read: $r"
check "agent killed: status stale" test "$st" = stale
check "agent killed: PTP read fails with ENODATA" sh -c "echo '$r' | grep -q errno=ENODATA"
check "agent killed: clocksource still hostclock" grep -qx hostclock "$cs/current_clocksource"
agent agent-start
wait_readable 30
sleep 0.5	# reads use the page at once; sysfs status is the poller's view
check "agent restarted: PTP readable again after ${waited} s ($(cat $s/status))" sh -c \
	"hc-ptp-check $ptp get >/dev/null && grep -qxE 'freerunning|synchronized' $s/status"
check "agent restarted: one disruption counted ($(( $(cat $s/disruptions) - d )))" \
	test $(( $(cat $s/disruptions) - d )) = 1
b=$(raw_offset)
kept_pace "agent restarted" "$a" "$b"
p=$(hc-compare --clock "$ptp" -n 10)
note "agent restarted: PTP clock vs reference: $p"
check "agent restarted: PTP clock within 10 us of the reference" \
	within "$(field offset_ns "$p")" 10000
check "clocksource still hostclock" grep -qx hostclock "$cs/current_clocksource"
check "no monotonic clamps needed ($(cat $s/monotonic_clamps))" test "$(cat $s/monotonic_clamps)" = 0
