/* control_apps.c -- applications, categories and DNS names, as the control
 * thread sees them.
 *
 * Workers send one nDPI verdict per flow (packed, dpi_msg.h) besides the
 * flow's snapshots. Here a flow's bytes are counted under its application
 * as its snapshots arrive; until the verdict is known they count under
 * "Unknown", and when it arrives what the flow already brought is moved to
 * its application, so per-application totals add up to the traffic. The
 * same goes for each host's applications. A DNS flow's query name is
 * counted on its initiator (the host that asked).
 *
 * Application and category names come from nDPI (a fixed set) and may be
 * used in key names; DNS names come from the wire and are only ever zset
 * members or hash fields, never part of a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "control_priv.h"
#include "flow_snap.h"
#include "worker.h"

#define HOST_DNS_MAX 256        /* names kept per host: a new one replaces
				 * the least asked (counted) */

struct intern {
	UT_hash_handle hh;
	char s[];
};

struct ctl_app {
	const char *name;           /* interned: the hash key */
	UT_hash_handle hh;
	const char *category;       /* for applications */
	struct ctl_app *cat;        /* the category's entry, while category */
	const char *cat_of;         /* ...is still this name */
	uint64_t bytes, pkts, flows;
	uint64_t pub_bytes, pub_flows;
};

struct host_app {
	struct ctl_app *app;        /* the key */
	UT_hash_handle hh;
	uint64_t bytes, pkts;
	uint64_t pub_bytes;         /* score committed, if pub_in */
	int pub_in;                 /* a member of hostapps:ID as committed */
};

struct host_dns {
	UT_hash_handle hh;
	uint64_t count, last_ms;
	uint64_t pub_count;         /* count committed (0: never) */
	char name[];                /* the key */
};

/* A name replaced in a host's full list that a committed cycle wrote:
 * to be removed from hostdns:ID and hostdnslast:ID. */
struct dns_gone {
	struct dns_gone *next;
	char name[];
};

static const char *
intern(struct weir_control *c, const char *s)
{
	struct intern *i;
	HASH_FIND_STR(c->names, s, i);
	if (i)
		return i->s;
	size_t n = strlen(s) + 1;
	i = malloc(sizeof(*i) + n);
	if (!i)
		return "Unknown";
	memcpy(i->s, s, n);
	HASH_ADD_KEYPTR(hh, c->names, i->s, n - 1, i);
	return i->s;
}

static struct ctl_app *
agg_get(struct weir_control *c, struct ctl_app **table, const char *name)
{
	struct ctl_app *a;
	name = intern(c, name);
	HASH_FIND_PTR(*table, &name, a);
	if (a)
		return a;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->name = name;
	a->category = "Unspecified";
	HASH_ADD_PTR(*table, name, a);
	return a;
}

/* h's entry for application a, made (and announced) the first time. */
static struct host_app *
host_app_get(struct weir_control *c, struct ctl_flow *f, struct ctl_host *h, struct ctl_app *a)
{
	struct host_app *ha;
	HASH_FIND_PTR(h->apps, &a, ha);
	if (ha)
		return ha;
	ha = calloc(1, sizeof(*ha));
	if (!ha)
		return NULL;
	ha->app = a;
	HASH_ADD_PTR(h->apps, app, ha);
	if (strcmp(a->name, "Unknown") != 0) {
		char id[24];
		snprintf(id, sizeof(id), "%016llx", (unsigned long long)f->uid);
		weir_events_add(c->events, f->s.first_ms, "new_app", "host", h->id, "app", a->name,
				"category", a->category, "flow", id, NULL);
	}
	return ha;
}

/* Count under a in the host of f's end b. The entry found is kept in f
 * (entries live as long as their host, and hosts as long as the control
 * state), so a flow's later snapshots go straight to it. */
static void
host_app_add(struct weir_control *c, struct ctl_flow *f, int b, struct ctl_app *a,
	     int64_t bytes, int64_t pkts)
{
	struct ctl_host *h = weir_ctl_flow_host(c, f, b);
	if (!h)
		return;
	if (f->hap_app != a) {
		f->hap_app = a;
		f->hap[0] = f->hap[1] = NULL;
	}
	struct host_app *ha = f->hap[b];
	if (!ha && !(ha = f->hap[b] = host_app_get(c, f, h, a)))
		return;
	ha->bytes += (uint64_t)bytes;
	ha->pkts += (uint64_t)pkts;
	h->apps_dirty = 1;
}

/* The entry of a's category (a name the verdict may change). */
static struct ctl_app *
category_of(struct weir_control *c, struct ctl_app *a)
{
	if (a->cat_of != a->category || !a->cat) {
		a->cat = agg_get(c, &c->cats, a->category);
		a->cat_of = a->category;
	}
	return a->cat;
}

/* Count bytes/pkts of flow f under application a (and its category, and
 * both end hosts); negative to take them back. */
static void
attribute(struct weir_control *c, struct ctl_flow *f, struct ctl_app *a,
	  int64_t bytes, int64_t pkts, int64_t flows)
{
	if (!a)
		return;
	a->bytes += (uint64_t)bytes;
	a->pkts += (uint64_t)pkts;
	a->flows += (uint64_t)flows;
	struct ctl_app *cat = category_of(c, a);
	if (cat) {
		cat->bytes += (uint64_t)bytes;
		cat->pkts += (uint64_t)pkts;
		cat->flows += (uint64_t)flows;
	}
	if (!f->have_snap || (!bytes && !pkts))
		return;
	host_app_add(c, f, 0, a, bytes, pkts);
	if (memcmp(f->s.key.a, f->s.key.b, 16) != 0)
		host_app_add(c, f, 1, a, bytes, pkts);
}

/* h's list of names is full: drop the least asked (the longest unasked
 * among those), so that the list keeps the names asked most. Redis loses
 * it with the next cycle that lands. */
static void
dns_replace_least(struct weir_control *c, struct ctl_host *h)
{
	struct host_dns *d, *t, *least = NULL;
	HASH_ITER(hh, h->dns, d, t)
		if (!least || d->count < least->count ||
		    (d->count == least->count && d->last_ms < least->last_ms))
			least = d;
	if (!least)
		return;
	if (least->pub_count) {
		size_t n = strlen(least->name) + 1;
		struct dns_gone *g = malloc(sizeof(*g) + n);
		if (g) {	/* without it Redis keeps a stale name: harmless */
			memcpy(g->name, least->name, n);
			g->next = h->dns_gone;
			h->dns_gone = g;
		}
	}
	HASH_DEL(h->dns, least);
	free(least);
	h->n_dns--;
	c->hostdns_dropped++;
}

static void
dns_gone_free(struct ctl_host *h)
{
	while (h->dns_gone) {
		struct dns_gone *g = h->dns_gone;
		h->dns_gone = g->next;
		free(g);
	}
}

static void
count_dns(struct weir_control *c, struct ctl_flow *f)
{
	const char *name = f->dpi ? f->dpi->host : NULL;
	f->dns_pending = 0;
	if (!name || !*name)
		return;
	struct ctl_host *h = weir_ctl_flow_host(c, f, !f->s.a_is_init);
	if (!h)
		return;
	struct host_dns *d;
	HASH_FIND_STR(h->dns, name, d);
	if (!d) {
		if (h->n_dns >= HOST_DNS_MAX)
			dns_replace_least(c, h);
		size_t n = strlen(name) + 1;
		d = calloc(1, sizeof(*d) + n);
		if (!d)
			return;
		memcpy(d->name, name, n);
		HASH_ADD_STR(h->dns, name, d);
		h->n_dns++;
	}
	d->count++;
	if (f->s.first_ms > d->last_ms)
		d->last_ms = f->s.first_ms;
	h->apps_dirty = 1;
}

void
weir_ctl_apps_snapshot(struct weir_control *c, struct ctl_flow *f, uint64_t dbytes, uint64_t dpkts)
{
	int new_flow = !f->app_agg;
	if (!f->app_agg)
		f->app_agg = agg_get(c, &c->apps, f->dpi ? f->dpi->app : "Unknown");
	attribute(c, f, f->app_agg, (int64_t)dbytes, (int64_t)dpkts, new_flow);
	if (f->dns_pending)
		count_dns(c, f);
}

static char *
dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static int
is_dns(const struct weir_dpi_result *r)
{
	return !strcmp(r->name, "DNS") || !strncmp(r->name, "DNS.", 4);
}

void
weir_ctl_apps_verdict(struct weir_control *c, struct ctl_flow *f, const struct weir_dpi_result *r)
{
	if (f->dpi)
		return;		/* one verdict per flow */
	struct ctl_dpi *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->name = intern(c, r->name[0] ? r->name : "Unknown");
	d->app = intern(c, r->app_name[0] ? r->app_name : "Unknown");
	d->category = intern(c, r->category[0] ? r->category : "Unspecified");
	d->confidence = intern(c, r->confidence);
	d->method = r->method;
	d->dns_rsp = r->dns_rsp;
	d->dns_rcode = r->dns_rcode;
	d->risk = r->risk;
	d->host = dup_or_null(r->host);
	d->ja3c = dup_or_null(r->ja3c);
	d->ja3s = dup_or_null(r->ja3s);
	d->url = dup_or_null(r->url);
	d->ssh_client = dup_or_null(r->ssh_client);
	d->ssh_server = dup_or_null(r->ssh_server);
	d->risk_text = dup_or_null(r->risk_text);
	f->dpi = d;
	f->dirty = 1;

	struct ctl_app *to = agg_get(c, &c->apps, d->app);
	if (to)
		to->category = d->category;
	if (f->app_agg && to && f->app_agg != to) {
		/* move what the flow brought so far from Unknown to its app */
		uint64_t b = f->s.bytes[0] + f->s.bytes[1], p = f->s.pkts[0] + f->s.pkts[1];
		attribute(c, f, f->app_agg, -(int64_t)b, -(int64_t)p, -1);
		attribute(c, f, to, (int64_t)b, (int64_t)p, 1);
		f->app_agg = to;
	}
	if (is_dns(r)) {
		f->dns_pending = 1;
		if (f->have_snap)
			count_dns(c, f);
	}
}

void
weir_ctl_apps_drain(struct weir_control *c)
{
	for (unsigned int i = 0; i < c->n_workers; i++) {
		struct weir_spsc_ring *ring = &c->w[i]->dpi_out;
		const uint8_t *m;
		uint32_t len;
		while ((m = weir_spsc_ring_peek_var(ring, &len))) {
			uint64_t uid;
			struct weir_dpi_result r;
			int ok = weir_dpi_msg_unpack(m, len, &uid, &r) == 0;
			weir_spsc_ring_pop_var(ring);
			if (!ok)
				continue;	/* cannot be: the worker packed it */
			struct ctl_flow *f;
			HASH_FIND(hh, c->flows, &uid, sizeof(uid), f);
			if (!f) {
				/* verdict before the first snapshot: keep it for it */
				f = calloc(1, sizeof(*f));
				if (f) {
					f->uid = uid;
					HASH_ADD(hh, c->flows, uid, sizeof(f->uid), f);
					c->n_flows++;
				}
			}
			if (f)
				weir_ctl_apps_verdict(c, f, &r);
		}
	}
}

const char *
weir_ctl_detection_name(const struct ctl_dpi *d)
{
	if (!d)
		return "none";
	switch (d->method) {
	case WEIR_DPI_METHOD_DPI: return "dpi";
	case WEIR_DPI_METHOD_GUESS: return "guess";
	case WEIR_DPI_METHOD_EXPORTER: return "exporter";
	default: return "none";
	}
}

void
weir_ctl_apps_flow_fields(struct weir_redis *r, const struct ctl_flow *f)
{
	const struct ctl_dpi *d = f->dpi;
	weir_redis_hset_str(r, "app", d ? d->name : "Unknown");
	weir_redis_hset_str(r, "application", d ? d->app : "Unknown");
	weir_redis_hset_str(r, "category", d ? d->category : "Unspecified");
	weir_redis_hset_str(r, "detection", weir_ctl_detection_name(d));
	if (!d)
		return;
	if (d->confidence[0])
		weir_redis_hset_str(r, "confidence", d->confidence);
	if (d->host)
		weir_redis_hset_str(r, "server_name", d->host);
	if (d->ja3c)
		weir_redis_hset_str(r, "ja3c", d->ja3c);
	if (d->ja3s)
		weir_redis_hset_str(r, "ja3s", d->ja3s);
	if (d->url)
		weir_redis_hset_str(r, "url", d->url);
	if (d->ssh_client)
		weir_redis_hset_str(r, "ssh_client", d->ssh_client);
	if (d->ssh_server)
		weir_redis_hset_str(r, "ssh_server", d->ssh_server);
	if (d->dns_rsp)
		weir_redis_hset_u64(r, "dns_rcode", d->dns_rcode);
	if (d->risk) {
		weir_redis_hset_u64(r, "risk", d->risk);
		if (d->risk_text)
			weir_redis_hset_str(r, "risk_text", d->risk_text);
	}
}

static void
publish_table(struct weir_control *c, struct weir_redis *r, struct ctl_app *table,
	      const char *zname, const char *kname, int apps, int full)
{
	char key[256], zkey[256];
	snprintf(zkey, sizeof(zkey), "%s%s", c->prefix, zname);
	struct ctl_app *a, *t;
	HASH_ITER(hh, table, a, t) {
		if (!full && a->bytes == a->pub_bytes && a->flows == a->pub_flows)
			continue;
		snprintf(key, sizeof(key), "%s%s:%s", c->prefix, kname, a->name);
		if (!a->flows && !a->bytes) {
			/* everything moved to a known application */
			weir_redis_cmdf(r, "DEL %s", key);
			weir_redis_cmdf(r, "ZREM %s %s", zkey, a->name);
			continue;
		}
		weir_redis_hset_start(r, key);
		weir_redis_hset_str(r, "name", a->name);
		if (apps)
			weir_redis_hset_str(r, "category", a->category);
		weir_redis_hset_u64(r, "bytes", a->bytes);
		weir_redis_hset_u64(r, "pkts", a->pkts);
		weir_redis_hset_u64(r, "flows", a->flows);
		weir_redis_hset_end(r);
		weir_redis_zadd(r, zkey, a->bytes, a->name);
	}
}

void
weir_ctl_apps_publish(struct weir_control *c, struct weir_redis *r, int full)
{
	publish_table(c, r, c->apps, "apps", "app", 1, full);
	publish_table(c, r, c->cats, "categories", "category", 0, full);
}

/* One variadic command for a host's applications that changed since the
 * committed cycle (all of them in a full one): ZADD key bytes app ... for
 * those with traffic (want_in), ZREM key app ... for those taken back to
 * none. Nothing is sent when none qualifies. One command a host instead of
 * one an application: Redis pays its per-command cost a third as often. */
static void
host_apps_cmd(struct weir_redis *r, const char *verb, const char *key, struct ctl_host *h,
	      int full, int want_in)
{
	int open = 0;
	struct host_app *ha, *ht;
	HASH_ITER(hh, h->apps, ha, ht) {
		int in = ha->bytes || ha->pkts;
		if (in != want_in || (!full && in == ha->pub_in && (!in || ha->bytes == ha->pub_bytes)))
			continue;
		if (!open++) {
			weir_redis_cmd_start(r, verb);
			weir_redis_arg_str(r, key);
		}
		if (in)
			weir_redis_arg_u64(r, ha->bytes);
		weir_redis_arg_str(r, ha->app->name);
	}
	if (open)
		weir_redis_cmd_end(r);
}

/* The same for a host's DNS names whose count moved: ZADD key count name
 * ... (last_ms 0) or HSET key name last_ms ... (last_ms 1). */
static void
host_dns_cmd(struct weir_redis *r, const char *verb, const char *key, struct ctl_host *h,
	     int full, int last_ms)
{
	int open = 0;
	struct host_dns *d, *dt;
	HASH_ITER(hh, h->dns, d, dt) {
		if (!full && d->count == d->pub_count)
			continue;
		if (!open++) {
			weir_redis_cmd_start(r, verb);
			weir_redis_arg_str(r, key);
		}
		if (last_ms) {
			weir_redis_arg_str(r, d->name);
			weir_redis_arg_u64(r, d->last_ms);
		} else {
			weir_redis_arg_u64(r, d->count);
			weir_redis_arg_str(r, d->name);
		}
	}
	if (open)
		weir_redis_cmd_end(r);
}

/* A host's applications (hostapps:ID) and DNS names (hostdns:ID,
 * hostdnslast:ID): what changed since the committed cycle (all of them in
 * a full one). */
void
weir_ctl_apps_publish_host(struct weir_control *c, struct weir_redis *r, struct ctl_host *h, int full)
{
	if (!h->apps_dirty && !full)
		return;
	char key[256];
	h->apps_sent_cycle = c->cycle;
	snprintf(key, sizeof(key), "%shostapps:%s", c->prefix, h->id);
	host_apps_cmd(r, "ZADD", key, h, full, 1);
	host_apps_cmd(r, "ZREM", key, h, full, 0);
	if (!h->dns)
		return;
	snprintf(key, sizeof(key), "%shostdns:%s", c->prefix, h->id);
	char lkey[256];
	snprintf(lkey, sizeof(lkey), "%shostdnslast:%s", c->prefix, h->id);
	/* first the names replaced since (one may be back: written below) */
	for (struct dns_gone *g = h->dns_gone; g; g = g->next) {
		weir_redis_cmd_start(r, "ZREM");
		weir_redis_arg_str(r, key);
		weir_redis_arg_str(r, g->name);
		weir_redis_cmd_end(r);
		weir_redis_cmd_start(r, "HDEL");
		weir_redis_arg_str(r, lkey);
		weir_redis_arg_str(r, g->name);
		weir_redis_cmd_end(r);
	}
	host_dns_cmd(r, "ZADD", key, h, full, 0);
	host_dns_cmd(r, "HSET", lkey, h, full, 1);
}

/* The cycle landed: what it wrote of each host's applications and names
 * is what Redis holds. A host not written this cycle stays dirty. */
void
weir_ctl_apps_clear_dirty(struct weir_control *c)
{
	struct ctl_app *a, *t;
	HASH_ITER(hh, c->apps, a, t) {
		a->pub_bytes = a->bytes;
		a->pub_flows = a->flows;
	}
	HASH_ITER(hh, c->cats, a, t) {
		a->pub_bytes = a->bytes;
		a->pub_flows = a->flows;
	}
	struct ctl_host *h, *th;
	HASH_ITER(hh, c->hosts, h, th) {
		if (h->apps_sent_cycle != c->cycle)
			continue;
		h->apps_dirty = 0;
		struct host_app *ha, *hat;
		HASH_ITER(hh, h->apps, ha, hat) {
			ha->pub_in = ha->bytes || ha->pkts;
			ha->pub_bytes = ha->bytes;
		}
		struct host_dns *d, *dt;
		HASH_ITER(hh, h->dns, d, dt)
			d->pub_count = d->count;
		dns_gone_free(h);
	}
}

void
weir_ctl_apps_free_flow(struct ctl_flow *f)
{
	struct ctl_dpi *d = f->dpi;
	if (!d)
		return;
	free(d->host);
	free(d->ja3c);
	free(d->ja3s);
	free(d->url);
	free(d->ssh_client);
	free(d->ssh_server);
	free(d->risk_text);
	free(d);
	f->dpi = NULL;
}

void
weir_ctl_apps_free_host(struct ctl_host *h)
{
	WEIR_HASH_FREE_ALL(h->apps, struct host_app);
	WEIR_HASH_FREE_ALL(h->dns, struct host_dns);
	dns_gone_free(h);
}

void
weir_ctl_apps_observe(struct weir_control *c)
{
	char e[128];
	struct ctl_app *a, *t;
	HASH_ITER(hh, c->apps, a, t) {
		snprintf(e, sizeof(e), "app:%s", a->name);
		weir_ts_observe(c->ts, e, a->bytes, a->pkts, a->flows, 1);
	}
}

void
weir_ctl_apps_free(struct weir_control *c)
{
	WEIR_HASH_FREE_ALL(c->apps, struct ctl_app);
	WEIR_HASH_FREE_ALL(c->cats, struct ctl_app);
	WEIR_HASH_FREE_ALL(c->names, struct intern);
}
