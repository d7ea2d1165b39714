/* redis_read.c -- weirctl's only way into Redis.
 *
 * It connects (TCP or unix socket, AUTH, SELECT), checks the meta hash
 * and walks the sorted sets of docs/redis-keys.md. Reading is read-only:
 * here ZREVRANGE, HGETALL, ZSCAN, SCAN; elsewhere ZRANGEBYSCORE (history),
 * SINTER, SUNION, SISMEMBER (flow_index.c), XREVRANGE and XREAD (the
 * streams): a user with +@read is enough. A walk reads a batch of
 * WEIRCTL_BATCH members, then pipelines one HGETALL per member and reads
 * the replies, so a million flows cost two thousand round trips, and the
 * command prints each batch before fetching the next: memory stays at
 * one batch whatever the size of the set.
 *
 * The engine rewrites the scores every cycle, so a set can reorder while
 * it is walked in batches. A member met twice is handed over once (a set
 * of 64-bit hashes of the ids seen); one that jumped above the cursor is
 * missed, as any reader of a moving ranking would miss it. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "weirctl.h"

FILE *weirctl_errout;

void
weirctl_err(const char *fmt, ...)
{
	FILE *f = weirctl_errout ? weirctl_errout : stderr;
	va_list ap;

	fflush(stdout);
	fputs("weirctl: ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

static int
redis_error(struct weirctl_conn *conn, const char *what)
{
	weirctl_err("Redis at %s failed during %s: %s", conn->shown, what,
		    conn->c && conn->c->err ? conn->c->errstr : "no reply");
	return WC_EXIT_REDIS;
}

/* A reply that is an error: says which, and how to fix the usual ones. */
static int
reply_error(struct weirctl_conn *conn, const char *what, const redisReply *r)
{
	const char *s = r->str ? r->str : "";

	if (!strncmp(s, "NOAUTH", 6))
		weirctl_err("Redis at %s wants a password (%s): give it in the URL, "
			    "redis://:PASSWORD@host:port or "
			    "unix:///path?password=PASSWORD", conn->shown, s);
	else if (!strncmp(s, "WRONGPASS", 9) || strstr(s, "invalid password") ||
		 strstr(s, "invalid username-password"))
		weirctl_err("Redis at %s refused the password (%s): check the "
			    "URL given with --redis or WEIR_REDIS", conn->shown, s);
	else if (!strncmp(s, "WRONGTYPE", 9))
		weirctl_err("Redis at %s: %s holds a key of the wrong type (%s): is "
			    "something other than weir writing under this "
			    "prefix and node?", conn->shown, what, s);
	else
		weirctl_err("Redis at %s answered %s with an error: %s",
			    conn->shown, what, s);
	return WC_EXIT_REDIS;
}

int
weirctl_redis_connect(struct weirctl_conn *conn)
{
	struct timeval connect_tv = { 3, 0 };
	struct timeval io_tv = { 30, 0 };
	redisReply *r;

	if (conn->c) {
		redisFree(conn->c);
		conn->c = NULL;
	}
	weirctl_url_show(&conn->url, conn->shown, sizeof(conn->shown));
	if (conn->url.unix_sock)
		conn->c = redisConnectUnixWithTimeout(conn->url.path, connect_tv);
	else
		conn->c = redisConnectWithTimeout(conn->url.host, conn->url.port,
						  connect_tv);
	if (!conn->c) {
		weirctl_err("cannot connect to Redis at %s: out of memory",
			    conn->shown);
		return WC_EXIT_REDIS;
	}
	if (conn->c->err) {
		weirctl_err("cannot connect to Redis at %s: %s (is redis-server "
			    "running there? give another with --redis URL or "
			    "WEIR_REDIS)", conn->shown, conn->c->errstr);
		goto err_free;
	}
	redisSetTimeout(conn->c, io_tv);

	if (conn->url.has_password) {
		if (conn->url.user[0])
			r = redisCommand(conn->c, "AUTH %s %s", conn->url.user,
					 conn->url.password);
		else
			r = redisCommand(conn->c, "AUTH %s", conn->url.password);
		if (!r) {
			redis_error(conn, "AUTH");
			goto err_free;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			reply_error(conn, "AUTH", r);
			freeReplyObject(r);
			goto err_free;
		}
		freeReplyObject(r);
	}
	if (conn->url.db) {
		r = redisCommand(conn->c, "SELECT %d", conn->url.db);
		if (!r) {
			redis_error(conn, "SELECT");
			goto err_free;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			reply_error(conn, "SELECT", r);
			freeReplyObject(r);
			goto err_free;
		}
		freeReplyObject(r);
	}
	return WC_EXIT_OK;

err_free:
	redisFree(conn->c);
	conn->c = NULL;
	return WC_EXIT_REDIS;
}

void
weirctl_redis_close(struct weirctl_conn *conn)
{
	if (conn->c)
		redisFree(conn->c);
	conn->c = NULL;
}

const char *
weirctl_hash_get(const redisReply *h, const char *field)
{
	if (!h || h->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *k = h->element[i], *v = h->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
		    !strcmp(k->str, field))
			return v->str;
	}
	return NULL;
}

bool
weirctl_hash_u64_ok(const redisReply *h, const char *field, uint64_t *v)
{
	const char *s = weirctl_hash_get(h, field);
	char *end;

	/* strtoull skips leading white space and takes '+' and '-' (" -5"
	 * would read as 2^64 - 5): the value must start with a digit. */
	*v = 0;
	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);

	if (errno || *end)
		return false;
	*v = x;
	return true;
}

uint64_t
weirctl_hash_u64(const redisReply *h, const char *field)
{
	uint64_t v;

	weirctl_hash_u64_ok(h, field, &v);
	return v;
}

int
weirctl_hgetall(struct weirctl_ctx *ctx, const char *name, redisReply **out)
{
	redisReply *r = redisCommand(ctx->conn.c, "HGETALL %s%s", ctx->keypfx,
				     name);

	*out = NULL;
	if (!r)
		return redis_error(&ctx->conn, "HGETALL");
	if (r->type == REDIS_REPLY_ERROR) {
		char what[600];

		snprintf(what, sizeof(what), "HGETALL %s%s", ctx->keypfx, name);
		reply_error(&ctx->conn, what, r);
		freeReplyObject(r);
		return WC_EXIT_REDIS;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		weirctl_err("Redis at %s: HGETALL did not answer an array",
			    ctx->conn.shown);
		return WC_EXIT_REDIS;
	}
	*out = r;
	return WC_EXIT_OK;
}

int
weirctl_zrevrange_scores(struct weirctl_ctx *ctx, const char *name, long max,
			 redisReply **out)
{
	redisReply *r = redisCommand(ctx->conn.c, "ZREVRANGE %s%s 0 %ld WITHSCORES",
				     ctx->keypfx, name, max - 1);
	char what[600];

	*out = NULL;
	if (!r)
		return redis_error(&ctx->conn, "ZREVRANGE");
	snprintf(what, sizeof(what), "ZREVRANGE %s%s", ctx->keypfx, name);
	if (r->type == REDIS_REPLY_ERROR) {
		reply_error(&ctx->conn, what, r);
		freeReplyObject(r);
		return WC_EXIT_REDIS;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		freeReplyObject(r);
		weirctl_err("Redis at %s: %s WITHSCORES did not answer pairs",
			    ctx->conn.shown, what);
		return WC_EXIT_REDIS;
	}
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			weirctl_err("Redis at %s: %s answered something other "
				    "than strings", ctx->conn.shown, what);
			return WC_EXIT_REDIS;
		}
	*out = r;
	return WC_EXIT_OK;
}

uint64_t
weirctl_score_u64(const redisReply *score)
{
	char *end;
	double d;

	if (!score || score->type != REDIS_REPLY_STRING || !score->len)
		return 0;
	errno = 0;
	d = strtod(score->str, &end);
	if (errno || *end || !(d >= 0))
		return 0;
	if (d >= 18446744073709551615.0)
		return UINT64_MAX;
	return (uint64_t)d;
}

/* ---- the set of ids already handed over ------------------------------ */

struct seen {
	uint64_t *slot;
	size_t cap, n;
};

static uint64_t
hash_id(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h ? h : 1;	/* 0 marks an empty slot */
}

/* Returns true when id was already there, adds it otherwise. */
static bool
seen_test_add(struct seen *s, const char *id)
{
	uint64_t h = hash_id(id);

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

/* One batch of a walk: the members read by ZREVRANGE, which of them an
 * HGETALL was sent for, and how many. */
struct batch {
	redisReply *ids;
	bool *take;
	size_t sent;
};

static void
batch_free(struct batch *b)
{
	if (b->ids)
		freeReplyObject(b->ids);
	free(b->take);
	memset(b, 0, sizeof(*b));
}

static void
append_zrevrange(struct weirctl_ctx *ctx, const char *zset, long start)
{
	redisAppendCommand(ctx->conn.c, "ZREVRANGE %s%s %ld %ld", ctx->keypfx,
			   zset, start, start + WEIRCTL_BATCH - 1);
}

/* Reads a ZREVRANGE reply into b. Returns WC_EXIT_OK (b->ids NULL when
 * the set has no more members) or WC_EXIT_REDIS. */
static int
read_ids(struct weirctl_ctx *ctx, const char *zset, struct batch *b)
{
	redisReply *ids;

	memset(b, 0, sizeof(*b));
	if (redisGetReply(ctx->conn.c, (void **)&ids) != REDIS_OK || !ids)
		return redis_error(&ctx->conn, "ZREVRANGE");
	if (ids->type == REDIS_REPLY_ERROR) {
		char what[600];

		snprintf(what, sizeof(what), "ZREVRANGE %s%s", ctx->keypfx, zset);
		reply_error(&ctx->conn, what, ids);
		freeReplyObject(ids);
		return WC_EXIT_REDIS;
	}
	if (ids->type != REDIS_REPLY_ARRAY || ids->elements == 0) {
		freeReplyObject(ids);
		return WC_EXIT_OK;
	}
	b->ids = ids;
	b->take = calloc(ids->elements, sizeof(*b->take));
	if (!b->take) {
		batch_free(b);
		weirctl_err("out of memory");
		return WC_EXIT_REDIS;
	}
	return WC_EXIT_OK;
}

/* Appends one HGETALL per member of b worth reading. */
static void
append_hgetalls(struct weirctl_ctx *ctx, const char *hashpfx, struct batch *b,
		struct seen *seen, weirctl_walk_id_cb want, void *arg)
{
	for (size_t i = 0; i < b->ids->elements; i++) {
		const redisReply *m = b->ids->element[i];

		if (m->type != REDIS_REPLY_STRING)
			continue;
		if (want && !want(ctx, arg, m->str))
			continue;
		if (seen_test_add(seen, m->str))
			continue;
		b->take[i] = true;
		redisAppendCommand(ctx->conn.c, "HGETALL %s%s%s", ctx->keypfx,
				   hashpfx, m->str);
		b->sent++;
	}
}

/* Sends what was appended now, so Redis works while we print. */
static int
flush(struct weirctl_ctx *ctx)
{
	int done = 0;

	while (!done)
		if (redisBufferWrite(ctx->conn.c, &done) != REDIS_OK)
			return redis_error(&ctx->conn, "a write");
	return WC_EXIT_OK;
}

/* Reads the HGETALL replies of b, handing them to cb until it says stop;
 * after that (or after an error reply) they are read and dropped, so the
 * connection stays in step. Returns WC_EXIT_OK or WC_EXIT_REDIS. */
static int
read_hashes(struct weirctl_ctx *ctx, const char *hashpfx, struct batch *b,
	    weirctl_walk_cb cb, void *arg, bool *stop)
{
	int ret = WC_EXIT_OK;

	for (size_t i = 0; i < b->ids->elements; i++) {
		redisReply *h;

		if (!b->take[i])
			continue;
		if (redisGetReply(ctx->conn.c, (void **)&h) != REDIS_OK || !h)
			return redis_error(&ctx->conn, "HGETALL");
		if (h->type == REDIS_REPLY_ERROR) {
			if (ret == WC_EXIT_OK) {
				char what[600];

				snprintf(what, sizeof(what), "HGETALL %s%s%s",
					 ctx->keypfx, hashpfx, b->ids->element[i]->str);
				ret = reply_error(&ctx->conn, what, h);
			}
			*stop = true;
		} else if (!*stop && h->type == REDIS_REPLY_ARRAY &&
			   h->elements >= 2) {
			/* An empty array: removed since ZREVRANGE, skipped. */
			int r = cb(ctx, arg, b->ids->element[i]->str, h);

			if (r < 0) {
				ret = WC_EXIT_REDIS;
				*stop = true;
			} else if (r > 0) {
				*stop = true;
			}
		}
		freeReplyObject(h);
	}
	return ret;
}

/*
 * The pipeline keeps Redis one batch ahead of the printing. Commands go
 * out as  Z0 | Z1 H0 | Z2 H1 | ...  (Zk: ZREVRANGE of batch k, Hk: its
 * HGETALLs) and each round reads Z(k+1), sends Z(k+2) H(k+1), then reads
 * and prints H(k) while Redis answers H(k+1).
 */
int
weirctl_walk(struct weirctl_ctx *ctx, const char *zset, const char *hashpfx,
	     weirctl_walk_id_cb want, weirctl_walk_cb cb, void *arg)
{
	struct seen seen = { 0 };
	struct batch cur, next;
	bool stop = false, next_asked;
	long start = 0;
	int ret;

	append_zrevrange(ctx, zset, start);
	ret = read_ids(ctx, zset, &cur);
	if (ret || !cur.ids)
		return ret;
	next_asked = cur.ids->elements == WEIRCTL_BATCH;
	if (next_asked)
		append_zrevrange(ctx, zset, start += WEIRCTL_BATCH);
	append_hgetalls(ctx, hashpfx, &cur, &seen, want, arg);

	for (;;) {
		int r;

		memset(&next, 0, sizeof(next));
		if (next_asked) {
			r = read_ids(ctx, zset, &next);
			if (r) {
				ret = ret ? ret : r;
				stop = true;
				if (ctx->conn.c->err)
					break;
			}
		}
		next_asked = false;
		if (next.ids && !stop) {
			next_asked = next.ids->elements == WEIRCTL_BATCH;
			if (next_asked)
				append_zrevrange(ctx, zset, start += WEIRCTL_BATCH);
			append_hgetalls(ctx, hashpfx, &next, &seen, want, arg);
			r = flush(ctx);
			if (r) {
				ret = ret ? ret : r;
				break;
			}
		} else {
			batch_free(&next);	/* stopping: nothing asked for it */
		}
		/* After an error reply, stop is set: the rest is drained. */
		r = read_hashes(ctx, hashpfx, &cur, cb, arg, &stop);
		if (r) {
			ret = ret ? ret : r;
			stop = true;
			if (ctx->conn.c->err)
				break;
		}
		batch_free(&cur);
		cur = next;
		memset(&next, 0, sizeof(next));
		if (!cur.ids && !next_asked)
			break;
	}
	batch_free(&cur);
	batch_free(&next);
	free(seen.slot);
	return ret;
}

/* Looks for other nodes' meta hashes under the prefix, a bounded SCAN,
 * so "no data" can say which node ids are there. */
static void
suggest_nodes(struct weirctl_ctx *ctx, char *buf, size_t len)
{
	char cursor[32] = "0";
	size_t used = 0;
	int found = 0;

	buf[0] = '\0';
	for (int iter = 0; iter < 64; iter++) {
		redisReply *r = redisCommand(ctx->conn.c,
					     "SCAN %s MATCH %s{*}:meta COUNT 1000",
					     cursor, ctx->prefix);

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING) {
			if (r)
				freeReplyObject(r);
			return;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		const redisReply *keys = r->element[1];
		size_t plen = strlen(ctx->prefix);

		for (size_t i = 0; i < keys->elements && found < 8; i++) {
			const char *k = keys->element[i]->str;
			const char *b, *e;

			/* the reply may hold any key: the prefix alone would
			 * put b past its end */
			if (!k || strncmp(k, ctx->prefix, plen) || k[plen] != '{')
				continue;
			b = k + plen + 1;
			e = strstr(b, "}:meta");
			if (!e || used + (size_t)(e - b) + 3 >= len)
				continue;
			used += (size_t)snprintf(buf + used, len - used, "%s%.*s",
						 found ? ", " : "", (int)(e - b), b);
			found++;
		}
		freeReplyObject(r);
		if (!strcmp(cursor, "0"))
			return;
	}
}

int
weirctl_meta_load(struct weirctl_ctx *ctx)
{
	redisReply *m;
	int ret = weirctl_hgetall(ctx, "meta", &m);

	if (ret)
		return ret;
	if (m->elements == 0) {
		char nodes[256];

		freeReplyObject(m);
		suggest_nodes(ctx, nodes, sizeof(nodes));
		weirctl_err("no engine has published to %s under node %s yet "
			    "(is weir running with --redis %s --node %s%s%s?)%s%s%s",
			    ctx->conn.shown, ctx->node, ctx->conn.shown, ctx->node,
			    strcmp(ctx->prefix, "weir:") ? " and redis-prefix " : "",
			    strcmp(ctx->prefix, "weir:") ? ctx->prefix : "",
			    nodes[0] ? " Nodes that have published there: " : "",
			    nodes, nodes[0] ? " (pick one with --node)." : "");
		return WC_EXIT_NODATA;
	}
	const char *v = weirctl_hash_get(m, "version");
	char *end;
	long major = v ? strtol(v, &end, 10) : -1;

	if (!v || end == v || (*end && *end != '.')) {
		weirctl_err("%smeta at %s has no readable version field (%s): "
			    "it was not written by weir", ctx->keypfx,
			    ctx->conn.shown, v ? v : "missing");
		freeReplyObject(m);
		return WC_EXIT_REDIS;
	}
	if (major != WEIRCTL_KEYSPACE_MAJOR) {
		weirctl_err("node %s at %s publishes keyspace version %s; this "
			    "weirctl reads version %d only: use the weirctl that "
			    "came with that weir", ctx->node, ctx->conn.shown, v,
			    WEIRCTL_KEYSPACE_MAJOR);
		freeReplyObject(m);
		return WC_EXIT_REDIS;
	}
	if (ctx->meta)
		freeReplyObject(ctx->meta);
	ctx->meta = m;
	return WC_EXIT_OK;
}
