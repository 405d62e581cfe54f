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
#define HC_CONVERT_CASES	200000
#define HC_REBASES		2000
#define HC_ACCUMULATED		20000

void hc_suite_core(void)
{
	char msg[HC_MSG_LEN] = "";
	char name[64];
	unsigned int i;

	for (i = 0; i < hc_validate_vector_count; i++)
		hc_report("validate", hc_validate_vectors[i].name,
			  hc_check_validate(&hc_validate_vectors[i], msg), msg);
	for (i = 0; i < hc_convert_vector_count; i++)
		hc_report("convert", hc_convert_vectors[i].name,
			  hc_check_convert(&hc_convert_vectors[i], msg), msg);
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

	for (i = 0; i < HC_RANDOM_SEEDS; i++) {
		u64 seed = 0x9e3779b97f4a7c15ULL * (i + 1);

		snprintf(name, sizeof(name), "vs reference, seed %u", i);
		hc_report("convert random", name,
			  hc_check_convert_random(seed, HC_CONVERT_CASES, msg), msg);
		hc_report("line rebase random", name,
			  hc_check_line_rebase_random(seed, HC_REBASES, msg), msg);
		hc_report("line accumulation", name,
			  hc_check_line_accumulation(seed, HC_ACCUMULATED, msg), msg);
	}
}
