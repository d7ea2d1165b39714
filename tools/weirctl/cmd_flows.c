/* cmd_flows.c -- `weirctl flows`: the flows the engine still holds, and
 * with --recent the last flows that ended.
 *
 * P flows may hold a million members, so this is the command the walker
 * was built for: batches of ZREVRANGE (already sorted by bytes), pipelined
 * HGETALLs, each object written as soon as it is read. Flow ids say
 * nothing about the flow, so a filter needs the hash; when the engine
 * keeps its idx:* sets, --host, --vlan, --subnet, --port and --app first
 * ask them which flows to read (flow_index.c), and only those hashes are
 * fetched, pipelined, then sorted by bytes like the walk would have.
 *
 * --recent reads P flows:ended, newest first (stream_read.c): the flows
 * that ended, with the fields they had then, even those P flows dropped
 * since. The same filters apply to the entries' fields, --subnet to their
 * src_subnet and dst_subnet (absent from an older engine's entries: left
 * out, and said). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weirctl.h"

/* Fields that stay JSON strings whatever they look like: a JA3 hash may
 * be all decimal digits, a DHCP hostname "1234". dns_rcode and risk (a
 * bitmap below 2^42 in nDPI 4.2) are numbers. */
static const char *const flow_strings[] = {
	"id", "src", "dst", "state", "end_reason", "src_mac", "dst_mac", "exporter",
	"app", "application", "category", "detection", "confidence",
	"server_name", "ja3c", "ja3s", "url", "ssh_client", "ssh_server", "risk_text",
	"src_subnet", "dst_subnet", NULL
};

struct flows_walk {
	struct weirctl_json j;
	struct weirctl_table *t;
	uint64_t n;
	long top;
	bool merged;		/* several nodes: a NODE column, a node field */
};

static bool
flow_matches(const struct weirctl_filters *f, const redisReply *h)
{
	if (f->vlan >= 0 && (long)weirctl_hash_u64(h, "vlan") != f->vlan)
		return false;
	if (f->proto >= 0 && (int)weirctl_hash_u64(h, "proto") != f->proto)
		return false;
	if (f->port >= 0 && (long)weirctl_hash_u64(h, "sport") != f->port &&
	    (long)weirctl_hash_u64(h, "dport") != f->port)
		return false;
	if (f->app && !weirctl_app_matches(f->app, weirctl_hash_get(h, "app"),
					    weirctl_hash_get(h, "application")))
		return false;
	if (f->category) {
		const char *c = weirctl_hash_get(h, "category");

		if (!c || strcasecmp(c, f->category))
			return false;
	}
	if (f->host.af &&
	    !weirctl_addr_eq_text(&f->host, weirctl_hash_get(h, "src")) &&
	    !weirctl_addr_eq_text(&f->host, weirctl_hash_get(h, "dst")))
		return false;
	return true;
}

/* One flow of node as a JSON object or a table row. stream_id: the
 * flows:ended entry it came from (--recent), NULL for P flows. */
static void
flow_out(struct weirctl_ctx *ctx, struct flows_walk *w, const char *node,
	 const char *id, const char *stream_id, const redisReply *h)
{
	char b[4][48];

	if (ctx->json) {
		weirctl_json_begin_obj(&w->j);
		if (stream_id) {
			weirctl_json_key(&w->j, "stream_id");
			weirctl_json_str(&w->j, stream_id);
		}
		if (w->merged) {
			weirctl_json_key(&w->j, "node");
			weirctl_json_str(&w->j, node);
		}
		if (!stream_id || !weirctl_hash_get(h, "id")) {
			weirctl_json_key(&w->j, "id");
			weirctl_json_str(&w->j, id);
		}
		weirctl_json_hash_fields(&w->j, h, flow_strings);
		weirctl_json_end_obj(&w->j);
	} else {
		const char *src = weirctl_hash_get(h, "src");
		const char *dst = weirctl_hash_get(h, "dst");
		const char *state = weirctl_hash_get(h, "state");

		if (!state && stream_id)
			state = "ended";	/* the stream holds only those */
		const char *reason = weirctl_hash_get(h, "end_reason");
		const char *app = weirctl_hash_get(h, "app");
		uint64_t first = weirctl_hash_u64(h, "first_seen");
		uint64_t last = weirctl_hash_u64(h, "last_seen");

		weirctl_table_cell(w->t, "%s", node);
		if (stream_id)
			weirctl_table_cell(w->t, "%s", weirctl_fmt_time(
				weirctl_stream_id_ms(stream_id), b[0], 48));
		weirctl_table_cell(w->t, "%s", src ? src : "?");
		weirctl_table_cell(w->t, "%llu",
				   (unsigned long long)weirctl_hash_u64(h, "sport"));
		weirctl_table_cell(w->t, "%s", dst ? dst : "?");
		weirctl_table_cell(w->t, "%llu",
				   (unsigned long long)weirctl_hash_u64(h, "dport"));
		weirctl_table_cell(w->t, "%s", weirctl_proto_name(
			(unsigned)weirctl_hash_u64(h, "proto"), b[0], 48));
		weirctl_table_cell(w->t, "%s", app && *app ? app : "-");
		weirctl_table_cell(w->t, "%llu",
				   (unsigned long long)weirctl_hash_u64(h, "vlan"));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
			weirctl_hash_u64(h, "bytes"), b[0], 48));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_count(
			weirctl_hash_u64(h, "pkts"), b[1], 48));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
			weirctl_hash_u64(h, "bytes_fwd"), b[2], 48));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
			weirctl_hash_u64(h, "bytes_rev"), b[3], 48));
		if (state && reason && *reason && strcmp(state, "active"))
			weirctl_table_cell(w->t, "%s (%s)", state, reason);
		else
			weirctl_table_cell(w->t, "%s", state ? state : "?");
		weirctl_table_cell(w->t, "%s", weirctl_fmt_time(first, b[0], 48));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_age(
			last > first ? (int64_t)(last - first) : 0, b[1], 48));
		weirctl_table_cell(w->t, "%s", id);
		weirctl_table_end_row(w->t);
	}
}

static int
flow_row(struct weirctl_ctx *ctx, void *arg, const char *id,
	 const redisReply *h)
{
	struct flows_walk *w = arg;

	if (!flow_matches(&ctx->f, h))
		return 0;
	w->n++;
	flow_out(ctx, w, ctx->cur_node, id, NULL, h);
	return w->top && w->n >= (uint64_t)w->top ? 1 : 0;
}

/* ---- flows through the indexes ---------------------------------------- */

/* Reads the hashes of r->v[at..at+k) (each on its node, one pipeline a
 * node) into h[0..k): NULL for a flow gone since it was ranked. */
static int
read_ranked(struct weirctl_ctx *ctx, const struct weirctl_rank *r, size_t at,
	    size_t k, redisReply **h)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	struct weirctl_pipe p = { 0 };
	int ret = WC_EXIT_OK;

	for (size_t i = 0; i < k; i++)
		h[i] = NULL;
	for (size_t a = 0; a < nv && !ret; a++) {
		size_t node = vw[a], q = 0;

		weirctl_pipe_clear(&p);
		for (size_t i = at; i < at + k; i++)
			if (r->v[i].node == node)
				weirctl_pipe_add(&p, "HGETALL %sflow:%s",
						 ctx->nodes[node].keypfx, r->v[i].id);
		if (!p.n)
			continue;
		if (weirctl_pipe_run(ctx, (int)node, &p)) {
			ret = weirctl_redis_fail(ctx, "HGETALL");
			break;
		}
		for (size_t i = at; i < at + k; i++) {
			redisReply *x;

			if (r->v[i].node != node)
				continue;
			x = p.r[q++];
			if (x->type == REDIS_REPLY_ERROR) {
				weirctl_err("Redis at %s answered HGETALL %sflow:%s "
					    "with an error: %s", ctx->conn.shown,
					    ctx->nodes[node].keypfx, r->v[i].id, x->str);
				ret = WC_EXIT_REDIS;
				break;
			}
			/* an empty array: the flow went since it was ranked */
			if (x->type == REDIS_REPLY_ARRAY && x->elements >= 2) {
				h[i - at] = x;
				p.r[q - 1] = NULL;
			}
		}
	}
	weirctl_pipe_free(&p);
	if (ret)
		for (size_t i = 0; i < k; i++)
			if (h[i]) {
				freeReplyObject(h[i]);
				h[i] = NULL;
			}
	return ret;
}

/* The flows the index sets name, every node's ranked together by their
 * score in P flows, then read in that order a batch at a time until
 * --top is reached: the top 50 of 25,000 cost 50 hashes. -1 (nothing
 * printed) when a node keeps no indexes or no filter was given. */
static int
flows_indexed(struct weirctl_ctx *ctx, struct flows_walk *w)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	struct weirctl_rank rk = { 0 };
	redisReply **h = NULL;
	bool used = true, exact = true, cut = false;
	size_t at = 0, grow = 0;
	int ret = WC_EXIT_OK;

	for (size_t k = 0; k < nv && !ret && used; k++) {
		size_t node = vw[k], nids;
		bool ex;
		char **ids;

		weirctl_node_focus(ctx, node);
		ret = weirctl_flow_index(ctx, &ids, &nids, &used, &ex);
		if (!ret && used)
			ret = weirctl_flow_rank(ctx, node, ids, nids, &rk);
		exact = exact && ex;
		weirctl_ids_free(ids, nids);
	}
	weirctl_node_unfocus(ctx);
	if (!ret && !used) {
		/* a node without indexes: every node's flows are read */
		weirctl_rank_free(&rk);
		return -1;
	}
	weirctl_rank_sort(&rk);
	h = calloc(WEIRCTL_BATCH, sizeof(*h));
	if (!h)
		abort();
	while (!ret && at < rk.n) {
		size_t need = w->top ? (size_t)w->top - w->n : WEIRCTL_BATCH;
		size_t k = need;

		if (!exact)	/* some will fail the hash check: read ahead */
			k = (need < 32 ? 32 : need) << (grow < 5 ? grow++ : 5);
		if (k > WEIRCTL_BATCH)
			k = WEIRCTL_BATCH;
		if (k > rk.n - at)
			k = rk.n - at;
		ret = read_ranked(ctx, &rk, at, k, h);
		for (size_t i = 0; i < k && !ret; i++) {
			if (!h[i] || !flow_matches(&ctx->f, h[i]))
				continue;
			if (w->top && w->n >= (uint64_t)w->top) {
				cut = true;
				continue;
			}
			w->n++;
			flow_out(ctx, w, ctx->nodes[rk.v[at + i].node].id,
				 rk.v[at + i].id, NULL, h[i]);
		}
		for (size_t i = 0; i < k; i++)
			if (h[i])
				freeReplyObject(h[i]);
		at += k;
		if (w->top && w->n >= (uint64_t)w->top) {
			cut = cut || at < rk.n;
			break;
		}
	}
	free(h);
	if (ret == WC_EXIT_OK && !ctx->json) {
		weirctl_print_publish_line(ctx);
		weirctl_table_print(w->t, ctx->out, ctx->color);
		if (cut && exact)
			fprintf(ctx->out, "\n%llu of %zu matching flows shown (--top N "
				"for more)\n", (unsigned long long)w->n, rk.n);
		else if (cut)
			fprintf(ctx->out, "\n%llu matching flows shown, of at most %zu "
				"(--top N for more)\n", (unsigned long long)w->n, rk.n);
		else
			fprintf(ctx->out, "\n%llu matching flows (from the engine's "
				"indexes)\n", (unsigned long long)w->n);
	}
	weirctl_rank_free(&rk);
	return ret;
}

/* ---- flows --recent ---------------------------------------------------- */

/* --subnet NAME or SRC>DST on the subnet names an ended flow carries
 * (src_subnet, dst_subnet); entries written before the engine added them
 * have none: counted in *unnamed, never matched. */
static bool
ended_wanted(struct weirctl_ctx *ctx, void *arg, const redisReply *fields)
{
	const char *want = ctx->f.subnet;
	const char *s, *d;

	if (!flow_matches(&ctx->f, fields))
		return false;
	if (!want)
		return true;
	s = weirctl_hash_get(fields, "src_subnet");
	d = weirctl_hash_get(fields, "dst_subnet");
	if (!s || !d) {
		(*(size_t *)arg)++;
		return false;
	}
	return weirctl_subnet_match(want, s, strlen(s), d);
}

static int
run_recent(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"NODE", "ENDED", "SRC", "SPORT", "DST", "DPORT", "PROTO", "APP",
		"VLAN", "BYTES", "PKTS", "FWD", "REV", "STATE", "FIRST SEEN",
		"DURATION", "ID"
	};
	struct flows_walk w = { .merged = weirctl_view_nodes(ctx) > 1 };
	struct weirctl_entries l;
	size_t unnamed = 0;
	int ret = weirctl_stream_last(ctx, "flows:ended", ctx->f.recent,
				      ended_wanted, &unnamed, &l);

	if (ret)
		return ret;
	if (unnamed)
		weirctl_err("flows --recent --subnet: %zu ended flow%s read name%s no "
			    "subnet (src_subnet, dst_subnet: written by an older "
			    "engine) and %s left out", unnamed, unnamed == 1 ? "" : "s",
			    unnamed == 1 ? "s" : "", unnamed == 1 ? "is" : "are");
	if (ctx->json) {
		weirctl_json_init(&w.j, ctx->out);
		weirctl_json_begin_arr(&w.j);
	} else {
		w.t = weirctl_table_new(hdr, "lllrlrllrrrrrllrl");
	}
	for (size_t i = 0; i < l.n; i++) {
		const redisReply *fields = l.e[i]->element[1];
		const char *id = weirctl_hash_get(fields, "id");

		flow_out(ctx, &w, ctx->nodes[l.node[i]].id, id ? id : "?",
			 l.e[i]->element[0]->str, fields);
	}
	if (ctx->json) {
		weirctl_json_end_arr(&w.j);
	} else {
		if (!w.merged)
			weirctl_table_hide(w.t, 0);
		weirctl_print_publish_line(ctx);
		if (l.n)
			weirctl_table_print(w.t, ctx->out, ctx->color);
		fprintf(ctx->out, "%s%zu ended flows, newest first (%sflows:ended%s)\n",
			l.n ? "\n" : "", l.n, w.merged ? ctx->prefix : ctx->keypfx,
			w.merged ? " of every node" : "");
		weirctl_table_free(w.t);
	}
	weirctl_entries_free(&l);
	return WC_EXIT_OK;
}

/* NAME or SRC>DST, no half empty. */
static bool
subnet_arg_ok(const char *s)
{
	const char *gt = strchr(s, '>');

	if (!gt)
		return true;
	return gt != s && gt[1] && !strchr(gt + 1, '>');
}

static int
run_flows(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"NODE", "SRC", "SPORT", "DST", "DPORT", "PROTO", "APP", "VLAN", "BYTES",
		"PKTS", "FWD", "REV", "STATE", "FIRST SEEN", "DURATION", "ID"
	};
	struct flows_walk w = { .top = ctx->f.top,
				.merged = weirctl_view_nodes(ctx) > 1 };
	int ret;

	if (ctx->f.subnet && !subnet_arg_ok(ctx->f.subnet)) {
		weirctl_err("flows --subnet: '%s' is neither a subnet name nor a "
			    "pair SRC>DST of them (weirctl subnets lists them)",
			    ctx->f.subnet);
		return WC_EXIT_USAGE;
	}
	if (ctx->f.recent >= 0) {
		if (ctx->f.top >= 0) {
			weirctl_err("flows --recent N: not with --top (N is the count)");
			return WC_EXIT_USAGE;
		}
		return run_recent(ctx);
	}
	if (w.top < 0)
		w.top = ctx->json ? 0 : 50;
	weirctl_list_begin(ctx, &w.j, &w.t, hdr, "llrlrllrrrrrllrl");
	if (!ctx->json && !w.merged)
		weirctl_table_hide(w.t, 0);
	ret = flows_indexed(ctx, &w);
	if (ret >= 0) {		/* the indexes answered (or failed) */
		if (ctx->json)
			weirctl_json_end_arr(&w.j);
		weirctl_table_free(w.t);
		return ret;
	}
	/* Flows live on one node: every node's, merged by bytes. */
	ret = weirctl_walk_union(ctx, "flows", "flow:", NULL, flow_row, &w);
	return weirctl_list_end(ctx, &w.j, w.t, w.n, ret, "flows", "flows");
}

const struct weirctl_cmd weirctl_cmd_flows = {
	.name = "flows",
	.args = "[--host IP] [--vlan N] [--subnet NAME|SRC>DST] [--port N]\n"
		"                     [--proto tcp|udp|icmp|N] [--app NAME] [--category NAME]\n"
		"                     [--top N | --recent [N]]",
	.summary = "flows sorted by bytes, active and recently ended",
	.help =
	"Lists the flows the engine holds (active ones and the most recent\n"
	"ended ones), most bytes first. SRC is the initiator; FWD counts its\n"
	"direction, REV the other. A table shows the top 50 unless --top says\n"
	"otherwise (--top 0: all); --json streams every matching flow as an\n"
	"array of objects with all the fields of its hash plus its id.\n"
	"\n"
	"  --host IP       flows with IP at either end\n"
	"  --vlan N        flows on VLAN N (0: untagged)\n"
	"  --subnet S>D    flows initiated in subnet S towards subnet D (names\n"
	"                  as weirctl subnets shows them; needs the indexes)\n"
	"  --subnet NAME   flows with subnet NAME at either end\n"
	"  --port N        flows with N as source or destination port\n"
	"  --proto P       tcp, udp, icmp, icmp6, sctp, gre or a protocol number\n"
	"  --app NAME      flows nDPI named NAME, any case: its app (TLS.YouTube)\n"
	"                  or application (YouTube), or either half of the app\n"
	"                  (TLS matches TLS.YouTube); weirctl apps lists them\n"
	"  --category NAME flows of nDPI category NAME (Media, Web...), any case\n"
	"  --top N         stop after N matching flows\n"
	"  --recent [N]    the last N flows that ended (default 50), newest\n"
	"                  first, from the flows:ended stream; the filters\n"
	"                  above apply to them (--subnet to the src_subnet and\n"
	"                  dst_subnet they carry; entries of an older engine\n"
	"                  carry none and are left out, said on stderr)\n"
	"\n"
	"When the engine keeps flow indexes (idx:* sets), --host, --vlan,\n"
	"--subnet, --port (not 0) and --app read only the flows the indexes\n"
	"name: a few milliseconds among a million flows. --app then finds a\n"
	"flow by its application (YouTube, or TLS.YouTube by YouTube); a name\n"
	"that is no application, like TLS the master of TLS.YouTube, is\n"
	"matched on every flow read. Without indexes every flow is read.\n"
	"\n"
	"APP is nDPI's verdict (app); '-' when the engine published none.\n",
	.filters = WC_F_HOST | WC_F_VLAN | WC_F_SUBNET | WC_F_PORT | WC_F_PROTO |
		   WC_F_APP | WC_F_CATEGORY | WC_F_TOP | WC_F_RECENT,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_flows,
};
