/* store.c -- weir-web's Redis connections: one per server thread.
 *
 * libmicrohttpd runs requests on a small pool of threads; each keeps its
 * own weirctl context (connection, key prefix) in thread-local storage, so
 * no lock is taken and a slow request holds up only its own thread. A
 * connection that failed is dropped after the request and made again by
 * the next one, at most once a second per thread, and the failure is
 * logged at most every 10 s. Only read commands are sent (weirctl's
 * reader and the few commands of the API files). */
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
	if (ctx->meta)
		freeReplyObject(ctx->meta);
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
		tctx->node = web_cfg.node;
		tctx->prefix = web_cfg.prefix;
		snprintf(tctx->keypfx, sizeof(tctx->keypfx), "%s{%s}:",
			 web_cfg.prefix, web_cfg.node);
		tctx->json = true;
	}
	if (tctx->conn.c)
		return tctx;
	if (last_try && now - last_try < 5)
		return NULL;
	last_try = now;

	/* weirctl_redis_connect says what failed (stderr, the log). */
	int r = weirctl_redis_connect(&tctx->conn);

	return r == WC_EXIT_OK ? tctx : NULL;
}

void
web_store_check(struct weirctl_ctx *ctx)
{
	if (ctx && ctx->conn.c && ctx->conn.c->err)
		weirctl_redis_close(&ctx->conn);
}

redisReply *
web_cmd(struct weirctl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(ctx->conn.c, fmt, ap);
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
