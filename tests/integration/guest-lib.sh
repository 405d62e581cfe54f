# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest scenarios, sourced as /hc-lib.sh (busybox sh).
# Results go to the console as "HCTEST ok|fail|note ..." lines.

ok() { echo "HCTEST ok $*"; }
fail() { echo "HCTEST fail $*"; }
note() { echo "HCTEST note $*"; }

# check NAME COMMAND...: the command's status is the verdict; its output's
# tail is shown on failure. (Uses $name: scenarios keep their own names in
# other variables.)
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then ok "$name"; else fail "$name: $(echo "$out" | tail -n 3)"; fi
}

# field KEY TEXT: the integer after KEY= in TEXT
field() { echo "$2" | sed -n "s/.*$1=\([-0-9]*\).*/\1/p"; }
abs() { case $1 in -*) echo "${1#-}" ;; *) echo "$1" ;; esac; }
# within VALUE LIMIT: |VALUE| <= LIMIT, integers; an empty VALUE fails
within() { v=${1#-}; [ -n "$v" ] && [ "$v" -le "$2" ]; }

# an agent command through the comparator's channel
agent() { hc-compare --cmd "$*" >/dev/null; }

cs=/sys/devices/system/clocksource/clocksource0

# coldplug as udev would: modprobe every PCI and platform device's modalias
coldplug() {
	for m in /sys/bus/pci/devices/*/modalias /sys/bus/platform/devices/*/modalias; do
		modprobe -q "$(cat "$m")" 2>/dev/null
	done
}

# start_chronyd OUT: chronyd on /tmp/chrony.conf, in the foreground of its own
# process, its output in OUT; $chrony is its PID. chronyd wants a user
# database to drop privileges with, which the guests have not.
start_chronyd() {
	echo "root:x:0:0:root:/:/bin/sh" >/etc/passwd
	echo "root:x:0:" >/etc/group
	mkdir -p /tmp/chrony
	chronyd -d -f /tmp/chrony.conf -u root >"$1" 2>&1 &
	chrony=$!
}

# realtime_offset: reference - CLOCK_REALTIME (ns) by the comparator, or
# nothing when it could not measure within 10 us (every exchange delayed):
# such a measurement cannot judge a 10 us bound
realtime_offset() {
	_r=$(hc-compare --clock realtime -n 10)
	[ "$(field unc_ns "$_r")" -le 10000 ] 2>/dev/null && field offset_ns "$_r"
}

# one_second_behind: CLOCK_REALTIME set 1 s behind the reference, exactly
one_second_behind() {
	_o=$(field offset_ns "$(hc-compare --clock realtime -n 10)")
	hc-dev-check - shift $((_o - 1000000000)) >/dev/null
}

# find_ptp: $ptp is hostclock's first complete PTP clock, or empty. A
# clock counts once its instance's /dev/hostclockN exists (a sibling under
# the same device): the driver adds that only after ptp_clock_register()
# returned, and opening /dev/ptpN earlier meets a kernel race (see
# Documentation/driver.md#a-kernel-race-at-registration).
find_ptp() {
	ptp=
	for c in /sys/class/ptp/ptp*; do
		[ "$(cat "$c/clock_name" 2>/dev/null)" = hostclock ] || continue
		ls -d "$c"/device/misc/hostclock* >/dev/null 2>&1 || continue
		ptp=/dev/$(basename "$c")
		break
	done
}

# wait_readable SECONDS: until hostclock's PTP clock reads (pairing done);
# sets $ptp and $waited. Call it directly, not in $(...), to keep them.
wait_readable() {
	waited=0
	find_ptp
	until [ -n "$ptp" ] && hc-ptp-check "$ptp" get >/dev/null 2>&1 || [ $waited -ge "$1" ]; do
		sleep 1
		waited=$((waited + 1))
		find_ptp
	done
}

# make_current: the clocksource registers at the poll after pairing, a
# little after the PTP clock reads: wait for it, then select it. It is
# MUST_VERIFY: in high-resolution mode the kernel defers the switch until
# its watchdog has checked it (one to two 0.5 s rounds), so wait for that
# too (up to 10 s).
make_current() {
	i=0
	until grep -qw hostclock "$cs/available_clocksource" || [ $i -ge 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo hostclock >"$cs/current_clocksource"
	i=0
	until grep -qx hostclock "$cs/current_clocksource" || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# switch_away: make tsc current (or the best other clocksource, if tsc was
# marked unstable), which unpins the module: rmmod refuses while hostclock
# is current
switch_away() {
	echo tsc >"$cs/current_clocksource"
	grep -qx hostclock "$cs/current_clocksource" || return 0
	for c in $(cat "$cs/available_clocksource"); do
		[ "$c" = hostclock ] || { echo "$c" >"$cs/current_clocksource"; break; }
	done
	! grep -qx hostclock "$cs/current_clocksource"
}

# unload: switch away from hostclock, then rmmod
unload() { switch_away && rmmod hostclock; }

# rmmod_refused: rmmod while hostclock is current fails with EBUSY (busybox
# says "Resource temporarily unavailable" for EWOULDBLOCK) and leaves the
# module loaded and hostclock current
rmmod_refused() {
	_out=$(rmmod hostclock 2>&1) && { echo "rmmod succeeded"; return 1; }
	echo "$_out"
	echo "$_out" | grep -qiE 'busy|temporarily unavailable|in use' &&
		[ -d /sys/module/hostclock ] && grep -qx hostclock "$cs/current_clocksource"
}
