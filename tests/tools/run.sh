#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host tools as a user runs them: hostclockd, hostclockctl and
# hostclock-dump, on regions in a private directory; then the attacks of
# issue 13 against them (Documentation/hostclockd.md, threat model), run as
# root with "nobody" as the local attacker, the QEMU user or the hostile
# guest. Every process this starts is stopped on exit.
#
# usage: tests/tools/run.sh [BUILD_DIR]

set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "${1:-$top/build}/tools" && pwd) || exit 1
dir=$(mktemp -d /tmp/hostclock-tools.XXXXXX)
# root's and 0755: a directory the agent trusts, that "nobody" (QEMU) can enter
chmod 0755 "$dir"
pids=()
passed=0 failed=0

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
# interrupted (a timeout): stop, rather than run on without $dir
trap 'exit 130' INT TERM

check() {	# check NAME COMMAND...: the command's exit status is the verdict
	local name=$1
	shift
	if "$@" >"$dir/out" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		sed 's/^/  | /' "$dir/out" | tail -n 15
	fi
}

not_running() {	# not_running PID
	! kill -0 "$1" 2>/dev/null
}

exits() {	# exits CODE COMMAND...: succeed if COMMAND exits with CODE
	local want=$1 rc
	shift
	"$@"
	rc=$?
	[ "$rc" -eq "$want" ] || { echo "exit status $rc, expected $want"; return 1; }
}

start_agent() {	# start_agent REGION ARGS...: foreground agent, waits for its page
	local region=$1 i
	shift
	"$bin/hostclockd" --region "$region" --foreground --log-level warning "$@" \
		2>>"$dir/agent.log" &
	pids+=($!)
	# a stopped agent's page is still valid: wait for this one's
	for i in $(seq 50); do
		{ "$bin/hostclock-dump" "$region" 2>/dev/null || true; } |
			grep -q '^agent_state  *running$' && return 0
		sleep 0.1
	done
	return 1
}

json_field() {	# json_field FILE KEY: print a key of a JSON object
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v))' "$1" "$2"
}

r=$dir/vm0
ctl=("$bin/hostclockctl" --region "$r")

check "agent starts and publishes a valid page" start_agent "$r" --tsc identity --interval 100 \
	--enable-faults

check "dump: valid page exits 0" exits 0 "$bin/hostclock-dump" "$r"
"$bin/hostclock-dump" --json --counter now "$r" >"$dir/page.json" 2>&1
check "dump --json: every ABI field, valid, error null, utc" python3 - "$dir/page.json" <<'PY'
import json, sys, time
d = json.load(open(sys.argv[1]))
fields = """magic size version counter_id time_type seq_count disruption_marker flags
clock_status leap_second_smearing_hint tai_offset_sec leap_indicator counter_period_shift
counter_value counter_period_frac_sec counter_period_esterror_rate_frac_sec
counter_period_maxerror_rate_frac_sec time_sec time_frac_sec time_esterror_nanosec
time_maxerror_nanosec vm_generation_counter""".split()
missing = [f for f in fields if f not in d]
assert not missing, f"missing {missing}"
assert d["valid"] is True and d["error"] is None, (d["valid"], d["error"])
assert d["magic"] == 0x4b4c4356 and d["counter_id"] == 1
utc = d["utc"]["sec"] + d["utc"]["nsec"] / 1e9
assert abs(utc - time.time()) < 0.5, f"utc {utc} vs now {time.time()}"
PY
check "dump text names the verdict" grep -q '^valid  *yes$' <("$bin/hostclock-dump" "$r")
check "dump shows page 1" grep -q '^agent_state  *running$' <("$bin/hostclock-dump" "$r")

check "ctl: corrupt magic answers ok" "${ctl[@]}" corrupt magic
"$bin/hostclock-dump" --json "$r" >"$dir/bad.json"
check "dump: invalid page exits 2" exits 2 "$bin/hostclock-dump" "$r"
check "dump --json: valid false, error bad_magic" \
	test "$(json_field "$dir/bad.json" valid) $(json_field "$dir/bad.json" error)" = 'false "bad_magic"'
check "dump text: no (bad_magic)" grep -q '^valid  *no (bad_magic)$' <("$bin/hostclock-dump" "$r")
check "ctl: restore" "${ctl[@]}" restore
check "dump: valid again after restore" exits 0 "$bin/hostclock-dump" "$r"

check "ctl: now gives the reference" grep -q '^ok reference_ns=' <("${ctl[@]}" now)
check "ctl: rate accepts ppm" "${ctl[@]}" rate 100ppm
check "ctl: state shows the rate" grep -q 'rate_ppb=100000' <("${ctl[@]}" state)
check "ctl: unknown command exits 1" exits 1 "${ctl[@]}" sideways
check "ctl: no agent exits 2" exits 2 "$bin/hostclockctl" --socket "$dir/nothing.ctl" now

check "dump: missing file exits 1" exits 1 "$bin/hostclock-dump" "$dir/nothing"
check "dump: no arguments exits 1" exits 1 "$bin/hostclock-dump"
head -c 64 /dev/zero >"$dir/tiny"
check "dump: a file too small exits 1" exits 1 "$bin/hostclock-dump" "$dir/tiny"
head -c 8192 /dev/zero >"$dir/zero"
check "dump: an all-zero region is invalid (bad_magic)" \
	grep -q '"error": "bad_magic"' <("$bin/hostclock-dump" --json "$dir/zero")

check "agent: --help exits 0" exits 0 "$bin/hostclockd" --help
check "agent: no --region exits 1" exits 1 "$bin/hostclockd" --foreground
for w in 0 1001 5x; do
	check "agent: --watch $w is refused" \
		grep -q -- '--watch is 1..1000 ms' <("$bin/hostclockd" --region "$dir/w" --watch "$w" --foreground 2>&1)
done
cp "$dir/zero" "$dir/open"; chmod 0666 "$dir/open"
check "agent: refuses a world-writable region" \
	grep -q 'world-writable' <("$bin/hostclockd" --region "$dir/open" --foreground 2>&1)
head -c 4096 /dev/zero >"$dir/short"
check "agent: refuses a region of the wrong size" \
	grep -q 'size 4096' <("$bin/hostclockd" --region "$dir/short" --foreground 2>&1)
check "agent: refuses a bad mapping" \
	grep -q 'unknown TSC mapping' <("$bin/hostclockd" --region "$dir/x" --tsc magic -f 2>&1)
check "agent: kvm mode without that VM fails clearly" \
	grep -q 'no KVM VM of process' <("$bin/hostclockd" --region "$dir/x" --tsc kvm:1 \
		--kvm-debugfs "$dir" -f 2>&1)

# A clean stop leaves a decodable page that says the agent is gone.
kill -TERM "${pids[0]}"
wait "${pids[0]}" 2>/dev/null
check "SIGTERM: page 1 says stopped" grep -q '^agent_state  *stopped$' <("$bin/hostclock-dump" "$r")
check "SIGTERM: page says unreliable" \
	grep -q '^clock_status (name)  *unreliable$' <("$bin/hostclock-dump" "$r")
check "SIGTERM: control sockets removed" test ! -e "$r.ctl" -a ! -e "$r.ro.ctl"

# Restarting on the same region: a new disruption marker, same VM generation.
"$bin/hostclock-dump" --json "$r" >"$dir/old.json"
check "restart on the same region" start_agent "$r" --tsc identity --interval 100
"$bin/hostclock-dump" --json "$r" >"$dir/new.json"
check "restart: fresh disruption marker" \
	test "$(json_field "$dir/old.json" disruption_marker)" != "$(json_field "$dir/new.json" disruption_marker)"
check "restart: vm generation kept" \
	test "$(json_field "$dir/old.json" vm_generation_counter)" = "$(json_field "$dir/new.json" vm_generation_counter)"

# Daemon mode: detaches, keeps publishing, stops on SIGTERM.
d=$dir/vm1
"$bin/hostclockd" --region "$d" --tsc identity --interval 100 >/dev/null 2>&1
sleep 0.5
dpid=$(pgrep -f "hostclockd --region $d " | head -n 1)
[ -n "$dpid" ] && pids+=("$dpid")
check "daemon: detached and publishing" test -n "$dpid" -a -S "$d.ctl"
"$bin/hostclock-dump" --json "$d" >"$dir/d1.json"; sleep 0.5
"$bin/hostclock-dump" --json "$d" >"$dir/d2.json"
check "daemon: page keeps updating" \
	test "$(json_field "$dir/d1.json" seq_count)" != "$(json_field "$dir/d2.json" seq_count)"
[ -n "$dpid" ] && kill -TERM "$dpid"
sleep 0.3
check "daemon: stopped by SIGTERM" test ! -e "$d.ctl"

# Issue 13 item 11: a relative --region in daemon mode keeps its sockets
# beside the region (daemon() changes to /, after every path is resolved).
(cd "$dir" && "$bin/hostclockd" --region relvm --tsc identity >/dev/null 2>&1)
sleep 0.5
rpid=$(pgrep -f "hostclockd --region relvm " | head -n 1)
[ -n "$rpid" ] && pids+=("$rpid")
check "daemon, relative --region: socket beside the region" test -S "$dir/relvm.ctl" -a ! -e /relvm.ctl
check "daemon, relative --region: hostclockctl reaches it" "$bin/hostclockctl" --region "$dir/relvm" state
[ -n "$rpid" ] && kill -TERM "$rpid"

# Pairing with no guest answering: the page says it has no time yet.
p=$dir/vm2
check "pairing, no guest: agent starts" start_agent "$p"
"$bin/hostclock-dump" --json "$p" >"$dir/p.json"
check "pairing, no guest: initializing, no counter, exit 2" \
	test "$(json_field "$dir/p.json" clock_status) $(json_field "$dir/p.json" counter_id) $(json_field "$dir/p.json" error)" = '1 255 "no_counter"'

# A region for QEMU running as another user.
o=$dir/vm3
check "--owner/--group: agent starts" start_agent "$o" --tsc identity --owner nobody --group nogroup
check "--owner/--group: region belongs to nobody:nogroup, mode 0600" \
	test "$(stat -c '%U:%G %a' "$o")" = "nobody:nogroup 600"

# ---- Issue 13: the agent on a shared, multi-tenant host ----
# "nobody" plays every untrusted party; helpers run as it through setpriv.
# An agent that should refuse to start runs under "timeout 5": without the
# defence it would run on, and the check fail, not hang.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
cc -O2 -Wall -D_GNU_SOURCE -I"$top/include" -o "$dir/hc-hostile" "$top/tests/tools/hostile.c" ||
	echo "FAIL building tests/tools/hostile.c"
agent_pid() {	# agent_pid REGION: the foreground agent serving REGION
	pgrep -f "hostclockd .*--region $1 " | head -n 1
}
stop_pid() {	# stop_pid PID: SIGTERM and wait
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
}
valid_soon() {	# valid_soon REGION: a valid page from a running agent within 2 s
	for _ in $(seq 20); do
		"$bin/hostclock-dump" "$1" 2>/dev/null | grep -q '^agent_state  *running$' &&
			"$bin/hostclock-dump" "$1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# Items 1 and 6: a shared directory (like /dev/shm) where a local user has
# made the region (keeping write access through the agent's chown) or
# squats its socket. The agent refuses the directory itself.
shared=$dir/shared
mkdir -m 1777 "$shared"
as_nobody sh -c "head -c 8192 /dev/zero >'$shared/vm'; chmod 0644 '$shared/vm'; : >'$shared/vm.ctl'"
check "item 1: a region pre-made by a local user in a shared directory is refused" \
	grep -q 'writable by everyone' <(timeout 5 "$bin/hostclockd" --region "$shared/vm" --owner daemon \
		--tsc identity -f 2>&1)
check "item 1: and it was not taken over (still nobody's, mode 0644)" \
	test "$(stat -c '%U %a' "$shared/vm")" = "nobody 644"
t=$dir/trusted-foreign
head -c 8192 /dev/zero >"$t"; chmod 0600 "$t"; chown nobody "$t"
check "item 1: an existing file the agent would not have made is refused" \
	grep -q 'not a region this agent made' <(timeout 5 "$bin/hostclockd" --region "$t" --tsc identity -f 2>&1)

# Item 5: a directory on the path that a user controls, swapped for a
# symlink to a root-only file of the right size.
mkdir -m 0700 "$dir/private"
head -c 8192 /dev/urandom >"$dir/private/victim"; chmod 0600 "$dir/private/victim"
sum=$(sha1sum <"$dir/private/victim")
mkdir "$dir/userdir"; chown nobody "$dir/userdir"
as_nobody ln -s "$dir/private" "$dir/userdir/vms"
check "item 5: a region under a user's directory is refused" \
	grep -q 'owned by uid' <(timeout 5 "$bin/hostclockd" --region "$dir/userdir/vms/victim" --owner nobody \
		--tsc identity -f 2>&1)
ln -s "$dir/private" "$dir/rootlink"
check "item 5: a symlinked directory component is refused" \
	grep -q 'symlinks are refused anywhere' <(timeout 5 "$bin/hostclockd" --region "$dir/rootlink/victim" \
		--owner nobody --tsc identity -f 2>&1)
check "item 5: the victim is untouched: content and owner" \
	test "$(sha1sum <"$dir/private/victim") $(stat -c %U "$dir/private/victim")" = "$sum root"

# Item 4: one agent per region.
q=$dir/vm5
check "item 4: first agent starts" start_agent "$q" --tsc identity --interval 100
ino=$(stat -c %i "$q.ctl")
check "item 4: a second agent on the same region is refused" \
	grep -q 'another hostclockd serves this region' <(timeout 5 "$bin/hostclockd" --region "$q" --tsc identity -f 2>&1)
check "item 4: the first keeps its socket and answers" \
	test "$(stat -c %i "$q.ctl")" = "$ino" -a "$("$bin/hostclockctl" --region "$q" state | cut -c1-2)" = ok

# Item 7: reading is open, changing is root's (or the admin's), faults
# only with --enable-faults.
check "item 7: without --enable-faults, step is refused" \
	grep -q 'fault injection is disabled' <("$bin/hostclockctl" --region "$q" step 1000000000)
check "item 7: ... and so is status synchronized" exits 1 "$bin/hostclockctl" --region "$q" status synchronized
check "item 7: anyone may read now" as_nobody "$bin/hostclockctl" --region "$q" now
check "item 7: the read-only socket changes nothing" \
	grep -q 'permission denied' <(as_nobody "$bin/hostclockctl" --socket "$q.ro.ctl" update)
check "item 7: a local user cannot reach the control socket" \
	exits 2 as_nobody "$bin/hostclockctl" --region "$q" update
check "item 7: root may update" "$bin/hostclockctl" --region "$q" update
stop_pid "$(agent_pid "$q")"
check "item 7: --admin: agent starts" start_agent "$q" --tsc identity --admin daemon
check "item 7: --admin: that user may update" \
	setpriv --reuid=daemon --regid=daemon --clear-groups "$bin/hostclockctl" --region "$q" update
check "item 7: --admin: another user may not" exits 2 as_nobody "$bin/hostclockctl" --region "$q" update

# Item 6: hostclockctl trusts only an agent of root (or of the caller).
mkdir "$dir/nobodys"; chown nobody "$dir/nobodys"
as_nobody "$dir/hc-hostile" impostor "$dir/nobodys/vm.ro.ctl" 30 &
pids+=($!)
for _ in $(seq 20); do [ -S "$dir/nobodys/vm.ro.ctl" ] && break; sleep 0.1; done
check "item 6: hostclockctl refuses an impostor's socket" \
	grep -q 'neither root nor you' <("$bin/hostclockctl" --region "$dir/nobodys/vm" now 2>&1)

# Item 11: silent clients on the read-only socket do not stall the agent.
stop_pid "$(agent_pid "$q")"
check "item 11: agent for the silent-client test" start_agent "$q" --tsc identity --interval 100
as_nobody /usr/bin/python3 - "$q.ro.ctl" <<'PY' &
import socket, sys, time
held = []
for _ in range(16):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    held.append(s)
time.sleep(4)
PY
pids+=($!)
sleep 0.5
hb() { "$bin/hostclock-dump" --json "$q" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seq_count"])'; }
h1=$(hb); sleep 2; h2=$(hb)
check "item 11: 16 silent clients: the page still updates (seq $h1 -> $h2)" test $((h2 - h1)) -ge 20
check "item 11: 16 silent clients: root's control socket still answers" "$bin/hostclockctl" --region "$q" state

# Item 2: the QEMU user (--owner) truncates the region under the agent.
o2=$dir/vm6
check "item 2: agent with --owner nobody starts" start_agent "$o2" --tsc identity --interval 100 \
	--owner nobody
apid=$(agent_pid "$o2")
for _ in $(seq 10); do as_nobody truncate -s 0 "$o2"; sleep 0.05; done
check "item 2: the agent survives truncation by the QEMU user" kill -0 "$apid"
check "item 2: and the region is whole and valid again" valid_soon "$o2"
check "item 2: and the size was restored (8192)" test "$(stat -c %s "$o2")" = 8192
check "item 2: and it says so in its log" grep -q 'changed its size' "$dir/agent.log"
check "item 2: metrics count it" grep -q 'region_resizes=[1-9]' <("$bin/hostclockctl" --region "$o2" metrics)
# replaced under the agent: a clear exit, for the unit to restart from
mv "$dir/trusted-foreign" "$o2"
for _ in $(seq 30); do kill -0 "$apid" 2>/dev/null || break; sleep 0.1; done
check "item 2: a region replaced under the agent ends it" not_running "$apid"
check "item 2: ... saying why" grep -q 'was replaced under the agent' "$dir/agent.log"

# Item 10: a hostile guest floods the mailbox; the agent's CPU at its
# default interval stays under 1 % of a core, and no burst is served unasked.
# hostile_cpu MODE REGION AGENT_PID SECONDS FROM FOR: runs hc-hostile MODE
# on REGION as nobody for SECONDS (its output in $dir/MODE.out) and sets
# cpu_ns to the agent's run time (/proc/PID/schedstat, nanoseconds) from
# FROM s to FROM + FOR s after the guest's start.
hostile_cpu() {
	local cpu0 cpu1 hpid
	as_nobody "$dir/hc-hostile" "$1" "$2" "$4" >"$dir/$1.out" &
	hpid=$!
	pids+=("$hpid")
	sleep "$5"
	cpu0=$(cut -d' ' -f1 "/proc/$3/schedstat")
	sleep "$6"
	cpu1=$(cut -d' ' -f1 "/proc/$3/schedstat")
	wait "$hpid"
	cpu_ns=$((cpu1 - cpu0))
}
# A guest that writes its region once a second and answers nothing: each
# write is an adoption; past the eager asking of the first 16 (about 16 s)
# it is asked about every 4 s instead of every second (3 times from 20 s
# to 30 s in three runs here, the old agent 8). Runs beside the flood and
# the sly guest, checked after them.
gs=$dir/vm7w
check "item 10: agent for the scribbling guest" start_agent "$gs" --owner nobody
as_nobody "$dir/hc-hostile" scribble "$gs" 30 >"$dir/scribble.out" &
scribble_pid=$!
pids+=("$scribble_pid")
g=$dir/vm7
check "item 10: agent in pairing mode, --owner nobody" start_agent "$g" --owner nobody
gpid=$(agent_pid "$g")
hostile_cpu flood "$g" "$gpid" 8 1 6
echo "item 10: agent CPU while a guest floods the mailbox: $((cpu_ns / 1000000)) ms in 6 s"
check "item 10: agent CPU under 1 % of a core while flooded ($((cpu_ns / 1000000)) ms in 6 s)" \
	test "$cpu_ns" -lt 60000000
"$bin/hostclockctl" --region "$g" metrics >"$dir/flood.metrics"
check "item 10: exchanges started unasked are not served" \
	python3 - "$dir/flood.metrics" <<'PY'
import sys
m = dict(kv.split("=") for kv in open(sys.argv[1]).read().split()[1:])
print(m)
# one count per look that finds guest_seq moved: 20 looks a second
assert int(m["pair_unsolicited"]) > 60, m
assert int(m["pair_bursts"]) <= 3 * 8, m
PY
check "item 10: the flooded agent still publishes" kill -0 "$gpid"
stop_pid "$gpid"
# A guest that lets every request lapse and writes unasked only once it
# has: asked again within a second each time, the agent would keep a
# request up (a look every millisecond) half of the time. Measured from
# 8 s on, past the first requests of the backoff (at 1, 3 and 7 s, which
# cost the same with no guest at all).
g=$dir/vm7s
check "item 10: agent for the sly guest" start_agent "$g" --owner nobody
gpid=$(agent_pid "$g")
hostile_cpu sly "$g" "$gpid" 19 8 10
echo "item 10: agent CPU with a guest that ignores requests: $((cpu_ns / 1000000)) ms in 10 s ($(cat "$dir/sly.out"))"
check "item 10: agent CPU under 1 % of a core with a guest that ignores requests" \
	test "$cpu_ns" -lt 100000000
check "item 10: ... which it asks at most 6 times in 19 s (1, 2, 4, 8 s apart)" \
	test "$(sed -n 's/^requests=\([0-9]*\) .*/\1/p' "$dir/sly.out")" -le 6
stop_pid "$gpid"
wait "$scribble_pid"
echo "item 10: a guest scribbling once a second for 30 s: $(cat "$dir/scribble.out")"
check "item 10: ... is asked at most 4 times from 20 s to 30 s (one a second before)" \
	test "$(sed -n 's/.* from_20s=\([0-9]*\)$/\1/p' "$dir/scribble.out")" -le 4
check "item 10: the scribbled-on agent still publishes" kill -0 "$(agent_pid "$gs")"
stop_pid "$(agent_pid "$gs")"

# Item 11: hostclock-dump on a FIFO answers at once.
mkfifo "$dir/fifo"
check "item 11: dump on a FIFO exits 1 at once" exits 1 timeout 5 "$bin/hostclock-dump" "$dir/fifo"

# Issue 14: a migration (ivshmem master=on) or a snapshot restore copies the
# source's comparator region over the destination's. Its host side must
# take it over, and never run a second time a command the source ran.
cc -O2 -Wall -Wextra -Werror -o "$dir/hc-compare-host" "$top/tests/integration/compare/host.c" ||
	echo "FAIL building tests/integration/compare/host.c"
cr=$dir/vm10
check "issue 14: agent for the comparator" start_agent "$cr" --tsc identity
"$dir/hc-compare-host" "$dir/cmp" "$bin/hostclockctl" "$cr" 2>>"$dir/cmp.log" &
cpid=$!
pids+=("$cpid")
vmgen() { sed -n 's/.* vm_generation=\([0-9]*\) .*/\1/p' <("$bin/hostclockctl" --region "$cr" state); }
cmp_guest() {	# cmp_guest STEP: the guest's side of one step, in Python
	python3 - "$dir/cmp" "$1" "$cpid" <<'PY'
import mmap, os, struct, sys, time
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 4096)
step, pid = sys.argv[2], int(sys.argv[3])
u32 = lambda off: struct.unpack_from("<I", m, off)[0]
i32 = lambda off: struct.unpack_from("<i", m, off)[0]
put = lambda off, v: struct.pack_into("<I", m, off, v)
text = lambda off, n: m[off:off + n].split(b"\0")[0].decode()
MAGIC, PID, BURST, READY, GSEQ, HSEQ, REF, CSEQ, CDONE, CSTATUS, CMD, REPLY = \
    0, 4, 8, 12, 16, 20, 24, 40, 44, 48, 56, 312
def wait(off, v, s=2.0):
    end = time.time() + s
    while u32(off) != v:
        assert time.time() < end, f"offset {off}: {u32(off)}, waited for {v}"
        time.sleep(0.001)
def command(cmd):
    n = u32(CSEQ) + 1
    m[CMD:CMD + 256] = cmd.encode().ljust(256, b"\0")
    put(CSEQ, n)
    wait(CDONE, n, 10)
    return i32(CSTATUS), text(REPLY, 1024)
if step == "command":
    status, reply = command("state")
    assert status == 0 and reply.startswith("ok "), (status, reply)
elif step == "copy":
    # the source side's region, as a copy leaves it: its pid, a command
    # (vmgen) its host side ran but whose cmd_done it wrote too late
    img = bytearray(4096)
    struct.pack_into("<IIIIIIq", img, 0, 0x504d4348, 1, 3, 3, 100, 100, 0)
    struct.pack_into("<II", img, CSEQ, 5, 4)
    img[CMD:CMD + 5] = b"vmgen"
    m[0:4096] = bytes(img)
elif step == "after":
    time.sleep(0.3)
    assert u32(MAGIC) == 0x504d4348 and u32(PID) == pid, (hex(u32(MAGIC)), u32(PID), pid)
    assert u32(CDONE) == 5 and i32(CSTATUS) != 0 and text(REPLY, 1024).startswith("error"), \
        (u32(CDONE), i32(CSTATUS), text(REPLY, 1024))
    put(BURST, 4)
    wait(READY, 4)
    put(GSEQ, 101)
    wait(HSEQ, 101)
    ref = struct.unpack_from("<q", m, REF)[0] / 1e9
    assert abs(ref - time.time()) < 1, (ref, time.time())
    status, reply = command("state")
    assert status == 0 and reply.startswith("ok ") and u32(CDONE) == 6, (status, reply)
PY
}
for _ in $(seq 20); do [ -s "$dir/cmp" ] && break; sleep 0.1; done
check "issue 14: the comparator runs a guest's command" cmp_guest command
gen=$(vmgen)
# the copy lands between two of the host side's looks, as a migration's does
kill -STOP "$cpid"
cmp_guest copy
kill -CONT "$cpid"
check "issue 14: after a copy: own magic and pid, the pending command done (error), not run; exchanges and commands go on" \
	cmp_guest after
check "issue 14: the command found in the copy (vmgen) did not run again (vm_generation $gen -> $(vmgen))" \
	test "$(vmgen)" = "$gen"
check "issue 14: the comparator says it took the region over" \
	grep -q 'written by another writer' "$dir/cmp.log"
kill -TERM "$cpid"
stop_pid "$(agent_pid "$cr")"

# Issue 14: the running agent of a migration's destination finds the source
# agent's region copied over its own file (no guest here: both unpaired).
src=$dir/vm11 dst=$dir/vm12
check "issue 14: a source and a destination agent" start_agent "$src"
check "issue 14: ... both in pairing mode" start_agent "$dst" --log-level info
cp "$src" "$dir/src.img"
"$bin/hostclock-dump" --json "$dir/src.img" >"$dir/found.json"
"$bin/hostclock-dump" --json "$dst" >"$dir/own.json"
dd if="$dir/src.img" of="$dst" bs=8192 count=1 conv=notrunc status=none
# the agent's own watch (10 ms) adopts it: look at the page, not asking the
# agent (its state command would adopt the copy itself)
# (a marker unlike the found one and the agent's own: its next update
# alone would bring back its own)
found_marker=$(json_field "$dir/found.json" disruption_marker)
own_marker=$(json_field "$dir/own.json" disruption_marker)
watched=
for _ in $(seq 50); do
	"$bin/hostclock-dump" --json "$dst" >"$dir/watch.json" 2>/dev/null
	m=$(json_field "$dir/watch.json" disruption_marker)
	[ "$m" != "$found_marker" ] && [ "$m" != "$own_marker" ] && { watched=1; break; }
	sleep 0.01
done
check "issue 14: the agent's own watch adopts the copy, unasked (50 looks at the page)" test -n "$watched"
adopted() { "$bin/hostclockctl" --region "$dst" state | grep -q ' overwrites=1$'; }
for _ in $(seq 20); do adopted && break; sleep 0.05; done
"$bin/hostclockctl" --region "$dst" state >"$dir/dst.state"
"$bin/hostclock-dump" --json "$dst" >"$dir/adopted.json"
check "issue 14: the copy is adopted: state says overwrites=1, map_valid=0, initializing" \
	grep -q 'status=initializing counter_id=255 .* map_valid=0 .* overwrites=1$' "$dir/dst.state"
check "issue 14: adopted page: no time, seq past the found one, a marker unlike both" \
	python3 - "$dir/found.json" "$dir/own.json" "$dir/adopted.json" <<'PY'
import json, sys
found, own, new = (json.load(open(f)) for f in sys.argv[1:])
print({k: (found[k], own[k], new[k]) for k in ("seq_count", "disruption_marker", "counter_id")})
assert new["error"] == "no_counter" and new["clock_status"] == 1, new
assert new["seq_count"] % 2 == 0 and new["seq_count"] > found["seq_count"], new
assert new["disruption_marker"] not in (found["disruption_marker"], own["disruption_marker"]), new
PY
check "issue 14: the agent logs what it found" \
	grep -q 'region written by another writer .*found seq_count' "$dir/agent.log"
check "issue 14: metrics count it" grep -q 'region_overwrites=1 ' <("$bin/hostclockctl" --region "$dst" metrics)
stop_pid "$(agent_pid "$src")"
stop_pid "$(agent_pid "$dst")"

# --metrics-dir (Documentation/monitoring.md): the file, refusals, removal
md=$dir/textfile
mkdir -m 0755 "$md"
mkdir -m 0777 "$dir/openmd"
chmod 0777 "$dir/openmd"
check "metrics: an agent with --metrics-dir starts" start_agent "$dir/vm8" --tsc identity \
	--metrics-dir "$md" --metrics-interval 1
for _ in $(seq 30); do [ -s "$md/hostclock-vm8.prom" ] && break; sleep 0.1; done
check "metrics: hostclock-vm8.prom with the vm label, mode 0644" \
	sh -c "grep -q '^hostclock_page_updates_total{vm=\"vm8\"} [1-9]' '$md/hostclock-vm8.prom' &&
	       [ \"\$(stat -c %a '$md/hostclock-vm8.prom')\" = 644 ]"
check "metrics: a second agent writing the same name is refused" \
	grep -q 'another hostclockd writes metrics' <(timeout 5 "$bin/hostclockd" --region "$dir/vm9" \
		--tsc identity -f --metrics-dir "$md" --metrics-name vm8 2>&1)
check "metrics: a world-writable --metrics-dir is refused" \
	grep -q 'writable by everyone' <(timeout 5 "$bin/hostclockd" --region "$dir/vm9" --tsc identity -f \
		--metrics-dir "$dir/openmd" 2>&1)
stop_pid "$(agent_pid "$dir/vm8")"
check "metrics: a clean stop removes the file" test ! -e "$md/hostclock-vm8.prom"

# The systemd unit: systemd accepts it, and its command line runs with the
# unit's own capability set (PID 1 here is not systemd): first start, a
# restart while "QEMU" keeps the region mapped, with --owner (item 3).
unit=$top/tools/systemd/hostclockd@.service
sed "s|/usr/local/sbin/hostclockd|$bin/hostclockd|" "$unit" >"$dir/hostclockd@vm4.service"
if command -v systemd-analyze >/dev/null; then
	check "systemd unit: verifies without a message" \
		test -z "$(systemd-analyze verify --man=no "$dir/hostclockd@vm4.service" 2>&1)"
fi
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
nnp=$(grep -q '^NoNewPrivileges=yes' "$unit" && echo --no-new-privs)
unit_start() {	# unit_start: the unit's ExecStart, with its capabilities
	local cmdline
	cmdline=$(sed -n 's/^ExecStart=//p' "$unit" | sed -e "s|/usr/local/sbin/hostclockd|$bin/hostclockd|" \
		-e "s|\${HOSTCLOCK_REGION}|$dir/vm4|" \
		-e 's|\$HOSTCLOCKD_OPTS|--tsc identity --log-level warning --owner nobody --group nogroup|')
	# shellcheck disable=SC2086 # the unit's word splitting, on purpose
	setpriv $nnp --bounding-set "-all,$caps" $cmdline 2>>"$dir/agent.log" &
	pids+=($!)
	valid_soon "$dir/vm4"
}
check "systemd unit: first start with its capabilities ($caps), --owner" unit_start
check "systemd unit: the region went to --owner, 0600" \
	test "$(stat -c '%U:%G %a' "$dir/vm4")" = "nobody:nogroup 600"
as_nobody "$dir/hc-hostile" hold "$dir/vm4" 4 >"$dir/qemu.out" &
qpid=$!
pids+=($qpid)
sleep 0.5
old=$(sed -n 's/^disruption_marker  *//p' <("$bin/hostclock-dump" "$dir/vm4"))
stop_pid "$(agent_pid "$dir/vm4")"
check "item 3: systemd unit: restart while QEMU runs" unit_start
wait "$qpid"
new=$(sed -n 's/.*agent_state=1 .* disruption_marker=\([0-9]*\)$/\1/p' "$dir/qemu.out")
check "item 3: QEMU's own mapping shows the restarted agent running, new marker ($old -> $new)" \
	test -n "$new" -a "$new" != "$old"
check "systemd unit: its ExecStart publishes a valid page" exits 0 "$bin/hostclock-dump" "$dir/vm4"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
