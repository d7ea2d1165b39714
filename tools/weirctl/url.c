/* url.c -- which Redis weirctl reads, from a URL.
 *
 * Three forms are accepted, the ones redis-cli and the Redis client
 * libraries use:
 *
 *   redis://[[user]:password@]host[:port][/db]   host may be [v6:addr]
 *   unix:///path/to/redis.sock[?db=N&password=P]
 *   /path/to/redis.sock (a bare path: starts with '/' or '.')
 *
 * The password may hold %XX escapes (for '@', ':' or '/'). Nothing here
 * connects; redis_read.c does. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "weir/rcluster.h"
#include "weirctl.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Copies n bytes of src into dst (size len) decoding %XX. */
static int
decode(char *dst, size_t len, const char *src, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)src[i];

		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hexval(src[i + 1]), l = hexval(src[i + 2]);

			if (h < 0 || l < 0)
				return -1;
			c = h * 16 + l;
			i += 2;
		}
		if (o + 1 >= len)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

static int
parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
	char buf[16];
	char *end;
	long v;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)buf[i]))
			return -1;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int
parse_unix_query(const char *q, struct weirctl_url *u, char *err,
		 size_t errlen)
{
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);

		if (n > 3 && !strncmp(q, "db=", 3)) {
			if (parse_int(q + 3, n - 3, 0, 1 << 20, &u->db))
				FAIL("db must be a number");
		} else if (n >= 9 && !strncmp(q, "password=", 9)) {
			if (decode(u->password, sizeof(u->password), q + 9, n - 9))
				FAIL("bad password escape or password too long");
			u->has_password = true;
		} else {
			FAIL("unknown parameter '%.*s' (db= and password= are known)",
			     (int)n, q);
		}
		q += n + (amp ? 1 : 0);
	}
	return 0;
}

int
weirctl_url_parse(const char *text, struct weirctl_url *u, char *err,
		  size_t errlen)
{
	memset(u, 0, sizeof(*u));
	u->port = 6379;

	if (text[0] == '/' || text[0] == '.') {
		if (strlen(text) >= sizeof(u->path))
			FAIL("socket path too long");
		u->unix_sock = true;
		strcpy(u->path, text);
		return 0;
	}
	if (!strncmp(text, "unix://", 7)) {
		const char *p = text + 7;
		const char *q = strchr(p, '?');
		size_t n = q ? (size_t)(q - p) : strlen(p);

		if (n == 0 || p[0] != '/')
			FAIL("unix:// needs an absolute path: unix:///path/to/redis.sock");
		if (n >= sizeof(u->path))
			FAIL("socket path too long");
		u->unix_sock = true;
		memcpy(u->path, p, n);
		u->path[n] = '\0';
		return q ? parse_unix_query(q + 1, u, err, errlen) : 0;
	}
	if (strncmp(text, "redis://", 8))
		FAIL("expected redis://host[:port][/db], unix:///path or a socket path");

	const char *p = text + 8;
	const char *slash = strchr(p, '/');
	const char *end = slash ? slash : p + strlen(p);
	const char *at = NULL;

	/* The last '@' before the path ends the credentials. */
	for (const char *s = p; s < end; s++)
		if (*s == '@')
			at = s;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		if (!colon)
			FAIL("credentials must be [user]:password@");
		if (decode(u->user, sizeof(u->user), p, (size_t)(colon - p)) ||
		    decode(u->password, sizeof(u->password), colon + 1,
			   (size_t)(at - colon - 1)))
			FAIL("bad %%XX escape, or user or password too long");
		u->has_password = true;
		p = at + 1;
	}

	const char *hend;
	const char *portp = NULL;

	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb)
			FAIL("missing ']' after an IPv6 address");
		if ((size_t)(rb - p - 1) >= sizeof(u->host) || rb == p + 1)
			FAIL("bad IPv6 host");
		memcpy(u->host, p + 1, (size_t)(rb - p - 1));
		u->host[rb - p - 1] = '\0';
		hend = rb + 1;
		if (hend < end && *hend != ':')
			FAIL("expected ':port' after ']'");
		if (hend < end)
			portp = hend + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		hend = colon ? colon : end;
		if (hend == p)
			FAIL("missing host");
		if ((size_t)(hend - p) >= sizeof(u->host))
			FAIL("host name too long");
		memcpy(u->host, p, (size_t)(hend - p));
		u->host[hend - p] = '\0';
		if (colon)
			portp = colon + 1;
	}
	if (portp && parse_int(portp, (size_t)(end - portp), 1, 65535, &u->port))
		FAIL("port must be a number from 1 to 65535");
	if (slash && slash[1] &&
	    parse_int(slash + 1, strlen(slash + 1), 0, 1 << 20, &u->db))
		FAIL("database must be a number after the '/'");
	return 0;
}

void
weirctl_url_show(const struct weirctl_url *u, char *buf, size_t len)
{
	const char *pw = u->has_password ? "***" : "";

	if (u->unix_sock) {
		snprintf(buf, len, "unix://%s%s%s%s", u->path,
			 u->db || u->has_password ? "?" : "",
			 u->has_password ? "password=***" : "",
			 u->db ? (u->has_password ? "&db=" : "db=") : "");
		if (u->db) {
			size_t l = strlen(buf);

			snprintf(buf + l, len - l, "%d", u->db);
		}
		return;
	}
	bool v6 = strchr(u->host, ':') != NULL;

	snprintf(buf, len, "redis://%s%s%s%s%s%s:%d", u->user,
		 u->has_password ? ":" : "", pw, u->has_password ? "@" : "",
		 v6 ? "[" : "", u->host, u->port);
	if (v6) {
		/* put the ']' before the port */
		size_t l = strlen(buf);
		char *c = strrchr(buf, ':');

		if (c && l + 1 < len) {
			memmove(c + 1, c, l - (size_t)(c - buf) + 1);
			*c = ']';
		}
	}
	if (u->db) {
		size_t l = strlen(buf);

		snprintf(buf + l, len - l, "/%d", u->db);
	}
}

struct weir_rc *
weirctl_url_rc(const struct weirctl_url *u, uint32_t timeout_ms)
{
	struct weir_rc_endpoint ep = {
		.host = u->host,
		.port = u->port,
		.unix_path = u->unix_sock ? u->path : NULL,
		.user = u->user,
		.password = u->has_password ? u->password : NULL,
		.db = u->db,
	};

	return weir_rc_new(&ep, timeout_ms);
}
