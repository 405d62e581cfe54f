/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel API differences hostclock spans, 5.10 to 7.x, in one place.
 *
 * The driver is written against the newest API; each shim below maps it
 * onto older kernels and is chosen by one compile probe of
 * scripts/kfeatures.sh (HOSTCLOCK_HAVE_*), never by a version number. As
 * old kernels leave the supported range, their branches go.
 */
#ifndef _HOSTCLOCK_COMPAT_H_DRIVER
#define _HOSTCLOCK_COMPAT_H_DRIVER

#include <linux/mm.h>
#include <linux/platform_device.h>
#include <linux/ptp_clock_kernel.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>

/**
 * hostclock_get_snapshot() - one read of the current clocksource
 * @clock: the system clock wanted beside CLOCK_MONOTONIC_RAW
 * @snap: filled with @clock's time, MONOTONIC_RAW and the cycles read
 *
 * Before ktime_get_snapshot_id() (7.0) a snapshot held CLOCK_REALTIME and
 * MONOTONIC_RAW only; MONOTONIC_RAW is then also given as @clock's time.
 *
 * Return: false if this kernel cannot snapshot @clock.
 */
static inline bool hostclock_get_snapshot(clockid_t clock,
					  struct system_time_snapshot *snap)
{
#ifdef HOSTCLOCK_HAVE_KTIME_GET_SNAPSHOT_ID
	ktime_get_snapshot_id(clock, snap);
	return snap->valid;
#else
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC_RAW)
		return false;
	ktime_get_snapshot(snap);
	if (clock == CLOCK_MONOTONIC_RAW)
		snap->real = snap->raw;
	return true;
#endif
}

/* The time of the clock a snapshot was taken for (.real before 7.0). */
static inline ktime_t hostclock_snapshot_systime(const struct system_time_snapshot *snap)
{
#ifdef HOSTCLOCK_HAVE_SNAPSHOT_SYSTIME
	return snap->systime;
#else
	return snap->real;
#endif
}

/* A snapshot's CLOCK_MONOTONIC_RAW (.raw before 7.0). */
static inline ktime_t hostclock_snapshot_monoraw(const struct system_time_snapshot *snap)
{
#ifdef HOSTCLOCK_HAVE_SNAPSHOT_MONORAW
	return snap->monoraw;
#else
	return snap->raw;
#endif
}

/* The clock a PTP_SYS_OFFSET_EXTENDED caller asked for (6.11: any). */
static inline clockid_t hostclock_sts_clockid(const struct ptp_system_timestamp *sts)
{
#ifdef HOSTCLOCK_HAVE_STS_CLOCKID
	return sts->clockid;
#else
	return CLOCK_REALTIME;
#endif
}

/**
 * hostclock_sts_set_both() - a zero-width EXTENDED bracket
 * @sts: the caller's bracket
 * @snap: the snapshot taken at the device read, for hostclock_sts_clockid()
 *
 * From 7.0 the bracket holds whole snapshots, and the PTP core refuses one
 * whose snapshot is not marked valid; before, it held two timespecs.
 */
static inline void hostclock_sts_set_both(struct ptp_system_timestamp *sts,
					  const struct system_time_snapshot *snap)
{
#ifdef HOSTCLOCK_HAVE_STS_SNAPSHOTS
	sts->pre_sts = *snap;
	sts->post_sts = *snap;
#else
	sts->pre_ts = ktime_to_timespec64(hostclock_snapshot_systime(snap));
	sts->post_ts = sts->pre_ts;
#endif
}

/* The clock a PTP_SYS_OFFSET_PRECISE caller asked for (7.0: any). */
static inline clockid_t hostclock_xtstamp_clockid(const struct system_device_crosststamp *xt)
{
#ifdef HOSTCLOCK_HAVE_XTSTAMP_CLOCK_ID
	return xt->clock_id;
#else
	return CLOCK_REALTIME;
#endif
}

/* A cross-timestamp's system side, from one snapshot (.sys_realtime before 7.0). */
static inline void hostclock_xtstamp_set_sys(struct system_device_crosststamp *xt,
					     const struct system_time_snapshot *snap)
{
#ifdef HOSTCLOCK_HAVE_XTSTAMP_SYS_SYSTIME
	xt->sys_systime = hostclock_snapshot_systime(snap);
#else
	xt->sys_realtime = hostclock_snapshot_systime(snap);
#endif
	xt->sys_monoraw = hostclock_snapshot_monoraw(snap);
}

/* vm_flags_clear() (6.3); before it, vm_flags was written directly. */
static inline void hostclock_vm_flags_clear(struct vm_area_struct *vma, unsigned long flags)
{
#ifdef HOSTCLOCK_HAVE_VM_FLAGS_CLEAR
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/* vm_flags_set() (6.3); before it, vm_flags was written directly. */
static inline void hostclock_vm_flags_set(struct vm_area_struct *vma, unsigned long flags)
{
#ifdef HOSTCLOCK_HAVE_VM_FLAGS_CLEAR
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * platform_driver's remove: void .remove (6.11), void .remove_new (6.3 and
 * 6.1.y), or an int .remove (5.10), which gets a wrapper from
 * HOSTCLOCK_PLATFORM_REMOVE_WRAPPER() placed after the remove function.
 */
#if defined(HOSTCLOCK_HAVE_PLATFORM_REMOVE_VOID)
#define HOSTCLOCK_PLATFORM_REMOVE_WRAPPER(fn)
#define HOSTCLOCK_PLATFORM_REMOVE(fn)	.remove = (fn)
#elif defined(HOSTCLOCK_HAVE_PLATFORM_REMOVE_NEW)
#define HOSTCLOCK_PLATFORM_REMOVE_WRAPPER(fn)
#define HOSTCLOCK_PLATFORM_REMOVE(fn)	.remove_new = (fn)
#else
#define HOSTCLOCK_PLATFORM_REMOVE_WRAPPER(fn)				\
	static int fn##_int(struct platform_device *pdev)		\
	{								\
		fn(pdev);						\
		return 0;						\
	}
#define HOSTCLOCK_PLATFORM_REMOVE(fn)	.remove = fn##_int
#endif

#endif /* _HOSTCLOCK_COMPAT_H_DRIVER */
