# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest scenarios, sourced as /hc-lib.sh (busybox sh).
# Results go to the console as "HCTEST ok|fail|note ..." lines.

ok() { echo "HCTEST ok $*"; }
fail() { echo "HCTEST fail $*"; }
note() { echo "HCTEST note $*"; }

# check NAME COMMAND...: the command's status is the verdict; its output's
# tail is shown on failure. (Uses $name: scenarios keep their own names in
# other variables.) In a guest booted without tsc=reliable, a check that
# fails once the kernel has marked the TSC unstable cannot be judged:
# hostclock then serves no time by design; that is checked instead, and the
# scenario ends (tsc_unstable_end).
check() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	elif tsc_marked_unstable; then
		note "not judged: '$name' failed after the kernel marked the TSC unstable"
		tsc_unstable_end
	else
		fail "$name: $(echo "$out" | tail -n 3)"
	fi
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

# start_chronyd_recommended OUT: start_chronyd with driver.md's
# recommended refclock line on $ptp (poll 0 dpoll -2 prefer, makestep 0.1 3)
start_chronyd_recommended() {
	printf 'refclock PHC %s poll 0 dpoll -2 prefer\nmakestep 0.1 3\ncmdport 0\npidfile /tmp/chronyd.pid\n' \
		"$ptp" >/tmp/chrony.conf
	start_chronyd "$1"
}

# realtime_offset: reference - CLOCK_REALTIME (ns) by the comparator, or
# nothing when it could not measure within 10 us (every exchange delayed):
# such a measurement cannot judge a 10 us bound
realtime_offset() {
	_r=$(hc-compare --clock realtime -n 10)
	[ "$(field unc_ns "$_r")" -le 10000 ] 2>/dev/null && field offset_ns "$_r"
}

# offset_of CLOCK LIMIT: reference - CLOCK (ns) from a comparator
# measurement whose uncertainty is at most LIMIT ns, trying up to 10 times
# 0.2 s apart (a loaded host delays exchanges for a while: with two guests
# running at once here, 5 tries back to back all were over 10 us);
# nothing if none was that good
offset_of() {
	_n=0
	while [ $_n -lt 10 ]; do
		[ $_n -eq 0 ] || sleep 0.2
		_r=$(hc-compare --clock "$1" -n 20)
		if [ "$(field unc_ns "$_r")" -le "$2" ] 2>/dev/null; then
			field offset_ns "$_r"
			return 0
		fi
		_n=$((_n + 1))
	done
	return 1
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
	tsc_unstable_end
}

# tsc_marked_unstable: in the as-booted run of a scenario (run.sh puts
# hctest_as_booted on the command line), the kernel no longer trusts the
# TSC (its watchdog or boot-time checks). Every other guest, including the
# scenarios that test an unstable TSC on purpose, never takes this path.
tsc_marked_unstable() {
	grep -qw hctest_as_booted /proc/cmdline || return 1
	[ "$(cat /sys/class/misc/hostclock0/status 2>/dev/null)" = tsc-unstable ] ||
		dmesg | grep -qE "Marking clocksource 'tsc' as unstable|Marking TSC unstable"
}

# tsc_unstable_end: if the kernel marked the TSC unstable, hostclock serves
# no time (Documentation/driver.md): check that instead of what the
# scenario was for, and end it. Under TCG on a loaded host the kernel's
# watchdog does so at any moment, which is why check() comes here too.
tsc_unstable_end() {
	tsc_marked_unstable || return 0
	_why=$(dmesg | grep -E "Marking clocksource 'tsc' as unstable|Marking TSC unstable" | tail -n 1)
	echo "HCTEST ended-early the kernel marked the TSC unstable (${_why:-hostclock status tsc-unstable})"
	if [ -d /sys/class/misc/hostclock0 ]; then
		_i=0
		until [ "$(cat /sys/class/misc/hostclock0/status)" = tsc-unstable ] || [ $_i -ge 50 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		find_ptp
		if hc-ptp-check "$ptp" get 2>&1 | grep -q errno=ENODATA; then
			ok "TSC unstable: the PTP clock serves no time (ENODATA)"
		else
			fail "TSC unstable: the PTP clock still serves time ($(cat /sys/class/misc/hostclock0/status))"
		fi
	else
		note "TSC unstable with hostclock unloaded: nothing to check"
	fi
	# not 0: inside a command substitution this fails the command, and the
	# check() around it comes here again in the scenario's own shell
	exit 77
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

# converge LIMIT_S: seconds until |reference - CLOCK_REALTIME| stayed under
# 10 us for 5 s in a row, or -1 after LIMIT_S
converge() {
	_t=0 _run=0
	while [ $_t -lt "$1" ]; do
		sleep 1
		_t=$((_t + 1))
		_o=$(realtime_offset)
		if [ -n "$_o" ] && within "$_o" 10000; then
			_run=$((_run + 1))
			[ $_run -ge 5 ] && { echo $((_t - 4)); return; }
		else
			_run=0
		fi
	done
	echo -1
}

# moved KIND [SECONDS]: the guest asks the host to move its VM (run.sh's
# "hostclock-migrate: yes"; KIND migrate or restore) while the comparator
# traces reference - CLOCK_REALTIME about every 120 ms for SECONDS (default
# 20) and hostclock's uevents are kept in /tmp/move-uevents (each with its
# CLOCK_MONOTONIC), then reads both. Samples with an uncertainty over 10 us
# are left out (one whose exchange straddled the stop is among them).
# Sets:
#   moved_at     the first sample after the move (-1: no move seen)
#   resume_off   its offset, ns
#   recovery_ms  from the last sample before the move (an upper bound on
#                the time since the VM resumed) to the first of a run
#                within 10 us that lasts to the trace's end, at least 3 s;
#                -1 if none
#   good_ms      from that same sample to the status uevent saying
#                synchronized that followed the disruption uevent: the
#                guest has a good page again (-1: none)
#   settle_ms    from that uevent to the first sample of the final run
#                within 10 us (-1000000: none)
#   max_after    the largest |offset| from the move on, ns
#   overshoot    the largest |offset| after the first sample within 10 us
#                (over 10 us: it came back in and went out again), ns
moved() {
	hc-uevent $((${2:-20} + 10)) >/tmp/move-uevents &
	_ue=$!
	# --for: a failed measurement (up to 10 s) does not stretch the trace
	hc-compare --clock realtime -n 5 --repeat $((${2:-20} * 8)) --every 100 \
		--for $((${2:-20} + 10)) >/tmp/trace 2>/tmp/trace.err &
	_tr=$!
	sleep 2
	echo "HCTEST qemu: $1"
	wait $_tr
	kill $_ue 2>/dev/null
	wait $_ue 2>/dev/null
	_good=$(awk '/HOSTCLOCK_EVENT=disruption/ { d = 1 }
		d && /HOSTCLOCK_EVENT=status HOSTCLOCK_STATUS=synchronized/ {
			sub(/.*mono_ns=/, ""); print; exit }' /tmp/move-uevents)
	set -- $(awk -v good="${_good:--1}" '
		function abs(x) { return x < 0 ? -x : x }
		!/mono_ns=/ { next }
		{ split("", v); for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		v["unc_ns"] == "" || v["unc_ns"] > 10000000 { next }
		{ n++; m[n] = v["mono_ns"]; o[n] = v["offset_ns"] + 0; u[n] = v["unc_ns"] + 0 }
		END {
			# the move: offsets more than 1 ms apart beyond both
			# uncertainties (a fast step can leave no sample within
			# 10 us in between). Within 10 us only by a sample within
			# 10 us; out by any sample whose |offset| minus its
			# uncertainty is over 10 us; other samples say nothing
			at = -1
			for (i = 2; i <= n; i++)
				if (abs(o[i] - o[i - 1]) > 1000000 + u[i] + u[i - 1]) { at = i; break }
			if (at < 0) { print -1, 0, -1, -1, -1000000, 0, 0; exit }
			last = 0
			for (i = n; i >= at && !last; i--) if (u[i] <= 10000) last = i
			fin = n + 1
			for (i = n; i >= at; i--) {
				if (abs(o[i]) - u[i] > 10000) break
				if (u[i] <= 10000) fin = i
			}
			rec = -1
			if (fin <= n && m[last] - m[fin] >= 3e9) rec = int((m[fin] - m[at - 1]) / 1e6)
			g = good < 0 ? -1 : int((good - m[at - 1]) / 1e6)
			st = good < 0 || rec < 0 ? -1000000 : int((m[fin] - good) / 1e6)
			mx = abs(o[at])
			for (i = at; i <= n; i++) if (u[i] <= 10000 && abs(o[i]) > mx) mx = abs(o[i])
			for (in10 = at; in10 <= n && (u[in10] > 10000 || abs(o[in10]) > 10000); in10++) ;
			ov = 0
			for (i = in10; i <= n; i++) {
				lo = u[i] <= 10000 ? abs(o[i]) : abs(o[i]) - u[i]
				if (lo > ov) ov = lo
			}
			printf "%d %.0f %d %d %d %.0f %.0f\n", at, o[at], rec, g, st, mx, ov
		}' /tmp/trace)
	moved_at=$1 resume_off=$2 recovery_ms=$3 good_ms=$4 settle_ms=$5 max_after=$6 overshoot=$7
	note "trace around the move (mono_ns offset_ns unc_ns ref_ns): $(awk -v a="$moved_at" \
		'/mono_ns=/ && NR >= a - 2 && NR <= a + 12 { gsub(/[a-z_]+=/, ""); printf "%s; ", $0 }' /tmp/trace)"
	[ "$moved_at" -gt 0 ] && return
	# no jump seen: what the trace held, and its samples around the good page
	note "trace: $(grep -c mono_ns= /tmp/trace) measurements, $(awk -F'unc_ns=' \
		'NF > 1 && $2 + 0 <= 10000 { n++ } END { print n + 0 }' /tmp/trace) within 10 us; $(grep -c 'no exchange' /tmp/trace.err) failed"
	[ -n "$_good" ] && note "trace around the good page at $_good: $(awk -v g="$_good" \
		'/mono_ns=/ { split($1, kv, "="); if (kv[2] > g - 2e9 && kv[2] < g + 1e9) {
			gsub(/[a-z_]+=/, ""); printf "%s; ", $0 } }' /tmp/trace)"
}

# moved_under_chrony KIND: the body of live-migration (KIND migrate) and
# snapshot-restore (restore, after run.sh's 5 s wait): chronyd on
# hostclock's PTP clock, hostclock current, step_on_disruption on, moved()
# and its checks; the scenario's header says where the VM goes
moved_under_chrony() {
	modprobe hostclock step_on_disruption=1
	wait_readable 30
	make_current
	check "hostclock current" grep -qx hostclock "$cs/current_clocksource"
	s=/sys/class/misc/hostclock0

	start_chronyd_recommended /tmp/chrony.out
	t0=$(converge 40)
	check "chrony within 10 us of the source's reference before the move (${t0}s)" test "$t0" -ge 0

	b_dis=$(cat $s/disruptions) b_steps=$(cat $s/disruption_steps)
	# 22 s: 2 s before, the move, up to the driver's 10 s wait for a good page, 3 s after
	moved "$1" 22
	note "the move: first offset after it $resume_off ns; from the last sample before it: good page after $good_ms ms, within 10 us for good after $recovery_ms ms; from the good page: $settle_ms ms; max |offset| from the move on $max_after ns (the stop, and the rate difference until the good page)"
	check "the trace saw the move" test "$moved_at" -gt 0
	[ "$1" = restore ] &&
		check "CLOCK_REALTIME started behind by the wait and the save and load (5 to 15 s: $resume_off ns)" \
			test "$resume_off" -ge 5000000000 -a "$resume_off" -le 15000000000
	check "a good page again after the disruption (status uevent synchronized, $good_ms ms after the last sample before the move)" \
		test "$good_ms" -ge 0
	check "CLOCK_REALTIME within 10 us of the destination's reference for good within 1 s of the good page ($settle_ms ms)" \
		test "$settle_ms" -gt -1000000 -a "$settle_ms" -lt 1000
	check "no overshoot: once within 10 us, it stayed within 10 us (largest |offset| after: $overshoot ns)" \
		test "$overshoot" -le 10000

	r=$(hc-compare --clock raw -n 20 --repeat 9 --every 500 | sed -n 's/^rate_ppb=//p')
	note "destination reference - CLOCK_MONOTONIC_RAW: $r ppb"
	check "MONOTONIC_RAW runs at the destination's rate within 1 ppm ($r ppb)" within "${r%.*}" 1000

	note "counters: disruptions $b_dis -> $(cat $s/disruptions), disruption_steps $b_steps -> $(cat $s/disruption_steps), status $(cat $s/status)"
	check "one disruption, one step" test \
		"$(( $(cat $s/disruptions) - b_dis )) $(( $(cat $s/disruption_steps) - b_steps ))" = "1 1"
	check "one disruption uevent" test "$(grep -c "HOSTCLOCK_EVENT=disruption" /tmp/move-uevents)" = 1
	check "chronyd still running" kill -0 "$chrony"
	kill "$chrony"
	wait "$chrony" 2>/dev/null
	dmesg | grep -E "hostclock0: (disruption|clock)" | tail -n 4 | sed "s/^/HCTEST note dmesg: /"
}
