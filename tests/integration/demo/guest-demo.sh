#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-agent: --interval 500
# hostclock-migrate: yes
# hostclock-migrate-dst: step 2000000; rate 20ppm; status synchronized; maxerror 100000
#
# The guest half of `make demo`: prints "DEMO ..." lines that scripts/demo.sh
# shows live. The guest clock starts 1 s behind the host's; chrony on
# hostclock's PTP clock brings it in; then a real live migration to a
# second QEMU whose agent's reference is another host's (2 ms ahead, 20 ppm
# fast), by the runbook of Documentation/migration.md, and the recovery.
# Offsets come from the comparator, which does not use hostclock.

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
modprobe hostclock sample_interval_ms=250 step_on_disruption=1
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

hc-uevent 40 >/tmp/uevents &
say ""
say "Live migration to another QEMU, whose agent's reference is 2 ms ahead and runs 20 ppm fast"
say "(another host's clock and TSC); the guest is traced every ~0.1 s meanwhile:"
d0=$(cat $s/disruptions) t0=$(cat $s/time_steps) f0=$(cat $s/freq_changes) p0=$(cat $s/disruption_steps)
moved migrate 14
# the sample before the move, the first after, then every 0.5 s until the
# offset is within 10 us, and the three samples after that
awk -v a="$moved_at" '
	function abs(x) { return x < 0 ? -x : x }
	{ split("", v); for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
	!("mono_ns" in v) || v["unc_ns"] > 10000 { next }
	{ k++ }
	k == a - 1 { m0 = v["mono_ns"]; last = m0 }
	k < a - 1 || shown > 3 { next }
	{ t = (v["mono_ns"] - m0) / 1e9; o = v["offset_ns"] }
	k == a - 1 || k == a || abs(o) <= 10000 || v["mono_ns"] - last >= 5e8 {
		if (abs(o) <= 10000 && k > a) shown++
		last = v["mono_ns"]
		printf "DEMO     %s %+8.3f s   guest - host %+16.3f us\n", k == a ? "resumed" : "       ", t, -o / 1000
	}' /tmp/trace
say "guest's own log: $(dmesg | grep -o 'disruption: stepped.*' | tail -n 1)"
say "good page again ${good_ms} ms after the last sample before the move (the agent paired with the guest's TSC);"
say "within 10 us for good ${settle_ms} ms after that; largest offset meanwhile $((max_after / 1000)) us (the stop itself)"
watch 5 migrated
say ""
say "counters across the migration: disruptions +$(( $(cat $s/disruptions) - d0 )), disruption_steps +$(( $(cat $s/disruption_steps) - p0 )), time_steps +$(( $(cat $s/time_steps) - t0 )), freq_changes +$(( $(cat $s/freq_changes) - f0 ))"
say "uevent: $(grep -m 1 HOSTCLOCK_EVENT=disruption /tmp/uevents | sed 's/^change@[^ ]* //')"
kill "$chrony"
wait "$chrony" 2>/dev/null
say "final: guest - host $(fmt_us $((-$(offset))))"
