#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what hostclock's build and tests need, from Debian's packages only.
# Idempotent: a package that is already installed is not touched, and apt is
# only called when something is missing.
#
# usage: scripts/install-deps.sh [GROUP...]
#   build    compiler, Debian 6.1 and 6.12 (bookworm-backports) kernel headers
#   chroots  debootstrap chroots for the 5.10 (bullseye) and 7.x
#            (trixie-backports) lines, with their compilers, headers and
#            guest kernels, cached under /var/cache/hostclock (kchroot.sh)
#   kunit    linux-source-6.1 and what a UML build needs
#   lint     sparse (checkpatch.pl comes from linux-source-6.1)
#   dkms     dkms
#   qemu     QEMU 10 (bookworm-backports), busybox-static, cpio, guest kernels
#   guest    chrony and linuxptp binaries, unpacked (never installed) so
#            that no chronyd starts on this machine; linux-source-6.1 for
#            the kernel's selftests the guests run
#   bench    gnuplot (no X) for the benchmarks' plots
#   fuzz     clang-14 and libclang-rt-14-dev (libFuzzer) for make fuzz
#   monitoring  prometheus-node-exporter and prometheus (promtool), unpacked
#            (never installed: installing starts their services) under
#            CACHE/monitoring/VERSION, for make monitoring-test
#   deb      debhelper, dh-dkms and lintian (make deb; they ship no daemon),
#            and the bookworm chroot the package and libvirt tests use
#   debug    linux-source-6.12 and what building it needs (libelf-dev for
#            objtool), for make test-debug's KASAN/lockdep guest kernel
#   all      every group above but debug (the default; make test-debug
#            installs that one itself)
#
# bookworm-backports and the chroots use the mirror URI this machine
# already uses for bookworm; no mirror address is written into the project.
# Downloads and chroots are cached outside the clone, in /var/cache/hostclock
# (HOSTCLOCK_CACHE).

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/scripts/lib.sh"
cache=$(hc_cache_dir)
backports_list=/etc/apt/sources.list.d/hostclock-bookworm-backports.sources

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get install)"
export DEBIAN_FRONTEND=noninteractive

apt_updated=
apt_update() {
	[ -n "$apt_updated" ] && return 0
	log "apt-get update"
	apt-get update -qq >/dev/null || die "apt-get update failed"
	apt_updated=1
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Install the named packages that are missing. "-t SUITE" may come first.
need() {
	local target=() missing=() p
	if [ "$1" = -t ]; then target=(-t "$2"); shift 2; fi
	for p in "$@"; do installed "$p" || missing+=("$p"); done
	[ ${#missing[@]} -eq 0 ] && return 0
	apt_update
	log "installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${target[@]}" \
		"${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

add_backports() {
	local uri
	if apt-cache policy 2>/dev/null | grep -q 'a=bookworm-backports\|n=bookworm-backports'; then
		return 0
	fi
	uri=$(hc_debian_mirror) || uri=
	[ -n "$uri" ] || die "no bookworm entry in this machine's apt sources to take a mirror from"
	log "adding bookworm-backports from $uri"
	cat >"$backports_list" <<SRC
# Added by hostclock scripts/install-deps.sh: QEMU 10 and Linux 6.12 headers.
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt_updated=
	apt_update
}

# The concrete package a meta package depends on in a given suite, e.g.
# linux-headers-amd64 in bookworm-backports -> linux-headers-6.12.x-amd64.
meta_target() {
	local meta=$1 suite=$2 ver
	ver=$(apt-cache madison "$meta" | awk -v s="$suite" '$0 ~ " "s"/" { print $3; exit }')
	[ -n "$ver" ] || die "no $meta in $suite"
	apt-cache depends "$meta=$ver" | awk '/Depends:/ { print $2; exit }'
}

group_build() {
	need build-essential bc kmod
	# Debian only indexes packages after an update; the metas name the
	# current ABI so the headers stay in step with the archive.
	[ -n "$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null)" ] || {
		apt_update; need "$(meta_target linux-headers-amd64 bookworm)"; }
	[ -n "$(ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null)" ] || {
		add_backports
		need -t bookworm-backports "$(meta_target linux-headers-amd64 bookworm-backports)"; }
}

group_kunit() { need linux-source-6.1 python3 flex bison bc xz-utils; }
group_lint() { need sparse linux-source-6.1 perl; }
group_dkms() { need dkms; }

# the 5.10 and 7.x lines build in chroots of their own distributions
group_chroots() {
	need debootstrap util-linux
	"$top/scripts/kchroot.sh" bullseye >/dev/null
	"$top/scripts/kchroot.sh" trixie >/dev/null
}
group_bench() { need gnuplot-nox; }
group_fuzz() { need clang-14 libclang-rt-14-dev; }
group_debug() { need linux-source-6.12 libelf-dev flex bison bc xz-utils; }

group_qemu() {
	if ! installed qemu-system-x86 || ! qemu-system-x86_64 --version | grep -q 'version \(9\.[2-9]\|[1-9][0-9]\)'; then
		add_backports
		need -t bookworm-backports qemu-system-x86
		installed qemu-system-x86 || die "qemu-system-x86 did not install"
		dpkg --compare-versions "$(dpkg-query -W -f='${Version}' qemu-system-x86)" ge 1:9.2 ||
			apt-get install -y -qq -t bookworm-backports qemu-system-x86 >/dev/null
	fi
	need busybox-static cpio
}

group_guest() {
	local d=$cache/debs p
	need linux-source-6.1 xz-utils
	mkdir -p "$d"
	for p in chrony linuxptp; do
		if ! ls "$d/${p}_"*.deb >/dev/null 2>&1; then
			apt_update
			# apt warns that root downloads unsandboxed; show it only on failure
			(cd "$d" && apt-get download -qq "$p" >"$d/download.log" 2>&1) ||
				{ cat "$d/download.log" >&2; die "apt-get download $p failed"; }
		fi
		[ -d "$d/root-$p" ] || dpkg -x "$d/${p}_"*.deb "$d/root-$p"
	done
}

# Unpacked into a directory named for the candidate version, so that a new
# Debian version is fetched once and never mixed with an older one.
group_monitoring() {
	local d p v
	need curl
	for p in prometheus-node-exporter prometheus; do
		v=$(apt-cache policy "$p" | sed -n 's/^  Candidate: //p')
		if [ -z "$v" ] || [ "$v" = "(none)" ]; then
			apt_update
			v=$(apt-cache policy "$p" | sed -n 's/^  Candidate: //p')
		fi
		[ -n "$v" ] && [ "$v" != "(none)" ] || die "no candidate version of $p"
		d=$cache/monitoring/$p-${v//[^A-Za-z0-9.+~-]/_}
		[ -d "$d/root" ] && continue
		mkdir -p "$d"
		(cd "$d" && apt-get download -qq "$p=$v" >"$d/download.log" 2>&1) ||
			{ cat "$d/download.log" >&2; die "apt-get download $p failed"; }
		dpkg -x "$d/${p}_"*.deb "$d/root.new" && mv "$d/root.new" "$d/root"
	done
}

group_deb() {
	need debhelper dh-dkms lintian debootstrap util-linux iproute2
	"$top/scripts/kchroot.sh" bookworm >/dev/null
}

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(all)
for g in "${groups[@]}"; do
	case $g in
	all) group_build; group_chroots; group_kunit; group_lint; group_dkms; group_qemu; group_guest; group_bench; group_fuzz
		group_monitoring; group_deb ;;
	build|chroots|kunit|lint|dkms|qemu|guest|bench|fuzz|monitoring|deb|debug) "group_$g" ;;
	*) die "unknown group '$g' (build chroots kunit lint dkms qemu guest bench fuzz monitoring deb debug all)" ;;
	esac
done
log "ok: ${groups[*]}"
