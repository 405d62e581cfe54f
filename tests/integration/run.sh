#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run guest scenarios under QEMU TCG on each kernel line (scripts/klines.sh:
# 5.10, 6.1, 6.12 and 7.x; HOSTCLOCK_KERNELS chooses lines). Every scenario
# runs on the lines in HOSTCLOCK_FULL_LINES (default: 6.1 6.12); on the
# others, those marked "# hostclock-every-line: yes" (which keeps make test
# within its time budget). Each scenario gets a fresh guest with the
# hostclock.ko built for that kernel, installed under /lib/modules with the
# modules it needs from that kernel so that it autoloads, and three
# ivshmem-plain devices:
#
#   a hostclock region served by a real hostclockd (pairing mode);
#   a "foreign" 8 KiB region of zeros, which the driver must leave alone;
#   the comparator's region, served by hc-compare-host, through which the
#   guest measures its clocks against the agent's reference and asks for
#   agent commands (tests/integration/compare/).
#
# A scenario may add agent options with a line "# hostclock-agent: OPTIONS",
# QEMU arguments with "# hostclock-qemu: ARGS", and a second hostclock
# region with its own agent (a fourth ivshmem device) with
# "# hostclock-devices: 2" (or none of the ivshmem devices with 0: they
# block migration). "# hostclock-migrate: yes" lets the guest have its VM
# moved to a new QEMU (scripts/qemu-run.sh: live migration or snapshot
# restore, as the guest asks, as often as it asks), alternately to a
# second host side, as on another host: its own agent and comparator, whose
# reference the agent commands in "# hostclock-migrate-dst: CMD[; CMD...]"
# make differ from the first's, and back; a restore waits
# "# hostclock-restore-wait: SECONDS" (default 0) with the VM saved. With
# "# hostclock-devices: 0" both sides' QEMUs get the same arguments. Every
# ivshmem device is master=on (migratable). A scenario
# that needs longer than the default bound (HOSTCLOCK_GUEST_TIMEOUT, 120 s)
# states its own with "# hostclock-timeout: SECONDS". Words for the
# guest kernel's command line come from "# hostclock-cmdline: WORDS"
# (tsc=reliable is given unless "# hostclock-tsc-reliable: no"), and
# "# hostclock-cmdline-variants: WORDS" runs the scenario a second time with
# WORDS added, on each line in HOSTCLOCK_VARIANT_LINES (default: all but
# 6.1, whose preemption code 6.12 shares, for the time budget) whose
# kernel can take them (preempt= needs CONFIG_PREEMPT_DYNAMIC; the guest
# checks that the mode took effect).
# "# hostclock-lines: LINE..." limits a scenario to those lines (for the
# time budget: migration, whose every phase the real moves of
# live-migration and snapshot-restore repeat on every line).
# A scenario marked "# hostclock-named-only: yes" runs only when named on
# the command line (its suite runs it: metrics, by make monitoring-test).
# "# hostclock-as-booted: yes" runs the scenario a second time as users
# boot their guests, without tsc=reliable, on the lines in
# HOSTCLOCK_AS_BOOTED_LINES (default: 6.12): the kernel's TSC watchdog
# and boot-time checks then run, and may mark the TSC unstable and fall back
# to hpet (the scenario then sees hostclock's tsc-unstable state).
# The guest finds its kernel's configuration in /kernel.config.
# "# hostclock-peer-tests: yes" adds the kernel's selftests built by
# scripts/peer-tests.sh under /peer.
# On the "debug" line (scripts/debug-kernel.sh: KASAN, lockdep, full
# preemption; only when HOSTCLOCK_KERNELS names it) every bound is
# HOSTCLOCK_DEBUG_TIMEOUT_SCALE (4) times longer, the console shows the
# kernel's warnings too, and any report of those checkers on the console
# fails the scenario.
# Every process started here is stopped when the scenario ends, also on
# failure or interrupt. A failed scenario prints its failed checks, the
# guest console's tail and the agent's log. Consoles and host sides go to
# build/guest, or HOSTCLOCK_GUEST_OUT (two runs at once need two).
#
# usage: tests/integration/run.sh [SCENARIO ...]   (default: all scenarios;
#        named ones run on every line in HOSTCLOCK_KERNELS)

set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/lib.sh"
cd "$top"
limit=${HOSTCLOCK_GUEST_TIMEOUT:-120}
debug_scale=${HOSTCLOCK_DEBUG_TIMEOUT_SCALE:-4}
# what KASAN, lockdep, DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS and the rest print
debug_reports='BUG:|WARNING:|ODEBUG|inconsistent lock state|possible (circular|recursive) locking|sleeping function called from invalid context|Oops|Call Trace|general protection'
out=${HOSTCLOCK_GUEST_OUT:-$top/build/guest}	# consoles, initramfs, host sides
bin=$top/build/tools
tbin=$top/build/test
debs=$(hc_cache_dir)/debs
full_lines=" ${HOSTCLOCK_FULL_LINES:-6.1 6.12} "
as_booted_lines=" ${HOSTCLOCK_AS_BOOTED_LINES:-6.12} "
variant_lines=" ${HOSTCLOCK_VARIANT_LINES:-5.10 6.12 7.x debug} "
mkdir -p "$out"
passed=0 failed=0 failed_runs=()
host_pids=()

host_dirs=()
stop_host() {
	local p d i alive others=()
	# an agent restarted by the guest's agent-start (host-ctl.sh)
	for d in "${host_dirs[@]}"; do
		[ -s "$d/region.pid" ] || continue
		p=$(cat "$d/region.pid")
		host_pids+=("$p")
		others+=("$p")
		# the agent's CPU over its life, for the benchmarks
		[ -r "/proc/$p/stat" ] &&
			awk -v up="$(cut -d' ' -f1 /proc/uptime)" -v hz="$(getconf CLK_TCK)" \
				'{ printf "cpu_s=%.2f life_s=%.1f\n", ($14 + $15) / hz, up - $22 / hz }' \
				"/proc/$p/stat" >"$d/agent.cpu"
	done
	for p in "${host_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${host_pids[@]}"; do wait "$p" 2>/dev/null; done
	# those may not be our children: wait for them by polling, a bounded time
	for i in $(seq 30); do
		alive=
		for p in "${others[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=$p
		done
		[ -n "$alive" ] || break
		sleep 0.1
	done
	host_pids=()
	host_dirs=()
}
trap stop_host EXIT
trap 'stop_host; exit 130' INT TERM

scenarios=("$@")
# scenarios named on the command line run on every line asked for
explicit=${#scenarios[@]}
[ ${#scenarios[@]} -gt 0 ] || scenarios=(tests/integration/scenarios/*.sh)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

make -s tools testbins >/dev/null || { echo "FAIL building the host tools"; exit 1; }
[ -x "$debs/root-linuxptp/usr/sbin/phc_ctl" ] && [ -x "$debs/root-chrony/usr/sbin/chronyd" ] ||
	{ echo "FAIL chrony or linuxptp is not unpacked: run scripts/install-deps.sh guest"; exit 1; }

# start_host DIR DEVICES AGENT_OPTS...: agents and the comparator host side
start_host() {
	local dir=$1 devices=$2 i
	shift 2
	rm -rf "$dir"
	mkdir -p "$dir"
	head -c 8192 /dev/zero >"$dir/foreign"
	host_dirs+=("$dir")
	# --enable-faults: the scenarios inject faults through hostclockctl
	"$bin/hostclockd" --region "$dir/region" --foreground --enable-faults "$@" 2>"$dir/agent.log" &
	host_pids+=($!)
	# for host-ctl.sh's agent-kill and agent-start
	echo $! >"$dir/region.pid"
	printf '%s\n' --region "$dir/region" --foreground --enable-faults "$@" >"$dir/region.args"
	ln -s agent.log "$dir/region.log"
	if [ "$devices" = 2 ]; then
		"$bin/hostclockd" --region "$dir/region2" --foreground --enable-faults "$@" \
			2>"$dir/agent2.log" &
		host_pids+=($!)
	fi
	HOSTCLOCKCTL=$bin/hostclockctl HOSTCLOCKD=$bin/hostclockd \
		"$tbin/hc-compare-host" "$dir/compare" "$top/tests/integration/host-ctl.sh" "$dir/region" \
		2>"$dir/compare.log" &
	host_pids+=($!)
	for i in $(seq 50); do
		[ -S "$dir/region.ctl" ] && [ -s "$dir/compare" ] && return 0
		sleep 0.1
	done
	echo "host side did not come up:"
	cat "$dir/agent.log" "$dir/compare.log"
	return 1
}

# start_destination SCRIPT DIR DEVICES AGENT_OPTS...: the host side the VM
# migrates to, its reference changed by the scenario's agent commands
start_destination() {
	local sc=$1 dir=$2 devices=$3 cmd
	shift 3
	start_host "$dir" "$devices" "$@" || return 1
	while read -r cmd; do
		[ -n "$cmd" ] || continue
		# shellcheck disable=SC2086 # the command's words
		"$bin/hostclockctl" --region "$dir/region" $cmd >>"$dir/agent.log" 2>&1 ||
			{ echo "destination agent refused '$cmd'"; return 1; }
	done < <(sed -n 's/^# hostclock-migrate-dst: //p' "$sc" | tr ';' '\n')
}

# overwrites_cmd DIR: a command printing how often DIR's agent took its
# region back from a migration's copy (Documentation/migration.md)
overwrites_cmd() {
	echo "$bin/hostclockctl --region $1/region state | sed -n 's/.* overwrites=\([0-9]*\).*/\1/p'"
}

# ivshmem devices for QEMU, in the order the guest enumerates them
qemu_devices() {
	local dir=$1 devices=$2
	[ "$devices" = 0 ] && return 0
	echo -object memory-backend-file,id=hc0,share=on,mem-path="$dir/region",size=8K \
		-device ivshmem-plain,memdev=hc0,master=on \
		-object memory-backend-file,id=foreign,share=on,mem-path="$dir/foreign",size=8K \
		-device ivshmem-plain,memdev=foreign,master=on \
		-object memory-backend-file,id=cmp,share=on,mem-path="$dir/compare",size=4K \
		-device ivshmem-plain,memdev=cmp,master=on
	[ "$devices" = 2 ] &&
		echo -object memory-backend-file,id=hc1,share=on,mem-path="$dir/region2",size=8K \
			-device ivshmem-plain,memdev=hc1,master=on
	return 0
}

# kernel_module KIMG KVER NAME DIR: the kernel's module NAME, uncompressed
# (busybox's modprobe reads no .xz), into DIR; fails if there is none
kernel_module() {
	local f
	f=$(find "$1/lib/modules/$2/kernel" \( -name "$3.ko" -o -name "$3.ko.xz" \) | head -n 1)
	[ -n "$f" ] || return 1
	case $f in
	*.xz) xz -dc "$f" >"$4/$3.ko" ;;
	*) cp "$f" "$4/" ;;
	esac
}

# the module where modprobe finds it, with its aliases, and what it needs
# from this kernel (ptp and pps_core where they are modules, as on 5.10)
module_tree() {
	local kver=$1 ko=$2 kimg=$3 tree=$out/modroot-$1 extra dep deps m
	rm -rf "$tree"
	extra=$tree/lib/modules/$kver/extra
	mkdir -p "$extra"
	cp "$ko" "$extra/"
	# what hostclock.ko depends on, and what those depend on
	deps=$(modinfo -F depends "$ko" | tr , ' ')
	while [ -n "${deps// /}" ]; do
		read -r dep deps <<<"$deps"
		[ -f "$extra/$dep.ko" ] && continue
		kernel_module "$kimg" "$kver" "$dep" "$extra" || return 1
		deps="$deps $(modinfo -F depends "$extra/$dep.ko" | tr , ' ')"
	done
	# e1000, for the benchmark's NTP baseline over QEMU user networking;
	# ptp_vmclock, the kernel's own VMCLOCK driver (6.13+)
	for m in e1000 ptp_vmclock; do
		kernel_module "$kimg" "$kver" "$m" "$extra" || true
	done
	# Debian's 7.x packages ship no modules.builtin/order: depmod then
	# only lacks what it would know of built-in modules
	for m in modules.builtin modules.builtin.modinfo modules.order; do
		if [ -f "$kimg/lib/modules/$kver/$m" ]; then
			cp "$kimg/lib/modules/$kver/$m" "$tree/lib/modules/$kver/"
		else
			: >"$tree/lib/modules/$kver/$m"
		fi
	done
	depmod -b "$tree" "$kver" || return 1
	echo "$tree/lib/modules/$kver"
}

# run_scenario SCRIPT LINE KVER KIMG MODULES [CMDLINE WORDS]: one guest,
# with the kernel's configuration as /kernel.config for its scenario
run_scenario() {
	local sc=$1 line=$2 kver=$3 kimg=$4 modules=$5 extra=${6:-} name tag
	local reliable=tsc=reliable
	local initrd log run agent_opts qemu_opts devices bound migrate peers p dst qenv
	local start done_rc secs ok bad cmdline reports early
	name=$(basename "$sc" .sh)
	# "as-booted" leaves tsc=reliable out; hctest_as_booted (no kernel
	# parameter: the kernel passes it on to init) tells guest-lib that a
	# TSC the kernel marks unstable ends the scenario (tsc_unstable_end)
	if [ "$extra" = as-booted ]; then
		reliable=hctest_as_booted
		extra=
	fi
	tag=$kver${6:+ [$6]}
	initrd=$out/$name-$kver.cpio.gz
	log=$out/$name-$kver${6:+-${6//[^a-z0-9]/-}}.log
	run=$out/run-$name-$kver
	read -ra agent_opts <<<"$(sed -n 's/^# hostclock-agent: //p' "$sc")"
	read -ra qemu_opts <<<"$(sed -n 's/^# hostclock-qemu: //p' "$sc")"
	devices=$(sed -n 's/^# hostclock-devices: //p' "$sc")
	bound=$(sed -n 's/^# hostclock-timeout: //p' "$sc")
	cmdline="$(sed -n 's/^# hostclock-cmdline: //p' "$sc") $extra"
	grep -q '^# hostclock-tsc-reliable: no' "$sc" || cmdline="$reliable $cmdline"
	if [ "$line" = debug ]; then
		bound=$((${bound:-$limit} * debug_scale))
		cmdline="$cmdline loglevel=5"
	fi
	migrate=$(sed -n 's/^# hostclock-migrate: //p' "$sc")
	peers=()
	if grep -q '^# hostclock-peer-tests: yes' "$sc"; then
		scripts/peer-tests.sh "$tbin/peer" || exit 1
		for p in "$tbin"/peer/*; do
			peers+=("$p:peer/${p##*/}")
		done
	fi
	scripts/initramfs.sh "$initrd" "$sc" "$ko:hostclock.ko" "$hkdir/.config:kernel.config" \
		"$out/hostclock.version:hostclock.version" \
		"tests/integration/guest-lib.sh:hc-lib.sh" \
		"$modules:lib/modules/$kver" \
		"$tbin/hc-compare:bin/hc-compare" "$tbin/hc-ptp-check:bin/hc-ptp-check" \
		"$tbin/hc-dev-check:bin/hc-dev-check" "$tbin/hc-uevent:bin/hc-uevent" \
		"$tbin/hc-readcost:bin/hc-readcost" "$tbin/hc-hammer:bin/hc-hammer" \
		"$bin/hostclock-dump:bin/hostclock-dump" \
		"tools/exporter/hostclock-guest-metrics:bin/hostclock-guest-metrics" \
		"$debs/root-linuxptp/usr/sbin/phc_ctl:bin/phc_ctl" \
		"$debs/root-linuxptp/usr/sbin/phc2sys:bin/phc2sys" \
		"$debs/root-chrony/usr/sbin/chronyd:bin/chronyd" "${peers[@]}" || exit 1
	start=$(date +%s)
	dst=
	[ -n "$migrate" ] && [ "${devices:-1}" != 0 ] && dst=$run-dst
	for attempt in 1 2; do
		if start_host "$run" "${devices:-1}" "${agent_opts[@]}" &&
		   { [ -z "$dst" ] || start_destination "$sc" "$dst" "${devices:-1}" "${agent_opts[@]}"; }; then
			qenv=("HOSTCLOCK_QEMU_MIGRATE=$migrate" "HOSTCLOCK_QEMU_STATE=$run/vm"
			      "HOSTCLOCK_QEMU_RESTORE_WAIT=$(sed -n 's/^# hostclock-restore-wait: //p' "$sc")"
			      "HOSTCLOCK_GUEST_CMDLINE=$cmdline")
			[ -z "$dst" ] ||
				qenv+=("HOSTCLOCK_QEMU_DST_ARGS=$(qemu_devices "$dst" "${devices:-1}") ${qemu_opts[*]}"
				       "HOSTCLOCK_QEMU_OVERWRITES_1=$(overwrites_cmd "$run")"
				       "HOSTCLOCK_QEMU_OVERWRITES_2=$(overwrites_cmd "$dst")")
			# shellcheck disable=SC2046 # one word per QEMU argument
			env "${qenv[@]}" scripts/qemu-run.sh "$kimg" "$kver" "$initrd" "$log" "${bound:-$limit}" \
				$(qemu_devices "$run" "${devices:-1}") "${qemu_opts[@]}"
			done_rc=$?
		else
			done_rc=1
			: >"$log"
		fi
		stop_host
		# QEMU 10.0.2 under TCG once aborted in SeaBIOS (testing.md): a QEMU
		# that died of an assertion before the guest printed a line is run
		# once more, and says so
		qemu_abort=$(grep -m1 -a 'qemu-system.*Assertion' "$log")
		if [ "$attempt" = 1 ] && [ "$done_rc" -ne 0 ] && [ -n "$qemu_abort" ] &&
		   ! grep -q '^HCTEST' "$log"; then
			echo "     $tag: QEMU aborted before the guest ran, once more: $qemu_abort"
			cp "$log" "$log.aborted"
			continue
		fi
		break
	done
	secs=$(($(date +%s) - start))
	ok=$(grep -c '^HCTEST ok ' "$log")
	bad=$(grep -c '^HCTEST fail ' "$log")
	grep '^HCTEST note ' "$log" | sed "s/^HCTEST note /     $tag: /"
	reports=
	[ "$line" = debug ] && reports=$(grep -v '^HCTEST' "$log" | grep -E "$debug_reports")
	if [ "$done_rc" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$ok" -gt 0 ] && [ -z "$reports" ]; then
		early=$(sed -n 's/^HCTEST ended-early //p' "$log" | head -n 1)
		echo "ok   $name on $line $tag: $ok checks (${secs}s)${early:+; ENDED EARLY: $early}"
		passed=$((passed + 1))
	else
		echo "FAIL $name on $line $tag (${secs}s):"
		grep '^HCTEST fail ' "$log"
		[ -z "$reports" ] || echo "$reports" | head -n 10 | sed 's/^/  debug kernel report: /'
		[ "$done_rc" -eq 0 ] || echo "  guest did not finish; console tail:"
		tail -n 40 "$log" | sed 's/^/  | /'
		echo "  agent log tail:"
		tail -n 10 "$run/agent.log" 2>/dev/null | sed 's/^/  | /'
		failed=$((failed + 1))
		failed_runs+=("$name on $line $tag")
	fi
}

# can_take CONFIG WORDS: the kernel can honour these command-line words
can_take() {
	local config=$1 w
	for w in $2; do
		case $w in
		preempt=*) grep -q '^CONFIG_PREEMPT_DYNAMIC=y' "$config" 2>/dev/null || return 1 ;;
		esac
	done
}

lines=$(scripts/klines.sh) || exit 1
# fd 3: nothing a scenario starts may read the list of lines
while read -r line kver kdir env hkdir <&3; do
	ko=build/modules/$kver/hostclock.ko
	if [ ! -f "$ko" ] || [ -n "$(find drivers include Kbuild scripts/kfeatures.sh -newer "$ko" -print -quit)" ]; then
		HOSTCLOCK_KERNELS=$line scripts/build-modules.sh >/dev/null ||
			{ echo "FAIL module build for $kver"; exit 1; }
	fi
	if [ "$line" = debug ]; then
		kimg=$(scripts/debug-kernel.sh image) || exit 1
	else
		kimg=$(scripts/guest-kernel.sh "$kver" "$env") || exit 1
	fi
	echo "$version" >"$out/hostclock.version"
	modules=$(module_tree "$kver" "$ko" "$kimg") || { echo "FAIL module tree for $kver"; exit 1; }

	for sc in "${scenarios[@]}"; do
		[ "$explicit" -gt 0 ] || ! grep -q '^# hostclock-named-only: yes' "$sc" || continue
		case $full_lines in
		*" $line "*) ;;
		*) [ "$explicit" -gt 0 ] || grep -q '^# hostclock-every-line: yes' "$sc" || continue ;;
		esac
		only=" $(sed -n 's/^# hostclock-lines: //p' "$sc") "
		[ "$explicit" -gt 0 ] || [ "$only" = "  " ] || [[ $only == *" $line "* ]] || continue
		run_scenario "$sc" "$line" "$kver" "$kimg" "$modules"
		variants=$(sed -n 's/^# hostclock-cmdline-variants: //p' "$sc")
		case $variant_lines in *" $line "*) ;; *) variants= ;; esac
		if [ -n "$variants" ]; then
			if can_take "$hkdir/.config" "$variants"; then
				run_scenario "$sc" "$line" "$kver" "$kimg" "$modules" "$variants"
			else
				echo "     $kver: $(basename "$sc" .sh) not run with '$variants': this kernel cannot take it"
			fi
		fi
		case $as_booted_lines in
		*" $line "*)
			grep -q '^# hostclock-as-booted: yes' "$sc" &&
				run_scenario "$sc" "$line" "$kver" "$kimg" "$modules" as-booted ;;
		esac
	done
done 3<<<"$lines"
# a CI log shows only its tail: name the failed runs there
for f in "${failed_runs[@]}"; do echo "failed: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
