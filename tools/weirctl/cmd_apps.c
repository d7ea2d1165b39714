/* cmd_apps.c -- `weirctl apps` and `weirctl categories`: traffic by what
 * nDPI says it is.
 *
 * P apps and P categories rank nDPI's names by bytes; their hashes carry
 * bytes, packets and flows (a flow counts under Unknown until its
 * verdict, so the applications add up to all the traffic the engine
 * classified or tried to). Both sets are small: nDPI 4.2 knows a few
 * hundred protocols and some thirty categories. So the table reads the
 * whole set, whatever --top says, to know the total that SHARE divides
 * by; --json streams the objects as the walker reads them. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weirctl.h"

/* Names stay strings in JSON even when nDPI's name looks like a number. */
static const char *const app_strings[] = { "name", "category", NULL };

struct app_row {
	char *name, *category;
	uint64_t bytes, pkts, flows;
};

struct apps_walk {
	struct weirctl_json j;
	struct app_row *rows;
	size_t n, cap;		/* rows kept (after --category) */
	uint64_t total;		/* bytes of every member, kept or not */
	uint64_t shown;		/* JSON objects written */
	long top;
};

static int
app_seen(struct weirctl_ctx *ctx, void *arg, const char *id,
	 const redisReply *h)
{
	struct apps_walk *w = arg;
	const char *name = weirctl_hash_get(h, "name");
	const char *cat = weirctl_hash_get(h, "category");
	uint64_t bytes = weirctl_hash_u64(h, "bytes");

	w->total += bytes;
	if (ctx->f.category && (!cat || strcasecmp(cat, ctx->f.category)))
		return 0;
	if (ctx->json) {
		weirctl_json_begin_obj(&w->j);
		if (!name) {		/* the contract has it; the id says it too */
			weirctl_json_key(&w->j, "name");
			weirctl_json_str(&w->j, id);
		}
		weirctl_json_hash_fields(&w->j, h, app_strings);
		weirctl_json_end_obj(&w->j);
		w->shown++;
		return w->top && w->shown >= (uint64_t)w->top ? 1 : 0;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->rows = realloc(w->rows, w->cap * sizeof(*w->rows));
		if (!w->rows)
			abort();
	}
	struct app_row *r = &w->rows[w->n++];

	r->name = strdup(name ? name : id);
	r->category = strdup(cat ? cat : "-");
	if (!r->name || !r->category)
		abort();
	r->bytes = bytes;
	r->pkts = weirctl_hash_u64(h, "pkts");
	r->flows = weirctl_hash_u64(h, "flows");
	return 0;
}

static int
run_ranking(struct weirctl_ctx *ctx, bool apps)
{
	static const char *const app_hdr[] = {
		"#", "APPLICATION", "CATEGORY", "BYTES", "PKTS", "FLOWS", "SHARE"
	};
	static const char *const cat_hdr[] = {
		"#", "CATEGORY", "BYTES", "PKTS", "FLOWS", "SHARE"
	};
	const char *zset = apps ? "apps" : "categories";
	struct apps_walk w = { .top = ctx->f.top };
	struct weirctl_table *t;
	size_t upto;
	char b[4][48];
	int ret;

	if (w.top < 0)
		w.top = ctx->json ? 0 : 50;
	if (ctx->json) {
		weirctl_json_init(&w.j, ctx->out);
		weirctl_json_begin_arr(&w.j);
		ret = weirctl_walk(ctx, zset, apps ? "app:" : "category:", NULL,
				   app_seen, &w);
		weirctl_json_end_arr(&w.j);
		return ret;
	}
	ret = weirctl_walk(ctx, zset, apps ? "app:" : "category:", NULL,
			   app_seen, &w);
	upto = w.top && (size_t)w.top < w.n ? (size_t)w.top : w.n;
	t = apps ? weirctl_table_new(app_hdr, "rllrrrr") :
		   weirctl_table_new(cat_hdr, "rlrrrr");
	for (size_t i = 0; i < upto; i++) {
		const struct app_row *r = &w.rows[i];

		weirctl_table_cell(t, "%zu", i + 1);
		weirctl_table_cell(t, "%s", r->name);
		if (apps)
			weirctl_table_cell(t, "%s", r->category);
		weirctl_table_cell(t, "%s", weirctl_fmt_bytes(r->bytes, b[0], 48));
		weirctl_table_cell(t, "%s", weirctl_fmt_count(r->pkts, b[1], 48));
		weirctl_table_cell(t, "%llu", (unsigned long long)r->flows);
		weirctl_table_cell(t, "%s", weirctl_fmt_share(r->bytes, w.total, b[2], 48));
		weirctl_table_end_row(t);
	}
	if (ret == WC_EXIT_OK) {
		weirctl_print_publish_line(ctx);
		weirctl_table_print(t, ctx->out, ctx->color);
		weirctl_print_shown(ctx, upto, zset,
				    apps ? "applications" : "categories");
		if (w.total)
			fprintf(ctx->out, "SHARE: of %s, the bytes of all %s\n",
				weirctl_fmt_bytes(w.total, b[3], 48),
				apps ? "applications" : "categories");
	}
	weirctl_table_free(t);
	for (size_t i = 0; i < w.n; i++) {
		free(w.rows[i].name);
		free(w.rows[i].category);
	}
	free(w.rows);
	return ret;
}

static int
run_apps(struct weirctl_ctx *ctx)
{
	return run_ranking(ctx, true);
}

static int
run_categories(struct weirctl_ctx *ctx)
{
	return run_ranking(ctx, false);
}

const struct weirctl_cmd weirctl_cmd_apps = {
	.name = "apps",
	.args = "[--category NAME] [--top N]",
	.summary = "applications (nDPI) ranked by bytes",
	.help =
	"Lists the applications nDPI recognised, most bytes first, with their\n"
	"category, packets, flows and SHARE of the bytes of all applications.\n"
	"A flow counts under Unknown until nDPI gives its verdict, then moves.\n"
	"A table shows the top 50 unless --top says otherwise (--top 0: all);\n"
	"--json prints an array of objects with name, category, bytes, pkts\n"
	"and flows (name and category always strings).\n"
	"\n"
	"  --category NAME  only applications of category NAME (any case;\n"
	"                   weirctl categories lists them)\n"
	"  --top N          stop after N applications\n"
	"\n"
	"`weirctl flows --app NAME` lists the flows of one application.\n",
	.filters = WC_F_CATEGORY | WC_F_TOP,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_apps,
};

const struct weirctl_cmd weirctl_cmd_categories = {
	.name = "categories",
	.args = "[--top N]",
	.summary = "application categories (nDPI) ranked by bytes",
	.help =
	"Lists nDPI's categories (Media, Web, Network, RemoteAccess...), most\n"
	"bytes first, with packets, flows and SHARE of the bytes of all\n"
	"categories. A table shows the top 50 unless --top says otherwise\n"
	"(--top 0: all); --json prints an array of objects with name, bytes,\n"
	"pkts and flows (name always a string).\n"
	"\n"
	"  --top N          stop after N categories\n"
	"\n"
	"`weirctl apps --category NAME` lists the applications of one.\n",
	.filters = WC_F_TOP,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_categories,
};
