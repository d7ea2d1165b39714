/* sflow_datagrams.c -- hand-built sFlow v5 datagrams, decoded by hand in the
 * comments, and the bad inputs that broke other collectors (BAD_INPUTS.md
 * rows 21-25), each with the named counter it must produce.
 *
 * With --write-corpus DIR it also writes the valid datagrams it builds as
 * the fuzz seed corpus (tests/fuzz/corpus/sflow/). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/export.h"
#include "weir/pkt.h"
#include "../../../drivers/sflow/sflow.h"
#include "sflow_build.h"

static int failures;
#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

static struct weir_flow_rec recs[64];
static struct weir_if_counters ifcs[8];
static unsigned int n_rec, n_ifc;

static void
on_rec(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	if (n_rec < 64)
		recs[n_rec] = *r;
	n_rec++;
}

static void
on_ifc(void *ctx, struct weir_exporter *ex, const struct weir_if_counters *c)
{
	if (n_ifc < 8)
		ifcs[n_ifc] = *c;
	n_ifc++;
}

static struct weir_exporter_limits lim;
static struct weir_parse_cfg pcfg;
static struct weir_flow_sink sink = { .rec = on_rec, .ifc = on_ifc, .pcfg = &pcfg };
static const char *corpus_dir;

static void
fresh(struct weir_exporter *ex)
{
	weir_sflow_state_free(ex);
	memset(ex, 0, sizeof(*ex));
	ex->lim = &lim;
	n_rec = n_ifc = 0;
}

/* Decode from an exact-size heap copy, so ASan catches any over-read. */
static int
decode(struct weir_exporter *ex, const struct dg *d, size_t len)
{
	uint8_t *h = malloc(len ? len : 1);
	memcpy(h, d->b, len);
	int r = weir_xflow_decode(ex, h, len, 5000, &sink);
	free(h);
	return r;
}

static void
save(const char *name, const struct dg *d)
{
	if (!corpus_dir)
		return;
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", corpus_dir, name);
	FILE *f = fopen(p, "wb");
	if (f) {
		fwrite(d->b, 1, d->n, f);
		fclose(f);
	}
}

static uint64_t
only_error(const struct weir_exporter *ex, enum weir_xerr want)
{
	for (int r = 0; r < WEIR_XERR__MAX; r++)
		if (r != (int)want && ex->err[r])
			return 1000 + (uint64_t)r;
	return ex->err[want];
}

/*
 * The sampled frame used below, 58 bytes of a 78-byte frame (82 with FCS):
 *
 *   00 11 22 33 44 55  66 77 88 99 aa bb  81 00       dst, src, 802.1Q
 *   00 2a  08 00                                      VLAN 42, IPv4
 *   45 00 00 3c 00 01 40 00 40 06 00 00               IPv4, total length 60, TCP
 *   c0 a8 01 0a  0a 00 00 01                          192.168.1.10 -> 10.0.0.1
 *   c3 50 01 bb  00 00 00 01  00 00 00 00             ports 50000 -> 443
 *   50 12 ff ff 00 00 00 00                           doff 5, flags SYN|ACK (0x12)
 */
static const uint8_t frame[58] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
	0x81, 0x00, 0x00, 0x2a, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x3c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
	0xc0, 0xa8, 0x01, 0x0a, 0x0a, 0x00, 0x00, 0x01,
	0xc3, 0x50, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x12, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
};

/* A raw-header record (format 1) of the frame above. */
static void
rec_header(struct dg *d, uint32_t proto, uint32_t frame_length, uint32_t stripped,
	   const uint8_t *h, uint32_t hlen)
{
	size_t r = open_part(d, 1);
	put32(d, proto);
	put32(d, frame_length);
	put32(d, stripped);
	put32(d, hlen);
	putbytes(d, h, hlen);
	close_part(d, r);
}

/* A compact flow sample: seq, source (class 0, index 3), rate, pool, drops,
 * input 3, output `out`, then the records written by `body`. */
static size_t
flow_sample_open(struct dg *d, uint32_t rate, uint32_t pool, uint32_t drops,
		 uint32_t in, uint32_t out, uint32_t nrec)
{
	size_t s = open_part(d, 1);
	put32(d, 77);		/* sample sequence */
	put32(d, 3);		/* source: class 0 (ifIndex), index 3 */
	put32(d, rate);
	put32(d, pool);
	put32(d, drops);
	put32(d, in);
	put32(d, out);
	put32(d, nrec);
	return s;
}

/* One datagram, one compact flow sample: extended switch (src VLAN 7) and
 * the raw header above, rate 512, output 0x40000001 (format 1: dropped). */
static void
build_flow(struct dg *d, uint32_t seq, uint32_t rate, uint32_t pool, uint32_t drops)
{
	dg_header4(d, 0xc0000201 /* 192.0.2.1 */, 0, seq, 1);
	size_t s = flow_sample_open(d, rate, pool, drops, 3, 0x40000001, 2);
	size_t r = open_part(d, 1001);	/* extended switch */
	put32(d, 7);			/* src vlan */
	put32(d, 0);
	put32(d, 8);			/* dst vlan */
	put32(d, 0);
	close_part(d, r);
	rec_header(d, 1, 82, 4, frame, sizeof(frame));
	close_part(d, s);
}

static void
test_flow_sample(void)
{
	struct weir_exporter ex = {0};
	struct dg d;

	fresh(&ex);
	build_flow(&d, 10, 512, 1000, 5);
	save("flow_compact", &d);
	CHECK(decode(&ex, &d, d.n) == 1, "one record");
	CHECK(n_rec == 1 && ex.records == 1 && ex.datagrams == 1 && ex.errors == 0,
	      "records %u/%" PRIu64 " errors %" PRIu64, n_rec, ex.records, ex.errors);
	const struct weir_flow_rec *r = &recs[0];
	static const uint8_t src[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff,192,168,1,10};
	static const uint8_t dst[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff,10,0,0,1};
	static const uint8_t smac[6] = {0x66,0x77,0x88,0x99,0xaa,0xbb};
	CHECK(!memcmp(r->src, src, 16) && !memcmp(r->dst, dst, 16), "addresses");
	CHECK(!memcmp(r->smac, smac, 6) && r->dmac[5] == 0x55, "MACs");
	CHECK(r->sport == 50000 && r->dport == 443 && r->proto == 6 && r->tcp_flags == 0x12,
	      "L4 %u>%u proto %u flags %#x", r->sport, r->dport, r->proto, r->tcp_flags);
	/* the header's own tag (42) wins over the extended switch's (7) */
	CHECK(r->vlan == 42, "vlan %u", r->vlan);
	CHECK(r->in_if == 3 && r->out_if == 0 && r->direction == 0,
	      "in %u out %u dir %u", r->in_if, r->out_if, r->direction);
	CHECK(ex.sf->st.out_discarded == 1, "discard counted");
	/* frame_length 82 includes the FCS: 78 bytes x 512 */
	CHECK(r->frame_len == 82 && r->pkts == 512 && r->bytes == 78 * 512 && r->sampling == 512,
	      "frame_len %u pkts %" PRIu64 " bytes %" PRIu64, r->frame_len, r->pkts, r->bytes);
	CHECK(r->source == WEIR_SRC_SFLOW && r->start_ms == 5000, "source/time");
	CHECK(ex.last_version == 'S' && ex.last_seen_ms == 5000 && ex.sampling == 512, "exporter");
	CHECK(ex.bytes == 78 * 512 && ex.pkts == 512, "exporter totals");

	/* Sequence: 10, 11, 14 (2 lost), 3 (restart), 3 (duplicate). Pool
	 * 1000 -> 1512 -> 3000 and drops 5 -> 5 -> 9: increases accounted. */
	build_flow(&d, 11, 512, 1512, 5);
	decode(&ex, &d, d.n);
	build_flow(&d, 14, 512, 3000, 9);
	decode(&ex, &d, d.n);
	CHECK(ex.seq_lost == 2 && ex.seq_resets == 0, "lost %" PRIu64, ex.seq_lost);
	CHECK(ex.sflow_drops == 4 && ex.sf->st.pool_pkts == 2000,
	      "drops %" PRIu64 " pool %" PRIu64, ex.sflow_drops, ex.sf->st.pool_pkts);
	build_flow(&d, 3, 512, 100, 0);
	decode(&ex, &d, d.n);
	decode(&ex, &d, d.n);
	CHECK(ex.seq_lost == 2 && ex.seq_resets == 1, "lost %" PRIu64 " resets %" PRIu64,
	      ex.seq_lost, ex.seq_resets);
	CHECK(ex.sflow_drops == 4, "restart of the sampler does not count drops");
	/* another sub-agent is its own stream */
	build_flow(&d, 500, 512, 1000, 0);
	set32(&d, 12, 1);		/* sub_agent_id = 1 */
	decode(&ex, &d, d.n);
	CHECK(ex.seq_lost == 2 && ex.seq_resets == 1, "sub-agent stream");
	CHECK(ex.errors == 0, "no errors");
	fresh(&ex);
}

/* Expanded flow sample, IPv6 agent, raw header protocol 12 (IPv6), plus a
 * router record (1002) and an enterprise record that must be skipped. */
static void
test_expanded_v6(void)
{
	struct weir_exporter ex = {0};
	struct dg d = {0};
	/* IPv6 + UDP, 48 bytes: 2001:db8::1 -> 2001:db8::2, 5353 -> 53 */
	static const uint8_t ip6[48] = {
		0x60, 0, 0, 0, 0x00, 0x08, 17, 64,
		0x20, 0x01, 0x0d, 0xb8, 0,0,0,0, 0,0,0,0, 0,0,0,1,
		0x20, 0x01, 0x0d, 0xb8, 0,0,0,0, 0,0,0,0, 0,0,0,2,
		0x14, 0xe9, 0x00, 0x35, 0x00, 0x08, 0, 0,
	};
	static const uint8_t agent6[16] = {0x20,0x01,0x0d,0xb8,0,0,0,0,0,0,0,0,0,0,0,0x99};

	fresh(&ex);
	put32(&d, 5);
	put32(&d, 2);			/* IPv6 agent */
	putbytes(&d, agent6, 16);
	put32(&d, 0);
	put32(&d, 1);			/* seq */
	put32(&d, 0);
	put32(&d, 1);			/* one sample */
	size_t s = open_part(&d, 3);	/* expanded flow sample */
	put32(&d, 1);			/* seq */
	put32(&d, 0);			/* ds type ifIndex */
	put32(&d, 1000001);		/* ds index > 24 bits: only expanded can say it */
	put32(&d, 100);			/* rate */
	put32(&d, 0);
	put32(&d, 0);
	put32(&d, 0);
	put32(&d, 5);			/* input: format 0, ifIndex 5 */
	put32(&d, 0);
	put32(&d, 1000001);		/* output: format 0, ifIndex 1000001 */
	put32(&d, 3);			/* records */
	size_t r = open_part(&d, 1002);	/* extended router: IPv4 next hop, masks */
	put32(&d, 1);
	put32(&d, 0x0a000001);
	put32(&d, 24);
	put32(&d, 16);
	close_part(&d, r);
	r = open_part(&d, (9 << 12) | 1);	/* enterprise 9, format 1: not ours */
	put32(&d, 0xdeadbeef);
	close_part(&d, r);
	rec_header(&d, 12, 48, 0, ip6, sizeof(ip6));
	close_part(&d, s);
	save("flow_expanded_v6", &d);

	CHECK(decode(&ex, &d, d.n) == 1 && n_rec == 1, "one record");
	const struct weir_flow_rec *rr = &recs[0];
	CHECK(rr->src[15] == 1 && rr->dst[15] == 2 && rr->src[0] == 0x20, "v6 addresses");
	CHECK(rr->proto == 17 && rr->sport == 5353 && rr->dport == 53, "udp");
	CHECK(rr->in_if == 5 && rr->out_if == 1000001 && rr->direction == 1,
	      "in %u out %u dir %u", rr->in_if, rr->out_if, rr->direction);
	/* IP header protocol: no FCS, frame_length is the IP length */
	CHECK(rr->bytes == 48 * 100 && rr->frame_len == 48, "bytes %" PRIu64, rr->bytes);
	/* the extended router record is decoded, the enterprise one skipped */
	CHECK(ex.sf->st.records_skipped == 1 && ex.errors == 0, "skipped %" PRIu64 " errors %" PRIu64,
	      ex.sf->st.records_skipped, ex.errors);
	CHECK(rr->route.next_hop[10] == 0xff && rr->route.next_hop[12] == 10 && rr->route.next_hop[15] == 1 &&
	      rr->route.src_mask == 24 && rr->route.dst_mask == 16 && rr->route.src_as == 0,
	      "route: next hop 10.0.0.1, masks %u/%u", rr->route.src_mask, rr->route.dst_mask);
	fresh(&ex);
}

/* Sampled IPv4 record (format 3) with no raw header: addresses from it,
 * bytes = its IP length x rate. */
static void
test_ipv4_record(void)
{
	struct weir_exporter ex = {0};
	struct dg d;

	fresh(&ex);
	dg_header4(&d, 0xc0000201, 0, 1, 1);
	size_t s = flow_sample_open(&d, 10, 0, 0, 2, 4, 1);
	size_t r = open_part(&d, 3);
	put32(&d, 1500);		/* IP length */
	put32(&d, 6);			/* TCP */
	put32(&d, 0xc6336401);		/* 198.51.100.1 */
	put32(&d, 0xcb007102);		/* 203.0.113.2 */
	put32(&d, 1234);
	put32(&d, 80);
	put32(&d, 0x18);		/* PSH|ACK */
	put32(&d, 0);
	close_part(&d, r);
	close_part(&d, s);
	save("flow_ipv4_record", &d);

	CHECK(decode(&ex, &d, d.n) == 1 && n_rec == 1, "one record");
	const struct weir_flow_rec *rr = &recs[0];
	CHECK(rr->src[12] == 198 && rr->src[15] == 1 && rr->dst[12] == 203 && rr->dst[15] == 2 &&
	      rr->src[10] == 0xff, "v4-mapped addresses");
	CHECK(rr->proto == 6 && rr->sport == 1234 && rr->dport == 80 && rr->tcp_flags == 0x18, "l4");
	CHECK(rr->bytes == 15000 && rr->pkts == 10 && rr->in_if == 2 && rr->out_if == 4,
	      "bytes %" PRIu64, rr->bytes);
	fresh(&ex);
}

/* Counter sample: generic (format 1) + ethernet (format 2) + a VLAN record
 * (format 3, skipped), values chosen to be told apart. */
static void
test_counters(void)
{
	struct weir_exporter ex = {0};
	struct dg d;

	fresh(&ex);
	dg_header4(&d, 0xc0000201, 0, 1, 1);
	size_t s = open_part(&d, 2);
	put32(&d, 9);			/* seq */
	put32(&d, 17);			/* source ifIndex 17 */
	put32(&d, 3);			/* records */
	size_t r = open_part(&d, 1);
	put32(&d, 17);			/* ifIndex */
	put32(&d, 6);			/* ifType */
	put64(&d, 10000000000ull);	/* ifSpeed */
	put32(&d, 1);			/* full duplex */
	put32(&d, 3);			/* admin+oper up */
	put64(&d, 0x123456789ull);	/* in octets */
	put32(&d, 11); put32(&d, 12); put32(&d, 13); put32(&d, 14); put32(&d, 15); put32(&d, 16);
	put64(&d, 0x987654321ull);	/* out octets */
	put32(&d, 21); put32(&d, 22); put32(&d, 23); put32(&d, 24); put32(&d, 25);
	put32(&d, 2);			/* promisc false */
	close_part(&d, r);
	r = open_part(&d, 2);
	for (uint32_t i = 1; i <= 13; i++)
		put32(&d, 100 + i);	/* alignment 101, fcs 102, ... symbol 113 */
	close_part(&d, r);
	r = open_part(&d, 5);		/* VLAN counters: skipped */
	put32(&d, 1);
	close_part(&d, r);
	close_part(&d, s);
	save("counters", &d);

	CHECK(decode(&ex, &d, d.n) == 0 && n_ifc == 1, "one counter set");
	const struct weir_if_counters *c = &ifcs[0];
	CHECK(c->ifindex == 17 && c->speed == 10000000000ull && c->status == 3 && c->if_type == 6 &&
	      c->if_direction == 1 && c->promisc == 2, "generic header");
	CHECK(c->in_octets == 0x123456789ull && c->in_ucast == 11 && c->in_mcast == 12 &&
	      c->in_bcast == 13 && c->in_discards == 14 && c->in_errors == 15 &&
	      c->in_unknown_protos == 16, "in");
	CHECK(c->out_octets == 0x987654321ull && c->out_ucast == 21 && c->out_mcast == 22 &&
	      c->out_bcast == 23 && c->out_discards == 24 && c->out_errors == 25, "out");
	CHECK(c->dot3.alignment_errors == 101 && c->dot3.fcs_errors == 102 &&
	      c->dot3.late_collisions == 107 && c->dot3.symbol_errors == 113, "dot3");
	CHECK(c->have == (WEIR_IFC_GENERIC | WEIR_IFC_ETHERNET), "have");
	CHECK(ex.sf->st.counter_samples == 1 && ex.records == 0 && ex.errors == 0, "counts");
	fresh(&ex);
}

/* BAD_INPUTS #21: truncated datagrams, IPv6 agent cut short, huge sample
 * count, bad agent type. */
static void
test_row21(void)
{
	struct weir_exporter ex = {0};
	struct dg d;

	/* Every prefix of a valid datagram: never a crash, and every one that
	 * stops inside the header is a short datagram. */
	build_flow(&d, 1, 512, 0, 0);
	for (size_t n = 0; n < d.n; n++) {
		fresh(&ex);
		int rc = decode(&ex, &d, n);
		CHECK(rc <= 0 && n_rec == 0, "prefix %zu delivered", n);
		if (n < 28)
			CHECK(ex.err[WEIR_XERR_SHORT_DATAGRAM] == 1 && ex.errors == 1,
			      "prefix %zu: short_datagram", n);
		else
			CHECK(ex.errors == 1 && (ex.err[WEIR_XERR_SFLOW_BAD_SAMPLE] ||
						 ex.err[WEIR_XERR_SFLOW_BAD_RECORD]),
			      "prefix %zu: bad sample/record", n);
	}

	/* IPv6 agent with 12 of its 16 address bytes */
	fresh(&ex);
	d.n = 0;
	put32(&d, 5);
	put32(&d, 2);
	put32(&d, 0x20010db8);
	put32(&d, 0);
	put32(&d, 0);
	CHECK(decode(&ex, &d, d.n) == -1 && only_error(&ex, WEIR_XERR_SHORT_DATAGRAM) == 1,
	      "truncated IPv6 agent");

	/* sample count 0xffffffff in a datagram with room for none */
	fresh(&ex);
	dg_header4(&d, 0xc0000201, 0, 1, 0xffffffffu);
	CHECK(decode(&ex, &d, d.n) == -1 && only_error(&ex, WEIR_XERR_SFLOW_BAD_SAMPLE) == 1,
	      "huge sample count");
	/* ... or claiming 3 where one fits */
	fresh(&ex);
	build_flow(&d, 1, 512, 0, 0);
	set32(&d, 24, 3);		/* the first is decoded, the lie counted */
	CHECK(decode(&ex, &d, d.n) == 1 && n_rec == 1 &&
	      only_error(&ex, WEIR_XERR_SFLOW_BAD_SAMPLE) == 1, "sample count past the datagram");

	/* agent address types 0 and 3 */
	for (uint32_t t = 0; t <= 3; t += 3) {
		fresh(&ex);
		build_flow(&d, 1, 512, 0, 0);
		set32(&d, 4, t);
		CHECK(decode(&ex, &d, d.n) == -1 && only_error(&ex, WEIR_XERR_SFLOW_BAD_AGENT) == 1,
		      "agent type %u", t);
	}
	fresh(&ex);
}

/* BAD_INPUTS #22: a record whose length (65601536 = 0x03e90000) does not fit
 * its sample; a sample whose length does not fit the datagram. */
static void
test_row22(void)
{
	struct weir_exporter ex = {0};
	struct dg d;

	fresh(&ex);
	dg_header4(&d, 0xc0000201, 0, 1, 2);
	/* sample 1: extended switch record with a garbage length */
	size_t s = flow_sample_open(&d, 512, 0, 0, 3, 4, 2);
	size_t r = open_part(&d, 1001);
	put32(&d, 7); put32(&d, 0); put32(&d, 8); put32(&d, 0);
	close_part(&d, r);
	set32(&d, r, 65601536);
	rec_header(&d, 1, 82, 4, frame, sizeof(frame));
	close_part(&d, s);
	/* sample 2: valid */
	s = flow_sample_open(&d, 512, 0, 0, 3, 4, 1);
	rec_header(&d, 1, 82, 4, frame, sizeof(frame));
	close_part(&d, s);
	CHECK(decode(&ex, &d, d.n) == 1 && n_rec == 1, "second sample still decoded");
	CHECK(only_error(&ex, WEIR_XERR_SFLOW_BAD_RECORD) == 1, "bad record counted");
	CHECK(recs[0].out_if == 4 && recs[0].bytes == 78 * 512, "second sample intact");

	/* the same garbage as a sample length: nothing after it is read */
	fresh(&ex);
	build_flow(&d, 1, 512, 0, 0);
	set32(&d, 32, 65601536);	/* first sample's length */
	CHECK(decode(&ex, &d, d.n) == 0 && n_rec == 0 &&
	      only_error(&ex, WEIR_XERR_SFLOW_BAD_SAMPLE) == 1, "bad sample length");

	/* raw header whose header_length runs past its record */
	fresh(&ex);
	dg_header4(&d, 0xc0000201, 0, 1, 1);
	s = flow_sample_open(&d, 512, 0, 0, 3, 4, 1);
	r = open_part(&d, 1);
	put32(&d, 1); put32(&d, 82); put32(&d, 4); put32(&d, 4000);
	putbytes(&d, frame, sizeof(frame));
	close_part(&d, r);
	close_part(&d, s);
	CHECK(decode(&ex, &d, d.n) == 0 && only_error(&ex, WEIR_XERR_SFLOW_BAD_RECORD) == 1,
	      "header length past record");

	/* an unknown sample format (enterprise 4413) skipped by length, the
	 * flow sample after it decoded */
	fresh(&ex);
	dg_header4(&d, 0xc0000201, 0, 1, 2);
	s = open_part(&d, (4413 << 12) | 5);
	put32(&d, 1); put32(&d, 2); put32(&d, 3);
	close_part(&d, s);
	s = flow_sample_open(&d, 512, 0, 0, 3, 4, 1);
	rec_header(&d, 1, 82, 4, frame, sizeof(frame));
	close_part(&d, s);
	save("unknown_sample_then_flow", &d);
	put32(&d, 0xabcdef01);		/* 4 bytes after the declared samples */
	CHECK(decode(&ex, &d, d.n) == 1 && ex.errors == 0 && ex.sf->st.samples_skipped == 1 &&
	      ex.sf->st.trailing == 1, "unknown sample skipped, trailing bytes noted");
	fresh(&ex);
}

/* BAD_INPUTS #23: sampled Ethernet header shorter than two MACs + type. The
 * header is refused (counted); the sample's volume still counts. */
static void
test_row23(void)
{
	struct weir_exporter ex = {0};
	struct dg d;

	for (uint32_t hl = 0; hl < 14; hl++) {
		fresh(&ex);
		dg_header4(&d, 0xc0000201, 0, 1, 1);
		size_t s = flow_sample_open(&d, 512, 0, 0, 3, 4, 1);
		rec_header(&d, 1, 82, 4, frame, hl);
		close_part(&d, s);
		CHECK(decode(&ex, &d, d.n) == 1 && only_error(&ex, WEIR_XERR_SFLOW_BAD_HEADER) == 1,
		      "header of %u bytes", hl);
		static const uint8_t zero[16];
		CHECK(n_rec == 1 && !memcmp(recs[0].src, zero, 16) && recs[0].proto == 0 &&
		      recs[0].bytes == 78 * 512, "volume only");
	}
	/* IPv4 header protocol with 0 bytes, and an IPv4 header with IHL 2 */
	static const uint8_t bad_ihl[20] = { 0x42, 0, 0, 20 };
	for (int k = 0; k < 2; k++) {
		fresh(&ex);
		dg_header4(&d, 0xc0000201, 0, 1, 1);
		size_t s = flow_sample_open(&d, 512, 0, 0, 3, 4, 1);
		rec_header(&d, 11, 20, 0, bad_ihl, k ? 20 : 0);
		close_part(&d, s);
		CHECK(decode(&ex, &d, d.n) == 1 && only_error(&ex, WEIR_XERR_SFLOW_BAD_HEADER) == 1,
		      "IPv4 header case %d", k);
	}
	fresh(&ex);
}

/* BAD_INPUTS #24: crafted datagrams that try to make us loop or allocate:
 * a flow sample and a counter sample claiming 2^32-1 records, and a
 * datagram of 2000 empty unknown samples. */
static void
test_row24(void)
{
	struct weir_exporter ex = {0};
	struct dg d;

	fresh(&ex);
	dg_header4(&d, 0xc0000201, 0, 1, 2);
	size_t s = flow_sample_open(&d, 512, 0, 0, 3, 4, 0xffffffffu);
	close_part(&d, s);
	s = open_part(&d, 2);
	put32(&d, 1); put32(&d, 3); put32(&d, 0xffffffffu);
	close_part(&d, s);
	CHECK(decode(&ex, &d, d.n) == 0 && only_error(&ex, WEIR_XERR_SFLOW_BAD_SAMPLE) == 2,
	      "huge record counts: %" PRIu64, ex.err[WEIR_XERR_SFLOW_BAD_SAMPLE]);

	fresh(&ex);
	size_t at = dg_header4(&d, 0xc0000201, 0, 1, 0);
	uint32_t n = 0;
	while (d.n + 8 <= sizeof(d.b) - 16 && n < 2000) {
		put32(&d, 99);		/* unknown format */
		put32(&d, 0);		/* empty */
		n++;
	}
	set32(&d, at, n);
	CHECK(decode(&ex, &d, d.n) == 0 && ex.errors == 0 && ex.sf->st.samples_skipped == n,
	      "%u empty samples", n);

	/* more agents than sequence slots: bounded, the oldest recycled */
	fresh(&ex);
	for (uint32_t a = 0; a < 3 * SFLOW_MAX_SLOTS; a++) {
		build_flow(&d, 1, 512, 0, 0);
		set32(&d, 8, 0x0a000000 + a);
		decode(&ex, &d, d.n);
	}
	CHECK(ex.sf->n_slots == SFLOW_MAX_SLOTS && ex.sf->st.sources_evicted > 0 && ex.errors == 0,
	      "slots %u evicted %" PRIu64, ex.sf->n_slots, ex.sf->st.sources_evicted);
	fresh(&ex);
}

/* BAD_INPUTS #25: sampling rate 0 is counted and the configured default
 * applies, so bytes are not 0. */
static void
test_row25(void)
{
	struct weir_exporter ex = {0};
	struct dg d;

	fresh(&ex);
	lim.default_sampling = 100;
	build_flow(&d, 1, 0, 0, 0);
	CHECK(decode(&ex, &d, d.n) == 1 && only_error(&ex, WEIR_XERR_SAMPLING_MISSING) == 1,
	      "sampling missing counted");
	CHECK(recs[0].sampling == 100 && recs[0].pkts == 100 && recs[0].bytes == 78 * 100,
	      "default applied: %" PRIu64, recs[0].bytes);
	weir_exporter_limits_default(&lim);
	fresh(&ex);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
		corpus_dir = argv[2];
	weir_exporter_limits_default(&lim);
	weir_parse_cfg_default(&pcfg);

	test_flow_sample();
	test_expanded_v6();
	test_ipv4_record();
	test_counters();
	test_row21();
	test_row22();
	test_row23();
	test_row24();
	test_row25();

	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("sflow datagrams: all checks passed\n");
	return 0;
}
