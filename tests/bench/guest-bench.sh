# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench` (scripts/bench.sh writes the first lines: MODE,
# CONV, STEADY, RECOVER, FREE, COST_N). Prints "HCBENCH" lines that
# scripts/bench.sh reads from the console log:
#
#   HCBENCH sample MODE PHASE MONO_NS OFFSET_NS UNC_NS   guest CLOCK_REALTIME
#           minus the agent's reference, by the comparator (not hostclock)
#   HCBENCH mark MODE NAME MONO_NS                       a phase starts
#   HCBENCH value NAME VALUE                             a single figure
#
# MODE phc:     chronyd with `refclock PHC` on hostclock (driver.md's lines)
# MODE phc2sys: phc2sys -s hostclock's PHC -c CLOCK_REALTIME -O 0
# MODE ntp:     chronyd polling a chronyd on the host (10.0.2.2, QEMU user
#               networking to the host's loopback) every second
# MODE clock:   no daemon: free-running rate and read costs
#
# Each daemon mode: CLOCK_REALTIME set 1 s behind, the daemon started
# (phase conv, CONV s), then phase steady (STEADY s), then a simulated
# migration and phase recover (RECOVER s).

. /hc-lib.sh

modprobe hostclock
wait_readable 60
make_current
check "hostclock current" grep -qx hostclock "$cs/current_clocksource"

# sample PHASE SECONDS: an offset every half second
sample() {
	end=$(( $(cut -d. -f1 /proc/uptime) + $2 ))
	while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		r=$(hc-compare --clock realtime -n 10)
		o=$(field offset_ns "$r")
		[ -n "$o" ] && echo "HCBENCH sample $MODE $1 $(field mono_ns "$r") $o $(field unc_ns "$r")"
		sleep 0.5
	done
}
mark() { echo "HCBENCH mark $MODE $1 $(field mono_ns "$(hc-compare --clock realtime -n 2)")"; }

# migration: what the reference does for hostclock; for NTP the reference
# (the host's clock, which chronyd serves) cannot be moved, so the guest's
# clock is stepped 5 ms instead, and the 100 ppm cannot be imitated
migrate() {
	case $MODE in
	ntp)	hc-dev-check - shift -5000000 >/dev/null ;;
	*)	agent step 5000000; agent rate 100ppm; agent disrupt ;;
	esac
}

run_daemon() {
	one_second_behind
	mark start
	case $MODE in
	phc)
		cat >/tmp/chrony.conf <<CONF
refclock PHC $ptp poll 0 dpoll -2 prefer
makestep 0.1 3
pidfile /tmp/chrony/chronyd.pid
cmdport 0
CONF
		start_chronyd /tmp/daemon.out
		;;
	phc2sys)
		phc2sys -s "$ptp" -c CLOCK_REALTIME -O 0 -R 4 >/tmp/daemon.out 2>&1 &
		;;
	ntp)
		cat >/tmp/chrony.conf <<CONF
server 10.0.2.2 port 11123 iburst minpoll 0 maxpoll 0
makestep 0.1 3
pidfile /tmp/chrony/chronyd.pid
cmdport 0
CONF
		start_chronyd /tmp/daemon.out
		;;
	esac
	daemon=$!
	sample conv "$CONV"
	mark steady
	sample steady "$STEADY"
	mark migration
	migrate
	sample recover "$RECOVER"
	kill "$daemon"
	wait "$daemon" 2>/dev/null
	[ "$MODE" = ntp ] || { agent rate 0; agent step -5000000; }
	check "$MODE: daemon ran to the end" true
	grep -iE "fail|error|could not" /tmp/daemon.out | head -n 3 | sed 's/^/HCTEST note daemon: /'
}

case $MODE in
ntp)
	modprobe e1000
	ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 &&
		ip route add default via 10.0.2.2
	check "network to the host's chronyd up" ip addr show eth0
	run_daemon
	;;
phc|phc2sys)
	run_daemon
	;;
clock)
	for c in hostclock tsc; do
		echo $c >"$cs/current_clocksource"
		r=$(hc-compare --clock raw -n 10 --repeat $((FREE / 2)) --every 2000)
		echo "HCBENCH value free_rate_ppb_$c $(echo "$r" | sed -n 's/^rate_ppb=//p')"
		r=$(hc-readcost "$ptp" "$COST_N" 5)
		for k in vdso_ns syscall_ns precise_ns extended25_ns; do
			echo "HCBENCH value cost_${k}_$c $(echo "$r" | sed -n "s/.*$k=\([0-9.]*\).*/\1/p")"
		done
	done
	echo hostclock >"$cs/current_clocksource"
	check "clock figures printed" true
	;;
esac
# hostclock pins itself while current: switch away first
check "module unloads" unload
