/* events.c -- the rules fed by the engine's events stream.
 *
 * One event goes through every rule of the matching kind:
 *
 *   boundary       -> boundary rules (from/to subnets, watch/forbid, port,
 *                     protocol, application)
 *   new_host       -> new-host rules (subnet name or block, local)
 *   new_app        -> new-app rules (applications, category, subnet,
 *                     learning period after the host first appeared)
 *   exporter_down  -> exporter-down rules; exporter_up releases them
 *   health         -> health rules
 *
 * Everything in an event is data off the wire or from the engine: it
 * goes into an alert's entity, summary and details, never into where or
 * how an alert is delivered. A new-host or new-app alert is raised once
 * per host (or host and application) per rule, ever: the set
 * P alerts:seen:RULE remembers them, so an engine restart, which
 * announces every host again, does not.
 *
 * Events are a node's: the event being handled is ctx->store's, and its
 * alerts go to that node's table (ctx->alerts) and keys, committed with
 * the event's XACK. A host new to one tap but already reported by
 * another watched node is not new to the merged view: its alert and
 * seen set on any watched node count. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alertd.h"

static const char *
ev(const struct alertd_event *e, const char *f)
{
	const char *v = alertd_event_get(e, f);

	return v ? v : "";
}

static const char *
proto_name(const char *num, char *buf, size_t len)
{
	char *end;
	long p = strtol(num, &end, 10);

	if (!*num || *end || p < 0 || p > 255)
		return num;
	return weirctl_proto_name((unsigned)p, buf, len);
}

/* app matches one of the comma-separated names in list (either half of
 * a MASTER.APP pair, any case). */
static bool
app_in(const char *list, const char *app, const char *application)
{
	char buf[256], *tok[16];
	int n = alertd_split_list(list, buf, sizeof(buf), tok, 16);

	for (int i = 0; i < n; i++)
		if (weirctl_app_matches(tok[i], app, application))
			return true;
	return false;
}

/* The flow's application now, when the event was written before the
 * verdict ("Unknown"). */
static int
flow_app(struct alertd_ctx *ctx, const char *flow, char *app, size_t alen,
	 char *application, size_t plen)
{
	redisReply *r;

	if (!*flow)
		return 0;
	r = alertd_cmd(ctx->store, "HMGET %sflow:%s app application",
		       ctx->store->kp, flow);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		if (r->element[0]->type == REDIS_REPLY_STRING)
			snprintf(app, alen, "%s", r->element[0]->str);
		if (r->element[1]->type == REDIS_REPLY_STRING)
			snprintf(application, plen, "%s", r->element[1]->str);
	}
	freeReplyObject(r);
	return 0;
}

static int
on_boundary(struct alertd_ctx *ctx, const struct alertd_event *e, int64_t now)
{
	const char *mode = ev(e, "rule"), *ss = ev(e, "src_subnet");
	const char *ds = ev(e, "dst_subnet"), *src = ev(e, "src");
	const char *dst = ev(e, "dst"), *flow = ev(e, "flow");
	char app[128], application[128], pbuf[16];
	bool app_looked = false;

	snprintf(app, sizeof(app), "%s", ev(e, "app"));
	snprintf(application, sizeof(application), "%s", app);
	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];
		char entity[ALERTD_ENTITY_MAX], summary[ALERTD_SUMMARY_MAX];
		struct alertd_obj o;
		char *details;

		if (r->kind != ALERTD_K_BOUNDARY)
			continue;
		if (r->boundary_mode == 1 && strcmp(mode, "watch"))
			continue;
		if (r->boundary_mode == 2 && strcmp(mode, "forbid"))
			continue;
		if (r->from[0] && (strcmp(r->from, ss) || strcmp(r->to, ds)))
			continue;
		if (r->port >= 0 && strtol(ev(e, "dport"), NULL, 10) != r->port)
			continue;
		if (r->proto >= 0 && strtol(ev(e, "proto"), NULL, 10) != r->proto)
			continue;
		if (r->apps[0]) {
			if (!app_in(r->apps, app, application) && !app_looked) {
				app_looked = true;
				if (flow_app(ctx, flow, app, sizeof(app), application,
					     sizeof(application)))
					return -1;
			}
			if (!app_in(r->apps, app, application))
				continue;
		}
		switch (r->group) {
		case ALERTD_G_PAIR:
			snprintf(entity, sizeof(entity), "%s>%s", src, dst);
			break;
		case ALERTD_G_SRC:
			snprintf(entity, sizeof(entity), "%s", src);
			break;
		case ALERTD_G_DST:
			snprintf(entity, sizeof(entity), "%s", dst);
			break;
		case ALERTD_G_SUBNET:
			snprintf(entity, sizeof(entity), "%s>%s", ss, ds);
			break;
		}
		snprintf(summary, sizeof(summary), "%s %s (%s) -> %s (%s) %s/%s%s%s",
			 !strcmp(mode, "forbid") ? "forbidden flow" : "flow", src,
			 ss, dst, ds, proto_name(ev(e, "proto"), pbuf, sizeof(pbuf)),
			 ev(e, "dport"),
			 strcmp(application, "Unknown") && application[0] ? " " : "",
			 strcmp(application, "Unknown") ? application : "");
		if (alertd_obj_begin(&o))
			continue;
		alertd_obj_str(&o, "boundary", mode);
		alertd_obj_str(&o, "src_subnet", ss);
		alertd_obj_str(&o, "dst_subnet", ds);
		alertd_obj_str(&o, "flow", flow);
		alertd_obj_str(&o, "src", src);
		alertd_obj_str(&o, "dst", dst);
		alertd_obj_num(&o, "sport", strtod(ev(e, "sport"), NULL));
		alertd_obj_num(&o, "dport", strtod(ev(e, "dport"), NULL));
		alertd_obj_num(&o, "proto", strtod(ev(e, "proto"), NULL));
		alertd_obj_num(&o, "vlan", strtod(ev(e, "vlan"), NULL));
		alertd_obj_str(&o, "app", application);
		alertd_obj_str(&o, "event", e->id);
		alertd_obj_num(&o, "event_ts", strtod(ev(e, "ts"), NULL));
		details = alertd_obj_end(&o);
		/* forbid events are critical unless the rule says otherwise */
		alertd_alerts_event(ctx->alerts, &ctx->changes, ctx->conf, r,
				    r->severity_set ? r->severity :
				    !strcmp(mode, "forbid") ? ALERTD_SEV_CRITICAL :
				    ALERTD_SEV_WARNING, entity, summary, details,
				    now);
		free(details);
	}
	return 0;
}

/* Reported before by rule r: 1 when member has an alert active on
 * another watched node or is in a seen set of any (this node's first),
 * 0 when not, -1 when this node's Redis failed. Another node that cannot
 * be asked now is taken as not having seen it. */
static int
seen_before(struct alertd_ctx *ctx, const struct alertd_rule *r,
	    const char *member)
{
	int seen = alertd_store_seen(ctx->store, r->name, member);

	if (seen)
		return seen;
	for (size_t i = 0; i < ctx->n_nodes; i++) {
		struct alertd_node *nd = ctx->nodes[i];

		if (&nd->store == ctx->store)
			continue;
		if (alertd_alerts_active(nd->alerts, r->name, member))
			return 1;
		if (alertd_store_ensure(&nd->store))
			continue;
		if (alertd_store_seen(&nd->store, r->name, member) == 1)
			return 1;
	}
	return 0;
}

/* Whether rule r already reported member: 0 when it has an alert active
 * here (it is updated, not raised again) or was never reported, else as
 * seen_before. */
static int
reported(struct alertd_ctx *ctx, const struct alertd_rule *r, const char *member)
{
	if (alertd_alerts_active(ctx->alerts, r->name, member))
		return 0;
	return seen_before(ctx, r, member);
}

/* Raises (or updates) r's alert about member; the first engagement puts
 * member in r's seen set with the alert, so it is reported once. Frees
 * details. */
static void
raise_once(struct alertd_ctx *ctx, const struct alertd_rule *r, const char *member,
	   const char *summary, char *details, int64_t now)
{
	struct alertd_change *c = alertd_alerts_event(ctx->alerts, &ctx->changes, ctx->conf, r,
						      r->severity, member, summary, details, now);

	free(details);
	if (c && c->engaged) {
		snprintf(c->seen_set, sizeof(c->seen_set), "%s", r->name);
		snprintf(c->seen_member, sizeof(c->seen_member), "%s", member);
	}
}

/* The host's subnet matches the rule's subnet filter (name or block). */
static bool
subnet_ok(const struct alertd_rule *r, const char *subnet, const char *ip)
{
	if (r->subnet[0] && strcmp(r->subnet, subnet ? subnet : ""))
		return false;
	if (r->cidr.af && !alertd_cidr_has(&r->cidr, ip))
		return false;
	return true;
}

static int
on_new_host(struct alertd_ctx *ctx, const struct alertd_event *e, int64_t now)
{
	const char *host = ev(e, "host"), *ip = ev(e, "ip");
	const char *subnet = ev(e, "subnet"), *local = ev(e, "local");

	if (!*host)
		return 0;
	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];
		char summary[ALERTD_SUMMARY_MAX];
		struct alertd_obj o;
		int seen;

		if (r->kind != ALERTD_K_NEW_HOST)
			continue;
		if (!subnet_ok(r, subnet, ip))
			continue;
		if (r->local >= 0 && r->local != (strcmp(local, "1") == 0))
			continue;
		seen = reported(ctx, r, host);
		if (seen < 0)
			return -1;
		if (seen)
			continue;	/* reported before */
		snprintf(summary, sizeof(summary), "new host %s on VLAN %s (%s)", ip,
			 ev(e, "vlan"), *subnet ? subnet : "no subnet");
		if (alertd_obj_begin(&o))
			continue;
		alertd_obj_str(&o, "host", host);
		alertd_obj_str(&o, "ip", ip);
		alertd_obj_num(&o, "vlan", strtod(ev(e, "vlan"), NULL));
		alertd_obj_str(&o, "subnet", subnet);
		alertd_obj_num(&o, "local", strtod(local, NULL));
		alertd_obj_str(&o, "event", e->id);
		alertd_obj_num(&o, "event_ts", strtod(ev(e, "ts"), NULL));
		raise_once(ctx, r, host, summary, alertd_obj_end(&o), now);
	}
	return 0;
}

static int
on_new_app(struct alertd_ctx *ctx, const struct alertd_event *e, int64_t now)
{
	const char *host = ev(e, "host"), *app = ev(e, "app");
	const char *cat = ev(e, "category");
	char ip[64], entity[ALERTD_ENTITY_MAX];
	char subnet[ALERTD_NAME_MAX] = "";
	int64_t first_seen = -1;
	bool looked = false;

	if (!*host || !*app)
		return 0;
	alertd_host_ip(host, ip, sizeof(ip));
	snprintf(entity, sizeof(entity), "%s/%s", host, app);
	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];
		char summary[ALERTD_SUMMARY_MAX];
		struct alertd_obj o;
		int seen;

		if (r->kind != ALERTD_K_NEW_APP)
			continue;
		if (r->apps[0] && !app_in(r->apps, app, app))
			continue;
		if (r->category[0] && strcasecmp(r->category, cat))
			continue;
		if (r->cidr.af && !alertd_cidr_has(&r->cidr, ip))
			continue;
		if ((r->subnet[0] || r->learning_ms) && !looked) {
			redisReply *h = alertd_cmd(ctx->store,
						   "HMGET %shost:%s subnet first_seen",
						   ctx->store->kp, host);
			if (!h)
				return -1;
			if (h->type == REDIS_REPLY_ARRAY && h->elements == 2) {
				if (h->element[0]->type == REDIS_REPLY_STRING)
					snprintf(subnet, sizeof(subnet), "%s",
						 h->element[0]->str);
				if (h->element[1]->type == REDIS_REPLY_STRING)
					first_seen = strtoll(h->element[1]->str,
							     NULL, 10);
			}
			freeReplyObject(h);
			looked = true;
		}
		if (r->subnet[0] && strcmp(r->subnet, subnet))
			continue;
		if (r->learning_ms && (first_seen < 0 ||
				       strtoll(ev(e, "ts"), NULL, 10) - first_seen <
				       r->learning_ms))
			continue;	/* the host is still being learnt */
		seen = reported(ctx, r, entity);
		if (seen < 0)
			return -1;
		if (seen)
			continue;	/* reported before */
		snprintf(summary, sizeof(summary), "%s used %s (%s) for the first "
			 "time", host, app, *cat ? cat : "no category");
		if (alertd_obj_begin(&o))
			continue;
		alertd_obj_str(&o, "host", host);
		alertd_obj_str(&o, "app", app);
		alertd_obj_str(&o, "category", cat);
		alertd_obj_str(&o, "flow", ev(e, "flow"));
		alertd_obj_str(&o, "event", e->id);
		alertd_obj_num(&o, "event_ts", strtod(ev(e, "ts"), NULL));
		raise_once(ctx, r, entity, summary, alertd_obj_end(&o), now);
	}
	return 0;
}

static void
on_exporter(struct alertd_ctx *ctx, const struct alertd_event *e, bool down,
	    int64_t now)
{
	const char *exp = ev(e, "exporter");

	if (!*exp)
		return;
	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];
		char summary[ALERTD_SUMMARY_MAX];
		struct alertd_obj o;
		char *details;

		if (r->kind != ALERTD_K_EXPORTER_DOWN ||
		    fnmatch(r->pattern, exp, 0))
			continue;
		if (!down) {
			alertd_alerts_clear(ctx->alerts, &ctx->changes, ctx->conf, r,
					    exp, "exporter is back", now);
			continue;
		}
		snprintf(summary, sizeof(summary), "exporter %s silent for %ss",
			 exp, ev(e, "silent_s"));
		if (alertd_obj_begin(&o))
			continue;
		alertd_obj_str(&o, "exporter", exp);
		alertd_obj_num(&o, "silent_s", strtod(ev(e, "silent_s"), NULL));
		alertd_obj_str(&o, "event", e->id);
		alertd_obj_num(&o, "event_ts", strtod(ev(e, "ts"), NULL));
		details = alertd_obj_end(&o);
		alertd_alerts_event(ctx->alerts, &ctx->changes, ctx->conf, r,
				    r->severity, exp, summary, details, now);
		free(details);
	}
}

static void
on_health(struct alertd_ctx *ctx, const struct alertd_event *e, int64_t now)
{
	const char *what = ev(e, "what");
	const struct redisReply *f = e->fields;

	for (int i = 0; i < ctx->conf->n_rules; i++) {
		const struct alertd_rule *r = &ctx->conf->rules[i];
		char summary[ALERTD_SUMMARY_MAX], entity[ALERTD_ENTITY_MAX];
		struct alertd_obj o;
		char *details;

		if (r->kind != ALERTD_K_HEALTH)
			continue;
		if (strcmp(r->what, "any") && strcmp(r->what, what))
			continue;
		if (!strcmp(what, "drops") && *ev(e, "counter"))
			snprintf(entity, sizeof(entity), "drops:%s", ev(e, "counter"));
		else
			snprintf(entity, sizeof(entity), "%s", *what ? what : "?");
		if (!strcmp(what, "drops"))
			snprintf(summary, sizeof(summary), "engine lost packets: %s "
				 "rose by %s", ev(e, "counter"), ev(e, "delta"));
		else if (!strcmp(what, "redis_back"))
			snprintf(summary, sizeof(summary), "engine lost Redis; back "
				 "after %s lost cycles", ev(e, "lost_cycles"));
		else
			snprintf(summary, sizeof(summary), "engine health: %s", what);
		if (alertd_obj_begin(&o))
			continue;
		for (size_t k = 0; f && k + 1 < f->elements; k += 2)
			if (f->element[k]->type == REDIS_REPLY_STRING &&
			    f->element[k + 1]->type == REDIS_REPLY_STRING &&
			    strcmp(f->element[k]->str, "type"))
				alertd_obj_str(&o, f->element[k]->str,
					       f->element[k + 1]->str);
		alertd_obj_str(&o, "event", e->id);
		details = alertd_obj_end(&o);
		alertd_alerts_event(ctx->alerts, &ctx->changes, ctx->conf, r,
				    r->severity, entity, summary, details, now);
		free(details);
	}
}

int
alertd_events_handle(struct alertd_ctx *ctx, const struct alertd_event *e)
{
	const char *type;
	int64_t now = alertd_now_ms();

	if (!e->fields)
		return 0;	/* trimmed away before we read it */
	type = ev(e, "type");
	if (!strcmp(type, "boundary"))
		return on_boundary(ctx, e, now);
	if (!strcmp(type, "new_host"))
		return on_new_host(ctx, e, now);
	if (!strcmp(type, "new_app"))
		return on_new_app(ctx, e, now);
	if (!strcmp(type, "exporter_down"))
		on_exporter(ctx, e, true, now);
	else if (!strcmp(type, "exporter_up"))
		on_exporter(ctx, e, false, now);
	else if (!strcmp(type, "health"))
		on_health(ctx, e, now);
	return 0;
}
