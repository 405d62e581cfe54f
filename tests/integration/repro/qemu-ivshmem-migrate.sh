#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Reproducer of a QEMU bug, not part of `make test`:
#
#   tests/integration/repro/qemu-ivshmem-migrate.sh [KERNEL_IMAGE]
#
# Under TCG, a VM whose ivshmem-plain memory backend was created before the
# machine RAM (what a plain command line does: the RAM block of -object
# memory-backend-file lands at ram_addr 0, the machine's pc.ram after it)
# aborts as soon as a migration syncs the dirty bitmap:
#   tlb_reset_dirty_range_all: Assertion `block == qemu_get_ram_block(end - 1)'
# Declaring the machine RAM as a backend first avoids it. Each run boots
# KERNEL_IMAGE (default: the newest /boot/vmlinuz-*) for 3 s, which dirties
# RAM, then migrates it to a file; nothing else is needed (no initramfs:
# the kernel is still booting when the migration starts). Prints one line
# per layout and fails unless the default layout aborts and the other
# completes, as seen with QEMU 10.0.2 and 11.1.3 (Documentation/testing.md).

set -uo pipefail

kernel=${1:-$(ls /boot/vmlinuz-* | sort -V | tail -n 1)}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
head -c 8192 /dev/zero >"$work/region"

# try NAME ARGS...: boot, migrate to a file, report how QEMU ended
try() {
	local name=$1 rc
	shift
	rm -f "$work/m.in" "$work/m.out" "$work/state"
	mkfifo "$work/m.in" "$work/m.out"
	# in a subshell, which exits with the status: no job-control message
	(timeout 30 qemu-system-x86_64 -accel tcg -nographic -nodefaults -m 256M "$@" \
		-kernel "$kernel" -append console=ttyS0 \
		-chardev "pipe,id=mon,path=$work/m" -mon chardev=mon,mode=readline \
		>"$work/$name.log" 2>&1; exit $?) &
	local qemu=$!
	cat "$work/m.out" >"$work/$name.mon" &
	sleep 3
	echo "migrate file:$work/state" >"$work/m.in"
	for _ in $(seq 20); do
		kill -0 $qemu 2>/dev/null || break
		echo "info migrate" >"$work/m.in"
		sleep 0.5
		grep -qiE "status: *completed" "$work/$name.mon" && break
	done
	kill -0 $qemu 2>/dev/null && timeout 5 sh -c "echo quit >'$work/m.in'"
	wait $qemu
	rc=$?
	if grep -q "Assertion" "$work/$name.log"; then
		echo "$name: QEMU aborted (exit $rc): $(grep -o "tlb_reset_dirty_range_all: .*failed" "$work/$name.log" | head -n 1)"
		return 1
	fi
	grep -qiE "status: *completed" "$work/$name.mon" && { echo "$name: migration completed"; return 0; }
	echo "$name: neither completed nor aborted (exit $rc)"
	return 2
}

shm=(-object "memory-backend-file,id=hc,share=on,mem-path=$work/region,size=8K"
     -device ivshmem-plain,memdev=hc,master=on)
qemu-system-x86_64 --version | head -n 1
try default-layout "${shm[@]}"
a=$?
try ram-first -object memory-backend-ram,id=pcram,size=256M -machine memory-backend=pcram "${shm[@]}"
b=$?
[ $a = 1 ] && [ $b = 0 ] && echo "reproduced: the default layout aborts, RAM first migrates"
