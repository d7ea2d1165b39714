/* alerts_read.c -- the alerts weir-alertd holds active, in reading order.
 *
 * weir-alertd writes P alerts:active (field RULE|ENTITY, value the alert
 * id) and one hash P alert:ID per alert, in one MULTI/EXEC per batch
 * (docs/alerts.md, "Keys written by weir-alertd"). Reading them is the
 * two steps that page gives: HVALS of the index, then HGETALL of each
 * hash, pipelined in batches of WEIRCTL_BATCH. The two reads are not one
 * transaction, so an alert released in between is read with state
 * `released` (or, 30 days on, not at all): it is left out and counted.
 * weirctl `alerts` and weir-web's /api/alerts both read through here, so
 * the CLI and the page list the same alerts in the same order. Over
 * several nodes each node's alerts are read and sorted together (each
 * alert's hash names its node).
 *
 * Everything here is text weir-alertd wrote, and some of it came off the
 * wire (a DNS name in a summary): the id is checked before a key is built
 * from it, and whoever prints the rest makes it safe (table.c, json.c). */
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

/* The longest id accepted: a 64-bit counter in decimal. */
#define ALERT_ID_MAX 20

const char *const weirctl_alert_strings[] = {
	"rule", "kind", "entity", "key", "severity", "state", "summary",
	"details", "node", NULL
};

const char *const weirctl_alert_history_strings[] = {
	"state", "rule", "kind", "severity", "entity", "summary", NULL
};

int
weirctl_severity_rank(const char *severity)
{
	static const char *const order[] = { "critical", "warning", "info" };

	for (int i = 0; severity && i < 3; i++)
		if (!strcmp(severity, order[i]))
			return i;
	return 3;
}

static bool
id_ok(const redisReply *r)
{
	if (r->type != REDIS_REPLY_STRING || !r->len || r->len > ALERT_ID_MAX)
		return false;
	for (size_t i = 0; i < r->len; i++)
		if (r->str[i] < '0' || r->str[i] > '9')
			return false;
	return true;
}

struct sort_key {
	int rank;
	uint64_t engaged, id;
	redisReply *h;
};

static int
cmp_alert(const void *pa, const void *pb)
{
	const struct sort_key *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->engaged != b->engaged)
		return a->engaged > b->engaged ? -1 : 1;	/* newest first */
	if (a->id != b->id)
		return a->id > b->id ? -1 : 1;
	return 0;
}

static int
redis_fail(struct weirctl_ctx *ctx, const char *what, const redisReply *r)
{
	weirctl_err("Redis at %s failed during %s%s: %s", ctx->conn.shown,
		    ctx->keypfx, what,
		    r && r->type == REDIS_REPLY_ERROR ? r->str :
		    r ? "an answer of the wrong type" :
		    weirctl_redis_errstr(&ctx->conn));
	return WC_EXIT_REDIS;
}

struct keys {
	struct sort_key *v;
	size_t n, cap;
};

/* The active alerts of the current node into k. */
static int
node_alerts(struct weirctl_ctx *ctx, struct keys *k, size_t *skipped)
{
	struct weirctl_pipe p = { 0 };
	redisReply *ids;
	int ret = WC_EXIT_OK;

	ids = weirctl_command(ctx, "HVALS %salerts:active", ctx->keypfx);
	if (!ids || ids->type != REDIS_REPLY_ARRAY) {
		ret = redis_fail(ctx, "alerts:active (HVALS)", ids);
		if (ids)
			freeReplyObject(ids);
		return ret;
	}
	if (k->n + ids->elements > k->cap) {
		k->cap = k->n + ids->elements + 16;
		k->v = realloc(k->v, k->cap * sizeof(*k->v));
		if (!k->v)
			abort();
	}
	for (size_t start = 0; start < ids->elements && !ret;
	     start += WEIRCTL_BATCH) {
		size_t end = start + WEIRCTL_BATCH < ids->elements ?
			     start + WEIRCTL_BATCH : ids->elements;
		size_t j = 0;

		weirctl_pipe_clear(&p);
		for (size_t i = start; i < end; i++)
			if (id_ok(ids->element[i]))
				weirctl_pipe_add(&p, "HGETALL %salert:%s", ctx->keypfx,
						 ids->element[i]->str);
			else
				(*skipped)++;
		if (!p.n)
			continue;
		if (weirctl_pipe_run(ctx, -1, &p)) {
			ret = redis_fail(ctx, "alert:ID (HGETALL)", NULL);
			break;
		}
		for (size_t i = start; i < end; i++) {
			redisReply *h;
			const char *state;

			if (!id_ok(ids->element[i]))
				continue;
			h = p.r[j];
			p.r[j++] = NULL;
			if (h->type != REDIS_REPLY_ARRAY) {
				/* a key of the wrong type: the others still read */
				ret = redis_fail(ctx, "alert:ID (HGETALL)", h);
				freeReplyObject(h);
				continue;
			}
			state = weirctl_hash_get(h, "state");
			if (!h->elements || (state && strcmp(state, "active"))) {
				(*skipped)++;
				freeReplyObject(h);
				continue;
			}
			struct sort_key *sk = &k->v[k->n++];

			sk->rank = weirctl_severity_rank(weirctl_hash_get(h, "severity"));
			sk->engaged = weirctl_hash_u64(h, "engaged_ms");
			sk->id = strtoull(ids->element[i]->str, NULL, 10);
			sk->h = h;
		}
	}
	weirctl_pipe_free(&p);
	freeReplyObject(ids);
	return ret;
}

int
weirctl_alerts_active(struct weirctl_ctx *ctx, struct weirctl_alerts *out)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	long focus = ctx->focus;
	struct keys k = { 0 };
	int ret = WC_EXIT_OK;

	/* Over several nodes: each node's alerts (weir-alertd writes them
	 * under the node, with a node field), in one order. */
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < nv && !ret; i++) {
		weirctl_node_focus(ctx, vw[i]);
		ret = node_alerts(ctx, &k, &out->skipped);
	}
	if (focus < 0)
		weirctl_node_unfocus(ctx);
	if (k.n)
		qsort(k.v, k.n, sizeof(*k.v), cmp_alert);
	out->h = calloc(k.n ? k.n : 1, sizeof(*out->h));
	if (!out->h)
		abort();
	for (size_t i = 0; i < k.n; i++)
		out->h[i] = k.v[i].h;
	out->n = k.n;
	free(k.v);
	if (ret)
		weirctl_alerts_free(out);
	return ret;
}

void
weirctl_alerts_free(struct weirctl_alerts *a)
{
	for (size_t i = 0; i < a->n; i++)
		freeReplyObject(a->h[i]);
	free(a->h);
	memset(a, 0, sizeof(*a));
}

/* True when s[0..n) is the host id ip@vlan (vlan -1: any VLAN). */
static bool
is_host_id(const char *s, size_t n, const char *ip, long vlan)
{
	size_t il = strlen(ip);
	char *end;
	long v;

	if (n <= il + 1 || strncmp(s, ip, il) || s[il] != '@' ||
	    s[il + 1] < '0' || s[il + 1] > '9')
		return false;
	v = strtol(s + il + 1, &end, 10);
	return (size_t)(end - s) == n && (vlan < 0 || v == vlan);
}

static bool
is_addr(const char *s, size_t n, const char *ip)
{
	return strlen(ip) == n && !strncmp(s, ip, n);
}

bool
weirctl_alert_about_host(const char *entity, const char *ip, long vlan)
{
	const char *gt, *slash;
	size_t n;

	if (!entity || !ip || !*ip)
		return false;
	if (!strncmp(entity, "host:", 5))
		entity += 5;		/* threshold: host:IP@VLAN */
	n = strlen(entity);
	if (is_host_id(entity, n, ip, vlan))
		return true;		/* new-host, scan, dns-quiet */
	slash = strchr(entity, '/');
	if (slash && is_host_id(entity, (size_t)(slash - entity), ip, vlan))
		return true;		/* new-app: HOST/APP */
	if (is_addr(entity, n, ip))
		return true;		/* boundary by src or dst */
	gt = strchr(entity, '>');
	return gt && (is_addr(entity, (size_t)(gt - entity), ip) ||
		      is_addr(gt + 1, strlen(gt + 1), ip));	/* pair */
}
