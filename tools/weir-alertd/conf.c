/* conf.c -- reading the config file and the rules file.
 *
 * Both files are lines of `key = value` grouped in sections:
 *
 *     redis = redis://127.0.0.1:6379      <- global keys, before any section
 *     [webhook ops]                        <- a destination: webhook, syslog,
 *     url = https://hooks.example/weir        email
 *     [rule iot-to-servers]                <- a rule (conf_rule.c)
 *     kind = boundary
 *
 * A comment is a line whose first non-blank character is '#' or ';' (a
 * value may hold '#': passwords, URLs). Everything is checked here, once,
 * before the configuration is used: an unknown key, a bad value, a
 * duplicate name or a rule naming a destination that does not exist is an
 * error printed as FILE:LINE: reason, and the whole load fails, so a
 * SIGHUP with a broken file keeps the rules that were running.
 *
 * Destinations (where alerts go, with their secrets) come from these
 * files only; nothing read from Redis can add or change one. When both
 * --config and --rules are given, the rules file holds rules only. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "alertd.h"

void
alertd_parse_error(struct alertd_parse *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", p->path, p->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	p->errors++;
}

static bool
copy(struct alertd_parse *p, char *dst, size_t len, const char *key,
     const char *val)
{
	if (strlen(val) >= len) {
		alertd_parse_error(p, "%s: value longer than %zu characters",
				   key, len - 1);
		return false;
	}
	strcpy(dst, val);
	return true;
}

static void
duration(struct alertd_parse *p, const char *key, const char *val,
	 int64_t *out, int64_t min_ms)
{
	if (alertd_parse_duration_ms(val, out) || *out < min_ms)
		alertd_parse_error(p, "%s: '%s' is not a duration of at least "
				   "%lldms (30s, 5m, 2h, 1d)", key, val,
				   (long long)min_ms);
}

static void
count(struct alertd_parse *p, const char *key, const char *val,
      unsigned *out, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (errno || end == val || *end || !isdigit((unsigned char)*val) ||
	    v < lo || v > hi) {
		alertd_parse_error(p, "%s: '%s' is not a whole number from %u "
				   "to %u", key, val, lo, hi);
		return;
	}
	*out = (unsigned)v;
}

/* ---- global keys ------------------------------------------------------- */

static void
global_key(struct alertd_parse *p, const char *key, const char *val)
{
	struct alertd_conf *c = p->conf;
	struct weirctl_url u;
	char err[256];

	if (!strcmp(key, "redis")) {
		if (weirctl_url_parse(val, &u, err, sizeof(err)))
			alertd_parse_error(p, "redis: %s", err);
		else
			copy(p, c->redis, sizeof(c->redis), key, val);
	} else if (!strcmp(key, "prefix")) {
		copy(p, c->prefix, sizeof(c->prefix), key, val);
	} else if (!strcmp(key, "node")) {
		/* one id or a comma list; "*": every node of the registry */
		if (!strcmp(val, "*"))
			c->node[0] = '\0';
		else if (weirctl_nodes_check(val, err, sizeof(err)))
			alertd_parse_error(p, "node: %s", err);
		else
			copy(p, c->node, sizeof(c->node), key, val);
	} else if (!strcmp(key, "alert-node")) {
		if (weirctl_nodes_check(val, err, sizeof(err)) || strchr(val, ','))
			alertd_parse_error(p, "alert-node: '%s' is not one node id",
					   val);
		else
			copy(p, c->alert_node, sizeof(c->alert_node), key, val);
	} else if (!strcmp(key, "nodes-interval")) {
		duration(p, key, val, &c->nodes_every_ms, 500);
	} else if (!strcmp(key, "group")) {
		copy(p, c->group, sizeof(c->group), key, val);
	} else if (!strcmp(key, "consumer")) {
		copy(p, c->consumer, sizeof(c->consumer), key, val);
	} else if (!strcmp(key, "start")) {
		if (!strcmp(val, "new"))
			c->start_all = false;
		else if (!strcmp(val, "all"))
			c->start_all = true;
		else
			alertd_parse_error(p, "start: '%s' is not new or all", val);
	} else if (!strcmp(key, "claim-idle")) {
		duration(p, key, val, &c->claim_idle_ms, 100);
	} else if (!strcmp(key, "eval-interval")) {
		duration(p, key, val, &c->eval_ms, 100);
	} else if (!strcmp(key, "scan-interval")) {
		duration(p, key, val, &c->scan_every_ms, 100);
	} else if (!strcmp(key, "history")) {
		count(p, key, val, &c->history_max, 10, 10000000);
	} else if (!strcmp(key, "released-ttl")) {
		duration(p, key, val, &c->released_ttl_ms, 1000);
	} else if (!strcmp(key, "workers")) {
		count(p, key, val, &c->workers, 1, 64);
	} else if (!strcmp(key, "batch")) {
		count(p, key, val, &c->batch, 1, 10000);
	} else {
		alertd_parse_error(p, "unknown global key '%s' (redis, prefix, "
				   "node, alert-node, nodes-interval, group, "
				   "consumer, start, claim-idle, "
				   "eval-interval, scan-interval, history, "
				   "released-ttl, workers, batch)", key);
	}
}

/* ---- destinations ------------------------------------------------------ */

static const struct {
	const char *name;
	int code;
} facilities[] = {
	{ "kern", 0 }, { "user", 1 }, { "mail", 2 }, { "daemon", 3 },
	{ "auth", 4 }, { "syslog", 5 }, { "lpr", 6 }, { "news", 7 },
	{ "uucp", 8 }, { "cron", 9 }, { "authpriv", 10 }, { "ftp", 11 },
	{ "local0", 16 }, { "local1", 17 }, { "local2", 18 }, { "local3", 19 },
	{ "local4", 20 }, { "local5", 21 }, { "local6", 22 }, { "local7", 23 },
};

/* host:port after a scheme, "[v6]:port" included. */
static int
split_host_port(const char *hp, char *host, size_t hl, char *port, size_t pl)
{
	const char *colon;
	size_t n;
	char *end;
	unsigned long v;

	if (*hp == '[') {
		const char *rb = strchr(hp, ']');

		if (!rb || rb[1] != ':')
			return -1;
		n = (size_t)(rb - hp - 1);
		if (!n || n >= hl)
			return -1;
		memcpy(host, hp + 1, n);
		host[n] = 0;
		colon = rb + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - hp);
		if (!n || n >= hl)
			return -1;
		memcpy(host, hp, n);
		host[n] = 0;
	}
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || v == 0 || v > 65535 ||
	    strlen(colon + 1) >= pl)
		return -1;
	strcpy(port, colon + 1);
	return 0;
}

static void
dest_common(struct alertd_parse *p, struct alertd_dest *d, const char *key,
	    const char *val)
{
	if (!strcmp(key, "rate-limit")) {
		if (!strcmp(val, "none"))
			d->rate_n = 0;
		else if (alertd_parse_rate(val, &d->rate_n, &d->rate_period_ms))
			alertd_parse_error(p, "rate-limit: '%s' is not N/PERIOD "
					   "(20/min, 100/h, 5/30s) or none", val);
	} else if (!strcmp(key, "retries")) {
		count(p, key, val, &d->retries, 0, 100);
	} else if (!strcmp(key, "timeout")) {
		duration(p, key, val, &d->timeout_ms, 100);
	} else if (!strcmp(key, "backoff")) {
		duration(p, key, val, &d->backoff_ms, 10);
	} else if (!strcmp(key, "backoff-max")) {
		duration(p, key, val, &d->backoff_max_ms, 10);
	} else {
		alertd_parse_error(p, "unknown key '%s' in a %s destination", key,
				   d->type == ALERTD_WEBHOOK ? "webhook" :
				   d->type == ALERTD_SYSLOG ? "syslog" : "email");
	}
}

static void
dest_key(struct alertd_parse *p, struct alertd_dest *d, const char *key,
	 const char *val)
{
	bool b;

	if (d->type == ALERTD_WEBHOOK) {
		if (!strcmp(key, "url")) {
			if (strncasecmp(val, "http://", 7) &&
			    strncasecmp(val, "https://", 8))
				alertd_parse_error(p, "url: a webhook is http:// "
						   "or https://, not '%s'", val);
			else if (strpbrk(val, " \t\r\n"))
				alertd_parse_error(p, "url: blanks in '%s'", val);
			else
				copy(p, d->url, sizeof(d->url), key, val);
		} else if (!strcmp(key, "format")) {
			if (!strcmp(val, "json"))
				d->format = ALERTD_FMT_JSON;
			else if (!strcmp(val, "slack"))
				d->format = ALERTD_FMT_SLACK;
			else if (!strcmp(val, "discord"))
				d->format = ALERTD_FMT_DISCORD;
			else
				alertd_parse_error(p, "format: '%s' is not json, "
						   "slack or discord", val);
		} else if (!strcmp(key, "secret")) {
			copy(p, d->secret, sizeof(d->secret), key, val);
		} else if (!strcmp(key, "allow-private")) {
			if (alertd_parse_bool(val, &d->allow_private))
				alertd_parse_error(p, "allow-private: '%s' is not "
						   "yes or no", val);
		} else if (!strcmp(key, "follow-redirects")) {
			if (!strcmp(val, "no"))
				d->follow_redirects = 0;
			else if (!strcmp(val, "same-host"))
				d->follow_redirects = 1;
			else if (!strcmp(val, "yes"))
				d->follow_redirects = 2;
			else
				alertd_parse_error(p, "follow-redirects: '%s' is not "
						   "no, same-host or yes", val);
		} else if (!strcmp(key, "redirect-hosts")) {
			char buf[512], *tok[16];
			int n = alertd_split_list(val, buf, sizeof(buf), tok, 16);

			for (int i = 0; i < n; i++)
				if (strpbrk(tok[i], " \t/@?#"))
					n = -1;
			if (n < 1)
				alertd_parse_error(p, "redirect-hosts: one to 16 "
						   "HOST or HOST:PORT, comma "
						   "separated");
			else
				copy(p, d->redirect_hosts,
				     sizeof(d->redirect_hosts), key, val);
		} else {
			dest_common(p, d, key, val);
		}
		return;
	}
	if (d->type == ALERTD_SYSLOG) {
		if (!strcmp(key, "address")) {
			if (!strncmp(val, "udp://", 6) || !strncmp(val, "tcp://", 6)) {
				d->transport = val[0] == 'u' ? ALERTD_SL_UDP :
								ALERTD_SL_TCP;
				if (split_host_port(val + 6, d->host, sizeof(d->host),
						    d->port, sizeof(d->port)))
					alertd_parse_error(p, "address: '%s' is not "
							   "udp://HOST:PORT or "
							   "tcp://HOST:PORT", val);
			} else if (!strncmp(val, "unix://", 7) && val[7] == '/') {
				d->transport = ALERTD_SL_UNIX;
				copy(p, d->path, sizeof(d->path), key, val + 7);
			} else {
				alertd_parse_error(p, "address: '%s' is not "
						   "udp://HOST:PORT, tcp://HOST:PORT "
						   "or unix:///dev/log", val);
			}
		} else if (!strcmp(key, "facility")) {
			size_t i;

			for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
				if (!strcmp(val, facilities[i].name))
					break;
			if (i == sizeof(facilities) / sizeof(facilities[0]))
				alertd_parse_error(p, "facility: '%s' is not a "
						   "syslog facility (local0..local7, "
						   "daemon, user, ...)", val);
			else
				d->facility = facilities[i].code;
		} else if (!strcmp(key, "app-name")) {
			bool ok = *val != 0;

			for (const char *c = val; *c; c++)
				if (*c < 33 || *c > 126)
					ok = false;
			if (!ok)
				alertd_parse_error(p, "app-name: printable ASCII "
						   "without blanks, at most 48");
			else
				copy(p, d->app_name, sizeof(d->app_name), key, val);
		} else if (!strcmp(key, "hostname")) {
			copy(p, d->hostname, sizeof(d->hostname), key, val);
		} else {
			dest_common(p, d, key, val);
		}
		return;
	}
	/* email */
	if (!strcmp(key, "url")) {
		if (strncasecmp(val, "smtp://", 7) && strncasecmp(val, "smtps://", 8))
			alertd_parse_error(p, "url: a mail server is smtp://HOST"
					   "[:PORT] or smtps://HOST[:PORT], not '%s'",
					   val);
		else
			copy(p, d->smtp_url, sizeof(d->smtp_url), key, val);
	} else if (!strcmp(key, "starttls")) {
		if (!strcmp(val, "no"))
			d->starttls = 0;
		else if (!strcmp(val, "try"))
			d->starttls = 1;
		else if (!strcmp(val, "yes"))
			d->starttls = 2;
		else
			alertd_parse_error(p, "starttls: '%s' is not no, try or yes",
					   val);
	} else if (!strcmp(key, "from")) {
		if (strpbrk(val, "\r\n<>"))
			alertd_parse_error(p, "from: one plain address");
		else
			copy(p, d->from, sizeof(d->from), key, val);
	} else if (!strcmp(key, "to")) {
		char buf[1024], *tok[16];

		if (strpbrk(val, "\r\n<>") ||
		    alertd_split_list(val, buf, sizeof(buf), tok, 16) < 1)
			alertd_parse_error(p, "to: one to 16 plain addresses, "
					   "comma separated");
		else
			copy(p, d->to, sizeof(d->to), key, val);
	} else if (!strcmp(key, "user")) {
		copy(p, d->user, sizeof(d->user), key, val);
	} else if (!strcmp(key, "password")) {
		copy(p, d->password, sizeof(d->password), key, val);
	} else if (!strcmp(key, "insecure")) {
		if (alertd_parse_bool(val, &b))
			alertd_parse_error(p, "insecure: '%s' is not yes or no", val);
		else
			d->insecure = b;
	} else if (!strcmp(key, "ca-file")) {
		if (access(val, R_OK))
			alertd_parse_error(p, "ca-file: cannot read '%s': %s", val,
					   strerror(errno));
		else
			copy(p, d->ca_file, sizeof(d->ca_file), key, val);
	} else {
		dest_common(p, d, key, val);
	}
}

static void
dest_defaults(struct alertd_dest *d)
{
	d->retries = 4;
	d->timeout_ms = 5000;
	d->backoff_ms = 1000;
	d->backoff_max_ms = 60000;
	d->format = ALERTD_FMT_JSON;
	d->transport = ALERTD_SL_UNIX;
	strcpy(d->path, "/dev/log");
	d->facility = 16;	/* local0 */
	strcpy(d->app_name, "weir-alertd");
	d->starttls = 1;
	d->follow_redirects = 1;
}

static void
dest_finish(struct alertd_parse *p, struct alertd_dest *d)
{
	int save = p->line;

	p->line = d->line;
	if (d->type == ALERTD_WEBHOOK && !d->url[0])
		alertd_parse_error(p, "webhook %s: needs url", d->name);
	if (d->type == ALERTD_EMAIL) {
		if (!d->smtp_url[0])
			alertd_parse_error(p, "email %s: needs url", d->name);
		if (!d->from[0])
			alertd_parse_error(p, "email %s: needs from", d->name);
		if (!d->to[0])
			alertd_parse_error(p, "email %s: needs to", d->name);
	}
	if (d->backoff_max_ms < d->backoff_ms)
		alertd_parse_error(p, "%s: backoff-max is below backoff", d->name);
	p->line = save;
}

/* ---- the file walk ----------------------------------------------------- */

enum section { SEC_GLOBAL, SEC_DEST, SEC_RULE, SEC_BAD };

struct notify_ref {
	int rule;
	int line;
	const char *path;
	char text[512];
};

struct loader {
	struct alertd_conf *c;
	struct notify_ref *notify;
	int n_notify;
	int rules_cap;
	int errors;
};

static bool
valid_name(const char *s)
{
	if (!*s || strlen(s) >= ALERTD_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

static void
finish_section(struct alertd_parse *p, struct loader *L, enum section sec,
	       int idx, const char *notify, int notify_line)
{
	if (sec == SEC_DEST)
		dest_finish(p, &L->c->dests[idx]);
	else if (sec == SEC_RULE) {
		struct notify_ref *nr = &L->notify[idx];

		nr->rule = idx;
		nr->line = notify_line;
		nr->path = p->path;
		snprintf(nr->text, sizeof(nr->text), "%s", notify);
		alertd_rule_finish(p, &L->c->rules[idx]);
	}
}

static int
load_file(struct loader *L, const char *path, bool rules_only)
{
	struct alertd_parse p = { .path = path, .conf = L->c };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	enum section sec = SEC_GLOBAL;
	int idx = -1;
	char notify[512] = "";
	int notify_line = 0;
	bool notify_seen = false;

	if (!f) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		L->errors++;
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e, *eq, *key, *val;

		p.line++;
		if ((size_t)n != strlen(line)) {
			alertd_parse_error(&p, "a NUL byte in the line");
			continue;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = 0;
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char type[32], name[256], extra;
			char inner[300];

			if (e[-1] != ']' || (size_t)(e - s - 2) >= sizeof(inner)) {
				alertd_parse_error(&p, "a section header is "
						   "[TYPE NAME]");
				sec = SEC_BAD;
				continue;
			}
			memcpy(inner, s + 1, (size_t)(e - s - 2));
			inner[e - s - 2] = 0;
			if (sec == SEC_DEST || sec == SEC_RULE)
				finish_section(&p, L, sec, idx, notify, notify_line);
			idx = -1;
			notify[0] = 0;
			notify_seen = false;
			if (sscanf(inner, "%31s %255s %c", type, name, &extra) != 2) {
				alertd_parse_error(&p, "a section header is "
						   "[TYPE NAME] (rule, webhook, "
						   "syslog, email)");
				sec = SEC_BAD;
				continue;
			}
			if (!valid_name(name)) {
				alertd_parse_error(&p, "'%s': a name is letters, "
						   "digits, '-', '_', '.', at most "
						   "%d", name, ALERTD_NAME_MAX - 1);
				sec = SEC_BAD;
				continue;
			}
			if (!strcmp(type, "rule")) {
				if (alertd_conf_rule_find(L->c, name)) {
					alertd_parse_error(&p, "rule '%s' is "
							   "defined twice", name);
					sec = SEC_BAD;
					continue;
				}
				if (L->c->n_rules == ALERTD_MAX_RULES) {
					alertd_parse_error(&p, "more than %d rules",
							   ALERTD_MAX_RULES);
					sec = SEC_BAD;
					continue;
				}
				if (L->c->n_rules == L->rules_cap) {
					int nc = L->rules_cap ? L->rules_cap * 2 : 16;
					void *nr = realloc(L->c->rules,
							   (size_t)nc * sizeof(*L->c->rules));
					void *nn = realloc(L->notify,
							   (size_t)nc * sizeof(*L->notify));

					if (nr)
						L->c->rules = nr;
					if (nn)
						L->notify = nn;
					if (!nr || !nn) {
						alertd_parse_error(&p, "out of memory");
						break;
					}
					L->rules_cap = nc;
				}
				idx = L->c->n_rules++;
				memset(&L->c->rules[idx], 0, sizeof(L->c->rules[idx]));
				memset(&L->notify[idx], 0, sizeof(L->notify[idx]));
				strcpy(L->c->rules[idx].name, name);
				L->c->rules[idx].line = p.line;
				L->c->rules[idx].kind = ALERTD_K_COUNT;	/* unset */
				sec = SEC_RULE;
			} else if (!strcmp(type, "webhook") || !strcmp(type, "syslog") ||
				   !strcmp(type, "email")) {
				struct alertd_dest *d;

				if (rules_only) {
					alertd_parse_error(&p, "destinations belong "
							   "in the config file "
							   "(--config), not in "
							   "the rules file");
					sec = SEC_BAD;
					continue;
				}
				if (alertd_conf_dest_find(L->c, name) >= 0) {
					alertd_parse_error(&p, "destination '%s' is "
							   "defined twice", name);
					sec = SEC_BAD;
					continue;
				}
				if (L->c->n_dests == ALERTD_MAX_DESTS) {
					alertd_parse_error(&p, "more than %d "
							   "destinations",
							   ALERTD_MAX_DESTS);
					sec = SEC_BAD;
					continue;
				}
				idx = L->c->n_dests++;
				d = &L->c->dests[idx];
				memset(d, 0, sizeof(*d));
				strcpy(d->name, name);
				d->line = p.line;
				d->type = type[0] == 'w' ? ALERTD_WEBHOOK :
					  type[0] == 's' ? ALERTD_SYSLOG : ALERTD_EMAIL;
				dest_defaults(d);
				sec = SEC_DEST;
			} else {
				alertd_parse_error(&p, "unknown section type '%s' "
						   "(rule, webhook, syslog, email)",
						   type);
				sec = SEC_BAD;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			alertd_parse_error(&p, "expected 'key = value' or "
					   "'[TYPE NAME]'");
			continue;
		}
		key = s;
		e = eq;
		while (e > key && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = 0;
		val = eq + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		if (!*key) {
			alertd_parse_error(&p, "a key is missing before '='");
			continue;
		}
		if (!*val) {
			alertd_parse_error(&p, "%s: the value is empty", key);
			continue;
		}
		switch (sec) {
		case SEC_GLOBAL:
			if (rules_only)
				alertd_parse_error(&p, "'%s': global keys belong in "
						   "the config file (--config)", key);
			else
				global_key(&p, key, val);
			break;
		case SEC_DEST:
			dest_key(&p, &L->c->dests[idx], key, val);
			break;
		case SEC_RULE:
			if (!strcmp(key, "notify")) {
				if (notify_seen)
					alertd_parse_error(&p, "notify given twice");
				else if (strlen(val) >= sizeof(notify))
					alertd_parse_error(&p, "notify: too long");
				else {
					strcpy(notify, val);
					notify_line = p.line;
					notify_seen = true;
				}
			} else {
				alertd_rule_key(&p, &L->c->rules[idx], key, val);
			}
			break;
		case SEC_BAD:
			break;	/* the header was reported */
		}
	}
	if (sec == SEC_DEST || sec == SEC_RULE)
		finish_section(&p, L, sec, idx, notify, notify_line);
	free(line);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error: %s\n", path, strerror(errno));
		p.errors++;
	}
	fclose(f);
	L->errors += p.errors;
	return p.errors ? -1 : 0;
}

/* notify = webhook:ops, syslog:local, mail (a type: prefix is checked) */
static void
resolve_notify(struct loader *L, struct notify_ref *nr)
{
	struct alertd_rule *r = &L->c->rules[nr->rule];
	struct alertd_parse p = { .path = nr->path, .line = nr->line,
				  .conf = L->c };
	char buf[512], *tok[ALERTD_MAX_NOTIFY + 1];
	int n;

	if (!nr->text[0]) {
		p.line = r->line;
		alertd_parse_error(&p, "rule %s: needs notify = DEST[, DEST...] "
				   "(a [webhook], [syslog] or [email] name)",
				   r->name);
		L->errors++;
		return;
	}
	n = alertd_split_list(nr->text, buf, sizeof(buf), tok,
			      ALERTD_MAX_NOTIFY);
	if (n < 1) {
		alertd_parse_error(&p, "notify: one to %d destination names, "
				   "comma separated", ALERTD_MAX_NOTIFY);
		L->errors++;
		return;
	}
	for (int i = 0; i < n; i++) {
		char *name = tok[i], *colon = strchr(tok[i], ':');
		const char *type = NULL;
		int d;

		if (colon) {
			*colon = 0;
			type = tok[i];
			name = colon + 1;
		}
		d = alertd_conf_dest_find(L->c, name);
		if (d < 0) {
			alertd_parse_error(&p, "notify: no destination named '%s'",
					   name);
			L->errors++;
			continue;
		}
		if (type && strcmp(type, L->c->dests[d].type == ALERTD_WEBHOOK ?
				   "webhook" : L->c->dests[d].type == ALERTD_SYSLOG ?
				   "syslog" : "email")) {
			alertd_parse_error(&p, "notify: '%s' is not a destination "
					   "of type %s", name, type);
			L->errors++;
			continue;
		}
		for (int j = 0; j < r->n_notify; j++)
			if (r->notify[j] == d) {
				alertd_parse_error(&p, "notify: '%s' given twice",
						   name);
				L->errors++;
				d = -1;
				break;
			}
		if (d >= 0)
			r->notify[r->n_notify++] = d;
	}
}

static void
conf_defaults(struct alertd_conf *c)
{
	char host[64];

	atomic_init(&c->refs, 1);
	strcpy(c->redis, "redis://127.0.0.1:6379");
	strcpy(c->prefix, "weir:");
	c->node[0] = '\0';		/* every node of the registry */
	c->nodes_every_ms = 10000;
	strcpy(c->group, "weir-alertd");
	if (gethostname(host, sizeof(host)) || !host[0])
		strcpy(host, "alertd");
	host[sizeof(host) - 1] = 0;
	snprintf(c->consumer, sizeof(c->consumer), "%s", host);
	c->claim_idle_ms = 60000;
	c->eval_ms = 1000;
	c->scan_every_ms = 10000;
	c->history_max = 10000;
	c->released_ttl_ms = 30LL * 86400000;
	c->workers = 4;
	c->batch = 200;
}

struct alertd_conf *
alertd_conf_load(const char *conf_path, const char *rules_path)
{
	struct loader L = { 0 };

	L.c = calloc(1, sizeof(*L.c));
	if (!L.c) {
		fprintf(stderr, "out of memory\n");
		return NULL;
	}
	conf_defaults(L.c);
	if (conf_path)
		load_file(&L, conf_path, false);
	if (rules_path)
		load_file(&L, rules_path, conf_path != NULL);
	for (int i = 0; i < L.c->n_rules; i++)
		resolve_notify(&L, &L.notify[i]);
	if (!L.errors && L.c->n_rules == 0) {
		fprintf(stderr, "%s: no [rule] section: nothing to watch\n",
			rules_path ? rules_path : conf_path);
		L.errors++;
	}
	free(L.notify);
	if (L.errors) {
		fprintf(stderr, "%d error%s: configuration not loaded\n", L.errors,
			L.errors == 1 ? "" : "s");
		free(L.c->rules);
		free(L.c);
		return NULL;
	}
	return L.c;
}

struct alertd_conf *
alertd_conf_get(struct alertd_conf *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void
alertd_conf_put(struct alertd_conf *c)
{
	if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
		free(c->rules);
		free(c);
	}
}

int
alertd_conf_dest_find(const struct alertd_conf *c, const char *name)
{
	for (int i = 0; i < c->n_dests; i++)
		if (!strcmp(c->dests[i].name, name))
			return i;
	return -1;
}

const struct alertd_rule *
alertd_conf_rule_find(const struct alertd_conf *c, const char *name)
{
	for (int i = 0; i < c->n_rules; i++)
		if (!strcmp(c->rules[i].name, name))
			return &c->rules[i];
	return NULL;
}
