/* metrics.c -- /metrics in the Prometheus text format (version 0.0.4).
 *
 * The same keys as the API, as counters Grafana can rate(): bytes per
 * host (each direction, the --metrics-hosts busiest hosts only, so the
 * series count stays bounded), per VLAN, per application and category,
 * per interface (each direction), and the engine's health hash, one
 * metric per field (weir_engine_<field>). Label values are escaped as
 * the format says (backslash, double quote, newline); metric names come
 * from health fields only when they are [a-z0-9_]. Every sample carries
 * node="..." so several engines can share one Prometheus; over several
 * nodes each is exported under its own label, not merged. */
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

/* One family of walked samples for every node of the view (vw). */
static int
family(struct weirctl_ctx *ctx, FILE *f, const size_t *vw, size_t nv, int kind,
       long left, const char *zset, const char *hashpfx)
{
	int r = 0;

	for (size_t k = 0; k < nv && !r; k++) {
		struct marg a = { .f = f, .kind = kind, .left = left };

		weirctl_node_focus(ctx, vw[k]);
		a.node = ctx->cur_node;
		if (left != 0)
			r = weirctl_walk(ctx, zset, hashpfx, NULL, metric_cb, &a);
	}
	return r;
}

/* Prometheus adds up across nodes itself: every node of the view is
 * exported on its own, labelled node="ID", never merged here. The text
 * format wants each family's samples together under one TYPE line, so
 * families go outside and nodes inside. */
int
web_metrics(struct weirctl_ctx *ctx, struct web_out *o)
{
	FILE *f = o->f;
	size_t vw[WEIRCTL_NODES_MAX], nv = weirctl_view(ctx, vw);
	redisReply *health[WEIRCTL_NODES_MAX] = { NULL };
	long focus = ctx->focus;
	int r = 0;

	for (size_t k = 0; k < nv && !r; k++) {
		weirctl_node_focus(ctx, vw[k]);
		r = weirctl_hgetall(ctx, "health", &health[k]);
	}
	if (r)
		goto out;
	head(f, "weir_up", "gauge", "1 when the engine has published to Redis under this node");
	for (size_t k = 0; k < nv; k++) {
		const redisReply *m = ctx->nodes[vw[k]].meta;

		fputs("weir_up{", f);
		label(f, "node", ctx->nodes[vw[k]].id, false);
		fprintf(f, "} %d\n", m && m->elements ? 1 : 0);
	}
	head(f, "weir_publish_updated_ms", "gauge", "unix ms of the engine's last publish cycle");
	for (size_t k = 0; k < nv; k++) {
		const redisReply *m = ctx->nodes[vw[k]].meta;

		if (!m || !m->elements)
			continue;
		fputs("weir_publish_updated_ms{", f);
		label(f, "node", ctx->nodes[vw[k]].id, false);
		fprintf(f, "} %llu\n", (unsigned long long)weirctl_hash_u64(m, "updated_ms"));
	}
	head(f, "weir_host_bytes_total", "counter",
	     "bytes a host (address and VLAN) sent or received, whole frames");
	r |= family(ctx, f, vw, nv, M_HOST, web_cfg.metrics_hosts, "hosts", "host:");
	head(f, "weir_vlan_bytes_total", "counter", "bytes seen on a VLAN (0: untagged)");
	r |= family(ctx, f, vw, nv, M_VLAN, -1, "vlans", "vlan:");
	head(f, "weir_app_bytes_total", "counter", "bytes of flows by application (nDPI)");
	r |= family(ctx, f, vw, nv, M_APP, -1, "apps", "app:");
	head(f, "weir_category_bytes_total", "counter", "bytes of flows by application category");
	r |= family(ctx, f, vw, nv, M_CATEGORY, -1, "categories", "category:");
	head(f, "weir_interface_bytes_total", "counter",
	     "bytes an exporter's interface carried, from flow records");
	r |= family(ctx, f, vw, nv, M_IF, -1, "interfaces", "interface:");

	/* weir_engine_<field>: the fields of the first node that has each,
	 * in order, then the samples of every node that has it. */
	for (size_t k = 0; k < nv; k++)
		for (size_t i = 0; i + 1 < health[k]->elements; i += 2) {
			const char *key = health[k]->element[i]->str;
			bool before = false;
			char name[128];

			if (!key || !metric_name_ok(key))
				continue;
			for (size_t q = 0; q < k && !before; q++)
				before = weirctl_hash_get(health[q], key) != NULL;
			if (before)
				continue;
			snprintf(name, sizeof(name), "weir_engine_%s", key);
			fprintf(f, "# TYPE %s untyped\n", name);
			for (size_t q = k; q < nv; q++) {
				const char *v = weirctl_hash_get(health[q], key);

				if (!v || !weirctl_is_json_number(v) || v[0] == '-')
					continue;
				fprintf(f, "%s{", name);
				label(f, "node", ctx->nodes[vw[q]].id, false);
				fprintf(f, "} %s\n", v);
			}
		}
out:
	weirctl_node_restore(ctx, focus);
	for (size_t k = 0; k < nv; k++)
		if (health[k])
			freeReplyObject(health[k]);
	if (r)
		return web_fail(o, 502, "Redis failed while reading the metrics");
	return 200;
}
