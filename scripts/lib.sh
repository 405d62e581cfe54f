# SPDX-License-Identifier: GPL-2.0
#
# Helpers sourced by hostclock's scripts.

HC_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The files a kbuild M= build of hostclock.ko needs.
HC_MODULE_FILES=(Kbuild Makefile dkms.conf drivers include scripts/kfeatures.sh)

# hc_stage_sources TOP DIR: a fresh copy of the module's sources in DIR, so
# that builds for different kernels never share objects.
hc_stage_sources() {
	local top=$1 dir=$2 f

	rm -rf "$dir"
	mkdir -p "$dir"
	for f in "${HC_MODULE_FILES[@]}"; do
		mkdir -p "$dir/$(dirname "$f")"
		cp -a "$top/$f" "$dir/$f"
	done
}


# The URI this machine uses for the bookworm suite, from one-line or deb822
# sources, one per entry found.
hc_bookworm_uris() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [opt=a opt=b ...] URI SUITE COMPONENTS...
		awk '$1 == "deb" { u = ""; s = ""; inopt = 0
			for (i = 2; i <= NF; i++) {
				if ($i ~ /^\[/) inopt = 1
				if (inopt) { if ($i ~ /\]$/) inopt = 0; continue }
				if (u == "") u = $i; else { s = $i; break }
			}
			if (s == "bookworm") { print u; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
			{ uri = ""; ok = 0; deb = 0
			  for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, a, /[ \t]+/); uri = a[1] }
				if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1
				if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
			  }
			  if (ok && deb && uri != "") { print uri; exit } }' "$f"
	done
}

# hc_debian_mirror: the first of those; fails if there is none. Scripts that
# add a suite or build a chroot take their mirror from here, so no mirror
# address is written into the project.
hc_debian_mirror() {
	local uri
	uri=$(hc_bookworm_uris | head -n 1)
	[ -n "$uri" ] && echo "$uri"
}

# hc_cache_dir: what is slow to make and does not depend on the tree
# (chroots, downloaded packages, unpacked guest kernels), outside any clone.
hc_cache_dir() {
	echo "${HOSTCLOCK_CACHE:-/var/cache/hostclock}"
}

# hc_in_env ENV DIR CMD...: run CMD where a build for a kernel line runs
# (see scripts/klines.sh), with DIR visible at the same path (DIR "-":
# nothing of this machine's is made visible).
hc_in_env() {
	local env=$1 dir=$2
	shift 2
	if [ "$env" = host ]; then
		"$@"
	elif [ "$dir" = - ]; then
		"$HC_TOP/scripts/kchroot.sh" "$env" run "$@"
	else
		"$HC_TOP/scripts/kchroot.sh" "$env" run -b "$dir" "$dir" "$@"
	fi
}

# For a suite that ends with "N passed, N failed" (counted in $passed and
# $failed): hc_ok and hc_fail print a verdict line; hc_check WHAT CMD...
# takes CMD's status as the verdict and shows its output's tail on failure.
hc_ok() { echo "ok   $*"; passed=$((passed + 1)); }
hc_fail() { echo "FAIL $*"; failed=$((failed + 1)); }
hc_check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		hc_ok "$what"
	else
		hc_fail "$what"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/  | /'
	fi
}
