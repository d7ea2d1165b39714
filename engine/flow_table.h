/* flow_table.h -- the per-core flow table's interface.
 *
 * Concurrency: every function here is called by the owning worker only. No
 * other thread reads the table; the control thread learns about flows from
 * the snapshots the worker sends it (see flow_snap.h). */
#ifndef WEIR_FLOW_TABLE_H
#define WEIR_FLOW_TABLE_H

#include <stddef.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <rte_prefetch.h>
#include "weir/flow.h"

#define WEIR_FT_BUCKET_SLOTS 10
#define WEIR_FT_PROBE        4     /* buckets probed before "full" */
#define WEIR_FT_NONE         UINT32_MAX
#define WEIR_FT_UID_LO       ((1ull << 48) - 1)   /* the uid bits a flow keeps */

/* One bucket is one cache line: 10 signatures (16 bits of the hash the
 * bucket number does not use) and 10 entry indexes. A zero signature is an
 * empty slot (signatures are forced non-zero). */
struct weir_ft_bucket {
	uint16_t sig[WEIR_FT_BUCKET_SLOTS];   /* first: weir_ft_match() loads 16 bytes at sig[2] */
	uint32_t idx[WEIR_FT_BUCKET_SLOTS];
	uint32_t pad;
} __attribute__((aligned(64)));
static_assert(sizeof(struct weir_ft_bucket) == 64, "a bucket is one cache line");

struct weir_flow_table {
	struct weir_ft_bucket *buckets;  /* n_buckets, the last WEIR_FT_PROBE - 1 only probed into */
	struct weir_flow *flows;         /* capacity entries */
	uint64_t *dirty_bits;            /* bit i: flow i changed since the last fold */
	uint64_t *dirty_words;           /* bit w: dirty_bits[w] is not zero */
	uint32_t n_buckets;
	uint32_t n_home;                 /* buckets a hash maps to (fastrange) */
	uint32_t capacity;
	uint32_t n_free;
	uint32_t free_head;              /* freed entries, linked through free_next */
	uint32_t n_used;                 /* entries [n_used, capacity) were never used */
	uint32_t active;
	uint32_t sweep_pos;              /* next bucket the idle sweep looks at */
	uint64_t next_uid;               /* the last uid given */
	size_t   mem_bytes;
};

int  weir_flow_table_init(struct weir_flow_table *t, uint32_t capacity, unsigned int worker_id);
void weir_flow_table_free(struct weir_flow_table *t);

/* An array of capacity elements of elem_size bytes indexed like the flows,
 * for what only some flows need: mapped lazily, so it costs what is
 * touched. NULL if it cannot be mapped. Free with weir_flow_side_free(). */
void *weir_flow_side_alloc(const struct weir_flow_table *t, size_t elem_size);
void  weir_flow_side_free(const struct weir_flow_table *t, void *side, size_t elem_size);

uint32_t weir_flow_hash(const struct weir_flow_key *k);

/* Canonicalise (src, sport) / (dst, dport) into k. Returns 0 if src is a
 * (the packet travels a->b), 1 if it travels b->a. */
int weir_flow_key_make(struct weir_flow_key *k, const uint8_t src[16], uint16_t sport,
		       const uint8_t dst[16], uint16_t dport, uint8_t proto, uint16_t vlan);

/* The home bucket of hash h: its high bits, scaled to n_home (no modulo). */
static inline const struct weir_ft_bucket *
weir_flow_table_home(const struct weir_flow_table *t, uint32_t h)
{
	return &t->buckets[((uint64_t)h * t->n_home) >> 32];
}

/* Its signature: the low 16 bits, never 0. */
static inline uint16_t
weir_flow_sig(uint32_t h)
{
	uint16_t s = (uint16_t)h;
	return s ? s : 1;
}

/* The slots of bucket b whose signature is sig, as a bit mask. */
static inline unsigned int
weir_ft_match(const struct weir_ft_bucket *b, uint16_t sig)
{
#ifdef __SSE2__
	/* slots 0-7 and 2-9 in two compares, packed to one byte each */
	__m128i v = _mm_set1_epi16((short)sig);
	__m128i c0 = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)&b->sig[0]), v);
	__m128i c1 = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)&b->sig[2]), v);
	unsigned int m = (unsigned int)_mm_movemask_epi8(_mm_packs_epi16(c0, c1));
	return (m & 0xff) | ((m >> 6) & 0x300);
#else
	unsigned int m = 0;
	for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++)
		m |= (unsigned int)(b->sig[s] == sig) << s;
	return m;
#endif
}

/* The occupied slots of bucket b, as a bit mask. */
static inline unsigned int
weir_ft_used(const struct weir_ft_bucket *b)
{
	return ~weir_ft_match(b, 0) & ((1u << WEIR_FT_BUCKET_SLOTS) - 1);
}

/* Prefetch the bucket for hash h (call a few packets ahead). rte_prefetch0,
 * an asm volatile, not __builtin_prefetch: GCC deletes a loop whose only
 * effect is __builtin_prefetch, and a loop of the entry prefetch below
 * compiled to nothing that way. */
static inline void
weir_flow_table_prefetch(const struct weir_flow_table *t, uint32_t h)
{
	rte_prefetch0(weir_flow_table_home(t, h));
}

/* Prefetch line 0 of the entry the home bucket's signatures point at for
 * hash h, if any (call after weir_flow_table_prefetch() has had time to
 * land): all a packet touches. */
static inline void
weir_flow_table_prefetch_entry(const struct weir_flow_table *t, uint32_t h)
{
	const struct weir_ft_bucket *b = weir_flow_table_home(t, h);
	unsigned int m = weir_ft_match(b, weir_flow_sig(h));
	if (m)
		rte_prefetch0(&t->flows[b->idx[__builtin_ctz(m)]]);
}

/* Find the flow for k; NULL if absent. */
struct weir_flow *weir_flow_table_lookup(struct weir_flow_table *t,
					 const struct weir_flow_key *k, uint32_t h);

/* Insert a new zeroed flow for k (caller checked it is absent). NULL if
 * every probed slot is taken or no entry is free: the caller evicts. */
struct weir_flow *weir_flow_table_insert(struct weir_flow_table *t,
					 const struct weir_flow_key *k, uint32_t h);

/* Remove f from the table (and from the dirty set) and free its entry. */
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

/* The flow's uid (worker << 56 | sequence, unique for the engine's life):
 * it keeps the low 48 bits, the rest is the table's newest uid's, one
 * lap back if that would be newer than the table's newest (a flow lives
 * for fewer than 2^48 inserts). */
static inline uint64_t
weir_flow_uid(const struct weir_flow_table *t, const struct weir_flow *f)
{
	uint64_t lo = (uint64_t)f->uid_hi << 32 | f->uid_lo;
	uint64_t uid = (t->next_uid & ~WEIR_FT_UID_LO) | lo;
	return uid <= t->next_uid ? uid : uid - (WEIR_FT_UID_LO + 1);
}

/* The dirty set: the flows whose counters changed since the worker last
 * folded them into its aggregates, as a bitmap over the entries (1 bit a
 * flow) with one summary bit a word, so a flow leaves it in O(1) when it
 * ends and a fold visits the dirty flows in entry order. */
static inline void
weir_flow_mark_dirty(struct weir_flow_table *t, struct weir_flow *f)
{
	if (!(f->state & WEIR_FLOWST_DIRTY)) {
		uint32_t i = weir_flow_index(t, f), w = i >> 6;
		f->state |= WEIR_FLOWST_DIRTY;
		t->dirty_bits[w] |= 1ull << (i & 63);
		t->dirty_words[w >> 6] |= 1ull << (w & 63);
	}
}

static inline void
weir_flow_unmark_dirty(struct weir_flow_table *t, struct weir_flow *f)
{
	if (!(f->state & WEIR_FLOWST_DIRTY))
		return;
	uint32_t i = weir_flow_index(t, f), w = i >> 6;
	f->state &= (uint8_t)~WEIR_FLOWST_DIRTY;
	t->dirty_bits[w] &= ~(1ull << (i & 63));
	if (!t->dirty_bits[w])
		t->dirty_words[w >> 6] &= ~(1ull << (w & 63));
}

/* The dirty flow of lowest index, NULL if none. *pos (0 at first) keeps a
 * walk that unmarks each flow it gets linear. */
static inline struct weir_flow *
weir_flow_table_next_dirty(const struct weir_flow_table *t, uint32_t *pos)
{
	uint32_t n = (t->capacity + 4095) >> 12;
	for (uint32_t s = *pos; s < n; s++) {
		if (t->dirty_words[s]) {
			uint32_t w = s << 6 | (uint32_t)__builtin_ctzll(t->dirty_words[s]);
			*pos = s;
			return &t->flows[w << 6 | (uint32_t)__builtin_ctzll(t->dirty_bits[w])];
		}
	}
	*pos = n;
	return NULL;
}

#endif
