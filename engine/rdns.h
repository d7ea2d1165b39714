/* rdns.h -- reverse DNS of hosts (ntopng's -n), off the packet path.
 *
 * The control thread asks for names as it publishes hosts; queries run
 * asynchronously through c-ares inside the control thread's own loop (no
 * extra thread, nothing blocks), rate-limited, cached with a TTL, bounded
 * in entries (least recently used out first). Names come from the network:
 * they are stored as host fields, never used in key names. */
#ifndef WEIR_RDNS_H
#define WEIR_RDNS_H

#include <stdint.h>

enum weir_rdns_mode { WEIR_RDNS_NONE = 0, WEIR_RDNS_LOCAL, WEIR_RDNS_ALL };

struct weir_rdns;

struct weir_rdns_stats {
	uint64_t queries, answers, failures, rate_limited;
	uint64_t cache_full;        /* names evicted before their TTL (or their answer) */
	uint64_t cached;
};

/* server: "HOST[:PORT],..." to ask instead of /etc/resolv.conf's servers
 * (resolve-server), NULL or "" for those; max_entries: cache size, 0 for
 * the default (200,000). */
struct weir_rdns *weir_rdns_new(enum weir_rdns_mode mode, uint32_t per_sec, uint32_t ttl_s,
				const char *server, uint32_t max_entries);
void weir_rdns_free(struct weir_rdns *r);

/* The name of addr if known ("" if it has none), NULL if not (yet): a query
 * is started when the mode, the rate limit and the cache allow. */
const char *weir_rdns_name(struct weir_rdns *r, const uint8_t addr[16], int local, uint64_t now_ms);

/* Let c-ares make progress; never blocks. Call often. */
void weir_rdns_poll(struct weir_rdns *r);

/* Queries still waiting for an answer. */
unsigned int weir_rdns_pending(const struct weir_rdns *r);

void weir_rdns_stats(const struct weir_rdns *r, struct weir_rdns_stats *st);

#endif
