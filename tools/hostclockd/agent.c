// SPDX-License-Identifier: GPL-2.0
/*
 * One agent update: a host clock sample, the period fit, the host's NTP
 * state, the guest TSC mapping and any injected faults, composed into a
 * VMClock page and published.
 */
#include <sys/random.h>
#include <time.h>

#include "hcd.h"

const char * const hcd_corrupt_names[HCD_CORRUPT_COUNT] = {
	[HCD_CORRUPT_NONE] = "none",
	[HCD_CORRUPT_MAGIC] = "magic",
	[HCD_CORRUPT_VERSION] = "version",
	[HCD_CORRUPT_SEQ] = "seq",
	[HCD_CORRUPT_PERIOD] = "period",
	[HCD_CORRUPT_SHIFT] = "shift",
	[HCD_CORRUPT_COUNTER] = "counter",
};

#define HCD_SAMPLE_TRIES	8
#define HCD_PRIME_SAMPLES	4
#define HCD_PRIME_GAP_NS	5000000		/* 5 ms between priming samples */
#define HCD_DAEMON_SCAN_NS	(30ULL * NSEC_PER_SEC)	/* look for time daemons */
/* from a rate change to the page that has it: the watch, plus scheduling */
#define HCD_NOTICE_SLACK_NS	1000000

static void hcd_agent_timex(struct hcd_agent *a, struct hcd_timex *tx)
{
	if (a->timex_override)
		*tx = *a->timex_override;
	else
		hcd_timex_read(tx);
}

/* A fresh, non-repeating disruption marker. */
static u64 hcd_fresh_marker(u64 old)
{
	u64 v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (u64)hcd_clock_ns(CLOCK_REALTIME) ^ (old << 1);
	return v == old ? v + 1 : v;
}

/* Samples a few milliseconds apart, so the first page already has a rate. */
static void hcd_agent_prime(struct hcd_agent *a)
{
	struct timespec gap = { 0, HCD_PRIME_GAP_NS };
	struct hcd_timex tx;
	struct hcd_sample s;
	unsigned int i;

	hcd_fit_reset(&a->fit);
	for (i = 0; i < HCD_PRIME_SAMPLES; i++) {
		if (i)
			nanosleep(&gap, NULL);
		if (hcd_sample_take(HCD_SAMPLE_TRIES, &s))
			continue;
		hcd_agent_timex(a, &tx);
		s.rate = hcd_timex_rate(&tx);
		hcd_fit_add(&a->fit, &s);
	}
}

int hcd_agent_init(struct hcd_agent *a, struct hcd_region *region,
		   const struct hcd_agent_opts *opts, const struct hcd_tscmap *map)
{
	struct hostclock_clock old = { 0 };

	memset(a, 0, sizeof(*a));
	a->region = region;
	a->opts = *opts;
	if (!a->opts.watch_ns)
		a->opts.watch_ns = HCD_WATCH_DEFAULT_NS;
	a->map = *map;
	a->faults.forced_status = -1;
	a->faults.forced_leap = -1;
	a->faults.forced_maxerror_ns = -1;
	hcd_fit_init(&a->fit, opts->fit_window);
	hcd_reference_init(&a->ref);
	hcd_pairing_init(&a->pair, &region->ext->mailbox);

	/*
	 * A restarted agent is not a restored VM: keep its generation count,
	 * even from a page its predecessor left half-written (seq odd).
	 */
	if (hostclock_page_snapshot(region->page, &old, 16, NULL)) {
		old.magic = le32_to_cpu(READ_ONCE(region->page->magic));
		old.vm_generation_counter =
			le64_to_cpu(READ_ONCE(region->page->vm_generation_counter));
		old.disruption_marker = le64_to_cpu(READ_ONCE(region->page->disruption_marker));
	}
	if (old.magic == VMCLOCK_MAGIC)
		a->vm_generation = old.vm_generation_counter;
	/* This run did not write what is there: the guest must recalibrate. */
	a->disruption_marker = hcd_fresh_marker(old.disruption_marker);
	a->disruptions = 1;
	a->map_generation_seen = a->map.generation;
	hcd_agent_prime(a);
	return 0;
}

/* Published time = host time + the reference perturbation. */
s64 hcd_agent_reference_ns(const struct hcd_agent *a, s64 *host_ns)
{
	s64 host = hcd_clock_ns(CLOCK_REALTIME);

	if (host_ns)
		*host_ns = host;
	return host + hcd_reference_offset(&a->ref, host);
}

void hcd_agent_disrupt(struct hcd_agent *a)
{
	a->disruption_marker = hcd_fresh_marker(a->disruption_marker);
	a->disruptions++;
	a->counter_published = false;
}

/* Samples from before a host clock step are on another line. */
void hcd_agent_host_stepped(struct hcd_agent *a)
{
	hcd_agent_prime(a);
}

/**
 * hcd_agent_watch() - between updates: adopt a region another writer
 *	replaced, and publish at once if the host daemon changed the clock's rate
 * @a: the agent
 *
 * The page's period is the rate at its last update; a daemon may change the
 * rate at any moment (chronyd by up to 83333 ppm), and each watch period
 * the agent looks, so that no page goes on with an old rate for longer.
 * A migration's copy of the source's region (hcd_agent_check_overwrite())
 * is found within the same period.
 */
void hcd_agent_watch(struct hcd_agent *a)
{
	struct hcd_timex tx;

	hcd_agent_check_overwrite(a);
	hcd_agent_timex(a, &tx);
	if (tx.state >= 0 && hcd_timex_rate(&tx) != a->last_rate) {
		a->freq_changes++;
		hcd_agent_update(a);
	}
}

/**
 * hcd_agent_region_restored() - republish on a region that was cut and
 *	restored (its pages are zeros now)
 * @a: the agent
 *
 * The guest cannot know what it read meanwhile: a new disruption marker.
 * The mailbox's agent half is written again; pairing goes on. The zeros are
 * the agent's own repair, not another writer's page: nothing to adopt.
 */
void hcd_agent_region_restored(struct hcd_agent *a)
{
	hcd_agent_disrupt(a);
	a->written = false;
	hcd_pairing_rewrite(&a->pair);
	hcd_agent_update(a);
}

/* floor division, so that a time before 1970 still has a fraction in [0, 1) */
static void hcd_ns_to_page_time(s64 ns, struct hostclock_clock *clk)
{
	s64 sec = ns / NSEC_PER_SEC, rem = ns % NSEC_PER_SEC;
	u64 nsec;

	if (rem < 0) {
		rem += NSEC_PER_SEC;
		sec--;
	}
	nsec = (u64)rem;
	clk->time_sec = (u64)sec;
	/* round(nsec * 2^64 / 10^9): the core's rounding then gives nsec back */
	clk->time_frac_sec = (u64)((((unsigned __int128)nsec << 64) +
				    NSEC_PER_SEC / 2) / NSEC_PER_SEC);
}

static void hcd_apply_corruption(int corrupt, struct hostclock_clock *clk)
{
	switch (corrupt) {
	case HCD_CORRUPT_MAGIC:
		clk->magic = VMCLOCK_MAGIC ^ 0xff;
		break;
	case HCD_CORRUPT_VERSION:
		clk->version = VMCLOCK_VERSION + 1;
		break;
	case HCD_CORRUPT_PERIOD:
		clk->counter_period_frac_sec = 0;
		break;
	case HCD_CORRUPT_SHIFT:
		clk->counter_period_shift = 64;
		break;
	case HCD_CORRUPT_COUNTER:
		clk->counter_id = VMCLOCK_COUNTER_INVALID;
		break;
	}
}

static void hcd_publish_ext(struct hcd_agent *a, u32 state)
{
	struct hcd_ext_state st = {
		.agent_state = state,
		.heartbeat = a->heartbeat,
		.update_interval_ns = a->opts.interval_ns,
		.tsc_mode = a->map.mode,
		.tsc_offset_uncertainty = a->map.uncertainty,
		.pair_rtt = a->pair.stats.last_rtt,
	};

	a->written_ext_seq = hcd_write_ext(a->region->ext, &st);
	a->written_ext = st;
}

/* Every HCD_DAEMON_SCAN_NS: may the page carry the kernel's error bounds? */
static void hcd_agent_host_daemons(struct hcd_agent *a)
{
	u64 now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
	struct hcd_host_daemons d = { 0 };
	const char *why;
	bool trusted;

	if (a->daemons_scanned_ns && now - a->daemons_scanned_ns < HCD_DAEMON_SCAN_NS)
		return;
	if (a->opts.proc_root)
		hcd_host_daemons_scan(a->opts.proc_root, &d);
	trusted = hcd_host_errors_trusted(a->opts.host_errors, &d, &a->host_max_slew, &why);
	if (a->opts.host_max_slew > 0)
		a->host_max_slew = a->opts.host_max_slew;
	if (!a->daemons_scanned_ns || trusted != a->host_errors_trusted)
		hcd_info("host time daemon: %s; %s the kernel's maxerror/esterror", why,
			 trusted ? "publishing" : "not publishing");
	a->host_errors_trusted = trusted;
	a->daemons_scanned_ns = now;
}

/* The page as the agent's current knowledge says it should be. */
static void hcd_agent_compose(struct hcd_agent *a, struct hostclock_clock *clk)
{
	const struct hcd_host_status *host = &a->last_host;
	const struct hcd_sample *s = &a->last_sample;
	long double ns_per_guest_tick = 0, rate_scale;
	bool counter_ok = a->have_fit && a->map.valid, no_tai = false;
	double agent_est, agent_max;
	s64 t;

	memset(clk, 0, sizeof(*clk));
	clk->magic = VMCLOCK_MAGIC;
	clk->version = VMCLOCK_VERSION;
	clk->size = HOSTCLOCK_PAGE_SIZE;
	clk->time_type = a->opts.time_type;
	clk->disruption_marker = a->disruption_marker;
	clk->vm_generation_counter = a->vm_generation;
	clk->flags = VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT;
	clk->leap_indicator = host->leap_indicator;
	clk->clock_status = host->clock_status;
	if (host->tai_valid) {
		clk->flags |= VMCLOCK_FLAG_TAI_OFFSET_VALID;
		clk->tai_offset_sec = host->tai_offset;
	}

	t = s->ns + hcd_reference_offset(&a->ref, s->ns);
	if (a->opts.time_type == VMCLOCK_TIME_TAI) {
		if (host->tai_valid) {
			t += (s64)host->tai_offset * NSEC_PER_SEC;
		} else {
			/* UTC seconds labelled TAI would be 37 s off: no time at all */
			no_tai = true;
			counter_ok = false;
			if (!a->tai_warned)
				hcd_warn("TAI asked for, but the host clock has no TAI offset; publishing no time until it has");
			a->tai_warned = true;
		}
	}
	hcd_ns_to_page_time(t, clk);

	clk->counter_id = VMCLOCK_COUNTER_INVALID;
	if (counter_ok) {
		/* the reference's extra rate stretches every published tick */
		rate_scale = 1.0L + a->ref.rate_ppb / 1e9L;
		ns_per_guest_tick = a->last_fit.ns_per_tick /
				    hcd_tscmap_ratio(&a->map) * rate_scale;
		if (hcd_period_from_rate(ns_per_guest_tick,
					 &clk->counter_period_frac_sec,
					 &clk->counter_period_shift))
			counter_ok = false;
	}
	if (!counter_ok) {
		/* no time to serve yet: say so, and that the agent is starting */
		clk->counter_period_frac_sec = 0;
		clk->counter_period_shift = 0;
		clk->time_sec = 0;
		clk->time_frac_sec = 0;
		clk->clock_status = no_tai ? VMCLOCK_STATUS_UNRELIABLE :
					     VMCLOCK_STATUS_INITIALIZING;
	} else {
		clk->counter_id = VMCLOCK_COUNTER_X86_TSC;
		clk->counter_value = hcd_tscmap_guest(&a->map, s->tsc);

		agent_est = s->bracket * (double)a->last_fit.ns_per_tick / 2 +
			    a->last_fit.residual_ns +
			    a->map.uncertainty * (double)ns_per_guest_tick;
		/*
		 * A rate change the agent has not seen yet: the daemon's fastest
		 * slew, for as long as noticing it takes.
		 */
		agent_max = agent_est + 2 * a->last_fit.residual_ns + 1 +
			    a->host_max_slew * (double)(a->opts.watch_ns + HCD_NOTICE_SLACK_NS);
		if (host->errors_valid && a->host_errors_trusted) {
			clk->flags |= VMCLOCK_FLAG_TIME_ESTERROR_VALID |
				      VMCLOCK_FLAG_TIME_MAXERROR_VALID;
			clk->time_esterror_nanosec = host->esterror_ns + (u64)agent_est;
			clk->time_maxerror_nanosec = host->maxerror_ns + (u64)agent_max + 1;
		}
		/*
		 * The period follows tick and freq at once (hcd_fit_solve); the
		 * kernel's own PLL and adjtime() slews come on top of them.
		 */
		clk->flags |= VMCLOCK_FLAG_PERIOD_ESTERROR_VALID |
			      VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
		clk->counter_period_esterror_rate_frac_sec =
			hcd_rate_to_frac(a->last_fit.slope_stderr + host->kernel_slew,
					 clk->counter_period_frac_sec);
		clk->counter_period_maxerror_rate_frac_sec =
			hcd_rate_to_frac(host->tolerance + host->kernel_slew +
					 3 * a->last_fit.slope_stderr,
					 clk->counter_period_frac_sec);
	}

	if (a->faults.forced_status >= 0)
		clk->clock_status = (u8)a->faults.forced_status;
	if (a->faults.forced_leap >= 0)
		clk->leap_indicator = (u8)a->faults.forced_leap;
	if (a->faults.forced_maxerror_ns >= 0) {
		clk->flags |= VMCLOCK_FLAG_TIME_ESTERROR_VALID |
			      VMCLOCK_FLAG_TIME_MAXERROR_VALID;
		clk->time_maxerror_nanosec = (u64)a->faults.forced_maxerror_ns;
		clk->time_esterror_nanosec = (u64)a->faults.forced_maxerror_ns / 2;
	}
	hcd_apply_corruption(a->faults.corrupt, clk);
}

/* Compose the page from what the agent knows now; publish it and page 1. */
static void hcd_agent_publish(struct hcd_agent *a)
{
	struct hostclock_clock clk;

	if (a->map.generation != a->map_generation_seen) {
		/*
		 * The guest's counter relation broke. Not when no page under
		 * the current marker had a counter (the first mapping learned
		 * in this run, the first after an adoption): nothing could be
		 * calibrated against it, and the marker is new already.
		 */
		if (a->counter_published)
			hcd_agent_disrupt(a);
		a->map_generation_seen = a->map.generation;
	}

	hcd_agent_compose(a, &clk);
	if (a->faults.corrupt == HCD_CORRUPT_SEQ)
		hcd_write_page_torn(a->region->page, &clk, &a->written_page);
	else
		hcd_write_page(a->region->page, &clk, &a->written_page);
	a->written = true;
	if (clk.counter_id != VMCLOCK_COUNTER_INVALID)
		a->counter_published = true;
	a->published = clk;
	a->heartbeat++;
	a->updates++;
	hcd_publish_ext(a, HOSTCLOCK_AGENT_RUNNING);
}

/* A marker unlike both: the found page's and this agent's own. */
static u64 hcd_adopted_marker(u64 found, u64 own)
{
	u64 m = (found > own ? found : own) + 1;

	/* past U64_MAX the sum wraps, and may land on either */
	while (m == found || m == own)
		m++;
	return m;
}

/*
 * Another writer replaced the region: republish at once, in terms the guest
 * can tell from the page it found. The seqcount goes on from the found
 * seq_count (hcd_write_page() starts from the live value, odd or even), the
 * marker is neither the found one nor the agent's, and the guest's TSC
 * relation is learnt again. The VM generation found is kept: a live
 * migration is no restore, and the agent cannot tell one from the other.
 */
static void hcd_agent_adopt(struct hcd_agent *a)
{
	const struct vmclock_abi *page = a->region->page;
	u32 found_seq = le32_to_cpu(READ_ONCE(page->seq_count));
	u64 found_marker = le64_to_cpu(READ_ONCE(page->disruption_marker));
	u64 own_marker = a->disruption_marker, now = (u64)hcd_clock_ns(CLOCK_MONOTONIC);
	const char *mapping = "kept (a fixed mapping)";
	char why[256];

	if (le32_to_cpu(READ_ONCE(page->magic)) == VMCLOCK_MAGIC &&
	    le64_to_cpu(READ_ONCE(page->flags)) & VMCLOCK_FLAG_VM_GEN_COUNTER_PRESENT)
		a->vm_generation = le64_to_cpu(READ_ONCE(page->vm_generation_counter));
	a->overwrites++;
	a->disruption_marker = hcd_adopted_marker(found_marker, own_marker);
	a->disruptions++;
	a->counter_published = false;
	if (a->map.mode == HOSTCLOCK_TSC_PAIRING) {
		mapping = hcd_pairing_adopt(&a->pair, &a->map) ?
			  "unpaired, pairing requested" :
			  "unpaired, pairing requested later (one was asked recently)";
	} else if (a->map.mode == HOSTCLOCK_TSC_KVM) {
		/*
		 * At most once a second (a guest may rewrite its region in a
		 * loop); a failure keeps the last mapping, and the main loop's
		 * read at the next interval logs it.
		 */
		mapping = "kvm: re-read at the next interval";
		if ((!a->adopted_ns || now - a->adopted_ns >= NSEC_PER_SEC) &&
		    !hcd_kvm_read(a->opts.kvm_debugfs, a->opts.kvm_pid, a->opts.kvm_pidfd,
				  &a->map, why, sizeof(why)))
			mapping = "kvm: re-read";
	}
	a->adopted_ns = now;
	a->map_generation_seen = a->map.generation;
	if (hcd_ratelimit(&a->overwrite_log, now, 10ULL * NSEC_PER_SEC))
		hcd_info("region written by another writer (a migration or snapshot restore copies the source's region): found seq_count %u disruption_marker %llu, this agent's was %u/%llu; adopted: disruption_marker %llu, mapping %s (%llu times so far)",
			 found_seq, (unsigned long long)found_marker,
			 le32_to_cpu(a->written_page.seq_count), (unsigned long long)own_marker,
			 (unsigned long long)a->disruption_marker, mapping,
			 (unsigned long long)a->overwrites);
	hcd_agent_publish(a);
}

/**
 * hcd_agent_check_overwrite() - adopt the region if another writer wrote it
 * @a: the agent
 *
 * QEMU copies a migrating VM's region over the destination's file (ivshmem
 * with master=on), once early and page by page again while the guest writes
 * it, not in step with the agent's seqcount: page 0 (the source's time and
 * guest TSC mapping, maybe torn) and page 1 (heartbeat, mailbox). A snapshot
 * restore does the same. So before publishing and at every watch the
 * agent compares the region with what it last wrote: page 0's VMClock
 * structure, page 1's agent fields and the mailbox's agent half; the
 * guest's half is the guest's to write. Nothing is compared before the first page of this run,
 * nor while frozen (a fault that writes nothing).
 *
 * Return: true if the region was adopted.
 */
bool hcd_agent_check_overwrite(struct hcd_agent *a)
{
	if (!a->written || a->faults.frozen)
		return false;
	if (hcd_page_is(a->region->page, &a->written_page) &&
	    hcd_ext_is(a->region->ext, &a->written_ext, a->written_ext_seq) &&
	    hcd_pairing_mailbox_ours(&a->pair))
		return false;
	hcd_agent_adopt(a);
	return true;
}

/**
 * hcd_agent_update() - take a sample and publish a new page
 * @a: the agent
 *
 * Return: 0, or -1 if no sample could be taken (nothing published).
 */
int hcd_agent_update(struct hcd_agent *a)
{
	struct hcd_timex tx;
	struct hcd_sample s;

	if (a->faults.frozen)
		return 0;
	/* a page written over another writer's would hide it */
	hcd_agent_check_overwrite(a);
	if (hcd_sample_take(HCD_SAMPLE_TRIES, &s)) {
		hcd_warn("the TSC went backwards in every try; no update");
		return -1;
	}
	/* right after the sample: the rate it was taken at */
	hcd_agent_timex(a, &tx);
	a->last_timex = tx;
	s.rate = hcd_timex_rate(&tx);
	a->last_rate = tx.state >= 0 ? s.rate : 0;
	hcd_fit_add(&a->fit, &s);
	a->last_sample = s;
	a->have_fit = !hcd_fit_solve(&a->fit, &a->last_fit);

	hcd_timex_map(&tx, s.ns / NSEC_PER_SEC, &a->last_leap, &a->last_host);
	if (a->last_host.leap_not_month_end && !a->leap_warned)
		hcd_warn("the host kernel announces a leap second for tonight, which is not a month's end; not publishing it");
	a->leap_warned = a->last_host.leap_not_month_end;
	hcd_agent_host_daemons(a);
	hcd_agent_publish(a);
	return 0;
}

/**
 * hcd_agent_stop() - mark the region as left by a cleanly stopped agent
 * @a: the agent
 *
 * The page stays decodable but says UNRELIABLE, and page 1 says STOPPED,
 * so a guest can tell the agent is gone rather than merely slow.
 */
void hcd_agent_stop(struct hcd_agent *a)
{
	struct hostclock_clock clk = a->published;

	if (clk.magic == VMCLOCK_MAGIC && !a->faults.corrupt) {
		clk.clock_status = VMCLOCK_STATUS_UNRELIABLE;
		hcd_write_page(a->region->page, &clk, &a->written_page);
	}
	hcd_publish_ext(a, HOSTCLOCK_AGENT_STOPPED);
}
