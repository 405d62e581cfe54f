// SPDX-License-Identifier: GPL-2.0
/*
 * The guest side of pairing (protocol in Documentation/abi.md): when the
 * agent raises pair_request, answer with a burst of exchanges through the
 * mailbox so that it can learn guest TSC - host TSC.
 *
 * The agent notices the first exchange of a burst only at its next poll (up
 * to about a millisecond), so that exchange is waited for with interrupts
 * on: without sleeping for HOSTCLOCK_PAIR_WAKE_SPIN_NS, since the agent
 * then waits only a millisecond for the guest to finish it and a short
 * sleep can overshoot that (under TCG, often: after a migration the agent
 * got bursts of one unfinished exchange for seconds), then sleeping
 * between looks. The agent then spins, and the remaining
 * exchanges run with interrupts off, each for at most a round trip or
 * HOSTCLOCK_PAIR_EXCHANGE_NS. Nothing the host writes can hold a CPU
 * longer than those bounds; a host that raises pair_request at every poll
 * costs the poller's CPU the 2 ms look (preemptible) per poll, 2 % at the
 * default poll_ms.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>
#include <asm/tsc.h>

#include "hostclock.h"

#define HOSTCLOCK_PAIR_EXCHANGES	16
#define HOSTCLOCK_PAIR_WAKE_SPIN_NS	(2 * NSEC_PER_MSEC)
#define HOSTCLOCK_PAIR_WAKE_LOOKS	60	/* of 50-100 us: 3 to 6 ms more */
#define HOSTCLOCK_PAIR_EXCHANGE_NS	(50 * NSEC_PER_USEC)

/* Start exchange @n: t1, then the sequence number that publishes it. */
static u64 hostclock_pair_start(struct hostclock_mailbox *mb, u32 n)
{
	u64 t1 = rdtsc_ordered();

	WRITE_ONCE(mb->guest_t1, cpu_to_le64(t1));
	virt_wmb();	/* t1 is visible before guest_seq says it is there */
	WRITE_ONCE(mb->guest_seq, cpu_to_le32(n));
	return t1;
}

/* The agent answered @n: t3, then guest_done. Returns the round trip. */
static u64 hostclock_pair_finish(struct hostclock_mailbox *mb, u32 n, u64 t1)
{
	u64 t3;

	virt_rmb();	/* host_seq was seen before t3 is taken */
	t3 = rdtsc_ordered();
	WRITE_ONCE(mb->guest_t3, cpu_to_le64(t3));
	virt_wmb();	/* t3 is visible before guest_done vouches for it */
	WRITE_ONCE(mb->guest_done, cpu_to_le32(n));
	return t3 - t1;
}

static bool hostclock_pair_answered(struct hostclock_mailbox *mb, u32 n)
{
	return le32_to_cpu(READ_ONCE(mb->host_seq)) == n;
}

/* The first exchange: wake the agent, looking without sleeping, then sleeping. */
static bool hostclock_pair_wake(struct hostclock_mailbox *mb, u32 n)
{
	u64 t1 = hostclock_pair_start(mb, n);
	u64 spin_end = ktime_get_mono_fast_ns() + HOSTCLOCK_PAIR_WAKE_SPIN_NS;
	unsigned int i;

	while (ktime_get_mono_fast_ns() < spin_end) {
		if (hostclock_pair_answered(mb, n)) {
			hostclock_pair_finish(mb, n, t1);
			return true;
		}
		cpu_relax();
		cond_resched();
	}
	for (i = 0; i < HOSTCLOCK_PAIR_WAKE_LOOKS; i++) {
		if (hostclock_pair_answered(mb, n)) {
			hostclock_pair_finish(mb, n, t1);
			return true;
		}
		usleep_range(50, 100);
	}
	return false;
}

/* A timed exchange with interrupts off. Returns the round trip or 0. */
static u64 hostclock_pair_exchange(struct hostclock_mailbox *mb, u32 n)
{
	unsigned long flags;
	u64 t1, deadline, rtt = 0;

	local_irq_save(flags);
	deadline = ktime_get_mono_fast_ns() + HOSTCLOCK_PAIR_EXCHANGE_NS;
	t1 = hostclock_pair_start(mb, n);
	while (!hostclock_pair_answered(mb, n)) {
		if (ktime_get_mono_fast_ns() > deadline)
			goto out;
		cpu_relax();
	}
	rtt = hostclock_pair_finish(mb, n, t1) ?: 1;
out:
	local_irq_restore(flags);
	return rtt;
}

/**
 * hostclock_pair_answer() - answer the agent's pairing request, if any
 * @hc: instance with a valid extension page
 *
 * Called from the poller. Does nothing unless pair_request moved since the
 * last answer.
 */
void hostclock_pair_answer(struct hostclock_dev *hc)
{
	struct hostclock_mailbox *mb = &hc->ext->mailbox;
	u32 req = le32_to_cpu(READ_ONCE(mb->pair_request));
	unsigned int i, timeouts = 0;
	u64 rtt, best = U64_MAX;

	if (req == hc->pair_answered)
		return;
	hc->pair_answered = req;

	if (!hostclock_pair_wake(mb, ++hc->pair_seq)) {
		timeouts++;
		goto out;
	}
	for (i = 1; i < HOSTCLOCK_PAIR_EXCHANGES; i++) {
		rtt = hostclock_pair_exchange(mb, ++hc->pair_seq);
		if (!rtt) {
			timeouts++;
			break;	/* the agent ended the burst */
		}
		best = min(best, rtt);
	}
out:
	spin_lock(&hc->lock);
	hc->count.pair_bursts++;
	hc->count.pair_timeouts += timeouts;
	if (best != U64_MAX)
		hc->pair_rtt = best;
	spin_unlock(&hc->lock);
}
