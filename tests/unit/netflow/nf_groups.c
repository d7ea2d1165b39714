/* nf_groups.c -- feed flow-export captures through weir_xflow_decode and
 * print what came out, for the checkers in this folder.
 *
 * Usage: nf_groups FILE...   (one group, files in the order given)
 *
 * A .pcap file is read with libpcap; each UDP datagram whose payload
 * starts with version 5, 9 or 10 goes to the exporter of its source IP
 * (sFlow and everything else is left alone). Any other file is one raw UDP
 * payload from the single exporter 192.0.2.1, as the captures' MANIFEST
 * describes. One JSON object per line on stdout:
 *
 *   {"t":"rec", ...}       each flow record, bytes/pkts as delivered (scaled)
 *   {"t":"ifname", ...}    each interface name from options data
 *   {"t":"exporter", ...}  per exporter at the end: counters, errors, held
 *                          data, set padding noted, and the memory left
 *                          after weir_nf_state_free
 *
 * The caller (check_groups.py) compares these with tshark's decoding. */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "weir/export.h"
#include "../../../drivers/netflow/nf_template.h"

#define MAX_EXPORTERS 64

static struct weir_exporter exporters[MAX_EXPORTERS];
static unsigned int n_exporters;
static struct weir_exporter_limits limits;

static void
addr_str(const uint8_t a[16], char *buf, size_t n)
{
	static const uint8_t mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};

	if (memcmp(a, mapped, 12) == 0)
		inet_ntop(AF_INET, a + 12, buf, (socklen_t)n);
	else
		inet_ntop(AF_INET6, a, buf, (socklen_t)n);
}

static void
on_rec(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	char s[64], d[64], e[64];

	addr_str(r->src, s, sizeof(s));
	addr_str(r->dst, d, sizeof(d));
	addr_str(ex->addr, e, sizeof(e));
	printf("{\"t\":\"rec\",\"exp\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\","
	       "\"sport\":%u,\"dport\":%u,\"proto\":%u,\"bytes\":%llu,"
	       "\"pkts\":%llu,\"sampling\":%u,\"start_ms\":%llu,\"end_ms\":%llu,"
	       "\"in_if\":%u,\"out_if\":%u,\"vlan\":%u,\"vlan_inner\":%u,"
	       "\"direction\":%u,\"tcp_flags\":%u,\"app_id\":%u,\"source\":%u,"
	       "\"rev_bytes\":%llu,\"rev_pkts\":%llu,\"vrf_in\":%u,\"vrf_out\":%u,"
	       "\"smac\":\"%02x:%02x:%02x:%02x:%02x:%02x\","
	       "\"dmac\":\"%02x:%02x:%02x:%02x:%02x:%02x\"}\n",
	       e, s, d, r->sport, r->dport, r->proto,
	       (unsigned long long)r->bytes, (unsigned long long)r->pkts,
	       r->sampling, (unsigned long long)r->start_ms,
	       (unsigned long long)r->end_ms, r->in_if, r->out_if, r->vlan,
	       r->vlan_inner, r->direction, r->tcp_flags, r->app_id, r->source,
	       (unsigned long long)r->rev_bytes, (unsigned long long)r->rev_pkts,
	       r->vrf_in, r->vrf_out,
	       r->smac[0], r->smac[1], r->smac[2], r->smac[3], r->smac[4], r->smac[5],
	       r->dmac[0], r->dmac[1], r->dmac[2], r->dmac[3], r->dmac[4], r->dmac[5]);
}

static void
on_ifname(void *ctx, struct weir_exporter *ex, uint32_t ifindex, const char *name)
{
	printf("{\"t\":\"ifname\",\"ifindex\":%u,\"name\":\"", ifindex);
	for (const char *c = name; *c; c++)
		if (*c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\')
			putchar(*c);
	printf("\"}\n");
}

static const struct weir_flow_sink sink = {
	.rec = on_rec,
	.ifname = on_ifname,
};

static struct weir_exporter *
exporter_of(const uint8_t addr[16])
{
	for (unsigned int i = 0; i < n_exporters; i++)
		if (memcmp(exporters[i].addr, addr, 16) == 0)
			return &exporters[i];
	if (n_exporters == MAX_EXPORTERS) {
		fprintf(stderr, "nf_groups: too many exporters\n");
		exit(2);
	}
	struct weir_exporter *ex = &exporters[n_exporters++];
	memcpy(ex->addr, addr, 16);
	ex->lim = &limits;
	return ex;
}

static void
feed(const uint8_t addr[16], const uint8_t *p, size_t len, uint64_t now_ms)
{
	if (len < 2 || p[0] != 0 || (p[1] != 5 && p[1] != 9 && p[1] != 10))
		return;			/* not NetFlow/IPFIX */
	weir_xflow_decode(exporter_of(addr), p, len, now_ms, &sink);
}

/* Ethernet (with VLAN tags) / IPv4 or IPv6 / UDP -> payload. */
static void
on_packet(const struct pcap_pkthdr *h, const uint8_t *p)
{
	size_t len = h->caplen, off = 12;
	uint8_t addr[16] = {0};

	if (len < 14)
		return;
	uint16_t et = (uint16_t)(p[12] << 8 | p[13]);
	while ((et == 0x8100 || et == 0x88a8) && len >= off + 6) {
		off += 4;
		et = (uint16_t)(p[off] << 8 | p[off + 1]);
	}
	off += 2;
	size_t l4;
	if (et == 0x0800) {
		if (len < off + 20 || p[off + 9] != 17)
			return;
		l4 = off + (p[off] & 0xf) * 4u;
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, p + off + 12, 4);
	} else if (et == 0x86dd) {
		if (len < off + 40 || p[off + 6] != 17)
			return;
		l4 = off + 40;
		memcpy(addr, p + off + 8, 16);
	} else {
		return;
	}
	if (len < l4 + 8)
		return;
	size_t ulen = (size_t)(p[l4 + 4] << 8 | p[l4 + 5]);
	if (ulen < 8 || l4 + ulen > len)
		return;
	feed(addr, p + l4 + 8, ulen - 8,
	     (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000);
}

static int
read_pcap(const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *data;

	if (!pc) {
		fprintf(stderr, "nf_groups: %s\n", err);
		return -1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "nf_groups: %s: not Ethernet\n", path);
		pcap_close(pc);
		return -1;
	}
	while (pcap_next_ex(pc, &h, &data) == 1)
		on_packet(h, data);
	pcap_close(pc);
	return 0;
}

static int
read_raw(const char *path, uint64_t now_ms)
{
	static uint8_t buf[65536];
	static const uint8_t raw_exporter[16] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff,192,0,2,1};
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* exact-size copy so that sanitizers see any over-read */
	uint8_t *p = malloc(n ? n : 1);
	memcpy(p, buf, n);
	feed(raw_exporter, p, n, now_ms);
	free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	weir_exporter_limits_default(&limits);
	for (int i = 1; i < argc; i++) {
		size_t l = strlen(argv[i]);
		int r = l > 5 && strcmp(argv[i] + l - 5, ".pcap") == 0
			? read_pcap(argv[i])
			: read_raw(argv[i], 1700000000000ull + (uint64_t)i * 1000);
		if (r < 0)
			return 2;
	}
	for (unsigned int i = 0; i < n_exporters; i++) {
		struct weir_exporter *ex = &exporters[i];
		char a[64];

		addr_str(ex->addr, a, sizeof(a));
		printf("{\"t\":\"exporter\",\"addr\":\"%s\",\"datagrams\":%llu,"
		       "\"records\":%llu,\"seq_lost\":%llu,\"seq_resets\":%llu,"
		       "\"templates\":%u,\"pending\":%u,\"padding\":%llu,\"errors\":{",
		       a, (unsigned long long)ex->datagrams,
		       (unsigned long long)ex->records,
		       (unsigned long long)ex->seq_lost,
		       (unsigned long long)ex->seq_resets, ex->templates,
		       weir_nf_pending_count(ex),
		       (unsigned long long)(ex->nf ? ex->nf->padding : 0));
		const char *sep = "";
		for (int e = 0; e < WEIR_XERR__MAX; e++) {
			if (ex->err[e]) {
				printf("%s\"%s\":%llu", sep, weir_xerr_names[e],
				       (unsigned long long)ex->err[e]);
				sep = ",";
			}
		}
		weir_nf_state_free(ex);
		printf("},\"mem_after_free\":%u,\"templates_after_free\":%u}\n",
		       ex->mem_bytes, ex->templates);
	}
	return 0;
}
