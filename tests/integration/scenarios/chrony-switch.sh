#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side: chronyd with "refclock PHC" on hostclock's PTP clock keeps
# getting samples while the clocksource is switched tsc -> hostclock -> tsc
# -> hostclock under it. chrony keeps the read method that worked first
# (PTP_SYS_OFFSET_PRECISE here), so a PRECISE that failed after a switch
# would starve it; every phase must bring new samples and no read errors.

. /hc-lib.sh

modprobe hostclock
wait_readable 30
check "paired and readable ($ptp)" hc-ptp-check "$ptp" get
make_current	# registered; chrony starts on tsc
echo tsc >"$cs/current_clocksource"

cat >/tmp/chrony.conf <<CONF
refclock PHC $ptp poll 0 dpoll -2 refid HC
logdir /tmp/chrony
log refclocks
driftfile /tmp/chrony/drift
pidfile /tmp/chrony/chronyd.pid
cmdport 0
CONF
start_chronyd /tmp/chrony/out
sleep 3
samples() { grep -c " HC " /tmp/chrony/refclocks.log 2>/dev/null || echo 0; }
check "chronyd runs and samples the PHC with tsc current ($(samples) samples)" \
	test "$(samples)" -ge 4

for to in hostclock tsc hostclock; do
	a=$(samples)
	echo "$to" >"$cs/current_clocksource"
	sleep 3
	b=$(samples)
	check "$to current: chrony still samples ($((b - a)) new in 3 s)" \
		sh -c "grep -qx $to $cs/current_clocksource && [ $((b - a)) -ge 8 ]"
done
kill "$chrony"
wait "$chrony" 2>/dev/null
tail -n 3 /tmp/chrony/refclocks.log | sed 's/^/HCTEST note refclocks.log: /'
check "chronyd reported no PHC read errors" \
	sh -c '! grep -iE "could not|fail|error" /tmp/chrony/out'
grep -iE "could not|fail|error" /tmp/chrony/out | head -n 3 | sed 's/^/HCTEST note chronyd: /'
