/* tmpl_share.h -- NetFlow v9/IPFIX templates shared through Redis.
 *
 * A template lives in the collector that received it, so a restarted
 * collector, or a sibling behind SO_REUSEPORT or an anycast address, cannot
 * decode an exporter's data until the exporter sends its templates again
 * (up to 30 minutes on some routers). Here every engine on one Redis shares
 * them: what a worker's decoder learns or withdraws travels to the control
 * thread on a ring (struct weir_tmpl_msg, dropped and counted when full),
 * which writes it to `PREFIXtmpl:{ADDR}:DOMAIN` (docs/redis-keys.md); a
 * data set held for a template the worker does not know makes it ask, and
 * the control thread, at most once a second per template, reads Redis and
 * sends the template back on a second ring for the worker to install as if
 * the exporter had sent it (weir_nf_template_install: same parser, same
 * limits). Workers never wait and never touch Redis.
 *
 * Off with share-templates = no, and when reading a capture file (its
 * results must not depend on timing). */
#ifndef WEIR_TMPL_SHARE_H
#define WEIR_TMPL_SHARE_H

#include <stdint.h>

#include "weir/config.h"
#include "weir/export.h"
#include "weir/redis.h"

/* Largest template record shared: 6 header bytes and the default 128
 * fields of 8 bytes (IPFIX with enterprise numbers); larger ones stay
 * local, counted. */
#define WEIR_TMPL_REC_MAX	1030
#define WEIR_TMPL_OUT_RING	1024	/* worker -> control, per worker */
#define WEIR_TMPL_IN_RING	256	/* control -> worker, per worker */

/* kind: enum weir_tmpl_ev (worker -> control), or WEIR_TMSG_INSTALL. */
#define WEIR_TMSG_INSTALL	16

struct weir_tmpl_msg {
	uint8_t  addr[16];         /* exporter, v4-mapped */
	uint64_t age_ms;           /* INSTALL: how long ago it was learnt */
	uint32_t domain;
	uint16_t id;
	uint16_t set_id;
	uint16_t len;              /* rec bytes (LEARNT, INSTALL) */
	uint8_t  version;
	uint8_t  kind;
	uint8_t  rec[WEIR_TMPL_REC_MAX];
};

struct weir_worker;
struct weir_tmpl_share;

/* NULL when sharing is off for these workers (no rings). */
struct weir_tmpl_share *weir_tmpl_share_new(const struct weir_config *cfg,
					    struct weir_worker **w, unsigned int n,
					    struct weir_redis *redis);
void weir_tmpl_share_free(struct weir_tmpl_share *ts);

/* Drain the workers' messages, answer their questions and write what
 * changed, with a bounded number of Redis round trips per call. Called by
 * the control thread on every turn of its loop. */
void weir_tmpl_share_run(struct weir_tmpl_share *ts, uint64_t now_ms);

struct weir_tmpl_share_stats {
	uint64_t shared;           /* templates written to Redis */
	uint64_t withdrawn;        /* templates deleted from Redis (withdrawals) */
	uint64_t lookups;          /* Redis reads for a template a worker lacked */
	uint64_t answers;          /* templates sent to a worker */
	uint64_t misses;           /* lookups that found nothing usable */
	uint64_t bad;              /* values in Redis that were unusable */
	uint64_t drops;            /* questions or answers lost: rings or tables full */
};
const struct weir_tmpl_share_stats *weir_tmpl_share_stats(const struct weir_tmpl_share *ts);

#endif
