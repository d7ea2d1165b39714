/* pcap_run.c -- one pass over the generated mixed capture, several ways.
 *
 * drop:        net_pcap rx-and-free (libpcap read + copy into mbufs) on the
 *              worker lcore: the ceiling for anything reading this file
 *              through DPDK.
 * engine:      weir_worker_main() itself on the worker lcore, its RX queue
 *              the net_pcap port, in file mode (packet timestamps; a full
 *              snapshot ring waits for the control drain instead of
 *              dropping), DPI off. The main lcore drains its rings and, as
 *              engine/main.c does, stops it once the port has delivered every
 *              frame of the file; the worker then flushes every flow. Timed
 *              from launch to the worker's return: what `weir -r` does per
 *              packet, without EAL start-up, its frame count and its final
 *              Redis publish.
 * engine_dpi:  the same with --dpi yes: nDPI on every flow's first packets,
 *              as the worker does it. The nDPI module is made beforehand on
 *              the same lcore (as weir_worker_main would make it), so its
 *              start-up is not in the figure.
 * engine_dpi_less_ndpi: derived, not run: the engine_dpi pass with the
 *              TSC cycles the worker spent inside weir_dpi_process (its
 *              dpi_tsc counter: nDPI's work on the packets it was fed)
 *              taken out. Over drop, what the DPI pass would read if nDPI
 *              cost nothing: the part of dpi_vs_drop that is weir's.
 * ndpireader:  `ndpiReader -i FILE`, wall time of the whole process (its
 *              own "nDPI throughput" line is kept as ndpireader_self_kpps).
 * softflowd:   `softflowd -r FILE -n 127.0.0.1:9 -v 9`, wall time.
 *
 * Rates are frames of the file / seconds, in kpps. The pcap port is rewound
 * between passes by stopping and starting it (net_pcap reopens the file). */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf_dyn.h>

#include "weir/dpi.h"
#include "bench.h"
#include "worker.h"

enum pass { PASS_DROP, PASS_ENGINE, PASS_DPI, PASS__MAX };
static const char *const pass_names[PASS__MAX] = {"drop_kpps", "engine_kpps", "engine_dpi_kpps"};

struct pcap_pass {
	enum pass kind;
	struct weir_worker *w;
	uint64_t frames;
	uint64_t pkts, tsc;
	int idle_out;
};

/* What one TSC read costs here, in cycles: the price of dpi_tsc, two
 * reads a packet fed to nDPI. */
static double
tsc_read_cycles(void)
{
	const unsigned int n = 1u << 20;
	uint64_t sum = 0, t0 = rte_rdtsc();
	for (unsigned int i = 0; i < n; i++)
		sum += rte_rdtsc();
	uint64_t t1 = rte_rdtsc();
	__asm__ __volatile__("" : : "r"(sum));
	return (double)(t1 - t0) / n;
}

static long long
count_frames(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p)
		return -1;
	struct pcap_pkthdr *h;
	const u_char *d;
	long long n = 0;
	while (pcap_next_ex(p, &h, &d) == 1)
		n++;
	pcap_close(p);
	return n;
}

static int
drop_loop(void *arg)
{
	struct pcap_pass *r = arg;
	struct rte_mbuf *pkts[WEIR_BURST];
	uint64_t hz = rte_get_tsc_hz(), n = 0, idle_since = 0;
	uint64_t t0 = rte_rdtsc();

	while (n < r->frames) {
		uint16_t k = rte_eth_rx_burst(bench.pcap_port, 0, pkts, WEIR_BURST);
		if (!k) {
			uint64_t t = rte_rdtsc();
			if (!idle_since)
				idle_since = t;
			else if (t - idle_since > 2 * hz) {
				r->idle_out = 1;
				break;
			}
			continue;
		}
		idle_since = 0;
		n += k;
		rte_pktmbuf_free_bulk(pkts, k);
		if ((n & 1023) < WEIR_BURST)
			bench_live.pkts = n;
	}
	r->tsc = rte_rdtsc() - t0;
	r->pkts = n;
	return 0;
}

/* On the worker lcore before the timed pass: nDPI's memory is counted per
 * thread, so the module is made where weir_worker_main() would make it. */
static int
make_dpi(void *arg)
{
	struct weir_worker *w = arg;
	weir_worker_dpi_open(w);	/* as weir_worker_main does, on this lcore */
	return w->dpi ? 0 : -1;
}

/* On the main lcore: stop the worker once the port has delivered the whole
 * file (as engine/main.c does), or has stalled for 2 s. */
struct pcap_watch {
	struct pcap_pass *r;
	uint64_t last_rx;
	double last_change;
	int stopped;
};

static void
pcap_tick(void *arg)
{
	struct pcap_watch *pw = arg;
	struct rte_eth_stats st;
	if (pw->stopped || rte_eth_stats_get(bench.pcap_port, &st) != 0)
		return;
	double now = bench_now_s();
	bench_live.pkts = st.ipackets;
	if (st.ipackets != pw->last_rx) {
		pw->last_rx = st.ipackets;
		pw->last_change = now;
	}
	int stall = now - pw->last_change > 2.0;
	if (st.ipackets + st.ierrors >= pw->r->frames || stall) {
		pw->r->idle_out = stall;
		pw->r->pkts = st.ipackets;
		pw->stopped = 1;
		__atomic_store_n(&pw->r->w->stop, 1, __ATOMIC_RELEASE);
	}
}

static int
run_pass(struct pcap_pass *r, const char *label)
{
	if (r->kind == PASS_DROP)
		return bench_run_on_worker(drop_loop, r, label, NULL, NULL);
	struct pcap_watch pw = {.r = r, .last_change = bench_now_s()};
	bench_live.drain = r->w;
	uint64_t t0 = rte_rdtsc();
	int rc = bench_run_on_worker(weir_worker_main, r->w, label, pcap_tick, &pw);
	r->tsc = rte_rdtsc() - t0;
	bench_live.drain = NULL;
	return rc;
}

/* Run a command, its stdout into out (may be NULL); wall seconds, <0 if it failed. */
static double
timed_cmd(const char *cmd, char *out, size_t outlen)
{
	double t0 = bench_now_s();
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t len = 0;
	char buf[4096];
	size_t k;
	while ((k = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (out && len + 1 < outlen) {
			size_t c = k < outlen - 1 - len ? k : outlen - 1 - len;
			memcpy(out + len, buf, c);
			len += c;
		}
	}
	int rc = pclose(p);
	double t = bench_now_s() - t0;
	if (out)
		out[len] = 0;
	return rc == 0 ? t : -1;
}

static void
peers(uint64_t frames, unsigned int rep)
{
	static char out[1 << 16];
	char cmd[2400];

	snprintf(cmd, sizeof(cmd), "ndpiReader -i '%s' 2>/dev/null", bench.pcap);
	bench_progress("  pcap ndpiReader run %u/%u", rep + 1, bench.repeat);
	double t = timed_cmd(cmd, out, sizeof(out));
	if (t > 0) {
		bench_add("pcap", "ndpireader_kpps", "kpps", (double)frames / t / 1e3);
		/* "nDPI throughput:       258.70 K pps / 1.07 Gb/sec" */
		const char *s = strstr(out, "nDPI throughput:");
		double v;
		char unit;
		if (s && sscanf(s + 16, " %lf %c pps", &v, &unit) == 2)
			bench_add("pcap", "ndpireader_self_kpps", "kpps",
				  unit == 'M' ? v * 1e3 : unit == 'K' ? v : v / 1e3);
	} else if (rep == 0) {
		bench_note("pcap: ndpiReader failed or is missing: %s", cmd);
	}

	snprintf(cmd, sizeof(cmd), "softflowd -r '%s' -n 127.0.0.1:9 -v 9 >/dev/null 2>&1", bench.pcap);
	bench_progress("  pcap softflowd run %u/%u", rep + 1, bench.repeat);
	t = timed_cmd(cmd, NULL, 0);
	if (t > 0)
		bench_add("pcap", "softflowd_kpps", "kpps", (double)frames / t / 1e3);
	else if (rep == 0)
		bench_note("pcap: softflowd failed or is missing: %s", cmd);
}

int
bench_pcap(void)
{
	long long frames = count_frames(bench.pcap);
	if (frames <= 0) {
		bench_note("pcap: cannot read %s", bench.pcap);
		return -1;
	}
	static struct weir_config cfg_off, cfg_on;
	if (bench_engine_cfg(&cfg_off, 1u << 20, 262144, 0) != 0 ||
	    bench_engine_cfg(&cfg_on, 1u << 20, 262144, 1) != 0)
		return -1;
	struct weir_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	if (!w)
		return -1;

	for (unsigned int rep = 0; rep < bench.repeat; rep++) {
		for (int kind = 0; kind < PASS__MAX; kind++) {
			struct pcap_pass r = {.kind = (enum pass)kind, .frames = (uint64_t)frames};
			/* rewind: net_pcap reopens its file on start (stats restart too) */
			rte_eth_dev_stop(bench.pcap_port);
			rte_eth_dev_start(bench.pcap_port);
			rte_eth_stats_reset(bench.pcap_port);
			if (kind != PASS_DROP) {
				if (weir_worker_init(w, 0, kind == PASS_DPI ? &cfg_on : &cfg_off) != 0) {
					bench_note("pcap: weir_worker_init failed");
					goto out;
				}
				w->rxq[0].port = bench.pcap_port;
				w->rxq[0].queue = 0;
				w->n_rxq = 1;
				w->peers = &w;
				w->n_workers = 1;
				w->file_mode = 1;
				/* net_pcap stamps every mbuf (see engine/ports.c) */
				int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);
				int off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
				w->ts_dynfield = bit >= 0 ? off : -1;
				w->ts_dynflag = bit >= 0 ? RTE_BIT64(bit) : 0;
				r.w = w;
				if (kind == PASS_DPI &&
				    bench_run_on_worker(make_dpi, w, "pcap: making the nDPI module", NULL, NULL) != 0) {
					if (rep == 0)
						bench_note("pcap: weir_dpi_create failed: no DPI-on pass");
					weir_worker_fini(w);
					continue;
				}
			}
			char label[80];
			snprintf(label, sizeof(label), "pcap %s run %u/%u", pass_names[kind], rep + 1, bench.repeat);
			int rc = run_pass(&r, label);
			if (rc == 0 && r.pkts == (uint64_t)frames && !r.idle_out) {
				double kpps = (double)r.pkts * (double)rte_get_tsc_hz() / (double)r.tsc / 1e3;
				bench_add("pcap", pass_names[kind], "kpps", kpps);
				bench_progress("  %s: %.1f kpps", label, kpps);
				if (kind == PASS_DPI && w->st.dpi_tsc < r.tsc) {
					/* derived: the same pass with nDPI's packet work taken out */
					bench_add("pcap", "engine_dpi_less_ndpi_kpps", "kpps",
						  (double)r.pkts * (double)rte_get_tsc_hz() /
							  (double)(r.tsc - w->st.dpi_tsc) / 1e3);
					double ms = 1e3 / (double)rte_get_tsc_hz(), rd = rep ? 0 : tsc_read_cycles();
					if (rep == 0)
						bench_note("pcap engine_dpi: weir_dpi_process (nDPI's work on the packets "
							   "fed) took %.0f ms of the pass's %.0f ms (%.1f%%); counting it, "
							   "two TSC reads of %.1f cycles for each of %llu packets fed, "
							   "took %.1f ms",
							   (double)w->st.dpi_tsc * ms, (double)r.tsc * ms,
							   100.0 * (double)w->st.dpi_tsc / (double)r.tsc, rd,
							   (unsigned long long)w->st.dpi_pkts,
							   2.0 * rd * (double)w->st.dpi_pkts * ms);
				}
			} else if (rep == 0) {
				bench_note("pcap %s: read %llu of %lld frames%s", pass_names[kind],
					   (unsigned long long)r.pkts, frames, r.idle_out ? " (the vdev stalled)" : "");
			}
			if (rep == 0 && kind == PASS_ENGINE)
				bench_note("pcap: %lld frames in %s; the engine made %llu flows", frames, bench.pcap,
					   (unsigned long long)w->st.flows_created);
			if (rep == 0 && kind == PASS_DPI)
				bench_note("pcap engine_dpi: nDPI fed %llu packets (%llu TCP without payload, %llu "
					   "after the application was named); %llu flows given a slot, %llu "
					   "detected, %llu gave up, %llu found the pool full",
					   (unsigned long long)w->st.dpi_pkts,
					   (unsigned long long)w->st.dpi_pkts_no_payload,
					   (unsigned long long)w->st.dpi_pkts_after_app,
					   (unsigned long long)w->st.dpi_flows,
					   (unsigned long long)w->st.dpi_detected,
					   (unsigned long long)w->st.dpi_gave_up,
					   (unsigned long long)w->st.dpi_pool_full);
			if (rep == 0 && kind == PASS_DPI && bench_verdicts)
				bench_note("pcap engine_dpi: %llu verdicts sent to the control thread, %.0f bytes "
					   "each packed (%zu unpacked)", (unsigned long long)bench_verdicts,
					   (double)bench_verdict_bytes / (double)bench_verdicts,
					   sizeof(struct weir_dpi_result) + sizeof(uint64_t));
			if (r.w)
				weir_worker_fini(w);
		}
		peers((uint64_t)frames, rep);
	}
out:
	free(w);
	return 0;
}
