#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel lines hostclock is built and tested on, one per output line:
#
#   LINE KVER KDIR ENV HOSTKDIR
#
# LINE is the series (5.10, 6.1, 6.12, 7.x), KVER the Debian kernel release,
# KDIR its header directory, and ENV where a build for it runs: "host" for
# the headers of this machine's suite (installed by install-deps.sh build),
# or the debootstrap chroot of the distribution that built that kernel
# (scripts/kchroot.sh SUITE, made on first use), where KDIR is the path
# inside it; HOSTKDIR is the same directory seen from this machine.
# HOSTCLOCK_KERNELS chooses lines (default: all four). One more line,
# "debug", is offered only when HOSTCLOCK_KERNELS names it: the KASAN and
# lockdep guest kernel of make test-debug, built from linux-source-6.12 by
# scripts/debug-kernel.sh (on first use, about 20 minutes), whose built
# tree is its KDIR.
#
#   5.10  Debian 11 bullseye, gcc 10        chroot bullseye
#   6.1   Debian 12 bookworm, gcc 12        host
#   6.12  bookworm-backports, gcc 12        host
#   7.x   trixie-backports (7.3), gcc 14    chroot trixie
#
# 7.x comes from trixie-backports rather than sid: a stable base suite whose
# chroot does not change under the cache every day, with the newest kernel
# Debian ships for a released distribution.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

host_headers() {
	local d
	d=$(ls -d /usr/src/linux-headers-"$1".*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] || { echo "klines.sh: no linux-headers-$1.*-amd64; run scripts/install-deps.sh build" >&2; return 1; }
	echo "$1 ${d#/usr/src/linux-headers-} $d host $d"
}

chroot_headers() {
	local line=$1 suite=$2 kver root
	root=$("$top/scripts/kchroot.sh" "$suite") &&
		kver=$("$top/scripts/kchroot.sh" "$suite" kver) && [ -n "$kver" ] ||
		{ echo "klines.sh: no $line headers in the $suite chroot" >&2; return 1; }
	echo "$line $kver /usr/src/linux-headers-$kver $suite $root/usr/src/linux-headers-$kver"
}

debug_tree() {
	local kdir kver
	kdir=$("$top/scripts/debug-kernel.sh" kdir) && kver=$("$top/scripts/debug-kernel.sh" kver) ||
		{ echo "klines.sh: the debug kernel did not build" >&2; return 1; }
	echo "debug $kver $kdir host $kdir"
}

for line in ${HOSTCLOCK_KERNELS:-5.10 6.1 6.12 7.x}; do
	case $line in
	5.10) chroot_headers 5.10 bullseye ;;
	6.1|6.12) host_headers "$line" ;;
	7|7.x) chroot_headers 7.x trixie ;;
	debug) debug_tree ;;
	*) echo "klines.sh: unknown kernel line '$line' (5.10 6.1 6.12 7.x debug)" >&2; exit 1 ;;
	esac
done
