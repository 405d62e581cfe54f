/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hostclock shared region and its extension page.
 *
 * The region QEMU maps as ivshmem-plain BAR 2 is HOSTCLOCK_REGION_SIZE bytes:
 * page 0 is a VMClock page (vmclock_abi.h), page 1 is hostclock's own
 * extension, described here. The guest maps page 0 read-only; in page 1 the
 * guest writes only the guest half of the pairing mailbox.
 *
 * Everything the agent writes in page 1 is under ext seq_count, with the same
 * odd/even protocol as page 0. The mailbox halves are each written by one
 * side only and carry their own sequence numbers.
 *
 * Pairing exchange n (guest TSC t, host TSC h):
 *   guest: guest_t1 = t; then guest_seq = n
 *   agent: sees guest_seq == n; host_tsc = h; then host_seq = n
 *   guest: sees host_seq == n; guest_t3 = t; then guest_done = n
 *   agent: sees guest_done == n; reads t1, t3: guest - host offset is in
 *          [t1 - h, t3 - h]
 * The agent asks for exchanges by raising pair_request; the guest answers
 * each increase. All guest-written values are untrusted by the agent.
 */
#ifndef _HOSTCLOCK_EXT_ABI_H
#define _HOSTCLOCK_EXT_ABI_H

#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/stddef.h>
#else
#include <assert.h>
#include <stddef.h>
#endif

#define HOSTCLOCK_REGION_SIZE		8192
#define HOSTCLOCK_PAGE_SIZE		4096
#define HOSTCLOCK_EXT_OFFSET		HOSTCLOCK_PAGE_SIZE

/* "HCLX" read as a little-endian u32 */
#define HOSTCLOCK_EXT_MAGIC		0x584c4348
#define HOSTCLOCK_EXT_VERSION		1

/* agent_state */
#define HOSTCLOCK_AGENT_ABSENT		0	/* never written */
#define HOSTCLOCK_AGENT_RUNNING		1
#define HOSTCLOCK_AGENT_STOPPED		2	/* shut down cleanly */

/* tsc_mode: how the agent maps host TSC to guest TSC */
#define HOSTCLOCK_TSC_NONE		0	/* no mapping yet */
#define HOSTCLOCK_TSC_PAIRING		1	/* learned through the mailbox */
#define HOSTCLOCK_TSC_KVM		2	/* KVM's tsc-offset/scaling */
#define HOSTCLOCK_TSC_OFFSET		3	/* fixed offset from the admin */
#define HOSTCLOCK_TSC_IDENTITY		4	/* guest TSC == host TSC */

/**
 * struct hostclock_mailbox - pairing exchange between guest and agent
 * @pair_request: agent-written; raised when the agent wants exchanges
 * @host_seq: agent-written; the exchange @host_tsc answers
 * @host_tsc: agent-written; host TSC read on seeing @guest_seq
 * @host_pad: zero; keeps the two halves on separate cache lines
 * @guest_seq: guest-written; exchange number, raised to start one
 * @guest_done: guest-written; equals @guest_seq once @guest_t3 is valid
 * @guest_t1: guest-written; guest TSC just before raising @guest_seq
 * @guest_t3: guest-written; guest TSC just after seeing @host_seq
 * @guest_pad: zero
 */
struct hostclock_mailbox {
	__le32 pair_request;
	__le32 host_seq;
	__le64 host_tsc;
	__u8 host_pad[48];
	__le32 guest_seq;
	__le32 guest_done;
	__le64 guest_t1;
	__le64 guest_t3;
	__u8 guest_pad[40];
};

/**
 * struct hostclock_ext - page 1 of the region
 * @magic: HOSTCLOCK_EXT_MAGIC
 * @version: HOSTCLOCK_EXT_VERSION
 * @size: sizeof(struct hostclock_ext)
 * @seq_count: odd while the agent updates the fields up to @mailbox
 * @agent_state: HOSTCLOCK_AGENT_*
 * @heartbeat: advances with every update of page 0
 * @update_interval_ns: the agent's nominal update interval
 * @tsc_mode: HOSTCLOCK_TSC_*
 * @pad: zero
 * @tsc_offset_uncertainty: half-width of the guest/host TSC offset, in ticks
 * @pair_rtt: round trip of the last accepted exchange, in guest ticks
 * @reserved: zero
 * @mailbox: the pairing mailbox, cache-line aligned
 */
struct hostclock_ext {
	__le32 magic;
	__le16 version;
	__le16 size;
	__le32 seq_count;
	__le32 agent_state;
	__le64 heartbeat;
	__le64 update_interval_ns;
	__u8 tsc_mode;
	__u8 pad[7];
	__le64 tsc_offset_uncertainty;
	__le64 pair_rtt;
	__u8 reserved[200];
	struct hostclock_mailbox mailbox;
};

#define HOSTCLOCK_EXT_AT(field, off) \
	static_assert(offsetof(struct hostclock_ext, field) == (off), \
		      "hostclock_ext." #field " must be at offset " #off)
HOSTCLOCK_EXT_AT(magic, 0);
HOSTCLOCK_EXT_AT(version, 4);
HOSTCLOCK_EXT_AT(size, 6);
HOSTCLOCK_EXT_AT(seq_count, 8);
HOSTCLOCK_EXT_AT(agent_state, 12);
HOSTCLOCK_EXT_AT(heartbeat, 16);
HOSTCLOCK_EXT_AT(update_interval_ns, 24);
HOSTCLOCK_EXT_AT(tsc_mode, 32);
HOSTCLOCK_EXT_AT(tsc_offset_uncertainty, 40);
HOSTCLOCK_EXT_AT(pair_rtt, 48);
HOSTCLOCK_EXT_AT(mailbox, 256);
HOSTCLOCK_EXT_AT(mailbox.host_tsc, 264);
HOSTCLOCK_EXT_AT(mailbox.guest_seq, 320);
HOSTCLOCK_EXT_AT(mailbox.guest_done, 324);
HOSTCLOCK_EXT_AT(mailbox.guest_t1, 328);
HOSTCLOCK_EXT_AT(mailbox.guest_t3, 336);
static_assert(sizeof(struct hostclock_mailbox) == 128,
	      "hostclock_mailbox must be two 64-byte halves");
static_assert(sizeof(struct hostclock_ext) == 384, "hostclock_ext must be 384 bytes");
static_assert(sizeof(struct hostclock_ext) <= HOSTCLOCK_PAGE_SIZE,
	      "hostclock_ext must fit in page 1");

#endif /* _HOSTCLOCK_EXT_ABI_H */
