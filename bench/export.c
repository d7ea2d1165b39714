/* export.c -- the export scenario: how many flow records per second a
 * collector takes without losing any, weir against nfcapd, nfacctd and
 * sfacctd.
 *
 * Three streams (export_stream.c: NetFlow v9 and IPFIX from softflowd,
 * sFlow v5 from pmacctd's sfprobe) are replayed from memory over loopback
 * UDP (export_send.c) at a rising paced rate, 25k records/s then
 * x sqrt(2) per step, 1 s each (--quick: from 400k, or from 50k for a
 * collector lossy at 400k, x2, 0.4 s, and after the first lossy step the
 * one x sqrt(2) below it). Each collector (export_peers.c)
 * takes the very same steps: weir for all three streams, nfcapd and
 * nfacctd for v9 and IPFIX (--quick: not nfacctd, which is in no ratio),
 * sfacctd for sFlow. A step
 * is lossless when
 *   - the kernel dropped nothing on the collector's socket,
 *   - the collector dropped nothing it counts itself (weir: the ring of a
 *     stuck worker, too big, decode errors, flow updates its control
 *     thread never saw; sfacctd: "missing data" in its log),
 *   - it accounted every record sent (weir also every datagram); sfacctd
 *     skips the odd non-IP sample, so a shortfall of one record per pass
 *     over the stream, or 0.01%, is allowed; nfacctd never accounts a few
 *     records of the v9 stream at any rate, so the shortfall of one slow
 *     pass, measured before its first sweep of a stream (calibrate()), is
 *     allowed per pass instead of one,
 *   - and it kept up: over the last quarter of the step its socket's queue
 *     went below 256 KiB at least once. Without this a 64 MiB socket
 *     buffer would hide a collector slower than the sender for a whole
 *     short step.
 * The sweep stops one step after the first lossy one (--quick: after the
 * step between it and the last lossless one), or at a lossless step whose
 * sender fell short of the offered rate by a fifth. The highest lossless
 * rate is the achieved rate of the fastest lossless step offered below
 * every lossy one; then one unpaced run (2 s, --quick 0.5 s) gives the
 * loss at full speed.
 *
 * Fairness: every socket gets 32 MiB (64 MiB as the kernel counts it).
 * weir forces it; for nfcapd (-B) and sfacctd (sfacctd_pipe_size), which
 * ask with plain SO_RCVBUF, net.core.rmem_max is raised to 32 MiB for the
 * length of the scenario and put back after. Each sweep step is written to
 * CACHE/export-sweep.tsv for bench/export-sweep.gp. */
#define _GNU_SOURCE
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "export.h"

#define START_RATE 25000.0
#define QUICK_START_RATE 400000.0	/* every collector here takes it; one that does not starts over */
#define MAX_RATE 26e6
#define BACKLOG_MAX (256u << 10)

struct sweep_out {
	double lossless;               /* records/s, 0: none */
	int lower_bound;               /* never lossy: the sender's ceiling was reached */
	double full_loss_pct, full_sent;
	int ok;
};

static FILE *tsv;

static int
step_ok(const struct bench_collector *c, const struct bench_stream *s, const struct bench_sent *sent,
	const struct bench_recv *r)
{
	double passes = (double)sent->records / (double)(s->records ? s->records : 1);
	uint64_t skip = c->skip_per_pass[s->kind] ? c->skip_per_pass[s->kind] : 1;
	double tol = fmax(ceil(passes) * (double)skip, 1e-4 * (double)sent->records);
	if (r->kernel_drops || r->app_drops > 0)
		return 0;
	if ((double)r->records + tol < (double)sent->records)
		return 0;
	if (r->dgrams >= 0 && (uint64_t)r->dgrams < sent->dgrams)
		return 0;
	return sent->rxq_tail <= BACKLOG_MAX;
}

static int
one_step(struct bench_collector *c, const struct bench_stream *s, double rate, double secs,
	 struct bench_sent *sent, struct bench_recv *r)
{
	if (bench_collector_begin(c, s) != 0)
		return -1;
	if (bench_send(s, c->port, rate, secs, sent) != 0) {
		bench_collector_end(c, s, sent, r);
		return -1;
	}
	return bench_collector_end(c, s, sent, r);
}

struct step_rec {
	double rate, achieved, taken, loss_pct, settle_ms;
	uint64_t backlog, kdrops, own, a_ms, b_ms;
	int ok;
};

/* weir: charge each published rise of its own drop counters to the step
 * that overlaps the time between the two samples around it. The sweep
 * waits for a sample between every two steps, so there is one such step
 * (were there several, the fastest would be charged). */
static void
judge(const struct bench_collector *c, const struct bench_stream *s, struct step_rec *st, unsigned int n,
      double step_s)
{
	for (unsigned int i = 1; i < c->n_sam; i++) {
		if (c->sam_d[i] <= c->sam_d[i - 1])
			continue;
		for (unsigned int j = n; j-- > 0;) {
			if (st[j].a_ms <= c->sam_t[i] && st[j].b_ms >= c->sam_t[i - 1]) {
				st[j].own += c->sam_d[i] - c->sam_d[i - 1];
				break;
			}
		}
	}
	double per = (double)s->records / (double)s->n;
	for (unsigned int j = 0; j < n; j++) {
		if (!st[j].own || !st[j].ok)
			continue;
		st[j].ok = 0;
		st[j].loss_pct = fmax(st[j].loss_pct, 100.0 * fmin(1, (double)st[j].own * per /
								    (st[j].achieved * step_s)));
		st[j].taken = st[j].achieved * (1 - st[j].loss_pct / 100);
		bench_progress("  export %s -> weir: the %.0fk rec/s step: %llu datagrams dropped by weir itself "
			       "(ring of a stuck worker, too big, decode error): LOSSY", s->name, st[j].rate / 1e3,
			       (unsigned long long)st[j].own);
	}
}

/* One pass over the stream in two seconds, far below any collector's
 * limit: what the collector still does not account is its decoder's, not
 * a loss to rate, and the sweep allows that much per pass. Kept only if
 * the pass was otherwise clean and the shortfall under 0.1%. */
static void
calibrate(struct bench_collector *c, const struct bench_stream *s)
{
	struct bench_sent sent;
	struct bench_recv r;
	c->calibrated[s->kind] = 1;
	if (one_step(c, s, (double)s->records / 2.0, 2.0, &sent, &r) != 0)
		return;
	uint64_t miss = sent.records > r.records ? sent.records - r.records : 0;
	double passes = fmax(1, round((double)sent.records / (double)s->records));
	if (r.kernel_drops || r.app_drops > 0 || miss > s->records / 1000) {
		bench_note("export %s -> %s: the slow calibration pass lost %llu of %llu records (kernel drops %llu): "
			   "not taken as its decoder's skip", s->name, c->name, (unsigned long long)miss,
			   (unsigned long long)sent.records, (unsigned long long)r.kernel_drops);
		return;
	}
	c->skip_per_pass[s->kind] = (uint64_t)ceil((double)miss / passes);
	if (miss)
		bench_note("export %s -> %s: accounts %llu of the %llu records of a slow pass (%.0f/s): the sweep "
			   "allows it %llu per pass", s->name, c->name, (unsigned long long)r.records,
			   (unsigned long long)sent.records, (double)s->records / 2.0,
			   (unsigned long long)c->skip_per_pass[s->kind]);
}

/* Wait for a weir publish cycle that started at or after t_ms (its drop
 * counters come with it); say so if none came within 60 s. */
static void
weir_await(struct bench_collector *c, const struct bench_stream *s, unsigned int rep, uint64_t t_ms,
	   const char *after)
{
	if (bench_weir_wait_sample(c, t_ms, 60) != 0)
		bench_note("export %s -> weir run %u: no publish cycle within 60 s %s", s->name, rep + 1, after);
}

/* The highest lossless rate: the rate the sender achieved in the fastest
 * lossless step offered below every lossy one (with steps in rising order,
 * the last lossless step before the first lossy one). A lower bound when
 * that step's sender fell short of the offered rate and no step was lossy. */
static void
sweep_result(const struct step_rec *st, unsigned int n, struct sweep_out *o)
{
	double first_lossy = INFINITY;
	for (unsigned int i = 0; i < n; i++)
		if (!st[i].ok)
			first_lossy = fmin(first_lossy, st[i].rate);
	for (unsigned int i = 0; i < n; i++) {
		if (!st[i].ok || st[i].rate >= first_lossy || st[i].achieved <= o->lossless)
			continue;
		o->lossless = st[i].achieved;
		o->lower_bound = isinf(first_lossy) && st[i].achieved < 0.8 * st[i].rate;
	}
}

/* Offered rate, then the order the steps ran in. */
static int
step_cmp(const void *a, const void *b)
{
	const struct step_rec *x = a, *y = b;
	if (x->rate != y->rate)
		return x->rate < y->rate ? -1 : 1;
	return (x->b_ms > y->b_ms) - (x->b_ms < y->b_ms);
}

static void
sweep(struct bench_collector *c, const struct bench_stream *s, unsigned int rep, struct sweep_out *o)
{
	double step_s = bench.quick ? 0.4 : 1.0, factor = bench.quick ? 2.0 : M_SQRT2, next = 0;
	int lossy = 0, is_weir = !strcmp(c->name, "weir"), restarted = 0, refined = 0;
	struct step_rec st[64];
	unsigned int n = 0;
	memset(o, 0, sizeof(*o));
	for (double rate = bench.quick ? QUICK_START_RATE : START_RATE; rate <= MAX_RATE && lossy < 2 && n < 64;
	     rate = next) {
		struct bench_sent sent;
		struct bench_recv r;
		struct step_rec *k = &st[n];
		k->a_ms = bench_wall_ms();
		if (one_step(c, s, rate, step_s, &sent, &r) != 0)
			return;
		k->b_ms = bench_wall_ms() + 100;
		k->rate = rate;
		k->achieved = (double)sent.records / sent.secs;
		k->taken = (double)r.records / sent.secs;
		k->loss_pct = 100.0 * fmax(0, 1 - (double)r.records / (double)(sent.records ? sent.records : 1));
		k->backlog = sent.rxq_tail;
		k->kdrops = r.kernel_drops;
		k->settle_ms = r.settle_s * 1e3;
		k->own = 0;
		k->ok = step_ok(c, s, &sent, &r);
		if (is_weir && k->ok) {
			/* a published cycle that started after this step, before the next
			 * (a step already lossy need not wait: its verdict cannot change,
			 * and a later rise charged to it and the next one as well only
			 * matters after the first lossy step, where nothing is read but
			 * --quick's step between, which waits below) */
			weir_await(c, s, rep, k->b_ms, "after a step");
			for (unsigned int j = 0; j <= n; j++)
				st[j].own = 0;
			judge(c, s, st, n + 1, step_s);
		}
		n++;
		bench_progress("  export %s -> %s run %u: %.0fk rec/s offered, %.0fk sent, %.0fk taken: %s "
			       "(kernel drops %llu, own drops %llu, backlog %llu KiB, settled in %.0f ms)",
			       s->name, c->name, rep + 1, rate / 1e3, k->achieved / 1e3, k->taken / 1e3,
			       k->ok ? "lossless" : "LOSSY", (unsigned long long)k->kdrops,
			       (unsigned long long)k->own, (unsigned long long)k->backlog >> 10, k->settle_ms);
		if (bench.quick && n == 1 && !k->ok && !restarted) {
			/* --quick starts high; a collector lossy there starts again at the bottom */
			bench_note("export %s -> %s run %u: lossy at the first quick step (%.0fk/s): swept again "
				   "from %.0fk/s", s->name, c->name, rep + 1, rate / 1e3, 2 * START_RATE / 1e3);
			if (is_weir)	/* so that no rise of this step lands on the next */
				weir_await(c, s, rep, k->b_ms, "after a step");
			restarted = 1;
			n = 0;
			next = 2 * START_RATE;
			continue;
		}
		next = rate * factor;
		lossy = 0;
		for (unsigned int i = 0; i < n; i++)
			lossy += !st[i].ok;
		if (!k->ok && bench.quick) {
			/* --quick: the x2 steps halve what they read; the step between the
			 * last lossless one and this first lossy one (x sqrt 2 below it)
			 * replaces the full run's step past the first lossy one */
			if (refined || n < 2 || !st[n - 2].ok)
				break;
			if (is_weir)	/* this step's own drops must not land on the next */
				weir_await(c, s, rep, k->b_ms, "after a step");
			refined = 1;
			next = rate / M_SQRT2;
			continue;
		}
		if (!k->ok)
			continue;
		if (refined || k->achieved < 0.8 * rate)
			break;	/* refined; or the sender fell short of the offered rate */
	}
	if (is_weir && n) {
		weir_await(c, s, rep, st[n - 1].b_ms,
			   "to read its own drop counters: its last steps count the socket's drops only");
		for (unsigned int j = 0; j < n; j++)
			st[j].own = 0;
		judge(c, s, st, n, step_s);
	}
	sweep_result(st, n, o);
	/* in the order of the offered rate (a refined step ran last), for the plot */
	qsort(st, n, sizeof(st[0]), step_cmp);
	for (unsigned int x = 0; tsv && x < n; x++) {
		const struct step_rec *k = &st[x];
		fprintf(tsv, "%s\t%s\t%u\t%.0f\t%.0f\t%.0f\t%.4f\t%llu\t%.1f\t%llu\t%llu\t%d\n", s->name,
			c->name, rep + 1, k->rate, k->achieved, k->taken, k->loss_pct,
			(unsigned long long)k->backlog >> 10, k->settle_ms, (unsigned long long)k->kdrops,
			(unsigned long long)k->own, k->ok);
	}

	struct bench_sent sent;
	struct bench_recv r;
	uint64_t a = bench_wall_ms();
	if (one_step(c, s, 0, bench.quick ? 0.5 : 2.0, &sent, &r) != 0)
		return;
	uint64_t b = bench_wall_ms() + 100;
	double taken = (double)r.records;
	if (is_weir) {
		weir_await(c, s, rep, b, "after the full-speed run: the socket's drops only");
		uint64_t own = 0;
		for (unsigned int i = 1; i < c->n_sam; i++)
			if (c->sam_t[i] >= a && c->sam_d[i] > c->sam_d[i - 1])
				own += c->sam_d[i] - c->sam_d[i - 1];
		taken -= (double)own * (double)s->records / (double)s->n;
	}
	o->full_sent = (double)sent.records / sent.secs;
	o->full_loss_pct = 100.0 * fmax(0, 1 - taken / (double)(sent.records ? sent.records : 1));
	bench_progress("  export %s -> %s run %u: full speed %.0fk rec/s sent, %.2f%% lost", s->name, c->name,
		       rep + 1, o->full_sent / 1e3, o->full_loss_pct);
	o->ok = 1;
}

static void
record(const struct bench_stream *s, const struct bench_collector *c, const struct sweep_out *o)
{
	char name[40];
	const char *unit = s->kind == BENCH_STREAM_SFLOW ? "ksamp/s" : "krec/s";
	const char *u = s->kind == BENCH_STREAM_SFLOW ? "ksps" : "krps";
	snprintf(name, sizeof(name), "%s_%s_lossless_%s", s->name, c->name, u);
	bench_add("export", name, unit, o->lossless / 1e3);
	snprintf(name, sizeof(name), "%s_%s_fullspeed_loss_pct", s->name, c->name);
	bench_add("export", name, "%", o->full_loss_pct);
	snprintf(name, sizeof(name), "%s_%s_fullspeed_sent_%s", s->name, c->name, u);
	bench_add("export", name, unit, o->full_sent / 1e3);
}

int
bench_export(void)
{
	struct bench_stream st[BENCH_STREAM__MAX];
	int have[BENCH_STREAM__MAX] = {0};
	cpu_set_t saved;
	int restore_aff = sched_getaffinity(0, sizeof(saved), &saved) == 0;
	bench_all_cpus();	/* the sender is not an lcore: let the scheduler place it */

	for (int k = 0; k < BENCH_STREAM__MAX; k++) {
		have[k] = bench_stream_load(&st[k], (enum bench_stream_kind)k) == 0;
		if (!have[k])
			bench_note("export: could not make or read the %s stream (see %s)",
				   k == BENCH_STREAM_SFLOW ? "sflow" : k == BENCH_STREAM_NF9 ? "nf9" : "ipfix",
				   bench.cache_dir);
		else if (k == BENCH_STREAM_NF9 || k == BENCH_STREAM_SFLOW || k == BENCH_STREAM_IPFIX)
			bench_info(k == BENCH_STREAM_NF9 ? "stream_nf9" : k == BENCH_STREAM_IPFIX ? "stream_ipfix" :
				   "stream_sflow", "%u datagrams, %llu %s, %.1f per datagram", st[k].n,
				   (unsigned long long)st[k].records, k == BENCH_STREAM_SFLOW ? "flow samples" :
				   "flow records", (double)st[k].records / st[k].n);
	}

	long long rmem = bench_rmem_raise((long long)BENCH_PEER_RCVBUF);
	if (rmem < (long long)BENCH_PEER_RCVBUF)
		bench_note("export: net.core.rmem_max is %lld and could not be raised: nfcapd, nfacctd and sfacctd "
			   "got smaller socket buffers than weir's forced 32 MiB", rmem);

	char path[1300];
	snprintf(path, sizeof(path), "%s/export-sweep.tsv", bench.cache_dir);
	tsv = fopen(path, "w");
	if (tsv)
		fprintf(tsv, "# stream\tcollector\trun\toffered_rps\tsent_rps\ttaken_rps\tloss_pct\t"
			     "backlog_kib\tsettle_ms\tkernel_drops\town_drops\tlossless\n");

	struct bench_collector weir, nfcapd, nfacctd, sfacctd;
	int weir_up = bench_weir_open(&weir) == 0;
	bench_peer_init(&nfcapd, "nfcapd");
	bench_peer_init(&nfacctd, "nfacctd");
	bench_peer_init(&sfacctd, "sfacctd");
	unsigned int reps = bench.quick ? 1 : (bench.repeat < 3 ? bench.repeat : 3);
	if (bench.quick)
		bench_note("export: --quick sweeps weir, nfcapd and sfacctd from 400k/s; nfacctd (in no ratio) "
			   "only in the full run");
	for (unsigned int rep = 0; rep < reps; rep++) {
		for (int k = 0; k < BENCH_STREAM__MAX; k++) {
			if (!have[k])
				continue;
			struct bench_collector *order[3] = {&weir, &nfcapd, bench.quick ? NULL : &nfacctd};
			if (k == BENCH_STREAM_SFLOW) {
				order[1] = &sfacctd;
				order[2] = NULL;
			}
			for (int j = 0; j < 3 && order[j]; j++) {
				struct bench_collector *c = order[j];
				if (c == &weir && !weir_up)
					continue;
				if (c->calibrate && !c->calibrated[k])
					calibrate(c, &st[k]);
				struct sweep_out o;
				sweep(c, &st[k], rep, &o);
				if (!o.ok) {
					bench_note("export %s -> %s run %u: the sweep did not finish", st[k].name,
						   c->name, rep + 1);
					continue;
				}
				record(&st[k], c, &o);
				if (o.lower_bound && rep == 0)
					bench_note("export %s -> %s: lossless at %.0fk/s, where the sender fell short of "
						   "the rate offered (it shares the CPUs with the collector): a lower bound",
						   st[k].name, c->name, o.lossless / 1e3);
				if (o.lossless == 0 && rep == 0)
					bench_note("export %s -> %s: lossy at the first step (%.0fk/s)", st[k].name,
						   c->name, START_RATE / 1e3);
			}
		}
	}
	bench_note("export: socket buffers as the kernel set them (ss rb): weir %lld, nfcapd %lld, nfacctd %lld, "
		   "sfacctd %lld bytes", weir.rcvbuf, nfcapd.rcvbuf, nfacctd.rcvbuf, sfacctd.rcvbuf);
	if (weir_up)
		bench_collector_close(&weir);
	bench_collector_close(&nfcapd);
	bench_collector_close(&nfacctd);
	bench_collector_close(&sfacctd);
	if (tsv)
		fclose(tsv);
	tsv = NULL;
	bench_rmem_restore();
	for (int k = 0; k < BENCH_STREAM__MAX; k++)
		if (have[k])
			bench_stream_free(&st[k]);
	if (restore_aff)
		sched_setaffinity(0, sizeof(saved), &saved);
	return 0;
}
