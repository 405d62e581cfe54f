#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The userspace reader, plain (hostclock_reader_now()) and cached
# (hostclock_reader_now_cached()), against clock_gettime(CLOCK_REALTIME) on
# this machine's CPU: a hostclockd in identity mode publishes a page on a
# private region (guest TSC = this CPU's TSC), tests/bench/reader-bench.c
# reads it and prints each one's ns/call and, for each reader, the median,
# smallest and largest of its per-round ratios to the vDSO, and the number
# of rounds. The agent is stopped on exit.
#
# usage: scripts/bench-reader.sh [N [ROUNDS]]   (N calls of each per round)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/hostclock-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

make -s -C "$top" tools "$top/build/bench/reader-bench"
"$top/build/tools/hostclockd" --region "$dir/region" --tsc identity --foreground \
	--log-level warning &
pid=$!
sleep 1
"$top/build/bench/reader-bench" "$dir/region" "$@"
