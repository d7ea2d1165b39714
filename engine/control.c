/* control.c -- sum the workers, keep the flow view, publish to Redis.
 *
 * The control thread's state is its own: nothing here is shared with the
 * workers except what it reads from them (counters, RCU tables, snapshot
 * rings). Hosts: a worker forgets an idle host, so the control thread keeps,
 * per host, the last values it read from each worker plus a "retired" sum of
 * the workers that forgot it; totals never go backwards. VLANs and subnet
 * pairs are few and never forgotten, so they are simply re-summed. Flows:
 * the latest snapshot of each, up to flow-history; the oldest ended ones
 * leave first.
 *
 * Publishing writes only what changed since the last successful cycle,
 * except after a (re)connection, when everything is rewritten. A failed
 * cycle leaves the dirty marks in place, so the next one catches up. Down
 * to fields: once a committed cycle wrote a flow's or host's hash whole,
 * later cycles send its moving fields only (publish_flows, publish_hosts);
 * what was written counts only once its cycle is committed (clear_dirty). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jemalloc/jemalloc.h>
#include <uthash.h>
#include <utlist.h>
#include <urcu-qsbr.h>

#include "weir/redis.h"
#include "udp_collector.h"
#include "control.h"

#include "control_priv.h"
#include "ipfix_export.h"
#include "log.h"
#include "set_batch.h"
#include "tmpl_share.h"

static void log_exporter_errors(struct weir_control *c);
struct ctl_xerr;
static void addr_of_exporter_events(struct weir_control *c, struct ctl_xerr *x,
				    const struct weir_exporter *e);

/* What was last said about an exporter's errors, so the log shows news only. */
struct ctl_xerr {
	uint8_t addr[16];
	UT_hash_handle hh;
	uint64_t err[WEIR_XERR__MAX];
	uint64_t datagrams;          /* at the last change */
	uint64_t changed_ms;
	int up;
	struct weir_ratelimit rl;    /* its error lines: one noisy exporter hides no other */
	uint64_t pass;               /* the last log_exporter_errors pass that met it */
};

static uint64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
weir_ctl_addr_text(const uint8_t a[16], char *out, size_t len)
{
	if (weir_addr_is_v4(a))
		inet_ntop(AF_INET, a + 12, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)len);
}

/* aa:bb:cc:dd:ee:ff (len >= 18) */
static void
mac_text(const uint8_t m[6], char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (len < 18)
		return;
	for (int i = 0; i < 6; i++) {
		out[i * 3] = hex[m[i] >> 4];
		out[i * 3 + 1] = hex[m[i] & 15];
		out[i * 3 + 2] = i < 5 ? ':' : 0;
	}
}

/* PREFIX + what + id, without printf (once per published flow or host). */
static size_t
key_with_id(const struct weir_control *c, char *out, size_t len, const char *what, const char *id)
{
	size_t np = strlen(c->prefix), nw = strlen(what), ni = strlen(id);
	if (np + nw + ni + 1 > len)
		return (size_t)snprintf(out, len, "%s%s%s", c->prefix, what, id);
	memcpy(out, c->prefix, np);
	memcpy(out + np, what, nw);
	memcpy(out + np + nw, id, ni + 1);
	return np + nw + ni;
}

static uint64_t
sig_mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static uint64_t
sig_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t v;
	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&v, b, 8);
		h = sig_mix(h, v);
	}
	v = n;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | b[i];
	return sig_mix(h, v);
}

/* What a flow's hash says besides its counters, last_seen, tcp_flags,
 * state and application: written again only when this changes. */
static uint64_t
flow_sig(const struct weir_flow_snap *s)
{
	uint64_t h = 0x243f6a8885a308d3ull;
	h = sig_bytes(h, s->key.a, 16);
	h = sig_bytes(h, s->key.b, 16);
	h = sig_mix(h, (uint64_t)s->key.pa | (uint64_t)s->key.pb << 16 | (uint64_t)s->key.proto << 32 |
		       (uint64_t)s->key.vlan << 40);
	h = sig_mix(h, (uint64_t)s->a_is_init | (uint64_t)s->worker << 8 | (uint64_t)s->exporter << 32);
	h = sig_mix(h, s->first_ms);
	h = sig_bytes(h, s->amac, 6);
	h = sig_bytes(h, s->bmac, 6);
	h = sig_mix(h, (uint64_t)s->in_if | (uint64_t)s->out_if << 32);
	h = sig_bytes(h, s->exporter_addr, 16);
	h = sig_bytes(h, &s->route, sizeof(s->route));
	return h | 1;	/* 0 means never written */
}

/* The same for a host: its MAC, first_seen and name. */
static uint64_t
host_sig(const struct ctl_host *h)
{
	uint64_t x = 0x13198a2e03707344ull;
	x = sig_bytes(x, h->mac, 6);
	x = sig_mix(x, h->first_ms);
	if (h->name)
		x = sig_bytes(x, h->name, strlen(h->name));
	return x | 1;
}

const char *
weir_ctl_subnet_name(const struct weir_config *cfg, int idx)
{
	return idx >= 0 && (unsigned)idx < cfg->n_subnets ? cfg->subnets[idx].name : "remote";
}

static int
is_local(const struct weir_config *cfg, const uint8_t a[16])
{
	for (unsigned i = 0; i < cfg->n_subnets; i++) {
		const struct weir_subnet *s = &cfg->subnets[i];
		if (!s->local)
			continue;
		int full = s->bits / 8, rem = s->bits % 8;
		if (memcmp(a, s->prefix, (size_t)full) != 0)
			continue;
		if (rem && ((a[full] ^ s->prefix[full]) & (uint8_t)(0xff << (8 - rem))))
			continue;
		return 1;
	}
	return 0;
}

struct weir_control *
weir_control_new(const struct weir_config *cfg, struct weir_worker **workers, unsigned int n)
{
	struct weir_control *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	char err[256];
	c->redis = weir_redis_new(cfg->redis_url, cfg->redis_timeout_ms, err, sizeof(err));
	if (!c->redis) {
		fprintf(stderr, "weir: redis: %s\n", err);
		free(c);
		return NULL;
	}
	c->cfg = cfg;
	c->w = workers;
	c->n_workers = n;
	snprintf(c->prefix, sizeof(c->prefix), "%s{%s}:", cfg->redis_prefix, cfg->node);
	weir_redis_route(c->redis, c->prefix);	/* a cycle's keys all share {node} */
	c->started_ms = wall_ms();
	c->need_full = 1;
	c->ts = weir_ts_new(c->prefix, cfg->data_retention_days);
	c->events = weir_events_new(c->prefix, 10000);
	c->rdns = weir_rdns_new((enum weir_rdns_mode)cfg->resolve, cfg->resolve_rate, cfg->resolve_ttl_s,
				cfg->resolve_server, 0);
	c->idx_add = weir_set_batch_new("SADD");
	c->idx_rem = weir_set_batch_new("SREM");
	if (!c->ts || !c->events || !c->rdns || !c->idx_add || !c->idx_rem) {
		weir_control_free(c);
		return NULL;
	}
	/* IPFIX re-export (ipfix_export.c) */
	if (cfg->n_exports) {
		c->ipfix = weir_ipfix_export_new(cfg, err, sizeof(err));
		if (!c->ipfix) {
			fprintf(stderr, "weir: %s\n", err);
			weir_control_free(c);
			return NULL;
		}
	}
	c->tshare = weir_tmpl_share_new(cfg, workers, n, c->redis);	/* NULL: off */
	snprintf(c->state, sizeof(c->state), "running");
	return c;
}

void
weir_control_free(struct weir_control *c)
{
	if (!c)
		return;
	weir_ipfix_export_free(c->ipfix);	/* IPFIX re-export: sends what is left */
	weir_tmpl_share_free(c->tshare);
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		struct peer *p, *tp;
		HASH_ITER(hh, h->peers, p, tp) {
			HASH_DEL(h->peers, p);
			free(p);
		}
		HASH_DEL(c->hosts, h);
		weir_ctl_apps_free_host(h);
		free(h->name);
		free(h->cur);
		free(h->seen);
		free(h->born);
		free(h);
	}
	WEIR_HASH_FREE_ALL(c->vlans, struct ctl_vlan);
	WEIR_HASH_FREE_ALL(c->pairs, struct ctl_pair);
	struct ctl_flow *f, *tf;
	HASH_ITER(hh, c->flows, f, tf) {
		HASH_DEL(c->flows, f);
		weir_ctl_apps_free_flow(f);
		free(f);
	}
	weir_ctl_apps_free(c);
	WEIR_HASH_FREE_ALL(c->xerrs, struct ctl_xerr);
	free(c->deleted);
	weir_set_batch_free(c->idx_add);
	weir_set_batch_free(c->idx_rem);
	weir_ts_free(c->ts);
	weir_events_free(c->events);
	weir_rdns_free(c->rdns);
	weir_redis_free(c->redis);
	free(c);
}

struct ctl_host *
weir_ctl_host_get(struct weir_control *c, const uint8_t ip[16], uint16_t vlan)
{
	struct ctl_host *h, k;
	memset(&k.key, 0, sizeof(k.key));
	memcpy(k.key.ip, ip, 16);
	k.key.vlan = vlan;
	HASH_FIND(hh, c->hosts, &k.key, sizeof(k.key), h);
	if (h)
		return h;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->cur = calloc((size_t)c->n_workers * H_N, sizeof(uint64_t));
	h->seen = calloc(c->n_workers, sizeof(uint64_t));
	h->born = calloc(c->n_workers, sizeof(uint64_t));
	if (!h->cur || !h->seen || !h->born) {
		free(h->cur);
		free(h->seen);
		free(h->born);
		free(h);
		return NULL;
	}
	h->key = k.key;
	weir_ctl_addr_text(ip, h->ip_text, sizeof(h->ip_text));
	snprintf(h->id, sizeof(h->id), "%s@%u", h->ip_text, vlan);
	h->subnet = weir_subnet_lookup(c->cfg, ip);
	h->local = is_local(c->cfg, ip);
	h->dirty = 1;
	HASH_ADD(hh, c->hosts, key, sizeof(h->key), h);
	return h;
}

struct ctl_host *
weir_ctl_flow_host(struct weir_control *c, struct ctl_flow *f, int b)
{
	struct ctl_host **h = b ? &f->hb : &f->ha;
	if (!*h)
		*h = weir_ctl_host_get(c, b ? f->s.key.b : f->s.key.a, f->s.key.vlan);
	return *h;
}

static void
add_peer(struct ctl_host *h, const uint8_t addr[16])
{
	struct peer *p;
	if (!h || h->n_peers >= 65535)
		return;
	HASH_FIND(hh, h->peers, addr, 16, p);
	if (p)
		return;
	p = malloc(sizeof(*p));
	if (!p)
		return;
	memcpy(p->addr, addr, 16);
	HASH_ADD(hh, h->peers, addr, 16, p);
	h->n_peers++;
	h->dirty = 1;
}

/* Deletions are no longer listed: the next cycle that reaches Redis purges
 * the node's keys and rewrites everything (weir_control_cycle). The listed
 * ones go too: the purge deletes their keys, sending them again is waste. */
static void
unlist_deletes(struct weir_control *c)
{
	c->deleted_overflow = 1;
	c->deletes_overflow++;
	c->n_deleted = 0;
}

/* Queue the DEL, ZREM and index removals of a flow leaving the view.
 * While Redis is away the queue is bounded (flow-history entries): past
 * that, the deletions are not listed and the next connection purges the
 * node's keys and rewrites everything instead. */
static void
note_deleted(struct weir_control *c, struct ctl_flow *f)
{
	if (!c->purged)
		return;	/* nothing written yet: the first connection purges */
	if (c->deleted_overflow || (!c->redis_ok && c->n_deleted >= c->cfg->flow_history)) {
		unlist_deletes(c);
		return;
	}
	if (c->n_deleted == c->cap_deleted) {
		size_t cap = c->cap_deleted ? c->cap_deleted * 2 : 1024;
		struct deleted_flow *d = realloc(c->deleted, cap * sizeof(*d));
		if (!d) {	/* a Redis key may leak: purge and rewrite */
			unlist_deletes(c);
			return;
		}
		c->deleted = d;
		c->cap_deleted = cap;
	}
	/* indexed by a cycle not (yet) known to have landed counts too:
	 * removing what is not there costs nothing */
	int indexed = f->indexed || (f->sent_cycle && f->have_snap);
	c->deleted[c->n_deleted++] = (struct deleted_flow){
		.uid = f->uid, .key = f->s.key, .indexed = indexed, .a_is_init = f->s.a_is_init,
		.ha = f->ha, .hb = f->hb,
		.app = indexed && f->dpi ? f->dpi->app : f->indexed_app,
	};
}

static void
forget_flow(struct weir_control *c, struct ctl_flow *f)
{
	note_deleted(c, f);
	if (f->ended)
		DL_DELETE(c->ended, f);
	HASH_DEL(c->flows, f);
	weir_ctl_apps_free_flow(f);
	free(f);
	c->n_flows--;
	c->flows_dropped_view++;
}

static void
take_snapshot(struct weir_control *c, const struct weir_flow_snap *s)
{
	struct ctl_flow *f;
	HASH_FIND(hh, c->flows, &s->uid, sizeof(s->uid), f);
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f)
			return;
		f->uid = s->uid;
		HASH_ADD(hh, c->flows, uid, sizeof(f->uid), f);
		c->n_flows++;
	}
	int first = !f->have_snap;
	uint64_t db = s->bytes[0] + s->bytes[1] - (f->s.bytes[0] + f->s.bytes[1]);
	uint64_t dp = s->pkts[0] + s->pkts[1] - (f->s.pkts[0] + f->s.pkts[1]);
	f->s = *s;
	f->have_snap = 1;
	if (first && memcmp(s->key.a, s->key.b, 16) != 0) {
		/* a new conversation: each end has a peer (maybe not new) */
		add_peer(weir_ctl_flow_host(c, f, 0), s->key.b);
		add_peer(weir_ctl_flow_host(c, f, 1), s->key.a);
	}
	f->dirty = 1;
	weir_ctl_apps_snapshot(c, f, db, dp);
	if (first)
		weir_ctl_boundary(c, f);
	if (s->end != WEIR_FLOW_END_NONE && !f->ended) {
		f->ended = 1;
		DL_APPEND(c->ended, f);
		if (c->ipfix)	/* IPFIX re-export, once its verdict is in: export_ended() */
			weir_ipfix_export_hold(c->ipfix, s);
	}
	while (c->n_flows > c->cfg->flow_history && c->ended)
		forget_flow(c, c->ended);
}

/* IPFIX re-export of the flows that ended in this drain. A worker sends a
 * flow's verdict before its last snapshot, so once both rings are drained
 * the verdict of every flow held here has arrived (unless its ring was full). */
static void
export_ended(struct weir_control *c)
{
	size_t n;
	const struct weir_flow_snap *s = weir_ipfix_export_held(c->ipfix, &n);
	for (size_t i = 0; i < n; i++) {
		struct ctl_flow *f;
		HASH_FIND(hh, c->flows, &s[i].uid, sizeof(s[i].uid), f);
		weir_ipfix_export_flow(c->ipfix, &s[i], f && f->dpi ? f->dpi->name : NULL);
	}
	weir_ipfix_export_release(c->ipfix);
}

void
weir_control_drain(struct weir_control *c)
{
	/* verdicts before and after: a worker sends one before its flow's
	 * last snapshot, so most find their flow still in the view; those
	 * sent meanwhile reach held IPFIX records (export_ended), and the
	 * few whose flow already left become orphans (drop_orphans) */
	weir_ctl_apps_drain(c);
	for (unsigned int i = 0; i < c->n_workers; i++) {
		const struct weir_flow_snap *s;
		struct weir_spsc_ring *r = &c->w[i]->snaps;
		while ((s = weir_spsc_ring_peek(r))) {
			take_snapshot(c, s);
			weir_spsc_ring_pop(r);
		}
	}
	weir_ctl_apps_drain(c);
	if (c->ipfix)
		export_ended(c);	/* IPFIX re-export */
	weir_tmpl_share_run(c->tshare, wall_ms());	/* template sharing */
	weir_rdns_poll(c->rdns);
}

/* Walk every worker's aggregates under RCU and sum them. */
static void
sum_aggregates(struct weir_control *c)
{
	uint64_t cyc = ++c->cycle;
	struct ctl_vlan *v, *tv;
	HASH_ITER(hh, c->vlans, v, tv) {
		v->bytes = v->pkts = v->flows = v->hosts = 0;
	}
	struct ctl_pair *p, *tp;
	HASH_ITER(hh, c->pairs, p, tp) {
		p->bf = p->br = p->pf = p->pr = p->flows = 0;
	}

	rcu_thread_online();
	for (unsigned int wi = 0; wi < c->n_workers; wi++) {
		struct weir_agg *a = &c->w[wi]->agg;
		uint64_t gen = uatomic_read(&a->fold_gen);
		struct cds_lfht_iter it;

		rcu_read_lock();
		struct weir_agg_host *ah;
		WEIR_LFHT_FOR_EACH(a->hosts, &it, ah, node) {
			struct ctl_host *h = weir_ctl_host_get(c, ah->ip, ah->vlan);
			if (!h)
				continue;
			uint64_t *cur = &h->cur[wi * H_N];
			if (h->born[wi] != ah->born) {
				/* another entry than the one read last: the worker
				 * expired that one and met the host again between two
				 * readings, so no cycle saw it gone; keep its totals */
				for (int k = 0; k < H_ACTIVE; k++)
					h->retired[k] += cur[k];
				h->born[wi] = ah->born;
			}
			cur[HB_SENT] = CMM_LOAD_SHARED(ah->bytes_sent);
			cur[HB_RCVD] = CMM_LOAD_SHARED(ah->bytes_rcvd);
			cur[HP_SENT] = CMM_LOAD_SHARED(ah->pkts_sent);
			cur[HP_RCVD] = CMM_LOAD_SHARED(ah->pkts_rcvd);
			cur[H_FLOWS] = CMM_LOAD_SHARED(ah->flows);
			cur[H_ACTIVE] = (uint64_t)CMM_LOAD_SHARED(ah->flows_active);
			uint64_t first = CMM_LOAD_SHARED(ah->first_ms), last = CMM_LOAD_SHARED(ah->last_ms);
			if (first && (!h->first_ms || first < h->first_ms))
				h->first_ms = first;
			if (last > h->last_ms)
				h->last_ms = last;
			if (ah->mac[0] | ah->mac[1] | ah->mac[2] | ah->mac[3] | ah->mac[4] | ah->mac[5])
				memcpy(h->mac, ah->mac, 6);
			h->seen[wi] = cyc;
		}
		struct weir_agg_vlan *av;
		WEIR_LFHT_FOR_EACH(a->vlans, &it, av, node) {
			HASH_FIND(hh, c->vlans, &av->vlan, sizeof(av->vlan), v);
			if (!v) {
				v = calloc(1, sizeof(*v));
				if (!v)
					continue;
				v->vlan = av->vlan;
				HASH_ADD(hh, c->vlans, vlan, sizeof(v->vlan), v);
			}
			v->bytes += CMM_LOAD_SHARED(av->bytes);
			v->pkts += CMM_LOAD_SHARED(av->pkts);
			v->flows += CMM_LOAD_SHARED(av->flows);
			uint64_t first = CMM_LOAD_SHARED(av->first_ms), last = CMM_LOAD_SHARED(av->last_ms);
			if (first && (!v->first_ms || first < v->first_ms))
				v->first_ms = first;
			if (last > v->last_ms)
				v->last_ms = last;
		}
		struct weir_agg_pair *ap;
		WEIR_LFHT_FOR_EACH(a->pairs, &it, ap, node) {
			uint32_t key = (uint32_t)ap->src << 16 | ap->dst;
			HASH_FIND(hh, c->pairs, &key, sizeof(key), p);
			if (!p) {
				p = calloc(1, sizeof(*p));
				if (!p)
					continue;
				p->key = key;
				HASH_ADD(hh, c->pairs, key, sizeof(p->key), p);
			}
			p->bf += CMM_LOAD_SHARED(ap->bytes_fwd);
			p->br += CMM_LOAD_SHARED(ap->bytes_rev);
			p->pf += CMM_LOAD_SHARED(ap->pkts_fwd);
			p->pr += CMM_LOAD_SHARED(ap->pkts_rev);
			p->flows += CMM_LOAD_SHARED(ap->flows);
			uint64_t first = CMM_LOAD_SHARED(ap->first_ms), last = CMM_LOAD_SHARED(ap->last_ms);
			if (first && (!p->first_ms || first < p->first_ms))
				p->first_ms = first;
			if (last > p->last_ms)
				p->last_ms = last;
		}
		rcu_read_unlock();
		/* every fold up to gen is now in our reading: the worker may
		 * forget hosts it has not touched since */
		uatomic_set(&a->ctl_seen_gen, gen);
	}
	rcu_thread_offline();

	/* hosts: retire what a worker forgot, then total */
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		memcpy(h->tot, h->retired, sizeof(h->tot));
		h->tot[H_ACTIVE] = 0;
		for (unsigned int wi = 0; wi < c->n_workers; wi++) {
			uint64_t *cur = &h->cur[wi * H_N];
			if (h->seen[wi] != cyc && (cur[HB_SENT] | cur[HB_RCVD] | cur[H_FLOWS])) {
				for (int k = 0; k < H_ACTIVE; k++)
					h->retired[k] += cur[k];
				for (int k = 0; k < H_ACTIVE; k++)
					h->tot[k] += cur[k];
				memset(cur, 0, H_N * sizeof(*cur));
				continue;
			}
			for (int k = 0; k < H_N; k++)
				h->tot[k] += cur[k];
		}
		if (memcmp(h->tot, h->pub_tot, sizeof(h->tot)) != 0)
			h->dirty = 1;
		HASH_FIND(hh, c->vlans, &h->key.vlan, sizeof(h->key.vlan), v);
		if (v)
			v->hosts++;
	}
}

static void
rates(struct weir_control *c, uint64_t now_ms)
{
	uint64_t dt = c->last_cycle_ms && now_ms > c->last_cycle_ms ? now_ms - c->last_cycle_ms : 0;
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		if (dt) {
			uint64_t bs = h->tot[HB_SENT] - h->prev_sent, br = h->tot[HB_RCVD] - h->prev_rcvd;
			uint64_t ns = bs * 8000 / dt, nr = br * 8000 / dt;
			if (ns != h->bps_sent || nr != h->bps_rcvd)
				h->dirty = 1;
			h->bps_sent = ns;
			h->bps_rcvd = nr;
		}
		h->prev_sent = h->tot[HB_SENT];
		h->prev_rcvd = h->tot[HB_RCVD];
	}
	struct ctl_vlan *v, *tv;
	HASH_ITER(hh, c->vlans, v, tv) {
		if (dt)
			v->bps = (v->bytes - v->prev_bytes) * 8000 / dt;
		v->prev_bytes = v->bytes;
	}
	struct ctl_pair *p, *tp;
	HASH_ITER(hh, c->pairs, p, tp) {
		uint64_t b = p->bf + p->br;
		if (dt)
			p->bps = (b - p->prev_bytes) * 8000 / dt;
		p->prev_bytes = b;
	}
	uint64_t rx = 0, rxb = 0;
	for (unsigned int i = 0; i < c->n_workers; i++) {
		rx += c->w[i]->st.rx_pkts;
		rxb += c->w[i]->st.rx_bytes;
	}
	if (dt) {
		c->pps = (rx - c->prev_rx_pkts) * 1000 / dt;
		c->bps = (rxb - c->prev_rx_bytes) * 8000 / dt;
	}
	c->prev_rx_pkts = rx;
	c->prev_rx_bytes = rxb;
	c->last_cycle_ms = now_ms;
}

static void
key_of(struct weir_control *c, char *out, size_t len, const char *rest)
{
	snprintf(out, len, "%s%s", c->prefix, rest);
}

/* A host's hash: whole the first time (and after a change of its MAC,
 * first_seen or name, or in a full cycle), else only the fields that move. */
static void
publish_hosts(struct weir_control *c, struct weir_redis *r, int full)
{
	char key[256], zkey[256], mac[24];
	key_of(c, zkey, sizeof(zkey), "hosts");
	weir_redis_zbatch_start(r, zkey);
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		if (!(h->tot[HB_SENT] | h->tot[HB_RCVD] | h->tot[H_FLOWS]))
			continue;	/* known from a flow snapshot only, no totals yet */
		if (h->dirty || full) {
			int whole = full || host_sig(h) != h->pub_sig;
			key_with_id(c, key, sizeof(key), "host:", h->id);
			weir_redis_hset_start(r, key);
			/* what moves first, as in a flow's hash (publish_flows) */
			weir_redis_hset_u64(r, "bytes_sent", h->tot[HB_SENT]);
			weir_redis_hset_u64(r, "bytes_rcvd", h->tot[HB_RCVD]);
			weir_redis_hset_u64(r, "pkts_sent", h->tot[HP_SENT]);
			weir_redis_hset_u64(r, "pkts_rcvd", h->tot[HP_RCVD]);
			weir_redis_hset_u64(r, "flows", h->tot[H_FLOWS]);
			weir_redis_hset_i64(r, "flows_active", (int64_t)h->tot[H_ACTIVE]);
			weir_redis_hset_u64(r, "peers", h->n_peers);
			weir_redis_hset_u64(r, "last_seen", h->last_ms);
			weir_redis_hset_u64(r, "bps_sent", h->bps_sent);
			weir_redis_hset_u64(r, "bps_rcvd", h->bps_rcvd);
			if (whole) {
				weir_redis_hset_str(r, "ip", h->ip_text);
				weir_redis_hset_u64(r, "vlan", h->key.vlan);
				mac_text(h->mac, mac, sizeof(mac));
				weir_redis_hset_str(r, "mac", mac);
				weir_redis_hset_u64(r, "first_seen", h->first_ms);
				weir_redis_hset_u64(r, "local", (uint64_t)h->local);
				weir_redis_hset_str(r, "subnet", weir_ctl_subnet_name(c->cfg, h->subnet));
				weir_redis_hset_str(r, "name", h->name ? h->name : "");
			}
			weir_redis_hset_end(r);
			weir_redis_zbatch_add(r, h->tot[HB_SENT] + h->tot[HB_RCVD], h->id, strlen(h->id));
			h->sent_cycle = c->cycle;
		}
		weir_ctl_apps_publish_host(c, r, h, full);
	}
	weir_redis_zbatch_end(r);
}

static void
publish_vlans_pairs(struct weir_control *c, struct weir_redis *r, int full)
{
	char key[256], zkey[256], member[160];
	key_of(c, zkey, sizeof(zkey), "vlans");
	struct ctl_vlan *v, *tv;
	HASH_ITER(hh, c->vlans, v, tv) {
		if (!full && v->bytes == v->pub_bytes && v->flows == v->pub_flows &&
		    v->hosts == v->pub_hosts && !v->bps)
			continue;
		snprintf(key, sizeof(key), "%svlan:%u", c->prefix, v->vlan);
		weir_redis_hset_start(r, key);
		weir_redis_hset_u64(r, "vlan", v->vlan);
		weir_redis_hset_u64(r, "bytes", v->bytes);
		weir_redis_hset_u64(r, "pkts", v->pkts);
		weir_redis_hset_u64(r, "flows", v->flows);
		weir_redis_hset_u64(r, "hosts", v->hosts);
		weir_redis_hset_u64(r, "first_seen", v->first_ms);
		weir_redis_hset_u64(r, "last_seen", v->last_ms);
		weir_redis_hset_u64(r, "bps", v->bps);
		weir_redis_hset_end(r);
		snprintf(member, sizeof(member), "%u", v->vlan);
		weir_redis_zadd(r, zkey, v->bytes, member);
	}
	key_of(c, zkey, sizeof(zkey), "subnets");
	struct ctl_pair *p, *tp;
	HASH_ITER(hh, c->pairs, p, tp) {
		uint64_t bytes = p->bf + p->br;
		if (!full && bytes == p->pub_bytes && p->flows == p->pub_flows && !p->bps)
			continue;
		const char *src = weir_ctl_subnet_name(c->cfg, (int)(p->key >> 16) - 1);
		const char *dst = weir_ctl_subnet_name(c->cfg, (int)(p->key & 0xffff) - 1);
		snprintf(member, sizeof(member), "%s>%s", src, dst);
		snprintf(key, sizeof(key), "%ssubnet:%s", c->prefix, member);
		weir_redis_hset_start(r, key);
		weir_redis_hset_str(r, "src", src);
		weir_redis_hset_str(r, "dst", dst);
		weir_redis_hset_u64(r, "bytes", bytes);
		weir_redis_hset_u64(r, "pkts", p->pf + p->pr);
		weir_redis_hset_u64(r, "bytes_fwd", p->bf);
		weir_redis_hset_u64(r, "bytes_rev", p->br);
		weir_redis_hset_u64(r, "pkts_fwd", p->pf);
		weir_redis_hset_u64(r, "pkts_rev", p->pr);
		weir_redis_hset_u64(r, "flows", p->flows);
		weir_redis_hset_u64(r, "first_seen", p->first_ms);
		weir_redis_hset_u64(r, "last_seen", p->last_ms);
		weir_redis_hset_u64(r, "bps", p->bps);
		weir_redis_hset_end(r);
		weir_redis_zadd(r, zkey, bytes, member);
	}
}

/* A flow's end b's address as field name (the host's text, kept). */
static void
addr_field(struct weir_control *c, struct weir_redis *r, struct ctl_flow *f, const char *name, int b)
{
	char t[64];
	struct ctl_host *h = f->have_snap ? weir_ctl_flow_host(c, f, b) : NULL;
	if (h) {
		weir_redis_hset_str(r, name, h->ip_text);
		return;
	}
	weir_ctl_addr_text(b ? f->s.key.b : f->s.key.a, t, sizeof(t));
	weir_redis_hset_str(r, name, t);
}

/* A flow's hash: whole the first time (and when flow_sig changes, or in
 * a full cycle), else its counters, last_seen and tcp_flags, plus state
 * and end_reason when it ends and the application fields when its verdict
 * comes. The hash Redis holds is the same either way: HSET only adds or
 * overwrites, and what is left out was written with the same value by a
 * committed cycle. */
/* A flow's path as its router reported it (sFlow 1002/1003, route in
 * flow.h): only what was given. */
static void
route_fields(struct weir_redis *r, const struct weir_flow_route *rt)
{
	static const uint8_t zero[16];
	char t[64];
	if (memcmp(rt->next_hop, zero, 16)) {
		weir_ctl_addr_text(rt->next_hop, t, sizeof(t));
		weir_redis_hset_str(r, "next_hop", t);
	}
	if (rt->src_mask || rt->dst_mask) {
		weir_redis_hset_u64(r, "src_mask", rt->src_mask);
		weir_redis_hset_u64(r, "dst_mask", rt->dst_mask);
	}
	if (rt->src_as || rt->dst_as || rt->src_peer_as || rt->dst_peer_as) {
		weir_redis_hset_u64(r, "src_as", rt->src_as);
		weir_redis_hset_u64(r, "dst_as", rt->dst_as);
		weir_redis_hset_u64(r, "src_peer_as", rt->src_peer_as);
		weir_redis_hset_u64(r, "dst_peer_as", rt->dst_peer_as);
	}
}

static void
publish_flows(struct weir_control *c, struct weir_redis *r, int full)
{
	char key[256], zkey[256], id[24], t[64];
	key_of(c, zkey, sizeof(zkey), "flows");
	for (size_t i = 0; i < c->n_deleted; i++) {
		weir_flow_id(c->deleted[i].uid, id);
		key_with_id(c, key, sizeof(key), "flow:", id);
		weir_redis_cmd_start(r, "DEL");
		weir_redis_arg_str(r, key);
		weir_redis_cmd_end(r);
		weir_redis_cmd_start(r, "ZREM");
		weir_redis_arg_str(r, zkey);
		weir_redis_arg(r, id, 16);
		weir_redis_cmd_end(r);
		weir_ctl_unindex_flow(c, r, &c->deleted[i]);
	}
	weir_redis_zbatch_start(r, zkey);
	struct ctl_flow *f, *tf;
	HASH_ITER(hh, c->flows, f, tf) {
		if ((!f->dirty && !full) || !f->have_snap)
			continue;	/* no snapshot: a verdict alone, nothing to show */
		const struct weir_flow_snap *s = &f->s;
		int ai = s->a_is_init;
		int fw = ai ? 0 : 1, rv = 1 - fw;
		uint64_t sig = flow_sig(s);
		int whole = full || sig != f->pub_sig;
		weir_flow_id(f->uid, id);
		key_with_id(c, key, sizeof(key), "flow:", id);
		weir_redis_hset_start(r, key);
		/* The fields that move come first: a hash this small is a listpack
		 * in Redis, and HSET finds a field by scanning it from the head, so
		 * the first write's order makes every later update cheap (with
		 * the counters behind the static fields an update costs Redis more
		 * than twice as much; docs/benchmarks.md, session 12). */
		weir_redis_hset_u64(r, "bytes", s->bytes[0] + s->bytes[1]);
		weir_redis_hset_u64(r, "pkts", s->pkts[0] + s->pkts[1]);
		weir_redis_hset_u64(r, "bytes_fwd", s->bytes[fw]);
		weir_redis_hset_u64(r, "pkts_fwd", s->pkts[fw]);
		weir_redis_hset_u64(r, "bytes_rev", s->bytes[rv]);
		weir_redis_hset_u64(r, "pkts_rev", s->pkts[rv]);
		weir_redis_hset_u64(r, "last_seen", s->last_ms);
		weir_redis_hset_u64(r, "tcp_flags", s->tcp_flags);
		if (whole) {
			/* src is the initiator: fwd counts its direction */
			uint16_t sp = ai ? s->key.pa : s->key.pb, dp = ai ? s->key.pb : s->key.pa;
			addr_field(c, r, f, "src", !ai);
			addr_field(c, r, f, "dst", ai);
			weir_redis_hset_u64(r, "sport", sp);
			weir_redis_hset_u64(r, "dport", dp);
			weir_redis_hset_u64(r, "proto", s->key.proto);
			weir_redis_hset_u64(r, "vlan", s->key.vlan);
			weir_redis_hset_u64(r, "first_seen", s->first_ms);
			mac_text(ai ? s->amac : s->bmac, t, sizeof(t));
			weir_redis_hset_str(r, "src_mac", t);
			mac_text(ai ? s->bmac : s->amac, t, sizeof(t));
			weir_redis_hset_str(r, "dst_mac", t);
			weir_redis_hset_u64(r, "worker", s->worker);
			if (s->exporter) {
				uint32_t n;
				struct weir_exporter *ex = weir_worker_exporters(c->w[s->worker], &n);
				if (s->exporter <= n) {
					weir_ctl_addr_text(ex[s->exporter - 1].addr, t, sizeof(t));
					weir_redis_hset_str(r, "exporter", t);
				}
				weir_redis_hset_u64(r, "in_if", s->in_if);
				weir_redis_hset_u64(r, "out_if", s->out_if);
				if (s->vrf)
					weir_redis_hset_u64(r, "vrf", s->vrf);
				route_fields(r, &s->route);
			}
		}
		if (whole || s->end != f->pub_end) {
			weir_redis_hset_str(r, "state", s->end == WEIR_FLOW_END_NONE ? "active" : "ended");
			weir_redis_hset_str(r, "end_reason", s->end == WEIR_FLOW_END_NONE ? "" :
					    weir_flow_end_names[s->end]);
		}
		if (whole || (f->dpi != NULL) != f->pub_dpi)
			weir_ctl_apps_flow_fields(r, f);
		weir_redis_hset_end(r);
		weir_ctl_index_flow(c, r, f, full);
		if (f->ended && !f->streamed)
			weir_ctl_stream_ended(c, r, f);
		weir_redis_zbatch_add(r, s->bytes[0] + s->bytes[1], id, 16);
		f->sig = sig;
		f->sent_cycle = c->cycle;
	}
	weir_redis_zbatch_end(r);
	weir_ctl_index_send(c, r);
}

static void
publish_exporters(struct weir_control *c, struct weir_redis *r)
{
	char key[256], zkey[256], addr[64], f[64];
	key_of(c, zkey, sizeof(zkey), "exporters");
	for (unsigned int wi = 0; wi < c->n_workers; wi++) {
		uint32_t n;
		struct weir_exporter *ex = weir_worker_exporters(c->w[wi], &n);
		for (uint32_t i = 0; i < n; i++) {
			const struct weir_exporter *e = &ex[i];
			weir_ctl_addr_text(e->addr, addr, sizeof(addr));
			snprintf(key, sizeof(key), "%sexporter:%s", c->prefix, addr);
			weir_redis_hset_start(r, key);
			weir_redis_hset_str(r, "address", addr);
			weir_redis_hset_u64(r, "version", e->last_version);
			weir_redis_hset_u64(r, "datagrams", e->datagrams);
			weir_redis_hset_u64(r, "records", e->records);
			weir_redis_hset_u64(r, "bytes", e->bytes);
			weir_redis_hset_u64(r, "pkts", e->pkts);
			weir_redis_hset_u64(r, "templates", e->templates);
			weir_redis_hset_u64(r, "templates_from_redis", e->templates_from_redis);
			weir_redis_hset_u64(r, "held", e->held);
			weir_redis_hset_u64(r, "template_bytes", e->mem_bytes);
			weir_redis_hset_u64(r, "seq_lost", e->seq_lost);
			weir_redis_hset_u64(r, "seq_resets", e->seq_resets);
			weir_redis_hset_u64(r, "errors", e->errors);
			for (int k = 0; k < WEIR_XERR__MAX; k++) {
				if (!e->err[k])
					continue;
				snprintf(f, sizeof(f), "err_%s", weir_xerr_names[k]);
				weir_redis_hset_u64(r, f, e->err[k]);
			}
			weir_redis_hset_u64(r, "sampling", e->sampling);
			struct weir_sflow_summary sf;
			if (weir_sflow_summary(e, &sf)) {
				weir_redis_hset_u64(r, "sflow_drops", e->sflow_drops);
				weir_redis_hset_u64(r, "sflow_pool_pkts", sf.pool_pkts);
				weir_redis_hset_u64(r, "sflow_flow_samples", sf.flow_samples);
				weir_redis_hset_u64(r, "sflow_counter_samples", sf.counter_samples);
				weir_redis_hset_u64(r, "sflow_samples_skipped", sf.samples_skipped);
				weir_redis_hset_u64(r, "sflow_records_skipped", sf.records_skipped);
				weir_redis_hset_u64(r, "sflow_sources_evicted", sf.sources_evicted);
			}
			weir_redis_hset_u64(r, "first_seen", e->first_seen_ms);
			weir_redis_hset_u64(r, "last_seen", e->last_seen_ms);
			weir_redis_hset_end(r);
			weir_redis_zadd(r, zkey, e->records, addr);
		}
	}
	/* exporters a worker evicted (collect.c exporter_evict) leave Redis;
	 * their entries stay until a cycle carrying this lands
	 * (forget_evicted_exporters), so a lost cycle's DEL is sent again */
	struct ctl_xerr *x, *tx;
	HASH_ITER(hh, c->xerrs, x, tx) {
		if (x->pass == c->xerr_pass)
			continue;
		weir_ctl_addr_text(x->addr, addr, sizeof(addr));
		snprintf(key, sizeof(key), "%sexporter:%s", c->prefix, addr);
		weir_redis_cmdf(r, "DEL %s", key);
		weir_redis_cmdf(r, "ZREM %s %s", zkey, addr);
	}
}

/* The cycle landed: the evicted exporters it removed from Redis are gone. */
static void
forget_evicted_exporters(struct weir_control *c)
{
	struct ctl_xerr *x, *tx;
	HASH_ITER(hh, c->xerrs, x, tx) {
		if (x->pass == c->xerr_pass)
			continue;
		HASH_DEL(c->xerrs, x);
		free(x);
	}
}

static void
publish_interfaces(struct weir_control *c, struct weir_redis *r)
{
	char key[256], zkey[256], member[96], addr[64];
	key_of(c, zkey, sizeof(zkey), "interfaces");
	for (unsigned int wi = 0; wi < c->n_workers; wi++) {
		uint32_t n_ex, slots;
		struct weir_exporter *ex = weir_worker_exporters(c->w[wi], &n_ex);
		struct weir_iface *ifs = weir_worker_interfaces(c->w[wi], &slots);
		for (uint32_t k = 0; k < slots; k++) {
			struct weir_iface copy;
			const struct weir_iface *i = &copy;
			if (!weir_worker_iface_read(&ifs[k], n_ex, &copy))
				continue;
			weir_ctl_addr_text(ex[i->exporter - 1].addr, addr, sizeof(addr));
			snprintf(member, sizeof(member), "%s#%u", addr, i->ifindex);
			snprintf(key, sizeof(key), "%sinterface:%s", c->prefix, member);
			char name[sizeof(i->name)];
			memcpy(name, i->name, sizeof(name));
			name[sizeof(name) - 1] = 0;
			weir_redis_hset_start(r, key);
			weir_redis_hset_str(r, "exporter", addr);
			weir_redis_hset_u64(r, "ifindex", i->ifindex);
			weir_redis_hset_str(r, "name", name);
			weir_redis_hset_u64(r, "bytes_in", i->bytes_in);
			weir_redis_hset_u64(r, "bytes_out", i->bytes_out);
			weir_redis_hset_u64(r, "pkts_in", i->pkts_in);
			weir_redis_hset_u64(r, "pkts_out", i->pkts_out);
			if (i->c.have) {
				weir_redis_hset_u64(r, "speed", i->c.speed);
				weir_redis_hset_u64(r, "in_octets", i->c.in_octets);
				weir_redis_hset_u64(r, "out_octets", i->c.out_octets);
				weir_redis_hset_u64(r, "in_errors", i->c.in_errors);
				weir_redis_hset_u64(r, "out_errors", i->c.out_errors);
				weir_redis_hset_u64(r, "in_discards", i->c.in_discards);
				weir_redis_hset_u64(r, "out_discards", i->c.out_discards);
				weir_redis_hset_u64(r, "status", i->c.status);
			}
			weir_redis_hset_end(r);
			weir_redis_zadd(r, zkey, i->bytes_in + i->bytes_out, member);
		}
	}
}

static uint64_t
je_stat(const char *name)
{
	size_t v = 0, sz = sizeof(v);
	if (mallctl(name, &v, &sz, NULL, 0) != 0)
		return 0;
	return v;
}

static void
publish_health(struct weir_control *c, struct weir_redis *r, uint64_t now_ms)
{
	char key[256], f[80];
	struct weir_worker_stats t;
	memset(&t, 0, sizeof(t));
	uint64_t agg_fail = 0, hosts_expired = 0, x_err = 0;
	for (unsigned int i = 0; i < c->n_workers; i++) {
		const struct weir_worker_stats *s = &c->w[i]->st;
		const uint64_t *src = (const uint64_t *)s;
		uint64_t *dst = (uint64_t *)&t;
		for (size_t k = 0; k < offsetof(struct weir_worker_stats, now_ms) / 8; k++)
			dst[k] += src[k];
		agg_fail += c->w[i]->agg.alloc_failed;
		hosts_expired += c->w[i]->agg.hosts_expired;
		uint32_t n;
		struct weir_exporter *ex = weir_worker_exporters(c->w[i], &n);
		for (uint32_t k = 0; k < n; k++)
			x_err += ex[k].errors;
	}
	uint64_t epoch = 1;
	size_t esz = sizeof(epoch);
	mallctl("epoch", &epoch, &esz, &epoch, esz);
	const struct weir_redis_stats *rs = weir_redis_stats(c->redis);

	key_of(c, key, sizeof(key), "health");
	weir_redis_hset_start(r, key);
	weir_redis_hset_u64(r, "rx_pkts", t.rx_pkts);
	weir_redis_hset_u64(r, "rx_bytes", t.rx_bytes);
	weir_redis_hset_u64(r, "rx_pps", c->pps);
	weir_redis_hset_u64(r, "rx_bps", c->bps);
	weir_redis_hset_u64(r, "rx_missed", c->ports.imissed);
	weir_redis_hset_u64(r, "rx_errors", c->ports.ierrors);
	weir_redis_hset_u64(r, "rx_nombuf", c->ports.rx_nombuf);
	weir_redis_hset_u64(r, "parsed_pkts", t.parsed);
	weir_redis_hset_u64(r, "non_ip", t.parse[WEIR_PARSE_NON_IP]);
	uint64_t drops = 0;
	for (int k = WEIR_PARSE_NON_IP + 1; k < WEIR_PARSE__MAX; k++) {
		snprintf(f, sizeof(f), "drop_%s", weir_parse_result_names[k]);
		weir_redis_hset_u64(r, f, t.parse[k]);
		drops += t.parse[k];
	}
	weir_redis_hset_u64(r, "parse_drops", drops);
	weir_redis_hset_u64(r, "flows_created", t.flows_created);
	weir_redis_hset_u64(r, "flows_active", t.flows_active);
	weir_redis_hset_u64(r, "flows_ended_idle", t.flows_ended[WEIR_FLOW_END_IDLE]);
	weir_redis_hset_u64(r, "flows_ended_active", t.flows_ended[WEIR_FLOW_END_ACTIVE]);
	weir_redis_hset_u64(r, "flows_ended_evicted", t.flows_ended[WEIR_FLOW_END_EVICTED]);
	weir_redis_hset_u64(r, "flows_ended_flush", t.flows_ended[WEIR_FLOW_END_FLUSH]);
	weir_redis_hset_u64(r, "flow_table_full", t.flow_table_full);
	weir_redis_hset_u64(r, "frag_unmatched", t.frag_unmatched);
	weir_redis_hset_u64(r, "flow_ring_drops", t.snap_drops);
	weir_redis_hset_u64(r, "ring_waits", t.ring_waits);
	weir_redis_hset_u64(r, "flows_left_view", c->flows_dropped_view);
	weir_redis_hset_u64(r, "dist_drops", t.dist_drops);
	weir_redis_hset_u64(r, "xflow_datagrams", t.xflow_datagrams);
	weir_redis_hset_u64(r, "xflow_steered", t.xflow_steered);
	weir_redis_hset_u64(r, "xflow_steer_drops", t.xflow_steer_drops);
	weir_redis_hset_u64(r, "collect_refused", t.collect_refused + c->udp.refused);
	weir_redis_hset_u64(r, "exporters_evicted", t.exporters_evicted);
	weir_redis_hset_u64(r, "dpi_flows", t.dpi_flows);
	weir_redis_hset_u64(r, "dpi_detected", t.dpi_detected);
	weir_redis_hset_u64(r, "dpi_gave_up", t.dpi_gave_up);
	weir_redis_hset_u64(r, "dpi_pool_full", t.dpi_pool_full);
	weir_redis_hset_u64(r, "dpi_pkts", t.dpi_pkts);
	weir_redis_hset_u64(r, "dpi_msg_drops", t.dpi_msg_drops);
	weir_redis_hset_i64(r, "dpi_mem_bytes", (int64_t)t.dpi_mem);
	weir_redis_hset_u64(r, "hostdns_dropped", c->hostdns_dropped);
	weir_redis_hset_u64(r, "xflow_records", t.xflow_records);
	weir_redis_hset_u64(r, "collect_datagrams", t.collect_datagrams);
	weir_redis_hset_u64(r, "idle_sleeps", t.idle_sleeps);
	weir_redis_hset_u64(r, "folds_deferred", t.folds_deferred);
	weir_redis_hset_u64(r, "collect_kernel_drops", c->udp.kernel_drops);
	weir_redis_hset_u64(r, "collect_too_big", c->udp.too_big);
	weir_redis_hset_u64(r, "collect_ring_full", c->udp.ring_full);
	weir_redis_hset_u64(r, "collect_no_mbuf", c->udp.no_mbuf);
	weir_redis_hset_u64(r, "collect_waits", c->udp.waits);
	weir_redis_hset_u64(r, "xflow_errors", x_err);
	if (c->tshare) {	/* template sharing (tmpl_share.c) */
		const struct weir_tmpl_share_stats *ss = weir_tmpl_share_stats(c->tshare);
		weir_redis_hset_u64(r, "templates_shared", ss->shared);
		weir_redis_hset_u64(r, "templates_unshared", ss->withdrawn);
		weir_redis_hset_u64(r, "template_lookups", ss->lookups);
		weir_redis_hset_u64(r, "template_answers", ss->answers);
		weir_redis_hset_u64(r, "template_misses", ss->misses);
		weir_redis_hset_u64(r, "templates_from_redis", t.tmpl_installed);
		weir_redis_hset_u64(r, "template_share_bad", ss->bad + t.tmpl_refused);
		weir_redis_hset_u64(r, "template_share_drops", ss->drops + t.tmpl_msg_drops);
	}
	weir_redis_hset_u64(r, "exporters_full", t.exporters_full);
	weir_redis_hset_u64(r, "agg_alloc_failed", agg_fail);
	weir_redis_hset_u64(r, "hosts_expired_workers", hosts_expired);
	weir_redis_hset_u64(r, "hosts", HASH_COUNT(c->hosts));
	/* this cycle counted as landed: the hash lands with it or not at all */
	weir_redis_hset_u64(r, "events_sent", weir_events_sent_if_ok(c->events));
	weir_redis_hset_u64(r, "events_dropped", weir_events_dropped(c->events));
	weir_redis_hset_u64(r, "series", weir_ts_entities(c->ts));
	weir_redis_hset_u64(r, "series_points_dropped", weir_ts_dropped(c->ts));
	weir_redis_hset_u64(r, "flow_deletes_overflow", c->deletes_overflow);
	weir_redis_hset_u64(r, "dpi_verdicts_orphaned", c->verdicts_orphaned);
	struct weir_rdns_stats ds;
	weir_rdns_stats(c->rdns, &ds);
	weir_redis_hset_u64(r, "rdns_queries", ds.queries);
	weir_redis_hset_u64(r, "rdns_answers", ds.answers);
	weir_redis_hset_u64(r, "rdns_failures", ds.failures);
	weir_redis_hset_u64(r, "rdns_rate_limited", ds.rate_limited);
	weir_redis_hset_u64(r, "rdns_cache_full", ds.cache_full);
	weir_redis_hset_u64(r, "rdns_cached", ds.cached);
	if (c->ipfix) {	/* IPFIX re-export */
		const struct weir_ipfix_export_stats *xs = weir_ipfix_export_stats(c->ipfix);
		weir_redis_hset_u64(r, "export_records", xs->records);
		weir_redis_hset_u64(r, "export_messages", xs->messages);
		weir_redis_hset_u64(r, "export_errors", xs->send_errors);
		weir_redis_hset_u64(r, "export_dropped", xs->dropped);
	}
	weir_redis_hset_u64(r, "publish_cycles", rs->cycles_ok + 1);	/* this one, as above */
	weir_redis_hset_u64(r, "publish_errors", rs->cycles_failed);
	weir_redis_hset_u64(r, "publish_lost_cycles", c->lost_total);
	weir_redis_hset_u64(r, "publish_lag_ms", c->publish_lag_ms);
	weir_redis_hset_u64(r, "publish_ms", c->publish_ms);
	weir_redis_hset_u64(r, "redis_reconnects", rs->connects ? rs->connects - 1 : 0);
	weir_redis_hset_u64(r, "redis_redirects", rs->redirects);
	weir_redis_hset_u64(r, "redis_rediscoveries", rs->rediscoveries);
	weir_redis_hset_u64(r, "mem_allocated", je_stat("stats.allocated"));
	weir_redis_hset_u64(r, "mem_resident", je_stat("stats.resident"));
	weir_redis_hset_u64(r, "workers", c->n_workers);
	weir_redis_hset_u64(r, "uptime_ms", now_ms - c->started_ms);
	uint64_t stalls = 0;
	for (unsigned int i = 0; i < c->n_workers; i++)
		stalls += c->w[i]->stalls;
	weir_redis_hset_u64(r, "worker_stalls", stalls);
	for (unsigned int i = 0; i < c->n_workers; i++) {
		snprintf(f, sizeof(f), "w%u_rx_pkts", i);
		weir_redis_hset_u64(r, f, c->w[i]->st.rx_pkts);
		snprintf(f, sizeof(f), "w%u_dist_out", i);
		weir_redis_hset_u64(r, f, c->w[i]->st.dist_out);
		snprintf(f, sizeof(f), "w%u_flows_active", i);
		weir_redis_hset_u64(r, f, c->w[i]->st.flows_active);
		snprintf(f, sizeof(f), "w%u_dpi_mem_bytes", i);
		weir_redis_hset_i64(r, f, (int64_t)c->w[i]->st.dpi_mem);
	}
	weir_redis_hset_end(r);

	key_of(c, key, sizeof(key), "meta");
	weir_redis_hset_start(r, key);
	weir_redis_hset_u64(r, "version", 1);
	weir_redis_hset_str(r, "node", c->cfg->node);
	weir_redis_hset_u64(r, "started_ms", c->started_ms);
	weir_redis_hset_u64(r, "updated_ms", now_ms);
	weir_redis_hset_u64(r, "cycle", rs->cycles_ok + 1);
	weir_redis_hset_u64(r, "interval_ms", c->cfg->publish_interval_ms);
	weir_redis_hset_str(r, "state", c->state);
	weir_redis_hset_str(r, "source", c->source);
	weir_redis_hset_end(r);
}

/* At the first connection, delete the previous run's picture of the
 * present (hosts, flows, aggregates, indexes, health) so it does not mix
 * with ours. History survives a restart: time series (ts:*), the events
 * and ended-flow streams, and weir-alertd's alert:* / alerts:* keys.
 * in_cycle: as the first command of the open MULTI, so that the purge and
 * the full rewrite after it land together or not at all (a purge sent
 * alone to a frozen Redis could run after the rewrite). */
static int
purge_node(struct weir_control *c, int in_cycle)
{
	static const char lua[] =
		"local n=0 local cur='0' local p=KEYS[1] "
		"local keep={p..'ts:', p..'events', p..'flows:ended', p..'alert'} "
		"repeat local r=redis.call('SCAN',cur,'MATCH',ARGV[1],'COUNT',1000) cur=r[1] "
		"for _,k in ipairs(r[2]) do local skip=false "
		"for _,q in ipairs(keep) do if string.sub(k,1,#q)==q then skip=true end end "
		"if not skip then redis.call('UNLINK',k) n=n+1 end end until cur=='0' return n";
	char pattern[256];
	snprintf(pattern, sizeof(pattern), "%s*", c->prefix);
	/* Lua keeps it one round trip and atomic; the prefix is our own. It is
	 * the declared key, so in a Redis Cluster the script runs on the master
	 * of the node's slot, where every key it matches lives (one hash tag). */
	if (in_cycle) {
		weir_redis_cmdf(c->redis, "EVAL %s 1 %s %s", lua, c->prefix, pattern);
		return 0;
	}
	return weir_redis_simple(c->redis, "EVAL %s 1 %s %s", lua, c->prefix, pattern);
}

/* The cycle landed: what it wrote is what Redis holds. */
static void
clear_dirty(struct weir_control *c)
{
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		h->dirty = 0;
		memcpy(h->pub_tot, h->tot, sizeof(h->tot));
		if (h->sent_cycle == c->cycle)
			h->pub_sig = host_sig(h);
	}
	struct ctl_vlan *v, *tv;
	HASH_ITER(hh, c->vlans, v, tv) {
		v->pub_bytes = v->bytes;
		v->pub_flows = v->flows;
		v->pub_hosts = v->hosts;
	}
	struct ctl_pair *p, *tp;
	HASH_ITER(hh, c->pairs, p, tp) {
		p->pub_bytes = p->bf + p->br;
		p->pub_flows = p->flows;
	}
	struct ctl_flow *f, *tf;
	HASH_ITER(hh, c->flows, f, tf) {
		f->dirty = 0;
		if (f->sent_cycle != c->cycle)
			continue;
		f->pub_sig = f->sig;
		f->pub_end = f->s.end;
		f->pub_dpi = f->dpi != NULL;
		if (f->have_snap) {	/* weir_ctl_index_flow wrote its sets */
			f->indexed = 1;
			f->indexed_app = f->dpi ? f->dpi->app : NULL;
		}
	}
	c->n_deleted = 0;
	forget_evicted_exporters(c);
	weir_ctl_apps_clear_dirty(c);
}

static uint64_t
workers_sum(const struct weir_control *c, size_t off)
{
	uint64_t v = 0;
	for (unsigned int i = 0; i < c->n_workers; i++)
		v += *(const uint64_t *)((const char *)&c->w[i]->st + off);
	return v;
}

/* A `drops` health event when a loss counter rose: the first rise at
 * once, then at most one event per counter a minute with the sum of what
 * was lost since the last one, so a steady loss is one line a minute. */
static void
drop_events(struct weir_control *c, uint64_t now_ms)
{
#define W(f) workers_sum(c, offsetof(struct weir_worker_stats, f))
	const struct { const char *name; uint64_t v; } k[CTL_DROP_COUNTERS] = {
		{ "rx_missed", c->ports.imissed },
		{ "rx_errors", c->ports.ierrors },
		{ "rx_nombuf", c->ports.rx_nombuf },
		{ "dist_drops", W(dist_drops) },
		{ "flow_ring_drops", W(snap_drops) },
		{ "dpi_msg_drops", W(dpi_msg_drops) },
		{ "exporters_full", W(exporters_full) },
		{ "collect_kernel_drops", c->udp.kernel_drops },
		{ "collect_ring_full", c->udp.ring_full },
		{ "collect_no_mbuf", c->udp.no_mbuf },
		{ "collect_too_big", c->udp.too_big },
		{ "xflow_steer_drops", W(xflow_steer_drops) },
	};
#undef W
	struct ctl_drops *d = &c->drops;
	for (int i = 0; i < CTL_DROP_COUNTERS; i++) {
		if (k[i].v <= d->said[i] || (d->said_ms[i] && now_ms - d->said_ms[i] < 60000))
			continue;
		char delta[24], total[24];
		snprintf(delta, sizeof(delta), "%llu", (unsigned long long)(k[i].v - d->said[i]));
		snprintf(total, sizeof(total), "%llu", (unsigned long long)k[i].v);
		weir_events_add(c->events, now_ms, "health", "what", "drops", "counter", k[i].name,
				"delta", delta, "total", total, NULL);
		d->said[i] = k[i].v;
		d->said_ms[i] = now_ms;
	}
}

/* A verdict kept for a flow whose snapshot never came: the flow ended and
 * left the view before its verdict was read (workers snapshot every flow
 * that moved twice a cycle, so ten cycles is no first snapshot late).
 * Without this it would stay for ever, counted in flow-history, pushing
 * real flows out. */
static void
drop_orphans(struct weir_control *c)
{
	struct ctl_flow *f, *tf;
	HASH_ITER(hh, c->flows, f, tf) {
		if (f->have_snap)
			continue;
		if (!f->snapless_cycle) {
			f->snapless_cycle = c->cycle;
			continue;
		}
		if (c->cycle - f->snapless_cycle < 10)	/* a first snapshot comes within one */
			continue;
		HASH_DEL(c->flows, f);
		weir_ctl_apps_free_flow(f);
		free(f);
		c->n_flows--;
		c->verdicts_orphaned++;
	}
}

void
weir_control_cycle(struct weir_control *c, uint64_t now_ms)
{
	weir_control_drain(c);
	if (c->ipfix)
		weir_ipfix_export_flush(c->ipfix, now_ms);	/* IPFIX re-export */
	log_exporter_errors(c);
	sum_aggregates(c);
	drop_orphans(c);
	rates(c, now_ms);
	weir_ts_begin(c->ts, now_ms, c->cfg->publish_interval_ms);	/* SIGHUP may change it */
	weir_ctl_observe(c);
	weir_ctl_hosts_news(c, now_ms);
	drop_events(c, now_ms);

	int fresh = 0;
	if (!weir_redis_ensure(c->redis, now_ms, &fresh)) {
		c->redis_ok = 0;
		c->need_full = 1;
		c->lost_since_ok++;
		c->lost_total++;
		weir_events_committed(c->events, 0);	/* bounds the queue while away */
		return;
	}
	if (!c->purged) {
		purge_node(c, 0);
		c->purged = 1;
	}
	/* more flows left the view while Redis was away than we keep
	 * deletions for: clear the picture and write it all again */
	int repurge = c->deleted_overflow;
	if (repurge)
		c->need_full = 1;
	if (fresh)	/* the node registry readers merge over (docs/scaling.md) */
		weir_redis_simple(c->redis, "HSET %snodes %s %llu", c->cfg->redis_prefix,
				  c->cfg->node, (unsigned long long)c->started_ms);
	if (fresh)
		c->need_full = 1;
	uint64_t t0 = wall_ms();
	struct weir_redis *r = c->redis;
	weir_redis_begin(r);
	if (repurge)
		purge_node(c, 1);
	publish_hosts(c, r, c->need_full);
	publish_vlans_pairs(c, r, c->need_full);
	publish_flows(c, r, c->need_full);
	weir_ctl_apps_publish(c, r, c->need_full);
	publish_exporters(c, r);
	publish_interfaces(c, r);
	weir_ts_publish(c->ts, r, strcmp(c->state, "running") != 0, c->need_full);
	if (c->lost_since_ok) {
		c->last_outage = (uint64_t)c->lost_since_ok;
		char lost[24];
		snprintf(lost, sizeof(lost), "%d", c->lost_since_ok);
		weir_events_add(c->events, now_ms, "health", "what", "redis_back", "lost_cycles", lost, NULL);
	}
	weir_events_publish(c->events, r);
	publish_health(c, r, now_ms);
	int ok = weir_redis_commit(r) == 0;
	weir_ts_committed(c->ts, ok);
	weir_events_committed(c->events, ok);
	if (ok) {
		clear_dirty(c);
		if (repurge)
			c->deleted_overflow = 0;
		c->need_full = 0;
		c->redis_ok = 1;
		c->lost_since_ok = 0;
	} else {
		c->redis_ok = 0;
		c->lost_since_ok++;
		c->lost_total++;
		c->need_full = !weir_redis_connected(r) || c->need_full;
	}
	uint64_t t1 = wall_ms();
	c->publish_ms = t1 - t0;
	c->publish_lag_ms = t1 - now_ms;
}

void
weir_control_set_port_counters(struct weir_control *c, const struct weir_port_counters *pc)
{
	c->ports = *pc;
}

/* One rate-limited line per exporter whose decode errors rose since the
 * last cycle, naming the reasons: the counters say how many, the log says
 * that it is happening and to whom. */
static void
log_exporter_errors(struct weir_control *c)
{
	char addr[64], why[512];
	c->xerr_pass++;
	for (unsigned int wi = 0; wi < c->n_workers; wi++) {
		uint32_t n;
		struct weir_exporter *ex = weir_worker_exporters(c->w[wi], &n);
		for (uint32_t i = 0; i < n; i++) {
			struct ctl_xerr *x;
			HASH_FIND(hh, c->xerrs, ex[i].addr, 16, x);
			if (!x) {
				x = calloc(1, sizeof(*x));
				if (!x)
					continue;
				memcpy(x->addr, ex[i].addr, 16);
				HASH_ADD(hh, c->xerrs, addr, 16, x);
			} else if (x->pass + 1 < c->xerr_pass) {
				/* evicted, and back before a cycle landed
				 * (forget_evicted_exporters): a new exporter */
				memset(x->err, 0, sizeof(x->err));
				x->datagrams = x->changed_ms = 0;
				x->up = 0;
				memset(&x->rl, 0, sizeof(x->rl));
			}
			x->pass = c->xerr_pass;
			addr_of_exporter_events(c, x, &ex[i]);
			size_t len = 0;
			uint64_t total = 0;
			why[0] = 0;
			for (int k = 0; k < WEIR_XERR__MAX; k++) {
				uint64_t now = ex[i].err[k];
				if (now > x->err[k] && len < sizeof(why) - 64) {
					len += (size_t)snprintf(why + len, sizeof(why) - len, "%s%s +%llu",
								len ? ", " : "", weir_xerr_names[k],
								(unsigned long long)(now - x->err[k]));
					total += now - x->err[k];
				}
			}
			/* Limited per exporter; what a held-back line would have
			 * said is in the next one (x->err moves only when printed),
			 * so no count of held-back lines is wanted (NULL). */
			if (!total || !weir_ratelimit_ok(&x->rl, 10000, NULL))
				continue;
			memcpy(x->err, ex[i].err, sizeof(x->err));
			weir_ctl_addr_text(ex[i].addr, addr, sizeof(addr));
			weir_log(WEIR_LOG_WARN, "exporter %s: %llu datagram(s) or record(s) refused: %s "
				 "(weirctl exporters shows the totals)", addr, (unsigned long long)total, why);
		}
	}
}

/* exporter_up when datagrams arrive from a silent (or new) exporter,
 * exporter_down when none came for exporter-timeout seconds. */
static void
addr_of_exporter_events(struct weir_control *c, struct ctl_xerr *x, const struct weir_exporter *e)
{
	char addr[64], silent[24];
	uint64_t now = wall_ms();
	uint64_t dg = e->datagrams;
	weir_ctl_addr_text(e->addr, addr, sizeof(addr));
	if (dg != x->datagrams) {
		x->datagrams = dg;
		x->changed_ms = now;
		if (!x->up) {
			x->up = 1;
			weir_events_add(c->events, now, "exporter_up", "exporter", addr, NULL);
		}
	} else if (x->up && now > x->changed_ms + (uint64_t)c->cfg->exporter_timeout_s * 1000) {
		x->up = 0;
		snprintf(silent, sizeof(silent), "%llu", (unsigned long long)((now - x->changed_ms) / 1000));
		weir_events_add(c->events, now, "exporter_down", "exporter", addr, "silent_s", silent, NULL);
		WEIR_LOG_RL(WEIR_LOG_WARN, 10000, "exporter %s silent for %s s", addr, silent);
	}
}

void
weir_control_republish(struct weir_control *c)
{
	c->need_full = 1;
}

void
weir_control_set_collector_stats(struct weir_control *c, const struct weir_udp_stats *st)
{
	c->udp = *st;
}

void
weir_control_set_state(struct weir_control *c, const char *state, const char *source)
{
	snprintf(c->state, sizeof(c->state), "%s", state);
	if (source)
		snprintf(c->source, sizeof(c->source), "%s", source);
}

void
weir_control_settle_names(struct weir_control *c, uint64_t max_ms)
{
	uint64_t end = wall_ms() + max_ms;
	sum_aggregates(c);
	weir_ctl_hosts_news(c, wall_ms());
	while (weir_rdns_pending(c->rdns) && wall_ms() < end) {
		weir_rdns_poll(c->rdns);
		struct timespec ts = { 0, 5000000 };
		nanosleep(&ts, NULL);
	}
	weir_ctl_hosts_news(c, wall_ms());
}

const char *
weir_control_redis_name(const struct weir_control *c)
{
	return weir_redis_describe(c->redis);
}

int
weir_control_redis_ok(const struct weir_control *c)
{
	return c->redis_ok;
}

uint64_t
weir_control_last_outage(const struct weir_control *c)
{
	return c->last_outage;
}

struct weir_events *
weir_control_events(struct weir_control *c)
{
	return c->events;
}

void
weir_control_status_line(struct weir_control *c, char *buf, size_t len)
{
	uint64_t rx = 0, flows = 0, drops = 0, snapdrop = 0, full = 0;
	for (unsigned int i = 0; i < c->n_workers; i++) {
		const struct weir_worker_stats *s = &c->w[i]->st;
		rx += s->rx_pkts;
		flows += s->flows_active;
		for (int k = WEIR_PARSE_NON_IP + 1; k < WEIR_PARSE__MAX; k++)
			drops += s->parse[k];
		snapdrop += s->snap_drops;
		full += s->flow_table_full;
	}
	const struct weir_redis_stats *rs = weir_redis_stats(c->redis);
	snprintf(buf, len,
		 "rx %llu pkts (%llu pps, %.1f Mbit/s) missed %llu | flows %llu active, %llu evicted | "
		 "hosts %u | parse drops %llu | redis %s, %llu cycles, %llu lost%s%s",
		 (unsigned long long)rx, (unsigned long long)c->pps, (double)c->bps / 1e6,
		 (unsigned long long)c->ports.imissed, (unsigned long long)flows,
		 (unsigned long long)full, HASH_COUNT(c->hosts), (unsigned long long)drops,
		 c->redis_ok ? "ok" : "DOWN", (unsigned long long)rs->cycles_ok,
		 (unsigned long long)c->lost_total,	/* = health's publish_lost_cycles */
		 snapdrop ? " | flow view drops " : "", snapdrop ? "yes" : "");
	if (!c->redis_ok && rs->last_error[0]) {
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, " (%s)", rs->last_error);
	}
}
