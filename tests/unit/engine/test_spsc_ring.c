/* test_spsc_ring.c -- the worker-to-control ring under two threads: every
 * record arrives once, in order, with its contents, through a ring small
 * enough to be full and empty millions of times (the producer and the
 * consumer each read the other's index only when their own copy of it runs
 * out; a stale copy must never let one overrun the other). */
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

static struct weir_spsc_ring ring;
static uint64_t full_seen;

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
	while (weir_spsc_ring_peek(&ring))
		weir_spsc_ring_pop(&ring);

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
	return CHECK_DONE();
}
