/* threshold.c -- rules on the time series and the host counters.
 *
 * Each round (eval-interval) a threshold rule measures its entity, or
 * every entity its pattern matches (host:10.0.30.*@30), over its window:
 * the points of P ts:RES:ENTITY whose score falls in (now - window, now]
 * summed (a gap is zero traffic, docs/redis-keys.md) and divided by the
 * window, or for `peers` the host hash's distinct-peer count. The value
 * goes to the lifecycle (alerts.c), which applies `for`, hysteresis and
 * `release-for`. A pattern reads the entity kind's ranking (P hosts,
 * P subnets, ...) from the top, at most max-entities members, with one
 * pipelined round trip for all the series.
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

void
alertd_members_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
alertd_members(struct alertd_store *s, const char *zset, const char *glob,
	       unsigned max, char ***out, size_t *n)
{
	redisReply *r;
	char **v;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	/* members are ranked by bytes: read a generous top, filter here */
	r = alertd_cmd(s, "ZREVRANGE %s%s 0 %u", s->kp, zset,
		       max > 50000 ? 200000u : max * 4u - 1u);
	if (!r)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return 0;
	}
	v = calloc(r->elements ? r->elements : 1, sizeof(*v));
	if (!v) {
		freeReplyObject(r);
		return -1;
	}
	for (size_t i = 0; i < r->elements && k < max; i++) {
		const redisReply *m = r->element[i];

		if (m->type != REDIS_REPLY_STRING || strlen(m->str) != m->len)
			continue;
		if (glob && fnmatch(glob, m->str, 0))
			continue;
		v[k] = strdup(m->str);
		if (v[k])
			k++;
	}
	freeReplyObject(r);
	*out = v;
	*n = k;
	return 0;
}

static bool
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Sums "T:BYTES:PKTS:FLOWS" members. */
static void
sum_points(const redisReply *r, uint64_t *b, uint64_t *p, uint64_t *f,
	   unsigned *points)
{
	*b = *p = *f = 0;
	*points = 0;
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *m = r->element[i];
		unsigned long long t, vb, vp, vf;

		if (m->type != REDIS_REPLY_STRING ||
		    sscanf(m->str, "%llu:%llu:%llu:%llu", &t, &vb, &vp, &vf) != 4)
			continue;
		*b += vb;
		*p += vp;
		*f += vf;
		(*points)++;
	}
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
	struct alertd_store *s = &ctx->store;
	char **ents = NULL;
	size_t n = 0;
	char *one[1];
	int rc = 0;
	double wsec = (double)r->window_ms / 1000.0;

	if (has_glob(r->pattern)) {
		if (alertd_members(s, ent_index[r->ent], r->pattern,
				   r->max_entities, &ents, &n))
			return -1;
	} else {
		one[0] = (char *)r->pattern;
		ents = one;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (r->metric == ALERTD_M_PEERS)
			redisAppendCommand(s->c, "HGET %shost:%s peers", s->kp,
					   ents[i]);
		else
			redisAppendCommand(s->c, "ZRANGEBYSCORE %sts:%s:%s:%s (%lld +inf",
					   s->kp, r->res_1m ? "1m" : "1s",
					   ent_prefix[r->ent], ents[i],
					   (long long)(now - r->window_ms));
	}
	alertd_alerts_round_begin(ctx->alerts, r);
	for (size_t i = 0; i < n; i++) {
		redisReply *rep = NULL;
		uint64_t b = 0, p = 0, f = 0;
		unsigned points = 0;
		double value;
		char entity[ALERTD_ENTITY_MAX], summary[ALERTD_SUMMARY_MAX];
		char vbuf[48], tbuf[48];
		struct alertd_obj o;
		char *details;
		bool on, off;

		if (redisGetReply(s->c, (void **)&rep) != REDIS_OK || !rep) {
			alertd_store_drop(s, "reading time series failed");
			rc = -1;
			break;
		}
		if (r->metric == ALERTD_M_PEERS) {
			value = rep->type == REDIS_REPLY_STRING ?
				strtod(rep->str, NULL) : 0;
		} else {
			sum_points(rep, &b, &p, &f, &points);
			switch (r->metric) {
			case ALERTD_M_BITS: value = (double)b * 8 / wsec; break;
			case ALERTD_M_BYTES: value = (double)b / wsec; break;
			case ALERTD_M_PACKETS: value = (double)p / wsec; break;
			case ALERTD_M_FLOWS_RATE: value = (double)f / wsec; break;
			default: value = (double)f; break;
			}
		}
		freeReplyObject(rep);
		snprintf(entity, sizeof(entity), "%s:%s", ent_prefix[r->ent],
			 ents[i]);
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
			alertd_obj_num(&o, "bytes", (double)b);
			alertd_obj_num(&o, "packets", (double)p);
			alertd_obj_num(&o, "flows", (double)f);
			alertd_obj_num(&o, "points", points);
		}
		details = alertd_obj_end(&o);
		alertd_alerts_value(ctx->alerts, &ctx->changes, ctx->conf, r, entity,
				    value, r->above, on, off, summary, details, now);
		free(details);
	}
	if (rc == 0)
		alertd_alerts_round_end(ctx->alerts, &ctx->changes, ctx->conf, r,
					now);
	if (ents != one)
		alertd_members_free(ents, n);
	return rc;
}

int
alertd_threshold_eval(struct alertd_ctx *ctx, int64_t now)
{
	if (alertd_store_ensure(&ctx->store))
		return -1;
	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];

		if (r->kind == ALERTD_K_THRESHOLD && eval_rule(ctx, r, now))
			return -1;
	}
	return 0;
}
