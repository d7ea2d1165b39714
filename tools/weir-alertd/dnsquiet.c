/* dnsquiet.c -- "what is making DNS queries at 4 AM".
 *
 * The DNS flows are the members of P idx:app:DNS and P idx:port:53 (a
 * flow nDPI called DNS, or one to port 53 before or without a verdict).
 * Each flow is looked at once (a set of the ids seen, in memory): its
 * initiator (`src` on its VLAN) is the host that asked, `server_name` the
 * name asked for, and `first_seen` in local time says whether it was in
 * a rule's quiet hours. The hosts that asked are alerted on, one alert
 * per host and rule, with the names asked in this round in the details.
 *
 * After a restart the seen set is empty and every DNS flow the engine
 * still holds is looked at again: flows older than the rule's
 * release-after (counted from the newest DNS flow) are skipped, so an
 * alert already released is not raised again by old flows, and one still
 * active is read back from Redis and only updated. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alertd.h"

struct idnode {
	struct idnode *next;
	char id[24];
};

#define DBUCKETS 65536
#define DNS_SEEN_MAX 2000000

struct alertd_dns_state {
	struct idnode *b[DBUCKETS];
	size_t n;
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct alertd_dns_state *
alertd_dns_new(void)
{
	return calloc(1, sizeof(struct alertd_dns_state));
}

static void
dns_clear(struct alertd_dns_state *s)
{
	for (size_t i = 0; i < DBUCKETS; i++) {
		struct idnode *x = s->b[i], *nx;

		for (; x; x = nx) {
			nx = x->next;
			free(x);
		}
		s->b[i] = NULL;
	}
	s->n = 0;
}

void
alertd_dns_free(struct alertd_dns_state *s)
{
	if (!s)
		return;
	dns_clear(s);
	free(s);
}

/* Adds id; false when it was there. */
static bool
first_time(struct alertd_dns_state *s, const char *id)
{
	uint32_t h = hash(id) % DBUCKETS;
	struct idnode *x;

	if (strlen(id) >= sizeof(x->id))
		return false;
	for (x = s->b[h]; x; x = x->next)
		if (!strcmp(x->id, id))
			return false;
	if (s->n >= DNS_SEEN_MAX)
		dns_clear(s);	/* bounded; see above for what a reset does */
	x = malloc(sizeof(*x));
	if (!x)
		return true;
	strcpy(x->id, id);
	x->next = s->b[h];
	s->b[h] = x;
	s->n++;
	return true;
}

struct dflow {
	char host[ALERTD_ENTITY_MAX];
	char ip[64];
	char name[256];
	int64_t t;
	int tod;		/* minute of the day, local time */
};

static bool
has_rules(const struct alertd_conf *c)
{
	for (int i = 0; i < c->n_rules; i++)
		if (c->rules[i].kind == ALERTD_K_DNS_QUIET)
			return true;
	return false;
}

static int
cmp_host(const void *a, const void *b)
{
	const struct dflow *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	return c ? c : (x->t < y->t ? -1 : x->t > y->t);
}

/* Rule r over the flows of this round, sorted by host. */
static int
eval_rule(struct alertd_ctx *ctx, const struct alertd_rule *r,
	  const struct dflow *f, size_t n, int64_t newest, int64_t now)
{
	char qbuf[16];

	snprintf(qbuf, sizeof(qbuf), "%02d:%02d-%02d:%02d", r->quiet_from / 60,
		 r->quiet_from % 60, r->quiet_to / 60, r->quiet_to % 60);
	for (size_t i = 0; i < n;) {
		size_t j = i, hits = 0;
		char *names[20];
		size_t nn = 0;
		char subnet[ALERTD_NAME_MAX] = "";

		while (j < n && !strcmp(f[j].host, f[i].host))
			j++;
		if (fnmatch(r->pattern, f[i].host, 0) ||
		    (r->cidr.af && !alertd_cidr_has(&r->cidr, f[i].ip))) {
			i = j;
			continue;
		}
		if (r->subnet[0]) {
			redisReply *h = alertd_cmd(&ctx->store, "HGET %shost:%s subnet",
						   ctx->store.kp, f[i].host);
			if (!h)
				return -1;
			if (h->type == REDIS_REPLY_STRING)
				snprintf(subnet, sizeof(subnet), "%s", h->str);
			freeReplyObject(h);
			if (strcmp(subnet, r->subnet)) {
				i = j;
				continue;
			}
		}
		for (size_t k = i; k < j; k++) {
			if (!alertd_tod_inside(r->quiet_from, r->quiet_to, f[k].tod))
				continue;
			if (r->release_after_ms &&
			    f[k].t < newest - r->release_after_ms)
				continue;
			hits++;
			if (!f[k].name[0] || nn == 20)
				continue;
			bool dup = false;

			for (size_t q = 0; q < nn; q++)
				if (!strcmp(names[q], f[k].name))
					dup = true;
			if (!dup)
				names[nn++] = (char *)f[k].name;
		}
		if (hits) {
			char summary[ALERTD_SUMMARY_MAX], list[300] = "";
			struct alertd_obj o;
			char *details = NULL;
			size_t used = 0;

			for (size_t q = 0; q < nn && used < sizeof(list) - 1; q++) {
				int w = snprintf(list + used, sizeof(list) - used,
						 "%s%s", q ? ", " : "", names[q]);
				if (w < 0)
					break;
				used += (size_t)w;
			}
			snprintf(summary, sizeof(summary), "%s made %zu DNS "
				 "quer%s in quiet hours %s: %s", f[i].host, hits,
				 hits == 1 ? "y" : "ies", qbuf, nn ? list : "(no names)");
			if (!alertd_obj_begin(&o)) {
				alertd_obj_str(&o, "host", f[i].host);
				alertd_obj_str(&o, "quiet", qbuf);
				alertd_obj_num(&o, "queries", (double)hits);
				alertd_obj_strs(&o, "names", names, nn);
				details = alertd_obj_end(&o);
			}
			for (size_t k = 0; k < hits; k++)
				alertd_alerts_event(ctx->alerts, &ctx->changes,
						    ctx->conf, r, r->severity,
						    f[i].host, summary, details,
						    now);
			free(details);
		}
		i = j;
	}
	return 0;
}

int
alertd_dns_eval(struct alertd_ctx *ctx, int64_t now)
{
	struct alertd_store *st = &ctx->store;
	redisReply *ids;
	struct dflow *f = NULL;
	size_t n = 0, asked = 0;
	const char **todo = NULL;
	int64_t newest = 0;
	int rc = 0;

	if (!has_rules(ctx->conf))
		return 0;
	if (alertd_store_ensure(st))
		return -1;
	ids = alertd_cmd(st, "SUNION %sidx:app:DNS %sidx:port:53", st->kp, st->kp);
	if (!ids)
		return -1;
	if (ids->type != REDIS_REPLY_ARRAY || !ids->elements)
		goto out;
	todo = calloc(ids->elements, sizeof(*todo));
	f = calloc(ids->elements, sizeof(*f));
	if (!todo || !f) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < ids->elements; i++) {
		const redisReply *id = ids->element[i];

		if (id->type != REDIS_REPLY_STRING || !first_time(ctx->dns, id->str))
			continue;
		todo[asked++] = id->str;
		redisAppendCommand(st->c, "HMGET %sflow:%s src vlan dport proto "
				   "first_seen server_name application", st->kp,
				   id->str);
	}
	for (size_t i = 0; i < asked; i++) {
		redisReply *h = NULL;
		const redisReply *const *e;
		long dport, proto;
		bool dns;
		time_t t;
		struct tm tm;

		if (redisGetReply(st->c, (void **)&h) != REDIS_OK || !h) {
			alertd_store_drop(st, "reading DNS flows failed");
			rc = -1;
			goto out;
		}
		if (h->type != REDIS_REPLY_ARRAY || h->elements != 7 ||
		    h->element[0]->type != REDIS_REPLY_STRING ||
		    h->element[4]->type != REDIS_REPLY_STRING) {
			freeReplyObject(h);
			continue;
		}
		e = (const redisReply *const *)h->element;
		dport = e[2]->type == REDIS_REPLY_STRING ? strtol(e[2]->str, NULL, 10) : -1;
		proto = e[3]->type == REDIS_REPLY_STRING ? strtol(e[3]->str, NULL, 10) : -1;
		dns = (e[6]->type == REDIS_REPLY_STRING && !strcmp(e[6]->str, "DNS")) ||
		      (dport == 53 && (proto == 6 || proto == 17));
		if (!dns) {
			freeReplyObject(h);
			continue;
		}
		snprintf(f[n].ip, sizeof(f[n].ip), "%s", e[0]->str);
		snprintf(f[n].host, sizeof(f[n].host), "%s@%s", e[0]->str,
			 e[1]->type == REDIS_REPLY_STRING ? e[1]->str : "0");
		if (e[5]->type == REDIS_REPLY_STRING)
			snprintf(f[n].name, sizeof(f[n].name), "%s", e[5]->str);
		f[n].t = strtoll(e[4]->str, NULL, 10);
		t = (time_t)(f[n].t / 1000);
		localtime_r(&t, &tm);
		f[n].tod = tm.tm_hour * 60 + tm.tm_min;
		if (f[n].t > newest)
			newest = f[n].t;
		n++;
		freeReplyObject(h);
	}
	qsort(f, n, sizeof(*f), cmp_host);
	for (int i = 0; i < ctx->conf->n_rules && n; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];

		if (r->kind == ALERTD_K_DNS_QUIET &&
		    eval_rule(ctx, r, f, n, newest, now)) {
			rc = -1;
			break;
		}
	}
out:
	if (rc && todo) {
		/* not looked at: forget them so the next round tries again */
		dns_clear(ctx->dns);
	}
	free(todo);
	free(f);
	freeReplyObject(ids);
	return rc;
}
