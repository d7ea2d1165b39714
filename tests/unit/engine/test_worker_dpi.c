/* test_worker_dpi.c -- what a worker tells about the packets it feeds
 * nDPI: one TCP conversation (handshake, then an HTTP request) through
 * weir_worker_account(), as the burst loop hands them over. The three
 * handshake segments carry no payload and are counted as such
 * (dpi_pkts_no_payload, printed by weir-bench's pcap note); all four reach
 * nDPI (dpi_pkts, copied at a fold), and the time inside nDPI is counted
 * (dpi_tsc: some, and no more than the whole loop took). No EAL: the worker
 * is driven directly, as weir-bench's memory scenario does. */
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <urcu-qsbr.h>

#include "weir/config.h"
#include "weir/dpi.h"
#include "worker.h"
#include "check.h"

/* Ethernet + IPv4 + TCP (20-byte header) + payload, 10.0.0.1:40000 <->
 * 10.0.0.2:80; reverse swaps the ends. Returns the frame's length. */
static uint32_t
frame(uint8_t *p, int reverse, uint8_t flags, const char *payload)
{
	uint32_t pl = payload ? (uint32_t)strlen(payload) : 0, ip_len = 20 + 20 + pl;
	memset(p, 0, 14 + ip_len);
	p[12] = 0x08;
	uint8_t *ip = p + 14, *tcp = ip + 20;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = 6;
	uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
	memcpy(ip + 12, reverse ? b : a, 4);
	memcpy(ip + 16, reverse ? a : b, 4);
	uint16_t cp = 40000, sp = 80, s = reverse ? sp : cp, d = reverse ? cp : sp;
	tcp[0] = (uint8_t)(s >> 8);
	tcp[1] = (uint8_t)s;
	tcp[2] = (uint8_t)(d >> 8);
	tcp[3] = (uint8_t)d;
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	tcp[14] = 0xff;
	if (pl)
		memcpy(tcp + 20, payload, pl);
	return 14 + ip_len;
}

int
main(void)
{
	static struct weir_config cfg;
	char *argv[] = {"weir", "--interface", "net_null0", "--flow-table-size", "1024", "--flow-ring-size",
			"1024", "--dpi", "yes", "--quiet", NULL};
	CHECK_EQ(weir_config_load(&cfg, 10, argv), 0);
	rcu_register_thread();
	struct weir_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	CHECK(w != NULL);
	if (!w || weir_worker_init(w, 0, &cfg) != 0) {
		CHECK(!"weir_worker_init");
		return CHECK_DONE();
	}
	weir_worker_dpi_open(w);
	CHECK(w->dpi != NULL);

	static const struct { int rev; uint8_t flags; const char *payload; } conv[] = {
		{0, 0x02, NULL},	/* SYN */
		{1, 0x12, NULL},	/* SYN-ACK */
		{0, 0x10, NULL},	/* ACK */
		{0, 0x18, "GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: t\r\n\r\n"},
	};
	uint8_t buf[256];
	uint64_t t0 = rte_rdtsc();
	for (unsigned int i = 0; i < sizeof(conv) / sizeof(conv[0]); i++) {
		uint32_t n = frame(buf, conv[i].rev, conv[i].flags, conv[i].payload);
		struct weir_pkt_meta m;
		CHECK_EQ(weir_parse_frame(&cfg.parse, buf, n, &m), WEIR_PARSE_OK);
		weir_worker_account(w, &m, buf, n, 1000 + i);
	}
	CHECK_EQ(w->st.flows_created, 1);
	CHECK_EQ(w->st.dpi_flows, 1);
	uint64_t t1 = rte_rdtsc();
	CHECK_EQ(w->st.dpi_pkts_no_payload, 3);
	CHECK(w->st.dpi_tsc > 0);
	CHECK(w->st.dpi_tsc <= t1 - t0);
	weir_worker_fold(w);	/* copies the nDPI module's counters */
	CHECK_EQ(w->st.dpi_pkts, 4);

	weir_worker_flush(w);	/* then nDPI goes, as at the end of weir_worker_main */
	weir_dpi_destroy(w->dpi);
	w->dpi = NULL;
	weir_worker_fini(w);
	free(w);
	rcu_unregister_thread();
	return CHECK_DONE();
}
