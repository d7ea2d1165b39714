/* nodes.c -- which engines a view reads, and moving between them.
 *
 * Several engines may publish into one Redis (or one Redis Cluster),
 * each under its own node id: every key of node N starts with
 * PREFIX{N}:, and each engine registers itself in the hash PREFIXnodes
 * (field the node id, value when it started; docs/scaling.md). A reader
 * shows the merged view of every registered node that has published (a
 * meta hash) unless --node names one node or a comma list of them; with
 * no registry at all it reads node "local", so a single engine's user
 * sees what weirctl always showed.
 *
 * Not every registered node belongs in that view: the registry keeps a
 * node until its keys are deleted, so a file run of last week under
 * another id would be summed with today's engines. Without --node the
 * view is therefore the nodes that run now (meta state `running`, or no
 * state: a meta written by hand) plus those that ended within
 * WEIRCTL_NODES_GAP_MS of the newest update of a running one; with none
 * running, the newest finished node and the finished nodes that ran
 * with it or back to back (each ended at most the gap before the
 * session's earliest start). The others are left out, and weirctl says
 * on stderr which nodes it merged and which it left out (weirctl(1),
 * docs/scaling.md). A rerun under the same id needs none of this: it
 * replaces its own keys.
 *
 * The view is an array of nodes, each with its key prefix and checked
 * meta hash. Code that reads one node at a time focuses it (its prefix
 * and meta become the current ones and the view narrows to it), which
 * lets the readers that merge (merge.c, walk.c) and those that do not
 * share the same functions. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/rcluster.h"
#include "weirctl.h"

bool
weirctl_node_id_ok(const char *s, size_t n)
{
	if (n == 0 || n > WEIRCTL_NODE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch > '~' || strchr("{}:,*?[]\\\"'", ch))
			return false;
	}
	return true;
}

/* Calls fn for each id of a comma list; stops at the first -1. */
static int
each_id(const char *list, int (*fn)(void *, const char *, size_t), void *arg)
{
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");

		if (fn(arg, p, n))
			return -1;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

struct check {
	char *err;
	size_t errlen;
	const char *seen[WEIRCTL_NODES_MAX];
	size_t seen_len[WEIRCTL_NODES_MAX];
	size_t n;
};

static int
check_one(void *arg, const char *id, size_t n)
{
	struct check *c = arg;

	if (!weirctl_node_id_ok(id, n)) {
		snprintf(c->err, c->errlen, "'%.*s' cannot be a node id (1 to %d "
			 "printable characters, no braces, colons, commas, spaces "
			 "or *?[])", (int)(n > 80 ? 80 : n), id, WEIRCTL_NODE_ID_MAX);
		return -1;
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->seen_len[i] == n && !memcmp(c->seen[i], id, n)) {
			snprintf(c->err, c->errlen, "node '%.*s' is given twice",
				 (int)n, id);
			return -1;
		}
	if (c->n == WEIRCTL_NODES_MAX) {
		snprintf(c->err, c->errlen, "at most %d nodes", WEIRCTL_NODES_MAX);
		return -1;
	}
	c->seen[c->n] = id;
	c->seen_len[c->n++] = n;
	return 0;
}

int
weirctl_nodes_check(const char *list, char *err, size_t errlen)
{
	struct check c = { .err = err, .errlen = errlen };

	return each_id(list, check_one, &c);
}

void
weirctl_nodes_free(struct weirctl_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nnodes; i++)
		if (ctx->nodes[i].meta)
			freeReplyObject(ctx->nodes[i].meta);
	free(ctx->nodes);
	ctx->nodes = NULL;
	ctx->nnodes = 0;
	ctx->meta = NULL;
	ctx->focus = -1;
}

static void
set_current(struct weirctl_ctx *ctx, size_t i)
{
	ctx->cur_node = ctx->nodes[i].id;
	snprintf(ctx->keypfx, sizeof(ctx->keypfx), "%s", ctx->nodes[i].keypfx);
	ctx->meta = ctx->nodes[i].meta;
	ctx->conn.c = NULL;	/* the node's master is asked for on use */
}

void
weirctl_node_focus(struct weirctl_ctx *ctx, size_t i)
{
	ctx->focus = (long)i;
	set_current(ctx, i);
}

void
weirctl_node_unfocus(struct weirctl_ctx *ctx)
{
	ctx->focus = -1;
	if (ctx->nnodes)
		set_current(ctx, 0);
}

void
weirctl_node_restore(struct weirctl_ctx *ctx, long focus)
{
	if (focus >= 0)
		weirctl_node_focus(ctx, (size_t)focus);
	else
		weirctl_node_unfocus(ctx);
}

size_t
weirctl_view_nodes(const struct weirctl_ctx *ctx)
{
	return ctx->focus >= 0 ? 1 : ctx->nnodes;
}

size_t
weirctl_view(const struct weirctl_ctx *ctx, size_t *idx)
{
	if (ctx->focus >= 0) {
		idx[0] = (size_t)ctx->focus;
		return 1;
	}
	for (size_t i = 0; i < ctx->nnodes; i++)
		idx[i] = i;
	return ctx->nnodes;
}

static int
add_node(void *arg, const char *id, size_t n)
{
	struct weirctl_ctx *ctx = arg;
	struct weirctl_node *nd;

	if (ctx->nnodes == WEIRCTL_NODES_MAX || !weirctl_node_id_ok(id, n))
		return 0;	/* the registry may hold anything: left out */
	for (size_t i = 0; i < ctx->nnodes; i++)
		if (strlen(ctx->nodes[i].id) == n && !memcmp(ctx->nodes[i].id, id, n))
			return 0;
	nd = &ctx->nodes[ctx->nnodes];
	memcpy(nd->id, id, n);
	nd->id[n] = '\0';
	if (snprintf(nd->keypfx, sizeof(nd->keypfx), "%s{%s}:", ctx->prefix,
		     nd->id) >= (int)sizeof(nd->keypfx))
		return 0;
	nd->meta = NULL;
	ctx->nnodes++;
	return 0;
}

static int
cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct weirctl_node *)a)->id,
		      ((const struct weirctl_node *)b)->id);
}

/* The registered node ids into ctx->nodes, sorted. */
static int
read_registry(struct weirctl_ctx *ctx)
{
	char key[600];
	redisReply *r;

	snprintf(key, sizeof(key), "%snodes", ctx->prefix);
	r = weir_rc_command(ctx->conn.rc, key, "HKEYS %s", key);
	ctx->conn.c = NULL;
	if (!r)
		return weirctl_redis_fail(ctx, "HKEYS (the node registry)");
	if (r->type == REDIS_REPLY_ERROR) {
		weirctl_err("Redis at %s answered HKEYS %s with an error: %s",
			    ctx->conn.shown, key, r->str);
		freeReplyObject(r);
		return WC_EXIT_REDIS;
	}
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			add_node(ctx, r->element[i]->str, r->element[i]->len);
	freeReplyObject(r);
	qsort(ctx->nodes, ctx->nnodes, sizeof(*ctx->nodes), cmp_node);
	return WC_EXIT_OK;
}

/* Drops the registered nodes that have no meta hash (registered once,
 * their keys deleted since). */
static int
keep_published(struct weirctl_ctx *ctx)
{
	size_t k = 0;

	for (size_t i = 0; i < ctx->nnodes; i++) {
		redisReply *r;

		weirctl_node_focus(ctx, i);
		r = weirctl_command(ctx, "EXISTS %smeta", ctx->keypfx);
		if (!r)
			return weirctl_redis_fail(ctx, "EXISTS");
		if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
			ctx->nodes[k++] = ctx->nodes[i];
		freeReplyObject(r);
	}
	ctx->nnodes = k;
	return WC_EXIT_OK;
}

void
weirctl_nodes_pick(const struct weirctl_node_run *r, size_t n, bool *keep)
{
	uint64_t ref = 0, start;
	bool running = false, grew;
	size_t newest = 0;

	for (size_t i = 0; i < n; i++) {
		keep[i] = r[i].running;
		if (r[i].running) {
			running = true;
			if (r[i].updated_ms > ref)
				ref = r[i].updated_ms;
		}
		if (r[i].updated_ms > r[newest].updated_ms)
			newest = i;
	}
	if (running) {
		for (size_t i = 0; i < n; i++)
			if (!keep[i] && r[i].updated_ms + WEIRCTL_NODES_GAP_MS >= ref)
				keep[i] = true;
		return;
	}
	if (!n)
		return;
	keep[newest] = true;
	start = r[newest].started_ms ? r[newest].started_ms : r[newest].updated_ms;
	do {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (keep[i] || r[i].updated_ms + WEIRCTL_NODES_GAP_MS < start)
				continue;
			keep[i] = grew = true;
			if (r[i].started_ms && r[i].started_ms < start)
				start = r[i].started_ms;
		}
	} while (grew);
}

/* The meta hash's state, "running" when it names none. */
static const char *
state_of(const redisReply *meta)
{
	const char *s = weirctl_hash_get(meta, "state");

	return s && *s ? s : "running";
}

/* Appends to buf (size bytes, *at of them used), cutting what does not
 * fit: a state is any text a meta hash holds. */
static void __attribute__((format(printf, 4, 5)))
append(char *buf, size_t size, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, size - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at += (size_t)n < size - *at ? (size_t)n : size - *at - 1;
}

void
weirctl_nodes_pick_registered(struct weirctl_ctx *ctx)
{
	struct weirctl_node_run run[WEIRCTL_NODES_MAX];
	bool keep[WEIRCTL_NODES_MAX];
	char in[WEIRCTL_NODES_MAX * (WEIRCTL_NODE_ID_MAX + 16)] = "";
	char out[WEIRCTL_NODES_MAX * (WEIRCTL_NODE_ID_MAX + 64)] = "";
	size_t k = 0, ni = 0, no = 0;

	if (ctx->nnodes < 2)
		return;
	for (size_t i = 0; i < ctx->nnodes; i++) {
		const redisReply *m = ctx->nodes[i].meta;

		run[i].id = ctx->nodes[i].id;
		run[i].running = !strcmp(state_of(m), "running");
		run[i].started_ms = weirctl_hash_u64(m, "started_ms");
		run[i].updated_ms = weirctl_hash_u64(m, "updated_ms");
	}
	weirctl_nodes_pick(run, ctx->nnodes, keep);
	for (size_t i = 0; i < ctx->nnodes; i++) {
		const redisReply *m = ctx->nodes[i].meta;

		if (keep[i]) {
			append(in, sizeof(in), &ni, "%s%s (%s)", k ? ", " : "",
			       ctx->nodes[i].id, state_of(m));
			ctx->nodes[k++] = ctx->nodes[i];
			continue;
		}
		char t[48];

		append(out, sizeof(out), &no, "%s%s (%s, last update %s)",
		       no ? ", " : "", ctx->nodes[i].id, state_of(m),
		       weirctl_fmt_time(run[i].updated_ms, t, sizeof(t)));
		freeReplyObject(ctx->nodes[i].meta);
		ctx->nodes[i].meta = NULL;
	}
	ctx->nnodes = k;
	if (ctx->lenient)	/* weir-web: no terminal to tell */
		return;
	if (no)
		weirctl_err("merging nodes %s; left out %s: ended more than "
			    "%d s before those ran or ran last (--node ID reads any "
			    "node)", in, out, WEIRCTL_NODES_GAP_MS / 1000);
	else
		weirctl_err("merging nodes %s", in);
}

int
weirctl_nodes_select(struct weirctl_ctx *ctx)
{
	size_t used = 0;
	int ret;

	weirctl_nodes_free(ctx);
	ctx->nodes = calloc(WEIRCTL_NODES_MAX, sizeof(*ctx->nodes));
	if (!ctx->nodes)
		abort();
	if (ctx->node_arg) {
		each_id(ctx->node_arg, add_node, ctx);
	} else {
		ret = read_registry(ctx);
		if (!ret)
			ret = keep_published(ctx);
		if (ret)
			goto fail;
	}
	if (!ctx->nnodes)
		add_node(ctx, "local", 5);	/* a single engine, as before */
	for (size_t i = 0; i < ctx->nnodes; i++) {
		weirctl_node_focus(ctx, i);
		ctx->meta = NULL;
		ret = weirctl_meta_load(ctx);
		if (ret)
			goto fail;
		ctx->nodes[i].meta = ctx->meta;
	}
	if (!ctx->node_arg)
		weirctl_nodes_pick_registered(ctx);
	ctx->label[0] = '\0';
	for (size_t i = 0; i < ctx->nnodes; i++)
		used += (size_t)snprintf(ctx->label + used, sizeof(ctx->label) - used,
					 "%s%s", i ? "," : "", ctx->nodes[i].id);
	ctx->node = ctx->label;
	weirctl_node_unfocus(ctx);
	return WC_EXIT_OK;
fail:
	weirctl_nodes_free(ctx);
	return ret;
}
