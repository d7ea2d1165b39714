/* agg.c -- folding flow deltas into the per-core aggregate tables.
 *
 * Runs on the owning worker at fold time (every publish interval, and when
 * a flow ends), never per packet. See agg.h for who reads what. Allocation
 * happens here (a new host, VLAN or subnet pair), off the per-packet path;
 * a failed allocation loses that fold's delta for the entity and is
 * counted in alloc_failed. */
#include <stdlib.h>
#include <string.h>

#include "agg.h"

#define ST(field, v) CMM_STORE_SHARED(field, v)

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

uint32_t
weir_agg_host_hash(const uint8_t ip[16], uint16_t vlan)
{
	uint64_t w[2];
	memcpy(w, ip, 16);
	return (uint32_t)mix64(w[0] ^ mix64(w[1] ^ ((uint64_t)vlan << 48)));
}

struct host_key { const uint8_t *ip; uint16_t vlan; };

static int
host_match(struct cds_lfht_node *n, const void *key)
{
	const struct weir_agg_host *h = caa_container_of(n, struct weir_agg_host, node);
	const struct host_key *k = key;
	return h->vlan == k->vlan && memcmp(h->ip, k->ip, 16) == 0;
}

static int
vlan_match(struct cds_lfht_node *n, const void *key)
{
	return caa_container_of(n, struct weir_agg_vlan, node)->vlan == *(const uint16_t *)key;
}

static int
pair_match(struct cds_lfht_node *n, const void *key)
{
	const struct weir_agg_pair *p = caa_container_of(n, struct weir_agg_pair, node);
	const uint16_t *k = key;
	return p->src == k[0] && p->dst == k[1];
}

int
weir_agg_init(struct weir_agg *a)
{
	memset(a, 0, sizeof(*a));
	int fl = CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING;
	a->hosts = cds_lfht_new(1024, 1024, 0, fl, NULL);
	a->vlans = cds_lfht_new(64, 64, 0, fl, NULL);
	a->pairs = cds_lfht_new(64, 64, 0, fl, NULL);
	if (!a->hosts || !a->vlans || !a->pairs) {
		weir_agg_destroy(a);
		return -1;
	}
	return 0;
}

static void
free_all(struct cds_lfht *ht, size_t node_off)
{
	struct cds_lfht_iter it;
	struct cds_lfht_node *n;
	if (!ht)
		return;
	cds_lfht_for_each(ht, &it, n) {
		cds_lfht_del(ht, n);
		free((char *)n - node_off);
	}
	cds_lfht_destroy(ht, NULL);
}

void
weir_agg_destroy(struct weir_agg *a)
{
	free_all(a->hosts, offsetof(struct weir_agg_host, node));
	free_all(a->vlans, offsetof(struct weir_agg_vlan, node));
	free_all(a->pairs, offsetof(struct weir_agg_pair, node));
	free(a->host_at);
	free(a->host_free);
	memset(a, 0, sizeof(*a));
}

/* Grow *arr (of *cap elements of size) to hold at least n; 0 if it does. */
static int
grow(void **arr, uint32_t *cap, uint32_t n, size_t size)
{
	if (n <= *cap)
		return 0;
	uint32_t c = *cap ? *cap * 2 : 1024;
	void *p = c > *cap ? realloc(*arr, (size_t)c * size) : NULL;
	if (!p)
		return -1;
	*arr = p;
	*cap = c;
	return 0;
}

/* A handle for h, so that its flows need no lookup at their later folds;
 * none (0) if the handle table cannot grow. */
static void
host_handle_give(struct weir_agg *a, struct weir_agg_host *h)
{
	uint32_t i;
	if (a->n_host_free)
		i = a->host_free[--a->n_host_free];
	else if (a->n_host_at + 1 < UINT32_MAX &&
		 grow((void **)&a->host_at, &a->cap_host_at, a->n_host_at + 2, sizeof(*a->host_at)) == 0)
		i = ++a->n_host_at;
	else
		return;
	a->host_at[i] = h;
	h->handle = i;
}

static void
host_handle_drop(struct weir_agg *a, struct weir_agg_host *h)
{
	if (!h->handle)
		return;
	a->host_at[h->handle] = NULL;
	if (grow((void **)&a->host_free, &a->cap_host_free, a->n_host_free + 1, sizeof(*a->host_free)) == 0)
		a->host_free[a->n_host_free++] = h->handle;
	h->handle = 0;
}

static struct weir_agg_host *
get_host(struct weir_agg *a, const uint8_t ip[16], uint16_t vlan, uint64_t now)
{
	struct host_key k = { ip, vlan };
	uint32_t h = weir_agg_host_hash(ip, vlan);
	struct cds_lfht_iter it;
	cds_lfht_lookup(a->hosts, h, host_match, &k, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	if (n)
		return caa_container_of(n, struct weir_agg_host, node);
	struct weir_agg_host *e = calloc(1, sizeof(*e));
	if (!e) {
		a->alloc_failed++;
		return NULL;
	}
	memcpy(e->ip, ip, 16);
	e->vlan = vlan;
	e->first_ms = now;
	e->born = ++a->host_births;
	host_handle_give(a, e);
	cds_lfht_node_init(&e->node);
	cds_lfht_add(a->hosts, h, &e->node);	/* single writer: no race on absence */
	a->n_hosts++;
	return e;
}

/* VLAN and pair entries are never removed before weir_agg_destroy(), so
 * the pointers in vlan_seen/pair_seen stay good. */
static struct weir_agg_vlan *
get_vlan(struct weir_agg *a, uint16_t vlan, uint64_t now)
{
	struct weir_agg_vlan **seen = &a->vlan_seen[vlan % WEIR_AGG_SEEN];
	if (*seen && (*seen)->vlan == vlan)
		return *seen;
	struct cds_lfht_iter it;
	uint32_t h = (uint32_t)mix64(vlan);
	cds_lfht_lookup(a->vlans, h, vlan_match, &vlan, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	if (n)
		return *seen = caa_container_of(n, struct weir_agg_vlan, node);
	struct weir_agg_vlan *e = calloc(1, sizeof(*e));
	if (!e) {
		a->alloc_failed++;
		return NULL;
	}
	e->vlan = vlan;
	e->first_ms = now;
	cds_lfht_node_init(&e->node);
	cds_lfht_add(a->vlans, h, &e->node);
	return *seen = e;
}

static struct weir_agg_pair *
get_pair(struct weir_agg *a, uint16_t src, uint16_t dst, uint64_t now)
{
	uint16_t k[2] = { src, dst };
	uint32_t h = (uint32_t)mix64((uint64_t)src << 16 | dst);
	struct weir_agg_pair **seen = &a->pair_seen[h % WEIR_AGG_SEEN];
	if (*seen && (*seen)->src == src && (*seen)->dst == dst)
		return *seen;
	struct cds_lfht_iter it;
	cds_lfht_lookup(a->pairs, h, pair_match, k, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	if (n)
		return *seen = caa_container_of(n, struct weir_agg_pair, node);
	struct weir_agg_pair *e = calloc(1, sizeof(*e));
	if (!e) {
		a->alloc_failed++;
		return NULL;
	}
	e->src = src;
	e->dst = dst;
	e->first_ms = now;
	cds_lfht_node_init(&e->node);
	cds_lfht_add(a->pairs, h, &e->node);
	return *seen = e;
}

static void
host_add(struct weir_agg_host *h, uint64_t bs, uint64_t br, uint64_t ps, uint64_t pr,
	 const uint8_t mac[6], const struct weir_flow *f, int new_flow, int ended, uint64_t gen)
{
	if (!h)
		return;
	ST(h->bytes_sent, h->bytes_sent + bs);
	ST(h->bytes_rcvd, h->bytes_rcvd + br);
	ST(h->pkts_sent, h->pkts_sent + ps);
	ST(h->pkts_rcvd, h->pkts_rcvd + pr);
	if (new_flow) {
		ST(h->flows, h->flows + 1);
		ST(h->flows_active, h->flows_active + 1);
	}
	if (ended)
		ST(h->flows_active, h->flows_active - 1);
	uint64_t first = weir_flow_first(f), last = weir_flow_last(f);
	if (first < h->first_ms || !h->first_ms)
		ST(h->first_ms, first);
	if (last > h->last_ms)
		ST(h->last_ms, last);
	if (ps && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		memcpy(h->mac, mac, 6);	/* a reader may see a mix of two MACs for one cycle */
	ST(h->upd_gen, gen);
}

/* The aggregate entry of one of f's hosts: by the handle f kept, else
 * looked up (or made). f keeps the handle only from its first fold, the one
 * that counts it among the host's active flows: then the host cannot expire
 * while f holds it. */
static struct weir_agg_host *
flow_host(struct weir_agg *a, uint32_t *handle, const uint8_t ip[16], const struct weir_flow *f, int new_flow)
{
	if (*handle)
		return a->host_at[*handle];
	struct weir_agg_host *h = get_host(a, ip, f->key.vlan, weir_flow_first(f));
	if (h && new_flow)
		*handle = h->handle;
	return h;
}

void
weir_agg_fold_counts(struct weir_agg *a, struct weir_flow *f, const uint64_t bytes[2],
		     const uint64_t pkts[2], int ended)
{
	uint64_t db0 = bytes[0], db1 = bytes[1], dp0 = pkts[0], dp1 = pkts[1];
	int new_flow = !(f->state & WEIR_FLOWST_COUNTED);
	uint64_t gen = a->fold_gen + 1;

	if (!new_flow && !ended && !(db0 | db1 | dp0 | dp1))
		return;

	int same = memcmp(f->key.a, f->key.b, 16) == 0;
	struct weir_agg_host *ha = flow_host(a, &f->agg_a, f->key.a, f, new_flow);
	struct weir_agg_host *hb = same ? ha : flow_host(a, &f->agg_b, f->key.b, f, new_flow);
	if (same) {
		host_add(ha, db0 + db1, db0 + db1, dp0 + dp1, dp0 + dp1, f->amac, f, new_flow, ended, gen);
	} else {
		host_add(ha, db0, db1, dp0, dp1, f->amac, f, new_flow, ended, gen);
		host_add(hb, db1, db0, dp1, dp0, f->bmac, f, new_flow, ended, gen);
	}

	uint64_t first = weir_flow_first(f), last = weir_flow_last(f);
	struct weir_agg_vlan *v = get_vlan(a, f->key.vlan, first);
	if (v) {
		ST(v->bytes, v->bytes + db0 + db1);
		ST(v->pkts, v->pkts + dp0 + dp1);
		if (new_flow)
			ST(v->flows, v->flows + 1);
		if (last > v->last_ms)
			ST(v->last_ms, last);
	}

	struct weir_agg_pair *p = get_pair(a, f->sub_init, f->sub_resp, first);
	if (p) {
		/* fwd = initiator -> responder */
		int ai = !!(f->state & WEIR_FLOWST_A_INIT);
		uint64_t bf = ai ? db0 : db1, br = ai ? db1 : db0;
		uint64_t pf = ai ? dp0 : dp1, pr = ai ? dp1 : dp0;
		ST(p->bytes_fwd, p->bytes_fwd + bf);
		ST(p->bytes_rev, p->bytes_rev + br);
		ST(p->pkts_fwd, p->pkts_fwd + pf);
		ST(p->pkts_rev, p->pkts_rev + pr);
		if (new_flow)
			ST(p->flows, p->flows + 1);
		if (last > p->last_ms)
			ST(p->last_ms, last);
	}

	f->bytes[0] += db0;
	f->bytes[1] += db1;
	f->pkts[0] += dp0;
	f->pkts[1] += dp1;
	f->state |= WEIR_FLOWST_COUNTED;
}

void
weir_agg_fold_flow(struct weir_agg *a, struct weir_flow *f, int ended)
{
	const uint64_t bytes[2] = { f->new_bytes[0], f->new_bytes[1] };
	const uint64_t pkts[2] = { f->new_pkts[0], f->new_pkts[1] };
	f->new_bytes[0] = f->new_bytes[1] = 0;
	f->new_pkts[0] = f->new_pkts[1] = 0;
	weir_agg_fold_counts(a, f, bytes, pkts, ended);
}

static void
free_host_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct weir_agg_host, rcu));
}

void
weir_agg_expire(struct weir_agg *a, uint64_t now_ms, uint64_t idle_ms)
{
	uint64_t seen = uatomic_read(&a->ctl_seen_gen);
	struct cds_lfht_iter it;
	struct weir_agg_host *h;

	WEIR_LFHT_FOR_EACH(a->hosts, &it, h, node) {
		if (h->flows_active > 0 || h->last_ms + idle_ms > now_ms || h->upd_gen > seen)
			continue;
		if (cds_lfht_del(a->hosts, &h->node) == 0) {
			host_handle_drop(a, h);
			call_rcu(&h->rcu, free_host_rcu);
			a->n_hosts--;
			a->hosts_expired++;
		}
	}
}
