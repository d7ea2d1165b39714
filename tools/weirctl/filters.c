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

static const struct {
	const char *name;
	unsigned flag;
	bool has_value;
} known[] = {
	{ "--vlan", WC_F_VLAN, true },
	{ "--subnet", WC_F_SUBNET, true },
	{ "--top", WC_F_TOP, true },
	{ "--host", WC_F_HOST, true },
	{ "--port", WC_F_PORT, true },
	{ "--proto", WC_F_PROTO, true },
	{ "--matrix", WC_F_MATRIX, false },
	{ "--app", WC_F_APP, true },
	{ "--category", WC_F_CATEGORY, true },
};

int
weirctl_filters_parse(const char *cmd, unsigned accepted, int argc,
		      char **argv, struct weirctl_filters *f)
{
	memset(f, 0, sizeof(*f));
	f->vlan = -1;
	f->top = -1;
	f->port = -1;
	f->proto = -1;

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
			if (known[k].has_value) {
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
		if (!known[k].has_value)
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
				 known[k].name);

		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
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
