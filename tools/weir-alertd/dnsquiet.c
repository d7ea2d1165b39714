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
 * active is read back from Redis and only updated.
 *
 * Over several nodes the DNS flows of every watched node are looked at
 * (a flow lives on one node; the seen set knows a flow by its node and
 * id), and a host's queries on all of them make its one alert, under the
 * home node, its node field naming the nodes that saw them. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alertd.h"

struct idnode {
	struct idnode *next;
	uint64_t id;		/* a hash of the node and the flow id */
};

#define DBUCKETS 65536
#define DNS_SEEN_MAX 2000000

struct alertd_dns_state {
	struct idnode *b[DBUCKETS];
	size_t n;
};

/* FNV-1a, 64 bits, of "NODE|ID": two flows mixed up is a 2^-64 chance. */
static uint64_t
hash(const char *node, const char *id)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *node; node++)
		h = (h ^ (unsigned char)*node) * 0x100000001b3ULL;
	h = (h ^ '|') * 0x100000001b3ULL;
	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
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

/* Adds node's flow id; false when it was there. */
static bool
first_time(struct alertd_dns_state *s, const char *node, const char *id)
{
	uint64_t k = hash(node, id);
	uint32_t h = (uint32_t)(k % DBUCKETS);
	struct idnode *x;

	for (x = s->b[h]; x; x = x->next)
		if (x->id == k)
			return false;
	if (s->n >= DNS_SEEN_MAX)
		dns_clear(s);	/* bounded; see above for what a reset does */
	x = malloc(sizeof(*x));
	if (!x)
		return true;
	x->id = k;
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
	size_t node;		/* index into ctx->nodes */
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
		alertd_nodeset from = 0;
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
			/* an identity: the same on every node that has it */
			struct alertd_store *st = &ctx->nodes[f[i].node]->store;
			redisReply *h = alertd_cmd(st, "HGET %shost:%s subnet",
						   st->kp, f[i].host);
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
			if (f[k].node < 64)
				from |= (alertd_nodeset)1 << f[k].node;
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
			char label[128];
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
			alertd_view_label(ctx, from, label, sizeof(label));
			if (!alertd_obj_begin(&o)) {
				alertd_obj_str(&o, "host", f[i].host);
				alertd_obj_str(&o, "quiet", qbuf);
				alertd_obj_num(&o, "queries", (double)hits);
				alertd_obj_strs(&o, "names", names, nn);
				alertd_obj_str(&o, "nodes", label);
				details = alertd_obj_end(&o);
			}
			alertd_alerts_node(ctx->merged, label);
			for (size_t k = 0; k < hits; k++)
				alertd_alerts_event(ctx->merged, &ctx->changes,
						    ctx->conf, r, r->severity,
						    f[i].host, summary, details,
						    now);
			free(details);
		}
		i = j;
	}
	return 0;
}

/* Node k's DNS flows not looked at before, appended to *f. */
static int
node_flows(struct alertd_ctx *ctx, size_t k, struct dflow **f, size_t *n,
	   size_t *cap, int64_t *newest)
{
	struct alertd_node *nd = ctx->nodes[k];
	struct alertd_store *st = &nd->store;
	redisReply *ids;
	size_t asked = 0;
	int rc = 0;

	ids = alertd_cmd(st, "SUNION %sidx:app:DNS %sidx:port:53", st->kp, st->kp);
	if (!ids)
		return -1;
	if (ids->type != REDIS_REPLY_ARRAY || !ids->elements)
		goto out;
	if (*n + ids->elements > *cap) {
		struct dflow *nf = realloc(*f, (*n + ids->elements) * sizeof(**f));

		if (!nf) {
			rc = -1;
			goto out;
		}
		*f = nf;
		*cap = *n + ids->elements;
	}
	for (size_t i = 0; i < ids->elements; i++) {
		const redisReply *id = ids->element[i];

		if (id->type != REDIS_REPLY_STRING ||
		    !first_time(ctx->dns, nd->id, id->str))
			continue;
		asked++;
		redisAppendCommand(st->c, "HMGET %sflow:%s src vlan dport proto "
				   "first_seen server_name application", st->kp,
				   id->str);
	}
	for (size_t i = 0; i < asked; i++) {
		redisReply *h = NULL;
		const redisReply *const *e;
		struct dflow *x = &(*f)[*n];
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
		memset(x, 0, sizeof(*x));
		snprintf(x->ip, sizeof(x->ip), "%s", e[0]->str);
		snprintf(x->host, sizeof(x->host), "%s@%s", e[0]->str,
			 e[1]->type == REDIS_REPLY_STRING ? e[1]->str : "0");
		if (e[5]->type == REDIS_REPLY_STRING)
			snprintf(x->name, sizeof(x->name), "%s", e[5]->str);
		x->t = strtoll(e[4]->str, NULL, 10);
		t = (time_t)(x->t / 1000);
		localtime_r(&t, &tm);
		x->tod = tm.tm_hour * 60 + tm.tm_min;
		x->node = k;
		if (x->t > *newest)
			*newest = x->t;
		(*n)++;
		freeReplyObject(h);
	}
out:
	freeReplyObject(ids);
	return rc;
}

int
alertd_dns_eval(struct alertd_ctx *ctx, int64_t now)
{
	struct dflow *f = NULL;
	size_t n = 0, cap = 0;
	int64_t newest = 0;
	int rc = 0;

	if (!has_rules(ctx->conf))
		return 0;
	if (alertd_view_ensure(ctx))
		return -1;
	for (size_t k = 0; k < ctx->n_nodes && !rc; k++)
		rc = node_flows(ctx, k, &f, &n, &cap, &newest);
	if (!rc && n)
		qsort(f, n, sizeof(*f), cmp_host);
	for (int i = 0; !rc && i < ctx->conf->n_rules && n; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];

		if (r->kind == ALERTD_K_DNS_QUIET &&
		    eval_rule(ctx, r, f, n, newest, now))
			rc = -1;
	}
	if (rc) {
		/* not looked at: forget them so the next round tries again */
		dns_clear(ctx->dns);
	}
	free(f);
	return rc;
}
