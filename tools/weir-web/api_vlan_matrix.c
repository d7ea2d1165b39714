/* api_vlan_matrix.c -- /api/vlans?form=matrix: who talks to whom across
 * VLANs.
 *
 * A flow lives on one VLAN (the tag of its frames), so a conversation a
 * router carries between two VLANs shows up as a flow on each; the
 * matrix instead places every flow by its ends' home VLANs. An address's
 * home VLAN is, among the VLANs the engine lists (P vlans), the one on
 * which it sent the most bytes (bytes_sent of P host:ADDR@VLAN, summed
 * over the nodes of the view); an address that sent nothing takes the
 * one on which it received the most; a tie goes to the lowest VLAN id.
 * The host hashes read are bounded (LOOKUPS_MAX): past that only the
 * busiest VLANs and those of the address's own flows are candidates
 * ("homes_bounded"). Each flow held (state=active or ended narrows them) then adds
 * its bytes, packets and 1 to the cell (home of src, home of dst).
 *
 * The walk is the one /api/flows makes, with its bounds ("truncated"
 * says when one was hit); the host hashes are read once per (address,
 * VLAN) pair, pipelined. The axes list the busiest VLANs first, at most
 * AXIS_MAX of them ("axis_truncated"); row and column totals count every
 * cell of the row or column, shown or not. */
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define AXIS_MAX 64
#define LOOKUPS_MAX 500000
#define BATCH 1000

struct end {
	const char *addr;
	unsigned vlan;
	uint64_t sent, rcvd;
};

struct home {
	const char *addr;
	unsigned vlan;
};

struct cell {
	uint32_t key;		/* row << 12 | col */
	uint64_t bytes, pkts, flows;
};

static int
cmp_end(const void *a, const void *b)
{
	const struct end *x = a, *y = b;
	int c = strcmp(x->addr, y->addr);

	if (c)
		return c;
	return x->vlan < y->vlan ? -1 : x->vlan > y->vlan;
}

static int
cmp_home(const void *a, const void *b)
{
	return strcmp(((const struct home *)a)->addr, ((const struct home *)b)->addr);
}

static int
cmp_cell(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* bytes_sent and bytes_rcvd of every end's host hash, summed over the
 * nodes of the view. Returns 0 or -1 on a Redis error. */
static int
read_ends(struct weirctl_ctx *ctx, struct end *e, size_t n)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	struct weirctl_pipe p = { 0 };
	long focus = ctx->focus;
	int ret = 0;

	for (size_t k = 0; k < nv && !ret; k++) {
		weirctl_node_focus(ctx, vw[k]);
		for (size_t at = 0; at < n && !ret; at += BATCH) {
			size_t m = n - at < BATCH ? n - at : BATCH;

			weirctl_pipe_clear(&p);
			for (size_t i = 0; i < m; i++)
				weirctl_pipe_add(&p, "HMGET %shost:%s@%u bytes_sent bytes_rcvd",
						 ctx->keypfx, e[at + i].addr, e[at + i].vlan);
			if (weirctl_pipe_run(ctx, -1, &p)) {
				ret = -1;
				break;
			}
			for (size_t i = 0; i < m; i++) {
				const redisReply *r = p.r[i];

				if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
					continue;
				if (r->element[0]->type == REDIS_REPLY_STRING)
					e[at + i].sent += strtoull(r->element[0]->str, NULL, 10);
				if (r->element[1]->type == REDIS_REPLY_STRING)
					e[at + i].rcvd += strtoull(r->element[1]->str, NULL, 10);
			}
		}
	}
	weirctl_pipe_free(&p);
	weirctl_node_restore(ctx, focus);
	return ret;
}

/* One home per address, from ends sorted by address then VLAN. */
static size_t
pick_homes(const struct end *e, size_t n, struct home *h)
{
	size_t nh = 0;

	for (size_t i = 0; i < n;) {
		size_t k = i, best = i;

		for (; k < n && !strcmp(e[k].addr, e[i].addr); k++) {
			bool by_sent = e[best].sent || e[k].sent;

			if (by_sent ? e[k].sent > e[best].sent : e[k].rcvd > e[best].rcvd)
				best = k;
		}
		h[nh].addr = e[i].addr;
		h[nh].vlan = e[best].vlan;
		nh++;
		i = k;
	}
	return nh;
}

static unsigned
home_of(const struct home *h, size_t nh, const char *addr)
{
	struct home key = { .addr = addr };
	const struct home *f = bsearch(&key, h, nh, sizeof(*h), cmp_home);

	return f ? f->vlan : 0;
}

struct axis {
	unsigned vlan[4096];
	uint64_t total[4096];
	size_t n;
};

/* The VLANs with flows, busiest first (then the lowest id). */
static void
axis_build(struct axis *ax, const uint64_t *bytes, const bool *used)
{
	ax->n = 0;
	for (unsigned v = 0; v < 4096; v++)
		if (used[v]) {
			size_t k = ax->n++;

			for (; k > 0 && ax->total[k - 1] < bytes[v]; k--) {
				ax->vlan[k] = ax->vlan[k - 1];
				ax->total[k] = ax->total[k - 1];
			}
			ax->vlan[k] = v;
			ax->total[k] = bytes[v];
		}
}

static long
axis_pos(const struct axis *ax, size_t shown, unsigned v)
{
	for (size_t i = 0; i < shown; i++)
		if (ax->vlan[i] == v)
			return (long)i;
	return -1;
}

static void
write_axis(struct weirctl_json *j, const char *key, const struct axis *ax, size_t n,
	   bool totals)
{
	weirctl_json_key(j, key);
	weirctl_json_begin_arr(j);
	for (size_t i = 0; i < n; i++)
		weirctl_json_u64(j, totals ? ax->total[i] : ax->vlan[i]);
	weirctl_json_end_arr(j);
}

static void
write_cells(struct weirctl_json *j, const char *key, const uint64_t *m, size_t nr,
	    size_t nc)
{
	weirctl_json_key(j, key);
	weirctl_json_begin_arr(j);
	for (size_t r = 0; r < nr; r++) {
		weirctl_json_begin_arr(j);
		for (size_t k = 0; k < nc; k++)
			weirctl_json_u64(j, m[r * nc + k]);
		weirctl_json_end_arr(j);
	}
	weirctl_json_end_arr(j);
}

int
web_vlan_matrix(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o)
{
	struct weirctl_json *j = &o->j;
	struct web_flow_brief *f = NULL;
	struct end *e = NULL;
	struct home *h = NULL;
	struct cell *cl = NULL;
	struct axis *rows = NULL, *cols = NULL;
	uint64_t *mb = NULL, *mp = NULL, *mf = NULL, examined = 0;
	uint64_t *rbytes = NULL, *cbytes = NULL;
	bool *rused = NULL, *cused = NULL, truncated = false, homes_bounded = false;
	const char *state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	size_t n = 0, ne = 0, nh, ncl = 0, nr, nc;
	int ret;

	ret = web_flows_brief(c, ctx, o, &f, &n, &truncated, &examined);
	if (ret != 200)
		return ret;
	e = calloc(2 * n + 1, sizeof(*e));
	h = calloc(2 * n + 1, sizeof(*h));
	cl = calloc(n + 1, sizeof(*cl));
	rows = calloc(1, sizeof(*rows));
	cols = calloc(1, sizeof(*cols));
	rbytes = calloc(4096, sizeof(*rbytes));
	cbytes = calloc(4096, sizeof(*cbytes));
	rused = calloc(4096, sizeof(*rused));
	cused = calloc(4096, sizeof(*cused));
	if (!e || !h || !cl || !rows || !cols || !rbytes || !cbytes || !rused || !cused) {
		ret = web_fail(o, 500, "out of memory");
		goto out;
	}
	/* every (address, VLAN) a flow has, once */
	for (size_t i = 0; i < n; i++) {
		e[ne++] = (struct end){ .addr = f[i].src, .vlan = f[i].vlan };
		e[ne++] = (struct end){ .addr = f[i].dst, .vlan = f[i].vlan };
	}
	if (ne)
		qsort(e, ne, sizeof(*e), cmp_end);
	size_t u = 0;

	for (size_t i = 0; i < ne; i++)
		if (!u || cmp_end(&e[u - 1], &e[i]))
			e[u++] = e[i];
	ne = u;
	/* and every address on every VLAN listed, within the bound */
	struct weirctl_zsum z = { 0 };
	size_t na = 0, nvl;

	if (weirctl_zsum_read(ctx, "vlans", &z) != WC_EXIT_OK) {
		ret = web_fail(o, 502, "Redis failed while reading vlans");
		goto out;
	}
	for (size_t i = 0; i < ne; i++)
		na += !i || strcmp(e[i - 1].addr, e[i].addr);
	nvl = na ? LOOKUPS_MAX / na : 0;
	homes_bounded = na && z.n > nvl;	/* no flows: nothing was left out */
	if (nvl > z.n)
		nvl = z.n;
	struct end *all = calloc(ne + na * nvl + 1, sizeof(*all));

	if (!all) {
		weirctl_zsum_free(&z);
		ret = web_fail(o, 500, "out of memory");
		goto out;
	}
	memcpy(all, e, ne * sizeof(*e));
	u = ne;
	for (size_t i = 0; i < ne; i++) {
		if (i && !strcmp(e[i - 1].addr, e[i].addr))
			continue;
		for (size_t k = 0; k < nvl; k++) {
			char *end;
			long v = strtol(z.v[k].m, &end, 10);

			if (!*end && v >= 0 && v < 4096)
				all[u++] = (struct end){ .addr = e[i].addr, .vlan = (unsigned)v };
		}
	}
	weirctl_zsum_free(&z);
	free(e);
	e = all;
	ne = u;
	qsort(e, ne, sizeof(*e), cmp_end);
	u = 0;
	for (size_t i = 0; i < ne; i++)
		if (!u || cmp_end(&e[u - 1], &e[i]))
			e[u++] = e[i];
	ne = u;
	if (read_ends(ctx, e, ne)) {
		ret = web_fail(o, 502, "Redis failed while reading hosts");
		goto out;
	}
	nh = pick_homes(e, ne, h);	/* sorted by address, as e */

	for (size_t i = 0; i < n; i++) {
		unsigned r = home_of(h, nh, f[i].src), k = home_of(h, nh, f[i].dst);

		cl[i] = (struct cell){ .key = r << 12 | k, .bytes = f[i].bytes,
				       .pkts = f[i].pkts, .flows = 1 };
		rbytes[r] += f[i].bytes;
		cbytes[k] += f[i].bytes;
		rused[r] = cused[k] = true;
	}
	if (n)
		qsort(cl, n, sizeof(*cl), cmp_cell);
	for (size_t i = 0; i < n; i++) {
		if (ncl && cl[ncl - 1].key == cl[i].key) {
			cl[ncl - 1].bytes += cl[i].bytes;
			cl[ncl - 1].pkts += cl[i].pkts;
			cl[ncl - 1].flows += cl[i].flows;
		} else {
			cl[ncl++] = cl[i];
		}
	}
	axis_build(rows, rbytes, rused);
	axis_build(cols, cbytes, cused);
	nr = rows->n < AXIS_MAX ? rows->n : AXIS_MAX;
	nc = cols->n < AXIS_MAX ? cols->n : AXIS_MAX;
	mb = calloc(nr * nc + 1, sizeof(*mb));
	mp = calloc(nr * nc + 1, sizeof(*mp));
	mf = calloc(nr * nc + 1, sizeof(*mf));
	if (!mb || !mp || !mf) {
		ret = web_fail(o, 500, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ncl; i++) {
		long r = axis_pos(rows, nr, cl[i].key >> 12), k = axis_pos(cols, nc, cl[i].key & 4095);

		if (r < 0 || k < 0)
			continue;
		mb[(size_t)r * nc + (size_t)k] = cl[i].bytes;
		mp[(size_t)r * nc + (size_t)k] = cl[i].pkts;
		mf[(size_t)r * nc + (size_t)k] = cl[i].flows;
	}

	weirctl_json_begin_obj(j);
	weirctl_json_key(j, "node");
	weirctl_json_str(j, ctx->node);
	weirctl_json_key(j, "unit");
	weirctl_json_str(j, "bytes");
	weirctl_json_key(j, "state");
	weirctl_json_str(j, state ? state : "any");
	weirctl_json_key(j, "flows_examined");
	weirctl_json_u64(j, examined);
	weirctl_json_key(j, "flows");
	weirctl_json_u64(j, n);
	weirctl_json_key(j, "addresses");
	weirctl_json_u64(j, nh);
	weirctl_json_key(j, "truncated");
	weirctl_json_raw_num(j, truncated ? "true" : "false");
	weirctl_json_key(j, "homes_bounded");
	weirctl_json_raw_num(j, homes_bounded ? "true" : "false");
	weirctl_json_key(j, "axis_truncated");
	weirctl_json_raw_num(j, rows->n > nr || cols->n > nc ? "true" : "false");
	write_axis(j, "rows", rows, nr, false);
	write_axis(j, "cols", cols, nc, false);
	write_cells(j, "cells", mb, nr, nc);
	write_cells(j, "cells_pkts", mp, nr, nc);
	write_cells(j, "cells_flows", mf, nr, nc);
	write_axis(j, "row_totals", rows, nr, true);
	write_axis(j, "col_totals", cols, nc, true);
	weirctl_json_end_obj(j);
	ret = 200;
out:
	free(f);
	free(e);
	free(h);
	free(cl);
	free(rows);
	free(cols);
	free(rbytes);
	free(cbytes);
	free(rused);
	free(cused);
	free(mb);
	free(mp);
	free(mf);
	return ret;
}
