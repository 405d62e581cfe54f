// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the agent's side of the pairing mailbox, fed what a
 * hostile guest may write: exchanges through hcd_pairing_poll() on a
 * mailbox the input fills in, single exchanges through hcd_pairing_check()
 * and hcd_pairing_update(), in any order. The clock is this file's: each
 * read moves it 50 us, so every bounded wait ends after a few reads and a
 * run is repeatable.
 * Sanitizers catch overflow and memory errors; the checks below catch a
 * mapping the agent should never have taken.
 *
 * fuzz-links: tools/hostclockd/pairing.c tools/hostclockd/tscmap.c
 *
 * Input: records of 1 op byte and 28 bytes (h, t1, t3 as le64, a le32
 * sequence number); missing bytes are 0. op & 3: 0 check and update,
 * 1 update with (h, t1 as the offset, t3 as the round trip), 2 a request and
 * a poll with the mailbox's guest half set from the record, 3 a poll
 * without a request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcd.h"

static s64 fuzz_now;

s64 hcd_clock_ns(int clockid)
{
	return fuzz_now += 50000;
}

static u64 fuzz_u64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return le64_to_cpu(v);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct hostclock_ext ext;
	struct hostclock_mailbox *mb = &ext.mailbox;
	struct hcd_pairing p;
	struct hcd_tscmap map;
	u8 rec[29];
	char why[64];
	pid_t pid;
	size_t off;

	memset(&ext, 0, sizeof(ext));
	hcd_tscmap_parse("pairing", &map, &pid, why, sizeof(why));
	hcd_pairing_init(&p, mb);
	for (off = 0; off < size; off += sizeof(rec)) {
		size_t n = size - off < sizeof(rec) ? size - off : sizeof(rec);
		u64 h, t1, t3, rtt;
		u32 seq;
		s64 lo;

		memset(rec, 0, sizeof(rec));
		memcpy(rec, data + off, n);
		h = fuzz_u64(rec + 1);
		t1 = fuzz_u64(rec + 9);
		t3 = fuzz_u64(rec + 17);
		memcpy(&seq, rec + 25, sizeof(seq));
		switch (rec[0] & 3) {
		case 0:
			if (hcd_pairing_check(&p, h, t1, t3, &lo, &rtt))
				hcd_pairing_update(&p, &map, h, lo, rtt);
			break;
		case 1:
			hcd_pairing_update(&p, &map, h, (s64)t1, t3 % (p.max_rtt + 1));
			break;
		case 2:
			hcd_pairing_request(&p);
			/* fall through: the guest's half, then the agent polls */
		case 3:
			WRITE_ONCE(mb->guest_t1, cpu_to_le64(t1));
			WRITE_ONCE(mb->guest_t3, cpu_to_le64(t3));
			WRITE_ONCE(mb->guest_seq, cpu_to_le32(seq));
			WRITE_ONCE(mb->guest_done, cpu_to_le32(rec[0] & 4 ? seq : (u32)h));
			hcd_pairing_poll(&p, &map);
			break;
		}
		/* never a ratio no CPU has, never an unbounded uncertainty */
		if (map.valid && (map.skew > (1LL << (HCD_SKEW_SHIFT - 10)) ||
				  map.skew < -(1LL << (HCD_SKEW_SHIFT - 10)) ||
				  map.uncertainty > p.max_rtt)) {
			fprintf(stderr, "fuzz_mailbox: skew %lld uncertainty %llu\n",
				(long long)map.skew, (unsigned long long)map.uncertainty);
			abort();
		}
	}
	return 0;
}
