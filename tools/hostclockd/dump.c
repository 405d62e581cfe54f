// SPDX-License-Identifier: GPL-2.0
/*
 * hostclock-dump: decode a hostclock region file or a guest's
 * /dev/hostclockN with the same core code the module uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcd.h"

/* Enough attempts for a writer that is merely busy; a stuck one times out.
 * (A fuzz target, which has no writer, sets fewer.) */
#ifndef HCD_DUMP_BUDGET
#define HCD_DUMP_BUDGET		100000
#endif

static const char usage[] =
"usage: hostclock-dump [--json] [--counter N|now] FILE\n"
"\n"
"Decode the VMClock page at the start of FILE (a hostclock region or a\n"
"guest's /dev/hostclockN) and page 1's hostclock extension if present.\n"
"\n"
"  --counter N   also give the UTC and TAI time at counter value N;\n"
"                'now' reads this CPU's TSC\n"
"  --json        one JSON object: the ABI field names, \"valid\", \"error\",\n"
"                and with --counter \"utc\" and \"tai\" as {\"sec\", \"nsec\"}\n"
"\n"
"Exit status: 0 valid page, 2 invalid page, 1 usage or I/O error.\n";

static const char * const status_names[] = {
	"unknown", "initializing", "synchronized", "freerunning", "unreliable",
};

static const char * const flag_names[] = {
	"tai_offset_valid", "disruption_soon", "disruption_imminent",
	"period_esterror_valid", "period_maxerror_valid", "time_esterror_valid",
	"time_maxerror_valid", "time_monotonic", "vm_gen_counter_present",
};

struct field {
	const char *name;
	unsigned long long value;
	bool is_signed;
};

/* Every page field, named as in the ABI, in ABI order. */
#define HCD_U(field)	{ #field, c->field, false }
#define HCD_S(field)	{ #field, (unsigned long long)(long long)c->field, true }

static void page_fields(const struct hostclock_clock *c, struct field *f)
{
	const struct field all[] = {
		HCD_U(magic), HCD_U(size), HCD_U(version), HCD_U(counter_id),
		HCD_U(time_type), HCD_U(seq_count), HCD_U(disruption_marker),
		HCD_U(flags), HCD_U(clock_status), HCD_U(leap_second_smearing_hint),
		HCD_S(tai_offset_sec), HCD_U(leap_indicator),
		HCD_U(counter_period_shift), HCD_U(counter_value),
		HCD_U(counter_period_frac_sec),
		HCD_U(counter_period_esterror_rate_frac_sec),
		HCD_U(counter_period_maxerror_rate_frac_sec),
		HCD_U(time_sec), HCD_U(time_frac_sec), HCD_U(time_esterror_nanosec),
		HCD_U(time_maxerror_nanosec), HCD_U(vm_generation_counter),
		{ NULL, 0, false },
	};

	memcpy(f, all, sizeof(all));
}

static void print_time_json(const char *key, int err, const struct hostclock_time *t)
{
	if (err)
		printf(", \"%s\": null", key);
	else
		printf(", \"%s\": {\"sec\": %llu, \"nsec\": %u}", key,
		       (unsigned long long)t->sec, t->nsec);
}

static void print_time_text(const char *name, int err, const struct hostclock_time *t)
{
	if (err)
		printf("%-38s unavailable (%s)\n", name, hostclock_err_name(err));
	else
		printf("%-38s %llu.%09u\n", name, (unsigned long long)t->sec, t->nsec);
}

static void print_ext_text(const struct hostclock_ext *e)
{
	static const char * const states[] = { "absent", "running", "stopped" };
	static const char * const modes[] = { "none", "pairing", "kvm", "offset", "identity" };
	u32 state = le32_to_cpu(e->agent_state);

	printf("\n[page 1: hostclock extension v%u]\n", le16_to_cpu(e->version));
	printf("%-38s %s\n", "agent_state", state < 3 ? states[state] : "?");
	printf("%-38s %llu\n", "heartbeat", (unsigned long long)le64_to_cpu(e->heartbeat));
	printf("%-38s %llu\n", "update_interval_ns",
	       (unsigned long long)le64_to_cpu(e->update_interval_ns));
	printf("%-38s %s\n", "tsc_mode", e->tsc_mode < 5 ? modes[e->tsc_mode] : "?");
	printf("%-38s %llu\n", "tsc_offset_uncertainty",
	       (unsigned long long)le64_to_cpu(e->tsc_offset_uncertainty));
	printf("%-38s %llu\n", "pair_rtt", (unsigned long long)le64_to_cpu(e->pair_rtt));
}

/* The file shrank under the mapping while it was read (a region truncated
 * by someone): say so instead of dying of SIGBUS. */
static void on_sigbus(int sig)
{
	static const char msg[] = "hostclock-dump: the file shrank while it was read\n";

	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "counter", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct hostclock_time utc = { 0 }, tai = { 0 };
	int utc_err = 0, tai_err = 0, err, c, fd;
	bool json = false, have_counter = false;
	struct hostclock_clock clk;
	struct field fields[32];
	unsigned long long counter = 0;
	const struct hostclock_ext *ext = NULL;
	size_t len;
	struct stat st;
	void *map;
	char *end;

	while ((c = getopt_long(argc, argv, "jc:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'c':
			have_counter = true;
			if (!strcmp(optarg, "now")) {
				counter = hcd_rdtsc();
				break;
			}
			errno = 0;
			counter = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end) {
				fprintf(stderr, "hostclock-dump: --counter needs a number or 'now'\n");
				return 1;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return 1;
	}

	/* O_NONBLOCK: a FIFO must not hang the open */
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "hostclock-dump: %s: %s\n", argv[optind], strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
		fprintf(stderr, "hostclock-dump: %s: neither a region file nor a device\n",
			argv[optind]);
		close(fd);
		return 1;
	}
	signal(SIGBUS, on_sigbus);
	/* A region file is 8 KiB; a device maps page 0 only. */
	len = S_ISREG(st.st_mode) ? (size_t)st.st_size : HOSTCLOCK_PAGE_SIZE;
	if (len > HOSTCLOCK_REGION_SIZE)
		len = HOSTCLOCK_REGION_SIZE;
	if (len < sizeof(struct vmclock_abi)) {
		fprintf(stderr, "hostclock-dump: %s: %zu bytes, too small for a VMClock page\n",
			argv[optind], len);
		close(fd);
		return 1;
	}
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "hostclock-dump: %s: mmap: %s\n", argv[optind], strerror(errno));
		return 1;
	}

	err = hostclock_page_snapshot(map, &clk, HCD_DUMP_BUDGET, NULL);
	if (err)
		memset(&clk, 0, sizeof(clk));
	if (!err)
		err = hostclock_clock_validate(&clk, len);
	if (have_counter) {
		utc_err = err ? err : hostclock_counter_to_timescale(&clk, counter,
								     HOSTCLOCK_TS_UTC, &utc);
		tai_err = err ? err : hostclock_counter_to_timescale(&clk, counter,
								     HOSTCLOCK_TS_TAI, &tai);
	}
	if (len >= HOSTCLOCK_REGION_SIZE) {
		ext = (const struct hostclock_ext *)((const char *)map + HOSTCLOCK_EXT_OFFSET);
		if (le32_to_cpu(ext->magic) != HOSTCLOCK_EXT_MAGIC)
			ext = NULL;
	}

	page_fields(&clk, fields);
	if (json) {
		printf("{");
		for (c = 0; fields[c].name; c++) {
			if (fields[c].is_signed)
				printf("%s\"%s\": %lld", c ? ", " : "", fields[c].name,
				       (long long)fields[c].value);
			else
				printf("%s\"%s\": %llu", c ? ", " : "", fields[c].name,
				       fields[c].value);
		}
		printf(", \"valid\": %s, \"error\": ", err ? "false" : "true");
		if (err)
			printf("\"%s\"", hostclock_err_name(err));
		else
			printf("null");
		if (have_counter) {
			print_time_json("utc", utc_err, &utc);
			print_time_json("tai", tai_err, &tai);
		}
		printf("}\n");
	} else {
		printf("[page 0: VMClock]\n");
		for (c = 0; fields[c].name; c++) {
			if (fields[c].is_signed)
				printf("%-38s %lld\n", fields[c].name, (long long)fields[c].value);
			else
				printf("%-38s %llu\n", fields[c].name, fields[c].value);
		}
		printf("%-38s %s\n", "clock_status (name)",
		       clk.clock_status < 5 ? status_names[clk.clock_status] : "?");
		printf("%-38s", "flags (names)");
		for (c = 0; c < (int)ARRAY_SIZE(flag_names); c++) {
			if (clk.flags & (1ULL << c))
				printf(" %s", flag_names[c]);
		}
		printf("\n%-38s %s%s%s\n", "valid", err ? "no (" : "yes",
		       err ? hostclock_err_name(err) : "", err ? ")" : "");
		if (have_counter) {
			printf("%-38s %llu\n", "counter", counter);
			print_time_text("utc", utc_err, &utc);
			print_time_text("tai", tai_err, &tai);
		}
		if (ext)
			print_ext_text(ext);
	}
	munmap(map, len);
	return err ? 2 : 0;
}
