/* sflow.h -- sFlow v5 wire layouts and the decoder's per-exporter state.
 *
 * Private to drivers/sflow (and its tests): sflow.c walks datagrams and
 * flow samples, sflow_counters.c walks counter samples. Everything on the
 * wire is XDR: big-endian 32-bit words, opaque data padded to 4 bytes,
 * variable arrays preceded by their 32-bit count. Wire structs below are
 * only ever memcpy'd out of the datagram after a length check (no casts of
 * the datagram itself, so no alignment assumptions), then byte-swapped.
 *
 * Reference: sflow.org sflow_version_5.txt (July 2004). */
#ifndef WEIR_SFLOW_H
#define WEIR_SFLOW_H

#include <assert.h>
#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "weir/export.h"

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif

/*
 * Datagram header (agent address IPv4; IPv6 puts 16 bytes at offset 8):
 *
 *  0         4              8            12             16        20       24
 *  | version | address type | agent addr | sub_agent_id | sequence | uptime |
 *  | num_samples | samples ...
 */
#define SFLOW_VERSION		5
#define SFLOW_ADDR_IP4		1
#define SFLOW_ADDR_IP6		2
#define SFLOW_HDR_FIXED		8	/* version + address type */
#define SFLOW_HDR_TAIL		16	/* sub_agent_id .. num_samples */

/* Every sample and every record starts with a data format and a length:
 *   | enterprise:20 format:12 | length |   then `length` bytes of data */
struct sflow_tlv {
	uint32_t format;
	uint32_t length;
};
static_assert(sizeof(struct sflow_tlv) == 8, "sample/record header is 8 bytes");
#define SFLOW_ENTERPRISE(f)	((f) >> 12)
#define SFLOW_FORMAT(f)		((f) & 0xfff)

/* Sample formats (enterprise 0). */
#define SFLOW_FLOW_SAMPLE	1
#define SFLOW_COUNTER_SAMPLE	2
#define SFLOW_FLOW_SAMPLE_X	3	/* expanded */
#define SFLOW_COUNTER_SAMPLE_X	4	/* expanded */

/*
 * Flow sample (compact), 32 bytes then the records:
 *  0          4                    8               12            16
 *  | sequence | class:8 index:24   | sampling_rate | sample_pool | drops |
 *  20 input (fmt:2 value:30) | 24 output (fmt:2 value:30) | 28 num_records |
 */
struct sflow_flow_sample {
	uint32_t seq, source_id, rate, pool, drops, input, output, nrec;
};
static_assert(sizeof(struct sflow_flow_sample) == 32, "flow_sample is 32 bytes");

/*
 * Expanded flow sample, 44 bytes then the records:
 *  | sequence | ds_type | ds_index | sampling_rate | sample_pool | drops |
 *  | in_format | in_value | out_format | out_value | num_records |
 */
struct sflow_flow_sample_x {
	uint32_t seq, ds_type, ds_index, rate, pool, drops;
	uint32_t in_fmt, in_val, out_fmt, out_val, nrec;
};
static_assert(sizeof(struct sflow_flow_sample_x) == 44, "flow_sample_expanded is 44 bytes");

/* Compact `interface`: top 2 bits say what the low 30 bits are:
 * 0 ifIndex, 1 packet discarded (value = reason), 2 multiple outputs
 * (value = count, 0x3fffffff unknown). */
#define SFLOW_IF_FMT(v)		((v) >> 30)
#define SFLOW_IF_VAL(v)		((v) & 0x3fffffffu)

/* Flow record formats (enterprise 0). */
#define SFLOW_REC_HEADER	1
#define SFLOW_REC_ETHERNET	2
#define SFLOW_REC_IPV4		3
#define SFLOW_REC_IPV6		4
#define SFLOW_REC_EXT_SWITCH	1001
#define SFLOW_REC_EXT_ROUTER	1002
#define SFLOW_REC_EXT_GATEWAY	1003

/*
 * Raw packet header (format 1), 16 bytes then header_length bytes, padded:
 *  | header_protocol | frame_length | stripped | header_length | header ...
 */
struct sflow_raw_hdr {
	uint32_t protocol, frame_length, stripped, hlen;
};
static_assert(sizeof(struct sflow_raw_hdr) == 16, "sampled_header is 16 bytes + data");
#define SFLOW_HDRPROTO_ETHERNET	1
#define SFLOW_HDRPROTO_IPV4	11
#define SFLOW_HDRPROTO_IPV6	12
#define SFLOW_ETH_MIN		14	/* two MACs and an ethertype */

/* Sampled Ethernet (format 2), 24 bytes (MACs are XDR opaque[6], padded):
 *  | length | src_mac + 2 pad | dst_mac + 2 pad | type | */
struct sflow_eth_rec {
	uint32_t length;
	uint8_t  smac[8];
	uint8_t  dmac[8];
	uint32_t type;
};
static_assert(sizeof(struct sflow_eth_rec) == 24, "sampled_ethernet is 24 bytes");

/* Sampled IPv4 (format 3), 32 bytes:
 *  | length | protocol | src_ip | dst_ip | src_port | dst_port | tcp_flags | tos | */
struct sflow_ipv4_rec {
	uint32_t length, proto;
	uint8_t  src[4], dst[4];
	uint32_t sport, dport, tcp_flags, tos;
};
static_assert(sizeof(struct sflow_ipv4_rec) == 32, "sampled_ipv4 is 32 bytes");

/* Sampled IPv6 (format 4), 56 bytes:
 *  | length | protocol | src_ip[16] | dst_ip[16] | src_port | dst_port | tcp_flags | priority | */
struct sflow_ipv6_rec {
	uint32_t length, proto;
	uint8_t  src[16], dst[16];
	uint32_t sport, dport, tcp_flags, priority;
};
static_assert(sizeof(struct sflow_ipv6_rec) == 56, "sampled_ipv6 is 56 bytes");

/* Extended switch (1001), 16 bytes:
 *  | src_vlan | src_priority | dst_vlan | dst_priority | */
struct sflow_ext_switch {
	uint32_t src_vlan, src_prio, dst_vlan, dst_prio;
};
static_assert(sizeof(struct sflow_ext_switch) == 16, "extended_switch is 16 bytes");

/* Counter samples: compact | sequence | class:8 index:24 | num_records |
 * and expanded | sequence | ds_type | ds_index | num_records |. */
struct sflow_counter_sample {
	uint32_t seq, source_id, nrec;
};
static_assert(sizeof(struct sflow_counter_sample) == 12, "counters_sample is 12 bytes");
struct sflow_counter_sample_x {
	uint32_t seq, ds_type, ds_index, nrec;
};
static_assert(sizeof(struct sflow_counter_sample_x) == 16, "counters_sample_expanded is 16 bytes");

#define SFLOW_CTR_GENERIC	1
#define SFLOW_CTR_ETHERNET	2

/*
 * Generic interface counters (format 1), 88 bytes:
 *  0         4        8               16            20         24
 *  | ifIndex | ifType | ifSpeed (u64) | ifDirection | ifStatus | ifInOctets (u64) |
 *  32 ifInUcastPkts | ifInMulticastPkts | ifInBroadcastPkts | ifInDiscards |
 *  48 ifInErrors | ifInUnknownProtos | 56 ifOutOctets (u64) | 64 ifOutUcastPkts |
 *  ifOutMulticastPkts | ifOutBroadcastPkts | ifOutDiscards | ifOutErrors |
 *  84 ifPromiscuousMode |
 */
struct sflow_if_generic {
	uint32_t ifindex, type;
	uint64_t speed;
	uint32_t direction, status;
	uint64_t in_octets;
	uint32_t in_ucast, in_mcast, in_bcast, in_discards, in_errors, in_unknown;
	uint64_t out_octets;
	uint32_t out_ucast, out_mcast, out_bcast, out_discards, out_errors, promisc;
} __attribute__((packed));
static_assert(sizeof(struct sflow_if_generic) == 88, "if_counters is 88 bytes");

/* Ethernet interface counters (format 2), 13 x u32 = 52 bytes, in the
 * order of struct weir_if_counters.dot3. */
#define SFLOW_ETH_CTR_WORDS	13
#define SFLOW_ETH_CTR_LEN	(SFLOW_ETH_CTR_WORDS * 4)

/* Big-endian readers; callers have checked that the bytes are there. */
static inline uint32_t
sflow_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* An IPv4 address as the engine keeps it: ::ffff:a.b.c.d */
static inline void
sflow_v4_mapped(uint8_t dst[16], const uint8_t v4[4])
{
	memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	memcpy(dst + 12, v4, 4);
}

/* Byte-swap an array of n 32-bit words in place (XDR structs). */
static inline void
sflow_swap32(void *v, size_t n)
{
	uint32_t *w = v;
	for (size_t i = 0; i < n; i++)
		w[i] = be32toh(w[i]);
}

/* ---- per-exporter state (ex->sf) ---- */

/* What the decoder saw besides errors; weirctl shows these per exporter. */
struct weir_sflow_stats {
	uint64_t flow_samples;       /* flow samples decoded (delivered or not) */
	uint64_t counter_samples;    /* counter samples decoded */
	uint64_t samples_skipped;    /* unknown sample formats / enterprises, skipped by length */
	uint64_t records_skipped;    /* unknown or unused records, skipped by length */
	uint64_t samples_empty;      /* flow samples with nothing to account (no header/IP/Ethernet record) */
	uint64_t non_ip;             /* sampled headers that were not IP (ARP, LLDP, ...) */
	uint64_t hdr_other_proto;    /* sampled headers of a protocol other than Ethernet/IPv4/IPv6 */
	uint64_t out_discarded;      /* samples of packets the agent discarded (output format 1) */
	uint64_t out_multiple;       /* samples with several output interfaces (format 2) */
	uint64_t pool_pkts;          /* sum of sample_pool increases: packets seen by the samplers */
	uint64_t sources_evicted;    /* sequence slots recycled because the table was full */
	uint64_t trailing;           /* datagrams with bytes after their declared samples */
};

/* One sequence slot: a datagram stream (agent, sub-agent) or a flow
 * sampler (agent, sub-agent, data source). */
struct sflow_seq_slot {
	uint8_t  agent[16];
	uint32_t sub_agent;
	uint32_t ds_type;            /* SFLOW_DS_DATAGRAM for the datagram stream */
	uint32_t ds_index;
	uint32_t last_seq;
	uint32_t last_pool;
	uint32_t last_drops;
	uint64_t used;               /* LRU clock */
};
#define SFLOW_DS_DATAGRAM	0xffffffffu
#define SFLOW_MAX_SLOTS		64   /* per exporter: bounds memory per source address */

struct weir_sflow_state {
	struct weir_sflow_stats st;
	uint64_t clock;
	uint32_t n_slots;
	struct sflow_seq_slot slot[SFLOW_MAX_SLOTS];
};

/* The datagram's agent, passed down to the sample decoders. */
struct sflow_agent {
	uint8_t  addr[16];           /* v4-mapped for IPv4 */
	uint32_t sub_agent;
};

/* Find or create the slot for (agent, ds); *fresh is set when it is new.
 * Never fails: a full table recycles its least recently used slot. */
struct sflow_seq_slot *weir_sflow_slot(struct weir_sflow_state *sf,
				       const struct sflow_agent *a,
				       uint32_t ds_type, uint32_t ds_index,
				       int *fresh);

/* sflow_route.c: an extended router (1002) / gateway (1003) record body
 * into rt (the gateway's BGP next hop into bgp_next_hop). 0, or -1 when a
 * length or count does not fit the record (rt untouched). */
int weir_sflow_ext_router(struct weir_flow_route *rt, const uint8_t *p, size_t len);
int weir_sflow_ext_gateway(struct weir_flow_route *rt, const uint8_t *p, size_t len,
			   uint8_t bgp_next_hop[16]);

/* sflow_counters.c: one counter sample body (after its 8-byte header).
 * Returns 0, or -1 when the sample was refused (already counted). */
int weir_sflow_counters_decode(struct weir_exporter *ex,
			       const uint8_t *p, size_t len, int expanded,
			       const struct weir_flow_sink *out);

#endif
