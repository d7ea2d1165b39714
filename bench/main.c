/* main.c -- weir-bench: command line, EAL, ports, and the two lcores' roles.
 *
 *   weir-bench [--quick] [--json] [--scenario NAME ...] [--repeat N]
 *
 * Scenarios: limit, hot, cold, memory, scale, pcap, publish, export
 * (default: all). Each measured loop runs on worker lcore 1 (scale: on
 * lcores 1..N), bounded in packets and in time; the main
 * lcore plays the engine's control thread (it drains the worker's flow
 * snapshots on the same 5 ms nap as engine/main.c) and prints a progress
 * line on stderr. The table goes to stdout, or with --json one object with
 * "scenarios", "ratios" and "notes". See bench/README.md. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_version.h>

#include "bench.h"
#include "export.h"
#include "worker.h"

#define LOOP_FRAMES 32768          /* the publish scenario's looped capture */

struct bench_opts bench;
struct bench_live bench_live;

#ifndef WEIR_SOURCE_ROOT
#define WEIR_SOURCE_ROOT "."
#endif
#ifndef WEIR_BUILD_ROOT
#define WEIR_BUILD_ROOT "."
#endif

double
bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t
bench_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int progress_tty = -1;

void
bench_progress(const char *fmt, ...)
{
	char line[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (progress_tty < 0)
		progress_tty = isatty(STDERR_FILENO);
	/* on a terminal one line rewritten in place; elsewhere one line each */
	if (progress_tty)
		fprintf(stderr, "\r\033[K%s", line);
	else
		fprintf(stderr, "%s\n", line);
	fflush(stderr);
}

static void
nap_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

uint64_t bench_verdicts, bench_verdict_bytes;

/* The control thread's share: read each snapshot, unpack each verdict
 * (their lines move to this core, as in weir_control_drain) and release
 * them; bench_verdicts and bench_verdict_bytes count the verdicts. A worker in
 * file mode waits for this when its rings are full. Then, unless
 * prefaulted is NULL (the worker has stopped), fault in its next flow
 * entries, as engine/main.c does (weir_worker_prefault; *prefaulted is
 * the caller's, 0 at first). */
void
bench_drain(struct weir_worker *w, uint32_t *prefaulted)
{
	uint64_t sum = 0;
	const struct weir_flow_snap *s;
	const uint8_t *d;
	uint32_t len;
	while ((s = weir_spsc_ring_peek(&w->snaps))) {
		sum += s->bytes[0] + s->bytes[1] + s->pkts[0] + s->last_ms + s->key.pa;
		weir_spsc_ring_pop(&w->snaps);
	}
	while ((d = weir_spsc_ring_peek_var(&w->dpi_out, &len))) {
		uint64_t uid;
		struct weir_dpi_result r;
		if (weir_dpi_msg_unpack(d, len, &uid, &r) == 0)
			sum += uid + r.app_id;
		bench_verdicts++;
		bench_verdict_bytes += len;
		weir_spsc_ring_pop_var(&w->dpi_out);
	}
	__asm__ volatile("" : : "r"(sum));
	if (prefaulted)
		weir_worker_prefault(w, prefaulted);
}

static int
any_running(unsigned int n, const unsigned int *lcores)
{
	for (unsigned int i = 0; i < n; i++)
		if (rte_eal_get_lcore_state(lcores[i]) != WAIT)
			return 1;
	return 0;
}

int
bench_run_on_lcores(unsigned int n, const unsigned int *lcores, int (*fn)(void *), void *const *args,
		    const char *label, void (*tick)(void *), void *targ)
{
	bench_live.pkts = 0;
	uint32_t prefaulted = 0;
	if (bench_live.drain)
		weir_worker_prefault(bench_live.drain, &prefaulted);
	for (unsigned int i = 0; i < n; i++) {
		if (rte_eal_remote_launch(fn, args[i], lcores[i]) != 0) {
			fprintf(stderr, "weir-bench: cannot launch on lcore %u\n", lcores[i]);
			/* those already running are stopped by their caller's tick */
			n = i;
			break;
		}
	}
	double t0 = bench_now_s(), next = t0 + 0.5;
	uint64_t last = 0;
	double last_t = t0;
	while (any_running(n, lcores)) {
		nap_ms(1);
		if (bench_live.drain)
			bench_drain(bench_live.drain, &prefaulted);
		if (tick)
			tick(targ);
		double now = bench_now_s();
		if (now >= next) {
			uint64_t p = bench_live.pkts;
			bench_progress("  %s: %.1f s, %.1f M pkts, %.2f Mpps", label, now - t0, (double)p / 1e6,
				       (double)(p - last) / (now - last_t) / 1e6);
			last = p;
			last_t = now;
			next = now + 0.5;
		}
	}
	int rc = 0;
	for (unsigned int i = 0; i < n; i++) {
		int r = rte_eal_wait_lcore(lcores[i]);
		rc = rc ? rc : r;
	}
	if (bench_live.drain)
		bench_drain(bench_live.drain, NULL);
	return n ? rc : -1;
}

int
bench_run_on_worker(int (*fn)(void *), void *arg, const char *label, void (*tick)(void *), void *targ)
{
	return bench_run_on_lcores(1, &bench.worker_lcore, fn, &arg, label, tick, targ);
}

static int
selected(const char *name)
{
	if (!bench.n_scenarios)
		return 1;
	for (unsigned int i = 0; i < bench.n_scenarios; i++)
		if (!strcmp(bench.scenarios[i], name))
			return 1;
	return 0;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: weir-bench [--quick] [--json] [--scenario NAME ...] [--repeat N]\n"
		"  --quick        fewer and shorter runs (under 2 minutes on 2 cores)\n"
		"  --json         one JSON object on stdout instead of the table\n"
		"  --scenario S   limit, hot, cold, memory, scale, pcap, publish, export (repeatable;\n"
		"                 default all)\n"
		"  --repeat N     runs per measurement (default 5, --quick 3)\n"
		"  --cache DIR    where the generated capture is kept (default BUILD/bench-cache)\n"
		"Needs root (DPDK). Progress on stderr. See bench/README.md.\n"
		"\n"
		"       weir-bench --send nf9|ipfix|sflow PORT RATE SECONDS [--as-caught] [--cache DIR]\n"
		"  send a cached export stream (made by an export run) to 127.0.0.1:PORT at RATE\n"
		"  records a second (0: as fast as it goes), dated as sent unless --as-caught, as the\n"
		"  export scenario does; no DPDK, no root (bench/collect-cpu.sh uses it)\n"
		"\n"
		"       weir-bench --sink PORT SECONDS\n"
		"  the least a collector does: take datagrams on 127.0.0.1:PORT and drop them, for\n"
		"  SECONDS or until SIGTERM; prints what it took; no DPDK, no root (collect-cpu.sh\n"
		"  PEER=sink)\n"
		"\n"
		"       weir-bench --decode nf9|ipfix SECONDS [--cache DIR]\n"
		"  the decoder alone: replay the cached stream through weir_xflow_decode for one\n"
		"  exporter, no socket, flow table or Redis; records a second\n");
}

static const char *const known[] = {"limit", "hot", "cold", "memory", "scale", "pcap", "publish", "export"};

static struct {
	const char *stream;
	long port;
	double rate, secs;
} send_only, decode_only;

static struct {
	int on;
	long port;
	double secs;
} sink_only;

/* --send: one paced replay of a cached stream, the export scenario's sender
 * on its own, for a collector run by hand. */
static int
send_stream(void)
{
	static const char *const names[] = {"nf9", "ipfix", "sflow"};
	int kind = -1;
	for (int k = 0; k < 3; k++)
		if (!strcmp(send_only.stream, names[k]))
			kind = k;
	char path[1200];
	snprintf(path, sizeof(path), "%s/export-%s.dgrams", bench.cache_dir, send_only.stream);
	if (kind < 0 || send_only.port < 1 || send_only.port > 65535 || send_only.rate < 0 || send_only.secs <= 0) {
		fprintf(stderr, "weir-bench: --send takes nf9|ipfix|sflow, a port, records/s (0: unpaced), seconds\n");
		return 2;
	}
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "weir-bench: no %s: run 'weir-bench --scenario export --quick' once\n", path);
		return 2;
	}
	struct bench_stream s;
	struct bench_sent sent;
	if (bench_stream_load(&s, (enum bench_stream_kind)kind) != 0) {
		fprintf(stderr, "weir-bench: %s does not parse\n", path);
		return 1;
	}
	int rc = bench_send(&s, (uint16_t)send_only.port, send_only.rate, send_only.secs, &sent);
	if (rc == 0)
		printf("sent %llu datagrams, %llu records in %.2f s (%.0f records/s, %llu send errors)%s\n",
		       (unsigned long long)sent.dgrams, (unsigned long long)sent.records, sent.secs,
		       (double)sent.records / sent.secs, (unsigned long long)sent.send_errors,
		       bench.as_caught ? ", as caught" : "");
	bench_stream_free(&s);
	return rc ? 1 : 0;
}

static int
parse_args(int argc, char **argv)
{
	bench.repeat = 0;
	snprintf(bench.cache_dir, sizeof(bench.cache_dir), "%s/bench-cache", WEIR_BUILD_ROOT);
	snprintf(bench.source_root, sizeof(bench.source_root), "%s", WEIR_SOURCE_ROOT);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--quick")) {
			bench.quick = 1;
		} else if (!strcmp(a, "--json")) {
			bench.json = 1;
		} else if (!strcmp(a, "--repeat") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > BENCH_MAX_RUNS) {
				fprintf(stderr, "weir-bench: --repeat takes 1..%d\n", BENCH_MAX_RUNS);
				return -1;
			}
			bench.repeat = (unsigned int)v;
		} else if (!strcmp(a, "--send") && i + 4 < argc) {
			send_only.stream = argv[++i];
			send_only.port = strtol(argv[++i], NULL, 10);
			send_only.rate = strtod(argv[++i], NULL);
			send_only.secs = strtod(argv[++i], NULL);
		} else if (!strcmp(a, "--sink") && i + 2 < argc) {
			sink_only.on = 1;
			sink_only.port = strtol(argv[++i], NULL, 10);
			sink_only.secs = strtod(argv[++i], NULL);
		} else if (!strcmp(a, "--decode") && i + 2 < argc) {
			decode_only.stream = argv[++i];
			decode_only.secs = strtod(argv[++i], NULL);
		} else if (!strcmp(a, "--as-caught")) {
			bench.as_caught = 1;
		} else if (!strcmp(a, "--cache") && i + 1 < argc) {
			snprintf(bench.cache_dir, sizeof(bench.cache_dir), "%s", argv[++i]);
		} else if (!strcmp(a, "--scenario") && i + 1 < argc) {
			/* --scenario hot cold ... : every following non-option */
			while (i + 1 < argc && argv[i + 1][0] != '-') {
				const char *s = argv[++i];
				int ok = 0;
				for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
					ok |= !strcmp(s, known[k]);
				if (!ok || bench.n_scenarios >= 8) {
					fprintf(stderr, "weir-bench: unknown scenario '%s' (limit, hot, cold, memory, "
						"scale, pcap, publish, export)\n", s);
					return -1;
				}
				snprintf(bench.scenarios[bench.n_scenarios++], sizeof(bench.scenarios[0]), "%s", s);
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 1;
		} else {
			fprintf(stderr, "weir-bench: unexpected argument '%s'\n", a);
			usage(stderr);
			return -1;
		}
	}
	if (!bench.repeat)
		bench.repeat = bench.quick ? 3 : 5;
	bench.run_s = bench.quick ? 0.75 : 4.0;
	bench.limit_run_s = bench.quick ? 0.4 : bench.run_s;
	bench.run_pkts = bench.quick ? 150000000ull : 600000000ull;
	return 0;
}

static int
port_up(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) < 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, (unsigned int)rte_eth_dev_socket_id(port), NULL, mp) < 0 ||
	    rte_eth_tx_queue_setup(port, 0, 512, (unsigned int)rte_eth_dev_socket_id(port), NULL) < 0 ||
	    rte_eth_dev_start(port) < 0)
		return -1;
	return 0;
}

static void
loadavg(const char *key)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	bench_info(key, "%s", buf);
}

static void
machine_info(void)
{
	loadavg("loadavg_start");
	bench_info("dpdk", "%s", rte_version());
	bench_info("ncpu", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			if (c) {
				c[strcspn(c, "\n")] = 0;
				bench_info("cpu", "%s", c + 2);
			}
			break;
		}
	}
	if (f)
		fclose(f);
	bench_info("tsc_hz", "%llu", (unsigned long long)rte_get_tsc_hz());
	bench_info("mode", "%s, %u runs each", bench.quick ? "quick" : "full", bench.repeat);
}

int
main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (send_only.stream)
		return send_stream();
	if (sink_only.on) {
		if (sink_only.port < 1 || sink_only.port > 65535 || !(sink_only.secs > 0)) {
			fprintf(stderr, "weir-bench: --sink takes a port and seconds\n");
			return 2;
		}
		return bench_sink((uint16_t)sink_only.port, sink_only.secs);
	}
	if (decode_only.stream)
		return bench_decode(decode_only.stream, decode_only.secs);
	if (bench.as_caught) {
		fprintf(stderr, "weir-bench: --as-caught goes with --send\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "weir-bench: DPDK needs root here; run it with sudo\n");
		return 2;
	}
	int want_pcap = selected("pcap"), want_export = selected("export"), want_publish = selected("publish");
	if ((want_pcap || want_export || want_publish) && bench_cache_capture() != 0)
		return 1;
	char loop_pcap[1200];
	snprintf(loop_pcap, sizeof(loop_pcap), "%s/first-%uk.pcap", bench.cache_dir, LOOP_FRAMES / 1024);
	if (want_publish && bench_pcap_slice(loop_pcap, LOOP_FRAMES) != 0) {
		fprintf(stderr, "weir-bench: cannot write %s\n", loop_pcap);
		return 1;
	}

	char prefix[64], vpcap[1200], vloop[1300], lcores[1024];
	snprintf(prefix, sizeof(prefix), "--file-prefix=bench-%d", (int)getpid());
	snprintf(vpcap, sizeof(vpcap), "--vdev=net_pcap0,rx_pcap=%s", bench.pcap);
	snprintf(vloop, sizeof(vloop), "--vdev=net_pcap1,rx_pcap=%s,infinite_rx=1", loop_pcap);
	bench_eal_lcores(lcores, sizeof(lcores));
	char *eal[16] = {"weir-bench", lcores, "--no-huge", "--no-pci", "-m", "512", prefix,
			 "--log-level=lib.eal:warning", "--log-level=pmd.net.pcap:warning",
			 "--vdev=net_null0", "--vdev=net_null1", "--vdev=net_null2", "--vdev=net_null3"};
	int eal_argc = 13;
	if (want_pcap)
		eal[eal_argc++] = vpcap;
	if (want_publish)
		eal[eal_argc++] = vloop;
	eal[eal_argc] = NULL;
	if (rte_eal_init(eal_argc, eal) < 0) {
		fprintf(stderr, "weir-bench: DPDK could not start: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	bench.worker_lcore = rte_get_next_lcore(-1, 1, 0);
	if (bench.worker_lcore >= RTE_MAX_LCORE) {
		fprintf(stderr, "weir-bench: needs two lcores (one to measure, one to control)\n");
		return 2;
	}
	machine_info();

	bench.null_pool = rte_pktmbuf_pool_create("bench_null", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
						  (int)rte_socket_id());
	if (bench.null_pool && rte_eth_dev_get_port_by_name("net_null0", &bench.null_port) == 0 &&
	    port_up(bench.null_port, bench.null_pool) == 0)
		bench.have_null = 1;
	else
		bench_note("net_null0 did not come up: the limit(net_null) baseline is missing");
	static uint32_t cold_lcg = 1;
	bench.hot_pool = bench_traffic_pool("bench_hot");
	bench.cold_pool = bench_traffic_pool("bench_cold");
	if (bench.hot_pool && bench.cold_pool &&
	    rte_eth_dev_get_port_by_name("net_null1", &bench.hot_port) == 0 &&
	    rte_eth_dev_get_port_by_name("net_null2", &bench.cold_port) == 0 &&
	    port_up(bench.hot_port, bench.hot_pool) == 0 && port_up(bench.cold_port, bench.cold_pool) == 0 &&
	    rte_eth_add_rx_callback(bench.cold_port, 0, bench_traffic_rx_rewrite, &cold_lcg))
		bench.have_prebuilt = 1;
	else
		bench_note("the pre-built frame ports (net_null1, net_null2) did not come up: no ring, hot, cold");
	if (want_pcap) {
		bench.pcap_pool = rte_pktmbuf_pool_create("bench_pcap", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
							  (int)rte_socket_id());
		if (bench.pcap_pool && rte_eth_dev_get_port_by_name("net_pcap0", &bench.pcap_port) == 0 &&
		    port_up(bench.pcap_port, bench.pcap_pool) == 0)
			bench.have_pcap = 1;
		else
			bench_note("net_pcap0 did not come up: the pcap scenario is missing");
	}

	if (want_publish) {
		/* infinite_rx holds every frame of the file in this pool */
		bench.loop_pool = rte_pktmbuf_pool_create("bench_loop", LOOP_FRAMES + 8191, 256, 0,
							  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
		if (bench.loop_pool && rte_eth_dev_get_port_by_name("net_pcap1", &bench.loop_port) == 0 &&
		    port_up(bench.loop_port, bench.loop_pool) == 0)
			bench.have_loop = 1;
		else
			bench_note("net_pcap1 (%s, infinite_rx) did not come up: the publish scenario is missing",
				   loop_pcap);
	}

	if (selected("limit")) {
		bench_limit();
		bench_limit_steps();
	}
	if (selected("hot") && bench.have_prebuilt)
		bench_hot_cold(0);
	if (selected("cold") && bench.have_prebuilt)
		bench_hot_cold(1);
	if (selected("limit"))
		bench_limit_steps_tsv();
	if (selected("memory") && bench.have_prebuilt)
		bench_memory();
	if (selected("scale"))
		bench_scale();
	if (want_pcap && bench.have_pcap)
		bench_pcap();
	if (want_publish && bench.have_loop)
		bench_publish();
	if (want_export)
		bench_export();
	if (!getenv("WEIR_BENCH_KEEP"))
		bench_workdir_remove();
	if (progress_tty > 0)
		fputc('\n', stderr);

	loadavg("loadavg_end");
	if (bench.json)
		bench_print_json(stdout);
	else
		bench_print_table(stdout);

	if (bench.have_null) {
		rte_eth_dev_stop(bench.null_port);
		rte_eth_dev_close(bench.null_port);
	}
	if (bench.have_prebuilt) {
		rte_eth_dev_stop(bench.hot_port);
		rte_eth_dev_close(bench.hot_port);
		rte_eth_dev_stop(bench.cold_port);
		rte_eth_dev_close(bench.cold_port);
	}
	if (bench.have_pcap) {
		rte_eth_dev_stop(bench.pcap_port);
		rte_eth_dev_close(bench.pcap_port);
	}
	if (bench.have_loop) {
		rte_eth_dev_stop(bench.loop_port);
		rte_eth_dev_close(bench.loop_port);
	}
	rte_eal_cleanup();
	return 0;
}
