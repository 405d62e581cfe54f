#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run guest scenarios under QEMU TCG on each supported kernel (Debian 6.1 and
# 6.12 by default; HOSTCLOCK_KERNELS chooses series). Each scenario gets a
# fresh guest with the hostclock.ko built for that kernel. A failed scenario
# prints the guest console's tail.
#
# usage: tests/integration/run.sh [SCENARIO ...]   (default: all scenarios)

set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/lib.sh"
cd "$top"
limit=${HOSTCLOCK_GUEST_TIMEOUT:-120}
out=$top/build/guest
mkdir -p "$out"
passed=0 failed=0

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(tests/integration/scenarios/*.sh)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

headers=$(scripts/kernel-headers.sh) || exit 1
for kdir in $headers; do
	kver=$(hc_kver "$kdir")
	ko=build/modules/$kver/hostclock.ko
	if [ ! -f "$ko" ] || [ -n "$(find drivers include Kbuild -newer "$ko" -print -quit)" ]; then
		scripts/build-modules.sh >/dev/null || { echo "FAIL module build for $kver"; exit 1; }
	fi
	kimg=$(scripts/guest-kernel.sh "$kver") || exit 1
	echo "$version" >"$out/hostclock.version"

	for sc in "${scenarios[@]}"; do
		name=$(basename "$sc" .sh)
		initrd=$out/$name-$kver.cpio.gz
		log=$out/$name-$kver.log
		scripts/initramfs.sh "$initrd" "$sc" "$ko:hostclock.ko" \
			"$out/hostclock.version:hostclock.version" || exit 1
		start=$(date +%s)
		scripts/qemu-run.sh "$kimg" "$kver" "$initrd" "$log" "$limit"
		done_rc=$?
		secs=$(($(date +%s) - start))
		ok=$(grep -c '^HCTEST ok ' "$log")
		bad=$(grep -c '^HCTEST fail ' "$log")
		if [ "$done_rc" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$ok" -gt 0 ]; then
			echo "ok   $name on $kver: $ok checks (${secs}s)"
			passed=$((passed + 1))
		else
			echo "FAIL $name on $kver (${secs}s):"
			grep '^HCTEST fail ' "$log"
			[ "$done_rc" -eq 0 ] || echo "  guest did not finish; console tail:"
			tail -n 40 "$log" | sed 's/^/  | /'
			failed=$((failed + 1))
		fi
	done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
