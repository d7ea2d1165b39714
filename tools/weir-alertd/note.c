/* note.c -- one notification: its outbox form and its bodies.
 *
 * A note is written to the outbox (P alerts:outbox) in the same
 * transaction that records the alert transition, so a note survives a
 * crash between recording and delivery. Its outbox value is the fields as
 * netstrings ("5:hello,"), in a fixed order: any byte may appear in a
 * field (an application or DNS name comes from the wire), and parsing
 * needs no escaping rules, only lengths checked against what is left.
 *
 * The bodies: the generic JSON document (docs/alerts.md), and the Slack
 * ({"text"}) and Discord ({"content"}) payloads, which are one line of
 * text plus the entity; Discord refuses content over 2000 characters, so
 * the text is cut below that. Strings go through weirctl's JSON writer,
 * which escapes and replaces invalid UTF-8. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alertd.h"

/* ---- netstrings ---------------------------------------------------------- */

static void
ns_put(FILE *f, const char *s, size_t n)
{
	fprintf(f, "%zu:", n);
	fwrite(s, 1, n, f);
	fputc(',', f);
}

static void
ns_str(FILE *f, const char *s)
{
	ns_put(f, s ? s : "", s ? strlen(s) : 0);
}

static void ns_num(FILE *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
ns_num(FILE *f, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ns_put(f, buf, n > 0 ? (size_t)n : 0);
}

char *
alertd_note_serialise(const struct alertd_note *n, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	ns_str(f, "weir-note-1");
	ns_str(f, n->key);
	ns_num(f, "%" PRIu64, n->alert_id);
	ns_num(f, "%u", n->seq);
	ns_str(f, n->dest);
	ns_str(f, n->node);
	ns_str(f, n->rule);
	ns_str(f, n->kind);
	ns_str(f, n->state);
	ns_str(f, n->severity);
	ns_str(f, n->entity);
	ns_str(f, n->summary);
	ns_str(f, n->details ? n->details : "{}");
	ns_num(f, "%" PRId64, n->ts_ms);
	ns_num(f, "%" PRId64, n->engaged_ms);
	ns_num(f, "%" PRIu64, n->count);
	ns_num(f, "%.17g", n->value);
	ns_num(f, "%.17g", n->threshold);
	ns_num(f, "%d", n->has_value);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Takes the next netstring: *p advanced, its bytes in (s, n). */
static int
ns_get(const char **p, const char *end, const char **s, size_t *n)
{
	size_t v = 0;
	const char *q = *p;

	if (q >= end || *q < '0' || *q > '9')
		return -1;
	while (q < end && *q >= '0' && *q <= '9') {
		if (v > 100000000)
			return -1;
		v = v * 10 + (size_t)(*q - '0');
		q++;
	}
	if (q >= end || *q != ':')
		return -1;
	q++;
	if ((size_t)(end - q) < v + 1 || q[v] != ',')
		return -1;
	*s = q;
	*n = v;
	*p = q + v + 1;
	return 0;
}

static int
get_str(const char **p, const char *end, char *dst, size_t cap)
{
	const char *s;
	size_t n;

	if (ns_get(p, end, &s, &n) || n >= cap || memchr(s, 0, n))
		return -1;
	memcpy(dst, s, n);
	dst[n] = 0;
	return 0;
}

static int
get_num(const char **p, const char *end, char *buf, size_t cap)
{
	return get_str(p, end, buf, cap);
}

int
alertd_note_parse(const char *buf, size_t len, struct alertd_note *n)
{
	const char *p = buf, *end = buf + len, *s;
	char tmp[64];
	size_t dl;

	memset(n, 0, sizeof(*n));
	if (get_str(&p, end, tmp, sizeof(tmp)) || strcmp(tmp, "weir-note-1"))
		return -1;
	if (get_str(&p, end, n->key, sizeof(n->key)))
		return -1;
	if (get_num(&p, end, tmp, sizeof(tmp)))
		return -1;
	n->alert_id = strtoull(tmp, NULL, 10);
	if (get_num(&p, end, tmp, sizeof(tmp)))
		return -1;
	n->seq = (unsigned)strtoul(tmp, NULL, 10);
	if (get_str(&p, end, n->dest, sizeof(n->dest)) ||
	    get_str(&p, end, n->node, sizeof(n->node)) ||
	    get_str(&p, end, n->rule, sizeof(n->rule)) ||
	    get_str(&p, end, n->kind, sizeof(n->kind)) ||
	    get_str(&p, end, n->state, sizeof(n->state)) ||
	    get_str(&p, end, n->severity, sizeof(n->severity)) ||
	    get_str(&p, end, n->entity, sizeof(n->entity)) ||
	    get_str(&p, end, n->summary, sizeof(n->summary)))
		return -1;
	if (ns_get(&p, end, &s, &dl) || dl > 1 << 20 || memchr(s, 0, dl))
		return -1;
	n->details = malloc(dl + 1);
	if (!n->details)
		return -1;
	memcpy(n->details, s, dl);
	n->details[dl] = 0;
	if (get_num(&p, end, tmp, sizeof(tmp)))
		goto err;
	n->ts_ms = strtoll(tmp, NULL, 10);
	if (get_num(&p, end, tmp, sizeof(tmp)))
		goto err;
	n->engaged_ms = strtoll(tmp, NULL, 10);
	if (get_num(&p, end, tmp, sizeof(tmp)))
		goto err;
	n->count = strtoull(tmp, NULL, 10);
	if (get_num(&p, end, tmp, sizeof(tmp)))
		goto err;
	n->value = strtod(tmp, NULL);
	if (get_num(&p, end, tmp, sizeof(tmp)))
		goto err;
	n->threshold = strtod(tmp, NULL);
	if (get_num(&p, end, tmp, sizeof(tmp)))
		goto err;
	n->has_value = tmp[0] == '1';
	if (p != end)
		goto err;
	return 0;
err:
	free(n->details);
	n->details = NULL;
	return -1;
}

void
alertd_note_free(struct alertd_note *n)
{
	free(n->details);
	n->details = NULL;
}

void
alertd_note_address(struct alertd_note *n, uint64_t alert_id, const char *dest)
{
	n->alert_id = alert_id;
	snprintf(n->dest, sizeof(n->dest), "%s", dest);
	snprintf(n->key, sizeof(n->key), "%" PRIu64 ":%u:%s", alert_id, n->seq,
		 dest);
}

/* ---- bodies -------------------------------------------------------------- */

static void
json_num(struct weirctl_json *j, double v)
{
	char buf[64];

	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, sizeof(buf), "%.0f", v);
	else
		snprintf(buf, sizeof(buf), "%.6g", v);
	weirctl_json_raw_num(j, buf);
}

/* The generic document: everything a receiver needs to act or dedupe. */
char *
alertd_note_json(const struct alertd_note *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct weirctl_json j;
	char did[200];

	if (!f)
		return NULL;
	weirctl_json_init(&j, f);
	weirctl_json_begin_obj(&j);
	snprintf(did, sizeof(did), "%s", n->key);
	weirctl_json_key(&j, "delivery");
	weirctl_json_str(&j, did);
	weirctl_json_key(&j, "id");
	weirctl_json_u64(&j, n->alert_id);
	weirctl_json_key(&j, "node");
	weirctl_json_str(&j, n->node);
	weirctl_json_key(&j, "rule");
	weirctl_json_str(&j, n->rule);
	weirctl_json_key(&j, "kind");
	weirctl_json_str(&j, n->kind);
	weirctl_json_key(&j, "state");
	weirctl_json_str(&j, n->state);
	weirctl_json_key(&j, "severity");
	weirctl_json_str(&j, n->severity);
	weirctl_json_key(&j, "entity");
	weirctl_json_str(&j, n->entity);
	weirctl_json_key(&j, "summary");
	weirctl_json_str(&j, n->summary);
	weirctl_json_key(&j, "ts_ms");
	weirctl_json_u64(&j, (uint64_t)(n->ts_ms > 0 ? n->ts_ms : 0));
	weirctl_json_key(&j, "engaged_ms");
	weirctl_json_u64(&j, (uint64_t)(n->engaged_ms > 0 ? n->engaged_ms : 0));
	weirctl_json_key(&j, "count");
	weirctl_json_u64(&j, n->count);
	if (n->has_value) {
		weirctl_json_key(&j, "value");
		json_num(&j, n->value);
		weirctl_json_key(&j, "threshold");
		json_num(&j, n->threshold);
	}
	/* details is an object we built: splice it in as it is */
	fputs(",\"details\":", f);
	fputs(n->details && n->details[0] == '{' ? n->details : "{}", f);
	weirctl_json_end_obj(&j);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

void
alertd_note_line(const struct alertd_note *n, char *buf, size_t len)
{
	char sev[16];
	size_t i;

	for (i = 0; n->severity[i] && i < sizeof(sev) - 1; i++)
		sev[i] = (char)(n->severity[i] >= 'a' && n->severity[i] <= 'z' ?
				n->severity[i] - 32 : n->severity[i]);
	sev[i] = 0;
	snprintf(buf, len, "[%s] %s %s: %s", sev, n->state, n->rule, n->summary);
}

char *
alertd_note_render(const struct alertd_note *n, enum alertd_format fmt)
{
	char line[ALERTD_SUMMARY_MAX + 200], text[1900];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct weirctl_json j;

	if (fmt == ALERTD_FMT_JSON)
		return alertd_note_json(n);
	alertd_note_line(n, line, sizeof(line));
	snprintf(text, sizeof(text), "%s\nentity: %s · alert %" PRIu64 " · node %s",
		 line, n->entity, n->alert_id, n->node);
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	weirctl_json_init(&j, f);
	weirctl_json_begin_obj(&j);
	if (fmt == ALERTD_FMT_SLACK) {
		weirctl_json_key(&j, "text");
		weirctl_json_str(&j, text);
	} else {
		weirctl_json_key(&j, "username");
		weirctl_json_str(&j, "weir-alertd");
		weirctl_json_key(&j, "content");
		weirctl_json_str(&j, text);
		/* no @everyone or role pings from data off the wire */
		weirctl_json_key(&j, "allowed_mentions");
		weirctl_json_begin_obj(&j);
		weirctl_json_key(&j, "parse");
		weirctl_json_begin_arr(&j);
		weirctl_json_end_arr(&j);
		weirctl_json_end_obj(&j);
	}
	weirctl_json_end_obj(&j);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- details objects ------------------------------------------------------ */

int
alertd_obj_begin(struct alertd_obj *o)
{
	memset(o, 0, sizeof(*o));
	o->f = open_memstream(&o->buf, &o->len);
	if (!o->f)
		return -1;
	weirctl_json_init(&o->j, o->f);
	weirctl_json_begin_obj(&o->j);
	return 0;
}

void
alertd_obj_str(struct alertd_obj *o, const char *k, const char *v)
{
	if (!o->f)
		return;
	weirctl_json_key(&o->j, k);
	if (v)
		weirctl_json_str(&o->j, v);
	else
		weirctl_json_null(&o->j);
}

void
alertd_obj_num(struct alertd_obj *o, const char *k, double v)
{
	if (!o->f)
		return;
	weirctl_json_key(&o->j, k);
	json_num(&o->j, v);
}

/* A list of strings under k. */
void
alertd_obj_strs(struct alertd_obj *o, const char *k, char *const *v, size_t n)
{
	if (!o->f)
		return;
	weirctl_json_key(&o->j, k);
	weirctl_json_begin_arr(&o->j);
	for (size_t i = 0; i < n; i++)
		weirctl_json_str(&o->j, v[i]);
	weirctl_json_end_arr(&o->j);
}

char *
alertd_obj_end(struct alertd_obj *o)
{
	if (!o->f)
		return NULL;
	weirctl_json_end_obj(&o->j);
	if (fclose(o->f)) {
		free(o->buf);
		return NULL;
	}
	o->f = NULL;
	/* one line: the writer breaks lines between top-level members */
	for (char *p = o->buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return o->buf;
}
