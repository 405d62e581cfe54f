#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check dkms.conf for real: register this tree with DKMS under a private
# version, then build and install hostclock.ko for each supported kernel
# and remove it again. The modules land in /lib/modules/<kernel>/updates
# only between install and remove; nothing is loaded.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
name=hostclock
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
src=/usr/src/$name-$ver
passed=0 failed=0

command -v dkms >/dev/null || { echo "dkms-check: dkms not installed; run scripts/install-deps.sh dkms" >&2; exit 1; }
headers=$("$top/scripts/kernel-headers.sh") || exit 1

cleanup() {
	dkms remove -m "$name" -v "$ver" --all >/dev/null 2>&1
	rm -rf "$src"
}
trap cleanup EXIT
cleanup

hc_stage_sources "$top" "$src"
if ! dkms add -m "$name" -v "$ver" >/dev/null; then
	echo "FAIL dkms add"
	echo "0 passed, 1 failed"
	exit 1
fi

for kdir in $headers; do
	kver=$(hc_kver "$kdir")
	log=$(mktemp)
	if dkms build -m "$name" -v "$ver" -k "$kver" >"$log" 2>&1 &&
	   dkms install -m "$name" -v "$ver" -k "$kver" >>"$log" 2>&1 &&
	   dkms status -m "$name" -v "$ver" -k "$kver" | grep -q installed &&
	   modinfo -k "$kver" -F vermagic "$name" 2>/dev/null | grep -q "^$kver " &&
	   dkms uninstall -m "$name" -v "$ver" -k "$kver" >>"$log" 2>&1; then
		echo "ok   dkms build/install/uninstall $kver"
		passed=$((passed + 1))
	else
		echo "FAIL dkms $kver:"
		tail -n 20 "$log"
		find /var/lib/dkms/$name/$ver/build -name make.log -exec tail -n 20 {} \; 2>/dev/null
		failed=$((failed + 1))
	fi
	rm -f "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
