#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: hostclock's accuracy and cost, side by side with NTP, in one
# run. Guests under QEMU TCG with the real agent (tests/integration/run.sh
# runs them); guest CLOCK_REALTIME is measured against the agent's reference
# by the comparator, which does not use hostclock. Prints three Markdown
# tables (steady state per setup; the migration and restore per setup;
# figure, value, unit, target, met) and writes them with the data and PNG
# plots to build/bench/ (build/bench-quick/ for --quick).
#
# usage: scripts/bench.sh [--quick] [--report]
#
# --quick (in `make test`): every phase a few seconds, to check that every
# figure is produced; its values are not meant to meet the targets.
# --report: no new measurements; the table and plots again from the last
# run's logs (to work on this script).

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
quick= report=
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	--report) report=1 ;;
	*) echo "usage: scripts/bench.sh [--quick] [--report]" >&2; exit 2 ;;
	esac
done
if [ -n "$quick" ]; then
	out=$top/build/bench-quick
	CONV=8 NTP_CONV=12 STEADY_N=30 RECOVER=10 RESTORE_WAIT=2 FREE=10 COST_N=20000
	CPU_S=5 TRIES=5 COLD_FROM=2 COLD_TO=14
	reader_args=(200000 5)
else
	out=$top/build/bench
	CONV=120 NTP_CONV=600 STEADY_N=1050 RECOVER=40 RESTORE_WAIT=10 FREE=180 COST_N=200000
	CPU_S=60 TRIES=20 COLD_FROM=40 COLD_TO=240
	reader_args=(2000000 9)
fi
EVERY_MS=200
kernels=${HOSTCLOCK_KERNELS:-6.12}
debs=$(. "$top/scripts/lib.sh" && hc_cache_dir)/debs
logs=${HOSTCLOCK_GUEST_OUT:-$top/build/guest}
ntp_port=11123
if [ -z "$report" ]; then
rm -rf "$out"
mkdir -p "$out/sc"

scripts/install-deps.sh build qemu guest bench || exit 1
make -s tools testbins "$top/build/bench/reader-bench" "$top/build/bench/hc-steplat" ||
	{ echo "FAIL building the benchmark tools"; exit 1; }

# --- the guests -----------------------------------------------------------

# scenario MODE TIMEOUT [HEADER...]: a guest script for tests/integration/run.sh
scenario() {
	local mode=$1 limit=$2 f=$out/sc/bench-$1.sh
	shift 2
	{
		echo "#!/bin/sh"
		echo "# hostclock-timeout: $limit"
		for h in "$@"; do echo "# $h"; done
		echo "MODE=$mode CONV=$CONV NTP_CONV=$NTP_CONV STEADY_N=$STEADY_N EVERY_MS=$EVERY_MS RECOVER=$RECOVER FREE=$FREE COST_N=$COST_N"
		cat tests/bench/guest-bench.sh
	} >"$f"
	echo "$f"
}
# a setup's time: its phases (a sample takes EVERY_MS and a little more),
# the two moves (a restore waits RESTORE_WAIT) and a margin
setup_s() { echo $(($1 + STEADY_N * (EVERY_MS + 20) / 1000 + 2 * RECOVER + RESTORE_WAIT + 60)); }
moves=("hostclock-migrate: yes" "hostclock-restore-wait: $RESTORE_WAIT"
	"hostclock-migrate-dst: status synchronized; maxerror 100000")
scs=(
	"$(scenario phc $((2 * $(setup_s "$CONV") + 60)) "${moves[@]}")"
	"$(scenario ntp $(($(setup_s "$NTP_CONV") + 60)) "${moves[@]}" "hostclock-qemu: -nic user,model=e1000")"
	"$(scenario phc2sys $((2 * $(setup_s "$CONV") + 60)) "${moves[@]}")"
	"$(scenario clock $((2 * FREE + 200)))"
)

# The NTP server of the baseline: chronyd on the host's loopback, serving
# the host's clock (-x: it never adjusts it), reached from the guest through
# QEMU user networking at 10.0.2.2.
cat >"$out/host-chrony.conf" <<CONF
port $ntp_port
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 2
cmdport 0
pidfile $out/host-chronyd.pid
CONF
chronyd_pid=
stop_chronyd() {
	[ -n "$chronyd_pid" ] && kill "$chronyd_pid" 2>/dev/null && wait "$chronyd_pid" 2>/dev/null
	chronyd_pid=
}
trap stop_chronyd EXIT
trap 'stop_chronyd; exit 130' INT TERM
"$debs/root-chrony/usr/sbin/chronyd" -x -d -u root -f "$out/host-chrony.conf" \
	>"$out/host-chronyd.log" 2>&1 &
chronyd_pid=$!

echo "bench: guests on $kernels, phases conv ${CONV}s (NTP ${NTP_CONV}s), steady $STEADY_N samples, migrate and restore ${RECOVER}s each"
HOSTCLOCK_KERNELS=$kernels tests/integration/run.sh "${scs[@]}" | tee "$out/guests.log"
echo "${PIPESTATUS[0]}" >"$out/guests.rc"
stop_chronyd

# --- on this machine ----------------------------------------------------

echo "bench: reader, agent CPU, step latency on this machine"
scripts/bench-reader.sh "${reader_args[@]}" >"$out/reader.txt" 2>&1
scripts/agent-cpu.sh identity "$CPU_S" >"$out/cpu-identity.txt" 2>&1
scripts/agent-cpu.sh pairing "$CPU_S" >"$out/cpu-pairing.txt" 2>&1
steplat_dir=$(mktemp -d /tmp/hostclock-steplat.XXXXXX)
build/tools/hostclockd --region "$steplat_dir/region" --tsc identity --foreground \
	--enable-faults --log-level warning &
agent=$!
sleep 1.5
build/bench/hc-steplat "$steplat_dir/region" build/tools/hostclockctl "$TRIES" \
	>"$out/steplat.txt" 2>&1
kill "$agent"
wait "$agent" 2>/dev/null
rm -rf "$steplat_dir"
echo "$(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPUs ($(sed -n 's/^model name\t: //p' /proc/cpuinfo | head -n 1))" >"$out/run.txt"
fi	# not --report

# --- figures ------------------------------------------------------------

# the kernel release of the (last) line the guests ran
kver=$(HOSTCLOCK_KERNELS=$kernels scripts/klines.sh | awk 'END { print $2 }')
setups="phc-tsc phc-hostclock p2s-tsc p2s-hostclock ntp"
declare -A what=(
	[phc-tsc]="chrony + PHC, tsc current"
	[phc-hostclock]="chrony + PHC, hostclock current"
	[p2s-tsc]="phc2sys + PHC, tsc current"
	[p2s-hostclock]="phc2sys + PHC, hostclock current"
	[ntp]="chrony NTP baseline, tsc current"
)
log_of() {
	case $1 in
	phc-*) echo "$logs/bench-phc-$kver.log" ;;
	p2s-*) echo "$logs/bench-phc2sys-$kver.log" ;;
	*) echo "$logs/bench-$1-$kver.log" ;;
	esac
}

# series SETUP: "phase seconds-since-start offset_ns unc_ns mono_ns ref_ns"
series() {
	tr -d '\r' <"$(log_of "$1")" | awk -v s="$1" '
		function kv(k,  i, a) {
			for (i = 5; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] }
			return ""
		}
		$1 == "HCBENCH" && $2 == "mark" && $3 == s && $4 == "start" { t0 = $5 }
		# whole lines only: the host side writes its notes to the same
		# console log, and a line cut short must not count
		$1 == "HCBENCH" && $2 == "sample" && $3 == s && t0 != "" && NF == 8 && length(kv("ref_ns")) >= 19 {
			m = kv("mono_ns")
			printf "%s %.3f %s %s %s %s\n", $4, (m - t0) / 1e9, kv("offset_ns"), kv("unc_ns"), m, kv("ref_ns")
		}'
}
# A comparator sample whose own uncertainty is over 10 us (all its exchanges
# delayed: the host or the guest's vCPU was descheduled) says nothing about
# offsets of a microsecond: such samples are set aside in SETUP-wide.dat,
# counted, and left out of every figure and plot.
unc_max=10000
for s in $setups; do
	series "$s" | awk -v lim=$unc_max -v wide="$out/$s-wide.dat" \
		'$4 <= lim { print; next } { print >wide }' >"$out/$s.dat"
	touch "$out/$s-wide.dat"
done
wide() { wc -l <"$out/$1-wide.dat"; }
value() { tr -d '\r' <"$logs/bench-clock-$kver.log" | awk -v k="$1" '$1 == "HCBENCH" && $2 == "value" && $3 == k { print $4 }'; }
kv() { sed -n "s/.*$1=\([-0-9.]*\).*/\1/p" "$2" | head -n 1; }

# pct SETUP COLUMN PHASES [FROM TO]: p50 p99 max of |COLUMN| over PHASES
# (and seconds FROM to TO since the start), and their number; the p-th
# percentile is the ceil(p * n)-th smallest
pct() {
	awk -v c="$2" -v p="$3" -v from="${4:--1e9}" -v to="${5:-1e9}" '
		index(" " p " ", " " $1 " ") && $2 >= from && $2 <= to { v = $c < 0 ? -$c : $c; printf "%.0f\n", v }' "$out/$1.dat" |
		sort -g | awk '{ a[NR] = $1 }
		END {
			if (!NR) exit
			i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
			i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++
			printf "%.0f %.0f %.0f %d\n", a[i50], a[i99], a[NR], NR
		}'
}
# settle SETUP PHASES LIMIT_NS: seconds from the start until |offset| stays
# under LIMIT_NS to the end of PHASES ("never" if it does not)
settle() {
	awk -v phases="$2" -v lim="$3" '
		index(" " phases " ", " " $1 " ") {
			v = $3 < 0 ? -$3 : $3
			if (v >= lim) since = ""
			else if (since == "") since = $2
		}
		END { if (since == "") print "never"; else printf "%.1f\n", since }' "$out/$1.dat"
}
# converged SETUP P99: seconds from the start after which the median |offset|
# of every 25 consecutive samples (5 s) of phase conv is at or under the
# steady state's p99: the daemon has reached the level it then holds (a
# setup whose level gets worse later meets it early)
converged() {
	awk -v thr="$2" -v w=25 '
		$1 == "conv" { n++; t[n] = $2; v[n] = $3 < 0 ? -$3 : $3 }
		END {
			if (n < w || thr == "") { print "never"; exit }
			bad = 0
			for (i = w; i <= n; i++) {
				k = 0
				for (j = i - w + 1; j <= i; j++) b[++k] = v[j]
				for (x = 2; x <= w; x++)
					for (y = x; y > 1 && b[y - 1] > b[y]; y--) { z = b[y]; b[y] = b[y - 1]; b[y - 1] = z }
				if (b[int((w + 1) / 2)] > thr) bad = i
			}
			if (bad == n) print "never"
			else printf "%.1f\n", bad ? t[bad] : t[w]
		}' "$out/$1.dat"
}
first_t() { awk -v p="$2" '$1 == p { print $2; exit }' "$out/$1.dat"; }

# event SETUP KIND: the VM's stop in phase KIND (migrate, restore): the two
# consecutive samples whose reference times are furthest apart beyond their
# guest CLOCK_MONOTONIC times, by more than 50 ms (the guest's clocks stood
# still; a delayed burst shifts a sample's mono_ns by milliseconds).
# Prints: seconds stopped, offset at the first sample after (ns), seconds
# from the last sample before (an upper bound on the time since the VM
# resumed) until |offset| stays under 10 us, and under 1 ms, to the end of
# the phase, lasting at least 3 s ("never" otherwise), largest |offset|
# from the resume on (ns). Writes SETUP-KIND.dat: seconds since that sample, |offset|.
event() {
	awk -v k="$2" -v rel="$out/$1-$2.dat" '
		function abs(x) { return x < 0 ? -x : x }
		function since(lim,  i, fin) {
			fin = n + 1
			for (i = n; i >= at && abs(o[i]) < lim; i--) fin = i
			if (fin > n || m[n] - m[fin] < 3e9) return "never"
			return sprintf("%.2f", (m[fin] - m[at - 1]) / 1e9)
		}
		$1 == k { n++; o[n] = $3; m[n] = $5; r[n] = $6 }
		END {
			gap = 50e6
			for (i = 2; i <= n; i++)
				if ((r[i] - r[i - 1]) - (m[i] - m[i - 1]) > gap) { at = i; gap = (r[i] - r[i - 1]) - (m[i] - m[i - 1]) }
			if (!at) { print "none"; exit }
			mx = 0
			for (i = at; i <= n; i++) if (abs(o[i]) > mx) mx = abs(o[i])
			for (i = 1; i <= n; i++) printf "%.3f %.0f\n", (m[i] - m[at - 1]) / 1e9, abs(o[i]) < 1 ? 1 : abs(o[i]) >rel
			printf "%.2f %.0f %s %s %.0f\n", ((r[at] - r[at - 1]) - (m[at] - m[at - 1])) / 1e9,
				o[at], since(10000), since(1000000), mx
		}' "$out/$1.dat"
}

produced=0 missing=0 met=0 missed=0
# cells NAME VALUE...: a table line "| NAME | VALUE | ... |" in $line, each
# empty VALUE (or "none": no event found) written "(missing)" and counted
cells() {
	local v
	line="| $1 |"
	shift
	for v in "$@"; do
		if [ -z "$v" ] || [ "$v" = none ]; then
			missing=$((missing + 1))
			v="(missing)"
		else
			produced=$((produced + 1))
		fi
		line+=" $v |"
	done
}
if [ "$(cat "$out/guests.rc" 2>/dev/null)" != 0 ]; then
	echo "bench: a guest failed a check or did not finish (guests.log): its figures are not trusted"
	missing=$((missing + 1))
fi

table=$out/results.md
declare -A p50 p99 pmax pn unc conv10 conv_at margin
declare -A ev_stop ev_off ev_10 ev_1ms ev_max cold99
{
	echo "Steady state (after convergence), per setup; |offset| of guest CLOCK_REALTIME to the reference, ns:"
	echo
	echo "| setup | p50 | p99 | max | samples | comparator unc, median | set aside (unc > 10 us) | to < 10 us from 1 s off, s | converged, s | steady starts after converging, s |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$table"
for s in $setups; do
	read -r p50[$s] p99[$s] pmax[$s] pn[$s] <<<"$(pct "$s" 3 steady)"
	read -r unc[$s] _ _ _ <<<"$(pct "$s" 4 steady)"
	conv10[$s]=$(settle "$s" "conv steady" 10000)
	conv_at[$s]=$(converged "$s" "${p99[$s]}")
	margin[$s]=$(awk -v a="$(first_t "$s" steady)" -v c="${conv_at[$s]}" \
		'BEGIN { if (c == "never") print c; else if (a != "" && c != "") printf "%.1f", a - c }')
	read -r _ cold99[$s] _ _ <<<"$(pct "$s" 3 "conv steady" "$COLD_FROM" "$COLD_TO")"
	cells "${what[$s]}" "${p50[$s]}" "${p99[$s]}" "${pmax[$s]}" "${pn[$s]}" "${unc[$s]}" "$(wide "$s")" \
		"${conv10[$s]}" "${conv_at[$s]}" "${margin[$s]}"
	echo "$line" >>"$table"
done
{
	echo
	echo "Real live migration and snapshot restore (Documentation/migration.md's runbook, scripts/qemu-run.sh), per setup:"
	echo
	echo "Times from the last sample before the stop (an upper bound on the time since the VM resumed), in the guest's CLOCK_MONOTONIC:"
	echo
	echo "| setup | event | VM stopped, s | offset at resume, ns | to < 10 us, s | to < 1 ms, s | max \|offset\| after, ns |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
} >>"$table"
for s in $setups; do
	for k in migrate restore; do
		read -r ev_stop[$s-$k] ev_off[$s-$k] ev_10[$s-$k] ev_1ms[$s-$k] ev_max[$s-$k] <<<"$(event "$s" "$k")"
		cells "${what[$s]}" "$k" "${ev_stop[$s-$k]}" "${ev_off[$s-$k]}" "${ev_10[$s-$k]}" \
			"${ev_1ms[$s-$k]}" "${ev_max[$s-$k]}"
		echo "$line" >>"$table"
	done
done

free_hc=$(value free_rate_ppb_hostclock)
free_tsc=$(value free_rate_ppb_tsc)
cost() { value "cost_$1"; }
reader_ns=$(kv reader_ns_per_call "$out/reader.txt")
vdso_ns=$(kv clock_gettime_ns_per_call "$out/reader.txt")
reader_ratio=$(kv ratio_median "$out/reader.txt")
cached_ns=$(kv cached_ns_per_call "$out/reader.txt")
cached_ratio=$(kv cached_ratio_median "$out/reader.txt")
cpu_id=$(sed -n 's/.* = \([0-9.]*\) % of a core.*/\1/p' "$out/cpu-identity.txt")
cpu_pair=$(sed -n 's/.* = \([0-9.]*\) % of a core.*/\1/p' "$out/cpu-pairing.txt")
cpu_guest=$(awk -F'[= ]' '{ if ($4 > 0) printf "%.3f", 100 * $2 / $4 }' \
	"$logs/run-bench-phc-$kver/agent.cpu" 2>/dev/null)
step_med=$(kv step_to_page_us_median "$out/steplat.txt")
step_max=$(kv step_to_page_us_max "$out/steplat.txt")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 != 0) printf "%.1f", a / b }'; }
cost_ratio=$(ratio "$(cost syscall_ns_hostclock)" "$(cost syscall_ns_tsc)")
fewest=$(for s in $setups; do echo "${pn[$s]:-missing}"; done |
	awk '$1 == "missing" { bad = 1 } $1 != "missing" && (m == "" || $1 < m) { m = $1 } END { if (!bad) print m }')
# "never" when a setup did not converge in its conv phase
least_margin=$(for s in $setups; do echo "${margin[$s]:-missing}"; done |
	awk '$1 == "missing" { bad = 1 } $1 == "never" { never = 1 }
		$1 != "never" && $1 != "missing" && (m == "" || $1 < m) { m = $1 }
		END { if (!bad) print never ? "never" : m }')

# row FIGURE VALUE UNIT TARGET TEST: TEST is an awk condition on v, or "-"
{
	echo
	echo "Figures and targets:"
	echo
	echo "| figure | value | unit | target | met |"
	echo "| --- | --- | --- | --- | --- |"
} >>"$table"
row() {
	local fig=$1 v=$2 unit=$3 target=$4 test=$5 verdict=-
	if [ -z "$v" ]; then
		v="(missing)"
		missing=$((missing + 1))
	else
		produced=$((produced + 1))
		if [ "$test" != - ]; then
			if [ "$v" != never ] && awk -v v="$v" "BEGIN { exit !($test) }"; then
				verdict=yes met=$((met + 1))
			else
				verdict=no missed=$((missed + 1))
			fi
		fi
	fi
	echo "| $fig | $v | $unit | $target | $verdict |" >>"$table"
}
# p99 of a chrony + PHC setup under 1 us counts only with an instrument
# finer than a quarter of it
for s in phc-tsc phc-hostclock; do
	row "${what[$s]}: p99 \|offset\| (comparator unc, median: ${unc[$s]:-?} ns)" "${p99[$s]}" ns \
		"< 1000, unc <= 250" "v < 1000 && ${unc[$s]:-1e9} <= 250"
done
for s in phc-tsc phc-hostclock p2s-tsc p2s-hostclock; do
	row "comparator uncertainty, median, ${what[$s]}" "${unc[$s]}" ns "<= 250" "v <= 250"
done
# num V: V if a number, else -1 (for a target's condition)
num() { awk -v v="$1" 'BEGIN { print (v ~ /^-?[0-9.]+$/) ? v : -1 }'; }
# met only on steady states after convergence (30 s of margin each) and with
# the PHC setup's p99 resolved by the comparator (median unc <= 250 ns)
for s in phc-tsc phc-hostclock; do
	row "NTP p99 / ${what[$s]} p99, steady states after convergence (unc ${unc[$s]:-?} ns)" \
		"$(ratio "${p99[ntp]}" "${p99[$s]}")" x ">= 50, unc <= 250" \
		"v >= 50 && $(num "${unc[$s]}") <= 250 && $(num "${unc[$s]}") >= 0 && $(num "${margin[ntp]}") >= 30 && $(num "${margin[$s]}") >= 30"
done
for s in phc-tsc phc-hostclock; do
	row "cold start: NTP p99 / ${what[$s]} p99, ${COLD_FROM} to ${COLD_TO} s after the 1 s step" \
		"$(ratio "${cold99[ntp]}" "${cold99[$s]}")" x "" -
done
row "fewest steady-state samples of a setup" "$fewest" samples ">= 1000" "v >= 1000"
row "least time between a setup's convergence and its steady state" "$least_margin" s ">= 30" "v >= 30"
for s in phc-tsc phc-hostclock; do
	row "convergence from 1 s off to < 10 us, ${what[$s]}" "${conv10[$s]}" s "<= 10" "v <= 10"
done
for s in phc-tsc phc-hostclock; do
	for k in migrate restore; do
		row "recovery to < 10 us after the $k, from the last sample before the stop, ${what[$s]}" "${ev_10[$s-$k]}" s "< 5" "v < 5"
	done
done
row "free-running MONOTONIC_RAW rate error, hostclock current" "$free_hc" ppb "\|v\| < 10" "(v < 0 ? -v : v) < 10"
row "free-running MONOTONIC_RAW rate error, tsc current" "$free_tsc" ppb "" -
row "comparator uncertainty, median of 20, no daemon, hostclock current" "$(value compare_unc_ns_hostclock)" ns "" -
row "comparator uncertainty, median of 20, no daemon, tsc current" "$(value compare_unc_ns_tsc)" ns "" -
row "reference minus the PTP clock's time, median of 21 (clock_gettime on /dev/ptpN)" "$(value phc_offset_ns_median)" ns "" -
row "comparator uncertainty of those, median" "$(value phc_unc_ns_median)" ns "" -
row "comparator offset through the system call minus through the vDSO, tsc current, median of 15" "$(value syscall_bias_ns_tsc)" ns "" -
row "comparator uncertainty through the system call, tsc current, median of 15" "$(value syscall_unc_ns_tsc)" ns "" -
row "clock_gettime syscall, hostclock current" "$(cost syscall_ns_hostclock)" ns/call "" -
row "clock_gettime syscall, tsc current" "$(cost syscall_ns_tsc)" ns/call "" -
row "clocksource read: syscall hostclock / tsc" "$cost_ratio" x "<= 1.3" "v <= 1.3"
row "clock_gettime (vDSO if it can), hostclock current" "$(cost vdso_ns_hostclock)" ns/call "" -
row "clock_gettime (vDSO), tsc current" "$(cost vdso_ns_tsc)" ns/call "" -
row "PTP_SYS_OFFSET_PRECISE, hostclock current" "$(cost precise_ns_hostclock)" ns/call "" -
row "PTP_SYS_OFFSET_PRECISE, tsc current" "$(cost precise_ns_tsc)" ns/call "" -
row "PTP_SYS_OFFSET_EXTENDED (25), hostclock current" "$(cost extended25_ns_hostclock)" ns/call "" -
row "PTP_SYS_OFFSET_EXTENDED (25), tsc current" "$(cost extended25_ns_tsc)" ns/call "" -
row "userspace reader (this CPU)" "$reader_ns" ns/call "" -
row "clock_gettime(CLOCK_REALTIME) vDSO (this CPU)" "$vdso_ns" ns/call "" -
row "reader / vDSO, median of per-round ratios" "$reader_ratio" x "" -
row "userspace reader, cached per page generation (this CPU)" "$cached_ns" ns/call "" -
row "cached reader / vDSO, median of per-round ratios" "$cached_ratio" x "<= 1.0" "v <= 1.0"
row "hostclockd CPU, identity mapping, idle" "$cpu_id" "% of a core" "" -
row "hostclockd CPU, pairing, no guest" "$cpu_pair" "% of a core" "" -
row "hostclockd CPU over the chrony + PHC guest run (pairing)" "$cpu_guest" "% of a core" "" -
row "reference step to new page, median (incl. starting hostclockctl)" "$step_med" us "" -
row "reference step to new page, max" "$step_max" us "" -

# --- plots --------------------------------------------------------------

plot_lines() {	# plot_lines SUFFIX COLUMNS: one gnuplot line per setup
	local s sep=
	for s in $setups; do
		printf '%s"%s" using %s with lines lw %s title "%s"' "$sep" "$out/$s$1.dat" "$2" \
			"$([ "${s%-hostclock}" != "$s" ] && echo 1 || echo 2)" "${what[$s]}"
		sep=", \\
     "
	done
}
for s in $setups; do
	awk '$1 == "conv" || $1 == "steady" { v = $3 < 0 ? -$3 : $3; if (v < 1) v = 1; print $2, v }' "$out/$s.dat" >"$out/$s-abs.dat"
	awk '$1 == "steady" { v = $3 < 0 ? -$3 : $3; if (v < 1) v = 1; b = int(log(v) / log(10) * 8); h[b]++ }
		END { for (b in h) print 10 ^ ((b + 0.5) / 8), h[b] }' "$out/$s.dat" | sort -g >"$out/$s-hist.dat"
	for k in migrate restore; do touch "$out/$s-$k.dat"; done
done
gnuplot <<GP >"$out/gnuplot.log" 2>&1
set terminal png size 1100,600 font ",11"
set logscale y
set grid
set key top right
set format y "10^{%L}"
set ylabel '|guest CLOCK\_REALTIME - host reference| (ns)'
set output "$out/offset.png"
set title "convergence from 1 s wrong and steady state, QEMU TCG, $kver"
set xlabel 'seconds since the daemon started (guest CLOCK\_REALTIME set 1 s wrong at 0)'
plot $(plot_lines -abs 1:2), \\
     10000 with lines dashtype 2 lc rgb "gray40" title "10 us"
set output "$out/recovery.png"
set multiplot layout 2,1 title "real live migration and snapshot restore (saved for $RESTORE_WAIT s), QEMU TCG, $kver"
set xlabel 'seconds since the last sample before the VM stopped (guest CLOCK\_MONOTONIC, which stands still while it is stopped)'
set ylabel '|offset| (ns)'
set arrow 1 from 0,1 to 0,1e10 nohead dashtype 2 lc rgb "gray40"
set label 1 "VM stopped; resumed before the next sample" at 0,3e9 left offset 1,0
set title "live migration"
plot $(plot_lines -migrate 1:2), \\
     10000 with lines dashtype 2 lc rgb "gray70" title "10 us"
set title "snapshot restore"
plot $(plot_lines -restore 1:2), \\
     10000 with lines dashtype 2 lc rgb "gray70" title "10 us"
unset multiplot
unset arrow 1
unset label 1
set ylabel '|guest CLOCK\_REALTIME - host reference| (ns)'
set output "$out/histogram.png"
set title "steady-state |offset|, $STEADY_N samples each"
set logscale x
set format x "10^{%L}"
unset logscale y
set format y "%g"
set xlabel '|guest CLOCK\_REALTIME - host reference| (ns)'
set ylabel "samples"
plot $(plot_lines -hist 1:2)
GP
for p in offset recovery histogram; do
	if [ -s "$out/$p.png" ]; then
		produced=$((produced + 1))
	else
		echo "plot $p.png not written:"
		tail -n 5 "$out/gnuplot.log"
		missing=$((missing + 1))
	fi
done

{
	echo
	echo "Run $(cat "$out/run.txt" 2>/dev/null), guests $kver under QEMU TCG; every $EVERY_MS ms a sample;"
	echo "phases: conv $CONV s (NTP $NTP_CONV s), steady $STEADY_N samples, migrate and restore $RECOVER s each (the restore after $RESTORE_WAIT s saved); free-running $FREE s per clocksource; targets met $met, missed $missed."
} >>"$table"
cat "$table"
echo "bench: table, data and plots in $out"
[ -n "$quick" ] && echo "(quick run: the figures are produced; their values are not meant to meet the targets)"
echo "$produced passed, $missing failed"
[ "$missing" -eq 0 ]
