/* cmd_history.c -- `weirctl history ENTITY`: an entity's traffic over
 * time, from the engine's time series.
 *
 * P ts:RES:ENTITY is a sorted set of `T:BYTES:PKTS:FLOWS` members scored
 * by T, the start of the interval (docs/redis-keys.md). A window is one
 * ZRANGEBYSCORE per series; the points are put into the window's
 * intervals, and an interval without a point is zero traffic (the engine
 * writes nothing for a quiet one). A host given without its VLAN is the
 * sum of its series on every VLAN P hosts knows it on.
 *
 * The window ends now, on the reader's clock. When it holds no point but
 * the series has some (a capture replayed from last week, an engine
 * stopped yesterday), it is moved to end at the newest point, and the
 * table says so: an empty chart would only say "not now".
 *
 * Over several nodes every node's series of the entity is read and the
 * points add up interval by interval (a point's T is the start of its
 * interval on every node, so equal times are the same interval).
 *
 * The resolution follows --since unless --res says: 1s points (one per
 * publish cycle, meta interval_ms apart) for an hour or less, 1m up to 7
 * days, 5m beyond, as the engine keeps them. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "weirctl.h"

#define DEFAULT_SINCE_MS 3600000LL
#define POINTS_MAX 100000
#define KEYS_MAX 64		/* VLANs one address is summed over */
#define CHART_ROWS 10
#define CHART_WIDTH 72

struct point {
	uint64_t bytes, pkts, flows;
	bool seen;
};

struct series {
	char what[600];		/* "host 10.0.0.5@10", for people */
	char *keys[KEYS_MAX];	/* ENTITY as in ts:RES:ENTITY */
	size_t nkeys;
	const char *res_name;
	int64_t res_ms;
	size_t n;		/* points in the window */
	uint64_t first;		/* start of the first interval */
	struct point *p;
	size_t bad;		/* members that were not T:B:P:F */
};

/* ENTITY = kind + name ("host:" + "10.0.0.5@10"). */
static void
add_key(struct series *s, const char *kind, const char *name)
{
	char buf[600];

	if (s->nkeys == KEYS_MAX)
		return;
	snprintf(buf, sizeof(buf), "%s%s", kind, name);
	s->keys[s->nkeys] = strdup(buf);
	if (!s->keys[s->nkeys++])
		abort();
}

static bool
canon_addr(const char *text, char *out, size_t len)
{
	struct weirctl_addr a;

	if (weirctl_addr_parse(text, &a))
		return false;
	inet_ntop(a.af, a.bin, out, (socklen_t)len);
	return true;
}

static bool
parse_num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && !*end && *v <= max;
}

/* Every host id of address canon, from P hosts of every node. */
static int
host_ids(struct weirctl_ctx *ctx, struct series *s, const char *canon)
{
	struct weirctl_zsum ids;
	int ret = weirctl_host_ids(ctx, canon, &ids);

	if (ret)
		return ret;
	for (size_t i = 0; i < ids.n; i++)
		add_key(s, "host:", ids.v[i].m);
	weirctl_zsum_free(&ids);
	return WC_EXIT_OK;
}

/* ENTITY from the command line into s->keys. */
static int
entity(struct weirctl_ctx *ctx, struct series *s)
{
	const char *kind = ctx->f.word, *v = ctx->f.word2;
	char canon[INET6_ADDRSTRLEN], buf[512];
	unsigned long n;
	int ret;

	if (!kind) {
		weirctl_err("history: which entity? host IP[@VLAN], vlan N, subnet "
			    "SRC>DST, app NAME, exporter ADDR, interface "
			    "ADDR#IFINDEX or engine");
		return WC_EXIT_USAGE;
	}
	if (!strcmp(kind, "engine")) {
		if (v)
			goto extra;
		add_key(s, "engine", "");
		snprintf(s->what, sizeof(s->what), "the engine (frames received)");
		return WC_EXIT_OK;
	}
	if (!v) {
		weirctl_err("history %s: which one? (weirctl history --help)", kind);
		return WC_EXIT_USAGE;
	}
	if (!strcmp(kind, "host")) {
		const char *at = strrchr(v, '@');

		snprintf(buf, sizeof(buf), "%.*s", at ? (int)(at - v) : (int)strlen(v), v);
		if (!canon_addr(buf, canon, sizeof(canon)) ||
		    (at && !parse_num(at + 1, 4095, &n))) {
			weirctl_err("history host: '%s' is not IP or IP@VLAN", v);
			return WC_EXIT_USAGE;
		}
		if (at) {
			snprintf(buf, sizeof(buf), "%s@%lu", canon, n);
			add_key(s, "host:", buf);
			snprintf(s->what, sizeof(s->what), "host %s", buf);
			return WC_EXIT_OK;
		}
		ret = host_ids(ctx, s, canon);
		if (ret)
			return ret;
		if (!s->nkeys) {
			weirctl_err("history host: no host %s under node %s (give "
				    "IP@VLAN for one that is gone from weirctl hosts)",
				    canon, ctx->node);
			return WC_EXIT_NODATA;
		}
		snprintf(s->what, sizeof(s->what), "host %s%s", canon,
			 s->nkeys > 1 ? " (all its VLANs)" : "");
		if (s->nkeys == 1)
			snprintf(s->what, sizeof(s->what), "host %s", s->keys[0] + 5);
		return WC_EXIT_OK;
	}
	if (!strcmp(kind, "vlan")) {
		if (!parse_num(v, 4095, &n)) {
			weirctl_err("history vlan: '%s' is not a VLAN id 0-4095", v);
			return WC_EXIT_USAGE;
		}
		snprintf(buf, sizeof(buf), "%lu", n);
		add_key(s, "vlan:", buf);
		snprintf(s->what, sizeof(s->what), "VLAN %lu", n);
		return WC_EXIT_OK;
	}
	if (!strcmp(kind, "subnet")) {
		const char *gt = strchr(v, '>');

		if (!gt || gt == v || !gt[1]) {
			weirctl_err("history subnet: '%s' is not SRC>DST (weirctl "
				    "subnets lists the pairs)", v);
			return WC_EXIT_USAGE;
		}
		add_key(s, "subnet:", v);
		snprintf(s->what, sizeof(s->what), "subnets %s", v);
		return WC_EXIT_OK;
	}
	if (!strcmp(kind, "app")) {
		char *name;

		ret = weirctl_app_name(ctx, v, &name);
		if (ret)
			return ret;
		add_key(s, "app:", name ? name : v);
		snprintf(s->what, sizeof(s->what), "application %s", name ? name : v);
		free(name);
		return WC_EXIT_OK;
	}
	if (!strcmp(kind, "exporter")) {
		if (!canon_addr(v, canon, sizeof(canon))) {
			weirctl_err("history exporter: '%s' is not an address", v);
			return WC_EXIT_USAGE;
		}
		add_key(s, "exporter:", canon);
		snprintf(s->what, sizeof(s->what), "exporter %s", canon);
		return WC_EXIT_OK;
	}
	if (!strcmp(kind, "interface")) {
		const char *hash = strrchr(v, '#');

		snprintf(buf, sizeof(buf), "%.*s", hash ? (int)(hash - v) : 0, v);
		if (!hash || !canon_addr(buf, canon, sizeof(canon)) ||
		    !parse_num(hash + 1, 4294967295UL, &n)) {
			weirctl_err("history interface: '%s' is not ADDR#IFINDEX "
				    "(weirctl interfaces lists them)", v);
			return WC_EXIT_USAGE;
		}
		snprintf(buf, sizeof(buf), "%s#%lu", canon, n);
		add_key(s, "interface:", buf);
		snprintf(s->what, sizeof(s->what), "interface %s", buf);
		return WC_EXIT_OK;
	}
	weirctl_err("history: '%s' is not host, vlan, subnet, app, exporter, "
		    "interface or engine", kind);
	return WC_EXIT_USAGE;
extra:
	weirctl_err("history engine: unexpected '%s'", v);
	return WC_EXIT_USAGE;
}

/* Adds a ZRANGEBYSCORE reply's points into the window. */
static void
add_points(struct series *s, const redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *m = r->element[i];
		unsigned long long t, b, p, fl;
		int used = 0;

		if (m->type != REDIS_REPLY_STRING || m->len != strlen(m->str) ||
		    sscanf(m->str, "%llu:%llu:%llu:%llu%n", &t, &b, &p, &fl,
			   &used) != 4 || (size_t)used != m->len ||
		    m->str[0] < '0' || m->str[0] > '9') {
			s->bad++;
			continue;
		}
		if (t < s->first || (t - s->first) / (uint64_t)s->res_ms >= s->n)
			continue;
		struct point *pt = &s->p[(t - s->first) / (uint64_t)s->res_ms];

		pt->bytes += b;
		pt->pkts += p;
		pt->flows += fl;
		pt->seen = true;
	}
}

/* Reads the window [first, first + n * res) of every key on every node
 * of the view: points of equal times add up. *any says whether a point
 * fell in it. */
static int
read_window(struct weirctl_ctx *ctx, struct series *s, bool *any)
{
	uint64_t end = s->first + (uint64_t)s->n * (uint64_t)s->res_ms;
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	struct weirctl_pipe p = { 0 };
	int ret = WC_EXIT_OK;

	memset(s->p, 0, s->n * sizeof(*s->p));
	s->bad = 0;
	for (size_t v = 0; v < nv && !ret; v++) {
		size_t node = vw[v];
		const char *pfx = ctx->nodes[node].keypfx;

		weirctl_pipe_clear(&p);
		for (size_t k = 0; k < s->nkeys; k++)
			weirctl_pipe_add(&p, "ZRANGEBYSCORE %sts:%s:%s %llu (%llu",
					 pfx, s->res_name, s->keys[k],
					 (unsigned long long)s->first,
					 (unsigned long long)end);
		if (weirctl_pipe_run(ctx, (int)node, &p)) {
			ret = weirctl_redis_fail(ctx, "ZRANGEBYSCORE");
			break;
		}
		for (size_t k = 0; k < s->nkeys; k++) {
			const redisReply *r = p.r[k];

			if (r->type == REDIS_REPLY_ARRAY) {
				add_points(s, r);
			} else if (ret == WC_EXIT_OK) {
				weirctl_err("Redis at %s answered ZRANGEBYSCORE %sts:%s:%s "
					    "with %s", ctx->conn.shown, pfx,
					    s->res_name, s->keys[k],
					    r->type == REDIS_REPLY_ERROR ? r->str :
					    "something other than points");
				ret = WC_EXIT_REDIS;
			}
		}
	}
	weirctl_pipe_free(&p);
	*any = false;
	for (size_t i = 0; i < s->n && !*any; i++)
		*any = s->p[i].seen;
	return ret;
}

/* The newest point's time among the keys of every node, 0 when there is
 * none. */
static int
newest(struct weirctl_ctx *ctx, struct series *s, uint64_t *t)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	long focus = ctx->focus;
	int ret = WC_EXIT_OK;

	*t = 0;
	for (size_t v = 0; v < nv && !ret; v++) {
		weirctl_node_focus(ctx, vw[v]);
		for (size_t k = 0; k < s->nkeys && !ret; k++) {
			char name[700];
			redisReply *r;

			snprintf(name, sizeof(name), "ts:%s:%s", s->res_name, s->keys[k]);
			ret = weirctl_zrevrange_scores(ctx, name, 1, &r);
			if (ret)
				break;
			if (r->elements == 2) {
				uint64_t x = weirctl_score_u64(r->element[1]);

				if (x > *t)
					*t = x;
			}
			freeReplyObject(r);
		}
	}
	if (focus >= 0)
		weirctl_node_focus(ctx, (size_t)focus);
	else
		weirctl_node_unfocus(ctx);
	return ret;
}

static uint64_t
bps_of(const struct series *s, const struct point *p)
{
	return (uint64_t)((unsigned __int128)p->bytes * 8000 / (uint64_t)s->res_ms);
}

static int
chart_width(struct weirctl_ctx *ctx)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) &&
	    ws.ws_col >= 40)
		return ws.ws_col;
	return CHART_WIDTH;
}

static void
print_table(struct weirctl_ctx *ctx, const struct series *s, int64_t since,
	    bool moved)
{
	uint64_t tb = 0, tp = 0, tf = 0, mn = UINT64_MAX, mx = 0;
	size_t seen = 0;
	double *v = calloc(s->n, sizeof(*v));
	char a[48], b[48], c[48], d[48], t0[64], t1[64];

	if (!v)
		abort();
	for (size_t i = 0; i < s->n; i++) {
		uint64_t x = bps_of(s, &s->p[i]);

		v[i] = (double)x;
		mn = x < mn ? x : mn;
		mx = x > mx ? x : mx;
		tb += s->p[i].bytes;
		tp += s->p[i].pkts;
		tf += s->p[i].flows;
		seen += s->p[i].seen;
	}
	weirctl_print_publish_line(ctx);
	fputs("history of ", ctx->out);
	weirctl_put_safe(ctx->out, s->what, strlen(s->what));
	weirctl_fmt_age(since, a, sizeof(a));
	fprintf(ctx->out, ", bits/s over %s in %s points, %s to %s\n", a,
		s->res_name, weirctl_fmt_time(s->first, t0, sizeof(t0)),
		weirctl_fmt_time(s->first + (uint64_t)s->n * (uint64_t)s->res_ms,
				 t1, sizeof(t1)));
	if (moved)
		fprintf(ctx->out, "(nothing in the last %s: the %s up to the newest "
			"point)\n", a, a);
	fputc('\n', ctx->out);
	struct weirctl_chart ch = {
		.v = v, .n = s->n, .t0_ms = s->first, .step_ms = s->res_ms,
		.width = chart_width(ctx), .rows = CHART_ROWS,
		.utf8 = weirctl_locale_utf8(),
	};
	weirctl_chart_draw(ctx->out, &ch);
	/* avg over the whole window: a gap is zero traffic, not no data. */
	fprintf(ctx->out, "\nmin %s  avg %s  max %s\n",
		weirctl_fmt_bps(mn, a, sizeof(a)),
		weirctl_fmt_bps((uint64_t)((unsigned __int128)tb * 8000 /
			((uint64_t)s->n * (uint64_t)s->res_ms)), b, sizeof(b)),
		weirctl_fmt_bps(mx, c, sizeof(c)));
	fprintf(ctx->out, "%zu points, %zu with traffic; %s, %s pkts, %llu flows\n",
		s->n, seen, weirctl_fmt_bytes(tb, d, sizeof(d)),
		weirctl_fmt_count(tp, a, sizeof(a)), (unsigned long long)tf);
	if (s->bad)
		fprintf(ctx->out, "warning: %zu members were not T:BYTES:PKTS:FLOWS "
			"and were left out\n", s->bad);
	free(v);
}

static void
print_json(struct weirctl_ctx *ctx, const struct series *s)
{
	struct weirctl_json j;

	weirctl_json_init(&j, ctx->out);
	weirctl_json_begin_arr(&j);
	for (size_t i = 0; i < s->n; i++) {
		weirctl_json_begin_obj(&j);
		weirctl_json_key(&j, "t");
		weirctl_json_u64(&j, s->first + (uint64_t)i * (uint64_t)s->res_ms);
		weirctl_json_key(&j, "bytes");
		weirctl_json_u64(&j, s->p[i].bytes);
		weirctl_json_key(&j, "pkts");
		weirctl_json_u64(&j, s->p[i].pkts);
		weirctl_json_key(&j, "flows");
		weirctl_json_u64(&j, s->p[i].flows);
		weirctl_json_key(&j, "bps");
		weirctl_json_u64(&j, bps_of(s, &s->p[i]));
		weirctl_json_end_obj(&j);
	}
	weirctl_json_end_arr(&j);
}

static int
run_history(struct weirctl_ctx *ctx)
{
	static const char *const names[] = { "1s", "1m", "5m" };
	static const int64_t fixed_ms[] = { 0, 60000, 300000 };
	int64_t since = ctx->f.since_ms ? ctx->f.since_ms : DEFAULT_SINCE_MS;
	struct series s = { .bad = 0 };
	int res = ctx->f.res;
	uint64_t last, top;
	bool any, moved = false;
	int ret;

	if (res == WC_RES_AUTO)
		res = since <= 3600000LL ? WC_RES_1S :
		      since <= 7 * 86400000LL ? WC_RES_1M : WC_RES_5M;
	s.res_name = names[res];
	s.res_ms = fixed_ms[res];
	if (res == WC_RES_1S) {
		/* 1s points come once a publish cycle */
		uint64_t iv = weirctl_hash_u64(ctx->meta, "interval_ms");

		s.res_ms = iv >= 100 && iv <= 3600000 ? (int64_t)iv : 1000;
	}
	if (since < s.res_ms)
		since = s.res_ms;
	s.n = (size_t)((since + s.res_ms - 1) / s.res_ms);
	if (s.n > POINTS_MAX) {
		weirctl_err("history: %zu points of %s over %s is too many: give a "
			    "coarser --res", s.n, s.res_name,
			    ctx->f.since_ms ? "--since" : "the window");
		return WC_EXIT_USAGE;
	}
	ret = entity(ctx, &s);
	if (ret)
		goto out;
	s.p = calloc(s.n, sizeof(*s.p));
	if (!s.p)
		abort();
	/* The last interval is the one now falls in (still filling). */
	last = (uint64_t)ctx->now_ms - (uint64_t)ctx->now_ms % (uint64_t)s.res_ms;
	s.first = last - (uint64_t)(s.n - 1) * (uint64_t)s.res_ms;
	ret = read_window(ctx, &s, &any);
	if (ret)
		goto out;
	if (!any) {
		ret = newest(ctx, &s, &top);
		if (ret)
			goto out;
		if (top && top < s.first) {
			last = top - top % (uint64_t)s.res_ms;
			s.first = last - (uint64_t)(s.n - 1) * (uint64_t)s.res_ms;
			ret = read_window(ctx, &s, &any);
			if (ret)
				goto out;
			moved = any;
		}
	}
	if (!any) {
		if (ctx->json) {
			fputs("[\n]\n", ctx->out);
		} else {
			weirctl_print_publish_line(ctx);
			fputs("history of ", ctx->out);
			weirctl_put_safe(ctx->out, s.what, strlen(s.what));
			fprintf(ctx->out, ": no %s points (%sts:%s:%s%s holds none)\n",
				s.res_name, weirctl_view_nodes(ctx) > 1 ?
				ctx->prefix : ctx->keypfx, s.res_name, s.keys[0],
				s.nkeys > 1 || weirctl_view_nodes(ctx) > 1 ?
				" and the others" : "");
		}
		ret = WC_EXIT_NODATA;
		goto out;
	}
	if (ctx->json)
		print_json(ctx, &s);
	else
		print_table(ctx, &s, since, moved);
out:
	for (size_t k = 0; k < s.nkeys; k++)
		free(s.keys[k]);
	free(s.p);
	return ret;
}

const struct weirctl_cmd weirctl_cmd_history = {
	.name = "history",
	.args = "ENTITY [--since 1h|24h|7d|30d] [--res 1s|1m|5m]",
	.summary = "an entity's bits/s over time, as a chart",
	.help =
	"Draws the traffic of one entity over time from the engine's time\n"
	"series (ts:RES:ENTITY): bits per second, a column per point (or per\n"
	"group of points, averaged, when they outnumber the columns), then\n"
	"min, avg and max bits/s and the totals. ENTITY is one of\n"
	"\n"
	"  host IP[@VLAN]           a host; without @VLAN, summed over every\n"
	"                           VLAN the address is seen on\n"
	"  vlan N                   a VLAN (0: untagged)\n"
	"  subnet SRC>DST           a subnet pair, as weirctl subnets shows it\n"
	"  app NAME                 an application (any case)\n"
	"  exporter ADDR            a flow exporter\n"
	"  interface ADDR#IFINDEX   an exporter's interface\n"
	"  engine                   every frame the engine received\n"
	"\n"
	"  --since D   how far back: 1h (default), 24h, 7d, 30d or any N\n"
	"              followed by s, m, h or d\n"
	"  --res R     1s (a point a publish cycle), 1m or 5m; by default 1s\n"
	"              up to 1h, 1m up to 7d, 5m beyond\n"
	"\n"
	"The window ends now; when it holds nothing but the series has older\n"
	"points, it ends at the newest one instead (a replayed capture). An\n"
	"interval without a point is zero. --json prints every interval of\n"
	"the window, oldest first: [{t, bytes, pkts, flows, bps}], t its start\n"
	"in unix ms, bps = bytes * 8 / interval, rounded down. Exits 3 (and\n"
	"prints []) when the series has no point.\n",
	.filters = WC_F_ARG_WORD | WC_F_ARG_WORD2 | WC_F_SINCE | WC_F_RES,
	.flags = WC_CMD_REDIS | WC_CMD_WATCH,
	.run = run_history,
	.words = "host vlan subnet app exporter interface engine",
};
