// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: hostclock-dump's input, a region file of any size and
 * content, through the tool's own main() (open, checks, mapping, snapshot,
 * validation, conversion at a counter, text and JSON output).
 *
 * fuzz-links: drivers/hostclock/core/page.c drivers/hostclock/core/convert.c drivers/hostclock/core/line.c drivers/hostclock/core/state.c drivers/hostclock/core/drift.c
 *
 * Input: 1 option byte (bit 0 --json, bit 1 --counter with the next 8
 * bytes, little-endian), then the file's content.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* no writer runs here: a page left odd needs no 100000 attempts to tell */
#define HCD_DUMP_BUDGET	64
#define main hcd_dump_main
#include "dump.c"
#undef main

static int fuzz_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_fd = memfd_create("fuzz_dump", MFD_CLOEXEC);
	/* the output is not what is checked, and writing it is slow */
	return fuzz_fd >= 0 && freopen("/dev/null", "w", stdout) ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	char path[64], counter[32], *argv[6];
	int argc = 0;
	u64 v = 0;
	u8 flags;

	if (!size)
		return 0;
	flags = data[0];
	data++;
	size--;
	if (flags & 2 && size >= 8) {
		memcpy(&v, data, 8);
		data += 8;
		size -= 8;
	}
	/* the file's content is the input, whatever was there before */
	if (ftruncate(fuzz_fd, 0) || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fuzz_fd);
	snprintf(counter, sizeof(counter), "%llu", (unsigned long long)le64_to_cpu(v));
	argv[argc++] = "hostclock-dump";
	if (flags & 1)
		argv[argc++] = "--json";
	if (flags & 2) {
		argv[argc++] = "--counter";
		argv[argc++] = counter;
	}
	argv[argc++] = path;
	argv[argc] = NULL;
	optind = 0;	/* getopt starts afresh */
	hcd_dump_main(argc, argv);
	fflush(stdout);
	return 0;
}
