/* config.c -- weir-web's settings and the checks on where it listens.
 *
 * The settings live in one struct filled by main.c from the command line;
 * the server's pieces read it after start-up and never write it. The
 * listen address is parsed here (numeric only: a name is not resolved),
 * and whether it is loopback decides if main.c may use it without an
 * explicit --listen. Also the log line format. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web.h"

struct web_cfg web_cfg;

void
web_log(const char *level, const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s weir-web %s: ", ts, level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
web_listen_parse(const char *text, struct sockaddr_storage *ss,
		 socklen_t *len, char *err, size_t errlen)
{
	char host[64];
	const char *colon, *h = text;
	size_t hl;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');

		if (!rb || rb[1] != ':') {
			snprintf(err, errlen, "'%s': an IPv6 address is written [ADDR]:PORT", text);
			return -1;
		}
		h = text + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || strchr(text, ':') != colon) {
			snprintf(err, errlen, "'%s' is not ADDR:PORT (IPv6: [ADDR]:PORT)", text);
			return -1;
		}
		hl = (size_t)(colon - text);
	}
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "'%s': no address before the port", text);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 1 || port > 65535) {
		snprintf(err, errlen, "'%s': the port must be 1 to 65535", text);
		return -1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
	} else {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address (names are "
			 "not resolved)", host);
		return -1;
	}
	return 0;
}

bool
web_addr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	}
	return false;
}

int
web_origin_parse(const char *text, char *out, size_t len)
{
	size_t n = strlen(text);
	const char *host;

	if (!strncmp(text, "https://", 8))
		host = text + 8;
	else if (!strncmp(text, "http://", 7))
		host = text + 7;
	else
		return -1;
	if (n && text[n - 1] == '/')
		n--;
	if (n >= len || (size_t)(host - text) >= n)
		return -1;
	for (const char *p = host; p < text + n; p++)
		if (!(isalnum((unsigned char)*p) || strchr(".-:[]", *p)))
			return -1;
	memcpy(out, text, n);
	out[n] = '\0';
	return 0;
}
