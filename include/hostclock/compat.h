/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel facilities the portable core uses, mapped for userspace.
 *
 * The core (drivers/hostclock/core/) is compiled unchanged into the module,
 * the host tools and the userspace tests. In the kernel this header only
 * pulls in the real definitions; elsewhere it provides equivalents with the
 * same names and semantics.
 */
#ifndef _HOSTCLOCK_COMPAT_H
#define _HOSTCLOCK_COMPAT_H

#ifdef __KERNEL__

#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/string.h>
#include <linux/time64.h>
#include <linux/types.h>
#include <asm/barrier.h>
#include <asm/byteorder.h>
#include <asm/cmpxchg.h>
#include <asm/processor.h>

/*
 * The core needs 128-bit integers for 64x64-bit products, shifts and sums
 * only, which the compiler inlines (no libgcc division helpers), so the
 * compiler's support is enough, also on UML where the arch does not select
 * ARCH_SUPPORTS_INT128.
 */
#ifndef __SIZEOF_INT128__
#error "hostclock's time core needs 128-bit integer arithmetic"
#endif

#else /* userspace */

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

typedef __s8 s8;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#define U64_MAX		UINT64_MAX
#define S64_MAX		INT64_MAX
#define U32_MAX		UINT32_MAX
#define NSEC_PER_SEC	1000000000L

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT(nr)		(1UL << (nr))

/* Single untorn accesses, as the kernel's macros give for scalars. */
#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Fences at least as strong as the kernel's SMP barriers of the same name. */
/* smp_rmb: loads before it complete before loads after it */
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
/* smp_wmb: stores before it are visible before stores after it */
#define smp_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
/*
 * virt_rmb/virt_wmb order accesses against another agent (the host)
 * sharing the memory; the kernel keeps them even in a UP build, and this
 * mapping has no UP variant.
 */
/* virt_rmb: as smp_rmb, against the host */
#define virt_rmb()	smp_rmb()
/* virt_wmb: as smp_wmb, against the host */
#define virt_wmb()	smp_wmb()

/* The kernel's function attribute for code ftrace must not instrument. */
#define notrace		__attribute__((__no_instrument_function__))

/* hostclock reads the x86 TSC; its userspace builds are x86 only. */
#define cpu_relax()	__builtin_ia32_pause()

/* The kernel's cmpxchg64() on a u64: returns what *ptr held. */
static inline u64 cmpxchg64(u64 *ptr, u64 old, u64 new)
{
	__atomic_compare_exchange_n(ptr, &old, new, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

#define le16_to_cpu(x)	le16toh(x)
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)
#define cpu_to_le16(x)	htole16(x)
#define cpu_to_le32(x)	htole32(x)
#define cpu_to_le64(x)	htole64(x)

#endif /* __KERNEL__ */

#endif /* _HOSTCLOCK_COMPAT_H */
