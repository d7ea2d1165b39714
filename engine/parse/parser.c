/* parser.c -- one captured frame in, one struct weir_pkt_meta out.
 *
 * This file owns the walk from the Ethernet header down to the transport
 * ports: VLAN / QinQ tags, MPLS stacks, PPPoE sessions, IPv4 (options,
 * fragments), IPv6 (a bounded extension-header chain), TCP, UDP, ICMP,
 * ICMPv6 and SCTP, and -- only when configured -- GRE and VXLAN tunnels,
 * whose inner packet then replaces the outer one in the result.
 *
 * It runs per packet at tens of Mpps on every worker, and on sFlow sampled
 * headers, which are truncated by design. So: every length is checked
 * before it is read, nothing is ever read outside [p, p + len), a bad frame
 * is a named result (counted by the caller, never logged), and the walk
 * costs a bounded number of header steps: no loop touches payload, no
 * division, no copy beyond the two addresses. Each encapsulation step (VLAN
 * tag, MPLS label, PPPoE session, tunnel) counts against cfg->max_layers,
 * each IPv6 extension header against cfg->max_exthdrs, so a crafted frame of
 * nested layers ends in TOO_MANY_LAYERS rather than a long loop.
 *
 * Lengths: once inside IP, the packet ends at "end" = l3_off + min(bytes
 * captured, IP length field). Ethernet padding after a short IP packet is
 * therefore never payload, and a length field larger than the capture (a
 * snaplen cut, an sFlow sample) is trusted only as far as the capture goes.
 * An inner (tunnelled) packet ends no later than its outer one. Captures
 * longer than 65535 bytes are read as their first 65535 bytes, so every
 * offset fits the 16-bit fields of struct weir_pkt_meta.
 *
 * Reentrant: no state outside the caller's *m and a small stack context. */
#include <assert.h>
#include <string.h>

#include "weir/pkt.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

const char *const weir_parse_result_names[WEIR_PARSE__MAX] = {
#define WEIR_PR_NAME(n, s) [WEIR_PARSE_##n] = s,
	WEIR_FOREACH_PARSE_RESULT(WEIR_PR_NAME)
#undef WEIR_PR_NAME
};

void
weir_parse_cfg_default(struct weir_parse_cfg *cfg)
{
	cfg->decap_gre = 0;
	cfg->decap_vxlan = 0;
	cfg->vxlan_port = 4789;
	cfg->max_layers = 16;
	cfg->max_exthdrs = 8;
}

/* Wire sizes. Headers are read byte by byte through rd16/rd32 (no struct
 * casts, so no alignment assumptions); the layouts are drawn here.
 *
 * Ethernet, 14 bytes:
 *   0                 6                 12        14
 *   | dst MAC         | src MAC         | type    |
 *
 * 802.1Q / 802.1ad / 0x9100 tag, 4 bytes after the type that announced it:
 *   0                   2
 *   | PCP:3 DEI:1 VID:12 | inner type |
 *
 * MPLS label stack entry, 4 bytes, repeated until S = 1:
 *   | label:20 | TC:3 | S:1 | TTL:8 |
 *
 * PPPoE session header + PPP protocol, 8 bytes (7 when the PPP protocol
 * field is compressed to one odd byte, as RFC 1661 allows):
 *   0            1      2            4          6              8
 *   | ver:4 type:4 | code | session id | length  | PPP protocol |
 */
#define ETH_HLEN	14
#define VLAN_HLEN	4
#define MPLS_HLEN	4
#define PPPOE_HLEN	8

/*
 * IPv4, 20 bytes + options:
 *   0          1       2              4       6                8     9       10
 *   | ver:4 ihl:4 | tos | total length | id    | flags:3 off:13 | ttl | proto | csum |
 *   12          16          20
 *   | src addr  | dst addr  | options (4 * ihl - 20) ...
 *
 * IPv6, 40 bytes:
 *   0                          4             6       7     8         24        40
 *   | ver:4 tc:8 flow label:20 | payload len | next  | hop | src addr | dst addr |
 *
 * IPv6 extension headers (hop-by-hop 0, routing 43, dest opts 60, mobility 135):
 *   | next | hdr ext len (8-byte units, not counting the first 8) | ... |
 * AH (51): same first two bytes, but the length is in 4-byte units, minus 2.
 * Fragment (44), 8 bytes:
 *   | next | reserved | offset:13 res:2 M:1 | identification:32 |
 */
#define IPV4_HLEN	20
#define IPV6_HLEN	40
#define IPV6_FRAG_HLEN	8

/*
 * TCP, 20 bytes + options:
 *   | sport | dport | seq:32 | ack:32 | doff:4 res:4 | flags | win | csum | urg |
 * UDP, 8 bytes:   | sport | dport | length | csum |
 * ICMP / ICMPv6, 8 bytes counted:   | type | code | csum | rest:32 |
 * SCTP common header, 12 bytes:     | sport | dport | vtag:32 | csum:32 |
 *
 * GRE (RFC 2784/2890), 4 bytes + optional words in this order:
 *   | C:1 R:1 K:1 S:1 res:9 ver:3 | protocol type |
 *   [ checksum | reserved ] if C    [ key:32 ] if K    [ sequence:32 ] if S
 *
 * VXLAN (RFC 7348), 8 bytes after UDP, then an Ethernet frame:
 *   | flags (I = 0x08) | reserved:24 | VNI:24 | reserved:8 |
 */
#define TCP_HLEN	20
#define UDP_HLEN	8
#define ICMP_HLEN	8
#define SCTP_HLEN	12
#define GRE_HLEN	4
#define VXLAN_HLEN	8

#define ETH_P_IPV4	0x0800
#define ETH_P_IPV6	0x86dd
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88a8
#define ETH_P_QINQ_9100	0x9100
#define ETH_P_MPLS_UC	0x8847
#define ETH_P_MPLS_MC	0x8848
#define ETH_P_PPPOE_SES	0x8864
#define ETH_P_TEB	0x6558		/* transparent Ethernet bridging */

#define PPP_IPV4	0x0021
#define PPP_IPV6	0x0057

#define GRE_F_C		0x8000
#define GRE_F_R		0x4000
#define GRE_F_K		0x2000
#define GRE_F_S		0x1000
#define GRE_VER_MASK	0x0007

enum {
	IPP_HOPOPTS = 0, IPP_ICMP = 1, IPP_TCP = 6, IPP_UDP = 17,
	IPP_ROUTING = 43, IPP_FRAGMENT = 44, IPP_GRE = 47, IPP_AH = 51,
	IPP_ICMPV6 = 58, IPP_DSTOPTS = 60, IPP_SCTP = 132, IPP_MOBILITY = 135,
};

/* What to parse next at ctx.off. */
enum step {
	STEP_IPV4,
	STEP_IPV6,
	STEP_DONE,
};

struct ctx {
	const struct weir_parse_cfg *cfg;
	const uint8_t *p;
	uint32_t end;		/* one past the last byte we may read */
	uint32_t off;		/* where the next header starts */
	uint32_t layers;	/* encapsulation layers entered so far (no wrap) */
	uint32_t n_vlan;	/* VLAN tags seen on the outer Ethernet */
	uint16_t type;		/* the EtherType parse_l2 dispatches on */
	uint8_t  inner;		/* inside a decapsulated tunnel */
	uint8_t  frag;		/* current IP packet is a first fragment: no decap */
	uint8_t  whole;		/* the IP packet's own length fits the capture: a
				 * short L4 header is the fragment's, not a snaplen cut */
};

static inline uint16_t
rd16(const uint8_t *q)
{
	return (uint16_t)((q[0] << 8) | q[1]);
}

static inline uint32_t
rd32(const uint8_t *q)
{
	return ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) |
	       ((uint32_t)q[2] << 8) | q[3];
}

/* One more encapsulation layer; false once past cfg->max_layers. */
static inline int
enter_layer(struct ctx *c)
{
	return ++c->layers <= c->cfg->max_layers;
}

/* After an EtherType: tags, labels and PPPoE until an IP header or a type
 * we do not follow. Leaves c->off at the IP header. */
static enum weir_parse_result
parse_l2(struct ctx *c, struct weir_pkt_meta *m, enum step *next)
{
	for (;;) {
		const uint8_t *q = c->p + c->off;
		uint32_t left = c->end - c->off;

		switch (c->type) {
		case ETH_P_IPV4:
			*next = STEP_IPV4;
			return WEIR_PARSE_OK;
		case ETH_P_IPV6:
			*next = STEP_IPV6;
			return WEIR_PARSE_OK;
		case ETH_P_8021Q:
		case ETH_P_8021AD:
		case ETH_P_QINQ_9100:
			if (unlikely(!enter_layer(c)))
				return WEIR_PARSE_TOO_MANY_LAYERS;
			if (unlikely(left < VLAN_HLEN))
				return WEIR_PARSE_SHORT_VLAN;
			if (!c->inner) {
				/* outer tag -> vlan, the next -> vlan_inner */
				if (c->n_vlan == 0)
					m->vlan = rd16(q) & 0x0fff;
				else if (c->n_vlan == 1)
					m->vlan_inner = rd16(q) & 0x0fff;
				c->n_vlan++;
			}
			c->type = rd16(q + 2);
			c->off += VLAN_HLEN;
			break;
		case ETH_P_MPLS_UC:
		case ETH_P_MPLS_MC:
			m->flags |= WEIR_PKT_MPLS;
			for (;;) {
				if (unlikely(!enter_layer(c)))
					return WEIR_PARSE_TOO_MANY_LAYERS;
				if (unlikely(c->end - c->off < MPLS_HLEN))
					return WEIR_PARSE_SHORT_MPLS;
				uint8_t bos = c->p[c->off + 2] & 0x01;
				c->off += MPLS_HLEN;
				if (m->n_mpls < UINT8_MAX)
					m->n_mpls++;
				if (bos)
					break;
			}
			/* No payload type in MPLS: guess by the IP version
			 * nibble, as every decoder does. */
			if (unlikely(c->off >= c->end))
				return WEIR_PARSE_SHORT_MPLS;
			switch (c->p[c->off] >> 4) {
			case 4:
				*next = STEP_IPV4;
				return WEIR_PARSE_OK;
			case 6:
				*next = STEP_IPV6;
				return WEIR_PARSE_OK;
			default:
				return WEIR_PARSE_NON_IP;
			}
		case ETH_P_PPPOE_SES:
			if (unlikely(!enter_layer(c)))
				return WEIR_PARSE_TOO_MANY_LAYERS;
			if (unlikely(left < PPPOE_HLEN - 1))
				return WEIR_PARSE_SHORT_PPPOE;
			/* version 1, type 1, code 0 (session data) */
			if (unlikely(q[0] != 0x11 || q[1] != 0))
				return WEIR_PARSE_BAD_PPPOE;
			m->flags |= WEIR_PKT_PPPOE;
			uint16_t ppp;
			if (q[6] & 0x01) {
				/* protocol-field compression (RFC 1661 6.5):
				 * an odd first byte is the whole protocol */
				ppp = q[6];
				c->off += PPPOE_HLEN - 1;
			} else {
				if (unlikely(left < PPPOE_HLEN))
					return WEIR_PARSE_SHORT_PPPOE;
				ppp = rd16(q + 6);
				c->off += PPPOE_HLEN;
			}
			switch (ppp) {
			case PPP_IPV4:
				*next = STEP_IPV4;
				return WEIR_PARSE_OK;
			case PPP_IPV6:
				*next = STEP_IPV6;
				return WEIR_PARSE_OK;
			default:
				return WEIR_PARSE_NON_IP;
			}
		default:
			return WEIR_PARSE_NON_IP;
		}
	}
}

/* An Ethernet header at c->off (the outermost one, or one inside VXLAN or
 * GRE transparent bridging); MACs are recorded only for the outermost. */
static enum weir_parse_result
parse_eth(struct ctx *c, struct weir_pkt_meta *m, enum step *next)
{
	if (unlikely(c->end - c->off < ETH_HLEN))
		return WEIR_PARSE_SHORT_ETH;
	const uint8_t *q = c->p + c->off;
	if (!c->inner) {
		memcpy(m->dmac, q, 6);
		memcpy(m->smac, q + 6, 6);
	}
	c->type = rd16(q + 12);
	c->off += ETH_HLEN;
	return parse_l2(c, m, next);
}

static inline void
set_v4_addr(uint8_t a[16], const uint8_t *q)
{
	static const uint8_t pfx[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};
	memcpy(a, pfx, 12);
	memcpy(a + 12, q, 4);
}

/* The transport header at c->off for protocol proto; c->end is the end of
 * the IP packet. May turn into a tunnel: then *next says what follows. */
static enum weir_parse_result
parse_l4(struct ctx *c, struct weir_pkt_meta *m, uint8_t proto, enum step *next)
{
	const uint8_t *q = c->p + c->off;
	uint32_t left = c->end - c->off;
	uint32_t hlen;

	*next = STEP_DONE;
	switch (proto) {
	case IPP_TCP:
		if (unlikely(c->frag && c->whole && left >= 4 && left < TCP_HLEN)) {
			/* a first fragment that cuts the TCP header: its ports
			 * (and flags, if there) still name the flow, as tshark
			 * reads them; later fragments join it */
			m->sport = rd16(q);
			m->dport = rd16(q + 2);
			m->tcp_flags = left > 13 ? q[13] : 0;
			hlen = left;
			break;
		}
		if (unlikely(left < TCP_HLEN))
			return WEIR_PARSE_SHORT_TCP;
		hlen = (uint32_t)(q[12] >> 4) * 4;
		if (unlikely(hlen < TCP_HLEN || (hlen > left && !(c->frag && c->whole))))
			return WEIR_PARSE_BAD_TCP_OFF;
		if (unlikely(hlen > left))
			hlen = left;	/* first fragment: options continue in the next */
		m->sport = rd16(q);
		m->dport = rd16(q + 2);
		m->tcp_flags = q[13];
		break;
	case IPP_UDP:
		if (unlikely(c->frag && c->whole && left >= 4 && left < UDP_HLEN)) {
			m->sport = rd16(q);
			m->dport = rd16(q + 2);
			hlen = left;
			break;
		}
		if (unlikely(left < UDP_HLEN))
			return WEIR_PARSE_SHORT_UDP;
		hlen = UDP_HLEN;
		m->sport = rd16(q);
		m->dport = rd16(q + 2);
		if (c->cfg->decap_vxlan && m->dport == c->cfg->vxlan_port &&
		    !c->frag) {
			if (unlikely(!enter_layer(c)))
				return WEIR_PARSE_TOO_MANY_LAYERS;
			if (unlikely(left < UDP_HLEN + VXLAN_HLEN))
				return WEIR_PARSE_SHORT_VXLAN;
			c->off += UDP_HLEN + VXLAN_HLEN;
			c->inner = 1;
			m->flags = (uint8_t)((m->flags & (WEIR_PKT_MPLS | WEIR_PKT_PPPOE)) |
					     WEIR_PKT_TUNNEL);
			m->sport = m->dport = 0;
			m->frag_id = 0;
			return parse_eth(c, m, next);
		}
		break;
	case IPP_ICMP:
	case IPP_ICMPV6:
		if (unlikely(left < ICMP_HLEN))
			return WEIR_PARSE_SHORT_ICMP;
		hlen = ICMP_HLEN;
		m->dport = rd16(q);	/* type << 8 | code */
		break;
	case IPP_SCTP:
		if (unlikely(left < SCTP_HLEN))
			return WEIR_PARSE_SHORT_SCTP;
		hlen = SCTP_HLEN;
		m->sport = rd16(q);
		m->dport = rd16(q + 2);
		break;
	case IPP_GRE: {
		/* a first fragment's inner packet is cut short: not decapsulated */
		if (!c->cfg->decap_gre || c->frag)
			return WEIR_PARSE_OK;
		if (unlikely(left < GRE_HLEN))
			return WEIR_PARSE_SHORT_GRE;
		uint16_t fl = rd16(q);
		uint16_t pt = rd16(q + 2);
		/* version 0 without source routing only; anything else
		 * (PPTP's version 1, RFC 1701 routing) is accounted as the
		 * outer packet. */
		if ((fl & (GRE_VER_MASK | GRE_F_R)) != 0)
			return WEIR_PARSE_OK;
		if (pt != ETH_P_IPV4 && pt != ETH_P_IPV6 && pt != ETH_P_TEB)
			return WEIR_PARSE_OK;
		if (unlikely(!enter_layer(c)))
			return WEIR_PARSE_TOO_MANY_LAYERS;
		hlen = GRE_HLEN + ((fl & GRE_F_C) ? 4 : 0) +
		       ((fl & GRE_F_K) ? 4 : 0) + ((fl & GRE_F_S) ? 4 : 0);
		if (unlikely(left < hlen))
			return WEIR_PARSE_SHORT_GRE;
		c->off += hlen;
		c->inner = 1;
		m->flags = (uint8_t)((m->flags & (WEIR_PKT_MPLS | WEIR_PKT_PPPOE)) |
				     WEIR_PKT_TUNNEL);
		m->frag_id = 0;
		if (pt == ETH_P_TEB)
			return parse_eth(c, m, next);
		*next = pt == ETH_P_IPV4 ? STEP_IPV4 : STEP_IPV6;
		return WEIR_PARSE_OK;
	}
	default:
		/* ESP, OSPF, IPv6 "no next header", ...: addresses only */
		return WEIR_PARSE_OK;
	}
	m->flags |= WEIR_PKT_L4;
	m->l4_off = (uint16_t)c->off;
	m->payload_off = (uint16_t)(c->off + hlen);
	m->payload_len = (uint16_t)(left - hlen);
	return WEIR_PARSE_OK;
}

/* Reset what describes the network layer before (re)filling it: a
 * tunnel's inner header replaces the outer one. */
static inline void
clear_l3(struct ctx *c, struct weir_pkt_meta *m)
{
	c->frag = 0;
	m->sport = m->dport = 0;
	m->proto = 0;
	m->tcp_flags = 0;
	m->flags &= (uint8_t)~(WEIR_PKT_IPV6 | WEIR_PKT_FRAG |
			       WEIR_PKT_FRAG_LATER | WEIR_PKT_L4);
	m->l4_off = m->payload_off = m->payload_len = 0;
	m->frag_id = 0;
}

static enum weir_parse_result
parse_ipv4(struct ctx *c, struct weir_pkt_meta *m, enum step *next)
{
	const uint8_t *q = c->p + c->off;
	uint32_t cap = c->end - c->off;

	*next = STEP_DONE;
	if (unlikely(cap < IPV4_HLEN))
		return WEIR_PARSE_SHORT_IPV4;
	if (unlikely((q[0] >> 4) != 4))
		return WEIR_PARSE_BAD_IPV4_VERSION;
	uint32_t ihl = (uint32_t)(q[0] & 0x0f) * 4;
	if (unlikely(ihl < IPV4_HLEN || ihl > cap))
		return WEIR_PARSE_BAD_IPV4_IHL;
	uint32_t tot = rd16(q + 2);
	/* Total length 0 is what a capture taken above TSO/GSO sees (the NIC
	 * fills it in later); like Wireshark's ip.tso_support, take the
	 * packet to run to the end of the frame. */
	if (tot == 0)
		tot = cap;
	if (unlikely(tot < ihl))
		return WEIR_PARSE_BAD_IPV4_LEN;

	clear_l3(c, m);
	uint32_t l3 = tot < cap ? tot : cap;
	c->end = c->off + l3;
	c->whole = tot <= cap;
	m->l3_off = (uint16_t)c->off;
	m->l3_len = (uint16_t)l3;
	m->proto = q[9];
	set_v4_addr(m->src, q + 12);
	set_v4_addr(m->dst, q + 16);

	uint16_t fo = rd16(q + 6);
	if (fo & 0x3fff) {		/* MF set or offset != 0 */
		m->flags |= WEIR_PKT_FRAG;
		m->frag_id = rd16(q + 4);
		if (fo & 0x1fff) {
			m->flags |= WEIR_PKT_FRAG_LATER;
			return WEIR_PARSE_OK;
		}
		c->frag = 1;	/* first fragment: ports yes, tunnels no */
	}
	c->off += ihl;
	return parse_l4(c, m, q[9], next);
}

static enum weir_parse_result
parse_ipv6(struct ctx *c, struct weir_pkt_meta *m, enum step *next)
{
	const uint8_t *q = c->p + c->off;
	uint32_t cap = c->end - c->off;

	*next = STEP_DONE;
	if (unlikely(cap < IPV6_HLEN))
		return WEIR_PARSE_SHORT_IPV6;
	if (unlikely((q[0] >> 4) != 6))
		return WEIR_PARSE_BAD_IPV6_VERSION;

	clear_l3(c, m);
	uint32_t tot = IPV6_HLEN + (uint32_t)rd16(q + 4);
	uint32_t l3 = tot < cap ? tot : cap;
	c->end = c->off + l3;
	c->whole = tot <= cap;
	m->l3_off = (uint16_t)c->off;
	m->l3_len = (uint16_t)l3;
	m->flags |= WEIR_PKT_IPV6;
	memcpy(m->src, q + 8, 16);
	memcpy(m->dst, q + 24, 16);

	uint8_t nh = q[6];
	uint32_t n_ext = 0;
	c->off += IPV6_HLEN;
	for (;;) {
		const uint8_t *e = c->p + c->off;
		uint32_t left = c->end - c->off;
		uint32_t hlen;

		switch (nh) {
		case IPP_HOPOPTS:
		case IPP_ROUTING:
		case IPP_DSTOPTS:
		case IPP_MOBILITY:
			if (unlikely(left < 2))
				return WEIR_PARSE_BAD_IPV6_EXTHDR;
			hlen = ((uint32_t)e[1] + 1) * 8;
			break;
		case IPP_AH:
			if (unlikely(left < 2))
				return WEIR_PARSE_BAD_IPV6_EXTHDR;
			hlen = ((uint32_t)e[1] + 2) * 4;
			break;
		case IPP_FRAGMENT:
			hlen = IPV6_FRAG_HLEN;
			break;
		default:
			goto l4;
		}
		if (unlikely(++n_ext > c->cfg->max_exthdrs))
			return WEIR_PARSE_TOO_MANY_EXTHDRS;
		if (unlikely(hlen > left))
			return WEIR_PARSE_BAD_IPV6_EXTHDR;
		if (nh == IPP_FRAGMENT) {
			uint16_t fo = rd16(e + 2);
			if (fo & 0xfff9) {	/* offset != 0 or M set */
				m->flags |= WEIR_PKT_FRAG;
				m->frag_id = rd32(e + 4);
				if (fo & 0xfff8) {
					m->flags |= WEIR_PKT_FRAG_LATER;
					m->proto = e[0];
					return WEIR_PARSE_OK;
				}
				c->frag = 1;	/* first fragment */
			}
		}
		nh = e[0];
		c->off += hlen;
	}
l4:
	m->proto = nh;
	return parse_l4(c, m, nh, next);
}

/* Walk from *next until done; each tunnel hands back the next step. */
static enum weir_parse_result
run(struct ctx *c, struct weir_pkt_meta *m, enum step next)
{
	enum weir_parse_result r = WEIR_PARSE_OK;

	while (r == WEIR_PARSE_OK && next != STEP_DONE) {
		if (next == STEP_IPV4)
			r = parse_ipv4(c, m, &next);
		else
			r = parse_ipv6(c, m, &next);
	}
	return r;
}

enum weir_parse_result
weir_parse_frame_general(const struct weir_parse_cfg *cfg, const uint8_t *p,
			 uint32_t len, struct weir_pkt_meta *m)
{
	struct ctx c = {
		.cfg = cfg, .p = p, .end = len > 0xffff ? 0xffff : len,
	};
	enum step next = STEP_DONE;

	memset(m, 0, sizeof(*m));
	enum weir_parse_result r = parse_eth(&c, m, &next);
	if (r != WEIR_PARSE_OK)
		return r;
	return run(&c, m, next);
}

/* The fast path: what nearly every frame on a link is, parsed without the
 * general walk's step machine and calls. Ethernet, at most one 802.1Q or
 * 802.1ad tag, IPv4 without options or fragmentation (total length not 0)
 * or IPv6 without extension headers, then a TCP header that fits (options
 * included) or a UDP header that is not VXLAN to decapsulate. Returns 0
 * for anything else, and the caller takes the general walk, which gives
 * the same answer for these frames (tests/unit/parse/test_parse.c and
 * tests/fuzz/fuzz_parser.c compare the two on every frame they parse). */
static inline __attribute__((always_inline)) int
parse_fast(const struct weir_parse_cfg *cfg, const uint8_t *p, uint32_t end,
	   struct weir_pkt_meta *m)
{
	uint32_t off = ETH_HLEN;
	uint16_t vlan = 0;

	if (unlikely(end < ETH_HLEN + IPV4_HLEN))	/* covers a tag too */
		return 0;
	uint16_t type = rd16(p + 12);
	if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
		if (cfg->max_layers < 1)
			return 0;
		vlan = rd16(p + 14) & 0x0fff;
		type = rd16(p + 16);
		off += VLAN_HLEN;
	}

	const uint8_t *q = p + off;
	uint32_t cap = end - off, tot, l3, hl3;
	uint8_t proto, flags = WEIR_PKT_L4;
	if (type == ETH_P_IPV4) {
		/* version 4, ihl 5; no MF, offset 0 */
		if (cap < IPV4_HLEN || q[0] != 0x45 || (rd16(q + 6) & 0x3fff))
			return 0;
		tot = rd16(q + 2);
		if (tot < IPV4_HLEN)	/* 0 (TSO) or too short: the general walk */
			return 0;
		proto = q[9];
		hl3 = IPV4_HLEN;
	} else if (type == ETH_P_IPV6) {
		if (cap < IPV6_HLEN || (q[0] >> 4) != 6)
			return 0;
		tot = IPV6_HLEN + (uint32_t)rd16(q + 4);
		proto = q[6];
		hl3 = IPV6_HLEN;
		flags |= WEIR_PKT_IPV6;
	} else {
		return 0;
	}
	l3 = tot < cap ? tot : cap;

	const uint8_t *t = q + hl3;
	uint32_t left = l3 - hl3, hl4;
	uint16_t sport, dport;
	uint8_t tcp_flags = 0;
	if (proto == IPP_TCP) {
		if (left < TCP_HLEN)
			return 0;
		hl4 = (uint32_t)(t[12] >> 4) * 4;
		if (hl4 < TCP_HLEN || hl4 > left)
			return 0;
		tcp_flags = t[13];
	} else if (proto == IPP_UDP) {
		if (left < UDP_HLEN)
			return 0;
		hl4 = UDP_HLEN;
		if (cfg->decap_vxlan && rd16(t + 2) == cfg->vxlan_port)
			return 0;
	} else {
		return 0;
	}
	sport = rd16(t);
	dport = rd16(t + 2);

	memset(m, 0, sizeof(*m));
	memcpy(m->dmac, p, 6);
	memcpy(m->smac, p + 6, 6);
	if (flags & WEIR_PKT_IPV6) {
		memcpy(m->src, q + 8, 16);
		memcpy(m->dst, q + 24, 16);
	} else {
		set_v4_addr(m->src, q + 12);
		set_v4_addr(m->dst, q + 16);
	}
	m->vlan = vlan;
	m->sport = sport;
	m->dport = dport;
	m->proto = proto;
	m->tcp_flags = tcp_flags;
	m->flags = flags;
	m->l3_off = (uint16_t)off;
	m->l3_len = (uint16_t)l3;
	m->l4_off = (uint16_t)(off + hl3);
	m->payload_off = (uint16_t)(off + hl3 + hl4);
	m->payload_len = (uint16_t)(left - hl4);
	return 1;
}

enum weir_parse_result
weir_parse_frame(const struct weir_parse_cfg *cfg, const uint8_t *p,
		 uint32_t len, struct weir_pkt_meta *m)
{
	if (likely(parse_fast(cfg, p, len > 0xffff ? 0xffff : len, m)))
		return WEIR_PARSE_OK;
	return weir_parse_frame_general(cfg, p, len, m);
}

enum weir_parse_result
weir_parse_ip(const struct weir_parse_cfg *cfg, const uint8_t *p,
	      uint32_t len, struct weir_pkt_meta *m)
{
	struct ctx c = {
		.cfg = cfg, .p = p, .end = len > 0xffff ? 0xffff : len,
	};

	memset(m, 0, sizeof(*m));
	if (unlikely(len == 0))
		return WEIR_PARSE_SHORT_IPV4;
	return run(&c, m, (p[0] >> 4) == 6 ? STEP_IPV6 : STEP_IPV4);
}
