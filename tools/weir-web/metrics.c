/* metrics.c -- /metrics in the Prometheus text format (version 0.0.4).
 *
 * The same keys as the API, as counters Grafana can rate(): bytes per
 * host (each direction, the --metrics-hosts busiest hosts only, so the
 * series count stays bounded), per VLAN, per application and category,
 * per interface (each direction), and the engine's health hash, one
 * metric per field (weir_engine_<field>). Label values are escaped as
 * the format says (backslash, double quote, newline); metric names come
 * from health fields only when they are [a-z0-9_]. Every sample carries
 * node="..." so several engines can share one Prometheus. */
#include <stdlib.h>
#include <string.h>

#include "web.h"

static void
label(FILE *f, const char *name, const char *v, bool comma)
{
	fprintf(f, "%s%s=\"", comma ? "," : "", name);
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', f);
		if (*p == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*p, f);
	}
	fputc('"', f);
}

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct marg {
	FILE *f;
	const char *node;
	int kind;
	long left;
};

enum { M_HOST, M_VLAN, M_APP, M_CATEGORY, M_IF };

static int
metric_cb(struct weirctl_ctx *ctx, void *arg, const char *id, const redisReply *h)
{
	struct marg *a = arg;
	FILE *f = a->f;

	if (a->left == 0)
		return 1;
	if (a->left > 0)
		a->left--;
	switch (a->kind) {
	case M_HOST:
		for (int d = 0; d < 2; d++) {
			fputs("weir_host_bytes_total{", f);
			label(f, "node", a->node, false);
			label(f, "ip", weirctl_hash_get(h, "ip"), true);
			label(f, "vlan", weirctl_hash_get(h, "vlan"), true);
			label(f, "direction", d ? "received" : "sent", true);
			fprintf(f, "} %llu\n", (unsigned long long)
				weirctl_hash_u64(h, d ? "bytes_rcvd" : "bytes_sent"));
		}
		break;
	case M_VLAN:
		fputs("weir_vlan_bytes_total{", f);
		label(f, "node", a->node, false);
		label(f, "vlan", id, true);
		fprintf(f, "} %llu\n", (unsigned long long)weirctl_hash_u64(h, "bytes"));
		break;
	case M_APP:
	case M_CATEGORY:
		fputs(a->kind == M_APP ? "weir_app_bytes_total{" :
		      "weir_category_bytes_total{", f);
		label(f, "node", a->node, false);
		if (a->kind == M_APP) {
			label(f, "app", id, true);
			label(f, "category", weirctl_hash_get(h, "category"), true);
		} else {
			label(f, "category", id, true);
		}
		fprintf(f, "} %llu\n", (unsigned long long)weirctl_hash_u64(h, "bytes"));
		break;
	case M_IF:
		for (int d = 0; d < 2; d++) {
			fputs("weir_interface_bytes_total{", f);
			label(f, "node", a->node, false);
			label(f, "exporter", weirctl_hash_get(h, "exporter"), true);
			label(f, "ifindex", weirctl_hash_get(h, "ifindex"), true);
			label(f, "name", weirctl_hash_get(h, "name"), true);
			label(f, "direction", d ? "out" : "in", true);
			fprintf(f, "} %llu\n", (unsigned long long)
				weirctl_hash_u64(h, d ? "bytes_out" : "bytes_in"));
		}
		break;
	}
	return 0;
}

static bool
metric_name_ok(const char *s)
{
	if (!*s || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

int
web_metrics(struct weirctl_ctx *ctx, struct web_out *o)
{
	FILE *f = o->f;
	struct marg a = { .f = f, .node = ctx->node };
	redisReply *health = NULL, *meta = NULL;
	int r = 0;

	if (weirctl_hgetall(ctx, "meta", &meta) || weirctl_hgetall(ctx, "health", &health)) {
		if (meta)
			freeReplyObject(meta);
		return web_fail(o, 502, "Redis failed while reading meta and health");
	}
	head(f, "weir_up", "gauge", "1 when the engine has published to Redis under this node");
	fputs("weir_up{", f);
	label(f, "node", ctx->node, false);
	fprintf(f, "} %d\n", meta->elements ? 1 : 0);
	if (meta->elements) {
		head(f, "weir_publish_updated_ms", "gauge", "unix ms of the engine's last publish cycle");
		fputs("weir_publish_updated_ms{", f);
		label(f, "node", ctx->node, false);
		fprintf(f, "} %llu\n", (unsigned long long)weirctl_hash_u64(meta, "updated_ms"));
	}

	head(f, "weir_host_bytes_total", "counter",
	     "bytes a host (address and VLAN) sent or received, whole frames");
	a.kind = M_HOST;
	a.left = web_cfg.metrics_hosts;
	if (a.left > 0)
		r |= weirctl_walk(ctx, "hosts", "host:", NULL, metric_cb, &a);
	head(f, "weir_vlan_bytes_total", "counter", "bytes seen on a VLAN (0: untagged)");
	a.kind = M_VLAN;
	a.left = -1;
	r |= weirctl_walk(ctx, "vlans", "vlan:", NULL, metric_cb, &a);
	head(f, "weir_app_bytes_total", "counter", "bytes of flows by application (nDPI)");
	a.kind = M_APP;
	r |= weirctl_walk(ctx, "apps", "app:", NULL, metric_cb, &a);
	head(f, "weir_category_bytes_total", "counter", "bytes of flows by application category");
	a.kind = M_CATEGORY;
	r |= weirctl_walk(ctx, "categories", "category:", NULL, metric_cb, &a);
	head(f, "weir_interface_bytes_total", "counter",
	     "bytes an exporter's interface carried, from flow records");
	a.kind = M_IF;
	r |= weirctl_walk(ctx, "interfaces", "interface:", NULL, metric_cb, &a);

	for (size_t i = 0; i + 1 < health->elements; i += 2) {
		const char *k = health->element[i]->str, *v = health->element[i + 1]->str;
		char name[128];

		if (!k || !v || !metric_name_ok(k) || !weirctl_is_json_number(v) || v[0] == '-')
			continue;
		snprintf(name, sizeof(name), "weir_engine_%s", k);
		fprintf(f, "# TYPE %s untyped\n%s{", name, name);
		label(f, "node", ctx->node, false);
		fprintf(f, "} %s\n", v);
	}
	freeReplyObject(meta);
	freeReplyObject(health);
	if (r)
		return web_fail(o, 502, "Redis failed while reading the metrics");
	return 200;
}
