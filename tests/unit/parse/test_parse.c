/* test_parse.c -- the packet parser on frames built by hand, byte by byte.
 *
 * Each test lays a frame out header by header (every header's bytes are
 * written and annotated below, and the expected values worked out in the
 * comments), parses it from an exact-size heap copy (so ASan sees any read
 * past the end), and checks every field that matters plus the invariant
 * that offsets stay inside the buffer. Every drop reason in
 * WEIR_FOREACH_PARSE_RESULT has a frame that produces it, and two
 * multi-layer frames are cut at every byte boundary to check that each cut
 * gives the reason of the header it falls in. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"

static unsigned int passed, failed;

#define CHECK(cond, ...) do {						\
	if (cond) {							\
		passed++;						\
	} else {							\
		failed++;						\
		printf("FAIL %s:%d: %s: ", __func__, __LINE__, #cond);	\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	CHECK(_a == _b, "%lld != %lld", _a, _b);			\
} while (0)

#define CHECK_R(r, want) CHECK((r) == (want), "got %s, want %s",	\
			       weir_parse_result_names[r],		\
			       weir_parse_result_names[want])

/* A frame under construction. */
struct fb {
	uint8_t b[2048];
	uint32_t n;
};

static void
put(struct fb *f, const uint8_t *p, size_t n)
{
	if (f->n + n > sizeof(f->b)) {
		fprintf(stderr, "test frame too large\n");
		exit(1);
	}
	memcpy(f->b + f->n, p, n);
	f->n += (uint32_t)n;
}

#define PUT(f, ...) do {						\
	const uint8_t _x[] = { __VA_ARGS__ };				\
	put((f), _x, sizeof(_x));					\
} while (0)

/* dst MAC 00:11:22:33:44:55, src MAC 66:77:88:99:aa:bb */
#define MACS	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb
/* inner (tunnelled) Ethernet: dst 02:00:00:00:00:01, src 02:00:00:00:00:02 */
#define MACS2	0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02

/* IPv4 header without options:
 *   | 45 | tos 00 | total length | id | flags+offset | ttl 40 | proto | csum 0000 |
 *   | src | dst | */
static void
ipv4(struct fb *f, uint16_t tot, uint16_t id, uint16_t frag, uint8_t proto,
     const uint8_t src[4], const uint8_t dst[4])
{
	PUT(f, 0x45, 0x00, tot >> 8, tot & 0xff, id >> 8, id & 0xff,
	    frag >> 8, frag & 0xff, 0x40, proto, 0x00, 0x00);
	put(f, src, 4);
	put(f, dst, 4);
}

/* IPv6 header:
 *   | 60 00 00 00 (version 6, tc 0, flow 0) | payload length | next | hop 40 |
 *   | src (16) | dst (16) | */
static void
ipv6(struct fb *f, uint16_t plen, uint8_t nh, const uint8_t src[16],
     const uint8_t dst[16])
{
	PUT(f, 0x60, 0x00, 0x00, 0x00, plen >> 8, plen & 0xff, nh, 0x40);
	put(f, src, 16);
	put(f, dst, 16);
}

/* TCP header, 20 bytes, no options:
 *   | sport | dport | seq 00000001 | ack 00000000 | 50 (doff 5) | flags |
 *   | win ffff | csum 0000 | urg 0000 | */
static void
tcp(struct fb *f, uint16_t sport, uint16_t dport, uint8_t flags)
{
	PUT(f, sport >> 8, sport & 0xff, dport >> 8, dport & 0xff,
	    0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0);
}

/* UDP header: | sport | dport | length | csum 0000 | */
static void
udp(struct fb *f, uint16_t sport, uint16_t dport, uint16_t ulen)
{
	PUT(f, sport >> 8, sport & 0xff, dport >> 8, dport & 0xff,
	    ulen >> 8, ulen & 0xff, 0, 0);
}

static const uint8_t A4[4] = {192, 168, 1, 2};		/* 192.168.1.2 */
static const uint8_t B4[4] = {10, 0, 0, 1};		/* 10.0.0.1 */
static const uint8_t C4[4] = {172, 16, 0, 9};		/* 172.16.0.9 */
static const uint8_t D4[4] = {172, 16, 0, 10};		/* 172.16.0.10 */
static const uint8_t A6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
			       0, 0, 0, 0, 0, 0, 0, 0x01};	/* 2001:db8::1 */
static const uint8_t B6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
			       0, 0, 0, 0, 0, 0, 0, 0x02};	/* 2001:db8::2 */

static struct weir_parse_cfg cfg_off, cfg_on;

/* Offsets and lengths of an OK result stay inside the buffer. */
static void
check_invariants(const struct weir_pkt_meta *m, uint32_t len)
{
	CHECK(m->l3_off + m->l3_len <= len, "l3 %u+%u > %u", m->l3_off, m->l3_len, len);
	if (m->flags & WEIR_PKT_L4) {
		CHECK(m->l4_off > m->l3_off, "l4_off %u <= l3_off %u", m->l4_off, m->l3_off);
		CHECK(m->payload_off >= m->l4_off, "payload_off %u", m->payload_off);
		CHECK(m->payload_off + m->payload_len == m->l3_off + m->l3_len,
		      "payload %u+%u vs l3 end %u", m->payload_off, m->payload_len,
		      m->l3_off + m->l3_len);
	} else {
		CHECK(m->sport == 0 && m->tcp_flags == 0, "no L4 but ports");
	}
	if (m->flags & WEIR_PKT_FRAG_LATER)
		CHECK(m->flags & WEIR_PKT_FRAG, "FRAG_LATER without FRAG");
}

/* Parse an exact-size heap copy of f[0, len). */
static enum weir_parse_result
parse_n(const struct weir_parse_cfg *cfg, const struct fb *f, uint32_t len,
	struct weir_pkt_meta *m, int raw_ip)
{
	uint8_t *h = malloc(len ? len : 1);
	memcpy(h, f->b, len);
	enum weir_parse_result r = raw_ip ? weir_parse_ip(cfg, h, len, m)
					  : weir_parse_frame(cfg, h, len, m);
	if (!raw_ip) {
		/* the fast path and the general walk agree on every frame */
		struct weir_pkt_meta g;
		enum weir_parse_result rg = weir_parse_frame_general(cfg, h, len, &g);
		CHECK_R(r, rg);
		if (r == WEIR_PARSE_OK && rg == WEIR_PARSE_OK)
			CHECK(memcmp(m, &g, sizeof(g)) == 0, "fast path and general walk differ");
	}
	free(h);
	if (r == WEIR_PARSE_OK)
		check_invariants(m, len);
	return r;
}

static enum weir_parse_result
parse(const struct weir_parse_cfg *cfg, const struct fb *f, struct weir_pkt_meta *m)
{
	return parse_n(cfg, f, f->n, m, 0);
}

static int
is_v4(const uint8_t a[16], const uint8_t v[4])
{
	return weir_addr_is_v4(a) && memcmp(a + 12, v, 4) == 0;
}

/* ------------------------------------------------------------------ */

/* Names: one per result, none missing, none repeated. */
static void
t_names(void)
{
	for (int i = 0; i < WEIR_PARSE__MAX; i++) {
		CHECK(weir_parse_result_names[i] != NULL, "result %d has no name", i);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(weir_parse_result_names[i],
				     weir_parse_result_names[j]) != 0, "dup %d %d", i, j);
	}
	CHECK(strcmp(weir_parse_result_names[WEIR_PARSE_BAD_IPV4_IHL], "bad_ipv4_ihl") == 0, "name");
	struct weir_parse_cfg c;
	weir_parse_cfg_default(&c);
	CHECK_EQ(c.vxlan_port, 4789);
	CHECK_EQ(c.max_layers, 16);
	CHECK_EQ(c.max_exthdrs, 8);
	CHECK_EQ(c.decap_gre, 0);
	CHECK_EQ(c.decap_vxlan, 0);
}

/* Ethernet / IPv4 / TCP SYN+ACK with 4 payload bytes, then padded to the
 * 60-byte minimum: the padding is not payload. */
static void
t_ipv4_tcp(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x08, 0x00);		/* Ethernet, type IPv4 (0..13) */
	ipv4(&f, 44, 0x1234, 0, 6, A4, B4);	/* 44 = 20 IP + 20 TCP + 4 (14..33) */
	tcp(&f, 12345, 80, 0x12);		/* SYN|ACK (34..53) */
	PUT(&f, 0xde, 0xad, 0xbe, 0xef);	/* payload (54..57) */
	PUT(&f, 0x00, 0x00);			/* Ethernet padding to 60 */

	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK(is_v4(m.src, A4), "src");
	CHECK(is_v4(m.dst, B4), "dst");
	CHECK(memcmp(m.dmac, "\x00\x11\x22\x33\x44\x55", 6) == 0, "dmac");
	CHECK(memcmp(m.smac, "\x66\x77\x88\x99\xaa\xbb", 6) == 0, "smac");
	CHECK_EQ(m.sport, 12345);
	CHECK_EQ(m.dport, 80);
	CHECK_EQ(m.proto, 6);
	CHECK_EQ(m.tcp_flags, 0x12);
	CHECK_EQ(m.flags, WEIR_PKT_L4);
	CHECK_EQ(m.vlan, 0);
	CHECK_EQ(m.l3_off, 14);
	CHECK_EQ(m.l4_off, 34);
	CHECK_EQ(m.payload_off, 54);
	CHECK_EQ(m.payload_len, 4);		/* not 6: padding excluded */
	CHECK_EQ(m.l3_len, 44);
	CHECK_EQ(m.frag_id, 0);			/* not a fragment */

	/* The same bytes through weir_parse_ip, from the IP header on. */
	struct fb g = {0};
	put(&g, f.b + 14, 44);
	CHECK_R(parse_n(&cfg_off, &g, g.n, &m, 1), WEIR_PARSE_OK);
	CHECK(is_v4(m.src, A4), "raw src");
	CHECK_EQ(m.l3_off, 0);
	CHECK_EQ(m.l4_off, 20);
	CHECK_EQ(m.dport, 80);
	CHECK_EQ(m.payload_len, 4);

	/* TCP data offset 4 (< 5) and 15 (60 bytes > the 24 left) */
	f.b[46] = 0x40;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_TCP_OFF);
	f.b[46] = 0xf0;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_TCP_OFF);
	/* data offset 6 (24 bytes): options are not payload */
	f.b[46] = 0x60;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.payload_off, 58);
	CHECK_EQ(m.payload_len, 0);
	f.b[46] = 0x50;

	/* IP total length 30 ends the packet inside the TCP header, even
	 * though the capture holds all of it */
	f.b[16] = 0;
	f.b[17] = 30;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_SHORT_TCP);
	/* total length 1000 > captured 46 bytes of IP: trust the capture */
	f.b[16] = 0x03;
	f.b[17] = 0xe8;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.l3_len, 46);			/* 60 - 14 */
	CHECK_EQ(m.payload_len, 6);		/* padding can't be told apart now */
	f.b[16] = 0;
	f.b[17] = 44;

	/* IPv4 drop reasons, each a one-byte change of this frame */
	f.b[14] = 0x55;				/* version 5 */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_IPV4_VERSION);
	f.b[14] = 0x44;				/* IHL 4: 16 bytes < 20 */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_IPV4_IHL);
	f.b[14] = 0x4f;				/* IHL 15: 60 bytes > 46 captured */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_IPV4_IHL);
	f.b[14] = 0x45;
	f.b[17] = 19;				/* total length 19 < 20-byte header */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_IPV4_LEN);
	f.b[17] = 20;				/* 20: a bare header, no TCP */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_SHORT_TCP);
	f.b[17] = 44;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_R(parse_n(&cfg_off, &f, 14 + 19, &m, 0), WEIR_PARSE_SHORT_IPV4);
}

/* IPv4 with 8 bytes of options (IHL 7), UDP; then ICMP echo and SCTP. */
static void
t_ipv4_options_udp_icmp_sctp(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x08, 0x00);		/* Ethernet, IPv4 */
	/* IPv4, IHL 7 (28 bytes), total 28 + 8 UDP + 3 = 39, id 7, UDP */
	PUT(&f, 0x47, 0x00, 0x00, 39, 0x00, 0x07, 0x00, 0x00, 0x40, 17, 0, 0,
	    192, 168, 1, 2, 10, 0, 0, 1,
	    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00);	/* 7 NOPs, EOL */
	udp(&f, 53, 40000, 11);			/* UDP 53 -> 40000, length 8 + 3 */
	PUT(&f, 'a', 'b', 'c');
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.l4_off, 14 + 28);
	CHECK_EQ(m.payload_off, 14 + 28 + 8);
	CHECK_EQ(m.payload_len, 3);
	CHECK_EQ(m.sport, 53);
	CHECK_EQ(m.dport, 40000);
	CHECK_EQ(m.proto, 17);
	CHECK_EQ(m.l3_len, 39);
	/* IP length 28 + 7: a UDP header cut short */
	f.b[17] = 35;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_SHORT_UDP);

	/* ICMP echo request: type 8, code 0 -> dport 0x0800 */
	struct fb g = {0};
	PUT(&g, MACS, 0x08, 0x00);
	ipv4(&g, 28, 1, 0, 1, A4, B4);		/* 20 + 8 */
	PUT(&g, 0x08, 0x00, 0xf7, 0xff, 0x00, 0x01, 0x00, 0x00); /* type, code, csum, id, seq */
	CHECK_R(parse(&cfg_off, &g, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.proto, 1);
	CHECK_EQ(m.sport, 0);
	CHECK_EQ(m.dport, 0x0800);
	CHECK_EQ(m.payload_len, 0);
	CHECK(m.flags & WEIR_PKT_L4, "icmp L4");
	CHECK_R(parse_n(&cfg_off, &g, g.n - 1, &m, 0), WEIR_PARSE_SHORT_ICMP);

	/* SCTP: common header 12 bytes, then one 16-byte DATA chunk */
	struct fb s = {0};
	PUT(&s, MACS, 0x08, 0x00);
	ipv4(&s, 48, 2, 0, 132, A4, B4);	/* 20 + 12 + 16 */
	PUT(&s, 0x0b, 0x59, 0x0b, 0x5a,		/* ports 2905 -> 2906 */
	    0, 0, 0, 1, 0, 0, 0, 0);		/* vtag, checksum */
	PUT(&s, 0x00, 0x03, 0x00, 0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0); /* DATA */
	CHECK_R(parse(&cfg_off, &s, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.sport, 2905);
	CHECK_EQ(m.dport, 2906);
	CHECK_EQ(m.payload_off, 14 + 20 + 12);
	CHECK_EQ(m.payload_len, 16);
	CHECK_R(parse_n(&cfg_off, &s, 14 + 20 + 11, &m, 0), WEIR_PARSE_SHORT_SCTP);

	/* An IP protocol we do not decode (ESP, 50): addresses only */
	s.b[23] = 50;
	CHECK_R(parse(&cfg_off, &s, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.proto, 50);
	CHECK_EQ(m.flags, 0);
	CHECK_EQ(m.l4_off, 0);
	CHECK_EQ(m.sport, 0);
	CHECK_EQ(m.l3_len, 48);
}

/* IPv4 fragments: the first carries the UDP header, later ones do not. */
static void
t_ipv4_frag(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x08, 0x00);
	ipv4(&f, 36, 0xbeef, 0x2000, 17, A4, B4);	/* MF=1, offset 0 */
	udp(&f, 1000, 2000, 400);			/* full datagram length 400 */
	PUT(&f, 1, 2, 3, 4, 5, 6, 7, 8);		/* first 8 data bytes */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_FRAG | WEIR_PKT_L4);
	CHECK_EQ(m.frag_id, 0xbeef);
	CHECK_EQ(m.sport, 1000);
	CHECK_EQ(m.dport, 2000);
	CHECK_EQ(m.payload_len, 8);

	/* offset 2 (16 bytes), MF=1 : a middle fragment */
	f.b[20] = 0x20;
	f.b[21] = 0x02;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_FRAG | WEIR_PKT_FRAG_LATER);
	CHECK_EQ(m.frag_id, 0xbeef);
	CHECK_EQ(m.sport, 0);
	CHECK_EQ(m.dport, 0);
	CHECK_EQ(m.l4_off, 0);
	CHECK_EQ(m.payload_off, 0);
	CHECK_EQ(m.proto, 17);
	CHECK_EQ(m.l3_len, 36);
	/* last fragment: offset 0x1fff, MF=0 */
	f.b[20] = 0x1f;
	f.b[21] = 0xff;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_FRAG | WEIR_PKT_FRAG_LATER);
	/* DF alone (0x4000) is not a fragment */
	f.b[20] = 0x40;
	f.b[21] = 0x00;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_L4);
	CHECK_EQ(m.frag_id, 0);
	/* a later fragment needs no L4 bytes at all */
	f.b[20] = 0x00;
	f.b[21] = 0x10;
	f.b[17] = 20;
	CHECK_R(parse_n(&cfg_off, &f, 14 + 20, &m, 0), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_FRAG | WEIR_PKT_FRAG_LATER);
}

/* A first fragment that ends inside its TCP header (the fragmented SYN of
 * zeek's ipv4_fragmented-syn.pcap): the IP length (28 = 20 + 8 TCP bytes)
 * says the fragment itself is that short, so its ports still name the flow
 * (tshark reads them too). The same 8 bytes cut by a snaplen from a longer
 * packet are a short TCP header. */
static void
t_ipv4_first_frag_short_l4(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x08, 0x00);
	ipv4(&f, 28, 0x1234, 0x2000, 6, A4, B4);	/* MF=1, offset 0, 8 L4 bytes */
	PUT(&f, 0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1);	/* sport 12345, dport 80, seq */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.sport, 12345);
	CHECK_EQ(m.dport, 80);
	CHECK_EQ(m.tcp_flags, 0);			/* flags not in this fragment */
	CHECK_EQ(m.payload_len, 0);
	CHECK_EQ(m.flags & (WEIR_PKT_FRAG | WEIR_PKT_FRAG_LATER), WEIR_PKT_FRAG);
	/* UDP: 4 bytes of an 8-byte header */
	f.n = 14;
	ipv4(&f, 24, 0x1235, 0x2000, 17, A4, B4);
	PUT(&f, 0x04, 0x00, 0x00, 0x35);		/* sport 1024, dport 53 */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.sport, 1024);
	CHECK_EQ(m.dport, 53);
	/* fewer than 4 bytes: no ports to read */
	f.n = 14;
	ipv4(&f, 23, 0x1236, 0x2000, 17, A4, B4);
	PUT(&f, 0x04, 0x00, 0x00);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_SHORT_UDP);
	/* snaplen cut: the IP length says 60, only 8 TCP bytes captured */
	f.n = 14;
	ipv4(&f, 60, 0x1237, 0x2000, 6, A4, B4);
	PUT(&f, 0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_SHORT_TCP);
	/* total length 0 (captured above TSO, as ndpi_anydesk.pcapng frame
	 * 102 holds): the packet runs to the end of the frame */
	f.n = 14;
	ipv4(&f, 0, 0x1239, 0x4000, 6, A4, B4);
	tcp(&f, 7070, 54164, 0x18);
	PUT(&f, 1, 2, 3, 4, 5, 6);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.l3_len, 20 + 20 + 6);
	CHECK_EQ(m.payload_len, 6);
	CHECK_EQ(m.sport, 7070);
	/* not a fragment: a short TCP header stays an error */
	f.n = 14;
	ipv4(&f, 28, 0x1238, 0x0000, 6, A4, B4);
	PUT(&f, 0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_SHORT_TCP);
}

/* 802.1Q, then 802.1ad + 802.1Q, then 0x9100 + 802.1Q + 802.1Q. */
static void
t_vlan(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x81, 0x00);		/* Ethernet, type 802.1Q */
	PUT(&f, 0xa0, 0x64, 0x08, 0x00);	/* PCP 5, VID 100; type IPv4 */
	ipv4(&f, 28, 1, 0, 17, A4, B4);
	udp(&f, 1, 2, 8);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.vlan, 100);
	CHECK_EQ(m.vlan_inner, 0);
	CHECK_EQ(m.l3_off, 18);
	CHECK_EQ(m.l4_off, 38);
	CHECK_R(parse_n(&cfg_off, &f, 16, &m, 0), WEIR_PARSE_SHORT_VLAN);

	struct fb g = {0};
	PUT(&g, MACS, 0x88, 0xa8);		/* Ethernet, type 802.1ad */
	PUT(&g, 0x30, 0xc8, 0x81, 0x00);	/* PCP 1, VID 200; type 802.1Q */
	PUT(&g, 0xe1, 0x2c, 0x08, 0x00);	/* PCP 7, VID 300; type IPv4 */
	ipv4(&g, 28, 1, 0, 17, A4, B4);
	udp(&g, 1, 2, 8);
	CHECK_R(parse(&cfg_off, &g, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.vlan, 200);
	CHECK_EQ(m.vlan_inner, 300);
	CHECK_EQ(m.l3_off, 22);

	/* 0x9100, three tags: the third is skipped, not recorded. Carries
	 * IPv6 / ICMPv6 echo request (type 128, code 0 -> dport 0x8000). */
	struct fb h = {0};
	PUT(&h, MACS, 0x91, 0x00);		/* Ethernet, type 0x9100 */
	PUT(&h, 0x00, 0x07, 0x81, 0x00);	/* VID 7; type 802.1Q */
	PUT(&h, 0x0f, 0xff, 0x81, 0x00);	/* VID 4095; type 802.1Q */
	PUT(&h, 0x00, 0x09, 0x86, 0xdd);	/* VID 9; type IPv6 */
	ipv6(&h, 8, 58, A6, B6);
	PUT(&h, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01); /* echo req */
	CHECK_R(parse(&cfg_off, &h, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.vlan, 7);
	CHECK_EQ(m.vlan_inner, 4095);
	CHECK_EQ(m.l3_off, 26);
	CHECK_EQ(m.flags, WEIR_PKT_IPV6 | WEIR_PKT_L4);
	CHECK_EQ(m.proto, 58);
	CHECK_EQ(m.dport, 0x8000);
	CHECK(memcmp(m.src, A6, 16) == 0, "v6 src");
	CHECK(memcmp(m.dst, B6, 16) == 0, "v6 dst");
	CHECK(!weir_addr_is_v4(m.src), "v6 not v4-mapped");
	CHECK_EQ(m.l3_len, 48);
	CHECK_R(parse_n(&cfg_off, &h, h.n - 1, &m, 0), WEIR_PARSE_SHORT_ICMP);

	/* 17 tags: one more than max_layers (16) */
	struct fb t = {0};
	PUT(&t, MACS, 0x81, 0x00);
	for (int i = 0; i < 16; i++)
		PUT(&t, 0x00, 0x01, 0x81, 0x00);
	PUT(&t, 0x00, 0x01, 0x08, 0x00);
	ipv4(&t, 28, 1, 0, 17, A4, B4);
	udp(&t, 1, 2, 8);
	CHECK_R(parse(&cfg_off, &t, &m), WEIR_PARSE_TOO_MANY_LAYERS);
	struct weir_parse_cfg c = cfg_off;
	c.max_layers = 17;
	CHECK_R(parse(&c, &t, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.l3_off, 14 + 17 * 4);

	/* 300 tags against the largest max_layers, 255: the layer count
	 * must not wrap at 256 */
	struct fb u = {0};
	PUT(&u, MACS, 0x81, 0x00);
	for (int i = 0; i < 299; i++)
		PUT(&u, 0x00, 0x01, 0x81, 0x00);
	PUT(&u, 0x00, 0x01, 0x08, 0x00);
	ipv4(&u, 28, 1, 0, 17, A4, B4);
	udp(&u, 1, 2, 8);
	c.max_layers = 255;
	CHECK_R(parse(&c, &u, &m), WEIR_PARSE_TOO_MANY_LAYERS);
}

/* MPLS: one label over IPv4, three over IPv6, a control word, 32 labels. */
static void
t_mpls(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x88, 0x47);		/* Ethernet, MPLS unicast */
	PUT(&f, 0x00, 0x3e, 0x81, 0x40);	/* label 1000, TC 0, S=1, TTL 64 */
	ipv4(&f, 28, 1, 0, 17, A4, B4);
	udp(&f, 7, 9, 8);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.n_mpls, 1);
	CHECK_EQ(m.flags, WEIR_PKT_MPLS | WEIR_PKT_L4);
	CHECK_EQ(m.l3_off, 18);
	CHECK_EQ(m.dport, 9);
	CHECK_R(parse_n(&cfg_off, &f, 17, &m, 0), WEIR_PARSE_SHORT_MPLS);
	CHECK_R(parse_n(&cfg_off, &f, 18, &m, 0), WEIR_PARSE_SHORT_MPLS);
	/* S=0 on the only label: the "next label" is the IPv4 header's
	 * first word (45 00 00 1c, S=0 too), and the capture ends there */
	f.b[16] = 0x80;
	CHECK_R(parse_n(&cfg_off, &f, 22, &m, 0), WEIR_PARSE_SHORT_MPLS);
	CHECK_R(parse_n(&cfg_off, &f, 25, &m, 0), WEIR_PARSE_SHORT_MPLS);

	struct fb g = {0};
	PUT(&g, MACS, 0x88, 0x48);		/* Ethernet, MPLS multicast */
	PUT(&g, 0x00, 0x01, 0x00, 0x40);	/* label 16, S=0 */
	PUT(&g, 0x00, 0x01, 0x10, 0x40);	/* label 17, S=0 */
	PUT(&g, 0x00, 0x01, 0x21, 0x40);	/* label 18, S=1 */
	ipv6(&g, 20, 6, A6, B6);
	tcp(&g, 179, 50000, 0x18);		/* BGP, PSH|ACK */
	CHECK_R(parse(&cfg_off, &g, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.n_mpls, 3);
	CHECK_EQ(m.flags, WEIR_PKT_MPLS | WEIR_PKT_IPV6 | WEIR_PKT_L4);
	CHECK_EQ(m.l3_off, 26);
	CHECK_EQ(m.sport, 179);
	CHECK_EQ(m.tcp_flags, 0x18);

	/* pseudowire control word (first nibble 0) after S=1: not IP */
	struct fb h = {0};
	PUT(&h, MACS, 0x88, 0x47);
	PUT(&h, 0x00, 0x3e, 0x81, 0x40);	/* label 1000, S=1 */
	PUT(&h, 0x00, 0x00, 0x00, 0x00);	/* control word */
	PUT(&h, MACS2, 0x08, 0x00);		/* an Ethernet PW payload */
	CHECK_R(parse(&cfg_off, &h, &m), WEIR_PARSE_NON_IP);

	/* 32 nested labels (BAD_INPUTS row 29), none bottom of stack */
	struct fb t = {0};
	PUT(&t, MACS, 0x88, 0x47);
	for (int i = 0; i < 32; i++)
		PUT(&t, 0x00, 0x01, 0x00, 0x40);
	CHECK_R(parse(&cfg_off, &t, &m), WEIR_PARSE_TOO_MANY_LAYERS);
}

/* PPPoE session: IPv4, IPv6, LCP, a compressed protocol, a bad header. */
static void
t_pppoe(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x88, 0x64);		/* Ethernet, PPPoE session */
	PUT(&f, 0x11, 0x00, 0x12, 0x34, 0x00, 30, /* ver 1 type 1, code 0, sid, len 2+28 */
	    0x00, 0x21);			/* PPP: IPv4 */
	ipv4(&f, 28, 1, 0, 17, A4, B4);
	udp(&f, 67, 68, 8);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_PPPOE | WEIR_PKT_L4);
	CHECK_EQ(m.l3_off, 22);
	CHECK_EQ(m.sport, 67);
	CHECK_R(parse_n(&cfg_off, &f, 21, &m, 0), WEIR_PARSE_SHORT_PPPOE);
	f.b[14] = 0x12;				/* version 1, type 2 */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_PPPOE);
	f.b[14] = 0x11;
	f.b[15] = 0x09;				/* code PADI in a session frame */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_PPPOE);
	f.b[15] = 0x00;
	f.b[20] = 0xc0;				/* PPP 0xc021: LCP */
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_NON_IP);

	struct fb g = {0};
	PUT(&g, MACS, 0x88, 0x64);
	PUT(&g, 0x11, 0x00, 0x00, 0x01, 0x00, 49, /* len 1 + 48 */
	    0x57);				/* PPP, compressed: 0x57 IPv6 */
	ipv6(&g, 8, 17, A6, B6);
	udp(&g, 546, 547, 8);
	CHECK_R(parse(&cfg_off, &g, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.l3_off, 21);
	CHECK_EQ(m.flags, WEIR_PKT_PPPOE | WEIR_PKT_IPV6 | WEIR_PKT_L4);
	CHECK_EQ(m.dport, 547);
}

/* IPv6 extension headers: hop-by-hop, routing, destination options, AH,
 * fragment, mobility; and every way the chain can go wrong. */
static void
t_ipv6_ext(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x86, 0xdd);		/* Ethernet, IPv6 (0..13) */
	ipv6(&f, 8 + 24 + 8 + 24 + 8 + 2, 0, A6, B6);	/* 74 (14..53) */
	PUT(&f, 43, 0, 0x01, 0x04, 0, 0, 0, 0);	/* hop-by-hop, len 0 (8), PadN (54..61) */
	PUT(&f, 60, 2, 0, 1, 0, 0, 0, 0);	/* routing, len 2 (24) (62..85) */
	put(&f, A6, 16);
	PUT(&f, 51, 0, 0x01, 0x04, 0, 0, 0, 0);	/* dest opts, len 0 (8) (86..93) */
	PUT(&f, 17, 4, 0, 0,			/* AH, len 4: (4+2)*4 = 24 (94..117) */
	    0, 0, 0x10, 0x00,			/* SPI */
	    0, 0, 0, 1,				/* sequence */
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);	/* ICV, 12 bytes */
	udp(&f, 5000, 5001, 10);		/* (118..125) */
	PUT(&f, 0xab, 0xcd);			/* (126..127) */
	CHECK_EQ(f.n, 128);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.proto, 17);
	CHECK_EQ(m.flags, WEIR_PKT_IPV6 | WEIR_PKT_L4);
	CHECK_EQ(m.l3_off, 14);
	CHECK_EQ(m.l4_off, 118);
	CHECK_EQ(m.payload_off, 126);
	CHECK_EQ(m.payload_len, 2);
	CHECK_EQ(m.l3_len, 114);
	CHECK_EQ(m.sport, 5000);

	/* max_exthdrs 3 < the 4 headers here */
	struct weir_parse_cfg c = cfg_off;
	c.max_exthdrs = 3;
	CHECK_R(parse(&c, &f, &m), WEIR_PARSE_TOO_MANY_EXTHDRS);
	c.max_exthdrs = 4;
	CHECK_R(parse(&c, &f, &m), WEIR_PARSE_OK);

	/* AH length 200: (200+2)*4 = 808 bytes, past the packet */
	f.b[95] = 200;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_IPV6_EXTHDR);
	f.b[95] = 4;
	/* routing header length 255: 2048 bytes */
	f.b[63] = 255;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_IPV6_EXTHDR);
	f.b[63] = 2;
	/* payload length 30 ends the packet inside the routing header */
	f.b[18] = 0;
	f.b[19] = 30;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_IPV6_EXTHDR);
	/* payload length 1000 > captured: trust the capture */
	f.b[18] = 0x03;
	f.b[19] = 0xe8;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.l3_len, 114);
	f.b[18] = 0;
	f.b[19] = 74;
	/* version 4 in an IPv6 EtherType */
	f.b[14] = 0x40;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_BAD_IPV6_VERSION);
	f.b[14] = 0x60;
	CHECK_R(parse_n(&cfg_off, &f, 14 + 39, &m, 0), WEIR_PARSE_SHORT_IPV6);

	/* nine destination-options headers (each 8 bytes), then no next
	 * header (59): 9 > max_exthdrs 8 */
	struct fb g = {0};
	PUT(&g, MACS, 0x86, 0xdd);
	ipv6(&g, 72, 60, A6, B6);
	for (int i = 0; i < 9; i++)
		PUT(&g, i == 8 ? 59 : 60, 0, 0x01, 0x04, 0, 0, 0, 0);
	CHECK_R(parse(&cfg_off, &g, &m), WEIR_PARSE_TOO_MANY_EXTHDRS);
	c.max_exthdrs = 9;
	CHECK_R(parse(&c, &g, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.proto, 59);
	CHECK_EQ(m.flags, WEIR_PKT_IPV6);
	CHECK_EQ(m.l4_off, 0);

	/* mobility header (135, len 1 -> 16 bytes), payload proto 59 */
	struct fb h = {0};
	PUT(&h, MACS, 0x86, 0xdd);
	ipv6(&h, 16, 135, A6, B6);
	PUT(&h, 59, 1, 5, 0, 0, 0,		/* proto none, len 1, type 5 (BU), res, csum */
	    0, 1, 0, 0, 0, 0, 0, 0, 0, 0);	/* seq, flags, lifetime, padding */
	CHECK_R(parse(&cfg_off, &h, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.proto, 59);
	CHECK_R(parse_n(&cfg_off, &h, h.n - 1, &m, 0), WEIR_PARSE_BAD_IPV6_EXTHDR);
	CHECK_R(parse_n(&cfg_off, &h, 14 + 41, &m, 0), WEIR_PARSE_BAD_IPV6_EXTHDR);
}

/* IPv6 fragment header: first fragment keeps L4, later ones do not. */
static void
t_ipv6_frag(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x86, 0xdd);
	ipv6(&f, 8 + 20, 44, A6, B6);
	PUT(&f, 6, 0, 0x00, 0x01,		/* next TCP, offset 0, M=1 */
	    0xde, 0xad, 0xbe, 0xef);		/* identification */
	tcp(&f, 443, 50123, 0x10);
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_IPV6 | WEIR_PKT_FRAG | WEIR_PKT_L4);
	CHECK_EQ(m.frag_id, 0xdeadbeef);
	CHECK_EQ(m.proto, 6);
	CHECK_EQ(m.sport, 443);
	CHECK_EQ(m.l4_off, 14 + 40 + 8);

	f.b[56] = 0x05;				/* offset 0x05 << 5 = 160 units, M=0 */
	f.b[57] = 0x00;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_IPV6 | WEIR_PKT_FRAG | WEIR_PKT_FRAG_LATER);
	CHECK_EQ(m.proto, 6);
	CHECK_EQ(m.sport, 0);
	CHECK_EQ(m.l4_off, 0);
	CHECK_EQ(m.frag_id, 0xdeadbeef);
	/* a later fragment whose bytes are not a TCP header: still OK */
	CHECK_R(parse_n(&cfg_off, &f, 14 + 48 + 3, &m, 0), WEIR_PARSE_OK);

	/* atomic fragment (offset 0, M=0): not a fragment */
	f.b[56] = 0;
	f.b[57] = 0;
	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK_EQ(m.flags, WEIR_PKT_IPV6 | WEIR_PKT_L4);
	CHECK_EQ(m.frag_id, 0);
	/* fragment header cut: 7 of its 8 bytes */
	CHECK_R(parse_n(&cfg_off, &f, 14 + 47, &m, 0), WEIR_PARSE_BAD_IPV6_EXTHDR);
}

/* GRE: IPv4 in GRE with checksum, key and sequence; Ethernet in GRE. */
static void
t_gre(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x81, 0x00);		/* Ethernet, 802.1Q */
	PUT(&f, 0x00, 0x2a, 0x08, 0x00);	/* VID 42, IPv4 */
	ipv4(&f, 20 + 16 + 28, 9, 0, 47, C4, D4); /* outer, GRE (18..37) */
	PUT(&f, 0xb0, 0x00, 0x08, 0x00,		/* C K S, version 0, IPv4 (38..41) */
	    0x12, 0x34, 0x00, 0x00,		/* checksum, reserved */
	    0x00, 0x00, 0x00, 0x64,		/* key 100 */
	    0x00, 0x00, 0x00, 0x05);		/* sequence 5 (..53) */
	ipv4(&f, 28, 3, 0, 17, A4, B4);		/* inner (54..73) */
	udp(&f, 4000, 53, 8);			/* (74..81) */
	PUT(&f, 0, 0, 0, 0, 0, 0);		/* Ethernet trailer */

	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);	/* decap off */
	CHECK(is_v4(m.src, C4), "outer src");
	CHECK_EQ(m.proto, 47);
	CHECK_EQ(m.flags, 0);
	CHECK_EQ(m.l3_len, 64);
	CHECK_EQ(m.l4_off, 0);

	CHECK_R(parse(&cfg_on, &f, &m), WEIR_PARSE_OK);
	CHECK(is_v4(m.src, A4), "inner src");
	CHECK(is_v4(m.dst, B4), "inner dst");
	CHECK_EQ(m.flags, WEIR_PKT_TUNNEL | WEIR_PKT_L4);
	CHECK_EQ(m.vlan, 42);			/* the outer VLAN */
	CHECK_EQ(m.l3_off, 54);
	CHECK_EQ(m.l4_off, 74);
	CHECK_EQ(m.l3_len, 28);
	CHECK_EQ(m.payload_len, 0);		/* the trailer is not payload */
	CHECK_EQ(m.sport, 4000);
	CHECK(memcmp(m.smac, "\x66\x77\x88\x99\xaa\xbb", 6) == 0, "outer smac");

	CHECK_R(parse_n(&cfg_on, &f, 38 + 3, &m, 0), WEIR_PARSE_SHORT_GRE);
	CHECK_R(parse_n(&cfg_on, &f, 38 + 15, &m, 0), WEIR_PARSE_SHORT_GRE);
	/* inner header cut short by the outer IP length, not the capture */
	f.b[20] = 0;
	f.b[21] = 20 + 16 + 10;
	CHECK_R(parse(&cfg_on, &f, &m), WEIR_PARSE_SHORT_IPV4);
	f.b[21] = 64;
	/* the tunnel is a layer: 1 VLAN + 1 GRE > max_layers 1 */
	struct weir_parse_cfg c = cfg_on;
	c.max_layers = 1;
	CHECK_R(parse(&c, &f, &m), WEIR_PARSE_TOO_MANY_LAYERS);
	/* version 1 (PPTP) is not decapsulated: the outer packet */
	f.b[39] = 0x01;
	CHECK_R(parse(&cfg_on, &f, &m), WEIR_PARSE_OK);
	CHECK(is_v4(m.src, C4), "v1 outer");
	CHECK_EQ(m.flags, 0);
	f.b[39] = 0x00;
	/* an outer first fragment is not decapsulated either */
	f.b[24] = 0x20;				/* MF */
	CHECK_R(parse(&cfg_on, &f, &m), WEIR_PARSE_OK);
	CHECK(is_v4(m.src, C4), "frag outer");
	CHECK_EQ(m.flags, WEIR_PKT_FRAG);
	f.b[24] = 0x00;

	/* IPv6 outer, GRE (no options) carrying Ethernet (0x6558) with a
	 * VLAN tag, then IPv4 TCP */
	struct fb g = {0};
	PUT(&g, MACS, 0x86, 0xdd);
	ipv6(&g, 4 + 18 + 40, 47, A6, B6);	/* (14..53) */
	PUT(&g, 0x00, 0x00, 0x65, 0x58);	/* GRE, TEB (54..57) */
	PUT(&g, MACS2, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00); /* VID 5 (58..75) */
	ipv4(&g, 40, 4, 0, 6, A4, B4);		/* (76..95) */
	tcp(&g, 22, 60000, 0x02);		/* (96..115) */
	CHECK_R(parse(&cfg_on, &g, &m), WEIR_PARSE_OK);
	CHECK(is_v4(m.src, A4), "teb inner");
	CHECK_EQ(m.vlan, 0);			/* inner tags are not the VLAN */
	CHECK_EQ(m.flags, WEIR_PKT_TUNNEL | WEIR_PKT_L4);
	CHECK_EQ(m.l3_off, 76);
	CHECK_EQ(m.l4_off, 96);
	CHECK_EQ(m.tcp_flags, 0x02);
	CHECK(memcmp(m.dmac, "\x00\x11\x22\x33\x44\x55", 6) == 0, "outer dmac");
	CHECK_R(parse_n(&cfg_on, &g, 58 + 13, &m, 0), WEIR_PARSE_SHORT_ETH);
	CHECK_R(parse(&cfg_off, &g, &m), WEIR_PARSE_OK);
	CHECK(memcmp(m.src, A6, 16) == 0, "teb outer");
	/* GRE carrying ARP-in-Ethernet: not IP */
	g.b[74] = 0x08;				/* the tag's type field */
	g.b[75] = 0x06;
	CHECK_R(parse(&cfg_on, &g, &m), WEIR_PARSE_NON_IP);
}

/* VXLAN: outer VLAN / IPv4 / UDP 4789 / VXLAN / Ethernet / IPv6 / UDP. */
static void
t_vxlan(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x81, 0x00);
	PUT(&f, 0x00, 0x0a, 0x08, 0x00);	/* VID 10, IPv4 */
	ipv4(&f, 20 + 8 + 8 + 14 + 40 + 8 + 2, 5, 0, 17, C4, D4); /* 100 (18..37) */
	udp(&f, 49152, 4789, 80);		/* (38..45) */
	PUT(&f, 0x08, 0, 0, 0, 0x00, 0x30, 0x39, 0); /* I flag, VNI 12345 (46..53) */
	PUT(&f, MACS2, 0x86, 0xdd);		/* inner Ethernet (54..67) */
	ipv6(&f, 10, 17, A6, B6);		/* (68..107) */
	udp(&f, 123, 123, 10);			/* NTP (108..115) */
	PUT(&f, 0x23, 0x00);			/* (116..117) */

	CHECK_R(parse(&cfg_off, &f, &m), WEIR_PARSE_OK);
	CHECK(is_v4(m.src, C4), "outer");
	CHECK_EQ(m.dport, 4789);
	CHECK_EQ(m.payload_len, 72);

	CHECK_R(parse(&cfg_on, &f, &m), WEIR_PARSE_OK);
	CHECK(memcmp(m.src, A6, 16) == 0, "inner v6 src");
	CHECK(memcmp(m.dst, B6, 16) == 0, "inner v6 dst");
	CHECK_EQ(m.flags, WEIR_PKT_TUNNEL | WEIR_PKT_IPV6 | WEIR_PKT_L4);
	CHECK_EQ(m.vlan, 10);
	CHECK_EQ(m.sport, 123);
	CHECK_EQ(m.l3_off, 68);
	CHECK_EQ(m.l4_off, 108);
	CHECK_EQ(m.payload_off, 116);
	CHECK_EQ(m.payload_len, 2);
	CHECK_EQ(m.l3_len, 50);
	CHECK(memcmp(m.smac, "\x66\x77\x88\x99\xaa\xbb", 6) == 0, "outer smac");

	CHECK_R(parse_n(&cfg_on, &f, 46 + 7, &m, 0), WEIR_PARSE_SHORT_VXLAN);
	CHECK_R(parse_n(&cfg_on, &f, 54 + 13, &m, 0), WEIR_PARSE_SHORT_ETH);
	CHECK_R(parse_n(&cfg_on, &f, 68 + 39, &m, 0), WEIR_PARSE_SHORT_IPV6);
	/* another VXLAN port: 4789 is plain UDP then */
	struct weir_parse_cfg c = cfg_on;
	c.vxlan_port = 8472;
	CHECK_R(parse(&c, &f, &m), WEIR_PARSE_OK);
	CHECK(is_v4(m.src, C4), "port 8472: outer");
	CHECK_EQ(m.flags, WEIR_PKT_L4);
	/* VXLAN in VXLAN in ... : each tunnel a layer. 16 nested VXLAN
	 * headers, each "Ethernet IPv4 UDP VXLAN" = 14 + 20 + 8 + 8 = 50 bytes */
	struct fb n = {0};
	PUT(&n, MACS, 0x08, 0x00);
	for (int i = 0; i < 16; i++) {
		uint16_t tot = (uint16_t)(20 + 8 + 8 + (15 - i) * 50 + 14 + 28);
		if (i)
			PUT(&n, MACS2, 0x08, 0x00);
		ipv4(&n, tot, 1, 0, 17, C4, D4);
		udp(&n, 1, 4789, tot - 20);
		PUT(&n, 0x08, 0, 0, 0, 0, 0, 1, 0);
	}
	PUT(&n, MACS2, 0x08, 0x00);
	ipv4(&n, 28, 1, 0, 17, A4, B4);
	udp(&n, 1, 2, 8);
	CHECK_R(parse(&cfg_on, &n, &m), WEIR_PARSE_OK);	/* 16 layers: allowed */
	CHECK(is_v4(m.src, A4), "innermost");
	c = cfg_on;
	c.max_layers = 15;
	CHECK_R(parse(&c, &n, &m), WEIR_PARSE_TOO_MANY_LAYERS);
}

/* Short, non-IP and raw-IP inputs. */
static void
t_misc(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x08, 0x06);		/* Ethernet, ARP */
	PUT(&f, 0, 1, 8, 0, 6, 4, 0, 1);	/* ARP request header */
	CHECK_R(parse(&cfg_on, &f, &m), WEIR_PARSE_NON_IP);
	for (uint32_t n = 0; n < 14; n++)
		CHECK_R(parse_n(&cfg_on, &f, n, &m, 0), WEIR_PARSE_SHORT_ETH);
	CHECK_R(parse_n(&cfg_on, &f, 14, &m, 0), WEIR_PARSE_NON_IP);

	struct fb g = {0};
	ipv6(&g, 8, 17, A6, B6);
	udp(&g, 1, 2, 8);
	CHECK_R(parse_n(&cfg_off, &g, g.n, &m, 1), WEIR_PARSE_OK);
	CHECK_EQ(m.l3_off, 0);
	CHECK_EQ(m.l4_off, 40);
	CHECK_EQ(m.flags, WEIR_PKT_IPV6 | WEIR_PKT_L4);
	CHECK_R(parse_n(&cfg_off, &g, 0, &m, 1), WEIR_PARSE_SHORT_IPV4);
	CHECK_R(parse_n(&cfg_off, &g, 39, &m, 1), WEIR_PARSE_SHORT_IPV6);
	g.b[0] = 0x70;				/* version 7 */
	CHECK_R(parse_n(&cfg_off, &g, g.n, &m, 1), WEIR_PARSE_BAD_IPV4_VERSION);
}

/* VLAN + IPv4 + TCP + 6 payload bytes cut at every length 0..64:
 *   0..13 Ethernet, 14..17 tag, 18..37 IPv4, 38..57 TCP, 58..63 payload */
static void
t_truncate_vlan_ipv4_tcp(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x81, 0x00);
	PUT(&f, 0x20, 0x0b, 0x08, 0x00);	/* PCP 1, VID 11 */
	ipv4(&f, 46, 77, 0, 6, A4, B4);
	tcp(&f, 1024, 25, 0x18);
	PUT(&f, 'H', 'E', 'L', 'O', '\r', '\n');
	CHECK_EQ(f.n, 64);
	for (uint32_t n = 0; n <= f.n; n++) {
		enum weir_parse_result want;
		if (n < 14)
			want = WEIR_PARSE_SHORT_ETH;
		else if (n < 18)
			want = WEIR_PARSE_SHORT_VLAN;
		else if (n < 38)
			want = WEIR_PARSE_SHORT_IPV4;
		else if (n < 58)
			want = WEIR_PARSE_SHORT_TCP;
		else
			want = WEIR_PARSE_OK;
		for (int d = 0; d < 2; d++) {
			enum weir_parse_result r = parse_n(d ? &cfg_on : &cfg_off, &f, n, &m, 0);
			CHECK(r == want, "cut %u: %s, want %s", n,
			      weir_parse_result_names[r], weir_parse_result_names[want]);
			if (r == WEIR_PARSE_OK) {
				CHECK_EQ(m.l3_len, n - 18);
				CHECK_EQ(m.payload_len, n - 58);
				CHECK_EQ(m.vlan, 11);
				CHECK_EQ(m.dport, 25);
			}
		}
	}
}

/* IPv6 + hop-by-hop + fragment (first) + dest opts + UDP, cut at every
 * length:  0..13 Ethernet, 14..53 IPv6, 54..61 hop-by-hop, 62..69
 * fragment, 70..85 dest opts (16), 86..93 UDP, 94..97 payload */
static void
t_truncate_ipv6_ext_udp(void)
{
	struct fb f = {0};
	struct weir_pkt_meta m;

	PUT(&f, MACS, 0x86, 0xdd);
	ipv6(&f, 8 + 8 + 16 + 8 + 4, 0, A6, B6);
	PUT(&f, 44, 0, 0x01, 0x04, 0, 0, 0, 0);	/* hop-by-hop -> fragment */
	PUT(&f, 60, 0, 0x00, 0x01, 0, 0, 0, 42);	/* offset 0, M=1, id 42 -> dest opts */
	PUT(&f, 17, 1, 0x01, 0x0c, 0, 0, 0, 0,	/* dest opts len 1 (16) -> UDP */
	    0, 0, 0, 0, 0, 0, 0, 0);
	udp(&f, 33000, 53, 12);
	PUT(&f, 1, 2, 3, 4);
	CHECK_EQ(f.n, 98);
	for (uint32_t n = 0; n <= f.n; n++) {
		enum weir_parse_result want;
		if (n < 14)
			want = WEIR_PARSE_SHORT_ETH;
		else if (n < 54)
			want = WEIR_PARSE_SHORT_IPV6;
		else if (n < 86)
			want = WEIR_PARSE_BAD_IPV6_EXTHDR;
		else if (n < 94)
			want = WEIR_PARSE_SHORT_UDP;
		else
			want = WEIR_PARSE_OK;
		for (int d = 0; d < 2; d++) {
			enum weir_parse_result r = parse_n(d ? &cfg_on : &cfg_off, &f, n, &m, 0);
			CHECK(r == want, "cut %u: %s, want %s", n,
			      weir_parse_result_names[r], weir_parse_result_names[want]);
			if (r == WEIR_PARSE_OK) {
				CHECK_EQ(m.flags, WEIR_PKT_IPV6 | WEIR_PKT_FRAG | WEIR_PKT_L4);
				CHECK_EQ(m.frag_id, 42);
				CHECK_EQ(m.l4_off, 86);
				CHECK_EQ(m.payload_len, n - 94);
				CHECK_EQ(m.sport, 33000);
			}
		}
	}
}

int
main(void)
{
	weir_parse_cfg_default(&cfg_off);
	weir_parse_cfg_default(&cfg_on);
	cfg_on.decap_gre = cfg_on.decap_vxlan = 1;

	t_names();
	t_ipv4_tcp();
	t_ipv4_options_udp_icmp_sctp();
	t_ipv4_frag();
	t_ipv4_first_frag_short_l4();
	t_vlan();
	t_mpls();
	t_pppoe();
	t_ipv6_ext();
	t_ipv6_frag();
	t_gre();
	t_vxlan();
	t_misc();
	t_truncate_vlan_ipv4_tcp();
	t_truncate_ipv6_ext_udp();

	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
