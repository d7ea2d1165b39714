/* fuzz_webparams.c -- libFuzzer target for weir-web's API parameter checks.
 *
 * Every Redis key weir-web builds comes from a value that went through
 * tools/weir-web/params.c (docs/security.md: web users are untrusted).
 * The input is a URL query string, `a=1&b=%41+c&...`, from anyone who can
 * reach the dashboard. libmicrohttpd splits it and decodes it before our
 * code sees it; we do not fuzz libmicrohttpd, so the split is redone here
 * the way MHD_parse_arguments_ (0.9.75) does it: pairs on '&', key and
 * value on the first '=', '+' into ' ', then libmicrohttpd's own
 * MHD_http_unescape for %XX (so %00 gives a NUL inside a value, which our
 * code then sees as the end of the string). A key without '=' has no
 * value, as in libmicrohttpd. The validators ask for values through
 * MHD_lookup_connection_value, which this file defines: the program's own
 * definition is the one params.o links to, and it answers from the pairs
 * above (first match, case-insensitive on the whole decoded key, as
 * libmicrohttpd's lookup does). No daemon or socket is involved.
 *
 * Each input then goes through every parameter the API reads, with the
 * range, word list or buffer size the API gives it (api.c, api_flows.c,
 * api_ts.c), and the answer must hold together:
 *   - 0 only when the parameter is absent, -1 only with status 400 and a
 *     message, 1 only with a value that obeys the rule:
 *   - numbers within [lo, hi], written as an optional '-' and digits;
 *   - addresses that inet_pton reads back and that are already in the
 *     canonical form web_ip_canon writes (canonicalising is idempotent);
 *   - words equal to the list entry whose index was given;
 *   - names equal to the value, 1..WEB_NAME_MAX bytes of printable ASCII
 *     without space, quotes, braces, backslash or glob characters (such a
 *     name goes into a Redis command and a key pattern).
 * Output buffers are heap blocks of exactly the API's size, so that a
 * write past one is an ASan report. Each decoded value, and the raw input
 * as a string, also goes to web_name_ok and web_ip_canon directly, the
 * latter with buffers too small for some addresses.
 * Seeds: tests/fuzz/corpus/webparams/ (queries the dashboard sends, and
 * bad values the API must refuse). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web.h"

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_webparams: invariant broken: %s\n", #c); \
		abort();						\
	}								\
} while (0)

#define MAX_PAIRS 256

struct pair {
	const char *key;
	size_t klen;
	const char *val;	/* NULL: the key had no '=' */
};

static struct pair pairs[MAX_PAIRS];
static size_t npairs;

/* Stands in for libmicrohttpd's lookup: see the top of the file. */
const char *
MHD_lookup_connection_value(struct MHD_Connection *connection,
			    enum MHD_ValueKind kind, const char *key)
{
	size_t kl = strlen(key);

	if (kind != MHD_GET_ARGUMENT_KIND)
		return NULL;
	for (size_t i = 0; i < npairs; i++)
		if (pairs[i].klen == kl && !strncasecmp(pairs[i].key, key, kl))
			return pairs[i].val;
	return NULL;
}

static void
unescape(char *s, size_t *len)
{
	for (char *p = s; *p; p++)
		if (*p == '+')
			*p = ' ';
	*len = MHD_http_unescape(s);
}

/* Splits q (NUL-terminated, modified) into pairs. */
static void
split(char *q)
{
	npairs = 0;
	while (q && *q && npairs < MAX_PAIRS) {
		char *amp = strchr(q, '&'), *eq;

		if (amp)
			*amp = '\0';
		eq = strchr(q, '=');
		if (eq)
			*eq = '\0';
		struct pair *p = &pairs[npairs++];

		unescape(q, &p->klen);
		p->key = q;
		p->val = NULL;
		if (eq) {
			size_t vl;

			unescape(eq + 1, &vl);
			p->val = eq + 1;
		}
		q = amp ? amp + 1 : NULL;
	}
}

static const char *
lookup(const char *name)
{
	return MHD_lookup_connection_value(NULL, MHD_GET_ARGUMENT_KIND, name);
}

static void
check_fail(const struct web_out *o)
{
	REQUIRE(o->status == 400);
	REQUIRE(memchr(o->err, 0, sizeof(o->err)) != NULL);
	REQUIRE(o->err[0] != '\0');
}

static void
one_long(const char *name, long lo, long hi)
{
	struct web_out o = { .status = 200 };
	const char *s = lookup(name);
	long v = lo - 1;
	int k = web_param_long(NULL, &o, name, lo, hi, &v);

	REQUIRE(k >= -1 && k <= 1);
	REQUIRE((k == 0) == (s == NULL));
	if (k < 0) {
		check_fail(&o);
		return;
	}
	REQUIRE(o.status == 200);
	if (k == 0)
		return;
	REQUIRE(v >= lo && v <= hi);
	const char *d = s[0] == '-' ? s + 1 : s;
	REQUIRE(*d);
	for (; *d; d++)
		REQUIRE(*d >= '0' && *d <= '9');
}

static void
ip_is_canonical(const char *ip)
{
	unsigned char bin[16];
	char again[INET6_ADDRSTRLEN];

	REQUIRE(inet_pton(AF_INET, ip, bin) == 1 || inet_pton(AF_INET6, ip, bin) == 1);
	REQUIRE(web_ip_canon(ip, again, sizeof(again)));
	REQUIRE(!strcmp(ip, again));
}

static void
one_ip(const char *name)
{
	struct web_out o = { .status = 200 };
	const char *s = lookup(name);
	char *buf = malloc(INET6_ADDRSTRLEN);
	int k;

	REQUIRE(buf);
	k = web_param_ip(NULL, &o, name, buf, INET6_ADDRSTRLEN);
	REQUIRE(k >= -1 && k <= 1);
	REQUIRE((k == 0) == (s == NULL));
	if (k < 0)
		check_fail(&o);
	else if (k > 0)
		ip_is_canonical(buf);
	free(buf);
}

static void
one_choice(const char *name, const char *const *choices)
{
	struct web_out o = { .status = 200 };
	const char *s = lookup(name);
	int idx = -1, n = 0, k;

	while (choices[n])
		n++;
	k = web_param_choice(NULL, &o, name, choices, &idx);
	REQUIRE(k >= -1 && k <= 1);
	REQUIRE((k == 0) == (s == NULL));
	if (k < 0) {
		check_fail(&o);
		return;
	}
	if (k > 0) {
		REQUIRE(idx >= 0 && idx < n);
		REQUIRE(!strcmp(s, choices[idx]));
	}
}

static bool
name_chars_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > WEB_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x21 || ch > 0x7e || strchr("{}*?[]\\\"'", ch))
			return false;
	}
	return true;
}

static void
one_name(const char *name, size_t len)
{
	struct web_out o = { .status = 200 };
	const char *s = lookup(name);
	char *buf = malloc(len);
	int k;

	REQUIRE(buf);
	k = web_param_name(NULL, &o, name, buf, len);
	REQUIRE(k >= -1 && k <= 1);
	REQUIRE((k == 0) == (s == NULL));
	if (k < 0) {
		check_fail(&o);
	} else if (k > 0) {
		REQUIRE(strlen(buf) < len);
		REQUIRE(!strcmp(buf, s));
		REQUIRE(name_chars_ok(buf));
	}
	free(buf);
}

/* A text (a decoded value, or the raw input) through the two checks that
 * take no connection; api_ts.c and api_flows.c call them on pieces. */
static void
direct(const char *t)
{
	static const size_t lens[] = { INET6_ADDRSTRLEN, INET_ADDRSTRLEN, 8 };
	bool ok = web_name_ok(t);

	REQUIRE(ok == name_chars_ok(t));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char *buf = malloc(lens[i]);

		REQUIRE(buf);
		if (web_ip_canon(t, buf, lens[i])) {
			REQUIRE(strlen(buf) < lens[i]);
			ip_is_canonical(buf);
		}
		free(buf);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The word lists of api.c, api_flows.c and api_ts.c. */
	static const char *const forms[] = { "pairs", "matrix", NULL };
	static const char *const types[] = { "new_host", "boundary", "new_app",
		"exporter_up", "exporter_down", "health", NULL };
	static const char *const sorts[] = { "bytes", "pkts", "first_seen",
		"last_seen", "duration", "throughput", "src", "dst", "vlan", "app",
		NULL };
	static const char *const orders[] = { "desc", "asc", NULL };
	static const char *const resolutions[] = { "1s", "1m", "5m", NULL };
	char *q = malloc(size + 1);

	REQUIRE(q);
	memcpy(q, data, size);
	q[size] = '\0';
	direct(q);
	split(q);

	/* The numbers and their ranges, as the API reads them. */
	one_long("top", 1, 10000);
	one_long("vlan", 0, 4095);
	one_long("count", 1, 1000);
	one_long("port", 0, 65535);
	one_long("page", 1, 1000000);
	one_long("per_page", 1, 1000);
	one_long("since", 0, 4102444800000L);
	one_long("last", 1, 90L * 86400);
	one_ip("ip");
	one_ip("host");
	one_choice("form", forms);
	one_choice("type", types);
	one_choice("sort", sorts);
	one_choice("order", orders);
	one_choice("res", resolutions);
	one_name("subnet", WEB_NAME_MAX + 1);
	one_name("app", WEB_NAME_MAX + 1);

	for (size_t i = 0; i < npairs; i++)
		if (pairs[i].val)
			direct(pairs[i].val);
	free(q);
	return 0;
}
