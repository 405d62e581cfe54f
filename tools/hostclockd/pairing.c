// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's side of pairing: learning guest TSC - host TSC through the
 * mailbox in page 1 (protocol in include/hostclock/ext_abi.h).
 *
 * The agent raises pair_request and then polls guest_seq cheaply (the main
 * loop calls hcd_pairing_poll() about every millisecond). Once the guest
 * starts an exchange, the agent serves a burst: it spins, answering each
 * exchange with its TSC, for at most burst_ns and burst_max exchanges. Of
 * the burst the exchange with the smallest round trip gives the estimate.
 *
 * Everything the guest writes is untrusted. A burst is served only while
 * the agent's own request is outstanding, at most two per request (one
 * that gave a usable exchange ends it) and each at most 2 ms, so a guest
 * cannot make the agent spin more than 4 ms per request, and requests come
 * about once a second at most (less once paired); exchanges the guest
 * starts unasked are counted and ignored. Each exchange is checked
 * for order (t1 <= t3), round trip, freshness (guest_seq must move forward,
 * so replays are refused) and consistency with the current estimate; every
 * wait is bounded in time. Offsets are guest minus host modulo 2^64, so
 * their arithmetic is done in u64 and only differences are read as signed:
 * no guest value can overflow a signed operation. A hostile guest can make
 * its own mapping worse, never make the agent spin beyond a burst or crash.
 *
 * Across bursts the agent tracks the ratio of the two TSCs (1 under TCG and
 * on KVM without scaling; not 1 after a migration to a host with another TSC
 * rate) by a least-squares fit over HCD_PAIR_HISTORY bursts since the last
 * jump (the first, the newest and the others spread out between), bounded
 * to rates a real CPU could have. Bursts are weighted by their uncertainty
 * (half their round trip, which a preempted guest can make tens of
 * microseconds), and a fit is taken only once its own uncertainty is below
 * HCD_PAIR_SKEW_GOOD: a few quick bursts, one of them slow, must not set a
 * ratio tens of ppm wrong.
 */
#include <math.h>
#include <time.h>

#include "hcd.h"

#define HCD_PAIR_BURST_NS	(2 * 1000 * 1000)	/* spin at most 2 ms */
#define HCD_PAIR_EXCHANGE_NS	(1000 * 1000)		/* guest has 1 ms to finish */
#define HCD_PAIR_IDLE_NS	(500 * 1000)		/* burst ends after 0.5 ms idle */
#define HCD_PAIR_REQUEST_NS	(500ULL * 1000 * 1000)	/* a request lapses after 0.5 s */
#define HCD_PAIR_MAX_RTT	100000			/* ticks: ~40 us at 2.6 GHz */
#define HCD_PAIR_BURST_MAX	16
#define HCD_PAIR_BURSTS_PER_REQUEST 2	/* a preempted guest may retry once */
#define HCD_PAIR_SLACK		256			/* ticks of tolerated wander */
#define HCD_PAIR_JUMP_AFTER	3			/* agreeing outliers to re-learn */
#define HCD_PAIR_MAX_SKEW_SHIFT	10	/* |ratio - 1| < 2^-10 (~977 ppm) */
#define HCD_PAIR_SKEW_TOL_SHIFT	16	/* fitted ratio may be off 2^-16 (~15 ppm) */
#define HCD_PAIR_SKEW_GOOD	0x1p-22L	/* fit taken if its sigma < ~0.24 ppm */
#define HCD_PAIR_REQUEST_GAP_NS	(1000ULL * 1000 * 1000)	/* an adoption asks at most once a second, */
#define HCD_PAIR_ADOPT_GAP_MAX_NS (16ULL * 1000 * 1000 * 1000) /* doubling to 16 s unanswered */

static u64 hcd_mono_ns(void)
{
	return (u64)hcd_clock_ns(CLOCK_MONOTONIC);
}

static u64 hcd_rdtsc_fenced(void)
{
	u64 t;

	__builtin_ia32_lfence();
	t = __builtin_ia32_rdtsc();
	__builtin_ia32_lfence();
	return t;
}

void hcd_pairing_init(struct hcd_pairing *p, struct hostclock_mailbox *mb)
{
	memset(p, 0, sizeof(*p));
	p->mb = mb;
	p->max_rtt = HCD_PAIR_MAX_RTT;
	p->burst_ns = HCD_PAIR_BURST_NS;
	p->burst_max = HCD_PAIR_BURST_MAX;
	p->adopt_gap_ns = HCD_PAIR_REQUEST_GAP_NS;
	p->request = le32_to_cpu(READ_ONCE(mb->pair_request));
	p->last_guest_seq = le32_to_cpu(READ_ONCE(mb->guest_seq));
	p->host_seq = le32_to_cpu(READ_ONCE(mb->host_seq));
	p->host_tsc = le64_to_cpu(READ_ONCE(mb->host_tsc));
}

/**
 * hcd_pairing_request() - ask the guest for a burst of exchanges
 * @p: pairing state
 */
void hcd_pairing_request(struct hcd_pairing *p)
{
	p->request++;
	WRITE_ONCE(p->mb->pair_request, cpu_to_le32(p->request));
	p->outstanding = true;
	p->bursts_left = HCD_PAIR_BURSTS_PER_REQUEST;
	p->requested_ns = hcd_mono_ns();
}

/**
 * hcd_pairing_mailbox_ours() - does the mailbox's agent half hold what the
 *	agent last wrote there?
 * @p: pairing state
 */
bool hcd_pairing_mailbox_ours(const struct hcd_pairing *p)
{
	const struct hostclock_mailbox *mb = p->mb;

	return le32_to_cpu(READ_ONCE(mb->pair_request)) == p->request &&
	       le32_to_cpu(READ_ONCE(mb->host_seq)) == p->host_seq &&
	       le64_to_cpu(READ_ONCE(mb->host_tsc)) == p->host_tsc;
}

/**
 * hcd_pairing_rewrite() - write the mailbox's agent half again, as last
 *	written (a region that came back as zeros)
 * @p: pairing state
 */
void hcd_pairing_rewrite(const struct hcd_pairing *p)
{
	struct hostclock_mailbox *mb = p->mb;

	WRITE_ONCE(mb->host_tsc, cpu_to_le64(p->host_tsc));
	/* as in an exchange: host_tsc before the host_seq it answers */
	smp_wmb();
	WRITE_ONCE(mb->host_seq, cpu_to_le32(p->host_seq));
	WRITE_ONCE(mb->pair_request, cpu_to_le32(p->request));
}

/**
 * hcd_pairing_adopt() - start again in a mailbox another writer filled (a
 *	migration or a snapshot restore copied the source's region over ours)
 * @p: pairing state
 * @map: the mapping, pairing mode
 *
 * The guest's TSC relation to this host is unknown: the mapping is invalid
 * and a new generation, the bursts it was fitted over are dropped. The
 * guest answers a pair_request it has not answered yet and numbers its
 * exchanges on from its own last one, and what the mailbox holds now is the
 * latest of both the copy carried: requests go on from the pair_request
 * found, exchanges are new once past the guest_seq found. A burst is asked
 * for at once, unless a request went out less than a second ago: a guest
 * that rewrites the region in a loop must not get more bursts than it can
 * otherwise (the main loop asks once that second has passed). That second
 * doubles, up to 16 s, each time the request an adoption made was not
 * answered by a burst, and is a second again once one is: a guest that
 * writes its region once a second and answers nothing would otherwise keep
 * a request (a look every millisecond) up half of the time.
 *
 * Return: true if a request was made.
 */
bool hcd_pairing_adopt(struct hcd_pairing *p, struct hcd_tscmap *map)
{
	struct hostclock_mailbox *mb = p->mb;
	u64 now = hcd_mono_ns();

	map->valid = false;
	map->generation++;
	map->offset = 0;
	map->skew = 0;
	map->uncertainty = 0;
	p->npoints = 0;
	p->skew_known = false;
	p->outliers_in_row = 0;
	p->outstanding = false;
	p->request = le32_to_cpu(READ_ONCE(mb->pair_request));
	p->last_guest_seq = le32_to_cpu(READ_ONCE(mb->guest_seq));
	p->host_seq = le32_to_cpu(READ_ONCE(mb->host_seq));
	p->host_tsc = le64_to_cpu(READ_ONCE(mb->host_tsc));
	if ((p->adopt_asked && p->stats.bursts != p->bursts_at_adopt) ||
	    p->adopt_gap_ns < HCD_PAIR_REQUEST_GAP_NS)
		p->adopt_gap_ns = HCD_PAIR_REQUEST_GAP_NS;
	if (p->requested_ns && now - p->requested_ns < p->adopt_gap_ns)
		return false;
	if (p->adopt_asked && p->stats.bursts == p->bursts_at_adopt)
		p->adopt_gap_ns = p->adopt_gap_ns < HCD_PAIR_ADOPT_GAP_MAX_NS / 2 ?
				  2 * p->adopt_gap_ns : HCD_PAIR_ADOPT_GAP_MAX_NS;
	hcd_pairing_request(p);
	p->adopt_asked = true;
	p->bursts_at_adopt = p->stats.bursts;
	return true;
}

/* One exchange the guest has started as number @n: answer it, collect it. */
static bool hcd_pairing_serve(struct hcd_pairing *p, u32 n, u64 *host, s64 *lo,
			      u64 *rtt)
{
	struct hostclock_mailbox *mb = p->mb;
	u64 h, t1, t3, deadline;

	h = hcd_rdtsc_fenced();
	WRITE_ONCE(mb->host_tsc, cpu_to_le64(h));
	/* host_tsc is visible before host_seq says it answers n */
	smp_wmb();
	WRITE_ONCE(mb->host_seq, cpu_to_le32(n));
	p->host_tsc = h;
	p->host_seq = n;

	deadline = hcd_mono_ns() + HCD_PAIR_EXCHANGE_NS;
	while (le32_to_cpu(READ_ONCE(mb->guest_done)) != n) {
		if (hcd_mono_ns() > deadline) {
			p->stats.timeouts++;
			return false;
		}
		cpu_relax();
	}
	/* guest_done is read before the times it vouches for */
	smp_rmb();
	t1 = le64_to_cpu(READ_ONCE(mb->guest_t1));
	t3 = le64_to_cpu(READ_ONCE(mb->guest_t3));
	smp_rmb();
	if (le32_to_cpu(READ_ONCE(mb->guest_seq)) != n) {
		p->stats.rejected_stale++;	/* rewritten under us */
		return false;
	}
	p->stats.exchanges++;
	*host = h;
	return hcd_pairing_check(p, h, t1, t3, lo, rtt);
}

/**
 * hcd_pairing_check() - judge one completed exchange's guest times
 * @p: pairing state (limits, counters)
 * @h: the host TSC the agent answered with
 * @t1: guest TSC before the exchange, as the guest says
 * @t3: guest TSC after it, as the guest says
 * @lo: guest minus host at the exchange, at least (t1 - h, modulo 2^64)
 * @rtt: the round trip, guest ticks
 *
 * Return: true if the exchange may be used.
 */
bool hcd_pairing_check(struct hcd_pairing *p, u64 h, u64 t1, u64 t3, s64 *lo, u64 *rtt)
{
	if (t3 < t1) {
		p->stats.rejected_order++;
		return false;
	}
	if (t3 - t1 > p->max_rtt) {
		p->stats.rejected_rtt++;
		return false;
	}
	*lo = (s64)(t1 - h);
	*rtt = t3 - t1;
	return true;
}

/* |a - b| for offsets modulo 2^64: the short way round */
static u64 hcd_offset_distance(s64 a, s64 b)
{
	u64 d = (u64)a - (u64)b;

	return (s64)d < 0 ? -d : d;
}

/* guest minus host that the mapping predicts at host TSC @h */
static s64 hcd_pairing_predict(const struct hcd_tscmap *map, u64 h)
{
	return (s64)(hcd_tscmap_guest(map, h) - h);
}

/*
 * How far a new estimate at @h may lie from the prediction: both
 * uncertainties, some wander, and the ratio's possible error over the time
 * since the mapping's reference point (wide until a ratio has been fitted).
 */
static u64 hcd_pairing_tolerance(const struct hcd_pairing *p,
				 const struct hcd_tscmap *map, u64 h, u64 unc)
{
	u64 dt = h > map->ref_host ? h - map->ref_host : map->ref_host - h;

	dt >>= p->skew_known ? HCD_PAIR_SKEW_TOL_SHIFT : HCD_PAIR_MAX_SKEW_SHIFT;
	return unc + map->uncertainty + HCD_PAIR_SLACK + dt;
}

/*
 * Make room in a full history. The ratio is told by the span, so the oldest
 * point (since the last jump) stays, and so does the newest: of the others,
 * the one whose neighbours are closest goes. Bursts crowded together (a
 * module loaded again and again) thin out, and the span keeps growing.
 */
static void hcd_pairing_thin(struct hcd_pairing *p)
{
	unsigned int i, drop = 1;
	u64 gap, best = U64_MAX;

	for (i = 1; i + 1 < p->npoints; i++) {
		gap = p->points[i + 1].host - p->points[i - 1].host;
		if (gap < best) {
			best = gap;
			drop = i;
		}
	}
	memmove(p->points + drop, p->points + drop + 1,
		(p->npoints - drop - 1) * sizeof(p->points[0]));
	p->npoints--;
}

/*
 * Remember an accepted burst and fit the ratio over the history: weighted
 * least squares of offset over host TSC, each burst weighted by 1/unc^2.
 * Taking unc as the burst's standard deviation, the slope's is
 * 1/sqrt(sum w (x - mean x)^2); when the bursts scatter about the line more
 * than their uncertainties say (chi^2 per degree of freedom over 1: one
 * burst off by more than its round trip explains), that is scaled up to
 * match. The fit is taken when the result is below HCD_PAIR_SKEW_GOOD, and
 * then the mapping's reference point moves to @h on the fitted line.
 */
static void hcd_pairing_fit(struct hcd_pairing *p, struct hcd_tscmap *map,
			    u64 h, s64 est, u64 unc)
{
	long double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, chi2 = 0, mx, my, vx, slope;
	const struct hcd_pair_point *o = &p->points[0];
	unsigned int i;

	if (p->npoints == HCD_PAIR_HISTORY)
		hcd_pairing_thin(p);
	p->points[p->npoints].host = h;
	p->points[p->npoints].offset = est;
	p->points[p->npoints].unc = unc;
	p->npoints++;
	map->ref_host = h;
	map->offset = est;
	map->uncertainty = unc;

	if (p->npoints < 2)
		return;
	for (i = 0; i < p->npoints; i++) {
		long double x = (long double)(p->points[i].host - o->host);
		long double y = (long double)(s64)((u64)p->points[i].offset - (u64)o->offset);
		long double u = (long double)p->points[i].unc;
		long double w = 1.0L / (u * u);

		sw += w;
		sx += w * x;
		sy += w * y;
		sxx += w * x * x;
		sxy += w * x * y;
	}
	mx = sx / sw;
	my = sy / sw;
	vx = sxx - sw * mx * mx;	/* sum w (x - mean x)^2 */
	if (!(vx > 0)) {
		p->stats.loose_skew++;
		return;
	}
	slope = (sxy - sw * mx * my) / vx;
	for (i = 0; i < p->npoints; i++) {
		long double x = (long double)(p->points[i].host - o->host);
		long double y = (long double)(s64)((u64)p->points[i].offset - (u64)o->offset);
		long double u = (long double)p->points[i].unc;
		long double r = (y - my - slope * (x - mx)) / u;

		chi2 += r * r;
	}
	if (p->npoints > 2 && chi2 > p->npoints - 2)
		vx /= chi2 / (p->npoints - 2);
	if (1.0L / sqrtl(vx) >= HCD_PAIR_SKEW_GOOD) {
		p->stats.loose_skew++;
		return;
	}
	if (!(fabsl(slope) < ldexpl(1.0L, -HCD_PAIR_MAX_SKEW_SHIFT))) {
		p->stats.rejected_skew++;	/* not a ratio any CPU has */
		return;
	}
	map->skew = (s64)llroundl(ldexpl(slope, HCD_SKEW_SHIFT));
	map->offset = (s64)((u64)o->offset +
			    (u64)llroundl(my + slope * ((long double)(h - o->host) - mx)));
	p->skew_known = true;
	p->stats.skew_fits++;
}

/* A new relation (first contact, or a jump): history starts again. */
static void hcd_pairing_restart(struct hcd_pairing *p, struct hcd_tscmap *map,
				u64 h, s64 est, u64 unc)
{
	map->valid = true;
	map->generation++;
	p->npoints = 0;
	p->skew_known = false;
	p->outliers_in_row = 0;
	p->stats.accepted++;
	hcd_pairing_fit(p, map, h, est, unc);
}

/**
 * hcd_pairing_update() - fold a burst's best exchange into the mapping
 * @p: pairing state
 * @map: the mapping
 * @h: host TSC of the exchange
 * @lo: the guest's first TSC minus @h's counterpart, ticks
 * @rtt: the exchange's round trip, ticks
 *
 * Called by hcd_pairing_poll(); exposed so that tests can feed bursts.
 *
 * Return: 1 if @map was updated, 0 if the burst was held as an outlier.
 */
int hcd_pairing_update(struct hcd_pairing *p, struct hcd_tscmap *map,
		       u64 h, s64 lo, u64 rtt)
{
	u64 unc = rtt / 2 + 1;
	s64 est = (s64)((u64)lo + rtt / 2);
	u64 diff;

	p->stats.last_rtt = rtt;
	if (!map->valid) {
		hcd_pairing_restart(p, map, h, est, unc);
		return 1;
	}

	diff = hcd_offset_distance(est, hcd_pairing_predict(map, h));
	if (diff <= hcd_pairing_tolerance(p, map, h, unc)) {
		p->outliers_in_row = 0;
		p->stats.accepted++;
		hcd_pairing_fit(p, map, h, est, unc);
		return 1;
	}

	/*
	 * Far from the prediction: a broken relation (migration, restore) or a
	 * guest feeding nonsense. Re-learn only when several bursts in a row
	 * agree on the new value.
	 */
	p->stats.rejected_outlier++;
	if (p->outliers_in_row) {
		u64 d = hcd_offset_distance(est, p->pending_offset);

		if (d > unc + p->pending_uncertainty + HCD_PAIR_SLACK +
			((h - p->pending_host) >> HCD_PAIR_MAX_SKEW_SHIFT))
			p->outliers_in_row = 0;
	}
	p->pending_offset = est;
	p->pending_uncertainty = unc;
	p->pending_host = h;
	if (++p->outliers_in_row < HCD_PAIR_JUMP_AFTER)
		return 0;
	p->stats.jumps++;
	hcd_pairing_restart(p, map, h, est, unc);
	return 1;
}

/**
 * hcd_pairing_poll() - serve the guest if it has started exchanges
 * @p: pairing state
 * @map: the mapping to refine; mode pairing
 *
 * Cheap when the guest is idle: one load. When guest_seq has moved while a
 * request is outstanding, serves a burst, bounded by time and count, and
 * folds its best exchange into @map; without a request, notes the move and
 * serves nothing.
 *
 * Return: 1 if @map was updated, 0 if nothing happened, -1 if a burst gave
 * no usable exchange.
 */
int hcd_pairing_poll(struct hcd_pairing *p, struct hcd_tscmap *map)
{
	struct hostclock_mailbox *mb = p->mb;
	u64 start, last_activity, best_rtt = U64_MAX, best_host = 0;
	unsigned int served = 0;
	s64 best_lo = 0;
	u32 seq;

	if (p->outstanding && hcd_mono_ns() - p->requested_ns > HCD_PAIR_REQUEST_NS)
		p->outstanding = false;

	seq = le32_to_cpu(READ_ONCE(mb->guest_seq));
	if (seq == p->last_guest_seq)
		return 0;
	if (!p->outstanding) {
		p->stats.unsolicited++;
		p->last_guest_seq = seq;
		return 0;
	}

	p->stats.bursts++;
	start = hcd_mono_ns();
	last_activity = start;
	while (served < p->burst_max) {
		u64 now = hcd_mono_ns(), rtt, host;
		s64 lo;

		if (now - start > p->burst_ns || now - last_activity > HCD_PAIR_IDLE_NS)
			break;
		seq = le32_to_cpu(READ_ONCE(mb->guest_seq));
		if (seq == p->last_guest_seq) {
			cpu_relax();
			continue;
		}
		/* Exchange numbers only move forward: anything else is a replay. */
		if ((s32)(seq - p->last_guest_seq) < 0) {
			p->stats.rejected_stale++;
			p->last_guest_seq = seq;
			continue;
		}
		/* smp_rmb pairs with the guest's barrier before raising guest_seq */
		smp_rmb();
		p->last_guest_seq = seq;
		served++;
		last_activity = hcd_mono_ns();
		if (hcd_pairing_serve(p, seq, &host, &lo, &rtt) && rtt < best_rtt) {
			best_rtt = rtt;
			best_lo = lo;
			best_host = host;
		}
	}
	/* answered; or, with no usable exchange, a few more tries at most */
	if (best_rtt != U64_MAX || !--p->bursts_left)
		p->outstanding = false;
	if (best_rtt == U64_MAX)
		return -1;
	return hcd_pairing_update(p, map, best_host, best_lo, best_rtt);
}
