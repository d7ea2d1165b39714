/* cmd_events.c -- `weirctl events`: what the engine said happened.
 *
 * P events is a Redis stream (docs/redis-keys.md, "Events"): each entry
 * has a type, a ts and fields by type. Without --follow this prints the
 * last N entries (of --type T), read backwards with XREVRANGE and shown
 * oldest first, like a log. With --follow it waits with XREAD BLOCK for
 * what comes next and prints each entry as one line as it arrives, until
 * Ctrl-C (or --count entries).
 *
 * --follow starts where `XREAD ... $` would, but names the position: it
 * asks for the newest id first and then reads after the last id it saw.
 * `$` itself, given again on every call, would skip whatever arrived
 * between two calls. It blocks a second at a time so Ctrl-C is seen
 * within a second and ends with exit 0.
 *
 * Over several nodes the last N are the newest of every node's stream,
 * interleaved by time with a NODE column (and a "node" field in JSON);
 * --follow asks each node in turn without blocking (their streams may
 * live on different masters of a cluster).
 *
 * This is a reader for people and scripts, not a consumer: it reads the
 * stream without a consumer group and acknowledges nothing, so it takes
 * nothing from weir-alertd's group.
 *
 * Event values may come from the wire (an application or host name):
 * every one goes through the table's sanitising or the JSON escaping. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "weirctl.h"

#define DEFAULT_COUNT 20
#define FOLLOW_BLOCK_MS 1000

/* Fields that stay JSON strings whatever they look like: a flow id may
 * be all decimal digits, a subnet named "10". */
static const char *const event_strings[] = {
	"type", "host", "ip", "subnet", "rule", "src_subnet", "dst_subnet",
	"flow", "src", "dst", "app", "category", "exporter", "what", "counter",
	NULL
};

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	stopping = 1;
}

static bool
type_wanted(struct weirctl_ctx *ctx, void *arg, const redisReply *fields)
{
	const char *t;

	if (!ctx->f.type)
		return true;
	t = weirctl_hash_get(fields, "type");
	return t && !strcasecmp(t, ctx->f.type);
}

/* The event's time: its ts field, else the stream id's. */
static uint64_t
event_ms(const redisReply *e)
{
	uint64_t ms;

	if (weirctl_hash_u64_ok(e->element[1], "ts", &ms))
		return ms;
	return weirctl_stream_id_ms(e->element[0]->str);
}

/* "k=v k=v ..." of every field but type and ts, unsanitised (with the
 * values' lengths: they may hold NUL). Caller frees. */
static char *
details(const redisReply *fields, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);

	if (!m)
		abort();
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i], *v = fields->element[i + 1];

		if (!strcmp(k->str, "type") || !strcmp(k->str, "ts"))
			continue;
		if (ftell(m) > 0)
			fputc(' ', m);
		fwrite(k->str, 1, k->len, m);
		fputc('=', m);
		fwrite(v->str, 1, v->len, m);
	}
	fclose(m);
	return buf;
}

/* node: the event's node when the view merges several, else NULL. */
static void
json_event(struct weirctl_json *j, const redisReply *e, const char *node)
{
	weirctl_json_begin_obj(j);
	weirctl_json_key(j, "stream_id");
	weirctl_json_str(j, e->element[0]->str);
	if (node) {
		weirctl_json_key(j, "node");
		weirctl_json_str(j, node);
	}
	weirctl_json_hash_fields(j, e->element[1], event_strings);
	weirctl_json_end_obj(j);
}

/* One line for --follow: time, (node,) type, the rest. */
static void
line_event(struct weirctl_ctx *ctx, const redisReply *e, const char *node)
{
	const redisReply *fields = e->element[1];
	const char *type = weirctl_hash_get(fields, "type");
	char t[64];
	size_t len;
	char *d = details(fields, &len);
	int pad = 14 - (int)strlen(type ? type : "?");

	fprintf(ctx->out, "%s  ", weirctl_fmt_time(event_ms(e), t, sizeof(t)));
	if (node)
		fprintf(ctx->out, "%s  ", node);
	weirctl_put_safe(ctx->out, type ? type : "?", strlen(type ? type : "?"));
	fprintf(ctx->out, "%*s", pad > 1 ? pad : 1, "");
	weirctl_put_safe(ctx->out, d, len);
	fputc('\n', ctx->out);
	free(d);
}

static int
run_last(struct weirctl_ctx *ctx)
{
	static const char *const hdr[] = { "TIME", "NODE", "TYPE", "EVENT" };
	bool merged = weirctl_view_nodes(ctx) > 1;
	long want = ctx->f.count > 0 ? ctx->f.count : DEFAULT_COUNT;
	struct weirctl_entries l;
	int ret = weirctl_stream_last(ctx, "events", want, type_wanted, NULL, &l);

	if (ret)
		return ret;
	if (ctx->json) {
		struct weirctl_json j;

		weirctl_json_init(&j, ctx->out);
		weirctl_json_begin_arr(&j);
		for (size_t i = l.n; i-- > 0;)
			json_event(&j, l.e[i], merged ? ctx->nodes[l.node[i]].id : NULL);
		weirctl_json_end_arr(&j);
	} else {
		struct weirctl_table *t = weirctl_table_new(hdr, "llll");
		char b[64];

		for (size_t i = l.n; i-- > 0;) {
			const redisReply *f = l.e[i]->element[1];
			const char *type = weirctl_hash_get(f, "type");
			size_t len;
			char *d = details(f, &len);

			weirctl_table_cell(t, "%s", weirctl_fmt_time(event_ms(l.e[i]),
								  b, sizeof(b)));
			weirctl_table_cell(t, "%s", ctx->nodes[l.node[i]].id);
			weirctl_table_cell(t, "%s", type ? type : "?");
			weirctl_table_cell_n(t, d, len);
			weirctl_table_end_row(t);
			free(d);
		}
		if (!merged)
			weirctl_table_hide(t, 1);
		weirctl_print_publish_line(ctx);
		if (l.n)
			weirctl_table_print(t, ctx->out, ctx->color);
		fprintf(ctx->out, "%s%zu %s%s%s, oldest first (%sevents%s)\n",
			l.n ? "\n" : "", l.n, ctx->f.type ? ctx->f.type : "",
			ctx->f.type ? " " : "", l.n == 1 ? "event" : "events",
			merged ? ctx->prefix : ctx->keypfx,
			merged ? " of every node, by time" : "");
		weirctl_table_free(t);
	}
	weirctl_entries_free(&l);
	return WC_EXIT_OK;
}

/* The newest id of the current node's stream into pos, "0-0" when it is
 * empty. */
static int
start_pos(struct weirctl_ctx *ctx, char *pos, size_t len)
{
	redisReply *r = weirctl_command(ctx, "XREVRANGE %sevents + - COUNT 1",
					ctx->keypfx);

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		weirctl_err("Redis at %s failed during XREVRANGE %sevents: %s",
			    ctx->conn.shown, ctx->keypfx,
			    r && r->type == REDIS_REPLY_ERROR ? r->str :
			    weirctl_redis_errstr(&ctx->conn));
		if (r)
			freeReplyObject(r);
		return WC_EXIT_REDIS;
	}
	snprintf(pos, len, "0-0");
	if (r->elements && weirctl_entry_ok(r->element[0]) &&
	    r->element[0]->element[0]->len < len)
		snprintf(pos, len, "%s", r->element[0]->element[0]->str);
	freeReplyObject(r);
	return WC_EXIT_OK;
}

struct follow {
	char pos[WEIRCTL_NODES_MAX][64];	/* per node of the view */
	long shown;
	struct weirctl_json j;
};

/* One XREAD of the current node (k-th of the view) after its position;
 * block: how long to wait for something (0: not at all). The reply's
 * entries are appended to got (NULL: none came). */
static int
read_after(struct weirctl_ctx *ctx, struct follow *fw, size_t k, int block,
	   redisReply **got)
{
	redisReply *r;

	*got = NULL;
	if (block)
		r = weirctl_command(ctx, "XREAD COUNT %d BLOCK %d STREAMS %sevents %s",
				    WEIRCTL_BATCH, block, ctx->keypfx, fw->pos[k]);
	else
		r = weirctl_command(ctx, "XREAD COUNT %d STREAMS %sevents %s",
				    WEIRCTL_BATCH, ctx->keypfx, fw->pos[k]);
	if (!r)
		return weirctl_redis_fail(ctx, "XREAD");
	if (r->type == REDIS_REPLY_ERROR) {
		weirctl_err("Redis at %s answered XREAD %sevents with an "
			    "error: %s", ctx->conn.shown, ctx->keypfx, r->str);
		freeReplyObject(r);
		return WC_EXIT_REDIS;
	}
	/* nil on timeout, else [[key, [entry, ...]]] */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2 &&
	    r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
		const redisReply *es = r->element[0]->element[1];

		for (size_t i = 0; i < es->elements; i++) {
			const redisReply *e = es->element[i];

			if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
			    e->element[0]->type == REDIS_REPLY_STRING &&
			    e->element[0]->len < sizeof(fw->pos[k]))
				snprintf(fw->pos[k], sizeof(fw->pos[k]), "%s",
					 e->element[0]->str);
		}
		*got = r;
		return WC_EXIT_OK;
	}
	freeReplyObject(r);
	return WC_EXIT_OK;
}

struct arrived {
	const redisReply *e;
	size_t node;
	uint64_t ms;
};

static int
cmp_arrived(const void *pa, const void *pb)
{
	const struct arrived *a = pa, *b = pb;

	if (a->ms != b->ms)
		return a->ms < b->ms ? -1 : 1;
	return a->node < b->node ? -1 : a->node > b->node;
}

/* Prints what one round brought, oldest first; false when --count is
 * reached. */
static bool
print_round(struct weirctl_ctx *ctx, struct follow *fw, redisReply **got,
	    const size_t *vw, size_t nv)
{
	struct arrived *a = NULL;
	size_t n = 0, cap = 0;
	bool merged = nv > 1, more = true;

	for (size_t k = 0; k < nv; k++) {
		const redisReply *es;

		if (!got[k])
			continue;
		es = got[k]->element[0]->element[1];
		for (size_t i = 0; i < es->elements; i++) {
			const redisReply *e = es->element[i];

			if (!weirctl_entry_ok(e) || !type_wanted(ctx, NULL, e->element[1]))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				a = realloc(a, cap * sizeof(*a));
				if (!a)
					abort();
			}
			a[n].e = e;
			a[n].node = vw[k];
			a[n++].ms = weirctl_stream_id_ms(e->element[0]->str);
		}
	}
	if (merged && n)
		qsort(a, n, sizeof(*a), cmp_arrived);
	for (size_t i = 0; i < n; i++) {
		const char *node = merged ? ctx->nodes[a[i].node].id : NULL;

		if (ctx->f.count > 0 && fw->shown >= ctx->f.count) {
			more = false;
			break;
		}
		if (ctx->json) {
			/* Written as an array's element is, on one line; the
			 * line break ends it. */
			weirctl_json_init(&fw->j, ctx->out);
			fw->j.depth = 1;
			json_event(&fw->j, a[i].e, node);
			fputc('\n', ctx->out);
		} else {
			line_event(ctx, a[i].e, node);
		}
		fw->shown++;
	}
	fflush(ctx->out);
	free(a);
	return more && !(ctx->f.count > 0 && fw->shown >= ctx->f.count);
}

static int
run_follow(struct weirctl_ctx *ctx)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	struct follow *fw = calloc(1, sizeof(*fw));
	redisReply *got[WEIRCTL_NODES_MAX];
	int ret = WC_EXIT_OK;

	if (!fw)
		abort();
	for (size_t k = 0; k < nv && !ret; k++) {
		weirctl_node_focus(ctx, vw[k]);
		ret = start_pos(ctx, fw->pos[k], sizeof(fw->pos[k]));
	}
	if (ret)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (nv > 1)
		fprintf(stderr, "weirctl: following %sevents of %zu nodes (%s)%s%s "
			"(Ctrl-C to stop)\n", ctx->prefix, nv, ctx->node,
			ctx->f.type ? ", type " : "", ctx->f.type ? ctx->f.type : "");
	else
		fprintf(stderr, "weirctl: following %sevents after %s%s%s (Ctrl-C "
			"to stop)\n", ctx->keypfx, fw->pos[0],
			ctx->f.type ? ", type " : "", ctx->f.type ? ctx->f.type : "");
	fflush(stderr);
	/* One node: XREAD BLOCK a second at a time, so Ctrl-C is seen within
	 * a second. Several (their streams are in different slots, maybe on
	 * different masters): each is asked without blocking, and a round
	 * that brought nothing waits a quarter of a second. */
	while (!stopping && (ctx->f.count <= 0 || fw->shown < ctx->f.count)) {
		bool any = false, more;

		memset(got, 0, sizeof(got));
		for (size_t k = 0; k < nv && !ret; k++) {
			weirctl_node_focus(ctx, vw[k]);
			ret = read_after(ctx, fw, k, nv > 1 ? 0 : FOLLOW_BLOCK_MS, &got[k]);
			any |= got[k] != NULL;
		}
		if (ret) {
			for (size_t k = 0; k < nv; k++)
				if (got[k])
					freeReplyObject(got[k]);
			break;
		}
		more = print_round(ctx, fw, got, vw, nv);
		for (size_t k = 0; k < nv; k++)
			if (got[k])
				freeReplyObject(got[k]);
		if (!more)
			break;
		if (!any && nv > 1) {
			struct timespec ts = { 0, 250000000L };

			nanosleep(&ts, NULL);
		}
	}
out:
	weirctl_node_unfocus(ctx);
	free(fw);
	return ret;
}

static int
run_events(struct weirctl_ctx *ctx)
{
	return ctx->f.follow ? run_follow(ctx) : run_last(ctx);
}

const struct weirctl_cmd weirctl_cmd_events = {
	.name = "events",
	.args = "[--follow] [--type T] [--count N]",
	.summary = "what happened: new hosts, boundaries, exporters, health",
	.help =
	"Prints the engine's events stream (events): new_host, boundary (a\n"
	"flow between a watched or forbidden pair of subnets), new_app (a\n"
	"host's first flow of an application), exporter_up, exporter_down and\n"
	"health (Redis back after an outage, packet loss rising). Each event\n"
	"is a line: its time, its type, then its fields as name=value. Values\n"
	"may come off the wire: bytes a terminal would obey are shown as '?'.\n"
	"\n"
	"  --count N   the last N events (default 20), oldest first; with\n"
	"              --follow, stop after N new ones\n"
	"  --type T    only events of type T\n"
	"  --follow    wait for new events and print each as it comes, until\n"
	"              Ctrl-C (exit 0)\n"
	"\n"
	"--json prints an array of objects, oldest first, or with --follow one\n"
	"object a line (JSON lines) as they come: stream_id, type, ts (unix\n"
	"ms) and the event's fields (numbers as numbers; host, ip, subnet,\n"
	"flow, src, dst, app, category, exporter, rule, what... strings).\n"
	"It reads without a consumer group: weir-alertd's events are not\n"
	"taken from it.\n",
	.filters = WC_F_FOLLOW | WC_F_TYPE | WC_F_COUNT,
	.flags = WC_CMD_REDIS,
	.run = run_events,
};
