#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# checkpatch.pl --strict on every kernel-side C file and header (the module,
# the shared core and headers, the KUnit suites and their shared cases), and
# sparse (C=2: every file, not only rebuilt ones) against each kernel line
# (scripts/klines.sh). Any warning fails.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
cd "$top"
passed=0 failed=0

ksrc=$(scripts/linux-source.sh) || exit 1
files=$(git ls-files -co --exclude-standard -- 'drivers/*.[ch]' 'include/*.h' \
	'tests/kunit/*.[ch]' 'tests/common/*.[ch]' | sort -u)

for f in $files; do
	out=$("$ksrc/scripts/checkpatch.pl" --strict --no-tree --quiet --no-summary \
		--show-types -f "$f" 2>&1)
	if [ -z "$out" ]; then
		passed=$((passed + 1))
	else
		echo "FAIL checkpatch $f:"
		echo "$out" | head -n 40
		failed=$((failed + 1))
	fi
done
echo "checkpatch: $(echo "$files" | wc -w) files checked"

# The sysfs ABI file documents exactly the attributes the driver creates.
code=$(sed -n 's/.*&dev_attr_\([a-z_0-9]*\)\.attr.*/\1/p' drivers/hostclock/hostclock_sysfs.c | sort)
doc=$(sed -n 's|^What:.*/sys/class/misc/hostclock<N>/\([a-z_0-9]*\)$|\1|p' \
	Documentation/ABI/testing/sysfs-class-misc-hostclock | sort)
if [ -n "$code" ] && [ "$code" = "$doc" ]; then
	echo "ok   sysfs ABI file matches the driver ($(echo "$code" | wc -l) attributes)"
	passed=$((passed + 1))
else
	echo "FAIL sysfs ABI file and driver differ:"
	diff <(echo "$code") <(echo "$doc") | sed 's/^/  /'
	failed=$((failed + 1))
fi

command -v sparse >/dev/null || { echo "FAIL sparse: not installed"; failed=$((failed + 1)); }
# each line with its own distribution's sparse, beside its compiler
lines=$(scripts/klines.sh) || exit 1
while read -r line kver kdir env hkdir; do
	out=$top/build/sparse/$kver
	hc_stage_sources "$top" "$out"
	log=$out/sparse.log
	if hc_in_env "$env" "$out" make -C "$kdir" M="$out" C=2 W=1 modules >"$log" 2>&1 &&
	   ! grep -qE 'warning:|error:' "$log"; then
		echo "ok   sparse $line ($kver)"
		passed=$((passed + 1))
	else
		echo "FAIL sparse $line ($kver):"
		grep -E 'warning:|error:' "$log" | head -n 20
		failed=$((failed + 1))
	fi
done <<<"$lines"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
