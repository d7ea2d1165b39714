/* decode.c -- `weir-bench --decode nf9|ipfix SECONDS`: the flow-export
 * decoders alone.
 *
 * The export scenario and bench/collect-cpu.sh measure a whole collector
 * (socket thread, worker, flow table, control thread, Redis), and
 * bench/xflow-file-rate.sh the worker with its flow table; neither says
 * what the decoder itself costs a record. This replays the cached stream
 * (export_stream.c, as the export scenario loads it) through
 * weir_xflow_decode, the collector's own entry point, for one exporter,
 * with a sink that reads each record's fields and keeps nothing: after a
 * first pass (the templates arrive), passes until SECONDS have gone, then
 * records a second and nanoseconds a record. No DPDK, no root, one thread. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "weir/export.h"
#include "bench.h"
#include "export.h"

static uint64_t seen, acc;

static void
on_rec(void *ctx, struct weir_exporter *ex, const struct weir_flow_rec *r)
{
	(void)ctx;
	(void)ex;
	/* what the worker's stage reads first: the key and the counts */
	acc += r->bytes + r->pkts + r->sport + r->dport + r->proto + r->src[15] + r->dst[15] + r->end_ms;
	seen++;
}

int
bench_decode(const char *stream, double secs)
{
	static const char *const names[] = {"nf9", "ipfix"};
	int kind = -1;
	for (int k = 0; k < 2; k++)
		if (!strcmp(stream, names[k]))
			kind = k;
	if (kind < 0 || secs <= 0) {
		fprintf(stderr, "weir-bench: --decode takes nf9|ipfix and seconds\n");
		return 2;
	}
	struct bench_stream s;
	if (bench_stream_load(&s, (enum bench_stream_kind)kind) != 0) {
		fprintf(stderr, "weir-bench: no %s/export-%s.dgrams, or it does not parse: run "
			"'weir-bench --scenario export --quick' once\n", bench.cache_dir, stream);
		return 2;
	}
	struct weir_exporter_limits lim;
	struct weir_exporter ex;
	const struct weir_flow_sink sink = {.rec = on_rec};
	weir_exporter_limits_default(&lim);
	memset(&ex, 0, sizeof(ex));
	ex.lim = &lim;
	uint64_t now = bench_wall_ms();
	for (unsigned int i = 0; i < s.n; i++)	/* the templates */
		weir_xflow_decode(&ex, s.iov[i].iov_base, s.iov[i].iov_len, now, &sink);
	seen = 0;
	unsigned int passes = 0;
	double t0 = bench_now_s(), t;
	do {
		for (unsigned int i = 0; i < s.n; i++)
			weir_xflow_decode(&ex, s.iov[i].iov_base, s.iov[i].iov_len, now, &sink);
		passes++;
		t = bench_now_s() - t0;
	} while (t < secs);
	int rc = 0;
	if (seen != (uint64_t)passes * s.records) {
		fprintf(stderr, "weir-bench: %llu records decoded in %u passes of %llu (errors %llu)\n",
			(unsigned long long)seen, passes, (unsigned long long)s.records,
			(unsigned long long)ex.errors);
		rc = 1;
	}
	printf("%s: %u passes, %llu records in %.2f s: %.0f records/s, %.1f ns a record (%llu datagrams a "
	       "pass)\n", stream, passes, (unsigned long long)seen, t, (double)seen / t, t * 1e9 / (double)seen,
	       (unsigned long long)s.n);
	__asm__ __volatile__("" : : "r"(acc));	/* the sink's reads are not optimised away */
	weir_nf_state_free(&ex);
	bench_stream_free(&s);
	return rc;
}
