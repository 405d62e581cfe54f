#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a guest under QEMU TCG with a time bound, console to a log file.
# QEMU is always stopped: by the guest powering off, by the time bound, or
# by this script's exit (also on interrupt).
#
# usage: scripts/qemu-run.sh KERNEL_DIR KVER INITRD LOG TIMEOUT_S [QEMU ARGS...]
#
# Migration (Documentation/migration.md is the runbook these steps follow):
# with HOSTCLOCK_QEMU_MIGRATE=yes and HOSTCLOCK_QEMU_STATE=PATH, each QEMU
# gets a monitor on the FIFOs PATH-qN.mon.in/.out. Each time the guest
# prints "HCTEST qemu: migrate" (live) or "HCTEST qemu: restore", the VM
# moves to a new QEMU on the other host side: the first side's QEMU has
# this script's arguments, the second's end with HOSTCLOCK_QEMU_DST_ARGS
# (its devices; the same as the first's by default), and moves alternate
# between them. Live, over the unix socket PATH.sock; restore, through the
# file PATH.state after HOSTCLOCK_QEMU_RESTORE_WAIT seconds (default 0).
# The new QEMU starts paused (-S); once the count printed by
# HOSTCLOCK_QEMU_OVERWRITES_1 (first side) or _2 (second) has grown (the
# side's agent adopted the region the move copied), it is resumed (cont).
# The consoles all go to LOG.
#
# The machine RAM is always an explicit backend declared before any other
# memory backend: QEMU 10.0 and 11.1 under TCG abort a migration whose
# ivshmem backend was allocated ahead of the RAM (testing.md).

set -uo pipefail

kdir=${1:?}; kver=${2:?}; initrd=${3:?}; log=${4:?}; limit=${5:?}
shift 5

qemu=qemu-system-x86_64
command -v "$qemu" >/dev/null || { echo "qemu-run.sh: $qemu missing; run scripts/install-deps.sh qemu" >&2; exit 1; }

nic=(-nic none)
case " $* " in *" -nic "*|*" -netdev "*) nic=() ;; esac

# the guest kernel's command line beyond the console: tsc=reliable unless
# the caller says otherwise (see below)
cmdline=${HOSTCLOCK_GUEST_CMDLINE-tsc=reliable}

migrate=${HOSTCLOCK_QEMU_MIGRATE:-}
state=${HOSTCLOCK_QEMU_STATE:-}
case $migrate in
'') ;;
yes) [ -n "$state" ] || { echo "qemu-run.sh: HOSTCLOCK_QEMU_STATE is not set" >&2; exit 1; } ;;
*) echo "qemu-run.sh: HOSTCLOCK_QEMU_MIGRATE is yes or empty, not '$migrate'" >&2; exit 1 ;;
esac
mem=512M
ram=(-m "$mem" -object "memory-backend-ram,id=pcram,size=$mem" -machine memory-backend=pcram)

# mon_open NAME: FIFOs for the monitor of the QEMU called NAME (q1, q2, ...)
mon_open() {
	rm -f "$state-$1.mon.in" "$state-$1.mon.out" "$state-$1.mon.log"
	mkfifo "$state-$1.mon.in" "$state-$1.mon.out" || exit 1
}
mon_args() { echo -chardev "pipe,id=hcmon,path=$state-$1.mon" -mon chardev=hcmon,mode=readline; }

# start_qemu NAME [EXTRA ARGS...]: one QEMU, console appended to the log;
# its PID in $pid, its monitor (when migrating) read into $state-NAME.mon.log
start_qemu() {
	local name=$1
	shift
	# shellcheck disable=SC2046 # one word per argument
	"$qemu" -accel tcg -cpu max -smp 2 "${ram[@]}" -nographic -no-reboot "${nic[@]}" \
		-kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 $cmdline" \
		${migrate:+$(mon_args "$name")} "$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	qpid[$name]=$pid
	if [ -n "$migrate" ]; then
		cat "$state-$name.mon.out" >>"$state-$name.mon.log" &
	fi
}
# our jobs still running: no PID of one already reaped, which may be reused
stop_all() {
	local jobs
	jobs=$(jobs -p)
	# shellcheck disable=SC2086 # one word per PID
	[ -z "$jobs" ] || { kill $jobs 2>/dev/null; wait $jobs 2>/dev/null; }
	[ -z "$migrate" ] || rm -f "$state.state" "$state.sock"	# the whole guest's RAM
}
# monitor NAME COMMAND: a monitor command; a QEMU that died leaves the FIFO
# without a reader: never wait for one
monitor() {
	local name=$1
	shift
	timeout 5 sh -c 'echo "$1" >"$2"' monitor "$*" "$state-$name.mon.in"
}
# await NAME PATTERN SECONDS COMMAND: repeat the monitor command every 0.2 s
# until its log shows PATTERN (extended, case-insensitive) after this call,
# for at most SECONDS and while that QEMU runs; the matching line in $awaited
await() {
	local name=$1 pattern=$2 end=$((SECONDS + $3)) from
	shift 3
	from=$(wc -l <"$state-$name.mon.log")
	while [ $SECONDS -lt $end ] && kill -0 "${qpid[$name]}" 2>/dev/null; do
		monitor "$name" "$@"
		sleep 0.2
		awaited=$(tail -n +"$((from + 1))" "$state-$name.mon.log" | grep -iE "$pattern" | head -n 1)
		[ -n "$awaited" ] && return 0
	done
	kill -0 "${qpid[$name]}" 2>/dev/null || echo "qemu-run.sh: $name exited" >&2
	echo "qemu-run.sh: $name: no '$pattern' after '$*':" >&2
	tail -n 5 "$state-$name.mon.log" >&2
	return 1
}

# overwrites_cmd SIDE: the command that prints that side's adoption count
overwrites_cmd() {
	local var=HOSTCLOCK_QEMU_OVERWRITES_$1
	echo "${!var:-}"
}
# overwrites SIDE: the count of adoptions by that side's agent, or nothing
overwrites() {
	local cmd
	cmd=$(overwrites_cmd "$1")
	[ -n "$cmd" ] && sh -c "$cmd" 2>/dev/null
}

# move KIND: the runbook's steps (Documentation/migration.md): the
# destination paused (-S), the source's state sent to it (live) or saved
# and loaded (restore), the source stopped, the destination agent's
# region taken back from the copy, then cont
move() {
	local kind=$1 src=$pid from=q$qemus to=q$((qemus + 1)) i t0 t1 t2 before
	local args=("${qemu_args[@]}")
	side=$((3 - side))
	[ "$side" = 2 ] && args=("${dst_args[@]}")
	qemus=$((qemus + 1))
	before=$(overwrites "$side")
	t0=$(date +%s%N)
	mon_open "$to"
	if [ "$kind" = migrate ]; then
		rm -f "$state.sock"
		start_qemu "$to" "${args[@]}" -S -incoming "unix:$state.sock"
		for i in $(seq 100); do
			[ -S "$state.sock" ] && break
			sleep 0.1
		done
		monitor "$from" "migrate -d unix:$state.sock"
	else
		rm -f "$state.state"
		monitor "$from" "migrate -d file:$state.state"
	fi
	await "$from" "status: *(completed|failed)" 120 "info migrate" || return 1
	case $awaited in *ompleted*) ;; *) echo "qemu-run.sh: $awaited" >&2; return 1 ;; esac
	monitor "$from" quit
	# bounded: a source that does not quit is stopped
	for i in $(seq 100); do
		kill -0 "$src" 2>/dev/null || break
		sleep 0.1
	done
	kill "$src" 2>/dev/null
	wait "$src" 2>/dev/null
	t1=$(date +%s%N)
	if [ "$kind" = restore ]; then
		sleep "${HOSTCLOCK_QEMU_RESTORE_WAIT:-0}"
		start_qemu "$to" "${args[@]}" -S -incoming "file:$state.state"
	fi
	# loaded: paused, no longer "inmigrate"
	await "$to" "VM status: paused.?$" 120 "info status" || return 1
	if [ -n "$(overwrites_cmd "$side")" ]; then
		for i in $(seq 50); do
			[ "$(overwrites "$side")" -gt "$before" ] 2>/dev/null && break
			sleep 0.1
		done
		[ "$(overwrites "$side")" -gt "$before" ] 2>/dev/null || {
			echo "qemu-run.sh: the destination agent did not take its region back within 5 s" \
				"(overwrites ${before:-unknown} before the move, $(overwrites "$side") now)" >&2
			return 1
		}
	fi
	t2=$(date +%s%N)
	monitor "$to" cont
	echo "HCTEST host: $kind to side $side: source stopped after $(((t1 - t0) / 1000000)) ms," \
		"destination resumed $(((t2 - t1) / 1000000)) ms later" >>"$log"
}

qemu_args=("$@")
if [ -n "${HOSTCLOCK_QEMU_DST_ARGS+set}" ]; then
	read -ra dst_args <<<"$HOSTCLOCK_QEMU_DST_ARGS"
else
	dst_args=("${qemu_args[@]}")
fi
declare -A qpid
qemus=1 side=1
: >"$log"
[ -z "$migrate" ] || mon_open q1
start_qemu q1 "${qemu_args[@]}"
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

moves=0
# the bound counts the moves too
while kill -0 "$pid" 2>/dev/null; do
	if [ "$SECONDS" -ge "$limit" ]; then
		echo "qemu-run.sh: guest still running after ${limit}s, stopping it" >&2
		kill "$pid" 2>/dev/null
		sleep 1
		kill -9 "$pid" 2>/dev/null
		break
	fi
	if [ -n "$migrate" ]; then
		kind=$(sed -n 's/^HCTEST qemu: \(migrate\|restore\)\r\{0,1\}$/\1/p' "$log" |
		       sed -n "$((moves + 1))p")
		if [ -n "$kind" ]; then
			moves=$((moves + 1))
			move "$kind" || { echo "qemu-run.sh: move $moves ($kind) failed" >&2; exit 1; }
			continue
		fi
	fi
	sleep 1
done
wait "$pid" 2>/dev/null
grep -q '^HCTEST done' "$log"
