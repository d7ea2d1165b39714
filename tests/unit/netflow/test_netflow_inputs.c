/* test_netflow_inputs.c -- hand-built NetFlow v5/v9 and IPFIX datagrams.
 *
 * One test per row of BAD_INPUTS.md that concerns NetFlow/IPFIX (1-17,
 * 19, 20, 25, 26) and per engine behaviour the captures cannot show
 * (data before template, redefinition, withdrawal, exporter restart,
 * template floods, expiry, the template sharing events and installs,
 * sampling scopes, RFC 5103 biflows, VRF ids, set padding). Each datagram is built here field by field, so
 * the expected values are the bytes written next to them; each test checks
 * the named error counter, the records delivered and their fields. Run
 * under ASan/UBSan, an over-read or leak fails the test too.
 *
 * Every datagram goes through weir_xflow_decode, the engine's entry point. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "weir/export.h"
#include "../../../drivers/netflow/nf_template.h"

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n",	\
			__FILE__, __LINE__, __func__, #cond);		\
		failures++;						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	unsigned long long _a = (unsigned long long)(a);		\
	unsigned long long _b = (unsigned long long)(b);		\
	if (_a != _b) {							\
		fprintf(stderr, "%s:%d: %s: %s == %llu, expected %s == %llu\n", \
			__FILE__, __LINE__, __func__, #a, _a, #b, _b);	\
		failures++;						\
	}								\
} while (0)

/* ---- collecting sink --------------------------------------------------- */

#define MAX_RECS 256
static struct weir_flow_rec recs[MAX_RECS];
static unsigned int n_recs;
static uint32_t last_ifindex;
static char last_ifname[NF_IFNAME_MAX];
static unsigned int n_ifnames;

static void
on_rec(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	if (n_recs < MAX_RECS)
		recs[n_recs] = *r;
	n_recs++;
}

static void
on_ifname(void *ctx, struct weir_exporter *ex, uint32_t ifindex, const char *name)
{
	last_ifindex = ifindex;
	snprintf(last_ifname, sizeof(last_ifname), "%s", name);
	n_ifnames++;
}

static const struct weir_flow_sink sink = { .rec = on_rec, .ifname = on_ifname };

/* ---- datagram builder -------------------------------------------------- */

struct buf {
	uint8_t b[16384];
	size_t n;
};

static void put8(struct buf *b, uint8_t v) { b->b[b->n++] = v; }
static void put16(struct buf *b, uint16_t v) { put8(b, (uint8_t)(v >> 8)); put8(b, (uint8_t)v); }
static void put32(struct buf *b, uint32_t v) { put16(b, (uint16_t)(v >> 16)); put16(b, (uint16_t)v); }
static void put64(struct buf *b, uint64_t v) { put32(b, (uint32_t)(v >> 32)); put32(b, (uint32_t)v); }
static void putn(struct buf *b, const void *p, size_t n) { memcpy(b->b + b->n, p, n); b->n += n; }
static void putz(struct buf *b, size_t n) { memset(b->b + b->n, 0, n); b->n += n; }
static void patch16(struct buf *b, size_t at, size_t v)
{
	b->b[at] = (uint8_t)(v >> 8);
	b->b[at + 1] = (uint8_t)v;
}

/* set header; set_end() patches its length */
static size_t set_begin(struct buf *b, uint16_t id) { size_t at = b->n; put16(b, id); put16(b, 0); return at; }
static void set_end(struct buf *b, size_t at) { patch16(b, at + 2, b->n - at); }

#define EXPORT_SECS	1700000000u
#define EXPORT_MS	(EXPORT_SECS * 1000ull)
#define NOW		(EXPORT_MS + 500)

static void
v9_hdr(struct buf *b, uint32_t uptime, uint32_t seq, uint32_t source_id)
{
	b->n = 0;
	put16(b, 9); put16(b, 1); put32(b, uptime); put32(b, EXPORT_SECS);
	put32(b, seq); put32(b, source_id);
}

static void
ipfix_hdr(struct buf *b, uint32_t seq, uint32_t domain)
{
	b->n = 0;
	put16(b, 10); put16(b, 0); put32(b, EXPORT_SECS); put32(b, seq); put32(b, domain);
}

static void ipfix_end(struct buf *b) { patch16(b, 2, b->n); }

static const uint8_t A1[4] = {10, 0, 0, 1}, A2[4] = {10, 0, 0, 2};

static bool
is_v4(const uint8_t a[16], const uint8_t v4[4])
{
	static const uint8_t pre[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};
	return memcmp(a, pre, 12) == 0 && memcmp(a + 12, v4, 4) == 0;
}

static struct weir_exporter_limits lim;

static void
ex_init(struct weir_exporter *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->lim = &lim;
}

static int
feed(struct weir_exporter *ex, const struct buf *b, uint64_t now)
{
	/* an exact-size heap copy, so ASan sees any read past the datagram */
	uint8_t *p = malloc(b->n ? b->n : 1);
	memcpy(p, b->b, b->n);
	int r = weir_xflow_decode(ex, p, b->n, now, &sink);
	free(p);
	return r;
}

static void
reset_sink(void)
{
	n_recs = 0;
	n_ifnames = 0;
	last_ifindex = 0;
	last_ifname[0] = '\0';
}

/* A new exporter, an empty sink, and b a v9 header (uptime 10 s, sequence
 * 0, source id 1): how most v9 cases begin. */
static void
v9_start(struct weir_exporter *ex, struct buf *b)
{
	ex_init(ex);
	reset_sink();
	v9_hdr(b, 10000, 0, 1);
}

/* The common v9 template 256: src4 dst4 sport dport proto octets pkts
 * first last = 4+4+2+2+1+4+4+4+4 = 29 bytes a record. */
static void
v9_tmpl256(struct buf *b, uint16_t id)
{
	size_t s = set_begin(b, 0);
	put16(b, id); put16(b, 9);
	put16(b, 8); put16(b, 4);
	put16(b, 12); put16(b, 4);
	put16(b, 7); put16(b, 2);
	put16(b, 11); put16(b, 2);
	put16(b, 4); put16(b, 1);
	put16(b, 1); put16(b, 4);
	put16(b, 2); put16(b, 4);
	put16(b, 22); put16(b, 4);
	put16(b, 21); put16(b, 4);
	set_end(b, s);
}

static void
v9_rec256(struct buf *b, uint16_t sport, uint32_t octets, uint32_t pkts,
	  uint32_t first, uint32_t last)
{
	putn(b, A1, 4); putn(b, A2, 4); put16(b, sport); put16(b, 80);
	put8(b, 6); put32(b, octets); put32(b, pkts); put32(b, first); put32(b, last);
}

static void
v9_data256(struct buf *b, uint16_t id, unsigned int n)
{
	size_t s = set_begin(b, id);
	for (unsigned int i = 0; i < n; i++)
		v9_rec256(b, (uint16_t)(1000 + i), 100 * (i + 1), i + 1, 5000, 6000);
	set_end(b, s);
}

static uint64_t
errs(const struct weir_exporter *ex)
{
	return ex->errors;
}

/* ---- NetFlow v5 -------------------------------------------------------- */

static void
v5_hdr(struct buf *b, uint16_t count, uint32_t uptime, uint32_t seq, uint16_t sampling)
{
	b->n = 0;
	put16(b, 5); put16(b, count); put32(b, uptime); put32(b, EXPORT_SECS);
	put32(b, 250000000);			/* +250 ms */
	put32(b, seq); put8(b, 0); put8(b, 0); put16(b, sampling);
}

static void
v5_rec(struct buf *b, uint32_t pkts, uint32_t octets, uint32_t first, uint32_t last)
{
	putn(b, A1, 4); putn(b, A2, 4); putz(b, 4);
	put16(b, 3); put16(b, 4);		/* input, output */
	put32(b, pkts); put32(b, octets); put32(b, first); put32(b, last);
	put16(b, 1234); put16(b, 443); put8(b, 0); put8(b, 0x12); put8(b, 6); put8(b, 0);
	putz(b, 8);
}

static void
test_v5_decode_and_wrap(void)
{
	struct weir_exporter ex;
	struct buf b;

	ex_init(&ex);
	reset_sink();
	/* sysUptime wrapped 1000 ms ago: first = 2^32 - 1000 is 2000 ms before
	 * export, last = 500 is 500 ms before (BAD_INPUTS #26). Sampling
	 * mode 01, interval 100: 0x4064. */
	v5_hdr(&b, 2, 1000, 0, 0x4064);
	v5_rec(&b, 3, 300, 0xfffffc18u, 500);
	v5_rec(&b, 1, 40, 900, 1000);
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(n_recs, 2);
	CHECK(is_v4(recs[0].src, A1) && is_v4(recs[0].dst, A2));
	CHECK_EQ(recs[0].sport, 1234);
	CHECK_EQ(recs[0].dport, 443);
	CHECK_EQ(recs[0].proto, 6);
	CHECK_EQ(recs[0].tcp_flags, 0x12);
	CHECK_EQ(recs[0].in_if, 3);
	CHECK_EQ(recs[0].out_if, 4);
	CHECK_EQ(recs[0].sampling, 100);
	CHECK_EQ(recs[0].bytes, 30000);
	CHECK_EQ(recs[0].pkts, 300);
	CHECK_EQ(recs[0].source, WEIR_SRC_NFV5);
	CHECK_EQ(recs[0].start_ms, EXPORT_MS + 250 - 2000);
	CHECK_EQ(recs[0].end_ms, EXPORT_MS + 250 - 500);
	CHECK_EQ(recs[1].start_ms, EXPORT_MS + 250 - 100);
	CHECK_EQ(recs[1].end_ms, EXPORT_MS + 250);
	CHECK_EQ(ex.datagrams, 1);
	CHECK_EQ(ex.records, 2);
	CHECK_EQ(ex.bytes, 34000);
	CHECK_EQ(ex.last_version, 5);
	CHECK_EQ(ex.last_seen_ms, NOW);
	CHECK_EQ(ex.sampling, 100);
	weir_nf_state_free(&ex);
	CHECK_EQ(ex.mem_bytes, 0);
}

static void
test_v5_bad_count(void)	/* BAD_INPUTS #16 */
{
	struct weir_exporter ex;
	struct buf b;

	ex_init(&ex);
	reset_sink();
	v5_hdr(&b, 3, 1000, 0, 0);		/* says 3, carries 2 */
	v5_rec(&b, 1, 40, 900, 1000);
	v5_rec(&b, 1, 40, 900, 1000);
	CHECK_EQ(feed(&ex, &b, NOW), -1);
	CHECK_EQ(ex.err[WEIR_XERR_NFV5_BAD_COUNT], 1);
	CHECK_EQ(n_recs, 0);
	/* 0xffff records announced, 24 bytes present */
	v5_hdr(&b, 0xffff, 1000, 0, 0);
	CHECK_EQ(feed(&ex, &b, NOW), -1);
	CHECK_EQ(ex.err[WEIR_XERR_NFV5_BAD_COUNT], 2);
	b.n = 23;
	CHECK_EQ(feed(&ex, &b, NOW), -1);
	CHECK_EQ(ex.err[WEIR_XERR_SHORT_DATAGRAM], 1);
	CHECK_EQ(ex.datagrams, 3);
	weir_nf_state_free(&ex);
}

static void
test_v5_sampling_zero(void)	/* BAD_INPUTS #25 */
{
	struct weir_exporter ex;
	struct buf b;

	ex_init(&ex);
	reset_sink();
	v5_hdr(&b, 1, 1000, 0, 0);		/* no sampling announced */
	v5_rec(&b, 2, 80, 900, 1000);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].sampling, 1);
	CHECK_EQ(recs[0].bytes, 80);		/* never 0 */
	lim.default_sampling = 16;		/* operator knows better */
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].sampling, 16);
	CHECK_EQ(recs[0].bytes, 80 * 16);
	lim.default_sampling = 1;
	CHECK_EQ(errs(&ex), 0);
	/* mode 0 (top 2 bits) is unsampled: an interval beside it means
	 * nothing */
	v5_hdr(&b, 1, 1000, 1, 0x0064);
	v5_rec(&b, 2, 80, 900, 1000);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].sampling, 1);
	CHECK_EQ(recs[0].bytes, 80);
	CHECK_EQ(errs(&ex), 0);
	/* mode 2 (random) with interval 0: a rate we do not know, counted */
	v5_hdr(&b, 1, 1000, 2, 0x8000);
	v5_rec(&b, 2, 80, 900, 1000);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].sampling, 1);
	CHECK_EQ(ex.err[WEIR_XERR_SAMPLING_MISSING], 1);
	CHECK_EQ(errs(&ex), 1);
	weir_nf_state_free(&ex);
}

static void
test_v5_sequence_and_padding(void)
{
	struct weir_exporter ex;
	struct buf b;

	ex_init(&ex);
	reset_sink();
	v5_hdr(&b, 2, 1000, 100, 0);
	v5_rec(&b, 1, 40, 900, 1000);
	v5_rec(&b, 1, 40, 900, 1000);
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	b.b[16 + 3] = 102;			/* in sequence: 100 + 2 */
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(ex.seq_lost, 0);
	b.b[16 + 3] = 110;			/* expected 104: 6 flows lost */
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(ex.seq_lost, 6);
	b.b[16 + 3] = 0;			/* exporter restarted */
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(ex.seq_resets, 1);
	CHECK_EQ(errs(&ex), 0);
	/* zero padding after the records is fine, other bytes are counted */
	b.b[16 + 3] = 2;
	putz(&b, 20);
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(errs(&ex), 0);
	b.b[b.n - 1] = 7;
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(ex.err[WEIR_XERR_TRAILING_BYTES], 1);
	weir_nf_state_free(&ex);
}

/* ---- NetFlow v9 -------------------------------------------------------- */

static void
test_v9_data_before_template(void)
{
	struct weir_exporter ex;
	struct buf b;

	ex_init(&ex);
	reset_sink();
	/* uptime 10000: first 5000 / last 6000 are 5000 / 4000 ms before export */
	v9_hdr(&b, 10000, 0, 7);
	v9_data256(&b, 256, 2);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(weir_nf_pending_count(&ex), 1);
	CHECK(ex.mem_bytes > 0);
	CHECK_EQ(n_recs, 0);
	v9_hdr(&b, 11000, 1, 7);
	v9_tmpl256(&b, 256);
	CHECK_EQ(feed(&ex, &b, NOW + 1000), 2);	/* released from the hold */
	CHECK_EQ(weir_nf_pending_count(&ex), 0);
	CHECK_EQ(ex.templates, 1);
	CHECK_EQ(n_recs, 2);
	CHECK(is_v4(recs[0].src, A1) && is_v4(recs[0].dst, A2));
	CHECK_EQ(recs[0].sport, 1000);
	CHECK_EQ(recs[1].sport, 1001);
	CHECK_EQ(recs[1].bytes, 200);
	CHECK_EQ(recs[1].pkts, 2);
	CHECK_EQ(recs[0].start_ms, EXPORT_MS - 5000);	/* the held datagram's clock */
	CHECK_EQ(recs[0].end_ms, EXPORT_MS - 4000);
	CHECK_EQ(recs[0].source, WEIR_SRC_NFV9);
	CHECK_EQ(recs[0].direction, 0xff);
	CHECK_EQ(recs[0].sampling, 1);
	CHECK_EQ(errs(&ex), 0);
	/* another source id does not see this template */
	v9_hdr(&b, 11000, 0, 8);
	v9_data256(&b, 256, 1);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(weir_nf_pending_count(&ex), 1);
	weir_nf_state_free(&ex);
	CHECK_EQ(ex.mem_bytes, 0);
	CHECK_EQ(ex.templates, 0);
}

static void
test_v9_field_too_long(void)	/* BAD_INPUTS #1 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	s = set_begin(&b, 0);
	put16(&b, 300); put16(&b, 3);
	put16(&b, 8); put16(&b, 50);		/* IPv4 source of 50 bytes */
	put16(&b, 12); put16(&b, 4);
	put16(&b, 1); put16(&b, 9);		/* a 9-byte counter */
	set_end(&b, s);
	s = set_begin(&b, 300);
	for (int i = 0; i < 50; i++)
		put8(&b, 0xee);
	putn(&b, A2, 4);
	put8(&b, 0x11); put64(&b, 0x2233445566778899ull);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_FIELD_LENGTH], 2);
	CHECK_EQ(n_recs, 1);
	CHECK(is_v4(recs[0].dst, A2));		/* the field after is in place */
	CHECK_EQ(recs[0].bytes, 0);		/* skipped, not truncated */
	static const uint8_t zero[16];
	CHECK(memcmp(recs[0].src, zero, 16) == 0);
	weir_nf_state_free(&ex);
}

/* Counters of every width RFC 7011 6.2's reduced-size encoding allows, 1
 * to 8 bytes: template 400 + W has octetDeltaCount (1) of W bytes and
 * packetDeltaCount (2) of 9 - W bytes, so every width is read as bytes and
 * as packets. Each value's bytes are 0x81, 0x02, 0x03, ... (the high bit
 * set, so a signed or short read shows), big-endian. */
static void
test_v9_counter_widths(void)
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	s = set_begin(&b, 0);
	for (uint16_t w = 1; w <= 8; w++) {
		put16(&b, (uint16_t)(400 + w)); put16(&b, 3);
		put16(&b, 8); put16(&b, 4);		/* sourceIPv4Address */
		put16(&b, 1); put16(&b, w);		/* octetDeltaCount, w bytes */
		put16(&b, 2); put16(&b, (uint16_t)(9 - w));	/* packetDeltaCount */
	}
	set_end(&b, s);
	for (uint16_t w = 1; w <= 8; w++) {
		s = set_begin(&b, (uint16_t)(400 + w));
		putn(&b, A1, 4);
		for (unsigned int i = 0; i < w; i++)
			put8(&b, (uint8_t)(i ? i + 1 : 0x81));
		for (unsigned int i = 0; i < 9u - w; i++)
			put8(&b, (uint8_t)(i ? i + 1 : 0x81));
		set_end(&b, s);
	}
	CHECK_EQ(feed(&ex, &b, NOW), 8);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(n_recs, 8);
	/* 1: 0x81; 2: 0x8102; ...; 8: 0x8102030405060708 */
	static const uint64_t want[9] = {0, 0x81ull, 0x8102ull, 0x810203ull, 0x81020304ull,
					 0x8102030405ull, 0x810203040506ull, 0x81020304050607ull,
					 0x8102030405060708ull};
	for (unsigned int w = 1; w <= 8 && w <= n_recs; w++) {
		CHECK_EQ(recs[w - 1].bytes, want[w]);
		CHECK_EQ(recs[w - 1].pkts, want[9 - w]);
		CHECK(is_v4(recs[w - 1].src, A1));
	}
	weir_nf_state_free(&ex);
}

static void
test_v9_zero_length_field(void)	/* BAD_INPUTS #6, #7 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	s = set_begin(&b, 0);
	put16(&b, 300); put16(&b, 4);
	put16(&b, 8); put16(&b, 4);
	put16(&b, 89); put16(&b, 0);		/* Juniper SRX: length 0 */
	put16(&b, 1); put16(&b, 0);		/* even for a known field */
	put16(&b, 2); put16(&b, 2);		/* reduced-size packet count */
	put16(&b, 301); put16(&b, 2);		/* records of 0 bytes (#7) */
	put16(&b, 1); put16(&b, 0);
	put16(&b, 2); put16(&b, 0);
	set_end(&b, s);
	s = set_begin(&b, 300);
	putn(&b, A1, 4); put16(&b, 515);
	putn(&b, A2, 4); put16(&b, 7);
	set_end(&b, s);
	s = set_begin(&b, 301);
	putz(&b, 8);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(n_recs, 2);
	CHECK(is_v4(recs[0].src, A1));
	CHECK_EQ(recs[0].pkts, 515);
	CHECK(is_v4(recs[1].src, A2));
	CHECK_EQ(recs[1].pkts, 7);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_TEMPLATE], 1);	/* only the 0-byte one */
	CHECK_EQ(ex.templates, 1);
	CHECK_EQ(weir_nf_pending_count(&ex), 1);	/* 301 has no template */
	CHECK_EQ(errs(&ex), 1);
	weir_nf_state_free(&ex);
}

static void
test_v9_template_ids(void)	/* BAD_INPUTS #10, #13 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	v9_tmpl256(&b, 255);			/* ids below 256 are not templates */
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_TEMPLATE_ID], 1);
	CHECK_EQ(ex.templates, 0);
	/* 200 fields, more than max_fields 128 */
	v9_hdr(&b, 10000, 1, 1);
	s = set_begin(&b, 0);
	put16(&b, 400); put16(&b, 200);
	for (int i = 0; i < 200; i++) {
		put16(&b, (uint16_t)(1000 + i)); put16(&b, 1);
	}
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_TEMPLATE_TOO_LARGE], 1);
	CHECK_EQ(ex.templates, 0);
	/* 12680 fields announced, 2 present: runs past its set */
	v9_hdr(&b, 10000, 2, 1);
	s = set_begin(&b, 0);
	put16(&b, 401); put16(&b, 12680);
	put16(&b, 8); put16(&b, 4); put16(&b, 12); put16(&b, 4);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_TEMPLATE], 1);
	CHECK_EQ(ex.templates, 0);
	/* data set with a reserved id */
	v9_hdr(&b, 10000, 3, 1);
	s = set_begin(&b, 100);
	putz(&b, 8);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_TEMPLATE_ID], 2);
	weir_nf_state_free(&ex);
}

/* v9 options template `id`: scope (type 2 interface, 4 bytes), options
 * SAMPLING_INTERVAL (34, 4) and FLOW_SAMPLER_ID (48, 1), IF_NAME (82, 8) */
static void
v9_options_tmpl(struct buf *b, uint16_t id, uint16_t scope_len, uint16_t opt_len)
{
	size_t s = set_begin(b, 1);
	put16(b, id); put16(b, scope_len); put16(b, opt_len);
	put16(b, 2); put16(b, 4);
	put16(b, 34); put16(b, 4);
	put16(b, 48); put16(b, 1);
	put16(b, 82); put16(b, 8);
	putz(b, 2);				/* padding to 4 */
	set_end(b, s);
}

static void
test_v9_options(void)	/* sampling from options data, interface names, #5 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	v9_options_tmpl(&b, 260, 4, 12);
	v9_tmpl256(&b, 256);
	s = set_begin(&b, 260);			/* sampler 5: 1 in 1000, if 7 "ge-0/0/1" */
	put32(&b, 7); put32(&b, 1000); put8(&b, 5); putn(&b, "ge-0/0/1", 8);
	putz(&b, 3);				/* zero padding, fine */
	set_end(&b, s);
	v9_data256(&b, 256, 1);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(ex.templates, 2);
	CHECK_EQ(n_ifnames, 1);
	CHECK_EQ(last_ifindex, 7);
	CHECK(strcmp(last_ifname, "ge-0/0/1") == 0);
	CHECK_EQ(recs[0].sampling, 1000);
	CHECK_EQ(recs[0].bytes, 100 * 1000);
	CHECK_EQ(recs[0].pkts, 1000);
	CHECK_EQ(ex.sampling, 1000);

	/* #5: options template with no scope at all (v9 allows it): the
	 * sampling option still applies */
	v9_hdr(&b, 10000, 1, 2);
	s = set_begin(&b, 1);
	put16(&b, 261); put16(&b, 0); put16(&b, 4);
	put16(&b, 34); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 261);
	put32(&b, 64);
	set_end(&b, s);
	v9_tmpl256(&b, 256);
	v9_data256(&b, 256, 1);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].sampling, 64);
	CHECK_EQ(errs(&ex), 0);
	/* ... but one with no fields at all is refused */
	v9_hdr(&b, 10000, 2, 2);
	s = set_begin(&b, 1);
	put16(&b, 262); put16(&b, 0); put16(&b, 0);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_OPTIONS_TEMPLATE], 1);
	/* sampling interval 0 in options data: the default applies (#25) */
	v9_hdr(&b, 10000, 0, 3);
	s = set_begin(&b, 1);
	put16(&b, 261); put16(&b, 0); put16(&b, 4);
	put16(&b, 34); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 261);
	put32(&b, 0);
	set_end(&b, s);
	v9_tmpl256(&b, 256);
	v9_data256(&b, 256, 1);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].sampling, 1);
	CHECK_EQ(recs[0].bytes, 100);
	CHECK_EQ(ex.err[WEIR_XERR_SAMPLING_MISSING], 1);	/* and counted */
	weir_nf_state_free(&ex);
}

static void
test_v9_options_malformed(void)	/* BAD_INPUTS #3, #4 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	v9_options_tmpl(&b, 260, 5, 12);	/* scope length not a multiple of 4 */
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_OPTIONS_TEMPLATE], 1);
	v9_hdr(&b, 10000, 1, 1);
	v9_options_tmpl(&b, 260, 4, 14);	/* option length not a multiple of 4 */
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_OPTIONS_TEMPLATE], 2);
	v9_hdr(&b, 10000, 2, 1);
	v9_options_tmpl(&b, 260, 400, 12);	/* more scopes than bytes */
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_OPTIONS_TEMPLATE], 3);
	v9_hdr(&b, 10000, 3, 1);
	s = set_begin(&b, 1);			/* header cut short */
	put16(&b, 260); put16(&b, 4);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.templates, 0);
	CHECK_EQ(ex.err[WEIR_XERR_TRAILING_BYTES], 1);
	weir_nf_state_free(&ex);
}

static void
test_v9_id_switch_and_redefinition(void)	/* BAD_INPUTS #11, #12 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	v9_tmpl256(&b, 300);
	v9_data256(&b, 300, 1);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	uint32_t mem1 = ex.mem_bytes;
	/* 300 becomes an options template: its data are options now */
	v9_hdr(&b, 10000, 1, 1);
	s = set_begin(&b, 1);
	put16(&b, 300); put16(&b, 4); put16(&b, 4);
	put16(&b, 2); put16(&b, 4);
	put16(&b, 34); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 300);
	put32(&b, 1); put32(&b, 10);
	set_end(&b, s);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(n_recs, 0);
	CHECK_EQ(ex.templates, 1);
	/* and back to a data template, of another layout: IPv6 + octets +
	 * input interface */
	v9_hdr(&b, 10000, 2, 1);
	s = set_begin(&b, 0);
	put16(&b, 300); put16(&b, 3);
	put16(&b, 27); put16(&b, 16);
	put16(&b, 1); put16(&b, 8);
	put16(&b, 10); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 300);
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	putn(&b, v6, 16); put64(&b, 5000000000ull); put32(&b, 1);
	set_end(&b, s);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK(memcmp(recs[0].src, v6, 16) == 0);
	CHECK_EQ(recs[0].bytes, 5000000000ull * 10);	/* 1:10 on interface 1, above */
	CHECK_EQ(ex.templates, 1);
	CHECK(ex.mem_bytes < mem1 + 64);
	CHECK_EQ(errs(&ex), 0);
	weir_nf_state_free(&ex);
}

static void
test_v9_refresh(void)	/* BAD_INPUTS #19 */
{
	struct weir_exporter ex;
	struct buf b;

	v9_start(&ex, &b);
	v9_tmpl256(&b, 256);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	uint32_t mem = ex.mem_bytes;
	for (int i = 0; i < 1000; i++) {
		CHECK_EQ(feed(&ex, &b, NOW + (uint64_t)i), 0);
		if (ex.templates != 1 || ex.mem_bytes != mem)
			break;
	}
	CHECK_EQ(ex.templates, 1);
	CHECK_EQ(ex.mem_bytes, mem);
	/* alternate two definitions: replaced each time, never grows */
	struct buf b2;
	size_t s;
	v9_hdr(&b2, 10000, 0, 1);
	s = set_begin(&b2, 0);
	put16(&b2, 256); put16(&b2, 1); put16(&b2, 8); put16(&b2, 4);
	set_end(&b2, s);
	for (int i = 0; i < 1000; i++) {
		feed(&ex, (i & 1) ? &b : &b2, NOW);
		if (ex.templates != 1)
			break;
	}
	CHECK_EQ(ex.templates, 1);
	CHECK_EQ(ex.mem_bytes, mem);
	CHECK_EQ(errs(&ex), 0);
	weir_nf_state_free(&ex);
	CHECK_EQ(ex.mem_bytes, 0);
}

static void
test_v9_sets(void)	/* BAD_INPUTS #2, #14, #15, #17 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	/* zero padding to a fixed datagram size: not an error (#14) */
	v9_hdr(&b, 10000, 0, 1);
	v9_tmpl256(&b, 256);
	v9_data256(&b, 256, 1);
	putz(&b, 200);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(errs(&ex), 0);
	/* a zero-length set before real data: counted, walk stops (#14) */
	v9_hdr(&b, 10000, 1, 1);
	set_begin(&b, 256);
	v9_data256(&b, 256, 1);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_SHORT_SET], 1);
	/* set length 9591 in a short datagram (#17) */
	v9_hdr(&b, 10000, 2, 1);
	s = set_begin(&b, 256);
	v9_rec256(&b, 1, 1, 1, 1, 1);
	patch16(&b, s + 2, 9591);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_SET_PAST_END], 1);
	/* a record cut short at the set end (#2) and zero padding (#15) */
	v9_hdr(&b, 10000, 3, 1);
	s = set_begin(&b, 256);
	v9_rec256(&b, 1, 1, 1, 1, 1);
	v9_rec256(&b, 2, 1, 1, 1, 1);
	b.n -= 3;				/* 26 of 29 bytes of the second */
	set_end(&b, s);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.err[WEIR_XERR_TRAILING_BYTES], 1);
	v9_hdr(&b, 10000, 4, 1);
	s = set_begin(&b, 256);
	v9_rec256(&b, 1, 1, 1, 1, 1);
	putz(&b, 3);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.err[WEIR_XERR_TRAILING_BYTES], 1);	/* zeros: padding */
	/* under 20 bytes: no header */
	b.n = 19;
	CHECK_EQ(feed(&ex, &b, NOW), -1);
	CHECK_EQ(ex.err[WEIR_XERR_SHORT_DATAGRAM], 1);
	weir_nf_state_free(&ex);
}

static void
test_v9_sequence_and_wrap(void)	/* exporter restart; BAD_INPUTS #26 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	for (uint32_t seq = 1; seq <= 3; seq++) {
		v9_hdr(&b, 10000, seq, 1);
		v9_tmpl256(&b, 256);
		feed(&ex, &b, NOW);
	}
	CHECK_EQ(ex.seq_lost, 0);
	v9_hdr(&b, 10000, 7, 1);		/* 4, 5, 6 lost */
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.seq_lost, 3);
	v9_hdr(&b, 10000, 0, 1);		/* restart */
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.seq_resets, 1);
	v9_hdr(&b, 10000, 1, 2);		/* another source id: its own count */
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.seq_lost, 3);
	CHECK_EQ(ex.seq_resets, 1);
	/* sysUptime wrapped: uptime 1000, first 2^32 - 256, last 500 */
	v9_hdr(&b, 1000, 2, 1);
	s = set_begin(&b, 256);
	v9_rec256(&b, 1, 10, 1, 0xffffff00u, 500);
	set_end(&b, s);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].start_ms, EXPORT_MS - 1256);
	CHECK_EQ(recs[0].end_ms, EXPORT_MS - 500);
	/* last slightly after the export (clock jitter): not 49 days back */
	v9_hdr(&b, 1000, 3, 1);
	s = set_begin(&b, 256);
	v9_rec256(&b, 1, 10, 1, 900, 1010);
	set_end(&b, s);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].start_ms, EXPORT_MS - 100);
	CHECK_EQ(recs[0].end_ms, EXPORT_MS + 10);
	/* end before start is counted and clamped */
	v9_hdr(&b, 10000, 4, 1);
	s = set_begin(&b, 256);
	v9_rec256(&b, 1, 10, 1, 9000, 8000);
	set_end(&b, s);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_TIMESTAMP], 1);
	CHECK_EQ(recs[0].start_ms, recs[0].end_ms);
	weir_nf_state_free(&ex);
}

static void
test_template_flood(void)	/* BAD_INPUTS #13, #20: limits per exporter */
{
	struct weir_exporter a, bx;
	struct weir_exporter_limits small = lim;
	struct buf b;

	small.max_templates = 16;
	small.max_pending = 4;
	ex_init(&a);
	a.lim = &small;
	ex_init(&bx);
	reset_sink();
	for (uint16_t id = 256; id < 356; id++) {
		v9_hdr(&b, 10000, id, 1);
		v9_tmpl256(&b, id);
		feed(&a, &b, NOW);
	}
	CHECK_EQ(a.templates, 16);
	CHECK_EQ(a.err[WEIR_XERR_TEMPLATE_LIMIT], 84);
	CHECK(a.mem_bytes <= small.max_bytes);
	/* data for templates never seen: held up to max_pending */
	for (uint16_t id = 1000; id < 1010; id++) {
		v9_hdr(&b, 10000, id, 1);
		v9_data256(&b, id, 1);
		feed(&a, &b, NOW);
	}
	CHECK_EQ(weir_nf_pending_count(&a), 4);
	CHECK_EQ(a.err[WEIR_XERR_PENDING_OVERFLOW], 6);
	/* a source-id flood reuses domain slots */
	for (uint32_t sid = 0; sid < 1000; sid++) {
		v9_hdr(&b, 10000, 0, sid);
		feed(&a, &b, NOW);
	}
	CHECK(a.nf->n_domains <= NF_MAX_DOMAINS);
	/* a memory cap smaller than the flood */
	struct weir_exporter c;
	struct weir_exporter_limits tiny = lim;
	tiny.max_bytes = 6000;
	ex_init(&c);
	c.lim = &tiny;
	for (uint16_t id = 256; id < 356; id++) {
		v9_hdr(&b, 10000, id, 1);
		v9_tmpl256(&b, id);
		v9_data256(&b, (uint16_t)(id + 1000), 1);
		feed(&c, &b, NOW);
		if (c.mem_bytes > tiny.max_bytes)
			break;
	}
	CHECK(c.mem_bytes <= tiny.max_bytes);
	CHECK(c.err[WEIR_XERR_TEMPLATE_LIMIT] > 0);
	/* the other exporter is unaffected */
	v9_hdr(&b, 10000, 0, 1);
	v9_tmpl256(&b, 256);
	v9_data256(&b, 256, 3);
	CHECK_EQ(feed(&bx, &b, NOW), 3);
	CHECK_EQ(errs(&bx), 0);
	CHECK_EQ(bx.templates, 1);
	weir_nf_state_free(&a);
	weir_nf_state_free(&bx);
	weir_nf_state_free(&c);
	CHECK_EQ(a.mem_bytes + bx.mem_bytes + c.mem_bytes, 0);
}

static void
test_expiry(void)	/* BAD_INPUTS #20: TTLs */
{
	struct weir_exporter ex;
	struct buf b;

	v9_start(&ex, &b);
	v9_tmpl256(&b, 256);
	v9_data256(&b, 999, 1);			/* held */
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.templates, 1);
	CHECK_EQ(weir_nf_pending_count(&ex), 1);
	weir_nf_expire(&ex, NOW + lim.pending_ttl_ms + 1);
	CHECK_EQ(weir_nf_pending_count(&ex), 0);
	CHECK_EQ(ex.err[WEIR_XERR_UNKNOWN_TEMPLATE], 1);
	CHECK_EQ(ex.templates, 1);		/* template TTL is longer */
	weir_nf_expire(&ex, NOW + lim.template_ttl_ms + 1);
	CHECK_EQ(ex.templates, 0);
	CHECK_EQ(ex.mem_bytes, sizeof(struct weir_nf_state));
	v9_hdr(&b, 10000, 1, 1);
	v9_data256(&b, 256, 1);			/* its template has expired */
	CHECK_EQ(feed(&ex, &b, NOW + lim.template_ttl_ms + 2), 0);
	CHECK_EQ(weir_nf_pending_count(&ex), 1);
	weir_nf_state_free(&ex);
	CHECK_EQ(ex.mem_bytes, 0);
}

/* ---- IPFIX ------------------------------------------------------------- */

static void
test_ipfix_varlen(void)	/* BAD_INPUTS #8, #9 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	/* template 300: src4, interfaceName (varlen), enterprise 1234/7 (4
	 * bytes), octetDeltaCount in 3 bytes (reduced size) */
	ipfix_hdr(&b, 0, 5);
	s = set_begin(&b, 2);
	put16(&b, 300); put16(&b, 4);
	put16(&b, 8); put16(&b, 4);
	put16(&b, 82); put16(&b, 0xffff);
	put16(&b, 0x8007); put16(&b, 4); put32(&b, 1234);
	put16(&b, 1); put16(&b, 3);
	set_end(&b, s);
	s = set_begin(&b, 300);
	putn(&b, A1, 4); put8(&b, 3); putn(&b, "abc", 3); put32(&b, 0xdeadbeef); put8(&b, 1); put16(&b, 2);
	putn(&b, A2, 4); put8(&b, 0); put32(&b, 0); put8(&b, 0); put8(&b, 0); put8(&b, 9);	/* length 0 is valid (#9) */
	putn(&b, A1, 4); put8(&b, 255); put16(&b, 2); putn(&b, "xy", 2); put32(&b, 0); put8(&b, 0); put16(&b, 1);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 3);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(n_recs, 3);
	CHECK_EQ(recs[0].bytes, 0x010002);
	CHECK(is_v4(recs[1].src, A2));
	CHECK_EQ(recs[1].bytes, 9);
	CHECK_EQ(recs[2].bytes, 1);
	CHECK_EQ(recs[0].source, WEIR_SRC_IPFIX);
	/* 0xff + 2-byte length running past the set (#8) */
	ipfix_hdr(&b, 3, 5);
	s = set_begin(&b, 300);
	putn(&b, A1, 4); put8(&b, 255); put16(&b, 65535); putn(&b, "xy", 2);
	put32(&b, 0); put8(&b, 0); put16(&b, 1);
	set_end(&b, s);
	ipfix_end(&b);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_VARLEN], 1);
	/* a 1-byte length past the set, after one good record */
	ipfix_hdr(&b, 3, 5);
	s = set_begin(&b, 300);
	putn(&b, A2, 4); put8(&b, 0); put32(&b, 0); put8(&b, 0); put8(&b, 0); put8(&b, 9);
	putn(&b, A1, 4); put8(&b, 200); putn(&b, "xy-and-ten", 10);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_VARLEN], 2);
	/* the length prefix itself cut at the set end: 0xff and one byte,
	 * with template 302 = src4 + a varlen field last (5 bytes at least) */
	ipfix_hdr(&b, 3, 5);
	s = set_begin(&b, 2);
	put16(&b, 302); put16(&b, 2); put16(&b, 8); put16(&b, 4); put16(&b, 83); put16(&b, 0xffff);
	set_end(&b, s);
	s = set_begin(&b, 302);
	putn(&b, A1, 4); put8(&b, 255); put8(&b, 0);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_VARLEN], 3);
	/* an address sent as varlen of the wrong size is skipped and counted */
	ipfix_hdr(&b, 3, 5);
	s = set_begin(&b, 2);
	put16(&b, 301); put16(&b, 2);
	put16(&b, 8); put16(&b, 0xffff);
	put16(&b, 12); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 301);
	put8(&b, 5); putz(&b, 5); putn(&b, A2, 4);
	set_end(&b, s);
	ipfix_end(&b);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_FIELD_LENGTH], 1);
	CHECK(is_v4(recs[0].dst, A2));
	weir_nf_state_free(&ex);
}

static void
test_ipfix_withdrawal_and_options(void)	/* BAD_INPUTS #4, #5; withdrawal */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	ipfix_hdr(&b, 0, 1);
	s = set_begin(&b, 2);			/* 300 and 301: src4 + octets */
	put16(&b, 300); put16(&b, 2); put16(&b, 8); put16(&b, 4); put16(&b, 1); put16(&b, 4);
	put16(&b, 301); put16(&b, 2); put16(&b, 8); put16(&b, 4); put16(&b, 1); put16(&b, 4);
	set_end(&b, s);
	/* options 302: scope selectorId (302, 2 bytes), samplingPacketInterval
	 * 1 + samplingPacketSpace 99 -> 1 in 100 */
	s = set_begin(&b, 3);
	put16(&b, 302); put16(&b, 3); put16(&b, 1);
	put16(&b, 302); put16(&b, 2);
	put16(&b, 305); put16(&b, 4);
	put16(&b, 306); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 302);
	put16(&b, 9); put32(&b, 1); put32(&b, 99);
	set_end(&b, s);
	s = set_begin(&b, 300);
	putn(&b, A1, 4); put32(&b, 10);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(ex.templates, 3);
	CHECK_EQ(recs[0].sampling, 100);
	CHECK_EQ(recs[0].bytes, 1000);
	/* withdraw 300 alone, then all data templates (options stay) */
	ipfix_hdr(&b, 2, 1);
	s = set_begin(&b, 2);
	put16(&b, 300); put16(&b, 0);
	set_end(&b, s);
	ipfix_end(&b);
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.templates, 2);
	CHECK(weir_nf_tmpl_find(ex.nf, NF_IPFIX, 1, 300) == NULL);
	ipfix_hdr(&b, 2, 1);
	s = set_begin(&b, 2);
	put16(&b, 2); put16(&b, 0);
	set_end(&b, s);
	ipfix_end(&b);
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.templates, 1);
	CHECK(weir_nf_tmpl_find(ex.nf, NF_IPFIX, 1, 302) != NULL);
	/* withdrawing an options template from a template set is an error */
	ipfix_hdr(&b, 2, 1);
	s = set_begin(&b, 2);
	put16(&b, 302); put16(&b, 0);
	set_end(&b, s);
	ipfix_end(&b);
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_TEMPLATE], 1);
	CHECK_EQ(ex.templates, 1);
	/* options: scope count 0 (#5), more scopes than fields (#4) */
	ipfix_hdr(&b, 2, 1);
	s = set_begin(&b, 3);
	put16(&b, 303); put16(&b, 1); put16(&b, 0); put16(&b, 34); put16(&b, 4);
	put16(&b, 304); put16(&b, 1); put16(&b, 2); put16(&b, 34); put16(&b, 4);
	set_end(&b, s);
	ipfix_end(&b);
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_OPTIONS_TEMPLATE], 2);
	CHECK_EQ(ex.templates, 1);
	/* options specifiers past the set (#3) */
	ipfix_hdr(&b, 2, 1);
	s = set_begin(&b, 3);
	put16(&b, 305); put16(&b, 4); put16(&b, 1); put16(&b, 34); put16(&b, 4);
	set_end(&b, s);
	ipfix_end(&b);
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_OPTIONS_TEMPLATE], 3);
	/* withdraw all options templates */
	ipfix_hdr(&b, 2, 1);
	s = set_begin(&b, 3);
	put16(&b, 3); put16(&b, 0);
	set_end(&b, s);
	ipfix_end(&b);
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.templates, 0);
	CHECK_EQ(ex.mem_bytes, ex.nf ? ex.mem_bytes : 0);
	weir_nf_state_free(&ex);
	CHECK_EQ(ex.mem_bytes, 0);
}

static void
test_ipfix_times_and_fields(void)
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	ipfix_hdr(&b, 0, 1);
	s = set_begin(&b, 2);
	put16(&b, 300); put16(&b, 2); put16(&b, 152); put16(&b, 8); put16(&b, 153); put16(&b, 8);
	put16(&b, 301); put16(&b, 2); put16(&b, 150); put16(&b, 4); put16(&b, 151); put16(&b, 4);
	put16(&b, 302); put16(&b, 2); put16(&b, 156); put16(&b, 8); put16(&b, 157); put16(&b, 8);
	put16(&b, 303); put16(&b, 2); put16(&b, 158); put16(&b, 4); put16(&b, 159); put16(&b, 4);
	put16(&b, 304); put16(&b, 3); put16(&b, 160); put16(&b, 8); put16(&b, 22); put16(&b, 4);
	put16(&b, 21); put16(&b, 4);
	/* 305: MACs, VLANs, ICMP, direction, app id, interfaces */
	put16(&b, 305); put16(&b, 13);
	put16(&b, 56); put16(&b, 6); put16(&b, 80); put16(&b, 6);
	put16(&b, 243); put16(&b, 2); put16(&b, 245); put16(&b, 2);
	put16(&b, 4); put16(&b, 1); put16(&b, 32); put16(&b, 2);
	put16(&b, 61); put16(&b, 1); put16(&b, 95); put16(&b, 0xffff);
	put16(&b, 10); put16(&b, 2); put16(&b, 14); put16(&b, 4);
	put16(&b, 85); put16(&b, 8); put16(&b, 86); put16(&b, 8);
	put16(&b, 6); put16(&b, 2);
	set_end(&b, s);
	s = set_begin(&b, 300);
	put64(&b, EXPORT_MS - 3000); put64(&b, EXPORT_MS - 1000);
	set_end(&b, s);
	s = set_begin(&b, 301);
	put32(&b, EXPORT_SECS - 3); put32(&b, EXPORT_SECS - 1);
	set_end(&b, s);
	s = set_begin(&b, 302);			/* NTP: seconds since 1900, 0.5 s */
	put32(&b, EXPORT_SECS - 3 + 2208988800u); put32(&b, 0x80000000u);
	put32(&b, EXPORT_SECS - 1 + 2208988800u); put32(&b, 0);
	set_end(&b, s);
	s = set_begin(&b, 303);			/* 3 s and 1 s before export */
	put32(&b, 3000000); put32(&b, 1000000);
	set_end(&b, s);
	s = set_begin(&b, 304);			/* booted 100 s before export */
	put64(&b, EXPORT_MS - 100000); put32(&b, 97000); put32(&b, 99000);
	set_end(&b, s);
	s = set_begin(&b, 305);
	static const uint8_t m1[6] = {0, 1, 2, 3, 4, 5}, m2[6] = {6, 7, 8, 9, 10, 11};
	putn(&b, m1, 6); putn(&b, m2, 6); put16(&b, 100); put16(&b, 200);
	put8(&b, 1); put16(&b, 0x0800); put8(&b, 1);
	put8(&b, 6); put8(&b, 3); put8(&b, 0); put32(&b, 0x11223344);	/* app id: 6 bytes */
	put16(&b, 5); put32(&b, 6); put64(&b, 777); put64(&b, 7); put16(&b, 0x0012);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 6);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(n_recs, 6);
	CHECK_EQ(recs[0].start_ms, EXPORT_MS - 3000);
	CHECK_EQ(recs[0].end_ms, EXPORT_MS - 1000);
	CHECK_EQ(recs[1].start_ms, EXPORT_MS - 3000);
	CHECK_EQ(recs[1].end_ms, EXPORT_MS - 1000);
	CHECK_EQ(recs[2].start_ms, EXPORT_MS - 2500);
	CHECK_EQ(recs[2].end_ms, EXPORT_MS - 1000);
	CHECK_EQ(recs[3].start_ms, EXPORT_MS - 3000);
	CHECK_EQ(recs[3].end_ms, EXPORT_MS - 1000);
	CHECK_EQ(recs[4].start_ms, EXPORT_MS - 3000);
	CHECK_EQ(recs[4].end_ms, EXPORT_MS - 1000);
	const struct weir_flow_rec *r = &recs[5];
	CHECK(memcmp(r->smac, m1, 6) == 0 && memcmp(r->dmac, m2, 6) == 0);
	CHECK_EQ(r->vlan, 100);
	CHECK_EQ(r->vlan_inner, 200);
	CHECK_EQ(r->proto, 1);
	CHECK_EQ(r->dport, 0x0800);		/* echo request */
	CHECK_EQ(r->direction, 1);
	CHECK_EQ(r->app_id, 0x11223344);
	CHECK_EQ(r->app_engine, 3);		/* RFC 6759: IANA-L4 ... */
	CHECK_EQ(r->app_selector, 0x11223344);	/* ... selector 00 11 22 33 44, low 32 bits */
	CHECK_EQ(r->in_if, 5);
	CHECK_EQ(r->out_if, 6);
	CHECK_EQ(r->bytes, 777);		/* octetTotalCount without 1 */
	CHECK_EQ(r->pkts, 7);
	CHECK_EQ(r->tcp_flags, 0x12);
	/* 21/22 without a systemInitTime: unknown, not invented */
	ipfix_hdr(&b, 6, 2);
	s = set_begin(&b, 2);
	put16(&b, 306); put16(&b, 2); put16(&b, 22); put16(&b, 4); put16(&b, 21); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 306);
	put32(&b, 97000); put32(&b, 99000);
	set_end(&b, s);
	ipfix_end(&b);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].start_ms, 0);
	CHECK_EQ(recs[0].end_ms, 0);
	weir_nf_state_free(&ex);
}

static void
test_ipfix_sequence_and_length(void)
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	/* sequence counts data records: 0 (+2 records) -> 2 (+1) -> 3 */
	ipfix_hdr(&b, 0, 1);
	s = set_begin(&b, 2);
	put16(&b, 300); put16(&b, 1); put16(&b, 8); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 300);
	putn(&b, A1, 4); putn(&b, A2, 4);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	ipfix_hdr(&b, 2, 1);
	s = set_begin(&b, 300);
	putn(&b, A1, 4);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.seq_lost, 0);
	b.b[11] = 10;				/* expected 3: 7 records lost */
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.seq_lost, 7);
	b.b[11] = 0;				/* restart */
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.seq_resets, 1);
	/* a held set makes the count unknown: the next only resynchronises */
	ipfix_hdr(&b, 1, 1);
	s = set_begin(&b, 999);
	putz(&b, 4);
	set_end(&b, s);
	ipfix_end(&b);
	feed(&ex, &b, NOW);
	ipfix_hdr(&b, 50, 1);
	ipfix_end(&b);
	feed(&ex, &b, NOW);
	CHECK_EQ(ex.seq_lost, 7);
	CHECK_EQ(ex.seq_resets, 1);
	/* message length beyond the datagram, and below the header */
	ipfix_hdr(&b, 50, 1);
	ipfix_end(&b);
	patch16(&b, 2, 100);
	CHECK_EQ(feed(&ex, &b, NOW), -1);
	patch16(&b, 2, 8);
	CHECK_EQ(feed(&ex, &b, NOW), -1);
	CHECK_EQ(ex.err[WEIR_XERR_SHORT_DATAGRAM], 2);
	/* bytes after the message: zeros fine, anything else counted */
	ipfix_hdr(&b, 50, 1);
	ipfix_end(&b);
	putz(&b, 8);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_TRAILING_BYTES], 0);
	b.b[b.n - 1] = 1;
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(ex.err[WEIR_XERR_TRAILING_BYTES], 1);
	/* unknown version through the dispatcher */
	b.b[1] = 11;
	CHECK_EQ(feed(&ex, &b, NOW), -1);
	CHECK_EQ(ex.err[WEIR_XERR_BAD_VERSION], 1);
	weir_nf_state_free(&ex);
}

static void
test_v9_sampler_ids(void)	/* per sampler id (48), akvorado #997 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	s = set_begin(&b, 1);			/* scope: system; 48 sampler id, 50 random interval */
	put16(&b, 257); put16(&b, 4); put16(&b, 8);
	put16(&b, 1); put16(&b, 4);
	put16(&b, 48); put16(&b, 2);
	put16(&b, 50); put16(&b, 4);
	putz(&b, 2);
	set_end(&b, s);
	s = set_begin(&b, 257);
	put32(&b, 0); put16(&b, 1); put32(&b, 100);
	put32(&b, 0); put16(&b, 2); put32(&b, 4000);
	set_end(&b, s);
	s = set_begin(&b, 0);			/* data: src4, octets, sampler id */
	put16(&b, 300); put16(&b, 3);
	put16(&b, 8); put16(&b, 4); put16(&b, 1); put16(&b, 4); put16(&b, 48); put16(&b, 1);
	set_end(&b, s);
	s = set_begin(&b, 300);
	putn(&b, A1, 4); put32(&b, 10); put8(&b, 2);
	putn(&b, A1, 4); put32(&b, 10); put8(&b, 1);
	putn(&b, A1, 4); put32(&b, 10); put8(&b, 3);	/* unknown sampler */
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 3);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(recs[0].sampling, 4000);
	CHECK_EQ(recs[1].sampling, 100);
	CHECK_EQ(recs[2].sampling, 4000);	/* the domain's last rate */
	CHECK_EQ(recs[0].bytes, 40000);
	weir_nf_state_free(&ex);
}

/* ---- template sharing (engine/tmpl_share.c) ----------------------------- */

struct tev {
	uint8_t kind, version;
	uint16_t id, set_id;
	uint32_t domain;
	uint8_t rec[512];
	size_t len;
};
static struct tev tevs[16];
static unsigned int n_tevs;
static int tev_refuse;		/* the sink's ring is full */

static int
on_tmpl(void *ctx, struct weir_exporter *ex, const struct weir_tmpl_event *e)
{
	if (tev_refuse)
		return 0;
	if (n_tevs < 16) {
		struct tev *t = &tevs[n_tevs];
		t->kind = e->kind;
		t->version = e->version;
		t->id = e->id;
		t->set_id = e->set_id;
		t->domain = e->domain;
		t->len = e->len < sizeof(t->rec) ? e->len : sizeof(t->rec);
		if (e->rec)
			memcpy(t->rec, e->rec, t->len);
	}
	n_tevs++;
	return 1;
}

static const struct weir_flow_sink share_sink = {
	.rec = on_rec, .ifname = on_ifname, .tmpl = on_tmpl,
};

static int
feed_shared(struct weir_exporter *ex, const struct buf *b, uint64_t now)
{
	uint8_t *p = malloc(b->n ? b->n : 1);
	memcpy(p, b->b, b->n);
	int r = weir_xflow_decode(ex, p, b->n, now, &share_sink);
	free(p);
	return r;
}

/* An exact-size heap copy for the install, as ASan's witness. */
static int
install(struct weir_exporter *ex, uint8_t version, uint32_t domain, uint16_t set_id,
	const uint8_t *rec, size_t len, uint64_t now)
{
	uint8_t *p = malloc(len ? len : 1);
	memcpy(p, rec, len);
	int r = weir_nf_template_install(ex, version, domain, set_id, p, len, 0, now, &share_sink);
	free(p);
	return r;
}

static void
test_template_sharing(void)
{
	struct weir_exporter a, b2;
	struct buf b;
	size_t s;

	/* collector 1 learns v9 template 256 of source id 7: one LEARNT event
	 * carrying the record exactly as in the set (id, count, 9 pairs) */
	ex_init(&a);
	reset_sink();
	n_tevs = 0;
	v9_hdr(&b, 10000, 0, 7);
	v9_tmpl256(&b, 256);
	CHECK_EQ(feed_shared(&a, &b, NOW), 0);
	CHECK_EQ(n_tevs, 1);
	CHECK_EQ(tevs[0].kind, WEIR_TMPL_LEARNT);
	CHECK_EQ(tevs[0].version, 9);
	CHECK_EQ(tevs[0].domain, 7);
	CHECK_EQ(tevs[0].id, 256);
	CHECK_EQ(tevs[0].set_id, 0);
	CHECK_EQ(tevs[0].len, 4 + 9 * 4);
	CHECK(tevs[0].len == 40 && memcmp(tevs[0].rec, b.b + 20 + 4, 40) == 0);
	struct tev learnt = tevs[0];
	/* a refresh soon after is not passed on; one after a quarter of the
	 * template expiry is (the shared copy expires like ours) */
	feed_shared(&a, &b, NOW + 1000);
	CHECK_EQ(n_tevs, 1);
	feed_shared(&a, &b, NOW + lim.template_ttl_ms / 4 + 1);
	CHECK_EQ(n_tevs, 2);
	CHECK_EQ(tevs[1].kind, WEIR_TMPL_LEARNT);
	/* a dropped event is offered again at the next refresh */
	v9_hdr(&b, 10000, 0, 7);
	v9_tmpl256(&b, 257);
	tev_refuse = 1;
	feed_shared(&a, &b, NOW);
	tev_refuse = 0;
	CHECK_EQ(n_tevs, 2);
	feed_shared(&a, &b, NOW + 10);
	CHECK_EQ(n_tevs, 3);
	CHECK_EQ(tevs[2].id, 257);
	weir_nf_state_free(&a);

	/* collector 2 gets data only: held, and asked for once a second */
	ex_init(&b2);
	reset_sink();
	n_tevs = 0;
	v9_hdr(&b, 10000, 0, 7);
	v9_data256(&b, 256, 2);
	CHECK_EQ(feed_shared(&b2, &b, NOW), 0);
	CHECK_EQ(b2.held, 1);
	feed_shared(&b2, &b, NOW + 500);
	CHECK_EQ(b2.held, 2);
	CHECK_EQ(n_tevs, 1);
	CHECK_EQ(tevs[0].kind, WEIR_TMPL_WANTED);
	CHECK_EQ(tevs[0].version, 9);
	CHECK_EQ(tevs[0].domain, 7);
	CHECK_EQ(tevs[0].id, 256);
	feed_shared(&b2, &b, NOW + 1000);
	CHECK_EQ(n_tevs, 2);
	CHECK_EQ(b2.held, 3);
	/* what does not come out of a LEARNT event is refused, and is not the
	 * exporter's fault: no counter moves */
	uint8_t two[80];
	memcpy(two, learnt.rec, 40);
	memcpy(two + 40, learnt.rec, 40);
	two[40] = 0x01; two[41] = 0x01;		/* a second record, id 257 */
	CHECK_EQ(install(&b2, 9, 7, 0, two, 80, NOW + 1100), -1);
	CHECK_EQ(install(&b2, 9, 7, 0, learnt.rec, 39, NOW + 1100), -1);
	CHECK_EQ(install(&b2, 9, 7, 2, learnt.rec, 40, NOW + 1100), -1);
	CHECK_EQ(install(&b2, 10, 7, 0, learnt.rec, 40, NOW + 1100), -1);
	CHECK_EQ(install(&b2, 9, 7, 1, learnt.rec, 3, NOW + 1100), -1);
	CHECK_EQ(install(&b2, 9, 7, 0, learnt.rec, 0, NOW + 1100), -1);
	CHECK_EQ(install(&b2, 10, 7, 2, learnt.rec, 0, NOW + 1100), -1);
	CHECK_EQ(b2.errors, 0);
	CHECK_EQ(b2.templates, 0);
	/* the template from collector 1 releases the held data, through the
	 * same parser; defining it raises no event */
	n_tevs = 0;
	CHECK_EQ(install(&b2, 9, 7, 0, learnt.rec, learnt.len, NOW + 1100), 6);
	CHECK_EQ(n_recs, 6);
	CHECK_EQ(recs[1].sport, 1001);
	CHECK_EQ(recs[1].bytes, 200);
	CHECK_EQ(b2.held, 0);
	CHECK_EQ(b2.templates, 1);
	CHECK_EQ(b2.templates_from_redis, 1);
	CHECK_EQ(n_tevs, 0);
	CHECK_EQ(b2.errors, 0);
	/* never over a template the exporter defined itself */
	CHECK_EQ(install(&b2, 9, 7, 0, learnt.rec, learnt.len, NOW + 1200), WEIR_TMPL_KNOWN);
	CHECK_EQ(b2.templates_from_redis, 1);
	/* the limits hold for shared templates too: a field length the
	 * parser refuses is counted as from the exporter */
	uint8_t bad[8] = {0x01, 0x10, 0, 1, 0, 8, 0, 50};	/* 272: src4 of 50 bytes */
	CHECK_EQ(install(&b2, 9, 7, 0, bad, 8, NOW + 1200), 0);
	CHECK_EQ(b2.err[WEIR_XERR_BAD_FIELD_LENGTH], 1);
	weir_nf_state_free(&b2);
	CHECK_EQ(b2.mem_bytes, 0);

	/* IPFIX: withdrawals are passed on, one template or all */
	ex_init(&a);
	reset_sink();
	n_tevs = 0;
	ipfix_hdr(&b, 0, 1);
	s = set_begin(&b, 2);
	put16(&b, 300); put16(&b, 2); put16(&b, 8); put16(&b, 4); put16(&b, 1); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 3);
	put16(&b, 302); put16(&b, 3); put16(&b, 1);
	put16(&b, 302); put16(&b, 2);
	put16(&b, 305); put16(&b, 4);
	put16(&b, 306); put16(&b, 4);
	set_end(&b, s);
	ipfix_end(&b);
	feed_shared(&a, &b, NOW);
	CHECK_EQ(n_tevs, 2);
	CHECK_EQ(tevs[1].set_id, 3);
	CHECK_EQ(tevs[1].len, 6 + 3 * 4);
	struct tev opt = tevs[1];
	ipfix_hdr(&b, 0, 1);
	s = set_begin(&b, 2);
	put16(&b, 300); put16(&b, 0);
	put16(&b, 2); put16(&b, 0);
	set_end(&b, s);
	ipfix_end(&b);
	feed_shared(&a, &b, NOW);
	CHECK_EQ(n_tevs, 4);
	CHECK_EQ(tevs[2].kind, WEIR_TMPL_WITHDRAWN);
	CHECK_EQ(tevs[2].id, 300);
	CHECK_EQ(tevs[2].set_id, 2);
	CHECK_EQ(tevs[3].kind, WEIR_TMPL_WITHDRAW_ALL);
	CHECK_EQ(tevs[3].set_id, 2);
	CHECK_EQ(tevs[3].domain, 1);
	weir_nf_state_free(&a);
	/* an options template shared into a fresh exporter; a withdrawal
	 * record is not a template */
	ex_init(&b2);
	uint8_t wd[4] = {0x01, 0x2c, 0, 0};
	CHECK_EQ(install(&b2, 10, 1, 2, wd, 4, NOW), -1);
	CHECK_EQ(install(&b2, 10, 1, 3, opt.rec, opt.len, NOW), 0);
	CHECK(b2.nf && weir_nf_tmpl_find(b2.nf, NF_IPFIX, 1, 302) != NULL);
	CHECK_EQ(b2.templates_from_redis, 1);
	weir_nf_state_free(&b2);
	CHECK_EQ(b2.mem_bytes, 0);
}

/* ---- sampling scopes, biflows, VRFs, padding --------------------------- */

static void
test_ipfix_sampling_n_of_N(void)	/* IEs 309/310; #25 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	/* As IOS XR sends it (pmacct test 104): options 257, scope
	 * selectorId (302, 2 bytes), samplingPacketInterval (305) 1,
	 * samplingSize (309) 1, samplingPopulation (310) 256: 1 in 256. */
	ipfix_hdr(&b, 0, 0);
	s = set_begin(&b, 3);
	put16(&b, 257); put16(&b, 4); put16(&b, 1);
	put16(&b, 302); put16(&b, 2);
	put16(&b, 305); put16(&b, 4);
	put16(&b, 309); put16(&b, 4);
	put16(&b, 310); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 2);		/* 300: src4, octets, packets, selectorId */
	put16(&b, 300); put16(&b, 4);
	put16(&b, 8); put16(&b, 4); put16(&b, 1); put16(&b, 4);
	put16(&b, 2); put16(&b, 4); put16(&b, 302); put16(&b, 2);
	put16(&b, 301); put16(&b, 3);	/* 301: src4, samplingSize, samplingPopulation, */
	put16(&b, 8); put16(&b, 4); put16(&b, 309); put16(&b, 4);
	put16(&b, 310); put16(&b, 4);	/* no counters: 0 bytes, fine */
	set_end(&b, s);
	s = set_begin(&b, 257);
	put16(&b, 1); put32(&b, 1); put32(&b, 1); put32(&b, 256);
	set_end(&b, s);
	s = set_begin(&b, 300);
	putn(&b, A1, 4); put32(&b, 72); put32(&b, 1); put16(&b, 1);
	set_end(&b, s);
	/* the record's own: 2 out of 10 -> 1 in 5; then 0 out of 10 */
	s = set_begin(&b, 301);
	putn(&b, A1, 4); put32(&b, 2); put32(&b, 10);
	putn(&b, A2, 4); put32(&b, 0); put32(&b, 10);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 3);
	CHECK_EQ(n_recs, 3);
	CHECK_EQ(recs[0].sampling, 256);
	CHECK_EQ(recs[0].bytes, 72 * 256);
	CHECK_EQ(recs[0].pkts, 256);
	CHECK_EQ(recs[1].sampling, 5);
	CHECK_EQ(recs[2].sampling, 256);	/* the domain's (selector 1's) rate */
	CHECK_EQ(ex.err[WEIR_XERR_SAMPLING_MISSING], 1);
	CHECK_EQ(errs(&ex), 1);
	weir_nf_state_free(&ex);
}

/* v9 template 300: src4, input if, output if, direction, octets
 * (4+4+4+1+4 = 17 bytes a record) */
static void
v9_tmpl_if(struct buf *b)
{
	size_t s = set_begin(b, 0);
	put16(b, 300); put16(b, 5);
	put16(b, 8); put16(b, 4);
	put16(b, 10); put16(b, 4);
	put16(b, 14); put16(b, 4);
	put16(b, 61); put16(b, 1);
	put16(b, 1); put16(b, 4);
	set_end(b, s);
}

static void
v9_rec_if(struct buf *b, uint32_t in_if, uint32_t out_if, uint8_t dir)
{
	putn(b, A1, 4); put32(b, in_if); put32(b, out_if); put8(b, dir); put32(b, 100);
}

/* v9 options data of template id, scope type `scope` (1 system, 2
 * interface; 4 bytes), SAMPLING_INTERVAL */
static void
v9_rate(struct buf *b, uint16_t id, uint16_t scope, uint32_t value, uint32_t rate)
{
	size_t s = set_begin(b, 1);
	put16(b, id); put16(b, 4); put16(b, 4);
	put16(b, scope); put16(b, 4);
	put16(b, 34); put16(b, 4);
	set_end(b, s);
	s = set_begin(b, id);
	put32(b, value); put32(b, rate);
	set_end(b, s);
}

static void
test_v9_sampling_per_interface(void)	/* options scoped by interface */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	v9_rate(&b, 260, 2, 1, 10);		/* interface 1: 1 in 10 */
	v9_rate(&b, 261, 2, 2, 20);		/* interface 2: 1 in 20 */
	v9_tmpl_if(&b);
	s = set_begin(&b, 300);
	v9_rec_if(&b, 1, 2, 0);
	v9_rec_if(&b, 2, 1, 0);
	v9_rec_if(&b, 3, 1, 0);			/* no rate for interface 3 */
	v9_rec_if(&b, 3, 2, 1);			/* egress: sampled on output 2 */
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 4);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(recs[0].sampling, 10);
	CHECK_EQ(recs[0].bytes, 1000);
	CHECK_EQ(recs[1].sampling, 20);
	CHECK_EQ(recs[2].sampling, 1);
	CHECK_EQ(recs[3].sampling, 20);
	/* a system-scoped rate is the fallback; interfaces keep theirs */
	v9_hdr(&b, 10000, 1, 1);
	v9_rate(&b, 262, 1, 0, 5);
	s = set_begin(&b, 300);
	v9_rec_if(&b, 3, 1, 0);
	v9_rec_if(&b, 1, 2, 0);
	set_end(&b, s);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(recs[0].sampling, 5);
	CHECK_EQ(recs[1].sampling, 10);
	/* an interface flood is bounded: slots are reused, memory is flat */
	uint32_t mem = ex.mem_bytes;
	for (uint32_t i = 0; i < 3 * NF_MAX_IF_RATES; i++) {
		v9_hdr(&b, 10000, 2 + i, 1);
		v9_rate(&b, 260, 2, 100 + i, 7);
		feed(&ex, &b, NOW);
	}
	CHECK_EQ(ex.mem_bytes, mem);
	struct nf_domain *d = weir_nf_domain_get(&ex, NF_V9, 1, NOW);
	CHECK(d && d->n_if_rates == NF_MAX_IF_RATES);
	CHECK_EQ(errs(&ex), 0);
	weir_nf_state_free(&ex);
	CHECK_EQ(ex.mem_bytes, 0);
}

static void
test_ipfix_biflow(void)	/* RFC 5103 reverse counters; template PENs */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	/* 310: src4, dst4, octets, packets, reverse octets, reverse packets;
	 * 311: the same with totals (85/86, 8 bytes) */
	ipfix_hdr(&b, 0, 1);
	s = set_begin(&b, 2);
	put16(&b, 310); put16(&b, 6);
	put16(&b, 8); put16(&b, 4); put16(&b, 12); put16(&b, 4);
	put16(&b, 1); put16(&b, 4); put16(&b, 2); put16(&b, 4);
	put16(&b, 0x8001); put16(&b, 4); put32(&b, NF_PEN_REVERSE);
	put16(&b, 0x8002); put16(&b, 4); put32(&b, NF_PEN_REVERSE);
	put16(&b, 311); put16(&b, 6);
	put16(&b, 8); put16(&b, 4); put16(&b, 12); put16(&b, 4);
	put16(&b, 85); put16(&b, 8); put16(&b, 86); put16(&b, 8);
	put16(&b, 0x8055); put16(&b, 8); put32(&b, NF_PEN_REVERSE);
	put16(&b, 0x8056); put16(&b, 8); put32(&b, NF_PEN_REVERSE);
	set_end(&b, s);
	s = set_begin(&b, 310);
	putn(&b, A1, 4); putn(&b, A2, 4); put32(&b, 80); put32(&b, 2); put32(&b, 40); put32(&b, 1);
	set_end(&b, s);
	s = set_begin(&b, 311);
	putn(&b, A2, 4); putn(&b, A1, 4); put64(&b, 132); put64(&b, 2); put64(&b, 200); put64(&b, 3);
	set_end(&b, s);
	ipfix_end(&b);
	CHECK_EQ(feed(&ex, &b, NOW), 2);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(recs[0].bytes, 80);
	CHECK_EQ(recs[0].pkts, 2);
	CHECK_EQ(recs[0].rev_bytes, 40);
	CHECK_EQ(recs[0].rev_pkts, 1);
	CHECK_EQ(recs[1].bytes, 132);
	CHECK_EQ(recs[1].rev_bytes, 200);
	CHECK_EQ(recs[1].rev_pkts, 3);
	CHECK_EQ(ex.bytes, 80 + 40 + 132 + 200);
	CHECK_EQ(ex.pkts, 2 + 1 + 2 + 3);
	/* 310 again with the last two fields of PEN 9 instead: not a refresh
	 * but a new template, whose fields we do not know */
	ipfix_hdr(&b, 2, 1);
	s = set_begin(&b, 2);
	put16(&b, 310); put16(&b, 6);
	put16(&b, 8); put16(&b, 4); put16(&b, 12); put16(&b, 4);
	put16(&b, 1); put16(&b, 4); put16(&b, 2); put16(&b, 4);
	put16(&b, 0x8001); put16(&b, 4); put32(&b, 9);
	put16(&b, 0x8002); put16(&b, 4); put32(&b, 9);
	set_end(&b, s);
	s = set_begin(&b, 310);
	putn(&b, A1, 4); putn(&b, A2, 4); put32(&b, 80); put32(&b, 2); put32(&b, 40); put32(&b, 1);
	set_end(&b, s);
	ipfix_end(&b);
	reset_sink();
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(recs[0].bytes, 80);
	CHECK_EQ(recs[0].rev_bytes, 0);
	CHECK_EQ(recs[0].rev_pkts, 0);
	CHECK_EQ(ex.templates, 2);
	CHECK_EQ(errs(&ex), 0);
	weir_nf_state_free(&ex);
	CHECK_EQ(ex.mem_bytes, 0);
}

static void
test_v9_vrf(void)	/* ingressVRFID 234, egressVRFID 235 */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	v9_start(&ex, &b);
	s = set_begin(&b, 0);
	put16(&b, 300); put16(&b, 4);
	put16(&b, 8); put16(&b, 4); put16(&b, 1); put16(&b, 4);
	put16(&b, 234); put16(&b, 4); put16(&b, 235); put16(&b, 4);
	set_end(&b, s);
	s = set_begin(&b, 300);
	putn(&b, A1, 4); put32(&b, 60); put32(&b, 0x60000000); put32(&b, 0x60000001);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(recs[0].vrf_in, 0x60000000);
	CHECK_EQ(recs[0].vrf_out, 0x60000001);
	weir_nf_state_free(&ex);
}

static void
test_set_padding(void)	/* non-zero padding < 4 bytes: noted, no error */
{
	struct weir_exporter ex;
	struct buf b;
	size_t s;

	ex_init(&ex);
	reset_sink();
	/* MikroTik: 2 bytes 6b ab after the records of a data set */
	v9_hdr(&b, 10000, 0, 1);
	v9_tmpl256(&b, 256);
	s = set_begin(&b, 256);
	v9_rec256(&b, 1, 1, 1, 1, 1);
	put8(&b, 0x6b); put8(&b, 0xab);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(ex.nf->padding, 1);
	/* Cisco WLC: an options template set ending in 2d 67 */
	v9_hdr(&b, 10000, 1, 1);
	s = set_begin(&b, 1);
	put16(&b, 260); put16(&b, 4); put16(&b, 4);
	put16(&b, 1); put16(&b, 4); put16(&b, 34); put16(&b, 4);
	put8(&b, 0x2d); put8(&b, 0x67);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 0);
	CHECK_EQ(errs(&ex), 0);
	CHECK_EQ(ex.nf->padding, 2);
	CHECK(weir_nf_tmpl_find(ex.nf, NF_V9, 1, 260) != NULL);
	/* 4 bytes or more that are not zero are not padding */
	v9_hdr(&b, 10000, 2, 1);
	s = set_begin(&b, 256);
	v9_rec256(&b, 1, 1, 1, 1, 1);
	put32(&b, 0x0d000100);
	set_end(&b, s);
	CHECK_EQ(feed(&ex, &b, NOW), 1);
	CHECK_EQ(ex.err[WEIR_XERR_TRAILING_BYTES], 1);
	CHECK_EQ(ex.nf->padding, 2);
	weir_nf_state_free(&ex);
}

int
main(void)
{
	weir_exporter_limits_default(&lim);
	test_v5_decode_and_wrap();
	test_v5_bad_count();
	test_v5_sampling_zero();
	test_v5_sequence_and_padding();
	test_v9_data_before_template();
	test_v9_field_too_long();
	test_v9_counter_widths();
	test_v9_zero_length_field();
	test_v9_template_ids();
	test_v9_options();
	test_v9_options_malformed();
	test_v9_id_switch_and_redefinition();
	test_v9_refresh();
	test_v9_sets();
	test_v9_sequence_and_wrap();
	test_v9_sampler_ids();
	test_template_flood();
	test_expiry();
	test_ipfix_varlen();
	test_ipfix_withdrawal_and_options();
	test_ipfix_times_and_fields();
	test_ipfix_sequence_and_length();
	test_template_sharing();
	test_ipfix_sampling_n_of_N();
	test_v9_sampling_per_interface();
	test_ipfix_biflow();
	test_v9_vrf();
	test_set_padding();
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("netflow inputs: all checks passed\n");
	return 0;
}
