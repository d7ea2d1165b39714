/* test_flow_table.c -- the per-core flow table: canonical bidirectional
 * keys, lookup after insert, full-table behaviour, removal, the dirty list. */
#include <string.h>

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
			CHECK_EQ(f->uid >> 56, 3);	/* worker id in the top byte */
		} else {
			failed++;
			struct weir_flow *cand[32];
			CHECK(weir_flow_table_candidates(&t, h, cand, 32) > 0);
		}
	}
	/* entries run out exactly at capacity (the index has room to spare) */
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
	weir_flow_table_free(&t);
}

static void
test_dirty_list(void)
{
	struct weir_flow_table t;
	CHECK_EQ(weir_flow_table_init(&t, 64, 0), 0);
	uint8_t a[16], b[16];
	v4(b, 1);
	struct weir_flow *f[5];
	for (int i = 0; i < 5; i++) {
		struct weir_flow_key k;
		v4(a, 100 + (uint32_t)i);
		weir_flow_key_make(&k, a, 1, b, 2, 17, 0);
		f[i] = weir_flow_table_insert(&t, &k, weir_flow_hash(&k));
		weir_flow_mark_dirty(&t, f[i]);
		weir_flow_mark_dirty(&t, f[i]);	/* twice: listed once */
	}
	/* removing a dirty flow unlinks it */
	weir_flow_table_remove(&t, f[2]);
	int n = 0;
	for (uint32_t i = t.dirty_head; i != WEIR_FT_NONE; i = t.flows[i].dirty_next) {
		CHECK(&t.flows[i] != f[2]);
		n++;
	}
	CHECK_EQ(n, 4);
	weir_flow_unmark_dirty(&t, f[4]);	/* the head */
	weir_flow_unmark_dirty(&t, f[0]);	/* the tail */
	n = 0;
	for (uint32_t i = t.dirty_head; i != WEIR_FT_NONE; i = t.flows[i].dirty_next)
		n++;
	CHECK_EQ(n, 2);
	weir_flow_table_free(&t);
}

int
main(void)
{
	test_key_symmetry();
	test_fill_and_remove();
	test_dirty_list();
	return CHECK_DONE();
}
