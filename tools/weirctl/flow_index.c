/* flow_index.c -- `flows --host/--vlan/--subnet/--port/--app` answered
 * from the engine's idx:* sets instead of reading every flow.
 *
 * The engine keeps, with the flows, one set of flow ids per host
 * (ADDR@VLAN, either end), VLAN, subnet pair (initiator's subnet >
 * responder's), application (the `application` field) and port (either
 * end, never 0) (docs/redis-keys.md). A filter is then one SINTER of the
 * sets it names. The ids are ranked before any hash is read: one
 * ZMSCORE (Redis 6.2) of P flows per thousand ids gives their bytes, so
 * a command that shows the top 50 of 25,000 matching flows reads 50
 * hashes, not 25,000 (cmd_flows.c reads them in rank order and checks
 * every filter on them again: --proto and --category have no set).
 *
 * Three filters need care:
 *  - --host IP without --vlan: the address may be a host on any VLAN, and
 *    a flow's host need not be in P hosts any more (ended flows outlive
 *    idle hosts), so P hosts cannot say which. P vlans can: every VLAN
 *    the engine saw traffic on, a handful. One SUNION of idx:host:IP@V
 *    over them finds the flows (over all 4096 VLAN ids when P vlans is
 *    empty; that costs Redis some 15 ms, the few names well under one).
 *  - --subnet NAME (one name, no '>'): the flows with NAME at either end,
 *    one SUNION of idx:subnet:NAME>X and idx:subnet:X>NAME over every
 *    name X that P subnets mentions (a handful: the named subnets and
 *    'remote'). A pair P subnets never listed is not asked for.
 *    The unions are intersected with the other sets here, on sorted
 *    lists: weirctl never writes, so there is no SINTERSTORE.
 *  - --app NAME: the set is named by the application as nDPI spells it
 *    (idx:app:YouTube). NAME is looked up in P apps, any case; NAME may be
 *    a pair (TLS.YouTube), looked up by its application half. A name that
 *    is no application (TLS in TLS.YouTube, a master protocol) has no
 *    set: it is checked on the hashes only.
 *
 * An empty result and "the engine keeps no indexes" look alike (Redis
 * has no empty sets), so before trusting a missing set this asks whether
 * the engine indexes at all: the top flow of P flows must be a member of
 * idx:vlan:<its vlan>, a set every indexed flow is in. Without indexes,
 * the caller reads every flow, as before; --subnet then has nothing to
 * go on (a flow's hash names no subnet) and says so.
 *
 * All of this is about one node (the current one): flows live on one
 * node, and cmd_flows.c asks each node of a merged view in turn, then
 * ranks their flows together. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weirctl.h"

#define VLAN_MAX 4095
#define KEY_MAX 600

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
weirctl_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

/* The members of a set reply as a sorted malloc'd list. */
static char **
members(const redisReply *r, size_t *n)
{
	char **ids = calloc(r->elements ? r->elements : 1, sizeof(*ids));
	size_t k = 0;

	if (!ids)
		abort();
	for (size_t i = 0; i < r->elements; i++) {
		if (r->element[i]->type != REDIS_REPLY_STRING)
			continue;
		ids[k] = strdup(r->element[i]->str);
		if (!ids[k++])
			abort();
	}
	qsort(ids, k, sizeof(*ids), cmp_str);
	*n = k;
	return ids;
}

/* Sends argv, expects an array of strings (a set's members). */
static int
set_command(struct weirctl_ctx *ctx, int argc, const char **argv,
	    const size_t *lens, char ***ids, size_t *n)
{
	redisReply *r = weirctl_commandargv(ctx, argc, argv, lens);

	*ids = NULL;
	*n = 0;
	if (!r)
		return weirctl_redis_fail(ctx, argv[0]);
	if (r->type != REDIS_REPLY_ARRAY) {
		weirctl_err("Redis at %s answered %s %s with %s", ctx->conn.shown,
			    argv[0], argv[1], r->type == REDIS_REPLY_ERROR ?
			    r->str : "something other than members");
		freeReplyObject(r);
		return WC_EXIT_REDIS;
	}
	*ids = members(r, n);
	freeReplyObject(r);
	return WC_EXIT_OK;
}

/* Does the engine keep indexes? See the top of the file. */
int
weirctl_flow_indexes_kept(struct weirctl_ctx *ctx, bool *kept, bool *no_flows)
{
	redisReply *top, *r;
	char vlan[16];
	int ret = WC_EXIT_OK;

	*kept = *no_flows = false;
	ret = weirctl_zrevrange_scores(ctx, "flows", 1, &top);
	if (ret)
		return ret;
	if (top->elements < 2) {
		*no_flows = true;
		freeReplyObject(top);
		return WC_EXIT_OK;
	}
	const char *id = top->element[0]->str;

	r = weirctl_command(ctx, "HGET %sflow:%s vlan", ctx->keypfx, id);
	if (!r) {
		freeReplyObject(top);
		return weirctl_redis_fail(ctx, "HGET");
	}
	if (r->type != REDIS_REPLY_STRING || r->len >= sizeof(vlan)) {
		/* The flow went between the two reads, or is junk: read all. */
		freeReplyObject(r);
		freeReplyObject(top);
		return WC_EXIT_OK;
	}
	snprintf(vlan, sizeof(vlan), "%s", r->str);
	freeReplyObject(r);
	r = weirctl_command(ctx, "SISMEMBER %sidx:vlan:%s %s", ctx->keypfx,
			    vlan, id);
	if (!r) {
		ret = weirctl_redis_fail(ctx, "SISMEMBER");
	} else if (r->type == REDIS_REPLY_ERROR) {
		ret = WC_EXIT_REDIS;
		weirctl_err("Redis at %s answered SISMEMBER %sidx:vlan:%s with an "
			    "error: %s", ctx->conn.shown, ctx->keypfx, vlan, r->str);
	} else {
		*kept = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	}
	if (r)
		freeReplyObject(r);
	freeReplyObject(top);
	return ret;
}

int
weirctl_app_name(struct weirctl_ctx *ctx, const char *want, char **out)
{
	const char *dot = strchr(want, '.');
	redisReply *apps;
	int ret;

	*out = NULL;
	ret = weirctl_zrevrange_scores(ctx, "apps", 100000, &apps);
	if (ret)
		return ret;
	for (size_t i = 0; i < apps->elements; i += 2) {
		const char *m = apps->element[i]->str;

		if (!strcasecmp(m, want) || (dot && !strcasecmp(m, dot + 1))) {
			*out = strdup(m);
			if (!*out)
				abort();
			break;
		}
	}
	freeReplyObject(apps);
	return WC_EXIT_OK;
}

/* Keeps in a the ids also in b (both sorted); frees b. */
static void
intersect(char **a, size_t *na, char **b, size_t nb)
{
	size_t i = 0, j = 0, k = 0;

	while (i < *na) {
		int c = j < nb ? strcmp(a[i], b[j]) : -1;

		if (j < nb && c > 0) {
			j++;
		} else if (c == 0) {
			a[k++] = a[i++];
			j++;
		} else {
			free(a[i++]);
		}
	}
	*na = k;
	weirctl_ids_free(b, nb);
}

/* The set names a union reads, growing. Callers add each name once
 * (SUNION would not mind a name twice, but a long argv costs). */
struct names {
	char (*v)[KEY_MAX];
	size_t n, cap;
};

static void
names_add(struct names *ns, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
names_add(struct names *ns, const char *fmt, ...)
{
	va_list ap;

	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 64;
		ns->v = realloc(ns->v, ns->cap * sizeof(*ns->v));
		if (!ns->v)
			abort();
	}
	va_start(ap, fmt);
	vsnprintf(ns->v[ns->n++], KEY_MAX, fmt, ap);
	va_end(ap);
}

/* SUNION of the sets named (none: an empty list). */
static int
union_of(struct weirctl_ctx *ctx, const struct names *ns, char ***ids,
	 size_t *n)
{
	const char **argv = calloc(ns->n + 1, sizeof(*argv));
	size_t *lens = calloc(ns->n + 1, sizeof(*lens));
	int ret = WC_EXIT_OK;

	if (!argv || !lens)
		abort();
	if (!ns->n) {
		*ids = calloc(1, sizeof(**ids));
		*n = 0;
		if (!*ids)
			abort();
	} else {
		argv[0] = "SUNION";
		lens[0] = 6;
		for (size_t i = 0; i < ns->n; i++) {
			argv[i + 1] = ns->v[i];
			lens[i + 1] = strlen(ns->v[i]);
		}
		ret = set_command(ctx, (int)ns->n + 1, argv, lens, ids, n);
	}
	free(argv);
	free(lens);
	return ret;
}

/* idx:host:CANON@V for every VLAN V of P vlans (all 4096 without it). */
static int
host_sets(struct weirctl_ctx *ctx, const char *canon, struct names *ns)
{
	bool vlan_seen[VLAN_MAX + 1] = { false };
	redisReply *vlans;
	bool listed;
	int ret;

	ret = weirctl_zrevrange_scores(ctx, "vlans", VLAN_MAX + 1, &vlans);
	if (ret)
		return ret;
	for (size_t i = 0; i < vlans->elements; i += 2) {
		char *end;
		long v = strtol(vlans->element[i]->str, &end, 10);

		if (!*end && v >= 0 && v <= VLAN_MAX)
			vlan_seen[v] = true;
	}
	listed = vlans->elements > 0;
	freeReplyObject(vlans);
	for (int v = 0; v <= VLAN_MAX; v++)
		if (!listed || vlan_seen[v])
			names_add(ns, "%sidx:host:%s@%d", ctx->keypfx, canon, v);
	return WC_EXIT_OK;
}

/* idx:subnet:NAME>X and idx:subnet:X>NAME for every name X of P subnets
 * (NAME>NAME included), each once: the halves of the pairs, sorted and
 * told apart. */
static int
subnet_sets(struct weirctl_ctx *ctx, const char *name, struct names *ns)
{
	redisReply *pairs;
	char **x;
	size_t nx = 0;
	int ret;

	ret = weirctl_zrevrange_scores(ctx, "subnets", 100000, &pairs);
	if (ret)
		return ret;
	x = calloc(pairs->elements + 1, sizeof(*x));
	if (!x)
		abort();
	for (size_t i = 0; i < pairs->elements; i += 2) {
		const char *m = pairs->element[i]->str;
		const char *gt = strchr(m, '>');

		if (!gt)
			continue;
		/* both halves are names X */
		x[nx++] = strndup(m, (size_t)(gt - m));
		x[nx++] = strdup(gt + 1);
		if (!x[nx - 2] || !x[nx - 1])
			abort();
	}
	freeReplyObject(pairs);
	qsort(x, nx, sizeof(*x), cmp_str);
	names_add(ns, "%sidx:subnet:%s>%s", ctx->keypfx, name, name);
	for (size_t i = 0; i < nx; i++) {
		if ((i && !strcmp(x[i - 1], x[i])) || !strcmp(x[i], name))
			continue;
		names_add(ns, "%sidx:subnet:%s>%s", ctx->keypfx, name, x[i]);
		names_add(ns, "%sidx:subnet:%s>%s", ctx->keypfx, x[i], name);
	}
	weirctl_ids_free(x, nx);
	return WC_EXIT_OK;
}

/* Intersects *ids (or sets it, the first time) with the union ns. */
static int
and_union(struct weirctl_ctx *ctx, const struct names *ns, char ***ids,
	  size_t *n, bool *have)
{
	char **u;
	size_t nu;
	int ret = union_of(ctx, ns, &u, &nu);

	if (ret)
		return ret;
	if (!*have) {
		*ids = u;
		*n = nu;
		*have = true;
	} else {
		intersect(*ids, n, u, nu);
	}
	return WC_EXIT_OK;
}

int
weirctl_flow_index(struct weirctl_ctx *ctx, char ***ids, size_t *n, bool *used,
		   bool *exact)
{
	const struct weirctl_filters *f = &ctx->f;
	char keys[5][KEY_MAX], canon[INET6_ADDRSTRLEN], *app = NULL;
	const char *argv[6];
	size_t lens[6];
	struct names hosts = { 0 }, subnets = { 0 };
	size_t nkeys = 0;
	bool kept, no_flows, have = false;
	bool subnet_pair = f->subnet && strchr(f->subnet, '>');
	int ret;

	*ids = NULL;
	*n = 0;
	*used = false;
	if (f->app) {
		ret = weirctl_app_name(ctx, f->app, &app);
		if (ret)
			return ret;
	}
	/* What the hashes must still decide: filters without a set. */
	*exact = f->proto < 0 && !f->category && (!f->app || app) &&
		 f->port != 0;
	if (!f->host.af && f->vlan < 0 && !f->subnet && f->port <= 0 && !app)
		goto out;	/* nothing a set can answer */
	ret = weirctl_flow_indexes_kept(ctx, &kept, &no_flows);
	if (ret)
		goto out;
	if (no_flows) {
		*used = true;	/* no flows, nothing to match */
		*ids = calloc(1, sizeof(**ids));
		if (!*ids)
			abort();
		goto out;
	}
	if (!kept) {
		if (f->subnet) {
			weirctl_err("flows --subnet: this engine publishes no flow "
				    "indexes (%sidx:subnet:*), and a flow's hash names "
				    "no subnet: nothing to filter on", ctx->keypfx);
			ret = WC_EXIT_NODATA;
		}
		goto out;
	}

	if (f->host.af) {
		inet_ntop(f->host.af, f->host.bin, canon, sizeof(canon));
		if (f->vlan >= 0)
			snprintf(keys[nkeys++], KEY_MAX, "%sidx:host:%s@%ld",
				 ctx->keypfx, canon, f->vlan);
	} else if (f->vlan >= 0) {
		snprintf(keys[nkeys++], KEY_MAX, "%sidx:vlan:%ld",
			 ctx->keypfx, f->vlan);
	}
	if (subnet_pair)
		snprintf(keys[nkeys++], KEY_MAX, "%sidx:subnet:%s",
			 ctx->keypfx, f->subnet);
	if (f->port > 0)
		snprintf(keys[nkeys++], KEY_MAX, "%sidx:port:%ld",
			 ctx->keypfx, f->port);
	if (app)
		snprintf(keys[nkeys++], KEY_MAX, "%sidx:app:%s",
			 ctx->keypfx, app);

	if (nkeys) {
		argv[0] = "SINTER";
		lens[0] = 6;
		for (size_t k = 0; k < nkeys; k++) {
			argv[k + 1] = keys[k];
			lens[k + 1] = strlen(keys[k]);
		}
		ret = set_command(ctx, (int)nkeys + 1, argv, lens, ids, n);
		if (ret)
			goto out;
		have = true;
	}
	/* The unions, costliest last: skipped once nothing is left. */
	if (f->subnet && !subnet_pair && (!have || *n)) {
		ret = subnet_sets(ctx, f->subnet, &subnets);
		if (!ret)
			ret = and_union(ctx, &subnets, ids, n, &have);
		if (ret)
			goto out;
	}
	if (f->host.af && f->vlan < 0 && (!have || *n)) {
		ret = host_sets(ctx, canon, &hosts);
		if (!ret)
			ret = and_union(ctx, &hosts, ids, n, &have);
		if (ret)
			goto out;
	}
	*used = true;
out:
	if (ret && *ids) {
		weirctl_ids_free(*ids, *n);
		*ids = NULL;
		*n = 0;
	}
	free(hosts.v);
	free(subnets.v);
	free(app);
	return ret;
}

/* Most bytes first; equal bytes by id from the highest, as ZREVRANGE
 * orders members of equal score, then by node. */
static int
cmp_ranked(const void *pa, const void *pb)
{
	const struct weirctl_ranked *a = pa, *b = pb;
	int c;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	c = -strcmp(a->id, b->id);
	return c ? c : (a->node < b->node ? -1 : a->node > b->node);
}

int
weirctl_flow_rank(struct weirctl_ctx *ctx, size_t node, char **ids, size_t n,
		  struct weirctl_rank *out)
{
	const char *kp = ctx->nodes[node].keypfx;
	struct weirctl_pipe p = { 0 };
	const char **argv = calloc(WEIRCTL_BATCH + 2, sizeof(*argv));
	size_t *lens = calloc(WEIRCTL_BATCH + 2, sizeof(*lens));
	char key[KEY_MAX];
	int ret = WC_EXIT_OK;

	if (!argv || !lens)
		abort();
	if (out->n + n > out->cap) {
		out->cap = out->n + n + 16;
		out->v = realloc(out->v, out->cap * sizeof(*out->v));
		if (!out->v)
			abort();
	}
	snprintf(key, sizeof(key), "%sflows", kp);
	argv[0] = "ZMSCORE";
	lens[0] = 7;
	argv[1] = key;
	lens[1] = strlen(key);
	/* one pipeline of ZMSCOREs of a thousand ids each */
	for (size_t at = 0; at < n; at += WEIRCTL_BATCH) {
		size_t end = at + WEIRCTL_BATCH < n ? at + WEIRCTL_BATCH : n;

		for (size_t i = at; i < end; i++) {
			argv[i - at + 2] = ids[i];
			lens[i - at + 2] = strlen(ids[i]);
		}
		weirctl_pipe_addargv(&p, (int)(end - at) + 2, argv, lens);
	}
	if (p.n && weirctl_pipe_run(ctx, (int)node, &p)) {
		ret = weirctl_redis_fail(ctx, "ZMSCORE");
		goto out;
	}
	for (size_t b = 0; b < p.n; b++) {
		const redisReply *r = p.r[b];
		size_t at = b * WEIRCTL_BATCH;

		if (r->type == REDIS_REPLY_ERROR && !strncasecmp(r->str, "ERR unknown command", 19)) {
			weirctl_err("Redis at %s does not know ZMSCORE (%s): flow "
				    "filters need Redis 6.2 or later", ctx->conn.shown, r->str);
			ret = WC_EXIT_REDIS;
			goto out;
		}
		if (r->type != REDIS_REPLY_ARRAY) {
			weirctl_err("Redis at %s answered ZMSCORE %s with %s",
				    ctx->conn.shown, key, r->type == REDIS_REPLY_ERROR ?
				    r->str : "something other than scores");
			ret = WC_EXIT_REDIS;
			goto out;
		}
		for (size_t i = 0; i < r->elements && at + i < n; i++) {
			struct weirctl_ranked *x;

			/* nil: the flow left P flows since the sets were read */
			if (r->element[i]->type != REDIS_REPLY_STRING)
				continue;
			x = &out->v[out->n++];
			x->id = ids[at + i];
			ids[at + i] = NULL;
			x->node = node;
			x->score = weirctl_score_u64(r->element[i]);
		}
	}
out:
	weirctl_pipe_free(&p);
	free(argv);
	free(lens);
	return ret;
}

void
weirctl_rank_sort(struct weirctl_rank *r)
{
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), cmp_ranked);
}

void
weirctl_rank_free(struct weirctl_rank *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].id);
	free(r->v);
	memset(r, 0, sizeof(*r));
}
