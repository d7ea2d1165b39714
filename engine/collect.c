/* collect.c -- flow-export records into the worker's flow table.
 *
 * A datagram for a collector port (diverted from a DPDK port, or handed over
 * by the UDP socket collector) reaches the worker that owns its exporter:
 * the symmetric hash on addresses keeps one exporter on one worker, so
 * template state needs no lock. This file keeps that worker's exporter
 * table (bounded by max-exporters: more are dropped and counted) and turns
 * each decoded record into a flow-table update, so exported flows feed the
 * same hosts, VLANs and subnet pairs as captured ones. */
#include <stdlib.h>
#include <string.h>

#include "worker.h"

struct weir_exporter_table {
	struct weir_exporter *ex;     /* max_exporters entries */
	uint32_t n;
	uint32_t max;
};

int
weir_worker_xflow_init(struct weir_worker *w)
{
	struct weir_exporter_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->max = w->cfg->max_exporters ? w->cfg->max_exporters : 4096;
	t->ex = calloc(t->max, sizeof(*t->ex));
	if (!t->ex) {
		free(t);
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
	free(t);
	w->exporters = NULL;
}

/* For the control thread: the exporters this worker holds. */
struct weir_exporter *
weir_worker_exporters(struct weir_worker *w, uint32_t *n)
{
	*n = __atomic_load_n(&w->exporters->n, __ATOMIC_ACQUIRE);
	return w->exporters->ex;
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

static void
on_record(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	struct weir_worker *w = ctx;
	struct weir_flow_key k;
	int dir = weir_flow_key_make(&k, r->src, r->sport, r->dst, r->dport, r->proto, r->vlan);
	uint32_t h = weir_flow_hash(&k);
	uint64_t first = r->start_ms ? r->start_ms : w->now_ms;
	uint64_t last = r->end_ms ? r->end_ms : first;

	struct weir_flow *f = weir_flow_table_lookup(&w->ft, &k, h);
	if (!f) {
		f = weir_flow_table_insert(&w->ft, &k, h);
		if (!f) {
			w->st.flow_table_full++;
			return;
		}
		f->first_ms = first;
		f->a_is_init = (uint8_t)!dir;
		f->sub_init = (uint16_t)(weir_subnet_lookup(w->cfg, r->src) + 1);
		f->sub_resp = (uint16_t)(weir_subnet_lookup(w->cfg, r->dst) + 1);
		f->source = r->source;
		f->in_if = r->in_if;
		f->out_if = r->out_if;
		f->exporter = (uint32_t)(ex - w->exporters->ex) + 1;
		w->st.flows_created++;
	}
	f->bytes[dir] += r->bytes;
	f->pkts[dir] += r->pkts;
	f->tcp_flags |= r->tcp_flags;
	if (first < f->first_ms)
		f->first_ms = first;
	if (last > f->last_ms)
		f->last_ms = last;
	if (r->smac[0] | r->smac[1] | r->smac[2] | r->smac[3] | r->smac[4] | r->smac[5])
		memcpy(dir ? f->bmac : f->amac, r->smac, 6);
	weir_flow_mark_dirty(&w->ft, f);
	w->st.xflow_records++;
}

void
weir_worker_xflow(struct weir_worker *w, const uint8_t src[16], uint16_t sport,
		  const uint8_t *p, uint32_t len)
{
	struct weir_exporter *ex = exporter_get(w, src);
	w->st.xflow_datagrams++;
	if (!ex)
		return;
	ex->port = sport;
	struct weir_flow_sink sink = {
		.rec = on_record,
		.ctx = w,
		.pcfg = &w->cfg->parse,
	};
	weir_xflow_decode(ex, p, len, w->now_ms, &sink);
}
