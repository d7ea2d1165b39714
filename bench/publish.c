/* publish.c -- the publish scenario: what the Redis publisher costs the
 * packet path, and how long a packet takes to show in Redis.
 *
 * The worker lcore runs weir_worker_main() itself (DPI off, not in file
 * mode: a full snapshot ring drops, as live) on net_pcap1: the capture's
 * first 32768 frames, held in memory and replayed forever (infinite_rx),
 * so the same few thousand flows and hosts stay active and dirty, as on a
 * live link. The main lcore is the engine's control thread, run as
 * engine/main.c runs it: weir_control_drain every 5 ms and
 * weir_control_cycle every publish interval (1 s), with the port counters.
 *
 *   on:  --redis points at a redis-server of our own; every cycle
 *        publishes (hosts, flows, VLANs, series, health) in one MULTI/EXEC.
 *   off: --redis points at a closed port; every cycle still sums and rates
 *        the workers' aggregates, then finds Redis down and skips the
 *        publish (a reconnect attempt with backoff, as the engine does).
 *
 * The rate is the worker's rx_pkts over the TSC, in a window that opens
 * after 1 s of warm-up (the first, full publish done) and lasts 5 s
 * (--quick: 1.5 s, two runs each). publish_on_vs_off = median(on) / median(off); on and off
 * alternate so that load from elsewhere falls on both.
 *
 * Latency: after its window, each "on" run rewrites one received packet
 * (an RX callback) into a UDP packet from a host seen nowhere else
 * (198.18.R.T), notes the TSC, and polls Redis from the control loop, between
 * its cycles, until `weir:{NODE}:host:198.18.R.T@0` exists. The wait is a
 * fold (every publish_interval / 2) plus the next publish cycle; the
 * median over the tries is reported. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <urcu-qsbr.h>

#include "bench.h"
#include "control.h"
#include "worker.h"

#define PUBLISH_MS 1000
#define WARM_S 1.0
#define TRY_TIMEOUT_S 5.0

/* Armed by the main lcore, fired on the worker lcore inside rx_burst. */
struct inject {
	uint32_t ip;                   /* host order; 0: nothing to do */
	uint64_t tsc;                  /* when it went in; 0: not yet */
};

static struct inject inj;

static uint16_t
inject_cb(uint16_t port, uint16_t queue, struct rte_mbuf **m, uint16_t n, uint16_t max, void *user)
{
	struct inject *in = user;
	uint32_t ip = __atomic_load_n(&in->ip, __ATOMIC_ACQUIRE);
	if (!ip || !n || __atomic_load_n(&in->tsc, __ATOMIC_RELAXED))
		return n;
	/* Ethernet, IPv4 (20 bytes, no options), UDP 40000 -> 9, 18 bytes of
	 * payload: 60 bytes */
	static const uint8_t frame[60] = {
		0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,
		0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 0, 198, 19, 0, 1,
		0x9c, 0x40, 0, 9, 0, 26, 0, 0,
		'w', 'e', 'i', 'r', '-', 'b', 'e', 'n', 'c', 'h', ' ', 'p', 'r', 'o', 'b', 'e', '!', '!'};
	struct rte_mbuf *mb = m[0];
	if (rte_pktmbuf_tailroom(mb) + mb->data_len < sizeof(frame) || mb->nb_segs != 1)
		return n;
	uint8_t *p = rte_pktmbuf_mtod(mb, uint8_t *);
	memcpy(p, frame, sizeof(frame));
	p[28] = (uint8_t)(ip >> 8);
	p[29] = (uint8_t)ip;
	mb->data_len = mb->pkt_len = sizeof(frame);
	mb->ol_flags = 0;
	__atomic_store_n(&in->tsc, rte_rdtsc(), __ATOMIC_RELEASE);
	return n;
}

struct pub_run {
	struct weir_worker *w;
	struct weir_control *ctl;
	void *redis;                   /* our own reader, for the latency tries */
	const char *node;
	unsigned int run;
	int on;
	double t0, next_drain, next_cycle;
	/* the window */
	int measuring, done_window;
	uint64_t pkts0, tsc0, pkts, tsc;
	unsigned int cycles, cycles_window;
	/* latency tries */
	unsigned int tries_left, try_no;
	double next_try, try_start;
	double lat[BENCH_MAX_RUNS];
	unsigned int n_lat, timeouts;
	int stopped;
};

static void
pub_tick(void *arg)
{
	struct pub_run *r = arg;
	struct weir_worker *w = r->w;
	double now = bench_now_s();
	uint64_t pkts = __atomic_load_n(&w->st.rx_pkts, __ATOMIC_RELAXED);
	bench_live.pkts = pkts;

	/* the control thread, as engine/main.c runs it */
	if (now >= r->next_drain) {
		weir_control_drain(r->ctl);
		r->next_drain = now + 0.005;
	}
	if (now >= r->next_cycle && !r->stopped) {
		struct weir_port_counters pc = {0};
		struct rte_eth_stats st;
		if (rte_eth_stats_get(bench.loop_port, &st) == 0) {
			pc.ipackets = st.ipackets;
			pc.ibytes = st.ibytes;
			pc.imissed = st.imissed;
			pc.ierrors = st.ierrors;
			pc.rx_nombuf = st.rx_nombuf;
		}
		weir_control_set_port_counters(r->ctl, &pc);
		weir_control_cycle(r->ctl, bench_wall_ms());
		r->cycles++;
		if (r->measuring && !r->done_window)
			r->cycles_window++;
		r->next_cycle = now + PUBLISH_MS / 1000.0;
	}
	if (r->stopped)
		return;

	uint64_t t = rte_rdtsc();
	if (!r->measuring) {
		if (now - r->t0 >= WARM_S && r->cycles >= 1) {
			r->measuring = 1;
			r->pkts0 = pkts;
			r->tsc0 = t;
		}
		return;
	}
	if (!r->done_window) {
		double win = bench.quick ? 1.5 : 5.0;
		if ((double)(t - r->tsc0) >= win * (double)rte_get_tsc_hz()) {
			r->pkts = pkts - r->pkts0;
			r->tsc = t - r->tsc0;
			r->done_window = 1;
			r->next_try = now;
		}
		return;
	}
	/* latency tries, then stop */
	if (r->tries_left && r->redis) {
		if (!inj.ip) {
			if (now < r->next_try)
				return;
			inj.tsc = 0;
			__atomic_store_n(&inj.ip, (uint32_t)(198u << 24 | 18u << 16 | (r->run & 0xff) << 8 |
							     (++r->try_no & 0xff)), __ATOMIC_RELEASE);
			r->try_start = now;
			return;
		}
		uint64_t at = __atomic_load_n(&inj.tsc, __ATOMIC_ACQUIRE);
		if (!at) {
			if (now - r->try_start > TRY_TIMEOUT_S) {
				r->timeouts++;
				inj.ip = 0;
				r->tries_left--;
			}
			return;
		}
		char key[160];
		snprintf(key, sizeof(key), "weir:{%s}:host:198.18.%u.%u@0", r->node, r->run & 0xff, r->try_no & 0xff);
		if (bench_redis_exists(r->redis, key) == 1) {
			uint64_t t2 = rte_rdtsc();
			if (r->n_lat < BENCH_MAX_RUNS)
				r->lat[r->n_lat++] = (double)(t2 - at) / (double)rte_get_tsc_hz();
			__atomic_store_n(&inj.ip, 0, __ATOMIC_RELEASE);
			r->tries_left--;
			/* the next try lands elsewhere in the publish period */
			r->next_try = now + 0.137 * (double)(r->try_no % 7);
		} else if ((double)(t - at) > TRY_TIMEOUT_S * (double)rte_get_tsc_hz()) {
			r->timeouts++;
			__atomic_store_n(&inj.ip, 0, __ATOMIC_RELEASE);
			r->tries_left--;
		}
		return;
	}
	r->stopped = 1;
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
}

static int
pub_cfg(struct weir_config *cfg, const char *redis_url, const char *node)
{
	char pi[16];
	snprintf(pi, sizeof(pi), "%u", PUBLISH_MS);
	char *argv[] = {"weir", "--interface", "net_null0", "--flow-table-size", "262144", "--dpi", "no",
			"--resolve-hosts", "none", "--quiet", "--publish-interval", pi, "--redis",
			(char *)redis_url, "--node", (char *)node, NULL};
	return weir_config_load(cfg, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One run, on or off; 0 when it measured. */
static int
pub_one(struct weir_worker *w, int on, unsigned int run, uint16_t redis_port, double *lat, unsigned int *n_lat,
	unsigned int *timeouts)
{
	static struct weir_config cfg;
	char url[64], node[48];
	/* off: a port nothing listens on (taken and let go just now) */
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u", on ? redis_port : bench_free_tcp_port());
	snprintf(node, sizeof(node), "bench-pub-%d-%u", (int)getpid(), run);
	if (pub_cfg(&cfg, url, node) != 0)
		return -1;
	if (weir_worker_init(w, 0, &cfg) != 0) {
		bench_note("publish: weir_worker_init failed");
		return -1;
	}
	w->rxq[0].port = bench.loop_port;
	w->rxq[0].queue = 0;
	w->n_rxq = 1;
	w->peers = &w;
	w->n_workers = 1;
	struct weir_control *ctl = weir_control_new(&cfg, &w, 1);
	if (!ctl) {
		weir_worker_fini(w);
		return -1;
	}
	weir_control_set_state(ctl, "running", "bench");
	static struct pub_run r;
	memset(&r, 0, sizeof(r));
	r.w = w;
	r.ctl = ctl;
	r.node = node;
	r.run = run;
	r.on = on;
	r.t0 = bench_now_s();
	r.next_cycle = r.t0 + PUBLISH_MS / 1000.0;
	if (on) {
		r.redis = bench_redis_connect(redis_port);
		r.tries_left = bench.quick ? 2 : 2;
	}
	memset(&inj, 0, sizeof(inj));
	char label[64];
	snprintf(label, sizeof(label), "publish %s run %u", on ? "on" : "off", run + 1);
	int rc = bench_run_on_worker(weir_worker_main, w, label, pub_tick, &r);
	__atomic_store_n(&inj.ip, 0, __ATOMIC_RELEASE);
	int ok = rc == 0 && r.done_window && r.pkts && r.tsc;
	if (ok) {
		double kpps = (double)r.pkts * (double)rte_get_tsc_hz() / (double)r.tsc / 1e3;
		bench_add("publish", on ? "publish_on_kpps" : "publish_off_kpps", "kpps", kpps);
		bench_progress("  %s: %.0f kpps, %u cycles in the window, %llu flows made, redis %s", label, kpps,
			       r.cycles_window, (unsigned long long)w->st.flows_created,
			       weir_control_redis_ok(ctl) ? "ok" : "down");
		if (on && !weir_control_redis_ok(ctl))
			bench_note("publish on run %u: Redis was not reachable at the end", run + 1);
		if (!on && weir_control_redis_ok(ctl))
			bench_note("publish off run %u: Redis answered on the closed port", run + 1);
		if (run == 0)
			bench_note("publish: the looped capture makes %llu flows", (unsigned long long)w->st.flows_created);
		if (run < 2 && w->st.snap_drops)
			bench_note("publish %s run %u: %llu flow snapshots dropped (the ring was full between "
				   "drains)", on ? "on" : "off", run + 1, (unsigned long long)w->st.snap_drops);
	} else {
		bench_note("publish %s run %u: no measurement (rc %d)", on ? "on" : "off", run + 1, rc);
	}
	for (unsigned int i = 0; i < r.n_lat; i++)
		lat[(*n_lat)++] = r.lat[i];
	*timeouts += r.timeouts;
	bench_redis_free(r.redis);
	weir_control_free(ctl);
	weir_worker_fini(w);
	return ok ? 0 : -1;
}

int
bench_publish(void)
{
	uint16_t redis_port;
	pid_t redis = bench_redis_start(bench_workdir(), &redis_port);
	if (redis < 0) {
		bench_note("publish: redis-server did not start: no publish figures");
		return -1;
	}
	if (!rte_eth_add_rx_callback(bench.loop_port, 0, inject_cb, &inj)) {
		bench_note("publish: cannot add the RX callback: no latency figure");
	}
	struct weir_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	double lat[BENCH_MAX_RUNS * 2];
	unsigned int n_lat = 0, timeouts = 0;
	rcu_register_thread();
	rcu_thread_offline();
	unsigned int reps = bench.quick && bench.repeat > 2 ? 2 : bench.repeat;
	for (unsigned int rep = 0; rep < reps && w; rep++) {
		/* on, off, off, on, ...: each side goes first as often */
		int first_on = !(rep & 1);
		pub_one(w, first_on, 2 * rep, redis_port, lat, &n_lat, &timeouts);
		pub_one(w, !first_on, 2 * rep + 1, redis_port, lat, &n_lat, &timeouts);
	}
	rcu_thread_online();
	rcu_unregister_thread();
	free(w);
	bench_stop(redis, SIGTERM, 10);
	if (n_lat) {
		qsort(lat, n_lat, sizeof(double), cmp_double);
		for (unsigned int i = 0; i < n_lat && i < BENCH_MAX_RUNS; i++)
			bench_add("publish", "packet_to_redis_ms", "ms", lat[i] * 1e3);
	}
	if (timeouts)
		bench_note("publish: %u of %u latency tries saw no host in Redis within %.0f s", timeouts,
			   timeouts + n_lat, TRY_TIMEOUT_S);
	bench_note("publish: latency = packet in -> host key in Redis, publish-interval %u ms (a fold every %u ms, "
		   "then the next cycle)", PUBLISH_MS, PUBLISH_MS / 2);
	return 0;
}
