/* report.c -- weir-bench's results: named series of samples, the ratios
 * derived from them, and their two renderings (a table for people, one JSON
 * object for machines).
 *
 * Every figure is the median of the runs of one series; min and max show the
 * spread. A ratio is the quotient of two medians taken in this same run, or
 * null (with a note) when one side was not measured. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static struct bench_series series[BENCH_MAX_SERIES];
static unsigned int n_series;
static char notes[BENCH_MAX_NOTES][320];
static unsigned int n_notes;
static char info_key[16][32], info_val[16][256];
static unsigned int n_info;

void
bench_add(const char *scenario, const char *name, const char *unit, double v)
{
	struct bench_series *s = (struct bench_series *)bench_find(scenario, name);
	if (!s) {
		if (n_series >= BENCH_MAX_SERIES)
			return;
		s = &series[n_series++];
		snprintf(s->scenario, sizeof(s->scenario), "%s", scenario);
		snprintf(s->name, sizeof(s->name), "%s", name);
		snprintf(s->unit, sizeof(s->unit), "%s", unit);
	}
	if (s->n < BENCH_MAX_RUNS)
		s->v[s->n++] = v;
}

const struct bench_series *
bench_find(const char *scenario, const char *name)
{
	for (unsigned int i = 0; i < n_series; i++)
		if (!strcmp(series[i].scenario, scenario) && !strcmp(series[i].name, name))
			return &series[i];
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void
bench_stats(const struct bench_series *s, double *med, double *min, double *max)
{
	double v[BENCH_MAX_RUNS];
	memcpy(v, s->v, s->n * sizeof(double));
	qsort(v, s->n, sizeof(double), cmp_double);
	*min = v[0];
	*max = v[s->n - 1];
	*med = s->n & 1 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

double
bench_median(const struct bench_series *s)
{
	double med, min, max;
	if (!s || !s->n)
		return NAN;
	bench_stats(s, &med, &min, &max);
	return med;
}

void
bench_note(const char *fmt, ...)
{
	if (n_notes >= BENCH_MAX_NOTES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(notes[n_notes++], sizeof(notes[0]), fmt, ap);
	va_end(ap);
}

void
bench_info(const char *key, const char *fmt, ...)
{
	if (n_info >= 16)
		return;
	snprintf(info_key[n_info], sizeof(info_key[0]), "%s", key);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(info_val[n_info++], sizeof(info_val[0]), fmt, ap);
	va_end(ap);
}

/* ---- ratios ---- */

struct ratio {
	const char *name;
	const char *num_scen, *num;
	const char *den_scen, *den;
	const char *missing;       /* why it is null when a side is absent */
	const char *target;        /* issue 8's, or "-" for an extra one */
};

static const struct ratio ratios[] = {
	{"hot_vs_limit", "hot", "engine_mpps", "limit", "net_null_mpps", "scenario hot or limit not run", ">= 0.80"},
	{"cold_vs_limit", "cold", "engine_mpps", "limit", "net_null_mpps", "scenario cold or limit not run",
	 ">= 0.45"},
	{"dpi_vs_drop", "pcap", "engine_dpi_kpps", "pcap", "drop_kpps",
	 "the DPI-on pcap pass did not run (scenario pcap not selected or weir_dpi_create failed)", ">= 0.33"},
	{"dpi_vs_ndpireader", "pcap", "engine_dpi_kpps", "pcap", "ndpireader_kpps",
	 "the DPI-on pcap pass or ndpiReader did not run", ">= 3.0"},
	{"nf9_vs_nfcapd", "export", "nf9_weir_lossless_krps", "export", "nf9_nfcapd_lossless_krps",
	 "scenario export not run, or weir or nfcapd had no lossless step (see the notes)", ">= 2.0"},
	{"ipfix_vs_nfcapd", "export", "ipfix_weir_lossless_krps", "export", "ipfix_nfcapd_lossless_krps",
	 "scenario export not run, or weir or nfcapd had no lossless step (see the notes)", ">= 2.0"},
	{"sflow_vs_sfacctd", "export", "sflow_weir_lossless_ksps", "export", "sflow_sfacctd_lossless_ksps",
	 "scenario export not run, or weir or sfacctd had no lossless step (see the notes)", ">= 3.0"},
	{"publish_on_vs_off", "publish", "publish_on_kpps", "publish", "publish_off_kpps",
	 "scenario publish not run (or its capture port did not come up)", ">= 0.98"},
	/* extra: limit_steps.c's ceilings under hot_vs_limit, no target of their own */
	{"touch_vs_limit", "limit", "ring_touch_mpps", "limit", "net_null_mpps", "scenario limit not run", "-"},
	{"parse_vs_limit", "limit", "ring_parse_mpps", "limit", "net_null_mpps", "scenario limit not run", "-"},
	{"rte_hash_vs_limit", "limit", "ring_parse_rte_hash_mpps", "limit", "net_null_mpps",
	 "scenario limit not run (or DPDK's rte_hash table could not be made)", "-"},
	{"hot_vs_rte_hash", "hot", "engine_mpps", "limit", "ring_parse_rte_hash_mpps",
	 "scenario hot or limit not run", "-"},
	{"cold_rte_hash_vs_limit", "limit", "cold_parse_rte_hash_mpps", "limit", "net_null_mpps",
	 "scenario limit not run (or DPDK's rte_hash table could not be made)", "-"},
	{"cold_vs_rte_hash", "cold", "engine_mpps", "limit", "cold_parse_rte_hash_mpps",
	 "scenario cold or limit not run", "-"},
	/* extra: the DPI pass without nDPI's packet work (pcap_run.c), no target of its own */
	{"dpi_less_ndpi_vs_drop", "pcap", "engine_dpi_less_ndpi_kpps", "pcap", "drop_kpps",
	 "the DPI-on pcap pass did not run", "-"},
	/* extra: the other NetFlow/IPFIX peer, no target of its own */
	{"nf9_vs_nfacctd", "export", "nf9_weir_lossless_krps", "export", "nf9_nfacctd_lossless_krps",
	 "scenario export not run (--quick leaves nfacctd out), or weir or nfacctd had no lossless step", "-"},
	{"ipfix_vs_nfacctd", "export", "ipfix_weir_lossless_krps", "export", "ipfix_nfacctd_lossless_krps",
	 "scenario export not run (--quick leaves nfacctd out), or weir or nfacctd had no lossless step", "-"},
};

static double
ratio_value(const struct ratio *r)
{
	if (!r->num)
		return NAN;
	double n = bench_median(bench_find(r->num_scen, r->num));
	double d = bench_median(bench_find(r->den_scen, r->den));
	if (isnan(n) || isnan(d) || d <= 0)
		return NAN;
	return n / d;
}

static double
bytes_per_flow(void)
{
	return bench_median(bench_find("memory", "rss_per_flow_1m"));
}

/* ---- table ---- */

void
bench_print_table(FILE *out)
{
	for (unsigned int i = 0; i < n_info; i++)
		fprintf(out, "%-14s %s\n", info_key[i], info_val[i]);
	fputc('\n', out);
	fprintf(out, "%-8s %-34s %12s %12s %12s  %-7s %s\n", "scenario", "measure", "median", "min", "max",
		"unit", "runs");
	for (unsigned int i = 0; i < n_series; i++) {
		double med, min, max;
		bench_stats(&series[i], &med, &min, &max);
		fprintf(out, "%-8s %-34s %12.3f %12.3f %12.3f  %-7s %u\n", series[i].scenario, series[i].name,
			med, min, max, series[i].unit, series[i].n);
	}
	fprintf(out, "\n%-22s %s\n", "ratio", "value (target)");
	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		double v = ratio_value(&ratios[i]);
		if (isnan(v))
			fprintf(out, "%-22s %8s (%s) %s\n", ratios[i].name, "null", ratios[i].target,
				ratios[i].missing);
		else
			fprintf(out, "%-22s %8.3f (%s)\n", ratios[i].name, v, ratios[i].target);
	}
	double b = bytes_per_flow();
	if (isnan(b))
		fprintf(out, "%-22s %8s (<= 160)\n", "bytes_per_flow", "null");
	else
		fprintf(out, "%-22s %8.1f (<= 160)\n", "bytes_per_flow", b);
	if (n_notes)
		fprintf(out, "\nnotes:\n");
	for (unsigned int i = 0; i < n_notes; i++)
		fprintf(out, "  - %s\n", notes[i]);
}

/* ---- JSON ---- */

static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void
json_num(FILE *out, double v)
{
	if (isnan(v) || isinf(v))
		fputs("null", out);
	else
		fprintf(out, "%.6g", v);
}

void
bench_print_json(FILE *out)
{
	fputs("{\"machine\":{", out);
	for (unsigned int i = 0; i < n_info; i++) {
		if (i)
			fputc(',', out);
		json_str(out, info_key[i]);
		fputc(':', out);
		json_str(out, info_val[i]);
	}
	fputs("},\"scenarios\":{", out);
	int first_scen = 1;
	for (unsigned int i = 0; i < n_series; i++) {
		int seen = 0;
		for (unsigned int j = 0; j < i; j++)
			seen |= !strcmp(series[j].scenario, series[i].scenario);
		if (seen)
			continue;
		if (!first_scen)
			fputc(',', out);
		first_scen = 0;
		json_str(out, series[i].scenario);
		fputs(":{", out);
		int first = 1;
		for (unsigned int j = i; j < n_series; j++) {
			if (strcmp(series[j].scenario, series[i].scenario))
				continue;
			double med, min, max;
			bench_stats(&series[j], &med, &min, &max);
			if (!first)
				fputc(',', out);
			first = 0;
			json_str(out, series[j].name);
			fputs(":{\"unit\":", out);
			json_str(out, series[j].unit);
			fputs(",\"median\":", out);
			json_num(out, med);
			fputs(",\"min\":", out);
			json_num(out, min);
			fputs(",\"max\":", out);
			json_num(out, max);
			fputs(",\"runs\":[", out);
			for (unsigned int k = 0; k < series[j].n; k++) {
				if (k)
					fputc(',', out);
				json_num(out, series[j].v[k]);
			}
			fputs("]}", out);
		}
		fputc('}', out);
	}
	fputs("},\"ratios\":{", out);
	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		json_str(out, ratios[i].name);
		fputc(':', out);
		json_num(out, ratio_value(&ratios[i]));
		fputc(',', out);
	}
	fputs("\"bytes_per_flow\":", out);
	json_num(out, bytes_per_flow());
	fputs("},\"notes\":[", out);
	unsigned int k = 0;
	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		if (!isnan(ratio_value(&ratios[i])))
			continue;
		if (k++)
			fputc(',', out);
		char buf[400];
		snprintf(buf, sizeof(buf), "%s is null: %s", ratios[i].name, ratios[i].missing);
		json_str(out, buf);
	}
	if (isnan(bytes_per_flow())) {
		if (k++)
			fputc(',', out);
		json_str(out, "bytes_per_flow is null: scenario memory not run");
	}
	for (unsigned int i = 0; i < n_notes; i++) {
		if (k++)
			fputc(',', out);
		json_str(out, notes[i]);
	}
	fputs("]}\n", out);
}
