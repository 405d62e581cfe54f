// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suites for hostclock's portable time core.
 *
 * The cases are those of the userspace unit tests (tests/common), run inside
 * a kernel build so that the core is also checked as the kernel compiles it.
 */
#include <kunit/test.h>

#include "hostclock_cases.h"

/* Randomized properties: fewer cases than in userspace, same checks. */
#define HC_KUNIT_SEEDS		2
#define HC_KUNIT_CONVERT	20000
#define HC_KUNIT_REBASES	500
#define HC_KUNIT_ACCUMULATED	5000
#define HC_KUNIT_INVERSES	2000
#define HC_KUNIT_GUARD		2000
#define HC_KUNIT_RATES		20000

/*
 * The vector tables live in another object, so KUNIT_ARRAY_PARAM (which
 * needs the array's size at compile time) cannot walk them. Every vector
 * type starts with its name, which becomes the parameter's description.
 */
static_assert(offsetof(struct hc_validate_vector, name) == 0);
static_assert(offsetof(struct hc_convert_vector, name) == 0);
static_assert(offsetof(struct hc_error_vector, name) == 0);
static_assert(offsetof(struct hc_rate_vector, name) == 0);

static const void *hc_next_vector(const void *table, unsigned int count,
				  size_t size, const void *prev, char *desc)
{
	const char *v = prev ? (const char *)prev + size : table;

	if (v >= (const char *)table + count * size)
		return NULL;
	strscpy(desc, *(const char * const *)v, KUNIT_PARAM_DESC_SIZE);
	return v;
}

static const void *hc_validate_gen_params(const void *prev, char *desc)
{
	return hc_next_vector(hc_validate_vectors, hc_validate_vector_count,
			      sizeof(hc_validate_vectors[0]), prev, desc);
}

static const void *hc_convert_gen_params(const void *prev, char *desc)
{
	return hc_next_vector(hc_convert_vectors, hc_convert_vector_count,
			      sizeof(hc_convert_vectors[0]), prev, desc);
}

static const void *hc_leap_gen_params(const void *prev, char *desc)
{
	return hc_next_vector(hc_leap_vectors, hc_leap_vector_count,
			      sizeof(hc_leap_vectors[0]), prev, desc);
}

static const void *hc_state_gen_params(const void *prev, char *desc)
{
	return hc_next_vector(hc_state_vectors, hc_state_vector_count,
			      sizeof(hc_state_vectors[0]), prev, desc);
}

static const void *hc_change_gen_params(const void *prev, char *desc)
{
	return hc_next_vector(hc_change_vectors, hc_change_vector_count,
			      sizeof(hc_change_vectors[0]), prev, desc);
}

static const void *hc_error_gen_params(const void *prev, char *desc)
{
	return hc_next_vector(hc_error_vectors, hc_error_vector_count,
			      sizeof(hc_error_vectors[0]), prev, desc);
}

static const void *hc_rate_gen_params(const void *prev, char *desc)
{
	return hc_next_vector(hc_rate_vectors, hc_rate_vector_count,
			      sizeof(hc_rate_vectors[0]), prev, desc);
}

static void hc_test_rate(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_rate(test->param_value, msg), "%s", msg);
}

static void hc_test_rate_units(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_rate_units(msg), "%s", msg);
}

static void hc_test_validate(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_validate(test->param_value, msg),
			      "%s", msg);
}

static void hc_test_convert(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_convert(test->param_value, msg),
			      "%s", msg);
}

static void hc_test_leap(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_leap(test->param_value, msg),
			      "%s", msg);
}

static void hc_test_leap_range(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_leap_range(msg), "%s", msg);
}

static void hc_test_state(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_state(test->param_value, msg),
			      "%s", msg);
}

static void hc_test_state_names(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_state_names(msg), "%s", msg);
}

static void hc_test_snapshot_tsc(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_snapshot_tsc(msg), "%s", msg);
}

static void hc_test_pvclock(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_pvclock(msg), "%s", msg);
}

static void hc_test_drift(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_drift(msg), "%s", msg);
}

static void hc_test_change(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_change(test->param_value, msg),
			      "%s", msg);
}

static void hc_test_error(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_error(test->param_value, msg),
			      "%s", msg);
}

static void hc_test_err_names(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_err_names(msg), "%s", msg);
}

static void hc_test_snapshot_roundtrip(struct kunit *test)
{
	char msg[HC_MSG_LEN] = "";

	KUNIT_EXPECT_TRUE_MSG(test, hc_check_snapshot_roundtrip(msg), "%s", msg);
}

static void hc_test_snapshot_stuck_odd(struct kunit *test)
{
	static const unsigned int budgets[] = { 0, 1, HOSTCLOCK_READ_BUDGET };
	char msg[HC_MSG_LEN] = "";
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(budgets); i++)
		KUNIT_EXPECT_TRUE_MSG(test,
				      hc_check_snapshot_stuck_odd(budgets[i], msg),
				      "%s", msg);
}

/* A randomized property of the core and how many cases KUnit gives it. */
struct hc_property {
	const char *name;
	bool (*check)(u64 seed, unsigned int n, char *msg);
	unsigned int n;
};

static const struct hc_property hc_properties[] = {
	{ "conversion vs reference", hc_check_convert_random, HC_KUNIT_CONVERT },
	{ "line rebase", hc_check_line_rebase_random, HC_KUNIT_REBASES },
	{ "line accumulation", hc_check_line_accumulation, HC_KUNIT_ACCUMULATED },
	{ "line inverse", hc_check_line_invert_random, HC_KUNIT_INVERSES },
	{ "monotonic guard", hc_check_guard_random, HC_KUNIT_GUARD },
	{ "rate bound", hc_check_rate_random, HC_KUNIT_RATES },
};

static void hc_property_desc(const struct hc_property *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(hc_property, hc_properties, hc_property_desc);

static void hc_test_property(struct kunit *test)
{
	const struct hc_property *p = test->param_value;
	char msg[HC_MSG_LEN] = "";
	unsigned int i;

	for (i = 0; i < HC_KUNIT_SEEDS; i++)
		KUNIT_EXPECT_TRUE_MSG(test,
				      p->check(0x9e3779b97f4a7c15ULL * (i + 1), p->n, msg),
				      "%s", msg);
}

static struct kunit_case hostclock_page_cases[] = {
	KUNIT_CASE_PARAM(hc_test_validate, hc_validate_gen_params),
	KUNIT_CASE(hc_test_err_names),
	KUNIT_CASE(hc_test_snapshot_roundtrip),
	KUNIT_CASE(hc_test_snapshot_stuck_odd),
	{}
};

static struct kunit_case hostclock_convert_cases[] = {
	KUNIT_CASE_PARAM(hc_test_convert, hc_convert_gen_params),
	KUNIT_CASE_PARAM(hc_test_leap, hc_leap_gen_params),
	KUNIT_CASE(hc_test_leap_range),
	KUNIT_CASE_PARAM(hc_test_error, hc_error_gen_params),
	{}
};

/*
 * the driver's decisions: instance state, the TSC behind a snapshot, the
 * clocksource's bound on the host's rate
 */
static struct kunit_case hostclock_driver_cases[] = {
	KUNIT_CASE_PARAM(hc_test_state, hc_state_gen_params),
	KUNIT_CASE(hc_test_state_names),
	KUNIT_CASE(hc_test_snapshot_tsc),
	KUNIT_CASE(hc_test_pvclock),
	KUNIT_CASE(hc_test_drift),
	KUNIT_CASE_PARAM(hc_test_change, hc_change_gen_params),
	KUNIT_CASE_PARAM(hc_test_rate, hc_rate_gen_params),
	KUNIT_CASE(hc_test_rate_units),
	{}
};

static struct kunit_case hostclock_property_cases[] = {
	KUNIT_CASE_PARAM(hc_test_property, hc_property_gen_params),
	{}
};

static struct kunit_suite hostclock_page_suite = {
	.name = "hostclock_page",
	.test_cases = hostclock_page_cases,
};

static struct kunit_suite hostclock_convert_suite = {
	.name = "hostclock_convert",
	.test_cases = hostclock_convert_cases,
};

static struct kunit_suite hostclock_driver_suite = {
	.name = "hostclock_driver",
	.test_cases = hostclock_driver_cases,
};

static struct kunit_suite hostclock_property_suite = {
	.name = "hostclock_property",
	.test_cases = hostclock_property_cases,
};

kunit_test_suites(&hostclock_page_suite, &hostclock_convert_suite,
		  &hostclock_driver_suite, &hostclock_property_suite);

MODULE_DESCRIPTION("KUnit tests for hostclock's time core");
MODULE_LICENSE("GPL");
