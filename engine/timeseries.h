/* timeseries.h -- per-entity time series in Redis (docs/redis-keys.md,
 * "Time series"). The control thread reports each entity's running totals
 * once per cycle; this module turns them into per-cycle, per-minute and
 * per-five-minute points, and trims and expires them by retention. */
#ifndef WEIR_TIMESERIES_H
#define WEIR_TIMESERIES_H

#include <stdint.h>
#include "weir/redis.h"

struct weir_ts;

struct weir_ts *weir_ts_new(const char *prefix, uint32_t retention_days);
void weir_ts_free(struct weir_ts *ts);

/* Start a cycle at now_ms (wall time). interval_ms: the publish interval
 * now (SIGHUP may change it), which sizes how many per-cycle points are
 * kept for a Redis that is away (timeseries.c). */
void weir_ts_begin(struct weir_ts *ts, uint64_t now_ms, uint32_t interval_ms);

/* The running totals of ENTITY ("host:10.0.0.1@0", "vlan:10", "engine"...)
 * as of this cycle. Totals never go backwards; a first report only sets the
 * baseline... unless `from_zero`, when the whole total is this cycle's. */
void weir_ts_observe(struct weir_ts *ts, const char *entity,
		     uint64_t bytes, uint64_t pkts, uint64_t flows, int from_zero);

/* Append this cycle's points to the open MULTI on r. final: close the
 * current minute and five-minute buckets now (the engine is stopping).
 * full: a full cycle (a new connection): every series written gets its
 * expiry again, whatever minute it is. */
void weir_ts_publish(struct weir_ts *ts, struct weir_redis *r, int final, int full);

/* The cycle was committed (1) or lost (0): a lost cycle's points are sent
 * again with the next one. */
void weir_ts_committed(struct weir_ts *ts, int ok);

uint64_t weir_ts_entities(const struct weir_ts *ts);
/* Closed points never sent: Redis was away longer than they are kept. */
uint64_t weir_ts_dropped(const struct weir_ts *ts);

#endif
