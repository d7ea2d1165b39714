/* walk.c -- a sorted set from the top, with the hash of each member.
 *
 * Every list weirctl and weir-web print is a sorted set of
 * docs/redis-keys.md (hosts, flows, vlans, ...) whose members name a
 * hash. Two walks:
 *
 *  - weirctl_walk_union reads each node's set in batches of
 *    WEIRCTL_BATCH (ZREVRANGE WITHSCORES) and merges the batches by
 *    score as they come, like a k-way merge of sorted lists: memory
 *    stays at a batch a node whatever the size of the sets. The hashes
 *    of a batch of rows are then read with one pipeline a node and
 *    handed over in order. With one node this is the plain walk: a
 *    million flows cost two thousand round trips and the command prints
 *    each batch before fetching the next. Members of different nodes
 *    are different rows (flows: a flow lives on one node).
 *  - weirctl_walk is the same over one node; over several, a member is
 *    one row whatever node has it: the sets are read whole and summed
 *    (merge.c), and each row's hash is the merge of its nodes' hashes.
 *
 * The engine rewrites the scores every cycle, so a set can reorder while
 * it is walked in batches. A member met twice is handed over once (a set
 * of 64-bit hashes of the node and id seen); one that jumped above the
 * cursor is missed, as any reader of a moving ranking would miss it. */
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

/* ---- the set of ids already handed over ------------------------------ */

struct seen {
	uint64_t *slot;
	size_t cap, n;
};

static uint64_t
hash_id(size_t node, const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)node;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h ? h : 1;	/* 0 marks an empty slot */
}

/* Returns true when id was already there, adds it otherwise. */
static bool
seen_test_add(struct seen *s, size_t node, const char *id)
{
	uint64_t h = hash_id(node, id);

	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4096;
		uint64_t *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return false;	/* no memory: give up deduplicating */
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			size_t j = s->slot[i] & (ncap - 1);

			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = s->slot[i];
		}
		free(s->slot);
		s->slot = ns;
		s->cap = ncap;
	}
	size_t j = h & (s->cap - 1);

	while (s->slot[j]) {
		if (s->slot[j] == h)
			return true;
		j = (j + 1) & (s->cap - 1);
	}
	s->slot[j] = h;
	s->n++;
	return false;
}

/* ---- the union walk ------------------------------------------------------ */

/* One node's place in its set. */
struct cursor {
	size_t node;		/* index into ctx->nodes */
	redisReply *batch;	/* ZREVRANGE WITHSCORES: member, score, ... */
	size_t pos;		/* the next pair */
	long next;		/* where the next batch starts */
	bool done;		/* no batch after this one */
};

/* One row chosen: its node and member. */
struct pick {
	size_t cur;		/* index of its cursor */
	char *id;
	redisReply *h;
};

static int
fetch(struct weirctl_ctx *ctx, const char *zset, struct cursor *c)
{
	struct weirctl_pipe p = { 0 };
	redisReply *r;

	if (c->batch)
		freeReplyObject(c->batch);
	c->batch = NULL;
	c->pos = 0;
	weirctl_pipe_add(&p, "ZREVRANGE %s%s %ld %ld WITHSCORES",
			 ctx->nodes[c->node].keypfx, zset, c->next,
			 c->next + WEIRCTL_BATCH - 1);
	if (weirctl_pipe_run(ctx, (int)c->node, &p)) {
		weirctl_pipe_free(&p);
		return weirctl_redis_fail(ctx, "ZREVRANGE");
	}
	r = p.r[0];
	p.r[0] = NULL;
	weirctl_pipe_free(&p);
	if (r->type == REDIS_REPLY_ERROR) {
		weirctl_err("Redis at %s answered ZREVRANGE %s%s with an error: %s%s",
			    ctx->conn.shown, ctx->nodes[c->node].keypfx, zset, r->str,
			    strncmp(r->str, "WRONGTYPE", 9) ? "" :
			    " (is something other than weir writing under this "
			    "prefix and node?)");
		freeReplyObject(r);
		return WC_EXIT_REDIS;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		freeReplyObject(r);
		c->done = true;
		return WC_EXIT_OK;
	}
	c->done = r->elements / 2 < WEIRCTL_BATCH;
	c->next += WEIRCTL_BATCH;
	c->batch = r;
	return WC_EXIT_OK;
}

/* The cursor whose next member ranks highest; -1 when all are done.
 * Refills a cursor whose batch ran out. */
static long
best(struct weirctl_ctx *ctx, const char *zset, struct cursor *cur, size_t n,
     int *ret)
{
	long b = -1;
	double bs = 0;

	for (size_t i = 0; i < n; i++) {
		struct cursor *c = &cur[i];

		if ((!c->batch || c->pos * 2 >= c->batch->elements) && !c->done) {
			*ret = fetch(ctx, zset, c);
			if (*ret)
				return -1;
		}
		if (!c->batch || c->pos * 2 >= c->batch->elements)
			continue;
		const redisReply *s = c->batch->element[2 * c->pos + 1];
		double v = s->type == REDIS_REPLY_STRING ? strtod(s->str, NULL) : 0;

		if (b < 0 || v > bs) {
			b = (long)i;
			bs = v;
		}
	}
	return b;
}

/* Reads the hashes of the picks, one pipeline a node. */
static int
read_picks(struct weirctl_ctx *ctx, const char *hashpfx, struct cursor *cur,
	   size_t ncur, struct pick *pk, size_t n)
{
	struct weirctl_pipe p = { 0 };
	int ret = WC_EXIT_OK;

	for (size_t c = 0; c < ncur && !ret; c++) {
		size_t j = 0;

		weirctl_pipe_clear(&p);
		for (size_t i = 0; i < n; i++)
			if (pk[i].cur == c)
				weirctl_pipe_add(&p, "HGETALL %s%s%s",
						 ctx->nodes[cur[c].node].keypfx,
						 hashpfx, pk[i].id);
		if (!p.n)
			continue;
		if (weirctl_pipe_run(ctx, (int)cur[c].node, &p)) {
			ret = weirctl_redis_fail(ctx, "HGETALL");
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (pk[i].cur != c)
				continue;
			pk[i].h = p.r[j];
			p.r[j++] = NULL;
			if (pk[i].h->type == REDIS_REPLY_ERROR && !ret) {
				weirctl_err("Redis at %s answered HGETALL %s%s%s with "
					    "an error: %s", ctx->conn.shown,
					    ctx->nodes[cur[c].node].keypfx, hashpfx,
					    pk[i].id, pk[i].h->str);
				ret = WC_EXIT_REDIS;
			}
		}
	}
	weirctl_pipe_free(&p);
	return ret;
}

int
weirctl_walk_union(struct weirctl_ctx *ctx, const char *zset,
		   const char *hashpfx, weirctl_walk_id_cb want,
		   weirctl_walk_cb cb, void *arg)
{
	size_t vw[WEIRCTL_NODES_MAX], ncur = weirctl_view(ctx, vw);
	long focus = ctx->focus;
	struct cursor *cur = calloc(ncur ? ncur : 1, sizeof(*cur));
	struct pick *pk = calloc(WEIRCTL_BATCH, sizeof(*pk));
	struct seen seen = { 0 };
	bool stop = false;
	int ret = WC_EXIT_OK;

	if (!cur || !pk)
		abort();
	for (size_t i = 0; i < ncur; i++)
		cur[i].node = vw[i];
	while (!stop && !ret) {
		size_t n = 0;

		while (n < WEIRCTL_BATCH) {
			long b = best(ctx, zset, cur, ncur, &ret);

			if (b < 0)
				break;
			struct cursor *c = &cur[b];
			const char *id = c->batch->element[2 * c->pos++]->str;

			if (!id)
				continue;
			if (want) {
				weirctl_node_focus(ctx, c->node);
				bool w = want(ctx, arg, id);

				if (!w)
					continue;
			}
			if (seen_test_add(&seen, c->node, id))
				continue;
			pk[n].cur = (size_t)b;
			pk[n].id = strdup(id);
			pk[n].h = NULL;
			if (!pk[n++].id)
				abort();
		}
		if (!n)
			break;
		if (!ret)
			ret = read_picks(ctx, hashpfx, cur, ncur, pk, n);
		for (size_t i = 0; i < n; i++) {
			const redisReply *h = pk[i].h;

			/* An empty array: removed since ZREVRANGE, skipped. */
			if (!ret && !stop && h && h->type == REDIS_REPLY_ARRAY &&
			    h->elements >= 2) {
				weirctl_node_focus(ctx, cur[pk[i].cur].node);
				int r = cb(ctx, arg, pk[i].id, h);

				if (r < 0)
					ret = WC_EXIT_REDIS;
				else if (r > 0)
					stop = true;
			}
			if (pk[i].h)
				freeReplyObject(pk[i].h);
			free(pk[i].id);
		}
	}
	for (size_t i = 0; i < ncur; i++)
		if (cur[i].batch)
			freeReplyObject(cur[i].batch);
	free(cur);
	free(pk);
	free(seen.slot);
	if (focus >= 0)
		weirctl_node_focus(ctx, (size_t)focus);
	else
		weirctl_node_unfocus(ctx);
	return ret;
}

/* ---- the merged walk ---------------------------------------------------- */

int
weirctl_walk(struct weirctl_ctx *ctx, const char *zset, const char *hashpfx,
	     weirctl_walk_id_cb want, weirctl_walk_cb cb, void *arg)
{
	struct weirctl_zmember *sel;
	struct weirctl_zsum z;
	redisReply **h;
	bool stop = false;
	int ret;

	if (weirctl_view_nodes(ctx) <= 1)
		return weirctl_walk_union(ctx, zset, hashpfx, want, cb, arg);
	ret = weirctl_zsum_read(ctx, zset, &z);
	if (ret)
		return ret;
	snprintf(ctx->zset_cached, sizeof(ctx->zset_cached), "%s", zset);
	ctx->zset_cached_n = z.n;
	sel = calloc(WEIRCTL_BATCH, sizeof(*sel));
	h = calloc(WEIRCTL_BATCH, sizeof(*h));
	if (!sel || !h)
		abort();
	for (size_t at = 0; at < z.n && !stop && !ret; at += WEIRCTL_BATCH) {
		size_t end = at + WEIRCTL_BATCH < z.n ? at + WEIRCTL_BATCH : z.n, k = 0;

		for (size_t i = at; i < end; i++)
			if (!want || want(ctx, arg, z.v[i].m))
				sel[k++] = z.v[i];
		if (!k)
			continue;
		ret = weirctl_hashes_merged(ctx, hashpfx, sel, k, h);
		for (size_t i = 0; i < k; i++) {
			if (!ret && !stop && h[i] && h[i]->elements >= 2) {
				int r = cb(ctx, arg, sel[i].m, h[i]);

				if (r < 0)
					ret = WC_EXIT_REDIS;
				else if (r > 0)
					stop = true;
			}
			if (h[i])
				freeReplyObject(h[i]);
			h[i] = NULL;
		}
	}
	free(sel);
	free(h);
	weirctl_zsum_free(&z);
	return ret;
}
