#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the peer test suites the guest scenario "peer-suites" runs, from
# linux-source-6.1, static for the busybox guests: the timers selftests
# inconsistency-check, nanosleep and clocksource-switch, and the PTP
# selftest testptp. They are the kernel's own tests, built unchanged; how
# they are shortened is in the scenario (command-line options only).
#
# usage: scripts/peer-tests.sh OUTDIR

set -euo pipefail

out=${1:?usage: scripts/peer-tests.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
src=$("$top/scripts/linux-source.sh")
st=$src/tools/testing/selftests
cc=${CC:-gcc}
mkdir -p "$out"

build() {
	local dst=$1 file=$2
	shift 2
	[ "$out/$dst" -nt "$file" ] && return 0
	# their code, their warnings: not ours to fix here
	"$cc" -O2 -w -static -I"$st" -o "$out/$dst" "$file" "$@"
}
build inconsistency-check "$st/timers/inconsistency-check.c"
build nanosleep "$st/timers/nanosleep.c"
build clocksource-switch "$st/timers/clocksource-switch.c"
build testptp "$st/ptp/testptp.c" -lrt -lm
