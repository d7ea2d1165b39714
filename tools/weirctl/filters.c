/* filters.c -- the arguments after a command's name.
 *
 * Every command takes its filters from one parser, and declares which
 * ones it accepts (WC_F_*), so `hosts --port 80` is refused with a clear
 * message rather than ignored. Values come as "--vlan 10" or "--vlan=10".
 * Addresses are parsed to binary so that 2001:DB8::1 and 2001:db8::1 are
 * the same host whatever text form the engine wrote. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weirctl.h"

int
weirctl_addr_parse(const char *text, struct weirctl_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->bin) == 1)
		a->af = AF_INET;
	else if (inet_pton(AF_INET6, text, a->bin) == 1)
		a->af = AF_INET6;
	else
		return -1;
	return 0;
}

bool
weirctl_addr_eq_text(const struct weirctl_addr *a, const char *text)
{
	struct weirctl_addr b;

	if (!text || weirctl_addr_parse(text, &b))
		return false;
	return a->af == b.af &&
	       !memcmp(a->bin, b.bin, a->af == AF_INET ? 4 : 16);
}

static const struct {
	const char *name;
	int num;
} protos[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "tcp", 6 }, { "udp", 17 },
	{ "gre", 47 }, { "esp", 50 }, { "ah", 51 }, { "icmp6", 58 },
	{ "ipv6-icmp", 58 }, { "ospf", 89 }, { "sctp", 132 },
};

int
weirctl_proto_parse(const char *text)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcasecmp(text, protos[i].name))
			return protos[i].num;
	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < 0 || v > 255)
		return -1;
	return (int)v;
}

const char *
weirctl_proto_name(unsigned proto, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if ((unsigned)protos[i].num == proto) {
			snprintf(buf, len, "%s", protos[i].name);
			return buf;
		}
	snprintf(buf, len, "%u", proto);
	return buf;
}

static int
parse_long(const char *cmd, const char *opt, const char *v, long lo,
	   long hi, long *out)
{
	char *end;

	errno = 0;
	long x = strtol(v, &end, 10);

	if (!*v || errno || *end || x < lo || x > hi) {
		weirctl_err("%s %s: '%s' is not a number from %ld to %ld "
			    "(see weirctl %s --help)", cmd, opt, v, lo, hi, cmd);
		return -1;
	}
	*out = x;
	return 0;
}

/* has_value: 0 none, 1 required, 2 optional (taken when the next
 * argument is a number). values: what the completion offers after it. */
static const struct {
	const char *name;
	unsigned flag;
	int has_value;
	const char *values;
} known[] = {
	{ "--vlan", WC_F_VLAN, 1, "" },
	{ "--subnet", WC_F_SUBNET, 1, "" },
	{ "--top", WC_F_TOP, 1, "" },
	{ "--host", WC_F_HOST, 1, "" },
	{ "--port", WC_F_PORT, 1, "" },
	{ "--proto", WC_F_PROTO, 1, NULL },	/* the protocol names */
	{ "--matrix", WC_F_MATRIX, 0, "" },
	{ "--app", WC_F_APP, 1, "" },
	{ "--category", WC_F_CATEGORY, 1, "" },
	{ "--recent", WC_F_RECENT, 2, "" },
	{ "--follow", WC_F_FOLLOW, 0, "" },
	{ "--type", WC_F_TYPE, 1, "new_host boundary new_app exporter_up "
				  "exporter_down health" },
	{ "--since", WC_F_SINCE, 1, "1h 24h 7d 30d" },
	{ "--res", WC_F_RES, 1, "1s 1m 5m" },
	{ "--history", WC_F_HISTORY, 0, "" },
};

int64_t
weirctl_since_parse(const char *text)
{
	static const struct { char unit; int64_t ms; } units[] = {
		{ 's', 1000 }, { 'm', 60000 }, { 'h', 3600000 }, { 'd', 86400000 },
	};
	char *end;
	long v;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || v < 1 || v > 3660 || !end[0] || end[1])
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit)
			return v * units[i].ms;
	return -1;
}

static bool
all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int
weirctl_filters_parse(const char *cmd, unsigned accepted, int argc,
		      char **argv, struct weirctl_filters *f)
{
	memset(f, 0, sizeof(*f));
	f->vlan = -1;
	f->top = -1;
	f->port = -1;
	f->proto = -1;
	f->recent = -1;
	f->res = WC_RES_AUTO;
	f->count = -1;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		unsigned flag = 0;
		size_t n;

		if (a[0] != '-' || !a[1]) {
			if ((accepted & WC_F_ARG_IP) && !f->ip_text) {
				if (weirctl_addr_parse(a, &f->ip)) {
					weirctl_err("%s: '%s' is not an IPv4 or IPv6 "
						    "address", cmd, a);
					return WC_EXIT_USAGE;
				}
				f->ip_text = a;
				continue;
			}
			if ((accepted & WC_F_ARG_WORD) && !f->word) {
				f->word = a;
				continue;
			}
			if ((accepted & WC_F_ARG_WORD2) && f->word && !f->word2) {
				f->word2 = a;
				continue;
			}
			weirctl_err("%s: unexpected argument '%s' (see weirctl %s "
				    "--help)", cmd, a, cmd);
			return WC_EXIT_USAGE;
		}
		n = strcspn(a, "=");
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			if (strlen(known[k].name) != n ||
			    strncmp(known[k].name, a, n))
				continue;
			flag = known[k].flag;
			if (known[k].has_value == 2) {
				if (a[n] == '=')
					val = a + n + 1;
				else if (i + 1 < argc && all_digits(argv[i + 1]))
					val = argv[++i];
			} else if (known[k].has_value) {
				if (a[n] == '=')
					val = a + n + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else {
					weirctl_err("%s: %s needs a value", cmd,
						    known[k].name);
					return WC_EXIT_USAGE;
				}
			} else if (a[n] == '=') {
				weirctl_err("%s: %s takes no value", cmd,
					    known[k].name);
				return WC_EXIT_USAGE;
			}
			break;
		}
		if (!flag || !(accepted & flag)) {
			weirctl_err("%s: unknown option '%.*s' (see weirctl %s --help)",
				    cmd, (int)n, a, cmd);
			return WC_EXIT_USAGE;
		}
		switch (flag) {
		case WC_F_VLAN:
			if (parse_long(cmd, "--vlan", val, 0, 4095, &f->vlan))
				return WC_EXIT_USAGE;
			break;
		case WC_F_TOP:
			if (parse_long(cmd, "--top", val, 0, 1L << 40, &f->top))
				return WC_EXIT_USAGE;
			break;
		case WC_F_PORT:
			if (parse_long(cmd, "--port", val, 0, 65535, &f->port))
				return WC_EXIT_USAGE;
			break;
		case WC_F_SUBNET:
			f->subnet = val;
			break;
		case WC_F_HOST:
			if (weirctl_addr_parse(val, &f->host)) {
				weirctl_err("%s --host: '%s' is not an IPv4 or IPv6 "
					    "address", cmd, val);
				return WC_EXIT_USAGE;
			}
			f->host_text = val;
			break;
		case WC_F_PROTO:
			f->proto = weirctl_proto_parse(val);
			if (f->proto < 0) {
				weirctl_err("%s --proto: '%s' is not tcp, udp, icmp, "
					    "icmp6, sctp, gre or a number 0-255",
					    cmd, val);
				return WC_EXIT_USAGE;
			}
			break;
		case WC_F_MATRIX:
			f->matrix = true;
			break;
		case WC_F_FOLLOW:
			f->follow = true;
			break;
		case WC_F_HISTORY:
			f->history = true;
			break;
		case WC_F_RECENT:
			f->recent = 50;
			if (val && parse_long(cmd, "--recent", val, 1, 100000000,
					      &f->recent))
				return WC_EXIT_USAGE;
			break;
		case WC_F_TYPE:
			if (!*val) {
				weirctl_err("%s --type: needs an event type (new_host, "
					    "boundary, new_app, exporter_up, "
					    "exporter_down, health)", cmd);
				return WC_EXIT_USAGE;
			}
			f->type = val;
			break;
		case WC_F_SINCE:
			f->since_ms = weirctl_since_parse(val);
			if (f->since_ms < 0) {
				weirctl_err("%s --since: '%s' is not a duration such as "
					    "1h, 24h, 7d or 30d (N followed by s, m, h "
					    "or d)", cmd, val);
				return WC_EXIT_USAGE;
			}
			break;
		case WC_F_RES:
			if (!strcmp(val, "1s"))
				f->res = WC_RES_1S;
			else if (!strcmp(val, "1m"))
				f->res = WC_RES_1M;
			else if (!strcmp(val, "5m"))
				f->res = WC_RES_5M;
			else {
				weirctl_err("%s --res: '%s' is not 1s, 1m or 5m", cmd,
					    val);
				return WC_EXIT_USAGE;
			}
			break;
		case WC_F_APP:
		case WC_F_CATEGORY:
			if (!*val) {
				weirctl_err("%s %s: needs a name (weirctl %s lists "
					    "them)", cmd, flag == WC_F_APP ? "--app" :
					    "--category", flag == WC_F_APP ? "apps" :
					    "categories");
				return WC_EXIT_USAGE;
			}
			if (flag == WC_F_APP)
				f->app = val;
			else
				f->category = val;
			break;
		}
	}
	if ((accepted & WC_F_ARG_IP) && !f->ip_text) {
		weirctl_err("%s: which address? (weirctl %s IP)", cmd, cmd);
		return WC_EXIT_USAGE;
	}
	return WC_EXIT_OK;
}

void
weirctl_filter_names(unsigned mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		if (!(mask & known[k].flag))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "",
				 known[k].name);

		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

void
weirctl_proto_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "",
				 protos[i].name);

		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

void
weirctl_filter_valued_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		if (known[k].has_value != 1)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
				 known[k].name);

		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

const char *
weirctl_filter_values(const char *option)
{
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (!strcmp(known[k].name, option))
			return known[k].values ? known[k].values : "";
	return "";
}

bool
weirctl_app_matches(const char *want, const char *app, const char *application)
{
	const char *dot;

	if (application && !strcasecmp(want, application))
		return true;
	if (!app)
		return false;
	if (!strcasecmp(want, app))
		return true;
	/* nDPI prints a pair as MASTER.APP; names themselves have no dot. */
	dot = strchr(app, '.');
	if (!dot)
		return false;
	return (strlen(want) == (size_t)(dot - app) &&
		!strncasecmp(want, app, (size_t)(dot - app))) ||
	       !strcasecmp(want, dot + 1);
}

bool
weirctl_subnet_match(const char *want, const char *src, size_t srclen,
		     const char *dst)
{
	const char *gt = strchr(want, '>');

	if (gt)
		return srclen == (size_t)(gt - want) && !memcmp(src, want, srclen) &&
		       !strcmp(dst, gt + 1);
	return (strlen(want) == srclen && !memcmp(want, src, srclen)) ||
	       !strcmp(dst, want);
}
