/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal test harness: each check prints one line on failure (every line
 * with -v) and the run ends with "N passed, N failed".
 */
#ifndef _HOSTCLOCK_UNIT_HARNESS_H
#define _HOSTCLOCK_UNIT_HARNESS_H

#include <stdbool.h>

void hc_report(const char *suite, const char *name, bool ok, const char *msg);

/* Suites, each in its own file. */
void hc_suite_core(void);
void hc_suite_page_race(void);
void hc_suite_agent(void);
void hc_suite_pairing(void);
void hc_suite_reader(void);
void hc_suite_metrics(void);

struct vmclock_abi;
struct hostclock_clock;

/*
 * Publish @clk on @page as the agent does: seq odd, the fields, seq even
 * again unless @finish is false (test_page_race.c).
 */
void hc_publish_page(struct vmclock_abi *page, const struct hostclock_clock *clk, bool finish);

/* A fresh directory for a suite's files, removed at exit. */
const char *hc_tmpdir(void);

#endif /* _HOSTCLOCK_UNIT_HARNESS_H */
