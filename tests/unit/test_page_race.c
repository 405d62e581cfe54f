// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshot reader against a live writer thread: a copy is never torn,
 * and a writer that holds seq odd for a while is waited for, not misread.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "harness.h"
#include "hostclock_cases.h"

#define HC_RACE_READS	200000

struct hc_race {
	struct vmclock_abi page;
	volatile bool stop;
	unsigned long writes;
};

/*
 * Page generation k: every field is derived from k, so a copy mixing two
 * generations is detectable from the copy alone.
 */
static void hc_race_clock(u64 k, struct hostclock_clock *clk)
{
	hc_good_clock(clk);
	clk->disruption_marker = k * 0x9e3779b97f4a7c15ULL;
	clk->counter_value = ~k;
	clk->time_sec = k;
	clk->time_frac_sec = k * 3;
	clk->time_esterror_nanosec = k + 1;
	clk->time_maxerror_nanosec = k + 2;
	clk->vm_generation_counter = k ^ 0x5555;
}

static bool hc_race_consistent(const struct hostclock_clock *c)
{
	u64 k = c->time_sec;

	return c->disruption_marker == k * 0x9e3779b97f4a7c15ULL &&
	       c->counter_value == ~k && c->time_frac_sec == k * 3 &&
	       c->time_esterror_nanosec == k + 1 &&
	       c->time_maxerror_nanosec == k + 2 &&
	       c->vm_generation_counter == (k ^ 0x5555);
}

/* The writer side of the protocol, as the host agent does it (harness.h). */
void hc_publish_page(struct vmclock_abi *page, const struct hostclock_clock *clk, bool finish)
{
	struct vmclock_abi img;
	u32 seq = le32_to_cpu(READ_ONCE(page->seq_count));
	const size_t after = offsetof(struct vmclock_abi, disruption_marker);

	hostclock_clock_encode(clk, &img);
	WRITE_ONCE(page->seq_count, cpu_to_le32(seq | 1));
	smp_wmb();
	memcpy(page, &img, offsetof(struct vmclock_abi, seq_count));
	memcpy((char *)page + after, (char *)&img + after, sizeof(img) - after);
	smp_wmb();
	if (finish)
		WRITE_ONCE(page->seq_count, cpu_to_le32((seq | 1) + 1));
}

/* Generation @k of the race's page. */
static void hc_race_publish(struct vmclock_abi *page, u64 k, bool finish)
{
	struct hostclock_clock clk;

	hc_race_clock(k, &clk);
	hc_publish_page(page, &clk, finish);
}

static void *hc_race_writer(void *arg)
{
	struct hc_race *r = arg;
	u64 k = 1;

	while (!r->stop) {
		hc_race_publish(&r->page, k++, true);
		r->writes++;
	}
	return NULL;
}

static void hc_race_torn(void)
{
	static struct hc_race r;
	struct hostclock_clock clk;
	unsigned long retried = 0, torn = 0, timeouts = 0;
	char msg[HC_MSG_LEN] = "";
	unsigned int i, retries;
	pthread_t writer;

	hc_race_publish(&r.page, 0, true);
	if (pthread_create(&writer, NULL, hc_race_writer, &r)) {
		hc_report("race", "torn reads", false, "pthread_create failed");
		return;
	}
	for (i = 0; i < HC_RACE_READS; i++) {
		if (hostclock_page_snapshot(&r.page, &clk, 1u << 20, &retries)) {
			timeouts++;
			continue;
		}
		retried += retries;
		if (!hc_race_consistent(&clk))
			torn++;
	}
	r.stop = true;
	pthread_join(writer, NULL);

	snprintf(msg, sizeof(msg), "%lu torn of %u reads, %lu timeouts, %lu writes, %lu retries",
		 torn, HC_RACE_READS, timeouts, r.writes, retried);
	hc_report("race", "no torn copy under a busy writer", !torn && !timeouts, msg);
	/* Without contention the test would prove nothing. */
	snprintf(msg, sizeof(msg), "writer made %lu updates, reader retried %lu times",
		 r.writes, retried);
	hc_report("race", "the writer really raced the reader",
		  r.writes > 1000 && retried > 0, msg);
}

struct hc_slow_writer {
	struct vmclock_abi *page;
	struct timespec hold;
};

static void *hc_slow_finish(void *arg)
{
	struct hc_slow_writer *w = arg;
	u32 seq = le32_to_cpu(READ_ONCE(w->page->seq_count));

	nanosleep(&w->hold, NULL);
	smp_wmb();
	WRITE_ONCE(w->page->seq_count, cpu_to_le32(seq + 1));
	return NULL;
}

static void hc_race_slow_writer(void)
{
	static struct vmclock_abi page;
	struct hc_slow_writer w = { &page, { 0, 2000000 } };
	struct hostclock_clock clk;
	char msg[HC_MSG_LEN] = "";
	unsigned int retries = 0;
	pthread_t t;
	int ret;

	hc_race_publish(&page, 1, true);
	hc_race_publish(&page, 77, false);	/* seq left odd */
	if (pthread_create(&t, NULL, hc_slow_finish, &w)) {
		hc_report("race", "slow writer", false, "pthread_create failed");
		return;
	}
	ret = hostclock_page_snapshot(&page, &clk, 1u << 30, &retries);
	pthread_join(t, NULL);
	snprintf(msg, sizeof(msg), "%s after %u retries, time_sec %llu",
		 hostclock_err_name(ret), retries, (unsigned long long)clk.time_sec);
	hc_report("race", "waits out a 2 ms update, then reads it",
		  !ret && retries > 0 && clk.time_sec == 77 &&
		  hc_race_consistent(&clk), msg);
}

void hc_suite_page_race(void)
{
	hc_race_torn();
	hc_race_slow_writer();
}
