#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-agent: --interval 500
#
# The guest half of `make demo`: prints "DEMO ..." lines that scripts/demo.sh
# shows live. The guest clock starts 1 s behind the host's; chrony on
# hostclock's PTP clock brings it in; then a simulated migration (the
# reference steps 5 ms and runs 100 ppm fast, with a disruption) and the
# recovery. Offsets come from the comparator, which does not use hostclock.

. /hc-lib.sh
say() { echo "DEMO $*"; }
s=/sys/class/misc/hostclock0
fmt_us() { awk -v n="$1" 'BEGIN { printf "%+12.3f us", n / 1000 }'; }
offset() { field offset_ns "$(hc-compare --clock realtime -n 10)"; }

# watch SECONDS LABEL: a line per second: comparator offset, sysfs, chrony
watch() {
	t=0
	while [ "$t" -lt "$1" ]; do
		sleep 1
		t=$((t + 1))
		o=$(offset)
		say "$(printf '%-10s t=%3ss   guest - host (comparator) %s   driver offset_ns (host - guest) %12s' \
			"$2" "$t" "$(fmt_us $((-${o:-0})))" "$(cat $s/offset_ns)")"
	done
}

say "guest up: Linux $(uname -r), clocksource $(cat $cs/current_clocksource)"
modprobe hostclock sample_interval_ms=250
say "modprobe hostclock:"
dmesg | grep -o 'hostclock0: .*' | sed 's/^/DEMO     /'
wait_readable 30
say "paired with the host agent after ${waited}s: $(cat $s/status), TSC mapping +-$(cat $s/tsc_offset_uncertainty_ticks) ticks"
make_current
say "available clocksources: $(cat $cs/available_clocksource)"
say "echo hostclock > current_clocksource  ->  $(cat $cs/current_clocksource)"

o=$(offset)
hc-dev-check - shift $((o - 1000000000)) >/dev/null
echo 1 >$s/reset_stats
say ""
say "The guest clock is now 1 s behind the host. Starting chrony:"
say "    refclock PHC /dev/ptp0 poll 0 dpoll -2 prefer"
say "    makestep 0.1 3"
printf 'refclock PHC /dev/ptp0 poll 0 dpoll -2 prefer\nmakestep 0.1 3\ncmdport 0\npidfile /tmp/chrony/pid\n' \
	>/tmp/chrony.conf
start_chronyd /tmp/chrony.out
watch 12 chrony

echo 1 >$s/reset_stats
sleep 5
say ""
say "steady state, 5 s of the driver's own samples ($s, after reset_stats):"
for f in status samples offset_mean_ns offset_stddev_ns max_abs_offset_ns drift_ppb \
	 page_updates disruptions time_steps freq_changes; do
	say "$(printf '    %-20s %s' "$f" "$(cat $s/$f)")"
done

hc-uevent 25 >/tmp/uevents &
say ""
say "Simulated migration: the host's reference steps +5 ms and runs 100 ppm fast; disruption"
d0=$(cat $s/disruptions) t0=$(cat $s/time_steps) f0=$(cat $s/freq_changes)
hc-compare --cmd "step 5000000" >/dev/null
hc-compare --cmd "rate 100ppm" >/dev/null
hc-compare --cmd "disrupt" >/dev/null
watch 15 migrated

say ""
say "counters across the migration: disruptions +$(( $(cat $s/disruptions) - d0 )), time_steps +$(( $(cat $s/time_steps) - t0 )), freq_changes +$(( $(cat $s/freq_changes) - f0 ))"
say "uevent: $(grep -m 1 HOSTCLOCK_EVENT=disruption /tmp/uevents | sed 's/^change@[^ ]* //')"
kill "$chrony"
wait "$chrony" 2>/dev/null
say "final: guest - host $(fmt_us $((-$(offset))))"
