/* memory.c -- resident bytes per tracked flow, at 100k and 1M flows.
 *
 * Measured as the growth of this process's resident set (/proc/self/statm)
 * from before weir_worker_init() to after N distinct flows went through
 * weir_worker_burst() and one weir_worker_fold(): flow entries and index
 * buckets actually touched, the host/VLAN/subnet-pair aggregates the fold
 * created (jemalloc), and the worker's other tables. The flow table is sized
 * for N (flow-table-size = N), as an operator would size it. The snapshot
 * ring is a fixed cost, not a per-flow one, so it is set to its minimum
 * (flow-ring-size 1024) here. The flows are cold's: 4096 client hosts x 256
 * ports to one server. DPI is off, so this is "outside detection".
 *
 * The static figure is printed too: the table's mem_bytes / capacity, what a
 * full table costs per flow whatever is touched. */
#include <rte_lcore.h>
#include <urcu-qsbr.h>

#include "bench.h"
#include "worker.h"

struct mem_run {
	struct weir_worker *w;
	struct rte_mempool *mp;
	uint32_t flows;
};

static int
mem_loop(void *arg)
{
	struct mem_run *r = arg;
	struct weir_worker *w = r->w;
	struct rte_mbuf *pkts[WEIR_BURST];
	uint32_t lcg = 1;

	rcu_register_thread();
	w->now_ms = w->wall0_ms;
	for (uint32_t n = 0; n < r->flows; n += WEIR_BURST) {
		unsigned int k = r->flows - n < WEIR_BURST ? r->flows - n : WEIR_BURST;
		if (rte_mempool_get_bulk(r->mp, (void **)pkts, k) != 0)
			break;
		bench_traffic_rewrite(pkts, k, &lcg);
		weir_worker_burst(w, pkts, (uint16_t)k);
		rcu_quiescent_state();
		bench_live.pkts = n + k;
	}
	weir_worker_fold(w);
	rcu_unregister_thread();
	return 0;
}

int
bench_memory(void)
{
	static const uint32_t sizes[] = {100000, 1000000};
	static const char *const names[] = {"rss_per_flow_100k", "rss_per_flow_1m"};
	static struct weir_config cfg;
	struct rte_mempool *mp = bench_traffic_pool("bench_mem");
	if (!mp)
		return -1;
	for (unsigned int rep = 0; rep < bench.repeat; rep++) {
		for (int s = 0; s < 2; s++) {
			if (bench_engine_cfg(&cfg, sizes[s], 1024, 0) != 0)
				break;
			struct weir_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
			if (!w)
				break;
			uint64_t rss0 = bench_rss_bytes();
			if (weir_worker_init(w, 0, &cfg) != 0) {
				free(w);
				break;
			}
			struct mem_run r = {.w = w, .mp = mp, .flows = sizes[s]};
			char label[64];
			snprintf(label, sizeof(label), "memory %u flows run %u/%u", sizes[s], rep + 1, bench.repeat);
			bench_live.drain = w;
			bench_run_on_worker(mem_loop, &r, label, NULL, NULL);
			bench_live.drain = NULL;
			uint64_t rss1 = bench_rss_bytes();
			if (rep == 0 && w->ft.active != sizes[s])
				bench_note("memory: %u flows wanted, %u in the table (the rest evicted: the table is sized "
					   "exactly N and an insert probes 4 buckets)", sizes[s], w->ft.active);
			double per = ((double)rss1 - (double)rss0) / (double)w->ft.active;
			bench_add("memory", names[s], "B/flow", per);
			if (rep == 0) {
				bench_add("memory", s ? "table_static_per_flow_1m" : "table_static_per_flow_100k",
					  "B/flow", (double)w->ft.mem_bytes / (double)w->ft.capacity);
				if (s == 1)
					bench_note("memory: %llu hosts in the aggregates; sizeof(struct weir_flow) = "
						   "%zu, index bucket 64 B per 10 slots, 1.625 slots per entry, dirty set 1 bit",
						   (unsigned long long)w->agg.n_hosts, sizeof(struct weir_flow));
			}
			bench_progress("  %s: %.1f B/flow (RSS +%.1f MB)", label, per, ((double)rss1 - (double)rss0) / 1e6);
			weir_worker_fini(w);
			free(w);
		}
	}
	rte_mempool_free(mp);
	return 0;
}
