#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a small initramfs for a QEMU guest: static busybox, the generic
# guest init (tests/integration/guest-init.sh), a scenario script, and any
# extra files.
#
# usage: scripts/initramfs.sh OUT.cpio.gz SCENARIO [SRC:DEST ...]
#   SCENARIO runs as /scenario.sh; each SRC is copied to DEST in the image,
#   and a dynamically linked program brings its shared libraries along
#   (from this machine, at the same paths).

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: initramfs.sh OUT SCENARIO [SRC:DEST ...]}
scenario=${2:?usage: initramfs.sh OUT SCENARIO [SRC:DEST ...]}
shift 2

# busybox-static's binary; the guest has no shared libraries for it
busybox=/bin/busybox
if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
	echo "initramfs.sh: $busybox is missing or not static; run scripts/install-deps.sh qemu" >&2
	exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules}
cp "$busybox" "$root/bin/busybox"
cp "$top/tests/integration/guest-init.sh" "$root/init"
cp "$scenario" "$root/scenario.sh"
chmod 755 "$root/init" "$root/scenario.sh"
for pair in "$@"; do
	src=${pair%%:*}
	dest=${pair#*:}
	mkdir -p "$root/$(dirname "$dest")"
	cp -a "$src" "$root/$dest"
	[ -f "$src" ] || continue
	# ldd fails for static programs and scripts: nothing to bring
	for lib in $(ldd "$src" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
