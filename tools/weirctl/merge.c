/* merge.c -- several nodes' numbers as one view.
 *
 * When several engines publish into one Redis, the same host (ADDR@VLAN),
 * VLAN, subnet pair, application, category, exporter or interface may be
 * a member under more than one node. The merged view shows it once:
 *
 *  - rankings come from the summed scores: each node's whole sorted set
 *    is read (ZRANGE 0 -1 WITHSCORES, one pipeline a node; a hundred
 *    thousand members is a few megabytes) and summed member by member,
 *    then only the hashes of the rows shown are fetched;
 *  - a member's hash is the merge of its nodes' hashes, field by field
 *    (weirctl_hash_merge): counters (bytes*, pkts*, flows, flows_active,
 *    bps*, records...) are summed, first_seen is the least and last_seen
 *    the greatest, names and identities (ip, name, mac, subnet, vlan,
 *    src, dst, address, version...) the first non-empty in node order.
 *    `peers` is the greatest: distinct peers cannot be summed without the
 *    peers themselves, so the merged value is a lower bound. A VLAN's
 *    `hosts` is recounted from the merged host ids
 *    (weirctl_vlan_host_counts), where the readers can afford it.
 *    Device readings of an interface (speed, in_octets, status...) are
 *    the greatest: two nodes hearing the same exporter read the same
 *    counters.
 *
 * Flows, time series and streams merge elsewhere (walk.c, cmd_history.c,
 * stream_read.c): a flow lives on one node, series add up point by point,
 * stream entries interleave by time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

/* ---- sorted sets summed ---------------------------------------------------- */

struct table {
	size_t *slot;		/* index + 1 into the member array; 0 empty */
	size_t cap;
};

static uint64_t
hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static void
table_grow(struct table *t, const struct weirctl_zmember *v, size_t n)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	size_t *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t j = hash_bytes(v[i].m, v[i].len) & (ncap - 1);

		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = i + 1;
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
}

/* The member's index in out, added when new. */
static size_t
zsum_find(struct weirctl_zsum *out, size_t *cap, struct table *t,
	  const char *m, size_t len)
{
	size_t j;

	if ((out->n + 1) * 2 > t->cap)
		table_grow(t, out->v, out->n);
	j = hash_bytes(m, len) & (t->cap - 1);
	while (t->slot[j]) {
		struct weirctl_zmember *z = &out->v[t->slot[j] - 1];

		if (z->len == len && !memcmp(z->m, m, len))
			return t->slot[j] - 1;
		j = (j + 1) & (t->cap - 1);
	}
	if (out->n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		out->v = realloc(out->v, *cap * sizeof(*out->v));
		if (!out->v)
			abort();
	}
	struct weirctl_zmember *z = &out->v[out->n];

	z->m = malloc(len + 1);
	if (!z->m)
		abort();
	memcpy(z->m, m, len);
	z->m[len] = '\0';
	z->len = len;
	z->score = 0;
	z->nodes = 0;
	t->slot[j] = ++out->n;
	return out->n - 1;
}

static int
cmp_zmember(const void *pa, const void *pb)
{
	const struct weirctl_zmember *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	c = memcmp(a->m, b->m, n);
	if (!c)
		c = a->len < b->len ? -1 : a->len > b->len;
	return -c;		/* ZREVRANGE: the greater member first */
}

static uint64_t
add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

int
weirctl_zsum_read(struct weirctl_ctx *ctx, const char *name,
		  struct weirctl_zsum *out)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw), cap = 0;
	struct weirctl_pipe p = { 0 };
	struct table t = { 0 };
	int ret = WC_EXIT_OK;

	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < nv && !ret; k++) {
		size_t node = vw[k];
		const redisReply *r;

		weirctl_pipe_clear(&p);
		weirctl_pipe_add(&p, "ZRANGE %s%s 0 -1 WITHSCORES",
				 ctx->nodes[node].keypfx, name);
		if (weirctl_pipe_run(ctx, (int)node, &p)) {
			ret = weirctl_redis_fail(ctx, "ZRANGE");
			break;
		}
		r = p.r[0];
		if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
			weirctl_err("Redis at %s answered ZRANGE %s%s with %s",
				    ctx->conn.shown, ctx->nodes[node].keypfx, name,
				    r->type == REDIS_REPLY_ERROR ? r->str :
				    "something other than member, score pairs");
			ret = WC_EXIT_REDIS;
			break;
		}
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			const redisReply *m = r->element[i];
			size_t at;

			if (m->type != REDIS_REPLY_STRING)
				continue;
			at = zsum_find(out, &cap, &t, m->str, m->len);
			out->v[at].score = add_sat(out->v[at].score,
						   weirctl_score_u64(r->element[i + 1]));
			out->v[at].nodes |= 1ULL << node;
		}
	}
	weirctl_pipe_free(&p);
	free(t.slot);
	if (ret) {
		weirctl_zsum_free(out);
		return ret;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_zmember);
	return WC_EXIT_OK;
}

void
weirctl_zsum_free(struct weirctl_zsum *z)
{
	for (size_t i = 0; i < z->n; i++)
		free(z->v[i].m);
	free(z->v);
	memset(z, 0, sizeof(*z));
}

/* ---- replies we build ----------------------------------------------------- */

static redisReply *
new_string(const char *s, size_t len)
{
	redisReply *r = calloc(1, sizeof(*r));

	if (!r || !(r->str = malloc(len + 1)))
		abort();
	r->type = REDIS_REPLY_STRING;
	memcpy(r->str, s, len);
	r->str[len] = '\0';
	r->len = len;
	return r;
}

static redisReply *
new_array(size_t n)
{
	redisReply *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	if (n && !(r->element = calloc(n, sizeof(*r->element))))
		abort();
	return r;
}

redisReply *
weirctl_zsum_reply(const struct weirctl_zsum *z, size_t max)
{
	size_t n = max && max < z->n ? max : z->n;
	redisReply *r = new_array(2 * n);
	char b[32];

	for (size_t i = 0; i < n; i++) {
		int l = snprintf(b, sizeof(b), "%llu", (unsigned long long)z->v[i].score);

		r->element[2 * i] = new_string(z->v[i].m, z->v[i].len);
		r->element[2 * i + 1] = new_string(b, (size_t)l);
	}
	return r;
}

/* ---- hashes merged ----------------------------------------------------------- */

enum rule { R_SUM, R_MIN, R_MAX, R_FIRST };

/* Fields that name or identify rather than count: the first non-empty
 * value, even when it looks like a number. */
static const char *const first_fields[] = {
	"ip", "vlan", "name", "mac", "subnet", "local", "src", "dst", "address",
	"version", "sampling", "exporter", "ifindex", "category", "node",
	"state", "source", "proto", "sport", "dport", "id", "app",
	"application", "detection", NULL
};

/* The greatest: a distinct count (a lower bound), device readings, and
 * times other than first_seen. */
static const char *const max_fields[] = {
	"last_seen", "peers", "hosts", "cycle", "speed", "status", "in_octets",
	"out_octets", "in_errors", "out_errors", "in_discards", "out_discards",
	NULL
};

static bool
in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static enum rule
rule_of(const char *field)
{
	size_t n = strlen(field);

	if (!strcmp(field, "first_seen") || !strcmp(field, "started_ms"))
		return R_MIN;
	if (in_list(first_fields, field))
		return R_FIRST;
	if (in_list(max_fields, field) || (n > 3 && !strcmp(field + n - 3, "_ms")))
		return R_MAX;
	return R_SUM;
}

static bool
as_u64(const redisReply *v, uint64_t *x)
{
	char *end;

	if (v->type != REDIS_REPLY_STRING || !v->len || v->str[0] < '0' ||
	    v->str[0] > '9' || v->len != strlen(v->str))
		return false;
	errno = 0;
	*x = strtoull(v->str, &end, 10);
	return !errno && !*end;
}

struct field {
	const redisReply *name;
	const redisReply *text;	/* first non-empty value */
	enum rule rule;
	bool numeric;		/* every value seen was a number */
	uint64_t acc;
	size_t seen;		/* how many hashes had it */
};

redisReply *
weirctl_hash_merge(redisReply *const *h, size_t n)
{
	struct field *f = NULL;
	size_t nf = 0, cap = 0;
	redisReply *out;
	char b[32];

	for (size_t i = 0; i < n; i++) {
		const redisReply *r = h[i];

		if (!r || r->type != REDIS_REPLY_ARRAY)
			continue;
		for (size_t k = 0; k + 1 < r->elements; k += 2) {
			const redisReply *name = r->element[k], *v = r->element[k + 1];
			struct field *x = NULL;
			uint64_t u;

			if (name->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
				continue;
			for (size_t q = 0; q < nf && !x; q++)
				if (f[q].name->len == name->len &&
				    !memcmp(f[q].name->str, name->str, name->len))
					x = &f[q];
			if (!x) {
				if (nf == cap) {
					cap = cap ? cap * 2 : 32;
					f = realloc(f, cap * sizeof(*f));
					if (!f)
						abort();
				}
				x = &f[nf++];
				x->name = name;
				x->text = v;
				x->rule = rule_of(name->str);
				x->numeric = as_u64(v, &x->acc);
				x->seen = 1;
				continue;
			}
			x->seen++;
			if (!x->text->len && v->len)
				x->text = v;
			if (!x->numeric)
				continue;
			if (!as_u64(v, &u)) {
				x->numeric = false;
				continue;
			}
			switch (x->rule) {
			case R_SUM: x->acc = add_sat(x->acc, u); break;
			case R_MIN: x->acc = u < x->acc ? u : x->acc; break;
			case R_MAX: x->acc = u > x->acc ? u : x->acc; break;
			case R_FIRST: break;
			}
		}
	}
	out = new_array(2 * nf);
	for (size_t q = 0; q < nf; q++) {
		out->element[2 * q] = new_string(f[q].name->str, f[q].name->len);
		/* one hash's value is given back as it was written */
		if (f[q].numeric && f[q].rule != R_FIRST && f[q].seen > 1) {
			int l = snprintf(b, sizeof(b), "%llu", (unsigned long long)f[q].acc);

			out->element[2 * q + 1] = new_string(b, (size_t)l);
		} else {
			out->element[2 * q + 1] = new_string(f[q].text->str, f[q].text->len);
		}
	}
	free(f);
	return out;
}

void
weirctl_hash_set_str(redisReply *h, const char *field, const char *v)
{
	if (!h || h->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < h->elements; i += 2)
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    !strcmp(h->element[i]->str, field)) {
			freeReplyObject(h->element[i + 1]);
			h->element[i + 1] = new_string(v, strlen(v));
			return;
		}
	h->element = realloc(h->element, (h->elements + 2) * sizeof(*h->element));
	if (!h->element)
		abort();
	h->element[h->elements++] = new_string(field, strlen(field));
	h->element[h->elements++] = new_string(v, strlen(v));
}

void
weirctl_hash_set_u64(redisReply *h, const char *field, uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	weirctl_hash_set_str(h, field, b);
}

int
weirctl_hashes_merged(struct weirctl_ctx *ctx, const char *hashpfx,
		      const struct weirctl_zmember *m, size_t n, redisReply **out)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	struct weirctl_pipe p = { 0 };
	redisReply **got = calloc(n * nv + 1, sizeof(*got));
	int ret = WC_EXIT_OK;

	if (!got)
		abort();
	for (size_t k = 0; k < nv && !ret; k++) {
		size_t node = vw[k], j = 0;

		weirctl_pipe_clear(&p);
		for (size_t i = 0; i < n; i++)
			if (m[i].nodes & (1ULL << node))
				weirctl_pipe_add(&p, "HGETALL %s%s%b",
						 ctx->nodes[node].keypfx, hashpfx,
						 m[i].m, m[i].len);
		if (!p.n)
			continue;
		if (weirctl_pipe_run(ctx, (int)node, &p)) {
			ret = weirctl_redis_fail(ctx, "HGETALL");
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (!(m[i].nodes & (1ULL << node)))
				continue;
			redisReply *r = p.r[j];

			p.r[j++] = NULL;	/* ours now */
			if (r->type == REDIS_REPLY_ERROR) {
				weirctl_err("Redis at %s answered HGETALL %s%s%s with "
					    "an error: %s", ctx->conn.shown,
					    ctx->nodes[node].keypfx, hashpfx, m[i].m,
					    r->str);
				freeReplyObject(r);
				ret = WC_EXIT_REDIS;
				continue;
			}
			got[i * nv + k] = r;
		}
	}
	weirctl_pipe_free(&p);
	for (size_t i = 0; i < n; i++) {
		out[i] = ret ? NULL : weirctl_hash_merge(&got[i * nv], nv);
		for (size_t k = 0; k < nv; k++)
			if (got[i * nv + k])
				freeReplyObject(got[i * nv + k]);
	}
	free(got);
	return ret;
}

long
weirctl_host_id_vlan(const char *id)
{
	const char *at = strrchr(id, '@');
	char *end;
	unsigned long v;

	if (!at || at[1] < '0' || at[1] > '9')
		return -1;
	v = strtoul(at + 1, &end, 10);
	return !*end && v < 4096 ? (long)v : -1;
}

int
weirctl_vlan_host_counts(struct weirctl_ctx *ctx, uint64_t *counts)
{
	struct weirctl_zsum z;
	int ret = weirctl_zsum_read(ctx, "hosts", &z);

	memset(counts, 0, 4096 * sizeof(*counts));
	if (ret)
		return ret;
	for (size_t i = 0; i < z.n; i++) {
		long v = weirctl_host_id_vlan(z.v[i].m);

		if (v >= 0)
			counts[v]++;
	}
	weirctl_zsum_free(&z);
	return WC_EXIT_OK;
}

bool
weirctl_ts_point(const char *s, size_t n, uint64_t v[4])
{
	const char *e = s + n;

	for (int i = 0; i < 4; i++) {
		uint64_t x = 0;
		const char *d = s;

		while (s < e && *s >= '0' && *s <= '9') {
			uint64_t d10 = (uint64_t)(*s++ - '0');

			if (x > (UINT64_MAX - d10) / 10)
				return false;
			x = x * 10 + d10;
		}
		if (s == d)
			return false;
		v[i] = x;
		if (i < 3) {
			if (s == e || *s != ':')
				return false;
			s++;
		}
	}
	return s == e;
}
