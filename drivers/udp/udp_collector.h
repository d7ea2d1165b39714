/* udp_collector.h -- NetFlow/IPFIX/sFlow from kernel UDP sockets.
 *
 * For users without a DPDK NIC (and for exporters that send to a host
 * address): one thread reads every --collect socket with recvmmsg straight
 * into mbufs and hands each datagram to the worker that owns its exporter
 * (a hash of the exporter's address), through that worker's xflow ring. So
 * one exporter's templates and sequence numbers stay on one worker. */
#ifndef WEIR_UDP_COLLECTOR_H
#define WEIR_UDP_COLLECTOR_H

#include <stdint.h>
#include <rte_mempool.h>

#include "weir/config.h"
#include "agg.h"

struct weir_worker;
struct weir_udp_collector;

/* What travels in front of the datagram in each mbuf (from this thread,
 * or from a worker that steers a datagram a DPDK port gave it). */
struct weir_xflow_hdr {
	uint8_t  src[16];          /* exporter address, v4-mapped for IPv4 */
	uint16_t sport;
	uint16_t steered;          /* 1: from a worker (a DPDK port), 0: from a socket */
	uint32_t len;              /* datagram bytes that follow */
	uint64_t ts_ms;            /* arrival (packet time from a capture file); 0: the worker's clock */
} __attribute__((packed));         /* a worker prepends it to a received frame's UDP payload,
				    * wherever that starts (2-byte aligned at best) */

/* The worker that owns an exporter: every path that hands a datagram to a
 * worker (this thread, a DPDK port's queue, the distributor) uses it. */
static inline unsigned int
weir_xflow_owner(const uint8_t src[16], unsigned int n_workers)
{
	return weir_agg_host_hash(src, 0) % n_workers;
}

struct weir_udp_stats {
	uint64_t datagrams;        /* handed to workers */
	uint64_t bytes;
	uint64_t too_big;          /* larger than an mbuf holds: dropped */
	uint64_t no_mbuf;          /* pool empty: left in the kernel, which may drop */
	uint64_t ring_full;        /* the worker was stuck (ring full STALL_MS): dropped */
	uint64_t waits;            /* 100 us naps while a worker's ring was full (datagrams wait in the kernel) */
	uint64_t kernel_drops;     /* SO_RXQ_OVFL: the socket buffer overflowed */
	uint64_t refused;          /* from an address outside exporter-allow: dropped */
	uint64_t errors;
};

/* Open and bind every socket of cfg->collect (errors name the address and
 * say what to do), then start the thread. NULL on error. */
struct weir_udp_collector *weir_udp_collector_start(const struct weir_config *cfg,
						    struct weir_worker **w, unsigned int n,
						    struct rte_mempool *mp, char *err, size_t errlen);
void weir_udp_collector_stop(struct weir_udp_collector *c);
void weir_udp_collector_stats(const struct weir_udp_collector *c, struct weir_udp_stats *st);

#endif
