/* limit.c -- the machine's ceiling: receive and free, nothing else.
 *
 * net_null: rte_eth_rx_burst of 32 from the null PMD (it allocates mbufs
 * from its mempool's per-lcore cache and sets their lengths, never touching
 * packet data) and rte_pktmbuf_free_bulk. This is limit(net_null), the
 * denominator of hot_vs_limit and cold_vs_limit.
 *
 * ring: the same from net_null1, whose mempool is the sp/sc ring of 1024
 * pre-built frames (traffic.c): the ceiling of what feeds hot.
 * ring_rewrite: net_null2, the same plus cold's per-packet header rewrite
 * (an RX callback): the ceiling of what feeds cold. */
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "bench.h"

struct limit_run {
	uint16_t port;
	uint64_t pkts, tsc;
};

static int
limit_loop(void *arg)
{
	struct limit_run *r = arg;
	r->tsc = bench_rx_loop(r->port, NULL, NULL, &r->pkts);
	return 0;
}

int
bench_limit(void)
{
	static const char *const names[] = {"net_null_mpps", "ring_mpps", "ring_rewrite_mpps"};
	const uint16_t ports[] = {bench.null_port, bench.hot_port, bench.cold_port};
	for (unsigned int rep = 0; rep < bench.repeat; rep++) {
		for (int kind = 0; kind < 3; kind++) {
			if ((kind == 0 && !bench.have_null) || (kind > 0 && !bench.have_prebuilt))
				continue;
			struct limit_run r = {.port = ports[kind]};
			char label[64];
			snprintf(label, sizeof(label), "limit %s run %u/%u", names[kind], rep + 1, bench.repeat);
			if (bench_run_on_worker(limit_loop, &r, label, NULL, NULL) != 0 || !r.tsc)
				continue;
			double mpps = (double)r.pkts * (double)rte_get_tsc_hz() / (double)r.tsc / 1e6;
			bench_add("limit", names[kind], "Mpps", mpps);
			bench_progress("  %s: %.2f Mpps", label, mpps);
		}
	}
	return 0;
}
