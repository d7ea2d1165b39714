/* conf_rule.c -- the keys of a [rule NAME] section.
 *
 * `kind` comes first, because what the other keys mean (and their
 * defaults) depends on it. Each kind takes a fixed set of keys; any other
 * key is an error naming the ones it takes. Checks that involve several
 * keys (release-below above the threshold, a window shorter than the
 * series' resolution) run when the section ends (alertd_rule_finish). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alertd.h"

static const char *const kind_names[ALERTD_K_COUNT] = {
	[ALERTD_K_THRESHOLD] = "threshold",
	[ALERTD_K_BOUNDARY] = "boundary",
	[ALERTD_K_NEW_HOST] = "new-host",
	[ALERTD_K_NEW_APP] = "new-app",
	[ALERTD_K_SCAN] = "scan",
	[ALERTD_K_DNS_QUIET] = "dns-quiet",
	[ALERTD_K_EXPORTER_DOWN] = "exporter-down",
	[ALERTD_K_HEALTH] = "health",
};

/* The keys each kind takes besides kind, severity, notify,
 * notify-updates, notify-release. */
static const char *const kind_keys[ALERTD_K_COUNT] = {
	[ALERTD_K_THRESHOLD] = ("entity metric resolution window above "
			       "release-below critical-above for release-for "
			       "max-entities"),
	[ALERTD_K_BOUNDARY] = ("from to boundary port proto app group-by "
			      "release-after"),
	[ALERTD_K_NEW_HOST] = ("subnet local release-after"),
	[ALERTD_K_NEW_APP] = ("app category subnet learning release-after"),
	[ALERTD_K_SCAN] = ("hosts subnet peers ports window hold max-entities"),
	[ALERTD_K_DNS_QUIET] = ("quiet hosts subnet release-after"),
	[ALERTD_K_EXPORTER_DOWN] = ("exporter release-after"),
	[ALERTD_K_HEALTH] = ("what release-after"),
};

const char *
alertd_kind_name(enum alertd_kind k)
{
	return k < ALERTD_K_COUNT ? kind_names[k] : "?";
}

const char *
alertd_sev_name(enum alertd_sev s)
{
	return s == ALERTD_SEV_CRITICAL ? "critical" :
	       s == ALERTD_SEV_WARNING ? "warning" : "info";
}

int
alertd_sev_parse(const char *s, enum alertd_sev *out)
{
	if (!strcmp(s, "info"))
		*out = ALERTD_SEV_INFO;
	else if (!strcmp(s, "warning"))
		*out = ALERTD_SEV_WARNING;
	else if (!strcmp(s, "critical"))
		*out = ALERTD_SEV_CRITICAL;
	else
		return -1;
	return 0;
}

static bool
takes(enum alertd_kind k, const char *key)
{
	const char *list = kind_keys[k];
	size_t n = strlen(key);

	for (const char *p = list; (p = strstr(p, key)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

static void
defaults(struct alertd_rule *r, enum alertd_kind k)
{
	r->kind = k;
	r->notify_release = true;
	r->port = -1;
	r->proto = -1;
	r->local = -1;
	strcpy(r->pattern, "*");
	r->max_entities = 1000;
	r->window_ms = 60000;
	r->above = -1;
	r->release_below = -1;
	switch (k) {
	case ALERTD_K_THRESHOLD:
		r->severity = ALERTD_SEV_WARNING;
		r->pattern[0] = 0;
		break;
	case ALERTD_K_BOUNDARY:
		r->severity = ALERTD_SEV_WARNING;	/* critical for forbid */
		r->release_after_ms = 600000;
		break;
	case ALERTD_K_NEW_HOST:
	case ALERTD_K_NEW_APP:
		r->severity = ALERTD_SEV_INFO;
		r->release_after_ms = 3600000;
		break;
	case ALERTD_K_SCAN:
		r->severity = ALERTD_SEV_WARNING;
		r->hold_ms = 300000;
		break;
	case ALERTD_K_DNS_QUIET:
		r->severity = ALERTD_SEV_WARNING;
		r->release_after_ms = 3600000;
		r->quiet_from = r->quiet_to = -1;
		break;
	case ALERTD_K_EXPORTER_DOWN:
		r->severity = ALERTD_SEV_CRITICAL;
		r->release_after_ms = 0;	/* until exporter_up */
		break;
	case ALERTD_K_HEALTH:
		r->severity = ALERTD_SEV_WARNING;
		r->release_after_ms = 600000;
		strcpy(r->what, "any");
		break;
	case ALERTD_K_COUNT:
		break;
	}
}

static bool
subnet_name_ok(const char *s)
{
	if (!*s || strlen(s) >= ALERTD_NAME_MAX)
		return false;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || *s == '>' || *s == ',')
			return false;
	return true;
}

static void
parse_entity(struct alertd_parse *p, struct alertd_rule *r, const char *val)
{
	static const struct {
		const char *pfx;
		enum alertd_ent e;
	} ents[] = {
		{ "host:", ALERTD_ENT_HOST }, { "vlan:", ALERTD_ENT_VLAN },
		{ "subnet:", ALERTD_ENT_SUBNET }, { "app:", ALERTD_ENT_APP },
		{ "interface:", ALERTD_ENT_INTERFACE },
		{ "exporter:", ALERTD_ENT_EXPORTER },
	};

	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		size_t n = strlen(ents[i].pfx);
		const char *rest = val + n;

		if (strncmp(val, ents[i].pfx, n))
			continue;
		if (!*rest || strlen(rest) >= sizeof(r->pattern) ||
		    strpbrk(rest, " \t")) {
			alertd_parse_error(p, "entity: '%s' names nothing", val);
			return;
		}
		if (ents[i].e == ALERTD_ENT_SUBNET && !strchr(rest, '>')) {
			alertd_parse_error(p, "entity: a subnet pair is "
					   "subnet:SRC>DST (names), not '%s'", val);
			return;
		}
		if (ents[i].e == ALERTD_ENT_INTERFACE && !strchr(rest, '#')) {
			alertd_parse_error(p, "entity: an interface is "
					   "interface:EXPORTER#IFINDEX, not '%s'",
					   val);
			return;
		}
		r->ent = ents[i].e;
		strcpy(r->pattern, rest);
		return;
	}
	alertd_parse_error(p, "entity: '%s' is not host:ID, vlan:N, "
			   "subnet:SRC>DST, app:NAME, interface:ADDR#IF or "
			   "exporter:ADDR (a * or ? in the name matches "
			   "several)", val);
}

static void
parse_metric(struct alertd_parse *p, struct alertd_rule *r, const char *val)
{
	static const struct {
		const char *name;
		enum alertd_metric m;
	} ms[] = {
		{ "bits/s", ALERTD_M_BITS }, { "bps", ALERTD_M_BITS },
		{ "bytes/s", ALERTD_M_BYTES }, { "packets/s", ALERTD_M_PACKETS },
		{ "pps", ALERTD_M_PACKETS }, { "flows/s", ALERTD_M_FLOWS_RATE },
		{ "flows", ALERTD_M_FLOWS }, { "peers", ALERTD_M_PEERS },
		{ "ports", ALERTD_M_PORTS },
	};

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		if (!strcmp(val, ms[i].name)) {
			r->metric = ms[i].m;
			return;
		}
	alertd_parse_error(p, "metric: '%s' is not bits/s, bytes/s, packets/s, "
			   "flows/s, flows (in the window), peers or ports "
			   "(distinct, in the window)", val);
}

static void
dur(struct alertd_parse *p, const char *key, const char *val, int64_t *out,
    int64_t min)
{
	if (alertd_parse_duration_ms(val, out) || *out < min)
		alertd_parse_error(p, "%s: '%s' is not a duration of at least "
				   "%llds (30s, 5m, 2h)", key, val,
				   (long long)(min / 1000));
}

static void
num(struct alertd_parse *p, const char *key, const char *val, double *out)
{
	if (alertd_parse_quantity(val, out))
		alertd_parse_error(p, "%s: '%s' is not a number (suffixes k, M, G, "
				   "T: 1000-based)", key, val);
}

static void
whole(struct alertd_parse *p, const char *key, const char *val, unsigned *out,
      unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || *end || end == val || !isdigit((unsigned char)*val) ||
	    v < lo || v > hi) {
		alertd_parse_error(p, "%s: '%s' is not a whole number from %u to "
				   "%u", key, val, lo, hi);
		return;
	}
	*out = (unsigned)v;
}

void
alertd_rule_key(struct alertd_parse *p, struct alertd_rule *r, const char *key,
		const char *val)
{
	bool b;

	if (!strcmp(key, "kind")) {
		if (r->kind > ALERTD_K_COUNT)
			return;		/* already reported */
		if (r->kind != ALERTD_K_COUNT) {
			alertd_parse_error(p, "kind given twice");
			return;
		}
		for (int k = 0; k < ALERTD_K_COUNT; k++)
			if (!strcmp(val, kind_names[k])) {
				defaults(r, (enum alertd_kind)k);
				r->severity = (enum alertd_sev)-1;	/* unset */
				return;
			}
		alertd_parse_error(p, "kind: '%s' is not threshold, boundary, "
				   "new-host, new-app, scan, dns-quiet, "
				   "exporter-down or health", val);
		r->kind = (enum alertd_kind)(ALERTD_K_COUNT + 1);	/* bad */
		return;
	}
	if (r->kind == ALERTD_K_COUNT) {
		alertd_parse_error(p, "rule %s: 'kind = ...' must come first",
				   r->name);
		r->kind = (enum alertd_kind)(ALERTD_K_COUNT + 1);
		return;
	}
	if (r->kind > ALERTD_K_COUNT)
		return;		/* the kind was reported */

	if (!strcmp(key, "severity")) {
		if (alertd_sev_parse(val, &r->severity))
			alertd_parse_error(p, "severity: '%s' is not info, warning "
					   "or critical", val);
		else
			r->severity_set = true;
		return;
	}
	if (!strcmp(key, "notify-updates") || !strcmp(key, "notify-release")) {
		if (alertd_parse_bool(val, &b))
			alertd_parse_error(p, "%s: '%s' is not yes or no", key, val);
		else if (key[7] == 'u')
			r->notify_updates = b;
		else
			r->notify_release = b;
		return;
	}
	if (!takes(r->kind, key)) {
		alertd_parse_error(p, "a %s rule takes no '%s' (it takes: kind "
				   "severity notify notify-updates "
				   "notify-release %s)", kind_names[r->kind], key,
				   kind_keys[r->kind]);
		return;
	}

	if (!strcmp(key, "entity")) {
		parse_entity(p, r, val);
	} else if (!strcmp(key, "metric")) {
		parse_metric(p, r, val);
	} else if (!strcmp(key, "resolution")) {
		if (!strcmp(val, "1s"))
			r->res_1m = false;
		else if (!strcmp(val, "1m"))
			r->res_1m = true;
		else
			alertd_parse_error(p, "resolution: '%s' is not 1s or 1m",
					   val);
	} else if (!strcmp(key, "window")) {
		dur(p, key, val, &r->window_ms, 1000);
	} else if (!strcmp(key, "above")) {
		num(p, key, val, &r->above);
	} else if (!strcmp(key, "release-below")) {
		num(p, key, val, &r->release_below);
	} else if (!strcmp(key, "critical-above")) {
		num(p, key, val, &r->critical_above);
		r->has_critical = true;
	} else if (!strcmp(key, "for")) {
		dur(p, key, val, &r->for_ms, 0);
	} else if (!strcmp(key, "release-for")) {
		dur(p, key, val, &r->release_for_ms, 0);
	} else if (!strcmp(key, "release-after")) {
		dur(p, key, val, &r->release_after_ms, 0);
	} else if (!strcmp(key, "max-entities")) {
		whole(p, key, val, &r->max_entities, 1, 100000);
	} else if (!strcmp(key, "from") || !strcmp(key, "to")) {
		if (!subnet_name_ok(val))
			alertd_parse_error(p, "%s: '%s' is not a subnet name (as "
					   "given to the engine's --subnet)", key,
					   val);
		else
			strcpy(key[0] == 'f' ? r->from : r->to, val);
	} else if (!strcmp(key, "boundary")) {
		if (!strcmp(val, "any"))
			r->boundary_mode = 0;
		else if (!strcmp(val, "watch"))
			r->boundary_mode = 1;
		else if (!strcmp(val, "forbid"))
			r->boundary_mode = 2;
		else
			alertd_parse_error(p, "boundary: '%s' is not watch, forbid "
					   "or any", val);
	} else if (!strcmp(key, "port")) {
		unsigned v = 0;

		whole(p, key, val, &v, 0, 65535);
		r->port = v;
	} else if (!strcmp(key, "proto")) {
		r->proto = weirctl_proto_parse(val);
		if (r->proto < 0)
			alertd_parse_error(p, "proto: '%s' is not tcp, udp, icmp, "
					   "icmpv6, sctp or a number", val);
	} else if (!strcmp(key, "app")) {
		char buf[256], *tok[16];

		if (strlen(val) >= sizeof(r->apps) ||
		    alertd_split_list(val, buf, sizeof(buf), tok, 16) < 1)
			alertd_parse_error(p, "app: one to 16 application names "
					   "(as nDPI names them), comma separated");
		else
			strcpy(r->apps, val);
	} else if (!strcmp(key, "category")) {
		if (strlen(val) >= sizeof(r->category))
			alertd_parse_error(p, "category: too long");
		else
			strcpy(r->category, val);
	} else if (!strcmp(key, "group-by")) {
		if (!strcmp(val, "pair"))
			r->group = ALERTD_G_PAIR;
		else if (!strcmp(val, "src"))
			r->group = ALERTD_G_SRC;
		else if (!strcmp(val, "dst"))
			r->group = ALERTD_G_DST;
		else if (!strcmp(val, "subnet"))
			r->group = ALERTD_G_SUBNET;
		else
			alertd_parse_error(p, "group-by: '%s' is not pair, src, dst "
					   "or subnet", val);
	} else if (!strcmp(key, "subnet")) {
		if (strchr(val, '/') || strchr(val, ':') ||
		    (isdigit((unsigned char)*val) && strchr(val, '.'))) {
			if (alertd_cidr_parse(val, &r->cidr))
				alertd_parse_error(p, "subnet: '%s' is not an "
						   "address block (10.0.30.0/24)",
						   val);
		} else if (!subnet_name_ok(val)) {
			alertd_parse_error(p, "subnet: '%s' is neither a subnet "
					   "name nor an address block", val);
		} else {
			strcpy(r->subnet, val);
		}
	} else if (!strcmp(key, "local")) {
		if (alertd_parse_bool(val, &b))
			alertd_parse_error(p, "local: '%s' is not yes or no", val);
		else
			r->local = b;
	} else if (!strcmp(key, "learning")) {
		dur(p, key, val, &r->learning_ms, 0);
	} else if (!strcmp(key, "hosts") || !strcmp(key, "exporter")) {
		if (strlen(val) >= sizeof(r->pattern) || strpbrk(val, " \t"))
			alertd_parse_error(p, "%s: one pattern (10.0.30.*@*), "
					   "without blanks", key);
		else
			strcpy(r->pattern, val);
	} else if (!strcmp(key, "peers")) {
		whole(p, key, val, &r->scan_peers, 1, 1000000);
	} else if (!strcmp(key, "ports")) {
		whole(p, key, val, &r->scan_ports, 1, 65536);
	} else if (!strcmp(key, "hold")) {
		dur(p, key, val, &r->hold_ms, 1000);
	} else if (!strcmp(key, "quiet")) {
		if (alertd_parse_tod_range(val, &r->quiet_from, &r->quiet_to))
			alertd_parse_error(p, "quiet: '%s' is not HH:MM-HH:MM "
					   "(local time, may wrap past midnight)",
					   val);
	} else if (!strcmp(key, "what")) {
		if (strcmp(val, "any") && strcmp(val, "drops") &&
		    strcmp(val, "redis_back"))
			alertd_parse_error(p, "what: '%s' is not drops, redis_back "
					   "or any", val);
		else
			strcpy(r->what, val);
	}
}

void
alertd_rule_finish(struct alertd_parse *p, struct alertd_rule *r)
{
	int save = p->line;

	p->line = r->line;
	if (r->kind == ALERTD_K_COUNT) {
		alertd_parse_error(p, "rule %s: needs kind = ...", r->name);
		goto out;
	}
	if (r->kind > ALERTD_K_COUNT)
		goto out;
	if ((int)r->severity == -1)
		r->severity = r->kind == ALERTD_K_BOUNDARY && r->boundary_mode == 2 ?
			      ALERTD_SEV_CRITICAL :
			      r->kind == ALERTD_K_EXPORTER_DOWN ? ALERTD_SEV_CRITICAL :
			      r->kind == ALERTD_K_NEW_HOST ||
			      r->kind == ALERTD_K_NEW_APP ? ALERTD_SEV_INFO :
			      ALERTD_SEV_WARNING;
	switch (r->kind) {
	case ALERTD_K_THRESHOLD:
		if (!r->pattern[0])
			alertd_parse_error(p, "rule %s: needs entity = KIND:NAME "
					   "(host:10.0.0.5@0, subnet:users>servers, "
					   "...)", r->name);
		if (r->above < 0)
			alertd_parse_error(p, "rule %s: needs above = NUMBER",
					   r->name);
		if (r->release_below < 0)
			r->release_below = r->above;
		else if (r->release_below > r->above)
			alertd_parse_error(p, "rule %s: release-below (%g) is above "
					   "the threshold (%g): it would never "
					   "hold", r->name, r->release_below,
					   r->above);
		if (r->has_critical && r->critical_above < r->above)
			alertd_parse_error(p, "rule %s: critical-above (%g) is below "
					   "above (%g)", r->name, r->critical_above,
					   r->above);
		if ((r->metric == ALERTD_M_PEERS || r->metric == ALERTD_M_PORTS) &&
		    (r->ent == ALERTD_ENT_INTERFACE ||
		     r->ent == ALERTD_ENT_EXPORTER))
			alertd_parse_error(p, "rule %s: metric %s is counted over "
					   "the flow index, which interfaces and "
					   "exporters do not have (host, vlan, "
					   "subnet and app do)", r->name,
					   r->metric == ALERTD_M_PEERS ? "peers" :
					   "ports");
		if (r->res_1m && r->window_ms < 60000)
			alertd_parse_error(p, "rule %s: a window shorter than the "
					   "1m resolution", r->name);
		break;
	case ALERTD_K_BOUNDARY:
		if ((r->from[0] == 0) != (r->to[0] == 0))
			alertd_parse_error(p, "rule %s: from and to go together "
					   "(or leave both out: every boundary "
					   "event)", r->name);
		break;
	case ALERTD_K_SCAN:
		if (!r->scan_peers && !r->scan_ports)
			alertd_parse_error(p, "rule %s: needs peers = N or ports = N "
					   "(distinct, within the window)", r->name);
		if (r->hold_ms < r->window_ms)
			r->hold_ms = r->window_ms;
		break;
	case ALERTD_K_DNS_QUIET:
		if (r->quiet_from < 0)
			alertd_parse_error(p, "rule %s: needs quiet = HH:MM-HH:MM",
					   r->name);
		break;
	default:
		break;
	}
out:
	p->line = save;
}
