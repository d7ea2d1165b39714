/* params.c -- every API parameter is checked here.
 *
 * A Redis key is only ever built from a value that came out of one of
 * these functions: numbers within their range, addresses that inet_pton
 * read (and written back by inet_ntop, as the engine writes them), words
 * from a fixed list, and names (subnets, applications, categories) of
 * restricted characters that the caller then finds as a member of the
 * sorted set Redis lists them in. A bad value is a 400 whose message says
 * which parameter and what it accepts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

int
web_fail(struct web_out *o, int status, const char *fmt, ...)
{
	va_list ap;

	o->status = status;
	va_start(ap, fmt);
	vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	return status;
}

static const char *
get(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

int
web_param_long(struct MHD_Connection *c, struct web_out *o, const char *name,
	       long lo, long hi, long *v)
{
	const char *s = get(c, name);
	char *end;
	long x;

	if (!s)
		return 0;
	/* strtol skips leading white space (\t, \v, ...) and takes a '+':
	 * only '-' or a digit may start the number. */
	errno = 0;
	x = strtol(s, &end, 10);
	if (!*s || errno || *end || x < lo || x > hi ||
	    (s[0] != '-' && (s[0] < '0' || s[0] > '9'))) {
		web_fail(o, 400, "%s: '%.40s' is not a whole number from %ld to %ld",
			 name, s, lo, hi);
		return -1;
	}
	*v = x;
	return 1;
}

bool
web_ip_canon(const char *text, char *buf, size_t len)
{
	unsigned char bin[16];

	if (strlen(text) >= INET6_ADDRSTRLEN)
		return false;
	if (inet_pton(AF_INET, text, bin) == 1)
		return inet_ntop(AF_INET, bin, buf, (socklen_t)len) != NULL;
	if (inet_pton(AF_INET6, text, bin) == 1)
		return inet_ntop(AF_INET6, bin, buf, (socklen_t)len) != NULL;
	return false;
}

int
web_param_ip(struct MHD_Connection *c, struct web_out *o, const char *name,
	     char *buf, size_t len)
{
	const char *s = get(c, name);

	if (!s)
		return 0;
	if (!web_ip_canon(s, buf, len)) {
		web_fail(o, 400, "%s: '%.60s' is not an IPv4 or IPv6 address", name, s);
		return -1;
	}
	return 1;
}

int
web_param_choice(struct MHD_Connection *c, struct web_out *o,
		 const char *name, const char *const *choices, int *idx)
{
	const char *s = get(c, name);
	char list[256];
	size_t used = 0;

	if (!s)
		return 0;
	for (int i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i])) {
			*idx = i;
			return 1;
		}
	list[0] = '\0';
	for (int i = 0; choices[i] && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
					 i ? ", " : "", choices[i]);
	web_fail(o, 400, "%s: '%.40s' is not one of %s", name, s, list);
	return -1;
}

bool
web_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > WEB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch > '~' || strchr("{}*?[]\\\"'", ch))
			return false;
	}
	return true;
}

int
web_param_name(struct MHD_Connection *c, struct web_out *o, const char *name,
	       char *buf, size_t len)
{
	const char *s = get(c, name);

	if (!s)
		return 0;
	if (!web_name_ok(s) || strlen(s) >= len) {
		web_fail(o, 400, "%s: a name is 1 to %d printable characters without "
			 "spaces, quotes, braces or *?[]\\", name, WEB_NAME_MAX);
		return -1;
	}
	strcpy(buf, s);
	return 1;
}

int
web_param_nodes(struct MHD_Connection *c, struct web_out *o, char *buf,
		size_t len)
{
	const char *s = get(c, "node");
	char err[200];

	if (!s)
		return 0;
	if (strlen(s) >= len || weirctl_nodes_check(s, err, sizeof(err))) {
		web_fail(o, 400, "node: %s", strlen(s) >= len ? "too long" : err);
		return -1;
	}
	strcpy(buf, s);
	return 1;
}

int
web_member(struct weirctl_ctx *ctx, const char *zset, const char *member)
{
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	long focus = ctx->focus;
	int ret = 0;

	/* a member of any node of the view */
	for (size_t k = 0; k < nv && ret == 0; k++) {
		redisReply *r;

		weirctl_node_focus(ctx, vw[k]);
		r = web_cmd(ctx, "ZSCORE %s%s %s", ctx->keypfx, zset, member);
		if (!r)
			ret = -1;
		else
			ret = r->type == REDIS_REPLY_STRING ? 1 : 0;
		if (r)
			freeReplyObject(r);
	}
	weirctl_node_restore(ctx, focus);
	return ret;
}
