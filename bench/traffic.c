/* traffic.c -- the pre-built frames the hot, cold and ring runs cycle.
 *
 * One lcore must both "receive" and process, with no NIC: the frames are
 * built once into BENCH_POOL_MBUFS mbufs of a mempool whose cache is off
 * and whose backing store is a single-producer/single-consumer rte_ring.
 * That pool is the RX mempool of a net_null port: its rx_burst takes the
 * oldest 32 (rte_pktmbuf_alloc_bulk resets the metadata but never the data,
 * and net_null sets the length to 64), and the engine's own
 * rte_pktmbuf_free_bulk() enqueues them at the tail, so every pre-built mbuf
 * comes round in turn, like the buffers of a NIC RX ring, through the real
 * rte_eth_rx_burst() of the real worker loop. No refcount atomics, no copies.
 * The mbufs are the engine's own size (RTE_MBUF_DEFAULT_BUF_SIZE, as in
 * engine/main.c): on this machine the element size alone moves net_null
 * by a factor of several, so the baselines and the engine runs share it.
 *
 * Every frame is 64 bytes on the wire (60 + FCS, as net_null's default
 * packet_size), Ethernet + IPv4 + TCP ACK:
 *
 *   0            6            12    14                      34        54   64
 *   | dst mac    | src mac    |0800 | IPv4, 20 bytes        | TCP, 20 | pad |
 *                                    src at 26, dst at 30    sport at 34
 *
 * Flow k (bench_traffic_frame, k < 4096): 10.1.(k >> 8).(k & 255):40000+(k & 255)
 * <-> 10.2.0.1:443. Hot: flows 0..63, both directions in turn; scale
 * (scale.c): flows 0..4095.
 * Cold: each burst is rewritten (two bytes of the IPv4 source, the TCP
 * source port) to the next of 2^20 flows: 4096 client hosts x 256 ports to
 * one server, in the order of a full-period LCG mod 2^20. */
#include <string.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "bench.h"

void
bench_traffic_frame(uint8_t *p, unsigned int flow, int reverse)
{
	memset(p, 0, BENCH_FRAME_LEN);
	static const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0, 0x01}, mac_s[6] = {0x02, 0, 0, 0, 0, 0x02};
	uint8_t cli[4] = {10, 1, (uint8_t)(flow >> 8), (uint8_t)flow}, srv[4] = {10, 2, 0, 1};
	uint16_t cport = (uint16_t)(40000 + (flow & 0xff)), sport = 443;

	memcpy(p, reverse ? mac_c : mac_s, 6);
	memcpy(p + 6, reverse ? mac_s : mac_c, 6);
	p[12] = 0x08;
	p[13] = 0x00;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(40);
	ip->time_to_live = 64;
	ip->next_proto_id = 6;
	memcpy(&ip->src_addr, reverse ? srv : cli, 4);
	memcpy(&ip->dst_addr, reverse ? cli : srv, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(p + 34);
	tcp->src_port = rte_cpu_to_be_16(reverse ? sport : cport);
	tcp->dst_port = rte_cpu_to_be_16(reverse ? cport : sport);
	tcp->data_off = 5 << 4;
	tcp->tcp_flags = RTE_TCP_ACK_FLAG;
	tcp->rx_win = rte_cpu_to_be_16(65535);
}

struct rte_mempool *
bench_traffic_pool(const char *name)
{
	struct rte_mempool *mp = rte_pktmbuf_pool_create_by_ops(name, BENCH_POOL_MBUFS, 0, 0,
								 RTE_MBUF_DEFAULT_BUF_SIZE,
								 (int)rte_socket_id(), "ring_sp_sc");
	if (!mp) {
		fprintf(stderr, "weir-bench: mempool %s: %s\n", name, rte_strerror(rte_errno));
		return NULL;
	}
	struct rte_mbuf *m[BENCH_POOL_MBUFS];
	if (rte_pktmbuf_alloc_bulk(mp, m, BENCH_POOL_MBUFS) != 0) {
		fprintf(stderr, "weir-bench: mempool %s: cannot take its %d mbufs\n", name, BENCH_POOL_MBUFS);
		rte_mempool_free(mp);
		return NULL;
	}
	for (unsigned int i = 0; i < BENCH_POOL_MBUFS; i++) {
		uint8_t *p = rte_pktmbuf_mtod(m[i], uint8_t *);
		bench_traffic_frame(p, i % BENCH_HOT_FLOWS, (i / BENCH_HOT_FLOWS) & 1);
		m[i]->data_len = BENCH_FRAME_LEN;
		m[i]->pkt_len = BENCH_FRAME_LEN;
	}
	/* back in allocation order: the ring now cycles them 0, 1, 2, ... */
	rte_pktmbuf_free_bulk(m, BENCH_POOL_MBUFS);
	return mp;
}

void
bench_traffic_rewrite_frame(uint8_t *p, uint32_t x, int host_per_flow)
{
	/* client 10.1.H.L (4096 hosts), port 1024 + 256 values; or
	 * (host_per_flow) client 10.(16 + x >> 16).(x >> 8).x, port 40000: a
	 * host of its own for each of the 1M flows. The frame is
	 * client->server (the pool's odd mbufs are reversed, rewritten here
	 * into the same orientation) */
	uint16_t sp = (uint16_t)(1024 + (x >> 12));
	p[26] = 10;
	p[27] = 1;
	p[28] = (uint8_t)((x >> 8) & 0x0f);
	p[29] = (uint8_t)x;
	if (host_per_flow) {
		p[27] = (uint8_t)(16 + (x >> 16));
		p[28] = (uint8_t)(x >> 8);
		sp = 40000;
	}
	p[30] = 10;
	p[31] = 2;
	p[32] = 0;
	p[33] = 1;
	p[34] = (uint8_t)(sp >> 8);
	p[35] = (uint8_t)sp;
	p[36] = 0x01;		/* 443 */
	p[37] = 0xbb;
}

void
bench_traffic_rewrite_as(struct rte_mbuf **m, unsigned int n, uint32_t *state, int host_per_flow)
{
	uint32_t x = *state;
	for (unsigned int i = 0; i < n; i++) {
		x = (x * 1664525u + 1013904223u) & (BENCH_COLD_FLOWS - 1);
		bench_traffic_rewrite_frame(rte_pktmbuf_mtod(m[i], uint8_t *), x, host_per_flow);
	}
	*state = x;
}

void
bench_traffic_rewrite(struct rte_mbuf **m, unsigned int n, uint32_t *state)
{
	bench_traffic_rewrite_as(m, n, state, 0);
}

uint16_t
bench_traffic_rx_rewrite(uint16_t port, uint16_t queue, struct rte_mbuf **m, uint16_t n,
			 uint16_t max, void *user)
{
	bench_traffic_rewrite(m, n, user);
	return n;
}

int
bench_engine_cfg(struct weir_config *cfg, uint32_t flow_table_size, uint32_t flow_ring_size,
		 int dpi)
{
	char fts[16], frs[16];
	snprintf(fts, sizeof(fts), "%u", flow_table_size);
	snprintf(frs, sizeof(frs), "%u", flow_ring_size);
	/* the engine insists on a source; the bench attaches its own ports to
	 * the worker, so this one is never opened */
	char *argv[] = {"weir", "--interface", "net_null0", "--flow-table-size", fts, "--flow-ring-size", frs,
			"--dpi", dpi ? "yes" : "no", "--quiet", NULL};
	return weir_config_load(cfg, 10, argv);
}

/* jemalloc keeps freed pages resident until they decay (seconds): give
 * them back now, so that what the next run allocates shows as growth
 * instead of reusing what the last run freed. */
void
bench_heap_purge(void)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	mallctl(cmd, NULL, NULL, NULL, 0);
}

uint64_t
bench_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size = 0, rss = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}
