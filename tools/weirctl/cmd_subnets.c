/* cmd_subnets.c -- `weirctl subnets`: traffic between named subnets.
 *
 * P subnets ranks the pairs SRC>DST (flows initiated in SRC towards DST,
 * both directions counted). The list prints them as they rank; --matrix
 * draws the same numbers as a grid, rows the initiating subnet, columns
 * the responding one, rows and columns ordered by their totals, so the
 * busiest corner is top left. Pairs are few (named subnets squared), so
 * the matrix is built in memory.
 *
 * The filters choose pairs from their ids SRC>DST before any hash is
 * read: --subnet NAME the pairs with NAME at either end (SRC>DST: that
 * pair); --host IP the pairs with the subnet of the address (the
 * `subnet` field of its hosts) at either end; --vlan N the pairs that
 * have flows on VLAN N, which only the engine's flow indexes know (one
 * SINTERCARD of idx:vlan:N and idx:subnet:PAIR a pair, so only the flows
 * the engine still holds count). The numbers stay the pairs' own. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

static const char *const subnet_strings[] = { "src", "dst", NULL };

struct names {
	char **name;
	uint64_t *total;
	size_t n, cap;
};

struct pair {
	size_t row, col;
	uint64_t bytes;
};

struct subnets_walk {
	struct weirctl_json j;
	struct weirctl_table *t;
	uint64_t n;
	/* --matrix */
	struct names rows, cols;
	struct pair *pairs;
	size_t npairs, cap;
	long top;
	struct names ends;	/* --host: its subnets; a pair needs one */
	struct names picked;	/* --vlan: the pairs with flows on it */
	bool by_host, by_vlan;
};

static size_t
names_add(struct names *ns, const char *name, uint64_t bytes)
{
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->name[i], name)) {
			ns->total[i] += bytes;
			return i;
		}
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 16;
		ns->name = realloc(ns->name, ns->cap * sizeof(*ns->name));
		ns->total = realloc(ns->total, ns->cap * sizeof(*ns->total));
		if (!ns->name || !ns->total)
			abort();
	}
	ns->name[ns->n] = strdup(name);
	ns->total[ns->n] = bytes;
	if (!ns->name[ns->n])
		abort();
	return ns->n++;
}

static void
names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->name[i]);
	free(ns->name);
	free(ns->total);
}

/* The pair's names from its hash, or from the member id SRC>DST. */
static void
pair_names(const char *id, const redisReply *h, char *src, char *dst,
	   size_t len)
{
	const char *s = weirctl_hash_get(h, "src");
	const char *d = weirctl_hash_get(h, "dst");
	const char *gt = strchr(id, '>');

	if (s && d) {
		snprintf(src, len, "%s", s);
		snprintf(dst, len, "%s", d);
	} else if (gt) {
		snprintf(src, len, "%.*s", (int)(gt - id), id);
		snprintf(dst, len, "%s", gt + 1);
	} else {
		snprintf(src, len, "%s", id);
		snprintf(dst, len, "?");
	}
}

static bool
names_has(const struct names *ns, const char *name, size_t len)
{
	for (size_t i = 0; i < ns->n; i++)
		if (strlen(ns->name[i]) == len && !memcmp(ns->name[i], name, len))
			return true;
	return false;
}

static bool
pair_id_wanted(struct weirctl_ctx *ctx, void *arg, const char *id)
{
	struct subnets_walk *w = arg;
	const char *gt = strchr(id, '>'), *want = ctx->f.subnet;

	if (!gt)
		return !want && !w->by_host && !w->by_vlan;
	size_t ls = (size_t)(gt - id), ld = strlen(gt + 1);

	if (want && !weirctl_subnet_match(want, id, ls, gt + 1))
		return false;
	if (w->by_host && !names_has(&w->ends, id, ls) &&
	    !names_has(&w->ends, gt + 1, ld))
		return false;
	if (w->by_vlan && !names_has(&w->picked, id, strlen(id)))
		return false;
	return true;
}

/* The subnets of the hosts of address --host, over the view. */
static int
host_subnets(struct weirctl_ctx *ctx, struct names *out)
{
	char canon[INET6_ADDRSTRLEN];
	struct weirctl_zsum ids;
	redisReply **hs;
	int ret;

	inet_ntop(ctx->f.host.af, ctx->f.host.bin, canon, sizeof(canon));
	ret = weirctl_host_hashes(ctx, canon, &ids, &hs);
	if (!hs)
		goto out;
	for (size_t i = 0; i < ids.n; i++) {
		const char *sn = hs[i] ? weirctl_hash_get(hs[i], "subnet") : NULL;

		if (!ret && sn && *sn)
			names_add(out, sn, 0);
		if (hs[i])
			freeReplyObject(hs[i]);
	}
	free(hs);
out:
	weirctl_zsum_free(&ids);
	return ret;
}

/* The pairs with flows on VLAN --vlan, from each node's indexes. */
static int
vlan_pairs(struct weirctl_ctx *ctx, struct names *out)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	struct weirctl_pipe p = { 0 };
	long focus = ctx->focus;
	int ret = WC_EXIT_OK;

	for (size_t k = 0; k < nv && !ret; k++) {
		const char *kp = ctx->nodes[vw[k]].keypfx;
		bool kept, no_flows;
		redisReply *pairs;

		weirctl_node_focus(ctx, vw[k]);
		ret = weirctl_flow_indexes_kept(ctx, &kept, &no_flows);
		if (ret || no_flows)
			continue;
		if (!kept) {
			weirctl_err("subnets --vlan: node %s publishes no flow indexes "
				    "(%sidx:*), and nothing else says which pairs had "
				    "flows on a VLAN", ctx->cur_node, kp);
			ret = WC_EXIT_NODATA;
			break;
		}
		ret = weirctl_zrevrange_scores(ctx, "subnets", 100000, &pairs);
		if (ret)
			break;
		weirctl_pipe_clear(&p);
		for (size_t i = 0; i < pairs->elements; i += 2)
			weirctl_pipe_add(&p, "SINTERCARD 2 %sidx:vlan:%ld %sidx:subnet:%b "
					 "LIMIT 1", kp, ctx->f.vlan, kp,
					 pairs->element[i]->str, pairs->element[i]->len);
		if (p.n && weirctl_pipe_run(ctx, (int)vw[k], &p)) {
			ret = weirctl_redis_fail(ctx, "SINTERCARD");
		} else {
			for (size_t i = 0; i < p.n && !ret; i++) {
				const redisReply *r = p.r[i];

				if (r->type == REDIS_REPLY_ERROR) {
					weirctl_err("Redis at %s answered SINTERCARD with "
						    "an error: %s (SINTERCARD needs Redis "
						    "7.0)", ctx->conn.shown, r->str);
					ret = WC_EXIT_REDIS;
				} else if (r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
					names_add(out, pairs->element[2 * i]->str, 0);
				}
			}
		}
		freeReplyObject(pairs);
	}
	weirctl_pipe_free(&p);
	weirctl_node_restore(ctx, focus);
	return ret;
}

static int
subnet_row(struct weirctl_ctx *ctx, void *arg, const char *id,
	   const redisReply *h)
{
	struct subnets_walk *w = arg;
	uint64_t bytes = weirctl_hash_u64(h, "bytes");
	char src[256], dst[256], b[5][48];

	if (w->top && w->n >= (uint64_t)w->top)
		return 1;
	w->n++;
	pair_names(id, h, src, dst, sizeof(src));
	if (ctx->f.matrix) {
		if (w->npairs == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 64;
			w->pairs = realloc(w->pairs, w->cap * sizeof(*w->pairs));
			if (!w->pairs)
				abort();
		}
		w->pairs[w->npairs].row = names_add(&w->rows, src, bytes);
		w->pairs[w->npairs].col = names_add(&w->cols, dst, bytes);
		w->pairs[w->npairs++].bytes = bytes;
		return 0;
	}
	if (ctx->json) {
		weirctl_json_begin_obj(&w->j);
		weirctl_json_key(&w->j, "id");
		weirctl_json_str(&w->j, id);
		weirctl_json_hash_fields(&w->j, h, subnet_strings);
		weirctl_json_end_obj(&w->j);
		return 0;
	}
	weirctl_table_cell(w->t, "%s", src);
	weirctl_table_cell(w->t, "%s", dst);
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(bytes, b[0], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_count(
		weirctl_hash_u64(h, "pkts"), b[1], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
		weirctl_hash_u64(h, "bytes_fwd"), b[2], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
		weirctl_hash_u64(h, "bytes_rev"), b[3], 48));
	weirctl_table_cell(w->t, "%llu",
			   (unsigned long long)weirctl_hash_u64(h, "flows"));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bps(
		weirctl_hash_u64(h, "bps"), b[4], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_time(
		weirctl_hash_u64(h, "last_seen"), b[0], 48));
	weirctl_table_end_row(w->t);
	return 0;
}

/* Orders the indexes of ns by total bytes, then by name. */
static const struct names *sort_ns;

static int
cmp_idx(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	if (sort_ns->total[a] != sort_ns->total[b])
		return sort_ns->total[a] > sort_ns->total[b] ? -1 : 1;
	return strcmp(sort_ns->name[a], sort_ns->name[b]);
}

static size_t *
order_of(const struct names *ns)
{
	size_t *o = malloc((ns->n ? ns->n : 1) * sizeof(*o));

	if (!o)
		abort();
	for (size_t i = 0; i < ns->n; i++)
		o[i] = i;
	sort_ns = ns;
	qsort(o, ns->n, sizeof(*o), cmp_idx);
	return o;
}

static void
print_matrix(struct weirctl_ctx *ctx, struct subnets_walk *w)
{
	size_t nr = w->rows.n, nc = w->cols.n;
	size_t *ro = order_of(&w->rows), *co = order_of(&w->cols);
	uint64_t *cell = calloc((nr ? nr : 1) * (nc ? nc : 1), sizeof(*cell));
	bool *has = calloc((nr ? nr : 1) * (nc ? nc : 1), sizeof(*has));

	if (!cell || !has)
		abort();
	for (size_t i = 0; i < w->npairs; i++) {
		cell[w->pairs[i].row * nc + w->pairs[i].col] += w->pairs[i].bytes;
		has[w->pairs[i].row * nc + w->pairs[i].col] = true;
	}
	if (ctx->json) {
		weirctl_json_begin_obj(&w->j);
		weirctl_json_key(&w->j, "rows");
		weirctl_json_begin_arr(&w->j);
		for (size_t r = 0; r < nr; r++)
			weirctl_json_str(&w->j, w->rows.name[ro[r]]);
		weirctl_json_end_arr(&w->j);
		weirctl_json_key(&w->j, "columns");
		weirctl_json_begin_arr(&w->j);
		for (size_t c = 0; c < nc; c++)
			weirctl_json_str(&w->j, w->cols.name[co[c]]);
		weirctl_json_end_arr(&w->j);
		weirctl_json_key(&w->j, "bytes");
		weirctl_json_begin_arr(&w->j);
		for (size_t r = 0; r < nr; r++) {
			weirctl_json_begin_arr(&w->j);
			for (size_t c = 0; c < nc; c++) {
				size_t k = ro[r] * nc + co[c];

				if (has[k])
					weirctl_json_u64(&w->j, cell[k]);
				else
					weirctl_json_null(&w->j);
			}
			weirctl_json_end_arr(&w->j);
		}
		weirctl_json_end_arr(&w->j);
		weirctl_json_end_obj(&w->j);
	} else {
		/* Headers: "SRC \ DST", each destination, "TOTAL". */
		const char **hdr = calloc(nc + 2, sizeof(*hdr));
		char *align = calloc(nc + 3, 1);
		char b[48];
		uint64_t grand = 0;
		struct weirctl_table *t;

		if (!hdr || !align)
			abort();
		hdr[0] = "SRC \\ DST";
		align[0] = 'l';
		for (size_t c = 0; c < nc; c++) {
			hdr[c + 1] = w->cols.name[co[c]];
			align[c + 1] = 'r';
		}
		hdr[nc + 1] = "TOTAL";
		align[nc + 1] = 'r';
		t = weirctl_table_new(hdr, align);
		for (size_t r = 0; r < nr; r++) {
			weirctl_table_cell(t, "%s", w->rows.name[ro[r]]);
			for (size_t c = 0; c < nc; c++) {
				size_t k = ro[r] * nc + co[c];

				weirctl_table_cell(t, "%s", has[k] ?
					weirctl_fmt_bytes(cell[k], b, 48) : "-");
			}
			weirctl_table_cell(t, "%s", weirctl_fmt_bytes(
				w->rows.total[ro[r]], b, 48));
			grand += w->rows.total[ro[r]];
			weirctl_table_end_row(t);
		}
		weirctl_table_cell(t, "TOTAL");
		for (size_t c = 0; c < nc; c++)
			weirctl_table_cell(t, "%s", weirctl_fmt_bytes(
				w->cols.total[co[c]], b, 48));
		weirctl_table_cell(t, "%s", weirctl_fmt_bytes(grand, b, 48));
		weirctl_table_end_row(t);
		weirctl_print_publish_line(ctx);
		fprintf(ctx->out, "bytes of flows initiated in a row's "
			"subnet towards a column's (both directions)\n\n");
		weirctl_table_print(t, ctx->out, ctx->color);
		weirctl_table_free(t);
		free(hdr);
		free(align);
	}
	free(cell);
	free(has);
	free(ro);
	free(co);
}

static int
run_subnets(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"SRC", "DST", "BYTES", "PKTS", "FWD", "REV", "FLOWS", "RATE",
		"LAST SEEN"
	};
	struct subnets_walk w = { .top = ctx->f.top > 0 ? ctx->f.top : 0,
				  .by_host = ctx->f.host.af != 0,
				  .by_vlan = ctx->f.vlan >= 0 };
	int ret = WC_EXIT_OK;

	if (w.by_host)
		ret = host_subnets(ctx, &w.ends);
	if (!ret && w.by_vlan)
		ret = vlan_pairs(ctx, &w.picked);
	if (ret) {
		names_free(&w.ends);
		names_free(&w.picked);
		return ret;
	}
	if (ctx->json)
		weirctl_json_init(&w.j, ctx->out);
	if (ctx->json && !ctx->f.matrix)
		weirctl_json_begin_arr(&w.j);
	if (!ctx->json && !ctx->f.matrix)
		w.t = weirctl_table_new(hdr, "llrrrrrrl");
	ret = weirctl_walk(ctx, "subnets", "subnet:", pair_id_wanted, subnet_row, &w);
	if (ctx->f.matrix) {
		if (ret == WC_EXIT_OK)
			print_matrix(ctx, &w);
	} else if (ctx->json) {
		weirctl_json_end_arr(&w.j);
	} else if (ret == WC_EXIT_OK) {
		weirctl_print_publish_line(ctx);
		weirctl_table_print(w.t, ctx->out, ctx->color);
		weirctl_print_shown(ctx, w.n, "subnets", "subnet pairs");
	}
	weirctl_table_free(w.t);
	names_free(&w.rows);
	names_free(&w.cols);
	names_free(&w.ends);
	names_free(&w.picked);
	free(w.pairs);
	return ret;
}

const struct weirctl_cmd weirctl_cmd_subnets = {
	.name = "subnets",
	.args = "[--subnet NAME|SRC>DST] [--host IP] [--vlan N] [--top N]\n"
		"                     [--matrix]",
	.summary = "traffic between named subnets (list or --matrix)",
	.help =
	"Lists the subnet pairs SRC > DST, most bytes first: the flows\n"
	"initiated in SRC towards DST, both directions counted; FWD is the\n"
	"initiators' direction, REV the answers. 'remote' is every address\n"
	"outside the named subnets.\n"
	"\n"
	"  --matrix        the same bytes as a grid: rows are the initiating\n"
	"                  subnet, columns the responding one, with totals.\n"
	"                  With --json: {\"rows\":[..],\"columns\":[..],\n"
	"                  \"bytes\":[[..]]}, null where no flow went.\n"
	"  --subnet NAME   only the pairs with subnet NAME at either end\n"
	"                  (SRC>DST: only that pair)\n"
	"  --host IP       only the pairs with IP's subnet at either end\n"
	"  --vlan N        only the pairs with flows on VLAN N that the engine\n"
	"                  still holds (needs its flow indexes)\n"
	"  --top N         stop after N pairs\n"
	"\n"
	"The numbers are the pairs' own, all their traffic: the filters\n"
	"choose pairs, they do not split them.\n",
	.filters = WC_F_MATRIX | WC_F_SUBNET | WC_F_HOST | WC_F_VLAN | WC_F_TOP,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_subnets,
};
