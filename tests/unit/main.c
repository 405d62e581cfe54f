// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace unit tests of hostclock's portable core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
		printf("ok   %s: %s%s%s%s\n", suite, name, *msg ? " (" : "", msg,
		       *msg ? ")" : "");
}

static char hc_dir[64];

static void hc_tmpdir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", hc_dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", hc_dir);
}

const char *hc_tmpdir(void)
{
	if (!hc_dir[0]) {
		strcpy(hc_dir, "/tmp/hostclock-test.XXXXXX");
		if (!mkdtemp(hc_dir)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(hc_tmpdir_remove);
	}
	return hc_dir;
}

int main(int argc, char **argv)
{
	hc_verbose = argc > 1 && !strcmp(argv[1], "-v");
	hc_suite_core();
	hc_suite_page_race();
	hc_suite_agent();
	hc_suite_pairing();
	hc_suite_reader();
	hc_suite_metrics();
	printf("%u passed, %u failed\n", hc_passed, hc_failed);
	return hc_failed ? 1 : 0;
}
