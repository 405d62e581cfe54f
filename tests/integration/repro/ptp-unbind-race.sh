#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reproducer of an open defect (not part of `make test`):
#
#   tests/integration/run.sh tests/integration/repro/ptp-unbind-race.sh
#
# On Debian's 6.1 kernel, unbinding the PCI device while another process
# keeps opening and reading /dev/ptpN, rebinding it, and then unloading the
# module sometimes gives "refcount_t: underflow; use-after-free" with a
# WARNING in ptp_clock_unregister() <- hostclock_dev_destroy() at rmmod. Seen
# in 2 of about 10 runs of this sequence on 6.1; never on 6.12; not without
# the concurrent reader, and not with the reader but no unbind/rebind. The
# cause is not found yet: hostclock calls ptp_clock_unregister() once per
# instance, and the PTP core is meant to let open files outlive it. Note
# that the guest runs Debian's 6.1.176 while linux-source-6.1 (what was read
# to look for the cause) is 6.1.192: their PTP cores may differ. The guest
# init reports the WARNING as a failure.

. /hc-lib.sh

for round in 1 2 3 4; do
	modprobe hostclock
	wait_readable 30
	make_current
	bdf=$(basename "$(ls -d /sys/bus/pci/drivers/hostclock/0000:* | head -n 1)")
	(while :; do hc-ptp-check "$ptp" get >/dev/null 2>&1; done) &
	reader=$!
	echo "$bdf" >/sys/bus/pci/drivers/hostclock/unbind
	sleep 0.2
	echo "$bdf" >/sys/bus/pci/drivers/hostclock/bind
	kill "$reader"
	wait "$reader" 2>/dev/null
	wait_readable 30
	make_current
	hc-ptp-check "$ptp" precise >/dev/null
	check "round $round: rmmod" rmmod hostclock
done
dmesg | grep -A24 "WARNING" | grep -E "WARNING|refcount|ptp_clock_unregister|hostclock_" |
	sed 's/^/HCTEST note kernel: /' | head -n 8
