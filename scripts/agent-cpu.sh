#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# CPU used by an idle hostclockd: starts one in the foreground on a private
# region, reads utime + stime from /proc/PID/stat after a 2 s warm-up and
# again SECONDS later, prints the share of one core, stops the agent.
#
# usage: scripts/agent-cpu.sh [MODE [SECONDS]]   (default: pairing 60)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-pairing}
secs=${2:-60}
dir=$(mktemp -d /tmp/hostclock-cpu.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

make -s -C "$top" tools
"$top/build/tools/hostclockd" --region "$dir/region" --tsc "$mode" \
	--foreground --log-level warning &
pid=$!
sleep 2
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
a=$(ticks)
t0=$(date +%s.%N)
sleep "$secs"
b=$(ticks)
t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
awk -v m="$mode" -v d=$((b - a)) -v hz="$hz" -v t0="$t0" -v t1="$t1" 'BEGIN {
	cpu = d / hz; wall = t1 - t0
	printf "hostclockd --tsc %s: %.2f s CPU in %.1f s = %.3f %% of a core (1/%d s ticks)\n",
		m, cpu, wall, 100 * cpu / wall, hz }'
