// SPDX-License-Identifier: GPL-2.0
/*
 * How the guest's TSC relates to the host's: guest = host * ratio + offset.
 *
 * Modes: "pairing" learns it through the mailbox (pairing.c); "kvm:PID"
 * reads what KVM programmed into that QEMU's vCPUs; "offset:N" and
 * "identity" are fixed, for tests and special setups.
 */
#include <dirent.h>
#include <math.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hcd.h"

#define hcd_why(why, len, ...) snprintf(why, len, __VA_ARGS__)

static void hcd_tscmap_fixed(struct hcd_tscmap *map, u8 mode, s64 offset)
{
	memset(map, 0, sizeof(*map));
	map->mode = mode;
	map->valid = true;
	map->offset = offset;
	map->ratio_num = 1;
	map->generation = 1;
}

/**
 * hcd_tscmap_parse() - a mapping from its command-line spelling
 * @spec: pairing, identity, offset:N (guest minus host, ticks) or kvm:PID
 * @map: the mapping; valid at once for fixed modes
 * @kvm_pid: for kvm:PID, the QEMU process
 * @why: on failure, what was wrong
 * @why_len: size of @why
 *
 * Return: 0 or -1.
 */
int hcd_tscmap_parse(const char *spec, struct hcd_tscmap *map, pid_t *kvm_pid,
		     char *why, size_t why_len)
{
	char *end;

	*kvm_pid = 0;
	if (!strcmp(spec, "pairing")) {
		memset(map, 0, sizeof(*map));
		map->mode = HOSTCLOCK_TSC_PAIRING;
		map->ratio_num = 1;
		return 0;
	}
	if (!strcmp(spec, "identity")) {
		hcd_tscmap_fixed(map, HOSTCLOCK_TSC_IDENTITY, 0);
		return 0;
	}
	if (!strncmp(spec, "offset:", 7)) {
		long long v;

		errno = 0;
		v = strtoll(spec + 7, &end, 0);
		if (errno || end == spec + 7 || *end) {
			hcd_why(why, why_len, "offset:N needs a whole number of ticks, not '%s'", spec + 7);
			return -1;
		}
		hcd_tscmap_fixed(map, HOSTCLOCK_TSC_OFFSET, v);
		return 0;
	}
	if (!strncmp(spec, "kvm:", 4)) {
		long pid;

		errno = 0;
		pid = strtol(spec + 4, &end, 10);
		if (errno || end == spec + 4 || *end || pid <= 0) {
			hcd_why(why, why_len, "kvm:PID needs QEMU's process id, not '%s'", spec + 4);
			return -1;
		}
		memset(map, 0, sizeof(*map));
		map->mode = HOSTCLOCK_TSC_KVM;
		map->ratio_num = 1;
		*kvm_pid = pid;
		return 0;
	}
	hcd_why(why, why_len, "unknown TSC mapping '%s' (pairing, kvm:PID, offset:N, identity)", spec);
	return -1;
}

/**
 * hcd_tscmap_guest() - the guest TSC at a host TSC value
 * @map: a valid mapping
 * @host_tsc: host TSC
 */
u64 hcd_tscmap_guest(const struct hcd_tscmap *map, u64 host_tsc)
{
	u64 scaled = host_tsc;

	if (map->ratio_frac_bits)
		scaled = (u64)(((unsigned __int128)host_tsc * map->ratio_num) >>
			       map->ratio_frac_bits);
	if (map->skew)
		scaled += (u64)(s64)(((__int128)(s64)(host_tsc - map->ref_host) *
				      map->skew) >> HCD_SKEW_SHIFT);
	return scaled + (u64)map->offset;
}

/* guest ticks per host tick */
long double hcd_tscmap_ratio(const struct hcd_tscmap *map)
{
	long double r = 1.0L;

	if (map->ratio_frac_bits)
		r = ldexpl((long double)map->ratio_num, -(int)map->ratio_frac_bits);
	return r * (1.0L + ldexpl((long double)map->skew, -HCD_SKEW_SHIFT));
}

static int hcd_read_number(const char *dir, const char *name, bool is_signed,
			   u64 *val)
{
	char path[512], buf[64], *end;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	errno = 0;
	*val = is_signed ? (u64)strtoll(buf, &end, 0) : strtoull(buf, &end, 0);
	return errno || end == buf ? -1 : 0;
}

/* A descriptor of the process itself, which a reused PID does not fool. */
int hcd_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Has the process behind @pidfd exited? (A pidfd polls readable then.) */
static bool hcd_pid_gone(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return pidfd >= 0 && poll(&p, 1, 0) > 0;
}

static int hcd_kvm_scan(const char *debugfs, pid_t pid, struct hcd_tscmap *map,
			char *why, size_t why_len);

/**
 * hcd_kvm_read() - the TSC mapping KVM gave a QEMU process's vCPUs
 * @debugfs: KVM's debugfs directory, normally /sys/kernel/debug/kvm
 * @pid: the QEMU process
 * @pidfd: a pidfd of @pid taken when the agent started, or -1
 * @map: updated; its generation rises if the mapping changed
 * @why: on failure, what was wrong
 * @why_len: size of @why
 *
 * Every vCPU must have the same offset and ratio: a guest whose TSCs differ
 * between CPUs has no single counter to publish. The directory is found by
 * PID, so it is read only while that very process still runs: alive after
 * the read means alive during it, since a PID is reused only after an exit.
 *
 * Return: 0, -1, or HCD_KVM_GONE once the process has exited.
 */
int hcd_kvm_read(const char *debugfs, pid_t pid, int pidfd, struct hcd_tscmap *map,
		 char *why, size_t why_len)
{
	struct hcd_tscmap fresh = *map;
	int err;

	if (hcd_pid_gone(pidfd))
		goto gone;
	err = hcd_kvm_scan(debugfs, pid, &fresh, why, why_len);
	if (hcd_pid_gone(pidfd))
		goto gone;
	if (!err)
		*map = fresh;
	return err;
gone:
	hcd_why(why, why_len, "QEMU process %d has exited", (int)pid);
	return HCD_KVM_GONE;
}

static int hcd_kvm_scan(const char *debugfs, pid_t pid, struct hcd_tscmap *map,
			char *why, size_t why_len)
{
	char prefix[32], vmdir[400] = "", vcpu[700];
	struct dirent *de;
	unsigned int vcpus = 0;
	u64 offset = 0, ratio = 1, frac = 0;
	DIR *d;

	d = opendir(debugfs);
	if (!d) {
		hcd_why(why, why_len, "%s: %s (is debugfs mounted and KVM loaded?)",
			debugfs, strerror(errno));
		return -1;
	}
	snprintf(prefix, sizeof(prefix), "%d-", (int)pid);
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, prefix, strlen(prefix))) {
			snprintf(vmdir, sizeof(vmdir), "%s/%s", debugfs, de->d_name);
			break;
		}
	}
	closedir(d);
	if (!*vmdir) {
		hcd_why(why, why_len, "no KVM VM of process %d under %s (is it a KVM guest?)",
			(int)pid, debugfs);
		return -1;
	}

	d = opendir(vmdir);
	if (!d) {
		hcd_why(why, why_len, "%s: %s", vmdir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		u64 o, r = 1, f = 0;

		if (strncmp(de->d_name, "vcpu", 4))
			continue;
		snprintf(vcpu, sizeof(vcpu), "%s/%s", vmdir, de->d_name);
		if (hcd_read_number(vcpu, "tsc-offset", true, &o)) {
			hcd_why(why, why_len, "%s/tsc-offset: unreadable", vcpu);
			closedir(d);
			return -1;
		}
		/* Without TSC scaling these files are absent: ratio 1. */
		if (!hcd_read_number(vcpu, "tsc-scaling-ratio", false, &r) &&
		    hcd_read_number(vcpu, "tsc-scaling-ratio-frac-bits", false, &f)) {
			hcd_why(why, why_len, "%s: scaling ratio without its frac-bits", vcpu);
			closedir(d);
			return -1;
		}
		if (vcpus && (o != offset || r != ratio || f != frac)) {
			hcd_why(why, why_len, "%s: TSC offset or ratio differs from other vCPUs; the guest TSC is not synchronized",
				vcpu);
			closedir(d);
			return -1;
		}
		offset = o;
		ratio = r;
		frac = f;
		vcpus++;
	}
	closedir(d);
	if (!vcpus) {
		hcd_why(why, why_len, "%s: no vCPUs", vmdir);
		return -1;
	}
	if (frac > 63 || !ratio) {
		hcd_why(why, why_len, "%s: implausible scaling ratio %llu / 2^%llu",
			vmdir, (unsigned long long)ratio, (unsigned long long)frac);
		return -1;
	}
	if (!map->valid || map->offset != (s64)offset || map->ratio_num != ratio ||
	    map->ratio_frac_bits != frac)
		map->generation++;
	map->valid = true;
	map->offset = (s64)offset;
	map->ratio_num = frac ? ratio : 1;
	map->ratio_frac_bits = (u8)frac;
	map->uncertainty = 0;
	return 0;
}
