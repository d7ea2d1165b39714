/* events.h -- the engine's events stream (docs/redis-keys.md, "Events").
 * The control thread adds events as it notices them; they are sent in the
 * next publish cycle with XADD, kept while Redis is away (bounded), and
 * counted when that bound is hit. */
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
void weir_events_committed(struct weir_events *e, int ok);

uint64_t weir_events_dropped(const struct weir_events *e);
uint64_t weir_events_sent(const struct weir_events *e);

#endif
