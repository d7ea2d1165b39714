/* test_spsc_ring.c -- the worker-to-control ring under two threads: every
 * record arrives once, in order, with its contents, through a ring small
 * enough to be full and empty millions of times (the producer and the
 * consumer each read the other's index only when their own copy of it runs
 * out; a stale copy must never let one overrun the other). The same for
 * records of varying length (the verdict ring), whose ring also wraps a
 * record that does not fit before its end round to its start. And the
 * producer's question whether everything up to a point has been taken. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "spsc_ring.h"
#include "check.h"

#define N_RECORDS 2000000u

struct rec {
	uint64_t seq;
	uint64_t check;            /* seq * a constant: a torn or stale slot shows */
};

static struct weir_spsc_ring ring, vring;
static uint64_t full_seen, vfull_seen;

/* Varying length: record i has len_of(i) bytes, byte k of it (i + k) * 31. */
#define N_VAR 1000000u
#define VAR_MAX 200u
static uint32_t
len_of(uint64_t i)
{
	return (uint32_t)((i * 0x9e3779b97f4a7c15ull) >> 56) % (VAR_MAX + 1);
}

static void *
var_producer(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < N_VAR; i++) {
		uint8_t *p;
		while (!(p = weir_spsc_ring_reserve_var(&vring, VAR_MAX))) {
			vfull_seen++;
			sched_yield();
		}
		uint32_t n = len_of(i);
		for (uint32_t k = 0; k < n; k++)
			p[k] = (uint8_t)((i + k) * 31);
		weir_spsc_ring_push_var(&vring, n);
	}
	return NULL;
}

/* A 64-byte ring by hand: three 16-byte records (8 of header, 8 of
 * data), then two taken; the next one of 16 bytes needs 24 and only 16 are
 * left before the end, so it goes at the start behind a skip header (and
 * needs room for both), and the consumer finds it there. */
static void
var_by_hand(void)
{
	struct weir_spsc_ring r;
	CHECK_EQ(weir_spsc_ring_init(&r, 64, 1, WEIR_MEM_POPULATE), 0);
	uint32_t len;
	CHECK(weir_spsc_ring_peek_var(&r, &len) == NULL);
	CHECK(weir_spsc_ring_reserve_var(&r, 25) == NULL);	/* 8 + 32 > half the ring */
	for (int i = 0; i < 3; i++) {
		uint8_t *p = weir_spsc_ring_reserve_var(&r, 8);
		CHECK(p == r.slot + 16 * i + 8);
		if (p)
			memset(p, 'a' + i, 8);
		weir_spsc_ring_push_var(&r, 8);
	}
	CHECK_EQ(r.head, 48);
	for (int i = 0; i < 2; i++) {
		const uint8_t *p = weir_spsc_ring_peek_var(&r, &len);
		CHECK(p && len == 8 && p[0] == 'a' + i && p[7] == 'a' + i);
		weir_spsc_ring_pop_var(&r);
		/* one taken, 32 free: 24 would fit, but not behind a skip of 16 */
		if (i == 0)
			CHECK(weir_spsc_ring_reserve_var(&r, 16) == NULL);
	}
	uint8_t *p = weir_spsc_ring_reserve_var(&r, 16);
	CHECK(p == r.slot + 8);
	if (p)
		memcpy(p, "0123456789abcdef", 16);
	weir_spsc_ring_push_var(&r, 13);	/* fewer than reserved */
	CHECK_EQ(r.head, 48 + 16 + 24);
	const uint8_t *q = weir_spsc_ring_peek_var(&r, &len);
	CHECK(q && len == 8 && q[0] == 'c');
	weir_spsc_ring_pop_var(&r);
	q = weir_spsc_ring_peek_var(&r, &len);
	CHECK(q == r.slot + 8 && len == 13 && q && !memcmp(q, "0123456789abc", 13));
	weir_spsc_ring_pop_var(&r);
	CHECK_EQ(r.tail, r.head);
	CHECK(weir_spsc_ring_peek_var(&r, &len) == NULL);
	weir_spsc_ring_free(&r);
}

/* Two threads through a 1 KiB ring: at most 208 bytes a record, so 4 to
 * 100 fit and a record straddles the end every few. */
static void
var_threads(void)
{
	CHECK_EQ(weir_spsc_ring_init(&vring, 1024, 1, WEIR_MEM_POPULATE), 0);
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, var_producer, NULL), 0);
	uint64_t next = 0, bad = 0, empty_seen = 0;
	while (next < N_VAR) {
		uint32_t len;
		const uint8_t *p = weir_spsc_ring_peek_var(&vring, &len);
		if (!p) {
			empty_seen++;
			sched_yield();
			continue;
		}
		int ok = len == len_of(next) && p >= vring.slot && p + len <= vring.slot + 1024;
		for (uint32_t k = 0; ok && k < len; k++)
			ok = p[k] == (uint8_t)((next + k) * 31);
		bad += !ok;
		next++;
		weir_spsc_ring_pop_var(&vring);
	}
	pthread_join(t, NULL);
	CHECK_EQ(bad, 0);
	CHECK_EQ(vring.tail, vring.head);
	printf("%u records of 0-%u bytes through a 1 KiB ring: producer found it full %llu times, consumer empty %llu\n",
	       N_VAR, VAR_MAX, (unsigned long long)vfull_seen, (unsigned long long)empty_seen);
	weir_spsc_ring_free(&vring);
}

static void *
producer(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < N_RECORDS; i++) {
		struct rec *r;
		while (!(r = weir_spsc_ring_reserve(&ring))) {
			full_seen++;
			sched_yield();
		}
		r->seq = i;
		r->check = i * 0x9e3779b97f4a7c15ull;
		weir_spsc_ring_push(&ring);
	}
	return NULL;
}

int
main(void)
{
	CHECK_EQ(weir_spsc_ring_init(&ring, 8, sizeof(struct rec), WEIR_MEM_POPULATE), 0);
	CHECK_EQ(ring.mask, 7);
	/* empty, then full at 8, then one free after a pop */
	CHECK(weir_spsc_ring_peek(&ring) == NULL);
	for (int i = 0; i < 8; i++) {
		struct rec *r = weir_spsc_ring_reserve(&ring);
		CHECK(r != NULL);
		if (r)
			r->seq = (uint64_t)i;
		weir_spsc_ring_push(&ring);
	}
	CHECK(weir_spsc_ring_reserve(&ring) == NULL);
	const struct rec *first = weir_spsc_ring_peek(&ring);
	CHECK(first && first->seq == 0);
	weir_spsc_ring_pop(&ring);
	CHECK(weir_spsc_ring_reserve(&ring) != NULL);
	/* taken: has the consumer gone past a head the producer kept (a
	 * worker's last fold)? 7 records are left of the 8 pushed */
	uint64_t fold_end = ring.head;
	CHECK(!weir_spsc_ring_taken(&ring, fold_end));
	for (int i = 0; i < 6; i++)
		weir_spsc_ring_pop(&ring);
	CHECK(!weir_spsc_ring_taken(&ring, fold_end));	/* one left */
	CHECK(weir_spsc_ring_taken(&ring, fold_end - 1));
	weir_spsc_ring_pop(&ring);
	CHECK(weir_spsc_ring_taken(&ring, fold_end));
	CHECK(weir_spsc_ring_peek(&ring) == NULL);

	uint64_t base = ring.head;	/* the records below continue from here */
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, producer, NULL), 0);
	uint64_t next = 0, bad = 0, empty_seen = 0;
	while (next < N_RECORDS) {
		const struct rec *r = weir_spsc_ring_peek(&ring);
		if (!r) {
			empty_seen++;
			sched_yield();
			continue;
		}
		if (r->seq != next || r->check != next * 0x9e3779b97f4a7c15ull)
			bad++;
		next++;
		weir_spsc_ring_pop(&ring);
	}
	pthread_join(t, NULL);
	CHECK_EQ(bad, 0);
	CHECK(weir_spsc_ring_peek(&ring) == NULL);
	CHECK_EQ(ring.head - base, N_RECORDS);
	CHECK_EQ(ring.tail, ring.head);
	printf("%u records through an 8-slot ring: producer found it full %llu times, consumer empty %llu\n",
	       N_RECORDS, (unsigned long long)full_seen, (unsigned long long)empty_seen);
	weir_spsc_ring_free(&ring);
	var_by_hand();
	var_threads();
	return CHECK_DONE();
}
