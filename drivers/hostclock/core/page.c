// SPDX-License-Identifier: GPL-2.0
/*
 * Reading and validating a VMClock page.
 *
 * The page is written by the host at any moment and may be garbage. A read
 * is a copy taken under the sequence count with a bounded number of
 * attempts; validation then decides, field by field, whether the copy can
 * be used to tell time, and names the first check that failed.
 */
#include "hostclock/core.h"

static const char * const hostclock_err_names[HOSTCLOCK_ERR_COUNT] = {
	[HOSTCLOCK_OK]			= "ok",
	[HOSTCLOCK_ERR_SEQ_TIMEOUT]	= "seq_timeout",
	[HOSTCLOCK_ERR_BAD_MAGIC]	= "bad_magic",
	[HOSTCLOCK_ERR_BAD_VERSION]	= "bad_version",
	[HOSTCLOCK_ERR_BAD_SIZE]	= "bad_size",
	[HOSTCLOCK_ERR_NO_COUNTER]	= "no_counter",
	[HOSTCLOCK_ERR_BAD_COUNTER]	= "bad_counter",
	[HOSTCLOCK_ERR_BAD_TIME_TYPE]	= "bad_time_type",
	[HOSTCLOCK_ERR_BAD_SHIFT]	= "bad_shift",
	[HOSTCLOCK_ERR_ZERO_PERIOD]	= "zero_period",
	[HOSTCLOCK_ERR_BAD_PERIOD]	= "bad_period",
	[HOSTCLOCK_ERR_BAD_STATUS]	= "bad_status",
	[HOSTCLOCK_ERR_BAD_TAI_OFFSET]	= "bad_tai_offset",
	[HOSTCLOCK_ERR_BAD_LEAP]	= "bad_leap",
	[HOSTCLOCK_ERR_NO_TAI_OFFSET]	= "no_tai_offset",
	[HOSTCLOCK_ERR_NO_TIMESCALE]	= "no_timescale",
	[HOSTCLOCK_ERR_RANGE]		= "out_of_range",
};

/**
 * hostclock_err_name() - stable name of an error code, for logs and sysfs
 * @err: a value of enum hostclock_err
 *
 * Return: the name, or "unknown" for a value outside the enum.
 */
const char *hostclock_err_name(int err)
{
	if (err < 0 || err >= HOSTCLOCK_ERR_COUNT || !hostclock_err_names[err])
		return "unknown";
	return hostclock_err_names[err];
}

/**
 * hostclock_clock_decode() - convert a raw page copy to CPU byte order
 * @raw: a consistent copy of the page (not the live page)
 * @clk: where to put the decoded fields
 */
void hostclock_clock_decode(const struct vmclock_abi *raw,
			    struct hostclock_clock *clk)
{
	clk->magic = le32_to_cpu(raw->magic);
	clk->size = le32_to_cpu(raw->size);
	clk->version = le16_to_cpu(raw->version);
	clk->counter_id = raw->counter_id;
	clk->time_type = raw->time_type;
	clk->seq_count = le32_to_cpu(raw->seq_count);
	clk->disruption_marker = le64_to_cpu(raw->disruption_marker);
	clk->flags = le64_to_cpu(raw->flags);
	clk->clock_status = raw->clock_status;
	clk->leap_second_smearing_hint = raw->leap_second_smearing_hint;
	clk->tai_offset_sec = (s16)le16_to_cpu(raw->tai_offset_sec);
	clk->leap_indicator = raw->leap_indicator;
	clk->counter_period_shift = raw->counter_period_shift;
	clk->counter_value = le64_to_cpu(raw->counter_value);
	clk->counter_period_frac_sec = le64_to_cpu(raw->counter_period_frac_sec);
	clk->counter_period_esterror_rate_frac_sec =
		le64_to_cpu(raw->counter_period_esterror_rate_frac_sec);
	clk->counter_period_maxerror_rate_frac_sec =
		le64_to_cpu(raw->counter_period_maxerror_rate_frac_sec);
	clk->time_sec = le64_to_cpu(raw->time_sec);
	clk->time_frac_sec = le64_to_cpu(raw->time_frac_sec);
	clk->time_esterror_nanosec = le64_to_cpu(raw->time_esterror_nanosec);
	clk->time_maxerror_nanosec = le64_to_cpu(raw->time_maxerror_nanosec);
	clk->vm_generation_counter = le64_to_cpu(raw->vm_generation_counter);
}

/**
 * hostclock_clock_encode() - the inverse of hostclock_clock_decode()
 * @clk: decoded fields
 * @raw: page image to fill, padding zeroed
 *
 * Used by the host agent and the tests; it writes @raw with plain stores,
 * so the caller owns the sequence count protocol around it.
 */
void hostclock_clock_encode(const struct hostclock_clock *clk,
			    struct vmclock_abi *raw)
{
	memset(raw, 0, sizeof(*raw));
	raw->magic = cpu_to_le32(clk->magic);
	raw->size = cpu_to_le32(clk->size);
	raw->version = cpu_to_le16(clk->version);
	raw->counter_id = clk->counter_id;
	raw->time_type = clk->time_type;
	raw->seq_count = cpu_to_le32(clk->seq_count);
	raw->disruption_marker = cpu_to_le64(clk->disruption_marker);
	raw->flags = cpu_to_le64(clk->flags);
	raw->clock_status = clk->clock_status;
	raw->leap_second_smearing_hint = clk->leap_second_smearing_hint;
	raw->tai_offset_sec = cpu_to_le16((u16)clk->tai_offset_sec);
	raw->leap_indicator = clk->leap_indicator;
	raw->counter_period_shift = clk->counter_period_shift;
	raw->counter_value = cpu_to_le64(clk->counter_value);
	raw->counter_period_frac_sec = cpu_to_le64(clk->counter_period_frac_sec);
	raw->counter_period_esterror_rate_frac_sec =
		cpu_to_le64(clk->counter_period_esterror_rate_frac_sec);
	raw->counter_period_maxerror_rate_frac_sec =
		cpu_to_le64(clk->counter_period_maxerror_rate_frac_sec);
	raw->time_sec = cpu_to_le64(clk->time_sec);
	raw->time_frac_sec = cpu_to_le64(clk->time_frac_sec);
	raw->time_esterror_nanosec = cpu_to_le64(clk->time_esterror_nanosec);
	raw->time_maxerror_nanosec = cpu_to_le64(clk->time_maxerror_nanosec);
	raw->vm_generation_counter = cpu_to_le64(clk->vm_generation_counter);
}

/**
 * hostclock_page_snapshot() - take a consistent copy of a live page
 * @page: the shared page, written concurrently by the host
 * @clk: the decoded copy, valid only on success
 * @budget: attempts allowed; at least 1
 * @retries: if not NULL, set to the number of failed attempts
 *
 * An attempt succeeds when seq_count is even before the copy and unchanged
 * after it. A host that leaves seq_count odd, or rewrites the page faster
 * than it can be copied, exhausts @budget rather than this CPU.
 *
 * Return: HOSTCLOCK_OK, or HOSTCLOCK_ERR_SEQ_TIMEOUT when every attempt
 * failed. The copy is not validated.
 */
int hostclock_page_snapshot(const struct vmclock_abi *page,
			    struct hostclock_clock *clk, unsigned int budget,
			    unsigned int *retries)
{
	struct vmclock_abi raw;
	unsigned int attempt;
	u32 seq;

	for (attempt = 0; attempt < budget; attempt++) {
		seq = le32_to_cpu(READ_ONCE(page->seq_count));
		if (!(seq & 1)) {
			/* Pairs with the host's write barrier after making seq odd. */
			virt_rmb();
			memcpy(&raw, page, sizeof(raw));
			/* Pairs with the host's write barrier before making seq even. */
			virt_rmb();
			if (le32_to_cpu(READ_ONCE(page->seq_count)) == seq) {
				hostclock_clock_decode(&raw, clk);
				clk->seq_count = seq;
				if (retries)
					*retries = attempt;
				return HOSTCLOCK_OK;
			}
		}
		cpu_relax();
	}
	if (retries)
		*retries = budget;
	return HOSTCLOCK_ERR_SEQ_TIMEOUT;
}

/*
 * A period p (2^-(64 + s) s per tick) means a frequency of 2^(64 + s) / p Hz.
 * The frequency lies in [2^FMIN, 2^FMAX] exactly when
 * p lies in [2^(64 + s - FMAX), 2^(64 + s - FMIN)]; s is at most SHIFT_MAX
 * here, so both bounds fit in 128 bits and no division is needed.
 */
static bool hostclock_period_plausible(u64 period, u8 shift)
{
	unsigned __int128 lo = (unsigned __int128)1 << (64 + shift - HOSTCLOCK_FREQ_MAX_LOG2);
	unsigned __int128 hi = (unsigned __int128)1 << (64 + shift - HOSTCLOCK_FREQ_MIN_LOG2);

	return period >= lo && period <= hi;
}

/**
 * hostclock_clock_validate() - can this page copy be used?
 * @clk: a decoded copy from hostclock_page_snapshot()
 * @region_size: bytes mapped from the start of the page
 *
 * Checks the structure, then the fields every page must get right, then the
 * counter fields. A page with counter_id VMCLOCK_COUNTER_INVALID that passes
 * the first two groups yields HOSTCLOCK_ERR_NO_COUNTER: it tells no time, but
 * its disruption marker, generation counter and status are meaningful.
 * Unknown flag bits and the smearing hint are ignored. clock_status is only
 * checked for being a known value; whether the status is good enough to use
 * is the caller's policy.
 *
 * Return: HOSTCLOCK_OK or the first failed check.
 */
int hostclock_clock_validate(const struct hostclock_clock *clk,
			     size_t region_size)
{
	s16 tai = clk->tai_offset_sec;

	if (clk->magic != VMCLOCK_MAGIC)
		return HOSTCLOCK_ERR_BAD_MAGIC;
	if (clk->version != VMCLOCK_VERSION)
		return HOSTCLOCK_ERR_BAD_VERSION;
	if (clk->size < sizeof(struct vmclock_abi) || clk->size > region_size)
		return HOSTCLOCK_ERR_BAD_SIZE;

	if (clk->clock_status > VMCLOCK_STATUS_UNRELIABLE)
		return HOSTCLOCK_ERR_BAD_STATUS;
	if (clk->time_type > VMCLOCK_TIME_MONOTONIC)
		return HOSTCLOCK_ERR_BAD_TIME_TYPE;
	if (clk->leap_indicator > VMCLOCK_LEAP_POST_NEG)
		return HOSTCLOCK_ERR_BAD_LEAP;
	if ((clk->flags & VMCLOCK_FLAG_TAI_OFFSET_VALID) &&
	    (tai > HOSTCLOCK_TAI_OFFSET_MAX || tai < -HOSTCLOCK_TAI_OFFSET_MAX))
		return HOSTCLOCK_ERR_BAD_TAI_OFFSET;

	if (clk->counter_id == VMCLOCK_COUNTER_INVALID)
		return HOSTCLOCK_ERR_NO_COUNTER;
	if (clk->counter_id != VMCLOCK_COUNTER_X86_TSC)
		return HOSTCLOCK_ERR_BAD_COUNTER;
	if (clk->counter_period_shift > HOSTCLOCK_SHIFT_MAX)
		return HOSTCLOCK_ERR_BAD_SHIFT;
	if (!clk->counter_period_frac_sec)
		return HOSTCLOCK_ERR_ZERO_PERIOD;
	if (!hostclock_period_plausible(clk->counter_period_frac_sec,
					clk->counter_period_shift))
		return HOSTCLOCK_ERR_BAD_PERIOD;
	return HOSTCLOCK_OK;
}
