#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Debian packages hostclock-dkms and hostclockd from this tree
# (debhelper, dh-dkms; scripts/install-deps.sh deb), then lintian them:
# any error or warning fails. The tree's files (as git lists them: tracked
# and new ones, not ignored ones) are staged into a fresh directory, so
# nothing the tree has built leaks into a package and the tree stays clean.
#
# usage: scripts/deb.sh [--version VERSION]
#   --version  build the tree as VERSION: dkms.conf, debian/changelog (a new
#              entry) and the agent's version string are rewritten in the
#              staged copy only (for the upgrade test, e.g. 0.1.0+test1)
#
# Output: build/deb/VERSION-KEY/ holding the .deb, .changes and lintian.log,
# KEY a hash of the staged sources; its path is the last line printed. A
# build whose KEY exists and passed is not repeated.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

log() { printf 'deb: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

version=
while [ $# -gt 0 ]; do
	case $1 in
	--version) version=${2:?--version needs a value}; shift 2 ;;
	*) die "usage: scripts/deb.sh [--version VERSION]" ;;
	esac
done

for t in dpkg-buildpackage dh dh_dkms lintian; do
	command -v "$t" >/dev/null || die "$t missing: run scripts/install-deps.sh deb"
done

tree_version() { sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$1/dkms.conf"; }

stage=$(mktemp -d "$top/build/deb-stage.XXXXXX" 2>/dev/null) ||
	{ mkdir -p "$top/build"; stage=$(mktemp -d "$top/build/deb-stage.XXXXXX"); }
trap 'rm -rf "$stage"' EXIT

# the tree's files: tracked and untracked ones, less what .gitignore names
src=$stage/src
mkdir -p "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		cpio -0 -pdm --quiet "$src")
else
	(cd "$top" && tar -c --exclude=./build --exclude=./.git . | tar -x -C "$src")
fi

if [ -n "$version" ]; then
	case $version in
	*[!A-Za-z0-9.+~]*|"") die "version '$version': only letters, digits and . + ~" ;;
	esac
	sed -i "s/^PACKAGE_VERSION=\".*\"/PACKAGE_VERSION=\"$version\"/" "$src/dkms.conf"
	grep -l '^#define HCD_VERSION' "$src"/tools/hostclockd/*.[ch] | xargs -r sed -i \
		"s/^#define HCD_VERSION\([[:space:]]*\)\".*\"/#define HCD_VERSION\1\"$version\"/"
	# dated a second after the entry it follows: later, as lintian wants,
	# and the same for the same tree (so the build is cached)
	stamp=$(cd "$src" && dpkg-parsechangelog -S Timestamp)
	{
		echo "hostclock ($version) bookworm; urgency=medium"
		echo
		echo "  * Built by scripts/deb.sh --version $version from the tree."
		echo
		echo " -- $(sed -n 's/^ -- \(.*>\).*/\1/p;T;q' "$src/debian/changelog")  $(date -u -R -d "@$((stamp + 1))")"
		echo
		cat "$src/debian/changelog"
	} >"$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
fi

# One version source: dkms.conf. The changelog must carry it (debian/rules
# checks it again, with the agent's, when it builds).
ver=$(tree_version "$src")
[ -n "$ver" ] || die "no PACKAGE_VERSION in dkms.conf"
cl=$(cd "$src" && dpkg-parsechangelog -S Version)
[ "$cl" = "$ver" ] ||
	die "version disagreement: debian/changelog says $cl, dkms.conf $ver (add a changelog entry)"

key=$(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
out=$top/build/deb/$ver-$key
if [ -f "$out/ok" ]; then
	log "$ver: unchanged sources, packages in $out"
	echo "$out"
	exit 0
fi

# earlier builds of this version are stale now
rm -rf "$top/build/deb/$ver"-*
mkdir -p "$out"
mv "$src" "$stage/hostclock-$ver"
log "$ver: dpkg-buildpackage (log in $out/build.log)"
(cd "$stage/hostclock-$ver" && dpkg-buildpackage -us -uc --build=full) >"$out/build.log" 2>&1 ||
	{ tail -n 30 "$out/build.log" >&2; die "dpkg-buildpackage failed"; }
for f in "$stage"/*.deb "$stage"/*.changes "$stage"/*.buildinfo "$stage"/*.dsc "$stage"/*.tar.*; do
	[ -e "$f" ] && mv "$f" "$out/"
done

# lintian: errors and warnings fail; the rest (info) is shown
log "$ver: lintian"
if ! lintian --fail-on error,warning --display-info "$out"/*.changes >"$out/lintian.log" 2>&1; then
	cat "$out/lintian.log" >&2
	die "lintian found errors or warnings"
fi
sed 's/^/  lintian: /' "$out/lintian.log" >&2
touch "$out/ok"
log "$ver: $(cd "$out" && ls ./*.deb | tr '\n' ' ')"
echo "$out"
