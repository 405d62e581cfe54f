/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test cases of the portable core, shared by the userspace unit tests and
 * the KUnit suites so that both run exactly the same checks.
 *
 * Each hc_check_*() returns true on success; on failure it writes what was
 * expected and what was seen into @msg.
 */
#ifndef _HOSTCLOCK_CASES_H
#define _HOSTCLOCK_CASES_H

#include "hostclock/core.h"

#define HC_MSG_LEN	256

/* A valid page: UTC, 2^32 Hz counter (one tick is exactly 2^-32 s). */
void hc_good_clock(struct hostclock_clock *clk);

enum hc_field {
	HC_F_NONE,
	HC_F_MAGIC,
	HC_F_VERSION,
	HC_F_SIZE,
	HC_F_STATUS,
	HC_F_TIME_TYPE,
	HC_F_LEAP,
	HC_F_FLAGS,
	HC_F_TAI,
	HC_F_COUNTER,
	HC_F_SHIFT,
	HC_F_PERIOD,
};

struct hc_set {
	enum hc_field field;
	u64 value;
};

struct hc_validate_vector {
	const char *name;
	struct hc_set set[3];
	size_t region;
	int expect;
};

extern const struct hc_validate_vector hc_validate_vectors[];
extern const unsigned int hc_validate_vector_count;
bool hc_check_validate(const struct hc_validate_vector *v, char *msg);

struct hc_convert_vector {
	const char *name;
	u64 time_sec;
	u64 time_frac;
	u64 period;
	u8 shift;
	s64 delta;		/* counter - counter_value */
	u8 time_type;
	s16 tai;		/* flagged valid when nonzero */
	enum hostclock_timescale want;
	int expect;
	u64 sec;
	u32 nsec;
};

extern const struct hc_convert_vector hc_convert_vectors[];
extern const unsigned int hc_convert_vector_count;
bool hc_check_convert(const struct hc_convert_vector *v, char *msg);

/* Across an announced leap second: page at @time_sec + 0.5 s, +@delta_sec. */
struct hc_leap_vector {
	const char *name;
	u64 time_sec;
	u8 time_type;
	s16 tai;		/* flagged valid when nonzero */
	u8 leap;		/* leap_indicator */
	s64 delta_sec;
	enum hostclock_timescale want;
	u64 sec;		/* expected; nsec is always 500000000 */
};

extern const struct hc_leap_vector hc_leap_vectors[];
extern const unsigned int hc_leap_vector_count;
bool hc_check_leap(const struct hc_leap_vector *v, char *msg);
bool hc_check_leap_range(char *msg);

struct hc_error_vector {
	const char *name;
	u64 flags;
	u64 time_est;
	u64 time_max;
	u64 est_rate;
	u64 max_rate;
	u8 shift;
	s64 delta;
	bool est_valid;
	bool max_valid;
	u64 est;
	u64 max;
};

extern const struct hc_error_vector hc_error_vectors[];
extern const unsigned int hc_error_vector_count;
bool hc_check_error(const struct hc_error_vector *v, char *msg);

struct hc_state_vector {
	const char *name;
	int err;
	u8 status;
	bool stale;
	enum hostclock_state state;
	bool usable;
	bool tsc_unstable;
};

extern const struct hc_state_vector hc_state_vectors[];
extern const unsigned int hc_state_vector_count;
bool hc_check_state(const struct hc_state_vector *v, char *msg);
bool hc_check_state_names(char *msg);
bool hc_check_snapshot_tsc(char *msg);
bool hc_check_pvclock(char *msg);

bool hc_check_drift(char *msg);

struct hc_change_vector {
	const char *name;
	int what;		/* HC_CH_* in hostclock_cases.c */
	s64 value;
	unsigned int expect;	/* HOSTCLOCK_CHANGE_* */
};

extern const struct hc_change_vector hc_change_vectors[];
extern const unsigned int hc_change_vector_count;
bool hc_check_change(const struct hc_change_vector *v, char *msg);

/* The clocksource's bound on a page's rate (hostclock_rate_bound()). */
struct hc_rate_vector {
	const char *name;
	s64 want_ppm;		/* the page's rate, ppm from the reference */
	bool no_ref;		/* the guest has no calibration */
	s64 cur_ppm;		/* the line's rate; HC_RATE_NONE before the first */
	u32 tolerance_ppm;
	u32 step_ppm;
	int expect;		/* HOSTCLOCK_RATE_* */
	s64 use_ppm;		/* HC_RATE_NONE: no rate */
};

#define HC_RATE_NONE	S64_MAX

extern const struct hc_rate_vector hc_rate_vectors[];
extern const unsigned int hc_rate_vector_count;
bool hc_check_rate(const struct hc_rate_vector *v, char *msg);
bool hc_check_rate_units(char *msg);
bool hc_check_rate_random(u64 seed, unsigned int n, char *msg);

bool hc_check_err_names(char *msg);
bool hc_check_snapshot_roundtrip(char *msg);
bool hc_check_snapshot_stuck_odd(unsigned int budget, char *msg);

/* Randomized properties against the multi-precision reference. */
bool hc_check_convert_random(u64 seed, unsigned int n, char *msg);
bool hc_check_line_rebase_random(u64 seed, unsigned int n, char *msg);
bool hc_check_line_accumulation(u64 seed, unsigned int n, char *msg);
bool hc_check_line_invert_random(u64 seed, unsigned int n, char *msg);
bool hc_check_guard_random(u64 seed, unsigned int n, char *msg);

#endif /* _HOSTCLOCK_CASES_H */
