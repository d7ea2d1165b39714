/* sflow_captures.c -- the sFlow decoder against real agents' datagrams,
 * checked sample by sample against tshark 4.0's decode of the same bytes.
 *
 * Each group of ../shared/captures/flowexport/sflow (MANIFEST.md) is fed
 * through weir_xflow_decode -- a pcap one UDP payload per packet, exporter =
 * the packet's source address; a .bin/.dump file as one datagram -- and
 * compared with _groundtruth/<group>.tshark-records.jsonl (one line per
 * sample, in datagram order):
 *   - the number of flow samples delivered and of counter samples decoded;
 *   - per flow sample: sampling rate, input/output interface, frame length,
 *     MACs, VLAN(s), addresses, protocol, ports (ICMP type/code), TCP flags;
 *   - bytes = (frame_length - 4) * rate, and, for every sample whose agent
 *     stripped only the FCS (stripped == 4), that frame_length - 4 is the
 *     Ethernet frame tshark decoded (14 + 4 per tag + IP length, padded to
 *     60): the FCS really is inside frame_length (see wire_length());
 *   - per counter sample with generic/ethernet records: ifIndex, speed,
 *     octets and packets each way, errors, dot3 FCS/alignment errors;
 *   - datagram sequence loss and restarts per (exporter, agent) as implied
 *     by tshark's datagram sequence numbers;
 *   - no error counter anywhere (these are valid datagrams);
 *   - every strict prefix of each datagram refused under a named counter.
 * Where tshark itself lost alignment (telegraf's example carries a record
 * format 1005 that tshark 4.0 misreads, so its next "record length" is the
 * ASCII of "eno1"), that sample is checked against telegraf's own expected
 * output (*.telegraf.expected.out) instead. Cistern's host sample holds six
 * host-sFlow records (2000-2006, none of them interface counters) that
 * tshark 4.0 reads as 2001 + a bogus "ethernet" record: no interface
 * counters are expected from it.
 *
 * Exit 77 (skip) when the captures are absent. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/export.h"
#include "weir/pkt.h"
#include "../../../drivers/sflow/sflow.h"

static int failures;
#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

/* ---- what the decoder delivered, in order ---- */

#define MAX_EV 1024
static struct weir_flow_rec recs[MAX_EV];
static struct weir_if_counters ifcs[MAX_EV];
static unsigned int n_rec, n_ifc;

static void
on_rec(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	if (r->source != WEIR_SRC_SFLOW)	/* NetFlow v5 sharing the port */
		return;
	if (n_rec < MAX_EV)
		recs[n_rec] = *r;
	n_rec++;
}

static void
on_ifc(void *ctx, struct weir_exporter *ex, const struct weir_if_counters *c)
{
	if (n_ifc < MAX_EV)
		ifcs[n_ifc] = *c;
	n_ifc++;
}

/* One exporter per source address. */
#define MAX_EXP 16
static struct weir_exporter exps[MAX_EXP];
static unsigned int n_exp;
static struct weir_exporter_limits lim;
static struct weir_parse_cfg pcfg;
static struct weir_flow_sink sink = { .rec = on_rec, .ifc = on_ifc, .pcfg = &pcfg };

static struct weir_exporter *
exporter(const uint8_t addr[16])
{
	for (unsigned int i = 0; i < n_exp; i++)
		if (memcmp(exps[i].addr, addr, 16) == 0)
			return &exps[i];
	if (n_exp == MAX_EXP)
		return NULL;
	struct weir_exporter *ex = &exps[n_exp++];
	memset(ex, 0, sizeof(*ex));
	memcpy(ex->addr, addr, 16);
	ex->lim = &lim;
	return ex;
}

static void
reset_group(void)
{
	for (unsigned int i = 0; i < n_exp; i++) {
		weir_sflow_state_free(&exps[i]);
		weir_nf_state_free(&exps[i]);
	}
	n_exp = n_rec = n_ifc = 0;
}

/* Negative inputs made from real ones: every strict prefix of a real sFlow
 * datagram must be refused under a named reason (never a crash, never more
 * records than the whole datagram gave). A datagram with bytes after its
 * declared samples is exempt from "must be refused": its prefixes that cut
 * only the trailer are whole datagrams. */
static unsigned long truncations_checked;

static void
truncations(const char *grp, const uint8_t *d, size_t n)
{
	if (n < 4 || d[0] || d[1] || d[2] || d[3] != 5)
		return;
	struct weir_exporter ex;
	struct weir_flow_sink quiet = { .pcfg = &pcfg };
	memset(&ex, 0, sizeof(ex));
	ex.lim = &lim;
	int whole = weir_sflow_decode(&ex, d, n, 0, &quiet);
	int trailing = ex.sf && ex.sf->st.trailing;
	for (size_t k = 0; k < n; k++) {
		uint64_t before = ex.errors;
		uint8_t *c = malloc(k ? k : 1);
		memcpy(c, d, k);
		int got = weir_sflow_decode(&ex, c, k, 0, &quiet);
		free(c);
		CHECK(got <= whole, "%s: prefix %zu of %zu gave %d records, whole %d", grp, k, n, got, whole);
		if (!trailing)
			CHECK(ex.errors > before, "%s: prefix %zu of %zu refused nothing", grp, k, n);
		truncations_checked++;
	}
	weir_sflow_state_free(&ex);
}

static const char *cur_group;

static uint8_t raw_exporter[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff,192,0,2,1};

static int
feed_raw(const char *path)
{
	static uint8_t buf[65536];
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	uint8_t *d = malloc(n);		/* exact size: ASan sees over-reads */
	memcpy(d, buf, n);
	weir_xflow_decode(exporter(raw_exporter), d, n, 1000, &sink);
	truncations(cur_group, d, n);
	free(d);
	return 0;
}

static int
feed_pcap(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	if (!pc) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	struct pcap_pkthdr *h;
	const u_char *pkt;
	struct weir_parse_cfg outer;
	weir_parse_cfg_default(&outer);
	while (pcap_next_ex(pc, &h, &pkt) == 1) {
		struct weir_pkt_meta m;
		if (weir_parse_frame(&outer, pkt, h->caplen, &m) != WEIR_PARSE_OK ||
		    m.proto != 17 || !m.payload_off)
			continue;
		uint8_t *d = malloc(m.payload_len ? m.payload_len : 1);
		memcpy(d, pkt + m.payload_off, m.payload_len);
		struct weir_exporter *ex = exporter(m.src);
		if (ex)
			weir_xflow_decode(ex, d, m.payload_len,
					  (uint64_t)h->ts.tv_sec * 1000 + h->ts.tv_usec / 1000,
					  &sink);
		truncations(cur_group, d, m.payload_len);
		free(d);
	}
	pcap_close(pc);
	return 0;
}

/* ---- ground truth: one JSON object per line, values are strings or
 * arrays of strings. gt() returns the idx-th value of a key, or NULL. ---- */

static const char *
gt(const char *line, const char *key, unsigned int idx, char *out, size_t cap)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	const char *p = strstr(line, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	int arr = *p == '[';
	if (arr)
		p++;
	for (unsigned int i = 0;; i++) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '"')
			return NULL;
		const char *e = strchr(p + 1, '"');
		if (!e)
			return NULL;
		if (i == idx) {
			size_t n = (size_t)(e - p - 1);
			if (n >= cap)
				n = cap - 1;
			memcpy(out, p + 1, n);
			out[n] = 0;
			return out;
		}
		if (!arr)
			return NULL;
		p = e + 1;
	}
}

static int
gt_u64(const char *line, const char *key, unsigned int idx, uint64_t *v)
{
	char b[64];
	if (!gt(line, key, idx, b, sizeof(b)))
		return 0;
	*v = strtoull(b, NULL, 0);
	return 1;
}

static unsigned int
gt_count(const char *line, const char *key)
{
	char b[64];
	unsigned int n = 0;
	while (gt(line, key, n, b, sizeof(b)))
		n++;
	return n;
}

static int
gt_has_value(const char *line, const char *key, const char *val)
{
	char b[64];
	for (unsigned int i = 0; gt(line, key, i, b, sizeof(b)); i++)
		if (strcmp(b, val) == 0)
			return 1;
	return 0;
}

static void
mapped(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET6, s, out) == 1)
		return;
	out[10] = out[11] = 0xff;
	inet_pton(AF_INET, s, out + 12);
}

static void
mac(const char *s, uint8_t out[6])
{
	unsigned int b[6] = {0};
	sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]);
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)b[i];
}

/* ---- per-sample checks ---- */

/* Extended router (1002) and gateway (1003): the next hop (the router's,
 * else the gateway's BGP next hop), both masks, the source and peer AS,
 * and of the AS path its first and last AS. tshark files the path and the
 * communities alike under sflow_245.dstAS: the path is all but the last
 * communityEntries of them. No such record: the route is all zero. */
static unsigned long routes_checked;

static void
check_route(const char *grp, unsigned int k, const char *L, const struct weir_flow_rec *r)
{
	char b[64];
	struct weir_flow_route want;
	int ri = -1, gi = -1, nh = 0;
	uint64_t v = 0;
	memset(&want, 0, sizeof(want));
	for (unsigned int i = 0; gt(L, "sflow_245.flow_record_format", i, b, sizeof(b)); i++) {
		if (!strcmp(b, "1002") && ri < 0)
			ri = nh++;
		else if (!strcmp(b, "1003") && gi < 0)
			gi = nh++;
	}
	if (ri >= 0 || gi >= 0) {
		if (gt(L, "sflow_245.nexthop", ri >= 0 ? (unsigned int)ri : (unsigned int)gi, b, sizeof(b)))
			mapped(b, want.next_hop);
		if (ri >= 0 && gt_u64(L, "sflow_245.nexthop.src_mask", 0, &v))
			want.src_mask = (uint8_t)v;
		if (ri >= 0 && gt_u64(L, "sflow_245.nexthop.dst_mask", 0, &v))
			want.dst_mask = (uint8_t)v;
	}
	if (gi >= 0) {
		uint64_t comm = 0;
		gt_u64(L, "sflow_245.srcAS", 0, &v);
		want.src_as = (uint32_t)v;
		gt_u64(L, "sflow_245.peerAS", 0, &v);
		want.src_peer_as = (uint32_t)v;
		gt_u64(L, "sflow_245.communityEntries", 0, &comm);
		unsigned int n = gt_count(L, "sflow_245.dstAS");
		unsigned int path = n >= comm ? n - (unsigned int)comm : 0;
		if (path) {
			gt_u64(L, "sflow_245.dstAS", 0, &v);
			want.dst_peer_as = (uint32_t)v;
			gt_u64(L, "sflow_245.dstAS", path - 1, &v);
			want.dst_as = (uint32_t)v;
		}
	}
	CHECK(memcmp(&r->route, &want, sizeof(want)) == 0,
	      "%s flow %u: route masks %u/%u as %u>%u peers %u/%u, tshark %u/%u as %u>%u peers %u/%u "
	      "(or the next hop differs)", grp, k, r->route.src_mask, r->route.dst_mask, r->route.src_as,
	      r->route.dst_as, r->route.src_peer_as, r->route.dst_peer_as, want.src_mask, want.dst_mask,
	      want.src_as, want.dst_as, want.src_peer_as, want.dst_peer_as);
	if (ri >= 0 || gi >= 0)
		routes_checked++;
}

static void
check_flow(const char *grp, unsigned int k, const char *L, const struct weir_flow_rec *r)
{
	char b[128];
	uint64_t rate = 0, fl = 0, stripped = 0, v = 0, fmt = 0;
	int expanded = gt_has_value(L, "sflow_245.sampletype", "3");

	gt_u64(L, "sflow.flow_sample.sampling_rate", 0, &rate);
	CHECK(r->sampling == rate && r->pkts == rate,
	      "%s flow %u: rate %u, tshark %" PRIu64, grp, k, r->sampling, rate);

	/* input / output interface */
	if (expanded) {
		gt_u64(L, "sflow.flow_sample.input_interface_format", 0, &fmt);
		gt_u64(L, "sflow.flow_sample.input_interface_value", 0, &v);
		CHECK(r->in_if == (fmt == 0 ? v : 0), "%s flow %u: in_if %u, tshark %" PRIu64 "/%" PRIu64,
		      grp, k, r->in_if, fmt, v);
		gt_u64(L, "sflow.flow_sample.output_interface.format", 0, &fmt);
		gt_u64(L, "sflow.flow_sample.output_interface_value", 0, &v);
	} else {
		gt_u64(L, "sflow.flow_sample.input_interface", 0, &v);
		CHECK(r->in_if == (v >> 30 == 0 ? v : 0), "%s flow %u: in_if %u, tshark %" PRIu64,
		      grp, k, r->in_if, v);
		gt_u64(L, "sflow.flow_sample.output_interface_format", 0, &fmt);
		gt_u64(L, "sflow.flow_sample.output_interface_value", 0, &v);
	}
	CHECK(r->out_if == (fmt == 0 ? v : 0), "%s flow %u: out_if %u, tshark fmt %" PRIu64 " value %" PRIu64,
	      grp, k, r->out_if, fmt, v);

	/* lengths: frame_length as sent, bytes without the FCS */
	gt_u64(L, "sflow_245.header.frame_length", 0, &fl);
	gt_u64(L, "sflow_245.header.payload_stripped", 0, &stripped);
	CHECK(r->frame_len == fl, "%s flow %u: frame_len %u, tshark %" PRIu64, grp, k, r->frame_len, fl);
	CHECK(r->bytes == (stripped >= 4 ? fl - 4 : fl) * rate,
	      "%s flow %u: bytes %" PRIu64 ", tshark frame_length %" PRIu64 " x %" PRIu64,
	      grp, k, r->bytes, fl, rate);
	uint64_t iplen = 0;
	int have_ip = gt_u64(L, "ip.len", 0, &iplen);
	if (!have_ip && gt_u64(L, "ipv6.plen", 0, &iplen)) {
		iplen += 40;
		have_ip = 1;
	}
	if (stripped == 4 && have_ip) {
		uint64_t l2 = 14 + 4 * gt_count(L, "vlan.id") + iplen;
		if (l2 < 60)
			l2 = 60;
		CHECK(fl - 4 == l2, "%s flow %u: frame_length %" PRIu64 " - FCS != Ethernet frame %" PRIu64,
		      grp, k, fl, l2);
	}

	/* L2 */
	uint8_t m6[6];
	if (gt(L, "eth.src", 0, b, sizeof(b))) {
		mac(b, m6);
		CHECK(memcmp(r->smac, m6, 6) == 0, "%s flow %u: smac differs from %s", grp, k, b);
		gt(L, "eth.dst", 0, b, sizeof(b));
		mac(b, m6);
		CHECK(memcmp(r->dmac, m6, 6) == 0, "%s flow %u: dmac differs from %s", grp, k, b);
	}
	uint64_t vl = 0, vl2 = 0;
	if (gt_u64(L, "vlan.id", 0, &vl)) {
		CHECK(r->vlan == vl, "%s flow %u: vlan %u, tshark %" PRIu64, grp, k, r->vlan, vl);
		if (gt_u64(L, "vlan.id", 1, &vl2))
			CHECK(r->vlan_inner == vl2, "%s flow %u: inner vlan %u, tshark %" PRIu64,
			      grp, k, r->vlan_inner, vl2);
	} else if (gt_u64(L, "sflow_245.vlan.in", 0, &vl) && vl <= 4095) {
		CHECK(r->vlan == vl, "%s flow %u: vlan %u, tshark extended switch %" PRIu64,
		      grp, k, r->vlan, vl);
	}

	check_route(grp, k, L, r);

	/* L3/L4 from the sampled header (the outermost: tunnels not decapsulated) */
	uint8_t a[16];
	const char *sk = gt(L, "ip.src", 0, b, sizeof(b)) ? "ip" :
			 gt(L, "ipv6.src", 0, b, sizeof(b)) ? "ipv6" : NULL;
	if (!sk)
		return;
	char key[32];
	mapped(b, a);
	CHECK(memcmp(r->src, a, 16) == 0, "%s flow %u: src differs from %s", grp, k, b);
	snprintf(key, sizeof(key), "%s.dst", sk);
	gt(L, key, 0, b, sizeof(b));
	mapped(b, a);
	CHECK(memcmp(r->dst, a, 16) == 0, "%s flow %u: dst differs from %s", grp, k, b);
	uint64_t proto = 0;
	if (!gt_u64(L, "ip.proto", 0, &proto))
		gt_u64(L, "ipv6.nxt", 0, &proto);
	CHECK(r->proto == proto, "%s flow %u: proto %u, tshark %" PRIu64, grp, k, r->proto, proto);
	uint64_t sp = 0, dp = 0, fl8 = 0, t = 0, c = 0;
	if (proto == 6 && gt_u64(L, "tcp.srcport", 0, &sp)) {
		gt_u64(L, "tcp.dstport", 0, &dp);
		gt_u64(L, "tcp.flags", 0, &fl8);
		CHECK(r->sport == sp && r->dport == dp && r->tcp_flags == (fl8 & 0xff),
		      "%s flow %u: tcp %u>%u flags %#x, tshark %" PRIu64 ">%" PRIu64 " %#" PRIx64,
		      grp, k, r->sport, r->dport, r->tcp_flags, sp, dp, fl8);
	} else if (proto == 17 && gt_u64(L, "udp.srcport", 0, &sp)) {
		gt_u64(L, "udp.dstport", 0, &dp);
		CHECK(r->sport == sp && r->dport == dp, "%s flow %u: udp %u>%u, tshark %" PRIu64 ">%" PRIu64,
		      grp, k, r->sport, r->dport, sp, dp);
	} else if (proto == 1 && gt_u64(L, "icmp.type", 0, &t)) {
		gt_u64(L, "icmp.code", 0, &c);
		CHECK(r->dport == (t << 8 | c), "%s flow %u: icmp %#x, tshark type %" PRIu64 " code %" PRIu64,
		      grp, k, r->dport, t, c);
	}
}

static void
check_ifc(const char *grp, unsigned int k, const char *L, const struct weir_if_counters *c)
{
	static const struct { const char *key; size_t off; int wide; } gen[] = {
#define F(k, f, w) { k, offsetof(struct weir_if_counters, f), w }
		F("sflow_245.ifindex", ifindex, 0),
		F("sflow_245.ifspeed", speed, 1),
		F("sflow_245.ifinoct", in_octets, 1),
		F("sflow_245.ifinpkt", in_ucast, 1),
		F("sflow_245.ifinmcast", in_mcast, 1),
		F("sflow_245.ifinbcast", in_bcast, 1),
		F("sflow_245.ifindisc", in_discards, 1),
		F("sflow_245.ifinerr", in_errors, 1),
		F("sflow_245.ifoutoct", out_octets, 1),
		F("sflow_245.ifoutpkt", out_ucast, 1),
		F("sflow_245.ifoutmcast", out_mcast, 1),
		F("sflow_245.ifoutbcast", out_bcast, 1),
		F("sflow_245.ifoutdisc", out_discards, 1),
		F("sflow_245.ifouterr", out_errors, 1),
		F("sflow_245.iftype", if_type, 0),
		F("sflow_245.dot3StatsFCSErrors", dot3.fcs_errors, 0),
		F("sflow_245.dot3StatsAlignmentErrors", dot3.alignment_errors, 0),
		F("sflow_245.dot3StatsFrameTooLongs", dot3.frame_too_longs, 0),
		F("sflow_245.dot3StatsSymbolErrors", dot3.symbol_errors, 0),
		F("sflow_245.dot3StatsLateCollisions", dot3.late_collisions, 0),
#undef F
	};
	for (size_t i = 0; i < sizeof(gen) / sizeof(gen[0]); i++) {
		uint64_t want, got;
		if (!gt_u64(L, gen[i].key, 0, &want))
			continue;
		const uint8_t *p = (const uint8_t *)c + gen[i].off;
		if (gen[i].wide) {
			memcpy(&got, p, 8);
		} else {
			uint32_t g32;
			memcpy(&g32, p, 4);
			got = g32;
		}
		CHECK(got == want, "%s counters %u: %s = %" PRIu64 ", tshark %" PRIu64,
		      grp, k, gen[i].key, got, want);
	}
}

/* telegraf's expected line: key=value pairs (integers end in 'u'). */
static int
telegraf_u64(const char *line, const char *key, uint64_t *v)
{
	char pat[80];
	snprintf(pat, sizeof(pat), ",%s=", key);
	const char *p = strstr(line, pat);
	if (!p) {
		snprintf(pat, sizeof(pat), " %s=", key);
		p = strstr(line, pat);
	}
	if (!p)
		return 0;
	*v = strtoull(p + strlen(pat), NULL, 10);
	return 1;
}

static void
check_ifc_telegraf(const char *grp, unsigned int k, const char *T, const struct weir_if_counters *c)
{
	static const struct { const char *key; size_t off; int wide; } tg[] = {
#define F(k, f, w) { k, offsetof(struct weir_if_counters, f), w }
		F("interface", ifindex, 0),
		F("speed", speed, 1),
		F("in_bytes", in_octets, 1),
		F("in_unicast_packets_total", in_ucast, 1),
		F("in_mcast_packets_total", in_mcast, 1),
		F("in_broadcast_packets_total", in_bcast, 1),
		F("in_errors", in_errors, 1),
		F("out_bytes", out_octets, 1),
		F("out_unicast_packets_total", out_ucast, 1),
		F("out_mcast_packets_total", out_mcast, 1),
		F("out_broadcast_packets_total", out_bcast, 1),
		F("interface_type", if_type, 0),
		F("errors_fcs", dot3.fcs_errors, 0),
#undef F
	};
	unsigned int seen = 0;
	for (size_t i = 0; i < sizeof(tg) / sizeof(tg[0]); i++) {
		uint64_t want, got;
		if (!telegraf_u64(T, tg[i].key, &want))
			continue;
		seen++;
		const uint8_t *p = (const uint8_t *)c + tg[i].off;
		if (tg[i].wide) {
			memcpy(&got, p, 8);
		} else {
			uint32_t g32;
			memcpy(&g32, p, 4);
			got = g32;
		}
		CHECK(got == want, "%s counters %u: %s = %" PRIu64 ", telegraf %" PRIu64,
		      grp, k, tg[i].key, got, want);
	}
	CHECK(seen >= 8, "%s: telegraf line has only %u known fields", grp, seen);
}

/* ---- groups ---- */

struct group {
	const char *name;
	const char *files[3];
	const char *telegraf;      /* expected.out, or NULL */
};

static const struct group groups[] = {
	{ "akv_sflow_data-1140", { "akvorado_sflow_data-1140.pcap" } },
	{ "akv_sflow_data-discard-interface", { "akvorado_sflow_data-discard-interface.pcap" } },
	{ "akv_sflow_data-encap-vxlan", { "akvorado_sflow_data-encap-vxlan.pcap" } },
	{ "akv_sflow_data-icmpv4", { "akvorado_sflow_data-icmpv4.pcap" } },
	{ "akv_sflow_data-qinq", { "akvorado_sflow_data-qinq.pcap" } },
	{ "akv_sflow_data-sflow-ipv4-data", { "akvorado_sflow_data-sflow-ipv4-data.pcap" } },
	{ "cis_flow_sample", { "cistern_flow_sample.dump" } },
	{ "cis_counter_sample", { "cistern_counter_sample.dump" } },
	{ "cis_host_sample", { "cistern_host_sample.dump" } },
	{ "ndpi_sflow", { "ndpi_sflow.pcap" } },
	{ "td_sflow-print-v6", { "tcpdump_sflow-print-v6.pcap" } },
	{ "td_sflow_multiple_counter_30_pdus", { "tcpdump_sflow_multiple_counter_30_pdus.pcap" } },
	{ "tg_sflow_v5_example", { "telegraf_sflow_v5_example_sflow_v5.bin" },
	  "telegraf_sflow_v5_example.telegraf.expected.out" },
	{ "tg_sflow_issue_18876", { "telegraf_sflow_issue_18876_message.bin" },
	  "telegraf_sflow_issue_18876.telegraf.expected.out" },
};

/* tshark lost alignment inside this sample: a record length past the
 * sample, or fewer records listed than the sample's own count (it stopped
 * after misreading a record it does not know, e.g. host-sFlow 2001). */
static int
tshark_misaligned(const char *L)
{
	uint64_t slen = 0, rl, nrec = 0;
	gt_u64(L, "sflow_5.sample_length", 0, &slen);
	if (gt_u64(L, "sflow.counters_sample.counters_records", 0, &nrec) &&
	    gt_count(L, "sflow_245.counters_record_format") != nrec)
		return 1;
	for (unsigned int i = 0; gt_u64(L, "sflow_5.flow_data_length", i, &rl); i++)
		if (rl > slen)
			return 1;
	return 0;
}

/* Sequence expectations from tshark: per (exporter, agent), walk the
 * datagram sequence numbers of distinct frames. */
struct seqkey { char exporter[64], agent[64]; uint64_t frame, seq; };

static void
run_group(const char *dir, const struct group *g)
{
	char path[4096];
	reset_group();
	cur_group = g->name;
	for (int i = 0; i < 3 && g->files[i]; i++) {
		snprintf(path, sizeof(path), "%s/flowexport/sflow/%s", dir, g->files[i]);
		size_t n = strlen(path);
		int rc = n > 5 && strcmp(path + n - 5, ".pcap") == 0 ? feed_pcap(path) : feed_raw(path);
		CHECK(rc == 0, "%s: cannot read %s", g->name, path);
	}

	char *tg_line = NULL;
	if (g->telegraf) {
		snprintf(path, sizeof(path), "%s/flowexport/sflow/%s", dir, g->telegraf);
		FILE *t = fopen(path, "r");
		size_t cap = 0;
		if (!t || getline(&tg_line, &cap, t) < 0)
			CHECK(0, "%s: cannot read %s", g->name, path);
		if (t)
			fclose(t);
	}

	snprintf(path, sizeof(path), "%s/flowexport/_groundtruth/%s.tshark-records.jsonl", dir, g->name);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL, "%s: no ground truth %s", g->name, path);
	if (!f)
		return;

	char *L = NULL;
	size_t cap = 0;
	unsigned int gt_flow = 0, gt_ctr = 0, ifc_i = 0;
	uint64_t want_lost = 0, want_resets = 0;
	struct seqkey sk[32];
	unsigned int n_sk = 0;
	while (getline(&L, &cap, f) > 0) {
		char s[128], e[64], a[64];
		uint64_t frame = 0, seq = 0;
		gt(L, "sample", 0, s, sizeof(s));
		/* "frame", "exporter", "agent", "datagram_seq" */
		const char *fp = strstr(L, "\"frame\": ");
		if (fp)
			frame = strtoull(fp + 9, NULL, 10);
		gt(L, "exporter", 0, e, sizeof(e));
		gt(L, "agent", 0, a, sizeof(a));
		char sq[32];
		if (gt(L, "datagram_seq", 0, sq, sizeof(sq)))
			seq = strtoull(sq, NULL, 10);
		unsigned int j;
		for (j = 0; j < n_sk; j++)
			if (!strcmp(sk[j].exporter, e) && !strcmp(sk[j].agent, a))
				break;
		if (j == n_sk && n_sk < 32) {
			snprintf(sk[j].exporter, sizeof(sk[j].exporter), "%s", e);
			snprintf(sk[j].agent, sizeof(sk[j].agent), "%s", a);
			sk[j].frame = frame;
			sk[j].seq = seq;
			n_sk++;
		} else if (j < n_sk && sk[j].frame != frame) {
			uint32_t gap = (uint32_t)(seq - sk[j].seq);
			if (gap >= 0x80000000u)
				want_resets++;
			else if (gap > 1)
				want_lost += gap - 1;
			sk[j].frame = frame;
			sk[j].seq = seq;
		}

		if (strstr(s, "low sample")) {		/* Flow / Expanded flow */
			if (gt_flow < n_rec && gt_flow < MAX_EV)
				check_flow(g->name, gt_flow, L, &recs[gt_flow]);
			gt_flow++;
		} else if (strstr(s, "ounters sample")) {
			gt_ctr++;
			int misaligned = tshark_misaligned(L);
			int want_ifc = misaligned ? g->telegraf != NULL :
				gt_has_value(L, "sflow_245.counters_record_format", "1") ||
				gt_has_value(L, "sflow_245.counters_record_format", "2");
			if (!want_ifc)
				continue;
			CHECK(ifc_i < n_ifc, "%s: counter sample %u not delivered", g->name, gt_ctr);
			if (ifc_i < n_ifc && ifc_i < MAX_EV) {
				if (misaligned)
					check_ifc_telegraf(g->name, ifc_i, tg_line, &ifcs[ifc_i]);
				else
					check_ifc(g->name, ifc_i, L, &ifcs[ifc_i]);
			}
			ifc_i++;
		}
	}
	free(L);
	fclose(f);
	if (g->telegraf && !strstr(g->name, "v5_example"))
		check_ifc_telegraf(g->name, 0, tg_line, &ifcs[0]);
	free(tg_line);

	uint64_t ctr = 0, flows = 0, errors = 0, lost = 0, resets = 0;
	for (unsigned int i = 0; i < n_exp; i++) {
		if (exps[i].sf) {
			ctr += exps[i].sf->st.counter_samples;
			flows += exps[i].sf->st.flow_samples;
		}
		errors += exps[i].errors;
		lost += exps[i].seq_lost;
		resets += exps[i].seq_resets;
		for (int r = 0; r < WEIR_XERR__MAX; r++)
			CHECK(exps[i].err[r] == 0, "%s: error %s = %" PRIu64, g->name,
			      weir_xerr_names[r], exps[i].err[r]);
	}
	CHECK(n_rec == gt_flow && flows == gt_flow, "%s: %u flow records (%" PRIu64 " samples), tshark %u",
	      g->name, n_rec, flows, gt_flow);
	CHECK(ctr == gt_ctr, "%s: %" PRIu64 " counter samples, tshark %u", g->name, ctr, gt_ctr);
	CHECK(ifc_i == n_ifc, "%s: %u interface counter sets delivered, expected %u", g->name, n_ifc, ifc_i);
	CHECK(lost == want_lost && resets == want_resets,
	      "%s: seq lost %" PRIu64 " resets %" PRIu64 ", tshark's sequence numbers say %" PRIu64 " / %" PRIu64,
	      g->name, lost, resets, want_lost, want_resets);
	printf("%-36s flow %3u  counters %3" PRIu64 " (ifc %3u)  seq_lost %" PRIu64 "  errors %" PRIu64 "\n",
	       g->name, n_rec, ctr, n_ifc, lost, errors);
}

int
main(void)
{
	const char *dir = getenv("WEIR_SHARED_CAPTURES");
	char path[4096];
	if (!dir)
		dir = WEIR_DEFAULT_CAPTURES;
	snprintf(path, sizeof(path), "%s/flowexport/sflow", dir);
	FILE *probe = fopen(path, "r");
	if (!probe) {
		printf("SKIP: no captures at %s (set WEIR_SHARED_CAPTURES)\n", path);
		return 77;
	}
	fclose(probe);

	weir_exporter_limits_default(&lim);
	weir_parse_cfg_default(&pcfg);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		run_group(dir, &groups[i]);
	reset_group();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("all sFlow capture groups match tshark; %lu extended router/gateway samples; "
	       "%lu truncated datagrams refused by name\n", routes_checked, truncations_checked);
	return 0;
}
