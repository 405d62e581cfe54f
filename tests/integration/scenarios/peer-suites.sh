#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
# hostclock-peer-tests: yes
# hostclock-lines: 5.10 7.x
# hostclock-timeout: 300
#
# Guest side: the kernel's own tests, built unchanged from linux-source-6.1
# (scripts/peer-tests.sh), with hostclock current. Shortened only through
# their options: inconsistency-check on five clocks for 3 s each instead of
# every clock for 10 s; clocksource-switch with -s (no per-clocksource
# sanity pass, which alone runs for minutes) and -t 2, so its switching
# phase runs inconsistency-check for 2 s per clock and then nanosleep while
# the clocksource keeps changing under them; testptp on hostclock's PTP
# clock: capabilities, gettime, PTP_SYS_OFFSET (-k), EXTENDED (-x) and
# PRECISE (-X). A suite passes when it exits 0, its kselftest totals say
# fail:0 with at least one pass, and no child's totals has a failure.

. /hc-lib.sh

modprobe hostclock
wait_readable 30
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"
cd /peer || exit 1

# peer NAME COMMAND...: run it; its kselftest totals must have passes, no fails
peer() {
	pname=$1
	shift
	"$@" >/tmp/peer.out 2>&1
	rc=$?
	# clocksource-switch prints its children's totals first, its own last
	tot=$(grep "Totals" /tmp/peer.out | tail -n 1 | sed 's/^# //')
	if [ $rc = 0 ] && echo "$tot" | grep -q "pass:[1-9][0-9]* fail:0 " &&
		! grep -q "Totals: .*fail:[1-9]" /tmp/peer.out; then
		ok "$pname ($tot)"
	else
		fail "$pname: exit $rc, ${tot:-no totals}"
		grep -E "not ok|Delta|fail" /tmp/peer.out | head -n 5 | sed 's/^/HCTEST note /'
	fi
}

for c in 0 1 4 7 11; do
	peer "timers inconsistency-check, clock $c, 3 s" ./inconsistency-check -c $c -t 3
done
peer "timers nanosleep" ./nanosleep
check "hostclock still current" grep -qx hostclock "$cs/current_clocksource"
note "clocksources: $(cat $cs/available_clocksource)"
# A kernel that inlines the clocksource read patches its text at every
# switch, and under QEMU TCG that oopses ("int3" in ktime_get_with_offset)
# with or without hostclock loaded (Documentation/testing.md, "The
# kernel's own clocksource switch under TCG"): not run there.
if grep -q '^CONFIG_ARCH_WANTS_CLOCKSOURCE_READ_INLINE=y' /kernel.config; then
	note "clocksource-switch not run: this kernel inlines the clocksource read, whose switch oopses under TCG"
else
	peer "timers clocksource-switch -s -t 2" ./clocksource-switch -s -t 2
	check "clocksource-switch put hostclock back" grep -qx hostclock "$cs/current_clocksource"
fi

# testptp prints errors with perror() and still exits 0: read what it says
ptptest() {
	pname=$1 want=$2
	shift 2
	out=$(./testptp -d "$ptp" "$@" 2>&1)
	rc=$?
	note "testptp $*: $(echo "$out" | head -n 2 | tr '\n' ' ')"
	check "testptp $pname" sh -c "[ $rc = 0 ] && echo '$out' | grep -q '$want' &&
		! echo '$out' | grep -qE 'PTP_|clock_gettime|: Operation|: No '"
}
ptptest "-c: capabilities" "capabilities:" -c
ptptest "-g: clock time" "clock time:" -g
ptptest "-k 5: PTP_SYS_OFFSET" "time offset request okay" -k 5
ptptest "-x 5: PTP_SYS_OFFSET_EXTENDED" "returned 5 samples" -x 5
ptptest "-X: PTP_SYS_OFFSET_PRECISE" "crosstimestamping request okay" -X
unload
