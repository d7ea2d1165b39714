/* scale.c -- scale: the engine's workers, 1..N of them, fed by symmetric
 * RSS or by the software distributor.
 *
 * Each worker lcore runs weir_worker_main() itself, unchanged, as hot does
 * (engine_run.c), on 4096 bidirectional IPv4/TCP flows (8192 pre-built
 * 64-byte frames, traffic.c), wired the way engine/ports.c and
 * engine/main.c wire a port with as many queues as workers, or with one:
 *
 *   rss   net_null3 configured with N RX queues and the engine's RSS
 *         configuration (symmetric Toeplitz key, weir_rss_sym_key). net_null
 *         does not hash, so each queue's mempool holds exactly the frames a
 *         NIC would put on that queue: rte_softrss over the IPv4 addresses
 *         and TCP ports (the NIC's input) with that key, then the default
 *         redirection table (entry i -> queue i % N, over the port's
 *         reta_size). Worker i reads queue i.
 *   dist  one queue, read by worker 0 with distribute = 1; every worker has
 *         an 8192-entry in_ring and worker 0 hands each packet it does not
 *         own (weir_sym_hash % N) to its owner's ring, as the engine does
 *         with a one-queue port. The frames' mempool is multi-producer
 *         (every worker frees into it), single-consumer (worker 0 takes).
 *
 * The main lcore drains every worker's snapshot ring each millisecond, opens
 * the window once the workers together took 1M packets, and closes it after
 * bench.run_s or bench.run_pkts: the rate is the sum of the workers' own
 * rx_pkts over the TSC. Then it stops worker 0 first and the others once it
 * is done, so their rings are empty when they drain and flush.
 *
 * After every run, a check against the hash, not against the engine:
 * every frame the port delivered was accounted by exactly one worker
 * (port ipackets == sum of rx_pkts + dist_drops, all parsed), and every
 * flow, both directions, was made on the one worker the hash says: each
 * worker's flows_created equals the flows the hash gives it, and they sum
 * to 4096. Results per mode and N go to CACHE/scale.tsv for bench/scale.gp. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_thash.h>

#include "bench.h"
#include "ports.h"
#include "worker.h"

#define SCALE_FLOWS   4096
#define SCALE_FRAMES  (2 * SCALE_FLOWS)	/* frame i: flow i % 4096, reversed if i >= 4096 */
#define SCALE_WARM    (1u << 20)
#define SCALE_WARM_S  20.0
#define SCALE_PORT    "net_null3"

enum { RSS, DIST, N_MODES };
static const char *const mode_name[N_MODES] = {"rss", "dist"};

/* ---- lcores ---- */

static unsigned int cpus[CPU_SETSIZE], n_cpus;

static void
cpu_list(void)
{
	cpu_set_t set;
	if (n_cpus)
		return;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (unsigned int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				cpus[n_cpus++] = c;
	if (!n_cpus)
		cpus[n_cpus++] = 0;
}

unsigned int
bench_scale_max_workers(void)
{
	cpu_list();
	unsigned int n = n_cpus > 2 ? n_cpus - 1 : 2;
	if (n > WEIR_MAX_WORKERS)
		n = WEIR_MAX_WORKERS;
	if (n > RTE_MAX_LCORE - 1)
		n = RTE_MAX_LCORE - 1;
	return n;
}

/* lcore 0 on the first CPU; lcore i on CPU i, wrapping round: with two
 * CPUs, lcore 1 on the second and lcore 2 back on the first. */
void
bench_eal_lcores(char *buf, size_t len)
{
	unsigned int n = bench_scale_max_workers();
	size_t o = (size_t)snprintf(buf, len, "--lcores=0@%u", cpus[0]);
	for (unsigned int i = 1; i <= n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, ",%u@%u", i, cpus[i % n_cpus]);
}

/* ---- where each frame goes ---- */

struct scale_map {
	uint32_t rss[SCALE_FLOWS][2];  /* Toeplitz hash, each direction */
	uint32_t sym[SCALE_FLOWS][2];  /* weir_sym_hash, each direction */
	uint16_t reta_size;
	int asym_rss, asym_sym;        /* flows whose directions hash apart */
};

static void
map_build(struct scale_map *mp, const struct weir_config *cfg, uint16_t port)
{
	uint8_t key[52], f[BENCH_FRAME_LEN];
	struct rte_eth_dev_info info;
	weir_rss_sym_key(key, sizeof(key));
	mp->reta_size = rte_eth_dev_info_get(port, &info) == 0 && info.reta_size ? info.reta_size : 128;
	mp->asym_rss = mp->asym_sym = 0;
	for (unsigned int k = 0; k < SCALE_FLOWS; k++) {
		for (int d = 0; d < 2; d++) {
			bench_traffic_frame(f, k, d);
			/* the NIC's input: addresses and ports, host order */
			struct rte_ipv4_tuple t;
			t.src_addr = (uint32_t)f[26] << 24 | (uint32_t)f[27] << 16 | (uint32_t)f[28] << 8 | f[29];
			t.dst_addr = (uint32_t)f[30] << 24 | (uint32_t)f[31] << 16 | (uint32_t)f[32] << 8 | f[33];
			t.sport = (uint16_t)(f[34] << 8 | f[35]);
			t.dport = (uint16_t)(f[36] << 8 | f[37]);
			mp->rss[k][d] = rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, key);
			struct weir_pkt_meta m;
			mp->sym[k][d] = weir_parse_frame(&cfg->parse, f, sizeof(f), &m) == WEIR_PARSE_OK ?
					weir_sym_hash(&m) : 0;
		}
		mp->asym_rss += mp->rss[k][0] != mp->rss[k][1];
		mp->asym_sym += mp->sym[k][0] != mp->sym[k][1];
	}
}

/* The queue (rss) or worker (dist) of frame i with n workers. */
static unsigned int
owner(const struct scale_map *mp, int mode, unsigned int i, unsigned int n)
{
	unsigned int k = i % SCALE_FLOWS, d = i / SCALE_FLOWS;
	if (mode == RSS)	/* default RETA: entry e -> queue e % n */
		return (mp->rss[k][d] % mp->reta_size) % n;
	return mp->sym[k][d] % n;
}

/* A cache-less mempool of the frames i with owner q (q < 0: all), in order. */
static struct rte_mempool *
frame_pool(const struct scale_map *mp, int mode, int q, unsigned int n, const char *ops)
{
	static unsigned int seq;
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned int c = 0;
	for (unsigned int i = 0; i < SCALE_FRAMES; i++)
		c += q < 0 || owner(mp, mode, i, n) == (unsigned int)q;
	if (c < 2 * WEIR_BURST)
		return NULL;
	snprintf(name, sizeof(name), "bscale%u", seq++);
	struct rte_mempool *pool = rte_pktmbuf_pool_create_by_ops(name, c, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
								   (int)rte_socket_id(), ops);
	struct rte_mbuf **m = calloc(c, sizeof(*m));
	if (!pool || !m || rte_pktmbuf_alloc_bulk(pool, m, c) != 0) {
		free(m);
		rte_mempool_free(pool);
		return NULL;
	}
	for (unsigned int i = 0, j = 0; i < SCALE_FRAMES; i++) {
		if (q >= 0 && owner(mp, mode, i, n) != (unsigned int)q)
			continue;
		bench_traffic_frame(rte_pktmbuf_mtod(m[j], uint8_t *), i % SCALE_FLOWS, i >= SCALE_FLOWS);
		m[j]->data_len = BENCH_FRAME_LEN;
		m[j]->pkt_len = BENCH_FRAME_LEN;
		j++;
	}
	rte_pktmbuf_free_bulk(m, c);	/* in order: the ring cycles them so */
	free(m);
	return pool;
}

/* ---- one setting: the port, its pools, the workers' rings ---- */

struct scale_set {
	int mode;
	unsigned int n;
	uint16_t port;
	struct rte_mempool *pool[WEIR_MAX_WORKERS];
	struct rte_ring *in[WEIR_MAX_WORKERS];
	uint64_t want_flows[WEIR_MAX_WORKERS];   /* per worker, from the hash */
};

static void
set_free(struct scale_set *s)
{
	rte_eth_dev_stop(s->port);
	for (unsigned int i = 0; i < WEIR_MAX_WORKERS; i++) {
		rte_mempool_free(s->pool[i]);
		rte_ring_free(s->in[i]);
		s->pool[i] = NULL;
		s->in[i] = NULL;
	}
}

static int
set_up(struct scale_set *s, const struct scale_map *mp)
{
	unsigned int nq = s->mode == RSS ? s->n : 1;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_info_get(s->port, &info) != 0 || nq > info.max_rx_queues)
		return -1;
	if (nq > 1)	/* as weir_ports_setup; net_null takes the settings, never hashes */
		weir_rss_conf(&conf, &info);
	if (rte_eth_dev_configure(s->port, (uint16_t)nq, 1, &conf) < 0)
		return -1;
	for (unsigned int q = 0; q < nq; q++) {
		s->pool[q] = frame_pool(mp, s->mode, s->mode == RSS ? (int)q : -1, s->n,
					s->mode == RSS ? "ring_sp_sc" : "ring_mp_sc");
		if (!s->pool[q] ||
		    rte_eth_rx_queue_setup(s->port, (uint16_t)q, 1024, (unsigned int)rte_eth_dev_socket_id(s->port),
					   NULL, s->pool[q]) < 0)
			return -1;
	}
	if (rte_eth_tx_queue_setup(s->port, 0, 512, (unsigned int)rte_eth_dev_socket_id(s->port), NULL) < 0 ||
	    rte_eth_dev_start(s->port) < 0)
		return -1;
	for (unsigned int i = 0; s->mode == DIST && i < s->n; i++) {
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof(name), "bscale_in%u", i);
		/* as engine/main.c: multi-producer, single-consumer */
		if (!(s->in[i] = rte_ring_create(name, 8192, (int)rte_socket_id(), RING_F_SC_DEQ)))
			return -1;
	}
	memset(s->want_flows, 0, sizeof(s->want_flows));
	for (unsigned int k = 0; k < SCALE_FLOWS; k++)
		s->want_flows[owner(mp, s->mode, k, s->n)]++;
	return 0;
}

/* ---- one run ---- */

struct scale_run {
	struct weir_worker **w;
	unsigned int n;
	double t0;
	int measuring, stopping;
	uint64_t pkts0, tsc0, pkts, tsc;
	uint64_t each0[WEIR_MAX_WORKERS], each[WEIR_MAX_WORKERS];  /* rx_pkts per worker */
	uint32_t prefaulted[WEIR_MAX_WORKERS];                    /* as engine/main.c */
};

static uint64_t
rx_sum(const struct scale_run *r, uint64_t *each)
{
	uint64_t s = 0;
	for (unsigned int i = 0; i < r->n; i++)
		s += each[i] = __atomic_load_n(&r->w[i]->st.rx_pkts, __ATOMIC_RELAXED);
	return s;
}

/* Worker 0 first (the distributor), the others once it is done. */
static void
stop_from(struct scale_run *r, unsigned int from)
{
	for (unsigned int i = from; i < (from ? r->n : 1); i++)
		__atomic_store_n(&r->w[i]->stop, 1, __ATOMIC_RELEASE);
}

/* On the main lcore, every millisecond. */
static void
scale_tick(void *arg)
{
	struct scale_run *r = arg;
	for (unsigned int i = 0; i < r->n; i++)
		bench_drain(r->w[i], &r->prefaulted[i]);
	uint64_t each[WEIR_MAX_WORKERS];
	uint64_t pkts = rx_sum(r, each), t = rte_rdtsc();
	bench_live.pkts = pkts;
	if (r->stopping) {
		/* the distributor first: the others drain a ring nobody fills */
		if (r->stopping == 1 && __atomic_load_n(&r->w[0]->done, __ATOMIC_ACQUIRE)) {
			stop_from(r, 1);
			r->stopping = 2;
		}
		return;
	}
	if (!r->measuring) {
		if (pkts >= SCALE_WARM) {
			r->measuring = 1;
			r->pkts0 = pkts;
			r->tsc0 = t;
			memcpy(r->each0, each, r->n * sizeof(each[0]));
		} else if (bench_now_s() - r->t0 > SCALE_WARM_S) {
			r->stopping = 1;
			stop_from(r, 0);
		}
		return;
	}
	if (pkts - r->pkts0 >= bench.run_pkts || t - r->tsc0 >= (uint64_t)(bench.run_s * (double)rte_get_tsc_hz())) {
		r->pkts = pkts - r->pkts0;
		r->tsc = t - r->tsc0;
		for (unsigned int i = 0; i < r->n; i++)
			r->each[i] = each[i] - r->each0[i];
		r->stopping = 1;
		stop_from(r, 0);
	}
}

struct scale_check {
	unsigned int runs, exact;
	double share[WEIR_MAX_WORKERS];          /* of the window's packets, summed over runs */
	uint64_t received, accounted, drops, flows;
	char why[160];
};

/* Every frame accounted once, every flow on the worker the hash says. */
static void
check(struct scale_set *s, struct weir_worker **w, struct scale_check *c)
{
	struct rte_eth_stats es;
	uint64_t acc = 0, parsed = 0, drops = 0, flows = 0;
	int flows_ok = 1;
	for (unsigned int i = 0; i < s->n; i++) {
		acc += w[i]->st.rx_pkts;
		parsed += w[i]->st.parsed;
		drops += w[i]->st.dist_drops;
		flows += w[i]->st.flows_created;
		flows_ok &= w[i]->st.flows_created == s->want_flows[i];
	}
	/* net_null counts only the first RTE_ETHDEV_QUEUE_STAT_CNTRS queues */
	int have_rx = rte_eth_stats_get(s->port, &es) == 0 && s->n <= RTE_ETHDEV_QUEUE_STAT_CNTRS;
	c->runs++;
	c->received += have_rx ? es.ipackets : acc + drops;
	c->accounted += acc;
	c->drops += drops;
	c->flows += flows;
	if (have_rx && es.ipackets != acc + drops)
		snprintf(c->why, sizeof(c->why), "the port delivered %llu, the workers accounted %llu + %llu dropped",
			 (unsigned long long)es.ipackets, (unsigned long long)acc, (unsigned long long)drops);
	else if (parsed != acc)
		snprintf(c->why, sizeof(c->why), "%llu taken, %llu parsed", (unsigned long long)acc,
			 (unsigned long long)parsed);
	else if (flows != SCALE_FLOWS || !flows_ok)
		snprintf(c->why, sizeof(c->why), "%llu flows made (%u distinct), not each on its hash's worker",
			 (unsigned long long)flows, SCALE_FLOWS);
	else
		c->exact++;
}

static int
run_once(struct scale_set *s, const struct weir_config *cfg, struct weir_worker **w, unsigned int rep,
	 struct scale_check *c)
{
	unsigned int lcores[WEIR_MAX_WORKERS];
	void *args[WEIR_MAX_WORKERS];
	unsigned int lc = 0, ok = 1, n = 0;
	for (; n < s->n; n++) {
		lc = rte_get_next_lcore(n ? lc : (unsigned int)-1, 1, 0);
		if (lc >= RTE_MAX_LCORE || weir_worker_init(w[n], n, cfg) != 0) {
			ok = 0;
			break;
		}
		lcores[n] = lc;
		args[n] = w[n];
		w[n]->peers = w;
		w[n]->n_workers = s->n;
		w[n]->in_ring = s->in[n];
		if (s->mode == RSS || n == 0) {
			w[n]->rxq[0].port = s->port;
			w[n]->rxq[0].queue = (uint16_t)n;
			w[n]->n_rxq = 1;
			w[n]->distribute = s->mode == DIST;
		}
	}
	int rc = -1;
	struct scale_run r = {.w = w, .n = s->n, .t0 = bench_now_s()};
	if (ok) {
		char label[64];
		snprintf(label, sizeof(label), "scale %s w%u run %u/%u", mode_name[s->mode], s->n, rep + 1,
			 bench.repeat);
		rte_eth_stats_reset(s->port);
		rc = bench_run_on_lcores(s->n, lcores, weir_worker_main, args, label, scale_tick, &r);
		if (rc == 0 && r.pkts && r.tsc) {
			double mpps = (double)r.pkts * (double)rte_get_tsc_hz() / (double)r.tsc / 1e6;
			char name[40];
			snprintf(name, sizeof(name), "%s_w%u_mpps", mode_name[s->mode], s->n);
			bench_add("scale", name, "Mpps", mpps);
			check(s, w, c);
			char per[200] = "";
			size_t o = 0;
			for (unsigned int i = 0; i < s->n && o < sizeof(per); i++) {
				double wm = (double)r.each[i] * (double)rte_get_tsc_hz() / (double)r.tsc / 1e6;
				o += (size_t)snprintf(per + o, sizeof(per) - o, "%s%.2f", i ? " + " : "", wm);
				c->share[i] += (double)r.each[i] / (double)r.pkts;
			}
			bench_progress("  %s: %.2f Mpps (%s), %s", label, mpps, per,
				       c->exact == c->runs ? "every frame and flow where the hash says" : c->why);
		} else {
			bench_note("scale %s w%u run %u: no measurement (rc %d)", mode_name[s->mode], s->n, rep + 1, rc);
		}
	} else {
		bench_note("scale %s w%u: no lcore or no worker (%u made)", mode_name[s->mode], s->n, n);
	}
	for (unsigned int i = 0; i < n; i++)
		weir_worker_fini(w[i]);
	return rc;
}

/* ---- results ---- */

static void
report(unsigned int n_max, struct scale_check chk[N_MODES][WEIR_MAX_WORKERS + 1],
       uint64_t split[N_MODES][WEIR_MAX_WORKERS + 1][WEIR_MAX_WORKERS])
{
	char path[1200];
	mkdir(bench.cache_dir, 0755);
	snprintf(path, sizeof(path), "%s/scale.tsv", bench.cache_dir);
	FILE *tsv = fopen(path, "w");
	if (tsv)
		fprintf(tsv, "# mode\tworkers\tmedian_mpps\tmin_mpps\tmax_mpps\truns\n");
	for (int mode = 0; mode < N_MODES; mode++) {
		char name[40], ratios[240] = "";
		size_t o = 0;
		double w1 = 0;
		for (unsigned int n = 1; n <= n_max; n++) {
			snprintf(name, sizeof(name), "%s_w%u_mpps", mode_name[mode], n);
			const struct bench_series *sr = bench_find("scale", name);
			if (!sr || !sr->n)
				continue;
			double med, lo, hi;
			bench_stats(sr, &med, &lo, &hi);
			if (tsv)
				fprintf(tsv, "%s\t%u\t%.4f\t%.4f\t%.4f\t%u\n", mode_name[mode], n, med, lo, hi, sr->n);
			if (n == 1)
				w1 = med;
			else if (w1 > 0 && o < sizeof(ratios))
				o += (size_t)snprintf(ratios + o, sizeof(ratios) - o, "%sw%u/w1 = %.2f", o ? ", " : "",
						      n, med / w1);
			const struct scale_check *c = &chk[mode][n];
			char shares[160] = "", pkts[160] = "";
			size_t so = 0, po = 0;
			for (unsigned int i = 0; i < n && so < sizeof(shares) && po < sizeof(pkts); i++) {
				so += (size_t)snprintf(shares + so, sizeof(shares) - so, "%s%llu", i ? " + " : "",
						       (unsigned long long)split[mode][n][i]);
				po += (size_t)snprintf(pkts + po, sizeof(pkts) - po, "%s%.1f%%", i ? " + " : "",
						       c->runs ? 100.0 * c->share[i] / c->runs : 0.0);
			}
			uint64_t least = split[mode][n][0];
			for (unsigned int i = 1; i < n; i++)
				least = split[mode][n][i] < least ? split[mode][n][i] : least;
			const char *uneven = least * 2 * n < SCALE_FLOWS ?
				"; UNEVEN: the hash gives a worker under half its share" : "";
			if (c->exact == c->runs)
				bench_note("scale %s w%u: all %u runs exact: %.1fM frames delivered = accounted by the "
					   "workers, %llu dist drops; %u flows, both directions on one worker each "
					   "(%s, as the hash says%s); packets per worker %s", mode_name[mode], n, c->runs,
					   (double)c->received / 1e6, (unsigned long long)c->drops, SCALE_FLOWS, shares,
					   uneven, pkts);
			else
				bench_note("scale %s w%u: %u of %u runs NOT exact: %s", mode_name[mode], n,
					   c->runs - c->exact, c->runs, c->why);
		}
		if (o)
			bench_note("scale %s: %s", mode_name[mode], ratios);
	}
	if (tsv)
		fclose(tsv);
}

int
bench_scale(void)
{
	static struct weir_config cfg;
	static struct scale_map map;
	static struct scale_check chk[N_MODES][WEIR_MAX_WORKERS + 1];
	static uint64_t split[N_MODES][WEIR_MAX_WORKERS + 1][WEIR_MAX_WORKERS];
	struct weir_worker *w[WEIR_MAX_WORKERS] = {0};
	struct scale_set s;
	uint16_t port;
	unsigned int n_max = bench_scale_max_workers();

	if (rte_eth_dev_get_port_by_name(SCALE_PORT, &port) != 0) {
		bench_note("scale: %s is missing: no scale figures", SCALE_PORT);
		return -1;
	}
	if (rte_lcore_count() < n_max + 1)
		n_max = rte_lcore_count() - 1;
	if (bench_engine_cfg(&cfg, 1u << 16, 1u << 16, 0) != 0)
		return -1;
	map_build(&map, &cfg, port);
	if (map.asym_rss || map.asym_sym)
		bench_note("scale: %d flows whose two directions differ in the Toeplitz hash, %d in weir_sym_hash",
			   map.asym_rss, map.asym_sym);
	for (unsigned int i = 0; i < n_max; i++)
		if (!(w[i] = aligned_alloc(64, (sizeof(*w[i]) + 63) & ~(size_t)63)))
			goto out;
	char lcores[1024];
	bench_eal_lcores(lcores, sizeof(lcores));
	if (n_max >= n_cpus)
		bench_note("scale: %u CPUs, EAL %s: worker %u shares CPU %u with the main lcore (which only naps "
			   "1 ms and drains the workers' snapshot rings), so on this machine w%u proves the "
			   "mechanism; on one with more CPUs the same command measures the scaling", n_cpus,
			   lcores, n_max, cpus[n_max % n_cpus], n_max);
	memset(chk, 0, sizeof(chk));
	/* runs interleaved (rep, mode, N), so a change in the machine's load
	 * spreads over every setting instead of biasing one */
	for (unsigned int rep = 0; rep < bench.repeat; rep++) {
		for (int mode = 0; mode < N_MODES; mode++) {
			for (unsigned int n = 1; n <= n_max; n++) {
				memset(&s, 0, sizeof(s));
				s.mode = mode;
				s.n = n;
				s.port = port;
				if (set_up(&s, &map) != 0) {
					bench_note("scale %s w%u: the port, its pools or rings did not come up",
						   mode_name[mode], n);
				} else {
					for (unsigned int i = 0; i < n; i++)
						split[mode][n][i] = s.want_flows[i];
					run_once(&s, &cfg, w, rep, &chk[mode][n]);
				}
				set_free(&s);
			}
		}
	}
	report(n_max, chk, split);
out:
	rte_eth_dev_close(port);
	for (unsigned int i = 0; i < n_max; i++)
		free(w[i]);
	return 0;
}
