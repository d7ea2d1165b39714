/* agg.h -- per-core aggregates: hosts, VLANs and subnet pairs.
 *
 * Each worker owns one struct weir_agg: three RCU lock-free hash tables
 * (liburcu cds_lfht, QSBR flavour). The worker is the only writer: it folds
 * the deltas of the flows that changed since its last fold (never per
 * packet). The control thread is the only reader: it walks the tables under
 * rcu_read_lock(), sums the cores and derives rates. Counters are written
 * with CMM_STORE_SHARED and read with CMM_LOAD_SHARED (aligned 64-bit, so a
 * reader sees an old or a new value, never a torn one).
 *
 * Idle hosts are removed by the worker (cds_lfht_del, then call_rcu frees the
 * node after every reader is done), but only once the control thread has
 * read their final values: see weir_agg_expire(). */
#ifndef WEIR_AGG_H
#define WEIR_AGG_H

#include <stdint.h>
#include <urcu-qsbr.h>
#include <urcu/rculfhash.h>

#include "weir/flow.h"

struct weir_agg_host {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	uint8_t  ip[16];
	uint16_t vlan;
	uint8_t  mac[6];
	uint64_t bytes_sent, bytes_rcvd;
	uint64_t pkts_sent, pkts_rcvd;
	uint64_t flows;            /* flows seen (total) */
	int64_t  flows_active;
	uint64_t first_ms, last_ms;
	uint64_t upd_gen;          /* fold generation of the last update */
	uint64_t born;             /* this entry's number: a host expired and seen again gets a new one */
	uint32_t handle;           /* its index in weir_agg.host_at (flows keep it), 0: none */
};

struct weir_agg_vlan {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	uint16_t vlan;
	uint64_t bytes, pkts, flows;
	uint64_t first_ms, last_ms;
};

struct weir_agg_pair {
	struct cds_lfht_node node;
	struct rcu_head rcu;
	uint16_t src, dst;         /* subnet index + 1; 0 = "remote" */
	uint64_t bytes_fwd, bytes_rev, pkts_fwd, pkts_rev, flows;
	uint64_t first_ms, last_ms;
};

#define WEIR_AGG_SEEN 64

struct weir_agg {
	struct cds_lfht *hosts;
	struct cds_lfht *vlans;
	struct cds_lfht *pairs;
	uint64_t fold_gen;         /* completed folds; read by the control thread */
	uint64_t ctl_seen_gen;     /* written by the control thread: folds it has fully read */
	uint64_t n_hosts;
	uint64_t host_births;      /* host entries ever made (numbers weir_agg_host.born) */
	uint64_t hosts_expired;
	uint64_t alloc_failed;
	/* host handles, for the flows (worker only): host_at[handle] */
	struct weir_agg_host **host_at;
	uint32_t n_host_at;        /* handles given so far (0 is never one) */
	uint32_t cap_host_at;
	uint32_t *host_free;       /* handles of expired hosts, for reuse */
	uint32_t n_host_free;
	uint32_t cap_host_free;
	/* the VLAN and subnet-pair entries last used, direct-mapped (worker
	 * only): a fold looks up both for every changed flow, and a link has a
	 * few VLANs and pairs; entries live until weir_agg_destroy() */
	struct weir_agg_vlan *vlan_seen[WEIR_AGG_SEEN];
	struct weir_agg_pair *pair_seen[WEIR_AGG_SEEN];
};

/* cds_lfht_for_each_entry() computes container_of(NULL) at the end of the
 * table, which UBSan rightly reports; this one stops before. */
#define WEIR_LFHT_FOR_EACH(ht, iter, pos, member)                                   \
	for (cds_lfht_first((ht), (iter));                                          \
	     ((pos) = cds_lfht_iter_get_node(iter) ?                                \
		caa_container_of(cds_lfht_iter_get_node(iter), __typeof__(*(pos)), member) : \
		NULL) != NULL;                                                       \
	     cds_lfht_next((ht), (iter)))

int  weir_agg_init(struct weir_agg *a);
void weir_agg_destroy(struct weir_agg *a);   /* after every thread stopped */

/* Called by the owning worker: fold what flow f gained since its last fold
 * (new_bytes, new_pkts) into the tables and into its totals, and zero it.
 * sub_init/sub_resp are the subnet indexes (+1, 0 remote) of its initiator
 * and responder. ended: the flow left the table. */
void weir_agg_fold_flow(struct weir_agg *a, struct weir_flow *f, int ended);

/* The same for counts given here rather than taken from f's new_*: for a
 * flow-export record too large for them. */
void weir_agg_fold_counts(struct weir_agg *a, struct weir_flow *f, const uint64_t bytes[2],
			  const uint64_t pkts[2], int ended);

/* Called by the owning worker after a fold pass. */
static inline void
weir_agg_fold_done(struct weir_agg *a)
{
	uatomic_set(&a->fold_gen, a->fold_gen + 1);
}

/* Called by the owning worker now and then: remove hosts with no active flow
 * whose last packet is older than idle_ms before now_ms and whose last update
 * the control thread has already read. */
void weir_agg_expire(struct weir_agg *a, uint64_t now_ms, uint64_t idle_ms);

uint32_t weir_agg_host_hash(const uint8_t ip[16], uint16_t vlan);

#endif
