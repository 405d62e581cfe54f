#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test-debug: hostclock under the kernel's own checkers.
#
#   1. the debug guest kernel (scripts/debug-kernel.sh: linux-source-6.12
#      with KASAN, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS and full
#      preemption), built once and cached outside the clone;
#   2. hostclock.ko built against its tree with W=1 (the "debug" line of
#      scripts/klines.sh);
#   3. the lifecycle (every rmmod and unbind under hc-hammer), faults,
#      observability and chrony-switch scenarios in QEMU guests of that
#      kernel, through tests/integration/run.sh: a KASAN, lockdep,
#      atomic-sleep or debug-objects report, or any WARNING, BUG or call
#      trace on a guest's console fails its scenario;
#   4. the KUnit suites on UML with KASAN (scripts/kunit.sh --kasan).
#
# Each part counts as one check (each scenario as one); the last line is
# "N passed, N failed".
#
# usage: scripts/test-debug.sh [SCENARIO ...]   (default: the four above)

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
passed=0 failed=0
begin=$(date +%s)
out=$top/build/test-debug
mkdir -p "$out"

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] ||
	scenarios=(tests/integration/scenarios/{lifecycle,faults,observability,chrony-switch}.sh)

elapsed() { echo "$(($(date +%s) - $1))s"; }
pass() { echo "ok   $*"; passed=$((passed + 1)); }
flunk() { echo "FAIL $*"; failed=$((failed + 1)); }

t=$(date +%s)
if scripts/debug-kernel.sh >"$out/debug-kernel.out" 2>&1; then
	entry=$(scripts/debug-kernel.sh path)
	pass "debug kernel $(scripts/debug-kernel.sh kver) ($(elapsed "$t"); built once in $(cat "$entry/build-seconds")s, cached in $entry)"
else
	cat "$out/debug-kernel.out"
	flunk "debug kernel build ($(elapsed "$t"))"
	echo "$passed passed, $failed failed"
	exit 1
fi

t=$(date +%s)
if HOSTCLOCK_KERNELS=debug scripts/build-modules.sh >"$out/module.out" 2>&1; then
	pass "$(grep '^ok ' "$out/module.out" | sed 's/^ok *//') ($(elapsed "$t"))"
else
	cat "$out/module.out"
	flunk "hostclock.ko against the debug kernel ($(elapsed "$t"))"
fi

t=$(date +%s)
HOSTCLOCK_KERNELS=debug tests/integration/run.sh "${scenarios[@]}" 2>&1 | tee "$out/guests.out"
summary=$(tail -n 1 "$out/guests.out")
p=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
if [ -z "$p" ]; then
	flunk "guest scenarios: no summary from run.sh ($(elapsed "$t"))"
else
	passed=$((passed + p))
	failed=$((failed + f))
	echo "     guest scenarios on the debug kernel: $summary ($(elapsed "$t")); consoles in build/guest/"
fi

t=$(date +%s)
if scripts/kunit.sh --kasan >"$out/kunit-kasan.out" 2>&1; then
	pass "KUnit on UML with KASAN: $(tail -n 1 "$out/kunit-kasan.out") ($(elapsed "$t"))"
else
	tail -n 30 "$out/kunit-kasan.out"
	flunk "KUnit on UML with KASAN: $(tail -n 1 "$out/kunit-kasan.out") ($(elapsed "$t"))"
fi

echo "     make test-debug took $(elapsed "$begin")"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
