#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
#
# Guest side: hostclock.ko loads and unloads cleanly, repeatedly, and is the
# build this run made.

. /hc-lib.sh

want=$(cat /hostclock.version)
# what insmod cannot resolve by itself: ptp and pps_core where they are
# modules (5.10)
for dep in $(modinfo -F depends /hostclock.ko | tr , ' '); do
	check "dependency $dep loads" modprobe "$dep"
done
for i in 1 2 3; do
	if ! out=$(insmod /hostclock.ko 2>&1); then
		fail "load $i: insmod: $out"
		continue
	fi
	if [ -d /sys/module/hostclock ]; then
		ok "load $i"
	else
		fail "load $i: /sys/module/hostclock missing after insmod"
	fi
	got=$(cat /sys/module/hostclock/version 2>/dev/null)
	[ "$got" = "$want" ] && ok "version $i is $want" || fail "version $i: '$got', expected '$want'"
	if out=$(rmmod hostclock 2>&1) && [ ! -d /sys/module/hostclock ]; then
		ok "unload $i"
	else
		fail "unload $i: $out"
	fi
done
