#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build environments for the kernel lines whose headers this machine's
# suite cannot build: a debootstrap chroot of the distribution that built
# that kernel, with its gcc, make, sparse, dkms and the kernel's headers,
# plus the matching kernel image packages for the QEMU guests
# (var/cache/hostclock/guest-kernel/ in the chroot).
#
# usage: scripts/kchroot.sh SUITE                ensure the chroot; print its path
#        scripts/kchroot.sh SUITE kver           the kernel release of its headers
#        scripts/kchroot.sh SUITE run [-b SRC DEST]... CMD [ARG...]
#                                               run CMD in it, with /proc and
#                                               each SRC bind-mounted at DEST
#
# SUITE is bullseye (Linux 5.10), trixie (Linux 7.x from trixie-backports)
# or bookworm (Linux 6.1: a clean Debian 12 for the package tests).
# Chroots live under $HOSTCLOCK_CHROOTS, by default the chroots/ of the
# cache (/var/cache/hostclock, or $HOSTCLOCK_CACHE), outside any clone, so a second run costs seconds. Each carries a stamp of
# the recipe and mirror it was made from; a chroot whose stamp differs, that
# is older than HOSTCLOCK_CHROOT_MAX_AGE_DAYS (default 30), or that fails
# its health check (gcc, make and the headers present and runnable) is made
# again from scratch. Mounts are made in a private mount namespace
# (unshare), so they vanish with the command and none is left behind.
# The mirror is the one this machine's apt sources use for bookworm.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

suite=${1:?usage: kchroot.sh SUITE [kver | run CMD...]}
shift
root_dir=${HOSTCLOCK_CHROOTS:-$(hc_cache_dir)/chroots}
dir=$root_dir/$suite
max_age=${HOSTCLOCK_CHROOT_MAX_AGE_DAYS:-30}

log() { printf 'kchroot %s: %s\n' "$suite" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The recipe: what each suite's chroot holds. The headers come from the
# suite that carries the kernel line, named by its meta package, so the
# chroot follows Debian's current ABI when it is made.
tools="gcc make libc6-dev bc kmod sparse dkms xz-utils"
case $suite in
bullseye) suites="bullseye"; kernel_suite=bullseye ;;
bookworm) suites="bookworm"; kernel_suite=bookworm ;;
trixie) suites="trixie trixie-backports"; kernel_suite=trixie-backports ;;
*) die "unknown suite (bullseye, bookworm, trixie)" ;;
esac
recipe="recipe=3 suites=$suites kernel=$kernel_suite tools=$tools"

in_chroot() {
	# a private mount namespace: /proc and binds disappear with the command
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		dir=$1; shift
		mount -t proc proc "$dir/proc"
		mkdir -p "$dir/dev/pts"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts"
		while [ "$1" = -b ]; do
			mkdir -p "$dir$3"
			mount --bind "$2" "$dir$3"
			shift 3
		done
		exec chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' \
		in-chroot "$dir" "$@"
}

headers_kver() {
	local d
	d=$(ls -d "$dir"/usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && basename "$d" | sed 's/^linux-headers-//'
}

# healthy: the chroot is usable as it is; else $why says what is wrong
healthy() {
	local kver
	why="not made yet"
	[ -f "$dir/.hostclock-stamp" ] || return 1
	why="made from another recipe or mirror"
	[ "$(sed -n 1p "$dir/.hostclock-stamp")" = "$recipe mirror=$mirror" ] || return 1
	why="older than $max_age days"
	[ -z "$(find "$dir/.hostclock-stamp" -mtime +"$max_age")" ] || return 1
	why="no kernel headers or image"
	kver=$(headers_kver) || return 1
	[ -n "$kver" ] || return 1
	ls "$dir"/var/cache/hostclock/guest-kernel/linux-image-"$kver"_*.deb >/dev/null 2>&1 || return 1
	why="gcc, make, sparse or dkms does not run"
	in_chroot /bin/sh -c 'gcc --version && make --version && sparse --version && dkms --version' \
		>/dev/null 2>&1
}

create() {
	local tmp=$dir.new kver meta
	[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
	command -v debootstrap >/dev/null || die "debootstrap missing: run scripts/install-deps.sh chroots"
	rm -rf "$tmp"
	mkdir -p "$root_dir"
	log "making it ($why): debootstrap from $mirror, a few minutes"
	debootstrap --variant=minbase --include=ca-certificates \
		"$suite" "$tmp" "$mirror" >"$root_dir/$suite.debootstrap.log" 2>&1 ||
		{ tail -n 20 "$root_dir/$suite.debootstrap.log" >&2; die "debootstrap failed"; }
	{
		echo "# Made by hostclock scripts/kchroot.sh"
		echo "Types: deb"
		echo "URIs: $mirror"
		echo "Suites: $suites"
		echo "Components: main"
	} >"$tmp/etc/apt/sources.list.d/hostclock.sources"
	rm -f "$tmp/etc/apt/sources.list"
	# nothing installed in the chroot may start a service
	printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	dir=$tmp
	in_chroot apt-get update -qq >/dev/null || die "apt-get update in the chroot failed"
	# shellcheck disable=SC2086 # one word per package
	in_chroot apt-get install -y -qq --no-install-recommends $tools >/dev/null ||
		die "installing the build tools failed"
	meta=$(in_chroot apt-cache depends -t "$kernel_suite" linux-headers-amd64 |
		awk '/Depends: linux-headers-/ { print $2; exit }')
	[ -n "$meta" ] || die "no linux-headers-amd64 in $kernel_suite"
	in_chroot apt-get install -y -qq --no-install-recommends -t "$kernel_suite" "$meta" \
		>/dev/null || die "installing $meta failed"
	kver=${meta#linux-headers-}
	# the image the guests boot, kept with the headers it matches; from 7.x
	# Debian splits it into linux-image, -binary and -modules packages
	mkdir -p "$tmp/var/cache/hostclock/guest-kernel"
	for p in linux-image linux-binary linux-modules; do
		in_chroot /bin/sh -c "cd /var/cache/hostclock/guest-kernel &&
			apt-get download -qq -t $kernel_suite $p-$kver" >/dev/null 2>&1 || true
	done
	ls "$tmp"/var/cache/hostclock/guest-kernel/linux-image-"$kver"_*.deb >/dev/null 2>&1 ||
		die "downloading linux-image-$kver failed"
	in_chroot apt-get clean
	echo "$recipe mirror=$mirror" >"$tmp/.hostclock-stamp"
	dir=$root_dir/$suite
	rm -rf "$dir"
	mv "$tmp" "$dir"
	log "ready: gcc $(in_chroot gcc -dumpversion), headers $kver"
}

mirror=$(hc_debian_mirror) || die "no bookworm entry in this machine's apt sources to take a mirror from"

# one creator at a time; a second caller waits and then finds it healthy
mkdir -p "$root_dir"
exec 9>"$root_dir/.$suite.lock"
flock 9
healthy || create
flock -u 9

case ${1:-} in
"") echo "$dir" ;;
kver) headers_kver ;;
run) shift; in_chroot "$@" ;;
*) die "unknown command '$1'" ;;
esac
