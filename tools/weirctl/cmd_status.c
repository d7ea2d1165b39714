/* cmd_status.c -- `weirctl status`: is the engine alive, and is it
 * losing anything?
 *
 * Prints the meta hash and the health counters. A counter that means
 * something was lost or refused (a drop reason, NIC misses, a full flow
 * table, publish errors...) is marked '!' when it is not zero, and shown
 * in red on a terminal: those are the lines an operator looks for.
 *
 * Over several nodes: a line per node (state, last publish, packets,
 * active flows, hosts, losses) and a TOTAL line, then the counters of
 * every node added up; --json {"nodes":[{node, meta, health}],
 * "totals":{...}}. */
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

static const char *const meta_strings[] = { "node", "state", "source", NULL };

static const char *const meta_order[] = {
	"version", "node", "state", "source", "started_ms", "updated_ms",
	"cycle", "interval_ms", NULL
};

static const char *const health_order[] = {
	"uptime_ms", "workers", "rx_pkts", "rx_bytes", "rx_missed", "rx_nombuf",
	"parsed_pkts", "non_ip", "flows_created", "flows_active",
	"flows_ended_idle", "flows_ended_active", "flow_table_full",
	"frag_unmatched", "flow_ring_drops", "xflow_datagrams", "xflow_records",
	"xflow_errors", "publish_cycles", "publish_errors",
	"publish_lost_cycles", "publish_lag_ms", "publish_ms",
	"redis_reconnects", "mem_allocated", "mem_resident", NULL
};

static bool
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

/* Counters that count something lost, refused or broken. */
bool
weirctl_is_drop_counter(const char *name)
{
	return !strncmp(name, "drop_", 5) || !strncmp(name, "err_", 4) ||
	       ends_with(name, "_missed") || ends_with(name, "_nombuf") ||
	       ends_with(name, "_drops") || ends_with(name, "_dropped") ||
	       ends_with(name, "_errors") ||
	       ends_with(name, "_full") || ends_with(name, "_unmatched") ||
	       ends_with(name, "_lost_cycles") || ends_with(name, "_overflow") ||
	       ends_with(name, "_orphaned") || !strcmp(name, "collect_refused") ||
	       !strcmp(name, "collect_too_big");
}

static void
json_sorted(struct weirctl_json *j, const redisReply *h,
	    const char *const *order, const char *const *strings)
{
	const char **names, **values;
	size_t n = weirctl_hash_sorted(h, order, &names, &values);

	weirctl_json_begin_obj(j);
	for (size_t i = 0; i < n; i++) {
		bool as_str = false;

		for (const char *const *s = strings; s && *s; s++)
			as_str |= !strcmp(*s, names[i]);
		weirctl_json_key(j, names[i]);
		if (!as_str && weirctl_is_json_number(values[i]))
			weirctl_json_raw_num(j, values[i]);
		else
			weirctl_json_str(j, values[i]);
	}
	weirctl_json_end_obj(j);
	free(names);
	free(values);
}

/* The health counters as a table, losses marked. */
static void
health_table(struct weirctl_ctx *ctx, const redisReply *health)
{
	static const char *const hdr[] = { "!", "COUNTER", "VALUE", "READABLE" };
	struct weirctl_table *t = weirctl_table_new(hdr, "llrl");
	const char **names, **values;
	size_t n = weirctl_hash_sorted(health, health_order, &names, &values);
	size_t marked = 0;
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		bool bad = weirctl_is_drop_counter(names[i]) &&
			   strcmp(values[i], "0") && *values[i];

		if (bad) {
			weirctl_table_highlight(t);
			marked++;
		}
		weirctl_table_cell(t, "%s", bad ? "!" : "");
		weirctl_table_cell(t, "%s", names[i]);
		weirctl_table_cell(t, "%s", values[i]);
		weirctl_table_cell(t, "%s",
				   weirctl_human(names[i], values[i], buf, sizeof(buf)));
		weirctl_table_end_row(t);
	}
	weirctl_table_print(t, ctx->out, ctx->color);
	if (marked)
		fprintf(ctx->out, "\n%zu counter%s of losses or errors not zero "
			"(marked !)\n", marked, marked == 1 ? "" : "s");
	else
		fprintf(ctx->out, "\nno losses or errors counted\n");
	weirctl_table_free(t);
	free(names);
	free(values);
}

/* The sum of the loss and error counters of a health hash. */
static uint64_t
losses(const redisReply *h)
{
	uint64_t n = 0, v;

	for (size_t i = 0; i + 1 < h->elements; i += 2)
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    weirctl_is_drop_counter(h->element[i]->str) &&
		    weirctl_hash_u64_ok(h, h->element[i]->str, &v))
			n += v;
	return n;
}

/* Several nodes: a line each and a total, then the totals' counters
 * (summed; times the greatest; hosts the distinct host ids). */
static int
status_merged(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = { "NODE", "STATE", "CYCLE", "PUBLISHED",
		"AGE", "RX PKTS", "RX BYTES", "FLOWS ACTIVE", "HOSTS", "LOSSES" };
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	redisReply *health[WEIRCTL_NODES_MAX] = { NULL }, *tot = NULL;
	uint64_t hosts = 0;
	int ret = WC_EXIT_OK;

	for (size_t k = 0; k < nv && !ret; k++) {
		weirctl_node_focus(ctx, vw[k]);
		ret = weirctl_hgetall(ctx, "health", &health[k]);
	}
	weirctl_node_unfocus(ctx);
	if (!ret)
		ret = weirctl_zcard(ctx, "hosts", &hosts);
	if (ret)
		goto out;
	tot = weirctl_hash_merge(health, nv);
	if (weirctl_hash_get(tot, "hosts"))
		weirctl_hash_set_u64(tot, "hosts", hosts);
	if (ctx->json) {
		struct weirctl_json j;

		weirctl_json_init(&j, ctx->out);
		weirctl_json_begin_obj(&j);
		weirctl_json_key(&j, "nodes");
		weirctl_json_begin_arr(&j);
		for (size_t k = 0; k < nv; k++) {
			weirctl_json_begin_obj(&j);
			weirctl_json_key(&j, "node");
			weirctl_json_str(&j, ctx->nodes[vw[k]].id);
			weirctl_json_key(&j, "meta");
			json_sorted(&j, ctx->nodes[vw[k]].meta,
				    meta_order, meta_strings);
			weirctl_json_key(&j, "health");
			json_sorted(&j, health[k], health_order, NULL);
			weirctl_json_end_obj(&j);
		}
		weirctl_json_end_arr(&j);
		weirctl_json_key(&j, "totals");
		json_sorted(&j, tot, health_order, NULL);
		weirctl_json_end_obj(&j);
		goto out;
	}
	weirctl_print_publish_line(ctx);
	struct weirctl_table *t = weirctl_table_new(hdr, "llrllrrrrr");
	char b[5][64];

	for (size_t k = 0; k <= nv; k++) {
		const redisReply *m = k < nv ?
			ctx->nodes[vw[k]].meta : NULL;
		const redisReply *h = k < nv ? health[k] : tot;
		uint64_t upd = weirctl_hash_u64(m, "updated_ms");
		const char *state = weirctl_hash_get(m, "state");
		uint64_t lost = losses(h);

		if (lost)
			weirctl_table_highlight(t);
		weirctl_table_cell(t, "%s", k < nv ?
				   ctx->nodes[vw[k]].id : "TOTAL");
		weirctl_table_cell(t, "%s", state ? state : (m ? "?" : ""));
		if (m)
			weirctl_table_cell(t, "%llu", (unsigned long long)
					   weirctl_hash_u64(m, "cycle"));
		else
			weirctl_table_cell(t, "%s", "");
		weirctl_table_cell(t, "%s", m ? weirctl_fmt_time(upd, b[0], 64) : "");
		weirctl_table_cell(t, "%s", m && upd ? weirctl_fmt_age(
			ctx->now_ms - (int64_t)upd, b[1], 64) : "");
		weirctl_table_cell(t, "%s", weirctl_fmt_count(
			weirctl_hash_u64(h, "rx_pkts"), b[2], 64));
		weirctl_table_cell(t, "%s", weirctl_fmt_bytes(
			weirctl_hash_u64(h, "rx_bytes"), b[3], 64));
		weirctl_table_cell(t, "%llu", (unsigned long long)
				   weirctl_hash_u64(h, "flows_active"));
		weirctl_table_cell(t, "%llu", (unsigned long long)
				   weirctl_hash_u64(h, "hosts"));
		weirctl_table_cell(t, "%s", weirctl_fmt_count(lost, b[4], 64));
		weirctl_table_end_row(t);
	}
	weirctl_table_print(t, ctx->out, ctx->color);
	weirctl_table_free(t);
	fprintf(ctx->out, "\nthe counters of all %zu nodes added up (times: the "
		"greatest; hosts: distinct; --node ID for one):\n\n", nv);
	health_table(ctx, tot);
out:
	for (size_t k = 0; k < nv; k++)
		if (health[k])
			freeReplyObject(health[k]);
	if (tot)
		freeReplyObject(tot);
	return ret;
}

static int
run_status(struct weirctl_ctx *ctx)
{
	redisReply *health;
	int ret;

	if (weirctl_view_nodes(ctx) > 1)
		return status_merged(ctx);
	ret = weirctl_hgetall(ctx, "health", &health);
	if (ret)
		return ret;
	if (ctx->json) {
		struct weirctl_json j;

		weirctl_json_init(&j, ctx->out);
		weirctl_json_begin_obj(&j);
		weirctl_json_key(&j, "meta");
		json_sorted(&j, ctx->meta, meta_order, meta_strings);
		weirctl_json_key(&j, "health");
		json_sorted(&j, health, health_order, NULL);
		weirctl_json_end_obj(&j);
		freeReplyObject(health);
		return WC_EXIT_OK;
	}

	weirctl_print_publish_line(ctx);
	weirctl_detail_table(ctx, ctx->meta, meta_order);
	fputc('\n', ctx->out);
	if (health->elements == 0)
		fprintf(ctx->out, "no health counters published yet\n");
	else
		health_table(ctx, health);
	freeReplyObject(health);
	return WC_EXIT_OK;
}

const struct weirctl_cmd weirctl_cmd_status = {
	.name = "status",
	.args = "",
	.summary = "engine state and health counters, losses highlighted",
	.help =
	"Shows the meta hash (state, cycle, last publish) and every health\n"
	"counter of the engine. Counters of losses or errors (drop_*, rx_missed,\n"
	"rx_nombuf, flow_table_full, flow_ring_drops, publish_errors, ...) are\n"
	"marked '!' when not zero, and in red on a terminal. --json prints\n"
	"{\"meta\":{...},\"health\":{...}}.\n"
	"\n"
	"Over several nodes (the merged view): one line per node with its\n"
	"state, last publish, packets, active flows, hosts and losses, a\n"
	"TOTAL line, then every counter added up (times: the greatest; hosts:\n"
	"the distinct host ids). --json then prints {\"nodes\":[{\"node\",\n"
	"\"meta\",\"health\"}],\"totals\":{...}}.\n",
	.filters = 0,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_status,
};
