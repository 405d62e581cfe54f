// SPDX-License-Identifier: GPL-2.0
/*
 * The "hostclock" clocksource: nanoseconds from the TSC on a line whose
 * rate is the host-calibrated period of the page.
 *
 * One clocksource for the module, fed by the first instance that has a
 * usable clock. Each new page generation rebases the line at the current
 * TSC onto the page's period: continuous to a fraction of a nanosecond, and
 * from there running at the host's rate, so a host NTP slew or a migration
 * to a host with another TSC rate reaches the guest within a poll interval.
 * Host time steps never reach the line; absolute time goes through the PTP
 * clock. When the page goes bad the line keeps its last rate. The page's
 * rate is taken only within max_rate_offset_ppm of the guest's own TSC
 * calibration (tsc_khz), and at most HOSTCLOCK_CS_RATE_STEP_PPM of it per
 * page: one bad page cannot set the speed of CLOCK_MONOTONIC.
 *
 * read() takes the line from a two-copy latch, so it never waits for the
 * (rare) writer and is safe from any context; the read path is notrace, as
 * the tracing clocks read the clocksource.
 *
 * The clocksource is MUST_VERIFY: the kernel's watchdog checks it against
 * another clocksource and never picks it as a watchdog, for it would watch
 * the TSC it is derived from, and a host slew could then make the kernel
 * mark the TSC unstable.
 *
 * Unload: the owner is this module, so the timekeeper pins the module
 * while the clocksource is current, and rmmod fails (EBUSY) until another
 * is selected. A task preempted inside read() can outlive the switch away
 * and the RCU grace period of the unload; after unregistering, exit waits
 * for every task to pass a voluntary context switch (RCU Tasks). A
 * preemptible kernel without RCU Tasks cannot wait for that: there the
 * module pins itself at the first registration, for good.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/clocksource.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/ktime.h>
#include <linux/rcupdate.h>
#include <linux/timekeeping.h>
#include <asm/pvclock.h>
#include <asm/kvmclock.h>
#include <asm/tsc.h>

#include "hostclock.h"
#include "hostclock_compat.h"

/* 1 GHz: read() returns nanoseconds; below tsc's 300 unless asked */
static int hostclock_cs_rating = 100;
module_param_named(rating, hostclock_cs_rating, int, 0444);
MODULE_PARM_DESC(rating,
		 "clocksource rating (default 100: never chosen over tsc by the kernel; above 400 it becomes current at once)");

/*
 * 500 ppm: the host's calibration of the guest TSC may differ from the
 * guest's own by the two calibrations' errors (each tens of ppm at most on
 * a refined or hypervisor-given tsc_khz) and the host clock's frequency
 * correction, which NTP bounds at 500 ppm. It also keeps the line within
 * the watchdog's margin against the TSC (about 800 ppm on 6.1 and 6.12).
 */
static unsigned int hostclock_cs_max_offset_ppm = 500;

static int hostclock_cs_set_ppm(const char *val, const struct kernel_param *kp)
{
	unsigned int ppm;
	int ret = kstrtouint(val, 0, &ppm);

	if (ret)
		return ret;
	if (ppm > 100000)
		return -ERANGE;
	WRITE_ONCE(*(unsigned int *)kp->arg, ppm);
	return 0;
}

static const struct kernel_param_ops hostclock_cs_ppm_ops = {
	.set = hostclock_cs_set_ppm,
	.get = param_get_uint,
};
module_param_cb(max_rate_offset_ppm, &hostclock_cs_ppm_ops, &hostclock_cs_max_offset_ppm, 0644);
MODULE_PARM_DESC(max_rate_offset_ppm,
		 "refuse a page rate further than this from the guest's TSC calibration, 0..100000, 0: no bound (default 500)");

/* The most one page moves the line's rate, relative to the rate it had. */
#define HOSTCLOCK_CS_RATE_STEP_PPM	100

static bool hostclock_cs_force_guard;
module_param_named(monotonic_guard, hostclock_cs_force_guard, bool, 0644);
MODULE_PARM_DESC(monotonic_guard,
		 "guard monotonicity across CPUs even when the kernel trusts the TSC (default off)");

/* Readers take line[seq & 1]; the writer updates the other copy first. */
static struct {
	unsigned int seq;
	struct hostclock_line line[2];
} hostclock_latch ____cacheline_aligned;

static u64 hostclock_cs_last;		/* the guard's shared high-water mark */
static atomic64_t hostclock_cs_clamp_count = ATOMIC64_INIT(0);
static bool hostclock_cs_active;	/* current clocksource, per enable() */
static u64 hostclock_cs_suspend_ns;

/* Under hostclock_cs_mutex: registration, the feeding instance, writes. */
static DEFINE_MUTEX(hostclock_cs_mutex);
static bool hostclock_cs_registered;
static struct hostclock_dev *hostclock_cs_owner;
static u32 hostclock_cs_fed_seq;

static notrace const struct hostclock_line *hostclock_cs_line(unsigned int seq)
{
	return &hostclock_latch.line[seq & 1];
}

/*
 * Publish @next as the line; interrupts must be off, so that nothing on
 * this CPU (suspend's syscore path included) sees a half-written copy.
 */
static void hostclock_cs_publish_locked(const struct hostclock_line *next)
{
	WRITE_ONCE(hostclock_latch.seq, hostclock_latch.seq + 1);
	smp_wmb();	/* readers move to line[1] before line[0] changes */
	hostclock_latch.line[0] = *next;
	smp_wmb();	/* line[0] is complete before readers are sent to it */
	WRITE_ONCE(hostclock_latch.seq, hostclock_latch.seq + 1);
	smp_wmb();	/* readers move to line[0] before line[1] changes */
	hostclock_latch.line[1] = *next;
}

static void hostclock_cs_publish(const struct hostclock_line *next)
{
	unsigned long flags;

	local_irq_save(flags);
	hostclock_cs_publish_locked(next);
	local_irq_restore(flags);
}

/*
 * Continue the current line at a new rate from now. Reading the line,
 * rebasing it and publishing happen with interrupts off, so a suspend
 * (whose resume restarts the line) cannot fall in between.
 */
static void hostclock_cs_rebase(u64 mult)
{
	struct hostclock_line line;
	unsigned long flags;

	local_irq_save(flags);
	line = *hostclock_cs_line(READ_ONCE(hostclock_latch.seq));
	if (line.mult != mult) {
		hostclock_line_rebase(&line, rdtsc_ordered(), mult);
		hostclock_cs_publish_locked(&line);
	}
	local_irq_restore(flags);
}

/* The line's value now. */
static notrace u64 hostclock_cs_now(void)
{
	const struct hostclock_line *line;
	unsigned int seq;
	u64 ns;

	do {
		seq = READ_ONCE(hostclock_latch.seq);
		smp_rmb();	/* the copy is read after the sequence */
		line = hostclock_cs_line(seq);
		/* rdtsc_ordered: not before the sequence load */
		ns = hostclock_line_ns(line, rdtsc_ordered());
		smp_rmb();	/* the copy is read before the re-check */
	} while (unlikely(READ_ONCE(hostclock_latch.seq) != seq));
	return ns;
}

static notrace u64 hostclock_cs_read(struct clocksource *cs)
{
	u64 ns = hostclock_cs_now();
	bool clamped;

	/* the kernel's own verdict on TSC synchronisation decides */
	if (unlikely(hostclock_cs_force_guard || check_tsc_unstable())) {
		ns = hostclock_monotonic_guard(&hostclock_cs_last, ns, &clamped);
		if (clamped)
			atomic64_inc(&hostclock_cs_clamp_count);
	}
	return ns;
}

static int hostclock_cs_enable(struct clocksource *cs)
{
	WRITE_ONCE(hostclock_cs_active, true);
	return 0;
}

static void hostclock_cs_disable(struct clocksource *cs)
{
	WRITE_ONCE(hostclock_cs_active, false);
}

/*
 * Suspend and resume run on one CPU with interrupts off. The TSC may have
 * been reset meanwhile, so resume starts the line afresh where it stopped;
 * timekeeping accounts for the sleep itself.
 */
static void hostclock_cs_suspend(struct clocksource *cs)
{
	hostclock_cs_suspend_ns = hostclock_cs_now();
}

static void hostclock_cs_resume(struct clocksource *cs)
{
	struct hostclock_line line = *hostclock_cs_line(READ_ONCE(hostclock_latch.seq));

	/* interrupts are already off here */
	hostclock_line_start(&line, rdtsc_ordered(), hostclock_cs_suspend_ns, line.mult);
	hostclock_cs_publish_locked(&line);
	WRITE_ONCE(hostclock_cs_last, hostclock_cs_suspend_ns);
}

static struct clocksource hostclock_clocksource = {
	.name		= "hostclock",
	.read		= hostclock_cs_read,
	.mask		= CLOCKSOURCE_MASK(64),
	.flags		= CLOCK_SOURCE_IS_CONTINUOUS | CLOCK_SOURCE_MUST_VERIFY,
	.enable		= hostclock_cs_enable,
	.disable	= hostclock_cs_disable,
	.suspend	= hostclock_cs_suspend,
	.resume		= hostclock_cs_resume,
	.owner		= THIS_MODULE,
};

/*
 * A task preempted inside read() is not waited for by stop_machine or by
 * the unload's RCU grace period; RCU Tasks waits for it. Without RCU Tasks
 * a preemptible kernel gives no way to wait, and the module stays.
 */
static void hostclock_cs_pin_if_unsafe(void)
{
	static bool pinned;

	if (!IS_ENABLED(CONFIG_PREEMPTION) || IS_ENABLED(CONFIG_TASKS_RCU) || pinned)
		return;
	__module_get(THIS_MODULE);
	pinned = true;
	pr_warn("preemptible kernel without RCU Tasks: a preempted clocksource reader cannot be waited for, so the module stays loaded until reboot\n");
}

/**
 * hostclock_cs_feed() - an instance has a usable page
 * @hc: the instance
 * @clk: its page, validated, with a usable status
 *
 * The first instance to feed owns the clocksource; its first page
 * registers it, each later generation rebases the line onto the page's
 * period, within the bounds of hostclock_rate_bound().
 *
 * Return: HOSTCLOCK_RATE_OK, or HOSTCLOCK_RATE_REFUSED or _LIMITED for a
 * new page of the owner whose rate was refused or taken in part.
 */
int hostclock_cs_feed(struct hostclock_dev *hc, const struct hostclock_clock *clk)
{
	u64 mult = hostclock_period_to_mult(clk->counter_period_frac_sec,
					    clk->counter_period_shift);
	u64 ref = hostclock_khz_to_mult(READ_ONCE(tsc_khz)), cur, use;
	struct hostclock_line line;
	int ret, verdict = HOSTCLOCK_RATE_OK;

	/* a validated period always gives a usable rate; be sure anyway */
	if (!mult || mult == U64_MAX)
		return verdict;

	mutex_lock(&hostclock_cs_mutex);
	if (!hostclock_cs_owner) {
		hostclock_cs_owner = hc;
		hostclock_cs_fed_seq = clk->seq_count - 1;
		dev_info(hc->dev, "%s: feeds the hostclock clocksource\n", hc->name);
	}
	if (hostclock_cs_owner != hc || hostclock_cs_fed_seq == clk->seq_count)
		goto out;
	hostclock_cs_fed_seq = clk->seq_count;

	cur = hostclock_cs_registered ? hostclock_cs_line(READ_ONCE(hostclock_latch.seq))->mult : 0;
	verdict = hostclock_rate_bound(mult, ref, cur, READ_ONCE(hostclock_cs_max_offset_ppm),
				       HOSTCLOCK_CS_RATE_STEP_PPM, &use);
	if (verdict == HOSTCLOCK_RATE_REFUSED)
		goto out;

	if (!hostclock_cs_registered) {
		hostclock_line_start(&line, rdtsc_ordered(), ktime_get_raw_ns(), use);
		hostclock_cs_publish(&line);
		hostclock_clocksource.rating = hostclock_cs_rating;
		ret = clocksource_register_hz(&hostclock_clocksource, NSEC_PER_SEC);
		if (ret) {
			dev_err(hc->dev, "clocksource registration failed: %d\n", ret);
			goto out;
		}
		hostclock_cs_registered = true;
		hostclock_cs_pin_if_unsafe();
		pr_info("clocksource registered; while it is current, rmmod fails with EBUSY: select another first (echo tsc > /sys/devices/system/clocksource/clocksource0/current_clocksource)\n");
		goto out;
	}

	/* where the readers are now, continued at the new rate */
	hostclock_cs_rebase(use);
out:
	mutex_unlock(&hostclock_cs_mutex);
	return verdict;
}

/**
 * hostclock_cs_forget() - an instance goes away
 * @hc: the instance
 *
 * If it fed the clocksource, the line keeps its rate until another
 * instance with a usable page feeds it.
 */
void hostclock_cs_forget(struct hostclock_dev *hc)
{
	mutex_lock(&hostclock_cs_mutex);
	if (hostclock_cs_owner == hc)
		hostclock_cs_owner = NULL;
	mutex_unlock(&hostclock_cs_mutex);
}

/*
 * kvm-clock's page of this CPU, and its version before a clocksource read.
 * The page's values count only if that version still holds after the
 * read: KVM rewrites a vCPU's page on a VM exit, which may fall inside the
 * read, and the values must be the ones the read used.
 */
struct hostclock_cs_pv {
#ifdef CONFIG_KVM_GUEST
	const struct pvclock_vcpu_time_info *src;
	unsigned int version;
#endif
};

/* Before the read, with preemption off: this CPU's page, if kvmclock set one up. */
static void hostclock_cs_pv_begin(struct hostclock_cs_pv *pv)
{
#ifdef CONFIG_KVM_GUEST
	pv->src = this_cpu_hvclock() ? this_cpu_pvti() : NULL;
	if (pv->src)
		pv->version = pvclock_read_begin(pv->src);
#endif
}

/* After the read: the page's values, if unchanged since hostclock_cs_pv_begin(). */
static bool hostclock_cs_pv_end(const struct hostclock_cs_pv *pv, struct hostclock_pvclock *out)
{
#ifdef CONFIG_KVM_GUEST
	if (!pv->src)
		return false;
	out->tsc_timestamp = READ_ONCE(pv->src->tsc_timestamp);
	out->system_time = READ_ONCE(pv->src->system_time);
	out->tsc_to_system_mul = READ_ONCE(pv->src->tsc_to_system_mul);
	out->tsc_shift = READ_ONCE(pv->src->tsc_shift);
	return !pvclock_read_retry(pv->src, pv->version);
#else
	return false;
#endif
}

/**
 * hostclock_cs_tsc_of_snapshot() - the TSC behind a clocksource reading
 * @cycles: what a system time snapshot read from the current clocksource
 * @tsc_lo: TSC read just before the snapshot
 * @tsc_hi: TSC read just after it
 * @pv: kvm-clock's page as it was before @tsc_lo
 * @tsc: the TSC value the snapshot's times belong to
 *
 * Each clocksource that is a function of the TSC is a candidate: tsc
 * itself, the hostclock line (only while hostclock is current) and
 * kvm-clock's pvclock mapping. See hostclock_snapshot_tsc() and
 * hostclock_pvclock_tsc_of(): a candidate counts only if it puts @cycles
 * inside the bracket, which is what keeps a candidate that was not the
 * current clocksource from being taken. Called with preemption off.
 *
 * Return: true if @tsc was found.
 */
static bool hostclock_cs_tsc_of_snapshot(u64 cycles, u64 tsc_lo, u64 tsc_hi,
					 const struct hostclock_cs_pv *pv, u64 *tsc)
{
	struct hostclock_pvclock pvclock;
	struct hostclock_line line;
	unsigned int seq;

	if (READ_ONCE(hostclock_cs_active)) {
		seq = READ_ONCE(hostclock_latch.seq);
		smp_rmb();	/* pairs with the writer's, as in read() */
		line = *hostclock_cs_line(seq);
		smp_rmb();	/* the copy is read before the re-check */
		if (READ_ONCE(hostclock_latch.seq) == seq &&
		    hostclock_snapshot_tsc(&line, cycles, tsc_lo, tsc_hi, tsc))
			return true;
	}
	if (hostclock_snapshot_tsc(NULL, cycles, tsc_lo, tsc_hi, tsc))
		return true;
	return hostclock_cs_pv_end(pv, &pvclock) &&
	       hostclock_pvclock_tsc_of(&pvclock, cycles, tsc_lo, tsc_hi, tsc);
}

/* Snapshots tried for an exact answer, then for the narrowest bracket. */
#define HOSTCLOCK_CS_SNAPSHOT_TRIES	3

/**
 * hostclock_cs_snapshot() - a system time snapshot and the TSC it was taken at
 * @clock: the system clock wanted beside MONOTONIC_RAW
 * @snap: from hostclock_get_snapshot(), which reads the current clocksource once
 * @tsc: the TSC value behind that read
 * @bracket: 0 when @tsc is exact; otherwise the most, in TSC ticks, that
 *	@tsc can be from the read
 *
 * For the PTP clock's zero-width brackets and cross-timestamps and for the
 * drift sampler: system time and TSC from the same counter read. With a
 * clocksource that is no function of the TSC (hpet, acpi_pm), or a
 * reading no candidate explains, the read lies somewhere between the two
 * TSC reads around it; the narrowest of a few such brackets gives @tsc as
 * its middle and half its width as @bracket.
 *
 * Return: HOSTCLOCK_SNAP_EXACT, HOSTCLOCK_SNAP_BRACKETED, or
 * HOSTCLOCK_SNAP_NONE when this kernel cannot snapshot @clock or the TSC
 * ran backwards across every try.
 */
enum hostclock_snap hostclock_cs_snapshot(clockid_t clock, struct system_time_snapshot *snap,
					  u64 *tsc, u64 *bracket)
{
	struct system_time_snapshot attempt;
	struct hostclock_cs_pv pv;
	u64 lo, hi, width = U64_MAX;
	unsigned int i;
	bool valid, exact;

	for (i = 0; i < HOSTCLOCK_CS_SNAPSHOT_TRIES; i++) {
		/* one CPU for the bracket, the read and its pvclock values */
		preempt_disable();
		hostclock_cs_pv_begin(&pv);
		lo = rdtsc_ordered();
		valid = hostclock_get_snapshot(clock, &attempt);
		hi = rdtsc_ordered();
		exact = valid && hostclock_cs_tsc_of_snapshot(attempt.cycles, lo, hi, &pv, tsc);
		preempt_enable();
		if (!valid)
			return HOSTCLOCK_SNAP_NONE;
		if (exact) {
			*snap = attempt;
			*bracket = 0;
			return HOSTCLOCK_SNAP_EXACT;
		}
		if (hi >= lo && hi - lo < width) {
			width = hi - lo;
			*snap = attempt;
			*tsc = lo + width / 2;
		}
	}
	if (width == U64_MAX)
		return HOSTCLOCK_SNAP_NONE;
	*bracket = width - width / 2;
	return HOSTCLOCK_SNAP_BRACKETED;
}

/**
 * hostclock_cs_clamps() - readings the monotonic guard raised
 *
 * Return: the count since load.
 */
u64 hostclock_cs_clamps(void)
{
	return atomic64_read(&hostclock_cs_clamp_count);
}

int hostclock_cs_init(void)
{
	if (hostclock_cs_rating < 1 || hostclock_cs_rating > 499) {
		pr_err("rating %d out of range 1..499\n", hostclock_cs_rating);
		return -EINVAL;
	}
	return 0;
}

/* How long exit waits between tries to unregister a clocksource in use. */
#define HOSTCLOCK_CS_UNREGISTER_RETRY_MS	1000

/**
 * hostclock_cs_exit() - unregister the clocksource, if registered
 *
 * Called at module exit and on a failed init. The timekeeper pins the
 * module while the clocksource is current, and the clocksource is never a
 * watchdog, so clocksource_unregister() has nothing to refuse here; should
 * it refuse all the same, freeing the module would leave the kernel
 * calling freed code, and exit cannot fail: it waits, retrying, and says
 * why. Then it waits out readers preempted inside read().
 */
void hostclock_cs_exit(void)
{
	unsigned int tries = 0;
	int ret;

	mutex_lock(&hostclock_cs_mutex);
	if (hostclock_cs_registered) {
		/* switches the kernel to another clocksource first */
		while ((ret = clocksource_unregister(&hostclock_clocksource))) {
			if (!tries++)
				pr_err("clocksource still in use (%d): cannot unload until the kernel lets it go; retrying\n",
				       ret);
			msleep(HOSTCLOCK_CS_UNREGISTER_RETRY_MS);
		}
		if (tries)
			pr_info("clocksource unregistered after %u tries\n", tries + 1);
		hostclock_cs_registered = false;
		if (IS_ENABLED(CONFIG_TASKS_RCU))
			synchronize_rcu_tasks();
	}
	hostclock_cs_owner = NULL;
	mutex_unlock(&hostclock_cs_mutex);
}
