#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host tools as a user runs them: hostclockd, hostclockctl and
# hostclock-dump, on regions in a private directory. Every agent this starts
# is stopped on exit.
#
# usage: tests/tools/run.sh [BUILD_DIR]

set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(cd "${1:-$top/build}/tools" && pwd) || exit 1
dir=$(mktemp -d /tmp/hostclock-tools.XXXXXX)
pids=()
passed=0 failed=0

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

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

check "agent starts and publishes a valid page" start_agent "$r" --tsc identity --interval 100

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
check "SIGTERM: control socket removed" test ! -e "$r.ctl"

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

# The systemd unit: systemd accepts it, and its command line runs.
unit=$top/tools/systemd/hostclockd@.service
sed "s|/usr/local/sbin/hostclockd|$bin/hostclockd|" "$unit" >"$dir/hostclockd@vm4.service"
if command -v systemd-analyze >/dev/null; then
	check "systemd unit: verifies without a message" \
		test -z "$(systemd-analyze verify --man=no "$dir/hostclockd@vm4.service" 2>&1)"
fi
cmdline=$(sed -n 's/^ExecStart=//p' "$unit" | sed -e "s|/usr/local/sbin/hostclockd|$bin/hostclockd|" \
	-e "s|\${HOSTCLOCK_REGION}|$dir/vm4|" -e 's|\$HOSTCLOCKD_OPTS|--tsc identity --log-level warning|')
# shellcheck disable=SC2086 # the unit's word splitting, on purpose
$cmdline 2>>"$dir/agent.log" &
pids+=($!)
sleep 1
check "systemd unit: its ExecStart publishes a valid page" exits 0 "$bin/hostclock-dump" "$dir/vm4"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
