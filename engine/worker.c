/* worker.c -- the per-lcore packet loop.
 *
 * A worker owns its RX queues and one flow-table shard. Nothing it writes
 * on the packet path is written by another thread, so it takes no locks,
 * makes no system calls and allocates nothing per packet. Others see it only
 * through its counters, the aggregates it folds into on a timer, and the
 * flow snapshots it queues for the control thread. Needing a lock here means
 * the design is wrong: send a message instead. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>

#include "tmpl_share.h"
#include "udp_collector.h"
#include "worker.h"

#define EXPIRE_EVERY_S 10
#define IDLE_POLLS 1024	/* empty polls in a row before an idle-sleep nap */
#define SWEEP_PER_TIMEOUT 8		/* live: index sweeps per (shorter) timeout */
#define SWEEP_PERIOD_MIN_MS 100
#define SWEEP_PERIOD_MAX_MS 10000

static uint64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
weir_worker_init(struct weir_worker *w, unsigned int id, const struct weir_config *cfg)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->cfg = cfg;
	w->ts_dynfield = -1;
	if (weir_flow_table_init(&w->ft, cfg->flow_table_size, id) != 0)
		return -1;
	if (weir_agg_init(&w->agg) != 0)
		goto err_free_table;
	if (weir_spsc_ring_init(&w->snaps, cfg->flow_ring_size, sizeof(struct weir_flow_snap),
				WEIR_MEM_POPULATE) != 0)
		goto err_free_agg;
	if (weir_spsc_ring_init(&w->dpi_out, WEIR_DPI_RING_BYTES(cfg->flow_ring_size), 1,
				cfg->dpi ? WEIR_MEM_POPULATE : WEIR_MEM_LAZY) != 0)
		goto err_free_snaps;
	w->frags = calloc(WEIR_FRAG_SLOTS, sizeof(*w->frags));
	if (!w->frags)
		goto err_free_snaps;
	w->lin = malloc(WEIR_LIN_MAX);
	if (!w->lin)
		goto err_free_frags;
	/* the detection slot of each flow under detection (WEIR_FLOWST_DETECTING) */
	if (cfg->dpi && !(w->dpi_slot = weir_flow_side_alloc(&w->ft, sizeof(*w->dpi_slot))))
		goto err_free_frags;
	if (weir_worker_xflow_init(w) != 0)
		goto err_free_slots;
	/* template sharing (tmpl_share.h): not when reading a file, whose
	 * results must not depend on how fast the control thread answers */
	if (cfg->share_templates && !(cfg->read_file[0] && !cfg->loop) &&
	    (weir_spsc_ring_init(&w->tmpl_out, WEIR_TMPL_OUT_RING, sizeof(struct weir_tmpl_msg), WEIR_MEM_LAZY) ||
	     weir_spsc_ring_init(&w->tmpl_in, WEIR_TMPL_IN_RING, sizeof(struct weir_tmpl_msg), WEIR_MEM_LAZY))) {
		weir_spsc_ring_free(&w->tmpl_out);
		weir_worker_xflow_fini(w);
		goto err_free_slots;
	}
	w->tsc_hz = rte_get_tsc_hz();
	w->tsc0 = rte_get_tsc_cycles();
	w->wall0_ms = wall_ms();
	w->now_ms = 0;
	/* the idle sweep's pace (sweep_due()) */
	w->sweep_per_loop = 4;
	uint64_t to_ms = (uint64_t)(cfg->idle_timeout_s < cfg->active_timeout_s ? cfg->idle_timeout_s
										  : cfg->active_timeout_s) * 1000;
	uint64_t period_ms = to_ms / SWEEP_PER_TIMEOUT;
	period_ms = period_ms < SWEEP_PERIOD_MIN_MS ? SWEEP_PERIOD_MIN_MS
		  : period_ms > SWEEP_PERIOD_MAX_MS ? SWEEP_PERIOD_MAX_MS : period_ms;
	w->sweep_period_tsc = w->tsc_hz * period_ms / 1000;
	w->sweep_tsc = w->tsc0;
	w->sweep_acc = 0;
	return 0;

err_free_slots:
	weir_flow_side_free(&w->ft, w->dpi_slot, sizeof(*w->dpi_slot));
err_free_frags:
	free(w->lin);
	free(w->frags);
err_free_snaps:
	weir_spsc_ring_free(&w->dpi_out);
	weir_spsc_ring_free(&w->snaps);
err_free_agg:
	weir_agg_destroy(&w->agg);
err_free_table:
	weir_flow_table_free(&w->ft);
	return -1;
}

void
weir_worker_fini(struct weir_worker *w)
{
	weir_worker_xflow_fini(w);
	weir_spsc_ring_free(&w->tmpl_in);
	weir_spsc_ring_free(&w->tmpl_out);
	free(w->lin);
	free(w->frags);
	weir_flow_side_free(&w->ft, w->dpi_slot, sizeof(*w->dpi_slot));
	weir_spsc_ring_free(&w->dpi_out);
	weir_spsc_ring_free(&w->snaps);
	weir_agg_destroy(&w->agg);
	weir_flow_table_free(&w->ft);
}

uint32_t
weir_sym_hash(const struct weir_pkt_meta *m)
{
	uint64_t x[2], y[2];
	memcpy(x, m->src, 16);
	memcpy(y, m->dst, 16);
	/* addition and xor commute: the same for both directions */
	uint64_t h = (x[0] + y[0]) ^ ((x[1] + y[1]) * 0x9e3779b97f4a7c15ull) ^ m->vlan;
	h ^= (x[1] ^ y[1]);
	/* a full finaliser (murmur3's fmix64): the distributor takes this
	 * modulo the worker count, so every output bit must depend on every
	 * input bit -- without it, IPv4 pairs (v4-mapped: equal high words)
	 * all had an even hash and one of two workers got no IPv4 at all */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

static inline uint64_t
clock_ms(struct weir_worker *w)
{
	return w->wall0_ms + (rte_get_tsc_cycles() - w->tsc0) * 1000 / w->tsc_hz;
}

/* A record on one of our rings to the control thread. Reading a file, or
 * flushing at stop, we wait for room (the control thread keeps draining
 * until this worker says it is done); live, a full ring drops and counts. */
static void *
ring_reserve(struct weir_worker *w, struct weir_spsc_ring *r, uint32_t var_max, uint64_t *drops)
{
	void *s;
	while (!(s = var_max ? weir_spsc_ring_reserve_var(r, var_max) : weir_spsc_ring_reserve(r)) &&
	       (w->file_mode || __atomic_load_n(&w->stop, __ATOMIC_RELAXED))) {
		w->st.ring_waits++;
		rte_pause();
	}
	if (!s)
		(*drops)++;
	return s;
}

/* Send f's current state to the control thread. */
static void
snapshot(struct weir_worker *w, const struct weir_flow *f, enum weir_flow_end end)
{
	struct weir_flow_snap *s = ring_reserve(w, &w->snaps, 0, &w->st.snap_drops);
	if (!s)
		return;
	s->key = f->key;
	s->uid = weir_flow_uid(&w->ft, f);
	s->bytes[0] = f->bytes[0] + f->new_bytes[0];	/* a fold came first: new_* are 0 */
	s->bytes[1] = f->bytes[1] + f->new_bytes[1];
	s->pkts[0] = f->pkts[0] + f->new_pkts[0];
	s->pkts[1] = f->pkts[1] + f->new_pkts[1];
	s->first_ms = weir_flow_first(f);
	s->last_ms = weir_flow_last(f);
	memcpy(s->amac, f->amac, 6);
	memcpy(s->bmac, f->bmac, 6);
	s->a_is_init = !!(f->state & WEIR_FLOWST_A_INIT);
	s->tcp_flags = (uint8_t)f->tcp_flags;
	s->end = (uint8_t)end;
	s->worker = (uint16_t)w->id;
	if (f->state & WEIR_FLOWST_XFLOW) {
		const struct weir_flow_xinfo *x = &w->xinfo[weir_flow_index(&w->ft, f)];
		s->source = (uint8_t)x->source;
		s->in_if = x->in_if;
		s->out_if = x->out_if;
		s->exporter = x->exporter;
		s->vrf = x->vrf;
		s->route = x->route;
	} else {
		s->source = 0;
		s->in_if = s->out_if = s->exporter = s->vrf = 0;
		memset(&s->route, 0, sizeof(s->route));
	}
	weir_spsc_ring_push(&w->snaps);
}

/* Detection of f is over (a verdict in w->dpi_res): send the verdict (the
 * control thread keeps it with the flow), give the slot back. */
void
weir_worker_dpi_verdict(struct weir_worker *w, struct weir_flow *f)
{
	f->state |= WEIR_FLOWST_DPI_DONE;
	if (f->state & WEIR_FLOWST_DETECTING) {
		weir_dpi_flow_end(w->dpi, w->dpi_slot[weir_flow_index(&w->ft, f)]);
		f->state &= (uint8_t)~WEIR_FLOWST_DETECTING;
	}
	uint8_t *m = ring_reserve(w, &w->dpi_out, WEIR_DPI_MSG_MAX, &w->st.dpi_msg_drops);
	if (!m)
		return;
	size_t len = weir_dpi_msg_pack(m, weir_flow_uid(&w->ft, f), &w->dpi_res);
	weir_spsc_ring_push_var(&w->dpi_out, (uint32_t)len);
}

static void
end_flow(struct weir_worker *w, struct weir_flow *f, enum weir_flow_end why)
{
	if ((f->state & WEIR_FLOWST_DETECTING) &&
	    weir_dpi_flow_finish(w->dpi, w->dpi_slot[weir_flow_index(&w->ft, f)], &w->dpi_res) == 1)
		weir_worker_dpi_verdict(w, f);
	weir_agg_fold_flow(&w->agg, f, 1);
	snapshot(w, f, why);
	w->st.flows_ended[why]++;
	weir_flow_table_remove(&w->ft, f);
}

static void
dpi_stats(struct weir_worker *w)
{
	if (!w->dpi)
		return;
	const struct weir_dpi_counters *dc = weir_dpi_counters(w->dpi);
	w->st.dpi_detected = dc->flows_detected;
	w->st.dpi_gave_up = dc->flows_gave_up;
	w->st.dpi_pool_full = dc->pool_full;
	w->st.dpi_pkts = dc->pkts_processed;
	w->st.dpi_pkts_after_app = dc->pkts_after_app;
	w->st.dpi_mem = (uint64_t)weir_dpi_mem_bytes(w->dpi);
}

void
weir_worker_fold(struct weir_worker *w)
{
	dpi_stats(w);
	struct weir_flow_table *t = &w->ft;
	struct weir_flow *f;
	uint32_t pos = 0;
	while ((f = weir_flow_table_next_dirty(t, &pos))) {
		weir_agg_fold_flow(&w->agg, f, 0);
		snapshot(w, f, WEIR_FLOW_END_NONE);
		weir_flow_unmark_dirty(t, f);
	}
	weir_agg_fold_done(&w->agg);
	w->st.folds++;
}

/* Look at a few index buckets per call and end the flows that went idle or
 * outlived the active timeout. Bounded work per call. */
static void
sweep(struct weir_worker *w, uint32_t n_buckets)
{
	struct weir_flow_table *t = &w->ft;
	uint64_t idle = (uint64_t)w->cfg->idle_timeout_s * 1000;
	uint64_t active = (uint64_t)w->cfg->active_timeout_s * 1000;
	uint64_t now = w->now_ms;

	for (uint32_t i = 0; i < n_buckets; i++) {
		struct weir_ft_bucket *b = &t->buckets[t->sweep_pos];
		if (++t->sweep_pos == t->n_buckets)
			t->sweep_pos = 0;
		for (unsigned int u = weir_ft_used(b); u; u &= u - 1) {
			struct weir_flow *f = &t->flows[b->idx[__builtin_ctz(u)]];
			if (weir_flow_last(f) + idle <= now)
				end_flow(w, f, WEIR_FLOW_END_IDLE);
			else if (weir_flow_first(f) + active <= now)
				end_flow(w, f, WEIR_FLOW_END_ACTIVE);
		}
	}
}

/* End every flow. No fold first: end_flow() folds what each flow gained
 * and sends its last snapshot; a fold before would send every changed flow
 * twice. */
void
weir_worker_flush(struct weir_worker *w)
{
	struct weir_flow_table *t = &w->ft;
	for (uint32_t b = 0; b < t->n_buckets; b++)
		for (int s = 0; s < WEIR_FT_BUCKET_SLOTS; s++)
			if (t->buckets[b].sig[s])
				end_flow(w, &t->flows[t->buckets[b].idx[s]], WEIR_FLOW_END_FLUSH);
	weir_agg_fold_done(&w->agg);
	w->st.folds++;
	w->st.flows_active = t->active;
}

/* The table is full where this key would go: end the least recently seen
 * flow among those it could have used, and count it. */
static struct weir_flow *
evict_and_insert(struct weir_worker *w, const struct weir_flow_key *k, uint32_t h)
{
	struct weir_flow *cand[WEIR_FT_PROBE * WEIR_FT_BUCKET_SLOTS];
	unsigned int n = weir_flow_table_candidates(&w->ft, h, cand, RTE_DIM(cand));
	struct weir_flow *victim = NULL;

	for (unsigned int i = 0; i < n; i++)
		if (!victim || weir_flow_last(cand[i]) < weir_flow_last(victim))
			victim = cand[i];
	if (!victim) {
		/* free slots here but no free entry: take one from the sweep */
		struct weir_flow_table *t = &w->ft;
		for (uint32_t i = 0; i < t->n_buckets && !victim; i++) {
			struct weir_ft_bucket *b = &t->buckets[(t->sweep_pos + i) % t->n_buckets];
			for (int s = 0; s < WEIR_FT_BUCKET_SLOTS && !victim; s++)
				if (b->sig[s])
					victim = &t->flows[b->idx[s]];
		}
	}
	if (!victim)
		return NULL;
	w->st.flow_table_full++;
	end_flow(w, victim, WEIR_FLOW_END_EVICTED);
	return weir_flow_table_insert(&w->ft, k, h);
}

static inline struct weir_frag_slot *
frag_slot(struct weir_worker *w, const struct weir_pkt_meta *m)
{
	uint32_t h = m->frag_id * 0x9e3779b1u;
	h ^= (uint32_t)m->src[15] << 8 ^ m->dst[15] ^ (uint32_t)m->src[14] << 16;
	return &w->frags[(h ^ (h >> 15)) & (WEIR_FRAG_SLOTS - 1)];
}

/* An IP fragment's ports: a first fragment leaves its own in the fragment
 * cache, a later one (which has none) takes them from there. */
static void __attribute__((noinline))
frag_ports(struct weir_worker *w, const struct weir_pkt_meta *m, uint64_t ts_ms,
	   uint16_t *sport, uint16_t *dport)
{
	struct weir_frag_slot *fs = frag_slot(w, m);
	if (!(m->flags & WEIR_PKT_FRAG_LATER)) {
		memcpy(fs->src, m->src, 16);
		memcpy(fs->dst, m->dst, 16);
		fs->id = m->frag_id;
		fs->proto = m->proto;
		fs->sport = *sport;
		fs->dport = *dport;
		fs->ms = ts_ms;
	} else if (fs->id == m->frag_id && fs->proto == m->proto &&
		   !memcmp(fs->src, m->src, 16) && !memcmp(fs->dst, m->dst, 16)) {
		*sport = fs->sport;
		*dport = fs->dport;
	} else {
		w->st.frag_unmatched++;
	}
}

/* The flow key of a parsed packet and its hash (*h); a later IP fragment
 * takes the ports its first fragment left in the fragment cache. Returns
 * the direction (0: the packet travels a->b). Called in packet order (the
 * cache is stateful). */
static inline __attribute__((always_inline)) int
key_of(struct weir_worker *w, const struct weir_pkt_meta *m, uint64_t ts_ms, struct weir_flow_key *k,
       uint32_t *h)
{
	uint16_t sport = m->sport, dport = m->dport;

	if (unlikely(m->flags & WEIR_PKT_FRAG))
		frag_ports(w, m, ts_ms, &sport, &dport);
	return weir_flow_key_make_hash(k, m->src, sport, m->dst, dport, m->proto, m->vlan, h);
}

/* f's counts since the last fold would overflow: fold them now (rare: 64k
 * packets or 4 GB in one direction between two folds). */
static void __attribute__((cold, noinline))
fold_early(struct weir_worker *w, struct weir_flow *f)
{
	weir_agg_fold_flow(&w->agg, f, 0);
}

/* The first packet of a flow (k absent): make its entry, evicting if the
 * table is full there. NULL if no entry could be had. Out of line, so that
 * the per-packet path stays small. */
static struct weir_flow * __attribute__((noinline))
flow_start(struct weir_worker *w, const struct weir_pkt_meta *m, const struct weir_flow_key *k,
	   uint32_t h, int dir, uint64_t ts_ms)
{
	struct weir_flow *f = weir_flow_table_insert(&w->ft, k, h);
	if (unlikely(!f)) {
		f = evict_and_insert(w, k, h);
		if (!f)
			return NULL;
	}
	weir_flow_set_first(f, ts_ms);
	if (!dir)
		f->state |= WEIR_FLOWST_A_INIT;
	int si = weir_subnet_lookup(w->cfg, m->src);
	int sr = weir_subnet_lookup(w->cfg, m->dst);
	f->sub_init = (uint16_t)(si + 1);
	f->sub_resp = (uint16_t)(sr + 1);
	w->st.flows_created++;
	if (w->dpi && w->dpi_slot) {
		int slot = weir_dpi_flow_begin(w->dpi);
		if (slot >= 0) {
			w->dpi_slot[weir_flow_index(&w->ft, f)] = slot;
			f->state |= WEIR_FLOWST_DETECTING;
			w->st.dpi_flows++;
		}
	}
	return f;
}

/* The first packet of f in direction dir (its MAC is taken), or the first
 * since the last fold (f joins the dirty set). */
static void __attribute__((noinline))
flow_mark(struct weir_worker *w, struct weir_flow *f, const struct weir_pkt_meta *m, int dir)
{
	if (!(f->state & (WEIR_FLOWST_SEEN_A << dir))) {
		f->state |= WEIR_FLOWST_SEEN_A << dir;
		memcpy(dir ? f->bmac : f->amac, m->smac, 6);
	}
	weir_flow_mark_dirty(&w->ft, f);
}

/* A frame longer than one mbuf (a jumbo frame; a capture's TSO-merged
 * segment: net_pcap chains what exceeds the 2048-byte data room) made
 * contiguous in w->lin, at most WEIR_LIN_MAX bytes, and parsed again
 * there. Only for what must see the whole frame: nDPI (a certificate, a
 * long ClientHello) and a parse the first segment alone could not
 * finish. Returns the copy (NULL if the chain is shorter than pkt_len). */
static const uint8_t * __attribute__((cold, noinline))
parse_chained(struct weir_worker *w, const struct rte_mbuf *mb, struct weir_pkt_meta *m,
	      enum weir_parse_result *r)
{
	uint32_t n = rte_pktmbuf_pkt_len(mb);
	if (n > WEIR_LIN_MAX)
		n = WEIR_LIN_MAX;
	const uint8_t *p = rte_pktmbuf_read(mb, 0, n, w->lin);
	*r = p ? weir_parse_frame(&w->cfg->parse, p, n, m) : WEIR_PARSE_NON_IP;
	return p;
}

/* The parser ran out of bytes: a longer frame could parse further. Every
 * other result is decided by bytes the first segment already holds. */
static inline int
parse_wants_more(enum weir_parse_result r)
{
	switch (r) {
	case WEIR_PARSE_SHORT_ETH:
	case WEIR_PARSE_SHORT_VLAN:
	case WEIR_PARSE_SHORT_MPLS:
	case WEIR_PARSE_SHORT_PPPOE:
	case WEIR_PARSE_SHORT_IPV4:
	case WEIR_PARSE_BAD_IPV4_IHL:	/* the header runs past the end */
	case WEIR_PARSE_SHORT_IPV6:
	case WEIR_PARSE_BAD_IPV6_EXTHDR:	/* ... an extension header does */
	case WEIR_PARSE_SHORT_TCP:
	case WEIR_PARSE_BAD_TCP_OFF:	/* ... the TCP options do */
	case WEIR_PARSE_SHORT_UDP:
	case WEIR_PARSE_SHORT_ICMP:
	case WEIR_PARSE_SHORT_SCTP:
	case WEIR_PARSE_SHORT_GRE:
	case WEIR_PARSE_SHORT_VXLAN:
		return 1;
	default:
		return 0;
	}
}

/* Parse a received frame: its first segment, where the headers are (a
 * chain is parsed whole if they straddle: the first segment ended inside
 * them). Offsets in *m hold for the mbuf; lengths may stop at the first
 * segment's end. */
static inline enum weir_parse_result
parse_mbuf(struct weir_worker *w, const struct rte_mbuf *mb, struct weir_pkt_meta *m)
{
	enum weir_parse_result r = weir_parse_frame(&w->cfg->parse, rte_pktmbuf_mtod(mb, const uint8_t *),
						    rte_pktmbuf_data_len(mb), m);
	if (unlikely(r != WEIR_PARSE_OK && mb->nb_segs > 1) && parse_wants_more(r))
		parse_chained(w, mb, m, &r);
	return r;
}

/* Hand one packet of f (under detection) to nDPI: the whole L3 packet,
 * from the linear copy if the frame is chained. Out of line: a flow's
 * first packets only, and inline it kept account_keyed() out of the
 * burst loop. */
static void __attribute__((noinline))
dpi_feed(struct weir_worker *w, struct weir_flow *f, const struct weir_pkt_meta *m,
	 const struct rte_mbuf *mb, const uint8_t *frame, int dir, uint64_t ts_ms)
{
	const uint8_t *l3 = frame + m->l3_off;
	uint16_t l3_len = m->l3_len;
	if (m->proto == IPPROTO_TCP && !m->payload_len)
		w->st.dpi_pkts_no_payload++;
	if (unlikely(mb && mb->nb_segs > 1)) {
		struct weir_pkt_meta whole;
		enum weir_parse_result r;
		const uint8_t *p = parse_chained(w, mb, &whole, &r);
		if (r == WEIR_PARSE_OK) {
			l3 = p + whole.l3_off;
			l3_len = whole.l3_len;
		}
	}
	/* two TSC reads a packet fed, against nDPI's thousands of cycles */
	uint64_t t0 = rte_rdtsc();
	int done = weir_dpi_process(w->dpi, w->dpi_slot[weir_flow_index(&w->ft, f)], l3, l3_len, ts_ms,
				    dir == !(f->state & WEIR_FLOWST_A_INIT) ? 1 : 0, &w->dpi_res);
	w->st.dpi_tsc += rte_rdtsc() - t0;
	if (done == 1)
		weir_worker_dpi_verdict(w, f);
}

/* Account a packet whose key, hash and direction are known. frame_len is
 * the whole frame's (pkt_len for an mbuf chain); mb, if not NULL, is the
 * frame's mbuf (frame is its first segment). */
static inline __attribute__((always_inline)) void
account_keyed(struct weir_worker *w, const struct weir_pkt_meta *m, const struct weir_flow_key *k,
	      uint32_t h, int dir, const struct rte_mbuf *mb, const uint8_t *frame, uint32_t frame_len,
	      uint64_t ts_ms)
{
	struct weir_flow *f = weir_flow_table_lookup(&w->ft, k, h);
	if (unlikely(!f) && !(f = flow_start(w, m, k, h, dir, ts_ms)))
		return;
	/* nDPI sees a flow's first packets only; later IP fragments carry no
	 * L4 header and are not fed (as ndpiReader does) */
	if (unlikely(f->state & WEIR_FLOWST_DETECTING) && !(m->flags & WEIR_PKT_FRAG_LATER))
		dpi_feed(w, f, m, mb, frame, dir, ts_ms);
	if (unlikely(f->new_pkts[dir] == UINT16_MAX || f->new_bytes[dir] > UINT32_MAX - frame_len))
		fold_early(w, f);
	f->new_bytes[dir] += frame_len;
	f->new_pkts[dir]++;
	if (ts_ms > weir_flow_last(f))
		weir_flow_set_last(f, ts_ms);
	unsigned int want = (WEIR_FLOWST_SEEN_A << dir) | WEIR_FLOWST_DIRTY;
	if (unlikely((f->state & want) != want))
		flow_mark(w, f, m, dir);
	/* last: no load of this word after this byte store (it would wait) */
	f->tcp_flags |= m->tcp_flags;
}

void
weir_worker_account(struct weir_worker *w, const struct weir_pkt_meta *m,
		    const uint8_t *frame, uint32_t frame_len, uint64_t ts_ms)
{
	struct weir_flow_key k;
	uint32_t h;
	int dir = key_of(w, m, ts_ms, &k, &h);
	account_keyed(w, m, &k, h, dir, NULL, frame, frame_len, ts_ms);
}

static inline int
is_collector_port(const struct weir_config *cfg, uint16_t port)
{
	for (unsigned int i = 0; i < cfg->n_collector_ports; i++)
		if (cfg->collector_ports[i] == port)
			return 1;
	return 0;
}

/* A flow-export datagram: UDP to a collector port, with its payload here
 * (not a later fragment, not inside a tunnel). */
static inline int
is_xflow(const struct weir_config *cfg, const struct weir_pkt_meta *m)
{
	return m->proto == 17 && m->payload_off &&
	       !(m->flags & (WEIR_PKT_FRAG_LATER | WEIR_PKT_TUNNEL)) &&
	       cfg->n_collector_ports && is_collector_port(cfg, m->dport);
}

/* The worker's clock only moves forward: packet time, a peer's steered
 * datagram time (xflow_burst) and the wall clock all feed it. */
static inline void
now_advance(struct weir_worker *w, uint64_t t)
{
	if (t > w->now_ms)
		w->now_ms = t;
}

static unsigned int xflow_burst(struct weir_worker *w);

/* A datagram for a collector port: decoded here if this worker owns its
 * exporter (weir_xflow_owner, the hash the UDP collector uses), else the
 * mbuf itself, trimmed to a struct weir_xflow_hdr and the payload, goes
 * through the owner's xflow ring: RSS hashes UDP ports, so an exporter
 * sending from several source ports would otherwise split its templates
 * and data over cores. A full ring drops and counts (reading a file, we
 * wait, taking our own ring meanwhile so two workers cannot wait on each
 * other). Returns 1 if the mbuf was handed over. */
static int
xflow_divert(struct weir_worker *w, struct rte_mbuf *mb, const struct weir_pkt_meta *m, uint64_t ts)
{
	w->st.xflow_datagrams++;
	if (!weir_exporter_allowed(w->cfg, m->src)) {
		w->st.collect_refused++;
		return 0;
	}
	/* a datagram longer than one mbuf (a jumbo export) is a chain: made
	 * contiguous in w->lin here, or by the owner when it takes it */
	uint32_t len = m->payload_len;
	const uint8_t *p = rte_pktmbuf_mtod_offset(mb, const uint8_t *, m->payload_off);
	if (unlikely(mb->nb_segs > 1)) {	/* m's lengths stop at the first segment */
		struct weir_pkt_meta whole;
		enum weir_parse_result pr;
		const uint8_t *f = parse_chained(w, mb, &whole, &pr);
		if (pr != WEIR_PARSE_OK || whole.payload_off != m->payload_off) {
			w->st.xflow_steer_drops++;
			return 0;
		}
		p = f + whole.payload_off;
		len = whole.payload_len;
	}
	unsigned int to = w->n_workers > 1 ? weir_xflow_owner(m->src, w->n_workers) : w->id;
	struct rte_ring *r = to != w->id ? w->peers[to]->xflow_ring : NULL;
	if (!r) {
		now_advance(w, ts);
		weir_worker_xflow(w, m->src, m->sport, p, len);
		return 0;
	}
	uint8_t src[16];
	uint16_t sport = m->sport;
	memcpy(src, m->src, 16);
	if (!rte_pktmbuf_adj(mb, m->payload_off)) {
		w->st.xflow_steer_drops++;
		return 0;
	}
	struct weir_xflow_hdr *x = (struct weir_xflow_hdr *)rte_pktmbuf_prepend(mb, sizeof(*x));
	if (!x) {
		w->st.xflow_steer_drops++;
		return 0;
	}
	memcpy(x->src, src, 16);
	x->sport = sport;
	x->steered = 1;
	x->len = len;
	x->ts_ms = ts;
	while (rte_ring_mp_enqueue(r, mb) != 0) {
		if (!w->file_mode || __atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
			w->st.xflow_steer_drops++;
			return 0;
		}
		if (w->xflow_ring)
			xflow_burst(w);
	}
	w->st.xflow_steered++;
	return 1;
}

/* A burst in four passes, as DPDK's bulk hash lookups do, so that the
 * cache misses of one packet overlap with the work on the others: parse
 * (prefetching frames ahead), make keys and hashes (prefetching each key's
 * bucket), find each key's likely entry in its bucket (prefetching it),
 * then account. */
void
weir_worker_burst(struct weir_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct weir_pkt_meta meta[WEIR_BURST];
	struct weir_flow_key key[WEIR_BURST];
	uint32_t hash[WEIR_BURST];
	uint64_t tsa[WEIR_BURST];
	uint8_t dir[WEIR_BURST], todo[WEIR_BURST];
	const struct weir_config *cfg = w->cfg;
	uint64_t bytes = 0;
	unsigned int nt = 0;

	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		struct rte_mbuf *mb = pkts[i];
		enum weir_parse_result r = parse_mbuf(w, mb, &meta[i]);
		w->st.parse[r]++;
		bytes += rte_pktmbuf_pkt_len(mb);
		if (r == WEIR_PARSE_OK)
			todo[nt++] = (uint8_t)i;
	}
	w->st.rx_pkts += n;
	w->st.rx_bytes += bytes;

	uint64_t now = w->now_ms;
	unsigned int nk = 0;
	for (unsigned int j = 0; j < nt; j++) {
		unsigned int i = todo[j];
		struct rte_mbuf *mb = pkts[i];
		const struct weir_pkt_meta *m = &meta[i];
		uint64_t ts = now;
		if (w->ts_dynfield >= 0 && (mb->ol_flags & w->ts_dynflag)) {
			/* net_pcap (22.11) stamps microseconds since the epoch */
			ts = *RTE_MBUF_DYNFIELD(mb, w->ts_dynfield, rte_mbuf_timestamp_t *) / 1000;
			if (ts > now)
				now = ts;
		}
		if (unlikely(is_xflow(cfg, m))) {
			if (xflow_divert(w, mb, m, now))
				pkts[i] = NULL;		/* the owner frees it */
			continue;
		}
		tsa[i] = ts;
		dir[i] = (uint8_t)key_of(w, m, ts, &key[i], &hash[i]);
		weir_flow_table_prefetch(&w->ft, hash[i]);
		todo[nk++] = (uint8_t)i;
	}
	for (unsigned int j = 0; j < nk; j++)
		weir_flow_table_prefetch_entry(&w->ft, hash[todo[j]]);
	for (unsigned int j = 0; j < nk; j++) {
		unsigned int i = todo[j];
		w->st.parsed++;
		account_keyed(w, &meta[i], &key[i], hash[i], dir[i], pkts[i],
			      rte_pktmbuf_mtod(pkts[i], const uint8_t *), rte_pktmbuf_pkt_len(pkts[i]), tsa[i]);
	}
	now_advance(w, now);	/* xflow_divert may have taken a peer's later time */
	rte_pktmbuf_free_bulk(pkts, n);
}

/* Distributor: this worker receives for everyone; keep our share, pass the
 * rest to the owner's ring (symmetric hash, so both directions meet). */
static uint16_t
distribute(struct weir_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *out[WEIR_MAX_WORKERS][WEIR_BURST];
	uint16_t cnt[WEIR_MAX_WORKERS] = {0};
	uint16_t keep = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct weir_pkt_meta m;
		unsigned int to = 0;
		if (parse_mbuf(w, pkts[i], &m) == WEIR_PARSE_OK)
			/* flow export goes to its exporter's worker (xflow_divert) */
			to = is_xflow(w->cfg, &m) ? weir_xflow_owner(m.src, w->n_workers)
						  : weir_sym_hash(&m) % w->n_workers;
		if (to == w->id)
			pkts[keep++] = pkts[i];
		else
			out[to][cnt[to]++] = pkts[i];
	}
	for (unsigned int t = 0; t < w->n_workers; t++) {
		if (!cnt[t])
			continue;
		struct rte_ring *r = w->peers[t]->in_ring;
		unsigned int sent = 0;
		do {
			/* multi-producer: with several queues, several workers distribute */
			sent += rte_ring_enqueue_burst(r, (void **)out[t] + sent, cnt[t] - sent, NULL);
		} while (sent < cnt[t] && w->file_mode && !__atomic_load_n(&w->stop, __ATOMIC_RELAXED));
		w->st.dist_out += sent;
		if (sent < cnt[t]) {
			w->st.dist_drops += cnt[t] - sent;
			rte_pktmbuf_free_bulk(out[t] + sent, cnt[t] - sent);
		}
	}
	return keep;
}

/* Datagrams from the UDP socket collector: a struct weir_xflow_hdr, then
 * the payload. Returns how many were taken. */
static unsigned int
xflow_burst(struct weir_worker *w)
{
	struct rte_mbuf *mb[WEIR_BURST];
	unsigned int n = rte_ring_sc_dequeue_burst(w->xflow_ring, (void **)mb, WEIR_BURST, NULL);
	for (unsigned int i = 0; i < n; i++) {
		const struct weir_xflow_hdr *x = rte_pktmbuf_mtod(mb[i], const struct weir_xflow_hdr *);
		now_advance(w, x->ts_ms);	/* a peer steered it from a capture file */
		const uint8_t *p = (const uint8_t *)(x + 1);
		if (unlikely(mb[i]->nb_segs > 1))	/* a steered jumbo datagram */
			p = rte_pktmbuf_read(mb[i], sizeof(*x), x->len, w->lin);
		if (p)
			weir_worker_xflow(w, x->src, x->sport, p, x->len);
		if (!x->steered)
			w->st.collect_datagrams++;
	}
	if (n)
		rte_pktmbuf_free_bulk(mb, n);
	return n;
}

/* Fault injection (WEIR_FAULT_STALL, main.c; for the stall-detection
 * test): once this worker has taken fault_stall_after frames or datagrams,
 * it stops for fault_stall_ms as a stuck lcore would: no polling, no
 * quiescent state, its loop counter standing still. Then never again. */
static void __attribute__((cold, noinline))
fault_stall(struct weir_worker *w)
{
	if (w->st.rx_pkts + w->st.collect_datagrams < w->fault_stall_after)
		return;
	struct timespec ts = { w->fault_stall_ms / 1000, (long)(w->fault_stall_ms % 1000) * 1000000L };
	w->fault_stall_ms = 0;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* How many index buckets the idle sweep looks at now.
 *
 * Live, the sweep goes through the whole index once per period of time,
 * the shorter timeout / SWEEP_PER_TIMEOUT (30 s idle: 3.75 s), so a flow
 * ends at most that late and the sweep's cost follows time, not packets.
 * It used to go 4 buckets per loop: at 10 Mpps, 300k loops a second,
 * that swept a 2M-flow table four times a second, one cache miss per flow
 * checked: 14% of cold's cycles (docs/benchmarks.md). The buckets due are
 * counted in tsc ticks x buckets, the remainder carried, a gap of more than
 * a period counting as one period (one whole sweep ends every flow due).
 *
 * Reading a file it keeps 4 buckets a loop: a capture's flows end where
 * they did before, which the tests check against tshark's conversations
 * (which never end a flow for idleness). */
static uint32_t
sweep_due(struct weir_worker *w, uint64_t tsc)
{
	if (w->file_mode)
		return w->sweep_per_loop;
	uint64_t dt = tsc - w->sweep_tsc;
	w->sweep_tsc = tsc;
	if (dt > w->sweep_period_tsc)
		dt = w->sweep_period_tsc;
	w->sweep_acc += dt * w->ft.n_buckets;
	uint64_t n = w->sweep_acc / w->sweep_period_tsc;
	w->sweep_acc -= n * w->sweep_period_tsc;
	return (uint32_t)n;
}

/* Twice a publish interval the worker folds: every flow that moved goes to
 * the control thread as a snapshot. A fold waits while the control thread
 * has not taken the previous one -- it is in a publish cycle, which drains
 * nothing and takes seconds when tens of thousands of flows change -- for
 * another fold would queue the same flows again and fill the ring
 * (flow_ring_drops: 23,736 in 5 s at 400k NetFlow records a second before
 * this wait; bench/collect-cpu.sh, docs/benchmarks.md). The flows stay dirty meanwhile, and the fold comes as
 * soon as the previous one is taken, so the next cycle publishes their
 * latest counts. Looked at every millisecond while it waits. */
static void
fold_when_taken(struct weir_worker *w, uint64_t tsc)
{
	if (!weir_spsc_ring_taken(&w->snaps, w->fold_head)) {
		if (!w->fold_waiting)
			w->st.folds_deferred++;
		w->fold_waiting = 1;
		w->next_fold_tsc = tsc + w->tsc_hz / 1000;
		return;
	}
	w->fold_waiting = 0;
	weir_worker_fold(w);
	w->fold_head = w->snaps.head;
	weir_worker_xflow_expire(w);
	w->next_fold_tsc = tsc + w->tsc_hz * w->cfg->publish_interval_ms / 2000;
}

static void
housekeeping(struct weir_worker *w)
{
	uint64_t tsc = rte_get_tsc_cycles();
	if (w->ts_dynfield < 0 || !w->file_mode)	/* a peer's steered time may be ahead */
		now_advance(w, w->wall0_ms + (tsc - w->tsc0) * 1000 / w->tsc_hz);
	uint32_t due = sweep_due(w, tsc);
	if (w->now_ms && due)
		sweep(w, due);
	if (w->tmpl_in.slot)
		weir_worker_tmpl_drain(w);
	if (tsc >= w->next_fold_tsc)
		fold_when_taken(w, tsc);
	if (tsc >= w->next_expire_tsc) {
		weir_agg_expire(&w->agg, w->now_ms, (uint64_t)w->cfg->host_idle_s * 1000);
		w->next_expire_tsc = tsc + w->tsc_hz * EXPIRE_EVERY_S;
	}
	w->st.flows_active = w->ft.active;
	w->st.now_ms = w->now_ms;
	w->st.loops++;
	if (unlikely(w->fault_stall_ms))
		fault_stall(w);
}

void
weir_worker_dpi_open(struct weir_worker *w)
{
	if (w->cfg->dpi && !w->dpi) {
		struct weir_dpi_cfg dc;
		weir_dpi_cfg_default(&dc);
		dc.max_flows_in_detection = w->cfg->dpi_flows;
		dc.max_pkts_tcp = (uint16_t)w->cfg->dpi_pkts_tcp;
		dc.max_pkts_udp = (uint16_t)w->cfg->dpi_pkts_udp;
		w->dpi = weir_dpi_create(&dc);	/* NULL: counted as no detection */
	}
}

void
weir_worker_prefault(struct weir_worker *w, uint32_t *done)
{
	uint32_t from = weir_flow_table_prefault(&w->ft, done);
	if (w->dpi_slot && *done > from)
		weir_flow_side_prefault(w->dpi_slot, sizeof(*w->dpi_slot), from, *done);
}

int
weir_worker_main(void *arg)
{
	struct weir_worker *w = arg;
	struct rte_mbuf *pkts[WEIR_BURST];

	rcu_register_thread();
	w->lcore = rte_lcore_id();
	weir_worker_dpi_open(w);
	/* a capture file runs on its packets' time, from its first packet */
	if (w->now_ms == 0 && !(w->file_mode && w->ts_dynfield >= 0))
		w->now_ms = clock_ms(w);
	const struct timespec idle_nap = { 0, (long)w->cfg->idle_sleep_us * 1000 };
	unsigned int idle_polls = 0;
	while (likely(!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))) {
		unsigned int got = 0;
		for (unsigned int i = 0; i < w->n_rxq; i++) {
			uint16_t n = rte_eth_rx_burst(w->rxq[i].port, w->rxq[i].queue, pkts, WEIR_BURST);
			got += n;
			if (n && w->distribute)
				n = distribute(w, pkts, n);
			if (n)
				weir_worker_burst(w, pkts, n);
		}
		if (w->in_ring) {
			unsigned int n = rte_ring_sc_dequeue_burst(w->in_ring, (void **)pkts, WEIR_BURST, NULL);
			got += n;
			if (n)
				weir_worker_burst(w, pkts, (uint16_t)n);
		}
		if (w->xflow_ring)
			got += xflow_burst(w);
		housekeeping(w);
		rcu_quiescent_state();		/* QSBR: one per loop */
		/* idle-sleep: only after 1024 empty polls, so never under load;
		 * gives the core back to the collector thread and the kernel */
		if (got)
			idle_polls = 0;
		else if (++idle_polls >= IDLE_POLLS && idle_nap.tv_nsec) {
			rcu_thread_offline();	/* no grace period waits on a nap */
			nanosleep(&idle_nap, NULL);
			rcu_thread_online();
			w->st.idle_sleeps++;
		}
	}
	/* drain what distributors, the collector and peers steering datagrams
	 * handed us; peers with rx queues (several distribute on a
	 * multi-queue af_packet port) may still hand us their last bursts:
	 * go on until every such peer has stopped reading (bounded), then
	 * once more */
	__atomic_store_n(&w->rx_quiet, 1, __ATOMIC_RELEASE);
	for (int tries = 0; (w->xflow_ring || w->in_ring) && tries < 2000; tries++) {
		int busy = 0;
		for (unsigned int i = 0; i < w->n_workers; i++)
			busy |= w->peers[i]->n_rxq && !__atomic_load_n(&w->peers[i]->rx_quiet, __ATOMIC_ACQUIRE);
		unsigned int n;
		while (w->in_ring && (n = rte_ring_sc_dequeue_burst(w->in_ring, (void **)pkts, WEIR_BURST, NULL)))
			weir_worker_burst(w, pkts, (uint16_t)n);
		while (w->xflow_ring && xflow_burst(w))
			;
		if (!busy)
			break;
		rte_delay_us_sleep(500);
	}
	weir_worker_flush(w);
	dpi_stats(w);
	if (w->dpi) {
		weir_dpi_destroy(w->dpi);	/* on its own thread, as made */
		w->dpi = NULL;
	}
	rcu_thread_offline();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	rcu_unregister_thread();
	return 0;
}
