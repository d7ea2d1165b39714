/* control.h -- the control thread: sums the workers, publishes to Redis.
 *
 * Runs on the main lcore. Each cycle it drains the workers' flow-snapshot
 * rings into its flow view, walks every worker's aggregate tables under RCU
 * and sums them, derives rates from consecutive readings, and publishes the
 * changes in one MULTI/EXEC (see docs/redis-keys.md). It never touches a
 * packet and no worker ever waits for it, except a worker reading a capture
 * file, which waits rather than drop. */
#ifndef WEIR_CONTROL_H
#define WEIR_CONTROL_H

#include <stdint.h>
#include "weir/config.h"
#include "worker.h"

struct weir_control;

struct weir_control *weir_control_new(const struct weir_config *cfg,
				      struct weir_worker **workers, unsigned int n_workers);
void weir_control_free(struct weir_control *c);

/* Pull snapshots from the workers' rings (cheap; call often). */
void weir_control_drain(struct weir_control *c);

/* One publish cycle: sum, rate, publish. now_ms is wall time. */
void weir_control_cycle(struct weir_control *c, uint64_t now_ms);

/* Port-level counters the engine adds to the health hash. */
struct weir_port_counters {
	uint64_t ipackets, ibytes, imissed, ierrors, rx_nombuf;
};
void weir_control_set_port_counters(struct weir_control *c, const struct weir_port_counters *pc);

/* Counters of the UDP socket collector, for the health hash. */
struct weir_udp_stats;
void weir_control_set_collector_stats(struct weir_control *c, const struct weir_udp_stats *st);

/* "running", "done" (file ended), "stopped" (signal). */
void weir_control_set_state(struct weir_control *c, const char *state, const char *source);

/* One status line for the log. */
void weir_control_status_line(struct weir_control *c, char *buf, size_t len);

/* Rewrite the whole state at the next cycle (SIGHUP, or someone flushed Redis). */
void weir_control_republish(struct weir_control *c);

/* Before the last publish: ask for the names of hosts not yet resolved
 * and wait up to max_ms for the answers. */
void weir_control_settle_names(struct weir_control *c, uint64_t max_ms);

/* The Redis URL without its password, for logs. */
const char *weir_control_redis_name(const struct weir_control *c);

/* Redis reachable at the last cycle? */
int weir_control_redis_ok(const struct weir_control *c);
/* Publish cycles lost in the last outage, once Redis is back. */
uint64_t weir_control_last_outage(const struct weir_control *c);

/* The events stream, for events the main loop notices (a stalled worker). */
struct weir_events *weir_control_events(struct weir_control *c);

#endif
