#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The libvirt recipe (tools/libvirt/) with a real libvirt from Debian, never
# installed on this machine: libvirt-daemon-system, libvirt-clients and
# QEMU are installed into a copy of the bookworm chroot (scripts/kchroot.sh),
# cached under $(hc_cache_dir)/libvirt/ and made again when the chroot it
# came from changes. Each run works on an overlay of it that lives only for
# the run, in its own mount, network (loopback only) and PID namespaces:
# libvirtd and virtlogd run there in the foreground as children of this
# test and die with the namespace, also on failure; libvirt is told to use
# no cgroups, so nothing of this machine's changes.
#
# In there: the hostclockd package of this tree (scripts/deb.sh) is
# installed, its libvirt hook enabled as deployment.md says, and a TCG
# domain with direct kernel boot (the 6.1 guest kernel, a busybox initramfs
# running tests/libvirt/guest.sh) is defined with hostclock.xml's element.
# Checked: virsh start runs the hook, whose agent serves the region, owned
# by the QEMU user, before QEMU maps it; in the guest hostclock binds, its
# PTP clock reads once paired and agrees with the agent's reference within
# the comparator's uncertainty + 2 us; virsh save and virsh restore, once
# as deployment.md's runbook (restore --paused, the agent has taken the
# region over, resume) and once plainly: the hook stops the agent on save
# and starts a new one before the restoring QEMU, which copies the saved
# region over the new one; the agent takes it over, and the guest runs on
# with its device, counts one disruption and serves time again within the
# same bound; the hook's "migrate begin" (a migration's destination) asks
# for nothing; then virsh migrate --live --suspend to a second libvirtd
# (a second overlay in mount and PID namespaces of its own, with its own
# host UUID, on the same loopback network; it reports its verdicts through
# a shared directory): the source's hook stops its agent and removes the
# region, the destination's serves a new one before its QEMU starts, the
# agent takes the copy over, and after virsh resume the guest serves time
# as after a restore; virsh destroy there stops the agent and removes the
# region; a domain whose region is in /dev/shm (where libvirt's
# own <shmem> puts it) does not start, and the agent refuses that directory.
#
# Needs scripts/install-deps.sh deb (the packages, the bookworm chroot) and
# qemu (busybox-static for the guest's initramfs, the 6.1 guest kernel).
#
# usage: scripts/libvirt-test.sh     prints "N passed, N failed"

set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
vm=hctest
line=6.1
limit=${HOSTCLOCK_GUEST_TIMEOUT:-180}

log() { printf 'libvirt-test: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

passed=0 failed=0

# ---- inside the namespace and the chroot ---------------------------------

uri=qemu:///system
virsh() { command virsh -c "$uri" "$@"; }

inside_cleanup() {
	virsh destroy "$vm" >/dev/null 2>&1 || true
	virsh destroy "$vm-shm" >/dev/null 2>&1 || true
	for p in ${cmp_pid:-} ${libvirtd_pid:-} ${virtlogd_pid:-}; do kill "$p" 2>/dev/null || true; done
	for p in ${cmp_pid:-} ${libvirtd_pid:-} ${virtlogd_pid:-}; do wait "$p" 2>/dev/null || true; done
}

# domain_xml NAME REGION: the test's domain, with hostclock.xml's element
# for REGION and the comparator's device added to it
domain_xml() {
	local name=$1 region=$2 img=/var/lib/libvirt/images/$vm
	cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$img/vmlinuz</kernel>
    <initrd>$img/initrd.cpio.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet loglevel=4 tsc=reliable</cmdline>
  </os>
  <cpu mode='maximum'/>
  <features><acpi/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/$name-console.log' append='on'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
EOF
	sed -e '/^<!--/,/-->$/d' -e "s|mem-path=/run/hostclock/vm1,|mem-path=$region,|" \
		-e "s|^</qemu:commandline>|  <qemu:arg value='-object'/>\\
  <qemu:arg value='memory-backend-file,id=hctestcmp,share=on,mem-path=/run/hctest/compare,size=4K'/>\\
  <qemu:arg value='-device'/>\\
  <qemu:arg value='ivshmem-plain,memdev=hctestcmp,master=on'/>\\
</qemu:commandline>|" /usr/share/hostclockd/libvirt/hostclock.xml
	echo "</domain>"
}

# start_time PID: when the process started (clock ticks since boot)
start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# overwrites REGION: how many times the region's agent took over a region
# another writer (QEMU loading a saved or migrated domain) had replaced
overwrites() { hostclockctl --region "$1" state 2>/dev/null | sed -n 's/.* overwrites=\([0-9]*\).*/\1/p'; }

# guest_states MARK: the guest's state lines after line MARK of its console
guest_states() { tr -d '\r' <"$console" 2>/dev/null | tail -n "+$(($1 + 1))" | grep '^HCTEST state '; }

# state_field KEY LINE
state_field() { echo "$2" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# serving LINE: the state line shows the guest's clock serving time and
# its PTP clock within the comparator's uncertainty + 2 us of the agent's
# reference, measured with an uncertainty of at most 10 us
serving() {
	local st off unc
	st=$(state_field status "$1") off=$(state_field offset_ns "$1") unc=$(state_field unc_ns "$1")
	case $st in synchronized|freerunning) ;; *) return 1 ;; esac
	[ -n "$off" ] && [ -n "$unc" ] && [ "$unc" -le 10000 ] && [ "${off#-}" -le $((unc + 2000)) ]
}

# taken_over HOW MARK DISRUPTIONS WHAT: after a restore or an incoming
# migration (WHAT: the "restoring" or "destination" QEMU), the hook's new
# agent served the region before that QEMU started, the agent took over
# the region QEMU copied, and the guest (its state lines after line MARK
# of the console) runs on with its device, one disruption more than
# DISRUPTIONS and its clock serving. HOW "running": libvirt resumed the
# guest itself; otherwise it waits paused for virsh resume. Sets $qpid
# and $apid to the new QEMU and agent.
taken_over() {
	local how=$1 mark=$2 dis0=$3 what=$4 old="$qpid $apid" line i st a q

	qpid=$(cat "/run/libvirt/qemu/$vm.pid" 2>/dev/null)
	apid=$(cat "$region.hook-pid" 2>/dev/null)
	qpid=${qpid:-none} apid=${apid:-none}
	a=$(start_time "$apid") q=$(start_time "$qpid")
	hc_check "$how: the hook's new agent ($apid) started before the $what QEMU ($qpid) and serves $region" \
		sh -c "echo 'started at tick: agent ${a:-none}, QEMU ${q:-none}; before: QEMU and agent $old';
			[ '$old' != '$qpid $apid' ] && [ -n '$a' ] && [ -n '$q' ] && [ '${a:-0}' -le '${q:-0}' ] &&
			hostclockctl --region $region state"
	hc_check "$how: the $what QEMU maps the region" \
		sh -c "grep '/run/hostclock/$vm\$' /proc/$qpid/maps | grep -q ' rw-s '"
	# the agent notices QEMU's copy within its 10 ms watch
	for i in $(seq 20); do [ "$(overwrites "$region")" = 1 ] && break; sleep 0.1; done
	hc_check "$how: the agent took over the region QEMU copied (overwrites=$(overwrites "$region"))" \
		test "$(overwrites "$region")" = 1
	grep 'region written by another writer' "/var/log/libvirt/qemu/$vm-hostclockd.log" 2>/dev/null |
		tail -n 1 | sed 's/^/     /'
	if [ "$how" != running ]; then
		hc_check "$how: the domain is paused until virsh resume" \
			sh -c "[ \"\$(virsh domstate $vm)\" = paused ]"
		hc_check "$how: virsh resume" virsh resume "$vm"
	fi

	# the guest's own view, from its state lines since
	for i in $(seq 60); do
		line=$(guest_states "$mark" | tail -n 1)
		serving "$line" && break
		st=$(virsh domstate "$vm" 2>&1)
		[ "$st" = running ] || { echo "     the domain is $st"; break; }
		sleep 1
	done
	echo "     $how: ${i}s after: $(guest_states "$mark" | wc -l) state lines, last: ${line#HCTEST state }"
	echo "     $how: the guest's states since (status offset/uncertainty ns):" \
		"$(guest_states "$mark" | sed 's/.* status=\([^ ]*\).* offset_ns=\([^ ]*\) unc_ns=\([^ ]*\).*/\1 \2\/\3,/' | xargs)"
	hc_check "$how: the guest runs on and still sees its device" \
		sh -c "[ \"\$(virsh domstate $vm)\" = running ] && echo '$line' | grep -q ' bound=1 '"
	hc_check "$how: the guest saw one disruption (before ${dis0:-none}, after $(state_field disruptions "$line"))" \
		test -n "$dis0" -a "$(state_field disruptions "$line")" = "$((${dis0:-0} + 1))"
	hc_check "$how: the guest's clock serves again ($(state_field status "$line")), PTP clock within the comparator's uncertainty + 2 us (offset $(state_field offset_ns "$line") ns, uncertainty $(state_field unc_ns "$line") ns)" \
		serving "$line"
}

# guest_before: $mark, the console's length, and $dis0, the guest's
# disruption count, from its first state line on
guest_before() {
	local i
	for i in $(seq 10); do [ -n "$(guest_states 0)" ] && break; sleep 1; done
	mark=$(tr -d '\r' <"$console" 2>/dev/null | wc -l)
	dis0=$(state_field disruptions "$(guest_states 0 | tail -n 1)")
}

# save_restore HOW: virsh save, then virsh restore the way HOW says:
# "paused" as deployment.md's runbook (restore --paused, the agent has
# taken the region over, virsh resume), "running" as a plain virsh restore
# that resumes the guest at once.
save_restore() {
	local how=$1 save=/var/lib/libvirt/images/$vm/$vm.save mark dis0 opts=

	[ "$how" = paused ] && opts=--paused
	guest_before
	hc_check "$how: virsh save, every ivshmem device master=on" virsh save "$vm" "$save"
	hc_check "$how: saved: the domain is shut off, its agent ($apid) stopped and the region removed" \
		sh -c "virsh domstate $vm; [ \"\$(virsh domstate $vm)\" = 'shut off' ] &&
			! kill -0 $apid 2>/dev/null && ! ls $region* 2>/dev/null"
	# shellcheck disable=SC2086 # no option or one
	hc_check "virsh restore $opts" virsh restore $opts "$save"
	taken_over "$how" "$mark" "$dis0" restoring
	rm -f "$save"
}

# host_setup ROLE: this host's part of deployment.md (the package, the
# hook, the agent's options), its libvirtd and virtlogd, the guest's
# files and the comparator; ROLE "dst", the second host, has a host UUID
# of its own and its libvirtd's sockets in /hc-xfer/dst for the first
host_setup() {
	local role=$1 i

	hc_check "hostclockd package installed" dpkg -i /hc-debs/hostclockd_*_amd64.deb
	mkdir -p /etc/libvirt/hooks/qemu.d
	ln -s /usr/share/hostclockd/libvirt/qemu-hook /etc/libvirt/hooks/qemu.d/hostclock
	user=$(sed -n 's/^#*user = "\(.*\)"/\1/p' /etc/libvirt/qemu.conf | head -n 1)
	echo "HOSTCLOCKD_OPTS=\"--owner $user --group $user\"" >"/etc/default/hostclockd-$vm"
	# the test's namespace must not make cgroups on this machine
	echo 'cgroup_controllers = [ ]' >>/etc/libvirt/qemu.conf
	rm -f /etc/libvirt/qemu/networks/autostart/*.xml
	# libvirt refuses to migrate between daemons of one host UUID
	if [ "$role" = dst ]; then
		mkdir -p /hc-xfer/dst
		printf 'host_uuid = "%s"\nunix_sock_dir = "/hc-xfer/dst"\n' \
			6c7a1b3e-0000-4000-8000-00000000d057 >>/etc/libvirt/libvirtd.conf
	else
		echo 'host_uuid = "6c7a1b3e-0000-4000-8000-000000005c00"' >>/etc/libvirt/libvirtd.conf
	fi

	virtlogd >/var/log/virtlogd.out 2>&1 &
	virtlogd_pid=$!
	libvirtd >/var/log/libvirtd.out 2>&1 &
	libvirtd_pid=$!
	for i in $(seq 100); do virsh version >/dev/null 2>&1 && break; sleep 0.2; done
	hc_check "libvirtd answers ($(libvirtd --version))" virsh version

	mkdir -p "/var/lib/libvirt/images/$vm"
	cp /hc-guest/vmlinuz /hc-guest/initrd.cpio.gz "/var/lib/libvirt/images/$vm/"
	mkdir -m 0755 /run/hctest
	/hc-tree/build/test/hc-compare-host /run/hctest/compare /usr/sbin/hostclockctl "$region" \
		2>/run/hctest/compare.log &
	cmp_pid=$!
	for i in $(seq 50); do [ -s /run/hctest/compare ] && break; sleep 0.1; done
	chown "$user:" /run/hctest/compare	# the test's own device, not the recipe's
}

# gone_checks: QEMU $qpid and agent $apid have exited, the region is removed
gone_checks() {
	hc_check "QEMU is gone" sh -c "! kill -0 $qpid 2>/dev/null"
	hc_check "the agent is gone (stopped by the hook)" sh -c "! kill -0 $apid 2>/dev/null"
	hc_check "the region, its lock and sockets are removed" \
		sh -c "ls -la /run/hostclock; ! ls $region* 2>/dev/null"
}

# migrate_out: virsh migrate --live --suspend to the second host, as
# deployment.md's runbook; the source's side is checked here, the
# destination's there (inside_dst), whose verdicts are counted here
migrate_out() {
	local x=/hc-xfer mark dis0 i out dst="qemu+unix:///system?socket=/hc-xfer/dst/libvirt-sock"

	guest_before
	for i in $(seq 150); do [ -e $x/dst-ready ] && break; sleep 0.2; done
	hc_check "migrate: the second host's libvirtd answers" virsh -c "$dst" version
	hc_check "migrate: virsh migrate --live --suspend to the second host" \
		timeout 120 virsh migrate --live --suspend "$vm" "$dst" tcp://127.0.0.1
	hc_check "migrate: on the source the domain is shut off (stopped, release)" \
		sh -c "[ \"\$(virsh domstate $vm)\" = 'shut off' ]"
	gone_checks
	echo "${dis0:-}" >$x/disruptions
	touch $x/migrated
	for i in $(seq 150); do [ -e $x/dst-done ] && break; sleep 1; done
	while IFS= read -r out; do
		case $out in
		"ok   "*) hc_ok "destination: ${out#ok   }" ;;
		"FAIL "*) hc_fail "destination: ${out#FAIL }" ;;
		*" passed, "*" failed") ;;
		*) printf '%s\n' "$out" ;;
		esac
	done <$x/dst.out
	[ -e $x/dst-done ] || hc_fail "destination: its checks did not end within 150 s"
}

# inside_dst: the second host; waits for the migrated domain, checks
# what the destination does, resumes the guest, destroys it
inside_dst() {
	local region=/run/hostclock/$vm console=/var/log/libvirt/qemu/$vm-console.log x=/hc-xfer
	local i qpid=none apid=none user
	set +e
	# this host's libvirtd, also for the virsh that checks run
	uri="qemu+unix:///system?socket=$x/dst/libvirt-sock"
	export LIBVIRT_DEFAULT_URI=$uri
	trap 'inside_cleanup; touch /hc-xfer/dst-done' EXIT

	host_setup dst
	touch $x/dst-ready
	for i in $(seq 600); do [ -e $x/migrated ] || [ -e $x/stop ] && break; sleep 0.5; done
	if [ -e $x/migrated ]; then
		taken_over migrate 0 "$(cat $x/disruptions)" destination
		hc_check "virsh destroy" virsh destroy "$vm"
		gone_checks
	fi
	echo "$passed passed, $failed failed"
}

inside() {
	local region=/run/hostclock/$vm console=/var/log/libvirt/qemu/$vm-console.log
	local i qpid apid out user
	# every step below is judged by check; none may end the test early
	set +e
	trap 'inside_cleanup; touch /hc-xfer/stop' EXIT

	host_setup src
	domain_xml "$vm" "$region" >/run/hctest/$vm.xml
	hc_check "virsh define" virsh define "/run/hctest/$vm.xml"
	hc_check "the defined domain carries hostclock.xml's region" \
		sh -c "virsh dumpxml $vm | grep -q \"mem-path=$region,\""
	hc_check "virsh start (the hook starts the agent first)" virsh start "$vm"

	qpid=$(cat "/run/libvirt/qemu/$vm.pid" 2>/dev/null)
	apid=$(cat "$region.hook-pid" 2>/dev/null)
	qpid=${qpid:-none} apid=${apid:-none}
	hc_check "the hook's agent ($apid) serves $region" \
		sh -c "tr '\\0' ' ' </proc/$apid/cmdline; hostclockctl --region $region state"
	hc_check "the region is the QEMU user's ($user), mode 0600, 8 KiB" \
		sh -c "stat -c '%U %a %s' $region; [ \"\$(stat -c '%U %a %s' $region)\" = '$user 600 8192' ]"
	hc_check "QEMU ($qpid, user $(stat -c %U "/proc/$qpid" 2>/dev/null)) maps the region" \
		sh -c "grep '/run/hostclock/$vm\$' /proc/$qpid/maps | grep -q ' rw-s '"

	for i in $(seq "$limit"); do
		grep -q '^HCTEST libvirt: guest checks done' "$console" 2>/dev/null && break
		[ "$(virsh domstate "$vm" 2>/dev/null)" = running ] ||
			{ echo "     the domain is $(virsh domstate "$vm" 2>&1) after ${i}s"; break; }
		sleep 1
	done
	echo "     waited ${i}s for the guest; console $(wc -c <"$console" 2>&1) bytes"
	while read -r out; do
		case $out in
		"HCTEST ok "*) hc_ok "guest: ${out#HCTEST ok }" ;;
		"HCTEST fail "*) hc_fail "guest: ${out#HCTEST fail }" ;;
		"HCTEST note "*) echo "     guest: ${out#HCTEST note }" ;;
		esac
	done < <(tr -d '\r' <"$console" 2>/dev/null)
	hc_check "the guest finished its checks" grep -q '^HCTEST libvirt: guest checks done' "$console"
	grep -q '^HCTEST libvirt: guest checks done' "$console" 2>/dev/null ||
		tail -n 30 "$console" 2>/dev/null | sed 's/^/  | /'

	# deployment.md's save and restore: first its runbook, then a plain
	# restore, which resumes the guest before anyone checked the agent
	save_restore paused
	save_restore running
	# what a destination's libvirt asks first for an incoming migration,
	# by itself: the XML back unchanged (no output), success, nothing
	# started yet (the migration below needs only the success)
	hc_check "the hook's \"migrate begin\" (a migration's destination) succeeds, prints nothing, starts nothing" \
		sh -c "out=\$(virsh dumpxml --migratable $vm |
			sed 's|/run/hostclock/$vm,|/run/hostclock/$vm-in,|' | /etc/libvirt/hooks/qemu.d/hostclock $vm-in migrate begin -) &&
			echo \"output: \$out\" && [ -z \"\$out\" ] && ! ls /run/hostclock/$vm-in* 2>/dev/null"

	# and to a second host: libvirt's own virsh migrate
	migrate_out
	grep -h 'hostclock hook' /var/log/libvirtd.out /var/log/libvirt/qemu/$vm.log 2>/dev/null |
		sed 's/^/     /' | tail -n 4

	# libvirt's <shmem> maps /dev/shm/NAME: refused by the agent, and a
	# region there makes the hook stop the start before QEMU runs
	hc_check "hostclockd refuses a region in /dev/shm" \
		sh -c "out=\$(timeout 10 hostclockd --foreground --region /dev/shm/$vm 2>&1); rc=\$?; echo \"\$out\"; [ \$rc = 1 ] && [ ! -e /dev/shm/$vm ]"
	domain_xml "$vm-shm" "/dev/shm/$vm-shm" >/run/hctest/$vm-shm.xml
	virsh define "/run/hctest/$vm-shm.xml" >/dev/null
	hc_check "a domain with its region in /dev/shm does not start, the hook says why" \
		sh -c "out=\$(virsh start $vm-shm 2>&1); rc=\$?; echo \"\$out\"; [ \$rc != 0 ] &&
			echo \"\$out\" | grep -q 'hostclock regions live in /run/hostclock' && [ ! -e /dev/shm/$vm-shm ]"
	virsh undefine "$vm-shm" >/dev/null
	hc_check "virsh undefine" virsh undefine "$vm"

	if [ "$failed" -gt 0 ]; then
		echo "  libvirtd's log tail:"
		tail -n 20 /var/log/libvirtd.out | sed 's/^/  | /'
		tail -n 20 "/var/log/libvirt/qemu/$vm.log" 2>/dev/null | sed 's/^/  | /'
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

if [ "${1:-}" = --inside ]; then
	inside
	exit
fi
if [ "${1:-}" = --inside-dst ]; then
	inside_dst
	exit
fi

# ---- on this machine ---------------------------------------------------

[ "$(id -u)" = 0 ] || die "must run as root (chroot, namespaces)"
cache=$(hc_cache_dir)/libvirt
work=$top/build/libvirt
pkgs="libvirt-daemon-system libvirt-clients qemu-system-x86"

# The chroot with libvirt: a copy of kchroot's bookworm, keyed by that
# chroot's stamp and age, so a chroot made again gives a new copy.
base=$("$top/scripts/kchroot.sh" bookworm)
recipe="recipe=1 packages=$pkgs base=$(sed -n 1p "$base/.hostclock-stamp") made=$(stat -c %Y "$base/.hostclock-stamp")"
root=$cache/root
in_root() {
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		mount -t proc proc "$1/proc"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$1/dev/pts"
		r=$1; shift
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"' in-root "$@"
}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ "$(cat "$root/.hostclock-libvirt" 2>/dev/null)" != "$recipe" ]; then
	log "making the libvirt chroot ($pkgs), a few minutes"
	rm -rf "$root.new" "$root"
	cp -a "$base" "$root.new"
	in_root "$root.new" apt-get update -qq >/dev/null || die "apt-get update in the chroot failed"
	# shellcheck disable=SC2086 # one word per package
	in_root "$root.new" apt-get install -y -qq --no-install-recommends $pkgs \
		>"$cache/install.log" 2>&1 || { tail -n 20 "$cache/install.log" >&2; die "installing libvirt failed"; }
	in_root "$root.new" apt-get clean
	echo "$recipe" >"$root.new/.hostclock-libvirt"
	mv "$root.new" "$root"
fi
flock -u 9

# the hostclockd package, the test programs, the 6.1 guest kernel and module
debs=$("$top/scripts/deb.sh" | tail -n 1)
make -s -C "$top" tools testbins >/dev/null || die "building the test programs failed"
read -r _ kver _ _ hkdir < <(HOSTCLOCK_KERNELS=$line "$top/scripts/klines.sh")
ko=$top/build/modules/$kver/hostclock.ko
if [ ! -f "$ko" ] || [ -n "$(cd "$top" && find drivers include Kbuild scripts/kfeatures.sh -newer "$ko" -print -quit)" ]; then
	HOSTCLOCK_KERNELS=$line "$top/scripts/build-modules.sh" >/dev/null || die "module build for $kver failed"
fi
kimg=$("$top/scripts/guest-kernel.sh" "$kver" host)
rm -rf "$work"
mods=$work/modroot/lib/modules/$kver
mkdir -p "$mods/extra"
cp "$ko" "$mods/extra/"
for m in modules.builtin modules.builtin.modinfo modules.order; do
	if [ -f "$kimg/lib/modules/$kver/$m" ]; then cp "$kimg/lib/modules/$kver/$m" "$mods/"; else : >"$mods/$m"; fi
done
depmod -b "$work/modroot" "$kver"
"$top/scripts/initramfs.sh" "$work/initrd.cpio.gz" "$top/tests/libvirt/guest.sh" \
	"$hkdir/.config:kernel.config" "$top/tests/integration/guest-lib.sh:hc-lib.sh" \
	"$mods:lib/modules/$kver" \
	"$top/build/test/hc-compare:bin/hc-compare" "$top/build/test/hc-ptp-check:bin/hc-ptp-check"
cp "$kimg/boot/vmlinuz-$kver" "$work/vmlinuz"

# a throwaway overlay of the chroot, in namespaces that end with this test
run=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$run"' EXIT
mkdir -p "$run/upper" "$run/work" "$run/merged"
log "libvirt in an overlay of $root (guest $kver)"
# host ROLE LOWER RUN TOP DEBS WORK: one host, in mount and PID namespaces
# of its own: an overlay of LOWER in RUN (RUN/dst for the second host),
# /hc-xfer shared by both hosts, then the test's ROLE in the chroot
host='
	set -e
	role=$1 lower=$2 run=$3 top=$4 debs=$5 work=$6
	r=$run
	[ "$role" = src ] || r=$run/$role
	mkdir -p "$r/upper" "$r/work" "$r/merged"
	m=$r/merged
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$r/upper,workdir=$r/work" "$m"
	mount -t proc proc "$m/proc"
	mount -t sysfs sysfs "$m/sys"
	# a /dev of its own (libvirt gives each QEMU a private /dev made from it)
	mount -t tmpfs -o mode=0755 tmpfs "$m/dev"
	for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
		IFS=: read -r d a b <<<"$n"
		mknod -m 0666 "$m/dev/$d" c "$a" "$b"
	done
	mkdir "$m/dev/pts" "$m/dev/shm"
	ln -s pts/ptmx "$m/dev/ptmx"
	ln -s /proc/self/fd "$m/dev/fd"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$m/dev/pts"
	for d in run tmp dev/shm; do mount -t tmpfs tmpfs "$m/$d"; done
	chmod 1777 "$m/tmp" "$m/dev/shm"
	for b in "$top:hc-tree" "$debs:hc-debs" "$work:hc-guest"; do
		mkdir -p "$m/${b#*:}"
		mount --bind -o ro "${b%%:*}" "$m/${b#*:}"
	done
	mkdir -p "$m/hc-xfer"
	mount --bind "$run/xfer" "$m/hc-xfer"
	opt=--inside
	[ "$role" = src ] || opt=--inside-$role
	exec chroot "$m" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive HOSTCLOCK_GUEST_TIMEOUT='"$limit"' \
		/bin/bash /hc-tree/scripts/libvirt-test.sh "$opt"'
mkdir -p "$run/xfer"
# two hosts on one loopback-only network; the second ends with the first
unshare --net --fork --kill-child -- /bin/bash -c '
	ip link set lo up
	unshare --mount --pid --fork --kill-child --propagation private -- \
		/bin/bash -c "$1" host dst "${@:2}" >"$3/xfer/dst.out" 2>&1 &
	dst=$!
	unshare --mount --pid --fork --kill-child --propagation private -- \
		/bin/bash -c "$1" host src "${@:2}"
	rc=$?
	kill "$dst" 2>/dev/null
	wait "$dst"
	exit $rc' libvirt-net "$host" "$root" "$run" "$top" "$debs" "$work" | tee "$run/result"
# the inner test prints its own count; without one, it broke off
tail -n 1 "$run/result" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$' ||
	{ echo "FAIL the test in the namespace broke off"; echo "0 passed, 1 failed"; exit 1; }
tail -n 1 "$run/result" | grep -q ' 0 failed$'
