/* cmd_exporters.c -- `weirctl exporters` and `weirctl interfaces`:
 * the NetFlow/IPFIX/sFlow devices that send to the engine, and their
 * interfaces.
 *
 * An exporter with errors or lost sequence numbers is the first thing to
 * check when flow-export numbers look low, so such rows are highlighted
 * and the per-reason error counters (err_REASON) are spelled out. */
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

static const char *const exporter_strings[] = { "address", NULL };
static const char *const interface_strings[] = { "exporter", "name", NULL };

struct walk {
	struct weirctl_json j;
	struct weirctl_table *t;
	uint64_t n;
};

/* "short_hdr 3, bad_template 1" from the non-zero err_* fields. */
static void
error_reasons(const redisReply *h, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const char *k = h->element[i]->str, *v = h->element[i + 1]->str;

		if (!k || !v || strncmp(k, "err_", 4) || !strcmp(v, "0"))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s %s",
				 used ? ", " : "", k + 4, v);

		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

static int
exporter_row(struct weirctl_ctx *ctx, void *arg, const char *id,
	     const redisReply *h)
{
	struct walk *w = arg;
	const char *addr = weirctl_hash_get(h, "address");
	uint64_t errors = weirctl_hash_u64(h, "errors");
	uint64_t lost = weirctl_hash_u64(h, "seq_lost");
	char b[4][48], reasons[512];

	w->n++;
	if (ctx->json) {
		weirctl_json_begin_obj(&w->j);
		weirctl_json_hash_fields(&w->j, h, exporter_strings);
		if (!addr) {
			weirctl_json_key(&w->j, "address");
			weirctl_json_str(&w->j, id);
		}
		weirctl_json_end_obj(&w->j);
		return 0;
	}
	error_reasons(h, reasons, sizeof(reasons));
	if (errors || lost)
		weirctl_table_highlight(w->t);
	weirctl_table_cell(w->t, "%s", addr ? addr : id);
	weirctl_table_cell(w->t, "%llu",
			   (unsigned long long)weirctl_hash_u64(h, "version"));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_count(
		weirctl_hash_u64(h, "datagrams"), b[0], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_count(
		weirctl_hash_u64(h, "records"), b[1], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
		weirctl_hash_u64(h, "bytes"), b[2], 48));
	weirctl_table_cell(w->t, "%llu",
			   (unsigned long long)weirctl_hash_u64(h, "templates"));
	weirctl_table_cell(w->t, "%llu", (unsigned long long)lost);
	weirctl_table_cell(w->t, "%llu", (unsigned long long)errors);
	weirctl_table_cell(w->t, "%llu",
			   (unsigned long long)weirctl_hash_u64(h, "sampling"));
	/* sFlow only: samples the agents dropped for lack of resources */
	if (weirctl_hash_get(h, "sflow_drops"))
		weirctl_table_cell(w->t, "%llu", (unsigned long long)weirctl_hash_u64(h, "sflow_drops"));
	else
		weirctl_table_cell(w->t, "-");
	weirctl_table_cell(w->t, "%s", weirctl_fmt_time(
		weirctl_hash_u64(h, "last_seen"), b[3], 48));
	weirctl_table_cell(w->t, "%s", reasons);
	weirctl_table_end_row(w->t);
	return 0;
}

static int
run_exporters(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"EXPORTER", "VERSION", "DATAGRAMS", "RECORDS", "BYTES",
		"TEMPLATES", "SEQ LOST", "ERRORS", "SAMPLING", "AGENT DROPS",
		"LAST SEEN", "ERRORS BY REASON"
	};
	struct walk w = { 0 };
	int ret;

	weirctl_list_begin(ctx, &w.j, &w.t, hdr, "lrrrrrrrrrll");
	ret = weirctl_walk(ctx, "exporters", "exporter:", NULL, exporter_row, &w);
	return weirctl_list_end(ctx, &w.j, w.t, w.n, ret, "exporters", "exporters");
}

const struct weirctl_cmd weirctl_cmd_exporters = {
	.name = "exporters",
	.args = "",
	.summary = "NetFlow/IPFIX/sFlow exporters and their errors",
	.help =
	"Lists the devices exporting NetFlow v5/v9, IPFIX or sFlow to the\n"
	"engine, most records first: datagrams, records, templates, lost\n"
	"sequence numbers, errors (by reason), the sampling rate and, for sFlow,\n"
	"the samples the agents dropped (AGENT DROPS; sflow_* fields in JSON:\n"
	"sample pool, samples and records skipped). Rows with\n"
	"errors or lost sequence numbers are highlighted. --json prints an\n"
	"array of objects with all the fields of each exporter hash.\n",
	.filters = 0,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_exporters,
};

/* ---- interfaces ------------------------------------------------------- */

static int
interface_row(struct weirctl_ctx *ctx, void *arg, const char *id,
	      const redisReply *h)
{
	struct walk *w = arg;
	const char *ex = weirctl_hash_get(h, "exporter");
	const char *name = weirctl_hash_get(h, "name");
	uint64_t speed;
	char b[4][48];

	w->n++;
	if (ctx->json) {
		weirctl_json_begin_obj(&w->j);
		weirctl_json_key(&w->j, "id");
		weirctl_json_str(&w->j, id);
		weirctl_json_hash_fields(&w->j, h, interface_strings);
		weirctl_json_end_obj(&w->j);
		return 0;
	}
	weirctl_table_cell(w->t, "%s", ex ? ex : id);
	weirctl_table_cell(w->t, "%llu",
			   (unsigned long long)weirctl_hash_u64(h, "ifindex"));
	weirctl_table_cell(w->t, "%s", name && *name ? name : "-");
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
		weirctl_hash_u64(h, "bytes_in"), b[0], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
		weirctl_hash_u64(h, "bytes_out"), b[1], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_count(
		weirctl_hash_u64(h, "pkts_in"), b[2], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_count(
		weirctl_hash_u64(h, "pkts_out"), b[3], 48));
	if (weirctl_hash_u64_ok(h, "speed", &speed))
		weirctl_table_cell(w->t, "%s", weirctl_fmt_bps(speed, b[0], 48));
	else
		weirctl_table_cell(w->t, "-");
	weirctl_table_cell(w->t, "%llu/%llu",
			   (unsigned long long)weirctl_hash_u64(h, "in_errors"),
			   (unsigned long long)weirctl_hash_u64(h, "out_errors"));
	weirctl_table_cell(w->t, "%llu/%llu",
			   (unsigned long long)weirctl_hash_u64(h, "in_discards"),
			   (unsigned long long)weirctl_hash_u64(h, "out_discards"));
	weirctl_table_end_row(w->t);
	return 0;
}

static int
run_interfaces(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"EXPORTER", "IFINDEX", "NAME", "BYTES IN", "BYTES OUT", "PKTS IN",
		"PKTS OUT", "SPEED", "ERRORS IN/OUT", "DISCARDS IN/OUT"
	};
	struct walk w = { 0 };
	int ret;

	weirctl_list_begin(ctx, &w.j, &w.t, hdr, "lrlrrrrrrr");
	ret = weirctl_walk(ctx, "interfaces", "interface:", NULL, interface_row,
			   &w);
	return weirctl_list_end(ctx, &w.j, w.t, w.n, ret, "interfaces", "interfaces");
}

const struct weirctl_cmd weirctl_cmd_interfaces = {
	.name = "interfaces",
	.args = "",
	.summary = "exporters' interfaces: traffic, speed, errors",
	.help =
	"Lists the interfaces of the exporters (ADDR#IFINDEX), most bytes\n"
	"first: bytes and packets from flow records in and out, and from sFlow\n"
	"counter samples the speed, errors and discards. --json prints an\n"
	"array of objects with all the fields of each interface hash.\n",
	.filters = 0,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_interfaces,
};
