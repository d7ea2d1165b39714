/* stream_read.c -- the newest entries of a Redis stream, filtered.
 *
 * Two streams of docs/redis-keys.md are read this way: P flows:ended
 * (`flows --recent`) and P events (`events`). Both are capped near
 * 100,000 entries by the engine. "The last N that match" is read
 * backwards with XREVRANGE in batches of WEIRCTL_BATCH, each batch
 * starting just below the oldest id of the previous one, until N entries
 * matched or the stream ran out: a filter that matches nothing costs a
 * hundred round trips at most. The "just below" id is computed here
 * (MS-SEQ minus one) rather than written "(ID", which Redis before 6.2
 * does not know.
 *
 * Over several nodes each node's stream is read so, and the entries are
 * interleaved by their ids' times (newest first), each with its node.
 *
 * Entries come from the engine but their values may come from the wire
 * (an application or host name): they are checked for shape here, and
 * whoever prints them makes them safe. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

bool
weirctl_entry_ok(const redisReply *r)
{
	const redisReply *f;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return false;
	f = r->element[1];
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2)
		return false;
	for (size_t i = 0; i < f->elements; i++)
		if (f->element[i]->type != REDIS_REPLY_STRING)
			return false;
	return true;
}

/* Splits "MS-SEQ"; false when it is not two decimal numbers. */
static bool
id_parse(const char *id, unsigned long long *ms, unsigned long long *seq)
{
	char *end;

	if (!id || *id < '0' || *id > '9')
		return false;
	errno = 0;
	*ms = strtoull(id, &end, 10);
	if (errno || *end != '-' || end[1] < '0' || end[1] > '9')
		return false;
	*seq = strtoull(end + 1, &end, 10);
	return !errno && !*end;
}

uint64_t
weirctl_stream_id_ms(const char *id)
{
	unsigned long long ms, seq;

	return id_parse(id, &ms, &seq) ? ms : 0;
}

/* The id just below id into buf; false when there is none (0-0). */
static bool
id_below(const char *id, char *buf, size_t len)
{
	unsigned long long ms, seq;

	if (!id_parse(id, &ms, &seq))
		return false;
	if (seq)
		snprintf(buf, len, "%llu-%llu", ms, seq - 1);
	else if (ms)
		snprintf(buf, len, "%llu-%llu", ms - 1, (unsigned long long)UINT64_MAX);
	else
		return false;
	return true;
}

static void
keep_entry(struct weirctl_entries *l, const redisReply *e, size_t node)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->e = realloc(l->e, l->cap * sizeof(*l->e));
		l->node = realloc(l->node, l->cap * sizeof(*l->node));
		if (!l->e || !l->node)
			abort();
	}
	l->node[l->n] = node;
	l->e[l->n++] = e;
}

/* The current node's last want entries (of keep) appended to out. */
static int
node_last(struct weirctl_ctx *ctx, const char *stream, long want,
	  weirctl_entry_cb keep, void *arg, struct weirctl_entries *out,
	  size_t node)
{
	char from[48] = "+";
	long got = 0;

	while (want <= 0 || got < want) {
		redisReply *r = weirctl_command(ctx, "XREVRANGE %s%s %s - COUNT %d",
						ctx->keypfx, stream, from,
						WEIRCTL_BATCH);
		const redisReply *last = NULL;

		if (!r) {
			weirctl_err("Redis at %s failed during XREVRANGE %s%s: %s",
				    ctx->conn.shown, ctx->keypfx, stream,
				    weirctl_redis_errstr(&ctx->conn));
			return WC_EXIT_REDIS;
		}
		if (r->type == REDIS_REPLY_ERROR || r->type != REDIS_REPLY_ARRAY) {
			weirctl_err("Redis at %s answered XREVRANGE %s%s with %s%s",
				    ctx->conn.shown, ctx->keypfx, stream,
				    r->type == REDIS_REPLY_ERROR ? "an error: " :
				    "something other than entries",
				    r->type == REDIS_REPLY_ERROR ? r->str : "");
			freeReplyObject(r);
			return WC_EXIT_REDIS;
		}
		out->batches = realloc(out->batches,
				       (out->nbatches + 1) * sizeof(*out->batches));
		if (!out->batches)
			abort();
		out->batches[out->nbatches++] = r;
		for (size_t i = 0; i < r->elements; i++) {
			const redisReply *e = r->element[i];

			if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
			    e->element[0]->type == REDIS_REPLY_STRING)
				last = e;	/* the next batch starts below it */
			if (!weirctl_entry_ok(e))
				continue;
			if (keep && !keep(ctx, arg, e->element[1]))
				continue;
			keep_entry(out, e, node);
			got++;
			if (want > 0 && got >= want)
				break;
		}
		if (r->elements < WEIRCTL_BATCH || !last ||
		    !id_below(last->element[0]->str, from, sizeof(from)))
			break;
	}
	return WC_EXIT_OK;
}

struct by_time {
	const redisReply *e;
	size_t node;
	unsigned long long ms, seq;
};

static int
cmp_newest(const void *pa, const void *pb)
{
	const struct by_time *a = pa, *b = pb;

	if (a->ms != b->ms)
		return a->ms > b->ms ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq > b->seq ? -1 : 1;
	return a->node < b->node ? -1 : a->node > b->node;
}

/* Several nodes' entries, each node's newest first, into one list newest
 * first, cut to want. */
static void
interleave(struct weirctl_entries *l, long want)
{
	struct by_time *t = calloc(l->n ? l->n : 1, sizeof(*t));

	if (!t)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		t[i].e = l->e[i];
		t[i].node = l->node[i];
		if (!id_parse(l->e[i]->element[0]->str, &t[i].ms, &t[i].seq))
			t[i].ms = t[i].seq = 0;
	}
	qsort(t, l->n, sizeof(*t), cmp_newest);
	if (want > 0 && (size_t)want < l->n)
		l->n = (size_t)want;
	for (size_t i = 0; i < l->n; i++) {
		l->e[i] = t[i].e;
		l->node[i] = t[i].node;
	}
	free(t);
}

int
weirctl_stream_last(struct weirctl_ctx *ctx, const char *stream, long want,
		    weirctl_entry_cb keep, void *arg, struct weirctl_entries *out)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	long focus = ctx->focus;
	int ret = WC_EXIT_OK;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < nv && !ret; i++) {
		size_t node = vw[i];

		if (nv > 1)
			weirctl_node_focus(ctx, node);
		ret = node_last(ctx, stream, want, keep, arg, out, node);
	}
	if (nv > 1 && focus < 0)
		weirctl_node_unfocus(ctx);
	if (ret) {
		weirctl_entries_free(out);
		return ret;
	}
	if (nv > 1)
		interleave(out, want);
	return WC_EXIT_OK;
}

void
weirctl_entries_free(struct weirctl_entries *l)
{
	for (size_t i = 0; i < l->nbatches; i++)
		freeReplyObject(l->batches[i]);
	free(l->batches);
	free(l->e);
	free(l->node);
	memset(l, 0, sizeof(*l));
}
