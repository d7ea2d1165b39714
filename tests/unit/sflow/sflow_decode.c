/* sflow_decode.c -- decode a stream of collected sFlow datagrams and print
 * per-host totals, for sflow_pmacct.py.
 *
 * Input: a file of datagrams, each as a 4-byte big-endian length followed
 * by the UDP payload, all from one exporter. Output, one line each:
 *   host ADDRESS PKTS BYTES        (summed over records, both directions)
 *   summary records N samples_bytes B errors E seq_lost L seq_resets R
 *   error NAME COUNT               (for each non-zero error counter)
 * A record's bytes and packets are added to its source and its destination
 * host, as tshark's endpoint statistics count a packet for both ends. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/export.h"
#include "weir/pkt.h"

#define MAX_HOSTS 256

struct host {
	uint8_t  addr[16];
	uint64_t pkts, bytes;
};
static struct host hosts[MAX_HOSTS];
static unsigned int n_hosts;

static void
add(const uint8_t a[16], uint64_t pkts, uint64_t bytes)
{
	unsigned int i;
	for (i = 0; i < n_hosts; i++)
		if (memcmp(hosts[i].addr, a, 16) == 0)
			break;
	if (i == n_hosts) {
		if (n_hosts == MAX_HOSTS)
			return;
		memcpy(hosts[n_hosts++].addr, a, 16);
	}
	hosts[i].pkts += pkts;
	hosts[i].bytes += bytes;
}

static void
on_rec(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	static const uint8_t zero[16];
	if (memcmp(r->src, zero, 16) == 0)	/* non-IP sample */
		return;
	add(r->src, r->pkts, r->bytes);
	add(r->dst, r->pkts, r->bytes);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DATAGRAMS\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	struct weir_exporter_limits lim;
	struct weir_parse_cfg pcfg;
	struct weir_exporter ex;
	struct weir_flow_sink sink = { .rec = on_rec, .pcfg = &pcfg };

	weir_exporter_limits_default(&lim);
	weir_parse_cfg_default(&pcfg);
	memset(&ex, 0, sizeof(ex));
	ex.lim = &lim;

	uint8_t lb[4];
	while (fread(lb, 1, 4, f) == 4) {
		uint32_t n = (uint32_t)lb[0] << 24 | lb[1] << 16 | lb[2] << 8 | lb[3];
		uint8_t *d = malloc(n ? n : 1);
		if (!d || fread(d, 1, n, f) != n) {
			free(d);
			fprintf(stderr, "truncated input\n");
			return 2;
		}
		weir_xflow_decode(&ex, d, n, 0, &sink);
		free(d);
	}
	fclose(f);

	for (unsigned int i = 0; i < n_hosts; i++) {
		char s[INET6_ADDRSTRLEN];
		if (weir_addr_is_v4(hosts[i].addr))
			inet_ntop(AF_INET, hosts[i].addr + 12, s, sizeof(s));
		else
			inet_ntop(AF_INET6, hosts[i].addr, s, sizeof(s));
		printf("host %s %" PRIu64 " %" PRIu64 "\n", s, hosts[i].pkts, hosts[i].bytes);
	}
	printf("summary records %" PRIu64 " datagrams %" PRIu64 " errors %" PRIu64
	       " seq_lost %" PRIu64 " seq_resets %" PRIu64 "\n",
	       ex.records, ex.datagrams, ex.errors, ex.seq_lost, ex.seq_resets);
	for (int r = 0; r < WEIR_XERR__MAX; r++)
		if (ex.err[r])
			printf("error %s %" PRIu64 "\n", weir_xerr_names[r], ex.err[r]);
	weir_sflow_state_free(&ex);
	return 0;
}
