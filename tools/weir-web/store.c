/* store.c -- weir-web's Redis connections: one per server thread.
 *
 * libmicrohttpd runs requests on a small pool of threads; each keeps its
 * own weirctl context (connection, key prefix) in thread-local storage, so
 * no lock is taken and a slow request holds up only its own thread. A
 * connection that failed is dropped after the request and made again by
 * the next one, at most once every 5 s per thread. Only read commands
 * are sent (weirctl's reader and the few commands of the API files),
 * through the cluster-aware layer (one server or a Redis Cluster).
 *
 * Each request chooses its nodes (weirctl's nodes.c): its node=
 * parameter, else --node, else every node in the registry that has
 * published, merged, else "local". A node that has not published yet is
 * read as empty, not as an error: the page says "nothing yet". */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web.h"

static __thread struct weirctl_ctx *tctx;
static __thread time_t last_try;
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

/* When a server thread ends (MHD_stop_daemon), its connection goes. */
static void
ctx_free(void *p)
{
	struct weirctl_ctx *ctx = p;

	weirctl_redis_close(&ctx->conn);
	weirctl_nodes_free(ctx);
	free(ctx);
}

static void
ctx_key_make(void)
{
	pthread_key_create(&ctx_key, ctx_free);
}

static time_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

struct weirctl_ctx *
web_store(void)
{
	time_t now = mono_s();

	if (!tctx) {
		pthread_once(&ctx_once, ctx_key_make);
		tctx = calloc(1, sizeof(*tctx));
		if (!tctx)
			return NULL;
		pthread_setspecific(ctx_key, tctx);
		tctx->conn.url = web_cfg.redis;
		tctx->node = web_cfg.node ? web_cfg.node : "local";
		tctx->prefix = web_cfg.prefix;
		tctx->focus = -1;
		tctx->lenient = true;
		tctx->json = true;
	}
	if (tctx->conn.rc)
		return tctx;
	if (last_try && now - last_try < 5)
		return NULL;
	last_try = now;

	/* weirctl_redis_connect says what failed (stderr, the log). */
	int r = weirctl_redis_connect(&tctx->conn);

	return r == WC_EXIT_OK ? tctx : NULL;
}

int
web_store_nodes(struct MHD_Connection *c, struct weirctl_ctx *ctx,
		struct web_out *o)
{
	static __thread char nodes[WEIRCTL_NODES_MAX * (WEIRCTL_NODE_ID_MAX + 1) + 1];
	int k = web_param_nodes(c, o, nodes, sizeof(nodes));

	if (k < 0)
		return o->status;
	ctx->node_arg = k > 0 ? nodes : web_cfg.node;
	ctx->zset_cached[0] = '\0';
	ctx->redis_failures = 0;
	if (weirctl_nodes_select(ctx) == WC_EXIT_OK)
		return 200;
	return web_fail(o, 502, "Redis failed while reading the nodes and their "
			"meta hashes (see the server log)");
}

void
web_store_check(struct weirctl_ctx *ctx, int status)
{
	if (ctx && (ctx->redis_failures || status == 502 || status == 503))
		weirctl_redis_close(&ctx->conn);
}

redisReply *
web_cmd(struct weirctl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = weirctl_vcommand(ctx, fmt, ap);
	va_end(ap);
	if (!r)
		return NULL;
	if (r->type == REDIS_REPLY_ERROR) {
		web_log("error", "Redis answered an error: %s", r->str ? r->str : "");
		freeReplyObject(r);
		return NULL;
	}
	return r;
}
