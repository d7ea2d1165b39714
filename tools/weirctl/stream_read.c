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
keep_entry(struct weirctl_entries *l, const redisReply *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->e = realloc(l->e, l->cap * sizeof(*l->e));
		if (!l->e)
			abort();
	}
	l->e[l->n++] = e;
}

int
weirctl_stream_last(struct weirctl_ctx *ctx, const char *stream, long want,
		    weirctl_entry_cb keep, void *arg, struct weirctl_entries *out)
{
	char from[48] = "+";

	memset(out, 0, sizeof(*out));
	while (want <= 0 || (long)out->n < want) {
		redisReply *r = redisCommand(ctx->conn.c, "XREVRANGE %s%s %s - COUNT %d",
					     ctx->keypfx, stream, from, WEIRCTL_BATCH);
		const redisReply *last = NULL;

		if (!r) {
			weirctl_err("Redis at %s failed during XREVRANGE %s%s: %s",
				    ctx->conn.shown, ctx->keypfx, stream,
				    ctx->conn.c->err ? ctx->conn.c->errstr : "no reply");
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
			keep_entry(out, e);
			if (want > 0 && (long)out->n >= want)
				break;
		}
		if (r->elements < WEIRCTL_BATCH || !last ||
		    !id_below(last->element[0]->str, from, sizeof(from)))
			break;
	}
	return WC_EXIT_OK;
}

void
weirctl_entries_free(struct weirctl_entries *l)
{
	for (size_t i = 0; i < l->nbatches; i++)
		freeReplyObject(l->batches[i]);
	free(l->batches);
	free(l->e);
	memset(l, 0, sizeof(*l));
}
