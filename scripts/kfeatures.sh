#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Compile probes for the kernel API differences hostclock handles, in the
# style of conftest: each probe is a few lines of C compiled with the very
# compiler and flags kbuild uses for the module, and prints its -D flag
# when it compiles. Distribution kernels backport freely (6.1.y has
# remove_new, RHEL 9 carries half of 6.x), so no probe looks at a version
# number, and none greps a header's text. Every shim that uses a result
# lives in drivers/hostclock/hostclock_compat.h.
#
# usage: kfeatures.sh CACHE CC [FLAGS...]
#   Kbuild passes $(CC) and the kernel's flags; the answers are kept in
#   CACHE, keyed by this script and the whole command, so the several
#   passes of one build, and later builds for the same kernel, probe once.
#   HOSTCLOCK_KFEATURES_LOG=FILE keeps each probe's compiler output.

cache=${1:?usage: kfeatures.sh CACHE CC [FLAGS...]}
shift
[ $# -gt 0 ] || { echo "usage: kfeatures.sh CACHE CC [FLAGS...]" >&2; exit 2; }

key=$({ cat "$0"; printf '%s\n' "$@"; } | md5sum | cut -d' ' -f1)
if [ -f "$cache" ] && [ "$(sed -n 1p "$cache")" = "$key" ]; then
	sed 1d "$cache"
	exit 0
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
log=${HOSTCLOCK_KFEATURES_LOG:-/dev/null}
: >"$tmp/out"

# probe NAME: compile the C on standard input; on success print -DNAME.
# Only real API mismatches fail a probe: unknown fields and functions are
# errors already, wrong pointer and integer types are made errors here.
probe() {
	cat >"$tmp/$1.c"
	# shellcheck disable=SC2086 # the compiler command, word for word
	if $cc -Werror=incompatible-pointer-types -Werror=int-conversion \
		-Werror=implicit-function-declaration -DKBUILD_MODNAME='"hostclock_probe"' \
		-DKBUILD_BASENAME='"probe"' -c -o "$tmp/$1.o" "$tmp/$1.c" >>"$log" 2>&1; then
		echo "-DHOSTCLOCK_$1" >>"$tmp/out"
	fi
}
cc=$*

# platform_driver.remove returns void (6.11)
probe HAVE_PLATFORM_REMOVE_VOID <<'EOF'
#include <linux/platform_device.h>
static void hc_remove(struct platform_device *pdev) { }
struct platform_driver hc_driver = { .remove = hc_remove };
EOF

# platform_driver.remove_new, the void remove of 6.3 to 6.12 (and 6.1.y)
probe HAVE_PLATFORM_REMOVE_NEW <<'EOF'
#include <linux/platform_device.h>
static void hc_remove(struct platform_device *pdev) { }
struct platform_driver hc_driver = { .remove_new = hc_remove };
EOF

# ktime_get_snapshot_id(clockid, snap), which replaced ktime_get_snapshot() (7.0)
probe HAVE_KTIME_GET_SNAPSHOT_ID <<'EOF'
#include <linux/ktime.h>
#include <linux/timekeeping.h>
void hc_probe(struct system_time_snapshot *snap);
void hc_probe(struct system_time_snapshot *snap)
{
	ktime_get_snapshot_id(CLOCK_REALTIME, snap);
}
EOF

# system_time_snapshot.systime, which was .real (7.0)
probe HAVE_SNAPSHOT_SYSTIME <<'EOF'
#include <linux/ktime.h>
#include <linux/timekeeping.h>
ktime_t hc_probe(struct system_time_snapshot *snap);
ktime_t hc_probe(struct system_time_snapshot *snap)
{
	return snap->systime;
}
EOF

# system_time_snapshot.monoraw, which was .raw (7.0)
probe HAVE_SNAPSHOT_MONORAW <<'EOF'
#include <linux/ktime.h>
#include <linux/timekeeping.h>
ktime_t hc_probe(struct system_time_snapshot *snap);
ktime_t hc_probe(struct system_time_snapshot *snap)
{
	return snap->monoraw;
}
EOF

# ptp_system_timestamp.pre_sts/post_sts, whole snapshots with .valid (7.0)
probe HAVE_STS_SNAPSHOTS <<'EOF'
#include <linux/ptp_clock_kernel.h>
void hc_probe(struct ptp_system_timestamp *sts, struct system_time_snapshot *snap);
void hc_probe(struct ptp_system_timestamp *sts, struct system_time_snapshot *snap)
{
	sts->pre_sts = *snap;
	sts->post_sts = *snap;
}
EOF

# ptp_system_timestamp.clockid (6.11): EXTENDED for other clocks
probe HAVE_STS_CLOCKID <<'EOF'
#include <linux/ptp_clock_kernel.h>
clockid_t hc_probe(struct ptp_system_timestamp *sts);
clockid_t hc_probe(struct ptp_system_timestamp *sts)
{
	return sts->clockid;
}
EOF

# system_device_crosststamp.clock_id, the clock a PRECISE caller wants (7.0)
probe HAVE_XTSTAMP_CLOCK_ID <<'EOF'
#include <linux/ktime.h>
#include <linux/timekeeping.h>
clockid_t hc_probe(struct system_device_crosststamp *xt);
clockid_t hc_probe(struct system_device_crosststamp *xt)
{
	return xt->clock_id;
}
EOF

# system_device_crosststamp.sys_systime, which was .sys_realtime (7.0)
probe HAVE_XTSTAMP_SYS_SYSTIME <<'EOF'
#include <linux/ktime.h>
#include <linux/timekeeping.h>
void hc_probe(struct system_device_crosststamp *xt, ktime_t t);
void hc_probe(struct system_device_crosststamp *xt, ktime_t t)
{
	xt->sys_systime = t;
}
EOF

# vm_flags_clear() (6.3): vm_flags may no longer be written directly
probe HAVE_VM_FLAGS_CLEAR <<'EOF'
#include <linux/mm.h>
void hc_probe(struct vm_area_struct *vma);
void hc_probe(struct vm_area_struct *vma)
{
	vm_flags_clear(vma, VM_MAYWRITE);
}
EOF

{ echo "$key"; cat "$tmp/out"; } >"$tmp/cache" && mv "$tmp/cache" "$cache" 2>/dev/null
cat "$tmp/out"
exit 0
