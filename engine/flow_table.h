/* flow_table.h -- the per-core flow table's interface.
 *
 * Concurrency: every function here is called by the owning worker only. No
 * other thread reads the table; the control thread learns about flows from
 * the snapshots the worker sends it (see flow_snap.h). */
#ifndef WEIR_FLOW_TABLE_H
#define WEIR_FLOW_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef __SSE4_2__
#include <nmmintrin.h>
#else
#include <rte_hash_crc.h>
#endif
#include <rte_branch_prediction.h>
#include <rte_prefetch.h>
#include "weir/flow.h"

#define WEIR_FT_BUCKET_SLOTS 10
#define WEIR_FT_PROBE        4     /* buckets probed before "full" */
#define WEIR_FT_NONE         UINT32_MAX
#define WEIR_FT_UID_LO       ((1ull << 48) - 1)   /* the uid bits a flow keeps */
#define WEIR_FT_PREFAULT_STEP (2u << 20)          /* a huge page: weir_flow_table_prefault's unit */

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

/* Fault in the entries the table will hand out next: through the end of
 * the 2 MB page after the one that holds the first entry never used. For
 * a thread other than the owner (the control thread, every few
 * milliseconds): the entries are lazy and on transparent huge pages
 * (mem_map.h), and a worker that faulted them in itself stalled on
 * zeroing (and sometimes compacting memory for) 2 MB at a time, mid-burst.
 * *done (0 at first, the caller's) counts the entries faulted in so far;
 * returns its value before the call, so that the caller can fault in the
 * same entries [returned, *done) of a side array every flow touches
 * (weir_flow_side_prefault). Without MADV_POPULATE_WRITE (Linux 5.14) it
 * only moves *done: the worker faults the pages in itself. */
uint32_t weir_flow_table_prefault(const struct weir_flow_table *t, uint32_t *done);
void     weir_flow_side_prefault(void *side, size_t elem_size, uint32_t from, uint32_t to);

/* The hash, key and lookup below run for every packet, so they are
 * inline: out of line they were three calls, a memcmp and a branch on
 * DPDK's CRC flavour per packet (docs/benchmarks.md, "The hot path
 * inline"). */

static inline uint64_t
weir_flow_key_word(const struct weir_flow_key *k, int i)
{
	uint64_t v;
	memcpy(&v, (const uint8_t *)k + 8 * i, 8);	/* one load, not a copy through the stack */
	return v;
}

/* CRC32C of the 40-byte key, seed 0x5bd1e995: five dependent crc32
 * instructions (SSE4.2, which the build's -march has), cheaper than a
 * multiply chain and well spread in both halves; the same value as
 * rte_hash_crc(k, 40, seed), which is what runs without SSE4.2. */
static inline uint32_t
weir_flow_hash5(uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3, uint64_t w4)
{
#ifdef __SSE4_2__
	uint64_t c = 0x5bd1e995;
	c = _mm_crc32_u64(c, w0);
	c = _mm_crc32_u64(c, w1);
	c = _mm_crc32_u64(c, w2);
	c = _mm_crc32_u64(c, w3);
	return (uint32_t)_mm_crc32_u64(c, w4);
#else
	uint64_t w[5] = {w0, w1, w2, w3, w4};
	return rte_hash_crc(w, sizeof(w), 0x5bd1e995);
#endif
}

static inline uint32_t
weir_flow_hash(const struct weir_flow_key *k)
{
	return weir_flow_hash5(weir_flow_key_word(k, 0), weir_flow_key_word(k, 1),
			       weir_flow_key_word(k, 2), weir_flow_key_word(k, 3),
			       weir_flow_key_word(k, 4));
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "weir_flow_key_make_hash() lays out the key's last word for a little-endian CPU"
#endif

/* Canonicalise (src, sport) / (dst, dport) into k -- a is the lower
 * address (as bytes, memcmp order), the lower port on a tie -- and return
 * weir_flow_hash(k) in *h. Returns 0 if src is a (the packet travels
 * a->b), 1 if it travels b->a.
 *
 * The key is written as five 8-byte words and hashed from the registers
 * that hold them: hashing it back from memory made every packet wait for
 * a store to forward into a load of another size (the ports, VLAN and
 * protocol were four small stores read back as one word). */
static inline int
weir_flow_key_make_hash(struct weir_flow_key *k, const uint8_t src[16], uint16_t sport,
			const uint8_t dst[16], uint16_t dport, uint8_t proto, uint16_t vlan,
			uint32_t *h)
{
	uint64_t s0, s1, d0, d1;
	memcpy(&s0, src, 8);
	memcpy(&s1, src + 8, 8);
	memcpy(&d0, dst, 8);
	memcpy(&d1, dst + 8, 8);
	uint64_t bs0 = __builtin_bswap64(s0), bd0 = __builtin_bswap64(d0);
	uint64_t bs1 = __builtin_bswap64(s1), bd1 = __builtin_bswap64(d1);
	int rev = bs0 != bd0 ? bs0 > bd0 : bs1 != bd1 ? bs1 > bd1 : sport > dport;

	/* scalars, not an array: GCC put an array through the stack and read
	 * it back as 16-byte vectors, the same stall again */
	uint64_t a0 = rev ? d0 : s0, a1 = rev ? d1 : s1;
	uint64_t b0 = rev ? s0 : d0, b1 = rev ? s1 : d1;
	/* pa, pb, vlan, proto, pad = 0 at bytes 32..39 */
	uint64_t t = (uint64_t)(rev ? dport : sport) | (uint64_t)(rev ? sport : dport) << 16 |
		     (uint64_t)vlan << 32 | (uint64_t)proto << 48;
	uint8_t *o = (uint8_t *)k;
	memcpy(o, &a0, 8);
	memcpy(o + 8, &a1, 8);
	memcpy(o + 16, &b0, 8);
	memcpy(o + 24, &b1, 8);
	memcpy(o + 32, &t, 8);
	*h = weir_flow_hash5(a0, a1, b0, b1, t);
	return rev;
}

static inline int
weir_flow_key_make(struct weir_flow_key *k, const uint8_t src[16], uint16_t sport,
		   const uint8_t dst[16], uint16_t dport, uint8_t proto, uint16_t vlan)
{
	uint32_t h;
	return weir_flow_key_make_hash(k, src, sport, dst, dport, proto, vlan, &h);
}

static inline int
weir_flow_key_eq(const struct weir_flow_key *x, const struct weir_flow_key *y)
{
	/* five word compares, no call */
	return !((weir_flow_key_word(x, 0) ^ weir_flow_key_word(y, 0)) |
		 (weir_flow_key_word(x, 1) ^ weir_flow_key_word(y, 1)) |
		 (weir_flow_key_word(x, 2) ^ weir_flow_key_word(y, 2)) |
		 (weir_flow_key_word(x, 3) ^ weir_flow_key_word(y, 3)) |
		 (weir_flow_key_word(x, 4) ^ weir_flow_key_word(y, 4)));
}

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

/* Find the flow for k (hash h); NULL if absent. */
static inline struct weir_flow *
weir_flow_table_lookup(struct weir_flow_table *t, const struct weir_flow_key *k, uint32_t h)
{
	uint16_t sig = weir_flow_sig(h);
	const struct weir_ft_bucket *b = weir_flow_table_home(t, h);
	for (uint32_t p = 0; p < WEIR_FT_PROBE; p++, b++) {
		for (unsigned int m = weir_ft_match(b, sig); m; m &= m - 1) {
			struct weir_flow *f = &t->flows[b->idx[__builtin_ctz(m)]];
			if (likely(weir_flow_key_eq(&f->key, k)))
				return f;
		}
	}
	return NULL;
}

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
