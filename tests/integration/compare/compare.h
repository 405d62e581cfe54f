/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The comparator's shared region: a 4 KiB ivshmem-plain device of its own,
 * apart from hostclock's, through which a guest program measures one of its
 * clocks against the agent's reference, and asks the host side to run an
 * agent command at a moment the scenario chooses.
 *
 * Measuring does not use hostclock at all: it is a ping-pong like pairing,
 * but of clock readings. The guest reads its clock (t1), raises guest_seq;
 * the host reads the reference (host CLOCK_REALTIME plus the agent's
 * injected offset) and answers with it and host_seq; the guest reads its
 * clock again (t3). The guest clock's error is ref - (t1 + t3) / 2, within
 * (t3 - t1) / 2.
 */
#ifndef _HC_COMPARE_H
#define _HC_COMPARE_H

#include <stdint.h>

#define HC_CMP_MAGIC	0x504d4348	/* "HCMP" */
#define HC_CMP_SIZE	4096

struct hc_cmp_region {
	uint32_t magic;
	uint32_t host_pid;		/* the host side is up */
	/* a burst: the guest raises burst, the host spins once it echoes it */
	uint32_t burst;
	uint32_t burst_ready;
	/* one exchange */
	uint32_t guest_seq;
	uint32_t host_seq;
	int64_t ref_ns;			/* reference time, ns since the epoch */
	uint32_t pad[2];
	/* an agent command, run by the host side through hostclockctl */
	uint32_t cmd_seq;
	uint32_t cmd_done;
	int32_t cmd_status;		/* hostclockctl's exit status */
	uint32_t pad2;
	char cmd[256];
	char reply[1024];
};

_Static_assert(sizeof(struct hc_cmp_region) <= HC_CMP_SIZE, "region too small");

#endif /* _HC_COMPARE_H */
