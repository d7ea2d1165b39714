/* threshold.c -- rules on the time series and the host counters.
 *
 * Each round (eval-interval) a threshold rule measures its entity, or
 * every entity its pattern matches (host:10.0.30.*@30), over its window
 * on the merged view of the watched nodes: the points of
 * P ts:RES:ENTITY of every node whose score falls in (now - window, now]
 * summed (a gap is zero traffic, docs/redis-keys.md) and divided by the
 * window, or for `peers` the host hash's distinct-peer count (the
 * greatest node's: distinct peers do not add up). So a host whose
 * traffic two taps share is judged on its whole traffic. The value goes
 * to the lifecycle (alerts.c), which applies `for`, hysteresis and
 * `release-for`; the alert's node says whose data made it ("a,b"). A
 * pattern reads the entity kind's ranking (P hosts, P subnets, ...)
 * summed over the nodes, from the top, at most max-entities members,
 * with one pipelined round trip a node for all the series.
 *
 * "now" is this machine's clock: the engine stamps its series with its
 * own, so the two must agree (NTP), as they do on one machine. */
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
};

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
	double peers;
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

/* The hosts' distinct peers: the merged hash's (the greatest node's). */
static int
read_peers(struct alertd_ctx *ctx, char *const *ents, size_t n,
	   struct measure *m)
{
	redisReply **h = calloc(n ? n : 1, sizeof(*h));
	alertd_nodeset *has = calloc(n ? n : 1, sizeof(*has));
	int rc = -1;

	if (h && has && !alertd_view_hashes(ctx, "host:", ents, n, h, has)) {
		for (size_t i = 0; i < n; i++) {
			const char *v = weirctl_hash_get(h[i], "peers");

			m[i].peers = v ? strtod(v, NULL) : 0;
			m[i].nodes = v ? has[i] : 0;
		}
		rc = 0;
	}
	for (size_t i = 0; h && i < n; i++)
		if (h[i])
			freeReplyObject(h[i]);
	free(h);
	free(has);
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
	rc = !m ? -1 : r->metric == ALERTD_M_PEERS ? read_peers(ctx, ents, n, m) :
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
		case ALERTD_M_PEERS: value = m[i].peers; break;
		default: value = (double)m[i].f; break;
		}
		snprintf(entity, sizeof(entity), "%s:%s", ent_prefix[r->ent],
			 ents[i]);
		alertd_view_label(ctx, m[i].nodes, nodes, sizeof(nodes));
		on = value > r->above;
		off = value < r->release_below;
		fmt_value(value, metric_unit[r->metric], vbuf, sizeof(vbuf));
		fmt_value(r->above, metric_unit[r->metric], tbuf, sizeof(tbuf));
		if (r->metric == ALERTD_M_PEERS)
			snprintf(summary, sizeof(summary), "%s has %s (threshold %s)",
				 entity, vbuf, tbuf);
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
		if (r->metric != ALERTD_M_PEERS) {
			alertd_obj_num(&o, "window_s", wsec);
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
alertd_threshold_eval(struct alertd_ctx *ctx, int64_t now)
{
	if (alertd_view_ensure(ctx))
		return -1;
	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];

		if (r->kind == ALERTD_K_THRESHOLD && eval_rule(ctx, r, now))
			return -1;
	}
	return 0;
}
