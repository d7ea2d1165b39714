/* cmd_vlans.c -- `weirctl vlans`: traffic per VLAN, busiest first.
 *
 * A short walk of P vlans (at most 4096 members). VLAN 0 is untagged
 * traffic and is shown so. Over several nodes a VLAN's hosts are
 * counted again from the merged host ids: a host two nodes saw on the
 * VLAN is one host, which neither the sum nor the greatest of the
 * nodes' counts would say.
 *
 * The filters choose VLANs, decided from the member id before its hash
 * is read: --vlan N that one; --host IP those the address was seen on
 * (the host ids IP@V of P hosts); --subnet NAME those a host of subnet
 * NAME was seen on (the `subnet` field of every host, one pipelined
 * HGET each: the one filter that reads every host). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

#define VLANS 4096

struct vlans_walk {
	struct weirctl_json j;
	struct weirctl_table *t;
	uint64_t n;
	long top;
	uint64_t *hosts;	/* merged view: distinct hosts per VLAN */
	bool *wanted;		/* [VLANS], NULL: every VLAN */
};

/* Keeps in wanted the VLANs of the hosts of address --host. */
static int
vlans_of_address(struct weirctl_ctx *ctx, bool *wanted)
{
	struct weirctl_zsum ids;
	char canon[INET6_ADDRSTRLEN];
	bool seen[VLANS] = { false };
	int ret;

	inet_ntop(ctx->f.host.af, ctx->f.host.bin, canon, sizeof(canon));
	ret = weirctl_host_ids(ctx, canon, &ids);
	if (ret)
		return ret;
	for (size_t i = 0; i < ids.n; i++) {
		long v = weirctl_host_id_vlan(ids.v[i].m);

		if (v >= 0)
			seen[v] = true;
	}
	for (size_t v = 0; v < VLANS; v++)
		wanted[v] = wanted[v] && seen[v];
	weirctl_zsum_free(&ids);
	return WC_EXIT_OK;
}

/* Keeps in wanted the VLANs a host of subnet --subnet was seen on, over
 * the nodes of the view: every host's subnet field, pipelined. */
static int
vlans_of_subnet(struct weirctl_ctx *ctx, bool *wanted)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	bool seen[VLANS] = { false };
	struct weirctl_pipe p = { 0 };
	int ret = WC_EXIT_OK;

	for (size_t k = 0; k < nv && !ret; k++) {
		const char *kp = ctx->nodes[vw[k]].keypfx;
		redisReply *all;

		weirctl_pipe_clear(&p);
		weirctl_pipe_add(&p, "ZRANGE %shosts 0 -1", kp);
		if (weirctl_pipe_run(ctx, (int)vw[k], &p)) {
			ret = weirctl_redis_fail(ctx, "ZRANGE");
			break;
		}
		all = p.r[0];
		p.r[0] = NULL;
		if (all->type != REDIS_REPLY_ARRAY) {
			weirctl_err("Redis at %s answered ZRANGE %shosts with %s",
				    ctx->conn.shown, kp, all->type == REDIS_REPLY_ERROR ?
				    all->str : "something other than members");
			freeReplyObject(all);
			ret = WC_EXIT_REDIS;
			break;
		}
		for (size_t at = 0; at < all->elements && !ret; at += WEIRCTL_BATCH) {
			size_t end = at + WEIRCTL_BATCH < all->elements ?
				     at + WEIRCTL_BATCH : all->elements;

			weirctl_pipe_clear(&p);
			for (size_t i = at; i < end; i++)
				weirctl_pipe_add(&p, "HGET %shost:%b subnet", kp,
						 all->element[i]->str,
						 all->element[i]->len);
			if (weirctl_pipe_run(ctx, (int)vw[k], &p)) {
				ret = weirctl_redis_fail(ctx, "HGET");
				break;
			}
			for (size_t i = at; i < end; i++) {
				const redisReply *r = p.r[i - at];
				long v = weirctl_host_id_vlan(all->element[i]->str);

				if (v >= 0 && r->type == REDIS_REPLY_STRING &&
				    !strcmp(r->str, ctx->f.subnet))
					seen[v] = true;
			}
		}
		freeReplyObject(all);
	}
	weirctl_pipe_free(&p);
	for (size_t v = 0; v < VLANS; v++)
		wanted[v] = wanted[v] && seen[v];
	return ret;
}

static bool
vlan_id_wanted(struct weirctl_ctx *ctx, void *arg, const char *id)
{
	struct vlans_walk *w = arg;
	char *end;
	long v = strtol(id, &end, 10);

	if (!w->wanted)
		return true;
	return !*end && v >= 0 && v < VLANS && w->wanted[v];
}

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
		return w->top && w->n >= (uint64_t)w->top ? 1 : 0;
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
	return w->top && w->n >= (uint64_t)w->top ? 1 : 0;
}

static int
run_vlans(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"VLAN", "BYTES", "PKTS", "FLOWS", "HOSTS", "RATE", "FIRST SEEN",
		"LAST SEEN"
	};
	struct vlans_walk w = { .top = ctx->f.top > 0 ? ctx->f.top : 0 };
	bool wanted[VLANS];
	int ret;

	if (ctx->f.vlan >= 0 || ctx->f.host.af || ctx->f.subnet) {
		for (size_t v = 0; v < VLANS; v++)
			wanted[v] = ctx->f.vlan < 0 || (long)v == ctx->f.vlan;
		w.wanted = wanted;
		ret = ctx->f.host.af ? vlans_of_address(ctx, wanted) : WC_EXIT_OK;
		if (!ret && ctx->f.subnet)
			ret = vlans_of_subnet(ctx, wanted);
		if (ret)
			return ret;
	}
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
	ret = weirctl_walk(ctx, "vlans", "vlan:", vlan_id_wanted, vlan_row, &w);
	free(w.hosts);
	return weirctl_list_end(ctx, &w.j, w.t, w.n, ret, "vlans", "VLANs");
}

const struct weirctl_cmd weirctl_cmd_vlans = {
	.name = "vlans",
	.args = "[--vlan N] [--host IP] [--subnet NAME] [--top N]",
	.summary = "traffic per VLAN",
	.help =
	"Lists every VLAN seen, most bytes first, with its packets, flows,\n"
	"hosts and rate. VLAN 0 is untagged traffic. --json prints an array\n"
	"of objects with all the fields of each VLAN hash.\n"
	"\n"
	"  --vlan N        only VLAN N\n"
	"  --host IP       only the VLANs address IP was seen on\n"
	"  --subnet NAME   only the VLANs a host of subnet NAME was seen on\n"
	"                  ('remote': outside every named subnet; reads every\n"
	"                  host's subnet)\n"
	"  --top N         stop after N VLANs\n"
	"\n"
	"The numbers are the VLANs' own, all their traffic: the filters\n"
	"choose VLANs, they do not split them.\n",
	.filters = WC_F_VLAN | WC_F_HOST | WC_F_SUBNET | WC_F_TOP,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_vlans,
};
