/* store.c -- weir-alertd's Redis: reading events, writing alerts.
 *
 * Reading: the events stream through a consumer group (docs/redis-keys.md
 * "Events"). At start the group is created (XGROUP CREATE ... MKSTREAM;
 * BUSYGROUP means it is there), then the consumer re-reads its own
 * pending entries (XREADGROUP ... 0: events it read before a crash and
 * never acknowledged), then claims entries other consumers left pending
 * longer than claim-idle (XAUTOCLAIM), then reads new ones (">").
 *
 * Writing: everything one pass decided goes out in one MULTI/EXEC: the
 * alert hashes, the active index, the history stream, the notes in the
 * outbox, and the XACK of the events that caused them. Either all of it
 * lands or none: an event is acknowledged exactly when what it caused
 * was recorded, so after a crash it is handled again or not at all.
 *
 * Keys (docs/alerts.md): P alerts:active (hash RULE|ENTITY -> id),
 * P alert:ID (hash), P alerts:history (stream, capped), P alerts:outbox
 * (hash note key -> note), P alerts:seen:RULE (set, for new-host and
 * new-app rules); and PREFIXalerts:seq, the one counter every node's
 * alert ids come from, so that an id (and a delivery id) names one alert
 * whichever node holds it.
 *
 * A store is one node's keys. Its connection goes through the
 * cluster-aware layer (rcluster.h): all of the node's keys carry its hash
 * tag, so they live on one master (one server, or the cluster master that
 * holds the node's slot) and the transaction never crosses slots. A reply
 * saying the slot moved drops the connection; the next one learns the
 * slot map again. The id counter is another slot's: INCR goes through the
 * layer's routed command. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "weir/rcluster.h"
#include "alertd.h"

int
alertd_store_init(struct alertd_store *s, const struct alertd_conf *conf,
		  const char *node)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	if (weirctl_url_parse(conf->redis, &s->url, err, sizeof(err))) {
		alertd_log("redis: %s", err);
		return -1;
	}
	weirctl_url_show(&s->url, s->shown, sizeof(s->shown));
	snprintf(s->prefix, sizeof(s->prefix), "%s", conf->prefix);
	snprintf(s->seq_key, sizeof(s->seq_key), "%salerts:seq", conf->prefix);
	alertd_store_target(s, node);
	snprintf(s->group, sizeof(s->group), "%s", conf->group);
	snprintf(s->consumer, sizeof(s->consumer), "%s", conf->consumer);
	s->start_all = conf->start_all;
	return 0;
}

void
alertd_store_target(struct alertd_store *s, const char *node)
{
	if (!node)
		node = "";
	if (s->kp[0] && !strcmp(s->node, node))
		return;
	snprintf(s->node, sizeof(s->node), "%s", node);
	snprintf(s->kp, sizeof(s->kp), "%s{%s}:", s->prefix, node);
	snprintf(s->events_key, sizeof(s->events_key), "%sevents", s->kp);
	if (s->c) {
		/* the master of the new node's slot (the same one on a
		 * single server) */
		s->c = weir_rc_ctx(s->rc, s->kp, strlen(s->kp));
		if (!s->c)
			alertd_store_close(s);
	}
}

void
alertd_store_close(struct alertd_store *s)
{
	if (s->rc)
		weir_rc_free(s->rc);
	s->rc = NULL;
	s->c = NULL;
}

void
alertd_store_drop(struct alertd_store *s, const char *why)
{
	if (!s->c)
		return;
	alertd_log("Redis at %s: %s; reconnecting", s->shown, why);
	alertd_store_close(s);
}

/* NULL (a lost connection) drops it; so does a redirect (the node's slot
 * moved in a cluster), handed back as the error reply it is. */
static redisReply *
checked(struct alertd_store *s, redisReply *r, const char *what)
{
	if (!r || !weir_rc_reply_check(s->rc, r)) {
		char why[300];

		snprintf(why, sizeof(why), "%s failed: %s", what,
			 r ? r->str : s->c && s->c->err ? s->c->errstr : "no reply");
		alertd_store_drop(s, why);
	}
	return r;
}

redisReply *
alertd_cmd(struct alertd_store *s, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	if (!s->c)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(s->c, fmt, ap);
	va_end(ap);
	return checked(s, r, "a command");
}

redisReply *
alertd_cmdargv(struct alertd_store *s, int argc, const char **argv,
	       const size_t *lens)
{
	if (!s->c)
		return NULL;
	return checked(s, redisCommandArgv(s->c, argc, argv, lens), argv[0]);
}

/* from_start: read the stream from its first entry, not from now on. The
 * start setting decides for the first creation; a stream that vanished
 * (the engine rewrote its state, Redis was flushed) and came back holds
 * only events written since, so then it is always from the start. */
static int
create_group(struct alertd_store *s, bool from_start)
{
	redisReply *r = alertd_cmd(s, "XGROUP CREATE %s %s %s MKSTREAM",
				   s->events_key, s->group,
				   from_start ? "0" : "$");

	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9)) {
		alertd_log("Redis at %s: XGROUP CREATE %s: %s", s->shown,
			   s->events_key, r->str);
		freeReplyObject(r);
		return -1;
	}
	if (r->type != REDIS_REPLY_ERROR)
		alertd_log("created consumer group %s on %s (from %s)", s->group,
			   s->events_key, from_start ? "the first event" :
			   "new events");
	freeReplyObject(r);
	return 0;
}

struct weir_rc *
alertd_rc_new(const struct weirctl_url *u)
{
	return weirctl_url_rc(u, 10000);
}

int
alertd_store_ensure(struct alertd_store *s)
{
	int64_t now = alertd_now_ms();

	if (s->c)
		return 0;
	if (now < s->next_try_ms)
		return -1;
	alertd_store_close(s);
	s->rc = alertd_rc_new(&s->url);
	if (!s->rc) {
		alertd_log("cannot connect to Redis at %s: out of memory", s->shown);
		goto err;
	}
	/* AUTH (refused: said here), SELECT, and a cluster's slot map */
	if (weir_rc_connect(s->rc) ||
	    !(s->c = weir_rc_ctx(s->rc, s->kp, strlen(s->kp)))) {
		alertd_log("cannot connect to Redis at %s: %s", s->shown,
			   weir_rc_error(s->rc));
		goto err;
	}
	s->backoff_ms = 0;
	if (s->no_group)
		return 0;
	if (create_group(s, s->start_all))
		goto err;
	alertd_log("connected to Redis at %s, reading %s as %s/%s", s->shown,
		   s->events_key, s->group, s->consumer);
	return 0;
err:
	alertd_store_close(s);
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 500;
	if (s->backoff_ms > 30000)
		s->backoff_ms = 30000;
	s->next_try_ms = now + s->backoff_ms;
	return -1;
}

const char *
alertd_event_get(const struct alertd_event *e, const char *f)
{
	const redisReply *h = e->fields;

	if (!h || h->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *k = h->element[i], *v = h->element[i + 1];

		if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
		    !strcmp(k->str, f))
			return v->str;
	}
	return NULL;
}

/* entries: an array of [id, [f, v, ...]] (a nil or a nil fields for an
 * entry deleted since it was read). */
static int
collect(const redisReply *entries, struct alertd_event **evs)
{
	struct alertd_event *v;
	size_t n = 0;

	if (!entries || entries->type != REDIS_REPLY_ARRAY)
		return 0;
	v = calloc(entries->elements ? entries->elements : 1, sizeof(*v));
	if (!v)
		return -1;
	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *e = entries->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[0]->len >= sizeof(v[n].id))
			continue;
		memcpy(v[n].id, e->element[0]->str, e->element[0]->len + 1);
		v[n].fields = e->element[1]->type == REDIS_REPLY_ARRAY ?
			      e->element[1] : NULL;
		n++;
	}
	*evs = v;
	return (int)n;
}

int
alertd_store_read(struct alertd_store *s, enum alertd_read how, unsigned count,
		  int64_t block_ms, int64_t claim_idle, char *cursor,
		  size_t cursor_len, redisReply **reply, struct alertd_event **evs)
{
	redisReply *r = NULL;
	const redisReply *entries = NULL;
	int n;

	*reply = NULL;
	*evs = NULL;
	if (alertd_store_ensure(s))
		return -1;
	switch (how) {
	case ALERTD_READ_NEW:
		/* BLOCK 0 would wait for ever: no BLOCK is no wait */
		if (block_ms > 0)
			r = alertd_cmd(s, "XREADGROUP GROUP %s %s COUNT %u BLOCK %lld "
				       "STREAMS %s >", s->group, s->consumer, count,
				       (long long)block_ms, s->events_key);
		else
			r = alertd_cmd(s, "XREADGROUP GROUP %s %s COUNT %u "
				       "STREAMS %s >", s->group, s->consumer, count,
				       s->events_key);
		break;
	case ALERTD_READ_OWN_PENDING:
		r = alertd_cmd(s, "XREADGROUP GROUP %s %s COUNT %u STREAMS %s 0",
			       s->group, s->consumer, count, s->events_key);
		break;
	case ALERTD_READ_CLAIM:
		r = alertd_cmd(s, "XAUTOCLAIM %s %s %s %lld %s COUNT %u",
			       s->events_key, s->group, s->consumer,
			       (long long)claim_idle, cursor, count);
		break;
	}
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_ERROR) {
		if (!strncmp(r->str, "NOGROUP", 7)) {
			/* the stream went (FLUSHALL, a new Redis): again */
			alertd_log("%s lost its group (%s); creating it again",
				   s->events_key, r->str);
			freeReplyObject(r);
			return create_group(s, true) ? -1 : 0;
		}
		alertd_log("Redis at %s: reading %s: %s", s->shown, s->events_key,
			   r->str);
		freeReplyObject(r);
		return -1;
	}
	if (how == ALERTD_READ_CLAIM) {
		/* [next cursor, [entries], [deleted ids]] */
		if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING) {
			snprintf(cursor, cursor_len, "%s", r->element[0]->str);
			entries = r->element[1];
		} else {
			snprintf(cursor, cursor_len, "0-0");
		}
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
		   r->element[0]->type == REDIS_REPLY_ARRAY &&
		   r->element[0]->elements == 2) {
		/* [[stream, [entries]]] */
		entries = r->element[0]->element[1];
	}
	n = collect(entries, evs);
	if (n < 0) {
		freeReplyObject(r);
		return -1;
	}
	/* XAUTOCLAIM's deleted ids must be acknowledged too: pending
	 * entries whose event was trimmed away are answered as deleted */
	if (how == ALERTD_READ_CLAIM && r->elements >= 3 &&
	    r->element[2]->type == REDIS_REPLY_ARRAY &&
	    r->element[2]->elements) {
		const redisReply *del = r->element[2];
		size_t extra = del->elements;
		struct alertd_event *nv = realloc(*evs, ((size_t)n + extra) *
						  sizeof(**evs));

		if (nv) {
			*evs = nv;
			for (size_t i = 0; i < extra; i++) {
				if (del->element[i]->type != REDIS_REPLY_STRING ||
				    del->element[i]->len >= sizeof(nv[n].id))
					continue;
				memset(&nv[n], 0, sizeof(nv[n]));
				memcpy(nv[n].id, del->element[i]->str,
				       del->element[i]->len + 1);
				n++;
			}
		}
	}
	*reply = r;
	return n;
}

/* ---- the commit ---------------------------------------------------------- */

struct argv {
	const char *a[64];
	size_t l[64];
	char num[64][32];
	int n;
};

static void
arg(struct argv *v, const char *s)
{
	if (v->n < 64) {
		v->a[v->n] = s ? s : "";
		v->l[v->n] = strlen(v->a[v->n]);
		v->n++;
	}
}

static void
argf(struct argv *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
argf(struct argv *v, const char *fmt, ...)
{
	va_list ap;

	if (v->n >= 64)
		return;
	va_start(ap, fmt);
	vsnprintf(v->num[v->n], sizeof(v->num[0]), fmt, ap);
	va_end(ap);
	arg(v, v->num[v->n]);
}

static void
append(struct alertd_store *s, struct argv *v, int *queued)
{
	redisAppendCommandArgv(s->c, v->n, v->a, v->l);
	(*queued)++;
	v->n = 0;
}

/* Reads the replies of the queued commands; 0 when EXEC committed. */
static int
finish(struct alertd_store *s, int queued, const char *what)
{
	bool moved = false;
	int rc = 0;

	for (int i = 0; i < queued; i++) {
		redisReply *r = NULL;

		if (redisGetReply(s->c, (void **)&r) != REDIS_OK || !r) {
			char why[300];

			snprintf(why, sizeof(why), "%s: %s", what,
				 s->c->errstr[0] ? s->c->errstr : "no reply");
			alertd_store_drop(s, why);
			return -1;
		}
		if (i == queued - 1) {
			/* EXEC: an array, or nil/error when it was aborted */
			if (r->type != REDIS_REPLY_ARRAY) {
				alertd_log("Redis at %s: %s was not committed (%s)",
					   s->shown, what,
					   r->type == REDIS_REPLY_ERROR ? r->str :
					   "aborted");
				rc = -1;
			} else {
				for (size_t k = 0; k < r->elements; k++)
					if (r->element[k]->type == REDIS_REPLY_ERROR) {
						alertd_log("Redis at %s: %s: %s",
							   s->shown, what,
							   r->element[k]->str);
						rc = -1;
					}
			}
		} else if (r->type == REDIS_REPLY_ERROR) {
			alertd_log("Redis at %s: %s: %s", s->shown, what, r->str);
			rc = -1;
		}
		moved |= !weir_rc_reply_check(s->rc, r);
		freeReplyObject(r);
	}
	if (moved)	/* the next connection finds the slot's new master */
		alertd_store_drop(s, "the node's slot moved");
	return rc;
}

static const char *
dest_name(const struct alertd_conf *conf, int d)
{
	return d >= 0 && d < conf->n_dests ? conf->dests[d].name : "?";
}

int
alertd_store_commit(struct alertd_store *s, const struct alertd_conf *conf,
		    struct alertd_changes *ch, char **ack_ids, size_t n_ack)
{
	struct argv *v;
	char key[700], active[600], history[600], outbox[600], seen[700];
	int queued = 0, rc;

	if (!ch->n && !n_ack)
		return 0;
	if (alertd_store_ensure(s))
		return -1;
	v = malloc(sizeof(*v));
	if (!v)
		return -1;
	v->n = 0;
	snprintf(active, sizeof(active), "%salerts:active", s->kp);
	snprintf(history, sizeof(history), "%salerts:history", s->kp);
	snprintf(outbox, sizeof(outbox), "%salerts:outbox", s->kp);
	arg(v, "MULTI");
	append(s, v, &queued);
	for (size_t i = 0; i < ch->n; i++) {
		struct alertd_change *c = &ch->v[i];
		struct alertd_note *n = &c->snap;

		snprintf(key, sizeof(key), "%salert:%" PRIu64, s->kp, c->alert_id);
		arg(v, "HSET");
		arg(v, key);
		arg(v, "id"); argf(v, "%" PRIu64, c->alert_id);
		arg(v, "rule"); arg(v, n->rule);
		arg(v, "kind"); arg(v, n->kind);
		arg(v, "entity"); arg(v, n->entity);
		arg(v, "key"); arg(v, c->key);
		arg(v, "severity"); arg(v, n->severity);
		arg(v, "state"); arg(v, c->released ? "released" : "active");
		arg(v, "engaged_ms"); argf(v, "%" PRId64, n->engaged_ms);
		arg(v, "updated_ms"); argf(v, "%" PRId64, c->updated_ms);
		arg(v, "last_match_ms"); argf(v, "%" PRId64, c->last_match_ms);
		arg(v, "count"); argf(v, "%" PRIu64, n->count);
		arg(v, "notes"); argf(v, "%u", c->seq_total);
		arg(v, "summary"); arg(v, n->summary);
		arg(v, "details"); arg(v, n->details);
		arg(v, "node"); arg(v, n->node);
		if (n->has_value) {
			arg(v, "value"); argf(v, "%.6g", n->value);
			arg(v, "peak"); argf(v, "%.6g", c->peak);
			arg(v, "threshold"); argf(v, "%.6g", n->threshold);
		}
		if (c->released) {
			arg(v, "released_ms"); argf(v, "%" PRId64, n->ts_ms);
		}
		append(s, v, &queued);
		if (c->engaged) {
			arg(v, "HSET"); arg(v, active); arg(v, c->key);
			argf(v, "%" PRIu64, c->alert_id);
			append(s, v, &queued);
		}
		if (c->released) {
			arg(v, "HDEL"); arg(v, active); arg(v, c->key);
			append(s, v, &queued);
			arg(v, "PEXPIRE"); arg(v, key);
			argf(v, "%" PRId64, conf->released_ttl_ms);
			append(s, v, &queued);
		}
		if (c->state) {
			arg(v, "XADD"); arg(v, history); arg(v, "MAXLEN");
			arg(v, "~"); argf(v, "%u", conf->history_max); arg(v, "*");
			arg(v, "id"); argf(v, "%" PRIu64, c->alert_id);
			arg(v, "state"); arg(v, c->state);
			arg(v, "rule"); arg(v, n->rule);
			arg(v, "kind"); arg(v, n->kind);
			arg(v, "severity"); arg(v, n->severity);
			arg(v, "entity"); arg(v, n->entity);
			arg(v, "ts"); argf(v, "%" PRId64, n->ts_ms);
			arg(v, "summary"); arg(v, n->summary);
			if (n->has_value) {
				arg(v, "value"); argf(v, "%.6g", n->value);
			}
			append(s, v, &queued);
		}
		if (c->seen_set[0]) {
			snprintf(seen, sizeof(seen), "%salerts:seen:%s", s->kp,
				 c->seen_set);
			arg(v, "SADD"); arg(v, seen); arg(v, c->seen_member);
			append(s, v, &queued);
		}
		for (int d = 0; c->notify && d < c->n_notify; d++) {
			char *ser;
			size_t len;
			char field[ALERTD_NAME_MAX + 8];

			alertd_note_address(n, c->alert_id,
					    dest_name(conf, c->notify_dests[d]));
			ser = alertd_note_serialise(n, &len);
			if (!ser)
				continue;
			arg(v, "HSET"); arg(v, outbox); arg(v, n->key);
			v->a[v->n] = ser;
			v->l[v->n] = len;
			v->n++;
			append(s, v, &queued);
			free(ser);
			snprintf(field, sizeof(field), "dlv_%s", n->dest);
			arg(v, "HSET"); arg(v, key); arg(v, field);
			argf(v, "queued (note %u)", n->seq);
			append(s, v, &queued);
		}
	}
	for (size_t i = 0; i < n_ack;) {
		arg(v, "XACK"); arg(v, s->events_key); arg(v, s->group);
		while (i < n_ack && v->n < 64)
			arg(v, ack_ids[i++]);
		append(s, v, &queued);
	}
	arg(v, "EXEC");
	append(s, v, &queued);
	free(v);
	rc = finish(s, queued, "recording alerts");
	return rc;
}

/* A command on a key outside the node's slot (the id counter: argv[1]),
 * routed by the layer; the node's context is asked for again when the
 * layer had to reconnect or learn the map meanwhile. */
static redisReply *
routed(struct alertd_store *s, int argc, const char **argv)
{
	uint64_t epoch;
	redisReply *r;
	size_t lens[4];

	if (!s->c || argc > 4)
		return NULL;
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	epoch = weir_rc_epoch(s->rc);
	r = weir_rc_commandargv(s->rc, argv[1], argc, argv, lens);
	if (!r || r->type == REDIS_REPLY_ERROR) {
		alertd_log("Redis at %s: %s %s failed: %s", s->shown, argv[0],
			   argv[1], r ? r->str : weir_rc_error(s->rc));
		if (r)
			freeReplyObject(r);
		r = NULL;
	}
	if (weir_rc_epoch(s->rc) != epoch) {
		s->c = weir_rc_ctx(s->rc, s->kp, strlen(s->kp));
		if (!s->c)
			alertd_store_drop(s, "reconnecting to the node's master "
					  "failed");
	}
	return r;
}

int
alertd_store_next_id(struct alertd_store *s, uint64_t *id)
{
	const char *argv[] = { "INCR", s->seq_key };
	redisReply *r = routed(s, 2, argv);

	if (!r)
		return -1;
	if (r->type != REDIS_REPLY_INTEGER || r->integer <= 0) {
		freeReplyObject(r);
		return -1;
	}
	*id = (uint64_t)r->integer;
	freeReplyObject(r);
	return 0;
}

int
alertd_store_seed_ids(struct alertd_store *s)
{
	redisReply *own, *all;
	long long mine = 0, now = 0;
	const char *get[] = { "GET", s->seq_key };
	const char *incr[] = { "INCRBY", s->seq_key, NULL };
	char by[24];

	own = alertd_cmd(s, "GET %salerts:seq", s->kp);
	if (!own)
		return -1;
	if (own->type == REDIS_REPLY_STRING)
		mine = strtoll(own->str, NULL, 10);
	freeReplyObject(own);
	if (mine <= 0)
		return 0;
	all = routed(s, 2, get);
	if (!all)
		return -1;
	if (all->type == REDIS_REPLY_STRING)
		now = strtoll(all->str, NULL, 10);
	freeReplyObject(all);
	if (now >= mine)
		return 0;
	/* INCRBY never lowers it: two of us doing this at once overshoot,
	 * which only leaves ids unused */
	snprintf(by, sizeof(by), "%lld", mine - now);
	incr[2] = by;
	all = routed(s, 3, incr);
	if (!all)
		return -1;
	freeReplyObject(all);
	alertd_log("alert ids continue from %lld (node %s's own counter)", mine,
		   s->node);
	return 0;
}

int
alertd_store_seen(struct alertd_store *s, const char *set, const char *member)
{
	redisReply *r = alertd_cmd(s, "SISMEMBER %salerts:seen:%s %s", s->kp, set,
				   member);
	int rc;

	if (!r)
		return -1;
	rc = r->type == REDIS_REPLY_INTEGER ? (r->integer ? 1 : 0) : -1;
	freeReplyObject(r);
	return rc;
}

/* The kind field of an HGETALL reply is one of merged kinds. */
static bool
hash_merged(const redisReply *h)
{
	const char *kind = weirctl_hash_get(h, "kind");

	for (int k = 0; kind && k < ALERTD_K_COUNT; k++)
		if (!strcmp(kind, alertd_kind_name((enum alertd_kind)k)))
			return alertd_kind_merged((enum alertd_kind)k);
	return false;
}

int
alertd_store_restore(struct alertd_store *s, struct alertd_alerts *a,
		     bool merged)
{
	redisReply *r;
	int n = 0;

	if (alertd_store_ensure(s))
		return -1;
	r = alertd_cmd(s, "HGETALL %salerts:active", s->kp);
	if (!r)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -1;
	}
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *id = r->element[i + 1];
		redisReply *h;

		if (k->type != REDIS_REPLY_STRING || id->type != REDIS_REPLY_STRING)
			continue;
		h = alertd_cmd(s, "HGETALL %salert:%s", s->kp, id->str);
		if (!h) {
			freeReplyObject(r);
			return -1;
		}
		if (h->type == REDIS_REPLY_ARRAY && h->elements &&
		    hash_merged(h) != merged) {
			/* the other table's */
		} else if (h->type == REDIS_REPLY_ARRAY && h->elements &&
			   !alertd_alerts_restore(a, h)) {
			n++;
		} else {
			/* an index entry without its alert: drop it */
			redisReply *d = alertd_cmd(s, "HDEL %salerts:active %b",
						   s->kp, k->str, k->len);
			if (d)
				freeReplyObject(d);
		}
		freeReplyObject(h);
	}
	freeReplyObject(r);
	if (n)
		alertd_log("restored %d active %salert%s of node %s from Redis", n,
			   merged ? "merged-view " : "", n == 1 ? "" : "s",
			   s->node);
	return n;
}

int
alertd_store_outbox(struct alertd_store *s,
		    void (*cb)(void *arg, struct alertd_note *n), void *cbarg)
{
	redisReply *r;
	int n = 0;

	if (alertd_store_ensure(s))
		return -1;
	r = alertd_cmd(s, "HGETALL %salerts:outbox", s->kp);
	if (!r)
		return -1;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
	     i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		struct alertd_note note;

		if (v->type != REDIS_REPLY_STRING ||
		    alertd_note_parse(v->str, v->len, &note) ||
		    strcmp(note.key, k->str)) {
			alertd_log("outbox entry %s is not a note; dropped",
				   k->type == REDIS_REPLY_STRING ? k->str : "?");
			redisReply *d = alertd_cmd(s, "HDEL %salerts:outbox %b",
						   s->kp, k->str, k->len);
			if (d)
				freeReplyObject(d);
			continue;
		}
		cb(cbarg, &note);
		alertd_note_free(&note);
		n++;
	}
	freeReplyObject(r);
	if (n)
		alertd_log("%d notification%s left in the outbox: sending", n,
			   n == 1 ? "" : "s");
	return n;
}

int
alertd_store_delivered(struct alertd_store *s, const struct alertd_conf *conf,
		       const char *note_key, uint64_t alert_id, const char *dest,
		       const char *result)
{
	char key[700], field[ALERTD_NAME_MAX + 16];
	redisReply *r;
	int rc = 0;

	(void)conf;
	if (alertd_store_ensure(s))
		return -1;
	snprintf(key, sizeof(key), "%salert:%" PRIu64, s->kp, alert_id);
	r = alertd_cmd(s, "HDEL %salerts:outbox %s", s->kp, note_key);
	if (!r)
		return -1;
	freeReplyObject(r);
	r = alertd_cmd(s, "EXISTS %s", key);
	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
		redisReply *w;

		snprintf(field, sizeof(field), "dlv_%s", dest);
		w = alertd_cmd(s, "HSET %s %s %s %s_ms %lld", key, field, result,
			       field, (long long)alertd_now_ms());
		if (!w)
			rc = -1;
		else
			freeReplyObject(w);
	}
	freeReplyObject(r);
	return rc;
}
