/* redis_sink.c -- the engine's Redis connection (see include/weir/redis.h).
 *
 * hiredis 0.14's synchronous API with a command timeout and TCP keepalive.
 * 0.14 forgets the timeout on redisReconnect and never re-applies keepalive
 * (BAD_INPUTS.md, "Redis slow or hung"), so we never reconnect in place: a
 * broken context is freed and a new one made, with both set again.
 *
 * Pipelining: commands are appended to hiredis' output buffer; every
 * FLUSH_EVERY commands we write the buffer out and read the replies owed so
 * far (+QUEUED inside MULTI), keeping both our memory and Redis' client
 * output buffer bounded however large the cycle. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "weir/redis.h"

#define FLUSH_EVERY   2048
#define MAX_HSET_ARGS 128
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

struct weir_redis {
	redisContext *c;
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

	/* HSET under construction */
	int hargc;
	const char *hargv[MAX_HSET_ARGS];
	size_t hlen[MAX_HSET_ARGS];
	char hbuf[MAX_HSET_ARGS][272];
	char hkey[512];

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
	if (r->unix_path[0])
		snprintf(r->describe, sizeof(r->describe), "unix://%s%s", r->unix_path,
			 r->password[0] ? " (with AUTH)" : "");
	else
		snprintf(r->describe, sizeof(r->describe), "redis://%s%s%s:%d/%d%s",
			 strchr(r->host, ':') ? "[" : "", r->host, strchr(r->host, ':') ? "]" : "",
			 r->port, r->db, r->password[0] ? " (with AUTH)" : "");
	return r;
}

static void
drop_conn(struct weir_redis *r, const char *why)
{
	if (why)
		snprintf(r->st.last_error, sizeof(r->st.last_error), "%s", why);
	if (r->c)
		redisFree(r->c);
	r->c = NULL;
	r->owed = 0;
}

void
weir_redis_free(struct weir_redis *r)
{
	if (!r)
		return;
	drop_conn(r, NULL);
	free(r);
}

int
weir_redis_connected(const struct weir_redis *r)
{
	return r->c != NULL;
}

static int
cmd_ok(struct weir_redis *r, redisReply *rep, const char *what)
{
	if (!rep) {
		char m[256];
		snprintf(m, sizeof(m), "%s: %s", what, r->c && r->c->errstr[0] ? r->c->errstr : "no reply");
		drop_conn(r, m);
		return 0;
	}
	int ok = rep->type != REDIS_REPLY_ERROR;
	if (!ok)
		snprintf(r->st.last_error, sizeof(r->st.last_error), "%s: %s", what, rep->str);
	freeReplyObject(rep);
	return ok;
}

int
weir_redis_ensure(struct weir_redis *r, uint64_t now_ms, int *fresh)
{
	*fresh = 0;
	if (r->c)
		return 1;
	if (now_ms < r->next_try_ms)
		return 0;
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
	r->c = r->unix_path[0] ? redisConnectUnixWithTimeout(r->unix_path, tv)
			       : redisConnectWithTimeout(r->host, r->port, tv);
	if (!r->c || r->c->err) {
		char m[256];
		snprintf(m, sizeof(m), "connect to %s: %s", r->describe,
			 r->c ? r->c->errstr : "out of memory");
		drop_conn(r, m);
		goto failed;
	}
	redisSetTimeout(r->c, tv);
	if (!r->unix_path[0])
		redisEnableKeepAlive(r->c);
	if (r->password[0]) {
		redisReply *rep = r->user[0]
			? redisCommand(r->c, "AUTH %s %s", r->user, r->password)
			: redisCommand(r->c, "AUTH %s", r->password);
		if (!cmd_ok(r, rep, "AUTH")) {
			drop_conn(r, NULL);
			goto failed;
		}
	}
	if (r->db) {
		redisReply *rep = redisCommand(r->c, "SELECT %d", r->db);
		if (!cmd_ok(r, rep, "SELECT")) {
			drop_conn(r, NULL);
			goto failed;
		}
	}
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

/* Read replies owed until at most `keep` remain. */
static void
read_owed(struct weir_redis *r, uint64_t keep)
{
	while (r->c && r->owed > keep) {
		void *rep = NULL;
		if (redisGetReply(r->c, &rep) != REDIS_OK) {
			char m[256];
			snprintf(m, sizeof(m), "reply from %s: %s", r->describe, r->c->errstr);
			drop_conn(r, m);
			r->failed = 1;
			return;
		}
		redisReply *x = rep;
		if (x->type == REDIS_REPLY_ERROR) {
			snprintf(r->st.last_error, sizeof(r->st.last_error), "%s", x->str);
			r->failed = 1;
		}
		freeReplyObject(x);
		r->owed--;
	}
}

static void
appended(struct weir_redis *r)
{
	r->owed++;
	r->cycle_cmds++;
	r->st.commands++;
	if (r->owed >= FLUSH_EVERY)
		read_owed(r, 0);
}

void
weir_redis_begin(struct weir_redis *r)
{
	r->failed = 0;
	r->cycle_cmds = 0;
	if (!r->c) {
		r->failed = 1;
		return;
	}
	redisAppendCommand(r->c, "MULTI");
	appended(r);
}

void
weir_redis_cmdv(struct weir_redis *r, int argc, const char **argv, const size_t *lens)
{
	if (!r->c || r->failed)
		return;
	redisAppendCommandArgv(r->c, argc, argv, lens);
	appended(r);
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
weir_redis_hset_start(struct weir_redis *r, const char *key)
{
	snprintf(r->hkey, sizeof(r->hkey), "%s", key);
	r->hargv[0] = "HSET";
	r->hargv[1] = r->hkey;
	r->hargc = 2;
}

void
weir_redis_hset_str(struct weir_redis *r, const char *field, const char *val)
{
	if (r->hargc + 2 > MAX_HSET_ARGS)
		weir_redis_hset_end(r);	/* send what we have; same key continues */
	/* both are copied: callers format fields into reused buffers */
	snprintf(r->hbuf[r->hargc], sizeof(r->hbuf[0]), "%s", field);
	r->hargv[r->hargc] = r->hbuf[r->hargc];
	r->hlen[r->hargc] = strlen(r->hbuf[r->hargc]);
	r->hargc++;
	snprintf(r->hbuf[r->hargc], sizeof(r->hbuf[0]), "%s", val);
	r->hargv[r->hargc] = r->hbuf[r->hargc];
	r->hlen[r->hargc] = strlen(r->hbuf[r->hargc]);
	r->hargc++;
}

void
weir_redis_hset_u64(struct weir_redis *r, const char *field, uint64_t val)
{
	char b[24];
	snprintf(b, sizeof(b), "%llu", (unsigned long long)val);
	weir_redis_hset_str(r, field, b);
}

void
weir_redis_hset_i64(struct weir_redis *r, const char *field, int64_t val)
{
	char b[24];
	snprintf(b, sizeof(b), "%lld", (long long)val);
	weir_redis_hset_str(r, field, b);
}

void
weir_redis_hset_end(struct weir_redis *r)
{
	if (r->hargc <= 2)
		return;
	r->hlen[0] = 4;
	r->hlen[1] = strlen(r->hkey);
	weir_redis_cmdv(r, r->hargc, r->hargv, r->hlen);
	r->hargc = 2;
}

/* Redis runs the whole transaction when EXEC arrives, so EXEC's reply
 * takes as long as the cycle is large (a full rewrite of tens of thousands
 * of hosts takes seconds). A fixed command timeout would fail that cycle
 * forever; give EXEC the configured timeout plus 20 us per command. */
static void
set_timeout(struct weir_redis *r, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	if (r->c)
		redisSetTimeout(r->c, tv);
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
	set_timeout(r, r->timeout_ms + r->cycle_cmds / 50);
	read_owed(r, 0);
	set_timeout(r, r->timeout_ms);
	if (r->failed || !r->c) {
		r->st.cycles_failed++;
		return -1;
	}
	r->st.cycles_ok++;
	return 0;
}

int
weir_redis_simple(struct weir_redis *r, const char *fmt, ...)
{
	if (!r->c)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	redisReply *rep = redisvCommand(r->c, fmt, ap);
	va_end(ap);
	return cmd_ok(r, rep, "command") ? 0 : -1;
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
