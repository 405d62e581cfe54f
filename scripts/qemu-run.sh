#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a guest under QEMU TCG with a time bound, console to a log file.
# QEMU is always stopped: by the guest powering off, by the time bound, or
# by this script's exit (also on interrupt).
#
# usage: scripts/qemu-run.sh KERNEL_DIR KVER INITRD LOG TIMEOUT_S [QEMU ARGS...]
#
# Snapshot restore: with HOSTCLOCK_QEMU_RESTORE=PATH, QEMU gets a monitor on
# the FIFOs PATH.mon.in/.out. When the guest prints "HCTEST qemu: restore",
# the VM is migrated to the file PATH.state, that QEMU quits, and a new one
# with the same arguments resumes it from the file (-incoming), as a
# snapshot restore or a migration would; its console goes on in LOG.
#
# tsc=reliable (the default of HOSTCLOCK_GUEST_CMDLINE, which replaces it):
# under TCG every vCPU reads the host's TSC plus one offset,
# so the guest TSC is synchronized and constant, but the clocksource
# watchdog, comparing it with an emulated HPET that lags under load, marks
# it unstable and leaves the guest on hpet. A KVM guest on a modern host
# keeps tsc; the tests need tsc available to switch to and from.

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

restore=${HOSTCLOCK_QEMU_RESTORE:-}
mon=()
if [ -n "$restore" ]; then
	rm -f "$restore.mon.in" "$restore.mon.out" "$restore.state" "$restore.mon.log"
	mkfifo "$restore.mon.in" "$restore.mon.out" || exit 1
	mon=(-chardev "pipe,id=hcmon,path=$restore.mon" -mon chardev=hcmon,mode=readline)
fi

# start_qemu [EXTRA ARGS...]: one QEMU, console appended to the log
start_qemu() {
	"$qemu" -accel tcg -cpu max -smp 2 -m 512 -nographic -no-reboot "${nic[@]}" \
		-kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 $cmdline" \
		"${mon[@]}" "${qemu_args[@]}" "$@" </dev/null >>"$log" 2>&1 &
	pid=$!
	if [ -n "$restore" ]; then
		cat "$restore.mon.out" >>"$restore.mon.log" &
		reader=$!
	fi
}
stop_all() {
	kill "$pid" ${reader:+"$reader"} 2>/dev/null
	wait "$pid" ${reader:+"$reader"} 2>/dev/null
}
# a QEMU that died leaves the FIFO without a reader: never wait for one
monitor() { timeout 5 sh -c 'echo "$1" >"$2"' monitor "$*" "$restore.mon.in"; }

# migrate_out: the running VM to $restore.state, then stop that QEMU
migrate_out() {
	local i
	monitor "migrate file:$restore.state"
	for i in $(seq 120); do
		sleep 0.5
		monitor "info migrate"
		grep -qiE "status: *completed" "$restore.mon.log" && break
		grep -qiE "status: *failed" "$restore.mon.log" && break
	done
	grep -qiE "status: *completed" "$restore.mon.log" || {
		echo "qemu-run.sh: migration to $restore.state did not complete:" >&2
		tail -n 5 "$restore.mon.log" >&2
		return 1
	}
	monitor quit
	wait "$pid" 2>/dev/null
	kill "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null
}

qemu_args=("$@")
: >"$log"
start_qemu
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

waited=0
restored=
while kill -0 "$pid" 2>/dev/null; do
	if [ "$waited" -ge "$limit" ]; then
		echo "qemu-run.sh: guest still running after ${limit}s, stopping it" >&2
		kill "$pid" 2>/dev/null
		sleep 1
		kill -9 "$pid" 2>/dev/null
		break
	fi
	if [ -n "$restore" ] && [ -z "$restored" ] && grep -q '^HCTEST qemu: restore' "$log"; then
		restored=1
		migrate_out || break
		echo "HCTEST host: VM saved to $(basename "$restore").state, resuming it in a new QEMU" >>"$log"
		start_qemu -incoming "file:$restore.state"
	fi
	sleep 1
	waited=$((waited + 1))
done
wait "$pid" 2>/dev/null
[ -z "$restore" ] || rm -f "$restore.state"	# the whole guest's RAM
grep -q '^HCTEST done' "$log"
