/* view.c -- the merged view the threshold and scan rules read.
 *
 * With several nodes watched, a host (ADDR@VLAN), VLAN, subnet pair,
 * application, interface or exporter may be a member under more than one
 * node. The rules see it once, as weirctl and weir-web show it
 * (docs/redis-keys.md, "Several nodes"):
 *
 *  - a ranking (P hosts, P subnets, ...) is the sum of the nodes' scores,
 *    read from each node's top (one ZREVRANGE a node, in its own slot);
 *  - a member's hash is its nodes' hashes merged by weirctl's own rules
 *    (tools/weirctl/merge.c, weirctl_hash_merge): counters summed,
 *    first_seen the least, last_seen and `peers` the greatest (distinct
 *    peers cannot be summed: a lower bound), names the first non-empty;
 *  - series add up (threshold.c sums every node's points in the window).
 *
 * Each node is read over its own connection, with one pipeline a node:
 * in a cluster the nodes' keys live in different slots. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "alertd.h"

void
alertd_view_label(const struct alertd_ctx *ctx, alertd_nodeset set, char *buf,
		  size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ctx->n_nodes && i < 64; i++) {
		int w;

		if (!(set & ((alertd_nodeset)1 << i)))
			continue;
		w = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
			     ctx->nodes[i]->id);
		if (w < 0 || (size_t)w >= len - used) {
			used = 0;	/* too long to list */
			break;
		}
		used += (size_t)w;
	}
	if (!used)
		snprintf(buf, len, "*");
}

int
alertd_view_ensure(struct alertd_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n_nodes; i++)
		if (alertd_store_ensure(&ctx->nodes[i]->store))
			return -1;
	return 0;
}

void
alertd_members_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct scored {
	char *m;
	double score;
};

static int
cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct scored *)a)->m, ((const struct scored *)b)->m);
}

static int
cmp_score(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return -strcmp(x->m, y->m);	/* ZREVRANGE: the greater first */
}

int
alertd_members(struct alertd_ctx *ctx, const char *zset, const char *glob,
	       unsigned max, char ***out, size_t *n)
{
	/* members are ranked by bytes: read a generous top, filter here */
	unsigned top = max > 50000 ? 200000u : max * 4u - 1u;
	struct scored *v = NULL;
	size_t nv = 0, cap = 0, k = 0;
	char **res;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < ctx->n_nodes && !rc; i++) {
		struct alertd_store *s = &ctx->nodes[i]->store;
		redisReply *r = alertd_cmd(s, "ZREVRANGE %s%s 0 %u WITHSCORES",
					   s->kp, zset, top);

		if (!r) {
			rc = -1;
			break;
		}
		for (size_t e = 0; r->type == REDIS_REPLY_ARRAY &&
		     e + 1 < r->elements; e += 2) {
			const redisReply *m = r->element[e], *sc = r->element[e + 1];

			if (m->type != REDIS_REPLY_STRING || strlen(m->str) != m->len ||
			    sc->type != REDIS_REPLY_STRING)
				continue;
			if (glob && fnmatch(glob, m->str, 0))
				continue;
			if (nv == cap) {
				size_t nc = cap ? cap * 2 : 256;
				struct scored *nw = realloc(v, nc * sizeof(*v));

				if (!nw) {
					rc = -1;
					break;
				}
				v = nw;
				cap = nc;
			}
			v[nv].m = strdup(m->str);
			if (!v[nv].m) {
				rc = -1;
				break;
			}
			v[nv++].score = strtod(sc->str, NULL);
		}
		freeReplyObject(r);
	}
	if (rc == 0 && nv) {
		/* one member, its scores summed */
		qsort(v, nv, sizeof(*v), cmp_member);
		for (size_t i = 0; i < nv; i++) {
			if (k && !strcmp(v[k - 1].m, v[i].m)) {
				v[k - 1].score += v[i].score;
				free(v[i].m);
				continue;
			}
			v[k++] = v[i];
		}
		nv = k;
		qsort(v, nv, sizeof(*v), cmp_score);
	}
	res = rc ? NULL : calloc(nv ? nv : 1, sizeof(*res));
	k = 0;
	for (size_t i = 0; i < nv; i++) {
		if (res && k < max)
			res[k++] = v[i].m;
		else
			free(v[i].m);
	}
	free(v);
	if (!res)
		return -1;
	*out = res;
	*n = k;
	return 0;
}

int
alertd_view_hashes(struct alertd_ctx *ctx, const char *hashpfx,
		   char *const *ids, size_t n, redisReply **out,
		   alertd_nodeset *has)
{
	size_t nn = ctx->n_nodes;
	redisReply **got = calloc(n * nn + 1, sizeof(*got));
	int rc = 0;

	if (!got)
		return -1;
	memset(out, 0, n * sizeof(*out));
	memset(has, 0, n * sizeof(*has));
	for (size_t k = 0; k < nn && !rc; k++) {
		struct alertd_store *s = &ctx->nodes[k]->store;

		if (!s->c) {
			rc = -1;
			break;
		}
		for (size_t i = 0; i < n; i++)
			redisAppendCommand(s->c, "HGETALL %s%s%s", s->kp, hashpfx,
					   ids[i]);
		for (size_t i = 0; i < n; i++) {
			redisReply *r = NULL;

			if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r) {
				alertd_store_drop(s, "reading hashes failed");
				rc = -1;
				break;
			}
			if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && k < 64)
				has[i] |= (alertd_nodeset)1 << k;
			got[i * nn + k] = r;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			out[i] = weirctl_hash_merge(&got[i * nn], nn);
		for (size_t k = 0; k < nn; k++)
			if (got[i * nn + k])
				freeReplyObject(got[i * nn + k]);
	}
	free(got);
	return rc;
}
