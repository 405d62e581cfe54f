// SPDX-License-Identifier: GPL-2.0
/*
 * The reference the agent publishes: host time plus an offset that fault
 * injection can step and make drift, as a migration to a host with another
 * clock would. Tests ask for the same reference to measure a guest against.
 */
#include "hcd.h"

void hcd_reference_init(struct hcd_reference *ref)
{
	memset(ref, 0, sizeof(*ref));
}

/**
 * hcd_reference_offset() - published minus host time at a host time
 * @ref: the perturbation
 * @host_ns: host CLOCK_REALTIME in ns
 */
s64 hcd_reference_offset(const struct hcd_reference *ref, s64 host_ns)
{
	__int128 drift = (__int128)(host_ns - ref->since_ns) * ref->rate_ppb;

	return ref->step_ns + (s64)(drift / 1000000000);
}

/**
 * hcd_reference_step() - step the published reference
 * @ref: the perturbation
 * @step_ns: by how much
 * @limit_ns: the accrued step stays within +-@limit_ns
 *
 * Return: 0, or -1 (nothing changed) if the step would pass @limit_ns.
 */
int hcd_reference_step(struct hcd_reference *ref, s64 step_ns, s64 limit_ns)
{
	s64 sum;

	if (__builtin_add_overflow(ref->step_ns, step_ns, &sum) ||
	    sum > limit_ns || sum < -limit_ns)
		return -1;
	ref->step_ns = sum;
	return 0;
}

/* Fold the drift so far into the step, then drift at the new rate. */
void hcd_reference_set_rate(struct hcd_reference *ref, s64 host_ns, s64 ppb)
{
	ref->step_ns = hcd_reference_offset(ref, host_ns);
	ref->since_ns = host_ns;
	ref->rate_ppb = ppb;
}
