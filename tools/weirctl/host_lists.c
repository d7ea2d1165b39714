/* host_lists.c -- what `weirctl host IP` shows under a host's fields:
 * the applications it took part in and the DNS names it asked for.
 *
 * Both are small sorted sets per host (P hostapps:ID, scored by bytes in
 * both directions; P hostdns:ID, scored by the flows that asked, at most
 * 256 names), so each is read whole with one ZREVRANGE WITHSCORES: the
 * sum of the scores is what SHARE divides by. The table shows the top 10
 * applications and the top 20 names; --json gives them all. One
 * pipelined round trip then fetches what the sets do not hold: each
 * shown application's category (P app:NAME) and each shown name's last
 * time (one HMGET of P hostdnslast:ID).
 *
 * Over several nodes the sets are summed and the category and last time
 * are asked of every node (merge.c's rules: first name, latest time).
 *
 * DNS names come off the wire and may hold any byte, NUL included: they
 * travel as counted strings (argv with lengths, replies with len), the
 * table replaces what a terminal would obey, JSON escapes it. */
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

#define HOST_APPS_SHOWN 10
#define HOST_DNS_SHOWN 20
/* The engine keeps 256 names a host; more would be a foreign writer. */
#define HOST_LIST_MAX 10000

/* PREFIX{NODE}:what + the n bytes of s, in a malloc'd buffer. */
static char *
key_of(const char *keypfx, const char *what, const char *s, size_t n,
       size_t *len)
{
	size_t a = strlen(keypfx), b = strlen(what);
	char *k = malloc(a + b + n + 1);

	if (!k)
		abort();
	memcpy(k, keypfx, a);
	memcpy(k + a, what, b);
	memcpy(k + a + b, s, n);
	k[a + b + n] = '\0';
	*len = a + b + n;
	return k;
}

static void
print_cut(struct weirctl_ctx *ctx, size_t shown, size_t n, const char *what)
{
	if (shown < n)
		fprintf(ctx->out, "\n%zu of %zu %s shown (--json lists all)\n",
			shown, n, what);
}

static void
apps_out(struct weirctl_ctx *ctx, struct weirctl_json *j,
	 const redisReply *z, size_t shown, const redisReply *const *cats)
{
	static const char *const hdr[] = {
		"#", "APPLICATION", "CATEGORY", "BYTES", "SHARE"
	};
	size_t n = z->elements / 2;
	uint64_t total = 0;
	struct weirctl_table *t;
	char b[2][48];

	if (ctx->json) {
		weirctl_json_key(j, "apps");
		weirctl_json_begin_arr(j);
		for (size_t i = 0; i < n; i++) {
			const redisReply *m = z->element[2 * i];
			const redisReply *c = cats[i];

			weirctl_json_begin_obj(j);
			weirctl_json_key(j, "name");
			weirctl_json_strn(j, m->str, m->len);
			weirctl_json_key(j, "category");
			if (c && c->type == REDIS_REPLY_STRING)
				weirctl_json_strn(j, c->str, c->len);
			else
				weirctl_json_null(j);
			weirctl_json_key(j, "bytes");
			weirctl_json_u64(j, weirctl_score_u64(z->element[2 * i + 1]));
			weirctl_json_end_obj(j);
		}
		weirctl_json_end_arr(j);
		return;
	}
	if (!n) {
		fputs("\napplications: none published for this host\n", ctx->out);
		return;
	}
	for (size_t i = 0; i < n; i++)
		total += weirctl_score_u64(z->element[2 * i + 1]);
	fprintf(ctx->out, "\napplications (%zu, bytes in both directions, %s)\n",
		n, weirctl_fmt_bytes(total, b[0], 48));
	t = weirctl_table_new(hdr, "rllrr");
	for (size_t i = 0; i < shown; i++) {
		const redisReply *m = z->element[2 * i];
		const redisReply *c = cats[i];
		uint64_t bytes = weirctl_score_u64(z->element[2 * i + 1]);

		weirctl_table_cell(t, "%zu", i + 1);
		weirctl_table_cell_n(t, m->str, m->len);
		if (c && c->type == REDIS_REPLY_STRING && c->len)
			weirctl_table_cell_n(t, c->str, c->len);
		else
			weirctl_table_cell(t, "-");
		weirctl_table_cell(t, "%s", weirctl_fmt_bytes(bytes, b[0], 48));
		weirctl_table_cell(t, "%s", weirctl_fmt_share(bytes, total, b[1], 48));
		weirctl_table_end_row(t);
	}
	weirctl_table_print(t, ctx->out, ctx->color);
	weirctl_table_free(t);
	print_cut(ctx, shown, n, "applications");
}

/* The i-th value of the HMGET replies (one a node) as unix ms, the
 * latest; false when absent or junk everywhere. */
static bool
last_ms(redisReply *const *last, size_t nlast, size_t i, uint64_t *ms)
{
	bool any = false;

	*ms = 0;
	for (size_t k = 0; k < nlast; k++) {
		const redisReply *v;
		char *end;
		uint64_t x;

		if (!last[k] || last[k]->type != REDIS_REPLY_ARRAY ||
		    i >= last[k]->elements)
			continue;
		v = last[k]->element[i];
		if (v->type != REDIS_REPLY_STRING || !v->len || v->str[0] < '0' ||
		    v->str[0] > '9')
			continue;
		x = strtoull(v->str, &end, 10);
		if (*end)
			continue;
		*ms = x > *ms ? x : *ms;
		any = true;
	}
	return any;
}

static void
dns_out(struct weirctl_ctx *ctx, struct weirctl_json *j, const redisReply *z,
	size_t shown, redisReply *const *last, size_t nlast)
{
	static const char *const hdr[] = { "#", "NAME", "QUERIES", "LAST ASKED" };
	size_t n = z->elements / 2;
	struct weirctl_table *t;
	uint64_t ms;
	char b[64];

	if (ctx->json) {
		weirctl_json_key(j, "dns_names");
		weirctl_json_begin_arr(j);
		for (size_t i = 0; i < n; i++) {
			const redisReply *m = z->element[2 * i];

			weirctl_json_begin_obj(j);
			weirctl_json_key(j, "name");
			weirctl_json_strn(j, m->str, m->len);
			weirctl_json_key(j, "count");
			weirctl_json_u64(j, weirctl_score_u64(z->element[2 * i + 1]));
			weirctl_json_key(j, "last_seen");
			if (last_ms(last, nlast, i, &ms))
				weirctl_json_u64(j, ms);
			else
				weirctl_json_null(j);
			weirctl_json_end_obj(j);
		}
		weirctl_json_end_arr(j);
		return;
	}
	if (!n) {
		fputs("\nDNS names: none asked by this host\n", ctx->out);
		return;
	}
	fprintf(ctx->out, "\nDNS names asked (%zu, by the flows that asked)\n", n);
	t = weirctl_table_new(hdr, "rlrl");
	for (size_t i = 0; i < shown; i++) {
		const redisReply *m = z->element[2 * i];

		weirctl_table_cell(t, "%zu", i + 1);
		weirctl_table_cell_n(t, m->str, m->len);
		weirctl_table_cell(t, "%llu", (unsigned long long)
				   weirctl_score_u64(z->element[2 * i + 1]));
		weirctl_table_cell(t, "%s", last_ms(last, nlast, i, &ms) ?
				   weirctl_fmt_time(ms, b, sizeof(b)) : "-");
		weirctl_table_end_row(t);
	}
	weirctl_table_print(t, ctx->out, ctx->color);
	weirctl_table_free(t);
	print_cut(ctx, shown, n, "DNS names");
}

int
weirctl_host_lists(struct weirctl_ctx *ctx, struct weirctl_json *j,
		   const char *id)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw), napps, ndns, shown_apps = 0;
	size_t shown_dns = 0, klen;
	struct weirctl_pipe p[WEIRCTL_NODES_MAX];
	redisReply *apps = NULL, *dns = NULL, *last[WEIRCTL_NODES_MAX] = { NULL };
	const redisReply **cats = NULL;
	char name[600];
	int ret;

	memset(p, 0, sizeof(p));
	/* Over several nodes both sets are summed (merge.c). */
	snprintf(name, sizeof(name), "hostapps:%s", id);
	ret = weirctl_zrevrange_scores(ctx, name, HOST_LIST_MAX, &apps);
	if (ret)
		goto out;
	snprintf(name, sizeof(name), "hostdns:%s", id);
	ret = weirctl_zrevrange_scores(ctx, name, HOST_LIST_MAX, &dns);
	if (ret)
		goto out;
	napps = apps->elements / 2;
	ndns = dns->elements / 2;
	shown_apps = ctx->json || napps < HOST_APPS_SHOWN ? napps : HOST_APPS_SHOWN;
	shown_dns = ctx->json || ndns < HOST_DNS_SHOWN ? ndns : HOST_DNS_SHOWN;

	/* One round trip a node: an HGET per shown application, one HMGET.
	 * The category is the first node's that has one, the last time the
	 * latest of them. */
	cats = calloc(napps ? napps : 1, sizeof(*cats));
	if (!cats)
		abort();
	for (size_t k = 0; k < nv && !ret; k++) {
		size_t node = vw[k];
		const char *pfx = ctx->nodes[node].keypfx;

		for (size_t i = 0; i < shown_apps; i++) {
			const redisReply *m = apps->element[2 * i];
			char *key = key_of(pfx, "app:", m->str, m->len, &klen);
			const char *argv[] = { "HGET", key, "category" };
			size_t lens[] = { 4, klen, 8 };

			weirctl_pipe_addargv(&p[k], 3, argv, lens);
			free(key);
		}
		if (shown_dns) {
			const char **argv = calloc(shown_dns + 2, sizeof(*argv));
			size_t *lens = calloc(shown_dns + 2, sizeof(*lens));
			char *key = key_of(pfx, "hostdnslast:", id, strlen(id), &klen);

			if (!argv || !lens)
				abort();
			argv[0] = "HMGET";
			lens[0] = 5;
			argv[1] = key;
			lens[1] = klen;
			for (size_t i = 0; i < shown_dns; i++) {
				argv[i + 2] = dns->element[2 * i]->str;
				lens[i + 2] = dns->element[2 * i]->len;
			}
			weirctl_pipe_addargv(&p[k], (int)(shown_dns + 2), argv, lens);
			free(argv);
			free(lens);
			free(key);
		}
		if (!p[k].n)
			continue;
		if (weirctl_pipe_run(ctx, (int)node, &p[k])) {
			ret = weirctl_redis_fail(ctx, "HGET app:NAME category");
			break;
		}
		for (size_t i = 0; i < p[k].n; i++)
			if (p[k].r[i]->type == REDIS_REPLY_ERROR) {
				weirctl_err("Redis at %s answered %s with an error: %s",
					    ctx->conn.shown, i < shown_apps ?
					    "HGET app:NAME category" : "HMGET hostdnslast",
					    p[k].r[i]->str);
				ret = WC_EXIT_REDIS;
				break;
			}
		for (size_t i = 0; i < shown_apps && !ret; i++)
			if (!cats[i] || !cats[i]->len)
				if (p[k].r[i]->type == REDIS_REPLY_STRING)
					cats[i] = p[k].r[i];
		if (shown_dns && !ret)
			last[k] = p[k].r[shown_apps];
	}
	if (ret)
		goto out;
	apps_out(ctx, j, apps, shown_apps, cats);
	dns_out(ctx, j, dns, shown_dns, last, nv);
out:
	free(cats);
	for (size_t k = 0; k < nv; k++)
		weirctl_pipe_free(&p[k]);
	if (apps)
		freeReplyObject(apps);
	if (dns)
		freeReplyObject(dns);
	return ret;
}
