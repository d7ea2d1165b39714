/* cmd_alerts.c -- `weirctl alerts`: what weir-alertd is alerting on now,
 * and with --history, the transitions it recorded.
 *
 * weir-alertd writes its alerts under the engine's prefix and node
 * (docs/alerts.md, "Keys written by weir-alertd"): alerts_read.c gives
 * the active ones, sorted by severity and then the most recently engaged
 * first; --history reads P alerts:history backwards with XREVRANGE
 * (stream_read.c) and prints it newest first, as the page on alerts
 * reads "the last 50 transitions".
 *
 * Rules, entities and summaries may carry text that came off the wire (a
 * DNS name, an application name): in a table every one goes through the
 * table's sanitising, in JSON through its escaping. */
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

#define DEFAULT_HISTORY 50

/* The reply element holding field's value, or NULL. */
static const redisReply *
field(const redisReply *h, const char *name)
{
	for (size_t i = 0; h && i + 1 < h->elements; i += 2)
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    h->element[i + 1]->type == REDIS_REPLY_STRING &&
		    !strcmp(h->element[i]->str, name))
			return h->element[i + 1];
	return NULL;
}

/* A text cell: the field's bytes made safe, "-" when it is missing. */
static void
cell_text(struct weirctl_table *t, const redisReply *h, const char *name)
{
	const redisReply *v = field(h, name);

	if (v)
		weirctl_table_cell_n(t, v->str, v->len);
	else
		weirctl_table_cell(t, "-");
}

static void
cell_time(struct weirctl_table *t, const redisReply *h, const char *name)
{
	uint64_t ms;
	char b[64];

	if (weirctl_hash_u64_ok(h, name, &ms))
		weirctl_table_cell(t, "%s", weirctl_fmt_time(ms, b, sizeof(b)));
	else
		weirctl_table_cell(t, "-");
}

static int
run_active(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = { "NODE", "ID", "SEVERITY", "RULE",
		"ENTITY", "ENGAGED", "UPDATED", "COUNT", "SUMMARY", NULL };
	bool merged = weirctl_view_nodes(ctx) > 1;
	struct weirctl_alerts a;
	int ret = weirctl_alerts_active(ctx, &a);

	if (ret)
		return ret;
	if (ctx->json) {
		struct weirctl_json j;

		weirctl_json_init(&j, ctx->out);
		weirctl_json_begin_arr(&j);
		for (size_t i = 0; i < a.n; i++) {
			weirctl_json_begin_obj(&j);
			weirctl_json_hash_fields(&j, a.h[i], weirctl_alert_strings);
			weirctl_json_end_obj(&j);
		}
		weirctl_json_end_arr(&j);
	} else {
		struct weirctl_table *t = weirctl_table_new(hdr, "lrlllllrl");

		if (!merged)
			weirctl_table_hide(t, 0);
		for (size_t i = 0; i < a.n; i++) {
			const redisReply *h = a.h[i];

			if (weirctl_severity_rank(weirctl_hash_get(h, "severity")) == 0)
				weirctl_table_highlight(t);
			cell_text(t, h, "node");
			cell_text(t, h, "id");
			cell_text(t, h, "severity");
			cell_text(t, h, "rule");
			cell_text(t, h, "entity");
			cell_time(t, h, "engaged_ms");
			cell_time(t, h, "updated_ms");
			cell_text(t, h, "count");
			cell_text(t, h, "summary");
			weirctl_table_end_row(t);
		}
		weirctl_print_publish_line(ctx);
		if (a.n) {
			weirctl_table_print(t, ctx->out, ctx->color);
			fprintf(ctx->out, "\n%zu active alert%s, by severity then the "
				"newest engaged first (%salerts:active%s)\n", a.n,
				a.n == 1 ? "" : "s", merged ? ctx->prefix : ctx->keypfx,
				merged ? " of every node" : "");
		} else {
			fprintf(ctx->out, "no active alerts (%salerts:active holds "
				"none%s)\n", merged ? ctx->prefix : ctx->keypfx,
				merged ? " on any node" : "");
		}
		if (a.skipped)
			fprintf(ctx->out, "%zu more listed there were released or "
				"gone by the time they were read\n", a.skipped);
		weirctl_table_free(t);
	}
	weirctl_alerts_free(&a);
	return WC_EXIT_OK;
}

/* A transition's time: its ts field, else the stream id's. */
static uint64_t
entry_ms(const redisReply *e)
{
	uint64_t ms;

	if (weirctl_hash_u64_ok(e->element[1], "ts", &ms))
		return ms;
	return weirctl_stream_id_ms(e->element[0]->str);
}

static int
run_history(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = { "TIME", "NODE", "STATE", "ALERT",
		"SEVERITY", "RULE", "ENTITY", "VALUE", "SUMMARY", NULL };
	long want = ctx->f.count > 0 ? ctx->f.count : DEFAULT_HISTORY;
	bool merged = weirctl_view_nodes(ctx) > 1;
	struct weirctl_entries l;
	int ret = weirctl_stream_last(ctx, "alerts:history", want, NULL, NULL, &l);

	if (ret)
		return ret;
	if (ctx->json) {
		struct weirctl_json j;

		weirctl_json_init(&j, ctx->out);
		weirctl_json_begin_arr(&j);
		for (size_t i = 0; i < l.n; i++) {
			weirctl_json_begin_obj(&j);
			weirctl_json_key(&j, "stream_id");
			weirctl_json_str(&j, l.e[i]->element[0]->str);
			if (merged) {
				weirctl_json_key(&j, "node");
				weirctl_json_str(&j, ctx->nodes[l.node[i]].id);
			}
			weirctl_json_hash_fields(&j, l.e[i]->element[1],
						 weirctl_alert_history_strings);
			weirctl_json_end_obj(&j);
		}
		weirctl_json_end_arr(&j);
	} else {
		struct weirctl_table *t = weirctl_table_new(hdr, "lllrlllrl");
		char b[64];

		if (!merged)
			weirctl_table_hide(t, 1);
		for (size_t i = 0; i < l.n; i++) {
			const redisReply *f = l.e[i]->element[1];
			const redisReply *v = field(f, "value");

			weirctl_table_cell(t, "%s", weirctl_fmt_time(entry_ms(l.e[i]),
								  b, sizeof(b)));
			weirctl_table_cell(t, "%s", ctx->nodes[l.node[i]].id);
			cell_text(t, f, "state");
			cell_text(t, f, "id");
			cell_text(t, f, "severity");
			cell_text(t, f, "rule");
			cell_text(t, f, "entity");
			if (v)
				weirctl_table_cell_n(t, v->str, v->len);
			else
				weirctl_table_cell(t, "%s", "");
			cell_text(t, f, "summary");
			weirctl_table_end_row(t);
		}
		weirctl_print_publish_line(ctx);
		if (l.n)
			weirctl_table_print(t, ctx->out, ctx->color);
		fprintf(ctx->out, "%s%zu transition%s, newest first (%salerts:history%s)\n",
			l.n ? "\n" : "", l.n, l.n == 1 ? "" : "s",
			merged ? ctx->prefix : ctx->keypfx,
			merged ? " of every node" : "");
		weirctl_table_free(t);
	}
	weirctl_entries_free(&l);
	return WC_EXIT_OK;
}

static int
run_alerts(struct weirctl_ctx *ctx)
{
	if (ctx->f.history)
		return run_history(ctx);
	if (ctx->f.count > 0) {
		weirctl_err("alerts: --count goes with --history (or --watch)");
		return WC_EXIT_USAGE;
	}
	return run_active(ctx);
}

const struct weirctl_cmd weirctl_cmd_alerts = {
	.name = "alerts",
	.args = "[--history [--count N]]",
	.summary = "weir-alertd's active alerts, or their history",
	.help =
	"Prints the alerts weir-alertd holds active (alerts:active and each\n"
	"alert:ID, see docs/alerts.md): critical first, then warning, then\n"
	"info; within a severity the most recently engaged first. Each row\n"
	"is the alert's id, severity, rule, entity (a host, an address pair,\n"
	"a subnet pair...), when it was engaged and last updated, how many\n"
	"matches it counted and its summary. Critical rows are highlighted\n"
	"on a colour terminal. Text that came off the wire is shown with the\n"
	"bytes a terminal would obey as '?'.\n"
	"\n"
	"  --history   the transitions instead (alerts:history): engaged,\n"
	"              updated, released, newest first\n"
	"  --count N   with --history: the last N (default 50)\n"
	"\n"
	"--json prints an array of objects: for active alerts every field of\n"
	"the alert's hash (id, count, engaged_ms, updated_ms, last_match_ms,\n"
	"notes, value, peak, threshold... as numbers; rule, kind, entity,\n"
	"key, severity, state, summary, details, node as strings; details is\n"
	"the JSON object as weir-alertd wrote it, as text); with --history\n"
	"stream_id and the entry's fields (id, ts, value numbers; state, rule,\n"
	"kind, severity, entity, summary strings).\n",
	.filters = WC_F_HISTORY | WC_F_COUNT,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_alerts,
};
