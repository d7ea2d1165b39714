/* main.c -- the weir engine: configuration, EAL, workers, control loop.
 *
 * The main lcore runs the control thread (control.c) in this file's loop;
 * every other lcore runs a worker (worker.c). The loop drains the workers'
 * flow snapshots, publishes on the publish interval, prints progress and
 * status, notices the end of a capture file, and on SIGINT/SIGTERM (or the
 * file's end) stops the workers, which flush every flow, then publishes
 * one last time and exits 0. A second SIGINT/SIGTERM exits at once. */
#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <urcu-qsbr.h>

#include "weir/config.h"
#include "control.h"
#include "events.h"
#include "log.h"
#include "ports.h"
#include "udp_collector.h"
#include "worker.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t hup_requested;

static void
on_stop(int sig)
{
	if (stop_requested) {
		static const char m[] = "weir: second signal, exiting without flushing\n";
		ssize_t rc = write(STDERR_FILENO, m, sizeof(m) - 1);
		(void)rc;
		_exit(1);
	}
	stop_requested = sig;
}

static void
on_hup(int sig)
{
	(void)sig;
	hup_requested = 1;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
nap_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Frames in a capture file, so we know when the pcap vdev has read it all
 * (the vdev itself never says "end of file"). -1 if unreadable. */
static long long
count_frames(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		weir_log(WEIR_LOG_ERR, "cannot read %s: %s", path, err);
		return -1;
	}
	int dlt = pcap_datalink(p);
	if (dlt != DLT_EN10MB)
		weir_log(WEIR_LOG_WARN, "%s: link type %s is not Ethernet; its frames will count as parse "
			 "errors", path, pcap_datalink_val_to_name(dlt));
	struct pcap_pkthdr *h;
	const u_char *d;
	long long n = 0;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1)
		n++;
	if (rc == PCAP_ERROR)
		weir_log(WEIR_LOG_WARN, "%s: %s after %lld frames (the rest is ignored)", path, pcap_geterr(p), n);
	pcap_close(p);
	return n;
}

static void
progress(const char *file, uint64_t done, long long total, uint64_t pps, int final)
{
	double pct = total > 0 ? 100.0 * (double)done / (double)total : 100.0;
	fprintf(stderr, "\r  %s: %5.1f%%  %llu/%lld frames  %.2f Mpps   %s", file, pct,
		(unsigned long long)done, total, (double)pps / 1e6, final ? "\n" : "");
	fflush(stderr);
}

/* SIGHUP: read the configuration again; a bad one changes nothing. Keys
 * the control thread owns take effect now, the rest need a restart; the
 * whole state is rewritten to Redis either way. Flows, templates and
 * counters are untouched. */
static void
reload(struct weir_config *live, struct weir_control *ctl, int argc, char **argv)
{
	static struct weir_config next;
	char changed[512];
	if (weir_config_load(&next, argc, argv) != 0) {
		weir_log(WEIR_LOG_WARN, "SIGHUP: the configuration has errors (above); keeping the running one");
		return;
	}
	int restart = weir_config_reload(live, &next, changed, sizeof(changed));
	weir_log(WEIR_LOG_INFO, "SIGHUP: configuration reloaded (%s)%s; republishing the whole state",
		 changed[0] ? changed : "no change that applies live",
		 restart ? "; other changed keys need a restart and are ignored" : "");
	weir_control_republish(ctl);
}

/* The workers' next flow entries, faulted in here, off their packet path
 * (weir_worker_prefault); done[i] is worker i's progress. */
static void
prefault(struct weir_worker **w, unsigned int n, uint32_t *done)
{
	for (unsigned int i = 0; i < n; i++)
		weir_worker_prefault(w[i], &done[i]);
}

/* A worker whose loop counter stands still for 2 s is stuck (a bug, or its
 * lcore taken by something else): say so once per stall, in the log and
 * as a `health` event (worker_stall, then worker_running when it moves). */
static void
check_stalls(struct weir_control *ctl, struct weir_worker **w, unsigned int n, uint64_t now)
{
	static uint64_t last_loops[WEIR_MAX_WORKERS], since[WEIR_MAX_WORKERS];
	static int reported[WEIR_MAX_WORKERS];
	char wid[12], lcore[12], ms[24];
	for (unsigned int i = 0; i < n && i < WEIR_MAX_WORKERS; i++) {
		uint64_t l = __atomic_load_n(&w[i]->st.loops, __ATOMIC_RELAXED);
		snprintf(wid, sizeof(wid), "%u", i);
		snprintf(ms, sizeof(ms), "%llu", (unsigned long long)(now - since[i]));
		if (l != last_loops[i] || !since[i]) {
			if (reported[i]) {
				weir_log(WEIR_LOG_INFO, "worker %u is running again after %s ms", i, ms);
				weir_events_add(weir_control_events(ctl), now, "health", "what", "worker_running",
						"worker", wid, "stalled_ms", ms, NULL);
			}
			last_loops[i] = l;
			since[i] = now;
			reported[i] = 0;
		} else if (!reported[i] && now - since[i] > 2000) {
			weir_log(WEIR_LOG_ERR, "worker %u (lcore %u) has not looped for %s ms: stalled",
				 i, w[i]->lcore, ms);
			snprintf(lcore, sizeof(lcore), "%u", w[i]->lcore);
			weir_events_add(weir_control_events(ctl), now, "health", "what", "worker_stall",
					"worker", wid, "lcore", lcore, "stalled_ms", ms, NULL);
			reported[i] = 1;
			w[i]->stalls++;
		}
	}
}

/* Fault injection, for the tests only (docs/operations.md): with
 * WEIR_FAULT_STALL=WORKER:FRAMES:MS in the environment, that worker stops
 * for MS ms, once, after it has taken FRAMES frames or datagrams. Read once
 * at start; without it the workers test one zero word per loop. */
static void
fault_injection(struct weir_worker **w, unsigned int n)
{
	const char *e = getenv("WEIR_FAULT_STALL");
	unsigned int wi, ms;
	unsigned long long after;
	char extra;
	if (!e || !*e)
		return;
	if (sscanf(e, "%u:%llu:%u%c", &wi, &after, &ms, &extra) != 3 || wi >= n || !ms) {
		weir_log(WEIR_LOG_WARN, "WEIR_FAULT_STALL=%s ignored: want WORKER:FRAMES:MS, WORKER below %u, "
			 "MS above 0", e, n);
		return;
	}
	w[wi]->fault_stall_after = after;
	w[wi]->fault_stall_ms = ms;
	weir_log(WEIR_LOG_WARN, "fault injection: worker %u will stall for %u ms after %llu frames",
		 wi, ms, after);
}

/* Stop the workers: those reading ports (and distributing) first, so the
 * others can drain their rings completely; keep draining snapshots while
 * they flush. */
static void
stop_workers(struct weir_control *ctl, struct weir_worker **w, unsigned int n)
{
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int i = 0; i < n; i++)
			if ((w[i]->n_rxq > 0) == (pass == 0))
				__atomic_store_n(&w[i]->stop, 1, __ATOMIC_RELEASE);
		for (;;) {
			int all = 1;
			for (unsigned int i = 0; i < n; i++)
				if ((w[i]->n_rxq > 0) == (pass == 0) && !__atomic_load_n(&w[i]->done, __ATOMIC_ACQUIRE))
					all = 0;
			weir_control_drain(ctl);
			if (all)
				break;
			nap_ms(1);
		}
	}
	rte_eal_mp_wait_lcore();
}

int
main(int argc, char **argv)
{
	static struct weir_config cfg;
	int rc = weir_config_load(&cfg, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (cfg.dry_run) {
		weir_config_dump(&cfg, stdout);
		return 0;
	}

	char *eal_argv[64], eal_buf[8192];
	int eal_argc = weir_eal_args(&cfg, eal_argv, 64, eal_buf, sizeof(eal_buf));
	char *eal_shown[64];	/* EAL reorders argv: keep what we passed */
	memcpy(eal_shown, eal_argv, sizeof(eal_shown));
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		weir_log(WEIR_LOG_ERR, "DPDK could not start (%s). Run as root; for production mode "
			 "reserve hugepages and bind the NIC to vfio-pci (docs/operations.md). "
			 "EAL arguments were:", rte_strerror(rte_errno));
		for (int i = 0; i < eal_argc; i++)
			fprintf(stderr, " %s", eal_shown[i]);
		fputc('\n', stderr);
		return 2;
	}
	if (rte_lcore_count() < cfg.workers + 1) {
		weir_log(WEIR_LOG_ERR, "%u workers need %u lcores but EAL has %u: fix --lcores",
			 cfg.workers, cfg.workers + 1, rte_lcore_count());
		return 2;
	}

	unsigned int n = cfg.workers;
	struct weir_worker **w = calloc(n, sizeof(*w));
	for (unsigned int i = 0; i < n; i++) {
		w[i] = aligned_alloc(64, (sizeof(struct weir_worker) + 63) & ~(size_t)63);
		if (!w[i] || weir_worker_init(w[i], i, &cfg) != 0) {
			weir_log(WEIR_LOG_ERR, "worker %u: out of memory for a %u-flow table; "
				 "lower --flow-table-size", i, cfg.flow_table_size);
			return 2;
		}
		w[i]->peers = w;
		w[i]->n_workers = n;
		w[i]->file_mode = cfg.read_file[0] && !cfg.loop;
	}

	struct rte_mempool *mp = rte_pktmbuf_pool_create("weir_mbufs", cfg.mbufs, 256, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!mp) {
		weir_log(WEIR_LOG_ERR, "cannot allocate %u mbufs (%s): raise --eal-mem or lower --mbufs",
			 cfg.mbufs, rte_strerror(rte_errno));
		return 2;
	}
	int nports = weir_ports_setup(&cfg, mp, w, n);
	if (nports < 0)
		return 2;
	/* packet time only from a capture file; live traffic runs on our clock
	 * (NIC hardware stamps come in the NIC's own units) */
	for (unsigned int i = 0; i < n; i++)
		if (!w[i]->file_mode)
			w[i]->ts_dynfield = -1;
	int any_dist = 0;
	for (unsigned int i = 0; i < n; i++)
		any_dist |= w[i]->distribute;
	if (any_dist) {
		for (unsigned int i = 0; i < n; i++) {
			char name[32];
			snprintf(name, sizeof(name), "weir_in%u", i);
			w[i]->in_ring = rte_ring_create(name, 8192, (int)rte_socket_id(), RING_F_SC_DEQ);
			if (!w[i]->in_ring) {
				weir_log(WEIR_LOG_ERR, "cannot create ring %s: %s", name, rte_strerror(rte_errno));
				return 2;
			}
		}
	}
	struct rte_mempool *xmp = NULL;
	/* workers steer collector-port datagrams from DPDK ports to their
	 * exporter's worker (worker.c xflow_divert, rte_ring_mp_enqueue): only
	 * with a port, a collector port (fixed until restart) and a peer */
	int steer = nports && cfg.n_collector_ports && n > 1;
	if (cfg.n_collect || steer) {
		/* The UDP collector thread (one, rte_ring_enqueue: it follows the
		 * ring's flags) is the only producer unless workers steer: then
		 * several producers, all multi-producer safe. Single-producer
		 * otherwise, so the collector makes no CAS per datagram; never a
		 * mix (an SP enqueue beside an MP one corrupts the ring). */
		unsigned int flags = RING_F_SC_DEQ | (steer ? 0 : RING_F_SP_ENQ);
		for (unsigned int i = 0; i < n; i++) {
			char name[32];
			snprintf(name, sizeof(name), "weir_xf%u", i);
			w[i]->xflow_ring = rte_ring_create(name, 4096, (int)rte_socket_id(), flags);
			if (!w[i]->xflow_ring) {
				weir_log(WEIR_LOG_ERR, "cannot create ring %s: %s", name, rte_strerror(rte_errno));
				return 2;
			}
		}
	}
	if (cfg.n_collect) {
		/* datagrams up to 9000 bytes in one mbuf, behind their header */
		xmp = rte_pktmbuf_pool_create("weir_xflow", 8191, 256, 0,
					      RTE_PKTMBUF_HEADROOM + 9216 + sizeof(struct weir_xflow_hdr),
					      (int)rte_socket_id());
		if (!xmp) {
			weir_log(WEIR_LOG_ERR, "cannot allocate the collector's buffers (%s): raise --eal-mem",
				 rte_strerror(rte_errno));
			return 2;
		}
	}
	if (nports == 0 && !cfg.n_collect) {
		weir_log(WEIR_LOG_ERR, "no DPDK port came up and no --collect socket: nothing to read");
		return 2;
	}

	long long file_frames = -1;
	if (cfg.read_file[0] && !cfg.loop) {
		file_frames = count_frames(cfg.read_file);
		if (file_frames < 0)
			return 2;
	}

	struct weir_control *ctl = weir_control_new(&cfg, w, n);
	if (!ctl)
		return 2;
	char source[300];
	snprintf(source, sizeof(source), "%s%s", cfg.read_file[0] ? "file:" : "live",
		 cfg.read_file[0] ? cfg.read_file : "");
	weir_control_set_state(ctl, "running", source);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct weir_udp_collector *collector = NULL;
	if (cfg.n_collect) {
		char err[512];
		collector = weir_udp_collector_start(&cfg, w, n, xmp, err, sizeof(err));
		if (!collector) {
			weir_log(WEIR_LOG_ERR, "%s", err);
			return 2;
		}
		for (unsigned int i = 0; i < cfg.n_collect; i++)
			weir_log(WEIR_LOG_INFO, "collecting NetFlow/IPFIX/sFlow on udp %s port %u",
				 cfg.collect[i].addr, cfg.collect[i].port);
	}

	rcu_register_thread();
	rcu_thread_offline();

	fault_injection(w, n);
	uint32_t prefaulted[WEIR_MAX_WORKERS] = {0};
	prefault(w, n, prefaulted);
	unsigned int lc, wi = 0;
	RTE_LCORE_FOREACH_WORKER(lc) {
		if (wi >= n)
			break;
		rte_eal_remote_launch(weir_worker_main, w[wi], lc);
		wi++;
	}
	if (!cfg.quiet)
		weir_log(WEIR_LOG_INFO, "%u worker%s, %d port%s, publishing to %s every %u ms under %s{%s}:",
			 n, n == 1 ? "" : "s", nports, nports == 1 ? "" : "s", weir_control_redis_name(ctl),
			 cfg.publish_interval_ms, cfg.redis_prefix, cfg.node);

	uint64_t start = wall_ms(), next_pub = start + cfg.publish_interval_ms;
	uint64_t next_status = start + cfg.log_interval_s * 1000ull, next_prog = start;
	uint64_t last_rx = 0, last_rx_change = start, prev_prog_rx = 0, prev_prog_ms = start;
	int file_done = 0, redis_was_ok = -1;

	while (!stop_requested && !file_done) {
		nap_ms(5);
		weir_control_drain(ctl);
		prefault(w, n, prefaulted);
		uint64_t now = wall_ms();
		struct weir_port_counters pc;
		weir_ports_counters(&pc);
		if (pc.ipackets != last_rx) {
			last_rx = pc.ipackets;
			last_rx_change = now;
		}
		if (file_frames >= 0) {
			if ((long long)(pc.ipackets + pc.ierrors) >= file_frames)
				file_done = 1;
			else if (now - last_rx_change > 5000) {
				weir_log(WEIR_LOG_WARN, "the pcap device stopped after %llu of %lld frames; "
					 "finishing with what was read", (unsigned long long)pc.ipackets, file_frames);
				file_done = 1;
			}
			if (cfg.progress && (now >= next_prog || file_done)) {
				uint64_t pps = now > prev_prog_ms ? (pc.ipackets - prev_prog_rx) * 1000 / (now - prev_prog_ms) : 0;
				progress(cfg.read_file, pc.ipackets, file_frames, pps, file_done);
				prev_prog_rx = pc.ipackets;
				prev_prog_ms = now;
				next_prog = now + 250;
			}
		}
		if (hup_requested) {
			hup_requested = 0;
			reload(&cfg, ctl, argc, argv);
		}
		check_stalls(ctl, w, n, now);
		if (now >= next_pub) {
			struct weir_udp_stats us;
			weir_udp_collector_stats(collector, &us);
			weir_control_set_collector_stats(ctl, &us);
			weir_control_set_port_counters(ctl, &pc);
			weir_control_cycle(ctl, now);
			next_pub = now + cfg.publish_interval_ms;
			int ok = weir_control_redis_ok(ctl);
			if (ok != redis_was_ok) {
				char line[512];
				weir_control_status_line(ctl, line, sizeof(line));
				if (ok && weir_control_last_outage(ctl))
					weir_log(WEIR_LOG_INFO, "Redis back after %llu lost cycles: publishing to Redis",
						 (unsigned long long)weir_control_last_outage(ctl));
				else if (ok)
					weir_log(WEIR_LOG_INFO, "publishing to Redis");
				else
					weir_log(WEIR_LOG_WARN, "Redis unavailable, still capturing; retrying: %s", line);
				redis_was_ok = ok;
			}
		}
		if (!cfg.quiet && !cfg.progress && now >= next_status) {
			char line[512];
			weir_control_status_line(ctl, line, sizeof(line));
			weir_log(WEIR_LOG_INFO, "%s", line);
			next_status = now + cfg.log_interval_s * 1000ull;
		}
	}

	if (stop_requested)
		weir_log(WEIR_LOG_INFO, "signal %d: flushing every flow to Redis, then exiting",
			 (int)stop_requested);
	struct weir_udp_stats us;
	weir_udp_collector_stats(collector, &us);
	weir_udp_collector_stop(collector);	/* first, so the workers drain what it sent */
	weir_control_set_collector_stats(ctl, &us);
	stop_workers(ctl, w, n);
	struct weir_port_counters pc;
	weir_ports_counters(&pc);
	weir_control_set_port_counters(ctl, &pc);
	weir_control_set_state(ctl, file_frames >= 0 && !stop_requested ? "done" : "stopped", NULL);

	weir_control_settle_names(ctl, 2000);

	/* the last publish must land: retry for a while if Redis is away */
	int published = 0;
	uint64_t deadline = wall_ms() + 15000;
	do {
		weir_control_cycle(ctl, wall_ms());
		if (weir_control_redis_ok(ctl)) {
			published = 1;
			break;
		}
		nap_ms(250);
	} while (wall_ms() < deadline);

	char line[512];
	weir_control_status_line(ctl, line, sizeof(line));
	weir_log(published ? WEIR_LOG_INFO : WEIR_LOG_ERR, "%s: %s", published ? "final" : "final state NOT "
		 "published (is Redis running? see --redis)", line);

	weir_ports_stop();
	rcu_thread_online();
	rcu_unregister_thread();
	weir_control_free(ctl);
	for (unsigned int i = 0; i < n; i++) {
		if (w[i]->in_ring)
			rte_ring_free(w[i]->in_ring);
		if (w[i]->xflow_ring)
			rte_ring_free(w[i]->xflow_ring);
		weir_worker_fini(w[i]);
		free(w[i]);
	}
	free(w);
	rte_mempool_free(mp);
	rte_mempool_free(xmp);
	rte_eal_cleanup();
	return published ? 0 : 1;
}
