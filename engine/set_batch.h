/* set_batch.h -- a publish cycle's SADD (or SREM) of flow ids to the idx:*
 * sets, grouped by set.
 *
 * Every flow joins about seven index sets (docs/redis-keys.md), most of
 * them shared by many flows (its VLAN, ports, subnet pair, application,
 * busy hosts). One command per flow and set made the index most of what
 * Redis ran in a cycle (issue #8); grouped, a set gets one SADD with up to
 * 1024 members. Members are sent when their set's group is full
 * and at weir_set_batch_send, in any order: a cycle never adds and removes
 * the same flow, and it all lands in one MULTI/EXEC anyway. */
#ifndef WEIR_SET_BATCH_H
#define WEIR_SET_BATCH_H

#include <stddef.h>
#include <stdint.h>

struct weir_redis;
struct weir_set_batch;

/* op: "SADD" or "SREM" (kept, not copied). NULL if out of memory. */
struct weir_set_batch *weir_set_batch_new(const char *op);
void weir_set_batch_free(struct weir_set_batch *b);
/* Flow uid (sent as its 16-digit hex id) into set key (len bytes, NUL after). */
void weir_set_batch_add(struct weir_set_batch *b, struct weir_redis *r, const char *key, size_t len,
			uint64_t uid);
/* Send what is left; forget the sets that had nothing this cycle. */
void weir_set_batch_send(struct weir_set_batch *b, struct weir_redis *r);

#endif
