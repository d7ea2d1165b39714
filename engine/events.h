/* events.h -- the engine's events stream (docs/redis-keys.md, "Events").
 * The control thread adds events as it notices them; they are sent in the
 * next publish cycle with XADD, however many there are. Only a cycle that
 * did not land (Redis away or failing) bounds the queue: what is beyond
 * max_queued then is dropped, newest first, and counted. */
#ifndef WEIR_EVENTS_H
#define WEIR_EVENTS_H

#include <stdint.h>
#include "weir/redis.h"

#define WEIR_EVENT_MAX_FIELDS 14

struct weir_events;

struct weir_events *weir_events_new(const char *prefix, uint32_t max_queued);
void weir_events_free(struct weir_events *e);

/* Queue an event: type, then name/value string pairs (NULL-terminated). */
void weir_events_add(struct weir_events *e, uint64_t ts_ms, const char *type, ...)
	__attribute__((sentinel));

void weir_events_publish(struct weir_events *e, struct weir_redis *r);
/* The cycle carrying them was committed (1), or lost or never sent (0):
 * then the queue is cut back to max_queued. */
void weir_events_committed(struct weir_events *e, int ok);

/* Sent so far, counting those of the cycle being committed: the health
 * hash written in that same cycle is exact if it lands. */
uint64_t weir_events_sent_if_ok(const struct weir_events *e);

uint64_t weir_events_dropped(const struct weir_events *e);
uint64_t weir_events_sent(const struct weir_events *e);

#endif
