/* ports.c -- from configuration to running DPDK ports.
 *
 * Two modes. Production: hugepages, PCI devices bound to vfio-pci, one RX
 * queue per worker with RSS and a symmetric Toeplitz key (0x6d5a repeated),
 * so both directions of a flow land on the same queue and so the same
 * worker. Development: --no-huge --no-pci and virtual devices (net_pcap,
 * net_af_packet, net_tap, net_ring, net_null). A port with fewer queues than
 * workers (a pcap file, most vdevs) is read by the first workers, which
 * hash every packet symmetrically to its owner's ring: the software
 * distributor. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>

#include "control.h"
#include "log.h"
#include "ports.h"

static int n_ports_started;
static uint16_t started[RTE_MAX_ETHPORTS];

#define PUSH(s) do { if (argc < max) { argv[argc++] = bp; } \
	bp += snprintf(bp, (size_t)(end - bp), "%s", (s)) + 1; } while (0)

static int
is_pci(const char *s)
{
	unsigned a, b, c, d;
	return sscanf(s, "%x:%x:%x.%x", &a, &b, &c, &d) == 4 || sscanf(s, "%x:%x.%x", &b, &c, &d) == 3;
}

int
weir_eal_args(const struct weir_config *cfg, char **argv, int max, char *buf, size_t buflen)
{
	int argc = 0;
	char *bp = buf, *end = buf + buflen, tmp[1400];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int workers = cfg->workers;
	/* a Linux interface: one socket unless --rx-queues asks for more
	 * (the kernel's fanout hash is not symmetric, see weir_ports_setup;
	 * one socket read by one worker and spread by the software
	 * distributor keeps each flow's packets in order) */
	unsigned int afp_q = cfg->queues ? cfg->queues : 1;

	PUSH("weir");
	if (cfg->lcores[0]) {
		/* EAL's --lcores reads a plain list as -l does (lcore N on CPU
		 * N) and also a map: "0@(0,4),1@1" lets the main lcore, and the
		 * control and collector threads it starts, use two CPUs */
		snprintf(tmp, sizeof(tmp), "--lcores=%s", cfg->lcores);
		PUSH(tmp);
	} else if ((long)workers + 1 <= ncpu) {
		snprintf(tmp, sizeof(tmp), "0-%u", workers);
		PUSH("-l");
		PUSH(tmp);
	} else {
		/* more threads than CPUs (a small dev box): let them share */
		snprintf(tmp, sizeof(tmp), "--lcores=(0-%u)@(0-%ld)", workers, ncpu - 1);
		PUSH(tmp);
	}
	if (!cfg->hugepages) {
		PUSH("--no-huge");
		snprintf(tmp, sizeof(tmp), "-m%u", cfg->eal_mem_mb);
		PUSH(tmp);
		int any_pci = 0;
		for (unsigned i = 0; i < cfg->n_interfaces; i++)
			any_pci |= is_pci(cfg->interfaces[i]);
		if (!any_pci)
			PUSH("--no-pci");
	}
	/* several engines (and tests) on one machine: no shared runtime dir */
	snprintf(tmp, sizeof(tmp), "--file-prefix=weir-%d", (int)getpid());
	PUSH(tmp);
	PUSH("--log-level=lib.eal:warning");
	PUSH("--no-telemetry");
	PUSH("--log-level=pmd.net.pcap:warning");
	unsigned k = 0;
	if (cfg->read_file[0]) {
		snprintf(tmp, sizeof(tmp), "--vdev=net_pcap%u,rx_pcap=%s%s", k++, cfg->read_file,
			 cfg->loop ? ",infinite_rx=1" : "");
		PUSH(tmp);
	}
	for (unsigned i = 0; i < cfg->n_interfaces; i++) {
		const char *d = cfg->interfaces[i];
		if (is_pci(d)) {
			snprintf(tmp, sizeof(tmp), "-a%s", d);
		} else if (!strncmp(d, "net_", 4)) {
			snprintf(tmp, sizeof(tmp), "--vdev=%s", d);
		} else {
			snprintf(tmp, sizeof(tmp), "--vdev=net_af_packet%u,iface=%s,qpairs=%u", k++, d, afp_q);
		}
		PUSH(tmp);
	}
	if (cfg->hugepages && cfg->n_interfaces == 0)
		PUSH("--no-pci");
	if (cfg->eal_args[0]) {
		char copy[sizeof(cfg->eal_args)];
		snprintf(copy, sizeof(copy), "%s", cfg->eal_args);
		for (char *save, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
			PUSH(t);
	}
	return argc;
}

/* The symmetric Toeplitz key: a repeated 16-bit pattern makes the hash of
 * (src, dst) equal that of (dst, src). */
static uint8_t sym_key[52];

void
weir_rss_sym_key(uint8_t *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		key[i] = i & 1 ? 0x5a : 0x6d;
}

void
weir_rss_conf(struct rte_eth_conf *conf, const struct rte_eth_dev_info *info)
{
	weir_rss_sym_key(sym_key, sizeof(sym_key));
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_key = sym_key;
	conf->rx_adv_conf.rss_conf.rss_key_len =
		info->hash_key_size && info->hash_key_size <= sizeof(sym_key) ? info->hash_key_size : 40;
	conf->rx_adv_conf.rss_conf.rss_hf =
		(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info->flow_type_rss_offloads;
	if (!conf->rx_adv_conf.rss_conf.rss_hf)
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
}

int
weir_ports_setup(const struct weir_config *cfg, struct rte_mempool *mp,
		 struct weir_worker **w, unsigned int n_workers)
{
	uint16_t port;
	unsigned int want_q = cfg->queues ? cfg->queues : n_workers;
	int ts_off = -1;
	uint64_t ts_flag = 0;

	RTE_ETH_FOREACH_DEV(port) {
		struct rte_eth_dev_info info;
		struct rte_eth_conf conf;
		char name[RTE_ETH_NAME_MAX_LEN] = "";
		rte_eth_dev_get_name_by_port(port, name);
		if (rte_eth_dev_info_get(port, &info) != 0) {
			weir_log(WEIR_LOG_ERR, "port %u (%s): cannot read device info", port, name);
			return -1;
		}
		unsigned int nq = want_q;
		if (nq > info.max_rx_queues)
			nq = info.max_rx_queues;
		if (nq > n_workers)
			nq = n_workers;
		unsigned int ntx = nq < info.max_tx_queues ? nq : info.max_tx_queues;
		memset(&conf, 0, sizeof(conf));
		if (nq > 1)
			weir_rss_conf(&conf, &info);
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
		/* frames larger than one mbuf (jumbo, TSO-merged captures) arrive
		 * as chains; the parser reads the first segment, bytes count all,
		 * and nDPI gets the whole frame copied (worker.c dpi_feed) */
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		int rc = rte_eth_dev_configure(port, (uint16_t)nq, (uint16_t)ntx, &conf);
		if (rc < 0) {
			weir_log(WEIR_LOG_ERR, "port %u (%s): configure %u queues: %s", port, name, nq,
				 rte_strerror(-rc));
			return -1;
		}
		uint16_t nrx = (uint16_t)cfg->rx_desc, ntxd = 512;
		rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntxd);
		for (unsigned int q = 0; q < nq; q++) {
			rc = rte_eth_rx_queue_setup(port, (uint16_t)q, nrx, rte_eth_dev_socket_id(port), NULL, mp);
			if (rc < 0) {
				weir_log(WEIR_LOG_ERR, "port %u (%s): rx queue %u: %s", port, name, q, rte_strerror(-rc));
				return -1;
			}
		}
		for (unsigned int q = 0; q < ntx; q++) {
			rc = rte_eth_tx_queue_setup(port, (uint16_t)q, ntxd, rte_eth_dev_socket_id(port), NULL);
			if (rc < 0) {
				weir_log(WEIR_LOG_ERR, "port %u (%s): tx queue %u: %s", port, name, q, rte_strerror(-rc));
				return -1;
			}
		}
		rc = rte_eth_dev_start(port);
		if (rc < 0) {
			weir_log(WEIR_LOG_ERR, "port %u (%s): start: %s", port, name, rte_strerror(-rc));
			return -1;
		}
		rte_eth_promiscuous_enable(port);
		started[n_ports_started++] = port;
		if (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TIMESTAMP)
			rte_mbuf_dyn_rx_timestamp_register(&ts_off, &ts_flag);

		/* af_packet's kernel fanout hash (with qpairs > 1: `-i eth0
		 * --rx-queues 2`, or a vdev that says so) spreads the load over the
		 * queues but is not symmetric: it reads no ports behind an IPv6
		 * fragment header, so a datagram's fragments and the replies
		 * to it land on different queues. Each worker therefore hands
		 * what it does not own to the owner by weir_sym_hash, as the
		 * software distributor does. Packets of one flow then reach
		 * their worker by two paths, and which end spoke first can be
		 * misjudged when both start within microseconds. */
		int fanout = nq > 1 && !strcmp(info.driver_name, "net_af_packet");
		for (unsigned int q = 0; q < nq; q++) {
			struct weir_worker *ow = w[q];
			if (ow->n_rxq >= WEIR_MAX_RXQ) {
				weir_log(WEIR_LOG_ERR, "worker %u would poll more than %d queues", q, WEIR_MAX_RXQ);
				return -1;
			}
			ow->rxq[ow->n_rxq].port = port;
			ow->rxq[ow->n_rxq].queue = (uint16_t)q;
			ow->n_rxq++;
			if (nq < n_workers || fanout)
				ow->distribute = 1;
		}
		/* how a multi-queue port splits its traffic: the NIC's RSS with
		 * our symmetric key; for af_packet, the kernel's PACKET_FANOUT_HASH
		 * and then our hash (above); other vdevs (net_null, net_ring)
		 * have no hash: each queue carries what its source put there */
		const char *split = "";
		if (nq > 1)
			split = conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? ", symmetric RSS"
				: fanout ? ", kernel fanout hash, then each flow to its worker by weir's symmetric hash"
				: ", no RSS on this device (each queue its own traffic)";
		weir_log(WEIR_LOG_INFO, "port %u (%s, %s): %u rx queue%s%s%s", port, name, info.driver_name,
			 nq, nq == 1 ? "" : "s", split, nq < n_workers ? ", software distributor" : "");
	}
	/* Some PMDs (net_pcap) stamp every mbuf without the offload being
	 * asked for: use the stamp wherever the dynamic field exists. */
	if (ts_off < 0) {
		int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);
		ts_off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
		ts_flag = bit >= 0 ? RTE_BIT64(bit) : 0;
		if (bit < 0)
			ts_off = -1;
	}
	for (unsigned int i = 0; i < n_workers; i++) {
		w[i]->ts_dynfield = ts_off;
		w[i]->ts_dynflag = ts_flag;
	}
	return n_ports_started;
}

void
weir_ports_stop(void)
{
	for (int i = 0; i < n_ports_started; i++) {
		rte_eth_dev_stop(started[i]);
		rte_eth_dev_close(started[i]);
	}
	n_ports_started = 0;
}

void
weir_ports_counters(struct weir_port_counters *pc)
{
	memset(pc, 0, sizeof(*pc));
	for (int i = 0; i < n_ports_started; i++) {
		struct rte_eth_stats s;
		if (rte_eth_stats_get(started[i], &s) != 0)
			continue;
		pc->ipackets += s.ipackets;
		pc->ibytes += s.ibytes;
		pc->imissed += s.imissed;
		pc->ierrors += s.ierrors;
		pc->rx_nombuf += s.rx_nombuf;
	}
}
