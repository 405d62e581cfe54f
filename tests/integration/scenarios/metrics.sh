#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the Prometheus metrics (Documentation/monitoring.md): the
# exporter tools/exporter/hostclock-guest-metrics, as bin/hostclock-guest-metrics,
# on the real sysfs files. Three rounds, each a snapshot of every sysfs
# file before and after one exporter run (so that the host can check each
# value against what sysfs said around it): healthy, with the guest 5 ms
# behind the reference, and with a stale page (agent frozen). Each round's
# file goes to the console as "HCPROM ROUND LINE" and the snapshots as
# "HCSYSFS ROUND before|after FILE=VALUE ...", which scripts/monitoring-test.sh
# extracts from the log; the checks here stand on their own too. Pages and
# samples every 2 s, so that most rounds see no update in between.
#
# hostclock-agent: --interval 2000
# hostclock-named-only: yes

. /hc-lib.sh

modprobe hostclock sample_interval_ms=2000
wait_readable 30
s=/sys/class/misc/hostclock0
tf=/tmp/textfile
mkdir -p "$tf"
files="status error offset_ns max_abs_offset_ns offset_mean_ns offset_stddev_ns drift_ppb
samples offset_threshold_exceeded time_esterror_ns time_maxerror_ns page_updates
freq_changes time_steps disruptions vm_generation_changes seq_retries read_timeouts
invalid_pages monotonic_clamps crosststamp_failures crosststamp_bracketed
crosststamp_bracket_ns disruption_steps pair_bursts
pair_timeouts pair_rtt_ticks tsc_offset_uncertainty_ticks
vm_generation_counter rate_refused rate_limited tsc_unstable_refusals uevents_deferred"
snap() { for f in $files; do read -r v <"$s/$f"; printf '%s=%s ' "$f" "$v"; done; }
# key KEY SNAPSHOT: the value of exactly KEY (hc-lib's field would also
# match max_abs_offset_ns for offset_ns)
key() { echo " $2" | sed -n "s/.* $1=\([-0-9]*\) .*/\1/p"; }
prom() { grep "^$1{device=\"hostclock0\"" "$tf/hostclock.prom" | sed 's/.* //'; }

# round NAME: a snapshot, the exporter, a snapshot; again (up to 10 times)
# until no page update or sample came in between, so that every value is
# one sysfs showed
round() {
	i=0
	t0=$(date +%s)
	while [ $i -lt 10 ]; do
		before=$(snap)
		hostclock-guest-metrics --dir "$tf" || { fail "$1: exporter exits 0"; return 1; }
		after=$(snap)
		[ "$(key page_updates "$before")" = "$(key page_updates "$after")" ] &&
			[ "$(key samples "$before")" = "$(key samples "$after")" ] && break
		i=$((i + 1))
	done
	note "$1: $((i + 1)) tries, $(($(date +%s) - t0)) s"
	sed "s/^/HCPROM $1 /" "$tf/hostclock.prom"
	echo "HCSYSFS $1 before $before"
	echo "HCSYSFS $1 after $after"
}

agent disrupt
sleep 2
round healthy
check "exporter: one file, hostclock.prom, no temporary left" test "$(ls -A "$tf")" = hostclock.prom
check "exporter: file mode 0644" test "$(stat -c %a "$tf/hostclock.prom")" = 644
check "exporter: one device" grep -qx 'hostclock_exporter_devices 1' "$tf/hostclock.prom"
check "exporter: status $(cat $s/status) is 1 in the state set" \
	grep -qx "hostclock_device_status{device=\"hostclock0\",status=\"$(cat $s/status)\"} 1" "$tf/hostclock.prom"
check "exporter: page_updates as in sysfs ($(key page_updates "$after"))" \
	test "$(prom hostclock_page_updates_total)" = "$(key page_updates "$after")"
check "exporter: disruptions as in sysfs ($(key disruptions "$after"))" \
	test "$(prom hostclock_disruptions_total)" = "$(key disruptions "$after")"
off=$(key offset_ns "$after")
off0=$off
[ "$off" = 0 ] && want=0 || want=${off}e-9
check "exporter: offset as in sysfs, in seconds ($want)" test "$(prom hostclock_offset_seconds)" = "$want"

# a reader meanwhile never sees a partial file: its last line is always there
last=$(tail -n 1 "$tf/hostclock.prom" | sed 's/ .*//')
(
	torn=0 reads=0
	while [ ! -e /tmp/stop ]; do
		tail -n 1 "$tf/hostclock.prom" | grep -q "^$last " || torn=$((torn + 1))
		reads=$((reads + 1))
	done
	echo "$reads $torn" >/tmp/reads
) &
rd=$!
i=0
while [ $i -lt 20 ]; do
	hostclock-guest-metrics --dir "$tf"
	i=$((i + 1))
done
touch /tmp/stop
wait "$rd"
read -r reads torn </tmp/reads
check "exporter: 20 rewrites, $reads reads meanwhile, none partial ($torn)" \
	test "$reads" -gt 0 -a "$torn" = 0
check "exporter: still no temporary file left" test "$(ls -A "$tf")" = hostclock.prom

# 5 ms behind: the reference steps, CLOCK_REALTIME (no chrony here) does not
agent step 5000000
n0=$(cat $s/samples)
i=0
until [ "$(cat $s/samples)" -ge $((n0 + 2)) ] || [ $i -ge 40 ]; do sleep 0.5; i=$((i + 1)); done
round offset
off=$(key offset_ns "$after")
check "exporter: offset moved by about +5 ms ($off0 -> $off ns), and so in the file" \
	test $((off - off0)) -gt 4000000 -a $((off - off0)) -lt 6000000 -a \
		"$(prom hostclock_offset_seconds)" = "${off}e-9"
agent step -5000000

# a stale page: the agent stops updating; the sampler is stopped too, so
# that the values hold still
agent freeze
echo 0 >/sys/module/hostclock/parameters/sample_interval_ms
i=0
until grep -qx stale $s/status || [ $i -ge 40 ]; do sleep 0.5; i=$((i + 1)); done
round stale
check "exporter: a frozen agent shows as stale" \
	grep -qx 'hostclock_device_status{device="hostclock0",status="stale"} 1' "$tf/hostclock.prom"
check "exporter: no maxerror while stale (sysfs -1)" \
	sh -c "! grep -q '^hostclock_time_maxerror_seconds' '$tf/hostclock.prom'"
agent restore
echo 2000 >/sys/module/hostclock/parameters/sample_interval_ms
i=0
until grep -qxE 'synchronized|freerunning' $s/status || [ $i -ge 20 ]; do sleep 0.5; i=$((i + 1)); done
check "status after thaw: $(cat $s/status)" grep -qxE 'synchronized|freerunning' $s/status
