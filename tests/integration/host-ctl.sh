#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What hc-compare-host runs for a guest's agent command: hostclockctl, plus
# two commands on the agent's life that the agent itself cannot serve:
#
#   agent-kill    SIGKILL the agent, as a crash: it writes nothing more
#   agent-start   start it again on the same region with the same options
#
# usage: host-ctl.sh --region REGION WORDS...
# run.sh keeps the agent's PID in REGION.pid and its arguments, one per
# line, in REGION.args, and exports HOSTCLOCKCTL and HOSTCLOCKD.

set -uo pipefail

[ $# -ge 3 ] && [ "$1" = --region ] || { echo "usage: host-ctl.sh --region REGION WORDS..." >&2; exit 2; }
region=$2
shift 2

case $1 in
agent-kill)
	pid=$(cat "$region.pid") || exit 1
	kill -KILL "$pid" 2>/dev/null || { echo "agent $pid was not running"; exit 1; }
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { echo "agent $pid killed"; exit 0; }
		sleep 0.1
	done
	echo "agent $pid did not die"
	exit 1
	;;
agent-start)
	mapfile -t args <"$region.args"
	"${HOSTCLOCKD:?}" "${args[@]}" </dev/null >/dev/null 2>>"$region.log" &
	echo $! >"$region.pid"
	for _ in $(seq 50); do
		"${HOSTCLOCKCTL:?}" --region "$region" state >/dev/null 2>&1 &&
			{ echo "agent $(cat "$region.pid") started"; exit 0; }
		sleep 0.1
	done
	echo "agent did not come up"
	exit 1
	;;
esac
exec "${HOSTCLOCKCTL:?}" --region "$region" "$@"
