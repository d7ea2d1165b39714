/* cmd_status.c -- `weirctl status`: is the engine alive, and is it
 * losing anything?
 *
 * Prints the meta hash and the health counters. A counter that means
 * something was lost or refused (a drop reason, NIC misses, a full flow
 * table, publish errors...) is marked '!' when it is not zero, and shown
 * in red on a terminal: those are the lines an operator looks for. */
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
	       ends_with(name, "_drops") || ends_with(name, "_errors") ||
	       ends_with(name, "_full") || ends_with(name, "_unmatched") ||
	       ends_with(name, "_lost_cycles");
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

static int
run_status(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = { "!", "COUNTER", "VALUE", "READABLE" };
	redisReply *health;
	int ret = weirctl_hgetall(ctx, "health", &health);

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
	if (health->elements == 0) {
		fprintf(ctx->out, "no health counters published yet\n");
		freeReplyObject(health);
		return WC_EXIT_OK;
	}

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
	"{\"meta\":{...},\"health\":{...}}.\n",
	.filters = 0,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_status,
};
