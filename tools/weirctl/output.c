/* output.c -- what every table command prints around its table.
 *
 * The publish line says which engine the numbers come from and how old
 * they are (a table of counters that stopped moving looks the same as a
 * quiet network; the age tells them apart). The detail table prints one
 * hash as FIELD / VALUE / READABLE, known fields first, for `host` and
 * `status`. weirctl_human decides a field's unit from its name, following
 * the naming of docs/redis-keys.md. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

static bool
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !strcmp(s + n - m, suf);
}

static bool
starts_with(const char *s, const char *pre)
{
	return !strncmp(s, pre, strlen(pre));
}

const char *
weirctl_human(const char *field, const char *value, char *buf, size_t len)
{
	char *end;
	unsigned long long v;

	buf[0] = '\0';
	if (!value || !*value || *value == '-')
		return buf;
	v = strtoull(value, &end, 10);
	if (*end)
		return buf;
	if (!strcmp(field, "first_seen") || !strcmp(field, "last_seen") ||
	    !strcmp(field, "started_ms") || !strcmp(field, "updated_ms"))
		return weirctl_fmt_time(v, buf, len);
	if (ends_with(field, "_ms")) {
		if (v < 1000)
			snprintf(buf, len, "%llu ms", v);
		else
			weirctl_fmt_age((int64_t)v, buf, len);
		return buf;
	}
	if (!strcmp(field, "bps") || ends_with(field, "_bps") ||
	    starts_with(field, "bps_") ||
	    !strcmp(field, "speed"))
		return weirctl_fmt_bps(v, buf, len);
	if (!strcmp(field, "bytes") || starts_with(field, "bytes_") ||
	    ends_with(field, "_bytes") || ends_with(field, "_octets") ||
	    starts_with(field, "mem_"))
		return weirctl_fmt_bytes(v, buf, len);
	if (v >= 1000 && (!strcmp(field, "pkts") || starts_with(field, "pkts_") ||
			  ends_with(field, "_pkts") || !strcmp(field, "records") ||
			  !strcmp(field, "datagrams") || ends_with(field, "_records") ||
			  ends_with(field, "_datagrams")))
		return weirctl_fmt_count(v, buf, len);
	return buf;
}

int
weirctl_zcard(struct weirctl_ctx *ctx, const char *zset, uint64_t *n)
{
	redisReply *r;

	*n = 0;
	if (weirctl_view_nodes(ctx) > 1 && !strcmp(zset, "flows")) {
		size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
		long focus = ctx->focus;
		int ret = WC_EXIT_OK;

		/* a flow lives on one node: the nodes' counts add up */
		for (size_t k = 0; k < nv && !ret; k++) {
			uint64_t one;

			weirctl_node_focus(ctx, vw[k]);
			ret = weirctl_zcard(ctx, zset, &one);
			*n += one;
		}
		if (focus < 0)
			weirctl_node_unfocus(ctx);
		return ret;
	}
	if (weirctl_view_nodes(ctx) > 1) {
		struct weirctl_zsum z;
		int ret;

		/* the distinct members: a merged walk just counted them */
		if (!strcmp(ctx->zset_cached, zset)) {
			*n = ctx->zset_cached_n;
			return WC_EXIT_OK;
		}
		ret = weirctl_zsum_read(ctx, zset, &z);
		*n = z.n;
		weirctl_zsum_free(&z);
		return ret;
	}
	r = weirctl_command(ctx, "ZCARD %s%s", ctx->keypfx, zset);
	if (!r)
		return weirctl_redis_fail(ctx, "ZCARD");
	if (r->type == REDIS_REPLY_INTEGER)
		*n = (uint64_t)r->integer;
	freeReplyObject(r);
	return WC_EXIT_OK;
}

/* One node's line: its state, cycle, source and the age of its last
 * publish, and a warning when a running engine went quiet. */
static void
publish_line(struct weirctl_ctx *ctx, const char *node, const redisReply *m,
	     bool merged)
{
	const char *state = weirctl_hash_get(m, "state");
	const char *source = weirctl_hash_get(m, "source");
	uint64_t updated = weirctl_hash_u64(m, "updated_ms");
	uint64_t interval = weirctl_hash_u64(m, "interval_ms");
	int64_t age = ctx->now_ms - (int64_t)updated;
	char t[64], a[32];

	fprintf(ctx->out, "node %s  state %s  cycle %llu  source %s  ", node,
		state ? state : "?",
		(unsigned long long)weirctl_hash_u64(m, "cycle"),
		source ? source : "?");
	if (updated)
		fprintf(ctx->out, "published %s (%s ago)\n",
			weirctl_fmt_time(updated, t, sizeof(t)),
			weirctl_fmt_age(age, a, sizeof(a)));
	else
		fprintf(ctx->out, "published: no time in meta updated_ms\n");
	if (state && !strcmp(state, "running") && updated &&
	    age > (int64_t)(interval ? interval * 5 : 5000) && age > 5000)
		fprintf(ctx->out, "warning: %s%s%sstate is running but nothing "
			"was published for %s: is weir still running and "
			"reaching Redis?\n", merged ? "node " : "",
			merged ? node : "", merged ? ": " : "", a);
}

void
weirctl_print_publish_line(struct weirctl_ctx *ctx)
{
	size_t vw[WEIRCTL_NODES_MAX], n = weirctl_view(ctx, vw);

	if (n > 1)
		fprintf(ctx->out, "merged view of %zu nodes (--node ID for one):\n", n);
	for (size_t i = 0; i < n || (!n && !i); i++) {
		size_t k = vw[i];

		if (n)
			publish_line(ctx, ctx->nodes[k].id, ctx->nodes[k].meta, n > 1);
		else
			publish_line(ctx, ctx->node, ctx->meta, false);
	}
	fputc('\n', ctx->out);
}

/* Position of field in order[], or a large number for the others. */
static size_t
rank_of(const char *const *order, const char *field)
{
	size_t i;

	for (i = 0; order && order[i]; i++)
		if (!strcmp(order[i], field))
			return i;
	return (size_t)-1;
}

struct field_ref {
	const char *name;
	const char *value;
	size_t rank;
};

static int
cmp_field(const void *pa, const void *pb)
{
	const struct field_ref *a = pa, *b = pb;
	bool da = starts_with(a->name, "drop_"), db = starts_with(b->name, "drop_");

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (da != db)		/* parser drop reasons together, first */
		return da ? -1 : 1;
	return strverscmp(a->name, b->name);	/* w2_ before w10_ */
}

size_t
weirctl_hash_sorted(const redisReply *h, const char *const *order,
		    const char ***names, const char ***values)
{
	size_t n = h->elements / 2, k = 0;
	struct field_ref *refs = calloc(n ? n : 1, sizeof(*refs));

	*names = calloc(n ? n : 1, sizeof(**names));
	*values = calloc(n ? n : 1, sizeof(**values));
	if (!refs || !*names || !*values)
		abort();
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		if (h->element[i]->type != REDIS_REPLY_STRING ||
		    h->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		refs[k].name = h->element[i]->str;
		refs[k].value = h->element[i + 1]->str;
		refs[k].rank = rank_of(order, refs[k].name);
		k++;
	}
	qsort(refs, k, sizeof(*refs), cmp_field);
	for (size_t i = 0; i < k; i++) {
		(*names)[i] = refs[i].name;
		(*values)[i] = refs[i].value;
	}
	free(refs);
	return k;
}

void
weirctl_detail_table(struct weirctl_ctx *ctx, const redisReply *h,
		     const char *const *order)
{
	static const char *const hdr[] = { "FIELD", "VALUE", "READABLE" };
	struct weirctl_table *t = weirctl_table_new(hdr, "lrl");
	const char **names, **values;
	size_t n = weirctl_hash_sorted(h, order, &names, &values);
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		weirctl_table_cell(t, "%s", names[i]);
		weirctl_table_cell(t, "%s", values[i]);
		weirctl_table_cell(t, "%s",
				   weirctl_human(names[i], values[i], buf, sizeof(buf)));
		weirctl_table_end_row(t);
	}
	weirctl_table_print(t, ctx->out, ctx->color);
	weirctl_table_free(t);
	free(names);
	free(values);
}

void
weirctl_print_shown(struct weirctl_ctx *ctx, uint64_t shown, const char *zset,
		    const char *what)
{
	uint64_t total;

	if (weirctl_zcard(ctx, zset, &total))
		return;
	if (shown == 0 && total == 0)
		fprintf(ctx->out, "no %s published yet\n", what);
	else if (shown < total)
		fprintf(ctx->out, "\n%llu of %llu %s shown (--top N for more, "
			"filters with --help)\n", (unsigned long long)shown,
			(unsigned long long)total, what);
	else
		fprintf(ctx->out, "\n%llu %s\n", (unsigned long long)shown, what);
}

void
weirctl_list_begin(struct weirctl_ctx *ctx, struct weirctl_json *j,
		   struct weirctl_table **t, const char *const *hdr, const char *align)
{
	if (ctx->json) {
		weirctl_json_init(j, ctx->out);
		weirctl_json_begin_arr(j);
	} else {
		*t = weirctl_table_new(hdr, align);
	}
}

int
weirctl_list_end(struct weirctl_ctx *ctx, struct weirctl_json *j, struct weirctl_table *t,
		 uint64_t shown, int ret, const char *zset, const char *what)
{
	if (ctx->json) {
		weirctl_json_end_arr(j);
		return ret;
	}
	if (ret == WC_EXIT_OK) {
		weirctl_print_publish_line(ctx);
		weirctl_table_print(t, ctx->out, ctx->color);
		weirctl_print_shown(ctx, shown, zset, what);
	}
	weirctl_table_free(t);
	return ret;
}
