/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostclock's portable time core: reading, validating and converting a
 * VMClock page, and the clocksource's continuous line.
 *
 * Pure functions on plain memory, no locking and no allocation: the same
 * code runs in the guest module, in hostclockd and in the userspace tests.
 * The page comes from the host and is untrusted; nothing here loops without
 * a bound set by the guest (the retry budget; the monotonic guard's other
 * readers), divides by page data or shifts by page data unchecked.
 */
#ifndef _HOSTCLOCK_CORE_H
#define _HOSTCLOCK_CORE_H

#include "compat.h"
#include "vmclock_abi.h"

/**
 * enum hostclock_err - why a page cannot be used, or a conversion failed
 *
 * Each value has a stable name (hostclock_err_name()) used in logs, sysfs
 * and tool output; new values are only ever appended.
 */
enum hostclock_err {
	HOSTCLOCK_OK = 0,
	HOSTCLOCK_ERR_SEQ_TIMEOUT,	/* retry budget spent, seq odd or moving */
	HOSTCLOCK_ERR_BAD_MAGIC,
	HOSTCLOCK_ERR_BAD_VERSION,
	HOSTCLOCK_ERR_BAD_SIZE,		/* size field vs. structure and region */
	HOSTCLOCK_ERR_NO_COUNTER,	/* counter_id is VMCLOCK_COUNTER_INVALID */
	HOSTCLOCK_ERR_BAD_COUNTER,	/* a counter this build cannot read */
	HOSTCLOCK_ERR_BAD_TIME_TYPE,	/* unknown or smeared timescale */
	HOSTCLOCK_ERR_BAD_SHIFT,	/* counter_period_shift out of range */
	HOSTCLOCK_ERR_ZERO_PERIOD,
	HOSTCLOCK_ERR_BAD_PERIOD,	/* implies a counter frequency out of range */
	HOSTCLOCK_ERR_BAD_STATUS,	/* clock_status not a known value */
	HOSTCLOCK_ERR_BAD_TAI_OFFSET,	/* flagged valid but implausible */
	HOSTCLOCK_ERR_BAD_LEAP,		/* leap_indicator not a known value */
	HOSTCLOCK_ERR_NO_TAI_OFFSET,	/* UTC<->TAI asked, offset not valid */
	HOSTCLOCK_ERR_NO_TIMESCALE,	/* monotonic page asked for UTC/TAI */
	HOSTCLOCK_ERR_RANGE,		/* result before 1970 or beyond 64 bits */
	HOSTCLOCK_ERR_COUNT
};

const char *hostclock_err_name(int err);

/*
 * Accepted counter frequencies, as powers of two so that the check is exact
 * without division: 2^20 Hz (1.05 MHz) to 2^36 Hz (68.7 GHz). The largest
 * accepted shift is the largest at which the fastest accepted counter still
 * has a period that fits in 64 bits.
 */
#define HOSTCLOCK_FREQ_MIN_LOG2		20
#define HOSTCLOCK_FREQ_MAX_LOG2		36
#define HOSTCLOCK_SHIFT_MAX		(HOSTCLOCK_FREQ_MAX_LOG2 - 1)

/* |TAI - UTC| accepted when flagged valid; 37 s in 2017, moves ~1 s/year */
#define HOSTCLOCK_TAI_OFFSET_MAX	1000

/**
 * struct hostclock_clock - a VMClock page decoded to CPU byte order
 *
 * Field names follow struct vmclock_abi; see there for meanings.
 */
struct hostclock_clock {
	u32 magic;
	u32 size;
	u16 version;
	u8 counter_id;
	u8 time_type;
	u32 seq_count;
	u64 disruption_marker;
	u64 flags;
	u8 clock_status;
	u8 leap_second_smearing_hint;
	s16 tai_offset_sec;
	u8 leap_indicator;
	u8 counter_period_shift;
	u64 counter_value;
	u64 counter_period_frac_sec;
	u64 counter_period_esterror_rate_frac_sec;
	u64 counter_period_maxerror_rate_frac_sec;
	u64 time_sec;
	u64 time_frac_sec;
	u64 time_esterror_nanosec;
	u64 time_maxerror_nanosec;
	u64 vm_generation_counter;
};

/* Retry budget a kernel reader uses; a host update takes well under this. */
#define HOSTCLOCK_READ_BUDGET		1024

int hostclock_page_snapshot(const struct vmclock_abi *page,
			    struct hostclock_clock *clk, unsigned int budget,
			    unsigned int *retries);
void hostclock_clock_decode(const struct vmclock_abi *raw,
			    struct hostclock_clock *clk);
void hostclock_clock_encode(const struct hostclock_clock *clk,
			    struct vmclock_abi *raw);
int hostclock_clock_validate(const struct hostclock_clock *clk,
			     size_t region_size);

/**
 * struct hostclock_time - an absolute time, seconds since the epoch
 * @sec: whole seconds
 * @nsec: nanoseconds, always below NSEC_PER_SEC
 */
struct hostclock_time {
	u64 sec;
	u32 nsec;
};

enum hostclock_timescale {
	HOSTCLOCK_TS_UTC = VMCLOCK_TIME_UTC,
	HOSTCLOCK_TS_TAI = VMCLOCK_TIME_TAI,
};

int hostclock_counter_to_time(const struct hostclock_clock *clk, u64 counter,
			      struct hostclock_time *t);
int hostclock_counter_to_timescale(const struct hostclock_clock *clk,
				   u64 counter, enum hostclock_timescale ts,
				   struct hostclock_time *t);

/**
 * struct hostclock_error_bound - the host's error bounds at one counter value
 * @esterror_ns: estimated error, valid only if @esterror_valid
 * @maxerror_ns: maximum error, valid only if @maxerror_valid
 * @esterror_valid: the page flags the needed fields valid
 * @maxerror_valid: likewise for the maximum error
 */
struct hostclock_error_bound {
	u64 esterror_ns;
	u64 maxerror_ns;
	bool esterror_valid;
	bool maxerror_valid;
};

void hostclock_counter_error(const struct hostclock_clock *clk, u64 counter,
			     struct hostclock_error_bound *err);

/*
 * The clocksource's line: ns(tsc) = base + (tsc - base_tsc) * mult, with
 * base and mult in fixed point of HOSTCLOCK_LINE_FRAC_BITS fractional bits.
 * 54 bits leave room in mult for the slowest accepted counter (under 2^10 ns
 * per tick) and make each tick's rate exact to about 6e-17 ns.
 */
#define HOSTCLOCK_LINE_FRAC_BITS	54

/**
 * struct hostclock_line - nanoseconds as a linear function of the TSC
 * @base_tsc: counter value where the line was last rebased
 * @base_ns: whole nanoseconds at @base_tsc
 * @base_frac: fraction of a nanosecond at @base_tsc, 2^-54 ns units
 * @mult: nanoseconds per tick, 2^-54 ns units
 */
struct hostclock_line {
	u64 base_tsc;
	u64 base_ns;
	u64 base_frac;
	u64 mult;
};

u64 hostclock_period_to_mult(u64 period_frac_sec, u8 shift);
void hostclock_line_start(struct hostclock_line *line, u64 tsc, u64 ns,
			  u64 mult);
u64 hostclock_line_ns(const struct hostclock_line *line, u64 tsc);
void hostclock_line_rebase(struct hostclock_line *line, u64 tsc, u64 mult);
bool hostclock_line_tsc_at(const struct hostclock_line *line, u64 ns, u64 *tsc);
u64 hostclock_monotonic_guard(u64 *last, u64 ns, bool *clamped);

/* What hostclock_rate_bound() made of a page's rate. */
enum hostclock_rate_verdict {
	HOSTCLOCK_RATE_OK,
	HOSTCLOCK_RATE_LIMITED,		/* moved toward it by the step limit */
	HOSTCLOCK_RATE_REFUSED,		/* too far from the guest's calibration */
};

/* Largest tolerance and step hostclock_rate_bound() applies: 10^6 - 1 ppm. */
#define HOSTCLOCK_RATE_PPM_MAX		999999

u64 hostclock_khz_to_mult(u64 khz);
s64 hostclock_rate_ppb(u64 rate, u64 ref);
int hostclock_rate_bound(u64 want, u64 ref, u64 cur, u32 tolerance_ppm,
			 u32 step_ppm, u64 *use);

/*
 * What a driver instance can say about its clock. The names (for logs and
 * sysfs) come from hostclock_state_name().
 */
enum hostclock_state {
	HOSTCLOCK_STATE_SYNCHRONIZED,
	HOSTCLOCK_STATE_FREERUNNING,
	HOSTCLOCK_STATE_INITIALIZING,
	HOSTCLOCK_STATE_UNRELIABLE,
	HOSTCLOCK_STATE_UNKNOWN,
	HOSTCLOCK_STATE_NO_CLOCK,	/* a valid page without a counter */
	HOSTCLOCK_STATE_INVALID,	/* validation failed */
	HOSTCLOCK_STATE_STALE,		/* the agent stopped updating */
	HOSTCLOCK_STATE_TSC_UNSTABLE,	/* the guest does not trust its TSC */
	HOSTCLOCK_STATE_COUNT
};

const char *hostclock_state_name(enum hostclock_state state);
enum hostclock_state hostclock_state_of(int err, u8 clock_status, bool stale,
					bool tsc_unstable);
bool hostclock_state_usable(enum hostclock_state state);
bool hostclock_snapshot_tsc(const struct hostclock_line *line, u64 cycles,
			    u64 tsc_lo, u64 tsc_hi, u64 *tsc);

/**
 * struct hostclock_pvclock - what kvm-clock reads the TSC with, for one vCPU
 * @tsc_timestamp: the TSC at @system_time
 * @system_time: kvm-clock's nanoseconds at @tsc_timestamp
 * @tsc_to_system_mul: nanoseconds per (shifted) tick, a 32-bit binary fraction
 * @tsc_shift: the shift applied to the TSC delta first (negative: right)
 */
struct hostclock_pvclock {
	u64 tsc_timestamp;
	u64 system_time;
	u32 tsc_to_system_mul;
	s8 tsc_shift;
};

bool hostclock_pvclock_ns(const struct hostclock_pvclock *pv, u64 tsc, u64 *ns);
bool hostclock_pvclock_tsc_of(const struct hostclock_pvclock *pv, u64 cycles,
			      u64 tsc_lo, u64 tsc_hi, u64 *tsc);

/* What changed from one valid page to the next (hostclock_page_changes()). */
#define HOSTCLOCK_CHANGE_FREQ		BIT(0)
#define HOSTCLOCK_CHANGE_STEP		BIT(1)
#define HOSTCLOCK_CHANGE_DISRUPTION	BIT(2)
#define HOSTCLOCK_CHANGE_VM_GENERATION	BIT(3)

unsigned int hostclock_page_changes(const struct hostclock_clock *old,
				    const struct hostclock_clock *new,
				    u64 freq_ppb, u64 step_ns);

/* Exact n / d for a quotient that fits in 64 bits ((n >> 64) < d). */
u64 hostclock_div128(unsigned __int128 n, u64 d);

/* The drift sampler's statistics over the last HOSTCLOCK_DRIFT_WINDOW samples. */
#define HOSTCLOCK_DRIFT_WINDOW	64

/**
 * struct hostclock_drift - offsets of guest CLOCK_REALTIME from host time
 * @t_ns: when each sample was taken (monotonic), a ring
 * @offset_ns: host minus guest, ns, a ring
 * @head: next slot to write
 * @n: slots in use
 * @samples: samples since load or reset
 * @last_ns: the last offset
 * @max_abs_ns: the largest |offset| since load or reset
 * @exceeded: samples whose |offset| was over the threshold
 */
struct hostclock_drift {
	s64 t_ns[HOSTCLOCK_DRIFT_WINDOW];
	s64 offset_ns[HOSTCLOCK_DRIFT_WINDOW];
	unsigned int head;
	unsigned int n;
	u64 samples;
	s64 last_ns;
	u64 max_abs_ns;
	u64 exceeded;
};

/**
 * struct hostclock_drift_stats - what the window says
 * @mean_ns: mean offset
 * @stddev_ns: standard deviation of the offset
 * @drift_ppb: least-squares rate of the offset, ppb
 * @have_drift: @drift_ppb is defined (two samples at different times)
 */
struct hostclock_drift_stats {
	s64 mean_ns;
	u64 stddev_ns;
	s64 drift_ppb;
	bool have_drift;
};

void hostclock_drift_reset(struct hostclock_drift *d);
void hostclock_drift_add(struct hostclock_drift *d, s64 t_ns, s64 offset_ns,
			 u64 threshold_ns);
void hostclock_drift_stats(const struct hostclock_drift *d,
			   struct hostclock_drift_stats *s);

#endif /* _HOSTCLOCK_CORE_H */
