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

void hcd_reference_step(struct hcd_reference *ref, s64 step_ns)
{
	ref->step_ns += step_ns;
}

/* Fold the drift so far into the step, then drift at the new rate. */
void hcd_reference_set_rate(struct hcd_reference *ref, s64 host_ns, s64 ppb)
{
	ref->step_ns = hcd_reference_offset(ref, host_ns);
	ref->since_ns = host_ns;
	ref->rate_ppb = ppb;
}
