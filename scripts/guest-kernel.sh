#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the directory of an unpacked Debian kernel image matching a kernel
# line's headers, for booting under QEMU: DIR/boot/vmlinuz-KVER and
# DIR/lib/modules/KVER. The package is downloaded (for a chroot line, the
# chroot kept it when it was made) and unpacked, never installed, so this
# machine's boot setup is untouched. Both stay in the cache outside the
# clone (/var/cache/hostclock, or HOSTCLOCK_CACHE).
#
# usage: scripts/guest-kernel.sh KVER [ENV]   (e.g. 6.1.0-50-amd64 host;
#                                              ENV as scripts/klines.sh prints)

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
kver=${1:?usage: guest-kernel.sh KVER [ENV]}
env=${2:-host}
cache=$(hc_cache_dir)
dest=$cache/kernels/$kver
pkg=linux-image-$kver

if [ ! -f "$dest/.unpacked" ]; then
	if [ "$env" = host ]; then
		mkdir -p "$cache/debs"
		if ! ls "$cache/debs/${pkg}_"*.deb >/dev/null 2>&1; then
			echo "guest-kernel.sh: downloading $pkg" >&2
			(cd "$cache/debs" && apt-get download -qq "$pkg" >/dev/null 2>&1) || {
				apt-get update -qq >/dev/null 2>&1
				(cd "$cache/debs" && apt-get download -qq "$pkg" >/dev/null)
			} || { echo "guest-kernel.sh: cannot download $pkg" >&2; exit 1; }
		fi
		debs=$(ls "$cache/debs/${pkg}_"*.deb | head -n 1)
	else
		debs=$(ls "$("$top/scripts/kchroot.sh" "$env")"/var/cache/hostclock/guest-kernel/*.deb) ||
			{ echo "guest-kernel.sh: the $env chroot has no $pkg" >&2; exit 1; }
	fi
	rm -rf "$dest"
	mkdir -p "$dest"
	for deb in $debs; do
		dpkg -x "$deb" "$dest"
	done
	# merged-/usr packages (7.x) keep the image beside the modules
	if [ -d "$dest/usr/lib/modules/$kver" ] && [ ! -e "$dest/lib" ]; then
		ln -s usr/lib "$dest/lib"
	fi
	if [ ! -e "$dest/boot/vmlinuz-$kver" ] && [ -f "$dest/lib/modules/$kver/vmlinuz" ]; then
		mkdir -p "$dest/boot"
		ln -s "../lib/modules/$kver/vmlinuz" "$dest/boot/vmlinuz-$kver"
	fi
	[ -f "$dest/boot/vmlinuz-$kver" ] || { echo "guest-kernel.sh: $pkg has no vmlinuz" >&2; exit 1; }
	touch "$dest/.unpacked"
fi
echo "$dest"
