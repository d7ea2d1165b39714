/* redis_read.c -- weirctl's only way into Redis.
 *
 * It connects through the cluster-aware layer (include/weir/rcluster.h:
 * one server, or a Redis Cluster whose slot map it keeps), checks meta
 * hashes and sends the commands the rest of weirctl builds. Every key of
 * one node shares the node's slot ({NODE} is a hash tag), so a command
 * or a pipeline about one node goes to the one master that holds it:
 * weirctl_command routes by the current node's key prefix, and
 * weirctl_pipe_run sends a whole pipeline there, asking again once for
 * the replies that said the slot moved (a resharding, a failover).
 *
 * Reading is read-only: ZRANGE, ZREVRANGE, HGETALL, ZSCAN, SCAN here and
 * in walk.c and merge.c; elsewhere ZRANGEBYSCORE (history), SINTER,
 * SUNION, SISMEMBER, ZMSCORE (flow_index.c), SINTERCARD (subnets --vlan),
 * HGET, XREVRANGE and XREAD (the streams): a user with +@read is
 * enough. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "weir/rcluster.h"
#include "weirctl.h"

/* A reply may take this long; a connection attempt gets the same. */
#define IO_TIMEOUT_MS 30000

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

const char *
weirctl_redis_errstr(const struct weirctl_conn *conn)
{
	if (conn->c && conn->c->err)
		return conn->c->errstr;
	if (conn->rc && weir_rc_error(conn->rc) && *weir_rc_error(conn->rc))
		return weir_rc_error(conn->rc);
	return "no reply";
}

static int
redis_error(struct weirctl_conn *conn, const char *what)
{
	weirctl_err("Redis at %s failed during %s: %s", conn->shown, what,
		    weirctl_redis_errstr(conn));
	return WC_EXIT_REDIS;
}

/* An error text from Redis: says which, and how to fix the usual ones. */
static int
error_text(struct weirctl_conn *conn, const char *what, const char *s)
{
	if (!strncmp(s, "NOAUTH", 6) || strstr(s, "NOAUTH"))
		weirctl_err("Redis at %s wants a password (%s): give it in the URL, "
			    "redis://:PASSWORD@host:port or "
			    "unix:///path?password=PASSWORD", conn->shown, s);
	else if (strstr(s, "WRONGPASS") || strstr(s, "invalid password") ||
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

static int
reply_error(struct weirctl_conn *conn, const char *what, const redisReply *r)
{
	return error_text(conn, what, r->str ? r->str : "");
}

int
weirctl_redis_connect(struct weirctl_conn *conn)
{
	const struct weirctl_url *u = &conn->url;

	weirctl_redis_close(conn);
	weirctl_url_show(u, conn->shown, sizeof(conn->shown));
	conn->rc = weirctl_url_rc(u, IO_TIMEOUT_MS);
	if (!conn->rc) {
		weirctl_err("cannot connect to Redis at %s: out of memory",
			    conn->shown);
		return WC_EXIT_REDIS;
	}
	if (weir_rc_connect(conn->rc)) {
		const char *e = weir_rc_error(conn->rc);

		e = e ? e : "unknown error";
		if (strstr(e, "NOAUTH") || strstr(e, "WRONGPASS") ||
		    strstr(e, "invalid password") ||
		    strstr(e, "invalid username-password"))
			error_text(conn, "AUTH", e);
		else if (strstr(e, "SELECT") || strstr(e, "DB index"))
			error_text(conn, "SELECT", e);
		else
			weirctl_err("cannot connect to Redis at %s: %s (is "
				    "redis-server running there? give another with "
				    "--redis URL or WEIR_REDIS)", conn->shown, e);
		weirctl_redis_close(conn);
		return WC_EXIT_REDIS;
	}
	return WC_EXIT_OK;
}

void
weirctl_redis_close(struct weirctl_conn *conn)
{
	if (conn->rc)
		weir_rc_free(conn->rc);
	conn->rc = NULL;
	conn->c = NULL;
}

/* ---- commands ------------------------------------------------------------ */

/* The context of node (index into ctx->nodes; <0: the current node),
 * NULL after saying nothing (weirctl_redis_errstr has it). */
static redisContext *
node_context(struct weirctl_ctx *ctx, int node)
{
	const char *pfx = node >= 0 && (size_t)node < ctx->nnodes ?
			  ctx->nodes[node].keypfx : ctx->keypfx;
	redisContext *c;

	if (!ctx->conn.rc)
		return NULL;
	c = weir_rc_ctx(ctx->conn.rc, pfx, strlen(pfx));
	if (node < 0 || !strcmp(pfx, ctx->keypfx))
		ctx->conn.c = c;
	return c;
}

/* The one reply of a one-command pipeline, NULL when it failed. */
static redisReply *
run_one(struct weirctl_ctx *ctx, struct weirctl_pipe *p)
{
	redisReply *r = NULL;

	if (weirctl_pipe_run(ctx, -1, p) == WC_EXIT_OK) {
		r = p->r[0];
		p->r[0] = NULL;
	}
	weirctl_pipe_free(p);
	return r;
}

redisReply *
weirctl_vcommand(struct weirctl_ctx *ctx, const char *fmt, va_list ap)
{
	struct weirctl_pipe p = { 0 };

	weirctl_pipe_vadd(&p, fmt, ap);
	return run_one(ctx, &p);
}

redisReply *
weirctl_command(struct weirctl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = weirctl_vcommand(ctx, fmt, ap);
	va_end(ap);
	return r;
}

redisReply *
weirctl_commandargv(struct weirctl_ctx *ctx, int argc, const char **argv,
		    const size_t *lens)
{
	struct weirctl_pipe p = { 0 };

	weirctl_pipe_addargv(&p, argc, argv, lens);
	return run_one(ctx, &p);
}

/* ---- pipelines ------------------------------------------------------------ */

static void
pipe_grow(struct weirctl_pipe *p)
{
	if (p->n < p->cap)
		return;
	p->cap = p->cap ? p->cap * 2 : 64;
	p->cmd = realloc(p->cmd, p->cap * sizeof(*p->cmd));
	p->len = realloc(p->len, p->cap * sizeof(*p->len));
	p->r = realloc(p->r, p->cap * sizeof(*p->r));
	if (!p->cmd || !p->len || !p->r)
		abort();
}

void
weirctl_pipe_vadd(struct weirctl_pipe *p, const char *fmt, va_list ap)
{
	int len;

	pipe_grow(p);
	len = redisvFormatCommand(&p->cmd[p->n], fmt, ap);
	if (len < 0)
		abort();
	p->len[p->n] = (size_t)len;
	p->r[p->n++] = NULL;
}

void
weirctl_pipe_add(struct weirctl_pipe *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	weirctl_pipe_vadd(p, fmt, ap);
	va_end(ap);
}

void
weirctl_pipe_addargv(struct weirctl_pipe *p, int argc, const char **argv,
		     const size_t *lens)
{
	int len;

	pipe_grow(p);
	len = redisFormatCommandArgv(&p->cmd[p->n], argc, argv, lens);
	if (len < 0)
		abort();
	p->len[p->n] = (size_t)len;
	p->r[p->n++] = NULL;
}

void
weirctl_pipe_clear(struct weirctl_pipe *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->cmd[i]);
		if (p->r[i])
			freeReplyObject(p->r[i]);
	}
	p->n = 0;
}

void
weirctl_pipe_free(struct weirctl_pipe *p)
{
	weirctl_pipe_clear(p);
	free(p->cmd);
	free(p->len);
	free(p->r);
	memset(p, 0, sizeof(*p));
}

/* Sends the commands of p whose reply slot is empty and reads their
 * replies. false when the connection broke (the rest stay NULL). */
static bool
pipe_round(struct weirctl_ctx *ctx, int node, struct weirctl_pipe *p)
{
	redisContext *c = node_context(ctx, node);
	size_t sent = 0;
	int done = 0;

	if (!c)
		return false;
	for (size_t i = 0; i < p->n; i++)
		if (!p->r[i]) {
			redisAppendFormattedCommand(c, p->cmd[i], p->len[i]);
			sent++;
		}
	/* Written out before the first read, so a long pipeline does not
	 * wait on its own output buffer. */
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			return false;
	for (size_t i = 0; i < p->n && sent; i++) {
		redisReply *r;

		if (p->r[i])
			continue;
		sent--;
		if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
			weir_rc_reply_check(ctx->conn.rc, NULL);
			return false;
		}
		if (!weir_rc_reply_check(ctx->conn.rc, r)) {
			freeReplyObject(r);	/* moved: asked again */
			p->r[i] = NULL;
			/* keep the slot empty, and mark it to read on */
			continue;
		}
		p->r[i] = r;
	}
	return true;
}

static size_t
pipe_missing(const struct weirctl_pipe *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += !p->r[i];
	return n;
}

/* A command as redisFormatCommand wrote it (*N, then $LEN and the bytes
 * of each argument) asked alone through the layer, which follows MOVED
 * and ASK itself: for a slot being migrated, where a pipeline to either
 * master cannot hold every key. NULL when it failed. */
static redisReply *
single(struct weirctl_ctx *ctx, int node, const char *cmd, size_t len)
{
	const char *pfx = node >= 0 && (size_t)node < ctx->nnodes ?
			  ctx->nodes[node].keypfx : ctx->keypfx;
	const char *p = cmd + 1, *end = cmd + len;
	long argc = strtol(p, NULL, 10);
	const char **argv;
	size_t *lens;
	redisReply *r = NULL;

	if (*cmd != '*' || argc < 1 || argc > 1000000)
		return NULL;
	argv = calloc((size_t)argc, sizeof(*argv));
	lens = calloc((size_t)argc, sizeof(*lens));
	if (!argv || !lens)
		abort();
	p = strchr(p, '\n');
	for (long i = 0; p && i < argc; i++) {
		if (p + 2 > end || p[1] != '$')
			goto out;
		lens[i] = strtoul(p + 2, NULL, 10);
		p = strchr(p + 1, '\n');
		if (!p || p + 1 + lens[i] + 2 > end)
			goto out;
		argv[i] = p + 1;
		p += 1 + lens[i] + 1;	/* onto the \n after the bytes */
	}
	if (p)
		r = weir_rc_commandargv(ctx->conn.rc, pfx, (int)argc, argv, lens);
out:
	free(argv);
	free(lens);
	return r;
}

int
weirctl_pipe_run(struct weirctl_ctx *ctx, int node, struct weirctl_pipe *p)
{
	bool ok = false;

	for (int attempt = 0; attempt < 2 && !ok; attempt++)
		/* A redirect or a lost connection: the layer re-discovers
		 * on the next weir_rc_ctx(); those unanswered go again. */
		ok = pipe_round(ctx, node, p) && !pipe_missing(p);
	for (size_t i = 0; !ok && ctx->conn.rc && i < p->n; i++)
		if (!p->r[i] && !(p->r[i] = single(ctx, node, p->cmd[i], p->len[i])))
			break;
	ctx->conn.c = NULL;
	if (ok || !pipe_missing(p))
		return WC_EXIT_OK;
	ctx->redis_failures++;
	return WC_EXIT_REDIS;
}

int
weirctl_redis_fail(struct weirctl_ctx *ctx, const char *what)
{
	return redis_error(&ctx->conn, what);
}

/* ---- field lookups ---------------------------------------------------------- */

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

/* HGETALL of the current node's key; WC_EXIT_OK with *out an array. */
static int
hgetall_one(struct weirctl_ctx *ctx, const char *name, redisReply **out)
{
	redisReply *r = weirctl_command(ctx, "HGETALL %s%s", ctx->keypfx, name);

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
weirctl_hgetall(struct weirctl_ctx *ctx, const char *name, redisReply **out)
{
	size_t vw[WEIRCTL_NODES_MAX], n = weirctl_view(ctx, vw);
	redisReply *h[WEIRCTL_NODES_MAX] = { NULL };
	int ret = WC_EXIT_OK;

	if (n <= 1)
		return hgetall_one(ctx, name, out);
	*out = NULL;
	for (size_t i = 0; i < n && !ret; i++) {
		weirctl_node_focus(ctx, vw[i]);
		ret = hgetall_one(ctx, name, &h[i]);
	}
	weirctl_node_unfocus(ctx);
	if (!ret)
		*out = weirctl_hash_merge(h, n);
	for (size_t i = 0; i < n; i++)
		if (h[i])
			freeReplyObject(h[i]);
	return ret;
}

static int
zrevrange_one(struct weirctl_ctx *ctx, const char *name, long max,
	      redisReply **out)
{
	redisReply *r = weirctl_command(ctx, "ZREVRANGE %s%s 0 %ld WITHSCORES",
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

int
weirctl_zrevrange_scores(struct weirctl_ctx *ctx, const char *name, long max,
			 redisReply **out)
{
	struct weirctl_zsum z;
	int ret;

	if (weirctl_view_nodes(ctx) <= 1)
		return zrevrange_one(ctx, name, max, out);
	*out = NULL;
	ret = weirctl_zsum_read(ctx, name, &z);
	if (ret)
		return ret;
	*out = weirctl_zsum_reply(&z, max > 0 ? (size_t)max : 0);
	weirctl_zsum_free(&z);
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

/* ---- meta ------------------------------------------------------------------ */

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
		redisReply *r = weirctl_command(ctx,
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

long
weirctl_keyspace_major(const char *v)
{
	char *end;
	long major;

	if (!v || *v < '0' || *v > '9')
		return -1;
	major = strtol(v, &end, 10);
	return (*end && *end != '.') ? -1 : major;
}

int
weirctl_meta_load(struct weirctl_ctx *ctx)
{
	redisReply *m;
	int ret = hgetall_one(ctx, "meta", &m);

	if (ret)
		return ret;
	if (m->elements == 0 && ctx->lenient) {
		if (ctx->meta)
			freeReplyObject(ctx->meta);
		ctx->meta = m;		/* nothing published yet: said by the caller */
		return WC_EXIT_OK;
	}
	if (m->elements == 0) {
		char nodes[256];

		freeReplyObject(m);
		suggest_nodes(ctx, nodes, sizeof(nodes));
		weirctl_err("no engine has published to %s under node %s yet "
			    "(is weir running with --redis %s --node %s%s%s?)%s%s%s",
			    ctx->conn.shown, ctx->cur_node, ctx->conn.shown,
			    ctx->cur_node,
			    strcmp(ctx->prefix, "weir:") ? " and redis-prefix " : "",
			    strcmp(ctx->prefix, "weir:") ? ctx->prefix : "",
			    nodes[0] ? " Nodes that have published there: " : "",
			    nodes, nodes[0] ? " (pick one with --node)." : "");
		return WC_EXIT_NODATA;
	}
	const char *v = weirctl_hash_get(m, "version");
	long major = weirctl_keyspace_major(v);

	if (major < 0) {
		weirctl_err("%smeta at %s has no readable version field (%s): "
			    "it was not written by weir", ctx->keypfx,
			    ctx->conn.shown, v ? v : "missing");
		freeReplyObject(m);
		return WC_EXIT_REDIS;
	}
	if (major != WEIRCTL_KEYSPACE_MAJOR) {
		weirctl_err("node %s at %s publishes keyspace version %s; this "
			    "weirctl reads version %d only: use the weirctl that "
			    "came with that weir", ctx->cur_node, ctx->conn.shown, v,
			    WEIRCTL_KEYSPACE_MAJOR);
		freeReplyObject(m);
		return WC_EXIT_REDIS;
	}
	if (ctx->meta)
		freeReplyObject(ctx->meta);
	ctx->meta = m;
	return WC_EXIT_OK;
}
