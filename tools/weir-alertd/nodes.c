/* nodes.c -- which engines weir-alertd watches, and where the alerts of
 * the merged view live.
 *
 * Several engines may publish into one Redis (or Redis Cluster), each
 * under its node id, each registered in the hash PREFIXnodes (field the
 * id, value when it started). weir-alertd watches the nodes --node (or
 * the config's `node`) names; without it, every node of the registry that
 * has published (its P meta exists), read again every nodes-interval so
 * an engine started later is picked up, and node "local" while the
 * registry is empty, which is what a single engine of old looks like. A
 * node watched stays watched while it is registered (its meta goes for a
 * moment at each engine start).
 * A node whose meta names a keyspace version we do not read is left out
 * and said once in the log, as weirctl refuses it. weirctl and weir-web
 * show by default only the nodes of the newest run (weirctl_nodes_pick);
 * watching the others too changes nothing here: a finished node writes
 * no event, and its time series fall out of every rule's window.
 *
 * A node that joins after the first reading of the registry has its
 * consumer group created at the start of its stream: every event it wrote
 * is new to us. The nodes there at the first reading follow `start`.
 *
 * The home is the node whose keys hold the alerts of the merged view
 * (threshold, scan, dns-quiet): alert-node when given, else the first
 * watched node in sorted order. When it changes, the merged table is read
 * back from the new home, and the old home, if still watched, releases
 * the merged alerts it holds (main.c, at its recovery). A node dropped
 * from the set keeps its keys; its alerts stay as they were. */
#include <stdlib.h>
#include <string.h>

#include "weir/rcluster.h"
#include "alertd.h"

struct ids {
	char v[ALERTD_NODES_MAX][ALERTD_NODE_MAX + 1];
	size_t n;
};

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Adds the n bytes of id (a valid, new one; anything else is left out:
 * the registry may hold anything). */
static void
ids_add(struct ids *l, const char *id, size_t n)
{
	if (l->n == ALERTD_NODES_MAX || !weirctl_node_id_ok(id, n))
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == n && !memcmp(l->v[i], id, n))
			return;
	memcpy(l->v[l->n], id, n);
	l->v[l->n++][n] = '\0';
}

static void
ids_sort(struct ids *l)
{
	qsort(l->v, l->n, sizeof(l->v[0]), cmp_id);
}

static void
node_free(struct alertd_node *nd)
{
	if (!nd)
		return;
	alertd_store_close(&nd->store);
	alertd_alerts_free(nd->alerts);
	free(nd);
}

static struct alertd_node *
node_new(struct alertd_ctx *ctx, const char *id, bool watched, bool from_start)
{
	struct alertd_node *nd = calloc(1, sizeof(*nd));

	if (!nd)
		return NULL;
	snprintf(nd->id, sizeof(nd->id), "%s", id);
	nd->alerts = alertd_alerts_new();
	if (!nd->alerts || alertd_store_init(&nd->store, ctx->conf, id)) {
		node_free(nd);
		return NULL;
	}
	alertd_alerts_node(nd->alerts, id);
	nd->watched = watched;
	nd->store.no_group = !watched;
	nd->store.start_all = ctx->conf->start_all || from_start;
	nd->need_recover = true;
	return nd;
}

struct alertd_node *
alertd_node_find(struct alertd_ctx *ctx, const char *id)
{
	for (size_t i = 0; i < ctx->n_nodes; i++)
		if (!strcmp(ctx->nodes[i]->id, id))
			return ctx->nodes[i];
	if (ctx->home && !strcmp(ctx->home->id, id))
		return ctx->home;
	return NULL;
}

void
alertd_nodes_label(const struct alertd_ctx *ctx, char *buf, size_t len)
{
	alertd_view_label(ctx, ctx->n_nodes >= 64 ? ~(alertd_nodeset)0 :
			  ((alertd_nodeset)1 << ctx->n_nodes) - 1, buf, len);
}

/* Chooses the home again after the set changed. old: the home before
 * (already freed when it was a watched node that went: NULL then), its
 * id in old_id. */
static void
pick_home(struct alertd_ctx *ctx, struct alertd_node *old, const char *old_id)
{
	const char *want = ctx->conf->alert_node[0] ? ctx->conf->alert_node :
			   ctx->nodes[0]->id;
	struct alertd_node *nd = NULL, *was;

	for (size_t i = 0; i < ctx->n_nodes && !nd; i++)
		if (!strcmp(ctx->nodes[i]->id, want))
			nd = ctx->nodes[i];
	if (!nd && old && !old->watched && !strcmp(old->id, want))
		nd = old;	/* its own, not watched: it stays */
	if (!nd)
		nd = node_new(ctx, want, false, false);
	if (old && !old->watched && old != nd)
		node_free(old);
	ctx->home = nd;
	if (!nd)
		alertd_log("out of memory for the home node %s", want);
	if (nd && !strcmp(old_id, nd->id))
		return;
	/* a new home: its merged alerts are read back; the old one, still
	 * watched, releases those it holds (at its recovery) */
	alertd_alerts_reset(ctx->merged);
	ctx->merged_recover = true;
	was = old_id[0] ? alertd_node_find(ctx, old_id) : NULL;
	if (was && was->watched)
		was->need_recover = true;
}

/* Makes the watched set the sorted ids: kept nodes stay as they are. */
static bool
apply(struct alertd_ctx *ctx, const struct ids *want, bool late)
{
	struct alertd_node *nv[ALERTD_NODES_MAX];
	struct alertd_node *old = ctx->home;
	char old_id[ALERTD_NODE_MAX + 1] = "";
	bool changed = want->n != ctx->n_nodes;
	size_t n = 0;

	if (old)
		snprintf(old_id, sizeof(old_id), "%s", old->id);
	for (size_t i = 0; i < want->n; i++) {
		struct alertd_node *nd = NULL;

		for (size_t k = 0; k < ctx->n_nodes && !nd; k++)
			if (ctx->nodes[k] && !strcmp(ctx->nodes[k]->id, want->v[i])) {
				nd = ctx->nodes[k];
				ctx->nodes[k] = NULL;
			}
		if (!nd) {
			nd = node_new(ctx, want->v[i], true, late);
			if (!nd) {
				alertd_log("out of memory for node %s", want->v[i]);
				continue;
			}
			changed = true;
		}
		nv[n++] = nd;
	}
	if (!n)
		return false;	/* out of memory: the set stays */
	for (size_t k = 0; k < ctx->n_nodes; k++)
		if (ctx->nodes[k]) {
			/* dropped: its keys stay as they are */
			changed = true;
			if (ctx->nodes[k] == old)
				old = NULL;
			node_free(ctx->nodes[k]);
		}
	memcpy(ctx->nodes, nv, n * sizeof(*nv));
	ctx->n_nodes = n;
	ctx->home = NULL;
	pick_home(ctx, old, old_id);
	if (changed) {
		char label[1024];

		alertd_nodes_label(ctx, label, sizeof(label));
		alertd_log("watching node%s %s; alerts of the merged view under "
			   "node %s", ctx->n_nodes == 1 ? "" : "s", label,
			   ctx->home ? ctx->home->id : "?");
	}
	return changed;
}

static int
list_id(struct ids *l, const char *list)
{
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");

		ids_add(l, p, n);
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

int
alertd_nodes_init(struct alertd_ctx *ctx)
{
	struct ids want = { .n = 0 };

	ctx->merged = alertd_alerts_new();
	if (!ctx->merged)
		return -1;
	if (ctx->conf->node[0]) {
		list_id(&want, ctx->conf->node);
	} else {
		struct weirctl_url u;
		char err[256];

		if (weirctl_url_parse(ctx->conf->redis, &u, err, sizeof(err)))
			return -1;
		ctx->reg = alertd_rc_new(&u);
		if (!ctx->reg)
			return -1;
		ids_add(&want, "local", 5);	/* until the registry says */
	}
	ids_sort(&want);
	if (!want.n)
		return -1;
	apply(ctx, &want, false);
	return ctx->home ? 0 : -1;
}

/* A node whose meta says a keyspace version this weir-alertd does not
 * read (weirctl_meta_load refuses it the same way): said once a node and
 * version, then left out at every reading until its version changes. */
static void
refuse_version(const char *id, const char *version)
{
	static struct {
		char id[ALERTD_NODE_MAX + 1];
		char version[24];
	} said[ALERTD_NODES_MAX];
	static size_t n_said;
	size_t i;

	for (i = 0; i < n_said; i++)
		if (!strcmp(said[i].id, id))
			break;
	if (i < n_said && !strncmp(said[i].version, version,
				   sizeof(said[i].version) - 1))
		return;
	if (i == n_said)
		i = n_said < ALERTD_NODES_MAX ? n_said++ : 0;
	snprintf(said[i].id, sizeof(said[i].id), "%s", id);
	snprintf(said[i].version, sizeof(said[i].version), "%s", version);
	alertd_log("node %s publishes keyspace version %.20s; this weir-alertd "
		   "reads version %d only: node %s is not watched (use the "
		   "weir-alertd that came with that weir)", id, version,
		   WEIRCTL_KEYSPACE_MAJOR, id);
}

/* The registered nodes that published a keyspace version we read,
 * sorted, and those watched that are still registered: an engine's
 * start-up purge deletes its meta for
 * a moment, which must not drop it. -1: Redis failed. */
static int
read_registry(struct alertd_ctx *ctx, struct ids *out)
{
	char key[200], meta[300];
	redisReply *r;
	struct ids reg = { .n = 0 };

	snprintf(key, sizeof(key), "%snodes", ctx->conf->prefix);
	if (!ctx->reg_up && weir_rc_connect(ctx->reg))
		goto fail;
	ctx->reg_up = true;
	r = weir_rc_command(ctx->reg, key, "HKEYS %s", key);
	if (!r)
		goto fail;
	if (r->type != REDIS_REPLY_ARRAY) {
		alertd_log("Redis at %s: HKEYS %s: %s", ctx->nodes[0]->store.shown,
			   key, r->type == REDIS_REPLY_ERROR ? r->str : "not a list");
		freeReplyObject(r);
		return -1;
	}
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			ids_add(&reg, r->element[i]->str, r->element[i]->len);
	freeReplyObject(r);
	/* one command a node: in a cluster each meta is in its node's slot */
	for (size_t i = 0; i < reg.n; i++) {
		bool watched = false;

		for (size_t k = 0; k < ctx->n_nodes; k++)
			if (!strcmp(ctx->nodes[k]->id, reg.v[i]))
				watched = true;
		snprintf(meta, sizeof(meta), "%s{%s}:meta", ctx->conf->prefix,
			 reg.v[i]);
		r = weir_rc_command(ctx->reg, meta, "HGET %s version", meta);
		if (!r)
			goto fail;
		if (r->type == REDIS_REPLY_STRING &&
		    weirctl_keyspace_major(r->str) != WEIRCTL_KEYSPACE_MAJOR)
			refuse_version(reg.v[i], r->str);	/* not read */
		else if (r->type == REDIS_REPLY_STRING || watched)
			ids_add(out, reg.v[i], strlen(reg.v[i]));
		freeReplyObject(r);
	}
	ids_sort(out);
	return 0;
fail:
	alertd_debug("reading the node registry: %s", weir_rc_error(ctx->reg));
	weir_rc_invalidate(ctx->reg);
	ctx->reg_up = false;
	return -1;
}

bool
alertd_nodes_refresh(struct alertd_ctx *ctx, int64_t now)
{
	struct ids want = { .n = 0 };
	bool late = ctx->reg_read;

	if (!ctx->reg || now < ctx->next_nodes_ms)
		return false;
	ctx->next_nodes_ms = now + ctx->conf->nodes_every_ms;
	if (read_registry(ctx, &want))
		return false;	/* the nodes watched stay */
	ctx->reg_read = true;
	if (!want.n)
		ids_add(&want, "local", 5);
	return apply(ctx, &want, late);
}

void
alertd_nodes_free(struct alertd_ctx *ctx)
{
	bool home_watched = false;

	for (size_t i = 0; i < ctx->n_nodes; i++) {
		if (ctx->nodes[i] == ctx->home)
			home_watched = true;
		node_free(ctx->nodes[i]);
	}
	if (!home_watched)
		node_free(ctx->home);
	ctx->n_nodes = 0;
	ctx->home = NULL;
	alertd_alerts_free(ctx->merged);
	ctx->merged = NULL;
	if (ctx->reg)
		weir_rc_free(ctx->reg);
	ctx->reg = NULL;
}
