/* flow_table.c -- the per-core flow table.
 *
 * What it owns: a fixed array of struct weir_flow (capacity chosen at start,
 * 128 bytes each), a bucketised hash index over it, and the dirty bitmap.
 * Buckets are one cache line each (10 x 16-bit signature + 10 x 32-bit
 * entry index); a key's home bucket is chosen from its hash's high bits by
 * a multiply (fastrange: any number of buckets), and it is looked up in at
 * most WEIR_FT_PROBE consecutive buckets, comparing signatures first so that
 * only a likely match touches the entry. The index has 1.625 slots per entry
 * (10.4 bytes a flow): enough that an insert rarely finds its probed buckets
 * full before the entries run out.
 *
 * Who writes it: the owning worker, and nobody else reads it. It never
 * allocates after init: a freed entry is linked into a free list through
 * itself, others are handed out in index order, and when none is free (or
 * the probed buckets are full) insert fails and the worker evicts. The
 * entries are mapped lazily (MAP_NORESERVE), so a large table costs only
 * what it holds; the index is faulted in at init (mem_map.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flow_table.h"
#include "mem_map.h"

const char *const weir_flow_end_names[WEIR_FLOW_END__MAX] = {
#define WEIR_FE_NAME(n, s) [WEIR_FLOW_END_##n] = s,
	WEIR_FOREACH_FLOW_END(WEIR_FE_NAME)
#undef WEIR_FE_NAME
};

/* On transparent huge pages, as all of mem_map.h: a 1M-flow table hit
 * at random missed the TLB on nearly every packet with 4 KB pages. The
 * faults of 2 MB pages cost a one-pass file read 4-10% when the worker
 * took them itself; weir_flow_table_prefault() takes them on another
 * thread (docs/benchmarks.md, "Transparent huge pages"). */
static void *
map_lazy(size_t bytes)
{
	return weir_mem_map(bytes, WEIR_MEM_LAZY);
}

static size_t
dirty_bits_bytes(uint32_t capacity)
{
	return ((size_t)capacity + 63) / 64 * 8;
}

static size_t
dirty_words_bytes(uint32_t capacity)
{
	return ((size_t)capacity + 4095) / 4096 * 8;
}

int
weir_flow_table_init(struct weir_flow_table *t, uint32_t capacity, unsigned int worker_id)
{
	memset(t, 0, sizeof(*t));
	if (capacity < 64)
		capacity = 64;
	uint64_t slots = (uint64_t)capacity * 13 / 8;
	uint32_t n_home = (uint32_t)((slots + WEIR_FT_BUCKET_SLOTS - 1) / WEIR_FT_BUCKET_SLOTS);
	uint32_t n_buckets = n_home + WEIR_FT_PROBE - 1;

	/* the index is hit at random from the first packets on: populated
	 * (mem_map.h); entries are handed out in order: lazy */
	t->buckets = weir_mem_map((size_t)n_buckets * sizeof(*t->buckets), WEIR_MEM_POPULATE);
	t->flows = map_lazy((size_t)capacity * sizeof(*t->flows));
	t->dirty_bits = map_lazy(dirty_bits_bytes(capacity));
	t->dirty_words = map_lazy(dirty_words_bytes(capacity));
	t->capacity = capacity;
	t->n_buckets = n_buckets;
	if (!t->buckets || !t->flows || !t->dirty_bits || !t->dirty_words) {
		weir_flow_table_free(t);
		return -ENOMEM;
	}
	t->n_home = n_home;
	t->n_free = capacity;
	t->free_head = WEIR_FT_NONE;
	t->next_uid = (uint64_t)worker_id << 56;
	t->mem_bytes = (size_t)n_buckets * sizeof(*t->buckets) + (size_t)capacity * sizeof(*t->flows) +
		       dirty_bits_bytes(capacity) + dirty_words_bytes(capacity);
	return 0;
}

void
weir_flow_table_free(struct weir_flow_table *t)
{
	weir_mem_unmap(t->buckets, (size_t)t->n_buckets * sizeof(*t->buckets));
	weir_mem_unmap(t->flows, (size_t)t->capacity * sizeof(*t->flows));
	weir_mem_unmap(t->dirty_bits, dirty_bits_bytes(t->capacity));
	weir_mem_unmap(t->dirty_words, dirty_words_bytes(t->capacity));
	memset(t, 0, sizeof(*t));
}

void *
weir_flow_side_alloc(const struct weir_flow_table *t, size_t elem_size)
{
	return map_lazy((size_t)t->capacity * elem_size);
}

void
weir_flow_side_free(const struct weir_flow_table *t, void *side, size_t elem_size)
{
	weir_mem_unmap(side, (size_t)t->capacity * elem_size);
}

/* Elements [from, to) of an array of elem-byte elements: the entries, or
 * a side array. */
void
weir_flow_side_prefault(void *base, size_t elem, uint32_t from, uint32_t to)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t a = ((uintptr_t)base + (size_t)from * elem) & ~(uintptr_t)4095;
	uintptr_t b = (uintptr_t)base + (size_t)to * elem;
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
	(void)base, (void)elem, (void)from, (void)to;
#endif
}

uint32_t
weir_flow_table_prefault(const struct weir_flow_table *t, uint32_t *done)
{
	const uint32_t per_step = WEIR_FT_PREFAULT_STEP / sizeof(struct weir_flow);
	uint32_t used = __atomic_load_n(&t->n_used, __ATOMIC_RELAXED), from = *done;
	uint64_t want = ((uint64_t)used / per_step + 2) * per_step;
	if (want > t->capacity)
		want = t->capacity;
	if (want > from) {
		weir_flow_side_prefault(t->flows, sizeof(struct weir_flow), from, (uint32_t)want);
		*done = (uint32_t)want;
	}
	return from;
}

static inline struct weir_ft_bucket *
home(struct weir_flow_table *t, uint32_t h)
{
	return (struct weir_ft_bucket *)weir_flow_table_home(t, h);
}

/* A free entry: the last freed, else the first never used. */
static uint32_t
entry_get(struct weir_flow_table *t)
{
	uint32_t i = t->free_head;
	if (i != WEIR_FT_NONE)
		t->free_head = t->flows[i].free_next;
	else
		__atomic_store_n(&t->n_used, (i = t->n_used) + 1, __ATOMIC_RELAXED);	/* read by weir_flow_table_prefault */
	t->n_free--;
	return i;
}

struct weir_flow *
weir_flow_table_insert(struct weir_flow_table *t, const struct weir_flow_key *k, uint32_t h)
{
	if (t->n_free == 0)
		return NULL;
	struct weir_ft_bucket *b = home(t, h);
	for (uint32_t p = 0; p < WEIR_FT_PROBE; p++, b++) {
		for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++) {
			if (b->sig[s] != 0)
				continue;
			uint32_t i = entry_get(t);
			struct weir_flow *f = &t->flows[i];
			uint64_t uid = ++t->next_uid;
			memset(f, 0, sizeof(*f));
			f->key = *k;
			f->uid_hi = (uint16_t)(uid >> 32);
			f->uid_lo = (uint32_t)uid;
			b->sig[s] = weir_flow_sig(h);
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
	uint32_t h = weir_flow_hash(&f->key), i = weir_flow_index(t, f);
	uint16_t sig = weir_flow_sig(h);

	weir_flow_unmark_dirty(t, f);
	struct weir_ft_bucket *b = home(t, h);
	for (uint32_t p = 0; p < WEIR_FT_PROBE; p++, b++) {
		for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++) {
			if (b->sig[s] == sig && b->idx[s] == i) {
				b->sig[s] = 0;
				f->state = 0;
				f->free_next = t->free_head;
				t->free_head = i;
				t->n_free++;
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
	struct weir_ft_bucket *b = home(t, h);
	for (uint32_t p = 0; p < WEIR_FT_PROBE && n < max; p++, b++)
		for (int s = 0; s < WEIR_FT_BUCKET_SLOTS && n < max; s++)
			if (b->sig[s] != 0)
				out[n++] = &t->flows[b->idx[s]];
	return n;
}
