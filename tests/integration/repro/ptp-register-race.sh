#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reproducer of a kernel race, not part of `make test`:
#
#   tests/integration/run.sh tests/integration/repro/ptp-register-race.sh
#
# posix_clock_register() makes /dev/ptpN live (cdev_device_add()) before it
# sets clk->dev, so an open in between takes no device reference and its
# close drops one it never had. Here one process opens and closes /dev/ptp0
# as fast as it can while `modprobe hostclock` registers the clock, six
# times; a kprobe counts get_device(NULL) calls and keeps their stacks.
# Fails when the race shows: the analysis is in Documentation/driver.md
# ("A kernel race at registration").

. /hc-lib.sh

T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null
echo 'p:hcnull get_device dev=%di:x64' >>$T/kprobe_events &&
	echo 'dev == 0' >$T/events/kprobes/hcnull/filter &&
	echo 1 >$T/options/stacktrace &&
	echo 1 >$T/events/kprobes/hcnull/enable ||
	note "no kprobe on get_device: the NULL count below means nothing"

for round in 1 2 3 4 5 6; do
	hc-ptp-check /dev/ptp0 churn 4 >/tmp/churn &
	opener=$!
	sleep 0.3
	modprobe hostclock
	wait "$opener"
	note "round $round: $(cat /tmp/churn)"
	wait_readable 30
	check "round $round: rmmod" rmmod hostclock
done
echo 0 >$T/events/kprobes/hcnull/enable 2>/dev/null
n=$(grep -c 'hcnull:' $T/trace 2>/dev/null)
grep -A6 'hcnull:' $T/trace 2>/dev/null | grep '=>' | head -n 5 |
	sed 's/^/HCTEST note get_device(NULL) from: /'
check "no open met a half-registered clock (get_device(NULL) ${n:-?} times)" test "${n:-1}" = 0
