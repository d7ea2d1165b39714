/* set_batch.c -- a cycle's index-set updates grouped by set (set_batch.h). */
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "weir/redis.h"
#include "flow_id.h"
#include "set_batch.h"

#define SET_BATCH_MAX 1024

struct group {
	UT_hash_handle hh;
	uint64_t *uid;             /* grows to SET_BATCH_MAX */
	unsigned int n, cap;
	int used;                  /* had members this cycle */
	char key[];
};

struct weir_set_batch {
	const char *op;
	struct group *all;
};

struct weir_set_batch *
weir_set_batch_new(const char *op)
{
	struct weir_set_batch *b = calloc(1, sizeof(*b));
	if (b)
		b->op = op;
	return b;
}

void
weir_set_batch_free(struct weir_set_batch *b)
{
	if (!b)
		return;
	struct group *g, *t;
	HASH_ITER(hh, b->all, g, t) {
		HASH_DEL(b->all, g);
		free(g->uid);
		free(g);
	}
	free(b);
}

static void
send_ids(struct weir_set_batch *b, struct weir_redis *r, const char *key, const uint64_t *uid,
	 unsigned int n)
{
	char id[17];
	weir_redis_cmd_start(r, b->op);
	weir_redis_arg_str(r, key);
	for (unsigned int i = 0; i < n; i++) {
		weir_flow_id(uid[i], id);
		weir_redis_arg(r, id, 16);
	}
	weir_redis_cmd_end(r);
}

void
weir_set_batch_add(struct weir_set_batch *b, struct weir_redis *r, const char *key, size_t n,
		   uint64_t uid)
{
	struct group *g;
	HASH_FIND(hh, b->all, key, n, g);
	if (!g) {
		g = calloc(1, sizeof(*g) + n + 1);
		if (!g) {
			send_ids(b, r, key, &uid, 1);	/* no memory to group: alone */
			return;
		}
		memcpy(g->key, key, n + 1);
		HASH_ADD_KEYPTR(hh, b->all, g->key, n, g);
	}
	if (g->n == g->cap) {
		unsigned int cap = g->cap ? g->cap * 2 : 8;
		uint64_t *u = realloc(g->uid, cap * sizeof(*u));
		if (!u) {
			send_ids(b, r, key, &uid, 1);
			return;
		}
		g->uid = u;
		g->cap = cap;
	}
	g->used = 1;
	g->uid[g->n++] = uid;
	if (g->n == SET_BATCH_MAX) {
		send_ids(b, r, g->key, g->uid, g->n);
		g->n = 0;
	}
}

void
weir_set_batch_send(struct weir_set_batch *b, struct weir_redis *r)
{
	struct group *g, *t;
	HASH_ITER(hh, b->all, g, t) {
		if (g->n)
			send_ids(b, r, g->key, g->uid, g->n);
		g->n = 0;
		if (!g->used) {
			HASH_DEL(b->all, g);
			free(g->uid);
			free(g);
			continue;
		}
		g->used = 0;
	}
}
