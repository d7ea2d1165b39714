/* limit_steps.c -- what stands between limit(net_null) and hot or cold, a
 * step at a time, so that hot_vs_limit and cold_vs_limit can be read
 * against what any engine that reads frames, parses them and keys a flow
 * table could reach on the same machine.
 *
 * Each step is the ring limit (limit.c: rx_burst of 32 from net_null1's
 * pre-built hot frames, rte_pktmbuf_free_bulk) plus one more piece of work:
 *
 *   ring_touch_mpps           + a read of the fields a flow key needs at
 *                               the offsets of an untagged IPv4 frame
 *                               (EtherType, protocol, addresses, ports), no
 *                               checks: the least any flow meter must do;
 *   ring_parse_mpps           + weir_parse_frame() on every frame, its data
 *                               prefetched 4 ahead as the worker does;
 *   ring_parse_rte_hash_mpps  + the flow key and its CRC32C (the engine's
 *                               weir_flow_key_make_hash), DPDK's own
 *                               rte_hash_lookup_with_hash_bulk() over the
 *                               burst on a table holding the 64 hot flows,
 *                               and a 64-byte record a flow updated
 *                               (packets, bytes, last seen, TCP flags):
 *                               the prototype DESIGN.md's practical notes
 *                               put at about 0.85 of bare rx-drop;
 *   cold_parse_rte_hash_mpps  the same on cold's frames (net_null2, each
 *                               rewritten to the next of 1M flows) with all
 *                               1M flows in the table: the prototype the
 *                               notes put at about 0.33 "spread over 1M
 *                               flows". Its table and records are on
 *                               transparent huge pages, as the engine's
 *                               are (proto_heap_open);
 *   null_parse_mpps           net_null0's own frames through the parser.
 *                               net_null never writes packet data, so they
 *                               are zeros: the parser stops at EtherType 0
 *                               (non-IP). A prototype timed on net_null
 *                               alone measures that, not a parse.
 *
 * The steps share hot's frames, lcore and burst, and none keeps state
 * beyond the run. bench_limit_steps_tsv() writes them, with hot and cold,
 * to CACHE/limit-steps.tsv for bench/limit-steps.gp. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "bench.h"
#include "flow_table.h"
#include "mem_map.h"
#include "weir/pkt.h"

enum step { STEP_TOUCH, STEP_PARSE, STEP_RTE_HASH, STEP_COLD_RTE_HASH, STEP_NULL_PARSE, STEP__N };

/* The prototype's flow record: one cache line. */
struct proto_flow {
	uint64_t pkts, bytes, last_tsc;
	uint8_t tcp_flags;
	uint8_t pad[64 - 25];
} __attribute__((aligned(64)));

struct step_run {
	enum step step;
	uint16_t port;
	struct rte_hash *h;
	struct proto_flow *flows;
	struct weir_parse_cfg pc;
	uint64_t pkts, tsc, ok, misses;
	uint64_t sum;		/* the touch step's reads, kept so that they are made */
};

/* One burst's step work (bench_rx_loop frees the burst after it). */
static void
step_burst(void *arg, struct rte_mbuf **pkts, uint16_t k)
{
	struct step_run *r = arg;
	struct weir_pkt_meta meta[32];
	struct weir_flow_key key[32];
	const void *keyp[32];
	hash_sig_t sig[32];
	int32_t pos[32];
	unsigned int nk = 0;

	for (uint16_t i = 0; i < k && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < k; i++) {
		if (i + 4 < k)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		const struct rte_mbuf *mb = pkts[i];
		if (r->step == STEP_TOUCH) {
			const uint8_t *p = rte_pktmbuf_mtod(mb, const uint8_t *);
			uint16_t et;
			uint32_t a, b, ports;
			memcpy(&et, p + 12, 2);
			memcpy(&a, p + 26, 4);
			memcpy(&b, p + 30, 4);
			memcpy(&ports, p + 34, 4);
			r->sum += et ^ p[23] ^ a ^ b ^ ports;
			continue;
		}
		if (weir_parse_frame(&r->pc, rte_pktmbuf_mtod(mb, const uint8_t *), rte_pktmbuf_data_len(mb),
				     &meta[nk]) != WEIR_PARSE_OK)
			continue;
		r->ok++;
		if (r->h) {
			const struct weir_pkt_meta *m = &meta[nk];
			weir_flow_key_make_hash(&key[nk], m->src, m->sport, m->dst, m->dport, m->proto, m->vlan,
						&sig[nk]);
			keyp[nk] = &key[nk];
			meta[nk].l3_len = (uint16_t)rte_pktmbuf_pkt_len(mb);
		}
		nk++;
	}
	if (!r->h || !nk)
		return;
	rte_hash_lookup_with_hash_bulk(r->h, keyp, sig, nk, pos);
	uint64_t now = rte_rdtsc();
	for (unsigned int j = 0; j < nk; j++) {
		if (unlikely(pos[j] < 0)) {
			r->misses++;
			continue;
		}
		struct proto_flow *f = &r->flows[pos[j]];
		f->pkts++;
		f->bytes += meta[j].l3_len;
		f->last_tsc = now;
		f->tcp_flags |= meta[j].tcp_flags;
	}
}

static int
step_loop(void *arg)
{
	struct step_run *r = arg;
	weir_parse_cfg_default(&r->pc);
	r->tsc = bench_rx_loop(r->port, step_burst, r, &r->pkts);
	return 0;
}

/* Flow `flow` of hot (cold: 0) with cold's identity x (cold only). */
static int
proto_key(int cold, unsigned int flow, uint32_t x, struct weir_flow_key *k, uint32_t *sig)
{
	uint8_t frame[BENCH_FRAME_LEN];
	struct weir_parse_cfg pc;
	struct weir_pkt_meta m;
	weir_parse_cfg_default(&pc);
	bench_traffic_frame(frame, flow, 0);
	if (cold)
		bench_traffic_rewrite_frame(frame, x, 0);
	if (weir_parse_frame(&pc, frame, sizeof(frame), &m) != WEIR_PARSE_OK)
		return -1;
	weir_flow_key_make_hash(k, m.src, m.sport, m.dst, m.dport, m.proto, m.vlan, sig);
	return *sig == rte_hash_crc(k, sizeof(*k), 0x5bd1e995) ? 0 : -1;
}

/* The tables' memory. Under --no-huge DPDK's own heap is a shared memfd
 * on 4 KB pages (no transparent huge pages for shared memory by default),
 * so the cold prototype would lose to the engine, whose tables are on
 * THP, on the TLB alone. Its tables live instead in an external heap on
 * anonymous memory offered to THP, as weir_mem_map() maps the engine's. */
#define PROTO_HEAP     "bench_proto"
#define PROTO_HEAP_LEN ((size_t)256 << 20)	/* the 1M-flow table takes 88 MB */
#define PROTO_PAGE     ((size_t)2 << 20)

struct proto_heap {
	void *map, *va;
	int socket;
};

static int
proto_heap_open(struct proto_heap *ph)
{
	ph->map = weir_mem_map(PROTO_HEAP_LEN + PROTO_PAGE, WEIR_MEM_LAZY);
	ph->va = NULL;
	ph->socket = -1;
	if (!ph->map)
		return -1;
	void *va = (void *)(((uintptr_t)ph->map + PROTO_PAGE - 1) & ~(PROTO_PAGE - 1));
	if (rte_malloc_heap_create(PROTO_HEAP) != 0)
		return -1;
	if (rte_malloc_heap_memory_add(PROTO_HEAP, va, PROTO_HEAP_LEN, NULL, PROTO_HEAP_LEN / PROTO_PAGE,
				       PROTO_PAGE) != 0) {
		rte_malloc_heap_destroy(PROTO_HEAP);
		return -1;
	}
	ph->va = va;
	ph->socket = rte_malloc_heap_get_socket(PROTO_HEAP);
	return ph->socket >= 0 ? 0 : -1;
}

static void
proto_heap_close(struct proto_heap *ph)
{
	if (ph->va) {
		rte_malloc_heap_memory_remove(PROTO_HEAP, ph->va, PROTO_HEAP_LEN);
		rte_malloc_heap_destroy(PROTO_HEAP);
	}
	weir_mem_unmap(ph->map, PROTO_HEAP_LEN + PROTO_PAGE);
}

/* DPDK's table holding every flow of hot (64) or cold (1M), keyed as the
 * engine keys them. */
static struct rte_hash *
proto_table(int cold, int socket)
{
	unsigned int n = cold ? BENCH_COLD_FLOWS : BENCH_HOT_FLOWS;
	struct rte_hash_parameters hp = {
		.name = cold ? "bench_proto_cold" : "bench_proto_hot",
		.entries = cold ? n + n / 4 : 1024,
		.key_len = sizeof(struct weir_flow_key),
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0x5bd1e995,	/* weir_flow_hash5's seed: the signatures agree */
		.socket_id = socket,
	};
	struct rte_hash *h = rte_hash_create(&hp);
	for (unsigned int i = 0; h && i < n; i++) {
		struct weir_flow_key k;
		uint32_t sig;
		if (proto_key(cold, cold ? 0 : i, i, &k, &sig) != 0 || rte_hash_add_key_with_hash(h, &k, sig) < 0) {
			rte_hash_free(h);
			h = NULL;
		}
		if (cold && (i & 0xffff) == 0)
			bench_progress("  limit: filling rte_hash with cold's flows: %u of %u", i, n);
	}
	return h;
}

int
bench_limit_steps(void)
{
	static const char *const names[STEP__N] = {"ring_touch_mpps", "ring_parse_mpps", "ring_parse_rte_hash_mpps",
						   "cold_parse_rte_hash_mpps", "null_parse_mpps"};
	struct proto_heap ph;
	int socket = proto_heap_open(&ph) == 0 ? ph.socket : (int)rte_socket_id();
	if (socket != ph.socket)
		bench_note("limit: no external heap on huge pages for the prototype's tables: they are on DPDK's");
	struct rte_hash *ht[2] = {proto_table(0, socket), bench.have_prebuilt ? proto_table(1, socket) : NULL};
	struct rte_malloc_socket_stats st;
	if (ht[1] && rte_malloc_get_socket_stats(socket, &st) == 0)
		bench_note("limit: DPDK's rte_hash holds the 1M cold flows in %.1f MB (%zu bytes a flow)",
			   (double)st.heap_allocsz_bytes / 1e6, st.heap_allocsz_bytes / BENCH_COLD_FLOWS);
	size_t flows_len = (BENCH_COLD_FLOWS + BENCH_COLD_FLOWS / 4) * sizeof(struct proto_flow);
	struct proto_flow *flows = weir_mem_map(flows_len, WEIR_MEM_POPULATE);
	for (int c = 0; c < 2; c++)
		if (!ht[c] || !flows)
			bench_note("limit: DPDK's rte_hash table for the prototype step could not be made: no %s",
				   names[c ? STEP_COLD_RTE_HASH : STEP_RTE_HASH]);
	uint64_t null_ok = 0, null_pkts = 0, misses = 0;
	/* --quick: once each; they explain the ratios rather than make them */
	unsigned int reps = bench.quick ? 1 : bench.repeat;
	for (unsigned int rep = 0; rep < reps; rep++) {
		for (int s = 0; s < STEP__N; s++) {
			struct rte_hash *h = s == STEP_RTE_HASH ? ht[0] : s == STEP_COLD_RTE_HASH ? ht[1] : NULL;
			if ((s == STEP_NULL_PARSE && !bench.have_null) || (s != STEP_NULL_PARSE && !bench.have_prebuilt) ||
			    ((s == STEP_RTE_HASH || s == STEP_COLD_RTE_HASH) && (!h || !flows)))
				continue;
			struct step_run r = {.step = (enum step)s,
					     .port = s == STEP_NULL_PARSE	  ? bench.null_port
						     : s == STEP_COLD_RTE_HASH ? bench.cold_port
									   : bench.hot_port,
					     .h = h, .flows = flows};
			char label[64];
			snprintf(label, sizeof(label), "limit %s run %u/%u", names[s], rep + 1, reps);
			if (bench_run_on_worker(step_loop, &r, label, NULL, NULL) != 0 || !r.tsc)
				continue;
			double mpps = (double)r.pkts * (double)rte_get_tsc_hz() / (double)r.tsc / 1e6;
			bench_add("limit", names[s], "Mpps", mpps);
			bench_progress("  %s: %.2f Mpps", label, mpps);
			if (s == STEP_NULL_PARSE) {
				null_ok += r.ok;
				null_pkts += r.pkts;
			}
			misses += r.misses;
		}
	}
	if (null_pkts)
		bench_note("limit: null_parse: %llu of net_null's %llu frames parsed as IP (its frames are never "
			   "written: a parse that stops at EtherType 0)",
			   (unsigned long long)null_ok, (unsigned long long)null_pkts);
	if (misses)
		bench_note("limit: ring_parse_rte_hash: %llu lookups missed a table that holds every flow",
			   (unsigned long long)misses);
	weir_mem_unmap(flows, flows_len);
	rte_hash_free(ht[0]);
	rte_hash_free(ht[1]);
	proto_heap_close(&ph);
	return 0;
}

/* The ladder for bench/limit-steps.gp, once hot and cold have run too:
 * group, label, median, min and max Mpps, cycles a packet at the median,
 * the median over limit(net_null). Nothing is written without the limit. */
void
bench_limit_steps_tsv(void)
{
	static const struct {
		const char *group, *scen, *name, *label;
	} rows[] = {
		{"hot", "limit", "net_null_mpps", "limit: net_null rx and free"},
		{"hot", "limit", "ring_mpps", "rx and free, hot's 1024 frames"},
		{"hot", "limit", "ring_touch_mpps", "+ read the key fields"},
		{"hot", "limit", "ring_parse_mpps", "+ weir's parser instead"},
		{"hot", "limit", "ring_parse_rte_hash_mpps", "+ key, DPDK rte_hash, 64 B record"},
		{"hot", "hot", "engine_mpps", "hot: weir's worker, 64 flows"},
		{"cold", "limit", "ring_rewrite_mpps", "rx and free, cold's rewritten frames"},
		{"cold", "limit", "cold_parse_rte_hash_mpps", "parse, key, rte_hash over 1M flows"},
		{"cold", "cold", "engine_mpps", "cold: weir's worker, 1M flows"},
	};
	double limit = bench_median(bench_find("limit", "net_null_mpps"));
	if (isnan(limit) || limit <= 0)
		return;
	char path[1200];
	mkdir(bench.cache_dir, 0755);
	snprintf(path, sizeof(path), "%s/limit-steps.tsv", bench.cache_dir);
	FILE *tsv = fopen(path, "w");
	if (!tsv)
		return;
	fprintf(tsv, "# group\tstep\tmedian_mpps\tmin_mpps\tmax_mpps\tcycles_per_pkt\tof_limit\n");
	double hz = (double)rte_get_tsc_hz();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct bench_series *sr = bench_find(rows[i].scen, rows[i].name);
		if (!sr || !sr->n)
			continue;
		double med, lo, hi;
		bench_stats(sr, &med, &lo, &hi);
		fprintf(tsv, "%s\t%s\t%.4f\t%.4f\t%.4f\t%.1f\t%.3f\n", rows[i].group, rows[i].label, med, lo, hi,
			hz / (med * 1e6), med / limit);
	}
	fclose(tsv);
}
