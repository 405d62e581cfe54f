/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMClock ABI v1 page, as hostclock reads and writes it.
 *
 * A hypervisor publishes the relation between a CPU counter (the TSC here)
 * and real time in one page of shared memory. The layout is fixed by Linux's
 * VMClock ABI (the same page an ACPI "VMCLOCK" device exposes), so hostclock
 * interoperates with other producers and consumers of that page. This file
 * is hostclock's own definition of that layout; every offset is asserted
 * below, in kernel and userspace builds alike.
 *
 * All multi-byte fields are little-endian. Fields from seq_count on change
 * under a sequence count: the writer makes seq_count odd, writes, and makes
 * it even again; a reader copies the page and accepts the copy only if
 * seq_count was even and unchanged across it.
 */
#ifndef _HOSTCLOCK_VMCLOCK_ABI_H
#define _HOSTCLOCK_VMCLOCK_ABI_H

#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>
#else
#include <assert.h>
#include <stddef.h>
#ifndef BIT_ULL
#define BIT_ULL(nr)	(1ULL << (nr))
#endif
#endif

/* "VCLK" read as a little-endian u32 */
#define VMCLOCK_MAGIC			0x4b4c4356
#define VMCLOCK_VERSION			1

/* counter_id */
#define VMCLOCK_COUNTER_ARM_VCNT	0
#define VMCLOCK_COUNTER_X86_TSC		1
#define VMCLOCK_COUNTER_INVALID		0xff

/* time_type: the epoch of time_sec/time_frac_sec */
#define VMCLOCK_TIME_UTC		0	/* since 1970-01-01 UTC */
#define VMCLOCK_TIME_TAI		1	/* since 1970-01-01 TAI */
#define VMCLOCK_TIME_MONOTONIC		2	/* unspecified epoch */
#define VMCLOCK_TIME_INVALID_SMEARED	3	/* not supported */
#define VMCLOCK_TIME_INVALID_MAYBE_SMEARED 4	/* not supported */

/* flags; bits not named here are ignored by readers */
#define VMCLOCK_FLAG_TAI_OFFSET_VALID		BIT_ULL(0)
#define VMCLOCK_FLAG_DISRUPTION_SOON		BIT_ULL(1)
#define VMCLOCK_FLAG_DISRUPTION_IMMINENT	BIT_ULL(2)
#define VMCLOCK_FLAG_PERIOD_ESTERROR_VALID	BIT_ULL(3)
#define VMCLOCK_FLAG_PERIOD_MAXERROR_VALID	BIT_ULL(4)
#define VMCLOCK_FLAG_TIME_ESTERROR_VALID	BIT_ULL(5)
#define VMCLOCK_FLAG_TIME_MAXERROR_VALID	BIT_ULL(6)
#define VMCLOCK_FLAG_TIME_MONOTONIC		BIT_ULL(7)
#define VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT	BIT_ULL(8)

/* clock_status */
#define VMCLOCK_STATUS_UNKNOWN		0
#define VMCLOCK_STATUS_INITIALIZING	1
#define VMCLOCK_STATUS_SYNCHRONIZED	2
#define VMCLOCK_STATUS_FREERUNNING	3
#define VMCLOCK_STATUS_UNRELIABLE	4

/* leap_second_smearing_hint */
#define VMCLOCK_SMEARING_STRICT		0
#define VMCLOCK_SMEARING_NOON_LINEAR	1
#define VMCLOCK_SMEARING_UTC_SLS	2

/* leap_indicator */
#define VMCLOCK_LEAP_NONE		0	/* no leap second near */
#define VMCLOCK_LEAP_PRE_POS		1	/* +1 s at the end of the month */
#define VMCLOCK_LEAP_PRE_NEG		2	/* -1 s at the end of the month */
#define VMCLOCK_LEAP_POS		3	/* now in 23:59:60 */
#define VMCLOCK_LEAP_POST_POS		4	/* just after a +1 s */
#define VMCLOCK_LEAP_POST_NEG		5	/* just after a -1 s */

/**
 * struct vmclock_abi - the VMClock page, version 1
 * @magic: VMCLOCK_MAGIC
 * @size: size in bytes of the region holding this structure
 * @version: VMCLOCK_VERSION
 * @counter_id: which CPU counter @counter_value counts (VMCLOCK_COUNTER_*)
 * @time_type: timescale of @time_sec (VMCLOCK_TIME_*)
 * @seq_count: odd while the fields below are being updated
 * @disruption_marker: changes whenever the counter's relation to time broke
 * @flags: VMCLOCK_FLAG_*
 * @pad: zero
 * @clock_status: VMCLOCK_STATUS_*
 * @leap_second_smearing_hint: VMCLOCK_SMEARING_*; the time is never smeared
 * @tai_offset_sec: TAI - UTC in seconds, two's complement
 * @leap_indicator: VMCLOCK_LEAP_*
 * @counter_period_shift: extra shift for the period and its error rates
 * @counter_value: counter reading at the instant @time_sec/@time_frac_sec
 * @counter_period_frac_sec: one counter tick, in 2^-(64 + shift) s
 * @counter_period_esterror_rate_frac_sec: estimated error of the period
 * @counter_period_maxerror_rate_frac_sec: maximum error of the period
 * @time_sec: whole seconds at @counter_value
 * @time_frac_sec: fraction of a second at @counter_value, in 2^-64 s
 * @time_esterror_nanosec: estimated error of the time at @counter_value
 * @time_maxerror_nanosec: maximum error of the time at @counter_value
 * @vm_generation_counter: changes when the VM is restored from a snapshot
 */
struct vmclock_abi {
	__le32 magic;
	__le32 size;
	__le16 version;
	__u8 counter_id;
	__u8 time_type;
	__le32 seq_count;
	__le64 disruption_marker;
	__le64 flags;
	__u8 pad[2];
	__u8 clock_status;
	__u8 leap_second_smearing_hint;
	__le16 tai_offset_sec;
	__u8 leap_indicator;
	__u8 counter_period_shift;
	__le64 counter_value;
	__le64 counter_period_frac_sec;
	__le64 counter_period_esterror_rate_frac_sec;
	__le64 counter_period_maxerror_rate_frac_sec;
	__le64 time_sec;
	__le64 time_frac_sec;
	__le64 time_esterror_nanosec;
	__le64 time_maxerror_nanosec;
	__le64 vm_generation_counter;
};

/* The layout is an interoperability contract: any drift is a build error. */
#define VMCLOCK_ABI_AT(field, off) \
	static_assert(offsetof(struct vmclock_abi, field) == (off), \
		      "vmclock_abi." #field " must be at offset " #off)
VMCLOCK_ABI_AT(magic, 0);
VMCLOCK_ABI_AT(size, 4);
VMCLOCK_ABI_AT(version, 8);
VMCLOCK_ABI_AT(counter_id, 10);
VMCLOCK_ABI_AT(time_type, 11);
VMCLOCK_ABI_AT(seq_count, 12);
VMCLOCK_ABI_AT(disruption_marker, 16);
VMCLOCK_ABI_AT(flags, 24);
VMCLOCK_ABI_AT(pad, 32);
VMCLOCK_ABI_AT(clock_status, 34);
VMCLOCK_ABI_AT(leap_second_smearing_hint, 35);
VMCLOCK_ABI_AT(tai_offset_sec, 36);
VMCLOCK_ABI_AT(leap_indicator, 38);
VMCLOCK_ABI_AT(counter_period_shift, 39);
VMCLOCK_ABI_AT(counter_value, 40);
VMCLOCK_ABI_AT(counter_period_frac_sec, 48);
VMCLOCK_ABI_AT(counter_period_esterror_rate_frac_sec, 56);
VMCLOCK_ABI_AT(counter_period_maxerror_rate_frac_sec, 64);
VMCLOCK_ABI_AT(time_sec, 72);
VMCLOCK_ABI_AT(time_frac_sec, 80);
VMCLOCK_ABI_AT(time_esterror_nanosec, 88);
VMCLOCK_ABI_AT(time_maxerror_nanosec, 96);
VMCLOCK_ABI_AT(vm_generation_counter, 104);
static_assert(sizeof(struct vmclock_abi) == 112, "vmclock_abi must be 112 bytes");

#endif /* _HOSTCLOCK_VMCLOCK_ABI_H */
