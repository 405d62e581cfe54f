#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages installed, used, upgraded and purged in clean chroots,
# never on this machine. For each distribution (HOSTCLOCK_DEB_SUITES,
# default "bookworm bullseye trixie": the 6.1, 5.10 and 7.x lines), the
# chroot of scripts/kchroot.sh (dkms, gcc and one kernel's headers) is the
# lower layer of an overlay whose upper layer lives only for the test, so
# the shared chroot is never written and every run starts clean:
#
#   - the tree's packages (scripts/deb.sh) are installed with dpkg; DKMS
#     builds hostclock.ko for the chroot's headers: dkms status, the
#     module's version (modinfo) and vermagic; /usr/src holds exactly the
#     files a DKMS build takes (scripts/lib.sh); the udev rule and the
#     chrony snippet are in place, and the snippet is not enabled;
#     hostclockd (bookworm and trixie: it is built against bookworm's libc)
#     says the package's version, its unit names /usr paths, and it
#     publishes a page hostclock-dump decodes as valid;
#   - the same tree built as VERSION+test1 is installed over it (upgrade):
#     only the new version is in DKMS and /usr/src, the module is rebuilt;
#   - both packages are purged: nothing of them in dpkg, DKMS, /usr/src or
#     /lib/modules, and nothing in the overlay's upper layer that was not
#     there before the install (after a depmod of the kernel, which DKMS
#     runs), apart from dpkg's own database, the logs and DKMS's signing key.
#
# usage: scripts/deb-test.sh     prints "N passed, N failed"

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
suites=${HOSTCLOCK_DEB_SUITES:-bookworm bullseye trixie}
runs=$(hc_cache_dir)/deb
passed=0 failed=0

log() { printf 'deb-test: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (overlay mounts, chroot)"


ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
next=$ver+test1
d1=$("$top/scripts/deb.sh" | tail -n 1)
d2=$("$top/scripts/deb.sh" --version "$next" | tail -n 1)

# the files a DKMS build takes, relative to the source directory: those of
# scripts/lib.sh's list that git does not ignore (build products are not)
expected=$(mktemp)
(cd "$top" && git ls-files --cached --others --exclude-standard -- "${HC_MODULE_FILES[@]}" |
	while read -r f; do [ -f "$f" ] && echo "./$f"; done | sort) >"$expected"

run=
cleanup() { [ -z "$run" ] || rm -rf "$run"; rm -f "$expected"; }
trap cleanup EXIT

# inroot CMD: CMD (a shell command) in the overlay, packages at /hc-debs/1
# and /hc-debs/2; mounts vanish with it (private mount namespace)
inroot() {
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		lower=$1 run=$2 d1=$3 d2=$4; shift 4
		m=$run/merged
		mount -t overlay overlay -o "lowerdir=$lower,upperdir=$run/upper,workdir=$run/work" "$m"
		mount -t proc proc "$m/proc"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$m/dev/pts"
		mount -t tmpfs tmpfs "$m/run"
		mkdir -p "$m/hc-debs/1" "$m/hc-debs/2"
		mount --bind -o ro "$d1" "$m/hc-debs/1"
		mount --bind -o ro "$d2" "$m/hc-debs/2"
		exec chroot "$m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -c "$1"' \
		inroot "$lower" "$run" "$d1" "$d2" "$1"
}

# manifest: what the upper layer changes in the chroot: entries new or
# different from the lower layer's (a whiteout, "c 0", is a deletion), with
# a hash of each changed file; dpkg's database and the logs left out, and
# directories that only hold a changed entry (copied up as they were).
# Also left out: the module signing key DKMS 3 makes at its first build,
# /var/lib/dkms/mok.{key,pub}: the machine's, for every DKMS module (a
# Secure Boot MOK enrolls it), kept by DKMS when one module goes
manifest() {
	local p t m l
	(cd "$run/upper" && find . -path ./var/lib/dpkg -prune -o -path ./var/log -prune \
		-o -path ./hc-debs -prune -o -path ./proc -prune -o -path ./run -prune \
		-o -path ./dev -prune -o -path ./tmp -prune -o -path ./root -prune \
		-o -path ./var/lib/dkms/mok.key -prune -o -path ./var/lib/dkms/mok.pub -prune \
		-o -printf '%y %m %p\n' | sort -k3) |
	while read -r t m p; do
		l=$lower/$p
		case $t in
		d) [ -d "$l" ] && [ ! -L "$l" ] && [ "$(stat -c %a "$l")" = "$m" ] && continue
		   echo "dir $m $p" ;;
		f) [ -f "$l" ] && [ ! -L "$l" ] && [ "$(stat -c %a "$l")" = "$m" ] &&
			cmp -s "$l" "$run/upper/$p" && continue
		   echo "file $m $p $(sha256sum <"$run/upper/$p" | cut -c1-16)" ;;
		l) [ -L "$l" ] && [ "$(readlink "$l")" = "$(readlink "$run/upper/$p")" ] && continue
		   echo "link $p -> $(readlink "$run/upper/$p")" ;;
		c) echo "deleted-or-device $p" ;;
		*) echo "$t $m $p" ;;
		esac
	done
}

# the module DKMS installed, by path (kmod's lookup by name differs
# between the distributions)
ko_of() { echo "find /lib/modules/$1/updates -name 'hostclock.ko*' | head -n 1"; }

for suite in $suites; do
	lower=$("$top/scripts/kchroot.sh" "$suite")
	kver=$("$top/scripts/kchroot.sh" "$suite" kver)
	mkdir -p "$runs"
	run=$(mktemp -d "$runs/$suite.XXXXXX")
	mkdir -p "$run/upper" "$run/work" "$run/merged"
	tag="$suite ($kver)"
	pkgs1="/hc-debs/1/hostclock-dkms_${ver}_all.deb"
	pkgs2="/hc-debs/2/hostclock-dkms_${next}_all.deb"
	agent=
	case $suite in bookworm|trixie)
		agent=1
		pkgs1="$pkgs1 /hc-debs/1/hostclockd_${ver}_amd64.deb"
		pkgs2="$pkgs2 /hc-debs/2/hostclockd_${next}_amd64.deb" ;;
	esac

	# the chroot must not hold hostclock already (a dkms-check in progress
	# registers it there)
	if ! inroot "! dkms status -m hostclock | grep -q . && ! ls -d /usr/src/hostclock-* 2>/dev/null &&
			depmod $kver" >/dev/null 2>&1; then
		hc_fail "$tag: the $suite chroot already has hostclock in DKMS or /usr/src (dkms-check running?)"
		rm -rf "$run"; run=
		continue
	fi
	before=$(manifest)

	# shellcheck disable=SC2086 # one word per package
	hc_check "$tag: install $ver ($(basename -a $pkgs1 | tr '\n' ' '))" \
		inroot "dpkg -i $pkgs1"
	hc_check "$tag: DKMS built and installed hostclock/$ver for $kver" \
		inroot "dkms status -m hostclock; dkms status -m hostclock -v $ver -k $kver | grep -q installed"
	hc_check "$tag: the built module says version $ver and vermagic $kver" \
		inroot "ko=\$($(ko_of "$kver")); echo \$ko; modinfo \$ko | grep -E '^(version|vermagic)';
			[ \"\$(modinfo -F version \$ko)\" = $ver ] && modinfo -F vermagic \$ko | grep -q '^$kver '"
	hc_check "$tag: the package's /usr/src/hostclock-$ver holds exactly the DKMS build's files" \
		diff -u "$expected" <(inroot "dpkg -L hostclock-dkms | grep '^/usr/src/hostclock-$ver/' |
			while read -r f; do [ -d \"\$f\" ] || echo \"\$f\"; done" |
			sed "s|^/usr/src/hostclock-$ver/|./|" | sort)
	hc_check "$tag: udev rule and chrony snippet installed, the snippet not enabled" \
		inroot "grep -q 'SYMLINK+=\"ptp_hostclock\"' /lib/udev/rules.d/60-hostclock.rules &&
			grep -q '^refclock PHC /dev/ptp_hostclock' /usr/share/hostclock/chrony/hostclock.conf &&
			! grep -rqs hostclock /etc/chrony"
	hc_check "$tag: the guest exporter runs (no device here: 0 devices); its timer is not enabled" \
		inroot "hostclock-guest-metrics --stdout | grep '^hostclock_exporter_devices' &&
			[ \"\$(hostclock-guest-metrics --stdout | grep '^hostclock_exporter_devices ')\" = 'hostclock_exporter_devices 0' ] &&
			[ -f /lib/systemd/system/hostclock-guest-metrics.timer ] &&
			! ls /etc/systemd/system/*.wants/hostclock-guest-metrics.* 2>/dev/null"
	if [ -n "$agent" ]; then
		hc_check "$tag: hostclockd --version says $ver; the unit runs /usr/sbin/hostclockd" \
			inroot "hostclockd --version; [ \"\$(hostclockd --version)\" = 'hostclockd $ver' ] &&
				grep -q '^ExecStart=/usr/sbin/hostclockd ' /lib/systemd/system/hostclockd@.service &&
				grep -q '^Documentation=file:///usr/share/doc/hostclockd/hostclockd.md' /lib/systemd/system/hostclockd@.service &&
				[ -f /usr/share/doc/hostclockd/hostclockd.md ] && ! grep -q /usr/local /lib/systemd/system/hostclockd@.service"
		hc_check "$tag: the packaged agent publishes a valid page" \
			inroot "mkdir -m 0755 /run/hostclock; hostclockd --region /run/hostclock/t --foreground --tsc identity 2>/run/agent.log &
				a=\$!; for i in \$(seq 50); do [ -S /run/hostclock/t.ro.ctl ] && break; sleep 0.1; done
				hostclock-dump /run/hostclock/t | tail -n 1; r=\$?; hostclockctl --region /run/hostclock/t now; kill \$a; wait \$a; exit \$r"
	fi

	hc_check "$tag: upgrade to $next" inroot "dpkg -i $pkgs2"
	hc_check "$tag: only hostclock/$next in DKMS and /usr/src, installed for $kver" \
		inroot "dkms status -m hostclock; [ \"\$(dkms status -m hostclock | grep -c .)\" = 1 ] &&
			dkms status -m hostclock -v $next -k $kver | grep -q installed &&
			[ \"\$(ls -d /usr/src/hostclock-*)\" = /usr/src/hostclock-$next ]"
	hc_check "$tag: the rebuilt module says version $next" \
		inroot "ko=\$($(ko_of "$kver")); modinfo -F version \$ko; [ \"\$(modinfo -F version \$ko)\" = $next ]"
	if [ -n "$agent" ]; then
		hc_check "$tag: hostclockd --version says $next" \
			inroot "[ \"\$(hostclockd --version)\" = 'hostclockd $next' ]"
	fi

	hc_check "$tag: purge" inroot "dpkg --purge hostclock-dkms${agent:+ hostclockd}"
	hc_check "$tag: nothing of hostclock in dpkg, DKMS, /usr/src, /lib/modules, /var/lib/dkms" \
		inroot "! dpkg-query -W -f='\${Package} \${Status}\n' 'hostclock*' 2>/dev/null | grep -v ' not-installed\$' &&
			! ls /var/lib/dpkg/info/hostclock* 2>/dev/null &&
			! dkms status -m hostclock | grep . && ! ls -d /usr/src/hostclock-* /var/lib/dkms/hostclock 2>/dev/null &&
			! find /lib/modules -name 'hostclock.ko*' | grep ."
	# nothing new or changed since before the install; an index file of the
	# baseline depmod may have gone (trixie's DKMS removes the depmod files
	# of a kernel without modules, as this chroot's is: it has headers only)
	after=$(manifest)
	hc_check "$tag: nothing new or changed in the chroot since before the install" \
		sh -c 'comm -13 "$1" "$2" | sed "s/^/left: /" | grep . && exit 1; exit 0' _ \
		<(echo "$before" | grep -v "^$") <(echo "$after" | grep -v "^$")
	gone=$(comm -23 <(echo "$before" | grep -v "^$") <(echo "$after" | grep -v "^$") | awk '{ print $3 }' | xargs -r -n1 basename | tr '\n' ' ')
	[ -z "$gone" ] || echo "     $tag: gone since the baseline depmod: $gone"
	rm -rf "$run"
	run=
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
