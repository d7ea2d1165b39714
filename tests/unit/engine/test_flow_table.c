/* test_flow_table.c -- the per-core flow table: canonical bidirectional
 * keys, lookup after insert, full-table behaviour, removal and reuse of
 * entries, uids, the dirty set. */
#include <stdlib.h>
#include <string.h>

#include <rte_hash_crc.h>

#include "flow_table.h"
#include "check.h"

static void
test_key_symmetry(void)
{
	uint8_t x[16], y[16];
	struct weir_flow_key k1, k2;
	v4(x, 0x0a000001);
	v4(y, 0x0a000002);
	int d1 = weir_flow_key_make(&k1, x, 1234, y, 80, 6, 10);
	int d2 = weir_flow_key_make(&k2, y, 80, x, 1234, 6, 10);
	CHECK(memcmp(&k1, &k2, sizeof(k1)) == 0);
	CHECK(d1 != d2);
	CHECK_EQ(d1, 0);	/* 10.0.0.1 < 10.0.0.2: the first is a */
	CHECK_EQ(weir_flow_hash(&k1), weir_flow_hash(&k2));
	/* same address both ends: ports decide */
	d1 = weir_flow_key_make(&k1, x, 5000, x, 53, 17, 0);
	d2 = weir_flow_key_make(&k2, x, 53, x, 5000, 17, 0);
	CHECK(memcmp(&k1, &k2, sizeof(k1)) == 0);
	CHECK(d1 != d2);
	/* VLAN and protocol are part of the key */
	weir_flow_key_make(&k1, x, 1, y, 2, 6, 10);
	weir_flow_key_make(&k2, x, 1, y, 2, 6, 20);
	CHECK(memcmp(&k1, &k2, sizeof(k1)) != 0);
	weir_flow_key_make(&k2, x, 1, y, 2, 17, 10);
	CHECK(memcmp(&k1, &k2, sizeof(k1)) != 0);
}

/* The key as the field-by-field definition gives it: a is the address
 * that memcmp puts first (the lower port on a tie), the rest in order. */
static int
key_by_fields(struct weir_flow_key *k, const uint8_t src[16], uint16_t sport,
	      const uint8_t dst[16], uint16_t dport, uint8_t proto, uint16_t vlan)
{
	int c = memcmp(src, dst, 16);
	int rev = c > 0 || (c == 0 && sport > dport);
	memset(k, 0, sizeof(*k));
	memcpy(k->a, rev ? dst : src, 16);
	memcpy(k->b, rev ? src : dst, 16);
	k->pa = rev ? dport : sport;
	k->pb = rev ? sport : dport;
	k->vlan = vlan;
	k->proto = proto;
	return rev;
}

/* weir_flow_key_make_hash builds the key from words in registers and
 * hashes it there: it must give the fields above, and the hash DPDK's
 * rte_hash_crc gives of those 40 bytes. Random addresses that share long
 * prefixes (so both words and every byte decide an order somewhere). */
static void
test_key_words(void)
{
	srandom(7);
	for (int i = 0; i < 20000; i++) {
		uint8_t x[16], y[16];
		for (int j = 0; j < 16; j++)
			x[j] = y[j] = (uint8_t)random();
		int cut = (int)(random() % 17);	/* y differs from x from byte cut on */
		for (int j = cut; j < 16; j++)
			y[j] = (uint8_t)random();
		uint16_t sp = (uint16_t)random(), dp = (uint16_t)(random() % 4 ? random() : sp);
		uint8_t proto = (uint8_t)random();
		uint16_t vlan = (uint16_t)(random() & 0xfff);
		struct weir_flow_key want, got;
		uint32_t h;
		int rw = key_by_fields(&want, x, sp, y, dp, proto, vlan);
		int rg = weir_flow_key_make_hash(&got, x, sp, y, dp, proto, vlan, &h);
		CHECK_EQ(rg, rw);
		CHECK(memcmp(&got, &want, sizeof(got)) == 0);
		CHECK_EQ(h, rte_hash_crc(&want, sizeof(want), 0x5bd1e995));
		CHECK_EQ(weir_flow_hash(&got), h);
	}
}

static void
test_fill_and_remove(void)
{
	struct weir_flow_table t;
	const uint32_t cap = 4096;
	CHECK_EQ(weir_flow_table_init(&t, cap, 3), 0);
	uint8_t a[16], b[16];
	v4(b, 0xc0000201);
	uint32_t inserted = 0, failed = 0;
	for (uint32_t i = 0; i < cap + 100; i++) {
		struct weir_flow_key k;
		v4(a, 0x0a000000 + i);
		weir_flow_key_make(&k, a, (uint16_t)i, b, 443, 6, 0);
		uint32_t h = weir_flow_hash(&k);
		CHECK(weir_flow_table_lookup(&t, &k, h) == NULL);
		struct weir_flow *f = weir_flow_table_insert(&t, &k, h);
		if (f) {
			inserted++;
			f->bytes[0] = i;
			CHECK_EQ(weir_flow_uid(&t, f) >> 56, 3);	/* worker id in the top byte */
			CHECK_EQ(weir_flow_uid(&t, f), (3ull << 56) + i + 1);
		} else {
			failed++;
			struct weir_flow *cand[32];
			CHECK(weir_flow_table_candidates(&t, h, cand, 32) > 0);
		}
	}
	/* entries run out exactly at capacity (the index has room to spare) */
	CHECK_EQ(sizeof(struct weir_flow), 128);
	CHECK_EQ(inserted, cap);
	CHECK_EQ(failed, 100);
	CHECK_EQ(t.active, cap);
	CHECK_EQ(t.n_free, 0);
	for (uint32_t i = 0; i < cap; i++) {
		struct weir_flow_key k;
		v4(a, 0x0a000000 + i);
		weir_flow_key_make(&k, b, 443, a, (uint16_t)i, 6, 0);	/* reverse direction */
		struct weir_flow *f = weir_flow_table_lookup(&t, &k, weir_flow_hash(&k));
		CHECK(f != NULL);
		if (f)
			CHECK_EQ(f->bytes[0], i);
	}
	/* remove every other flow; they are gone, the rest stay */
	for (uint32_t i = 0; i < cap; i += 2) {
		struct weir_flow_key k;
		v4(a, 0x0a000000 + i);
		weir_flow_key_make(&k, a, (uint16_t)i, b, 443, 6, 0);
		struct weir_flow *f = weir_flow_table_lookup(&t, &k, weir_flow_hash(&k));
		if (f)
			weir_flow_table_remove(&t, f);
	}
	CHECK_EQ(t.active, cap / 2);
	CHECK_EQ(t.n_free, cap / 2);
	for (uint32_t i = 0; i < cap; i++) {
		struct weir_flow_key k;
		v4(a, 0x0a000000 + i);
		weir_flow_key_make(&k, a, (uint16_t)i, b, 443, 6, 0);
		struct weir_flow *f = weir_flow_table_lookup(&t, &k, weir_flow_hash(&k));
		CHECK((f != NULL) == (i % 2 == 1));
	}
	/* freed entries are reused, last freed first, and come back zeroed */
	struct weir_flow_key k;
	v4(a, 0x0b000000);
	weir_flow_key_make(&k, a, 1, b, 443, 6, 0);
	struct weir_flow *g = weir_flow_table_insert(&t, &k, weir_flow_hash(&k));
	CHECK(g != NULL);
	if (g) {
		CHECK(weir_flow_index(&t, g) < cap && weir_flow_index(&t, g) % 2 == 0);
		CHECK_EQ(g->bytes[0] | g->new_bytes[0] | g->state | weir_flow_first(g), 0);
		CHECK_EQ(weir_flow_uid(&t, g), (3ull << 56) + cap + 1);
	}
	CHECK_EQ(t.n_free, cap / 2 - 1);
	weir_flow_table_free(&t);
}

/* the signature compare sees every slot, and only matching ones; so does
 * the occupied-slot mask */
static void
test_match(void)
{
	struct weir_ft_bucket b;
	memset(&b, 0, sizeof(b));
	for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++)
		b.sig[s] = (uint16_t)(0x8000 + s);
	b.pad = 0x80038003;	/* not a slot */
	for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++)
		CHECK_EQ(weir_ft_match(&b, (uint16_t)(0x8000 + s)), 1u << s);
	b.sig[9] = b.sig[0] = b.sig[8] = 0x8003;
	CHECK_EQ(weir_ft_match(&b, 0x8003), 1u << 0 | 1u << 3 | 1u << 8 | 1u << 9);
	CHECK_EQ(weir_ft_match(&b, 0x7fff), 0);
	CHECK_EQ(weir_ft_used(&b), 0x3ff);
	b.sig[0] = b.sig[5] = b.sig[9] = 0;	/* empty slots */
	CHECK_EQ(weir_ft_used(&b), 0x3ff & ~(1u << 0 | 1u << 5 | 1u << 9));
}

/* a flow keeps 48 bits of its uid; the rest comes back from the table's */
static void
test_uid_laps(void)
{
	struct weir_flow_table t;
	CHECK_EQ(weir_flow_table_init(&t, 64, 7), 0);
	uint8_t a[16], b[16];
	v4(a, 1);
	v4(b, 2);
	struct weir_flow_key k;
	t.next_uid = (7ull << 56) | ((1ull << 48) - 2);	/* two before a 48-bit lap */
	weir_flow_key_make(&k, a, 1, b, 2, 17, 0);
	struct weir_flow *f = weir_flow_table_insert(&t, &k, weir_flow_hash(&k));
	weir_flow_key_make(&k, a, 3, b, 4, 17, 0);
	struct weir_flow *g = weir_flow_table_insert(&t, &k, weir_flow_hash(&k));
	weir_flow_key_make(&k, a, 5, b, 6, 17, 0);
	struct weir_flow *h = weir_flow_table_insert(&t, &k, weir_flow_hash(&k));
	CHECK(f && g && h);
	if (f && g && h) {
		CHECK_EQ(weir_flow_uid(&t, f), (7ull << 56) | ((1ull << 48) - 1));
		CHECK_EQ(weir_flow_uid(&t, g), (7ull << 56) | (1ull << 48));
		CHECK_EQ(weir_flow_uid(&t, h), (7ull << 56) | ((1ull << 48) + 1));
	}
	weir_flow_table_free(&t);
}

static void
test_dirty_set(void)
{
	struct weir_flow_table t;
	CHECK_EQ(weir_flow_table_init(&t, 10000, 0), 0);
	uint8_t a[16], b[16];
	v4(b, 1);
	struct weir_flow *f[200];
	for (int i = 0; i < 200; i++) {
		struct weir_flow_key k;
		v4(a, 100 + (uint32_t)i);
		weir_flow_key_make(&k, a, 1, b, 2, 17, 0);
		f[i] = weir_flow_table_insert(&t, &k, weir_flow_hash(&k));
	}
	/* across several bitmap words and summary words */
	static const int marked[] = {3, 4, 63, 64, 65, 130, 199};
	for (unsigned int i = 0; i < sizeof(marked) / sizeof(marked[0]); i++) {
		weir_flow_mark_dirty(&t, f[marked[i]]);
		weir_flow_mark_dirty(&t, f[marked[i]]);	/* twice: in the set once */
	}
	/* removing a dirty flow takes it out */
	weir_flow_table_remove(&t, f[64]);
	weir_flow_unmark_dirty(&t, f[199]);
	weir_flow_unmark_dirty(&t, f[5]);	/* not in it: nothing happens */
	uint32_t pos = 0, n = 0;
	struct weir_flow *g;
	static const int want[] = {3, 4, 63, 65, 130};
	while ((g = weir_flow_table_next_dirty(&t, &pos))) {
		CHECK(n < 5 && g == f[want[n]]);
		n++;
		weir_flow_unmark_dirty(&t, g);	/* as a fold does */
	}
	CHECK_EQ(n, 5);
	pos = 0;
	CHECK(weir_flow_table_next_dirty(&t, &pos) == NULL);
	/* entry 4096 on: the second summary word */
	t.n_used = 5000;
	weir_flow_mark_dirty(&t, &t.flows[4999]);
	pos = 0;
	CHECK(weir_flow_table_next_dirty(&t, &pos) == &t.flows[4999]);
	weir_flow_table_free(&t);
}

/* The first n elements of a uint32_t side array of cap are resident, and
 * no more than the 2 MB pages that hold them (it is on THP where it can
 * be). */
static int
side_faulted(uint32_t *side, uint32_t cap, uint32_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), huge = WEIR_FT_PREFAULT_STEP;
	size_t r = resident_pages(side, (size_t)cap * 4);
	return resident_pages(side, (size_t)n * 4) == ((size_t)n * 4 + pg - 1) / pg &&
	       r <= ((size_t)n * 4 + huge - 1) / huge * huge / pg;
}

/* weir_flow_table_prefault: the entries are faulted in through the end of
 * the 2 MB page after the one holding the first unused entry, nothing
 * beyond, and it returns where it started, for weir_flow_side_prefault to
 * fault in the same entries of a side array (the worker's nDPI slots);
 * another side array is left alone. */
static void
test_prefault(void)
{
	struct weir_flow_table t;
	const uint32_t cap = 1u << 20, per = WEIR_FT_PREFAULT_STEP / sizeof(struct weir_flow);	/* 16384 */
	CHECK_EQ(weir_flow_table_init(&t, cap, 0), 0);
	uint32_t *every = weir_flow_side_alloc(&t, sizeof(uint32_t));
	uint64_t *some = weir_flow_side_alloc(&t, sizeof(uint64_t));
	CHECK(every && some);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), flows_b = (size_t)cap * sizeof(struct weir_flow);
	CHECK_EQ(resident_pages(t.flows, flows_b), 0);

	uint32_t done = 0, from = weir_flow_table_prefault(&t, &done);
	weir_flow_side_prefault(every, sizeof(uint32_t), from, done);
	CHECK_EQ(from, 0);
	CHECK_EQ(done, 2 * per);	/* nothing used yet: pages 0 and 1 */
	CHECK_EQ(resident_pages(t.flows, flows_b), 2 * per * sizeof(struct weir_flow) / pg);
	CHECK(side_faulted(every, cap, 2 * per));
	CHECK_EQ(resident_pages(some, (size_t)cap * 8), 0);

	/* the table fills into its third page: one more page ahead */
	uint8_t a[16], b[16];
	struct weir_flow_key k;
	uint32_t h;
	for (uint32_t i = 0; i < 2 * per + 10; i++) {
		v4(a, 0x0a000000 + i);
		v4(b, 0xc0a80001);
		weir_flow_key_make_hash(&k, a, 1000, b, 80, 6, 0, &h);
		if (!weir_flow_table_insert(&t, &k, h))
			break;
	}
	CHECK_EQ(t.n_used, 2 * per + 10);
	from = weir_flow_table_prefault(&t, &done);
	weir_flow_side_prefault(every, sizeof(uint32_t), from, done);
	CHECK_EQ(from, 2 * per);
	CHECK_EQ(done, 4 * per);
	CHECK_EQ(resident_pages(t.flows, flows_b), 4 * per * sizeof(struct weir_flow) / pg);
	CHECK(side_faulted(every, cap, 4 * per));
	CHECK_EQ(resident_pages(some, (size_t)cap * 8), 0);
	CHECK_EQ(weir_flow_table_prefault(&t, &done), 4 * per);	/* nothing new: no change */
	CHECK_EQ(done, 4 * per);

	/* near the end: no further than the table */
	t.n_used = cap - 5;
	weir_flow_table_prefault(&t, &done);
	CHECK_EQ(done, cap);
	CHECK_EQ(resident_pages(t.flows, flows_b), flows_b / pg);
	weir_flow_side_free(&t, every, sizeof(uint32_t));
	weir_flow_side_free(&t, some, sizeof(uint64_t));
	weir_flow_table_free(&t);
}

int
main(void)
{
	test_key_symmetry();
	test_key_words();
	test_fill_and_remove();
	test_match();
	test_uid_laps();
	test_dirty_set();
	test_prefault();
	return CHECK_DONE();
}
