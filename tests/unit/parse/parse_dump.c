/* parse_dump.c -- print what our parser makes of each frame of a pcap.
 *
 * The C half of the tshark cross-check (parse_tshark): one tab-separated
 * line per frame, in the order tshark numbers them, so check_tshark.py can
 * compare field by field with what tshark dissects from the same bytes.
 *
 *   parse_dump [--decap] FILE.pcap
 *
 * --decap turns on GRE and VXLAN decapsulation. Columns:
 *   frame result vlan vlan_inner src dst sport dport proto tcp_flags
 *   flags frag_id n_mpls l3_len payload_len
 * IPv4 addresses print as dotted quads (they are stored v4-mapped), and
 * fields that only mean something for a parsed frame print as "-" for a
 * non-OK result. */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "weir/pkt.h"

static void
addr_str(const uint8_t a[16], char *out, size_t n)
{
	if (weir_addr_is_v4(a))
		inet_ntop(AF_INET, a + 12, out, (socklen_t)n);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)n);
}

int
main(int argc, char **argv)
{
	struct weir_parse_cfg cfg;
	const char *file = NULL;
	char err[PCAP_ERRBUF_SIZE];

	weir_parse_cfg_default(&cfg);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--decap") == 0)
			cfg.decap_gre = cfg.decap_vxlan = 1;
		else
			file = argv[i];
	}
	if (!file) {
		fprintf(stderr, "usage: parse_dump [--decap] FILE.pcap\n");
		return 2;
	}
	pcap_t *pc = pcap_open_offline(file, err);
	if (!pc) {
		fprintf(stderr, "parse_dump: %s\n", err);
		return 1;
	}
	int dlt = pcap_datalink(pc);
	if (dlt != DLT_EN10MB && dlt != DLT_RAW) {
		fprintf(stderr, "parse_dump: link type %d not handled\n", dlt);
		pcap_close(pc);
		return 1;
	}

	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned long n = 0;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct weir_pkt_meta m;
		enum weir_parse_result r;
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

		n++;
		if (dlt == DLT_EN10MB)
			r = weir_parse_frame(&cfg, data, h->caplen, &m);
		else
			r = weir_parse_ip(&cfg, data, h->caplen, &m);
		if (r != WEIR_PARSE_OK) {
			printf("%lu\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n",
			       n, weir_parse_result_names[r]);
			continue;
		}
		addr_str(m.src, s, sizeof(s));
		addr_str(m.dst, d, sizeof(d));
		printf("%lu\t%s\t%u\t%u\t%s\t%s\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%u\n",
		       n, weir_parse_result_names[r], m.vlan, m.vlan_inner, s, d,
		       m.sport, m.dport, m.proto, m.tcp_flags, m.flags,
		       m.frag_id, m.n_mpls, m.l3_len, m.payload_len);
	}
	if (rc == -1)
		fprintf(stderr, "parse_dump: %s\n", pcap_geterr(pc));
	pcap_close(pc);
	return rc == -1 ? 1 : 0;
}
