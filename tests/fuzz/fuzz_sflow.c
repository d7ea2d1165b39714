/* fuzz_sflow.c -- libFuzzer target for the sFlow v5 decoder.
 *
 * One exporter persists across inputs, as a real exporter's state does
 * across datagrams, so sequence slots, their eviction and the pool/drop
 * deltas are fuzzed too, not only the stateless walk. Each input goes in
 * through weir_xflow_decode (the collector's entry point) and, with its
 * first four bytes forced to the sFlow version, straight into
 * weir_sflow_decode, so mutations of the version word do not waste most
 * runs on the NetFlow decoders. The sink reads every field it is given so
 * that uninitialised or out-of-bounds data shows up under the sanitizers.
 * Seeds: tests/fuzz/corpus/sflow/ (written by sflow_datagrams
 * --write-corpus). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weir/export.h"
#include "weir/pkt.h"

static volatile uint64_t sink_acc;

static void
on_rec(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	uint64_t a = r->bytes ^ r->pkts ^ r->in_if ^ r->out_if ^ r->frame_len;
	for (int i = 0; i < 16; i++)
		a += r->src[i] ^ r->dst[i];
	a += r->sport ^ r->dport ^ r->proto ^ r->tcp_flags ^ r->vlan ^ r->vlan_inner;
	sink_acc += a;
}

static void
on_ifc(void *ctx, struct weir_exporter *ex, const struct weir_if_counters *c)
{
	sink_acc += c->ifindex ^ c->in_octets ^ c->out_octets ^ c->dot3.fcs_errors;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct weir_exporter ex;
	static struct weir_exporter_limits lim;
	static struct weir_parse_cfg pcfg;
	static struct weir_flow_sink sink = { .rec = on_rec, .ifc = on_ifc };
	static uint64_t now, runs;

	if (!ex.lim) {
		weir_exporter_limits_default(&lim);
		weir_parse_cfg_default(&pcfg);
		pcfg.decap_gre = 1;		/* reach the tunnel paths too */
		pcfg.decap_vxlan = 1;
		sink.pcfg = &pcfg;
		ex.lim = &lim;
	}
	now += 1000;
	weir_xflow_decode(&ex, data, size, now, &sink);

	if (size >= 4) {
		uint8_t *d = malloc(size);
		memcpy(d, data, size);
		d[0] = d[1] = d[2] = 0;
		d[3] = 5;
		weir_sflow_decode(&ex, d, size, now, &sink);
		free(d);
	}
	/* NetFlow state from the unforced path is not ours to grow forever. */
	if (++runs % 4096 == 0) {
		weir_nf_state_free(&ex);
		weir_sflow_state_free(&ex);
	}
	return 0;
}
