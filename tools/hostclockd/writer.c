// SPDX-License-Identifier: GPL-2.0
/*
 * Writing pages with the seqcount protocol, so that a reader never accepts
 * a half-written page: make seq odd, barrier, write, barrier, make it even.
 */
#include "hcd.h"

typedef u64 __attribute__((may_alias)) hcd_word64;
typedef u32 __attribute__((may_alias)) hcd_word32;

_Static_assert(offsetof(struct vmclock_abi, seq_count) == 12 &&
	       sizeof(struct vmclock_abi) % 8 == 0, "page 0 layout for word stores");

/*
 * Every byte of the page except seq_count, from an encoded image, as
 * relaxed atomic stores. In the C memory model the fences around them
 * order only atomic accesses: a plain memcpy() here could legally be moved
 * across them, and a reader would then see an even seq_count with some
 * fields of the next page.
 */
static void hcd_copy_fields(struct vmclock_abi *page, const struct vmclock_abi *img)
{
	const char *src = (const char *)img;
	char *dst = (char *)page;
	size_t off;

	__atomic_store_n((hcd_word64 *)dst, *(const hcd_word64 *)src, __ATOMIC_RELAXED);
	__atomic_store_n((hcd_word32 *)(dst + 8), *(const hcd_word32 *)(src + 8),
			 __ATOMIC_RELAXED);
	for (off = 16; off < sizeof(*img); off += 8)
		__atomic_store_n((hcd_word64 *)(dst + off), *(const hcd_word64 *)(src + off),
				 __ATOMIC_RELAXED);
}

static u32 hcd_seq_begin(__le32 *seq)
{
	u32 s = le32_to_cpu(READ_ONCE(*seq));

	/* A page left odd (a crash, an injected fault) is already "begun". */
	if (!(s & 1))
		s++;
	WRITE_ONCE(*seq, cpu_to_le32(s));
	/* seq odd is visible before any field changes */
	smp_wmb();
	return s;
}

static void hcd_seq_end(__le32 *seq, u32 begun)
{
	/* every field is visible before seq turns even */
	smp_wmb();
	WRITE_ONCE(*seq, cpu_to_le32(begun + 1));
}

/**
 * hcd_write_page() - publish a page
 * @page: the live page 0
 * @clk: the content; its seq_count is ignored
 * @written: the page as written, seq_count included
 */
void hcd_write_page(struct vmclock_abi *page, const struct hostclock_clock *clk,
		    struct vmclock_abi *written)
{
	u32 begun;

	hostclock_clock_encode(clk, written);
	begun = hcd_seq_begin(&page->seq_count);
	hcd_copy_fields(page, written);
	hcd_seq_end(&page->seq_count, begun);
	written->seq_count = cpu_to_le32(begun + 1);
}

/**
 * hcd_write_page_torn() - write a page and leave seq odd, as a crashed
 * writer would; a fault for tests
 * @page: the live page 0
 * @clk: the content
 * @written: the page as written, seq_count included
 */
void hcd_write_page_torn(struct vmclock_abi *page, const struct hostclock_clock *clk,
			 struct vmclock_abi *written)
{
	hostclock_clock_encode(clk, written);
	written->seq_count = cpu_to_le32(hcd_seq_begin(&page->seq_count));
	hcd_copy_fields(page, written);
	/* fields are visible, seq stays odd */
	smp_wmb();
}

/**
 * hcd_page_is() - does page 0 hold exactly @img?
 * @page: the live page 0
 * @img: a page as hcd_write_page() wrote it
 *
 * Word by word with relaxed atomic loads, as the writer stores them; any
 * difference (another writer's page, whole or torn, or one byte changed)
 * makes it false.
 */
bool hcd_page_is(const struct vmclock_abi *page, const struct vmclock_abi *img)
{
	const char *live = (const char *)page, *want = (const char *)img;
	size_t off;

	if (__atomic_load_n((const hcd_word64 *)live, __ATOMIC_RELAXED) !=
	    *(const hcd_word64 *)want)
		return false;
	for (off = 8; off < 16; off += 4) {
		if (__atomic_load_n((const hcd_word32 *)(live + off), __ATOMIC_RELAXED) !=
		    *(const hcd_word32 *)(want + off))
			return false;
	}
	for (off = 16; off < sizeof(*img); off += 8) {
		if (__atomic_load_n((const hcd_word64 *)(live + off), __ATOMIC_RELAXED) !=
		    *(const hcd_word64 *)(want + off))
			return false;
	}
	return true;
}

/**
 * hcd_write_ext() - publish the agent's part of page 1
 * @ext: the live page 1
 * @st: the content
 *
 * The mailbox is left alone: its halves have their own protocol.
 *
 * Return: the seq_count it left.
 */
u32 hcd_write_ext(struct hostclock_ext *ext, const struct hcd_ext_state *st)
{
	u32 begun = hcd_seq_begin(&ext->seq_count);

	WRITE_ONCE(ext->magic, cpu_to_le32(HOSTCLOCK_EXT_MAGIC));
	WRITE_ONCE(ext->version, cpu_to_le16(HOSTCLOCK_EXT_VERSION));
	WRITE_ONCE(ext->size, cpu_to_le16(sizeof(*ext)));
	WRITE_ONCE(ext->agent_state, cpu_to_le32(st->agent_state));
	WRITE_ONCE(ext->heartbeat, cpu_to_le64(st->heartbeat));
	WRITE_ONCE(ext->update_interval_ns, cpu_to_le64(st->update_interval_ns));
	WRITE_ONCE(ext->tsc_mode, st->tsc_mode);
	WRITE_ONCE(ext->tsc_offset_uncertainty, cpu_to_le64(st->tsc_offset_uncertainty));
	WRITE_ONCE(ext->pair_rtt, cpu_to_le64(st->pair_rtt));
	hcd_seq_end(&ext->seq_count, begun);
	return begun + 1;
}

/**
 * hcd_ext_is() - does page 1 hold exactly what hcd_write_ext() wrote?
 * @ext: the live page 1
 * @st: the content written
 * @seq: the seq_count it was written with
 *
 * Only the agent's fields are compared: the mailbox has its own owners.
 */
bool hcd_ext_is(const struct hostclock_ext *ext, const struct hcd_ext_state *st, u32 seq)
{
	return le32_to_cpu(READ_ONCE(ext->magic)) == HOSTCLOCK_EXT_MAGIC &&
	       le16_to_cpu(READ_ONCE(ext->version)) == HOSTCLOCK_EXT_VERSION &&
	       le16_to_cpu(READ_ONCE(ext->size)) == sizeof(*ext) &&
	       le32_to_cpu(READ_ONCE(ext->seq_count)) == seq &&
	       le32_to_cpu(READ_ONCE(ext->agent_state)) == st->agent_state &&
	       le64_to_cpu(READ_ONCE(ext->heartbeat)) == st->heartbeat &&
	       le64_to_cpu(READ_ONCE(ext->update_interval_ns)) == st->update_interval_ns &&
	       READ_ONCE(ext->tsc_mode) == st->tsc_mode &&
	       le64_to_cpu(READ_ONCE(ext->tsc_offset_uncertainty)) == st->tsc_offset_uncertainty &&
	       le64_to_cpu(READ_ONCE(ext->pair_rtt)) == st->pair_rtt;
}
