/* units.c -- the small value syntaxes of the config and rules files.
 *
 * Durations ("30s", "5m"), quantities with 1000-based suffixes ("800M"),
 * times of day ("00:00-05:00"), rates ("20/1m"), lists ("a, b"), address
 * blocks. Each parser takes the whole text or nothing: trailing garbage
 * is an error, so a typo is reported at its line instead of being read as
 * something else. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alertd.h"

int alertd_verbose;

void
alertd_log(const char *fmt, ...)
{
	va_list ap;
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(stderr, "%s weir-alertd: ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int64_t
alertd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
alertd_parse_duration_ms(const char *s, int64_t *out)
{
	char *end;
	double v;
	double mult = 1000;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else if (!strcmp(end, "d"))
		mult = 86400000;
	else
		return -1;
	if (v * mult > 10.0 * 365 * 86400000)	/* ten years is enough */
		return -1;
	*out = (int64_t)llround(v * mult);
	return 0;
}

void
alertd_fmt_duration(int64_t ms, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} u[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		  { "s", 1000 }, { "ms", 1 } };
	size_t k = 0;

	if (len)
		buf[0] = 0;
	if (ms <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]) && k < len; i++) {
		int64_t n = ms / u[i].ms;

		if (!n)
			continue;
		k += (size_t)snprintf(buf + k, len - k, "%lld%s", (long long)n,
				      u[i].unit);
		ms -= n * u[i].ms;
	}
}

int
alertd_parse_quantity(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '+')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	if (!*end)
		;
	else if (!strcmp(end, "k") || !strcmp(end, "K"))
		v *= 1e3;
	else if (!strcmp(end, "M"))
		v *= 1e6;
	else if (!strcmp(end, "G"))
		v *= 1e9;
	else if (!strcmp(end, "T"))
		v *= 1e12;
	else
		return -1;
	*out = v;
	return 0;
}

static int
parse_hhmm(const char *s, size_t n, int *min)
{
	unsigned h, m;
	char buf[8];

	if (n != 5 || s[2] != ':')
		return -1;
	memcpy(buf, s, 5);
	buf[5] = 0;
	if (!isdigit((unsigned char)buf[0]) || !isdigit((unsigned char)buf[1]) ||
	    !isdigit((unsigned char)buf[3]) || !isdigit((unsigned char)buf[4]))
		return -1;
	h = (unsigned)(buf[0] - '0') * 10 + (unsigned)(buf[1] - '0');
	m = (unsigned)(buf[3] - '0') * 10 + (unsigned)(buf[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m))
		return -1;
	*min = (int)(h * 60 + m);
	return 0;
}

int
alertd_parse_tod_range(const char *s, int *from_min, int *to_min)
{
	const char *dash = s ? strchr(s, '-') : NULL;

	if (!dash)
		return -1;
	if (parse_hhmm(s, (size_t)(dash - s), from_min) ||
	    parse_hhmm(dash + 1, strlen(dash + 1), to_min))
		return -1;
	if (*from_min == 1440)
		*from_min = 0;
	if (*to_min == 1440)
		*to_min = 0;
	if (*from_min == *to_min)
		return -1;
	return 0;
}

bool
alertd_tod_inside(int from, int to, int m)
{
	if (from < to)
		return m >= from && m < to;
	return m >= from || m < to;	/* wraps past midnight */
}

int
alertd_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int
alertd_parse_rate(const char *s, unsigned *n, int64_t *period_ms)
{
	const char *slash = strchr(s, '/');
	char *end;
	unsigned long v;

	if (!slash || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end != slash || v == 0 || v > 1000000)
		return -1;
	slash++;
	if (!strcmp(slash, "s") || !strcmp(slash, "sec"))
		*period_ms = 1000;
	else if (!strcmp(slash, "min"))
		*period_ms = 60000;
	else if (!strcmp(slash, "h") || !strcmp(slash, "hour"))
		*period_ms = 3600000;
	else if (!strcmp(slash, "d") || !strcmp(slash, "day"))
		*period_ms = 86400000;
	else if (alertd_parse_duration_ms(slash, period_ms) || *period_ms < 1000)
		return -1;
	*n = (unsigned)v;
	return 0;
}

int
alertd_cidr_parse(const char *s, struct alertd_cidr *c)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long plen;
	char *end;

	memset(c, 0, sizeof(*c));
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = 0;
	if (inet_pton(AF_INET, buf, c->bin) == 1)
		c->af = AF_INET;
	else if (inet_pton(AF_INET6, buf, c->bin) == 1)
		c->af = AF_INET6;
	else
		return -1;
	if (!slash) {
		c->plen = c->af == AF_INET ? 32 : 128;
		return 0;
	}
	errno = 0;
	plen = strtoul(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 ||
	    plen > (c->af == AF_INET ? 32u : 128u)) {
		c->af = 0;
		return -1;
	}
	c->plen = (unsigned)plen;
	return 0;
}

bool
alertd_cidr_has(const struct alertd_cidr *c, const char *addr)
{
	unsigned char bin[16];
	unsigned full, rest;

	if (!c->af || !addr)
		return false;
	if (inet_pton(c->af, addr, bin) != 1)
		return false;
	full = c->plen / 8;
	rest = c->plen % 8;
	if (memcmp(bin, c->bin, full))
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));

		if ((bin[full] & mask) != (c->bin[full] & mask))
			return false;
	}
	return true;
}

int
alertd_split_list(const char *s, char *buf, size_t buflen, char **tok, int max)
{
	int n = 0;
	char *p, *save = NULL;

	if (strlen(s) >= buflen)
		return -1;
	strcpy(buf, s);
	/* an empty element ("a,,b", a trailing comma) is a typo: say so */
	for (const char *q = s; *q; q++) {
		if (*q != ',')
			continue;
		const char *r = q + 1;

		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == ',' || !*r)
			return -1;
	}
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *e;

		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = 0;
		if (!*p || n == max)
			return -1;
		tok[n++] = p;
	}
	return n;
}

const char *
alertd_host_ip(const char *host_id, char *buf, size_t len)
{
	const char *at = strrchr(host_id, '@');
	size_t n = at ? (size_t)(at - host_id) : strlen(host_id);

	if (n >= len)
		n = len - 1;
	memcpy(buf, host_id, n);
	buf[n] = 0;
	return buf;
}
