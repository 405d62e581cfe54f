#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hostclock-every-line: yes
#
# Guest side of the driver smoke test, with the real hostclockd on the host:
# autoload and bind, the foreign ivshmem device left alone, the clocksource
# made current and back, the PTP clock read every way chrony and phc2sys
# read it (checked against the agent's reference through the comparator),
# settime refused, and rmmod while hostclock is current refused (EBUSY),
# then rmmod once tsc is current.

. /hc-lib.sh

# Coldplug as udev would: modprobe every device's modalias.
coldplug
check "module autoloaded from the ivshmem modalias" test -d /sys/module/hostclock

# Exactly one of the three ivshmem devices is ours: the one with the magic.
bound=0 foreign=0
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1af4:0x1110" ] || continue
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)")
	if [ "$drv" = hostclock ]; then bound=$((bound + 1)); else foreign=$((foreign + 1)); fi
done
check "bound to the hostclock region only ($bound bound, $foreign left alone)" \
	test "$bound" = 1 -a "$foreign" = 2
check "no probe errors for foreign devices" \
	sh -c '! dmesg | grep -iE "hostclock.*(probe|error)|probe of .* failed"'

find_ptp
check "PTP clock named hostclock exists ($ptp)" test -n "$ptp" -a -c "$ptp"

# Pairing: the agent asks once a second, the driver answers at its next poll.
wait_readable 30
check "PTP clock readable after pairing (${waited}s)" hc-ptp-check "$ptp" get
note "clocksource at boot: $(cat "$cs/current_clocksource")"
make_current
dmesg | grep hostclock | sed 's/^/HCTEST note dmesg: /'
check "hostclock listed as available clocksource" grep -qw hostclock "$cs/available_clocksource"
check "hostclock made current" grep -qx hostclock "$cs/current_clocksource"

# Reads with hostclock current. EXTENDED must bracket with zero width.
for what in "precise" "extended 10" "basic 10"; do
	# shellcheck disable=SC2086
	check "PTP $what with hostclock current" hc-ptp-check "$ptp" $what
	# shellcheck disable=SC2086
	note "hostclock current, $what: $(hc-ptp-check "$ptp" $what)"
done
r=$(hc-ptp-check "$ptp" extended 10)
check "EXTENDED bracket has zero width with hostclock current" test "$(field bracket_ns "$r")" = 0

# The PTP clock against the agent's reference, without using hostclock.
r=$(hc-compare --clock "$ptp" -n 20)
off=$(field offset_ns "$r")
unc=$(field unc_ns "$r")
note "PTP clock vs agent reference: $r"
check "PTP clock agrees with the reference within its uncertainty + 2 us" \
	test -n "$off" -a "$(abs "${off:-999999999}")" -le $((${unc:-0} + 2000))

# The agent's mapping of the guest TSC: the pairing bracket bounds its
# error by half a round trip; under TCG that must be within 1 us.
st=$(hc-compare --cmd state)
unc_ticks=$(field map_uncertainty "$st")
mhz=$(dmesg | sed -n 's/.*tsc: Detected \([0-9]*\)\.[0-9]* MHz.*/\1/p' | head -n 1)
unc_ns=$(( ${unc_ticks:-999999999} * 1000 / ${mhz:-1} ))
note "agent TSC mapping: +-$unc_ticks ticks at $mhz MHz = +-$unc_ns ns; $(echo "$st" | grep -o 'pair_[a-z]*=[0-9]*' | tr '\n' ' ')"
check "the agent's TSC mapping is within +-1 us ($unc_ns ns)" test "$unc_ns" -le 1000

check "phc_ctl get" phc_ctl "$ptp" get
check "phc_ctl cmp" phc_ctl "$ptp" cmp
note "phc_ctl cmp: $(phc_ctl "$ptp" cmp 2>&1 | grep offset)"

echo tsc >"$cs/current_clocksource"
check "tsc made current" grep -qx tsc "$cs/current_clocksource"
for what in "precise" "extended 10"; do
	# shellcheck disable=SC2086
	check "PTP $what with tsc current" hc-ptp-check "$ptp" $what
	# shellcheck disable=SC2086
	note "tsc current, $what: $(hc-ptp-check "$ptp" $what)"
done
r=$(hc-ptp-check "$ptp" extended 10)
check "EXTENDED bracket has zero width with tsc current" test "$(field bracket_ns "$r")" = 0

check "settime refused with EOPNOTSUPP" hc-ptp-check "$ptp" settime
check "frequency adjustment refused" hc-ptp-check "$ptp" adjfreq

# Unload while hostclock is current: refused, the timekeeper holds the module
make_current
check "rmmod while hostclock is current fails with EBUSY ($(rmmod_refused | head -n 1))" \
	rmmod_refused
check "after the refused rmmod: PTP readable" hc-ptp-check "$ptp" get
check "after the refused rmmod: clock_gettime advances" sh -c \
	'a=$(cat /proc/uptime); sleep 0.2; [ "$(cat /proc/uptime)" != "$a" ]'
check "echo tsc > current_clocksource, then rmmod" unload
check "module gone" test ! -d /sys/module/hostclock
check "kernel fell back to another clocksource ($(cat "$cs/current_clocksource"))" \
	sh -c "! grep -qw hostclock $cs/current_clocksource"
check "modprobe again binds again" sh -c 'modprobe hostclock && sleep 1 && ls /sys/bus/pci/drivers/hostclock | grep -q :'
