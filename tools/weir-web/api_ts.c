/* api_ts.c -- /api/timeseries: one entity's points from P ts:RES:ENTITY.
 *
 * The entity is taken apart and checked piece by piece (kind from a fixed
 * list, addresses through inet_pton, numbers in range, names found in the
 * set that lists them) and the key is rebuilt from the checked pieces.
 * Points are `T:BYTES:PKTS:FLOWS` members scored by T (docs/redis-keys.md);
 * they are returned as [T, BYTES, PKTS, FLOWS] arrays, oldest first. A
 * missing series is an empty list (the engine may not publish series yet,
 * or the entity was idle): intervals without a point count as zero.
 *
 * `last=SECONDS` counts back from the series' newest point, not from the
 * clock, so a capture replayed from last week still shows its hour.
 *
 * Over several nodes every node's series of the entity is read and
 * points of equal times (the start of their interval) add up; 1s points
 * are per publish cycle and so rarely share a time across nodes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define POINTS_MAX 20000

/* Rebuilds ENTITY from a checked text into out. Returns 0 or -1 (o set). */
static int
entity_check(struct weirctl_ctx *ctx, struct web_out *o, const char *e,
	     char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN], buf[160];
	const char *colon = strchr(e, ':'), *rest;
	char *end;
	unsigned long v;
	int m;

	if (!strcmp(e, "engine")) {
		snprintf(out, len, "engine");
		return 0;
	}
	if (!colon || strlen(e) >= sizeof(buf))
		goto bad;
	rest = colon + 1;
	if (!strncmp(e, "host:", 5)) {
		const char *at = strrchr(rest, '@');

		if (!at || (size_t)(at - rest) >= sizeof(buf))
			goto bad;
		memcpy(buf, rest, (size_t)(at - rest));
		buf[at - rest] = '\0';
		errno = 0;
		v = strtoul(at + 1, &end, 10);
		if (!web_ip_canon(buf, ip, sizeof(ip)) || !at[1] || *end || errno ||
		    v > 4095 || at[1] == '-' || at[1] == '+')
			goto bad;
		snprintf(out, len, "host:%s@%lu", ip, v);
		return 0;
	}
	if (!strncmp(e, "vlan:", 5)) {
		errno = 0;
		v = strtoul(rest, &end, 10);
		if (!*rest || *end || errno || v > 4095 || *rest == '-' || *rest == '+')
			goto bad;
		snprintf(out, len, "vlan:%lu", v);
		return 0;
	}
	if (!strncmp(e, "exporter:", 9)) {
		if (!web_ip_canon(rest, ip, sizeof(ip)))
			goto bad;
		snprintf(out, len, "exporter:%s", ip);
		return 0;
	}
	if (!strncmp(e, "interface:", 10)) {
		const char *hash = strrchr(rest, '#');

		if (!hash || (size_t)(hash - rest) >= sizeof(buf))
			goto bad;
		memcpy(buf, rest, (size_t)(hash - rest));
		buf[hash - rest] = '\0';
		errno = 0;
		v = strtoul(hash + 1, &end, 10);
		if (!web_ip_canon(buf, ip, sizeof(ip)) || !hash[1] || *end || errno ||
		    v > 4294967295UL || hash[1] == '-' || hash[1] == '+')
			goto bad;
		snprintf(out, len, "interface:%s#%lu", ip, v);
		return 0;
	}
	if (!strncmp(e, "subnet:", 7) || !strncmp(e, "app:", 4)) {
		bool subnet = e[0] == 's';
		const char *gt = strchr(rest, '>');

		snprintf(buf, sizeof(buf), "%s", rest);
		if (subnet) {
			if (!gt)
				goto bad;
			buf[gt - rest] = '\0';
			if (!web_name_ok(buf) || !web_name_ok(gt + 1))
				goto bad;
		} else if (!web_name_ok(rest)) {
			goto bad;
		}
		m = web_member(ctx, subnet ? "subnets" : "apps", rest);
		if (m < 0) {
			web_fail(o, 502, "Redis failed");
			return -1;
		}
		if (!m) {
			web_fail(o, 400, "entity: '%.140s' is not a %s the engine lists "
				 "(%s)", rest, subnet ? "subnet pair" : "application",
				 subnet ? "/api/subnets" : "/api/apps");
			return -1;
		}
		snprintf(out, len, "%s:%s", subnet ? "subnet" : "app", rest);
		return 0;
	}
bad:
	web_fail(o, 400, "entity: '%.100s' is not engine, host:IP@VLAN, vlan:N, "
		 "subnet:SRC>DST, app:NAME, exporter:ADDR or interface:ADDR#IFINDEX", e);
	return -1;
}

struct point {
	uint64_t v[4];		/* T, BYTES, PKTS, FLOWS */
};

static int
cmp_point(const void *a, const void *b)
{
	uint64_t x = ((const struct point *)a)->v[0], y = ((const struct point *)b)->v[0];

	return x < y ? -1 : x > y;
}

struct points {
	struct point *p;
	size_t n, cap;
};

static void
points_add(struct points *ps, const redisReply *r)
{
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *m = r->element[i];
		struct point pt;

		if (m->type != REDIS_REPLY_STRING || !weirctl_ts_point(m->str, m->len, pt.v))
			continue;
		if (ps->n == ps->cap) {
			ps->cap = ps->cap ? ps->cap * 2 : 1024;
			ps->p = realloc(ps->p, ps->cap * sizeof(*ps->p));
			if (!ps->p)
				abort();
		}
		ps->p[ps->n++] = pt;
	}
}

/* Oldest first, points of equal times (several nodes') added up. */
static void
points_merge(struct points *ps)
{
	size_t o = 0;

	if (!ps->n)
		return;
	qsort(ps->p, ps->n, sizeof(*ps->p), cmp_point);
	for (size_t i = 1; i < ps->n; i++) {
		if (ps->p[i].v[0] == ps->p[o].v[0]) {
			for (int q = 1; q < 4; q++)
				ps->p[o].v[q] += ps->p[i].v[q];
		} else {
			ps->p[++o] = ps->p[i];
		}
	}
	ps->n = o + 1;
}

int
web_api_timeseries(struct MHD_Connection *c, struct weirctl_ctx *ctx,
		   struct web_out *o)
{
	static const char *const resolutions[] = { "1s", "1m", "5m", NULL };
	static const uint64_t res_ms[] = { 0, 60000, 300000 };
	struct weirctl_json *j = &o->j;
	const char *ent = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "entity");
	char entity[200];
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw), from;
	long since = -1, last = -1, focus = ctx->focus;
	int res = 0, k;
	uint64_t interval, since_ms = 0, newest = 0;
	struct points ps = { 0 };
	redisReply *r;

	if (!ent)
		return web_fail(o, 400, "entity: required (engine, host:IP@VLAN, "
				"vlan:N, subnet:SRC>DST, app:NAME, exporter:ADDR, "
				"interface:ADDR#IFINDEX)");
	k = web_param_choice(c, o, "res", resolutions, &res);
	if (k < 0 || web_param_long(c, o, "since", 0, 4102444800000L, &since) < 0 ||
	    web_param_long(c, o, "last", 1, 90L * 86400, &last) < 0)
		return o->status;
	if (since >= 0 && last >= 0)
		return web_fail(o, 400, "since and last: give one or the other");
	if (entity_check(ctx, o, ent, entity, sizeof(entity)))
		return o->status;

	interval = res_ms[res];
	if (!interval)		/* 1s: points per publish cycle */
		interval = weirctl_hash_u64(ctx->meta, "interval_ms");
	if (!interval)
		interval = 1000;
	if (since >= 0)
		since_ms = (uint64_t)since;
	/* Every node of the view: the newest point (last=), then the points;
	 * over several nodes, points of equal times add up. */
	for (size_t q = 0; q < nv && last >= 0; q++) {
		weirctl_node_focus(ctx, vw[q]);
		r = web_cmd(ctx, "ZREVRANGE %sts:%s:%s 0 0 WITHSCORES", ctx->keypfx,
			    resolutions[res], entity);
		if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
			uint64_t t = weirctl_score_u64(r->element[1]);

			newest = t > newest ? t : newest;
		}
		if (r)
			freeReplyObject(r);
	}
	if (last >= 0) {
		uint64_t back = (uint64_t)last * 1000;

		since_ms = newest > back ? newest - back + interval : 0;
	}
	for (size_t q = 0; q < nv; q++) {
		/* The newest POINTS_MAX points from since_ms. */
		weirctl_node_focus(ctx, vw[q]);
		r = web_cmd(ctx, "ZREVRANGEBYSCORE %sts:%s:%s +inf %llu LIMIT 0 %d",
			    ctx->keypfx, resolutions[res], entity,
			    (unsigned long long)since_ms, POINTS_MAX);
		points_add(&ps, r);
		if (r)
			freeReplyObject(r);
	}
	weirctl_node_restore(ctx, focus);
	if (ctx->redis_failures) {
		free(ps.p);
		return web_fail(o, 502, "Redis failed while reading a series");
	}
	points_merge(&ps);
	from = ps.n > POINTS_MAX ? ps.n - POINTS_MAX : 0;
	weirctl_json_begin_obj(j);
	weirctl_json_key(j, "node");
	weirctl_json_str(j, ctx->node);
	weirctl_json_key(j, "entity");
	weirctl_json_str(j, entity);
	weirctl_json_key(j, "res");
	weirctl_json_str(j, resolutions[res]);
	weirctl_json_key(j, "interval_ms");
	weirctl_json_u64(j, interval);
	weirctl_json_key(j, "since");
	weirctl_json_u64(j, since_ms);
	weirctl_json_key(j, "points");
	weirctl_json_begin_arr(j);
	for (size_t i = from; i < ps.n; i++) {
		weirctl_json_begin_arr(j);
		for (int q = 0; q < 4; q++)
			weirctl_json_u64(j, ps.p[i].v[q]);
		weirctl_json_end_arr(j);
	}
	weirctl_json_end_arr(j);
	weirctl_json_end_obj(j);
	free(ps.p);
	return 200;
}
