#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the directory of an unpacked Debian kernel image matching an
# installed header set, for booting under QEMU: DIR/boot/vmlinuz-KVER and
# DIR/lib/modules/KVER. The package is downloaded and unpacked, never
# installed, so this machine's boot setup is untouched.
#
# usage: scripts/guest-kernel.sh KVER     (e.g. 6.1.0-50-amd64)

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kver=${1:?usage: guest-kernel.sh KVER}
cache=${HOSTCLOCK_CACHE:-$top/build/cache}
dest=$cache/kernels/$kver
pkg=linux-image-$kver

if [ ! -f "$dest/.unpacked" ]; then
	mkdir -p "$cache/debs"
	if ! ls "$cache/debs/${pkg}_"*.deb >/dev/null 2>&1; then
		echo "guest-kernel.sh: downloading $pkg" >&2
		(cd "$cache/debs" && apt-get download -qq "$pkg" >/dev/null 2>&1) || {
			apt-get update -qq >/dev/null 2>&1
			(cd "$cache/debs" && apt-get download -qq "$pkg" >/dev/null)
		} || { echo "guest-kernel.sh: cannot download $pkg" >&2; exit 1; }
	fi
	rm -rf "$dest"
	mkdir -p "$dest"
	dpkg -x "$cache/debs/${pkg}_"*.deb "$dest"
	[ -f "$dest/boot/vmlinuz-$kver" ] || { echo "guest-kernel.sh: $pkg has no vmlinuz" >&2; exit 1; }
	touch "$dest/.unpacked"
fi
echo "$dest"
