// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace unit tests of hostclock's portable core.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

static unsigned int hc_passed, hc_failed;
static bool hc_verbose;

void hc_report(const char *suite, const char *name, bool ok, const char *msg)
{
	if (ok)
		hc_passed++;
	else
		hc_failed++;
	if (!ok)
		printf("FAIL %s: %s: %s\n", suite, name, msg);
	else if (hc_verbose)
		printf("ok   %s: %s\n", suite, name);
}

int main(int argc, char **argv)
{
	hc_verbose = argc > 1 && !strcmp(argv[1], "-v");
	hc_suite_core();
	hc_suite_page_race();
	printf("%u passed, %u failed\n", hc_passed, hc_failed);
	return hc_failed ? 1 : 0;
}
