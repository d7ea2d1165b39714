/* main.c -- weir-alertd: options, signals and the loop.
 *
 * The loop, on the main thread:
 *   0. every nodes-interval, the nodes watched are read again from the
 *      registry (nodes.c; not with --node);
 *   1. results of finished deliveries are recorded (store.c) under the
 *      node that holds their alert;
 *   2. each node's batch of new events (XREADGROUP on its own stream,
 *      blocking at most until the next evaluation when it is the only
 *      one) goes through the event rules and is committed with its
 *      acknowledgements under that node;
 *   3. every eval-interval: releases due, threshold rules; every
 *      scan-interval: scan and dns-quiet rules, on the merged view,
 *      committed the same way under the home node;
 *   4. now and then, entries other consumers left pending are claimed.
 * After a Redis failure the table concerned (a node's, or the merged
 * one) is read back from Redis and the node's own pending events are
 * handled again, so what is in memory never drifts from what was
 * recorded.
 *
 * SIGHUP reloads the config and rules files; a file with an error is
 * refused as a whole (each error printed with its line) and the running
 * rules stay. SIGTERM and SIGINT stop: deliveries in flight get a few
 * seconds, what is left stays in the outbox for the next start. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "alertd.h"

static volatile sig_atomic_t stop_sig, hup_sig;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		hup_sig = 1;
	else
		stop_sig = sig;
}

struct opts {
	const char *config, *rules, *redis, *node, *prefix, *consumer, *group;
	const char *alert_node;
	bool check;
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: weir-alertd --rules FILE [--config FILE] [options]\n"
"\n"
"Reads the weir engine's Redis keyspace (events stream, time series, hosts,\n"
"flows) and delivers alerts by webhook, syslog and email. See docs/alerts.md\n"
"and weir-alertd(8).\n"
"\n"
"  -r, --rules FILE      rules ([rule NAME] sections); reloaded on SIGHUP\n"
"  -c, --config FILE     global settings and destinations ([webhook NAME],\n"
"                        [syslog NAME], [email NAME]); without it the rules\n"
"                        file may hold them too\n"
"      --redis URL       redis://[[user]:password@]host[:port][/db] or\n"
"                        unix:///path/redis.sock (default redis://127.0.0.1:6379)\n"
"      --node ID[,ID]    the engines' node ids to watch (default every node\n"
"                        of the registry PREFIXnodes that has published)\n"
"      --alert-node ID   where the alerts of the merged view are written\n"
"                        (default the first node watched, in sorted order)\n"
"      --prefix STR      the engine's key prefix (default weir:)\n"
"      --group NAME      consumer group on the events stream (default weir-alertd)\n"
"      --consumer NAME   this process in the group (default the host name)\n"
"      --check           check the files, print what they hold, exit\n"
"  -v, --verbose         say more (every retry)\n"
"  -h, --help            this text\n"
"  -V, --version         print the version\n"
"\n"
"Exit: 0 stopped by a signal or --check passed, 1 bad usage, 2 bad\n"
"configuration.\n");
}

static void
apply_overrides(struct alertd_conf *c, const struct opts *o)
{
	if (o->redis)
		snprintf(c->redis, sizeof(c->redis), "%s", o->redis);
	if (o->node)
		snprintf(c->node, sizeof(c->node), "%s",
			 strcmp(o->node, "*") ? o->node : "");
	if (o->alert_node)
		snprintf(c->alert_node, sizeof(c->alert_node), "%s", o->alert_node);
	if (o->prefix)
		snprintf(c->prefix, sizeof(c->prefix), "%s", o->prefix);
	if (o->consumer)
		snprintf(c->consumer, sizeof(c->consumer), "%s", o->consumer);
	if (o->group)
		snprintf(c->group, sizeof(c->group), "%s", o->group);
}

/* New alerts get ids from INCR; the later changes of the same alert in
 * this batch carry the same id. */
static int
assign_ids(struct alertd_ctx *ctx, struct alertd_store *s,
	   struct alertd_alerts *a)
{
	struct alertd_changes *ch = &ctx->changes;

	for (size_t i = 0; i < ch->n; i++) {
		uint64_t id;

		if (!ch->v[i].engaged || ch->v[i].alert_id)
			continue;
		if (alertd_store_next_id(s, &id))
			return -1;
		alertd_alerts_set_id(a, ch->v[i].key, id);
		for (size_t j = i; j < ch->n; j++) {
			if (j > i && ch->v[j].engaged &&
			    !strcmp(ch->v[j].key, ch->v[i].key))
				break;
			if (!strcmp(ch->v[j].key, ch->v[i].key) && !ch->v[j].alert_id) {
				ch->v[j].alert_id = id;
				ch->v[j].snap.alert_id = id;
			}
		}
	}
	return 0;
}

static void
push_notes(struct alertd_ctx *ctx, struct alertd_deliver *dl, const char *home)
{
	struct alertd_changes *ch = &ctx->changes;

	for (size_t i = 0; i < ch->n; i++) {
		struct alertd_change *c = &ch->v[i];
		char line[ALERTD_SUMMARY_MAX + 200];

		if (c->state) {
			alertd_note_line(&c->snap, line, sizeof(line));
			alertd_log("alert %" PRIu64 " %s", c->alert_id, line);
		}
		for (int d = 0; c->notify && d < c->n_notify; d++) {
			struct alertd_note n = c->snap;

			alertd_note_address(&n, c->alert_id,
					    ctx->conf->dests[c->notify_dests[d]].name);
			alertd_deliver_push(dl, ctx->conf, &n, home);
		}
	}
}

/* Commits what the pass decided about table a (and acks ids) under the
 * store's node, then queues the notes. */
static int
commit(struct alertd_ctx *ctx, struct alertd_deliver *dl,
       struct alertd_store *s, struct alertd_alerts *a, char **ids,
       size_t n_ids)
{
	int rc = 0;

	if (assign_ids(ctx, s, a) ||
	    alertd_store_commit(s, ctx->conf, &ctx->changes, ids, n_ids))
		rc = -1;
	else
		push_notes(ctx, dl, s->node);
	alertd_changes_clear(&ctx->changes);
	return rc;
}

/* A batch of node nd's events through the event rules, committed to nd
 * with their acknowledgements. */
static int
process_events(struct alertd_ctx *ctx, struct alertd_deliver *dl,
	       struct alertd_node *nd, struct alertd_event *evs, int n)
{
	char **ids = calloc((size_t)n + 1, sizeof(*ids));
	int rc = 0;

	if (!ids)
		return -1;
	ctx->store = &nd->store;
	ctx->alerts = nd->alerts;
	alertd_changes_clear(&ctx->changes);
	for (int i = 0; i < n; i++) {
		if (alertd_events_handle(ctx, &evs[i])) {
			rc = -1;
			break;
		}
		ids[i] = evs[i].id;
	}
	if (rc == 0)
		rc = commit(ctx, dl, &nd->store, nd->alerts, ids, (size_t)n);
	else
		alertd_changes_clear(&ctx->changes);
	ctx->store = NULL;
	ctx->alerts = NULL;
	free(ids);
	return rc;
}

/* Reads and handles one kind of node nd's backlog until it is empty. */
static int
drain(struct alertd_ctx *ctx, struct alertd_deliver *dl, struct alertd_node *nd,
      enum alertd_read how)
{
	char cursor[64] = "0-0";
	int total = 0;

	for (int round = 0; round < 100000 && !stop_sig; round++) {
		redisReply *r;
		struct alertd_event *evs;
		int n = alertd_store_read(&nd->store, how, ctx->conf->batch, 0,
					  ctx->conf->claim_idle_ms, cursor,
					  sizeof(cursor), &r, &evs);

		if (n < 0)
			return -1;
		if (n > 0 && process_events(ctx, dl, nd, evs, n)) {
			free(evs);
			freeReplyObject(r);
			return -1;
		}
		total += n;
		free(evs);
		if (r)
			freeReplyObject(r);
		if (how == ALERTD_READ_CLAIM ? !strcmp(cursor, "0-0") : n == 0)
			break;
	}
	if (total)
		alertd_log("node %s: %s: %d event%s handled", nd->id,
			   how == ALERTD_READ_CLAIM ? "claimed from other consumers" :
			   "left pending by this consumer", total,
			   total == 1 ? "" : "s");
	return 0;
}

struct outbox_arg {
	struct alertd_deliver *dl;
	struct alertd_conf *conf;
	const char *home;
};

static void
outbox_cb(void *arg, struct alertd_note *n)
{
	struct outbox_arg *a = arg;

	alertd_deliver_push(a->dl, a->conf, n, a->home);
}

/* The node's outbox, once: what a previous run left undelivered. */
static int
read_outbox(struct alertd_ctx *ctx, struct alertd_deliver *dl,
	    struct alertd_node *nd)
{
	struct outbox_arg arg = { dl, ctx->conf, nd->id };

	if (nd->outbox_read)
		return 0;
	if (alertd_store_outbox(&nd->store, outbox_cb, &arg) < 0)
		return -1;
	nd->outbox_read = true;
	return 0;
}

/* Node nd's table read back from Redis, then its own pending events and
 * those other consumers left. A node that is not the home releases the
 * merged alerts it holds (it was the home before, or an older
 * weir-alertd evaluated it alone): the home holds them now. */
static int
recover_node(struct alertd_ctx *ctx, struct alertd_deliver *dl,
	     struct alertd_node *nd)
{
	if (alertd_store_ensure(&nd->store) || alertd_store_seed_ids(&nd->store))
		return -1;
	alertd_alerts_reset(nd->alerts);
	if (alertd_store_restore(&nd->store, nd->alerts, false) < 0)
		return -1;
	if (nd != ctx->home) {
		struct alertd_alerts *stray = alertd_alerts_new();
		char why[200];
		int n;

		if (!stray)
			return -1;
		n = alertd_store_restore(&nd->store, stray, true);
		if (n > 0) {
			snprintf(why, sizeof(why), "alerts of the merged view now "
				 "live under node %s", ctx->home ? ctx->home->id : "?");
			alertd_changes_clear(&ctx->changes);
			alertd_alerts_release_all(stray, &ctx->changes, ctx->conf,
						  why, alertd_now_ms());
			n = commit(ctx, dl, &nd->store, stray, NULL, 0);
		}
		alertd_alerts_free(stray);
		if (n < 0)
			return -1;
	}
	if (read_outbox(ctx, dl, nd) ||
	    drain(ctx, dl, nd, ALERTD_READ_OWN_PENDING) ||
	    drain(ctx, dl, nd, ALERTD_READ_CLAIM))
		return -1;
	return 0;
}

/* The merged table read back from the home. */
static int
recover_merged(struct alertd_ctx *ctx, struct alertd_deliver *dl)
{
	struct alertd_node *h = ctx->home;

	if (!h || alertd_store_ensure(&h->store) ||
	    alertd_store_seed_ids(&h->store))
		return -1;
	alertd_alerts_reset(ctx->merged);
	if (alertd_store_restore(&h->store, ctx->merged, true) < 0 ||
	    read_outbox(ctx, dl, h))
		return -1;
	return 0;
}

/* A table whose releases Redis did not take is read back afterwards. */
static void
reload(struct alertd_ctx *ctx, struct alertd_deliver *dl, const struct opts *o)
{
	int64_t now = alertd_now_ms();
	struct alertd_conf *nc;
	struct alertd_conf *old = ctx->conf;

	alertd_log("SIGHUP: reloading %s%s%s", o->config ? o->config : "",
		   o->config ? " and " : "", o->rules);
	nc = alertd_conf_load(o->config, o->rules);
	if (!nc) {
		alertd_log("reload refused (errors above): the %d rule%s loaded "
			   "before stay", old->n_rules, old->n_rules == 1 ? "" : "s");
		return;
	}
	apply_overrides(nc, o);
	if (strcmp(nc->redis, old->redis) || strcmp(nc->prefix, old->prefix) ||
	    strcmp(nc->node, old->node) || strcmp(nc->group, old->group) ||
	    strcmp(nc->consumer, old->consumer) ||
	    strcmp(nc->alert_node, old->alert_node)) {
		alertd_log("reload: redis, prefix, node, alert-node, group and "
			   "consumer need a restart; the running ones stay");
		memcpy(nc->redis, old->redis, sizeof(nc->redis));
		memcpy(nc->prefix, old->prefix, sizeof(nc->prefix));
		memcpy(nc->node, old->node, sizeof(nc->node));
		memcpy(nc->alert_node, old->alert_node, sizeof(nc->alert_node));
		memcpy(nc->group, old->group, sizeof(nc->group));
		memcpy(nc->consumer, old->consumer, sizeof(nc->consumer));
	}
	/* released under the old rules, told to their destinations: each
	 * node's own alerts under it, the merged ones under the home */
	for (size_t i = 0; i < ctx->n_nodes; i++) {
		struct alertd_node *nd = ctx->nodes[i];

		alertd_changes_clear(&ctx->changes);
		alertd_alerts_release_gone(nd->alerts, &ctx->changes, old, nc, now);
		if (commit(ctx, dl, &nd->store, nd->alerts, NULL, 0))
			nd->need_recover = true;
	}
	if (ctx->home) {
		alertd_changes_clear(&ctx->changes);
		alertd_alerts_release_gone(ctx->merged, &ctx->changes, old, nc, now);
		if (commit(ctx, dl, &ctx->home->store, ctx->merged, NULL, 0))
			ctx->merged_recover = true;
	}
	ctx->conf = nc;
	alertd_conf_put(old);
	alertd_log("reloaded: %d rule%s, %d destination%s", nc->n_rules,
		   nc->n_rules == 1 ? "" : "s", nc->n_dests,
		   nc->n_dests == 1 ? "" : "s");
}

/* Records one delivery result under its alert's node. */
static int
record_one(struct alertd_ctx *ctx, const struct alertd_result *r)
{
	struct alertd_node *nd = alertd_node_find(ctx, r->home);

	if (!nd) {
		/* a node no longer watched: its outbox keeps the note */
		alertd_debug("delivery %s of node %s: not recorded (node not "
			     "watched)", r->note_key, r->home);
		return 0;
	}
	return alertd_store_delivered(&nd->store, ctx->conf, r->note_key,
				      r->alert_id, r->dest, r->result);
}

static void
record_results(struct alertd_ctx *ctx, struct alertd_deliver *dl,
	       struct alertd_result *keep, size_t *n_keep, size_t cap)
{
	struct alertd_result got[64];
	size_t n;

	/* earlier results Redis did not take first */
	while (*n_keep) {
		if (record_one(ctx, &keep[*n_keep - 1]))
			return;
		(*n_keep)--;
	}
	while ((n = alertd_deliver_results(dl, got, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			alertd_debug("delivery %s: %s", got[i].note_key,
				     got[i].result);
			if (record_one(ctx, &got[i]) && *n_keep < cap)
				keep[(*n_keep)++] = got[i];
		}
	}
}

/* Releases due, thresholds, scans: each node's own table under it, the
 * merged view's under the home. */
static void
evaluate(struct alertd_ctx *ctx, struct alertd_deliver *dl, int64_t now,
	 bool scan)
{
	for (size_t i = 0; i < ctx->n_nodes; i++) {
		struct alertd_node *nd = ctx->nodes[i];

		if (nd->need_recover)
			continue;
		alertd_changes_clear(&ctx->changes);
		alertd_alerts_tick(nd->alerts, &ctx->changes, ctx->conf, now);
		if (commit(ctx, dl, &nd->store, nd->alerts, NULL, 0))
			nd->need_recover = true;
	}
	if (ctx->merged_recover || !ctx->home)
		return;
	/* a merged value without a node would be wrong: wait for it */
	if (alertd_view_ensure(ctx))
		return;
	alertd_changes_clear(&ctx->changes);
	alertd_alerts_tick(ctx->merged, &ctx->changes, ctx->conf, now);
	if (alertd_threshold_eval(ctx, now, scan) ||
	    (scan && (alertd_scan_eval(ctx, now) || alertd_dns_eval(ctx, now))) ||
	    commit(ctx, dl, &ctx->home->store, ctx->merged, NULL, 0)) {
		alertd_changes_clear(&ctx->changes);
		ctx->merged_recover = true;
	}
}

/* Reads each node's new events once. Returns how many were read. With
 * one node the read may wait up to block_ms for them; with several each
 * node is asked without waiting (their streams may live in different
 * slots: one XREADGROUP each) and the caller sleeps when none came. */
static int
read_events(struct alertd_ctx *ctx, struct alertd_deliver *dl, int64_t block_ms)
{
	int got = 0;

	for (size_t i = 0; i < ctx->n_nodes && !stop_sig; i++) {
		struct alertd_node *nd = ctx->nodes[i];
		redisReply *r;
		struct alertd_event *evs;
		int n;

		if (nd->need_recover)
			continue;
		n = alertd_store_read(&nd->store, ALERTD_READ_NEW, ctx->conf->batch,
				      ctx->n_nodes == 1 ? block_ms : 0, 0, NULL, 0,
				      &r, &evs);
		if (n < 0) {
			nd->need_recover = true;
			continue;
		}
		if (n > 0 && process_events(ctx, dl, nd, evs, n))
			nd->need_recover = true;
		got += n > 0 ? n : 0;
		free(evs);
		if (r)
			freeReplyObject(r);
	}
	return got;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "redis", required_argument, NULL, 1 },
		{ "node", required_argument, NULL, 2 },
		{ "prefix", required_argument, NULL, 3 },
		{ "group", required_argument, NULL, 4 },
		{ "consumer", required_argument, NULL, 5 },
		{ "check", no_argument, NULL, 6 },
		{ "alert-node", required_argument, NULL, 7 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct opts o = { 0 };
	struct alertd_ctx ctx = { 0 };
	struct alertd_deliver *dl;
	struct sigaction sa = { 0 };
	static struct alertd_result keep[4096];
	size_t n_keep = 0;
	int64_t next_eval = 0, next_scan = 0, next_claim = 0;
	char err[256];
	int c;

	while ((c = getopt_long(argc, argv, "r:c:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o.rules = optarg; break;
		case 'c': o.config = optarg; break;
		case 1: o.redis = optarg; break;
		case 2: o.node = optarg; break;
		case 3: o.prefix = optarg; break;
		case 4: o.group = optarg; break;
		case 5: o.consumer = optarg; break;
		case 6: o.check = true; break;
		case 7: o.alert_node = optarg; break;
		case 'v': alertd_verbose = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("weir-alertd %s\n", WEIR_VERSION); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc || !o.rules) {
		fprintf(stderr, "weir-alertd: %s\n", optind != argc ?
			"unexpected arguments" : "--rules FILE is needed");
		usage(stderr);
		return 1;
	}
	if (o.redis) {
		struct weirctl_url u;

		if (weirctl_url_parse(o.redis, &u, err, sizeof(err))) {
			fprintf(stderr, "weir-alertd: --redis: %s\n", err);
			return 1;
		}
	}
	if (o.node && strcmp(o.node, "*") &&
	    weirctl_nodes_check(o.node, err, sizeof(err))) {
		fprintf(stderr, "weir-alertd: --node: %s\n", err);
		return 1;
	}
	if (o.alert_node && (weirctl_nodes_check(o.alert_node, err, sizeof(err)) ||
			     strchr(o.alert_node, ','))) {
		fprintf(stderr, "weir-alertd: --alert-node: '%s' is not one node id\n",
			o.alert_node);
		return 1;
	}
	ctx.conf = alertd_conf_load(o.config, o.rules);
	if (!ctx.conf)
		return 2;
	apply_overrides(ctx.conf, &o);
	if (o.check) {
		printf("ok: %d rule%s, %d destination%s\n", ctx.conf->n_rules,
		       ctx.conf->n_rules == 1 ? "" : "s", ctx.conf->n_dests,
		       ctx.conf->n_dests == 1 ? "" : "s");
		for (int i = 0; i < ctx.conf->n_rules; i++) {
			const struct alertd_rule *r = &ctx.conf->rules[i];

			printf("rule %s: %s, %s, notify", r->name,
			       alertd_kind_name(r->kind), alertd_sev_name(r->severity));
			for (int d = 0; d < r->n_notify; d++)
				printf(" %s", ctx.conf->dests[r->notify[d]].name);
			printf("\n");
		}
		alertd_conf_put(ctx.conf);
		return 0;
	}

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		alertd_log("curl_global_init failed");
		return 2;
	}
	ctx.scan = alertd_scan_new();
	ctx.dns = alertd_dns_new();
	dl = alertd_deliver_start(ctx.conf->workers, ctx.conf);
	if (!ctx.scan || !ctx.dns || !dl || alertd_nodes_init(&ctx)) {
		alertd_log("cannot start (out of memory or bad redis URL)");
		return 2;
	}
	alertd_log("weir-alertd %s: %d rule%s, %d destination%s, Redis %s, "
		   "node%s %s", WEIR_VERSION, ctx.conf->n_rules,
		   ctx.conf->n_rules == 1 ? "" : "s", ctx.conf->n_dests,
		   ctx.conf->n_dests == 1 ? "" : "s", ctx.home->store.shown,
		   ctx.conf->node[0] && !strchr(ctx.conf->node, ',') ? "" : "s",
		   ctx.conf->node[0] ? ctx.conf->node : "of the registry");

	while (!stop_sig) {
		int64_t now = alertd_now_ms(), block;
		bool stuck = false;
		int got;

		if (hup_sig) {
			hup_sig = 0;
			reload(&ctx, dl, &o);
		}
		alertd_nodes_refresh(&ctx, now);
		record_results(&ctx, dl, keep, &n_keep,
			       sizeof(keep) / sizeof(keep[0]));
		for (size_t i = 0; i < ctx.n_nodes; i++) {
			struct alertd_node *nd = ctx.nodes[i];

			if (!nd->need_recover || now < nd->retry_ms)
				continue;
			if (recover_node(&ctx, dl, nd)) {
				nd->retry_ms = now + 200;
				stuck = true;
				continue;
			}
			nd->need_recover = false;
		}
		if (ctx.merged_recover && !recover_merged(&ctx, dl))
			ctx.merged_recover = false;
		block = next_eval - now;
		if (block < 10)
			block = 10;
		if (block > 500)
			block = 500;
		got = read_events(&ctx, dl, block);
		now = alertd_now_ms();
		if (!got && (ctx.n_nodes > 1 || stuck || ctx.nodes[0]->need_recover))
			/* several streams, none waited on; or Redis is away */
			sleep_ms(next_eval - now < 50 ? next_eval - now :
				 stuck || ctx.nodes[0]->need_recover ? 200 : 50);
		now = alertd_now_ms();
		if (now >= next_eval) {
			bool scan = now >= next_scan;

			evaluate(&ctx, dl, now, scan);
			if (scan)
				next_scan = now + ctx.conf->scan_every_ms;
			next_eval = now + ctx.conf->eval_ms;
		}
		if (now >= next_claim) {
			for (size_t i = 0; i < ctx.n_nodes; i++)
				if (!ctx.nodes[i]->need_recover &&
				    drain(&ctx, dl, ctx.nodes[i], ALERTD_READ_CLAIM))
					ctx.nodes[i]->need_recover = true;
			next_claim = now + (ctx.conf->claim_idle_ms / 2 > 1000 ?
					    ctx.conf->claim_idle_ms / 2 : 1000);
		}
	}

	alertd_log("signal %d: stopping (%zu deliveries in flight get up to 5s)",
		   (int)stop_sig, alertd_deliver_pending(dl));
	alertd_deliver_stop(dl, 5000);
	record_results(&ctx, dl, keep, &n_keep, sizeof(keep) / sizeof(keep[0]));
	alertd_deliver_free(dl);
	alertd_nodes_free(&ctx);
	alertd_scan_free(ctx.scan);
	alertd_dns_free(ctx.dns);
	alertd_changes_clear(&ctx.changes);
	free(ctx.changes.v);
	alertd_conf_put(ctx.conf);
	curl_global_cleanup();
	return 0;
}
