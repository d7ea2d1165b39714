/* cmd_vlans.c -- `weirctl vlans`: traffic per VLAN, busiest first.
 *
 * A short walk of P vlans (at most 4096 members). VLAN 0 is untagged
 * traffic and is shown so. Over several nodes a VLAN's hosts are
 * counted again from the merged host ids: a host two nodes saw on the
 * VLAN is one host, which neither the sum nor the greatest of the
 * nodes' counts would say. */
#include <stdlib.h>

#include "weirctl.h"

struct vlans_walk {
	struct weirctl_json j;
	struct weirctl_table *t;
	uint64_t n;
	uint64_t *hosts;	/* merged view: distinct hosts per VLAN */
};

static int
vlan_row(struct weirctl_ctx *ctx, void *arg, const char *id,
	 const redisReply *h)
{
	struct vlans_walk *w = arg;
	uint64_t vlan = weirctl_hash_u64(h, "vlan");
	char b[4][48];

	if (w->hosts && vlan < 4096)	/* the walker's own merged hash */
		weirctl_hash_set_u64((redisReply *)h, "hosts", w->hosts[vlan]);
	w->n++;
	if (ctx->json) {
		weirctl_json_begin_obj(&w->j);
		weirctl_json_hash_fields(&w->j, h, NULL);
		weirctl_json_end_obj(&w->j);
		return 0;
	}
	weirctl_table_cell(w->t, "%llu%s", (unsigned long long)vlan,
			   vlan ? "" : " (untagged)");
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(
		weirctl_hash_u64(h, "bytes"), b[0], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_count(
		weirctl_hash_u64(h, "pkts"), b[1], 48));
	weirctl_table_cell(w->t, "%llu",
			   (unsigned long long)weirctl_hash_u64(h, "flows"));
	weirctl_table_cell(w->t, "%llu",
			   (unsigned long long)weirctl_hash_u64(h, "hosts"));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_bps(
		weirctl_hash_u64(h, "bps"), b[2], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_time(
		weirctl_hash_u64(h, "first_seen"), b[3], 48));
	weirctl_table_cell(w->t, "%s", weirctl_fmt_time(
		weirctl_hash_u64(h, "last_seen"), b[0], 48));
	weirctl_table_end_row(w->t);
	return 0;
}

static int
run_vlans(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"VLAN", "BYTES", "PKTS", "FLOWS", "HOSTS", "RATE", "FIRST SEEN",
		"LAST SEEN"
	};
	struct vlans_walk w = { 0 };
	int ret;

	if (weirctl_view_nodes(ctx) > 1) {
		w.hosts = calloc(4096, sizeof(*w.hosts));
		if (!w.hosts)
			abort();
		ret = weirctl_vlan_host_counts(ctx, w.hosts);
		if (ret) {
			free(w.hosts);
			return ret;
		}
	}
	weirctl_list_begin(ctx, &w.j, &w.t, hdr, "rrrrrrll");
	ret = weirctl_walk(ctx, "vlans", "vlan:", NULL, vlan_row, &w);
	free(w.hosts);
	return weirctl_list_end(ctx, &w.j, w.t, w.n, ret, "vlans", "VLANs");
}

const struct weirctl_cmd weirctl_cmd_vlans = {
	.name = "vlans",
	.args = "",
	.summary = "traffic per VLAN",
	.help =
	"Lists every VLAN seen, most bytes first, with its packets, flows,\n"
	"hosts and rate. VLAN 0 is untagged traffic. --json prints an array\n"
	"of objects with all the fields of each VLAN hash.\n",
	.filters = 0,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_vlans,
};
