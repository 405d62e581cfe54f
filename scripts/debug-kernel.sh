#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug guest kernel of make test-debug: Debian's linux-source-6.12
# (bookworm's LTS kernel, built here by this machine's gcc 12) configured as
# tinyconfig plus scripts/debug-kernel.config (KASAN, lockdep, atomic-sleep
# and object debugging, full preemption, and what the guests boot with).
#
# usage: scripts/debug-kernel.sh [path]   build it if needed; print the
#                                          cache entry
#        scripts/debug-kernel.sh kdir     the built tree (KDIR for M= builds)
#        scripts/debug-kernel.sh image    the guest image: boot/vmlinuz-KVER
#                                          and lib/modules/KVER, as
#                                          scripts/guest-kernel.sh gives
#        scripts/debug-kernel.sh kver     its kernel release
#
# The entry lives outside any clone, under debug-kernel/ of the cache
# (/var/cache/hostclock, or HOSTCLOCK_CACHE), named for what it was made
# from: the source package's version, the fragment's hash and this
# script's recipe number. Any of them changing makes a new entry and
# removes the old one (a built tree is about 2 GB). An entry is complete
# only with its .built stamp; a build that stopped half way is made again.
# The tree is built in place, not moved afterwards, so the paths that
# kbuild records in it stay valid for module builds.
#
# 6.12 rather than 7.x from the trixie chroot: both build with one gcc
# call per file, but 6.12 builds on this machine without a chroot, its
# source package is in bookworm's own security suite, and the guests'
# 6.12 line already runs every scenario on the same kernel series.

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

# bump when the build steps below change what an entry holds
recipe=1
tarball=/usr/src/linux-source-6.12.tar.xz
pkg=linux-source-6.12
fragment=$top/scripts/debug-kernel.config
jobs=${HOSTCLOCK_DEBUG_JOBS:-2}
root=$(hc_cache_dir)/debug-kernel

log() { printf 'debug-kernel: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -f "$tarball" ] || die "$pkg is not installed: run scripts/install-deps.sh debug"
pkgver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) ||
	die "$pkg is not installed: run scripts/install-deps.sh debug"
fraghash=$(sha256sum "$fragment" | cut -c1-12)
key=$(echo "$pkgver-$fraghash-r$recipe" | tr -c 'A-Za-z0-9.+\n-' '_')
entry=$root/$key
src=$entry/src

# check_config: every line of the fragment holds in the final .config
check_config() {
	local line sym bad=0
	while read -r line; do
		case $line in
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -q "^$sym=[ym]" "$src/.config"; then
				log "config: $sym is set, the fragment wants it off"
				bad=1
			fi
			;;
		CONFIG_*=*)
			if ! grep -qxF "$line" "$src/.config"; then
				log "config: wanted $line, got: $(grep "^${line%%=*}=\|^# ${line%%=*} " "$src/.config" || echo "not there (a dependency is missing)")"
				bad=1
			fi
			;;
		esac
	done <"$fragment"
	return "$bad"
}

build() {
	local start secs kver
	start=$(date +%s)
	rm -rf "$entry"
	mkdir -p "$src"
	log "building $pkg $pkgver into $entry (14 minutes of CPU: 8 to 25 minutes on 2 cores, by their load; log: $entry/build.log)"
	tar -xJf "$tarball" -C "$src" --strip-components=1
	cp "$fragment" "$entry/fragment.config"
	{
		make -C "$src" tinyconfig &&
		"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment" &&
		make -C "$src" olddefconfig
	} >"$entry/build.log" 2>&1 || { tail -n 20 "$entry/build.log" >&2; die "configuring failed"; }
	check_config || die "the configuration does not hold what scripts/debug-kernel.config asks"
	nice -n 10 make -C "$src" -j"$jobs" bzImage modules >>"$entry/build.log" 2>&1 ||
		{ grep -E 'error|Error' "$entry/build.log" | head -n 20 >&2; die "the kernel build failed"; }
	kver=$(make -s -C "$src" kernelrelease)
	mkdir -p "$entry/image/boot"
	make -C "$src" modules_install INSTALL_MOD_PATH="$entry/image" >>"$entry/build.log" 2>&1 ||
		die "modules_install failed"
	# the image's lib/modules/KVER/build must not point into the tree:
	# the guests' initramfs copies lib/modules
	rm -f "$entry/image/lib/modules/$kver/build" "$entry/image/lib/modules/$kver/source"
	cp "$src/arch/x86/boot/bzImage" "$entry/image/boot/vmlinuz-$kver"
	# guest-kernel.sh's mark of a complete image
	touch "$entry/image/.unpacked"
	secs=$(($(date +%s) - start))
	echo "$secs" >"$entry/build-seconds"
	echo "$kver" >"$entry/.built"
	log "built $kver in $((secs / 60))m$((secs % 60))s"
}

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
if [ ! -f "$entry/.built" ]; then
	for old in "$root"/*/; do
		if [ ! -d "$old" ] || [ "${old%/}" = "$entry" ]; then
			continue
		fi
		log "removing $(basename "$old") (made from another source, fragment or recipe)"
		rm -rf "$old"
	done
	build
fi
flock -u 9

case ${1:-path} in
path) echo "$entry" ;;
kdir) echo "$src" ;;
image) echo "$entry/image" ;;
kver) cat "$entry/.built" ;;
*) die "unknown command '$1' (path kdir image kver)" ;;
esac
