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
key_of(struct weirctl_ctx *ctx, const char *what, const char *s, size_t n,
       size_t *len)
{
	size_t a = strlen(ctx->keypfx), b = strlen(what);
	char *k = malloc(a + b + n + 1);

	if (!k)
		abort();
	memcpy(k, ctx->keypfx, a);
	memcpy(k + a, what, b);
	memcpy(k + a + b, s, n);
	k[a + b + n] = '\0';
	*len = a + b + n;
	return k;
}

static int
get_reply(struct weirctl_ctx *ctx, const char *what, redisReply **r)
{
	if (redisGetReply(ctx->conn.c, (void **)r) != REDIS_OK || !*r) {
		weirctl_err("Redis at %s failed during %s: %s", ctx->conn.shown,
			    what, ctx->conn.c->err ? ctx->conn.c->errstr :
			    "no reply");
		*r = NULL;
		return WC_EXIT_REDIS;
	}
	if ((*r)->type == REDIS_REPLY_ERROR) {
		weirctl_err("Redis at %s answered %s with an error: %s",
			    ctx->conn.shown, what, (*r)->str);
		return WC_EXIT_REDIS;	/* read: the pipeline stays in step */
	}
	return WC_EXIT_OK;
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
	 const redisReply *z, size_t shown, redisReply **cats)
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

/* The HMGET reply's i-th value as unix ms; false when absent or junk. */
static bool
last_ms(const redisReply *last, size_t i, uint64_t *ms)
{
	const redisReply *v;
	char *end;

	if (!last || last->type != REDIS_REPLY_ARRAY || i >= last->elements)
		return false;
	v = last->element[i];
	if (v->type != REDIS_REPLY_STRING || !v->len || v->str[0] == '-')
		return false;
	*ms = strtoull(v->str, &end, 10);
	return !*end;
}

static void
dns_out(struct weirctl_ctx *ctx, struct weirctl_json *j, const redisReply *z,
	size_t shown, const redisReply *last)
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
			if (last_ms(last, i, &ms))
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
		weirctl_table_cell(t, "%s", last_ms(last, i, &ms) ?
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
	redisReply *apps = NULL, *dns = NULL, *last = NULL, **cats = NULL;
	size_t napps, ndns, shown_apps = 0, shown_dns = 0, klen;
	char name[600];
	int ret;

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

	/* One round trip: an HGET per shown application, one HMGET. */
	cats = calloc(napps ? napps : 1, sizeof(*cats));
	if (!cats)
		abort();
	for (size_t i = 0; i < shown_apps; i++) {
		const redisReply *m = apps->element[2 * i];
		char *k = key_of(ctx, "app:", m->str, m->len, &klen);
		const char *argv[] = { "HGET", k, "category" };
		size_t lens[] = { 4, klen, 8 };

		redisAppendCommandArgv(ctx->conn.c, 3, argv, lens);
		free(k);
	}
	if (shown_dns) {
		const char **argv = calloc(shown_dns + 2, sizeof(*argv));
		size_t *lens = calloc(shown_dns + 2, sizeof(*lens));
		char *k = key_of(ctx, "hostdnslast:", id, strlen(id), &klen);

		if (!argv || !lens)
			abort();
		argv[0] = "HMGET";
		lens[0] = 5;
		argv[1] = k;
		lens[1] = klen;
		for (size_t i = 0; i < shown_dns; i++) {
			argv[i + 2] = dns->element[2 * i]->str;
			lens[i + 2] = dns->element[2 * i]->len;
		}
		redisAppendCommandArgv(ctx->conn.c, (int)(shown_dns + 2), argv,
				       lens);
		free(argv);
		free(lens);
		free(k);
	}
	/* Every reply is read, even after an error, to stay in step. */
	for (size_t i = 0; i < shown_apps; i++) {
		int r = get_reply(ctx, "HGET app:NAME category", &cats[i]);

		if (r && !ret)
			ret = r;
		if (!cats[i])
			goto out;	/* the connection is gone */
	}
	if (shown_dns) {
		int r = get_reply(ctx, "HMGET hostdnslast", &last);

		if (r && !ret)
			ret = r;
	}
	if (ret)
		goto out;
	apps_out(ctx, j, apps, shown_apps, cats);
	dns_out(ctx, j, dns, shown_dns, last);
out:
	if (cats) {
		for (size_t i = 0; i < shown_apps; i++)
			if (cats[i])
				freeReplyObject(cats[i]);
		free(cats);
	}
	if (last)
		freeReplyObject(last);
	if (apps)
		freeReplyObject(apps);
	if (dns)
		freeReplyObject(dns);
	return ret;
}
