/* netflow5.c -- NetFlow v5: a fixed header and fixed 48-byte records.
 *
 * No templates: each datagram stands alone, so the only state kept between
 * datagrams is the flow sequence per engine (type, id), held as a v5
 * "domain" in the exporter's template-engine state. flow_sequence counts
 * flows, so the next datagram should start at this one's + count; a
 * forward gap is flows lost, a backward jump an exporter restart.
 *
 * Called by the exporter's owning worker only. Never prints. */
#include <assert.h>
#include <string.h>
#include "nf_template.h"

/*
 * Header, 24 bytes, then count x 48-byte records:
 *
 *  0         2         4               8              12             16
 *  | version | count   |   sysUptime   |  unix_secs   |  unix_nsecs  |
 *  16              20        21        22
 *  | flow_sequence | eng_type| eng_id  | sampling: mode(2b) interval(14b) |
 */
struct nfv5_hdr {
	uint16_t version;
	uint16_t count;
	uint32_t uptime;
	uint32_t unix_secs;
	uint32_t unix_nsecs;
	uint32_t flow_sequence;
	uint8_t  engine_type;
	uint8_t  engine_id;
	uint16_t sampling;
};
static_assert(sizeof(struct nfv5_hdr) == 24, "v5 header is 24 bytes");

/*
 * Record, 48 bytes:
 *
 *  0        4        8         12      14       16      20       24
 *  | srcaddr| dstaddr| nexthop | input | output | dPkts | dOctets|
 *  24       28       32      34      35    36        37     38
 *  | first  | last   | sport | dport | pad1 | tcp_flags | prot | tos |
 *  40       42       44        45        46
 *  | src_as | dst_as | src_mask| dst_mask| pad2(2) |
 */
struct nfv5_rec {
	uint8_t  srcaddr[4];
	uint8_t  dstaddr[4];
	uint8_t  nexthop[4];
	uint16_t input;
	uint16_t output;
	uint32_t pkts;
	uint32_t octets;
	uint32_t first;
	uint32_t last;
	uint16_t sport;
	uint16_t dport;
	uint8_t  pad1;
	uint8_t  tcp_flags;
	uint8_t  prot;
	uint8_t  tos;
	uint16_t src_as;
	uint16_t dst_as;
	uint8_t  src_mask;
	uint8_t  dst_mask;
	uint16_t pad2;
};
static_assert(sizeof(struct nfv5_rec) == 48, "v5 record is 48 bytes");

#define V5_HDR	sizeof(struct nfv5_hdr)
#define V5_REC	sizeof(struct nfv5_rec)

static void
v4_mapped(uint8_t dst[16], const uint8_t *v4)
{
	memset(dst, 0, 10);
	dst[10] = dst[11] = 0xff;
	memcpy(dst + 12, v4, 4);
}

int
weir_nfv5_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		 uint64_t now_ms, const struct weir_flow_sink *out)
{
	ex->datagrams++;
	ex->last_version = NF_V5;
	ex->last_seen_ms = now_ms;
	if (!ex->first_seen_ms)
		ex->first_seen_ms = now_ms;

	if (unlikely(len < V5_HDR))
		return weir_xerr(ex, WEIR_XERR_SHORT_DATAGRAM);
	if (unlikely(nf_be16(p) != 5))
		return weir_xerr(ex, WEIR_XERR_BAD_VERSION);
	size_t count = nf_be16(p + 2);
	/* The count must fit the bytes present (BAD_INPUTS #16). */
	if (unlikely(count > (len - V5_HDR) / V5_REC))
		return weir_xerr(ex, WEIR_XERR_NFV5_BAD_COUNT);
	size_t end = V5_HDR + count * V5_REC;
	if (end < len && !nf_all_zero(p + end, len - end))
		weir_xerr(ex, WEIR_XERR_TRAILING_BYTES);

	uint32_t uptime = nf_be32(p + 4);
	uint32_t secs = nf_be32(p + 8), nsecs = nf_be32(p + 12);
	uint32_t seq = nf_be32(p + 16);
	uint32_t engine = (uint32_t)p[20] << 8 | p[21];
	/* Mode 0 is unsampled: the interval means nothing, the exporter's
	 * default applies. A sampling mode with interval 0 is a rate we do
	 * not know (BAD_INPUTS #25): counted, and the default applies. */
	uint16_t smp = nf_be16(p + 22);
	uint32_t rate = smp >> 14 ? smp & 0x3fffu : 0;
	if (unlikely(smp >> 14 && !rate))
		weir_xerr(ex, WEIR_XERR_SAMPLING_MISSING);
	if (!rate)
		rate = weir_nf_limits(ex)->default_sampling;
	if (!rate)
		rate = 1;
	uint64_t export_ms = secs ? (uint64_t)secs * 1000 + nsecs / 1000000 : now_ms;

	struct nf_domain *d = weir_nf_domain_get(ex, NF_V5, engine, now_ms);
	if (d)
		weir_nf_seq_account(ex, d, seq, seq + (uint32_t)count);

	for (size_t i = 0; i < count; i++) {
		const uint8_t *q = p + V5_HDR + i * V5_REC;
		struct weir_flow_rec r;

		memset(&r, 0, sizeof(r));
		r.source = WEIR_SRC_NFV5;
		v4_mapped(r.src, q + offsetof(struct nfv5_rec, srcaddr));
		v4_mapped(r.dst, q + offsetof(struct nfv5_rec, dstaddr));
		r.in_if = nf_be16(q + offsetof(struct nfv5_rec, input));
		r.out_if = nf_be16(q + offsetof(struct nfv5_rec, output));
		r.sampling = rate;
		r.pkts = weir_nf_scale(nf_be32(q + offsetof(struct nfv5_rec, pkts)), rate);
		r.bytes = weir_nf_scale(nf_be32(q + offsetof(struct nfv5_rec, octets)), rate);
		r.start_ms = weir_nf_uptime_to_unix(export_ms, uptime,
				nf_be32(q + offsetof(struct nfv5_rec, first)));
		r.end_ms = weir_nf_uptime_to_unix(export_ms, uptime,
				nf_be32(q + offsetof(struct nfv5_rec, last)));
		if (r.end_ms < r.start_ms) {
			weir_xerr(ex, WEIR_XERR_BAD_TIMESTAMP);
			r.start_ms = r.end_ms;
		}
		r.sport = nf_be16(q + offsetof(struct nfv5_rec, sport));
		r.dport = nf_be16(q + offsetof(struct nfv5_rec, dport));	/* ICMP: type<<8|code */
		r.tcp_flags = q[offsetof(struct nfv5_rec, tcp_flags)];
		r.proto = q[offsetof(struct nfv5_rec, prot)];
		r.direction = 0xff;
		weir_nf_deliver(ex, &r, out);
	}
	return (int)count;
}
