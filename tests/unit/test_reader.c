// SPDX-License-Identifier: GPL-2.0
/*
 * The header-only userspace reader (include/hostclock/reader.h) against the
 * driver's core: identical times and error bounds on random pages, the same
 * refusals, and a live page from the agent read within 2 us of the host.
 */
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

/* A random valid page: period, shift, times, TAI, leap, error fields. */
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
	clk->time_frac_sec = hc_rng(rng);
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

static void hc_test_reader_vs_core(void)
{
	static struct vmclock_abi raw;
	char msg[HC_MSG_LEN] = "";
	u64 rng = 0x2545f4914f6cdd1dULL, ok = 0, refused = 0;
	unsigned int i;

	for (i = 0; i < 200000; i++) {
		struct hostclock_reader_copy c;
		struct hostclock_reading rd;
		struct hostclock_clock clk;
		struct hostclock_error_bound eb;
		struct hostclock_time t;
		int tai = hc_rng(&rng) & 1, core, reader;
		u64 tsc;
		u64 counter, span = hc_rng(&rng) >> (1 + hc_rng(&rng) % 63);

		hc_random_page(&rng, &clk);
		counter = (hc_rng(&rng) & 1) ? clk.counter_value + span : clk.counter_value - span;
		hostclock_clock_encode(&clk, &raw);
		if (!hostclock_reader_copy(&raw, &c, &tsc) || hostclock_reader_check(&c)) {
			snprintf(msg, sizeof(msg), "case %u: a valid page refused", i);
			break;
		}
		core = hostclock_counter_to_timescale(&clk, counter,
						      tai ? HOSTCLOCK_TS_TAI : HOSTCLOCK_TS_UTC, &t);
		hostclock_counter_error(&clk, counter, &eb);
		reader = hostclock_reader_convert(&c, counter, tai, &rd);
		if (!!core != !!reader ||
		    (!core && (rd.sec != (s64)t.sec || rd.nsec != t.nsec ||
			       rd.maxerror_ns != (eb.maxerror_valid ? eb.maxerror_ns : U64_MAX)))) {
			snprintf(msg, sizeof(msg),
				 "case %u: core %s %llu.%09u max %llu, reader %d %lld.%09u max %llu",
				 i, hostclock_err_name(core), (unsigned long long)t.sec, t.nsec,
				 (unsigned long long)eb.maxerror_ns, reader, (long long)rd.sec,
				 rd.nsec, (unsigned long long)rd.maxerror_ns);
			break;
		}
		if (core)
			refused++;
		else
			ok++;
	}
	if (i == 200000)
		snprintf(msg, sizeof(msg), "%llu identical, %llu refused by both",
			 (unsigned long long)ok, (unsigned long long)refused);
	hc_report("reader", "same times and bounds as the core on 200000 random pages",
		  i == 200000 && ok > 100000, msg);
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
	hc_test_reader_refuses();
	hc_test_reader_live();
}
