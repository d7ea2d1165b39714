/* bench.h -- what the parts of weir-bench share.
 *
 * weir-bench measures the engine against baselines taken in the same run,
 * so every headline figure is a ratio that holds on any machine. Each
 * scenario file (limit.c, engine_run.c, pcap_run.c, memory.c) records
 * samples into named series (report.c), and main.c prints them as a table
 * for people and as one JSON object for machines.
 *
 * Threads: the measured loops run on one worker lcore, launched by
 * bench_run_on_worker() (scale: on several, bench_run_on_lcores()); the main
 * lcore meanwhile plays the engine's control thread (drains flow snapshots)
 * and prints the progress line. */
#ifndef WEIR_BENCH_H
#define WEIR_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "weir/config.h"

struct weir_worker;

#define BENCH_MAX_RUNS   32
#define BENCH_MAX_SERIES 96
#define BENCH_MAX_NOTES  56

struct bench_opts {
	int quick;
	int json;
	unsigned int repeat;           /* runs per measurement */
	double run_s;                  /* time bound of one lcore loop */
	double limit_run_s;            /* the same for limit's loops, which vary least */
	uint64_t run_pkts;             /* packet bound of one lcore loop */
	char scenarios[8][16];
	unsigned int n_scenarios;
	char cache_dir[1024];          /* generated capture lives here */
	char pcap[1100];               /* the capture (generated or reused) */
	char source_root[1024];        /* to find tests/gen/gen_traffic.py */
	int as_caught;                 /* export streams sent as caught, not dated as sent (--as-caught) */
	unsigned int worker_lcore;
	uint16_t null_port;            /* net_null0: its own mempool, the limit */
	uint16_t hot_port;             /* net_null1: pre-built frames, hot flows */
	uint16_t cold_port;            /* net_null2: pre-built frames, rewritten to 1M flows */
	uint16_t pcap_port;            /* net_pcap0: the mixed capture */
	uint16_t loop_port;            /* net_pcap1: its first 32k frames, replayed forever */
	int have_null, have_prebuilt, have_pcap, have_loop;
	struct rte_mempool *null_pool, *hot_pool, *cold_pool, *pcap_pool, *loop_pool;
};

extern struct bench_opts bench;

/* ---- series of samples (report.c) ---- */
struct bench_series {
	char scenario[16];
	char name[40];
	char unit[16];
	double v[BENCH_MAX_RUNS];
	unsigned int n;
};

void bench_add(const char *scenario, const char *name, const char *unit, double v);
const struct bench_series *bench_find(const char *scenario, const char *name);
double bench_median(const struct bench_series *s);
/* Median, min and max of s's runs (s->n > 0). */
void bench_stats(const struct bench_series *s, double *med, double *min, double *max);
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_info(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bench_print_table(FILE *out);
void bench_print_json(FILE *out);

/* ---- running on the worker lcore (main.c) ---- */
struct bench_live {
	volatile uint64_t pkts;        /* written by the lcore (or tick), read for progress */
	struct weir_worker *drain;     /* whose rings the main lcore drains */
};
extern struct bench_live bench_live;

/* Run fn(arg) on the worker lcore; meanwhile, every millisecond, drain the
 * snapshot and verdict rings of bench_live.drain (if set), call tick(targ)
 * (if set; it may tell the worker to stop), and print "label" progress on
 * stderr. Returns fn's return value, or -1 if it could not start. */
int bench_run_on_worker(int (*fn)(void *), void *arg, const char *label,
			void (*tick)(void *), void *targ);
/* The same on n lcores at once, fn(args[i]) on lcores[i]; returns when
 * every one has returned (the first non-zero return value, else 0). */
int bench_run_on_lcores(unsigned int n, const unsigned int *lcores, int (*fn)(void *), void *const *args,
			const char *label, void (*tick)(void *), void *targ);
/* What the main lcore does for a worker every millisecond: read and release
 * each flow snapshot and DPI verdict (as weir_control_drain does), then,
 * unless prefaulted is NULL, fault in its next flow entries (as
 * engine/main.c does with weir_worker_prefault). */
void bench_drain(struct weir_worker *w, uint32_t *prefaulted);
extern uint64_t bench_verdicts, bench_verdict_bytes;	/* what bench_drain read */
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double bench_now_s(void);
/* Wall-clock time, unix ms (what the engine stamps its cycles with). */
uint64_t bench_wall_ms(void);

/* limit's measured loop (limit.c, limit_steps.c): rx_burst of 32 from
 * port, work(arg, pkts, k) on each burst unless work is NULL, free, until
 * bench.run_pkts packets or bench.limit_run_s have passed. Inline, and
 * given a static function or NULL, it compiles to the bare loop plus that
 * work, so the ceiling and its steps share one loop. Returns the TSC
 * cycles; *n_pkts the packets. */
static inline __attribute__((always_inline)) uint64_t
bench_rx_loop(uint16_t port, void (*work)(void *, struct rte_mbuf **, uint16_t), void *arg, uint64_t *n_pkts)
{
	struct rte_mbuf *pkts[32];
	uint64_t hz = rte_get_tsc_hz(), max_tsc = (uint64_t)(bench.limit_run_s * (double)hz);
	uint64_t n = 0, loops = 0;
	uint64_t t0 = rte_rdtsc(), t = t0;

	while (n < bench.run_pkts && t - t0 < max_tsc) {
		uint16_t k = rte_eth_rx_burst(port, 0, pkts, 32);
		if (work)
			work(arg, pkts, k);
		rte_pktmbuf_free_bulk(pkts, k);
		n += k;
		if ((++loops & 255) == 0) {
			t = rte_rdtsc();
			bench_live.pkts = n;
		}
	}
	*n_pkts = n;
	return rte_rdtsc() - t0;
}

/* ---- pre-built traffic (traffic.c) ---- */
enum bench_traffic {
	BENCH_TRAFFIC_HOT,             /* 64 bidirectional flows, fixed */
	BENCH_TRAFFIC_COLD,            /* 1M flows, rewritten as dequeued */
};
#define BENCH_HOT_FLOWS   64
#define BENCH_COLD_FLOWS  (1u << 20)
#define BENCH_FRAME_LEN   64       /* as net_null's default packet_size */
#define BENCH_POOL_MBUFS  1024     /* a NIC RX ring's worth */

/* Write flow `flow`'s frame (client->server, or reverse) at p: 64 bytes,
 * Ethernet + IPv4 + TCP ACK, 10.1.(flow >> 8).(flow & 255):40000+(flow & 255)
 * <-> 10.2.0.1:443 (distinct for flow < 4096). */
void bench_traffic_frame(uint8_t *p, unsigned int flow, int reverse);

/* A single-producer/single-consumer mempool (cache 0, "ring_sp_sc") of
 * BENCH_POOL_MBUFS pre-built frames; see traffic.c. */
struct rte_mempool *bench_traffic_pool(const char *name);

/* Give the n mbufs the identity of the next n of the 1M cold flows (IPv4
 * source host and source port rewritten; a full-period LCG over 2^20 visits
 * every flow once per 1M packets, in an order the flow hash makes random). */
void bench_traffic_rewrite(struct rte_mbuf **m, unsigned int n, uint32_t *state);
/* Give the frame at p cold flow x's identity (x < BENCH_COLD_FLOWS). */
void bench_traffic_rewrite_frame(uint8_t *p, uint32_t x, int host_per_flow);
/* The same, or with host_per_flow a client host of its own for each flow
 * (memory's per-host figure). */
void bench_traffic_rewrite_as(struct rte_mbuf **m, unsigned int n, uint32_t *state, int host_per_flow);

/* The same as an ethdev RX callback (user: a uint32_t LCG state). */
uint16_t bench_traffic_rx_rewrite(uint16_t port, uint16_t queue, struct rte_mbuf **m, uint16_t n,
				  uint16_t max, void *user);

/* Configuration for the engine, through the engine's own parser. */
int bench_engine_cfg(struct weir_config *cfg, uint32_t flow_table_size, uint32_t flow_ring_size,
		     int dpi);

/* ---- scenarios ---- */
/* cache.c: bench.pcap, generated unless the current generator's is cached */
int bench_cache_capture(void);

int bench_limit(void);
/* limit_steps.c: the ring limit plus a parse, plus DPDK's rte_hash */
int bench_limit_steps(void);
void bench_limit_steps_tsv(void);      /* CACHE/limit-steps.tsv, after hot and cold */
int bench_hot_cold(int cold);
int bench_pcap(void);
int bench_memory(void);
int bench_export(void);
int bench_publish(void);
int bench_scale(void);
/* The EAL --lcores mapping (scale.c): main lcore 0 on the first CPU, worker
 * lcores 1..bench_scale_max_workers() spread over the CPUs. */
void bench_eal_lcores(char *buf, size_t len);
unsigned int bench_scale_max_workers(void);

/* ---- other processes (proc.c) ---- */
/* Every CPU for the calling thread (EAL pinned the main one to lcore 0). */
void bench_all_cpus(void);
/* fork/exec argv (every CPU, own session), stdout+stderr to log (or /dev/null). */
pid_t bench_spawn(char *const argv[], const char *log);
/* Send sig, wait at most timeout_s, then SIGKILL. Exit status, 128+signal,
 * -2 if it had to be killed, -1 on error. */
int bench_stop(pid_t pid, int sig, double timeout_s);
int bench_alive(pid_t pid);
int bench_log_has(const char *log, const char *needle);
int bench_wait_log(pid_t pid, const char *log, const char *needle, double timeout_s);
uint16_t bench_free_udp_port(void);
uint16_t bench_free_tcp_port(void);
/* redis-server on a free loopback port, no persistence; its pid. */
pid_t bench_redis_start(const char *workdir, uint16_t *port);
void *bench_redis_connect(uint16_t port);      /* a hiredis context, NULL if none */
long long bench_redis_hget_ll(void *ctx, const char *key, const char *field);
int bench_redis_exists(void *ctx, const char *key);
void bench_redis_free(void *ctx);
/* The receive queue (bytes) and drops of the UDP socket(s) bound to port. */
int bench_udp_sock(uint16_t port, uint64_t *rx_queue, uint64_t *drops);
/* Raise net.core.rmem_max to want (if lower); what it is now. */
long long bench_rmem_raise(long long want);
void bench_rmem_restore(void);
/* CACHE/run-PID, for logs and peers' files; removed at the end. */
const char *bench_workdir(void);
void bench_workdir_remove(void);

/* Resident set size of this process, bytes. */
uint64_t bench_rss_bytes(void);
/* --decode: the cached stream through the decoder alone (decode.c). */
int bench_decode(const char *stream, double secs);
/* Return the heap's freed pages to the system (before a resident-set reading). */
void bench_heap_purge(void);

#endif
