/* control_series.c -- what the control thread derives from its sums each
 * cycle besides the current values: time-series points (timeseries.c),
 * events (events.c: new hosts, watched boundaries), reverse-DNS names
 * (rdns.c), and the flow indexes and ended-flow stream that let readers
 * filter flows without scanning them all. */
#include <stdio.h>
#include <string.h>

#include <uthash.h>

#include "control_priv.h"
#include "worker.h"


void
weir_ctl_observe(struct weir_control *c)
{
	char e[256];
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		snprintf(e, sizeof(e), "host:%s", h->id);
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
			uint32_t x = __atomic_load_n(&ifs[k].exporter, __ATOMIC_ACQUIRE);
			if (!x || x > n)
				continue;
			weir_ctl_addr_text(ex[x - 1].addr, a, sizeof(a));
			snprintf(e, sizeof(e), "interface:%s#%u", a, ifs[k].ifindex);
			weir_ts_observe(c->ts, e, ifs[k].bytes_in + ifs[k].bytes_out,
					ifs[k].pkts_in + ifs[k].pkts_out, 0, 1);
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

/* The idx:* sets a flow belongs in (docs/redis-keys.md). */
static void
index_cmds(struct weir_control *c, struct weir_redis *r, const char *op, uint64_t uid,
	   const struct weir_flow_key *k, int a_is_init, int with_keys, const char *app)
{
	char id[24], key[320], a[64], b[64];
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)uid);
	if (with_keys) {
		weir_ctl_addr_text(k->a, a, sizeof(a));
		weir_ctl_addr_text(k->b, b, sizeof(b));
		snprintf(key, sizeof(key), "%sidx:host:%s@%u", c->prefix, a, k->vlan);
		weir_redis_cmdf(r, "%s %s %s", op, key, id);
		snprintf(key, sizeof(key), "%sidx:host:%s@%u", c->prefix, b, k->vlan);
		weir_redis_cmdf(r, "%s %s %s", op, key, id);
		snprintf(key, sizeof(key), "%sidx:vlan:%u", c->prefix, k->vlan);
		weir_redis_cmdf(r, "%s %s %s", op, key, id);
		const uint8_t *init = a_is_init ? k->a : k->b, *resp = a_is_init ? k->b : k->a;
		snprintf(key, sizeof(key), "%sidx:subnet:%s>%s", c->prefix,
			 weir_ctl_subnet_name(c->cfg, weir_subnet_lookup(c->cfg, init)),
			 weir_ctl_subnet_name(c->cfg, weir_subnet_lookup(c->cfg, resp)));
		weir_redis_cmdf(r, "%s %s %s", op, key, id);
		if (k->pa) {
			snprintf(key, sizeof(key), "%sidx:port:%u", c->prefix, k->pa);
			weir_redis_cmdf(r, "%s %s %s", op, key, id);
		}
		if (k->pb && k->pb != k->pa) {
			snprintf(key, sizeof(key), "%sidx:port:%u", c->prefix, k->pb);
			weir_redis_cmdf(r, "%s %s %s", op, key, id);
		}
	}
	if (app) {
		snprintf(key, sizeof(key), "%sidx:app:%s", c->prefix, app);
		weir_redis_cmdf(r, "%s %s %s", op, key, id);
	}
}

void
weir_ctl_index_flow(struct weir_control *c, struct weir_redis *r, struct ctl_flow *f, int full)
{
	if (!f->have_snap)
		return;
	const char *app = f->dpi ? f->dpi->app : NULL;
	int keys = !f->indexed || full;
	if (keys || (app && app != f->indexed_app))
		index_cmds(c, r, "SADD", f->uid, &f->s.key, f->s.a_is_init, keys,
			   full || app != f->indexed_app ? app : NULL);
	/* marked now even if this cycle is lost: a lost cycle makes the next
	 * one a full republish (need_full), which rewrites every index */
	f->indexed = 1;
	f->indexed_app = app;
}

void
weir_ctl_unindex_flow(struct weir_control *c, struct weir_redis *r, const struct deleted_flow *d)
{
	if (d->indexed)
		index_cmds(c, r, "SREM", d->uid, &d->key, 1, 1, d->app);
	/* the subnet set was keyed by initiator; try the other way round too */
	if (d->indexed)
		index_cmds(c, r, "SREM", d->uid, &d->key, 0, 1, NULL);
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
	char key[256], id[24], a[64], b[64], n[14][24], ml[16];
	snprintf(key, sizeof(key), "%sflows:ended", c->prefix);
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)f->uid);
	snprintf(ml, sizeof(ml), "%u", c->cfg->flow_stream_len);
	weir_ctl_addr_text(ai ? s->key.a : s->key.b, a, sizeof(a));
	weir_ctl_addr_text(ai ? s->key.b : s->key.a, b, sizeof(b));
	snprintf(n[0], 24, "%u", ai ? s->key.pa : s->key.pb);
	snprintf(n[1], 24, "%u", ai ? s->key.pb : s->key.pa);
	snprintf(n[2], 24, "%u", s->key.proto);
	snprintf(n[3], 24, "%u", s->key.vlan);
	snprintf(n[4], 24, "%llu", (unsigned long long)(s->bytes[0] + s->bytes[1]));
	snprintf(n[5], 24, "%llu", (unsigned long long)(s->pkts[0] + s->pkts[1]));
	snprintf(n[6], 24, "%llu", (unsigned long long)s->bytes[fw]);
	snprintf(n[7], 24, "%llu", (unsigned long long)s->bytes[1 - fw]);
	snprintf(n[8], 24, "%llu", (unsigned long long)s->first_ms);
	snprintf(n[9], 24, "%llu", (unsigned long long)s->last_ms);
	snprintf(n[10], 24, "%llu", (unsigned long long)s->pkts[fw]);
	snprintf(n[11], 24, "%llu", (unsigned long long)s->pkts[1 - fw]);
	snprintf(n[12], 24, "%u", s->tcp_flags);
	snprintf(n[13], 24, "%u", s->worker);
	const struct ctl_dpi *d = f->dpi;
	const char *argv[] = {
		"XADD", key, "MAXLEN", "~", ml, "*", "id", id, "src", a, "dst", b,
		"sport", n[0], "dport", n[1], "proto", n[2], "vlan", n[3], "bytes", n[4],
		"pkts", n[5], "bytes_fwd", n[6], "bytes_rev", n[7], "pkts_fwd", n[10],
		"pkts_rev", n[11], "first_seen", n[8], "last_seen", n[9], "tcp_flags", n[12],
		"state", "ended", "end_reason", weir_flow_end_names[s->end], "worker", n[13],
		"app", d ? d->name : "Unknown", "application", d ? d->app : "Unknown",
		"category", d ? d->category : "Unspecified",
		"detection", !d ? "none" : d->method == WEIR_DPI_METHOD_DPI ? "dpi" :
			     d->method == WEIR_DPI_METHOD_GUESS ? "guess" : "none",
		"server_name", d && d->host ? d->host : "",
	};
	size_t lens[sizeof(argv) / sizeof(argv[0])];
	for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
		lens[i] = strlen(argv[i]);
	weir_redis_cmdv(r, (int)(sizeof(argv) / sizeof(argv[0])), argv, lens);
	f->streamed = 1;
}
