#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the path of an unpacked linux-source-6.1 tree, unpacking Debian's
# tarball into build/ the first time. checkpatch.pl and kunit.py come from it.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
dest=$top/build/linux-source-6.1

[ -n "$tarball" ] || { echo "linux-source.sh: linux-source-6.1 is not installed; run scripts/install-deps.sh kunit" >&2; exit 1; }
if [ ! -f "$dest/.unpacked" ] || [ "$tarball" -nt "$dest/.unpacked" ]; then
	echo "linux-source.sh: unpacking $tarball" >&2
	rm -rf "$dest" "$dest.tmp"
	mkdir -p "$dest.tmp"
	tar -xJf "$tarball" -C "$dest.tmp" --strip-components=1
	mv "$dest.tmp" "$dest"
	touch "$dest/.unpacked"
fi
echo "$dest"
