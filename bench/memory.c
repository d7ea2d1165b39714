/* memory.c -- resident bytes per tracked flow and per host, at 100k and 1M
 * flows, outside detection and while every flow is under detection.
 *
 * Measured as the growth of this process's resident set (/proc/self/statm)
 * from before weir_worker_init() to after N distinct flows went through
 * weir_worker_burst() and one weir_worker_fold(): flow entries and index
 * buckets actually touched, the host/VLAN/subnet-pair aggregates the fold
 * created (jemalloc), and the worker's other tables. The flow table is sized
 * for N (flow-table-size = N), as an operator would size it. The snapshot
 * ring is a fixed cost, not a per-flow one, so it is set to its minimum
 * (flow-ring-size 1024) here. Three runs per N, one frame per flow each:
 *
 *   flows  cold's flows (4096 client hosts x 256 ports to one server), DPI
 *          off: bytes per flow outside detection (the target);
 *   hosts  the same N flows with a client host of its own each (N + 1
 *          hosts): the growth beyond `flows`, over the hosts beyond its
 *          4097, is what a host costs the worker's aggregates;
 *   dpi    cold's flows with DPI on and a detection slot for each
 *          (dpi-flows = N): one empty TCP segment each gives nDPI no verdict,
 *          so all N are under detection when measured; the nDPI module's
 *          own size (made on the worker lcore before the flows come) is
 *          taken out, and nDPI's heap per flow is noted from its byte
 *          counter. A flow whose payload makes nDPI buffer (a TLS flight
 *          split over segments) holds more than this while it lasts.
 *
 * The static figure is printed too: the table's mem_bytes / capacity, what a
 * full table costs per flow whatever is touched. The control thread's own
 * per-flow and per-host records are not in any of these. */
#include <rte_lcore.h>
#include <urcu-qsbr.h>

#include "bench.h"
#include "worker.h"

enum mem_kind { MEM_FLOWS, MEM_HOSTS, MEM_DPI, MEM__N };

struct mem_run {
	struct weir_worker *w;
	struct rte_mempool *mp;
	uint32_t flows;
	enum mem_kind kind;
	int64_t module_rss;     /* MEM_DPI: resident growth across making the nDPI module */
	int64_t ndpi_heap;      /* ...and nDPI's heap growth across the flows */
	uint64_t grew;          /* resident growth of the whole run */
	uint32_t active;        /* flows in the table after it */
	uint64_t hosts;         /* hosts in the aggregates after it */
};

static int
mem_loop(void *arg)
{
	struct mem_run *r = arg;
	struct weir_worker *w = r->w;
	struct rte_mbuf *pkts[WEIR_BURST];
	uint32_t lcg = 1;

	rcu_register_thread();
	if (r->kind == MEM_DPI) {	/* on the lcore that owns it, as weir_worker_main */
		bench_heap_purge();
		int64_t rss = (int64_t)bench_rss_bytes();
		weir_worker_dpi_open(w);
		r->module_rss = (int64_t)bench_rss_bytes() - rss;
		r->ndpi_heap = w->dpi ? weir_dpi_mem_bytes(w->dpi) : 0;
	}
	w->now_ms = w->wall0_ms;
	for (uint32_t n = 0; n < r->flows; n += WEIR_BURST) {
		unsigned int k = r->flows - n < WEIR_BURST ? r->flows - n : WEIR_BURST;
		if (rte_mempool_get_bulk(r->mp, (void **)pkts, k) != 0)
			break;
		bench_traffic_rewrite_as(pkts, k, &lcg, r->kind == MEM_HOSTS);
		weir_worker_burst(w, pkts, (uint16_t)k);
		rcu_quiescent_state();
		bench_live.pkts = n + k;
	}
	weir_worker_fold(w);
	if (w->dpi)
		r->ndpi_heap = weir_dpi_mem_bytes(w->dpi) - r->ndpi_heap;
	rcu_unregister_thread();
	return 0;
}

static const char *const kind_names[MEM__N] = {"flows", "hosts", "dpi"};

/* One run into out: the resident growth, and the table's and aggregates' state. */
static int
mem_measure(struct weir_config *cfg, struct rte_mempool *mp, uint32_t flows, enum mem_kind kind,
	    unsigned int rep, struct mem_run *out)
{
	struct weir_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	if (!w)
		return -1;
	bench_heap_purge();
	uint64_t rss0 = bench_rss_bytes();
	if (weir_worker_init(w, 0, cfg) != 0) {
		free(w);
		return -1;
	}
	*out = (struct mem_run){.w = w, .mp = mp, .flows = flows, .kind = kind};
	char label[64];
	snprintf(label, sizeof(label), "memory %u flows (%s) run %u/%u", flows, kind_names[kind], rep + 1,
		 bench.repeat);
	bench_live.drain = w;
	bench_run_on_worker(mem_loop, out, label, NULL, NULL);
	bench_live.drain = NULL;
	out->grew = bench_rss_bytes() - rss0;
	out->active = w->ft.active;
	out->hosts = w->agg.n_hosts;
	if (kind == MEM_DPI && rep == 0) {
		if (!w->dpi)
			bench_note("memory: the nDPI module could not be made: no dpi figures");
		else if (w->st.dpi_flows - w->st.dpi_gave_up != w->ft.active || w->st.dpi_detected)
			bench_note("memory %u flows (dpi): %llu flows given a slot, %llu detected, %llu gave up "
				   "(evicted): not all %u under detection", flows, (unsigned long long)w->st.dpi_flows,
				   (unsigned long long)w->st.dpi_detected, (unsigned long long)w->st.dpi_gave_up,
				   w->ft.active);
	}
	if (kind == MEM_FLOWS && rep == 0 && w->ft.active != flows)
		bench_note("memory: %u flows wanted, %u in the table (the rest evicted: the table is sized "
			   "exactly N and an insert probes 4 buckets)", flows, w->ft.active);
	if (kind == MEM_FLOWS && rep == 0 && flows == 1000000)
		bench_note("memory: %llu hosts in the aggregates; sizeof(struct weir_flow) = "
			   "%zu, index bucket 64 B per 10 slots, 1.625 slots per entry, dirty set 1 bit",
			   (unsigned long long)w->agg.n_hosts, sizeof(struct weir_flow));
	if (kind == MEM_FLOWS && rep == 0)
		bench_add("memory", flows == 1000000 ? "table_static_per_flow_1m" : "table_static_per_flow_100k",
			  "B/flow", (double)w->ft.mem_bytes / (double)w->ft.capacity);
	bench_progress("  %s: RSS +%.1f MB, %u flows, %llu hosts", label, (double)out->grew / 1e6,
		       out->active, (unsigned long long)out->hosts);
	weir_worker_fini(w);
	free(w);
	return 0;
}

int
bench_memory(void)
{
	static const uint32_t sizes[] = {100000, 1000000};
	static const char *const sfx[] = {"100k", "1m"};
	static struct weir_config cfg;
	struct rte_mempool *mp = bench_traffic_pool("bench_mem");
	if (!mp)
		return -1;
	for (unsigned int rep = 0; rep < bench.repeat; rep++) {
		for (int s = 0; s < 2; s++) {
			struct mem_run r[MEM__N] = {0};
			char name[48];
			int k;
			/* --quick: the hosts and dpi runs once, the flows run (the
			 * target's) every time */
			int kinds = bench.quick && rep ? MEM_FLOWS + 1 : MEM__N;
			for (k = 0; k < kinds; k++) {
				if (bench_engine_cfg(&cfg, sizes[s], 1024, k == MEM_DPI) != 0)
					break;
				cfg.dpi_flows = sizes[s];
				if (mem_measure(&cfg, mp, sizes[s], (enum mem_kind)k, rep, &r[k]) != 0)
					break;
			}
			if (k < kinds)
				break;
			double per = (double)r[MEM_FLOWS].grew / (double)r[MEM_FLOWS].active;
			snprintf(name, sizeof(name), "rss_per_flow_%s", sfx[s]);
			bench_add("memory", name, "B/flow", per);
			/* the hosts run's growth beyond the flows run's, scaled to its
			 * flows (an insert into a table sized N may evict a few) */
			const struct mem_run *h = &r[MEM_HOSTS], *f = &r[MEM_FLOWS], *d = &r[MEM_DPI];
			if (kinds > MEM_HOSTS && h->hosts > f->hosts && h->active) {
				snprintf(name, sizeof(name), "rss_per_host_%s", sfx[s]);
				bench_add("memory", name, "B/host",
					  ((double)h->grew - per * (double)h->active) / (double)(h->hosts - f->hosts));
			}
			if (kinds > MEM_DPI && d->active && (int64_t)d->grew > d->module_rss) {
				snprintf(name, sizeof(name), "rss_per_flow_dpi_%s", sfx[s]);
				bench_add("memory", name, "B/flow",
					  ((double)d->grew - (double)d->module_rss) / (double)d->active);
				if (rep == 0)
					bench_note("memory %u flows (dpi): the nDPI module %.1f MB resident (taken out); "
						   "nDPI's heap %.0f B a flow under detection",
						   sizes[s], (double)d->module_rss / 1e6,
						   (double)d->ndpi_heap / (double)d->active);
			}
		}
	}
	rte_mempool_free(mp);
	return 0;
}
