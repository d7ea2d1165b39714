/* spsc_ring.h -- a single-producer, single-consumer ring of fixed-size
 * records (flow snapshots) or of records of varying length (nDPI verdicts,
 * packed: most of a verdict's string buffers are empty), for a worker to
 * hand things to the control thread without a lock or a shared written
 * cache line:
 * the head is written only by the producer, the tail only by the consumer,
 * each on its own cache line. A ring the producer writes round and round
 * from the first packets on (flow snapshots, verdicts) is best faulted in
 * at init; one that may never be used, mapped lazily (mem_map.h). */
#ifndef WEIR_SPSC_RING_H
#define WEIR_SPSC_RING_H

#include <stdint.h>
#include <string.h>

#include "mem_map.h"

struct weir_spsc_ring {
	/* the producer's line: head, and the tail as it last read it */
	uint64_t head __attribute__((aligned(64)));
	uint64_t tail_seen;
	uint64_t skip;             /* varying length: bytes the reserved record skips */
	/* the consumer's line: tail, and the head as it last read it */
	uint64_t tail __attribute__((aligned(64)));
	uint64_t head_seen;
	uint64_t cur;              /* varying length: bytes the peeked record takes */
	uint64_t mask __attribute__((aligned(64)));
	size_t   elem;
	uint8_t *slot;
};

/* size is rounded up to a power of two. */
static inline int
weir_spsc_ring_init(struct weir_spsc_ring *r, uint32_t size, size_t elem, enum weir_mem_touch touch)
{
	uint32_t n = 1;
	while (n < size)
		n <<= 1;
	memset(r, 0, sizeof(*r));
	r->slot = weir_mem_map((size_t)n * elem, touch);
	r->mask = n - 1;
	r->elem = elem;
	return r->slot ? 0 : -1;
}

static inline void
weir_spsc_ring_free(struct weir_spsc_ring *r)
{
	if (r->slot)
		weir_mem_unmap(r->slot, (size_t)(r->mask + 1) * r->elem);
	r->slot = NULL;
}

/* Producer: a record to fill, or NULL if full; then weir_spsc_ring_push().
 * The consumer's tail is read only when the copy from the last read says
 * the ring is full: each read of it is a cache miss while the consumer is
 * draining (the line moves between cores), and a fold pushes a million
 * snapshots. */
static inline void *
weir_spsc_ring_reserve(struct weir_spsc_ring *r)
{
	if (r->head - r->tail_seen > r->mask) {
		r->tail_seen = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (r->head - r->tail_seen > r->mask)
			return NULL;
	}
	return r->slot + (r->head & r->mask) * r->elem;
}

static inline void
weir_spsc_ring_push(struct weir_spsc_ring *r)
{
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
}

/* Producer: has the consumer taken every record pushed before head
 * position pos (a value of head the producer kept)? Reads the consumer's
 * tail only when the copy from the last read is behind pos. */
static inline int
weir_spsc_ring_taken(struct weir_spsc_ring *r, uint64_t pos)
{
	if (r->tail_seen < pos)
		r->tail_seen = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	return r->tail_seen >= pos;
}

/* Consumer: the oldest record, or NULL if empty; then weir_spsc_ring_pop().
 * Likewise, the producer's head is read only when the last copy of it is
 * used up. */
static inline const void *
weir_spsc_ring_peek(struct weir_spsc_ring *r)
{
	if (r->tail == r->head_seen) {
		r->head_seen = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		if (r->tail == r->head_seen)
			return NULL;
	}
	return r->slot + (r->tail & r->mask) * r->elem;
}

static inline void
weir_spsc_ring_pop(struct weir_spsc_ring *r)
{
	__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
}

/* Records of varying length, on a ring made with elem 1 (its size in
 * bytes): each is an 8-byte header holding its length, then its bytes,
 * padded to 8. One that would not fit before the end of the buffer goes at
 * its start, behind a header saying so (WEIR_SPSC_SKIP) that the producer
 * pushes with it. A record can be at most half the ring. */
#define WEIR_SPSC_SKIP 0xffffffffu

static inline uint64_t
weir_spsc_var_bytes(uint32_t len)
{
	return 8 + (((uint64_t)len + 7) & ~7ull);
}

/* Producer: room for a record of up to max bytes, or NULL if full; then
 * weir_spsc_ring_push_var() with the length written. */
static inline void *
weir_spsc_ring_reserve_var(struct weir_spsc_ring *r, uint32_t max)
{
	uint64_t size = r->mask + 1, off = r->head & r->mask, need = weir_spsc_var_bytes(max);
	uint64_t skip = need > size - off ? size - off : 0;
	if (need > size / 2)
		return NULL;
	if (r->head + skip + need - r->tail_seen > size) {
		r->tail_seen = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		if (r->head + skip + need - r->tail_seen > size)
			return NULL;
	}
	r->skip = skip;
	if (skip) {
		*(uint32_t *)(r->slot + off) = WEIR_SPSC_SKIP;
		off = 0;
	}
	return r->slot + off + 8;
}

static inline void
weir_spsc_ring_push_var(struct weir_spsc_ring *r, uint32_t len)
{
	*(uint32_t *)(r->slot + ((r->head + r->skip) & r->mask)) = len;
	__atomic_store_n(&r->head, r->head + r->skip + weir_spsc_var_bytes(len), __ATOMIC_RELEASE);
}

/* Consumer: the oldest record and its length, or NULL if empty; then
 * weir_spsc_ring_pop_var(). */
static inline const void *
weir_spsc_ring_peek_var(struct weir_spsc_ring *r, uint32_t *len)
{
	if (r->tail == r->head_seen) {
		r->head_seen = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
		if (r->tail == r->head_seen)
			return NULL;
	}
	uint64_t off = r->tail & r->mask, skip = 0;
	uint32_t n = *(const uint32_t *)(r->slot + off);
	if (n == WEIR_SPSC_SKIP) {	/* pushed with the record after it */
		skip = r->mask + 1 - off;
		off = 0;
		n = *(const uint32_t *)r->slot;
	}
	r->cur = skip + weir_spsc_var_bytes(n);
	*len = n;
	return r->slot + off + 8;
}

static inline void
weir_spsc_ring_pop_var(struct weir_spsc_ring *r)
{
	__atomic_store_n(&r->tail, r->tail + r->cur, __ATOMIC_RELEASE);
}

#endif
