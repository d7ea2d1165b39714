/* scan.c -- a host contacting many peers or many ports.
 *
 * For each host a scan rule watches, the flows the host initiated (its
 * P idx:host:ID set on every watched node, keeping the flows whose `src`
 * is the host: a flow lives on one node, so the nodes' flows together are
 * the host's, and distinct peers and ports are counted exactly over
 * them) are put in order of first_seen, and a window of the rule's length slides over
 * them: the largest number of distinct peers (`dst`) and of distinct
 * destination ports (TCP, UDP, SCTP; port 0, which the engine gives a
 * flow of later IP fragments whose first it did not see, is no port)
 * seen inside one window is the host's value. At or
 * above the rule's `peers` or `ports` the alert is engaged.
 *
 * Times are the flows' own (first_seen), measured from the newest
 * last_seen among the hosts looked at, so a capture replayed hours later
 * is judged by its own clock, and only flows that started within the
 * rule's `hold` of that are counted: once a burst is older than hold the
 * alert is released.
 *
 * The candidates are the merged view's hosts (P hosts summed over the
 * nodes), their hashes merged (flows summed, last_seen the latest).
 *
 * Cost: one pipelined HGETALL per host and node for the candidates, then
 * (flowidx.c) SMEMBERS and one pipelined HMGET per flow, per node, for
 * the hosts whose flow count could reach the threshold and changed since
 * the last round (or that have an alert to keep). It runs every
 * scan-interval, not every round. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "alertd.h"

/* The flow count each (rule, host) had at its last evaluation. */
struct seen {
	struct seen *next;
	uint64_t flows;
	char key[];
};

#define SBUCKETS 4096

struct alertd_scan_state {
	struct seen *b[SBUCKETS];
	uint32_t *port_count;	/* 65536 */
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct alertd_scan_state *
alertd_scan_new(void)
{
	struct alertd_scan_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->port_count = calloc(65536, sizeof(uint32_t));
	if (!s->port_count) {
		free(s);
		return NULL;
	}
	return s;
}

void
alertd_scan_free(struct alertd_scan_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < SBUCKETS; i++) {
		struct seen *x = s->b[i], *nx;

		for (; x; x = nx) {
			nx = x->next;
			free(x);
		}
	}
	free(s->port_count);
	free(s);
}

/* Returns true when the count changed (and records it). */
static bool
changed(struct alertd_scan_state *s, const char *key, uint64_t flows)
{
	uint32_t h = hash(key) % SBUCKETS;
	struct seen *x;

	for (x = s->b[h]; x; x = x->next)
		if (!strcmp(x->key, key)) {
			if (x->flows == flows)
				return false;
			x->flows = flows;
			return true;
		}
	x = malloc(sizeof(*x) + strlen(key) + 1);
	if (!x)
		return true;
	strcpy(x->key, key);
	x->flows = flows;
	x->next = s->b[h];
	s->b[h] = x;
	return true;
}

struct item {
	int64_t t;
	unsigned peer;		/* index into the distinct peers */
	int port;		/* -1: no port (ICMP...) */
};

static int
cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t;
}

struct verdict {
	unsigned peers, ports;
	int64_t from, to;	/* the window that gave the most */
	unsigned flows;		/* initiated flows counted */
};

/* Which of a host's flows count: those it started within hold. */
struct initiated {
	const char *ip;
	int64_t since;
};

static bool
keep_initiated(const struct alertd_flow *f, void *arg)
{
	const struct initiated *w = arg;

	return !strcmp(f->src, w->ip) && f->first_ms >= w->since;
}

/* The flows of one host over every node (flowidx.c): distinct peers and
 * ports in the busiest window (the nodes' flows together: the distinct
 * counts are exact, not a lower bound). */
static int
host_flows(struct alertd_ctx *ctx, const struct alertd_rule *r,
	   const char *host, int64_t data_now, struct verdict *out,
	   char ***peer_names, size_t *n_peer_names, alertd_nodeset *nodes)
{
	struct alertd_scan_state *ss = ctx->scan;
	char ip[64], idx[ALERTD_ENTITY_MAX + 8];
	struct alertd_flows fl = { 0 };
	struct initiated w = { .ip = ip, .since = data_now - r->hold_ms };
	struct item *items = NULL;
	char **uniq = NULL;
	size_t n = 0, nu = 0;
	unsigned *peer_count = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	*peer_names = NULL;
	*n_peer_names = 0;
	alertd_host_ip(host, ip, sizeof(ip));
	snprintf(idx, sizeof(idx), "host:%s", host);
	for (size_t k = 0; k < ctx->n_nodes && !rc; k++)
		rc = alertd_flows_read(&ctx->nodes[k]->store, k, idx,
				       keep_initiated, &w, &fl);
	n = fl.n;
	*nodes = fl.nodes;
	if (rc || !n)
		goto out;
	items = malloc(n * sizeof(*items));
	/* peers by index: sorted distinct addresses, then a search each */
	uniq = malloc(n * sizeof(*uniq));
	if (!items || !uniq) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		uniq[i] = fl.v[i].dst;
	qsort(uniq, n, sizeof(*uniq), alertd_cmp_str);
	for (size_t i = 0; i < n; i++)
		if (!nu || strcmp(uniq[nu - 1], uniq[i]))
			uniq[nu++] = uniq[i];
	for (size_t i = 0; i < n; i++) {
		char **hit = bsearch(&fl.v[i].dst, uniq, nu, sizeof(*uniq),
				     alertd_cmp_str);

		items[i].t = fl.v[i].first_ms;
		items[i].port = fl.v[i].port;
		items[i].peer = (unsigned)(hit - uniq);
	}
	qsort(items, n, sizeof(*items), cmp_item);
	peer_count = calloc(nu, sizeof(*peer_count));
	if (!peer_count) {
		rc = -1;
		goto out;
	}
	{
		unsigned peers = 0, ports = 0;
		size_t lo = 0, best_lo = 0, best_hi = 0;

		for (size_t hi = 0; hi < n; hi++) {
			if (!peer_count[items[hi].peer]++)
				peers++;
			if (items[hi].port >= 0 && !ss->port_count[items[hi].port]++)
				ports++;
			while (items[hi].t - items[lo].t >= r->window_ms) {
				if (!--peer_count[items[lo].peer])
					peers--;
				if (items[lo].port >= 0 &&
				    !--ss->port_count[items[lo].port])
					ports--;
				lo++;
			}
			if (peers > out->peers || ports > out->ports) {
				if (peers > out->peers)
					out->peers = peers;
				if (ports > out->ports)
					out->ports = ports;
				best_lo = lo;
				best_hi = hi;
			}
		}
		/* leave the port counters at zero for the next host */
		for (size_t i = lo; i < n; i++)
			if (items[i].port >= 0)
				ss->port_count[items[i].port] = 0;
		out->from = items[best_lo].t;
		out->to = items[best_hi].t;
		out->flows = (unsigned)n;
		/* a few of the busiest window's peers, for the details */
		{
			size_t want = best_hi - best_lo + 1 < 10 ?
				      best_hi - best_lo + 1 : 10;
			char **pn = calloc(want ? want : 1, sizeof(*pn));
			size_t k = 0;

			for (size_t i = best_lo; pn && i <= best_hi && k < want; i++) {
				bool dup = false;

				for (size_t j = 0; j < k; j++)
					if (!strcmp(pn[j], uniq[items[i].peer]))
						dup = true;
				if (!dup)
					pn[k++] = strdup(uniq[items[i].peer]);
			}
			*peer_names = pn;
			*n_peer_names = k;
		}
	}
out:
	alertd_flows_free(&fl);
	free(uniq);
	free(items);
	free(peer_count);
	return rc;
}

static int
eval_rule(struct alertd_ctx *ctx, const struct alertd_rule *r, int64_t now)
{
	struct alertd_alerts *al = ctx->merged;
	char **hosts;
	size_t n;
	uint64_t *flows = NULL;
	bool *want = NULL;
	redisReply **h = NULL;
	alertd_nodeset *has = NULL;
	int64_t data_now = 0;
	unsigned need;
	int rc = 0;

	if (alertd_members(ctx, "hosts", r->pattern, r->max_entities, &hosts, &n))
		return -1;
	flows = calloc(n ? n : 1, sizeof(*flows));
	want = calloc(n ? n : 1, sizeof(*want));
	h = calloc(n ? n : 1, sizeof(*h));
	has = calloc(n ? n : 1, sizeof(*has));
	if (!flows || !want || !h || !has ||
	    alertd_view_hashes(ctx, "host:", hosts, n, h, has)) {
		rc = -1;
		goto out;
	}
	alertd_alerts_round_begin(al, r);
	/* the merged host: flows summed, last_seen the latest */
	for (size_t i = 0; i < n; i++) {
		const char *fl = weirctl_hash_get(h[i], "flows");
		const char *sub = weirctl_hash_get(h[i], "subnet");
		int64_t ls = (int64_t)weirctl_hash_u64(h[i], "last_seen");
		char ip[64];

		if (!fl)
			continue;
		flows[i] = strtoull(fl, NULL, 10);
		want[i] = (!r->subnet[0] || !strcmp(r->subnet, sub ? sub : "")) &&
			  (!r->cidr.af || alertd_cidr_has(&r->cidr,
					alertd_host_ip(hosts[i], ip, sizeof(ip))));
		if (want[i] && ls > data_now)
			data_now = ls;
	}
	need = r->scan_peers && r->scan_ports ?
	       (r->scan_peers < r->scan_ports ? r->scan_peers : r->scan_ports) :
	       r->scan_peers ? r->scan_peers : r->scan_ports;
	for (size_t i = 0; i < n; i++) {
		char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
		struct verdict v;
		char **names;
		size_t nn;
		bool active, on;
		char summary[ALERTD_SUMMARY_MAX];
		struct alertd_obj o;
		char *details;
		double value, threshold;
		alertd_nodeset from;
		char label[128];

		if (!want[i])
			continue;
		active = alertd_alerts_active(al, r->name, hosts[i]);
		snprintf(key, sizeof(key), "%s|%s", r->name, hosts[i]);
		if (!changed(ctx->scan, key, flows[i]) && !active)
			continue;
		if (flows[i] < need && !active)
			continue;
		if (host_flows(ctx, r, hosts[i], data_now, &v, &names, &nn, &from)) {
			rc = -1;
			goto out;
		}
		on = (r->scan_peers && v.peers >= r->scan_peers) ||
		     (r->scan_ports && v.ports >= r->scan_ports);
		value = r->scan_peers ? v.peers : v.ports;
		threshold = r->scan_peers ? r->scan_peers : r->scan_ports;
		snprintf(summary, sizeof(summary), "%s contacted %u peers on %u "
			 "ports within %llds", hosts[i], v.peers, v.ports,
			 (long long)(r->window_ms / 1000));
		if (!alertd_obj_begin(&o)) {
			alertd_obj_str(&o, "host", hosts[i]);
			alertd_obj_num(&o, "peers", v.peers);
			alertd_obj_num(&o, "ports", v.ports);
			alertd_obj_num(&o, "window_s", (double)r->window_ms / 1000);
			alertd_obj_num(&o, "from_ms", (double)v.from);
			alertd_obj_num(&o, "to_ms", (double)v.to);
			alertd_obj_num(&o, "flows", v.flows);
			alertd_obj_strs(&o, "some_peers", names, nn);
			alertd_view_label(ctx, from, label, sizeof(label));
			alertd_obj_str(&o, "nodes", label);
			details = alertd_obj_end(&o);
		} else {
			details = NULL;
		}
		alertd_members_free(names, nn);
		alertd_view_label(ctx, from, label, sizeof(label));
		alertd_alerts_node(al, from ? label : NULL);
		alertd_alerts_value(al, &ctx->changes, ctx->conf, r, hosts[i],
				    value, threshold, on, !on, summary, details,
				    now);
		free(details);
	}
	alertd_alerts_round_end(al, &ctx->changes, ctx->conf, r, now);
out:
	for (size_t i = 0; h && i < n; i++)
		if (h[i])
			freeReplyObject(h[i]);
	free(h);
	free(has);
	free(flows);
	free(want);
	alertd_members_free(hosts, n);
	return rc;
}

int
alertd_scan_eval(struct alertd_ctx *ctx, int64_t now)
{
	if (alertd_view_ensure(ctx))
		return -1;
	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];

		if (r->kind == ALERTD_K_SCAN && eval_rule(ctx, r, now))
			return -1;
	}
	return 0;
}
