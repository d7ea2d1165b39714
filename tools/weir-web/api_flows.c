/* api_flows.c -- /api/flows, /api/flows/recent, a host's peers, and the
 * flows the VLAN matrix folds (api_vlan_matrix.c).
 *
 * A filtered flow list is built in two steps. Candidates: when a filter is
 * given and the engine keeps the flow index (P idx:host:ID, idx:vlan:N,
 * idx:subnet:SRC>DST, idx:app:NAME, idx:port:N), the members of the sets
 * each filter names, intersected here (the server writes nothing, so no
 * SINTERSTORE); otherwise the ids of P flows, busiest first (a scan).
 * Then the candidates' hashes are read in pipelined batches and every
 * filter is checked again on the fields, so an index that lags a cycle
 * behind never shows a wrong row. The work is bounded: at most
 * FLOWS_EXAMINE_MAX candidates are read and FLOWS_KEEP_MAX rows kept
 * ("truncated" says when a bound was hit); rows are then sorted and cut
 * into pages. Flow ids are 16 hex digits and handled as 64-bit numbers.
 *
 * Over several nodes each node's flows are gathered so (a flow lives on
 * one node, and flow ids repeat across nodes) and the rows, each with
 * its node, are sorted and paged together. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define FLOWS_EXAMINE_MAX 200000
#define FLOWS_KEEP_MAX 50000
#define BATCH 1000

struct flow_row {
	uint64_t id;
	size_t node;		/* index into ctx->nodes */
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	unsigned sport, dport, proto, vlan;
	uint64_t bytes, pkts, bytes_fwd, bytes_rev, pkts_fwd, pkts_rev;
	uint64_t first, last;
	char app[64], application[48], category[32], detection[8];
	char state[8], end_reason[8], server_name[96];
	char src_subnet[WEB_NAME_MAX + 1], dst_subnet[WEB_NAME_MAX + 1];
};

struct flow_filter {
	char ip[INET6_ADDRSTRLEN];	/* "" any */
	long vlan;			/* -1 any */
	char subnet[WEB_NAME_MAX * 2 + 2];	/* a name or SRC>DST; "" any */
	char app[WEB_NAME_MAX + 1];	/* "" any */
	long port;			/* -1 any */
	int state;			/* -1 any, else an index of state_names */
};

/* The values of a flow's state field (docs/redis-keys.md), as state=
 * takes them. */
static const char *const state_names[] = { "active", "ended", NULL };

struct flow_set {
	struct flow_row *rows;
	size_t n, cap;
	bool truncated;
	unsigned indexed, scanned;	/* nodes read through the index, or not */
	uint64_t candidates;
};

/* ---- id sets ---------------------------------------------------------- */

struct ids {
	uint64_t *v;
	size_t n, cap;
};

static int
ids_push(struct ids *s, uint64_t id)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *nv = realloc(s->v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = id;
	return 0;
}

static bool
parse_id(const char *s, size_t len, uint64_t *id)
{
	uint64_t v = 0;

	if (len != 16)
		return false;
	for (size_t i = 0; i < 16; i++) {
		char c = s[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*id = v;
	return true;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
ids_sort_unique(struct ids *s)
{
	size_t o = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[o])
			s->v[++o] = s->v[i];
	s->n = o + 1;
}

/* a := a ∩ b, both sorted and unique. */
static void
ids_intersect(struct ids *a, const struct ids *b)
{
	size_t i = 0, k = 0, o = 0;

	while (i < a->n && k < b->n) {
		if (a->v[i] < b->v[k])
			i++;
		else if (a->v[i] > b->v[k])
			k++;
		else {
			a->v[o++] = a->v[i];
			i++;
			k++;
		}
	}
	a->n = o;
}

/* The union of the members of the sets named by keys (after the node
 * prefix), pipelined. Returns 0, or -1 on a Redis error. */
static int
smembers_union(struct weirctl_ctx *ctx, char **keys, size_t n, struct ids *out)
{
	struct weirctl_pipe p = { 0 };
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		weirctl_pipe_add(&p, "SMEMBERS %s%s", ctx->keypfx, keys[i]);
	if (n && weirctl_pipe_run(ctx, -1, &p))
		ret = -1;
	for (size_t i = 0; i < n && !ret; i++) {
		const redisReply *r = p.r[i];
		uint64_t id;

		for (size_t m = 0; r->type == REDIS_REPLY_ARRAY && m < r->elements; m++)
			if (parse_id(r->element[m]->str, r->element[m]->len, &id) &&
			    ids_push(out, id))
				ret = -1;
	}
	weirctl_pipe_free(&p);
	ids_sort_unique(out);
	return ret;
}

/* ---- what the keyspace offers ------------------------------------------ */

/* The VLAN ids in P vlans (at most 4096). */
static size_t
vlan_list(struct weirctl_ctx *ctx, long *out)
{
	redisReply *r = web_cmd(ctx, "ZREVRANGE %svlans 0 4095", ctx->keypfx);
	size_t n = 0;

	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		char *end;
		long v = strtol(r->element[i]->str, &end, 10);

		if (!*end && v >= 0 && v <= 4095 && r->element[i]->len)
			out[n++] = v;
	}
	if (r)
		freeReplyObject(r);
	return n;
}

/* The engine keeps the index when idx:vlan:N exists for a VLAN it lists. */
static bool
index_present(struct weirctl_ctx *ctx)
{
	struct weirctl_pipe p = { 0 };
	long vl[4096];
	size_t n = vlan_list(ctx, vl);
	bool any = false;

	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++)
		weirctl_pipe_add(&p, "EXISTS %sidx:vlan:%ld", ctx->keypfx, vl[i]);
	if (n && !weirctl_pipe_run(ctx, -1, &p))
		for (size_t i = 0; i < n; i++)
			any |= p.r[i]->type == REDIS_REPLY_INTEGER && p.r[i]->integer > 0;
	weirctl_pipe_free(&p);
	return any;
}

/* ---- reading flows ----------------------------------------------------- */

static void
copy_field(const redisReply *h, const char *field, char *dst, size_t len)
{
	const char *s = weirctl_hash_get(h, field);

	snprintf(dst, len, "%s", s ? s : "");
}

static void
row_from_hash(struct flow_row *f, uint64_t id, size_t node, const redisReply *h)
{
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->node = node;
	copy_field(h, "src", f->src, sizeof(f->src));
	copy_field(h, "dst", f->dst, sizeof(f->dst));
	f->sport = (unsigned)weirctl_hash_u64(h, "sport");
	f->dport = (unsigned)weirctl_hash_u64(h, "dport");
	f->proto = (unsigned)weirctl_hash_u64(h, "proto");
	f->vlan = (unsigned)weirctl_hash_u64(h, "vlan");
	f->bytes = weirctl_hash_u64(h, "bytes");
	f->pkts = weirctl_hash_u64(h, "pkts");
	f->bytes_fwd = weirctl_hash_u64(h, "bytes_fwd");
	f->bytes_rev = weirctl_hash_u64(h, "bytes_rev");
	f->pkts_fwd = weirctl_hash_u64(h, "pkts_fwd");
	f->pkts_rev = weirctl_hash_u64(h, "pkts_rev");
	f->first = weirctl_hash_u64(h, "first_seen");
	f->last = weirctl_hash_u64(h, "last_seen");
	copy_field(h, "app", f->app, sizeof(f->app));
	copy_field(h, "application", f->application, sizeof(f->application));
	copy_field(h, "category", f->category, sizeof(f->category));
	copy_field(h, "detection", f->detection, sizeof(f->detection));
	copy_field(h, "state", f->state, sizeof(f->state));
	copy_field(h, "end_reason", f->end_reason, sizeof(f->end_reason));
	copy_field(h, "server_name", f->server_name, sizeof(f->server_name));
}

/* The filters that a flow's own fields answer (all but the subnet). */
static bool
row_matches(const struct flow_row *f, const struct flow_filter *flt)
{
	if (flt->ip[0] && strcmp(f->src, flt->ip) && strcmp(f->dst, flt->ip))
		return false;
	if (flt->vlan >= 0 && f->vlan != (unsigned)flt->vlan)
		return false;
	if (flt->app[0] && strcmp(f->application, flt->app))
		return false;
	if (flt->port >= 0 && f->sport != (unsigned)flt->port &&
	    f->dport != (unsigned)flt->port)
		return false;
	if (flt->state >= 0 && strcmp(f->state, state_names[flt->state]))
		return false;
	return true;
}

static int
set_push(struct flow_set *s, const struct flow_row *f)
{
	if (s->n == FLOWS_KEEP_MAX) {
		s->truncated = true;
		return 1;
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 256;
		struct flow_row *nr = realloc(s->rows, ncap * sizeof(*nr));

		if (!nr)
			return -1;
		s->rows = nr;
		s->cap = ncap;
	}
	s->rows[s->n++] = *f;
	return 0;
}

/* Reads the hashes of ids (pipelined by BATCH) into s, keeping those that
 * match. Returns 0 or -1 on a Redis error. */
static int
read_rows(struct weirctl_ctx *ctx, const uint64_t *ids, size_t n,
	  const struct flow_filter *flt, struct flow_set *s)
{
	struct weirctl_pipe p = { 0 };
	struct flow_row f;
	size_t node = (size_t)(ctx->focus >= 0 ? ctx->focus : 0);
	int ret = 0;

	for (size_t at = 0; at < n; at += BATCH) {
		size_t m = n - at < BATCH ? n - at : BATCH;
		bool stop = false;

		weirctl_pipe_clear(&p);
		for (size_t i = 0; i < m; i++)
			weirctl_pipe_add(&p, "HGETALL %sflow:%016" PRIx64,
					 ctx->keypfx, ids[at + i]);
		if (weirctl_pipe_run(ctx, -1, &p)) {
			ret = -1;
			break;
		}
		for (size_t i = 0; i < m && !stop; i++) {
			const redisReply *h = p.r[i];

			if (h->type == REDIS_REPLY_ARRAY && h->elements >= 2) {
				row_from_hash(&f, ids[at + i], node, h);
				if (row_matches(&f, flt) && set_push(s, &f))
					stop = true;
			}
		}
		if (stop)
			break;
	}
	weirctl_pipe_free(&p);
	return ret;
}

/* Scan mode with a subnet filter: the subnets of both ends, from their
 * host hashes on the flow's node (the engine names them the same way).
 * Rows from..s->n are the current node's. */
static int
fill_subnets(struct weirctl_ctx *ctx, struct flow_set *s, size_t from)
{
	struct weirctl_pipe p = { 0 };
	int ret = 0;

	for (size_t at = from; at < s->n && !ret; at += BATCH) {
		size_t m = s->n - at < BATCH ? s->n - at : BATCH;

		weirctl_pipe_clear(&p);
		for (size_t i = 0; i < m; i++) {
			struct flow_row *f = &s->rows[at + i];

			weirctl_pipe_add(&p, "HGET %shost:%s@%u subnet", ctx->keypfx,
					 f->src, f->vlan);
			weirctl_pipe_add(&p, "HGET %shost:%s@%u subnet", ctx->keypfx,
					 f->dst, f->vlan);
		}
		if (weirctl_pipe_run(ctx, -1, &p)) {
			ret = -1;
			break;
		}
		for (size_t i = 0; i < 2 * m; i++) {
			const redisReply *r = p.r[i];
			struct flow_row *f = &s->rows[at + i / 2];

			if (r->type == REDIS_REPLY_STRING)
				snprintf(i % 2 ? f->dst_subnet : f->src_subnet,
					 sizeof(f->src_subnet), "%s", r->str);
		}
	}
	weirctl_pipe_free(&p);
	return ret;
}

/* The idx keys of one filter, into keys[]: returns how many (0 when the
 * filter is not given), -1 on error. */
static int
filter_keys(struct weirctl_ctx *ctx, const struct flow_filter *flt, int which,
	    char **keys, size_t max)
{
	long vl[4096];
	size_t n = 0, nv;
	redisReply *r;

	switch (which) {
	case 0:		/* host */
		if (!flt->ip[0])
			return 0;
		if (flt->vlan >= 0) {
			if (asprintf(&keys[n++], "idx:host:%s@%ld", flt->ip, flt->vlan) < 0)
				return -1;
			return (int)n;
		}
		nv = vlan_list(ctx, vl);
		for (size_t i = 0; i < nv && n < max; i++)
			if (asprintf(&keys[n++], "idx:host:%s@%ld", flt->ip, vl[i]) < 0)
				return -1;
		return (int)n;
	case 1:		/* vlan (alone: with a host it is in the host's key) */
		if (flt->vlan < 0 || flt->ip[0])
			return 0;
		return asprintf(&keys[0], "idx:vlan:%ld", flt->vlan) < 0 ? -1 : 1;
	case 2:		/* subnet */
		if (!flt->subnet[0])
			return 0;
		if (strchr(flt->subnet, '>'))
			return asprintf(&keys[0], "idx:subnet:%s", flt->subnet) < 0 ? -1 : 1;
		r = web_cmd(ctx, "ZRANGE %ssubnets 0 9999", ctx->keypfx);
		for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY &&
		     i < r->elements && n < max; i++) {
			const char *m = r->element[i]->str, *gt = strchr(m, '>');
			size_t sl = strlen(flt->subnet);

			if (!gt)
				continue;
			if (((size_t)(gt - m) == sl && !strncmp(m, flt->subnet, sl)) ||
			    !strcmp(gt + 1, flt->subnet))
				if (asprintf(&keys[n++], "idx:subnet:%s", m) < 0)
					n--;
		}
		if (r)
			freeReplyObject(r);
		return (int)n;
	case 3:
		if (!flt->app[0])
			return 0;
		return asprintf(&keys[0], "idx:app:%s", flt->app) < 0 ? -1 : 1;
	case 4:
		if (flt->port < 0)
			return 0;
		return asprintf(&keys[0], "idx:port:%ld", flt->port) < 0 ? -1 : 1;
	}
	return 0;
}

/* Adds the current node's flows matching flt to s. Returns 0, or -1 on a
 * Redis error. */
static int
gather_node(struct weirctl_ctx *ctx, const struct flow_filter *flt,
	    struct flow_set *s)
{
	struct ids cand = { 0 };
	bool any_filter = flt->ip[0] || flt->vlan >= 0 || flt->subnet[0] ||
			  flt->app[0] || flt->port >= 0;
	size_t from = s->n;
	int ret = 0;

	if (any_filter && index_present(ctx)) {
		bool first = true;

		s->indexed++;
		for (int which = 0; which < 5 && ret == 0; which++) {
			char *keys[4096];
			int nk = filter_keys(ctx, flt, which, keys, 4096);
			struct ids one = { 0 };

			if (nk < 0) {
				ret = -1;
				break;
			}
			if (nk == 0 && which == 0 && flt->ip[0]) {
				first = false;	/* a host on no VLAN: nothing */
				cand.n = 0;
				continue;
			}
			if (nk == 0)
				continue;
			if (smembers_union(ctx, keys, (size_t)nk, &one))
				ret = -1;
			for (int i = 0; i < nk; i++)
				free(keys[i]);
			if (first) {
				free(cand.v);
				cand = one;
				first = false;
			} else {
				ids_intersect(&cand, &one);
				free(one.v);
			}
		}
	} else {
		s->scanned++;
		for (long at = 0; at < FLOWS_EXAMINE_MAX && ret == 0; at += BATCH * 10) {
			redisReply *r = web_cmd(ctx, "ZREVRANGE %sflows %ld %ld", ctx->keypfx,
						at, at + BATCH * 10 - 1);
			uint64_t id;

			if (!r) {
				ret = ctx->redis_failures ? -1 : 0;
				break;
			}
			for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
				if (parse_id(r->element[i]->str, r->element[i]->len, &id))
					ids_push(&cand, id);
			bool last = r->type != REDIS_REPLY_ARRAY || r->elements < BATCH * 10;

			freeReplyObject(r);
			if (last)
				break;
			if (at + BATCH * 10 >= FLOWS_EXAMINE_MAX)
				s->truncated = true;
		}
	}
	if (cand.n > FLOWS_EXAMINE_MAX) {
		cand.n = FLOWS_EXAMINE_MAX;
		s->truncated = true;
	}
	s->candidates += cand.n;
	if (ret == 0)
		ret = read_rows(ctx, cand.v, cand.n, flt, s);
	free(cand.v);
	if (ret == 0 && flt->subnet[0]) {
		size_t o = from;

		ret = fill_subnets(ctx, s, from);
		for (size_t i = from; ret == 0 && i < s->n; i++)
			if (weirctl_subnet_match(flt->subnet, s->rows[i].src_subnet,
						 strlen(s->rows[i].src_subnet),
						 s->rows[i].dst_subnet))
				s->rows[o++] = s->rows[i];
		if (ret == 0)
			s->n = o;
	}
	return ret;
}

/* Fills s with the flows matching flt on every node of the view. */
static int
gather(struct weirctl_ctx *ctx, const struct flow_filter *flt, struct flow_set *s)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	long focus = ctx->focus;
	int ret = 0;

	for (size_t k = 0; k < nv && !ret && !s->truncated; k++) {
		weirctl_node_focus(ctx, vw[k]);
		ret = gather_node(ctx, flt, s);
	}
	weirctl_node_restore(ctx, focus);
	return ret;
}

/* ---- sorting and writing --------------------------------------------------- */

enum { S_BYTES, S_PKTS, S_FIRST, S_LAST, S_DURATION, S_THROUGHPUT, S_SRC,
       S_DST, S_VLAN, S_APP };
static const char *const sort_names[] = { "bytes", "pkts", "first_seen",
	"last_seen", "duration", "throughput", "src", "dst", "vlan", "app", NULL };
static __thread int sort_key, sort_desc;

static uint64_t
duration_ms(const struct flow_row *f)
{
	return f->last > f->first ? f->last - f->first : 0;
}

/* Bits per second over the flow's life (a 1-packet flow: over 1 s). */
static uint64_t
throughput(const struct flow_row *f)
{
	uint64_t d = duration_ms(f);

	return f->bytes * 8 * 1000 / (d ? d : 1000);
}

static int
cmp_rows(const void *a, const void *b)
{
	const struct flow_row *x = a, *y = b;
	uint64_t u = 0, v = 0;
	int c = 0;

	switch (sort_key) {
	case S_BYTES: u = x->bytes; v = y->bytes; break;
	case S_PKTS: u = x->pkts; v = y->pkts; break;
	case S_FIRST: u = x->first; v = y->first; break;
	case S_LAST: u = x->last; v = y->last; break;
	case S_DURATION: u = duration_ms(x); v = duration_ms(y); break;
	case S_THROUGHPUT: u = throughput(x); v = throughput(y); break;
	case S_VLAN: u = x->vlan; v = y->vlan; break;
	case S_SRC: c = strcmp(x->src, y->src); break;
	case S_DST: c = strcmp(x->dst, y->dst); break;
	case S_APP: c = strcmp(x->application, y->application); break;
	}
	if (!c)
		c = u < v ? -1 : u > v;
	if (!c && x->id != y->id)	/* a stable order between equal keys */
		return x->id < y->id ? -1 : 1;
	if (!c)				/* then the node (ids repeat) */
		return x->node < y->node ? -1 : x->node > y->node;
	return sort_desc ? -c : c;
}

static void
kstr(struct weirctl_json *j, const char *k, const char *v)
{
	weirctl_json_key(j, k);
	weirctl_json_str(j, v);
}

static void
ku64(struct weirctl_json *j, const char *k, uint64_t v)
{
	weirctl_json_key(j, k);
	weirctl_json_u64(j, v);
}

/* node: the flow's node when the view merges several, else NULL. */
static void
write_row(struct weirctl_json *j, const struct flow_row *f, const char *node)
{
	char id[17];

	snprintf(id, sizeof(id), "%016" PRIx64, f->id);
	weirctl_json_begin_obj(j);
	kstr(j, "id", id);
	if (node)
		kstr(j, "node", node);
	kstr(j, "src", f->src);
	ku64(j, "sport", f->sport);
	kstr(j, "dst", f->dst);
	ku64(j, "dport", f->dport);
	ku64(j, "proto", f->proto);
	ku64(j, "vlan", f->vlan);
	ku64(j, "bytes", f->bytes);
	ku64(j, "pkts", f->pkts);
	ku64(j, "bytes_fwd", f->bytes_fwd);
	ku64(j, "pkts_fwd", f->pkts_fwd);
	ku64(j, "bytes_rev", f->bytes_rev);
	ku64(j, "pkts_rev", f->pkts_rev);
	ku64(j, "first_seen", f->first);
	ku64(j, "last_seen", f->last);
	ku64(j, "duration_ms", duration_ms(f));
	ku64(j, "bps", throughput(f));
	kstr(j, "app", f->app);
	kstr(j, "application", f->application);
	kstr(j, "category", f->category);
	kstr(j, "detection", f->detection);
	kstr(j, "state", f->state);
	kstr(j, "end_reason", f->end_reason);
	kstr(j, "server_name", f->server_name);
	weirctl_json_end_obj(j);
}

/* Reads and checks the filters shared by /api/flows and the host page. */
static int
read_filter(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o,
	    struct flow_filter *flt)
{
	char name[WEB_NAME_MAX * 2 + 2];
	int k, m;

	memset(flt, 0, sizeof(*flt));
	flt->vlan = flt->port = -1;
	flt->state = -1;
	if (web_param_ip(c, o, "host", flt->ip, sizeof(flt->ip)) < 0 ||
	    web_param_long(c, o, "vlan", 0, 4095, &flt->vlan) < 0 ||
	    web_param_long(c, o, "port", 0, 65535, &flt->port) < 0 ||
	    web_param_choice(c, o, "state", state_names, &flt->state) < 0)
		return -1;
	k = web_param_name(c, o, "app", flt->app, sizeof(flt->app));
	if (k < 0)
		return -1;
	if (k > 0) {
		m = web_member(ctx, "apps", flt->app);
		if (m < 0)
			return web_fail(o, 502, "Redis failed"), -1;
		if (!m)
			return web_fail(o, 400, "app: '%s' is not an application the "
					"engine lists (/api/apps)", flt->app), -1;
	}
	const char *sv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "subnet");

	if (sv) {
		const char *gt = strchr(sv, '>');
		bool ok;

		if (gt) {	/* a pair SRC>DST: as P subnets lists it */
			ok = strlen(sv) < sizeof(name);
			if (ok) {
				snprintf(name, sizeof(name), "%s", sv);
				name[gt - sv] = '\0';
				ok = web_name_ok(name) && web_name_ok(gt + 1);
			}
			m = ok ? web_member(ctx, "subnets", sv) : 0;
		} else {
			ok = web_name_ok(sv);
			m = ok ? web_subnet_known(ctx, sv) : 0;
		}
		if (!ok)
			return web_fail(o, 400, "subnet: a subnet name or a pair SRC>DST "
					"of names (1 to %d printable characters each)",
					WEB_NAME_MAX), -1;
		if (m < 0)
			return web_fail(o, 502, "Redis failed"), -1;
		if (!m)
			return web_fail(o, 400, "subnet: '%.130s' is not a subnet or pair "
					"the engine publishes (/api/subnets)", sv), -1;
		snprintf(flt->subnet, sizeof(flt->subnet), "%s", sv);
	}
	return 0;
}

int
web_api_flows(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	static const char *const orders[] = { "desc", "asc", NULL };
	struct weirctl_json *j = &o->j;
	struct flow_filter flt;
	struct flow_set s = { 0 };
	long page = 1, per_page = 50;
	int sk = S_BYTES, ord = 0;

	if (web_param_choice(c, o, "sort", sort_names, &sk) < 0 ||
	    web_param_choice(c, o, "order", orders, &ord) < 0 ||
	    web_param_long(c, o, "page", 1, 1000000, &page) < 0 ||
	    web_param_long(c, o, "per_page", 1, 1000, &per_page) < 0 ||
	    read_filter(c, ctx, o, &flt) < 0)
		return o->status;
	if (gather(ctx, &flt, &s)) {
		free(s.rows);
		return web_fail(o, 502, "Redis failed while reading flows");
	}
	sort_key = sk;
	sort_desc = ord == 0;
	if (s.n)
		qsort(s.rows, s.n, sizeof(*s.rows), cmp_rows);

	size_t from = (size_t)(page - 1) * (size_t)per_page;

	weirctl_json_begin_obj(j);
	kstr(j, "node", ctx->node);
	kstr(j, "mode", !s.scanned ? "index" : !s.indexed ? "scan" : "mixed");
	ku64(j, "candidates", s.candidates);
	ku64(j, "matched", s.n);
	weirctl_json_key(j, "truncated");
	weirctl_json_raw_num(j, s.truncated ? "true" : "false");
	kstr(j, "sort", sort_names[sk]);
	kstr(j, "order", orders[ord]);
	if (flt.state >= 0)
		kstr(j, "state", state_names[flt.state]);
	ku64(j, "page", (uint64_t)page);
	ku64(j, "per_page", (uint64_t)per_page);
	ku64(j, "pages", (s.n + (size_t)per_page - 1) / (size_t)per_page);
	weirctl_json_key(j, "flows");
	weirctl_json_begin_arr(j);
	for (size_t i = from; i < s.n && i < from + (size_t)per_page; i++)
		write_row(j, &s.rows[i], weirctl_view_nodes(ctx) > 1 ?
			  ctx->nodes[s.rows[i].node].id : NULL);
	weirctl_json_end_arr(j);
	weirctl_json_end_obj(j);
	free(s.rows);
	return 200;
}

int
web_api_flows_recent(struct MHD_Connection *c, struct weirctl_ctx *ctx,
		     struct web_out *o)
{
	static const char *const strings[] = { "id", "src", "dst", "app",
		"application", "category", "detection", "state", "end_reason",
		"src_mac", "dst_mac", "exporter", "server_name", "ja3c", "ja3s", "url",
		"ssh_client", "ssh_server", "risk_text", "confidence", NULL };
	/* every node's flows:ended, interleaved by time */
	return web_stream_list(c, ctx, o, "flows:ended", "flows:ended", "flows", strings);
}

/* ---- the flows, briefly, for the VLAN matrix ---------------------------- */

int
web_flows_brief(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o,
		struct web_flow_brief **out, size_t *n, bool *truncated,
		uint64_t *examined)
{
	struct flow_filter flt = { .vlan = -1, .port = -1, .state = -1 };
	struct flow_set s = { 0 };
	struct web_flow_brief *b;

	if (web_param_choice(c, o, "state", state_names, &flt.state) < 0)
		return o->status;
	if (gather(ctx, &flt, &s)) {
		free(s.rows);
		return web_fail(o, 502, "Redis failed while reading flows");
	}
	b = calloc(s.n + 1, sizeof(*b));
	if (!b) {
		free(s.rows);
		return web_fail(o, 500, "out of memory");
	}
	for (size_t i = 0; i < s.n; i++) {
		const struct flow_row *f = &s.rows[i];

		memcpy(b[i].src, f->src, sizeof(b[i].src));
		memcpy(b[i].dst, f->dst, sizeof(b[i].dst));
		b[i].vlan = f->vlan;
		b[i].bytes = f->bytes;
		b[i].pkts = f->pkts;
	}
	*out = b;
	*n = s.n;
	*truncated = s.truncated;
	*examined = s.candidates;
	free(s.rows);
	return 200;
}

/* ---- a host's peers ---------------------------------------------------------- */

struct peer {
	char addr[INET6_ADDRSTRLEN];
	uint64_t bytes, flows;
};

static int
cmp_peer_addr(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->addr, ((const struct peer *)b)->addr);
}

static int
cmp_peer(const void *a, const void *b)
{
	const struct peer *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->addr, y->addr);
}

int
web_flows_peers(struct weirctl_ctx *ctx, struct web_out *o, const char *id,
		const char *ip)
{
	struct weirctl_json *j = &o->j;
	struct flow_filter flt = { .vlan = -1, .port = -1, .state = -1 };
	struct flow_set s = { 0 };
	struct peer *p = NULL;
	size_t np = 0;
	const char *at = strrchr(id, '@');

	snprintf(flt.ip, sizeof(flt.ip), "%s", ip);
	flt.vlan = at ? strtol(at + 1, NULL, 10) : -1;
	if (gather(ctx, &flt, &s)) {
		free(s.rows);
		return web_fail(o, 502, "Redis failed while reading the host's flows");
	}
	p = calloc(s.n + 1, sizeof(*p));
	if (!p) {
		free(s.rows);
		return web_fail(o, 500, "out of memory");
	}
	/* One entry per flow, sorted by address, then folded. */
	for (size_t i = 0; i < s.n; i++) {
		const char *other = strcmp(s.rows[i].src, ip) ? s.rows[i].src : s.rows[i].dst;

		snprintf(p[i].addr, sizeof(p[i].addr), "%s", other);
		p[i].bytes = s.rows[i].bytes;
		p[i].flows = 1;
	}
	qsort(p, s.n, sizeof(*p), cmp_peer_addr);
	for (size_t i = 0; i < s.n; i++) {
		if (np && !strcmp(p[np - 1].addr, p[i].addr)) {
			p[np - 1].bytes += p[i].bytes;
			p[np - 1].flows += p[i].flows;
		} else {
			p[np++] = p[i];
		}
	}
	qsort(p, np, sizeof(*p), cmp_peer);
	ku64(j, "flows_held", s.n);
	weirctl_json_key(j, "peers");
	weirctl_json_begin_arr(j);
	for (size_t k = 0; k < np && k < 200; k++) {
		weirctl_json_begin_obj(j);
		kstr(j, "addr", p[k].addr);
		ku64(j, "bytes", p[k].bytes);
		ku64(j, "flows", p[k].flows);
		weirctl_json_end_obj(j);
	}
	weirctl_json_end_arr(j);
	free(p);
	free(s.rows);
	return 200;
}
