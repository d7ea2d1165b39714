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

struct weir_redis_stats {
	uint64_t connects;       /* successful connections (first one included) */
	uint64_t connect_failures;
	uint64_t cycles_ok;
	uint64_t cycles_failed;
	uint64_t commands;
	char     last_error[256];
};

/* url: redis://[:password@]host[:port][/db], redis://user:password@host...,
 * unix:///path[?db=N], or a path starting with '/'. NULL and a message in
 * err if the URL cannot be understood. No connection is made yet. */
struct weir_redis *weir_redis_new(const char *url, uint32_t timeout_ms, char *err, size_t errlen);
void weir_redis_free(struct weir_redis *r);

/* Connect if not connected and the backoff allows. Returns 1 when connected;
 * *fresh is set to 1 if this call made a new connection (the caller then
 * republishes its whole state). */
int  weir_redis_ensure(struct weir_redis *r, uint64_t now_ms, int *fresh);
int  weir_redis_connected(const struct weir_redis *r);

void weir_redis_begin(struct weir_redis *r);
/* Append one command (argv strings). */
void weir_redis_cmdv(struct weir_redis *r, int argc, const char **argv, const size_t *lens);
/* Append printf-formatted hiredis command (%s %b %d %llu ...). */
void weir_redis_cmdf(struct weir_redis *r, const char *fmt, ...);
/* Build an HSET key f1 v1 f2 v2 ...: start, then add fields, then end. */
void weir_redis_hset_start(struct weir_redis *r, const char *key);
void weir_redis_hset_str(struct weir_redis *r, const char *field, const char *val);
void weir_redis_hset_u64(struct weir_redis *r, const char *field, uint64_t val);
void weir_redis_hset_i64(struct weir_redis *r, const char *field, int64_t val);
void weir_redis_hset_end(struct weir_redis *r);
/* EXEC and read every reply. 0 on success, -1 if the cycle was lost. */
int  weir_redis_commit(struct weir_redis *r);
/* Run one command outside a cycle (reads its reply). 0 ok, -1 failed. */
int  weir_redis_simple(struct weir_redis *r, const char *fmt, ...);

const struct weir_redis_stats *weir_redis_stats(const struct weir_redis *r);
const char *weir_redis_describe(const struct weir_redis *r);   /* URL without password */

#endif
