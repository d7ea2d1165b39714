/* dpi_pcap.c -- run engine/dpi over a pcap, one line per flow.
 *
 * Why: to compare our nDPI module with ndpiReader, nDPI's own reference
 * tool, flow by flow. This harness plays the worker's part: it parses each
 * frame with weir_parse_frame(), keys flows bidirectionally by protocol,
 * addresses, ports and VLAN, takes a detection slot at a flow's first
 * packet, feeds packets until weir_dpi_process() says detection finished,
 * returns the slot at once, and at the end of the file finishes the flows
 * still in detection (as ndpiReader does). check_ndpi.py compares its output
 * with ndpiReader's.
 *
 * Like ndpiReader 4.2, an IPv4 packet captured shorter than its total
 * length is not accounted (reader_util.c refuses it before any counting),
 * nor is a non-first IP fragment (no ports: ndpiReader drops it too).
 *
 * Output (tab separated):
 *   FLOW  <proto> <a> <aport> <b> <bport> <vlan> key=value...
 *   PROTO <app_name> <pkts> <bytes> <flows>
 *   DPIPKTS <TCP|UDP> <packets fed to nDPI>
 *   STAT  <name> <value>
 * Exit: 0 ok, 1 error (including a memory-accounting leak), 3 link type not
 * Ethernet (the caller reports it). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/dpi.h"
#include "weir/pkt.h"

struct flow {
	uint8_t a[16], b[16];          /* a = initiator */
	uint16_t aport, bport, vlan;
	uint8_t proto;
	int slot;                      /* -1: none or finished */
	uint8_t done;
	uint8_t at_end;                /* finished by weir_dpi_flow_finish() */
	uint64_t pkts, bytes;
	struct weir_dpi_result res;
	struct weir_dpi_result guess;
};

#define HASH_BITS 18
#define HASH_SIZE (1u << HASH_BITS)
#define MAX_FLOWS (HASH_SIZE / 2)

static struct flow *flows;
static uint32_t n_flows, cap_flows;
static uint32_t *hash_idx;             /* flow index + 1, 0 empty */

static uint32_t
key_hash(const struct flow *k)
{
	/* Symmetric: combine the two endpoints commutatively. */
	uint32_t ha = 2166136261u, hb = 2166136261u;

	for (int i = 0; i < 16; i++) {
		ha = (ha ^ k->a[i]) * 16777619u;
		hb = (hb ^ k->b[i]) * 16777619u;
	}
	ha ^= k->aport * 2654435761u;
	hb ^= k->bport * 2654435761u;
	return (ha + hb) ^ (k->proto * 40503u) ^ (k->vlan * 9973u);
}

static int
same_dir(const struct flow *f, const struct flow *k)
{
	return !memcmp(f->a, k->a, 16) && !memcmp(f->b, k->b, 16) &&
	       f->aport == k->aport && f->bport == k->bport;
}

static int
rev_dir(const struct flow *f, const struct flow *k)
{
	return !memcmp(f->a, k->b, 16) && !memcmp(f->b, k->a, 16) &&
	       f->aport == k->bport && f->bport == k->aport;
}

/* Find or add; *from_init set to 1 when k goes initiator -> responder. */
static struct flow *
lookup(const struct flow *k, int *from_init)
{
	uint32_t h = key_hash(k) & (HASH_SIZE - 1);

	for (;;) {
		uint32_t i = hash_idx[h];
		if (i == 0)
			break;
		struct flow *f = &flows[i - 1];
		if (f->proto == k->proto && f->vlan == k->vlan) {
			if (same_dir(f, k)) {
				*from_init = 1;
				return f;
			}
			if (rev_dir(f, k)) {
				*from_init = 0;
				return f;
			}
		}
		h = (h + 1) & (HASH_SIZE - 1);
	}
	if (n_flows >= MAX_FLOWS)
		return NULL;
	if (n_flows == cap_flows) {
		cap_flows = cap_flows ? cap_flows * 2 : 1024;
		flows = realloc(flows, cap_flows * sizeof(*flows));
		if (flows == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	struct flow *f = &flows[n_flows];
	*f = *k;
	f->slot = -1;
	hash_idx[h] = ++n_flows;
	*from_init = 1;
	return f;
}

static void
addr_str(const uint8_t a[16], char *buf, size_t len)
{
	if (weir_addr_is_v4(a))
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)len);
}

/* Strings from nDPI may hold tabs or newlines; keep one line per flow. */
static void
put_field(const char *key, const char *v)
{
	printf("\t%s=", key);
	for (; *v; v++)
		putchar((*v == '\t' || *v == '\n' || *v == '\r') ? ' ' : *v);
}

static const char *
method_name(uint8_t m)
{
	return m == WEIR_DPI_METHOD_DPI ? "dpi" :
	       m == WEIR_DPI_METHOD_GUESS ? "guess" : "none";
}

static void
print_flow(const struct flow *f)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	const struct weir_dpi_result *r = &f->res;

	addr_str(f->a, a, sizeof(a));
	addr_str(f->b, b, sizeof(b));
	printf("FLOW\t%u\t%s\t%u\t%s\t%u\t%u", f->proto, a, f->aport, b, f->bport,
	       f->vlan);
	put_field("name", r->name);
	put_field("app_name", r->app_name);
	printf("\tmaster=%u\tapp=%u", r->master_id, r->app_id);
	put_field("cat", r->category);
	put_field("conf", r->confidence);
	printf("\tmethod=%s\tfinished=%s\tdpi_pkts=%u\tpkts=%" PRIu64
	       "\tbytes=%" PRIu64, method_name(r->method),
	       f->at_end ? "at_end" : "in_flow", r->pkts, f->pkts, f->bytes);
	put_field("host", r->host);
	put_field("ja3c", r->ja3c);
	put_field("ja3s", r->ja3s);
	put_field("url", r->url);
	put_field("ssh_client", r->ssh_client);
	put_field("ssh_server", r->ssh_server);
	if (r->tls_version_known)
		printf("\ttls_version=0x%04x", r->tls_version);
	if (r->dns_rsp)
		printf("\tdns_rcode=%u", r->dns_rcode);
	printf("\trisk=0x%" PRIx64, r->risk);
	put_field("risk_text", r->risk_text);
	put_field("guess", f->guess.name);
	put_field("guess_conf", f->guess.confidence);
	printf("\n");
}

struct proto_tot {
	char name[WEIR_DPI_NAME_LEN];
	uint64_t pkts, bytes, flows;
};

static void
print_totals(void)
{
	struct proto_tot *t = calloc(n_flows + 1, sizeof(*t));
	uint32_t n = 0;
	uint64_t dpi_tcp = 0, dpi_udp = 0;

	if (t == NULL)
		exit(1);
	for (uint32_t i = 0; i < n_flows; i++) {
		const struct flow *f = &flows[i];
		uint32_t j;

		for (j = 0; j < n; j++)
			if (!strcmp(t[j].name, f->res.app_name))
				break;
		if (j == n)
			memcpy(t[n++].name, f->res.app_name, sizeof(t[0].name));
		t[j].pkts += f->pkts;
		t[j].bytes += f->bytes;
		t[j].flows++;
		if (f->proto == 6)
			dpi_tcp += f->res.pkts;
		else if (f->proto == 17)
			dpi_udp += f->res.pkts;
	}
	for (uint32_t j = 0; j < n; j++)
		printf("PROTO\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", t[j].name,
		       t[j].pkts, t[j].bytes, t[j].flows);
	printf("DPIPKTS\tTCP\t%" PRIu64 "\nDPIPKTS\tUDP\t%" PRIu64 "\n", dpi_tcp,
	       dpi_udp);
	free(t);
}

static void
usage(void)
{
	fprintf(stderr, "usage: dpi_pcap [--protos F] [--categories F] [--risky F]"
		" [--ja3 F] [--sha1 F] [--pool N] FILE.pcap\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct weir_dpi_cfg cfg;
	struct weir_parse_cfg pcfg;
	char errbuf[PCAP_ERRBUF_SIZE];
	const char *file = NULL;
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n_parse_err = 0, n_trunc = 0, n_nonip = 0, n_pkts = 0;
	uint64_t n_frag_later = 0;
	int rc;

	weir_dpi_cfg_default(&cfg);
	weir_parse_cfg_default(&pcfg);
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--protos"))
			cfg.protos_file = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--categories"))
			cfg.categories_file = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--risky"))
			cfg.risky_domains_file = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--ja3"))
			cfg.ja3_file = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--sha1"))
			cfg.sha1_file = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--pool"))
			cfg.max_flows_in_detection = (uint32_t)atoi(argv[++i]);
		else if (argv[i][0] == '-' || file)
			usage();
		else
			file = argv[i];
	}
	if (file == NULL)
		usage();

	pcap_t *pc = pcap_open_offline(file, errbuf);
	if (pc == NULL) {
		fprintf(stderr, "%s\n", errbuf);
		return 1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		printf("LINKTYPE\t%d\n", pcap_datalink(pc));
		pcap_close(pc);
		return 3;
	}

	/* A small sentinel instance made first on this thread: its view of
	 * the thread's nDPI byte counter tells whether destroying the main
	 * instance gave back everything nDPI allocated for it. */
	struct weir_dpi_cfg scfg;
	weir_dpi_cfg_default(&scfg);
	scfg.max_flows_in_detection = 1;
	struct weir_dpi *sentinel = weir_dpi_create(&scfg);
	if (sentinel == NULL) {
		fprintf(stderr, "weir_dpi_create failed\n");
		return 1;
	}
	/* nDPI 4.2 frees through its hook a few strings that it allocated
	 * with plain strdup() while reading configuration files, so a
	 * create/destroy cycle drifts the counter by a fixed amount for a
	 * given configuration. Measure that drift once, then require the real
	 * run to end at exactly base + drift. */
	int64_t mem_base = weir_dpi_mem_bytes(sentinel);
	struct weir_dpi_cfg ccfg = cfg;
	ccfg.max_flows_in_detection = 1;
	struct weir_dpi *calib = weir_dpi_create(&ccfg);
	if (calib == NULL) {
		fprintf(stderr, "weir_dpi_create failed\n");
		return 1;
	}
	weir_dpi_destroy(calib);
	int64_t drift = weir_dpi_mem_bytes(sentinel) - mem_base;
	mem_base = weir_dpi_mem_bytes(sentinel);
	struct weir_dpi *d = weir_dpi_create(&cfg);
	if (d == NULL) {
		fprintf(stderr, "weir_dpi_create failed\n");
		return 1;
	}

	hash_idx = calloc(HASH_SIZE, sizeof(*hash_idx));
	if (hash_idx == NULL)
		return 1;

	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct weir_pkt_meta m;
		struct flow k;
		int from_init;

		n_pkts++;
		enum weir_parse_result pr = weir_parse_frame(&pcfg, data, h->caplen, &m);
		if (pr == WEIR_PARSE_NON_IP) {
			n_nonip++;
			continue;
		}
		if (pr != WEIR_PARSE_OK) {
			n_parse_err++;
			continue;
		}
		const uint8_t *l3 = data + m.l3_off;
		if (m.flags & WEIR_PKT_FRAG_LATER) {
			n_frag_later++;
			continue;
		}
		if (!(m.flags & WEIR_PKT_IPV6)) {
			uint16_t tot = (uint16_t)(l3[2] << 8 | l3[3]);
			if (m.l3_len < tot) {
				n_trunc++;
				continue;
			}
		}
		memset(&k, 0, sizeof(k));
		memcpy(k.a, m.src, 16);
		memcpy(k.b, m.dst, 16);
		k.proto = m.proto;
		if (m.proto == 6 || m.proto == 17) {
			k.aport = m.sport;
			k.bport = m.dport;
		}
		/* ndpiReader keys on the innermost 802.1Q tag. */
		k.vlan = m.vlan_inner ? m.vlan_inner : m.vlan;

		struct flow *f = lookup(&k, &from_init);
		if (f == NULL) {
			fprintf(stderr, "too many flows\n");
			return 1;
		}
		f->pkts++;
		f->bytes += h->len;
		if (f->done)
			continue;
		if (f->slot < 0) {
			f->slot = weir_dpi_flow_begin(d);
			if (f->slot < 0) {
				f->done = 1;  /* counted in pool_full */
				continue;
			}
		}
		uint64_t ts_ms = (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000;
		if (weir_dpi_process(d, f->slot, l3, m.l3_len, ts_ms, from_init,
				     &f->res) == 1) {
			weir_dpi_flow_end(d, f->slot);
			f->slot = -1;
			f->done = 1;
		}
	}
	if (rc == -1) {
		fprintf(stderr, "pcap: %s\n", pcap_geterr(pc));
		return 1;
	}
	pcap_close(pc);

	for (uint32_t i = 0; i < n_flows; i++) {
		struct flow *f = &flows[i];

		if (f->slot >= 0) {
			weir_dpi_flow_finish(d, f->slot, &f->res);
			f->at_end = 1;
			weir_dpi_flow_end(d, f->slot);
			f->slot = -1;
		}
		weir_dpi_guess(d, f->proto, f->a, f->aport, f->b, f->bport, &f->guess);
		print_flow(f);
	}
	print_totals();

	const struct weir_dpi_counters *c = weir_dpi_counters(d);
	printf("STAT\tpackets\t%" PRIu64 "\nSTAT\tnon_ip\t%" PRIu64
	       "\nSTAT\tparse_errors\t%" PRIu64 "\nSTAT\ttruncated_ip\t%" PRIu64
	       "\nSTAT\tlater_fragments\t%" PRIu64 "\nSTAT\tflows\t%u\n", n_pkts,
	       n_nonip, n_parse_err, n_trunc, n_frag_later, n_flows);
	printf("STAT\tflows_detected\t%" PRIu64 "\nSTAT\tflows_gave_up\t%" PRIu64
	       "\nSTAT\tpool_full\t%" PRIu64 "\nSTAT\tpkts_processed\t%" PRIu64
	       "\nSTAT\tslots_used\t%u\n", c->flows_detected, c->flows_gave_up,
	       c->pool_full, c->pkts_processed, weir_dpi_slots_used(d));

	weir_dpi_destroy(d);
	int64_t leak = weir_dpi_mem_bytes(sentinel) - mem_base - drift;
	printf("STAT\tndpi_config_drift\t%" PRId64 "\n", drift);
	printf("STAT\tndpi_bytes_not_freed\t%" PRId64 "\n", leak);
	weir_dpi_destroy(sentinel);
	free(hash_idx);
	free(flows);
	return leak == 0 ? 0 : 1;
}
