/* flow_table.c -- the per-core flow table.
 *
 * What it owns: a fixed array of struct weir_flow (capacity chosen at start)
 * and a bucketised hash index over it. Buckets are one cache line each
 * (8 x 32-bit signature + 8 x 32-bit entry index); a key is looked up in at
 * most WEIR_FT_PROBE consecutive buckets, comparing signatures first so that
 * only a likely match touches the entry. The index has twice as many slots
 * as there are entries, so probing rarely runs out before the entries do.
 *
 * Who writes it: the owning worker, and nobody else reads it. It never
 * allocates after init: entries come from a free stack, and when none is
 * free (or the probed buckets are full) insert fails and the worker evicts.
 * Memory is mapped lazily (MAP_NORESERVE), and entries are handed out in
 * index order, so a large table costs only what it holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_hash_crc.h>

#include "flow_table.h"

const char *const weir_flow_end_names[WEIR_FLOW_END__MAX] = {
#define WEIR_FE_NAME(n, s) [WEIR_FLOW_END_##n] = s,
	WEIR_FOREACH_FLOW_END(WEIR_FE_NAME)
#undef WEIR_FE_NAME
};

static void *
map_lazy(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static uint32_t
next_pow2(uint32_t v)
{
	uint32_t p = 1;
	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

int
weir_flow_table_init(struct weir_flow_table *t, uint32_t capacity, unsigned int worker_id)
{
	memset(t, 0, sizeof(*t));
	if (capacity < 64)
		capacity = 64;
	uint32_t n_buckets = next_pow2((capacity * 2 + WEIR_FT_BUCKET_SLOTS - 1) / WEIR_FT_BUCKET_SLOTS);

	t->buckets = map_lazy((size_t)n_buckets * sizeof(*t->buckets));
	t->flows = map_lazy((size_t)capacity * sizeof(*t->flows));
	t->free_stack = map_lazy((size_t)capacity * sizeof(uint32_t));
	if (!t->buckets || !t->flows || !t->free_stack) {
		weir_flow_table_free(t);
		return -ENOMEM;
	}
	t->capacity = capacity;
	t->bucket_mask = n_buckets - 1;
	/* pop order 0, 1, 2...: untouched entries stay unmapped */
	for (uint32_t i = 0; i < capacity; i++)
		t->free_stack[i] = capacity - 1 - i;
	t->n_free = capacity;
	t->dirty_head = WEIR_FT_NONE;
	t->next_uid = (uint64_t)worker_id << 56;
	t->mem_bytes = (size_t)n_buckets * sizeof(*t->buckets) +
		       (size_t)capacity * (sizeof(*t->flows) + sizeof(uint32_t));
	return 0;
}

void
weir_flow_table_free(struct weir_flow_table *t)
{
	if (t->buckets)
		munmap(t->buckets, (size_t)(t->bucket_mask + 1) * sizeof(*t->buckets));
	if (t->flows)
		munmap(t->flows, (size_t)t->capacity * sizeof(*t->flows));
	if (t->free_stack)
		munmap(t->free_stack, (size_t)t->capacity * sizeof(uint32_t));
	memset(t, 0, sizeof(*t));
}

/* CRC32C of the 40-byte key (SSE4.2 crc32 instructions where the CPU has
 * them; DPDK falls back to a table otherwise): five dependent steps,
 * cheaper than a multiply chain and well spread in both halves. */
uint32_t
weir_flow_hash(const struct weir_flow_key *k)
{
	return rte_hash_crc(k, sizeof(*k), 0x5bd1e995);
}

static inline uint32_t
sig_of(uint32_t h)
{
	uint32_t s = (h >> 16) | (h << 16);
	return s ? s : 1;
}

int
weir_flow_key_make(struct weir_flow_key *k, const uint8_t src[16], uint16_t sport,
		   const uint8_t dst[16], uint16_t dport, uint8_t proto, uint16_t vlan)
{
	int c = memcmp(src, dst, 16);
	int rev = c > 0 || (c == 0 && sport > dport);

	if (!rev) {
		memcpy(k->a, src, 16);
		memcpy(k->b, dst, 16);
		k->pa = sport;
		k->pb = dport;
	} else {
		memcpy(k->a, dst, 16);
		memcpy(k->b, src, 16);
		k->pa = dport;
		k->pb = sport;
	}
	k->vlan = vlan;
	k->proto = proto;
	k->pad = 0;
	return rev;
}

static inline int
key_eq(const struct weir_flow_key *x, const struct weir_flow_key *y)
{
	/* five word compares, no call: this runs for every packet */
	uint64_t a[5], b[5];
	memcpy(a, x, sizeof(a));
	memcpy(b, y, sizeof(b));
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]));
}

struct weir_flow *
weir_flow_table_lookup(struct weir_flow_table *t, const struct weir_flow_key *k, uint32_t h)
{
	uint32_t sig = sig_of(h);
	for (uint32_t p = 0; p < WEIR_FT_PROBE; p++) {
		struct weir_ft_bucket *b = &t->buckets[(h + p) & t->bucket_mask];
		for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++) {
			if (b->sig[s] == sig) {
				struct weir_flow *f = &t->flows[b->idx[s]];
				if (key_eq(&f->key, k))
					return f;
			}
		}
	}
	return NULL;
}

struct weir_flow *
weir_flow_table_insert(struct weir_flow_table *t, const struct weir_flow_key *k, uint32_t h)
{
	if (t->n_free == 0)
		return NULL;
	uint32_t sig = sig_of(h);
	for (uint32_t p = 0; p < WEIR_FT_PROBE; p++) {
		struct weir_ft_bucket *b = &t->buckets[(h + p) & t->bucket_mask];
		for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++) {
			if (b->sig[s] != 0)
				continue;
			uint32_t i = t->free_stack[--t->n_free];
			struct weir_flow *f = &t->flows[i];
			memset(f, 0, sizeof(*f));
			f->key = *k;
			f->uid = ++t->next_uid;
			f->dpi_slot = -1;
			f->dirty_next = f->dirty_prev = WEIR_FT_NONE;
			b->sig[s] = sig;
			b->idx[s] = i;
			t->active++;
			return f;
		}
	}
	return NULL;
}

void
weir_flow_table_remove(struct weir_flow_table *t, struct weir_flow *f)
{
	uint32_t h = weir_flow_hash(&f->key);
	uint32_t sig = sig_of(h), i = weir_flow_index(t, f);

	weir_flow_unmark_dirty(t, f);
	for (uint32_t p = 0; p < WEIR_FT_PROBE; p++) {
		struct weir_ft_bucket *b = &t->buckets[(h + p) & t->bucket_mask];
		for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++) {
			if (b->sig[s] == sig && b->idx[s] == i) {
				b->sig[s] = 0;
				t->free_stack[t->n_free++] = i;
				t->active--;
				return;
			}
		}
	}
	abort();	/* an entry not in the index: the table is corrupt */
}

unsigned int
weir_flow_table_candidates(struct weir_flow_table *t, uint32_t h,
			   struct weir_flow **out, unsigned int max)
{
	unsigned int n = 0;
	for (uint32_t p = 0; p < WEIR_FT_PROBE && n < max; p++) {
		struct weir_ft_bucket *b = &t->buckets[(h + p) & t->bucket_mask];
		for (int s = 0; s < WEIR_FT_BUCKET_SLOTS && n < max; s++)
			if (b->sig[s] != 0)
				out[n++] = &t->flows[b->idx[s]];
	}
	return n;
}
