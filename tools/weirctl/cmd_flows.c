/* cmd_flows.c -- `weirctl flows`: the flows the engine still holds.
 *
 * P flows may hold a million members, so this is the command the walker
 * was built for: batches of ZREVRANGE (already sorted by bytes), pipelined
 * HGETALLs, each object written as soon as it is read. Flow ids say
 * nothing about the flow, so every filter needs the hash; a filter that
 * keeps few flows still reads them all (issue 5 may add indexes). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weirctl.h"

/* Fields that stay JSON strings whatever they look like: a JA3 hash may
 * be all decimal digits, a DHCP hostname "1234". dns_rcode and risk (a
 * bitmap below 2^42 in nDPI 4.2) are numbers. */
static const char *const flow_strings[] = {
	"src", "dst", "state", "end_reason", "src_mac", "dst_mac", "exporter",
	"app", "application", "category", "detection", "confidence",
	"server_name", "ja3c", "url", "ssh_client", "ssh_server", "risk_text",
	NULL
};

struct flows_walk {
	struct weirctl_json j;
	struct weirctl_table *t;
	uint64_t n;
	long top;
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

static int
flow_row(struct weirctl_ctx *ctx, void *arg, const char *id,
	 const redisReply *h)
{
	struct flows_walk *w = arg;
	char b[4][48];

	if (!flow_matches(&ctx->f, h))
		return 0;
	w->n++;
	if (ctx->json) {
		weirctl_json_begin_obj(&w->j);
		weirctl_json_key(&w->j, "id");
		weirctl_json_str(&w->j, id);
		weirctl_json_hash_fields(&w->j, h, flow_strings);
		weirctl_json_end_obj(&w->j);
	} else {
		const char *src = weirctl_hash_get(h, "src");
		const char *dst = weirctl_hash_get(h, "dst");
		const char *state = weirctl_hash_get(h, "state");
		const char *reason = weirctl_hash_get(h, "end_reason");
		const char *app = weirctl_hash_get(h, "app");
		uint64_t first = weirctl_hash_u64(h, "first_seen");
		uint64_t last = weirctl_hash_u64(h, "last_seen");

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
	return w->top && w->n >= (uint64_t)w->top ? 1 : 0;
}

static int
run_flows(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"SRC", "SPORT", "DST", "DPORT", "PROTO", "APP", "VLAN", "BYTES", "PKTS",
		"FWD", "REV", "STATE", "FIRST SEEN", "DURATION", "ID"
	};
	struct flows_walk w = { .top = ctx->f.top };
	int ret;

	if (w.top < 0)
		w.top = ctx->json ? 0 : 50;
	if (ctx->json) {
		weirctl_json_init(&w.j, ctx->out);
		weirctl_json_begin_arr(&w.j);
	} else {
		w.t = weirctl_table_new(hdr, "lrlrllrrrrrllrl");
	}
	ret = weirctl_walk(ctx, "flows", "flow:", NULL, flow_row, &w);
	if (ctx->json) {
		weirctl_json_end_arr(&w.j);
		return ret;
	}
	if (ret == WC_EXIT_OK) {
		weirctl_print_publish_line(ctx);
		weirctl_table_print(w.t, ctx->out, ctx->color);
		weirctl_print_shown(ctx, w.n, "flows", "flows");
	}
	weirctl_table_free(w.t);
	return ret;
}

const struct weirctl_cmd weirctl_cmd_flows = {
	.name = "flows",
	.args = "[--host IP] [--vlan N] [--port N] [--proto tcp|udp|icmp|N]\n"
		"                               [--app NAME] [--category NAME] [--top N]",
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
	"  --port N        flows with N as source or destination port\n"
	"  --proto P       tcp, udp, icmp, icmp6, sctp, gre or a protocol number\n"
	"  --app NAME      flows nDPI named NAME, any case: its app (TLS.YouTube)\n"
	"                  or application (YouTube), or either half of the app\n"
	"                  (TLS matches TLS.YouTube); weirctl apps lists them\n"
	"  --category NAME flows of nDPI category NAME (Media, Web...), any case\n"
	"  --top N         stop after N matching flows\n"
	"\n"
	"APP is nDPI's verdict (app); '-' when the engine published none.\n",
	.filters = WC_F_HOST | WC_F_VLAN | WC_F_PORT | WC_F_PROTO | WC_F_APP |
		   WC_F_CATEGORY | WC_F_TOP,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_flows,
};
