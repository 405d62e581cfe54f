// SPDX-License-Identifier: GPL-2.0
/*
 * The header-only userspace reader (include/hostclock/reader.h) against the
 * driver's core: identical times and error bounds on random pages, the same
 * refusals, and a live page from the agent read within 2 us of the host.
 * The cached reader likewise, at the edges of its fast span, across new
 * generations, another page, refusals and a busy page, and against a
 * writer thread publishing as fast as it can.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "harness.h"
#include "hcd.h"
#include "hostclock/reader.h"
#include "hostclock_cases.h"

/* 2016-07-27, as the shared cases use */
#define HC_READER_T0	1469577600ULL

static u64 hc_rng(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Days from 1970-01-01 to the first of month @m (1..12) of year @y. */
static u64 hc_month_start_day(u64 y, unsigned int m)
{
	u64 era, yoe, doy;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/*
 * A random valid page: period, shift, times, TAI, leap, error fields; one
 * in four on the last day of a month, where an announced leap second lands,
 * one in four a fraction that rounds up to the next second, one in sixteen
 * within 3 s of the largest second a result can hold.
 */
static void hc_random_page(u64 *rng, struct hostclock_clock *clk)
{
	u64 r = hc_rng(rng);
	u8 s = r % (HOSTCLOCK_SHIFT_MAX + 1);
	unsigned int hi = 44 + s > 64 ? 64 : 44 + s;
	unsigned int log = 28 + s + hc_rng(rng) % (hi - 28 - s);

	hc_good_clock(clk);
	clk->counter_period_shift = s;
	clk->counter_period_frac_sec = (1ULL << log) | (hc_rng(rng) & ((1ULL << log) - 1));
	clk->time_sec = (r & 8) ? hc_rng(rng) >> (hc_rng(rng) % 64) : HC_READER_T0 + (hc_rng(rng) >> 40);
	if ((r & 0x30000) == 0x30000)
		clk->time_sec = hc_month_start_day(2016 + hc_rng(rng) % 20, 1 + hc_rng(rng) % 12) *
				86400 - 1 - hc_rng(rng) % 86400;
	clk->time_frac_sec = hc_rng(rng);
	if ((r & 0xc0000) == 0xc0000)	/* rounds up to the next second near counter_value */
		clk->time_frac_sec = -(hc_rng(rng) >> 30);
	if ((r & 0x300000) == 0x300000)	/* at the end of the seconds a result can hold */
		clk->time_sec = INT64_MAX - hc_rng(rng) % 4;
	clk->counter_value = hc_rng(rng);
	clk->time_type = (r & 16) ? VMCLOCK_TIME_TAI : VMCLOCK_TIME_UTC;
	if (r & 32) {
		clk->flags |= VMCLOCK_FLAG_TAI_OFFSET_VALID;
		clk->tai_offset_sec = (s16)(hc_rng(rng) % 200) - 50;
	}
	clk->leap_indicator = (r >> 8) % 6;
	if (r & 64)
		clk->flags |= VMCLOCK_FLAG_TIME_MAXERROR_VALID;
	if (r & 128)
		clk->flags |= VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
	clk->time_maxerror_nanosec = hc_rng(rng) >> (hc_rng(rng) % 64);
	clk->counter_period_maxerror_rate_frac_sec = hc_rng(rng) >> (hc_rng(rng) % 64);
}

/* The core's answer in the reader's terms: 0 or -ENODATA, and the reading. */
static int hc_core_reading(const struct hostclock_clock *clk, u64 counter, int tai,
			   struct hostclock_reading *rd)
{
	struct hostclock_error_bound eb;
	struct hostclock_time t;
	int core;

	core = hostclock_counter_to_timescale(clk, counter,
					      tai ? HOSTCLOCK_TS_TAI : HOSTCLOCK_TS_UTC, &t);
	if (core)
		return -ENODATA;
	hostclock_counter_error(clk, counter, &eb);
	rd->sec = (s64)t.sec;
	rd->nsec = t.nsec;
	rd->maxerror_ns = eb.maxerror_valid ? eb.maxerror_ns : U64_MAX;
	return 0;
}

static bool hc_same_reading(int a, const struct hostclock_reading *ra, int b,
			    const struct hostclock_reading *rb)
{
	return a == b && (a || (ra->sec == rb->sec && ra->nsec == rb->nsec &&
				ra->maxerror_ns == rb->maxerror_ns));
}

static void hc_reading_msg(char *msg, const char *what, int want,
			   const struct hostclock_reading *w, int got,
			   const struct hostclock_reading *g)
{
	snprintf(msg, HC_MSG_LEN, "%s: core %d %lld.%09u max %llu, reader %d %lld.%09u max %llu",
		 what, want, (long long)w->sec, w->nsec, (unsigned long long)w->maxerror_ns,
		 got, (long long)g->sec, g->nsec, (unsigned long long)g->maxerror_ns);
}

#define HC_READER_PAGES	200000

static void hc_test_reader_vs_core(void)
{
	static struct vmclock_abi raw;
	static struct hostclock_reader_cache k;
	char msg[HC_MSG_LEN] = "", kmsg[HC_MSG_LEN] = "", what[64];
	u64 rng = 0x2545f4914f6cdd1dULL, ok = 0, refused = 0;
	u64 fast = 0, general = 0, edges = 0, leaps = 0, carries = 0;
	unsigned int i, j;
	bool cache_ok = true;

	for (i = 0; i < HC_READER_PAGES; i++) {
		struct hostclock_reader_copy c;
		struct hostclock_reading rd, want;
		struct hostclock_clock clk;
		int tai = hc_rng(&rng) & 1, core, reader;
		u64 tsc, counters[4];
		u64 counter, span = hc_rng(&rng) >> (1 + hc_rng(&rng) % 63);

		hc_random_page(&rng, &clk);
		counter = (hc_rng(&rng) & 1) ? clk.counter_value + span : clk.counter_value - span;
		hostclock_clock_encode(&clk, &raw);
		if (!hostclock_reader_copy(&raw, &c, &tsc) || hostclock_reader_check(&c)) {
			snprintf(msg, sizeof(msg), "case %u: a valid page refused", i);
			break;
		}
		core = hc_core_reading(&clk, counter, tai, &want);
		reader = hostclock_reader_convert(&c, counter, tai, &rd);
		if (!hc_same_reading(core, &want, reader ? -ENODATA : 0, &rd)) {
			snprintf(what, sizeof(what), "case %u", i);
			hc_reading_msg(msg, what, core, &want, reader, &rd);
			break;
		}
		if (core)
			refused++;
		else
			ok++;

		/*
		 * the cache: this counter, counter_value itself, and the last of
		 * the fast span and the next
		 */
		hostclock_reader_cache_init(&k, tai);
		hostclock_reader_cache_fill(&k, &raw, &c);
		counters[0] = counter;
		counters[1] = clk.counter_value;
		counters[2] = clk.counter_value + k.fast_span - 1;
		counters[3] = clk.counter_value + k.fast_span;
		for (j = 0; j < (k.fast_span ? 4 : 1) && cache_ok; j++) {
			struct hostclock_reader_copy noleap = c;
			struct hostclock_reading plain;

			core = hc_core_reading(&clk, counters[j], tai, &want);
			reader = hostclock_reader_cache_convert(&k, counters[j], &rd);
			if (!hc_same_reading(core, &want, reader, &rd) || rd.tsc != counters[j]) {
				snprintf(what, sizeof(what), "case %u, counter %u, fast span %llu",
					 i, j, (unsigned long long)k.fast_span);
				hc_reading_msg(kmsg, what, core, &want, reader, &rd);
				cache_ok = false;
			}
			edges += j > 1;
			if (counters[j] - clk.counter_value >= k.fast_span) {
				general++;
				continue;
			}
			fast++;
			carries += !reader && !rd.nsec;
			noleap.leap = VMCLOCK_LEAP_NONE;
			if (!reader && !hostclock_reader_convert(&noleap, counters[j], tai, &plain) &&
			    plain.sec != rd.sec)
				leaps++;
		}
	}
	if (i == HC_READER_PAGES)
		snprintf(msg, sizeof(msg), "%llu identical, %llu refused by both",
			 (unsigned long long)ok, (unsigned long long)refused);
	hc_report("reader", "same times and bounds as the core on 200000 random pages",
		  i == HC_READER_PAGES && ok > 100000, msg);
	if (cache_ok)
		snprintf(kmsg, sizeof(kmsg),
			 "%llu in the fast span (%llu across a leap second, %llu rounded up to a second), %llu outside, %llu at its edges",
			 (unsigned long long)fast, (unsigned long long)leaps,
			 (unsigned long long)carries, (unsigned long long)general,
			 (unsigned long long)edges);
	hc_report("reader cache", "same times and bounds as the core on the same pages",
		  cache_ok && i == HC_READER_PAGES && fast > 200000 && general > 100000 &&
		  leaps > 1000 && carries > 100, kmsg);
}

/*
 * The edge the core refuses (hc_check_leap_range()): a skipped second with
 * the time at S64_MAX; the plain and the cached conversion refuse it too.
 */
static void hc_test_reader_leap_range(void)
{
	static struct vmclock_abi raw;
	static struct hostclock_reader_cache k;
	const u64 day = 9223372036854374400ULL;	/* 292277026596-11-30 00:00 */
	struct hostclock_reader_copy c;
	struct hostclock_reading rd, want;
	struct hostclock_clock clk;
	char msg[HC_MSG_LEN] = "";
	int core, plain = -1, cached = -1;
	u64 tsc, counter;

	hc_good_clock(&clk);
	clk.time_sec = day;
	clk.time_frac_sec = 1ULL << 63;
	clk.counter_period_frac_sec = 1ULL << 32;	/* a 2^32 Hz counter */
	clk.counter_period_shift = 0;
	clk.time_type = VMCLOCK_TIME_UTC;
	clk.leap_indicator = VMCLOCK_LEAP_PRE_NEG;
	counter = clk.counter_value + ((S64_MAX - day) << 32);
	hostclock_clock_encode(&clk, &raw);
	core = hc_core_reading(&clk, counter, 0, &want);
	if (hostclock_reader_copy(&raw, &c, &tsc) && !hostclock_reader_check(&c)) {
		plain = hostclock_reader_convert(&c, counter, 0, &rd);
		hostclock_reader_cache_init(&k, 0);
		hostclock_reader_cache_fill(&k, &raw, &c);
		cached = hostclock_reader_cache_convert(&k, counter, &rd);
	}
	snprintf(msg, sizeof(msg), "core %d, plain %d (%lld), cached %d", core, plain,
		 (long long)rd.sec, cached);
	hc_report("reader refuses", "a skipped second at the end of the range, as the core",
		  core == -ENODATA && plain == -ENODATA && cached == -ENODATA, msg);
}

static void hc_test_reader_refuses(void)
{
	static const struct { const char *name; int field; } bad[] = {
		{ "bad magic", 0 }, { "no counter", 1 }, { "unreliable", 2 },
		{ "zero period", 3 }, { "shift 36", 4 }, { "initializing", 5 },
	};
	static struct vmclock_abi raw;
	char msg[HC_MSG_LEN];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct hostclock_reading rd;
		struct hostclock_clock clk;
		int ret;

		hc_good_clock(&clk);
		switch (bad[i].field) {
		case 0: clk.magic = 0x12345678; break;
		case 1: clk.counter_id = VMCLOCK_COUNTER_INVALID; break;
		case 2: clk.clock_status = VMCLOCK_STATUS_UNRELIABLE; break;
		case 3: clk.counter_period_frac_sec = 0; break;
		case 4: clk.counter_period_shift = 36; break;
		default: clk.clock_status = VMCLOCK_STATUS_INITIALIZING; break;
		}
		hostclock_clock_encode(&clk, &raw);
		ret = hostclock_reader_now(&raw, HOSTCLOCK_READER_UTC, &rd);
		snprintf(msg, sizeof(msg), "returned %d", ret);
		hc_report("reader refuses", bad[i].name, ret == -ENODATA, msg);
	}
	/* a seq stuck odd: busy, bounded */
	{
		struct hostclock_reading rd;
		struct hostclock_clock clk;

		hc_good_clock(&clk);
		hostclock_clock_encode(&clk, &raw);
		raw.seq_count = cpu_to_le32(7);
		snprintf(msg, sizeof(msg), "returned %d",
			 hostclock_reader_now(&raw, HOSTCLOCK_READER_UTC, &rd));
		hc_report("reader refuses", "seq stuck odd: -EAGAIN after its tries",
			  hostclock_reader_now(&raw, HOSTCLOCK_READER_UTC, &rd) == -EAGAIN, msg);
	}
}

/* A random page whose counter_value lies shortly before or after this CPU's TSC. */
static void hc_live_random_page(u64 *rng, struct hostclock_clock *clk)
{
	u64 r = hc_rng(rng);

	hc_random_page(rng, clk);
	clk->counter_value = hostclock_reader_rdtsc() - (hc_rng(rng) >> (r % 8 ? 34 : 30));
}

/*
 * One call of the cached reader on the live TSC against the core at the TSC
 * it read; false (with @msg) on a difference.
 */
static bool hc_cached_matches(const struct vmclock_abi *page, const struct hostclock_clock *clk,
			      struct hostclock_reader_cache *k, int tai, const char *what,
			      char *msg)
{
	struct hostclock_reading rd = { 0 }, want = { 0 };
	int got = hostclock_reader_now_cached(page, k, &rd), core = -ENODATA;

	/* the reader also refuses a status other than these */
	if (clk->clock_status == VMCLOCK_STATUS_SYNCHRONIZED ||
	    clk->clock_status == VMCLOCK_STATUS_FREERUNNING)
		core = hc_core_reading(clk, rd.tsc, tai, &want);
	if (hc_same_reading(core, &want, got, &rd))
		return true;
	hc_reading_msg(msg, what, core, &want, got, &rd);
	return false;
}

/*
 * The cache follows the page: each new generation, another page with the
 * same seq_count, a page refused and then good again, a page left busy,
 * both timescales; and it is a cache, keyed on seq_count alone.
 */
static void hc_test_reader_cache_generations(void)
{
	static struct vmclock_abi pages[2];
	static struct hostclock_reader_cache k;
	struct hostclock_clock clk[2], stale;
	struct hostclock_reading rd;
	char msg[HC_MSG_LEN] = "", what[64];
	u64 rng = 0x9e3779b97f4a7c15ULL;
	unsigned int i, n = 0, cur = 0, step = 0, refills = 0, busy = 0, refusals = 0;
	int tai = 0, ret;
	bool ok = true;

	for (i = 0; i < 2; i++) {
		hc_live_random_page(&rng, &clk[i]);
		hc_publish_page(&pages[i], &clk[i], true);
	}
	/* both pages at the same seq_count: only the address tells them apart */
	pages[1].seq_count = pages[0].seq_count;
	hostclock_reader_cache_init(&k, tai);
	for (step = 0; step < 5000 && ok; step++) {
		unsigned int action = hc_rng(&rng) % 8;

		switch (action) {
		case 0:	/* a new generation of this page */
		case 1:
			hc_live_random_page(&rng, &clk[cur]);
			if (hc_rng(&rng) % 4 == 0)
				clk[cur].clock_status = VMCLOCK_STATUS_UNRELIABLE;
			hc_publish_page(&pages[cur], &clk[cur], true);
			refills++;
			snprintf(what, sizeof(what), "step %u: new generation", step);
			break;
		case 2:	/* the other page */
			cur ^= 1;
			refills++;
			snprintf(what, sizeof(what), "step %u: other page", step);
			break;
		case 3:	/* the other timescale, from a fresh cache */
			tai ^= 1;
			hostclock_reader_cache_init(&k, tai);
			snprintf(what, sizeof(what), "step %u: %s", step, tai ? "TAI" : "UTC");
			break;
		case 4:	/* busy: seq odd, then finished */
			hc_live_random_page(&rng, &clk[cur]);
			hc_publish_page(&pages[cur], &clk[cur], false);
			ret = hostclock_reader_now_cached(&pages[cur], &k, &rd);
			if (ret != -EAGAIN) {
				snprintf(msg, sizeof(msg), "step %u: seq odd gave %d, not -EAGAIN",
					 step, ret);
				ok = false;
				break;
			}
			busy++;
			WRITE_ONCE(pages[cur].seq_count,
				   cpu_to_le32(le32_to_cpu(pages[cur].seq_count) + 1));
			snprintf(what, sizeof(what), "step %u: after a busy page", step);
			break;
		default:	/* the same generation again */
			snprintf(what, sizeof(what), "step %u: same generation", step);
			break;
		}
		if (!ok || !hc_cached_matches(&pages[cur], &clk[cur], &k, tai, what, msg)) {
			ok = false;
			break;
		}
		refusals += clk[cur].clock_status == VMCLOCK_STATUS_UNRELIABLE;
		n++;
	}
	if (ok)
		snprintf(msg, sizeof(msg),
			 "%u reads: %u after a new generation or page, %u busy, %u refused",
			 n, refills, busy, refusals);
	hc_report("reader cache", "follows new generations, pages, refusals and a busy page",
		  ok && refills > 1000 && busy > 300 && refusals > 300, msg);

	/*
	 * Rewritten without a new seq_count (against the protocol): the cache
	 * keeps the generation it has, which is what makes it a cache.
	 */
	hc_live_random_page(&rng, &clk[0]);
	clk[0].clock_status = VMCLOCK_STATUS_SYNCHRONIZED;
	hc_publish_page(&pages[0], &clk[0], true);
	hostclock_reader_cache_init(&k, HOSTCLOCK_READER_UTC);
	stale = clk[0];
	ok = hc_cached_matches(&pages[0], &stale, &k, HOSTCLOCK_READER_UTC, "first read", msg);
	clk[0].time_sec ^= 1 << 20;
	hostclock_clock_encode(&clk[0], &pages[0]);
	pages[0].seq_count = cpu_to_le32(k.seq);
	if (ok)
		ok = hc_cached_matches(&pages[0], &stale, &k, HOSTCLOCK_READER_UTC,
				       "same seq_count", msg);
	if (ok)
		snprintf(msg, sizeof(msg), "the cached generation's time, not the rewritten page's");
	hc_report("reader cache", "keyed on the page and seq_count alone", ok, msg);
}

/* how long the readers race the writer */
#define HC_CACHE_RACE_NS	300000000

struct hc_cache_race {
	struct vmclock_abi page;
	u64 tsc0;
	u64 done;		/* the last generation published in full */
	volatile bool stop;
	unsigned long writes;
};

/*
 * Generation g: time, period and bounds all from g, so that a time mixed
 * from two generations matches neither.
 */
static void hc_cache_race_clock(const struct hc_cache_race *race, u64 g,
				struct hostclock_clock *clk)
{
	hc_good_clock(clk);
	clk->counter_value = race->tsc0 + g * 1000;
	clk->counter_period_shift = 4;
	clk->counter_period_frac_sec = 113507651304ULL + g * 977;	/* 2^68 / 2.6 GHz */
	clk->time_sec = HC_READER_T0 + g * 1000000;
	clk->time_frac_sec = g * 0x9e3779b97f4a7c15ULL;
	clk->flags = VMCLOCK_FLAG_TIME_MAXERROR_VALID | VMCLOCK_FLAG_PERIOD_MAXERROR_VALID;
	clk->time_maxerror_nanosec = g;
	clk->counter_period_maxerror_rate_frac_sec = g << 20;
}

static void *hc_cache_race_writer(void *arg)
{
	struct hc_cache_race *race = arg;
	struct timespec nap = { 0, 20000 };
	struct hostclock_clock clk;
	u64 g = 1;

	/*
	 * Bursts of 16 back-to-back updates, then a nap that leaves the CPU
	 * to the readers (two cores for three threads), so that they read
	 * both while the page moves and from their caches between bursts.
	 */
	while (!race->stop) {
		hc_cache_race_clock(race, g++, &clk);
		hc_publish_page(&race->page, &clk, true);
		__atomic_store_n(&race->done, g - 1, __ATOMIC_RELEASE);
		race->writes++;
		if (!(g % 16))
			nanosleep(&nap, NULL);
	}
	return NULL;
}

struct hc_cache_race_reader {
	struct hc_cache_race *race;
	unsigned long reads, hits, mixed, stale, errors;
	char msg[HC_MSG_LEN];
};

/* Each reader its own cache, as the contract asks. */
static void *hc_cache_race_read(void *arg)
{
	struct hc_cache_race_reader *rr = arg;
	struct hostclock_reader_cache k;
	struct hostclock_reading rd, want;
	struct hostclock_clock clk;
	u32 seq_before;
	u64 g, done;

	hostclock_reader_cache_init(&k, HOSTCLOCK_READER_UTC);
	while (!rr->race->stop) {
		seq_before = k.page ? k.seq : 1;
		done = __atomic_load_n(&rr->race->done, __ATOMIC_ACQUIRE);
		if (hostclock_reader_now_cached(&rr->race->page, &k, &rd)) {
			rr->errors++;
			continue;
		}
		rr->reads++;
		rr->hits += k.seq == seq_before;
		/* the generation the time claims to come from, checked in full */
		g = ((u64)rd.sec - HC_READER_T0) / 1000000;
		/* never older than what was published before the call */
		rr->stale += g < done;
		hc_cache_race_clock(rr->race, g, &clk);
		if (hc_core_reading(&clk, rd.tsc, HOSTCLOCK_READER_UTC, &want) ||
		    !hc_same_reading(0, &want, 0, &rd)) {
			if (!rr->mixed++)
				hc_reading_msg(rr->msg, "mixed", 0, &want, 0, &rd);
		}
	}
	return NULL;
}

/*
 * A writer publishing in bursts against two readers with a cache each:
 * every time is exactly one generation's, and none older than the last
 * published before the call.
 */
static void hc_test_reader_cache_race(void)
{
	static struct hc_cache_race race;
	static struct hc_cache_race_reader rr[2];
	struct hostclock_clock clk;
	pthread_t writer, readers[2];
	unsigned long reads = 0, hits = 0, mixed = 0, stale = 0, errors = 0;
	struct timespec run = { 0, HC_CACHE_RACE_NS };
	char msg[HC_MSG_LEN] = "";
	unsigned int i, started = 0;

	race.tsc0 = hostclock_reader_rdtsc();
	hc_cache_race_clock(&race, 0, &clk);
	hc_publish_page(&race.page, &clk, true);
	if (pthread_create(&writer, NULL, hc_cache_race_writer, &race)) {
		hc_report("reader cache", "every time one generation's under a busy writer",
			  false, "pthread_create failed");
		return;
	}
	for (i = 0; i < 2; i++) {
		rr[i].race = &race;
		if (pthread_create(&readers[i], NULL, hc_cache_race_read, &rr[i]))
			break;
		started++;
	}
	nanosleep(&run, NULL);
	race.stop = true;
	for (i = 0; i < started; i++)
		pthread_join(readers[i], NULL);
	pthread_join(writer, NULL);
	for (i = 0; i < started; i++) {
		reads += rr[i].reads;
		hits += rr[i].hits;
		mixed += rr[i].mixed;
		stale += rr[i].stale;
		errors += rr[i].errors;
	}
	snprintf(msg, sizeof(msg),
		 "%lu reads (%lu from the cache), %lu mixed, %lu stale, %lu busy, %lu writes%s%.110s",
		 reads, hits, mixed, stale, errors, race.writes, mixed ? "; first: " : "",
		 mixed ? (rr[0].mixed ? rr[0].msg : rr[1].msg) : "");
	hc_report("reader cache", "every time one generation's under a busy writer",
		  started == 2 && !mixed && !stale && hits > 10000 && reads - hits > 100 &&
		  race.writes > 1000, msg);
}

/* An agent's live page (identity mapping) read by the reader, against the host. */
static void hc_test_reader_live(void)
{
	struct hcd_region_opts ro = { .uid = -1, .gid = -1 };
	struct hcd_agent_opts opts = {
		.time_type = VMCLOCK_TIME_UTC, .interval_ns = 1000000000ULL, .fit_window = 16,
	};
	static struct hcd_agent a;
	struct hostclock_reading rd;
	struct hcd_region r;
	struct hcd_tscmap map;
	char path[256], msg[HC_MSG_LEN] = "";
	s64 worst = 0, before, after, at;
	unsigned int i;
	pid_t pid;
	int ret = -1;

	snprintf(path, sizeof(path), "%s/reader", hc_tmpdir());
	ro.path = path;
	if (hcd_region_open(&ro, &r, msg, sizeof(msg)) ||
	    hcd_tscmap_parse("identity", &map, &pid, msg, sizeof(msg))) {
		hc_report("reader", "live page within 2 us of the host", false, msg);
		return;
	}
	hcd_agent_init(&a, &r, &opts, &map);
	hcd_agent_update(&a);
	for (i = 0; i < 1000; i++) {
		before = hcd_clock_ns(CLOCK_REALTIME);
		ret = hostclock_reader_now(r.page, HOSTCLOCK_READER_UTC, &rd);
		after = hcd_clock_ns(CLOCK_REALTIME);
		if (ret)
			break;
		at = rd.sec * NSEC_PER_SEC + rd.nsec;
		at = at < before ? before - at : at > after ? at - after : 0;
		worst = at > worst ? at : worst;
	}
	if (!ret)
		snprintf(msg, sizeof(msg), "worst outside the bracket %lld ns over 1000 reads",
			 (long long)worst);
	else
		snprintf(msg, sizeof(msg), "reader returned %d", ret);
	hc_report("reader", "live page within 2 us of the host", !ret && worst <= 2000, msg);
	hcd_region_close(&r);
}

void hc_suite_reader(void)
{
	hc_test_reader_vs_core();
	hc_test_reader_cache_generations();
	hc_test_reader_cache_race();
	hc_test_reader_refuses();
	hc_test_reader_leap_range();
	hc_test_reader_live();
}
