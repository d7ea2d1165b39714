/* redis.h -- the engine's Redis connection: connect, reconnect, pipeline.
 *
 * Used by the control thread only (never by a worker). A cycle is
 * weir_redis_begin(), any number of weir_redis_hset()/weir_redis_cmd(), then
 * weir_redis_commit(), sent pipelined inside MULTI/EXEC so readers never see
 * half a cycle. Replies are read as the pipeline goes, so a very large cycle
 * (a million flows after a capture file) needs no unbounded buffer. When
 * Redis is down the connection is retried with capped exponential backoff,
 * forever; every failed cycle is counted. */
#ifndef WEIR_REDIS_H
#define WEIR_REDIS_H

#include <stddef.h>
#include <stdint.h>

struct weir_redis;

/* The longest wait between two reconnection attempts (the backoff doubles
 * from 250 ms up to this); what Redis misses meanwhile is kept for at
 * least twice that (engine/timeseries.c). */
#define WEIR_REDIS_BACKOFF_MAX_MS 5000

struct weir_redis_stats {
	uint64_t connects;       /* successful connections (first one included) */
	uint64_t connect_failures;
	uint64_t cycles_ok;
	uint64_t cycles_failed;
	uint64_t commands;
	uint64_t redirects;      /* Redis Cluster MOVED/ASK answers (rcluster.h) */
	uint64_t rediscoveries;  /* cluster slot map reloads after the first */
	char     last_error[256];
};

/* url: redis://[:password@]host[:port][/db], redis://user:password@host...,
 * unix:///path[?db=N], or a path starting with '/'. A Redis Cluster is
 * found out at connect (any node of it as host:port, db 0). NULL and a
 * message in err if the URL cannot be understood. No connection is made yet. */
struct weir_redis *weir_redis_new(const char *url, uint32_t timeout_ms, char *err, size_t errlen);
void weir_redis_free(struct weir_redis *r);
/* The key whose Redis Cluster slot every cycle goes to (all of a cycle's
 * keys share its hash tag: the engine passes its prefix "weir:{NODE}:").
 * Single commands are routed by their own key. Without it: any master. */
void weir_redis_route(struct weir_redis *r, const char *key);

/* Connect if not connected and the backoff allows. Returns 1 when connected;
 * *fresh is set to 1 if this call made a new connection (the caller then
 * republishes its whole state). */
int  weir_redis_ensure(struct weir_redis *r, uint64_t now_ms, int *fresh);
int  weir_redis_connected(const struct weir_redis *r);

void weir_redis_begin(struct weir_redis *r);
/* Append one command (argv strings). */
void weir_redis_cmdv(struct weir_redis *r, int argc, const char **argv, const size_t *lens);
/* Append printf-formatted hiredis command (%s %b %d %llu ...): for rare
 * commands only, hiredis formats it with vsnprintf. */
void weir_redis_cmdf(struct weir_redis *r, const char *fmt, ...);
/* Any command built argument by argument, straight into the RESP the
 * server reads (no printf): start with its name, add arguments, end. One
 * command (or HSET below) is built at a time; cmdv, cmdf and the ZADD
 * batch may be used meanwhile. */
void weir_redis_cmd_start(struct weir_redis *r, const char *verb);
void weir_redis_arg(struct weir_redis *r, const char *s, size_t len);
static inline void
weir_redis_arg_str(struct weir_redis *r, const char *s)
{
	weir_redis_arg(r, s, __builtin_strlen(s));
}
void weir_redis_arg_u64(struct weir_redis *r, uint64_t v);
void weir_redis_cmd_end(struct weir_redis *r);
/* ZADD key score member */
void weir_redis_zadd(struct weir_redis *r, const char *key, uint64_t score, const char *member);
/* Many members of one sorted set as few ZADD commands (up to 1024 members
 * each), so Redis runs one command where it would run a thousand: start,
 * add, end. Sent at the latest by end, so nothing else may touch the key
 * in between. */
void weir_redis_zbatch_start(struct weir_redis *r, const char *key);
void weir_redis_zbatch_add(struct weir_redis *r, uint64_t score, const char *member, size_t len);
void weir_redis_zbatch_end(struct weir_redis *r);
/* v in decimal at p (no NUL), for callers composing an argument; returns
 * the end. At most 20 characters. */
char *weir_redis_put_u64(char *p, uint64_t v);
/* Build an HSET key f1 v1 f2 v2 ...: start, then add fields, then end
 * (nothing is sent if no field was added). */
void weir_redis_hset_start(struct weir_redis *r, const char *key);
void weir_redis_hset_strn(struct weir_redis *r, const char *field, size_t flen, const char *val, size_t vlen);
void weir_redis_hset_u64n(struct weir_redis *r, const char *field, size_t flen, uint64_t val);
void weir_redis_hset_i64n(struct weir_redis *r, const char *field, size_t flen, int64_t val);
void weir_redis_hset_end(struct weir_redis *r);
/* The usual calls: inline, so a literal field name's length is known at
 * compile time (a cycle adds millions of fields). */
static inline void
weir_redis_hset_str(struct weir_redis *r, const char *field, const char *val)
{
	weir_redis_hset_strn(r, field, __builtin_strlen(field), val, __builtin_strlen(val));
}

static inline void
weir_redis_hset_u64(struct weir_redis *r, const char *field, uint64_t val)
{
	weir_redis_hset_u64n(r, field, __builtin_strlen(field), val);
}

static inline void
weir_redis_hset_i64(struct weir_redis *r, const char *field, int64_t val)
{
	weir_redis_hset_i64n(r, field, __builtin_strlen(field), val);
}
/* EXEC and read every reply. 0 on success, -1 if the cycle was lost. */
int  weir_redis_commit(struct weir_redis *r);
/* Run one command outside a cycle (reads its reply). 0 ok, -1 failed. */
int  weir_redis_simple(struct weir_redis *r, const char *fmt, ...);

/* One command outside a cycle, routed by KEY, for a caller that needs the
 * reply (template sharing, engine/tmpl_share.c): the reply, which the
 * caller frees with freeReplyObject, or NULL if Redis is not connected or
 * the command failed on the way (an error reply is returned as such). */
struct redisReply;
struct redisReply *weir_redis_query(struct weir_redis *r, const char *key, const char *fmt, ...);

const struct weir_redis_stats *weir_redis_stats(const struct weir_redis *r);
const char *weir_redis_describe(const struct weir_redis *r);   /* URL without password */

#endif
