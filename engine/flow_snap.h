/* flow_snap.h -- how a worker tells the control thread about its flows.
 *
 * At every fold, and when a flow ends, the owning worker copies the flow's
 * counters into a struct weir_flow_snap and pushes it on its own
 * single-producer/single-consumer ring; the control thread drains every
 * worker's ring into the flow view it publishes. The ring's head and tail
 * live on separate cache lines, each written by one side only.
 *
 * A full ring drops the snapshot and counts it (the flow view then lags; the
 * aggregates, which do not travel here, stay exact). Reading a capture file,
 * the worker waits for room instead, since nothing is lost by waiting. */
#ifndef WEIR_FLOW_SNAP_H
#define WEIR_FLOW_SNAP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/uatomic.h>

#include "weir/flow.h"

struct weir_flow_snap {
	struct weir_flow_key key;
	uint64_t uid;
	uint64_t bytes[2];
	uint64_t pkts[2];
	uint64_t first_ms, last_ms;
	uint8_t  amac[6], bmac[6];
	uint8_t  a_is_init, tcp_flags, end, source;
	uint16_t worker;
	uint16_t app, master;
	uint32_t in_if, out_if;
	uint32_t exporter;         /* worker exporter index + 1, 0 if captured */
	uint8_t  exporter_addr[16];
};

struct weir_snap_ring {
	uint64_t head __attribute__((aligned(64)));  /* producer */
	uint64_t tail __attribute__((aligned(64)));  /* consumer */
	uint64_t mask __attribute__((aligned(64)));
	struct weir_flow_snap *slot;
};

static inline int
weir_snap_ring_init(struct weir_snap_ring *r, uint32_t size_pow2)
{
	memset(r, 0, sizeof(*r));
	r->slot = calloc(size_pow2, sizeof(*r->slot));
	r->mask = size_pow2 - 1;
	return r->slot ? 0 : -1;
}

/* Producer: a slot to fill, or NULL if full. Then weir_snap_ring_push(). */
static inline struct weir_flow_snap *
weir_snap_ring_reserve(struct weir_snap_ring *r)
{
	uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (r->head - tail > r->mask)
		return NULL;
	return &r->slot[r->head & r->mask];
}

static inline void
weir_snap_ring_push(struct weir_snap_ring *r)
{
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
}

/* Consumer: the oldest snapshot, or NULL if empty. Then weir_snap_ring_pop(). */
static inline const struct weir_flow_snap *
weir_snap_ring_peek(struct weir_snap_ring *r)
{
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	if (r->tail == head)
		return NULL;
	return &r->slot[r->tail & r->mask];
}

static inline void
weir_snap_ring_pop(struct weir_snap_ring *r)
{
	__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
}

#endif
