/* threshold.c -- rules on the time series and the flow index.
 *
 * Each round (eval-interval) a threshold rule measures its entity, or
 * every entity its pattern matches (host:10.0.30.*@30), over its window
 * on the merged view of the watched nodes: the points of
 * P ts:RES:ENTITY of every node whose score falls in (now - window, now]
 * summed (a gap is zero traffic, docs/redis-keys.md) and divided by the
 * window. So a host whose traffic two taps share is judged on its whole
 * traffic. The value goes to the lifecycle (alerts.c), which applies
 * `for`, hysteresis and `release-for`; the alert's node says whose data
 * made it ("a,b"). A pattern reads the entity kind's ranking (P hosts,
 * P subnets, ...) summed over the nodes, from the top, at most
 * max-entities members, with one pipelined round trip a node for all the
 * series.
 *
 * `peers` and `ports` are distinct counts, which no series holds: they
 * are counted over the entity's flows in the flow index (flowidx.c,
 * P idx:host|vlan|subnet|app:NAME of every node; interfaces and
 * exporters have none), those seen within the window: for a host the
 * addresses at the other end of its flows and their destination ports,
 * for a VLAN, subnet pair or application the flows' destination
 * addresses and ports. Reading every flow costs more than a series, so
 * these rules run every scan-interval. Their window is on the flows'
 * own clock: the newest last_seen read, advanced by this machine's clock
 * while nothing newer comes, so a capture file is judged by its own
 * time and an entity that went quiet falls out of the window.
 *
 * "now" of the series is this machine's clock: the engine stamps its
 * series with its own, so the two must agree (NTP), as they do on one
 * machine. */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alertd.h"

static const char *const ent_prefix[] = {
	[ALERTD_ENT_HOST] = "host",
	[ALERTD_ENT_VLAN] = "vlan",
	[ALERTD_ENT_SUBNET] = "subnet",
	[ALERTD_ENT_APP] = "app",
	[ALERTD_ENT_INTERFACE] = "interface",
	[ALERTD_ENT_EXPORTER] = "exporter",
};
static const char *const ent_index[] = {
	[ALERTD_ENT_HOST] = "hosts",
	[ALERTD_ENT_VLAN] = "vlans",
	[ALERTD_ENT_SUBNET] = "subnets",
	[ALERTD_ENT_APP] = "apps",
	[ALERTD_ENT_INTERFACE] = "interfaces",
	[ALERTD_ENT_EXPORTER] = "exporters",
};
static const char *const metric_unit[] = {
	[ALERTD_M_BITS] = "bit/s",
	[ALERTD_M_BYTES] = "B/s",
	[ALERTD_M_PACKETS] = "pkt/s",
	[ALERTD_M_FLOWS_RATE] = "flows/s",
	[ALERTD_M_FLOWS] = "flows",
	[ALERTD_M_PEERS] = "peers",
	[ALERTD_M_PORTS] = "ports",
};

static bool
flow_metric(enum alertd_metric m)
{
	return m == ALERTD_M_PEERS || m == ALERTD_M_PORTS;
}

static bool
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Adds "T:BYTES:PKTS:FLOWS" members to the sums. */
static void
sum_points(const redisReply *r, uint64_t *b, uint64_t *p, uint64_t *f,
	   unsigned *points)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *m = r->element[i];
		uint64_t v[4];

		if (m->type != REDIS_REPLY_STRING ||
		    !weirctl_ts_point(m->str, m->len, v))
			continue;
		*b += v[1];
		*p += v[2];
		*f += v[3];
		(*points)++;
	}
}

struct measure {
	uint64_t b, p, f;
	unsigned points;
	unsigned distinct;	/* peers or ports */
	unsigned flows_in;	/* flows seen within the window */
	alertd_nodeset nodes;	/* the nodes whose data it holds */
};

/* Each entity's points in the window, summed over the nodes: one
 * pipeline a node, over its own connection. */
static int
read_series(struct alertd_ctx *ctx, const struct alertd_rule *r,
	    char *const *ents, size_t n, struct measure *m, int64_t now)
{
	for (size_t k = 0; k < ctx->n_nodes; k++) {
		struct alertd_store *s = &ctx->nodes[k]->store;

		if (!s->c)
			return -1;
		for (size_t i = 0; i < n; i++)
			redisAppendCommand(s->c, "ZRANGEBYSCORE %sts:%s:%s:%s (%lld +inf",
					   s->kp, r->res_1m ? "1m" : "1s",
					   ent_prefix[r->ent], ents[i],
					   (long long)(now - r->window_ms));
		for (size_t i = 0; i < n; i++) {
			redisReply *rep = NULL;
			unsigned before = m[i].points;

			if (redisGetReply(s->c, (void **)&rep) != REDIS_OK || !rep) {
				alertd_store_drop(s, "reading time series failed");
				return -1;
			}
			sum_points(rep, &m[i].b, &m[i].p, &m[i].f, &m[i].points);
			if (m[i].points > before && k < 64)
				m[i].nodes |= (alertd_nodeset)1 << k;
			freeReplyObject(rep);
		}
	}
	return 0;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* The flows' clock: the newest last_seen seen, or the last value moved
 * on by the time since, whichever is later. */
static int64_t
flow_clock(struct alertd_ctx *ctx, int64_t newest, int64_t now)
{
	int64_t c = ctx->flow_clock_ms ?
		    ctx->flow_clock_ms + (now - ctx->flow_clock_at) : 0;

	if (newest > c)
		c = newest;
	ctx->flow_clock_ms = c;
	ctx->flow_clock_at = now;
	return c;
}

/* Distinct peers or ports of one entity's flows seen since `since`. */
static int
count_distinct(const struct alertd_rule *r, const char *ent,
	       const struct alertd_flows *fl, int64_t since, struct measure *m)
{
	char ip[64] = "";
	const char **peer = malloc((fl->n ? fl->n : 1) * sizeof(*peer));
	int *port = malloc((fl->n ? fl->n : 1) * sizeof(*port));
	size_t n = 0;

	if (!peer || !port) {
		free(peer);
		free(port);
		return -1;
	}
	if (r->ent == ALERTD_ENT_HOST)
		alertd_host_ip(ent, ip, sizeof(ip));
	for (size_t i = 0; i < fl->n; i++) {
		const struct alertd_flow *f = &fl->v[i];

		if (f->last_ms <= since)
			continue;
		m->flows_in++;
		if (r->metric == ALERTD_M_PEERS)
			peer[n++] = ip[0] && !strcmp(f->dst, ip) ? f->src : f->dst;
		else if (f->port >= 0)
			port[n++] = f->port;
	}
	if (r->metric == ALERTD_M_PEERS)
		qsort(peer, n, sizeof(*peer), alertd_cmp_str);
	else
		qsort(port, n, sizeof(*port), cmp_int);
	for (size_t i = 0; i < n; i++)
		if (!i || (r->metric == ALERTD_M_PEERS ?
			   strcmp(peer[i], peer[i - 1]) != 0 :
			   port[i] != port[i - 1]))
			m->distinct++;
	m->nodes = m->flows_in ? fl->nodes : 0;
	free(peer);
	free(port);
	return 0;
}

/* `peers` and `ports`: each entity's flows over the nodes, counted once
 * the flows' clock is known. */
static int
read_flow_counts(struct alertd_ctx *ctx, const struct alertd_rule *r,
		 char *const *ents, size_t n, struct measure *m, int64_t now)
{
	struct alertd_flows *fl = calloc(n ? n : 1, sizeof(*fl));
	int64_t newest = 0, since;
	int rc = fl ? 0 : -1;

	for (size_t i = 0; i < n && !rc; i++) {
		char idx[ALERTD_ENTITY_MAX + 16];

		snprintf(idx, sizeof(idx), "%s:%s", ent_prefix[r->ent], ents[i]);
		for (size_t k = 0; k < ctx->n_nodes && !rc; k++)
			rc = alertd_flows_read(&ctx->nodes[k]->store, k, idx,
					       NULL, NULL, &fl[i]);
		if (fl[i].newest_ms > newest)
			newest = fl[i].newest_ms;
	}
	if (!rc) {
		since = flow_clock(ctx, newest, now) - r->window_ms;
		for (size_t i = 0; i < n && !rc; i++)
			rc = count_distinct(r, ents[i], &fl[i], since, &m[i]);
	}
	for (size_t i = 0; fl && i < n; i++)
		alertd_flows_free(&fl[i]);
	free(fl);
	return rc;
}

static void
fmt_value(double v, const char *unit, char *buf, size_t len)
{
	static const char *const pfx[] = { "", "k", "M", "G", "T" };
	int i = 0;

	while (v >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%.3g %s%s", v, pfx[i], unit);
}

static int
eval_rule(struct alertd_ctx *ctx, const struct alertd_rule *r, int64_t now)
{
	struct alertd_alerts *al = ctx->merged;
	char **ents = NULL;
	size_t n = 0;
	char *one[1];
	struct measure *m;
	int rc;
	double wsec = (double)r->window_ms / 1000.0;

	if (has_glob(r->pattern)) {
		if (alertd_members(ctx, ent_index[r->ent], r->pattern,
				   r->max_entities, &ents, &n))
			return -1;
	} else {
		one[0] = (char *)r->pattern;
		ents = one;
		n = 1;
	}
	m = calloc(n ? n : 1, sizeof(*m));
	rc = !m ? -1 : flow_metric(r->metric) ?
	     read_flow_counts(ctx, r, ents, n, m, now) :
	     read_series(ctx, r, ents, n, m, now);
	if (rc == 0)
		alertd_alerts_round_begin(al, r);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		double value;
		char entity[ALERTD_ENTITY_MAX], summary[ALERTD_SUMMARY_MAX];
		char vbuf[48], tbuf[48], nodes[128];
		struct alertd_obj o;
		char *details;
		bool on, off;

		switch (r->metric) {
		case ALERTD_M_BITS: value = (double)m[i].b * 8 / wsec; break;
		case ALERTD_M_BYTES: value = (double)m[i].b / wsec; break;
		case ALERTD_M_PACKETS: value = (double)m[i].p / wsec; break;
		case ALERTD_M_FLOWS_RATE: value = (double)m[i].f / wsec; break;
		case ALERTD_M_PEERS:
		case ALERTD_M_PORTS: value = m[i].distinct; break;
		default: value = (double)m[i].f; break;
		}
		snprintf(entity, sizeof(entity), "%s:%s", ent_prefix[r->ent],
			 ents[i]);
		alertd_view_label(ctx, m[i].nodes, nodes, sizeof(nodes));
		on = value > r->above;
		off = value < r->release_below;
		fmt_value(value, metric_unit[r->metric], vbuf, sizeof(vbuf));
		fmt_value(r->above, metric_unit[r->metric], tbuf, sizeof(tbuf));
		if (flow_metric(r->metric))
			snprintf(summary, sizeof(summary), "%s had %s within %gs "
				 "(threshold %s)", entity, vbuf, wsec, tbuf);
		else
			snprintf(summary, sizeof(summary), "%s at %s over %gs "
				 "(threshold %s)", entity, vbuf, wsec, tbuf);
		if (alertd_obj_begin(&o))
			continue;
		alertd_obj_str(&o, "entity", entity);
		alertd_obj_str(&o, "metric", metric_unit[r->metric]);
		alertd_obj_num(&o, "value", value);
		alertd_obj_num(&o, "above", r->above);
		alertd_obj_num(&o, "release_below", r->release_below);
		alertd_obj_num(&o, "window_s", wsec);
		if (flow_metric(r->metric)) {
			alertd_obj_num(&o, "flows", m[i].flows_in);
		} else {
			alertd_obj_str(&o, "resolution", r->res_1m ? "1m" : "1s");
			alertd_obj_num(&o, "bytes", (double)m[i].b);
			alertd_obj_num(&o, "packets", (double)m[i].p);
			alertd_obj_num(&o, "flows", (double)m[i].f);
			alertd_obj_num(&o, "points", m[i].points);
		}
		alertd_obj_str(&o, "nodes", nodes);
		details = alertd_obj_end(&o);
		/* no node's data (a release at zero): the alert keeps its own */
		alertd_alerts_node(al, m[i].nodes ? nodes : NULL);
		alertd_alerts_value(al, &ctx->changes, ctx->conf, r, entity,
				    value, r->above, on, off, summary, details, now);
		free(details);
	}
	if (rc == 0)
		alertd_alerts_round_end(al, &ctx->changes, ctx->conf, r, now);
	free(m);
	if (ents != one)
		alertd_members_free(ents, n);
	return rc;
}

int
alertd_threshold_eval(struct alertd_ctx *ctx, int64_t now, bool flow_round)
{
	if (alertd_view_ensure(ctx))
		return -1;
	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];

		if (r->kind != ALERTD_K_THRESHOLD ||
		    (flow_metric(r->metric) && !flow_round))
			continue;
		if (eval_rule(ctx, r, now))
			return -1;
	}
	return 0;
}
