#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: hostclock's accuracy and cost, side by side with NTP, in one
# run. Guests under QEMU TCG with the real agent (tests/integration/run.sh
# runs them); guest CLOCK_REALTIME is measured against the agent's reference
# by the comparator, which does not use hostclock. Prints one Markdown
# table (figure, value, unit, target, met) and writes it with the data and
# PNG plots to build/bench/ (build/bench-quick/ for --quick).
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
	CONV=20 STEADY=15 RECOVER=20 FREE=10 COST_N=20000 CPU_S=5 TRIES=5
	reader_args=(200000 5)
else
	out=$top/build/bench
	CONV=40 STEADY=300 RECOVER=40 FREE=240 COST_N=200000 CPU_S=60 TRIES=20
	reader_args=(2000000 9)
fi
kernels=${HOSTCLOCK_KERNELS:-6.12}
debs=$(. "$top/scripts/lib.sh" && hc_cache_dir)/debs
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
		echo "MODE=$mode CONV=$CONV STEADY=$STEADY RECOVER=$RECOVER FREE=$FREE COST_N=$COST_N"
		cat tests/bench/guest-bench.sh
	} >"$f"
	echo "$f"
}
daemon_s=$((CONV + STEADY + RECOVER + 150))
scs=(
	"$(scenario phc $daemon_s)"
	"$(scenario ntp $daemon_s "hostclock-qemu: -nic user,model=e1000")"
	"$(scenario phc2sys $daemon_s)"
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

echo "bench: guests on $kernels, phases conv ${CONV}s, steady ${STEADY}s, recover ${RECOVER}s"
HOSTCLOCK_KERNELS=$kernels tests/integration/run.sh "${scs[@]}" | tee "$out/guests.log"
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
logs=$top/build/guest

# series MODE: "phase seconds-since-start offset_ns unc_ns" from its log
series() {
	awk -v m="$1" '
		$1 == "HCBENCH" && $2 == "mark" && $3 == m && $4 == "start" { t0 = $5 }
		$1 == "HCBENCH" && $2 == "mark" && $3 == m && $4 == "migration" { print "#migration", ($5 - t0) / 1e9 }
		$1 == "HCBENCH" && $2 == "sample" && $3 == m && t0 { print $4, ($5 - t0) / 1e9, $6, $7 }
	' "$logs/bench-$1-$kver.log" | tr -d '\r'
}
# A comparator sample whose own uncertainty is over 10 us (all its exchanges
# delayed: the host or the guest's vCPU was descheduled) says nothing about
# offsets of a microsecond: such samples are set aside in MODE-wide.dat,
# counted, and left out of every figure and plot.
unc_max=10000
for m in phc ntp phc2sys; do
	series "$m" | awk -v lim=$unc_max -v wide="$out/$m-wide.dat" \
		'/^#/ || $4 <= lim { print; next } { print >wide }' >"$out/$m.dat"
	touch "$out/$m-wide.dat"
done
wide() { wc -l <"$out/$1-wide.dat"; }
value() { tr -d '\r' <"$logs/bench-clock-$kver.log" | awk -v k="$1" '$1 == "HCBENCH" && $2 == "value" && $3 == k { print $4 }'; }
kv() { sed -n "s/.*$1=\([-0-9.]*\).*/\1/p" "$2" | head -n 1; }

# steady MODE: p50 p99 max |offset| (ns) and samples, of the steady phase
steady() {
	awk '$1 == "steady" { v = $3 < 0 ? -$3 : $3; print v }' "$out/$1.dat" | sort -n |
		awk '{ a[NR] = $1 }
		END {
			if (!NR) exit
			i50 = int(NR * 0.50 + 0.5); if (i50 < 1) i50 = 1
			i99 = int(NR * 0.99 + 0.5); if (i99 < 1) i99 = 1
			printf "%d %d %d %d\n", a[i50], a[i99], a[NR], NR
		}'
}
# settle MODE PHASES LIMIT_NS: seconds from the phase's start until |offset|
# stays under LIMIT_NS to the end of PHASES, and the largest |offset| in them
settle() {
	awk -v phases="$2" -v lim="$3" '
		/^#migration/ { mig = $2; next }
		index(" " phases " ", " " $1 " ") {
			v = $3 < 0 ? -$3 : $3
			n++
			if (v > max) max = v
			if (v >= lim) since = ""
			else if (since == "") since = $2
		}
		END {
			base = phases ~ /recover/ ? mig : 0
			if (!n || since == "") { printf "never %d\n", max; exit }
			printf "%.1f %d\n", (since > base ? since - base : 0), max
		}' "$out/$1.dat"
}
unc() {
	awk '$1 == "steady" { print $4 }' "$out/$1.dat" | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'
}

read -r phc_p50 phc_p99 phc_max phc_n <<<"$(steady phc)"
read -r ntp_p50 ntp_p99 ntp_max ntp_n <<<"$(steady ntp)"
read -r p2s_p50 p2s_p99 p2s_max p2s_n <<<"$(steady phc2sys)"
read -r phc_conv _ <<<"$(settle phc "conv steady" 10000)"
read -r ntp_conv _ <<<"$(settle ntp "conv steady" 10000)"
read -r p2s_conv _ <<<"$(settle phc2sys "conv steady" 10000)"
read -r phc_rec phc_rec_max <<<"$(settle phc recover 10000)"
read -r ntp_rec ntp_rec_max <<<"$(settle ntp recover 10000)"
read -r p2s_rec p2s_rec_max <<<"$(settle phc2sys recover 10000)"
phc_unc=$(unc phc)
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

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 != 0) printf "%.2f", a / b }'; }
ntp_vs_phc=$(ratio "$ntp_p99" "$phc_p99")
cost_ratio=$(ratio "$(cost syscall_ns_hostclock)" "$(cost syscall_ns_tsc)")

# row FIGURE VALUE UNIT TARGET TEST: TEST is an awk condition on v, or "-"
produced=0 missing=0 met=0 missed=0
table=$out/results.md
{
	echo "| figure | value | unit | target | met |"
	echo "| --- | --- | --- | --- | --- |"
} >"$table"
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
row "sync, chrony + hostclock PHC: p50 \|offset\|" "$phc_p50" ns "" -
row "sync, chrony + hostclock PHC: p99 \|offset\|" "$phc_p99" ns "< 1000" "v < 1000"
row "sync, chrony + hostclock PHC: max \|offset\|" "$phc_max" ns "" -
row "sync, chrony NTP baseline: p50 \|offset\|" "$ntp_p50" ns "" -
row "sync, chrony NTP baseline: p99 \|offset\|" "$ntp_p99" ns "" -
row "sync, chrony NTP baseline: max \|offset\|" "$ntp_max" ns "" -
row "sync, NTP p99 / hostclock p99" "$ntp_vs_phc" x ">= 50" "v >= 50"
row "sync, phc2sys + hostclock PHC: p50 \|offset\|" "$p2s_p50" ns "" -
row "sync, phc2sys + hostclock PHC: p99 \|offset\|" "$p2s_p99" ns "" -
row "sync, phc2sys + hostclock PHC: max \|offset\|" "$p2s_max" ns "" -
row "sync, steady-state samples (PHC / NTP / phc2sys)" "${phc_n:-}${phc_n:+ / }${ntp_n:-} / ${p2s_n:-}" samples "" -
row "comparator uncertainty, median (PHC run)" "$phc_unc" ns "" -
row "samples set aside, comparator uncertainty > 10 us (PHC / NTP / phc2sys)" "$(wide phc) / $(wide ntp) / $(wide phc2sys)" samples "" -
row "convergence from 1 s off to < 10 us, chrony + PHC" "$phc_conv" s "<= 10" "v <= 10"
row "convergence from 1 s off to < 10 us, NTP baseline" "$ntp_conv" s "" -
row "convergence from 1 s off to < 10 us, phc2sys" "$p2s_conv" s "" -
row "migration recovery to < 10 us, chrony + PHC" "$phc_rec" s "< 5" "v < 5"
row "migration recovery: max \|offset\|, chrony + PHC" "$phc_rec_max" ns "" -
row "migration recovery to < 10 us, NTP baseline (5 ms guest step only)" "$ntp_rec" s "" -
row "migration recovery: max \|offset\|, NTP baseline" "$ntp_rec_max" ns "" -
row "migration recovery to < 10 us, phc2sys" "$p2s_rec" s "" -
row "free-running MONOTONIC_RAW rate error, hostclock current" "$free_hc" ppb "\|v\| < 10" "(v < 0 ? -v : v) < 10"
row "free-running MONOTONIC_RAW rate error, tsc current" "$free_tsc" ppb "" -
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

mig=$(sed -n 's/^#migration //p' "$out/phc.dat")
abs_series() { awk -v p="$2" 'index(" " p " ", " " $1 " ") { v = $3 < 0 ? -$3 : $3; if (v < 1) v = 1; print $2, v }' "$out/$1.dat"; }
for m in phc ntp phc2sys; do
	abs_series "$m" "conv steady recover" >"$out/$m-abs.dat"
	abs_series "$m" conv >"$out/$m-conv.dat"
done
# histogram of steady |offset| in quarter decades
for m in phc ntp; do
	awk '$1 == "steady" { v = $3 < 0 ? -$3 : $3; if (v < 1) v = 1; b = int(log(v) / log(10) * 4); h[b]++ }
		END { for (b in h) print 10 ^ ((b + 0.5) / 4), h[b] }' "$out/$m.dat" | sort -g >"$out/$m-hist.dat"
done
gnuplot <<GP >"$out/gnuplot.log" 2>&1
set terminal png size 1000,560 font ",11"
set logscale y
set grid
set key top right
set xlabel 'seconds since the daemon started (guest CLOCK\_REALTIME set 1 s wrong at 0)'
set ylabel '|guest CLOCK\_REALTIME - host reference| (ns)'
set format y "10^{%L}"
set output "$out/offset.png"
set title "hostclock (chrony refclock PHC) vs NTP baseline (chrony, 1 s polls), QEMU TCG, $kver"
set arrow from ${mig:-0},1 to ${mig:-0},1e9 nohead dashtype 2 lc rgb "gray40"
set label "simulated migration" at ${mig:-0},3e8 right offset -1,0
plot "$out/phc-abs.dat" using 1:2 with lines lw 2 title "chrony + hostclock PHC", \
     "$out/ntp-abs.dat" using 1:2 with lines lw 2 title "chrony NTP baseline", \
     "$out/phc2sys-abs.dat" using 1:2 with lines lw 1 title "phc2sys + hostclock PHC"
unset arrow
unset label
set output "$out/convergence.png"
set title "convergence from 1 s wrong"
set xlabel "seconds since the daemon started"
plot "$out/phc-conv.dat" using 1:2 with linespoints lw 2 title "chrony + hostclock PHC", \
     "$out/ntp-conv.dat" using 1:2 with linespoints lw 2 title "chrony NTP baseline", \
     "$out/phc2sys-conv.dat" using 1:2 with linespoints lw 1 title "phc2sys + hostclock PHC", \
     10000 with lines dashtype 2 lc rgb "gray40" title "10 us"
set output "$out/histogram.png"
set title "steady-state |offset|, ${STEADY} s each"
set logscale x
set format x "10^{%L}"
unset logscale y
set format y "%g"
set xlabel '|guest CLOCK\_REALTIME - host reference| (ns)'
set ylabel "samples"
set style fill solid 0.5
plot "$out/phc-hist.dat" using 1:2 with boxes title "chrony + hostclock PHC", \
     "$out/ntp-hist.dat" using 1:2 with boxes title "chrony NTP baseline"
GP
for p in offset convergence histogram; do
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
	echo "Run $(cat "$out/run.txt" 2>/dev/null), guests $kver under QEMU TCG;"
	echo "phases: conv ${CONV} s, steady ${STEADY} s, recover ${RECOVER} s; free-running ${FREE} s per clocksource; targets met $met, missed $missed."
} >>"$table"
cat "$table"
echo "bench: table, data and plots in $out"
[ -n "$quick" ] && echo "(quick run: the figures are produced; their values are not meant to meet the targets)"
echo "$produced passed, $missing failed"
[ "$missing" -eq 0 ]
