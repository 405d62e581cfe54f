#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the test guests: set up a minimal system, run /scenario.sh, report
# the kernel log's health, and power off. Results go to the serial console
# as "HCTEST ok NAME" / "HCTEST fail NAME: WHY" lines, then "HCTEST done".

/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

echo "HCTEST kernel $(uname -r)"
# a preemption model asked for on the command line must be the one in force
want=$(sed -n 's/.*preempt=\([a-z]*\).*/\1/p' /proc/cmdline)
if [ -n "$want" ]; then
	mode=$(cat /sys/kernel/debug/sched/preempt 2>/dev/null)
	case $mode in
	*"($want)"*) echo "HCTEST ok preemption model is $want ($mode)" ;;
	*) echo "HCTEST fail preemption model: asked $want, kernel says '$mode'" ;;
	esac
fi
sh /scenario.sh

# Any of these in the kernel log is a failure of whatever the scenario did.
bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|soft lockup|hard LOCKUP|general protection' | head -n 5)
if [ -n "$bad" ]; then
	echo "HCTEST fail dmesg clean: $bad"
	dmesg | tail -n 60
else
	echo "HCTEST ok dmesg has no WARN/BUG/Oops"
fi
echo "HCTEST done"
poweroff -f
