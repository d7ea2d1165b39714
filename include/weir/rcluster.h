/* rcluster.h -- one Redis endpoint that may be a single server or a Redis
 * Cluster, over Debian's hiredis 0.14 (which has no cluster support).
 *
 * Every weir key is hash-tagged by node (`weir:{NODE}:...`), so all the
 * keys one engine writes, and all a reader needs for one node's view,
 * live in one slot: a caller asks for the connection that owns a key and
 * then uses plain hiredis on it (pipelines, MULTI/EXEC). This layer keeps
 * the slot map (CLUSTER SLOTS), one connection per master, follows MOVED
 * and ASK redirects for single commands, and re-discovers the map after a
 * redirect or an I/O error (a failover). Against a server without cluster
 * support the same calls use the one connection, so callers need no
 * second code path.
 *
 * Not thread-safe: one struct weir_rc per thread. */
#ifndef WEIR_RCLUSTER_H
#define WEIR_RCLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

struct weir_rc;

/* Where the first (seed) connection goes and how to authenticate. unix_path
 * non-NULL and non-empty means a unix socket (never a cluster). user may be
 * NULL/empty (AUTH with the password alone); password NULL/empty: no AUTH.
 * db is SELECTed on a single server; a cluster only has db 0 (asking for
 * another is an error at connect). Strings are copied. */
struct weir_rc_endpoint {
	const char *host;
	int         port;
	const char *unix_path;
	const char *user;
	const char *password;
	int         db;
};

struct weir_rc *weir_rc_new(const struct weir_rc_endpoint *ep, uint32_t timeout_ms);
void weir_rc_free(struct weir_rc *rc);

/* Connects to the seed, authenticates, and learns whether it is a cluster
 * (and if so the slot map). 0, or -1 with the reason in weir_rc_error().
 * Called again after a failure or weir_rc_invalidate(), it starts over. */
int  weir_rc_connect(struct weir_rc *rc);
bool weir_rc_is_cluster(const struct weir_rc *rc);

/* Makes rc a single-server endpoint on C, an already connected context
 * (taken over: freed by rc). For tests and fuzzing, which talk to a fake
 * server over a socketpair (redisConnectFd). 0, or -1 (C freed). */
int  weir_rc_adopt(struct weir_rc *rc, redisContext *c);

/* The connected, authenticated context that owns KEY's slot (connecting
 * to that master if needed). NULL with weir_rc_error() set on failure.
 * The context stays owned by rc; valid until the next weir_rc_* call that
 * re-discovers (weir_rc_invalidate, or a redirect/I/O error seen by
 * weir_rc_command / weir_rc_reply_check). */
redisContext *weir_rc_ctx(struct weir_rc *rc, const char *key, size_t keylen);

/* One command routed by KEY (NULL: any master, for keyless commands),
 * following up to 5 MOVED/ASK redirects and retrying once after
 * re-discovery on an I/O error. The reply is the caller's to free; NULL
 * on failure with weir_rc_error() set. */
redisReply *weir_rc_command(struct weir_rc *rc, const char *key, const char *fmt, ...);
redisReply *weir_rc_commandargv(struct weir_rc *rc, const char *key, int argc,
				const char **argv, const size_t *argvlen);

/* For replies read from a pipeline on a weir_rc_ctx() context: false when
 * the reply is NULL (I/O error) or a MOVED / ASK / CLUSTERDOWN / TRYAGAIN
 * error, in which case the slot map is marked stale and the next
 * weir_rc_ctx() re-discovers it. true otherwise. */
bool weir_rc_reply_check(struct weir_rc *rc, const redisReply *r);

/* Drop every connection and the slot map; the next call reconnects
 * (a cluster: re-discovers through every node it knew, then the seed). */
void weir_rc_invalidate(struct weir_rc *rc);

/* Changes whenever a context this layer handed out may have been freed
 * (a re-discovery closed a connection, weir_rc_invalidate, a reconnect).
 * A caller that keeps a weir_rc_ctx() pointer between calls checks that
 * this is unchanged before using it again, else asks anew (and treats
 * the connection as new: the engine then republishes its whole state). */
uint64_t weir_rc_epoch(const struct weir_rc *rc);

const char *weir_rc_error(const struct weir_rc *rc);

/* Counters for health output. */
struct weir_rc_stats {
	uint64_t redirects;	/* MOVED + ASK followed, or seen by weir_rc_reply_check
				 * (counted once until the next re-discovery) */
	uint64_t rediscoveries;	/* slot map reloads after the first */
	uint64_t connects;	/* connections made: to masters, and to nodes asked for the map */
};
const struct weir_rc_stats *weir_rc_stats(const struct weir_rc *rc);

/* The cluster slot of a key (CRC16/XMODEM mod 16384, honouring the first
 * non-empty {hash tag}), as Redis computes it. */
unsigned weir_rc_slot(const char *key, size_t len);

#endif
