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
 *
 * hostclock_reader_now_cached() gives the same results for less: it checks
 * and converts each page generation once into a per-thread
 * struct hostclock_reader_cache, and while seq_count stays unchanged a call
 * is a TSC read, one multiplication for the time and one for the bound.
 */
#ifndef _HOSTCLOCK_READER_H
#define _HOSTCLOCK_READER_H

#include <cpuid.h>
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

/* CPUID 0x80000001 EDX: the CPU has RDTSCP */
#define HOSTCLOCK_READER_CPUID_RDTSCP	BIT_ULL(27)

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

/* The fields the reader needs, copied under the seqcount (even, unchanged). */
struct hostclock_reader_copy {
	__u32 seq;
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
		if (__atomic_load_n(&page->seq_count, __ATOMIC_RELAXED) == seq) {
			c->seq = seq;
			return true;
		}
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

/*
 * The seconds to add to the page's time for a result in the other
 * timescale; false when the page's UTC-TAI offset is not valid.
 */
static inline bool hostclock_reader_shift_sec(const struct hostclock_reader_copy *c, int tai,
					      __s64 *shift_sec)
{
	*shift_sec = 0;
	if (c->time_type == (tai ? VMCLOCK_TIME_TAI : VMCLOCK_TIME_UTC))
		return true;
	if (!(c->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID))
		return false;
	*shift_sec = tai ? c->tai_offset_sec : -c->tai_offset_sec;
	return true;
}

/*
 * An announced leap second, for a UTC result (see core/convert.c): a result
 * second at or past @from is moved by @step. No leap: @from is UINT64_MAX,
 * beyond every accepted second.
 */
static inline void hostclock_reader_leap(const struct hostclock_reader_copy *c, int tai,
					 __s64 shift_sec, __u64 *from, __s64 *step)
{
	__u64 page_utc, end;

	*from = UINT64_MAX;
	*step = 0;
	if (tai || (c->leap != VMCLOCK_LEAP_PRE_POS && c->leap != VMCLOCK_LEAP_PRE_NEG) ||
	    (c->time_type != VMCLOCK_TIME_UTC && c->time_sec < (__u64)-shift_sec))
		return;
	page_utc = c->time_sec + (c->time_type == VMCLOCK_TIME_UTC ? 0 : shift_sec);
	end = (page_utc / 86400 + 1) * 86400;
	/* as the core: a page past the range announces nothing */
	if (page_utc > INT64_MAX - 86400 || !hostclock_reader_first_of_month(end / 86400))
		return;
	if (c->leap == VMCLOCK_LEAP_PRE_POS) {
		*from = end;
		*step = -1;
	} else if (page_utc < end - 1) {
		*from = end - 1;
		*step = 1;
	}
}

/* valid as the core says: time flag, and the rate flag unless @mag is 0 */
static inline __u64 hostclock_reader_maxerror(const struct hostclock_reader_copy *c, __u64 mag)
{
	__u64 grow;

	if (!(c->flags & VMCLOCK_FLAG_TIME_MAXERROR_VALID) ||
	    (mag && !(c->flags & VMCLOCK_FLAG_PERIOD_MAXERROR_VALID)))
		return UINT64_MAX;
	grow = hostclock_reader_growth(mag, c->maxerror_rate, c->shift);
	return c->maxerror_ns > UINT64_MAX - grow ? UINT64_MAX : c->maxerror_ns + grow;
}

/* the nanoseconds of a 2^-64 s fraction, rounded to nearest (may be 10^9) */
static inline __u64 hostclock_reader_frac_ns(__u64 frac)
{
	return (__u64)(((__uint128_t)frac * 1000000000u + (1ULL << 63)) >> 64);
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
	__u64 mag = d < 0 ? -(__u64)d : (__u64)d, sec, nsec, leap_from;
	__uint128_t base = ((__uint128_t)c->time_sec << 64) | c->time_frac;
	__uint128_t off = ((__uint128_t)mag * c->period) >> c->shift, at;
	__s64 shift_sec, leap_step;

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
	nsec = hostclock_reader_frac_ns((__u64)at);
	if (nsec == 1000000000u) {
		sec++;
		nsec = 0;
	}
	if (!hostclock_reader_shift_sec(c, tai, &shift_sec))
		return -ENODATA;
	if (sec > INT64_MAX || (shift_sec < 0 && sec < (__u64)-shift_sec) ||
	    (shift_sec > 0 && sec > (__u64)(INT64_MAX - shift_sec)))
		return -ENODATA;
	sec += shift_sec;
	hostclock_reader_leap(c, tai, shift_sec, &leap_from, &leap_step);
	if (sec >= leap_from) {
		/* a skipped second must not carry the time past the range */
		if (leap_step > 0 && sec >= INT64_MAX)
			return -ENODATA;
		sec += leap_step;
	}
	r->sec = (__s64)sec;
	r->nsec = (__u32)nsec;
	r->maxerror_ns = hostclock_reader_maxerror(c, mag);
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

/**
 * struct hostclock_reader_cache - one page generation, checked and converted once
 * @page: the page the generation was read from; NULL when empty
 * @seq: its seq_count (even)
 * @fast_span: TSC deltas in [0, @fast_span) from @counter_value take the
 *	fast path; 0 when every read takes the general conversion (or, with
 *	@err, the refusal)
 * @counter_value: the page's counter_value
 * @period_lo: the period in 2^-128 s per tick (counter_period_frac_sec
 *	shifted left by 64 - counter_period_shift), its low 64 bits
 * @period_hi: and its high 64 bits
 * @base: the page's time, 64.64 fixed point
 * @shift_sec: seconds added for the timescale asked for
 * @leap_from: result seconds at or past which @leap_step applies
 * @leap_step: -1, 0 or +1 for an announced leap second
 * @err: 0, or -ENODATA for a generation the reader refuses
 * @tai: HOSTCLOCK_READER_UTC or HOSTCLOCK_READER_TAI
 * @rdtscp: this CPU has RDTSCP
 * @copy: the checked copy, for reads outside the fast span
 *
 * A generation is recognised by the page's address and seq_count alone.
 * The fast path reads nothing else from the page, so a mapping replaced
 * at the same address needs hostclock_reader_cache_init() again. (The
 * count is 32 bits: only a page rewritten exactly 2^31 times between two
 * calls, 248 days at the agent's shortest interval, would pass for the
 * cached generation.)
 *
 * Thread safety: the page may be read by any number of threads, each with
 * its own cache; a cache is one thread's (for example _Thread_local), or
 * its users hold a lock around each call. A call both reads and rewrites
 * the cache, so two threads using one cache at once race, and a read could
 * mix two generations; that is not supported.
 */
struct hostclock_reader_cache {
	const struct vmclock_abi *page;
	__u32 seq;
	__u64 fast_span, counter_value, period_lo, period_hi;
	__uint128_t base;
	__s64 shift_sec;
	__u64 leap_from;
	__s64 leap_step;
	int err, tai;
	bool rdtscp;
	struct hostclock_reader_copy copy;
};

/**
 * hostclock_reader_cache_init() - an empty cache for one timescale
 * @k: the cache
 * @tai: HOSTCLOCK_READER_UTC or HOSTCLOCK_READER_TAI
 */
static inline void hostclock_reader_cache_init(struct hostclock_reader_cache *k, int tai)
{
	unsigned int eax, ebx, ecx, edx;

	*k = (struct hostclock_reader_cache){ .page = NULL, .tai = tai };
	/* as the kernel's rdtsc_ordered(), RDTSCP where the CPU has it */
	k->rdtscp = __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) &&
		    (edx & HOSTCLOCK_READER_CPUID_RDTSCP);
}

/* a TSC read ordered after the loads before it */
static inline __u64 hostclock_reader_tsc(bool rdtscp)
{
	unsigned int aux;

	return rdtscp ? __builtin_ia32_rdtscp(&aux) : hostclock_reader_rdtsc();
}

/*
 * Does every delta of a span pass the general conversion's range checks?
 * Its seconds before the timescale shift run from @lo to at most @hi + 1
 * (the rounding carry).
 */
static inline bool hostclock_reader_span_fits(__u64 lo, __u64 hi, __s64 shift_sec)
{
	if (hi >= INT64_MAX)
		return false;
	if (shift_sec < 0)
		return lo >= (__u64)-shift_sec;
	return hi + 1 <= (__u64)(INT64_MAX - shift_sec);
}

/**
 * hostclock_reader_cache_fill() - check and convert one page generation
 * @k: a cache from hostclock_reader_cache_init()
 * @page: the page @c was copied from
 * @c: a consistent copy, not yet checked
 *
 * The fast span is the largest 2^n ticks (n <= 63) after counter_value
 * over which the conversion cannot overflow nor leave the range the
 * general conversion accepts; within it a read needs none of its checks.
 * The period is held pre-shifted, so that a read multiplies by it and
 * drops 64 bits instead of shifting by counter_period_shift: the same
 * quotient, (d * period * 2^(64 - shift)) / 2^64 = (d * period) / 2^shift.
 */
static inline void hostclock_reader_cache_fill(struct hostclock_reader_cache *k,
					       const struct vmclock_abi *page,
					       const struct hostclock_reader_copy *c)
{
	__uint128_t base = ((__uint128_t)c->time_sec << 64) | c->time_frac, top, period;
	unsigned int n;

	k->page = page;
	k->seq = c->seq;
	k->copy = *c;
	k->fast_span = 0;
	k->counter_value = c->counter_value;
	k->base = base;
	k->err = hostclock_reader_check(c);
	/* the other timescale, without an offset: no time, as the general path says */
	if (!k->err && !hostclock_reader_shift_sec(c, k->tai, &k->shift_sec))
		k->err = -ENODATA;
	if (k->err)
		return;
	/* checked: shift <= 35, so the period fits in 128 bits */
	period = (__uint128_t)c->period << (64 - c->shift);
	k->period_lo = (__u64)period;
	k->period_hi = (__u64)(period >> 64);
	hostclock_reader_leap(c, k->tai, k->shift_sec, &k->leap_from, &k->leap_step);
	for (n = 64; n-- > 0;) {
		top = base + (((__uint128_t)((1ULL << n) - 1) * c->period) >> c->shift);
		if (top >= base &&
		    hostclock_reader_span_fits(c->time_sec, (__u64)(top >> 64), k->shift_sec)) {
			k->fast_span = 1ULL << n;
			break;
		}
	}
}

/**
 * hostclock_reader_cache_convert() - the time at a TSC value from a cache
 * @k: a filled cache
 * @tsc: a TSC value
 * @r: the result, as hostclock_reader_now() gives it
 *
 * Return: 0, or -ENODATA when the time cannot be given.
 */
static inline int hostclock_reader_cache_convert(const struct hostclock_reader_cache *k,
						 __u64 tsc, struct hostclock_reading *r)
{
	__u64 d = tsc - k->counter_value, sec, nsec;
	__uint128_t at;

	r->tsc = tsc;
	/* before counter_value, far after it, or a refused page */
	if (__builtin_expect(d >= k->fast_span, 0))
		return k->err ? k->err : hostclock_reader_convert(&k->copy, tsc, k->tai, r);
	at = k->base + (__uint128_t)d * k->period_hi +
	     (__u64)(((__uint128_t)d * k->period_lo) >> 64);
	sec = (__u64)(at >> 64) + k->shift_sec;
	nsec = hostclock_reader_frac_ns((__u64)at);
	if (__builtin_expect(nsec == 1000000000u, 0)) {
		sec++;
		nsec = 0;
	}
	if (sec >= k->leap_from) {
		if (k->leap_step > 0 && sec >= INT64_MAX)
			return -ENODATA;
		sec += k->leap_step;
	}
	r->sec = (__s64)sec;
	r->nsec = (__u32)nsec;
	r->maxerror_ns = hostclock_reader_maxerror(&k->copy, d);
	return 0;
}

/* a new generation, or a read the page moved under: the whole read again */
static inline int hostclock_reader_refill(const struct vmclock_abi *page,
					  struct hostclock_reader_cache *k,
					  struct hostclock_reading *r)
{
	struct hostclock_reader_copy c;
	__u64 tsc;

	k->page = NULL;
	if (!hostclock_reader_copy(page, &c, &tsc))
		return -EAGAIN;
	hostclock_reader_cache_fill(k, page, &c);
	return hostclock_reader_cache_convert(k, tsc, r);
}

/**
 * hostclock_reader_now_cached() - the host's time now, through a cache
 * @page: page 0 from hostclock_reader_map()
 * @k: this thread's cache, from hostclock_reader_cache_init()
 * @r: the time, its error bound and the TSC it was read at
 *
 * The same results as hostclock_reader_now() with @k's timescale. While
 * @page's seq_count stays what @k holds, a call reads seq_count, the TSC
 * inside it, and seq_count again; any change, or another page, reads the
 * page again and refills @k.
 *
 * Return: 0; -EAGAIN when the page stayed busy for HOSTCLOCK_READER_TRIES;
 * -ENODATA when there is no usable time.
 */
static inline int hostclock_reader_now_cached(const struct vmclock_abi *page,
					      struct hostclock_reader_cache *k,
					      struct hostclock_reading *r)
{
	__u32 seq = __atomic_load_n(&page->seq_count, __ATOMIC_ACQUIRE);
	__u64 tsc;

	if (__builtin_expect(page == k->page && seq == k->seq, 1)) {
		tsc = hostclock_reader_tsc(k->rdtscp);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__builtin_expect(__atomic_load_n(&page->seq_count, __ATOMIC_RELAXED) == seq, 1))
			return hostclock_reader_cache_convert(k, tsc, r);
	}
	return hostclock_reader_refill(page, k, r);
}

#endif /* _HOSTCLOCK_READER_H */
