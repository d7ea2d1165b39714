/* engine_run.c -- hot and cold: the engine's own worker loop on one lcore.
 *
 * The worker lcore runs weir_worker_main() itself, unchanged: its one RX
 * queue is a net_null port whose mempool is the ring of pre-built frames
 * (traffic.c), so every packet goes through rte_eth_rx_burst,
 * weir_worker_burst (parser, flow table, counters, free), and the worker's
 * housekeeping (idle sweep, fold of the dirty flows into the RCU aggregates
 * every publish_interval/2 with a snapshot of each to the control thread,
 * host expiry, one QSBR quiescent state per loop). DPI is off (--dpi no).
 *
 * The main lcore plays the control thread: it drains the worker's rings
 * every millisecond (engine/main.c naps 5 ms), and it times the run from the
 * worker's own rx_pkts counter: the window opens once the warm-up is done
 * (hot: 1M packets; cold: every one of the 1M flows created and each seen
 * twice, 2M packets) and closes after bench.run_s or bench.run_pkts; then it
 * sets the worker's stop word, and the worker flushes and returns.
 *
 * hot: 64 flows, cache-warm. cold: 1M flows in a table sized 2M, the
 * rewrite that spreads them costing what limit's ring_rewrite shows. */
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "bench.h"
#include "worker.h"

struct engine_run {
	struct weir_worker *w;
	uint64_t warm_pkts;
	int measuring, stopped;
	uint64_t pkts0, tsc0, folds0;
	uint64_t pkts, tsc, folds;
};

/* On the main lcore, every millisecond. */
static void
engine_tick(void *arg)
{
	struct engine_run *r = arg;
	struct weir_worker *w = r->w;
	uint64_t pkts = __atomic_load_n(&w->st.rx_pkts, __ATOMIC_RELAXED);
	uint64_t t = rte_rdtsc();

	bench_live.pkts = pkts;
	if (r->stopped)
		return;
	if (!r->measuring) {
		if (pkts >= r->warm_pkts) {
			r->measuring = 1;
			r->pkts0 = pkts;
			r->tsc0 = t;
			r->folds0 = __atomic_load_n(&w->st.folds, __ATOMIC_RELAXED);
		}
		return;
	}
	if (pkts - r->pkts0 >= bench.run_pkts || t - r->tsc0 >= (uint64_t)(bench.run_s * (double)rte_get_tsc_hz())) {
		r->pkts = pkts - r->pkts0;
		r->tsc = t - r->tsc0;
		r->folds = __atomic_load_n(&w->st.folds, __ATOMIC_RELAXED) - r->folds0;
		r->stopped = 1;
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	}
}

int
bench_hot_cold(int cold)
{
	const char *scen = cold ? "cold" : "hot";
	static struct weir_config cfg;
	if (bench_engine_cfg(&cfg, cold ? 2u << 20 : 1u << 20, 262144, 0) != 0)
		return -1;
	struct weir_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	for (unsigned int rep = 0; rep < bench.repeat && w; rep++) {
		if (weir_worker_init(w, 0, &cfg) != 0) {
			bench_note("%s: weir_worker_init failed", scen);
			break;
		}
		w->rxq[0].port = cold ? bench.cold_port : bench.hot_port;
		w->rxq[0].queue = 0;
		w->n_rxq = 1;
		w->peers = &w;
		w->n_workers = 1;
		struct engine_run r = {.w = w, .warm_pkts = cold ? 2ull * BENCH_COLD_FLOWS : 1u << 20};
		char label[64];
		snprintf(label, sizeof(label), "%s run %u/%u", scen, rep + 1, bench.repeat);
		bench_live.drain = w;
		int rc = bench_run_on_worker(weir_worker_main, w, label, engine_tick, &r);
		bench_live.drain = NULL;
		if (rc == 0 && r.pkts && r.tsc) {
			double mpps = (double)r.pkts * (double)rte_get_tsc_hz() / (double)r.tsc / 1e6;
			bench_add(scen, "engine_mpps", "Mpps", mpps);
			bench_add(scen, "cycles_per_pkt", "cycles", (double)r.tsc / (double)r.pkts);
			bench_progress("  %s: %.2f Mpps, %llu flows made, %llu folds while measuring", label, mpps,
				       (unsigned long long)w->st.flows_created, (unsigned long long)r.folds);
			if (rep == 0) {
				uint64_t want = cold ? BENCH_COLD_FLOWS : BENCH_HOT_FLOWS;
				if (w->st.flows_created != want)
					bench_note("%s: %llu flows made, %llu expected", scen,
						   (unsigned long long)w->st.flows_created, (unsigned long long)want);
				if (w->st.snap_drops)
					bench_note("%s: %llu flow snapshots dropped (ring full between control "
						   "drains, as the live engine would)", scen,
						   (unsigned long long)w->st.snap_drops);
				if (w->st.flow_table_full)
					bench_note("%s: %llu evictions (table full)", scen,
						   (unsigned long long)w->st.flow_table_full);
			}
		} else {
			bench_note("%s run %u: no measurement (rc %d)", scen, rep + 1, rc);
		}
		weir_worker_fini(w);
	}
	free(w);
	return 0;
}
