#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# CPU used by a hostclockd: starts one in the foreground on a private
# region, optionally with a hostile guest on it (tests/tools/hostile.c:
# flood, sly or scribble), reads the agent's run time from
# /proc/PID/schedstat (nanoseconds) 1 s plus WARMUP after the agent's start
# and again SECONDS later, prints the share of one core, stops both.
#
# usage: scripts/agent-cpu.sh [MODE [SECONDS [GUEST [WARMUP]]]]   (default: pairing 60)
#   WARMUP                seconds of the guest's before the measurement (1)
#   HOSTCLOCKD=PATH       another agent binary (to compare two side by side)
#   HOSTCLOCKD_ARGS=...   more agent options (--watch 10, say)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-pairing}
secs=${2:-60}
guest=${3:-}
warmup=${4:-1}
agent=${HOSTCLOCKD:-$top/build/tools/hostclockd}
dir=$(mktemp -d /tmp/hostclock-cpu.XXXXXX)
pid=
gpid=
cleanup() {
	[ -n "$gpid" ] && kill "$gpid" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

[ -n "${HOSTCLOCKD:-}" ] || make -s -C "$top" tools
# shellcheck disable=SC2086 # HOSTCLOCKD_ARGS is a list of options
"$agent" --region "$dir/region" --tsc "$mode" --foreground --log-level warning \
	${HOSTCLOCKD_ARGS:-} &
pid=$!
sleep 1
if [ -n "$guest" ]; then
	cc -O2 -Wall -D_GNU_SOURCE -I"$top/include" -o "$dir/hc-hostile" "$top/tests/tools/hostile.c"
	"$dir/hc-hostile" "$guest" "$dir/region" $((secs + warmup)) >"$dir/guest.out" &
	gpid=$!
fi
sleep "$warmup"
runtime() { cut -d' ' -f1 "/proc/$pid/schedstat"; }
a=$(runtime)
t0=$(date +%s.%N)
sleep "$secs"
b=$(runtime)
t1=$(date +%s.%N)
if [ -n "$gpid" ]; then
	wait "$gpid" || true
	gpid=
	echo "guest $guest: $(cat "$dir/guest.out")"
fi
awk -v m="$mode${guest:+, guest $guest}" -v d=$((b - a)) -v t0="$t0" -v t1="$t1" 'BEGIN {
	cpu = d / 1e9; wall = t1 - t0
	printf "hostclockd --tsc %s: %.3f s CPU in %.1f s = %.3f %% of a core\n",
		m, cpu, wall, 100 * cpu / wall }'
