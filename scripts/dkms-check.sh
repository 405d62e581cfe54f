#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check dkms.conf for real on every kernel line (scripts/klines.sh):
# register this tree with DKMS, then build and install hostclock.ko for the
# line's kernel and remove it again: on this machine for its own headers,
# inside the line's chroot (with that distribution's dkms and gcc) for the
# others. The modules land in /lib/modules/<kernel>/updates only between
# install and remove; nothing is loaded.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
name=hostclock
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
passed=0 failed=0

command -v dkms >/dev/null || { echo "dkms-check: dkms not installed; run scripts/install-deps.sh dkms" >&2; exit 1; }
lines=$("$top/scripts/klines.sh") || exit 1

# root ENV: where ENV's / is seen from here
root() { if [ "$1" = host ]; then echo ""; else "$top/scripts/kchroot.sh" "$1"; fi; }

# installed_vermagic ENV KVER: the vermagic of the module DKMS installed,
# by path: kmod's lookup by name differs between the lines (and a module
# may be installed compressed)
installed_vermagic() {
	local ko
	ko=$(find "$(root "$1")/lib/modules/$2/updates" -name "$name.ko*" | head -n 1)
	[ -n "$ko" ] && modinfo -F vermagic "$ko"
}

cleanup() {
	local env
	for env in $(awk '{ print $4 }' <<<"$lines" | sort -u); do
		hc_in_env "$env" - dkms remove -m "$name" -v "$ver" --all >/dev/null 2>&1
		rm -rf "$(root "$env")/usr/src/$name-$ver"
	done
}
trap cleanup EXIT
cleanup

while read -r line kver kdir env hkdir <&3; do
	log=$(mktemp)
	src=$(root "$env")/usr/src/$name-$ver
	if [ ! -d "$src" ]; then
		hc_stage_sources "$top" "$src"
		hc_in_env "$env" - dkms add -m "$name" -v "$ver" >>"$log" 2>&1
	fi
	if hc_in_env "$env" - dkms build -m "$name" -v "$ver" -k "$kver" >>"$log" 2>&1 &&
	   hc_in_env "$env" - dkms install -m "$name" -v "$ver" -k "$kver" >>"$log" 2>&1 &&
	   hc_in_env "$env" - dkms status -m "$name" -v "$ver" -k "$kver" | grep -q installed &&
	   installed_vermagic "$env" "$kver" | grep -q "^$kver " &&
	   hc_in_env "$env" - dkms uninstall -m "$name" -v "$ver" -k "$kver" >>"$log" 2>&1; then
		echo "ok   dkms build/install/uninstall $line ($kver, $([ "$env" = host ] && echo "this machine" || echo "$env chroot"))"
		passed=$((passed + 1))
	else
		echo "FAIL dkms $line ($kver):"
		tail -n 20 "$log"
		find "$(root "$env")/var/lib/dkms/$name/$ver/" -name make.log -exec tail -n 20 {} \; 2>/dev/null
		failed=$((failed + 1))
	fi
	rm -f "$log"
done 3<<<"$lines"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
