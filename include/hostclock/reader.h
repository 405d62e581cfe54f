/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostclock's userspace reader, header only: the host's time from
 * /dev/hostclockN (or a region file on the host) without a system call.
 *
 *	const struct vmclock_abi *page;
 *	struct hostclock_reading r;
 *
 *	if (hostclock_reader_map("/dev/hostclock0", &page) == 0 &&
 *	    hostclock_reader_now(page, HOSTCLOCK_READER_UTC, &r) == 0)
 *		printf("%lld.%09u +- %llu ns\n", r.sec, r.nsec, r.maxerror_ns);
 *
 * It reads the page under the seqcount protocol with a bounded number of
 * tries, reads the TSC, and converts with the same arithmetic as the
 * driver's core (drivers/hostclock/core/convert.c); a unit test checks that
 * both give identical results. x86-64 only (the page's counter is the TSC).
 */
#ifndef _HOSTCLOCK_READER_H
#define _HOSTCLOCK_READER_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmclock_abi.h"

#define HOSTCLOCK_READER_UTC	0
#define HOSTCLOCK_READER_TAI	1
#define HOSTCLOCK_READER_TRIES	1024

/**
 * struct hostclock_reading - the host's time at one TSC read
 * @sec: seconds since the epoch, in the timescale asked for
 * @nsec: nanoseconds, rounded to nearest
 * @maxerror_ns: the host's maximum error grown to the TSC read, rounded
 *	up, or UINT64_MAX when the page gives none
 * @tsc: the TSC value read
 */
struct hostclock_reading {
	__s64 sec;
	__u32 nsec;
	__u64 maxerror_ns;
	__u64 tsc;
};

/* The fields the reader needs, copied under the seqcount. */
struct hostclock_reader_copy {
	__u32 magic;
	__u16 version;
	__u8 counter_id, time_type, clock_status, shift, leap;
	__s16 tai_offset_sec;
	__u64 flags, counter_value, period, time_sec, time_frac;
	__u64 maxerror_ns, maxerror_rate;
};

/**
 * hostclock_reader_map() - map page 0 read-only
 * @path: /dev/hostclockN, or a region file
 * @page: the mapping
 *
 * Return: 0 or a negative errno.
 */
static inline int hostclock_reader_map(const char *path, const struct vmclock_abi **page)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return -errno;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	*page = (const struct vmclock_abi *)p;
	return 0;
}

/* ordered after the loads before it, as the kernel's rdtsc_ordered() */
static inline __u64 hostclock_reader_rdtsc(void)
{
	__builtin_ia32_lfence();
	return __builtin_ia32_rdtsc();
}

/* one untorn load of a field the host may be writing */
#define HOSTCLOCK_READER_LOAD(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

/* A consistent copy and the TSC read inside it; false when busy too long. */
static inline bool hostclock_reader_copy(const struct vmclock_abi *page,
					 struct hostclock_reader_copy *c, __u64 *tsc)
{
	unsigned int i;
	__u32 seq;

	for (i = 0; i < HOSTCLOCK_READER_TRIES; i++) {
		seq = __atomic_load_n(&page->seq_count, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			__builtin_ia32_pause();
			continue;
		}
		c->magic = HOSTCLOCK_READER_LOAD(page->magic);
		c->version = HOSTCLOCK_READER_LOAD(page->version);
		c->counter_id = HOSTCLOCK_READER_LOAD(page->counter_id);
		c->time_type = HOSTCLOCK_READER_LOAD(page->time_type);
		c->clock_status = HOSTCLOCK_READER_LOAD(page->clock_status);
		c->shift = HOSTCLOCK_READER_LOAD(page->counter_period_shift);
		c->leap = HOSTCLOCK_READER_LOAD(page->leap_indicator);
		c->tai_offset_sec = (__s16)HOSTCLOCK_READER_LOAD(page->tai_offset_sec);
		c->flags = HOSTCLOCK_READER_LOAD(page->flags);
		c->counter_value = HOSTCLOCK_READER_LOAD(page->counter_value);
		c->period = HOSTCLOCK_READER_LOAD(page->counter_period_frac_sec);
		c->time_sec = HOSTCLOCK_READER_LOAD(page->time_sec);
		c->time_frac = HOSTCLOCK_READER_LOAD(page->time_frac_sec);
		c->maxerror_ns = HOSTCLOCK_READER_LOAD(page->time_maxerror_nanosec);
		c->maxerror_rate =
			HOSTCLOCK_READER_LOAD(page->counter_period_maxerror_rate_frac_sec);
		*tsc = hostclock_reader_rdtsc();
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&page->seq_count, __ATOMIC_RELAXED) == seq)
			return true;
	}
	return false;
}

/* Is the UTC day @day (days since 1970) the first of a month? */
static inline bool hostclock_reader_first_of_month(__u64 day)
{
	__u64 z = day + 719468, doe = z % 146097;
	__u64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	__u64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	__u64 mp = (5 * doy + 2) / 153;

	return doy - (153 * mp + 2) / 5 == 0;
}

/* |ticks| * rate / 2^(64 + shift) s in ns, rounded up, saturating */
static inline __u64 hostclock_reader_growth(__u64 ticks, __u64 rate, __u8 shift)
{
	__uint128_t x = (__uint128_t)ticks * rate, q;
	__u64 hi, lo_ns, ns;

	q = (x >> shift) + ((x & (((__uint128_t)1 << shift) - 1)) != 0);
	hi = (__u64)(q >> 64);
	if (hi > UINT64_MAX / 1000000000u)
		return UINT64_MAX;
	lo_ns = (__u64)(((__uint128_t)(__u64)q * 1000000000u + UINT64_MAX) >> 64);
	ns = hi * 1000000000u;
	return ns > UINT64_MAX - lo_ns ? UINT64_MAX : ns + lo_ns;
}

/**
 * hostclock_reader_convert() - the time at a TSC value from a page copy
 * @c: the copy, already checked
 * @tsc: a TSC value
 * @tai: HOSTCLOCK_READER_UTC or HOSTCLOCK_READER_TAI
 * @r: the result (not @r->tsc)
 *
 * The driver core's arithmetic: 64.64 fixed point in 128 bits, the final
 * fraction rounded to the nearest nanosecond, a UTC result honouring an
 * announced leap second.
 *
 * Return: 0, or -ENODATA when the time cannot be given.
 */
static inline int hostclock_reader_convert(const struct hostclock_reader_copy *c,
					   __u64 tsc, int tai,
					   struct hostclock_reading *r)
{
	__s64 d = (__s64)(tsc - c->counter_value);
	__u64 mag = d < 0 ? -(__u64)d : (__u64)d, sec, nsec, end, page_utc;
	__uint128_t base = ((__uint128_t)c->time_sec << 64) | c->time_frac;
	__uint128_t off = ((__uint128_t)mag * c->period) >> c->shift, at;
	__s64 shift_sec = 0;

	if (d < 0) {
		if (off > base)
			return -ENODATA;
		at = base - off;
	} else {
		at = base + off;
		if (at < base)
			return -ENODATA;
	}
	sec = (__u64)(at >> 64);
	nsec = (__u64)(((__uint128_t)(__u64)at * 1000000000u + (1ULL << 63)) >> 64);
	if (nsec == 1000000000u) {
		sec++;
		nsec = 0;
	}
	if (c->time_type != (tai ? VMCLOCK_TIME_TAI : VMCLOCK_TIME_UTC)) {
		if (!(c->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID))
			return -ENODATA;
		shift_sec = tai ? c->tai_offset_sec : -c->tai_offset_sec;
	}
	if (sec > INT64_MAX || (shift_sec < 0 && sec < (__u64)-shift_sec) ||
	    (shift_sec > 0 && sec > (__u64)(INT64_MAX - shift_sec)))
		return -ENODATA;
	sec += shift_sec;
	/* an announced leap second, for a UTC result (see core/convert.c) */
	if (!tai && (c->leap == VMCLOCK_LEAP_PRE_POS || c->leap == VMCLOCK_LEAP_PRE_NEG) &&
	    (c->time_type == VMCLOCK_TIME_UTC || c->time_sec >= (__u64)-shift_sec)) {
		page_utc = c->time_sec + (c->time_type == VMCLOCK_TIME_UTC ? 0 : shift_sec);
		end = (page_utc / 86400 + 1) * 86400;
		if (hostclock_reader_first_of_month(end / 86400)) {
			if (c->leap == VMCLOCK_LEAP_PRE_POS && sec >= end)
				sec--;
			else if (c->leap == VMCLOCK_LEAP_PRE_NEG && page_utc < end - 1 &&
				 sec >= end - 1)
				sec++;
		}
	}
	r->sec = (__s64)sec;
	r->nsec = (__u32)nsec;
	/* valid as the core says: time flag, and the rate flag unless d == 0 */
	r->maxerror_ns = UINT64_MAX;
	if ((c->flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) &&
	    (!mag || (c->flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID))) {
		__u64 grow = hostclock_reader_growth(mag, c->maxerror_rate, c->shift);

		r->maxerror_ns = c->maxerror_ns > UINT64_MAX - grow ? UINT64_MAX :
				 c->maxerror_ns + grow;
	}
	return 0;
}

/**
 * hostclock_reader_check() - can a page copy give time?
 * @c: the copy
 *
 * Return: 0, or -ENODATA: not a VMClock page, no TSC, status not
 * synchronized or freerunning, or a period or shift the driver refuses.
 */
static inline int hostclock_reader_check(const struct hostclock_reader_copy *c)
{
	if (c->magic != VMCLOCK_MAGIC || c->version != VMCLOCK_VERSION ||
	    c->counter_id != VMCLOCK_COUNTER_X86_TSC || !c->period || c->shift > 35 ||
	    (c->clock_status != VMCLOCK_STATUS_SYNCHRONIZED &&
	     c->clock_status != VMCLOCK_STATUS_FREERUNNING) ||
	    (c->time_type != VMCLOCK_TIME_UTC && c->time_type != VMCLOCK_TIME_TAI))
		return -ENODATA;
	return 0;
}

/**
 * hostclock_reader_now() - the host's time now
 * @page: page 0 from hostclock_reader_map()
 * @tai: HOSTCLOCK_READER_UTC or HOSTCLOCK_READER_TAI
 * @r: the time, its error bound and the TSC it was read at
 *
 * Return: 0; -EAGAIN when the page stayed busy for HOSTCLOCK_READER_TRIES;
 * -ENODATA when there is no usable time.
 */
static inline int hostclock_reader_now(const struct vmclock_abi *page, int tai,
				       struct hostclock_reading *r)
{
	struct hostclock_reader_copy c;
	__u64 tsc;
	int ret;

	if (!hostclock_reader_copy(page, &c, &tsc))
		return -EAGAIN;
	ret = hostclock_reader_check(&c);
	if (!ret)
		ret = hostclock_reader_convert(&c, tsc, tai, r);
	r->tsc = tsc;
	return ret;
}

#endif /* _HOSTCLOCK_READER_H */
