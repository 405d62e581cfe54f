#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make monitoring-test: hostclock's Prometheus metrics with the real Debian
# tools (Documentation/monitoring.md). prometheus-node-exporter and
# prometheus (for promtool) are unpacked, never installed, by
# scripts/install-deps.sh monitoring.
#
#   1. a real QEMU guest (the metrics scenario, on HOSTCLOCK_MONITORING_LINE,
#      default 6.12) runs tools/exporter/hostclock-guest-metrics; its files
#      and the raw sysfs values around each run are taken from the console log
#   2. hostclockd --metrics-dir on a private region: its file against
#      hostclockctl state/metrics and the page (hostclock-dump), frozen so
#      that nothing moves; removed on a clean stop
#   3. node_exporter on 127.0.0.1, only the textfile collector, on both
#      files: the scrape carries every hostclock series with its value
#   4. promtool check metrics on every file and the scrape, check rules and
#      test rules; every metric the rules and the dashboard use exists
#      and every metric is documented
#
# Everything started here is stopped on exit, also on failure.
#
# usage: scripts/monitoring-test.sh

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
cd "$top" || exit 1
line=${HOSTCLOCK_MONITORING_LINE:-6.12}
bin=$top/build/tools
passed=0 failed=0
pids=()
work=$(mktemp -d /tmp/hostclock-monitoring.XXXXXX)
# root's, 0755: a directory the agent accepts for its region and metrics
chmod 0755 "$work"

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {	# check NAME COMMAND...: the command's status is the verdict
	local name=$1
	shift
	if "$@" >"$work/out" 2>&1; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		sed 's/^/  | /' "$work/out" | tail -n 20
	fi
}

scripts/install-deps.sh monitoring || { echo "FAIL scripts/install-deps.sh monitoring"; exit 1; }
mon=$(hc_cache_dir)/monitoring
node_exporter=$(ls -d "$mon"/prometheus-node-exporter-*/root/usr/bin/prometheus-node-exporter | sort -V | tail -n 1)
promtool=$(ls -d "$mon"/prometheus-[0-9]*/root/usr/bin/promtool | sort -V | tail -n 1)
[ -x "$node_exporter" ] && [ -x "$promtool" ] || { echo "FAIL node_exporter or promtool missing under $mon"; exit 1; }
echo "node_exporter: $node_exporter"
echo "promtool: $promtool"
make -s tools >/dev/null || { echo "FAIL building the host tools"; exit 1; }

# promtool_clean FILE: check metrics says nothing at all (no lint either)
promtool_clean() {
	local out
	out=$("$promtool" check metrics <"$1" 2>&1) || { echo "$out"; return 1; }
	[ -z "$out" ] || { echo "$out"; return 1; }
}

# ---- 1. the guest ----
kver=$(HOSTCLOCK_KERNELS=$line scripts/klines.sh | awk '{ print $2 }')
glog=$top/build/guest/metrics-$kver.log
echo "guest: the metrics scenario on $line ($kver)"
check "guest: the metrics scenario passes on $line" \
	env HOSTCLOCK_KERNELS="$line" tests/integration/run.sh tests/integration/scenarios/metrics.sh
sed 's/^/  | /' "$work/out" | grep -v '^  | ok ' | head -n 5
for round in healthy offset stale; do
	sed -n "s/^HCPROM $round //p" "$glog" | tr -d '\r' >"$work/guest-$round.prom"
	sed -n "s/^HCSYSFS $round //p" "$glog" | tr -d '\r' >"$work/guest-$round.sysfs"
	check "guest $round: the exporter's file is in the console log" test -s "$work/guest-$round.prom"
	check "guest $round: promtool check metrics is clean" promtool_clean "$work/guest-$round.prom"
	check "guest $round: every sysfs value is in the file, as sysfs showed it" \
		python3 "$top/monitoring/tests/compare.py" guest "$work/guest-$round.prom" \
			"$work/guest-$round.sysfs"
done
check "guest stale: the stale state is 1" \
	grep -qx 'hostclock_device_status{device="hostclock0",status="stale"} 1' "$work/guest-stale.prom"
check "guest healthy: not stale" \
	grep -qx 'hostclock_device_status{device="hostclock0",status="stale"} 0' "$work/guest-healthy.prom"

# ---- 2. the host agent ----
tf=$work/textfile
mkdir -m 0755 "$tf"
region=$work/vm1
ctl=("$bin/hostclockctl" --region "$region")
"$bin/hostclockd" --region "$region" --tsc identity --foreground --enable-faults --interval 200 \
	--metrics-dir "$tf" --metrics-interval 1 --log-level warning 2>"$work/agent.log" &
agent=$!
pids+=("$agent")
for _ in $(seq 50); do [ -s "$tf/hostclock-vm1.prom" ] && break; sleep 0.1; done
check "host: the agent writes hostclock-vm1.prom" test -s "$tf/hostclock-vm1.prom"
check "host: mode 0644" test "$(stat -c %a "$tf/hostclock-vm1.prom")" = 644
check "host: promtool check metrics is clean" promtool_clean "$tf/hostclock-vm1.prom"
# two disruptions and a VM generation, then nothing moves: frozen
# and a maxerror (injected: this host's clock may not be synchronized)
"${ctl[@]}" disrupt >/dev/null && "${ctl[@]}" disrupt >/dev/null && "${ctl[@]}" vmgen >/dev/null &&
	"${ctl[@]}" maxerror 5000 >/dev/null
"${ctl[@]}" freeze >/dev/null
# a file written after the freeze: two rewrites later
m0=$(stat -c %Y.%y "$tf/hostclock-vm1.prom")
for _ in 1 2; do
	for _ in $(seq 30); do
		m1=$(stat -c %Y.%y "$tf/hostclock-vm1.prom")
		[ "$m1" != "$m0" ] && break
		sleep 0.1
	done
	m0=$m1
done
sleep 1.2
cp "$tf/hostclock-vm1.prom" "$work/host.prom"
"${ctl[@]}" state >"$work/host.state"
"${ctl[@]}" metrics >"$work/host.metrics"
"$bin/hostclock-dump" --json "$region" >"$work/host.json"
check "host: the file says what hostclockctl state/metrics and the page say" \
	python3 "$top/monitoring/tests/compare.py" host "$work/host.prom" "$work/host.state" \
		"$work/host.metrics" "$work/host.json"
check "host: frozen for over a second: the page is stale for the rule's bound" \
	python3 - "$work/host.prom" <<'PY'
import sys
m = {l.split("{")[0]: float(l.split()[-1]) for l in open(sys.argv[1]) if l[0] != "#"}
age = m["hostclock_metrics_timestamp_seconds"] - m["hostclock_page_last_update_timestamp_seconds"]
bound = 3 * m["hostclock_agent_update_interval_seconds"] + 1
print(f"page age {age:.3f} s, bound {bound:.3f} s")
assert age > bound
PY

# ---- 3. node_exporter on both files ----
cp "$work/guest-healthy.prom" "$tf/.guest.tmp" && mv "$tf/.guest.tmp" "$tf/hostclock.prom"
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
up=
for _ in 1 2 3; do
	port=$(free_port)
	"$node_exporter" --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$tf" 2>"$work/node_exporter.log" &
	ne=$!
	pids+=("$ne")
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$port/metrics" >"$work/scrape.txt" 2>/dev/null && { up=1; break; }
		kill -0 "$ne" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$up" ] && break
done
check "node_exporter: serves on 127.0.0.1:${port:-?}, textfile collector only" test -n "$up"
cp "$tf/hostclock-vm1.prom" "$work/host-before.prom"
curl -sf "http://127.0.0.1:$port/metrics" >"$work/scrape.txt"
cp "$tf/hostclock-vm1.prom" "$work/host-after.prom"
check "node_exporter: no textfile scrape error" grep -qx 'node_textfile_scrape_error 0' "$work/scrape.txt"
check "node_exporter: both files' mtimes are exported" \
	sh -c "grep -q '^node_textfile_mtime_seconds{file=\"[^\"]*hostclock-vm1.prom\"}' '$work/scrape.txt' &&
	       grep -q '^node_textfile_mtime_seconds{file=\"[^\"]*hostclock.prom\"}' '$work/scrape.txt'"
check "node_exporter: every hostclock series of both files, with its value" \
	python3 "$top/monitoring/tests/compare.py" scrape "$work/scrape.txt" "$work/guest-healthy.prom" \
		"$work/host-before.prom" "$work/host-after.prom"
grep '^hostclock_' "$work/scrape.txt" | grep -v '^#' >"$work/scrape-hostclock.txt"
awk '/^# (HELP|TYPE) hostclock_/ || /^hostclock_/' "$work/scrape.txt" >"$work/scrape-hostclock.prom"
check "node_exporter: promtool check metrics on the hostclock families of the scrape" \
	promtool_clean "$work/scrape-hostclock.prom"

# a clean stop removes the file; the next scrape has no host series
"${ctl[@]}" restore >/dev/null
kill -TERM "$agent"
wait "$agent"
check "host: a clean stop exits 0" test $? -eq 0
check "host: a clean stop removes the file" test ! -e "$tf/hostclock-vm1.prom"
curl -sf "http://127.0.0.1:$port/metrics" >"$work/scrape2.txt"
check "node_exporter: no host series after the agent stopped" \
	sh -c "! grep -q '^hostclock_.*vm=\"vm1\"' '$work/scrape2.txt'"

# ---- 4. rules, tests, dashboard, documentation ----
check "promtool check rules" "$promtool" check rules monitoring/hostclock-rules.yml
for t in monitoring/tests/*.yml; do
	check "promtool test rules $t" "$promtool" test rules "$t"
done
cat "$work"/guest-*.prom "$work/host.prom" >"$work/all.prom"
check "the rules and the dashboard use only metrics that exist; every metric is documented" \
	python3 "$top/monitoring/tests/compare.py" names "$work/all.prom" monitoring/hostclock-rules.yml \
		monitoring/hostclock-dashboard.json Documentation/monitoring.md

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
