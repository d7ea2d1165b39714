/* fuzz_netflow.h -- the harness the NetFlow v5, v9 and IPFIX fuzz targets
 * share (each target defines FUZZ_VERSION and FUZZ_DECODE, then includes
 * this).
 *
 * One exporter persists across inputs, with small limits, as a real
 * exporter's state does across datagrams: templates learned from one input
 * describe the data sets of the next, held data waits for them, and the
 * limits, evictions, expiry (a clock that moves on every input) and a full
 * teardown every 4096 inputs are all fuzzed, not only the stateless walk.
 * Each input goes in as is through weir_xflow_decode (the collector's entry
 * point), then as an exact-size copy with its version forced to the
 * target's straight into its decoder, so mutations of the version word do
 * not waste most runs. After each input the accounting must hold: memory
 * and templates within the limits, and weir_nf_state_free returns every
 * byte. The sink reads every field so that uninitialised data shows up
 * under MSan/UBSan. Template sharing is on: the sink reads each event's
 * record (taking every other one), and each v9/IPFIX input also goes in
 * as a template record from Redis (weir_nf_template_install, the path a
 * sibling collector's template takes), minus a first byte that picks the
 * set and the domain. Seeds: tests/fuzz/corpus/{nfv5,nfv9,ipfix}/
 * (gen_corpus.py in tests/unit/netflow). */
#ifndef WEIR_FUZZ_NETFLOW_H
#define WEIR_FUZZ_NETFLOW_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weir/export.h"

static volatile uint64_t sink_acc;

static void
on_rec(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	uint64_t a = r->bytes ^ r->pkts ^ r->in_if ^ r->out_if ^ r->sampling ^
		     r->start_ms ^ r->end_ms ^ r->app_id;
	for (int i = 0; i < 16; i++)
		a += r->src[i] ^ r->dst[i];
	for (int i = 0; i < 6; i++)
		a += r->smac[i] ^ r->dmac[i];
	a += r->sport ^ r->dport ^ r->proto ^ r->tcp_flags ^ r->vlan ^
	     r->vlan_inner ^ r->direction;
	sink_acc += a;
}

static void
on_ifname(void *ctx, struct weir_exporter *ex, uint32_t ifindex, const char *name)
{
	sink_acc += ifindex + strlen(name);
}

static uint64_t tmpl_events;

static int
on_tmpl(void *ctx, struct weir_exporter *ex, const struct weir_tmpl_event *e)
{
	uint64_t a = e->kind ^ e->version ^ e->domain ^ e->id ^ e->set_id;
	for (size_t i = 0; e->rec && i < e->len; i++)
		a += e->rec[i];
	sink_acc += a;
	return (int)(++tmpl_events & 1);
}

static void
check_accounting(const struct weir_exporter *ex, const struct weir_exporter_limits *lim)
{
	if (ex->mem_bytes > lim->max_bytes || ex->templates > lim->max_templates)
		abort();
}

/* The whole target; FUZZ_VERSION and FUZZ_DECODE name the decoder. */
static int
fuzz_netflow_one(const uint8_t *data, size_t size)
{
	static struct weir_exporter ex;
	static struct weir_exporter_limits lim;
	static const struct weir_flow_sink sink = {
		.rec = on_rec, .ifname = on_ifname, .tmpl = on_tmpl,
	};
	static uint64_t now = 1700000000000ull, runs;

	if (!ex.lim) {
		weir_exporter_limits_default(&lim);
		lim.max_templates = 64;		/* small, so that floods hit them */
		lim.max_pending = 16;
		lim.max_bytes = 256 * 1024;
		lim.pending_ttl_ms = 5000;
		lim.template_ttl_ms = 60000;
		ex.lim = &lim;
	}
	now += 100;
	weir_xflow_decode(&ex, data, size, now, &sink);
	check_accounting(&ex, &lim);

	if (size >= 2) {
		uint8_t *p = malloc(size);
		memcpy(p, data, size);
		p[0] = 0;
		p[1] = FUZZ_VERSION;
		FUZZ_DECODE(&ex, p, size, now, &sink);
		free(p);
		check_accounting(&ex, &lim);
	}
#if FUZZ_VERSION != 5
	if (size >= 1) {
		uint8_t *q = malloc(size > 1 ? size - 1 : 1);	/* exact, for ASan */
		memcpy(q, data + 1, size - 1);
		weir_nf_template_install(&ex, FUZZ_VERSION, (data[0] >> 1) & 7,
					 (FUZZ_VERSION == 9 ? 0 : 2) + (data[0] & 1),
					 q, size - 1, 1000, now, &sink);
		free(q);
		check_accounting(&ex, &lim);
	}
#endif
	if (++runs % 64 == 0)
		weir_nf_expire(&ex, now);
	if (runs % 4096 == 0) {
		weir_nf_state_free(&ex);
		if (ex.mem_bytes || ex.templates)
			abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_netflow_one(data, size);
}

#endif
