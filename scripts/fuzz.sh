#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build and run the libFuzzer targets tests/fuzz/fuzz_*.c with ASan and
# UBSan (clang). Each target's first comment block names the sources it
# links in a line "fuzz-links: a.c b.c ..." (repo-relative, may be empty);
# its seed corpus is tests/fuzz/corpus/NAME/, copied into
# build/fuzz/corpus/NAME/ so that what the fuzzer finds stays out of the
# tree. A crash, a leak, a sanitizer report or an abort() of a target's own
# check fails it; its reproducer is build/fuzz/artifacts/NAME-*.
#
# usage: scripts/fuzz.sh            every target, at least 10,000,000 runs each
#        scripts/fuzz.sh --quick    every target, all together under a minute
#        scripts/fuzz.sh [--quick] NAME...   only these targets
#
# HOSTCLOCK_FUZZ_RUNS changes the number of runs of the full mode.
# Prints each target's executions and a final "N passed, N failed" line.

set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$top/build/fuzz
quick=
if [ "${1:-}" = --quick ]; then
	quick=1
	shift
fi
runs=${HOSTCLOCK_FUZZ_RUNS:-10000000}
# --quick: everything, builds included, within this many seconds; what the
# builds leave is shared among the targets (at least 2 s each)
quick_budget=50
t0=$(date +%s)

cc=
for c in clang-14 clang; do
	command -v "$c" >/dev/null && { cc=$c; break; }
done
[ -n "$cc" ] || { echo "fuzz.sh: no clang; run scripts/install-deps.sh fuzz" >&2; echo "0 passed, 1 failed"; exit 1; }

targets=()
if [ $# -gt 0 ]; then
	for n in "$@"; do targets+=("tests/fuzz/${n%.c}.c"); done
else
	for f in tests/fuzz/fuzz_*.c; do [ -e "$f" ] && targets+=("$f"); done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no targets in tests/fuzz" >&2; echo "0 passed, 1 failed"; exit 1; }

# links FILE: the sources its fuzz-links line names (first comment block)
links() {
	awk '/\*\// { exit } /fuzz-links:/ { sub(/.*fuzz-links:[ \t]*/, ""); print; exit }' "$1"
}

# build NAME SRC: into $out/NAME, again only when a source changed
build() {
	local name=$1 src=$2 bin=$out/$1 srcs
	read -ra srcs <<<"$(links "$src")"
	if [ -x "$bin" ] && [ -z "$(find "$src" "${srcs[@]}" include tests/common \
		-newer "$bin" -print -quit 2>/dev/null)" ]; then
		return 0
	fi
	"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -Iinclude -Itests/common -Itools/hostclockd \
		-D_GNU_SOURCE -o "$bin" "$src" "${srcs[@]}" -lm >"$out/$name.build.log" 2>&1
}

mkdir -p "$out/artifacts" "$out/corpus"
passed=0 failed=0
built=()
for src in "${targets[@]}"; do
	name=$(basename "$src" .c)
	if [ ! -f "$src" ]; then
		echo "FAIL $name: no $src"
		failed=$((failed + 1))
	elif ! build "$name" "$src"; then
		echo "FAIL $name: build"
		sed 's/^/  | /' "$out/$name.build.log" | tail -n 20
		failed=$((failed + 1))
	else
		built+=("$src")
	fi
done
if [ ${#built[@]} -gt 0 ]; then
	per=$(( (quick_budget - ($(date +%s) - t0)) / ${#built[@]} ))
	[ "$per" -ge 2 ] || per=2
fi
for src in "${built[@]}"; do
	name=$(basename "$src" .c)
	corpus=$out/corpus/$name
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp -n "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null
	if [ -n "$quick" ]; then
		limit=(-max_total_time="$per")
	else
		limit=(-runs="$runs")
	fi
	log=$out/$name.log
	start=$(date +%s)
	"$out/$name" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $name: exit $rc after ${execs:-?} executions (${secs}s); log $log"
		grep -E 'ERROR|^fuzz_|runtime error|SUMMARY|Test unit written' "$log" | head -n 10 | sed 's/^/  | /'
		failed=$((failed + 1))
	elif [ -z "$quick" ] && [ "${execs:-0}" -lt "$runs" ]; then
		echo "FAIL $name: only ${execs:-0} of $runs executions (${secs}s)"
		failed=$((failed + 1))
	else
		echo "ok   $name: ${execs:-0} executions (${secs}s)"
		passed=$((passed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
