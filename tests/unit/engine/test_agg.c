/* test_agg.c -- folding flows into the per-core aggregates: per-direction
 * host totals, flows counted once, deltas only, subnet pairs by initiator,
 * idle-host expiry only after the control thread has read the host, a
 * host met again after its expiry gets a new entry number, and VLANs and
 * pairs that share a slot of the fold's direct-mapped cache each keep their
 * own totals. */
#include <string.h>

#include "agg.h"
#include "flow_table.h"
#include "check.h"

static struct weir_agg_host *
host(struct weir_agg *a, uint32_t ip, uint16_t vlan)
{
	struct cds_lfht_iter it;
	struct weir_agg_host *h;
	uint8_t x[16];
	v4(x, ip);
	WEIR_LFHT_FOR_EACH(a->hosts, &it, h, node)
		if (!memcmp(h->ip, x, 16) && h->vlan == vlan)
			return h;
	return NULL;
}

int
main(void)
{
	struct weir_agg a;
	struct weir_flow f;
	rcu_register_thread();
	CHECK_EQ(weir_agg_init(&a), 0);

	memset(&f, 0, sizeof(f));
	uint8_t x[16], y[16];
	v4(x, 0x0a00000a);	/* 10.0.0.10 */
	v4(y, 0x0a000014);	/* 10.0.0.20 */
	weir_flow_key_make(&f.key, y, 80, x, 5555, 6, 30);	/* a = 10.0.0.10 */
	f.state = 0;	/* no WEIR_FLOWST_A_INIT: 10.0.0.20 spoke first */
	f.sub_init = 2;
	f.sub_resp = 1;
	f.new_bytes[0] = 1000;	/* a -> b */
	f.new_bytes[1] = 300;
	f.new_pkts[0] = 10;
	f.new_pkts[1] = 3;
	weir_flow_set_first(&f, 100);
	weir_flow_set_last(&f, 200);
	weir_agg_fold_flow(&a, &f, 0);
	weir_agg_fold_done(&a);
	/* the counts moved to the flow's totals */
	CHECK_EQ(f.bytes[0], 1000);
	CHECK_EQ(f.pkts[1], 3);
	CHECK_EQ(f.new_bytes[0] | f.new_bytes[1] | f.new_pkts[0] | f.new_pkts[1], 0);
	CHECK(f.agg_a && f.agg_b && f.agg_a != f.agg_b);	/* host handles kept */

	struct weir_agg_host *h10 = host(&a, 0x0a00000a, 30), *h20 = host(&a, 0x0a000014, 30);
	CHECK(h10 && h20);
	uint64_t born10 = h10 ? h10->born : 0;
	CHECK(h10 && h20 && h10->born != h20->born);
	if (h10 && h20) {
		CHECK_EQ(h10->bytes_sent, 1000);
		CHECK_EQ(h10->bytes_rcvd, 300);
		CHECK_EQ(h20->bytes_sent, 300);
		CHECK_EQ(h20->pkts_rcvd, 10);
		CHECK_EQ(h10->flows, 1);
		CHECK_EQ(h10->flows_active, 1);
	}
	/* a second fold adds only the delta and does not count the flow again */
	f.new_bytes[0] = 50;
	f.new_pkts[0] = 1;
	weir_flow_set_last(&f, 300);
	weir_agg_fold_flow(&a, &f, 0);
	weir_agg_fold_done(&a);
	if (h10) {
		CHECK_EQ(h10->bytes_sent, 1050);
		CHECK_EQ(h10->pkts_sent, 11);
		CHECK_EQ(h10->flows, 1);
		CHECK_EQ(h10->last_ms, 300);
	}
	CHECK_EQ(f.bytes[0], 1050);
	/* counts too large for new_* (a flow-export record) fold as given */
	const uint64_t big_b[2] = {0, 5ull << 32}, big_p[2] = {0, 1ull << 20};
	weir_agg_fold_counts(&a, &f, big_b, big_p, 0);
	weir_agg_fold_done(&a);
	if (h20) {
		CHECK_EQ(h20->bytes_sent, 300 + (5ull << 32));
		CHECK_EQ(h20->pkts_sent, 3 + (1ull << 20));
	}
	CHECK_EQ(f.bytes[1], 300 + (5ull << 32));
	CHECK_EQ(f.pkts[1], 3 + (1ull << 20));
	/* subnet pair keyed by initiator (sub 2) -> responder (sub 1) */
	struct cds_lfht_iter it;
	struct weir_agg_pair *p;
	int pairs = 0;
	WEIR_LFHT_FOR_EACH(a.pairs, &it, p, node) {
		pairs++;
		CHECK_EQ(p->src, 2);
		CHECK_EQ(p->dst, 1);
		CHECK_EQ(p->bytes_fwd, 300 + (5ull << 32));	/* initiator's direction is b -> a */
		CHECK_EQ(p->bytes_rev, 1050);
		CHECK_EQ(p->flows, 1);
	}
	CHECK_EQ(pairs, 1);

	/* the flow ends; the host goes idle */
	weir_agg_fold_flow(&a, &f, 1);
	weir_agg_fold_done(&a);
	if (h10)
		CHECK_EQ(h10->flows_active, 0);
	/* not yet read by the control thread: kept */
	weir_agg_expire(&a, 1000000, 1000);
	CHECK(host(&a, 0x0a00000a, 30) != NULL);
	uatomic_set(&a.ctl_seen_gen, a.fold_gen);
	weir_agg_expire(&a, 1000000, 1000);
	CHECK(host(&a, 0x0a00000a, 30) == NULL);
	CHECK_EQ(a.hosts_expired, 2);
	/* met again: a new entry with a new number, so the control thread
	 * keeps the old one's totals even if it never saw the host gone */
	struct weir_flow g;
	memset(&g, 0, sizeof(g));
	g.key = f.key;
	g.new_bytes[0] = 7;
	g.new_pkts[0] = 1;
	weir_agg_fold_flow(&a, &g, 1);
	weir_agg_fold_done(&a);
	h10 = host(&a, 0x0a00000a, 30);
	CHECK(h10 && h10->born != born10 && h10->bytes_sent == 7);
	/* its handle is one the expired hosts gave back */
	CHECK(g.agg_a && g.agg_a <= 2 && a.host_at[g.agg_a] == h10);
	CHECK_EQ(a.n_host_at, 2);

	/* VLANs 1, 1 + WEIR_AGG_SEEN and 1 + 2 x WEIR_AGG_SEEN share a slot of
	 * vlan_seen; subnet pairs (i, i) for i in 1..200 share pair_seen's 64
	 * slots. Folded in turn, 3 rounds: each must get exactly its own. */
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 200; i++) {
			struct weir_flow h;
			memset(&h, 0, sizeof(h));
			uint16_t vl = (uint16_t)(1 + (i % 3) * WEIR_AGG_SEEN);
			weir_flow_key_make(&h.key, x, 1000, y, (uint16_t)(2000 + i), 17, vl);
			h.sub_init = h.sub_resp = (uint16_t)(1 + i);
			h.state = WEIR_FLOWST_A_INIT;
			h.new_bytes[0] = (uint32_t)(1 + i);
			h.new_pkts[0] = 1;
			weir_agg_fold_flow(&a, &h, 1);
		}
	weir_agg_fold_done(&a);
	struct weir_agg_vlan *v;
	int vlans = 0;
	WEIR_LFHT_FOR_EACH(a.vlans, &it, v, node) {
		if (v->vlan == 30)
			continue;
		vlans++;
		/* vlan 1 + k*SEEN got i = k, k+3, ...: 3 x sum(1 + i) */
		int k = (v->vlan - 1) / WEIR_AGG_SEEN;
		uint64_t want = 0, flows = 0;
		for (int i = k; i < 200; i += 3) {
			want += 3 * (uint64_t)(1 + i);
			flows += 3;
		}
		CHECK_EQ(v->bytes, want);
		CHECK_EQ(v->flows, flows);
	}
	CHECK_EQ(vlans, 3);
	int mine = 0;
	WEIR_LFHT_FOR_EACH(a.pairs, &it, p, node) {
		if ((p->src == 2 && p->dst == 1) || (p->src == 0 && p->dst == 0))
			continue;	/* f's and g's, above */
		mine++;
		CHECK_EQ(p->src, p->dst);
		CHECK_EQ(p->bytes_fwd, 3 * (uint64_t)p->src);	/* i = src - 1, 1 + i bytes a round */
		CHECK_EQ(p->flows, 3);
	}
	CHECK_EQ(mine, 200);
	rcu_quiescent_state();
	rcu_barrier_qsbr();
	weir_agg_destroy(&a);
	rcu_unregister_thread();
	return CHECK_DONE();
}
