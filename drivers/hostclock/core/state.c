// SPDX-License-Identifier: GPL-2.0
/*
 * Decisions the driver takes on what it read, kept apart from the hardware
 * so that they are tested in userspace and KUnit: an instance's state, and
 * which TSC value a system snapshot was taken at.
 */
#include "hostclock/core.h"

static const char * const hostclock_state_names[HOSTCLOCK_STATE_COUNT] = {
	[HOSTCLOCK_STATE_SYNCHRONIZED] = "synchronized",
	[HOSTCLOCK_STATE_FREERUNNING] = "freerunning",
	[HOSTCLOCK_STATE_INITIALIZING] = "initializing",
	[HOSTCLOCK_STATE_UNRELIABLE] = "unreliable",
	[HOSTCLOCK_STATE_UNKNOWN] = "unknown",
	[HOSTCLOCK_STATE_NO_CLOCK] = "no-clock",
	[HOSTCLOCK_STATE_INVALID] = "invalid",
	[HOSTCLOCK_STATE_STALE] = "stale",
	[HOSTCLOCK_STATE_TSC_UNSTABLE] = "tsc-unstable",
};

/**
 * hostclock_state_name() - stable name of a state, for logs and sysfs
 * @state: HOSTCLOCK_STATE_*
 *
 * Return: the name, or "?" for a value out of range.
 */
const char *hostclock_state_name(enum hostclock_state state)
{
	if ((unsigned int)state >= HOSTCLOCK_STATE_COUNT)
		return "?";
	return hostclock_state_names[state];
}

/**
 * hostclock_state_of() - what a poll of the page concludes
 * @err: HOSTCLOCK_OK or the error of the snapshot and validation
 * @clock_status: the page's clock_status (meaningful when the page
 *	validated, with or without a counter)
 * @stale: no new page generation for longer than the agent promised
 * @tsc_unstable: the kernel does not trust the TSC (check_tsc_unstable())
 *
 * A page that failed validation (or could not be read) is invalid; a good
 * page without a counter is initializing when it says so, else has no
 * clock; a good page gone stale is stale whatever its status says; then the
 * status decides. A status that would serve time serves none while the
 * TSC is unstable: the page maps the TSC of the vCPU that paired, and with
 * unsynchronized TSCs another vCPU's reading would give another time.
 *
 * Return: HOSTCLOCK_STATE_*.
 */
enum hostclock_state hostclock_state_of(int err, u8 clock_status, bool stale,
					bool tsc_unstable)
{
	enum hostclock_state state;

	if (err == HOSTCLOCK_ERR_NO_COUNTER)
		return clock_status == VMCLOCK_STATUS_INITIALIZING ?
		       HOSTCLOCK_STATE_INITIALIZING : HOSTCLOCK_STATE_NO_CLOCK;
	if (err)
		return HOSTCLOCK_STATE_INVALID;
	if (stale)
		return HOSTCLOCK_STATE_STALE;
	switch (clock_status) {
	case VMCLOCK_STATUS_SYNCHRONIZED:
		state = HOSTCLOCK_STATE_SYNCHRONIZED;
		break;
	case VMCLOCK_STATUS_FREERUNNING:
		state = HOSTCLOCK_STATE_FREERUNNING;
		break;
	case VMCLOCK_STATUS_INITIALIZING:
		return HOSTCLOCK_STATE_INITIALIZING;
	case VMCLOCK_STATUS_UNRELIABLE:
		return HOSTCLOCK_STATE_UNRELIABLE;
	default:
		return HOSTCLOCK_STATE_UNKNOWN;
	}
	return tsc_unstable ? HOSTCLOCK_STATE_TSC_UNSTABLE : state;
}

/**
 * hostclock_state_usable() - may time be served in this state?
 * @state: HOSTCLOCK_STATE_*
 *
 * Return: true for synchronized and freerunning only.
 */
bool hostclock_state_usable(enum hostclock_state state)
{
	return state == HOSTCLOCK_STATE_SYNCHRONIZED ||
	       state == HOSTCLOCK_STATE_FREERUNNING;
}

/* Ticks of slack around the bracket for the line's rounding. */
#define HOSTCLOCK_SNAPSHOT_SLACK	8

/**
 * hostclock_snapshot_tsc() - the TSC value a system snapshot was taken at
 * @line: the hostclock clocksource's line if it may be current, else NULL
 * @cycles: the current clocksource's reading in the snapshot
 * @tsc_lo: TSC read just before the snapshot
 * @tsc_hi: TSC read just after it
 * @tsc: the answer
 *
 * With hostclock current, @cycles is a value of @line, and inverting the
 * line gives the TSC; with tsc current, @cycles is the TSC itself. Either
 * candidate must lie between the two TSC reads around the snapshot (the
 * line's within a few ticks of rounding), or it is refused: that check, not
 * a belief about which clocksource is current, makes the answer safe across
 * a clocksource switch.
 *
 * Return: true if @tsc was found.
 */
bool hostclock_snapshot_tsc(const struct hostclock_line *line, u64 cycles,
			    u64 tsc_lo, u64 tsc_hi, u64 *tsc)
{
	u64 t;

	if (line && hostclock_line_tsc_at(line, cycles, &t) &&
	    t + HOSTCLOCK_SNAPSHOT_SLACK >= tsc_lo &&
	    t <= tsc_hi + HOSTCLOCK_SNAPSHOT_SLACK) {
		*tsc = t;
		return true;
	}
	if (cycles >= tsc_lo && cycles <= tsc_hi) {
		*tsc = cycles;
		return true;
	}
	return false;
}

/* nanoseconds of a 64-bit binary fraction of a second, to nearest */
static u64 hostclock_frac_to_ns(u64 frac)
{
	return (u64)(((__uint128_t)frac * NSEC_PER_SEC + (1ULL << 63)) >> 64);
}

/**
 * hostclock_page_changes() - what changed from one valid page to the next
 * @old: the previous valid page
 * @new: the new one
 * @freq_ppb: a period change above this is HOSTCLOCK_CHANGE_FREQ
 * @step_ns: a time jump above this is HOSTCLOCK_CHANGE_STEP
 *
 * The time jump compares the new page's time with the old page's time
 * extrapolated to the new page's counter_value; pages in different
 * timescales are not compared. A new disruption_marker is
 * HOSTCLOCK_CHANGE_DISRUPTION; a new vm_generation_counter, on a page that
 * flags it present, HOSTCLOCK_CHANGE_VM_GENERATION.
 *
 * Return: a mask of HOSTCLOCK_CHANGE_*.
 */
unsigned int hostclock_page_changes(const struct hostclock_clock *old,
				    const struct hostclock_clock *new,
				    u64 freq_ppb, u64 step_ns)
{
	u64 a = hostclock_period_to_mult(new->counter_period_frac_sec,
					 new->counter_period_shift);
	u64 b = hostclock_period_to_mult(old->counter_period_frac_sec,
					 old->counter_period_shift);
	struct hostclock_time then;
	unsigned int changes = 0;
	__int128_t jump;

	if (new->disruption_marker != old->disruption_marker)
		changes |= HOSTCLOCK_CHANGE_DISRUPTION;
	if ((new->flags & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT) &&
	    new->vm_generation_counter != old->vm_generation_counter)
		changes |= HOSTCLOCK_CHANGE_VM_GENERATION;
	if ((__uint128_t)(a > b ? a - b : b - a) * NSEC_PER_SEC > (__uint128_t)freq_ppb * b)
		changes |= HOSTCLOCK_CHANGE_FREQ;
	if (old->time_type != new->time_type ||
	    hostclock_counter_to_time(old, new->counter_value, &then))
		return changes;
	jump = ((__int128_t)new->time_sec - (__int128_t)then.sec) * NSEC_PER_SEC +
	       (__int128_t)hostclock_frac_to_ns(new->time_frac_sec) - then.nsec;
	if (jump > (__int128_t)step_ns || -jump > (__int128_t)step_ns)
		changes |= HOSTCLOCK_CHANGE_STEP;
	return changes;
}
