/* dpi_api.c -- the slot pool and the edges of include/weir/dpi.h.
 *
 * Why: the pcap comparison exercises detection; this checks what a worker
 * relies on around it: a full pool is refused and counted, slots come back
 * after weir_dpi_flow_end(), a finished or free slot is refused, a packet
 * longer than the snaplen is cut and counted, and nothing nDPI allocated
 * for a flow outlives the flow. */
#include <stdio.h>
#include <string.h>

#include "weir/dpi.h"

static int failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

/* One IPv4/UDP DNS query for "a.example" type A, decoded by hand:
 *   45 00 00 37  ver 4, ihl 5, total length 55
 *   00 01 00 00  id 1, no fragment
 *   40 11 00 00  ttl 64, proto 17 (UDP), checksum 0 (nDPI does not check)
 *   c0 a8 01 0a  192.168.1.10
 *   c0 a8 01 01  192.168.1.1
 *   9c 41 00 35  sport 40001, dport 53
 *   00 23 00 00  UDP length 35 (8 + 27), checksum 0
 *   12 34 01 00  DNS id 0x1234, flags RD
 *   00 01 00 00  1 question, 0 answers
 *   00 00 00 00  0 authority, 0 additional
 *   01 61 07 65 78 61 6d 70 6c 65 00   "a" "example" root
 *   00 01 00 01  type A, class IN                      = 55 bytes */
static const uint8_t dns_query[55] = {
	0x45, 0x00, 0x00, 0x37, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
	0xc0, 0xa8, 0x01, 0x0a, 0xc0, 0xa8, 0x01, 0x01, 0x9c, 0x41, 0x00, 0x35,
	0x00, 0x23, 0x00, 0x00, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x61, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x00, 0x00, 0x01, 0x00, 0x01,
};

int
main(void)
{
	struct weir_dpi_cfg cfg;
	struct weir_dpi_result res;
	struct weir_dpi *d;

	weir_dpi_cfg_default(&cfg);
	CHECK(cfg.max_flows_in_detection == 65536);
	CHECK(cfg.max_pkts_tcp == 80 && cfg.max_pkts_udp == 24);

	cfg.max_flows_in_detection = 2;
	cfg.snaplen = 64;
	cfg.max_pkts_udp = 2;
	d = weir_dpi_create(&cfg);
	CHECK(d != NULL);
	if (d == NULL)
		return 1;
	int64_t mem0 = weir_dpi_mem_bytes(d);

	/* Pool of two. */
	int s0 = weir_dpi_flow_begin(d), s1 = weir_dpi_flow_begin(d);
	CHECK(s0 >= 0 && s1 >= 0 && s0 != s1);
	CHECK(weir_dpi_flow_begin(d) == -1);
	CHECK(weir_dpi_counters(d)->pool_full == 1);
	CHECK(weir_dpi_slots_used(d) == 2);
	weir_dpi_flow_end(d, s1);
	CHECK(weir_dpi_slots_used(d) == 1);
	CHECK(weir_dpi_process(d, s1, dns_query, sizeof(dns_query), 1, 1, &res) == -1);
	CHECK(weir_dpi_process(d, 7, dns_query, sizeof(dns_query), 1, 1, &res) == -1);
	weir_dpi_flow_end(d, s1);            /* double end: ignored */
	CHECK(weir_dpi_slots_used(d) == 1);

	/* A query alone does not finish DNS detection in nDPI 4.2 (it waits
	 * for the answer); the budget of 2 UDP packets ends it at the third. */
	int r1 = weir_dpi_process(d, s0, dns_query, sizeof(dns_query), 1000, 1, &res);
	CHECK(r1 == 0 || r1 == 1);
	if (r1 == 0) {
		CHECK(weir_dpi_process(d, s0, dns_query, sizeof(dns_query), 1001, 1, &res) == 0);
		CHECK(weir_dpi_process(d, s0, dns_query, sizeof(dns_query), 1002, 1, &res) == 1);
	}
	CHECK(!strcmp(res.name, "DNS"));
	CHECK(!strcmp(res.host, "a.example"));
	CHECK(res.dns_rsp == 0);               /* no answer was seen */
	CHECK(res.method == WEIR_DPI_METHOD_DPI);
	/* nDPI named DNS at the first query: the packets after it were fed
	 * for its extra dissection (waiting for the answer) */
	CHECK(weir_dpi_counters(d)->pkts_after_app == (r1 == 0 ? 2u : 0u));
	CHECK(weir_dpi_counters(d)->pkts_processed == (r1 == 0 ? 3u : 1u));
	/* 55 bytes fit in the 64-byte snaplen: nothing was cut. */
	CHECK(weir_dpi_counters(d)->pkts_truncated == 0);
	/* Finished: further packets and finishing again are refused. */
	CHECK(weir_dpi_process(d, s0, dns_query, sizeof(dns_query), 1003, 1, &res) == -1);
	CHECK(weir_dpi_flow_finish(d, s0, &res) == -1);
	weir_dpi_flow_end(d, s0);
	CHECK(weir_dpi_slots_used(d) == 0);
	CHECK(weir_dpi_counters(d)->flows_detected == 1);

	/* Longer than the snaplen: cut to 64 bytes and counted. */
	uint8_t big[100];
	memset(big, 0, sizeof(big));
	memcpy(big, dns_query, sizeof(dns_query));
	int s2 = weir_dpi_flow_begin(d);
	CHECK(s2 >= 0);
	weir_dpi_process(d, s2, big, sizeof(big), 2000, 1, &res);
	CHECK(weir_dpi_counters(d)->pkts_truncated == 1);
	/* Ended mid-detection: finish gives a verdict, end frees it. */
	CHECK(weir_dpi_flow_finish(d, s2, &res) == 1);
	weir_dpi_flow_end(d, s2);

	/* Everything nDPI allocated for the flows has been given back. */
	CHECK(weir_dpi_mem_bytes(d) == mem0);
	CHECK(weir_dpi_counters(d)->pkts_processed >= 2);

	weir_dpi_destroy(d);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
