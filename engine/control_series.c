/* control_series.c -- what the control thread derives from its sums each
 * cycle besides the current values: time-series points (timeseries.c),
 * events (events.c: new hosts, watched boundaries), reverse-DNS names
 * (rdns.c), and the flow indexes and ended-flow stream that let readers
 * filter flows without scanning them all. */
#include <stdio.h>
#include <string.h>

#include "weir/redis.h"

#include <uthash.h>

#include "control_priv.h"
#include "set_batch.h"
#include "worker.h"


void
weir_ctl_observe(struct weir_control *c)
{
	char e[256];
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		stpcpy(stpcpy(e, "host:"), h->id);	/* every host, every cycle: no printf */
		weir_ts_observe(c->ts, e, h->tot[HB_SENT] + h->tot[HB_RCVD],
				h->tot[HP_SENT] + h->tot[HP_RCVD], h->tot[H_FLOWS], 1);
	}
	struct ctl_vlan *v, *tv;
	HASH_ITER(hh, c->vlans, v, tv) {
		snprintf(e, sizeof(e), "vlan:%u", v->vlan);
		weir_ts_observe(c->ts, e, v->bytes, v->pkts, v->flows, 1);
	}
	struct ctl_pair *p, *tp;
	HASH_ITER(hh, c->pairs, p, tp) {
		snprintf(e, sizeof(e), "subnet:%s>%s", weir_ctl_subnet_name(c->cfg, (int)(p->key >> 16) - 1),
			 weir_ctl_subnet_name(c->cfg, (int)(p->key & 0xffff) - 1));
		weir_ts_observe(c->ts, e, p->bf + p->br, p->pf + p->pr, p->flows, 1);
	}
	weir_ctl_apps_observe(c);
	uint64_t rx = 0, rxb = 0, fl = 0;
	for (unsigned int wi = 0; wi < c->n_workers; wi++) {
		struct weir_worker *w = c->w[wi];
		rx += w->st.rx_pkts;
		rxb += w->st.rx_bytes;
		fl += w->st.flows_created;
		uint32_t n, slots;
		struct weir_exporter *ex = weir_worker_exporters(w, &n);
		char a[64];
		for (uint32_t i = 0; i < n; i++) {
			weir_ctl_addr_text(ex[i].addr, a, sizeof(a));
			snprintf(e, sizeof(e), "exporter:%s", a);
			weir_ts_observe(c->ts, e, ex[i].bytes, ex[i].pkts, ex[i].records, 1);
		}
		struct weir_iface *ifs = weir_worker_interfaces(w, &slots);
		for (uint32_t k = 0; k < slots; k++) {
			struct weir_iface i;
			if (!weir_worker_iface_read(&ifs[k], n, &i))
				continue;
			weir_ctl_addr_text(ex[i.exporter - 1].addr, a, sizeof(a));
			snprintf(e, sizeof(e), "interface:%s#%u", a, i.ifindex);
			weir_ts_observe(c->ts, e, i.bytes_in + i.bytes_out, i.pkts_in + i.pkts_out, 0, 1);
		}
	}
	weir_ts_observe(c->ts, "engine", rxb, rx, fl, 1);
}

void
weir_ctl_hosts_news(struct weir_control *c, uint64_t now_ms)
{
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		if (!(h->tot[HB_SENT] | h->tot[HB_RCVD] | h->tot[H_FLOWS]))
			continue;
		if (!h->announced) {
			char vlan[8];
			snprintf(vlan, sizeof(vlan), "%u", h->key.vlan);
			weir_events_add(c->events, now_ms, "new_host", "host", h->id, "ip", h->ip_text,
					"vlan", vlan, "subnet", weir_ctl_subnet_name(c->cfg, h->subnet),
					"local", h->local ? "1" : "0", NULL);
			h->announced = 1;
		}
		const char *name = weir_rdns_name(c->rdns, h->key.ip, h->local, now_ms);
		if (name && (!h->name || strcmp(name, h->name) != 0)) {
			free(h->name);
			h->name = strdup(name);
			h->dirty = 1;
		}
	}
}

static void
flow_subnets(const struct weir_control *c, const struct ctl_flow *f, const char **src, const char **dst)
{
	const struct weir_flow_snap *s = &f->s;
	const uint8_t *init = s->a_is_init ? s->key.a : s->key.b;
	const uint8_t *resp = s->a_is_init ? s->key.b : s->key.a;
	*src = weir_ctl_subnet_name(c->cfg, weir_subnet_lookup(c->cfg, init));
	*dst = weir_ctl_subnet_name(c->cfg, weir_subnet_lookup(c->cfg, resp));
}

void
weir_ctl_boundary(struct weir_control *c, struct ctl_flow *f)
{
	if (!c->cfg->n_watch)
		return;
	const char *src, *dst;
	char pair[2 * WEIR_NAME_LEN + 2];
	flow_subnets(c, f, &src, &dst);
	snprintf(pair, sizeof(pair), "%s>%s", src, dst);
	for (unsigned int i = 0; i < c->cfg->n_watch; i++) {
		if (strcmp(c->cfg->watch[i], pair) != 0)
			continue;
		const struct weir_flow_snap *s = &f->s;
		int ai = s->a_is_init;
		char id[24], a[64], b[64], sp[8], dp[8], proto[8], vlan[8];
		snprintf(id, sizeof(id), "%016llx", (unsigned long long)f->uid);
		weir_ctl_addr_text(ai ? s->key.a : s->key.b, a, sizeof(a));
		weir_ctl_addr_text(ai ? s->key.b : s->key.a, b, sizeof(b));
		snprintf(sp, sizeof(sp), "%u", ai ? s->key.pa : s->key.pb);
		snprintf(dp, sizeof(dp), "%u", ai ? s->key.pb : s->key.pa);
		snprintf(proto, sizeof(proto), "%u", s->key.proto);
		snprintf(vlan, sizeof(vlan), "%u", s->key.vlan);
		weir_events_add(c->events, s->first_ms, "boundary",
				"rule", c->cfg->watch_forbid[i] ? "forbid" : "watch",
				"src_subnet", src, "dst_subnet", dst, "flow", id, "src", a, "dst", b,
				"sport", sp, "dport", dp, "proto", proto, "vlan", vlan,
				"app", f->dpi ? f->dpi->name : "Unknown", NULL);
	}
}

/* PREFIX + what + text [+ number] into key (320 bytes are enough: prefix
 * 160, host ids 64, names 48), without printf: once per set and flow.
 * Returns its length. */
static size_t
idx_key(const struct weir_control *c, char *key, const char *what, const char *text, int with_n, uint64_t n)
{
	char *p = stpcpy(stpcpy(stpcpy(key, c->prefix), what), text);
	if (with_n)
		p = weir_redis_put_u64(p, n);
	*p = 0;
	return (size_t)(p - key);
}

/* A host's id: kept by its ctl_host, or written out if there is none. */
static const char *
host_id(const struct ctl_host *h, const uint8_t addr[16], uint16_t vlan, char *buf, size_t len)
{
	if (h)
		return h->id;
	char a[64];
	weir_ctl_addr_text(addr, a, sizeof(a));
	snprintf(buf, len, "%s@%u", a, vlan);
	return buf;
}

/* The idx:* sets a flow belongs in (docs/redis-keys.md), into batch b. */
static void
index_cmds(struct weir_control *c, struct weir_redis *r, struct weir_set_batch *b, uint64_t uid,
	   const struct weir_flow_key *k, const struct ctl_host *ha, const struct ctl_host *hb,
	   int a_is_init, int with_keys, const char *app)
{
	char key[320], id[80];
	size_t n;
	if (with_keys) {
		n = idx_key(c, key, "idx:host:", host_id(ha, k->a, k->vlan, id, sizeof(id)), 0, 0);
		weir_set_batch_add(b, r, key, n, uid);
		n = idx_key(c, key, "idx:host:", host_id(hb, k->b, k->vlan, id, sizeof(id)), 0, 0);
		weir_set_batch_add(b, r, key, n, uid);
		n = idx_key(c, key, "idx:vlan:", "", 1, k->vlan);
		weir_set_batch_add(b, r, key, n, uid);
		const uint8_t *init = a_is_init ? k->a : k->b, *resp = a_is_init ? k->b : k->a;
		char *p = stpcpy(stpcpy(stpcpy(key, c->prefix), "idx:subnet:"),
				 weir_ctl_subnet_name(c->cfg, weir_subnet_lookup(c->cfg, init)));
		*p++ = '>';
		p = stpcpy(p, weir_ctl_subnet_name(c->cfg, weir_subnet_lookup(c->cfg, resp)));
		weir_set_batch_add(b, r, key, (size_t)(p - key), uid);
		if (k->pa) {
			n = idx_key(c, key, "idx:port:", "", 1, k->pa);
			weir_set_batch_add(b, r, key, n, uid);
		}
		if (k->pb && k->pb != k->pa) {
			n = idx_key(c, key, "idx:port:", "", 1, k->pb);
			weir_set_batch_add(b, r, key, n, uid);
		}
	}
	if (app) {
		n = idx_key(c, key, "idx:app:", app, 0, 0);
		weir_set_batch_add(b, r, key, n, uid);
	}
}

/* The sets once (and again in a full cycle), the application's when the
 * verdict comes. f->indexed and f->indexed_app say what a committed cycle
 * wrote: control.c's clear_dirty sets them, so a lost cycle's sets are
 * written again by the next one. */
void
weir_ctl_index_flow(struct weir_control *c, struct weir_redis *r, struct ctl_flow *f, int full)
{
	if (!f->have_snap)
		return;
	const char *app = f->dpi ? f->dpi->app : NULL;
	int keys = !f->indexed || full;
	if (keys || (app && app != f->indexed_app))
		index_cmds(c, r, c->idx_add, f->uid, &f->s.key, weir_ctl_flow_host(c, f, 0),
			   weir_ctl_flow_host(c, f, 1), f->s.a_is_init, keys,
			   full || app != f->indexed_app ? app : NULL);
}

void
weir_ctl_unindex_flow(struct weir_control *c, struct weir_redis *r, const struct deleted_flow *d)
{
	if (d->indexed)
		index_cmds(c, r, c->idx_rem, d->uid, &d->key, d->ha, d->hb, d->a_is_init, 1, d->app);
}

/* The cycle's index updates not sent yet (set_batch.h). */
void
weir_ctl_index_send(struct weir_control *c, struct weir_redis *r)
{
	weir_set_batch_send(c->idx_rem, r);
	weir_set_batch_send(c->idx_add, r);
}

static void
arg_pair(struct weir_redis *r, const char *name, const char *val)
{
	weir_redis_arg_str(r, name);
	weir_redis_arg_str(r, val);
}

static void
arg_pair_u64(struct weir_redis *r, const char *name, uint64_t v)
{
	weir_redis_arg_str(r, name);
	weir_redis_arg_u64(r, v);
}

void
weir_ctl_stream_ended(struct weir_control *c, struct weir_redis *r, struct ctl_flow *f)
{
	if (!c->cfg->flow_stream_len) {
		f->streamed = 1;
		return;
	}
	const struct weir_flow_snap *s = &f->s;
	int ai = s->a_is_init, fw = ai ? 0 : 1;
	char key[256], id[24], a[64], b[64];
	snprintf(key, sizeof(key), "%sflows:ended", c->prefix);
	weir_flow_id(f->uid, id);
	weir_ctl_addr_text(ai ? s->key.a : s->key.b, a, sizeof(a));
	weir_ctl_addr_text(ai ? s->key.b : s->key.a, b, sizeof(b));
	const struct ctl_dpi *d = f->dpi;
	const char *src_subnet, *dst_subnet;
	flow_subnets(c, f, &src_subnet, &dst_subnet);
	weir_redis_cmd_start(r, "XADD");
	weir_redis_arg_str(r, key);
	weir_redis_arg_str(r, "MAXLEN");
	weir_redis_arg_str(r, "~");
	weir_redis_arg_u64(r, c->cfg->flow_stream_len);
	weir_redis_arg_str(r, "*");
	arg_pair(r, "id", id);
	arg_pair(r, "src", a);
	arg_pair(r, "dst", b);
	arg_pair(r, "src_subnet", src_subnet);
	arg_pair(r, "dst_subnet", dst_subnet);
	arg_pair_u64(r, "sport", ai ? s->key.pa : s->key.pb);
	arg_pair_u64(r, "dport", ai ? s->key.pb : s->key.pa);
	arg_pair_u64(r, "proto", s->key.proto);
	arg_pair_u64(r, "vlan", s->key.vlan);
	arg_pair_u64(r, "bytes", s->bytes[0] + s->bytes[1]);
	arg_pair_u64(r, "pkts", s->pkts[0] + s->pkts[1]);
	arg_pair_u64(r, "bytes_fwd", s->bytes[fw]);
	arg_pair_u64(r, "bytes_rev", s->bytes[1 - fw]);
	arg_pair_u64(r, "pkts_fwd", s->pkts[fw]);
	arg_pair_u64(r, "pkts_rev", s->pkts[1 - fw]);
	arg_pair_u64(r, "first_seen", s->first_ms);
	arg_pair_u64(r, "last_seen", s->last_ms);
	arg_pair_u64(r, "tcp_flags", s->tcp_flags);
	arg_pair(r, "state", "ended");
	arg_pair(r, "end_reason", weir_flow_end_names[s->end]);
	arg_pair_u64(r, "worker", s->worker);
	arg_pair(r, "app", d ? d->name : "Unknown");
	arg_pair(r, "application", d ? d->app : "Unknown");
	arg_pair(r, "category", d ? d->category : "Unspecified");
	arg_pair(r, "detection", weir_ctl_detection_name(d));
	arg_pair(r, "server_name", d && d->host ? d->host : "");
	weir_redis_cmd_end(r);
	f->streamed = 1;
}
