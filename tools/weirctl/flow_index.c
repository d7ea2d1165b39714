/* flow_index.c -- `flows --host/--vlan/--subnet/--port/--app` answered
 * from the engine's idx:* sets instead of reading every flow.
 *
 * The engine keeps, with the flows, one set of flow ids per host
 * (ADDR@VLAN, either end), VLAN, subnet pair (initiator's subnet >
 * responder's), application (the `application` field) and port (either
 * end, never 0) (docs/redis-keys.md). A filter is then one SINTER of the
 * sets it names; the caller reads the hashes of the ids it gives back,
 * pipelined, and checks every filter on them again (--proto and
 * --category have no set).
 *
 * Two filters need care:
 *  - --host IP without --vlan: the address may be a host on any VLAN, and
 *    a flow's host need not be in P hosts any more (ended flows outlive
 *    idle hosts), so P hosts cannot say which. P vlans can: every VLAN
 *    the engine saw traffic on, a handful. One SUNION of idx:host:IP@V
 *    over them finds the flows (over all 4096 VLAN ids when P vlans is
 *    empty; that costs Redis some 15 ms, the few names well under one).
 *    The other sets are then intersected here, on sorted lists: weirctl
 *    never writes, so there is no SINTERSTORE of the union.
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
 * node, and cmd_flows.c asks each node of a merged view in turn. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weirctl.h"

#define VLAN_MAX 4095

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
static int
indexes_kept(struct weirctl_ctx *ctx, bool *kept, bool *no_flows)
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

int
weirctl_flow_index(struct weirctl_ctx *ctx, char ***ids, size_t *n, bool *used)
{
	const struct weirctl_filters *f = &ctx->f;
	char keys[5][600], canon[INET6_ADDRSTRLEN], *app = NULL;
	const char *argv[VLAN_MAX + 2];
	size_t lens[VLAN_MAX + 2];
	char **hostids = NULL;
	size_t nkeys = 0, nhost = 0;
	bool kept, no_flows, host_union;
	int ret;

	*ids = NULL;
	*n = 0;
	*used = false;
	if (f->app) {
		ret = weirctl_app_name(ctx, f->app, &app);
		if (ret)
			return ret;
	}
	if (!f->host.af && f->vlan < 0 && !f->subnet && f->port <= 0 && !app)
		goto out;	/* nothing a set can answer */
	ret = indexes_kept(ctx, &kept, &no_flows);
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

	host_union = f->host.af && f->vlan < 0;
	if (f->host.af) {
		inet_ntop(f->host.af, f->host.bin, canon, sizeof(canon));
		if (!host_union)
			snprintf(keys[nkeys++], sizeof(keys[0]), "%sidx:host:%s@%ld",
				 ctx->keypfx, canon, f->vlan);
	} else if (f->vlan >= 0) {
		snprintf(keys[nkeys++], sizeof(keys[0]), "%sidx:vlan:%ld",
			 ctx->keypfx, f->vlan);
	}
	if (f->subnet)
		snprintf(keys[nkeys++], sizeof(keys[0]), "%sidx:subnet:%s",
			 ctx->keypfx, f->subnet);
	if (f->port > 0)
		snprintf(keys[nkeys++], sizeof(keys[0]), "%sidx:port:%ld",
			 ctx->keypfx, f->port);
	if (app)
		snprintf(keys[nkeys++], sizeof(keys[0]), "%sidx:app:%s",
			 ctx->keypfx, app);

	if (host_union) {
		char (*names)[600] = malloc((VLAN_MAX + 1) * sizeof(*names));
		bool vlan_seen[VLAN_MAX + 1] = { false };
		redisReply *vlans;
		bool listed;
		int nv = 0;

		if (!names)
			abort();
		ret = weirctl_zrevrange_scores(ctx, "vlans", VLAN_MAX + 1, &vlans);
		if (ret) {
			free(names);
			goto out;
		}
		for (size_t i = 0; i < vlans->elements; i += 2) {
			char *end;
			long v = strtol(vlans->element[i]->str, &end, 10);

			if (!*end && v >= 0 && v <= VLAN_MAX)
				vlan_seen[v] = true;
		}
		listed = vlans->elements > 0;
		freeReplyObject(vlans);
		argv[0] = "SUNION";
		lens[0] = 6;
		for (int v = 0; v <= VLAN_MAX; v++) {
			if (listed && !vlan_seen[v])
				continue;
			snprintf(names[nv], sizeof(names[nv]), "%sidx:host:%s@%d",
				 ctx->keypfx, canon, v);
			argv[nv + 1] = names[nv];
			lens[nv + 1] = strlen(names[nv]);
			nv++;
		}
		ret = set_command(ctx, nv + 1, argv, lens, &hostids, &nhost);
		free(names);
		if (ret)
			goto out;
		if (!nkeys) {
			*ids = hostids;
			*n = nhost;
			*used = true;
			hostids = NULL;
			goto out;
		}
	}
	argv[0] = "SINTER";
	lens[0] = 6;
	for (size_t k = 0; k < nkeys; k++) {
		argv[k + 1] = keys[k];
		lens[k + 1] = strlen(keys[k]);
	}
	ret = set_command(ctx, (int)nkeys + 1, argv, lens, ids, n);
	if (ret)
		goto out;
	if (host_union) {
		intersect(hostids, &nhost, *ids, *n);
		*ids = hostids;
		*n = nhost;
		hostids = NULL;
	}
	*used = true;
out:
	if (hostids)
		weirctl_ids_free(hostids, nhost);
	free(app);
	return ret;
}
