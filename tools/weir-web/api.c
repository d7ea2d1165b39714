/* api.c -- the JSON API's lists and details (flows and series elsewhere).
 *
 * Each endpoint reads the sorted sets and hashes of docs/redis-keys.md
 * with weirctl's pipelined walker and writes them with weirctl's JSON
 * writer, hash fields as they are in Redis (numbers as numbers). A key
 * that does not exist yet (no engine, a feature the engine does not
 * publish yet) is an empty list, never an error: the page shows "nothing
 * yet". Parameters go through params.c first; names are looked up in the
 * set that lists them before a key is built from them. docs/api.md shows
 * each endpoint with an example. */
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define TOP_MAX 10000

static const char *const host_strings[] = { "ip", "mac", "subnet", "name", NULL };
static const char *const subnet_strings[] = { "src", "dst", NULL };
static const char *const app_strings[] = { "name", "category", NULL };
static const char *const exporter_strings[] = { "address", NULL };
static const char *const interface_strings[] = { "exporter", "name", NULL };

static void
key_u64(struct weirctl_json *j, const char *k, uint64_t v)
{
	weirctl_json_key(j, k);
	weirctl_json_u64(j, v);
}

static void
key_str(struct weirctl_json *j, const char *k, const char *v)
{
	weirctl_json_key(j, k);
	if (v)
		weirctl_json_str(j, v);
	else
		weirctl_json_null(j);
}

/* Members of a set over the nodes of the view (weirctl_zcard: distinct
 * members, but flows added up). */
static uint64_t
zcard(struct weirctl_ctx *ctx, const char *zset)
{
	uint64_t n = 0;

	weirctl_zcard(ctx, zset, &n);
	return n;
}

/* True when a node of the view has the key. */
static bool
exists(struct weirctl_ctx *ctx, const char *name)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	long focus = ctx->focus;
	bool e = false;

	for (size_t k = 0; k < nv && !e; k++) {
		redisReply *r;

		weirctl_node_focus(ctx, vw[k]);
		r = web_cmd(ctx, "EXISTS %s%s", ctx->keypfx, name);
		e = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0;
		if (r)
			freeReplyObject(r);
	}
	weirctl_node_restore(ctx, focus);
	return e;
}

int
web_subnet_known(struct weirctl_ctx *ctx, const char *name)
{
	struct weirctl_zsum z;
	int found = 0;
	size_t nl = strlen(name);

	if (!strcmp(name, "remote"))
		return 1;
	if (weirctl_zsum_read(ctx, "subnets", &z))
		return -1;
	for (size_t i = 0; i < z.n && !found; i++) {
		const char *m = z.v[i].m, *gt = strchr(m, '>');

		if (!gt)
			continue;
		if (((size_t)(gt - m) == nl && !strncmp(m, name, nl)) || !strcmp(gt + 1, name))
			found = 1;
	}
	weirctl_zsum_free(&z);
	return found;
}

/* ---- a generic list: a sorted set walked with its hashes ---------------- */

struct list_arg {
	struct weirctl_json *j;
	const char *const *strings;
	long left;		/* rows still wanted; <0: all */
	long vlan;		/* hosts: -1 any */
	const char *subnet;	/* hosts: NULL any */
	uint64_t *vlan_hosts;	/* vlans, merged: distinct hosts per VLAN */
	uint64_t shown;
};

static bool
host_want(struct weirctl_ctx *ctx, void *arg, const char *id)
{
	struct list_arg *a = arg;
	const char *at;
	char *end;

	if (a->vlan < 0)
		return true;
	at = strrchr(id, '@');
	return at && strtol(at + 1, &end, 10) == a->vlan && !*end;
}

static int
list_cb(struct weirctl_ctx *ctx, void *arg, const char *id, const redisReply *h)
{
	struct list_arg *a = arg;

	if (a->subnet) {
		const char *s = weirctl_hash_get(h, "subnet");

		if (!s || strcmp(s, a->subnet))
			return 0;
	}
	if (a->left == 0)
		return 1;
	if (a->vlan_hosts) {	/* the walker's own merged hash */
		uint64_t v = weirctl_hash_u64(h, "vlan");

		if (v < 4096)
			weirctl_hash_set_u64((redisReply *)h, "hosts", a->vlan_hosts[v]);
	}
	weirctl_json_begin_obj(a->j);
	key_str(a->j, "id", id);
	weirctl_json_hash_fields(a->j, h, a->strings);
	if (weirctl_hash_get(h, "bytes_sent"))
		key_u64(a->j, "bytes", weirctl_hash_u64(h, "bytes_sent") +
			weirctl_hash_u64(h, "bytes_rcvd"));
	weirctl_json_end_obj(a->j);
	a->shown++;
	if (a->left > 0)
		a->left--;
	return 0;
}

/* {"node": ..., "<name>": [...], "total": N, "shown": n}; over several
 * nodes a member is one row, merged (weirctl_walk). */
static int
walk_list(struct weirctl_ctx *ctx, struct web_out *o, const char *name,
	  const char *zset, const char *hashpfx, struct list_arg *a,
	  weirctl_walk_id_cb want)
{
	struct weirctl_json *j = &o->j;
	int r;

	a->j = j;
	weirctl_json_begin_obj(j);
	key_str(j, "node", ctx->node);
	weirctl_json_key(j, name);
	weirctl_json_begin_arr(j);
	r = weirctl_walk(ctx, zset, hashpfx, want, list_cb, a);
	weirctl_json_end_arr(j);
	key_u64(j, "total", zcard(ctx, zset));
	key_u64(j, "shown", a->shown);
	weirctl_json_end_obj(j);
	if (r != WC_EXIT_OK)
		return web_fail(o, 502, "Redis failed while reading %s (see the server log)", zset);
	return 200;
}

static int
top_param(struct MHD_Connection *c, struct web_out *o, long def, long *top)
{
	*top = def;
	return web_param_long(c, o, "top", 1, TOP_MAX, top) < 0 ? -1 : 0;
}

int
web_api_hosts(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	struct list_arg a = { .vlan = -1 };
	char subnet[WEB_NAME_MAX + 1];
	long top;
	int k;

	if (web_param_long(c, o, "vlan", 0, 4095, &a.vlan) < 0 ||
	    top_param(c, o, 100, &top) < 0)
		return o->status;
	k = web_param_name(c, o, "subnet", subnet, sizeof(subnet));
	if (k < 0)
		return o->status;
	if (k > 0) {
		int known = web_subnet_known(ctx, subnet);

		if (known < 0)
			return web_fail(o, 502, "Redis failed");
		if (!known)
			return web_fail(o, 400, "subnet: '%s' is not a subnet the engine "
					"publishes (/api/subnets lists them)", subnet);
		a.subnet = subnet;
	}
	a.left = top;
	a.strings = host_strings;
	return walk_list(ctx, o, "hosts", "hosts", "host:", &a, host_want);
}

static int
simple_list(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o,
	    const char *name, const char *zset, const char *hashpfx,
	    const char *const *strings, long def_top)
{
	struct list_arg a = { .vlan = -1, .strings = strings };
	long top;

	if (top_param(c, o, def_top, &top) < 0)
		return o->status;
	a.left = top;
	return walk_list(ctx, o, name, zset, hashpfx, &a, NULL);
}

int
web_api_vlans(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	static const char *const forms[] = { "list", "matrix", NULL };
	struct list_arg a = { .vlan = -1 };
	int ret, form = 0;

	if (web_param_choice(c, o, "form", forms, &form) < 0)
		return o->status;
	if (form == 1)	/* home VLAN x home VLAN (api_vlan_matrix.c) */
		return web_vlan_matrix(c, ctx, o);
	if (weirctl_view_nodes(ctx) <= 1)
		return simple_list(c, ctx, o, "vlans", "vlans", "vlan:", NULL, 4096);
	if (top_param(c, o, 4096, &a.left) < 0)
		return o->status;
	/* merged: a host two nodes saw on a VLAN counts once */
	a.vlan_hosts = calloc(4096, sizeof(*a.vlan_hosts));
	if (!a.vlan_hosts)
		return web_fail(o, 500, "out of memory");
	if (weirctl_vlan_host_counts(ctx, a.vlan_hosts)) {
		free(a.vlan_hosts);
		return web_fail(o, 502, "Redis failed while reading hosts");
	}
	ret = walk_list(ctx, o, "vlans", "vlans", "vlan:", &a, NULL);
	free(a.vlan_hosts);
	return ret;
}

int
web_api_apps(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	return simple_list(c, ctx, o, "apps", "apps", "app:", app_strings, 1000);
}

int
web_api_categories(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	return simple_list(c, ctx, o, "categories", "categories", "category:",
			   app_strings, 1000);
}

int
web_api_exporters(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	return simple_list(c, ctx, o, "exporters", "exporters", "exporter:",
			   exporter_strings, 1000);
}

int
web_api_interfaces(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	return simple_list(c, ctx, o, "interfaces", "interfaces", "interface:",
			   interface_strings, 10000);
}

/* ---- subnets: the pairs, or the matrix ---------------------------------- */

struct pair {
	char src[WEB_NAME_MAX + 1], dst[WEB_NAME_MAX + 1];
	uint64_t bytes;
};

struct pairs {
	struct pair *p;
	size_t n, cap;
};

static int
pair_cb(struct weirctl_ctx *ctx, void *arg, const char *id, const redisReply *h)
{
	struct pairs *ps = arg;
	const char *s = weirctl_hash_get(h, "src"), *d = weirctl_hash_get(h, "dst");

	if (!s || !d || strlen(s) > WEB_NAME_MAX || strlen(d) > WEB_NAME_MAX)
		return 0;
	if (ps->n == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 64;
		struct pair *np;

		if (ncap > TOP_MAX)
			return 1;
		np = realloc(ps->p, ncap * sizeof(*np));
		if (!np)
			return -1;
		ps->p = np;
		ps->cap = ncap;
	}
	strcpy(ps->p[ps->n].src, s);
	strcpy(ps->p[ps->n].dst, d);
	ps->p[ps->n].bytes = weirctl_hash_u64(h, "bytes");
	ps->n++;
	return 0;
}

struct axis {
	const char *name[TOP_MAX];
	uint64_t total[TOP_MAX];
	size_t n;
};

static size_t
axis_add(struct axis *ax, const char *name, uint64_t bytes)
{
	size_t i;

	for (i = 0; i < ax->n; i++)
		if (!strcmp(ax->name[i], name))
			break;
	if (i == ax->n) {
		ax->name[i] = name;
		ax->total[i] = 0;
		ax->n++;
	}
	ax->total[i] += bytes;
	return i;
}

static size_t
axis_find(const struct axis *ax, const char *name)
{
	for (size_t i = 0; i < ax->n; i++)
		if (!strcmp(ax->name[i], name))
			return i;
	return 0;
}

/* Busiest first. */
static void
axis_sort(struct axis *ax)
{
	for (size_t i = 1; i < ax->n; i++)
		for (size_t k = i; k > 0 && ax->total[k] > ax->total[k - 1]; k--) {
			const char *tn = ax->name[k];
			uint64_t tt = ax->total[k];

			ax->name[k] = ax->name[k - 1];
			ax->total[k] = ax->total[k - 1];
			ax->name[k - 1] = tn;
			ax->total[k - 1] = tt;
		}
}

static int
subnet_matrix(struct weirctl_ctx *ctx, struct web_out *o)
{
	struct pairs ps = { 0 };
	struct axis *rows = calloc(1, sizeof(*rows)), *cols = calloc(1, sizeof(*cols));
	struct weirctl_json *j = &o->j;
	uint64_t *cell = NULL;
	int ret = 200;

	if (!rows || !cols) {
		ret = web_fail(o, 500, "out of memory");
		goto out;
	}
	if (weirctl_walk(ctx, "subnets", "subnet:", NULL, pair_cb, &ps) != WC_EXIT_OK) {
		ret = web_fail(o, 502, "Redis failed while reading subnets");
		goto out;
	}
	for (size_t i = 0; i < ps.n; i++) {
		axis_add(rows, ps.p[i].src, ps.p[i].bytes);
		axis_add(cols, ps.p[i].dst, ps.p[i].bytes);
	}
	axis_sort(rows);
	axis_sort(cols);
	cell = calloc(rows->n * cols->n + 1, sizeof(*cell));
	if (!cell) {
		ret = web_fail(o, 500, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ps.n; i++)
		cell[axis_find(rows, ps.p[i].src) * cols->n +
		     axis_find(cols, ps.p[i].dst)] += ps.p[i].bytes;
	weirctl_json_begin_obj(j);
	key_str(j, "node", ctx->node);
	key_str(j, "unit", "bytes");
	weirctl_json_key(j, "rows");
	weirctl_json_begin_arr(j);
	for (size_t r = 0; r < rows->n; r++)
		weirctl_json_str(j, rows->name[r]);
	weirctl_json_end_arr(j);
	weirctl_json_key(j, "cols");
	weirctl_json_begin_arr(j);
	for (size_t k = 0; k < cols->n; k++)
		weirctl_json_str(j, cols->name[k]);
	weirctl_json_end_arr(j);
	weirctl_json_key(j, "cells");
	weirctl_json_begin_arr(j);
	for (size_t r = 0; r < rows->n; r++) {
		weirctl_json_begin_arr(j);
		for (size_t k = 0; k < cols->n; k++)
			weirctl_json_u64(j, cell[r * cols->n + k]);
		weirctl_json_end_arr(j);
	}
	weirctl_json_end_arr(j);
	weirctl_json_key(j, "row_totals");
	weirctl_json_begin_arr(j);
	for (size_t r = 0; r < rows->n; r++)
		weirctl_json_u64(j, rows->total[r]);
	weirctl_json_end_arr(j);
	weirctl_json_key(j, "col_totals");
	weirctl_json_begin_arr(j);
	for (size_t k = 0; k < cols->n; k++)
		weirctl_json_u64(j, cols->total[k]);
	weirctl_json_end_arr(j);
	weirctl_json_end_obj(j);
out:
	free(cell);
	free(rows);
	free(cols);
	free(ps.p);
	return ret;
}

int
web_api_subnets(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	static const char *const forms[] = { "pairs", "matrix", NULL };
	int form = 0;

	if (web_param_choice(c, o, "form", forms, &form) < 0)
		return o->status;
	if (form == 1)
		return subnet_matrix(ctx, o);
	return simple_list(c, ctx, o, "subnets", "subnets", "subnet:",
			   subnet_strings, TOP_MAX);
}

/* ---- status --------------------------------------------------------------- */

static const char *const meta_strings[] = { "node", "state", "source",
					    "version", NULL };

static void
meta_obj(struct weirctl_json *j, const redisReply *meta)
{
	if (meta && meta->elements) {
		weirctl_json_begin_obj(j);
		weirctl_json_hash_fields(j, meta, meta_strings);
		weirctl_json_end_obj(j);
	} else {
		weirctl_json_null(j);
	}
}

/* Over several nodes: meta and health merged (counters summed, times
 * the greatest, state "running" when a node runs, hosts the distinct
 * host ids), and "nodes" lists each node's own meta. */
int
web_api_status(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	static const char *const counted[] = { "hosts", "flows", "vlans", "subnets",
					       "apps", "categories", "exporters",
					       "interfaces", NULL };
	struct weirctl_json *j = &o->j;
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	redisReply *health[WEIRCTL_NODES_MAX] = { NULL }, *metas[WEIRCTL_NODES_MAX];
	redisReply *meta = NULL, *hl = NULL;
	long focus = ctx->focus;
	bool published = false, running = false;
	int ret = 200;

	for (size_t k = 0; k < nv && ret == 200; k++) {
		weirctl_node_focus(ctx, vw[k]);
		metas[k] = ctx->nodes[vw[k]].meta;
		published |= metas[k] && metas[k]->elements;
		const char *st = weirctl_hash_get(metas[k], "state");

		running |= st && !strcmp(st, "running");
		if (weirctl_hgetall(ctx, "health", &health[k]))
			ret = web_fail(o, 502, "Redis failed while reading meta and health");
	}
	weirctl_node_restore(ctx, focus);
	if (ret != 200)
		goto out;
	meta = weirctl_hash_merge(metas, nv);
	hl = weirctl_hash_merge(health, nv);
	if (nv > 1) {
		if (running)
			weirctl_hash_set_str(meta, "state", "running");
		weirctl_hash_set_str(meta, "node", ctx->node);
		if (weirctl_hash_get(hl, "hosts"))
			weirctl_hash_set_u64(hl, "hosts", zcard(ctx, "hosts"));
	}
	weirctl_json_begin_obj(j);
	key_str(j, "node", ctx->node);
	weirctl_json_key(j, "published");
	weirctl_json_raw_num(j, published ? "true" : "false");
	key_u64(j, "now_ms", (uint64_t)weirctl_now_ms());
	weirctl_json_key(j, "meta");
	meta_obj(j, meta);
	weirctl_json_key(j, "nodes");
	weirctl_json_begin_arr(j);
	for (size_t k = 0; k < nv; k++) {
		weirctl_json_begin_obj(j);
		key_str(j, "node", ctx->nodes[vw[k]].id);
		weirctl_json_key(j, "published");
		weirctl_json_raw_num(j, metas[k] && metas[k]->elements ? "true" : "false");
		weirctl_json_key(j, "meta");
		meta_obj(j, metas[k]);
		weirctl_json_end_obj(j);
	}
	weirctl_json_end_arr(j);
	weirctl_json_key(j, "health");
	weirctl_json_begin_obj(j);
	weirctl_json_hash_fields(j, hl, NULL);
	weirctl_json_end_obj(j);
	weirctl_json_key(j, "counts");
	weirctl_json_begin_obj(j);
	for (int i = 0; counted[i]; i++)
		key_u64(j, counted[i], zcard(ctx, counted[i]));
	weirctl_json_end_obj(j);
	/* Which optional parts of the keyspace this engine publishes. */
	weirctl_json_key(j, "features");
	weirctl_json_begin_obj(j);
	weirctl_json_key(j, "timeseries");
	weirctl_json_raw_num(j, exists(ctx, "ts:1s:engine") ||
			     exists(ctx, "ts:1m:engine") ? "true" : "false");
	weirctl_json_key(j, "events");
	weirctl_json_raw_num(j, exists(ctx, "events") ? "true" : "false");
	weirctl_json_key(j, "flows_ended");
	weirctl_json_raw_num(j, exists(ctx, "flows:ended") ? "true" : "false");
	weirctl_json_end_obj(j);
	weirctl_json_end_obj(j);
out:
	for (size_t k = 0; k < nv; k++)
		if (health[k])
			freeReplyObject(health[k]);
	if (meta)
		freeReplyObject(meta);
	if (hl)
		freeReplyObject(hl);
	return ret;
}

/* ---- one host ------------------------------------------------------------- */

/* The VLANs address ip is a host on, over the nodes of the view: for
 * each node the VLANs it lists (P vlans) and, pipelined, the host's
 * score on each. seen[v] gets the summed score + 1 (0: not seen). */
static int
host_vlans(struct weirctl_ctx *ctx, const char *ip, uint64_t *seen)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	long focus = ctx->focus;
	int ret = 0;

	memset(seen, 0, 4096 * sizeof(*seen));
	for (size_t k = 0; k < nv && !ret; k++) {
		struct weirctl_pipe p = { 0 };
		long vl_of[4096];
		redisReply *vl;
		size_t n = 0;

		weirctl_node_focus(ctx, vw[k]);
		vl = web_cmd(ctx, "ZREVRANGE %svlans 0 4095", ctx->keypfx);
		if (!vl) {
			ret = -1;
			break;
		}
		for (size_t i = 0; vl->type == REDIS_REPLY_ARRAY && i < vl->elements; i++) {
			char *end;
			long v = strtol(vl->element[i]->str ? vl->element[i]->str : "x",
					&end, 10);

			if (*end || v < 0 || v > 4095)
				continue;
			weirctl_pipe_add(&p, "ZSCORE %shosts %s@%ld", ctx->keypfx, ip, v);
			vl_of[n++] = v;
		}
		freeReplyObject(vl);
		if (n && weirctl_pipe_run(ctx, -1, &p))
			ret = -1;
		for (size_t i = 0; !ret && i < n; i++)
			if (p.r[i]->type == REDIS_REPLY_STRING)
				seen[vl_of[i]] += weirctl_score_u64(p.r[i]) + 1;
		weirctl_pipe_free(&p);
	}
	weirctl_node_restore(ctx, focus);
	return ret;
}

/* The latest time any node's P hostdnslast:ID gives the name m. */
static uint64_t
dns_last(redisReply *const *last, size_t n, const redisReply *m)
{
	uint64_t when = 0;

	for (size_t k = 0; k < n; k++)
		for (size_t q = 0; last[k] && last[k]->type == REDIS_REPLY_ARRAY &&
		     q + 1 < last[k]->elements; q += 2)
			if (last[k]->element[q]->len == m->len &&
			    !memcmp(last[k]->element[q]->str, m->str, m->len)) {
				uint64_t t = strtoull(last[k]->element[q + 1]->str, NULL, 10);

				when = t > when ? t : when;
				break;
			}
	return when;
}

/* A host over the nodes of the view: its hash merged (merge.c), its
 * applications and DNS names summed, the last time a name was asked the
 * latest, its peers from every node's flows. */
int
web_api_host(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	struct weirctl_json *j = &o->j;
	char ip[INET6_ADDRSTRLEN], id[INET6_ADDRSTRLEN + 8], name[128];
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	redisReply *h = NULL, *apps = NULL, *dns = NULL;
	redisReply *last[WEIRCTL_NODES_MAX] = { NULL };
	uint64_t *seen = NULL, best = 0;
	long vlan = -1, focus = ctx->focus;
	int k, r = 200;

	k = web_param_ip(c, o, "ip", ip, sizeof(ip));
	if (k < 0)
		return o->status;
	if (k == 0)
		return web_fail(o, 400, "ip: required (an IPv4 or IPv6 address)");
	if (web_param_long(c, o, "vlan", 0, 4095, &vlan) < 0)
		return o->status;
	bool has_vlan = vlan >= 0;

	seen = calloc(4096, sizeof(*seen));
	if (!seen)
		return web_fail(o, 500, "out of memory");
	if (host_vlans(ctx, ip, seen)) {
		r = web_fail(o, 502, "Redis failed while reading hosts");
		goto out;
	}
	/* Without a VLAN: the one where the address moved the most bytes. */
	for (long v = 0; v < 4096 && !has_vlan; v++)
		if (seen[v] > best) {
			best = seen[v];
			vlan = v;
		}
	if (vlan < 0) {
		r = web_fail(o, 404, "no host %s under node %s", ip, ctx->node);
		goto out;
	}
	snprintf(id, sizeof(id), "%s@%ld", ip, vlan);
	snprintf(name, sizeof(name), "host:%s", id);
	if (weirctl_hgetall(ctx, name, &h)) {
		r = web_fail(o, 502, "Redis failed while reading %s", name);
		goto out;
	}
	if (h->elements == 0) {
		r = web_fail(o, 404, "no host %s on VLAN %ld under node %s", ip, vlan,
			     ctx->node);
		goto out;
	}
	snprintf(name, sizeof(name), "hostapps:%s", id);
	if (weirctl_zrevrange_scores(ctx, name, 100, &apps))
		apps = NULL;
	snprintf(name, sizeof(name), "hostdns:%s", id);
	if (weirctl_zrevrange_scores(ctx, name, 256, &dns))
		dns = NULL;
	for (size_t q = 0; q < nv; q++) {
		weirctl_node_focus(ctx, vw[q]);
		last[q] = web_cmd(ctx, "HGETALL %shostdnslast:%s", ctx->keypfx, id);
	}
	weirctl_node_restore(ctx, focus);

	weirctl_json_begin_obj(j);
	key_str(j, "node", ctx->node);
	key_str(j, "id", id);
	weirctl_json_key(j, "host");
	weirctl_json_begin_obj(j);
	weirctl_json_hash_fields(j, h, host_strings);
	key_u64(j, "bytes", weirctl_hash_u64(h, "bytes_sent") + weirctl_hash_u64(h, "bytes_rcvd"));
	weirctl_json_end_obj(j);
	key_u64(j, "peers_count", weirctl_hash_u64(h, "peers"));
	weirctl_json_key(j, "vlans");
	weirctl_json_begin_arr(j);
	for (long v = 0; v < 4096; v++)
		if (seen[v])
			weirctl_json_u64(j, (uint64_t)v);
	weirctl_json_end_arr(j);
	weirctl_json_key(j, "apps");
	weirctl_json_begin_arr(j);
	for (size_t i = 0; apps && apps->type == REDIS_REPLY_ARRAY && i + 1 < apps->elements; i += 2) {
		weirctl_json_begin_obj(j);
		weirctl_json_key(j, "name");
		weirctl_json_strn(j, apps->element[i]->str, apps->element[i]->len);
		key_u64(j, "bytes", weirctl_score_u64(apps->element[i + 1]));
		weirctl_json_end_obj(j);
	}
	weirctl_json_end_arr(j);
	weirctl_json_key(j, "dns");
	weirctl_json_begin_arr(j);
	for (size_t i = 0; dns && dns->type == REDIS_REPLY_ARRAY && i + 1 < dns->elements; i += 2) {
		const redisReply *m = dns->element[i];

		weirctl_json_begin_obj(j);
		weirctl_json_key(j, "name");
		weirctl_json_strn(j, m->str, m->len);
		key_u64(j, "count", weirctl_score_u64(dns->element[i + 1]));
		key_u64(j, "last_ms", dns_last(last, nv, m));
		weirctl_json_end_obj(j);
	}
	weirctl_json_end_arr(j);
	r = web_flows_peers(ctx, o, id, ip);
	weirctl_json_end_obj(j);
out:
	free(seen);
	if (h)
		freeReplyObject(h);
	if (apps)
		freeReplyObject(apps);
	if (dns)
		freeReplyObject(dns);
	for (size_t q = 0; q < nv; q++)
		if (last[q])
			freeReplyObject(last[q]);
	return r;
}

/* ---- alerts and events ---------------------------------------------------- */

/* The alerts weir-alertd holds active (docs/alerts.md), through the same
 * reader as `weirctl alerts`, in the same order: severity, then the
 * newest engaged first. ?host=IP[&vlan=N] keeps those whose entity names
 * that host (the host page). */
int
web_api_alerts(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	struct weirctl_json *j = &o->j;
	struct weirctl_alerts a;
	char ip[64];
	long vlan = -1;
	int has_ip;

	if ((has_ip = web_param_ip(c, o, "host", ip, sizeof(ip))) < 0 ||
	    web_param_long(c, o, "vlan", 0, 4095, &vlan) < 0)
		return o->status;
	if (vlan >= 0 && !has_ip)
		return web_fail(o, 400, "vlan: goes with host");
	if (weirctl_alerts_active(ctx, &a))
		return web_fail(o, 502, "Redis failed while reading the alerts");
	weirctl_json_begin_obj(j);
	key_str(j, "node", ctx->node);
	weirctl_json_key(j, "alerts");
	weirctl_json_begin_arr(j);
	for (size_t i = 0; i < a.n; i++) {
		if (has_ip && !weirctl_alert_about_host(weirctl_hash_get(a.h[i], "entity"),
							ip, vlan))
			continue;
		weirctl_json_begin_obj(j);
		weirctl_json_hash_fields(j, a.h[i], weirctl_alert_strings);
		weirctl_json_end_obj(j);
	}
	weirctl_json_end_arr(j);
	key_u64(j, "skipped", a.skipped);
	weirctl_json_end_obj(j);
	weirctl_alerts_free(&a);
	return 200;
}

/* Writes stream entries, newest first: [{"stream_id":..., fields}], with
 * "node" when the view merges several nodes. */
void
web_entries(struct weirctl_json *j, struct weirctl_ctx *ctx,
	    const struct weirctl_entries *l, const char *const *strings)
{
	bool merged = weirctl_view_nodes(ctx) > 1;

	for (size_t i = 0; i < l->n; i++) {
		weirctl_json_begin_obj(j);
		key_str(j, "stream_id", l->e[i]->element[0]->str);
		if (merged)
			key_str(j, "node", ctx->nodes[l->node[i]].id);
		weirctl_json_hash_fields(j, l->e[i]->element[1], strings);
		weirctl_json_end_obj(j);
	}
}

/* The last transitions of P alerts:history, newest first (every node's,
 * interleaved by time). */
int
web_api_alerts_history(struct MHD_Connection *c, struct weirctl_ctx *ctx,
		       struct web_out *o)
{
	return web_stream_list(c, ctx, o, "alerts:history", "the alert history", "history",
			       weirctl_alert_history_strings);
}

/* The last `count` (1-1000, default 50) entries of the stream name on
 * every node of the view, newest first, as {"node":..., key:[...]}; what
 * names the stream in the error. */
int
web_stream_list(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o,
		const char *name, const char *what, const char *key, const char *const *strings)
{
	struct weirctl_json *j = &o->j;
	struct weirctl_entries l;
	long count = 50;

	if (web_param_long(c, o, "count", 1, 1000, &count) < 0)
		return o->status;
	if (weirctl_stream_last(ctx, name, count, NULL, NULL, &l))
		return web_fail(o, 502, "Redis failed while reading %s", what);
	weirctl_json_begin_obj(j);
	key_str(j, "node", ctx->node);
	weirctl_json_key(j, key);
	weirctl_json_begin_arr(j);
	web_entries(j, ctx, &l, strings);
	weirctl_json_end_arr(j);
	weirctl_json_end_obj(j);
	weirctl_entries_free(&l);
	return 200;
}

static bool
type_is(struct weirctl_ctx *ctx, void *arg, const redisReply *fields)
{
	const char *t = weirctl_hash_get(fields, "type");

	return t && !strcmp(t, arg);
}

int
web_api_events(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	static const char *const types[] = { "new_host", "boundary", "new_app",
					     "exporter_up", "exporter_down",
					     "health", NULL };
	static const char *const strings[] = { "type", "host", "ip", "subnet",
		"rule", "src_subnet", "dst_subnet", "flow", "src", "dst", "app",
		"category", "exporter", "what", "counter", NULL };
	struct weirctl_json *j = &o->j;
	struct weirctl_entries l;
	long count = 50;
	int type = -1;

	if (web_param_long(c, o, "count", 1, 1000, &count) < 0 ||
	    web_param_choice(c, o, "type", types, &type) < 0)
		return o->status;
	/* Newest first; a type filter reads back until count matched. */
	if (weirctl_stream_last(ctx, "events", count, type >= 0 ? type_is : NULL,
				type >= 0 ? (void *)types[type] : NULL, &l))
		return web_fail(o, 502, "Redis failed while reading events");
	weirctl_json_begin_obj(j);
	key_str(j, "node", ctx->node);
	weirctl_json_key(j, "events");
	weirctl_json_begin_arr(j);
	web_entries(j, ctx, &l, strings);
	weirctl_json_end_arr(j);
	weirctl_json_end_obj(j);
	weirctl_entries_free(&l);
	return 200;
}
