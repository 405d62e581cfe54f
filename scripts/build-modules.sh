#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build hostclock.ko with W=1 against each supported kernel's headers, each
# in its own copy of the sources under build/modules/<kernel>, and fail on
# any compiler warning. The .ko files stay there for the QEMU tests.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
passed=0 failed=0

headers=$("$top/scripts/kernel-headers.sh") || exit 1
for kdir in $headers; do
	kver=$(hc_kver "$kdir")
	out=$top/build/modules/$kver
	hc_stage_sources "$top" "$out"
	log=$out/build.log
	if make -C "$kdir" M="$out" W=1 modules >"$log" 2>&1 &&
	   ! grep -q 'warning:' "$log" && [ -f "$out/hostclock.ko" ]; then
		echo "ok   module $kver: $(modinfo -F vermagic "$out/hostclock.ko")"
		passed=$((passed + 1))
	else
		echo "FAIL module $kver:"
		grep -E 'warning:|error:' "$log" | head -n 20
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
