/* fmt.c -- numbers, times and text as a person reads them.
 *
 * Bytes use the 1000 base (a 1 Gbit/s link moves 125 MB/s, the way NIC
 * and switch counters are read); rates are bits per second. Three
 * significant digits are enough to compare rows at a glance; --json
 * gives the exact counters. Also here: the UTF-8 check shared by the
 * table (which must not pass an interface name's escape sequences to a
 * terminal) and the JSON writer (which must emit valid UTF-8). */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "weirctl.h"

static const char *
fmt_si(double x, const char *const *units, size_t nunits, const char *sep,
       char *buf, size_t len)
{
	size_t u = 0;

	while (x >= 999.5 && u + 1 < nunits) {
		x /= 1000.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f%s%s", x, sep, units[0]);
	else if (x < 9.995)
		snprintf(buf, len, "%.2f%s%s", x, sep, units[u]);
	else if (x < 99.95)
		snprintf(buf, len, "%.1f%s%s", x, sep, units[u]);
	else
		snprintf(buf, len, "%.0f%s%s", x, sep, units[u]);
	return buf;
}

const char *
weirctl_fmt_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KB", "MB", "GB", "TB", "PB", "EB" };

	return fmt_si((double)v, u, 7, " ", buf, len);
}

const char *
weirctl_fmt_bps(uint64_t v, char *buf, size_t len)
{
	static const char *const u[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s",
					 "Tbit/s", "Pbit/s", "Ebit/s" };

	return fmt_si((double)v, u, 7, " ", buf, len);
}

const char *
weirctl_fmt_count(uint64_t v, char *buf, size_t len)
{
	static const char *const u[] = { "", "k", "M", "G", "T", "P", "E" };

	return fmt_si((double)v, u, 7, "", buf, len);
}

const char *
weirctl_fmt_share(uint64_t part, uint64_t total, char *buf, size_t len)
{
	double pct = total ? 100.0 * (double)part / (double)total : 0;

	if (!total)
		snprintf(buf, len, "-");
	else if (part && pct < 0.05)
		snprintf(buf, len, "<0.1%%");
	else
		snprintf(buf, len, "%.1f%%", pct);
	return buf;
}

const char *
weirctl_fmt_time(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !localtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "-");
	return buf;
}

const char *
weirctl_fmt_age(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms < 0 ? 0 : ms / 1000;

	if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60),
			 (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldd%02lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	return buf;
}

int64_t
weirctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t
weirctl_utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t need;
	unsigned min, cp;

	if (n == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2; cp = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3; cp = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

bool
weirctl_is_json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (isdigit((unsigned char)*s))
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

const char *
weirctl_fmt_tick(uint64_t ms, int64_t span_ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n = 0;

	if (localtime_r(&t, &tm)) {
		if (span_ms < 3600000)
			n = strftime(buf, len, "%H:%M:%S", &tm);
		else if (span_ms < 86400000)
			n = strftime(buf, len, "%H:%M", &tm);
		else if (span_ms <= 7 * 86400000LL)
			n = strftime(buf, len, "%m-%d %H:%M", &tm);
		else
			n = strftime(buf, len, "%Y-%m-%d", &tm);
	}
	if (!n)
		snprintf(buf, len, "-");
	return buf;
}
