/* cmd_hosts.c -- `weirctl hosts` (the ranking) and `weirctl host IP`.
 *
 * hosts walks P hosts from the top: the zset score is sent + received
 * bytes, so the walk is already the ranking and --top stops it early.
 * --vlan is decided from the member id (ADDR@VLAN) before any HGETALL;
 * --subnet needs the hash. host IP finds every ADDR@* member with ZSCAN
 * (one address may be seen on several VLANs), or reads ADDR@VLAN
 * directly when --vlan is given. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

/* Host fields that stay strings in JSON whatever they look like. */
static const char *const host_strings[] = { "ip", "name", "mac", "subnet",
					     NULL };

static const char *const host_order[] = {
	"ip", "name", "vlan", "mac", "subnet", "local", "bytes_sent", "bytes_rcvd",
	"pkts_sent", "pkts_rcvd", "bps_sent", "bps_rcvd", "flows",
	"flows_active", "peers", "first_seen", "last_seen", NULL
};

struct hosts_walk {
	struct weirctl_json j;
	struct weirctl_table *t;
	uint64_t n;
	long top;
	bool named;		/* a host shown has a name: keep NAME */
	const char *canon;	/* --host: the address as the engine writes it */
};

#define HOSTS_NAME_COL 2

static bool
host_id_wanted(struct weirctl_ctx *ctx, void *arg, const char *id)
{
	const char *at = strrchr(id, '@');
	const char *canon = ((struct hosts_walk *)arg)->canon;

	if (canon && (!at || strlen(canon) != (size_t)(at - id) ||
		      memcmp(id, canon, (size_t)(at - id))))
		return false;
	if (ctx->f.vlan < 0)
		return true;
	return at && strtol(at + 1, NULL, 10) == ctx->f.vlan;
}

static void
host_json(struct weirctl_json *j, const char *id, const redisReply *h)
{
	weirctl_json_begin_obj(j);
	weirctl_json_key(j, "id");
	weirctl_json_str(j, id);
	weirctl_json_hash_fields(j, h, host_strings);
	weirctl_json_end_obj(j);
}

static int
host_row(struct weirctl_ctx *ctx, void *arg, const char *id,
	 const redisReply *h)
{
	struct hosts_walk *w = arg;
	const char *subnet = weirctl_hash_get(h, "subnet");
	uint64_t sent = weirctl_hash_u64(h, "bytes_sent");
	uint64_t rcvd = weirctl_hash_u64(h, "bytes_rcvd");
	char b[5][48];

	if (ctx->f.subnet && (!subnet || strcmp(subnet, ctx->f.subnet)))
		return 0;
	if (ctx->f.vlan >= 0 && (long)weirctl_hash_u64(h, "vlan") != ctx->f.vlan)
		return 0;
	w->n++;
	if (ctx->json) {
		host_json(&w->j, id, h);
	} else {
		const char *ip = weirctl_hash_get(h, "ip");
		const char *name = weirctl_hash_get(h, "name");

		weirctl_table_cell(w->t, "%llu", (unsigned long long)w->n);
		weirctl_table_cell(w->t, "%s", ip ? ip : id);
		if (name && *name) {	/* reverse DNS: off the wire */
			weirctl_table_cell(w->t, "%s", name);
			w->named = true;
		} else {
			weirctl_table_cell(w->t, "%s", "-");
		}
		weirctl_table_cell(w->t, "%llu",
				   (unsigned long long)weirctl_hash_u64(h, "vlan"));
		weirctl_table_cell(w->t, "%s%s", subnet ? subnet : "-",
				   weirctl_hash_u64(h, "local") ? "*" : "");
		weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(sent, b[0], 48));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_bytes(rcvd, b[1], 48));
		weirctl_table_cell(w->t, "%s",
				   weirctl_fmt_bytes(sent + rcvd, b[2], 48));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_count(
			weirctl_hash_u64(h, "pkts_sent") +
			weirctl_hash_u64(h, "pkts_rcvd"), b[3], 48));
		weirctl_table_cell(w->t, "%llu/%llu",
				   (unsigned long long)weirctl_hash_u64(h, "flows_active"),
				   (unsigned long long)weirctl_hash_u64(h, "flows"));
		weirctl_table_cell(w->t, "%llu",
				   (unsigned long long)weirctl_hash_u64(h, "peers"));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_bps(
			weirctl_hash_u64(h, "bps_sent"), b[4], 48));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_bps(
			weirctl_hash_u64(h, "bps_rcvd"), b[0], 48));
		weirctl_table_cell(w->t, "%s", weirctl_fmt_time(
			weirctl_hash_u64(h, "last_seen"), b[1], 48));
		weirctl_table_end_row(w->t);
	}
	return w->top && w->n >= (uint64_t)w->top ? 1 : 0;
}

static int
run_hosts(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = {
		"#", "HOST", "NAME", "VLAN", "SUBNET", "SENT", "RCVD", "TOTAL",
		"PKTS", "FLOWS", "PEERS", "RATE OUT", "RATE IN", "LAST SEEN"
	};
	char canon[INET6_ADDRSTRLEN];
	struct hosts_walk w = { .top = ctx->f.top };
	int ret;

	if (ctx->f.host.af) {	/* ids hold inet_ntop's text */
		inet_ntop(ctx->f.host.af, ctx->f.host.bin, canon, sizeof(canon));
		w.canon = canon;
	}
	if (w.top < 0)
		w.top = ctx->json ? 0 : 50;
	weirctl_list_begin(ctx, &w.j, &w.t, hdr, "rllrlrrrrrrrrl");
	ret = weirctl_walk(ctx, "hosts", "host:", host_id_wanted, host_row, &w);
	if (!ctx->json && !w.named)
		weirctl_table_hide(w.t, HOSTS_NAME_COL);
	return weirctl_list_end(ctx, &w.j, w.t, w.n, ret, "hosts", "hosts");
}

const struct weirctl_cmd weirctl_cmd_hosts = {
	.name = "hosts",
	.args = "[--host IP] [--vlan N] [--subnet NAME] [--top N]",
	.summary = "hosts ranked by bytes sent + received",
	.help =
	"Lists the hosts (an address on a VLAN) from the most bytes sent and\n"
	"received down. A table shows the top 50 unless --top says otherwise\n"
	"(--top 0: all); --json prints every host as an array of objects with\n"
	"all the fields of its hash, numbers as numbers.\n"
	"\n"
	"  --host IP       only the hosts of address IP (one a VLAN it was\n"
	"                  seen on; weirctl host IP shows all their fields)\n"
	"  --vlan N        only hosts on VLAN N (0: untagged)\n"
	"  --subnet NAME   only hosts whose subnet is NAME ('remote' for\n"
	"                  hosts outside every named subnet)\n"
	"  --top N         stop after N hosts\n"
	"\n"
	"SUBNET is marked '*' for local hosts. RATE OUT/IN are bits per second\n"
	"over the last publish interval. NAME, the host's reverse DNS name,\n"
	"is shown when a host listed has one (weir resolve-hosts).\n",
	.filters = WC_F_HOST | WC_F_VLAN | WC_F_SUBNET | WC_F_TOP,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_hosts,
};

/* ---- host IP ---------------------------------------------------------- */

/* One host: its fields, then its applications and DNS names. */
static int
print_host(struct weirctl_ctx *ctx, struct weirctl_json *j, const char *id,
	   const redisReply *h, bool first)
{
	int ret;

	if (ctx->json) {
		weirctl_json_begin_obj(j);
		weirctl_json_key(j, "id");
		weirctl_json_str(j, id);
		weirctl_json_hash_fields(j, h, host_strings);
		ret = weirctl_host_lists(ctx, j, id);
		weirctl_json_end_obj(j);
		return ret;
	}
	const char *name = weirctl_hash_get(h, "name");

	if (!first)
		fputc('\n', ctx->out);
	fprintf(ctx->out, "host %s", id);
	if (name && *name) {	/* reverse DNS: off the wire */
		fputs(" (", ctx->out);
		weirctl_put_safe(ctx->out, name, strlen(name));
		fputc(')', ctx->out);
	}
	fputc('\n', ctx->out);
	weirctl_detail_table(ctx, h, host_order);
	return weirctl_host_lists(ctx, j, id);
}

int
weirctl_host_hashes(struct weirctl_ctx *ctx, const char *canon,
		    struct weirctl_zsum *ids, redisReply ***hs)
{
	*hs = NULL;
	int ret = weirctl_host_ids(ctx, canon, ids);
	if (ret || !ids->n)
		return ret;
	*hs = calloc(ids->n, sizeof(**hs));
	if (!*hs)
		abort();
	return weirctl_hashes_merged(ctx, "host:", ids->v, ids->n, *hs);
}

int
weirctl_host_ids(struct weirctl_ctx *ctx, const char *canon,
		 struct weirctl_zsum *out)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw), cap = 0;
	long focus = ctx->focus;
	int ret = WC_EXIT_OK;

	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < nv && !ret; k++) {
		size_t node = vw[k];
		char cursor[32] = "0";

		weirctl_node_focus(ctx, node);
		do {
			redisReply *r = weirctl_command(ctx,
							"ZSCAN %shosts %s MATCH %s@* COUNT 1000",
							ctx->keypfx, cursor, canon);

			if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			    r->element[0]->type != REDIS_REPLY_STRING ||
			    r->element[1]->type != REDIS_REPLY_ARRAY) {
				weirctl_err("Redis at %s failed during ZSCAN %shosts: %s",
					    ctx->conn.shown, ctx->keypfx,
					    r && r->type == REDIS_REPLY_ERROR ? r->str :
					    weirctl_redis_errstr(&ctx->conn));
				if (r)
					freeReplyObject(r);
				ret = WC_EXIT_REDIS;
				break;
			}
			snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
			/* ZSCAN answers member, score, member, score, ... */
			const redisReply *el = r->element[1];

			for (size_t i = 0; i + 1 < el->elements; i += 2) {
				const redisReply *m = el->element[i];
				size_t at;

				if (m->type != REDIS_REPLY_STRING)
					continue;
				/* ZSCAN may give a member twice: once is kept */
				for (at = 0; at < out->n; at++)
					if (!strcmp(out->v[at].m, m->str))
						break;
				if (at == out->n) {
					if (out->n == cap) {
						cap = cap ? cap * 2 : 8;
						out->v = realloc(out->v, cap * sizeof(*out->v));
						if (!out->v)
							abort();
					}
					out->v[at].m = strdup(m->str);
					if (!out->v[at].m)
						abort();
					out->v[at].len = m->len;
					out->v[at].score = 0;
					out->v[at].nodes = 0;
					out->n++;
				}
				if (!(out->v[at].nodes & (1ULL << node)))
					out->v[at].score += weirctl_score_u64(el->element[i + 1]);
				out->v[at].nodes |= 1ULL << node;
			}
			freeReplyObject(r);
		} while (!ret && strcmp(cursor, "0"));
	}
	if (focus >= 0)
		weirctl_node_focus(ctx, (size_t)focus);
	else
		weirctl_node_unfocus(ctx);
	if (ret)
		weirctl_zsum_free(out);
	return ret;
}

static int
run_host(struct weirctl_ctx *ctx)
{
	char canon[INET6_ADDRSTRLEN], id[INET6_ADDRSTRLEN + 32];
	struct weirctl_json j = { 0 };
	struct weirctl_zsum ids = { 0 };
	redisReply **hs = NULL;
	uint64_t found = 0;
	int ret = WC_EXIT_OK;
	redisReply *h;

	inet_ntop(ctx->f.ip.af, ctx->f.ip.bin, canon, sizeof(canon));
	if (ctx->json) {
		weirctl_json_init(&j, ctx->out);
		weirctl_json_begin_arr(&j);
	} else {
		weirctl_print_publish_line(ctx);
	}
	if (ctx->f.vlan >= 0) {
		snprintf(id, sizeof(id), "%s@%ld", canon, ctx->f.vlan);
		char name[sizeof(id) + 8];

		snprintf(name, sizeof(name), "host:%s", id);
		ret = weirctl_hgetall(ctx, name, &h);
		if (ret == WC_EXIT_OK && h->elements) {
			ret = print_host(ctx, &j, id, h, true);
			found++;
		}
		if (h)
			freeReplyObject(h);
		goto out;
	}
	/* Every ADDR@VLAN of the address, on every node of the view, each
	 * one host whose hash merges the nodes' (merge.c). */
	ret = weirctl_host_hashes(ctx, canon, &ids, &hs);
	if (!hs)
		goto out;
	for (size_t i = 0; i < ids.n && ret == WC_EXIT_OK; i++)
		if (hs[i] && hs[i]->elements)
			ret = print_host(ctx, &j, ids.v[i].m, hs[i], !found++);
	for (size_t i = 0; i < ids.n; i++)
		if (hs[i])
			freeReplyObject(hs[i]);
	free(hs);
out:
	weirctl_zsum_free(&ids);
	if (ctx->json)
		weirctl_json_end_arr(&j);
	if (ret == WC_EXIT_OK && !found) {
		if (ctx->f.vlan >= 0)
			weirctl_err("no host %s on VLAN %ld under node %s (try "
				    "without --vlan, or weirctl hosts)", canon,
				    ctx->f.vlan, ctx->node);
		else
			weirctl_err("no host %s under node %s (weirctl hosts lists "
				    "them)", canon, ctx->node);
		return WC_EXIT_NODATA;
	}
	return ret;
}

const struct weirctl_cmd weirctl_cmd_host = {
	.name = "host",
	.args = "IP [--vlan N]",
	.summary = "a host's fields, applications and DNS names",
	.help =
	"Shows all the fields of every host with address IP, on any VLAN, or\n"
	"only on VLAN N with --vlan (its reverse DNS name, when the engine\n"
	"resolved one, next to its id and as the name field), then the applications it took part in\n"
	"(top 10 by bytes in both directions, with their category and share)\n"
	"and the DNS names it asked for (top 20 by the flows that asked, with\n"
	"the time of the last). Names come off the wire: bytes a terminal\n"
	"would obey are shown as '?'.\n"
	"\n"
	"--json prints an array of objects (one per VLAN the address was seen\n"
	"on) with all the host's fields, \"apps\": [{name, category, bytes}]\n"
	"and \"dns_names\": [{name, count, last_seen}], every one of them.\n"
	"Exits 3 when no such host is published. `weirctl flows --host IP`\n"
	"lists its flows.\n",
	.filters = WC_F_ARG_IP | WC_F_VLAN,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_host,
};
