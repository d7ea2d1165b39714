/* alerts.c -- the alert table and its lifecycle.
 *
 * An alert is identified by (rule, entity): a second match of the same
 * rule on the same entity updates the alert that is active instead of
 * raising another, so a forbidden flow repeated a thousand times is one
 * alert with a count of 1000. States:
 *
 *   (none) --match--> engaged --match--> (updated) --quiet/below--> released
 *
 * Event rules (boundary, new host, ...) engage on their first match and
 * are released after the rule's release-after without a new match.
 * Value rules (threshold, scan) measure a value each round: above the
 * threshold it is first pending, engaged once it has stayed above for
 * the rule's `for`; it is released once below `release-below` (the
 * hysteresis: below the threshold is not enough when release-below is
 * lower) for `release-for`. Crossing critical-above raises the severity
 * and notifies an update.
 *
 * A table is one node's event alerts, or the merged-view alerts (the
 * home's). Each alert says which node it came from: the node id, or the
 * nodes whose data made its value.
 *
 * Owned by the main thread. Every transition is appended to a change
 * list; the store writes the list in one transaction (store.c) and only
 * then are notes handed to delivery. Pending alerts live in memory only;
 * engaged ones are also in Redis and are read back at start, so a
 * restart neither repeats nor forgets them. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "alertd.h"

enum astate { A_PENDING, A_ACTIVE };

struct alert {
	struct alert *next;
	char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
	char rule[ALERTD_NAME_MAX];
	char entity[ALERTD_ENTITY_MAX];
	enum alertd_kind kind;
	enum astate st;
	enum alertd_sev sev;
	uint64_t id;
	unsigned seq;		/* notified transitions so far */
	int64_t engaged_ms, updated_ms, last_match_ms;
	int64_t pending_since, below_since;
	uint64_t count;
	double value, peak, threshold;
	bool has_value;
	bool seen_round;
	char summary[ALERTD_SUMMARY_MAX];
	char *details;
	char node[128];
};

#define NBUCKETS 4096

struct alertd_alerts {
	struct alert *b[NBUCKETS];
	size_t n;
	char node[128];		/* given to the alerts matched next */
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct alertd_alerts *
alertd_alerts_new(void)
{
	return calloc(1, sizeof(struct alertd_alerts));
}

void
alertd_alerts_reset(struct alertd_alerts *a)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct alert *x = a->b[i], *nx;

		for (; x; x = nx) {
			nx = x->next;
			free(x->details);
			free(x);
		}
		a->b[i] = NULL;
	}
	a->n = 0;
}

void
alertd_alerts_free(struct alertd_alerts *a)
{
	if (!a)
		return;
	alertd_alerts_reset(a);
	free(a);
}

size_t
alertd_alerts_count(const struct alertd_alerts *a)
{
	return a->n;
}

void
alertd_alerts_node(struct alertd_alerts *a, const char *node)
{
	snprintf(a->node, sizeof(a->node), "%s", node ? node : "");
}

bool
alertd_kind_merged(enum alertd_kind k)
{
	return k == ALERTD_K_THRESHOLD || k == ALERTD_K_SCAN ||
	       k == ALERTD_K_DNS_QUIET;
}

/* A match gives the alert the table's node, when it has one. */
static void
take_node(const struct alertd_alerts *a, struct alert *x)
{
	if (a->node[0])
		memcpy(x->node, a->node, sizeof(x->node));
	else if (!x->node[0])
		strcpy(x->node, "*");
}

static void
make_key(char *key, size_t len, const char *rule, const char *entity)
{
	snprintf(key, len, "%s|%s", rule, entity);
}

static struct alert *
find(const struct alertd_alerts *a, const char *key)
{
	for (struct alert *x = a->b[hash(key) % NBUCKETS]; x; x = x->next)
		if (!strcmp(x->key, key))
			return x;
	return NULL;
}

static struct alert *
add(struct alertd_alerts *a, const struct alertd_rule *r, const char *entity)
{
	struct alert *x = calloc(1, sizeof(*x));
	uint32_t h;

	if (!x)
		return NULL;
	make_key(x->key, sizeof(x->key), r->name, entity);
	snprintf(x->rule, sizeof(x->rule), "%s", r->name);
	snprintf(x->entity, sizeof(x->entity), "%s", entity);
	x->kind = r->kind;
	x->sev = r->severity;
	h = hash(x->key) % NBUCKETS;
	x->next = a->b[h];
	a->b[h] = x;
	a->n++;
	return x;
}

static void
unlink_free(struct alertd_alerts *a, struct alert *x)
{
	struct alert **pp = &a->b[hash(x->key) % NBUCKETS];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	free(x->details);
	free(x);
	a->n--;
}

void
alertd_changes_clear(struct alertd_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		alertd_note_free(&c->v[i].snap);
	c->n = 0;
}

/* Appends the alert's present state as a change. state: the transition
 * notified (engaged, updated, released), or NULL for a quiet update. */
static struct alertd_change *
emit(struct alertd_changes *out, const struct alertd_conf *conf,
     const struct alertd_rule *r, struct alert *x, const char *state,
     int64_t now)
{
	struct alertd_change *ch;
	struct alertd_note *n;

	if (out->n == out->cap) {
		size_t nc = out->cap ? out->cap * 2 : 64;
		void *nv = realloc(out->v, nc * sizeof(*out->v));

		if (!nv)
			return NULL;
		out->v = nv;
		out->cap = nc;
	}
	ch = &out->v[out->n++];
	memset(ch, 0, sizeof(*ch));
	ch->alert_id = x->id;
	snprintf(ch->key, sizeof(ch->key), "%s", x->key);
	ch->state = state;
	ch->engaged = state && !strcmp(state, "engaged");
	ch->released = state && !strcmp(state, "released");
	n = &ch->snap;
	n->alert_id = x->id;
	snprintf(n->node, sizeof(n->node), "%s", x->node[0] ? x->node : "*");
	snprintf(n->rule, sizeof(n->rule), "%s", x->rule);
	snprintf(n->kind, sizeof(n->kind), "%s", alertd_kind_name(x->kind));
	snprintf(n->state, sizeof(n->state), "%s",
		 state ? state : "engaged");
	snprintf(n->severity, sizeof(n->severity), "%s", alertd_sev_name(x->sev));
	snprintf(n->entity, sizeof(n->entity), "%s", x->entity);
	snprintf(n->summary, sizeof(n->summary), "%s", x->summary);
	n->details = strdup(x->details ? x->details : "{}");
	n->ts_ms = now;
	n->engaged_ms = x->engaged_ms;
	n->count = x->count;
	n->value = x->value;
	n->threshold = x->threshold;
	n->has_value = x->has_value;
	/* whether people hear of it */
	if (state && r) {
		bool tell = ch->engaged || (ch->released && r->notify_release) ||
			    (!ch->engaged && !ch->released);
		if (tell) {
			x->seq++;
			n->seq = x->seq;
			ch->notify = true;
			ch->n_notify = r->n_notify;
			memcpy(ch->notify_dests, r->notify,
			       sizeof(int) * (size_t)r->n_notify);
		}
	}
	/* a rule that is gone (r NULL) tells nobody: the history says it */
	ch->updated_ms = x->updated_ms;
	ch->last_match_ms = x->last_match_ms;
	ch->peak = x->peak;
	ch->seq_total = x->seq;
	return ch;
}

static void
set_text(struct alert *x, const char *summary, const char *details)
{
	if (summary)
		snprintf(x->summary, sizeof(x->summary), "%s", summary);
	if (details) {
		char *d = strdup(details);

		if (d) {
			free(x->details);
			x->details = d;
		}
	}
}

struct alertd_change *
alertd_alerts_event(struct alertd_alerts *a, struct alertd_changes *out,
		    const struct alertd_conf *conf, const struct alertd_rule *r,
		    enum alertd_sev sev, const char *entity, const char *summary,
		    const char *details, int64_t now)
{
	char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
	struct alert *x;

	make_key(key, sizeof(key), r->name, entity);
	x = find(a, key);
	if (x) {
		bool raised = sev > x->sev;

		take_node(a, x);
		x->count++;
		x->updated_ms = now;
		x->last_match_ms = now;
		if (raised)
			x->sev = sev;	/* a forbid event on a watched pair */
		set_text(x, summary, details);
		return emit(out, conf, r, x,
			    r->notify_updates || raised ? "updated" : NULL, now);
	}
	x = add(a, r, entity);
	if (!x)
		return NULL;
	take_node(a, x);
	x->st = A_ACTIVE;
	x->sev = sev;
	x->count = 1;
	x->engaged_ms = x->updated_ms = x->last_match_ms = now;
	set_text(x, summary, details);
	return emit(out, conf, r, x, "engaged", now);
}

static void
release(struct alertd_alerts *a, struct alertd_changes *out,
	const struct alertd_conf *conf, const struct alertd_rule *r,
	struct alert *x, const char *why, int64_t now)
{
	char s[ALERTD_SUMMARY_MAX];

	if (why) {
		snprintf(s, sizeof(s), "%s (%s)", x->summary, why);
		snprintf(x->summary, sizeof(x->summary), "%s", s);
	}
	x->updated_ms = now;
	emit(out, conf, r, x, "released", now);
	unlink_free(a, x);
}

void
alertd_alerts_value(struct alertd_alerts *a, struct alertd_changes *out,
		    const struct alertd_conf *conf, const struct alertd_rule *r,
		    const char *entity, double value, double threshold,
		    bool on, bool off, const char *summary, const char *details,
		    int64_t now)
{
	char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
	struct alert *x;

	make_key(key, sizeof(key), r->name, entity);
	x = find(a, key);
	if (x)
		x->seen_round = true;
	if (!x) {
		if (!on)
			return;
		x = add(a, r, entity);
		if (!x)
			return;
		x->st = A_PENDING;
		x->pending_since = now;
		x->seen_round = true;
	}
	take_node(a, x);
	x->value = value;
	x->threshold = threshold;
	x->has_value = true;
	if (x->st == A_PENDING) {
		if (!on) {
			unlink_free(a, x);
			return;
		}
		if (now - x->pending_since < r->for_ms)
			return;
		x->st = A_ACTIVE;
		x->engaged_ms = x->updated_ms = x->last_match_ms = now;
		x->count = 1;
		x->peak = value;
		x->sev = r->severity;
		if (r->has_critical && value > r->critical_above)
			x->sev = ALERTD_SEV_CRITICAL;
		set_text(x, summary, details);
		emit(out, conf, r, x, "engaged", now);
		return;
	}
	/* active */
	if (off) {
		if (!x->below_since)
			x->below_since = now;
		if (now - x->below_since >= r->release_for_ms) {
			set_text(x, summary, details);
			release(a, out, conf, r, x, NULL, now);
		}
		return;
	}
	x->below_since = 0;
	if (on) {
		x->count++;
		x->last_match_ms = now;
	}
	if (value > x->peak)
		x->peak = value;
	x->updated_ms = now;
	set_text(x, summary, details);
	if (r->has_critical && value > r->critical_above &&
	    x->sev != ALERTD_SEV_CRITICAL) {
		x->sev = ALERTD_SEV_CRITICAL;
		emit(out, conf, r, x, "updated", now);
		return;
	}
	emit(out, conf, r, x, r->notify_updates && on ? "updated" : NULL, now);
}

void
alertd_alerts_round_begin(struct alertd_alerts *a, const struct alertd_rule *r)
{
	for (size_t i = 0; i < NBUCKETS; i++)
		for (struct alert *x = a->b[i]; x; x = x->next)
			if (!strcmp(x->rule, r->name))
				x->seen_round = false;
}

void
alertd_alerts_round_end(struct alertd_alerts *a, struct alertd_changes *out,
			const struct alertd_conf *conf,
			const struct alertd_rule *r, int64_t now)
{
	char entities[64][ALERTD_ENTITY_MAX];
	char node[sizeof(a->node)];
	size_t n;

	/* no data is no node's: the alerts keep the nodes they had */
	memcpy(node, a->node, sizeof(node));
	a->node[0] = '\0';
	/* collect first: giving a value may free the alert */
	do {
		n = 0;
		for (size_t i = 0; i < NBUCKETS && n < 64; i++)
			for (struct alert *x = a->b[i]; x && n < 64; x = x->next)
				if (!x->seen_round && !strcmp(x->rule, r->name)) {
					snprintf(entities[n++], ALERTD_ENTITY_MAX,
						 "%s", x->entity);
					x->seen_round = true;
				}
		for (size_t i = 0; i < n; i++) {
			char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
			struct alert *x;
			char s[ALERTD_SUMMARY_MAX];

			make_key(key, sizeof(key), r->name, entities[i]);
			x = find(a, key);
			if (!x)
				continue;
			snprintf(s, sizeof(s), "%s", x->summary);
			alertd_alerts_value(a, out, conf, r, entities[i], 0,
					    x->threshold, false, true, s, NULL,
					    now);
		}
	} while (n == 64);
	memcpy(a->node, node, sizeof(node));
}

void
alertd_alerts_clear(struct alertd_alerts *a, struct alertd_changes *out,
		    const struct alertd_conf *conf, const struct alertd_rule *r,
		    const char *entity, const char *why, int64_t now)
{
	char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
	struct alert *x;

	make_key(key, sizeof(key), r->name, entity);
	x = find(a, key);
	if (!x)
		return;
	if (x->st == A_PENDING) {
		unlink_free(a, x);
		return;
	}
	release(a, out, conf, r, x, why, now);
}

bool
alertd_alerts_active(const struct alertd_alerts *a, const char *rule,
		     const char *entity)
{
	char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
	const struct alert *x;

	make_key(key, sizeof(key), rule, entity);
	x = find(a, key);
	return x && x->st == A_ACTIVE;
}

static bool
is_event_kind(enum alertd_kind k)
{
	return k != ALERTD_K_THRESHOLD && k != ALERTD_K_SCAN;
}

void
alertd_alerts_tick(struct alertd_alerts *a, struct alertd_changes *out,
		   const struct alertd_conf *conf, int64_t now)
{
	bool again;

	do {
		again = false;
		for (size_t i = 0; i < NBUCKETS && !again; i++)
			for (struct alert *x = a->b[i]; x; x = x->next) {
				const struct alertd_rule *r =
					alertd_conf_rule_find(conf, x->rule);

				if (!r || r->kind != x->kind) {
					if (x->st == A_PENDING)
						unlink_free(a, x);
					else
						release(a, out, conf, NULL, x,
							"rule removed", now);
					again = true;
					break;
				}
				if (x->st == A_ACTIVE && is_event_kind(x->kind) &&
				    r->release_after_ms > 0 &&
				    now - x->last_match_ms >= r->release_after_ms) {
					char why[48], d[32];

					alertd_fmt_duration(r->release_after_ms, d,
							    sizeof(d));
					snprintf(why, sizeof(why), "quiet for %s", d);
					release(a, out, conf, r, x, why, now);
					again = true;
					break;
				}
			}
	} while (again);
}

void
alertd_alerts_release_all(struct alertd_alerts *a, struct alertd_changes *out,
			  const struct alertd_conf *conf, const char *why,
			  int64_t now)
{
	for (size_t i = 0; i < NBUCKETS; i++)
		while (a->b[i]) {
			struct alert *x = a->b[i];

			if (x->st == A_PENDING)
				unlink_free(a, x);
			else
				release(a, out, conf, NULL, x, why, now);
		}
}

void
alertd_alerts_release_gone(struct alertd_alerts *a, struct alertd_changes *out,
			   const struct alertd_conf *old,
			   const struct alertd_conf *nc, int64_t now)
{
	bool again;

	do {
		again = false;
		for (size_t i = 0; i < NBUCKETS && !again; i++)
			for (struct alert *x = a->b[i]; x; x = x->next) {
				const struct alertd_rule *rn =
					alertd_conf_rule_find(nc, x->rule);

				if (rn && rn->kind == x->kind)
					continue;
				if (x->st == A_PENDING)
					unlink_free(a, x);
				else
					release(a, out, old,
						alertd_conf_rule_find(old, x->rule),
						x, "rule removed", now);
				again = true;
				break;
			}
	} while (again);
}

void
alertd_alerts_set_id(struct alertd_alerts *a, const char *key, uint64_t id)
{
	struct alert *x = find(a, key);

	if (x && !x->id)
		x->id = id;
}

static const char *
hget(const redisReply *h, const char *f)
{
	return weirctl_hash_get(h, f);
}

int
alertd_alerts_restore(struct alertd_alerts *a, const redisReply *h)
{
	const char *rule = hget(h, "rule"), *entity = hget(h, "entity");
	const char *kind = hget(h, "kind"), *sev = hget(h, "severity");
	const char *id = hget(h, "id");
	struct alertd_rule fake = { 0 };
	struct alert *x;
	char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
	int k;

	if (!rule || !entity || !kind || !id || strlen(rule) >= ALERTD_NAME_MAX)
		return -1;
	for (k = 0; k < ALERTD_K_COUNT; k++)
		if (!strcmp(kind, alertd_kind_name((enum alertd_kind)k)))
			break;
	if (k == ALERTD_K_COUNT)
		return -1;
	make_key(key, sizeof(key), rule, entity);
	if (find(a, key))
		return 0;
	strcpy(fake.name, rule);
	fake.kind = (enum alertd_kind)k;
	if (!sev || alertd_sev_parse(sev, &fake.severity))
		fake.severity = ALERTD_SEV_WARNING;
	x = add(a, &fake, entity);
	if (!x)
		return -1;
	x->st = A_ACTIVE;
	x->id = strtoull(id, NULL, 10);
	x->seq = (unsigned)weirctl_hash_u64(h, "notes");
	x->engaged_ms = (int64_t)weirctl_hash_u64(h, "engaged_ms");
	x->updated_ms = (int64_t)weirctl_hash_u64(h, "updated_ms");
	x->last_match_ms = (int64_t)weirctl_hash_u64(h, "last_match_ms");
	if (!x->last_match_ms)
		x->last_match_ms = x->updated_ms;
	x->count = weirctl_hash_u64(h, "count");
	if (hget(h, "value")) {
		x->has_value = true;
		x->value = strtod(hget(h, "value"), NULL);
		x->peak = hget(h, "peak") ? strtod(hget(h, "peak"), NULL) : x->value;
		x->threshold = hget(h, "threshold") ?
			       strtod(hget(h, "threshold"), NULL) : 0;
	}
	set_text(x, hget(h, "summary"), hget(h, "details"));
	snprintf(x->node, sizeof(x->node), "%s", hget(h, "node") ? hget(h, "node") : "");
	return 0;
}
