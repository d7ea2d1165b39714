/* collect.c -- flow-export records into the worker's flow table.
 *
 * A datagram for a collector port reaches the worker that owns its
 * exporter, by a hash of the exporter's address alone
 * (weir_xflow_owner, udp_collector.h): the UDP socket collector hashes so,
 * the software distributor too, and a worker that a multi-queue port gave
 * another worker's datagram (RSS hashes UDP ports) steers it there
 * (worker.c xflow_divert). So one exporter's templates and sequence
 * numbers live on one worker and need no lock. This file keeps that
 * worker's exporter table (bounded by max-exporters: a new exporter takes
 * the slot of one silent past exporter-timeout, else it is dropped and
 * counted) and turns each decoded record into a flow-table update (times
 * checked against arrival), so exported flows feed the same hosts, VLANs
 * and subnet pairs as captured ones. It also carries the decoders'
 * template events to the control thread and installs the templates it
 * sends back (template sharing, tmpl_share.h). */
#include <stdlib.h>
#include <string.h>

#include "tmpl_share.h"
#include "worker.h"

#define IFACE_SLOTS 16384           /* per worker; a full table is counted */
#define REC_BATCH 32                /* records staged before their flows are touched */

/* A decoded record waiting for its flow: the key and hash are made, and
 * the home bucket prefetched, as the decoder hands it over; the flow is
 * looked up when the batch is applied (stage_apply), by which time the
 * bucket, then the entry, have come from memory. One datagram's records
 * (about 30 in NetFlow v9) hide each other's cache misses. */
struct rec_stage {
	struct weir_flow_rec r;
	struct weir_exporter *ex;
	struct weir_flow_key k;
	uint32_t h;
	int dir;
};

struct weir_exporter_table {
	struct weir_exporter *ex;     /* max_exporters entries */
	uint32_t n;
	uint32_t max;
	struct weir_iface *ifs;       /* IFACE_SLOTS, open addressing; an evicted
				       * exporter's are tombstones (IFACE_GONE), reused */
	uint32_t n_ifs;               /* live ones, at most IFACE_SLOTS / 2 */
	uint64_t ifs_full;
	uint64_t no_evict_until_ms;   /* full, and no exporter silent enough before then */
	unsigned int n_stage;         /* staged records, applied before a datagram is done */
	struct rec_stage stage[REC_BATCH];
};

#define IFACE_GONE UINT32_MAX       /* an evicted exporter's interface: matches nothing */

int
weir_worker_xflow_init(struct weir_worker *w)
{
	struct weir_exporter_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->max = w->cfg->max_exporters ? w->cfg->max_exporters : 4096;
	t->ex = calloc(t->max, sizeof(*t->ex));
	t->ifs = calloc(IFACE_SLOTS, sizeof(*t->ifs));
	/* mapped lazily: touched only where exported flows sit */
	w->xinfo = weir_flow_side_alloc(&w->ft, sizeof(*w->xinfo));
	if (!t->ex || !t->ifs || !w->xinfo) {
		free(t->ex);
		free(t->ifs);
		free(t);
		weir_flow_side_free(&w->ft, w->xinfo, sizeof(*w->xinfo));
		w->xinfo = NULL;
		return -1;
	}
	w->exporters = t;
	return 0;
}

void
weir_worker_xflow_fini(struct weir_worker *w)
{
	struct weir_exporter_table *t = w->exporters;
	if (!t)
		return;
	for (uint32_t i = 0; i < t->n; i++) {
		weir_nf_state_free(&t->ex[i]);
		weir_sflow_state_free(&t->ex[i]);
	}
	free(t->ex);
	free(t->ifs);
	free(t);
	w->exporters = NULL;
	weir_flow_side_free(&w->ft, w->xinfo, sizeof(*w->xinfo));
	w->xinfo = NULL;
}

void
weir_worker_xflow_expire(struct weir_worker *w)
{
	struct weir_exporter_table *t = w->exporters;
	uint64_t now = w->now_ms;
	for (uint32_t i = 0; i < t->n; i++)
		weir_nf_expire(&t->ex[i], now);
}

/* For the control thread: the exporters this worker holds. */
struct weir_exporter *
weir_worker_exporters(struct weir_worker *w, uint32_t *n)
{
	*n = __atomic_load_n(&w->exporters->n, __ATOMIC_ACQUIRE);
	return w->exporters->ex;
}

struct weir_iface *
weir_worker_interfaces(struct weir_worker *w, uint32_t *n_slots)
{
	*n_slots = IFACE_SLOTS;
	return w->exporters->ifs;
}

/* Slot i, free or an evicted exporter's, becomes (e, ifindex). The
 * control thread may be reading it (weir_worker_iface_read): a seqlock,
 * odd while the fields are rewritten, and the owner published last. */
static void
iface_take(struct weir_iface *i, uint32_t e, uint32_t ifindex)
{
	uint32_t seq = i->seq;
	__atomic_store_n(&i->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);	/* odd before any field changes */
	i->ifindex = ifindex;
	i->bytes_in = i->bytes_out = i->pkts_in = i->pkts_out = 0;
	memset(&i->c, 0, sizeof(i->c));
	memset(i->name, 0, sizeof(i->name));
	__atomic_store_n(&i->exporter, e, __ATOMIC_RELEASE);
	__atomic_store_n(&i->seq, seq + 2, __ATOMIC_RELEASE);
}

int
weir_worker_iface_read(const struct weir_iface *i, uint32_t n_ex, struct weir_iface *out)
{
	uint32_t seq = __atomic_load_n(&i->seq, __ATOMIC_ACQUIRE);
	uint32_t e = __atomic_load_n(&i->exporter, __ATOMIC_ACQUIRE);
	if ((seq & 1) || !e || e > n_ex)	/* IFACE_GONE > n_ex */
		return 0;
	memcpy(out, i, sizeof(*out));	/* plain aligned words, as the worker writes them */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);	/* the copy before the checks */
	return __atomic_load_n(&i->seq, __ATOMIC_RELAXED) == seq &&
	       __atomic_load_n(&i->exporter, __ATOMIC_RELAXED) == e;
}

/* The interface (exporter, ifindex), created on first use in a free slot
 * or the first tombstone on its probe path; NULL when the table is full
 * (counted). */
static struct weir_iface *
iface_get(struct weir_worker *w, struct weir_exporter *ex, uint32_t ifindex)
{
	struct weir_exporter_table *t = w->exporters;
	uint32_t e = (uint32_t)(ex - t->ex) + 1;
	uint32_t h = (e * 0x9e3779b1u) ^ (ifindex * 0x85ebca6bu);
	struct weir_iface *take = NULL;
	for (uint32_t p = 0; p < 64; p++) {
		struct weir_iface *i = &t->ifs[(h + p) & (IFACE_SLOTS - 1)];
		if (i->exporter == e && i->ifindex == ifindex)
			return i;
		if (i->exporter == IFACE_GONE && !take)
			take = i;	/* (e, ifindex) may still be further on */
		if (i->exporter == 0) {
			if (!take)
				take = i;
			break;		/* the end of the probe path */
		}
	}
	if (!take || t->n_ifs >= IFACE_SLOTS / 2) {
		t->ifs_full++;
		return NULL;
	}
	iface_take(take, e, ifindex);
	t->n_ifs++;
	return take;
}

/* The table is full: the exporter silent longest, if that is longer than
 * exporter-timeout, makes room (its decoder state freed, its interfaces
 * forgotten), so a flood from random (spoofed) sources cannot keep real
 * exporters out for good. Its slot is reused: flows still in the table
 * from it are then shown with the new exporter. NULL if none is silent
 * enough (and then no scan again until one could be). */
static struct weir_exporter *
exporter_evict(struct weir_worker *w)
{
	struct weir_exporter_table *t = w->exporters;
	uint64_t now = w->now_ms, timeout = (uint64_t)w->cfg->exporter_timeout_s * 1000;
	if (now < t->no_evict_until_ms)
		return NULL;
	struct weir_exporter *old = NULL;
	uint64_t old_ms = UINT64_MAX;
	for (uint32_t i = 0; i < t->n; i++) {
		uint64_t seen = t->ex[i].last_seen_ms ? t->ex[i].last_seen_ms : t->ex[i].first_seen_ms;
		if (seen < old_ms) {
			old_ms = seen;
			old = &t->ex[i];
		}
	}
	if (!old || old_ms + timeout > now) {
		t->no_evict_until_ms = old ? old_ms + timeout : now + 1000;
		return NULL;
	}
	uint32_t e = (uint32_t)(old - t->ex) + 1;
	for (uint32_t i = 0; i < IFACE_SLOTS; i++)
		if (t->ifs[i].exporter == e) {	/* a tombstone, for iface_get to reuse */
			__atomic_store_n(&t->ifs[i].exporter, IFACE_GONE, __ATOMIC_RELEASE);
			t->n_ifs--;
		}
	weir_nf_state_free(old);	/* the control thread reads old->sf: kept, reset below */
	w->st.exporters_evicted++;
	return old;
}

static struct weir_exporter *
exporter_get(struct weir_worker *w, const uint8_t addr[16])
{
	struct weir_exporter_table *t = w->exporters;
	for (uint32_t i = 0; i < t->n; i++)	/* few exporters per worker */
		if (!memcmp(t->ex[i].addr, addr, 16))
			return &t->ex[i];
	struct weir_exporter *e = t->n < t->max ? &t->ex[t->n] : exporter_evict(w);
	if (!e) {
		w->st.exporters_full++;
		return NULL;
	}
	/* an evicted exporter's sFlow state is reused; a slot never used
	 * (past t->n, calloc'd, never written) has none */
	struct weir_sflow_state *sf = e->sf;
	memset(e, 0, sizeof(*e));
	if (sf) {
		weir_sflow_state_reset(sf);
		e->sf = sf;
	}
	memcpy(e->addr, addr, 16);
	e->lim = &w->cfg->xlim;
	e->first_seen_ms = w->now_ms;
	if (e == &t->ex[t->n])
		__atomic_store_n(&t->n, t->n + 1, __ATOMIC_RELEASE);
	return e;
}

/* Add a record's counts to f: into its counts since the last fold if they
 * have room, else folded now (the flow's pending counts, then the record's). */
static void
add_counts(struct weir_worker *w, struct weir_flow *f, int dir, uint64_t bytes, uint64_t pkts)
{
	if (bytes <= UINT32_MAX - f->new_bytes[dir] && pkts <= (uint64_t)UINT16_MAX - f->new_pkts[dir]) {
		f->new_bytes[dir] += (uint32_t)bytes;
		f->new_pkts[dir] += (uint16_t)pkts;
		return;
	}
	uint64_t b[2] = {0, 0}, p[2] = {0, 0};
	b[dir] = bytes;
	p[dir] = pkts;
	weir_agg_fold_flow(&w->agg, f, 0);
	weir_agg_fold_counts(&w->agg, f, b, p, 0);
}

/* An exporter's clock is not trusted: a start or end more than an hour
 * after the record arrived, or before 2000, is counted (BAD_TIMESTAMP, once
 * per record) and replaced by the arrival time, so a flow cannot be dated
 * where the sweep and host expiry never reach it. A start or end less
 * than that ahead is kept (an exporter's clock a little fast), and no
 * flow starts after it ends. */
#define XFLOW_AHEAD_MS  3600000ull
#define XFLOW_EPOCH_MS  946684800000ull    /* 2000-01-01T00:00:00Z */

static void
record_times(struct weir_worker *w, struct weir_exporter *ex, const struct weir_flow_rec *r,
	     uint64_t *first, uint64_t *last)
{
	uint64_t now = w->now_ms, s = r->start_ms, e = r->end_ms;
	int bad = 0;
	if (s && (s < XFLOW_EPOCH_MS || s > now + XFLOW_AHEAD_MS)) {
		s = 0;
		bad = 1;
	}
	if (e && (e < XFLOW_EPOCH_MS || e > now + XFLOW_AHEAD_MS)) {
		e = 0;
		bad = 1;
	}
	if (bad)
		weir_xerr(ex, WEIR_XERR_BAD_TIMESTAMP);
	/* an exporter's clock a little ahead of ours (less than
	 * XFLOW_AHEAD_MS) is taken as it is: the record's own times are the
	 * truth readers compare with, and the flow's idle sweep is put off by
	 * at most that skew */
	s = s ? s : now;
	e = e ? e : s;
	if (s > e)
		s = e;
	*first = weir_ms48(s);
	*last = weir_ms48(e);
}

/* One record into its flow (created if new), in the order the exporter
 * sent them. */
static void
record_apply(struct weir_worker *w, const struct rec_stage *st)
{
	const struct weir_flow_rec *r = &st->r;
	struct weir_exporter *ex = st->ex;
	int dir = st->dir;
	uint64_t first, last;
	record_times(w, ex, r, &first, &last);

	struct weir_flow *f = weir_flow_table_lookup(&w->ft, &st->k, st->h);
	if (!f) {
		f = weir_flow_table_insert(&w->ft, &st->k, st->h);
		if (!f) {
			w->st.flow_table_full++;
			return;
		}
		weir_flow_set_first(f, first);
		if (!dir)
			f->state |= WEIR_FLOWST_A_INIT;
		f->sub_init = (uint16_t)(weir_subnet_lookup(w->cfg, r->src) + 1);
		f->sub_resp = (uint16_t)(weir_subnet_lookup(w->cfg, r->dst) + 1);
		w->xinfo[weir_flow_index(&w->ft, f)] = (struct weir_flow_xinfo){
			.in_if = r->in_if, .out_if = r->out_if, .vrf = r->vrf_in,
			.exporter = (uint32_t)(ex - w->exporters->ex) + 1, .source = r->source,
		};
		f->state |= WEIR_FLOWST_XFLOW;
		w->st.flows_created++;
		/* no payload: the exporter's application id if it sent one,
		 * else nDPI guesses from protocol, ports and addresses */
		if (w->dpi && (weir_dpi_exporter_app(w->dpi, r->proto, r->app_engine,
						     r->app_selector, &w->dpi_res) == 1 ||
			       weir_dpi_guess(w->dpi, r->proto, r->src, r->sport, r->dst,
					      r->dport, &w->dpi_res) == 1))
			weir_worker_dpi_verdict(w, f);
	}
	static const struct weir_flow_route no_route;
	if (memcmp(&r->route, &no_route, sizeof(no_route)))	/* the router's latest word */
		w->xinfo[weir_flow_index(&w->ft, f)].route = r->route;
	f->tcp_flags |= r->tcp_flags;
	if (first < weir_flow_first(f))
		weir_flow_set_first(f, first);
	if (last > weir_flow_last(f))
		weir_flow_set_last(f, last);
	if (r->smac[0] | r->smac[1] | r->smac[2] | r->smac[3] | r->smac[4] | r->smac[5])
		memcpy(dir ? f->bmac : f->amac, r->smac, 6);
	if (r->pkts)
		f->state |= WEIR_FLOWST_SEEN_A << dir;	/* a packet after it takes no MAC */
	if (r->rev_pkts)
		f->state |= WEIR_FLOWST_SEEN_A << !dir;
	add_counts(w, f, dir, r->bytes, r->pkts);	/* last: it may fold, with the above */
	if (r->rev_bytes | r->rev_pkts)	/* RFC 5103 biflow: the other direction */
		add_counts(w, f, !dir, r->rev_bytes, r->rev_pkts);
	weir_flow_mark_dirty(&w->ft, f);
	w->st.xflow_records++;

	/* per-interface traffic as the exporter saw it */
	struct weir_iface *i;
	if (r->in_if && (i = iface_get(w, ex, r->in_if))) {
		i->bytes_in += r->bytes;
		i->pkts_in += r->pkts;
		i->bytes_out += r->rev_bytes;	/* a biflow's reverse left by it */
		i->pkts_out += r->rev_pkts;
	}
	if (r->out_if && (i = iface_get(w, ex, r->out_if))) {
		i->bytes_out += r->bytes;
		i->pkts_out += r->pkts;
		i->bytes_in += r->rev_bytes;
		i->pkts_in += r->rev_pkts;
	}
}

/* The staged records, in order: each entry prefetched first. */
static void
stage_apply(struct weir_worker *w)
{
	struct weir_exporter_table *t = w->exporters;
	for (unsigned int i = 0; i < t->n_stage; i++)
		weir_flow_table_prefetch_entry(&w->ft, t->stage[i].h);
	for (unsigned int i = 0; i < t->n_stage; i++)
		record_apply(w, &t->stage[i]);
	t->n_stage = 0;
}

static void
on_record(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	struct weir_worker *w = ctx;
	struct weir_exporter_table *t = w->exporters;
	struct rec_stage *st = &t->stage[t->n_stage];
	st->r = *r;
	st->ex = ex;
	st->dir = weir_flow_key_make_hash(&st->k, r->src, r->sport, r->dst, r->dport, r->proto, r->vlan,
					  &st->h);
	weir_flow_table_prefetch(&w->ft, st->h);
	if (++t->n_stage == REC_BATCH)
		stage_apply(w);
}

static void
on_ifc(void *ctx, struct weir_exporter *ex, const struct weir_if_counters *c)
{
	struct weir_iface *i = iface_get(ctx, ex, c->ifindex);
	if (i)
		i->c = *c;	/* a reader may see a mix of two samples for one cycle */
}

static void
on_ifname(void *ctx, struct weir_exporter *ex, uint32_t ifindex, const char *name)
{
	struct weir_iface *i = iface_get(ctx, ex, ifindex);
	if (i && strncmp(i->name, name, sizeof(i->name) - 1) != 0)
		snprintf(i->name, sizeof(i->name), "%s", name);
}

/* A template event for the control thread; never waits (a LEARNT it had
 * no room for is offered again at the template's next refresh, a WANTED
 * a second later). */
static int
on_tmpl(void *ctx, struct weir_exporter *ex, const struct weir_tmpl_event *e)
{
	struct weir_worker *w = ctx;
	struct weir_tmpl_msg *m;
	if (e->len > WEIR_TMPL_REC_MAX || !(m = weir_spsc_ring_reserve(&w->tmpl_out))) {
		w->st.tmpl_msg_drops++;
		return 0;
	}
	memcpy(m->addr, ex->addr, 16);
	m->domain = e->domain;
	m->id = e->id;
	m->set_id = e->set_id;
	m->version = e->version;
	m->kind = e->kind;
	m->len = (uint16_t)e->len;
	if (e->len)
		memcpy(m->rec, e->rec, e->len);
	weir_spsc_ring_push(&w->tmpl_out);
	return 1;
}

static void
sink_of(struct weir_worker *w, struct weir_flow_sink *sink)
{
	*sink = (struct weir_flow_sink){
		.rec = on_record,
		.ifc = on_ifc,
		.ifname = on_ifname,
		.ctx = w,
		.pcfg = &w->cfg->parse,
		.tmpl = w->tmpl_out.slot ? on_tmpl : NULL,
	};
}

void
weir_worker_xflow(struct weir_worker *w, const uint8_t src[16], uint16_t sport,
		  const uint8_t *p, uint32_t len)
{
	struct weir_exporter *ex = exporter_get(w, src);
	if (!ex)
		return;
	ex->port = sport;
	struct weir_flow_sink sink;
	sink_of(w, &sink);
	weir_xflow_decode(ex, p, len, w->now_ms, &sink);
	stage_apply(w);	/* ex may be evicted by the next datagram */
}

/* Templates the control thread found for data this worker holds: defined
 * as if the exporter had sent them, and the held data decoded. A few per
 * loop, off the packet path. */
void
weir_worker_tmpl_drain(struct weir_worker *w)
{
	struct weir_exporter_table *t = w->exporters;
	const struct weir_tmpl_msg *m;
	struct weir_flow_sink sink;
	int sunk = 0;
	for (int k = 0; k < 8 && (m = weir_spsc_ring_peek(&w->tmpl_in)); k++) {
		struct weir_exporter *ex = NULL;
		for (uint32_t i = 0; i < t->n && !ex; i++)
			if (!memcmp(t->ex[i].addr, m->addr, 16))
				ex = &t->ex[i];
		if (ex) {
			if (!sunk++)
				sink_of(w, &sink);
			int r = weir_nf_template_install(ex, m->version, m->domain, m->set_id, m->rec,
							 m->len, m->age_ms, w->now_ms, &sink);
			if (r >= 0)
				w->st.tmpl_installed++;
			else if (r != WEIR_TMPL_KNOWN)
				w->st.tmpl_refused++;
		}
		weir_spsc_ring_pop(&w->tmpl_in);
	}
	stage_apply(w);
}
