/* flow_table.h -- the per-core flow table's interface.
 *
 * Concurrency: every function here is called by the owning worker only. No
 * other thread reads the table; the control thread learns about flows from
 * the snapshots the worker sends it (see flow_ring.h). */
#ifndef WEIR_FLOW_TABLE_H
#define WEIR_FLOW_TABLE_H

#include <stdint.h>
#include "weir/flow.h"

#define WEIR_FT_BUCKET_SLOTS 8
#define WEIR_FT_PROBE        4     /* buckets probed before "full" */
#define WEIR_FT_NONE         UINT32_MAX

/* One bucket is one cache line: 8 signatures and 8 entry indexes. A zero
 * signature is an empty slot (signatures are forced non-zero). */
struct weir_ft_bucket {
	uint32_t sig[WEIR_FT_BUCKET_SLOTS];
	uint32_t idx[WEIR_FT_BUCKET_SLOTS];
} __attribute__((aligned(64)));
static_assert(sizeof(struct weir_ft_bucket) == 64, "a bucket is one cache line");

struct weir_flow_table {
	struct weir_ft_bucket *buckets;
	struct weir_flow *flows;       /* capacity entries */
	uint32_t *free_stack;          /* free entry indexes */
	uint32_t n_free;
	uint32_t capacity;
	uint32_t bucket_mask;
	uint32_t active;
	uint32_t dirty_head;           /* dirty list: flows changed since the last fold */
	uint32_t sweep_pos;            /* next bucket the idle sweep looks at */
	uint64_t next_uid;
	size_t   mem_bytes;
};

int  weir_flow_table_init(struct weir_flow_table *t, uint32_t capacity, unsigned int worker_id);
void weir_flow_table_free(struct weir_flow_table *t);

uint32_t weir_flow_hash(const struct weir_flow_key *k);

/* Canonicalise (src, sport) / (dst, dport) into k. Returns 0 if src is a
 * (the packet travels a->b), 1 if it travels b->a. */
int weir_flow_key_make(struct weir_flow_key *k, const uint8_t src[16], uint16_t sport,
		       const uint8_t dst[16], uint16_t dport, uint8_t proto, uint16_t vlan);

/* Prefetch the bucket for hash h (call a few packets ahead). */
static inline void
weir_flow_table_prefetch(const struct weir_flow_table *t, uint32_t h)
{
	__builtin_prefetch(&t->buckets[h & t->bucket_mask]);
}

/* Prefetch the entry the first bucket's signatures point at for hash h,
 * if any (call after weir_flow_table_prefetch() has had time to land). */
static inline void
weir_flow_table_prefetch_entry(const struct weir_flow_table *t, uint32_t h)
{
	const struct weir_ft_bucket *b = &t->buckets[h & t->bucket_mask];
	uint32_t sig = (h >> 16) | (h << 16);
	sig = sig ? sig : 1;
	for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++) {
		if (b->sig[s] == sig) {
			__builtin_prefetch(&t->flows[b->idx[s]]);
			return;
		}
	}
}

/* Find the flow for k; NULL if absent. */
struct weir_flow *weir_flow_table_lookup(struct weir_flow_table *t,
					 const struct weir_flow_key *k, uint32_t h);

/* Insert a new zeroed flow for k (caller checked it is absent). NULL if
 * every probed slot is taken or no entry is free: the caller evicts. */
struct weir_flow *weir_flow_table_insert(struct weir_flow_table *t,
					 const struct weir_flow_key *k, uint32_t h);

/* Remove f from the table and return its entry to the free stack. */
void weir_flow_table_remove(struct weir_flow_table *t, struct weir_flow *f);

/* The flows a full insert could have used: every occupied slot of the probed
 * buckets, for the caller to pick a victim. Returns how many were written. */
unsigned int weir_flow_table_candidates(struct weir_flow_table *t, uint32_t h,
					struct weir_flow **out, unsigned int max);

static inline uint32_t
weir_flow_index(const struct weir_flow_table *t, const struct weir_flow *f)
{
	return (uint32_t)(f - t->flows);
}

/* The dirty list links the flows whose counters changed since the worker
 * last folded them into its aggregates; it is doubly linked so that a flow
 * that ends between folds leaves it in O(1). */
static inline void
weir_flow_mark_dirty(struct weir_flow_table *t, struct weir_flow *f)
{
	if (!(f->state & WEIR_FLOWST_DIRTY)) {
		uint32_t i = weir_flow_index(t, f);
		f->state |= WEIR_FLOWST_DIRTY;
		f->dirty_prev = WEIR_FT_NONE;
		f->dirty_next = t->dirty_head;
		if (t->dirty_head != WEIR_FT_NONE)
			t->flows[t->dirty_head].dirty_prev = i;
		t->dirty_head = i;
	}
}

static inline void
weir_flow_unmark_dirty(struct weir_flow_table *t, struct weir_flow *f)
{
	if (!(f->state & WEIR_FLOWST_DIRTY))
		return;
	if (f->dirty_prev != WEIR_FT_NONE)
		t->flows[f->dirty_prev].dirty_next = f->dirty_next;
	else
		t->dirty_head = f->dirty_next;
	if (f->dirty_next != WEIR_FT_NONE)
		t->flows[f->dirty_next].dirty_prev = f->dirty_prev;
	f->state &= (uint8_t)~WEIR_FLOWST_DIRTY;
}

#endif
