#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
# hostclock-migrate: yes
# hostclock-restore-wait: 5
# hostclock-migrate-dst: step 2000000; rate 20ppm; status synchronized; maxerror 100000
# hostclock-timeout: 180
#
# Guest side: a snapshot restore (Documentation/migration.md's runbook, run
# by scripts/qemu-run.sh): the VM saved to a file, 5 s of waiting, then
# restored into a QEMU whose devices are another host side's: its own agent,
# whose reference is 2 ms ahead of the source's and runs 20 ppm faster, as
# another host's TSC would. The restored guest's CLOCK_REALTIME starts as
# far behind as the VM was stopped (the wait and more). chronyd follows
# hostclock's PTP clock, hostclock current, step_on_disruption on. Once the
# guest has a good page again (the status uevent after the disruption),
# CLOCK_REALTIME must be within 10 us of the destination's reference within
# 1 s and stay there, with no overshoot (the time from resuming is
# measured and shown); CLOCK_MONOTONIC_RAW then runs at
# the destination's rate; one disruption, one step, one uevent.

. /hc-lib.sh

moved_under_chrony restore
