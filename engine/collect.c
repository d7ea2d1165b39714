/* collect.c -- flow-export records into the worker's flow table.
 *
 * A datagram for a collector port (diverted from a DPDK port, or handed over
 * by the UDP socket collector) reaches the worker that owns its exporter:
 * the symmetric hash on addresses keeps one exporter on one worker, so
 * template state needs no lock. This file keeps that worker's exporter
 * table (bounded by max-exporters: more are dropped and counted) and turns
 * each decoded record into a flow-table update, so exported flows feed the
 * same hosts, VLANs and subnet pairs as captured ones. It also carries the
 * decoders' template events to the control thread and installs the
 * templates it sends back (template sharing, tmpl_share.h). */
#include <stdlib.h>
#include <string.h>

#include "tmpl_share.h"
#include "worker.h"

#define IFACE_SLOTS 16384           /* per worker; a full table is counted */

struct weir_exporter_table {
	struct weir_exporter *ex;     /* max_exporters entries */
	uint32_t n;
	uint32_t max;
	struct weir_iface *ifs;       /* IFACE_SLOTS, open addressing, never removed */
	uint32_t n_ifs;
	uint64_t ifs_full;
};

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

/* The interface (exporter, ifindex), created on first use; NULL when the
 * table is full (counted). */
static struct weir_iface *
iface_get(struct weir_worker *w, struct weir_exporter *ex, uint32_t ifindex)
{
	struct weir_exporter_table *t = w->exporters;
	uint32_t e = (uint32_t)(ex - t->ex) + 1;
	uint32_t h = (e * 0x9e3779b1u) ^ (ifindex * 0x85ebca6bu);
	for (uint32_t p = 0; p < 64; p++) {
		struct weir_iface *i = &t->ifs[(h + p) & (IFACE_SLOTS - 1)];
		if (i->exporter == e && i->ifindex == ifindex)
			return i;
		if (i->exporter == 0) {
			if (t->n_ifs >= IFACE_SLOTS / 2)
				break;
			i->ifindex = ifindex;
			__atomic_store_n(&i->exporter, e, __ATOMIC_RELEASE);
			t->n_ifs++;
			return i;
		}
	}
	t->ifs_full++;
	return NULL;
}

static struct weir_exporter *
exporter_get(struct weir_worker *w, const uint8_t addr[16])
{
	struct weir_exporter_table *t = w->exporters;
	for (uint32_t i = 0; i < t->n; i++)	/* few exporters per worker */
		if (!memcmp(t->ex[i].addr, addr, 16))
			return &t->ex[i];
	if (t->n >= t->max) {
		w->st.exporters_full++;
		return NULL;
	}
	struct weir_exporter *e = &t->ex[t->n];
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, addr, 16);
	e->lim = &w->cfg->xlim;
	e->first_seen_ms = w->now_ms;
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

static void
on_record(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	struct weir_worker *w = ctx;
	struct weir_flow_key k;
	int dir = weir_flow_key_make(&k, r->src, r->sport, r->dst, r->dport, r->proto, r->vlan);
	uint32_t h = weir_flow_hash(&k);
	uint64_t first = weir_ms48(r->start_ms ? r->start_ms : w->now_ms);
	uint64_t last = r->end_ms ? weir_ms48(r->end_ms) : first;

	struct weir_flow *f = weir_flow_table_lookup(&w->ft, &k, h);
	if (!f) {
		f = weir_flow_table_insert(&w->ft, &k, h);
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
			.in_if = r->in_if, .out_if = r->out_if,
			.exporter = (uint32_t)(ex - w->exporters->ex) + 1, .source = r->source,
		};
		f->state |= WEIR_FLOWST_XFLOW;
		w->st.flows_created++;
		/* no payload: nDPI guesses from protocol, ports and addresses */
		if (w->dpi && weir_dpi_guess(w->dpi, r->proto, r->src, r->sport, r->dst,
					     r->dport, &w->dpi_res) == 1)
			weir_worker_dpi_verdict(w, f);
	}
	f->tcp_flags |= r->tcp_flags;
	if (first < weir_flow_first(f))
		weir_flow_set_first(f, first);
	if (last > weir_flow_last(f))
		weir_flow_set_last(f, last);
	if (r->smac[0] | r->smac[1] | r->smac[2] | r->smac[3] | r->smac[4] | r->smac[5])
		memcpy(dir ? f->bmac : f->amac, r->smac, 6);
	if (r->pkts)
		f->state |= WEIR_FLOWST_SEEN_A << dir;	/* a packet after it takes no MAC */
	add_counts(w, f, dir, r->bytes, r->pkts);	/* last: it may fold, with the above */
	weir_flow_mark_dirty(&w->ft, f);
	w->st.xflow_records++;

	/* per-interface traffic as the exporter saw it */
	struct weir_iface *i;
	if (r->in_if && (i = iface_get(w, ex, r->in_if))) {
		i->bytes_in += r->bytes;
		i->pkts_in += r->pkts;
	}
	if (r->out_if && (i = iface_get(w, ex, r->out_if))) {
		i->bytes_out += r->bytes;
		i->pkts_out += r->pkts;
	}
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
}
