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
 * since. The same filters apply to the entries' fields (--subnet has none
 * to look at there). */
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
	"server_name", "ja3c", "url", "ssh_client", "ssh_server", "risk_text",
	NULL
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

struct found {
	char *id;
	size_t node;
	redisReply *h;
	uint64_t bytes;
};

struct founds {
	struct found *v;
	size_t n, cap;
};

/* Most bytes first; equal bytes by id from the highest, as ZREVRANGE
 * orders members of equal score, then by node. */
static int
cmp_found(const void *pa, const void *pb)
{
	const struct found *a = pa, *b = pb;
	int c;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	c = -strcmp(a->id, b->id);
	return c ? c : (a->node < b->node ? -1 : a->node > b->node);
}

/* Reads the current node's hashes of ids, pipelined in batches, keeping
 * those that pass every filter (the ids become fl's). */
static int
read_found(struct weirctl_ctx *ctx, char **ids, size_t n, size_t node,
	   struct founds *fl)
{
	struct weirctl_pipe p = { 0 };
	int ret = WC_EXIT_OK;

	if (fl->n + n > fl->cap) {
		fl->cap = fl->n + n + 1;
		fl->v = realloc(fl->v, fl->cap * sizeof(*fl->v));
		if (!fl->v)
			abort();
	}
	for (size_t at = 0; at < n && !ret; at += WEIRCTL_BATCH) {
		size_t end = at + WEIRCTL_BATCH < n ? at + WEIRCTL_BATCH : n;

		weirctl_pipe_clear(&p);
		for (size_t i = at; i < end; i++)
			weirctl_pipe_add(&p, "HGETALL %sflow:%s", ctx->keypfx, ids[i]);
		if (weirctl_pipe_run(ctx, -1, &p)) {
			ret = weirctl_redis_fail(ctx, "HGETALL");
			break;
		}
		for (size_t i = at; i < end; i++) {
			redisReply *h = p.r[i - at];

			if (h->type == REDIS_REPLY_ERROR && ret == WC_EXIT_OK) {
				weirctl_err("Redis at %s answered HGETALL %sflow:%s "
					    "with an error: %s", ctx->conn.shown,
					    ctx->keypfx, ids[i], h->str);
				ret = WC_EXIT_REDIS;
			}
			/* An empty array: the flow went since SINTER. */
			if (ret == WC_EXIT_OK && h->type == REDIS_REPLY_ARRAY &&
			    h->elements >= 2 && flow_matches(&ctx->f, h)) {
				struct found *f = &fl->v[fl->n++];

				f->id = ids[i];
				ids[i] = NULL;
				f->node = node;
				f->h = h;
				f->bytes = weirctl_hash_u64(h, "bytes");
				p.r[i - at] = NULL;
			}
		}
	}
	weirctl_pipe_free(&p);
	return ret;
}

/* The flows the index sets name, node by node, most bytes first; -1
 * (nothing printed) when a node keeps no indexes or no filter was given. */
static int
flows_indexed(struct weirctl_ctx *ctx, struct flows_walk *w)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw), nf;
	struct founds fl = { 0 };
	bool used_all = true;
	int ret = WC_EXIT_OK;

	for (size_t k = 0; k < nv && !ret; k++) {
		size_t node = vw[k], nids;
		char **ids;
		bool used;

		weirctl_node_focus(ctx, node);
		ret = weirctl_flow_index(ctx, &ids, &nids, &used);
		if (ret)
			break;
		if (!used) {
			used_all = false;
			weirctl_ids_free(ids, nids);
			break;
		}
		ret = read_found(ctx, ids, nids, node, &fl);
		weirctl_ids_free(ids, nids);
	}
	weirctl_node_unfocus(ctx);
	if (!ret && !used_all) {
		/* a node without indexes: every node's flows are read */
		for (size_t i = 0; i < fl.n; i++) {
			free(fl.v[i].id);
			freeReplyObject(fl.v[i].h);
		}
		free(fl.v);
		return -1;
	}
	if (fl.n)
		qsort(fl.v, fl.n, sizeof(*fl.v), cmp_found);
	nf = fl.n;
	for (size_t i = 0; i < nf; i++) {
		if (ret == WC_EXIT_OK && (!w->top || w->n < (uint64_t)w->top)) {
			w->n++;
			flow_out(ctx, w, ctx->nodes[fl.v[i].node].id, fl.v[i].id,
				 NULL, fl.v[i].h);
		}
		free(fl.v[i].id);
		freeReplyObject(fl.v[i].h);
	}
	free(fl.v);
	if (ret == WC_EXIT_OK && !ctx->json) {
		weirctl_print_publish_line(ctx);
		weirctl_table_print(w->t, ctx->out, ctx->color);
		if (w->n < nf)
			fprintf(ctx->out, "\n%llu of %zu matching flows shown (--top N "
				"for more)\n", (unsigned long long)w->n, nf);
		else
			fprintf(ctx->out, "\n%llu matching flows (from the engine's "
				"indexes)\n", (unsigned long long)w->n);
	}
	return ret;
}

/* ---- flows --recent ---------------------------------------------------- */

static bool
ended_wanted(struct weirctl_ctx *ctx, void *arg, const redisReply *fields)
{
	return flow_matches(&ctx->f, fields);
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
	int ret = weirctl_stream_last(ctx, "flows:ended", ctx->f.recent,
				      ended_wanted, NULL, &l);

	if (ret)
		return ret;
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

	if (ctx->f.subnet && (!strchr(ctx->f.subnet, '>') ||
			      strchr(ctx->f.subnet, '>') == ctx->f.subnet)) {
		weirctl_err("flows --subnet: '%s' is not a pair SRC>DST of subnet "
			    "names (weirctl subnets lists them)", ctx->f.subnet);
		return WC_EXIT_USAGE;
	}
	if (ctx->f.recent >= 0) {
		if (ctx->f.subnet || ctx->f.top >= 0) {
			weirctl_err("flows --recent N: not with --%s (ended flows name "
				    "no subnet; N is the count)",
				    ctx->f.subnet ? "subnet" : "top");
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
	.args = "[--host IP] [--vlan N] [--subnet SRC>DST] [--port N]\n"
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
	"  --port N        flows with N as source or destination port\n"
	"  --proto P       tcp, udp, icmp, icmp6, sctp, gre or a protocol number\n"
	"  --app NAME      flows nDPI named NAME, any case: its app (TLS.YouTube)\n"
	"                  or application (YouTube), or either half of the app\n"
	"                  (TLS matches TLS.YouTube); weirctl apps lists them\n"
	"  --category NAME flows of nDPI category NAME (Media, Web...), any case\n"
	"  --top N         stop after N matching flows\n"
	"  --recent [N]    the last N flows that ended (default 50), newest\n"
	"                  first, from the flows:ended stream; the filters\n"
	"                  above but --subnet apply to them\n"
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
