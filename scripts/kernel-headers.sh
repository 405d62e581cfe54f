#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the Debian kernel header directories the project supports, one per
# line: the newest installed of each series in HOSTCLOCK_KERNELS (default:
# 6.1 from bookworm, 6.12 from bookworm-backports). Fails if one is missing.

set -euo pipefail

series=${HOSTCLOCK_KERNELS:-6.1 6.12}
for s in $series; do
	d=$(ls -d /usr/src/linux-headers-"$s".*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] || { echo "kernel-headers.sh: no linux-headers-$s.*-amd64; run scripts/install-deps.sh build" >&2; exit 1; }
	echo "$d"
done
