#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build hostclock.ko with W=1 against each kernel line's headers
# (scripts/klines.sh: 5.10, 6.1, 6.12, 7.x), each with the compiler its
# distribution built that kernel with (in a chroot where that is not this
# machine's), each in its own copy of the sources under
# build/modules/<kernel>, and fail on any compiler warning. The .ko files
# stay there for the QEMU tests.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
passed=0 failed=0

lines=$("$top/scripts/klines.sh") || { echo "0 passed, 1 failed"; exit 1; }
while read -r line kver kdir env hkdir; do
	out=$top/build/modules/$kver
	hc_stage_sources "$top" "$out"
	log=$out/build.log
	# the compiler that built the kernel, and the one that built the module
	kcc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$hkdir/.config")
	if hc_in_env "$env" "$out" make -C "$kdir" M="$out" W=1 modules >"$log" 2>&1 &&
	   ! grep -q 'warning:' "$log" && [ -f "$out/hostclock.ko" ]; then
		mcc=$(readelf -p .comment "$out/hostclock.ko" | grep -o 'GCC: .*' | sort -u | head -n 1)
		if [ -n "$kcc" ] && [ "${mcc#GCC: }" = "${kcc#* }" ]; then
			echo "ok   module $line: $(modinfo -F vermagic "$out/hostclock.ko"), by $kcc"
			passed=$((passed + 1))
		else
			echo "FAIL module $line ($kver): built by '$mcc', the kernel by '$kcc'"
			failed=$((failed + 1))
		fi
	else
		echo "FAIL module $line ($kver):"
		grep -E 'warning:|error:' "$log" | head -n 20
		failed=$((failed + 1))
	fi
done <<<"$lines"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
