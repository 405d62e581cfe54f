#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: hostclock end to end, live. Installs what is missing, starts
# hostclockd on a fresh region and a QEMU guest (Debian 6.12, TCG) with
# hostclock.ko, and shows what happens in the guest as it happens: the
# module binding, pairing, the clocksource switch, chrony converging from
# 1 s off on hostclock's PTP clock, the sysfs counters, then a real live
# migration to a second QEMU with another agent (Documentation/migration.md)
# and the recovery. Everything it starts is stopped at the end,
# also on Ctrl-C.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kernels=${HOSTCLOCK_KERNELS:-6.12}

say() { printf '\n== %s\n' "$*"; }

say "Installing what is missing (Debian packages only)"
scripts/install-deps.sh build qemu guest
say "Building hostclock.ko, the host agent and the test programs"
scripts/build-modules.sh | tail -n 1
make -s tools testbins

say "Starting two hostclockd (a source and a destination host side) and a QEMU guest (Linux $kernels under TCG); about a minute"
log=build/guest/guest-demo-live.out
rm -f build/guest/guest-demo-*-amd64.log
mkdir -p build/guest
: >"$log"
HOSTCLOCK_KERNELS=$kernels HOSTCLOCK_GUEST_TIMEOUT=240 \
	tests/integration/run.sh tests/integration/demo/guest-demo.sh >"$log" 2>&1 &
runner=$!
trap 'kill "$runner" 2>/dev/null; wait "$runner" 2>/dev/null' EXIT INT TERM

# stream the guest's DEMO lines while it runs
console=""
while kill -0 "$runner" 2>/dev/null; do
	[ -z "$console" ] && console=$(ls build/guest/guest-demo-*-amd64.log 2>/dev/null | head -n 1 || true)
	sleep 0.5
	[ -n "$console" ] && break
done
if [ -n "$console" ]; then
	tail -n +1 -f --pid="$runner" "$console" | sed -n 's/\r$//; s/^DEMO //p'
fi
wait "$runner" && rc=0 || rc=$?
trap - EXIT INT TERM
say "Done: QEMU, hostclockd and the comparator are stopped"
grep -E '^(ok|FAIL) ' "$log" || true
exit "$rc"
