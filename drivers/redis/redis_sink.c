/* redis_sink.c -- the engine's Redis connection (see include/weir/redis.h).
 *
 * hiredis 0.14's synchronous API with a command timeout and TCP keepalive.
 * 0.14 forgets the timeout on redisReconnect and never re-applies keepalive
 * (BAD_INPUTS.md, "Redis slow or hung"), so we never reconnect in place: a
 * broken context is freed and a new one made, with both set again. The
 * connections come from weir_rc (drivers/redis/rcluster.c), which also
 * makes a Redis Cluster look like one server: a cycle goes to the master
 * owning the node's hash-tag slot (the route key), a single command to the
 * master owning its key. A cycle that meets a redirect, CLUSTERDOWN or a
 * broken connection is lost and counted like any failed cycle; the map is
 * re-discovered and the next cycle, on a connection that counts as new,
 * republishes everything.
 *
 * Commands are built as RESP bytes by resp.c (no printf per argument) and
 * handed whole to hiredis' output buffer; weir_redis_cmdf keeps hiredis'
 * printf-style formatting for the rare command.
 *
 * Pipelining: every FLUSH_EVERY commands we write the buffer out and read
 * the replies (+QUEUED inside MULTI) of the batch written the time before,
 * so Redis works on one batch while we build the next, and both our memory
 * and Redis' client output buffer stay bounded however large the cycle. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "weir/rcluster.h"
#include "weir/redis.h"
#include "resp.h"

#define FLUSH_EVERY   2048
#define ZBATCH_MAX    1024     /* members per batched ZADD */
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS WEIR_REDIS_BACKOFF_MAX_MS

struct weir_redis {
	struct weir_rc *rc;
	redisContext *c;         /* rc's connection for route, valid while epoch holds */
	uint64_t epoch;
	char route[512];         /* the key whose slot a cycle goes to; empty: any */
	int reroute;             /* the cycle met a redirect or lost its master */
	char host[256];
	int port;
	char unix_path[512];
	char user[128];
	char password[256];
	int db;
	uint32_t timeout_ms;
	char describe[600];

	uint64_t next_try_ms;
	uint32_t backoff_ms;
	int failed;              /* this cycle hit an error: discard it */
	uint64_t owed;           /* replies not yet read */
	uint64_t cycle_cmds;     /* commands in the cycle being built */
	uint64_t cycle_args;     /* ...and their arguments (batched commands are long) */

	struct weir_resp cmd;     /* the command being built (HSET or any) */
	int cmd_skip;            /* ...in a lost cycle: not built at all */
	struct weir_resp zb;     /* a batched ZADD being built */
	int zb_on;
	char zb_key[512];
	struct weir_resp tmp;    /* weir_redis_cmdv */

	struct weir_redis_stats st;
};

static int
parse_url(struct weir_redis *r, const char *url, char *err, size_t errlen)
{
	const char *p;
	r->port = 6379;
	if (url[0] == '/') {
		snprintf(r->unix_path, sizeof(r->unix_path), "%s", url);
		return 0;
	}
	if (!strncmp(url, "unix://", 7)) {
		/* unix:///path[?db=N][&user=U][&password=P] */
		snprintf(r->unix_path, sizeof(r->unix_path), "%s", url + 7);
		char *q = strchr(r->unix_path, '?');
		if (q) {
			*q++ = 0;
			for (char *save, *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
				if (!strncmp(kv, "db=", 3))
					r->db = atoi(kv + 3);
				else if (!strncmp(kv, "password=", 9))
					snprintf(r->password, sizeof(r->password), "%s", kv + 9);
				else if (!strncmp(kv, "user=", 5))
					snprintf(r->user, sizeof(r->user), "%s", kv + 5);
				else {
					snprintf(err, errlen, "'%s': unknown parameter '%s' (db, user, password)", url, kv);
					return -1;
				}
			}
		}
		if (r->unix_path[0] != '/') {
			snprintf(err, errlen, "'%s': write unix:///absolute/path/redis.sock", url);
			return -1;
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "'%s': write redis://[:password@]host[:port][/db] or unix:///path", url);
		return -1;
	}
	p = url + 8;
	const char *at = strrchr(p, '@');
	if (at) {
		char cred[400];
		snprintf(cred, sizeof(cred), "%.*s", (int)(at - p), p);
		char *colon = strchr(cred, ':');
		if (colon) {
			*colon = 0;
			snprintf(r->user, sizeof(r->user), "%s", cred);
			snprintf(r->password, sizeof(r->password), "%s", colon + 1);
		} else {
			snprintf(r->password, sizeof(r->password), "%s", cred);
		}
		p = at + 1;
	}
	const char *end = p + strcspn(p, "/");
	const char *colon = NULL;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (!rb) {
			snprintf(err, errlen, "'%s': unterminated [IPv6] host", url);
			return -1;
		}
		snprintf(r->host, sizeof(r->host), "%.*s", (int)(rb - p - 1), p + 1);
		if (rb + 1 < end && rb[1] == ':')
			colon = rb + 1;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		snprintf(r->host, sizeof(r->host), "%.*s", (int)((colon ? colon : end) - p), p);
	}
	if (colon) {
		char *e;
		long port = strtol(colon + 1, &e, 10);
		if (e != end || port <= 0 || port > 65535) {
			snprintf(err, errlen, "'%s': bad port", url);
			return -1;
		}
		r->port = (int)port;
	}
	if (!r->host[0])
		snprintf(r->host, sizeof(r->host), "127.0.0.1");
	if (*end == '/' && end[1]) {
		char *e;
		long db = strtol(end + 1, &e, 10);
		if (*e || db < 0 || db > 10000) {
			snprintf(err, errlen, "'%s': bad database number", url);
			return -1;
		}
		r->db = (int)db;
	}
	return 0;
}

struct weir_redis *
weir_redis_new(const char *url, uint32_t timeout_ms, char *err, size_t errlen)
{
	struct weir_redis *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_url(r, url, err, errlen) != 0) {
		free(r);
		return NULL;
	}
	r->timeout_ms = timeout_ms;
	r->backoff_ms = BACKOFF_MIN_MS;
	r->cmd_skip = 1;
	struct weir_rc_endpoint ep = {
		.host = r->host, .port = r->port, .unix_path = r->unix_path,
		.user = r->user, .password = r->password, .db = r->db,
	};
	r->rc = weir_rc_new(&ep, timeout_ms);
	if (!r->rc) {
		snprintf(err, errlen, "out of memory");
		free(r);
		return NULL;
	}
	if (r->unix_path[0])
		snprintf(r->describe, sizeof(r->describe), "unix://%s%s", r->unix_path,
			 r->password[0] ? " (with AUTH)" : "");
	else
		snprintf(r->describe, sizeof(r->describe), "redis://%s%s%s:%d/%d%s",
			 strchr(r->host, ':') ? "[" : "", r->host, strchr(r->host, ':') ? "]" : "",
			 r->port, r->db, r->password[0] ? " (with AUTH)" : "");
	return r;
}

/* Stop using the cycle's connection (rc owns it and frees it if broken). */
static void
drop_conn(struct weir_redis *r, const char *why)
{
	if (why)
		snprintf(r->st.last_error, sizeof(r->st.last_error), "%s", why);
	r->c = NULL;
	r->owed = 0;
}

void
weir_redis_free(struct weir_redis *r)
{
	if (!r)
		return;
	drop_conn(r, NULL);
	weir_rc_free(r->rc);
	weir_resp_free(&r->cmd);
	weir_resp_free(&r->zb);
	weir_resp_free(&r->tmp);
	free(r);
}

void
weir_redis_route(struct weir_redis *r, const char *key)
{
	snprintf(r->route, sizeof(r->route), "%s", key ? key : "");
	drop_conn(r, NULL);	/* the next ensure finds the route's master */
}

/* r->c is still the connection rc gave us (nothing re-discovered since). */
static int
conn_valid(const struct weir_redis *r)
{
	return r->c && r->epoch == weir_rc_epoch(r->rc) && !r->c->err;
}

int
weir_redis_connected(const struct weir_redis *r)
{
	return conn_valid(r);
}

static void
sync_stats(struct weir_redis *r)
{
	const struct weir_rc_stats *s = weir_rc_stats(r->rc);
	r->st.redirects = s->redirects;
	r->st.rediscoveries = s->rediscoveries;
}

int
weir_redis_ensure(struct weir_redis *r, uint64_t now_ms, int *fresh)
{
	*fresh = 0;
	if (conn_valid(r))
		return 1;
	drop_conn(r, NULL);
	if (now_ms < r->next_try_ms)
		return 0;
	r->c = weir_rc_ctx(r->rc, r->route[0] ? r->route : NULL, strlen(r->route));
	sync_stats(r);
	if (!r->c) {
		drop_conn(r, weir_rc_error(r->rc));
		goto failed;
	}
	r->epoch = weir_rc_epoch(r->rc);
	r->st.connects++;
	r->backoff_ms = BACKOFF_MIN_MS;
	*fresh = 1;
	return 1;

failed:
	r->st.connect_failures++;
	r->next_try_ms = now_ms + r->backoff_ms;
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
	return 0;
}

/* Redis runs the whole transaction when EXEC arrives, so EXEC's reply
 * takes as long as the cycle is large (a full rewrite of tens of thousands
 * of hosts takes seconds). A fixed command timeout would fail that cycle
 * forever; give EXEC the configured timeout plus 20 us per command and
 * 1 us per argument (a batched SADD or ZADD is one command of a thousand),
 * and each read inside the cycle the same for the batch it waits on
 * (weir_redis_begin). */
static void
set_timeout(struct weir_redis *r, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	if (r->c)
		redisSetTimeout(r->c, tv);
}

/* Read replies owed until at most `keep` remain. */
static void
read_owed(struct weir_redis *r, uint64_t keep)
{
	while (r->c && r->owed > keep) {
		void *rep = NULL;
		if (redisGetReply(r->c, &rep) != REDIS_OK || !rep) {
			char m[256];
			snprintf(m, sizeof(m), "reply from %s: %s", r->describe, r->c->errstr);
			weir_rc_reply_check(r->rc, NULL);
			drop_conn(r, m);
			r->failed = 1;
			return;
		}
		redisReply *x = rep;
		if (!weir_rc_reply_check(r->rc, x)) {	/* MOVED, CLUSTERDOWN...: lost */
			if (!r->reroute)
				snprintf(r->st.last_error, sizeof(r->st.last_error), "%s", x->str);
			r->reroute = 1;
			r->failed = 1;
		} else if (x->type == REDIS_REPLY_ERROR) {
			snprintf(r->st.last_error, sizeof(r->st.last_error), "%s", x->str);
			r->failed = 1;
		}
		freeReplyObject(x);
		r->owed--;
	}
}

/* Every FLUSH_EVERY commands: write out the batch just built, then read
 * the replies of the batch written the time before, which Redis has had
 * the time it took us to build this one to answer. */
static void
appended(struct weir_redis *r)
{
	r->owed++;
	r->cycle_cmds++;
	r->st.commands++;
	if (r->owed < 2 * FLUSH_EVERY)
		return;
	int done = 0;
	while (!done) {
		if (redisBufferWrite(r->c, &done) != REDIS_OK) {
			char m[256];
			snprintf(m, sizeof(m), "write to %s: %s", r->describe, r->c->errstr);
			weir_rc_reply_check(r->rc, NULL);
			drop_conn(r, m);
			r->failed = 1;
			return;
		}
	}
	read_owed(r, FLUSH_EVERY);
}

/* Hand a command built by resp.c to hiredis. */
static void
append_resp(struct weir_redis *r, struct weir_resp *b)
{
	const char *cmd;
	long len = weir_resp_finish(b, &cmd);
	if (len < 0) {
		if (b->oom) {
			snprintf(r->st.last_error, sizeof(r->st.last_error), "out of memory building a command");
			r->failed = 1;
		}
		return;
	}
	r->cycle_args += b->argc;
	if (redisAppendFormattedCommand(r->c, cmd, (size_t)len) != REDIS_OK) {
		snprintf(r->st.last_error, sizeof(r->st.last_error), "out of memory queueing a command");
		r->failed = 1;
		return;
	}
	appended(r);
}

void
weir_redis_begin(struct weir_redis *r)
{
	r->failed = 0;
	r->reroute = 0;
	r->cycle_cmds = 0;
	r->cycle_args = 0;
	r->cmd_skip = 1;
	r->zb_on = 0;
	if (!conn_valid(r)) {	/* a single command re-discovered since ensure */
		drop_conn(r, NULL);
		r->failed = 1;
		return;
	}
	/* inside the cycle, each read waits for the replies of a whole batch
	 * (FLUSH_EVERY commands, appended()): the same 20 us per command as
	 * EXEC gets, on top of the configured timeout */
	set_timeout(r, r->timeout_ms + FLUSH_EVERY / 50);
	redisAppendCommand(r->c, "MULTI");
	appended(r);
}

void
weir_redis_cmdv(struct weir_redis *r, int argc, const char **argv, const size_t *lens)
{
	if (!r->c || r->failed)
		return;
	weir_resp_reset(&r->tmp);
	for (int i = 0; i < argc; i++)
		weir_resp_arg(&r->tmp, argv[i], lens[i]);
	append_resp(r, &r->tmp);
}

void
weir_redis_cmdf(struct weir_redis *r, const char *fmt, ...)
{
	if (!r->c || r->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	redisvAppendCommand(r->c, fmt, ap);
	va_end(ap);
	appended(r);
}

void
weir_redis_cmd_start(struct weir_redis *r, const char *verb)
{
	r->cmd_skip = !r->c || r->failed;
	if (r->cmd_skip)
		return;
	weir_resp_reset(&r->cmd);
	weir_resp_arg(&r->cmd, verb, strlen(verb));
}

void
weir_redis_arg(struct weir_redis *r, const char *s, size_t len)
{
	if (!r->cmd_skip)
		weir_resp_arg(&r->cmd, s, len);
}

void
weir_redis_arg_u64(struct weir_redis *r, uint64_t v)
{
	if (!r->cmd_skip)
		weir_resp_arg_u64(&r->cmd, v);
}

void
weir_redis_cmd_end(struct weir_redis *r)
{
	if (!r->cmd_skip && r->c && !r->failed)
		append_resp(r, &r->cmd);
	r->cmd_skip = 1;
}

void
weir_redis_zadd(struct weir_redis *r, const char *key, uint64_t score, const char *member)
{
	weir_redis_cmd_start(r, "ZADD");
	weir_redis_arg_str(r, key);
	weir_redis_arg_u64(r, score);
	weir_redis_arg_str(r, member);
	weir_redis_cmd_end(r);
}

static void
zbatch_open(struct weir_redis *r)
{
	weir_resp_reset(&r->zb);
	weir_resp_arg(&r->zb, "ZADD", 4);
	weir_resp_arg(&r->zb, r->zb_key, strlen(r->zb_key));
}

void
weir_redis_zbatch_start(struct weir_redis *r, const char *key)
{
	snprintf(r->zb_key, sizeof(r->zb_key), "%s", key);
	r->zb_on = 1;
	zbatch_open(r);
}

void
weir_redis_zbatch_add(struct weir_redis *r, uint64_t score, const char *member, size_t len)
{
	if (!r->zb_on || !r->c || r->failed)
		return;
	weir_resp_arg_u64(&r->zb, score);
	weir_resp_arg(&r->zb, member, len);
	if (r->zb.argc >= 2 + 2 * ZBATCH_MAX) {
		append_resp(r, &r->zb);
		zbatch_open(r);
	}
}

void
weir_redis_zbatch_end(struct weir_redis *r)
{
	if (r->zb_on && r->c && !r->failed && r->zb.argc > 2)
		append_resp(r, &r->zb);
	r->zb_on = 0;
}

char *
weir_redis_put_u64(char *p, uint64_t v)
{
	char num[20];
	char *d = weir_resp_u64_text(v, num);
	size_t n = (size_t)(num + 20 - d);
	memcpy(p, d, n);
	return p + n;
}

void
weir_redis_hset_start(struct weir_redis *r, const char *key)
{
	weir_redis_cmd_start(r, "HSET");
	weir_redis_arg_str(r, key);
}

void
weir_redis_hset_strn(struct weir_redis *r, const char *field, size_t flen, const char *val, size_t vlen)
{
	if (r->cmd_skip)
		return;
	weir_resp_arg(&r->cmd, field, flen);
	weir_resp_arg(&r->cmd, val, vlen);
}

void
weir_redis_hset_u64n(struct weir_redis *r, const char *field, size_t flen, uint64_t val)
{
	if (r->cmd_skip)
		return;
	weir_resp_arg(&r->cmd, field, flen);
	weir_resp_arg_u64(&r->cmd, val);
}

void
weir_redis_hset_i64n(struct weir_redis *r, const char *field, size_t flen, int64_t val)
{
	if (r->cmd_skip)
		return;
	weir_resp_arg(&r->cmd, field, flen);
	weir_resp_arg_i64(&r->cmd, val);
}

void
weir_redis_hset_end(struct weir_redis *r)
{
	if (!r->cmd_skip && r->cmd.argc <= 2)
		r->cmd_skip = 1;	/* no field: nothing to say */
	weir_redis_cmd_end(r);
}

int
weir_redis_commit(struct weir_redis *r)
{
	if (r->c && !r->failed) {
		redisAppendCommand(r->c, "EXEC");
		appended(r);
	} else if (r->c) {
		redisAppendCommand(r->c, "DISCARD");
		appended(r);
	}
	set_timeout(r, r->timeout_ms + r->cycle_cmds / 50 + r->cycle_args / 1000);
	read_owed(r, 0);
	set_timeout(r, r->timeout_ms);
	if (r->reroute)		/* next cycle: the re-discovered master, in full */
		drop_conn(r, NULL);
	sync_stats(r);
	if (r->failed || !r->c) {
		r->st.cycles_failed++;
		return -1;
	}
	r->st.cycles_ok++;
	return 0;
}

/* The key a command is routed by: argv[1], or for EVAL/EVALSHA/FCALL the
 * first declared key (none declared: the route key). */
static const char *
key_of(struct weir_redis *r, int argc, char **argv)
{
	if (argc >= 3 && (!strcasecmp(argv[0], "EVAL") || !strcasecmp(argv[0], "EVALSHA") ||
			  !strcasecmp(argv[0], "FCALL")))
		return atoi(argv[2]) > 0 && argc >= 4 ? argv[3] : (r->route[0] ? r->route : NULL);
	return argc >= 2 ? argv[1] : (r->route[0] ? r->route : NULL);
}

/* Split a RESP command hiredis formatted (*N then N $LEN bulk strings) in
 * place: each argument is followed by its \r, which becomes a NUL. */
static int
split_formatted(char *cmd, size_t len, int max, char **argv, size_t *lens)
{
	char *p = cmd, *end = cmd + len, *e;
	if (*p != '*')
		return -1;
	long n = strtol(p + 1, &e, 10);
	if (n < 1 || n > max)
		return -1;
	p = e + 2;
	for (long i = 0; i < n; i++) {
		if (p >= end || *p != '$')
			return -1;
		long l = strtol(p + 1, &e, 10);
		p = e + 2;
		if (l < 0 || p + l + 2 > end)
			return -1;
		argv[i] = p;
		lens[i] = (size_t)l;
		p[l] = 0;
		p += l + 2;
	}
	return (int)n;
}

/* One command outside the cycle, routed by KEY (NULL: by its own key, see
 * key_of) and following redirects. The reply, or NULL with last_error set. */
static redisReply *
routed(struct weir_redis *r, const char *key, const char *fmt, va_list ap)
{
	char *cmd = NULL, *argv[64];
	size_t lens[64];
	int len = redisvFormatCommand(&cmd, fmt, ap);
	int argc = len < 0 ? -1 : split_formatted(cmd, (size_t)len, 64, argv, lens);
	if (argc < 0) {
		snprintf(r->st.last_error, sizeof(r->st.last_error), "cannot format '%.60s'", fmt);
		redisFreeCommand(cmd);
		return NULL;
	}
	redisReply *rep = weir_rc_commandargv(r->rc, key ? key : key_of(r, argc, argv), argc,
					      (const char **)argv, lens);
	if (!rep)
		snprintf(r->st.last_error, sizeof(r->st.last_error), "%s %.40s: %s", argv[0],
			 argc > 1 ? argv[1] : "", weir_rc_error(r->rc));
	else if (rep->type == REDIS_REPLY_ERROR)
		snprintf(r->st.last_error, sizeof(r->st.last_error), "%s %.40s: %s", argv[0],
			 argc > 1 ? argv[1] : "", rep->str);
	redisFreeCommand(cmd);
	sync_stats(r);
	if (!conn_valid(r))	/* it re-discovered: the cycle asks again */
		drop_conn(r, NULL);
	return rep;
}

int
weir_redis_simple(struct weir_redis *r, const char *fmt, ...)
{
	if (!conn_valid(r))
		return -1;
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = routed(r, NULL, fmt, ap);
	va_end(ap);
	int ok = rep && rep->type != REDIS_REPLY_ERROR;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

/* For template sharing (engine/tmpl_share.c, H3): a read or write outside
 * the cycle whose reply the caller needs, routed by KEY; only while the
 * cycle's connection is up, so a Redis outage never makes the control
 * thread wait on a connect here. */
redisReply *
weir_redis_query(struct weir_redis *r, const char *key, const char *fmt, ...)
{
	if (!conn_valid(r))
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = routed(r, key, fmt, ap);
	va_end(ap);
	return rep;
}

const struct weir_redis_stats *
weir_redis_stats(const struct weir_redis *r)
{
	return &r->st;
}

const char *
weir_redis_describe(const struct weir_redis *r)
{
	return r->describe;
}
