// SPDX-License-Identifier: GPL-2.0
/*
 * The shared core cases (tests/common), run in userspace. KUnit runs the
 * same cases in tests/kunit/hostclock_core_test.c.
 */
#include <stdio.h>

#include "harness.h"
#include "hostclock_cases.h"

/* Seeds and counts for the randomized properties; KUnit runs fewer. */
#define HC_RANDOM_SEEDS		8

static const struct {
	const char *name;
	bool (*check)(u64 seed, unsigned int n, char *msg);
	unsigned int n;
} hc_properties[] = {
	{ "conversion vs reference", hc_check_convert_random, 200000 },
	{ "line rebase", hc_check_line_rebase_random, 2000 },
	{ "line accumulation", hc_check_line_accumulation, 20000 },
	{ "line inverse", hc_check_line_invert_random, 20000 },
	{ "monotonic guard", hc_check_guard_random, 20000 },
};

void hc_suite_core(void)
{
	char msg[HC_MSG_LEN] = "";
	char name[64];
	unsigned int i, j;

	for (i = 0; i < hc_validate_vector_count; i++)
		hc_report("validate", hc_validate_vectors[i].name,
			  hc_check_validate(&hc_validate_vectors[i], msg), msg);
	for (i = 0; i < hc_convert_vector_count; i++)
		hc_report("convert", hc_convert_vectors[i].name,
			  hc_check_convert(&hc_convert_vectors[i], msg), msg);
	for (i = 0; i < hc_leap_vector_count; i++)
		hc_report("leap", hc_leap_vectors[i].name,
			  hc_check_leap(&hc_leap_vectors[i], msg), msg);
	for (i = 0; i < hc_state_vector_count; i++)
		hc_report("state", hc_state_vectors[i].name,
			  hc_check_state(&hc_state_vectors[i], msg), msg);
	hc_report("state", "names unique and complete", hc_check_state_names(msg), msg);
	hc_report("drift", "known series give known statistics", hc_check_drift(msg), msg);
	for (i = 0; i < hc_change_vector_count; i++)
		hc_report("page changes", hc_change_vectors[i].name,
			  hc_check_change(&hc_change_vectors[i], msg), msg);
	hc_report("snapshot tsc", "every clocksource situation",
		  hc_check_snapshot_tsc(msg), msg);
	for (i = 0; i < hc_error_vector_count; i++)
		hc_report("error", hc_error_vectors[i].name,
			  hc_check_error(&hc_error_vectors[i], msg), msg);

	hc_report("names", "unique and complete", hc_check_err_names(msg), msg);
	hc_report("snapshot", "round trip", hc_check_snapshot_roundtrip(msg), msg);
	hc_report("snapshot", "seq stuck odd, budget 1",
		  hc_check_snapshot_stuck_odd(1, msg), msg);
	hc_report("snapshot", "seq stuck odd, budget 1024",
		  hc_check_snapshot_stuck_odd(HOSTCLOCK_READ_BUDGET, msg), msg);
	hc_report("snapshot", "budget 0 reads nothing",
		  hc_check_snapshot_stuck_odd(0, msg), msg);

	for (j = 0; j < ARRAY_SIZE(hc_properties); j++) {
		for (i = 0; i < HC_RANDOM_SEEDS; i++) {
			snprintf(name, sizeof(name), "%s, seed %u",
				 hc_properties[j].name, i);
			hc_report("property", name,
				  hc_properties[j].check(0x9e3779b97f4a7c15ULL * (i + 1),
							 hc_properties[j].n, msg),
				  msg);
		}
	}
}
