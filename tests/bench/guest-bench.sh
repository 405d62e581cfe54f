# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench` (scripts/bench.sh writes the first lines: MODE,
# CONV, NTP_CONV, STEADY_N, EVERY_MS, RECOVER, FREE, COST_N). Prints lines
# that scripts/bench.sh reads from the console log:
#
#   HCBENCH sample SETUP PHASE mono_ns=M offset_ns=O unc_ns=U ref_ns=R
#           guest CLOCK_REALTIME against the agent's reference, by the
#           comparator (not hostclock): hc-compare's line
#   HCBENCH mark SETUP NAME MONO_NS      a phase starts
#   HCBENCH value NAME VALUE             a single figure
#
# MODE phc:     chronyd on hostclock's PHC (driver.md's recommended lines,
#               step_on_disruption on, both hosts synchronized), setups
#               phc-tsc and phc-hostclock: tsc or hostclock the current
#               clocksource
# MODE phc2sys: phc2sys -s PHC -c CLOCK_REALTIME -O 0 -R 4 under a loop that
#               restarts it a second after it exits (driver.md), setups
#               p2s-tsc and p2s-hostclock
# MODE ntp:     setup ntp: a guest without hostclock, tsc current, chronyd
#               polling a chronyd on the host (10.0.2.2, QEMU user
#               networking to the host's loopback) 4 times a second, as
#               often as chrony reads the PHC (dpoll -2)
# MODE clock:   no daemon: free-running rate and read costs
#
# Each setup: CLOCK_REALTIME set 1 s behind, the daemon started, phase conv
# (CONV s, NTP_CONV for ntp), phase steady (STEADY_N samples), then a real
# live migration (phase migrate, RECOVER s) and a snapshot restore (phase
# restore, RECOVER s), both run by scripts/qemu-run.sh when this guest
# prints "HCTEST qemu: migrate|restore". Samples every EVERY_MS in every
# phase, so that the phases' percentiles weigh time alike.

. /hc-lib.sh

# sample SETUP PHASE hc-compare-args...: one line per measurement, also
# kept in /tmp/trace
sample() {
	_s=$1 _p=$2
	shift 2
	hc-compare --clock realtime -n 20 --every "$EVERY_MS" "$@" 2>/dev/null | tee /tmp/trace |
		sed -n "s/^mono_ns=/HCBENCH sample $_s $_p mono_ns=/p"
}
mark() { echo "HCBENCH mark $1 $2 $(field mono_ns "$(hc-compare --clock realtime -n 2)")"; }
# median: the middle (the lower of two) of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

# moved SETUP KIND: KIND (migrate or restore) while sampling RECOVER s
moved() {
	mark "$1" "$2"
	sample "$1" "$2" --for "$RECOVER" &
	_smp=$!
	sleep 2
	echo "HCTEST qemu: $2"
	wait $_smp
	# a stop, as bench.sh looks for it: the reference ran on > 50 ms more
	# than CLOCK_MONOTONIC between two samples (bench.sh takes the largest)
	check "$1 $2: the VM stopped within the trace" awk '
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		n++ && (v["ref_ns"] - r) - (v["mono_ns"] - m) > 50e6 { seen = 1 }
		{ r = v["ref_ns"]; m = v["mono_ns"] }
		END { exit !seen }' /tmp/trace
	_d=/sys/class/misc/hostclock0
	[ -d $_d ] && note "$1 $2: disruptions $(cat $_d/disruptions), steps $(cat $_d/disruption_steps), dropped $(cat $_d/steps_dropped), last step residual $(cat $_d/last_step_residual_ns) ns"
}

daemon_start() {
	case $1 in
	phc-*)
		start_chronyd_recommended /tmp/daemon-$1.out
		daemon=$chrony daemon_name=chronyd
		;;
	p2s-*)
		# driver.md: under a supervisor that restarts it after a second
		(
			while [ ! -e /tmp/daemon-stop ]; do
				phc2sys -s "$ptp" -c CLOCK_REALTIME -O 0 -R 4
				echo "phc2sys exited with status $?"
				sleep 1
			done
		) >/tmp/daemon-$1.out 2>&1 &
		daemon=$! daemon_name=phc2sys
		;;
	ntp)
		cat >/tmp/chrony.conf <<CONF
server 10.0.2.2 port 11123 iburst minpoll -2 maxpoll -2
makestep 0.1 -1
pidfile /tmp/chronyd.pid
cmdport 0
CONF
		start_chronyd /tmp/daemon-$1.out
		daemon=$chrony daemon_name=chronyd
		;;
	esac
}

# the daemon runs (phc2sys may be in its supervisor's second of pause)
daemon_alive() {
	pidof "$daemon_name" >/dev/null || { sleep 1.5; pidof "$daemon_name" >/dev/null; }
}

daemon_stop() {
	touch /tmp/daemon-stop
	kill "$daemon" 2>/dev/null
	killall phc2sys chronyd 2>/dev/null
	wait "$daemon" 2>/dev/null
	rm -f /tmp/daemon-stop
}

# run SETUP CLOCKSOURCE CONV_S
run() {
	echo "$2" >"$cs/current_clocksource"
	check "$1: $2 current" grep -qx "$2" "$cs/current_clocksource"
	# every setup from the same start: the frequency the previous daemon
	# left in the kernel reset
	check "$1: kernel frequency reset" adjtimex -f 0
	one_second_behind
	mark "$1" start
	daemon_start "$1"
	sample "$1" conv --for "$3"
	mark "$1" steady
	sample "$1" steady --repeat "$STEADY_N"
	moved "$1" migrate
	moved "$1" restore
	check "$1: the daemon ran to the end" daemon_alive
	daemon_stop
	grep -iE "fail|error|could not|exited" "/tmp/daemon-$1.out" | head -n 3 | sed "s/^/HCTEST note $1 daemon: /"
}

case $MODE in
ntp)
	modprobe e1000
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 &&
		ip route add default via 10.0.2.2
	check "network to the host's chronyd up" ip addr show eth0
	check "hostclock not loaded (the baseline is a guest without it)" test ! -d /sys/module/hostclock
	run ntp tsc "$NTP_CONV"
	;;
phc|phc2sys)
	# hosts disciplined by NTP: both sides' pages say synchronized, with a
	# maximum error the driver steps under (the destination's through
	# bench.sh's hostclock-migrate-dst header)
	agent status synchronized
	agent maxerror 100000
	modprobe hostclock step_on_disruption=1
	wait_readable 60
	make_current
	pre=$MODE
	[ "$MODE" = phc2sys ] && pre=p2s
	run "$pre-tsc" tsc "$CONV"
	run "$pre-hostclock" hostclock "$CONV"
	check "module unloads" unload
	;;
clock)
	modprobe hostclock
	wait_readable 60
	make_current
	for c in hostclock tsc; do
		echo $c >"$cs/current_clocksource"
		r=$(hc-compare --clock raw -n 10 --repeat $((FREE / 2)) --every 2000)
		echo "HCBENCH value free_rate_ppb_$c $(echo "$r" | sed -n 's/^rate_ppb=//p')"
		r=$(hc-readcost "$ptp" "$COST_N" 5)
		for k in vdso_ns syscall_ns precise_ns extended25_ns; do
			echo "HCBENCH value cost_${k}_$c $(echo "$r" | sed -n "s/.*$k=\([0-9.]*\).*/\1/p")"
		done
		# the comparator's own resolution with this clocksource
		r=$(hc-compare --clock realtime -n 20 --repeat 20 --every 100 |
			sed -n 's/.*unc_ns=\([0-9]*\).*/\1/p' | median)
		echo "HCBENCH value compare_unc_ns_$c $r"
	done
	# what a system-call read does to the comparator, with tsc current:
	# the same clock measured through the system call between two vDSO
	# measurements (their mean cancels the clock's drift meanwhile)
	i=0
	while [ $i -lt 15 ]; do
		a=$(hc-compare --clock realtime -n 20)
		b=$(hc-compare --clock realtime -n 20 --syscall)
		c=$(hc-compare --clock realtime -n 20)
		echo "$(field offset_ns "$a") $(field offset_ns "$b") $(field offset_ns "$c") $(field unc_ns "$b")"
		i=$((i + 1))
	done >/tmp/syscall-bias
	echo "HCBENCH value syscall_bias_ns_tsc $(awk 'NF == 4 { printf "%.0f\n", $2 - ($1 + $3) / 2 }' /tmp/syscall-bias | median)"
	echo "HCBENCH value syscall_unc_ns_tsc $(awk 'NF == 4 { print $4 }' /tmp/syscall-bias | median)"
	# the PTP clock itself against the reference: the median offset and
	# uncertainty of 21 measurements (a system call per read)
	r=$(hc-compare --clock "$ptp" -n 20 --repeat 21 --every 100)
	for k in offset_ns unc_ns; do
		echo "HCBENCH value phc_${k}_median $(echo "$r" | sed -n "s/.* $k=\(-\{0,1\}[0-9]*\).*/\1/p" | median)"
	done
	check "clock figures printed" true
	check "module unloads" unload
	;;
esac
