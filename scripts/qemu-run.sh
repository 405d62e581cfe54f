#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a guest under QEMU TCG with a time bound, console to a log file.
# QEMU is always stopped: by the guest powering off, by the time bound, or
# by this script's exit (also on interrupt).
#
# usage: scripts/qemu-run.sh KERNEL_DIR KVER INITRD LOG TIMEOUT_S [QEMU ARGS...]
#
# tsc=reliable: under TCG every vCPU reads the host's TSC plus one offset,
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

"$qemu" -accel tcg -cpu max -smp 2 -m 512 -nographic -no-reboot "${nic[@]}" \
	-kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 tsc=reliable" \
	"$@" </dev/null >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT INT TERM

waited=0
while kill -0 "$pid" 2>/dev/null; do
	if [ "$waited" -ge "$limit" ]; then
		echo "qemu-run.sh: guest still running after ${limit}s, stopping it" >&2
		kill "$pid" 2>/dev/null
		sleep 1
		kill -9 "$pid" 2>/dev/null
		break
	fi
	sleep 1
	waited=$((waited + 1))
done
wait "$pid" 2>/dev/null
grep -q '^HCTEST done' "$log"
