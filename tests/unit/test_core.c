// SPDX-License-Identifier: GPL-2.0
/*
 * The shared core cases (tests/common), run in userspace. KUnit runs the
 * same cases in tests/kunit/hostclock_core_test.c.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hostclock_cases.h"

/* Seeds and counts for the randomized properties; KUnit runs fewer. */
#define HC_RANDOM_SEEDS		8

static const struct {
	const char *name;
	bool (*check)(u64 seed, unsigned int n, char *msg);
	unsigned int n;
} hc_properties[] = {
	{ "conversion vs reference", hc_check_convert_random, 200000 },
	{ "line rebase", hc_check_line_rebase_random, 2000 },
	{ "line accumulation", hc_check_line_accumulation, 20000 },
	{ "line inverse", hc_check_line_invert_random, 20000 },
	{ "monotonic guard", hc_check_guard_random, 20000 },
	{ "rate bound", hc_check_rate_random, 200000 },
};

/*
 * The monotonic guard under contention: helper threads keep the shared
 * high-water mark moving a nanosecond at a time, as fast as they can (an
 * atomic add: more often than CPUs reading a clocksource move it, so that
 * the guard's exchanges keep losing), while this thread offers readings
 * far ahead of it. A
 * reading the guard returns must be recorded: right after the call the
 * mark is at least what was returned, or a later reader could return
 * less. Runs for HC_GUARD_RACE_NS or until a few misses were seen.
 */
#define HC_GUARD_RACE_THREADS	2
#define HC_GUARD_RACE_NS	500000000LL

struct hc_guard_race {
	u64 last;
	volatile bool stop;
};

static void *hc_guard_bumper(void *arg)
{
	struct hc_guard_race *r = arg;

	while (!r->stop)
		__atomic_fetch_add(&r->last, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static s64 hc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void hc_guard_race(void)
{
	static struct hc_guard_race r = { .last = 1ULL << 40 };
	pthread_t t[HC_GUARD_RACE_THREADS];
	unsigned long calls = 0, unrecorded = 0, behind = 0;
	char msg[HC_MSG_LEN];
	s64 end = hc_now_ns() + HC_GUARD_RACE_NS;
	u64 prev = 0;
	unsigned int i, n;

	for (n = 0; n < HC_GUARD_RACE_THREADS; n++)
		if (pthread_create(&t[n], NULL, hc_guard_bumper, &r))
			break;
	while (unrecorded < 3 && hc_now_ns() < end) {
		for (i = 0; i < 1000; i++) {
			u64 out, ns = READ_ONCE(r.last) + (1ULL << 32);
			bool clamped;

			out = hostclock_monotonic_guard(&r.last, ns, &clamped);
			unrecorded += READ_ONCE(r.last) < out;
			behind += out < prev;
			prev = out;
			calls++;
		}
	}
	r.stop = true;
	while (n--)
		pthread_join(t[n], NULL);
	snprintf(msg, sizeof(msg), "%lu calls: %lu returned without being recorded, %lu behind",
		 calls, unrecorded, behind);
	hc_report("guard", "every value returned is recorded, under contention",
		  !unrecorded && !behind && calls > 10000, msg);
}

/*
 * The worst interleaving, made to happen: a child process runs the guard
 * one instruction at a time under ptrace, and after every instruction the
 * parent moves the shared mark on by one, as if another CPU recorded a
 * reading in between, so that every exchange the guard tries loses. After
 * HC_GUARD_STEP_BUMPS instructions the other "CPU" stops. The guard must
 * then win (or be overtaken) and record what it returns; one that gives up
 * after a fixed number of tries returns a value nobody recorded.
 */
#define HC_GUARD_STEP_BUMPS	20000
#define HC_GUARD_STEP_MAX	2000000

struct hc_guard_step {
	u64 last;
	u64 out;
	u64 after;
	volatile int done;
};

static void hc_guard_stepped(void)
{
	struct hc_guard_step *g;
	unsigned long steps = 0;
	char msg[HC_MSG_LEN];
	int status;
	bool ok;
	pid_t pid;

	g = mmap(NULL, sizeof(*g), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g == MAP_FAILED) {
		hc_report("guard", "stepped interleaving", false, "mmap failed");
		return;
	}
	g->last = 1ULL << 40;
	pid = fork();
	if (pid == 0) {
		u64 ns = g->last + (1ULL << 32);
		bool clamped;

		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(2);
		raise(SIGSTOP);
		g->out = hostclock_monotonic_guard(&g->last, ns, &clamped);
		g->after = READ_ONCE(g->last);
		g->done = 1;
		for (;;)
			pause();	/* the parent kills it */
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		hc_report("guard", "stepped interleaving", false, "no traced child");
		if (pid > 0)
			kill(pid, SIGKILL);
		munmap(g, sizeof(*g));
		return;
	}
	while (!g->done && steps < HC_GUARD_STEP_MAX) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) || waitpid(pid, &status, 0) != pid ||
		    !WIFSTOPPED(status))
			break;
		if (++steps <= HC_GUARD_STEP_BUMPS)
			__atomic_fetch_add(&g->last, 1, __ATOMIC_SEQ_CST);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok = g->done && g->after >= g->out && g->out == (1ULL << 40) + (1ULL << 32) &&
	     steps > HC_GUARD_STEP_BUMPS;
	snprintf(msg, sizeof(msg),
		 "%s after %lu instructions: returned %llu, mark %llu (%llu behind)",
		 g->done ? "returned" : "did not return", steps, (unsigned long long)g->out,
		 (unsigned long long)g->after,
		 (unsigned long long)(g->after < g->out ? g->out - g->after : 0));
	hc_report("guard", "every exchange lost for a while: the value returned is recorded",
		  ok, msg);
	munmap(g, sizeof(*g));
}

void hc_suite_core(void)
{
	char msg[HC_MSG_LEN] = "";
	char name[64];
	unsigned int i, j;

	for (i = 0; i < hc_validate_vector_count; i++)
		hc_report("validate", hc_validate_vectors[i].name,
			  hc_check_validate(&hc_validate_vectors[i], msg), msg);
	for (i = 0; i < hc_convert_vector_count; i++)
		hc_report("convert", hc_convert_vectors[i].name,
			  hc_check_convert(&hc_convert_vectors[i], msg), msg);
	for (i = 0; i < hc_leap_vector_count; i++)
		hc_report("leap", hc_leap_vectors[i].name,
			  hc_check_leap(&hc_leap_vectors[i], msg), msg);
	hc_report("leap", "-1 at the end of the range: refused, not 2^63",
		  hc_check_leap_range(msg), msg);
	for (i = 0; i < hc_state_vector_count; i++)
		hc_report("state", hc_state_vectors[i].name,
			  hc_check_state(&hc_state_vectors[i], msg), msg);
	hc_report("state", "names unique and complete", hc_check_state_names(msg), msg);
	hc_report("drift", "known series give known statistics", hc_check_drift(msg), msg);
	for (i = 0; i < hc_change_vector_count; i++)
		hc_report("page changes", hc_change_vectors[i].name,
			  hc_check_change(&hc_change_vectors[i], msg), msg);
	for (i = 0; i < hc_rate_vector_count; i++)
		hc_report("rate bound", hc_rate_vectors[i].name,
			  hc_check_rate(&hc_rate_vectors[i], msg), msg);
	hc_report("rate bound", "calibration and ppb units", hc_check_rate_units(msg), msg);
	hc_report("snapshot tsc", "every clocksource situation",
		  hc_check_snapshot_tsc(msg), msg);
	hc_report("pvclock", "kvm-clock readings back to their TSC",
		  hc_check_pvclock(msg), msg);
	for (i = 0; i < hc_error_vector_count; i++)
		hc_report("error", hc_error_vectors[i].name,
			  hc_check_error(&hc_error_vectors[i], msg), msg);

	hc_report("names", "unique and complete", hc_check_err_names(msg), msg);
	hc_report("snapshot", "round trip", hc_check_snapshot_roundtrip(msg), msg);
	hc_report("snapshot", "seq stuck odd, budget 1",
		  hc_check_snapshot_stuck_odd(1, msg), msg);
	hc_report("snapshot", "seq stuck odd, budget 1024",
		  hc_check_snapshot_stuck_odd(HOSTCLOCK_READ_BUDGET, msg), msg);
	hc_report("snapshot", "budget 0 reads nothing",
		  hc_check_snapshot_stuck_odd(0, msg), msg);

	for (j = 0; j < ARRAY_SIZE(hc_properties); j++) {
		for (i = 0; i < HC_RANDOM_SEEDS; i++) {
			snprintf(name, sizeof(name), "%s, seed %u",
				 hc_properties[j].name, i);
			hc_report("property", name,
				  hc_properties[j].check(0x9e3779b97f4a7c15ULL * (i + 1),
							 hc_properties[j].n, msg),
				  msg);
		}
	}
	hc_guard_race();
	hc_guard_stepped();
}
