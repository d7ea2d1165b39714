/* pkt.h -- what the packet parser makes of one frame.
 *
 * The parser turns the bytes of one captured frame (Ethernet first) into a
 * small struct weir_pkt_meta: addresses, ports, VLANs, protocol, offsets.
 * The worker's hot path, the sFlow decoder (sampled headers) and the nDPI
 * feeder all use it. It reads only inside [p, p + len), writes only *m, and
 * never allocates: a malformed frame is a named drop reason, never a crash.
 *
 * Addresses are always 16 bytes: IPv4 is stored v4-mapped (::ffff:a.b.c.d),
 * so one flow key serves both families. */
#ifndef WEIR_PKT_H
#define WEIR_PKT_H

#include <stdint.h>
#include <stddef.h>

/* Outcome of parsing one frame. WEIR_PARSE_OK and WEIR_PARSE_NON_IP are not
 * errors (a non-IP frame such as ARP or LLDP is counted, not a flow); every
 * other value names why the frame was refused and is counted per reason. */
#define WEIR_FOREACH_PARSE_RESULT(_)                                     \
	_(OK,               "ok")                                        \
	_(NON_IP,           "non_ip")                                    \
	_(SHORT_ETH,        "short_ethernet")                            \
	_(SHORT_VLAN,       "short_vlan")                                \
	_(SHORT_MPLS,       "short_mpls")                                \
	_(SHORT_PPPOE,      "short_pppoe")                               \
	_(BAD_PPPOE,        "bad_pppoe")                                 \
	_(TOO_MANY_LAYERS,  "too_many_layers")                           \
	_(SHORT_IPV4,       "short_ipv4")                                \
	_(BAD_IPV4_VERSION, "bad_ipv4_version")                          \
	_(BAD_IPV4_IHL,     "bad_ipv4_ihl")                              \
	_(BAD_IPV4_LEN,     "bad_ipv4_total_length")                     \
	_(SHORT_IPV6,       "short_ipv6")                                \
	_(BAD_IPV6_VERSION, "bad_ipv6_version")                          \
	_(BAD_IPV6_EXTHDR,  "bad_ipv6_exthdr")                           \
	_(TOO_MANY_EXTHDRS, "too_many_ipv6_exthdrs")                     \
	_(SHORT_TCP,        "short_tcp")                                 \
	_(BAD_TCP_OFF,      "bad_tcp_data_offset")                       \
	_(SHORT_UDP,        "short_udp")                                 \
	_(SHORT_ICMP,       "short_icmp")                                \
	_(SHORT_SCTP,       "short_sctp")                                \
	_(SHORT_GRE,        "short_gre")                                 \
	_(SHORT_VXLAN,      "short_vxlan")

enum weir_parse_result {
#define WEIR_PR_ENUM(n, s) WEIR_PARSE_##n,
	WEIR_FOREACH_PARSE_RESULT(WEIR_PR_ENUM)
#undef WEIR_PR_ENUM
	WEIR_PARSE__MAX
};

/* Names as they appear in Redis and `weirctl status`, indexed by result. */
extern const char *const weir_parse_result_names[WEIR_PARSE__MAX];

/* m->flags */
#define WEIR_PKT_IPV6        0x01  /* network layer is IPv6 */
#define WEIR_PKT_FRAG        0x02  /* IP fragment (any) */
#define WEIR_PKT_FRAG_LATER  0x04  /* non-first fragment: no L4 header, ports are 0 */
#define WEIR_PKT_TUNNEL      0x08  /* addresses are from a decapsulated inner header */
#define WEIR_PKT_MPLS        0x10
#define WEIR_PKT_PPPOE       0x20
#define WEIR_PKT_L4          0x40  /* sport/dport/tcp_flags are valid */

struct weir_pkt_meta {
	uint8_t  src[16];          /* v4-mapped for IPv4 */
	uint8_t  dst[16];
	uint8_t  smac[6];          /* outermost Ethernet */
	uint8_t  dmac[6];
	uint16_t sport;            /* host order; ICMP/ICMPv6: 0 */
	uint16_t dport;            /* host order; ICMP/ICMPv6: type << 8 | code */
	uint16_t vlan;             /* outermost VLAN id, 0 if untagged */
	uint16_t vlan_inner;       /* inner (customer) tag of QinQ, 0 if none */
	uint8_t  proto;            /* IP protocol number (after IPv6 ext headers) */
	uint8_t  tcp_flags;
	uint8_t  flags;            /* WEIR_PKT_* */
	uint8_t  n_mpls;           /* MPLS labels popped */
	uint16_t l3_off;           /* offset of the (inner, if decapsulated) IP header */
	uint16_t l4_off;           /* offset of the L4 header, 0 if none */
	uint16_t payload_off;      /* offset of the L4 payload, 0 if none */
	uint16_t payload_len;      /* L4 payload bytes present in the buffer */
	uint16_t l3_len;           /* IP header + payload bytes present in the buffer,
				    * capped by the IP length field (what nDPI gets) */
	uint32_t frag_id;          /* IPv4 identification / IPv6 fragment id */
};

/* Parser options, fixed at start (config keys decap-tunnels, vxlan-port). */
struct weir_parse_cfg {
	uint8_t  decap_gre;        /* account the GRE inner packet instead of the outer */
	uint8_t  decap_vxlan;      /* account the VXLAN inner frame instead of the outer */
	uint16_t vxlan_port;       /* UDP port that carries VXLAN, default 4789 */
	uint8_t  max_layers;       /* encapsulation layers before TOO_MANY_LAYERS, default 16 */
	uint8_t  max_exthdrs;      /* IPv6 extension headers before TOO_MANY_EXTHDRS, default 8 */
};

void weir_parse_cfg_default(struct weir_parse_cfg *cfg);

/* Parse one frame that starts with an Ethernet header. len is the captured
 * length. Returns WEIR_PARSE_OK, WEIR_PARSE_NON_IP or a drop reason; *m is
 * valid only for WEIR_PARSE_OK. Reentrant, no allocation, no side effects. */
enum weir_parse_result weir_parse_frame(const struct weir_parse_cfg *cfg,
					const uint8_t *p, uint32_t len,
					struct weir_pkt_meta *m);

/* The same answer without the fast path for common frames (Ethernet, one
 * tag at most, IPv4 without options or IPv6 without extension headers, TCP
 * or UDP): every frame takes the general walk. For the tests that hold the
 * two to the same result; callers want weir_parse_frame(). */
enum weir_parse_result weir_parse_frame_general(const struct weir_parse_cfg *cfg,
						const uint8_t *p, uint32_t len,
						struct weir_pkt_meta *m);

/* The same, for a buffer that starts at an IPv4 or IPv6 header (raw-IP
 * link types, sFlow IPv4/IPv6 records). */
enum weir_parse_result weir_parse_ip(const struct weir_parse_cfg *cfg,
				     const uint8_t *p, uint32_t len,
				     struct weir_pkt_meta *m);

static inline int
weir_addr_is_v4(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};
	for (int i = 0; i < 12; i++)
		if (a[i] != pfx[i])
			return 0;
	return 1;
}

#endif
