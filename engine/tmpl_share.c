/* tmpl_share.c -- the control thread's side of template sharing (see
 * tmpl_share.h for why it exists).
 *
 * Redis holds one hash per exporter and observation domain (v9 source id),
 * `PREFIXtmpl:{ADDR}:DOMAIN`, shared by every node: field `v9:ID` or
 * `ipfix:ID`, value `SETID LEARNT_MS HEX` (the set the template record
 * belongs in, when it was learnt, the record's bytes in hex), and a key
 * expiry of the template expiry, renewed on every write. The braces make
 * the exporter address the Redis Cluster hash tag.
 *
 * What our workers learn is kept here (`known`) until it is written, and
 * after, so that a new connection (Redis restarted empty) writes it again;
 * it is forgotten when it expires. Questions are answered from `known` when
 * Redis is behind it (not yet written, or a withdrawal not yet deleted),
 * else from Redis (a sibling may hold a newer definition), else from
 * `known` (Redis unreachable, or it lost the key). Every Redis
 * round trip is counted against a budget per call, so a flood of exporters
 * delays the sharing, never the control loop; the rings between here and
 * the workers are bounded and a full one drops and counts. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <uthash.h>
#include <utlist.h>

#include "log.h"
#include "tmpl_share.h"
#include "worker.h"

#define KNOWN_MAX	16384	/* templates kept for writing (at most ~18 MB) */
#define ASKS_MAX	4096	/* templates asked for in the last second */
#define ALL_MAX		256	/* IPFIX withdraw-all waiting to be written */
#define OPS_PER_RUN	32	/* Redis round trips per call, */
#define US_PER_RUN	2000	/* and time spent on them (a distant Redis) */
#define ASK_EVERY_MS	1000	/* per template, whatever the workers ask */
#define CLOCK_SKEW_MS	60000	/* a sibling's clock may be this far ahead */

struct tkey {
	uint8_t  addr[16];
	uint32_t domain;
	uint16_t id;
	uint8_t  version;
	uint8_t  pad;		/* zero: keys are hashed as bytes */
};

struct known {
	struct tkey k;
	UT_hash_handle hh;
	struct known *prev, *next;	/* the dirty list */
	uint64_t learnt_ms;
	uint16_t set_id;
	uint16_t len;
	uint8_t  gone;		/* withdrawn: delete it in Redis, then forget it */
	uint8_t  dirty;		/* Redis does not have this state yet */
	uint8_t  rec[];
};

struct ask {
	struct tkey k;
	UT_hash_handle hh;
	uint64_t until_ms;
};

/* What one call may still spend on Redis. */
struct budget {
	int ops;
	uint64_t end_us;
};

static uint64_t
mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* Take one round trip from b; false when it is spent. */
static bool
spend(struct budget *b)
{
	if (b->ops <= 0 || mono_us() >= b->end_us) {
		b->ops = 0;
		return false;
	}
	b->ops--;
	return true;
}

struct withdraw_all {
	uint8_t  addr[16];
	uint32_t domain;
	uint16_t set_id;
};

struct weir_tmpl_share {
	const struct weir_config *cfg;
	struct weir_worker **w;
	unsigned int n_workers;
	struct weir_redis *redis;
	struct known *known, *dirty;
	unsigned int n_known;
	struct ask *asks;
	unsigned int n_asks;
	struct withdraw_all all[ALL_MAX];
	unsigned int n_all;
	uint64_t connects;	/* Redis connections seen; a new one rewrites */
	uint64_t next_sweep_ms;
	struct weir_tmpl_share_stats st;
};

struct weir_tmpl_share *
weir_tmpl_share_new(const struct weir_config *cfg, struct weir_worker **w, unsigned int n,
		    struct weir_redis *redis)
{
	if (!n || !w[0]->tmpl_out.slot)
		return NULL;
	struct weir_tmpl_share *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->cfg = cfg;
	ts->w = w;
	ts->n_workers = n;
	ts->redis = redis;
	return ts;
}

static void
forget(struct weir_tmpl_share *ts, struct known *e)
{
	if (e->dirty)
		DL_DELETE(ts->dirty, e);
	HASH_DEL(ts->known, e);
	ts->n_known--;
	free(e);
}

void
weir_tmpl_share_free(struct weir_tmpl_share *ts)
{
	if (!ts)
		return;
	struct known *e, *te;
	HASH_ITER(hh, ts->known, e, te)
		forget(ts, e);
	struct ask *a, *ta;
	HASH_ITER(hh, ts->asks, a, ta) {
		HASH_DEL(ts->asks, a);
		free(a);
	}
	free(ts);
}

const struct weir_tmpl_share_stats *
weir_tmpl_share_stats(const struct weir_tmpl_share *ts)
{
	return &ts->st;
}

/* ---- names and values in Redis ------------------------------------------ */

static void
redis_key(const struct weir_tmpl_share *ts, const uint8_t addr[16], uint32_t domain,
	  char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (weir_addr_is_v4(addr))
		inet_ntop(AF_INET, addr + 12, a, sizeof(a));
	else
		inet_ntop(AF_INET6, addr, a, sizeof(a));
	snprintf(out, len, "%stmpl:{%s}:%u", ts->cfg->redis_prefix, a, domain);
}

static void
redis_field(const struct tkey *k, char *out, size_t len)
{
	snprintf(out, len, "%s:%u", k->version == 9 ? "v9" : "ipfix", k->id);
}

static bool
set_fits(uint8_t version, unsigned int set_id)
{
	return version == 9 ? set_id <= 1 : set_id == 2 || set_id == 3;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "SETID LEARNT_MS HEX" into m (set_id, len, rec) and *learnt. Anything
 * else, or a record that is not the one asked for, is refused: Redis is
 * another program's data, parsed as carefully as a datagram. */
static bool
value_parse(const char *v, size_t n, const struct tkey *k, struct weir_tmpl_msg *m,
	    uint64_t *learnt)
{
	char head[64];
	size_t sp = 0;
	int fields = 0;
	while (sp < n && sp < sizeof(head) - 1 && fields < 2) {
		head[sp] = v[sp];
		if (v[sp++] == ' ')
			fields++;
	}
	head[sp] = 0;
	unsigned int set_id;
	unsigned long long ms;
	char sep[2];
	if (fields != 2 || sscanf(head, "%u %llu%1[ ]", &set_id, &ms, sep) != 3 ||
	    !set_fits(k->version, set_id))
		return false;
	size_t hex = n - sp;
	if (hex < 8 || hex % 2 || hex / 2 > WEIR_TMPL_REC_MAX)
		return false;
	for (size_t i = 0; i < hex / 2; i++) {
		int hi = hexval(v[sp + 2 * i]), lo = hexval(v[sp + 2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		m->rec[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((m->rec[0] << 8 | m->rec[1]) != k->id)
		return false;
	m->set_id = (uint16_t)set_id;
	m->len = (uint16_t)(hex / 2);
	*learnt = ms;
	return true;
}

/* ---- questions from the workers ---------------------------------------- */

static void
key_of_msg(const struct weir_tmpl_msg *m, struct tkey *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, m->addr, 16);
	k->domain = m->domain;
	k->id = m->id;
	k->version = m->version;
}

static uint64_t
age(uint64_t now_ms, uint64_t learnt_ms)
{
	return now_ms > learnt_ms ? now_ms - learnt_ms : 0;
}

/* The template from Redis into m; false if there is none usable. */
static bool
from_redis(struct weir_tmpl_share *ts, const struct tkey *k, struct weir_tmpl_msg *m,
	   uint64_t now_ms)
{
	char key[256], field[32];
	redis_key(ts, k->addr, k->domain, key, sizeof(key));
	redis_field(k, field, sizeof(field));
	ts->st.lookups++;
	redisReply *r = weir_redis_query(ts->redis, key, "HGET %s %s", key, field);
	if (!r)
		return false;
	bool ok = false;
	uint64_t learnt = 0;
	if (r->type == REDIS_REPLY_STRING) {
		ok = value_parse(r->str, r->len, k, m, &learnt);
		if (!ok) {
			ts->st.bad++;
			WEIR_LOG_RL(WEIR_LOG_WARN, 10000, "template sharing: %s field %s in Redis is "
				    "not a template this engine wrote; ignored", key, field);
		} else if (learnt > now_ms + CLOCK_SKEW_MS ||
			   age(now_ms, learnt) > ts->cfg->xlim.template_ttl_ms) {
			ok = false;	/* expired: the rest of its hash kept it */
		}
	}
	freeReplyObject(r);
	if (ok)
		m->age_ms = age(now_ms, learnt);
	return ok;
}

static bool
from_known(const struct known *e, struct weir_tmpl_msg *m, uint64_t now_ms)
{
	if (!e || e->gone || !e->len)
		return false;
	m->set_id = e->set_id;
	m->len = e->len;
	memcpy(m->rec, e->rec, e->len);
	m->age_ms = age(now_ms, e->learnt_ms);
	return true;
}

/* A worker holds data for template q: send it the template if anyone has
 * it. false: no Redis budget left in this call, ask again later. */
static bool
answer(struct weir_tmpl_share *ts, unsigned int wi, const struct weir_tmpl_msg *q,
       uint64_t now_ms, bool up, struct budget *b)
{
	struct tkey k;
	key_of_msg(q, &k);
	struct ask *a;
	HASH_FIND(hh, ts->asks, &k, sizeof(k), a);
	if (a && now_ms < a->until_ms)
		return true;		/* asked a moment ago: the worker asks again */
	/* what our workers told us and Redis does not have yet is newer than
	 * Redis: a withdrawal not yet deleted there must not come back */
	struct known *e;
	HASH_FIND(hh, ts->known, &k, sizeof(k), e);
	bool ask_redis = up && !(e && e->dirty);
	if (ask_redis && !spend(b))
		return false;
	if (!a) {
		if (ts->n_asks >= ASKS_MAX || !(a = calloc(1, sizeof(*a)))) {
			ts->st.drops++;
			return true;
		}
		a->k = k;
		HASH_ADD(hh, ts->asks, k, sizeof(a->k), a);
		ts->n_asks++;
	}
	a->until_ms = now_ms + ASK_EVERY_MS;
	struct weir_spsc_ring *ring = &ts->w[wi]->tmpl_in;
	struct weir_tmpl_msg *m = weir_spsc_ring_reserve(ring);
	if (!m) {
		ts->st.drops++;
		return true;
	}
	bool found = ask_redis && from_redis(ts, &k, m, now_ms);
	if (!found)
		found = from_known(e, m, now_ms);
	if (!found) {
		ts->st.misses++;
		return true;
	}
	memcpy(m->addr, k.addr, 16);
	m->domain = k.domain;
	m->id = k.id;
	m->version = k.version;
	m->kind = WEIR_TMSG_INSTALL;
	weir_spsc_ring_push(ring);
	ts->st.answers++;
	return true;
}

/* ---- what the workers learnt and withdrew ------------------------------- */

static void
mark_dirty(struct weir_tmpl_share *ts, struct known *e)
{
	if (!e->dirty) {
		e->dirty = 1;
		DL_APPEND(ts->dirty, e);
	}
}

/* The entry for k with room for len record bytes, created or grown. */
static struct known *
entry(struct weir_tmpl_share *ts, const struct tkey *k, size_t len)
{
	struct known *e;
	HASH_FIND(hh, ts->known, k, sizeof(*k), e);
	if (e && e->len >= len)
		return e;
	if (!e && ts->n_known >= KNOWN_MAX) {
		ts->st.drops++;
		return NULL;
	}
	struct known *n = calloc(1, sizeof(*n) + len);
	if (!n) {
		ts->st.drops++;
		return NULL;
	}
	n->k = *k;
	if (e) {		/* grow: the caller marks it dirty again */
		n->learnt_ms = e->learnt_ms;
		forget(ts, e);
	}
	HASH_ADD(hh, ts->known, k, sizeof(n->k), n);
	ts->n_known++;
	return n;
}

static void
take(struct weir_tmpl_share *ts, const struct weir_tmpl_msg *m, uint64_t now_ms)
{
	struct tkey k;
	key_of_msg(m, &k);
	struct known *e;
	switch (m->kind) {
	case WEIR_TMPL_LEARNT:
		if (!(e = entry(ts, &k, m->len)))
			return;
		e->set_id = m->set_id;
		e->len = m->len;
		memcpy(e->rec, m->rec, m->len);
		e->learnt_ms = now_ms;
		e->gone = 0;
		mark_dirty(ts, e);
		return;
	case WEIR_TMPL_WITHDRAWN:
		/* Redis may have it from before a restart, or from a sibling */
		if (!(e = entry(ts, &k, 0)))
			return;
		e->gone = 1;
		mark_dirty(ts, e);
		return;
	case WEIR_TMPL_WITHDRAW_ALL: {
		struct known *t;
		HASH_ITER(hh, ts->known, e, t)
			if (e->k.version == 10 && e->k.domain == m->domain && e->set_id == m->set_id &&
			    !memcmp(e->k.addr, m->addr, 16) && e->len) {
				e->gone = 1;
				mark_dirty(ts, e);
			}
		if (ts->n_all >= ALL_MAX) {
			ts->st.drops++;
			return;
		}
		struct withdraw_all *w = &ts->all[ts->n_all++];
		memcpy(w->addr, m->addr, 16);
		w->domain = m->domain;
		w->set_id = m->set_id;
		return;
	}
	}
}

/* ---- writing ------------------------------------------------------------ */

/* One round trip; false if Redis went away (keep the rest for later). */
static bool
write_one(struct weir_tmpl_share *ts, struct known *e)
{
	char key[256], field[32];
	redis_key(ts, e->k.addr, e->k.domain, key, sizeof(key));
	redis_field(&e->k, field, sizeof(field));
	redisReply *r;
	if (e->gone) {
		r = weir_redis_query(ts->redis, key, "HDEL %s %s", key, field);
	} else {
		static const char hexd[] = "0123456789abcdef";
		char val[64 + 2 * WEIR_TMPL_REC_MAX];
		int n = snprintf(val, sizeof(val), "%u %llu ", e->set_id,
				 (unsigned long long)e->learnt_ms);
		for (unsigned int i = 0; i < e->len; i++) {
			val[n++] = hexd[e->rec[i] >> 4];
			val[n++] = hexd[e->rec[i] & 15];
		}
		val[n] = 0;
		char ttl[24];
		snprintf(ttl, sizeof(ttl), "%u", ts->cfg->xlim.template_ttl_ms);
		r = weir_redis_query(ts->redis, key, "EVAL %s 1 %s %s %s %s",
				     "redis.call('HSET',KEYS[1],ARGV[1],ARGV[2]) "
				     "return redis.call('PEXPIRE',KEYS[1],ARGV[3])",
				     key, field, val, ttl);
	}
	if (!r)
		return false;
	bool ok = r->type != REDIS_REPLY_ERROR;
	if (!ok)
		WEIR_LOG_RL(WEIR_LOG_WARN, 10000, "template sharing: writing %s: %s", key, r->str);
	freeReplyObject(r);
	if (ok && e->gone)
		ts->st.withdrawn++;
	else if (ok)
		ts->st.shared++;
	return true;
}

static void
flush(struct weir_tmpl_share *ts, struct budget *b)
{
	/* withdraw-all first: a template defined after it is in the dirty list */
	while (ts->n_all && spend(b)) {
		struct withdraw_all *w = &ts->all[0];
		char key[256], set[8];
		redis_key(ts, w->addr, w->domain, key, sizeof(key));
		snprintf(set, sizeof(set), "%u", w->set_id);
		redisReply *r = weir_redis_query(ts->redis, key, "EVAL %s 1 %s %s",
			"local h=redis.call('HGETALL',KEYS[1]) local n=0 "
			"for i=1,#h,2 do if string.sub(h[i],1,6)=='ipfix:' and "
			"string.sub(h[i+1],1,#ARGV[1]+1)==ARGV[1]..' ' then "
			"redis.call('HDEL',KEYS[1],h[i]) n=n+1 end end return n", key, set);
		if (!r)
			return;
		if (r->type == REDIS_REPLY_INTEGER)
			ts->st.withdrawn += (uint64_t)r->integer;
		freeReplyObject(r);
		memmove(ts->all, ts->all + 1, --ts->n_all * sizeof(ts->all[0]));
	}
	while (ts->dirty && spend(b)) {
		struct known *e = ts->dirty;
		if (!write_one(ts, e))
			return;
		DL_DELETE(ts->dirty, e);
		e->dirty = 0;
		if (e->gone)
			forget(ts, e);
	}
}

/* Once a second: forget what expired, and the questions' rate limits. */
static void
sweep(struct weir_tmpl_share *ts, uint64_t now_ms)
{
	struct known *e, *te;
	HASH_ITER(hh, ts->known, e, te)
		if (!e->dirty && age(now_ms, e->learnt_ms) > ts->cfg->xlim.template_ttl_ms)
			forget(ts, e);
	struct ask *a, *ta;
	HASH_ITER(hh, ts->asks, a, ta)
		if (now_ms >= a->until_ms) {
			HASH_DEL(ts->asks, a);
			ts->n_asks--;
			free(a);
		}
	ts->next_sweep_ms = now_ms + 1000;
}

void
weir_tmpl_share_run(struct weir_tmpl_share *ts, uint64_t now_ms)
{
	if (!ts)
		return;
	bool up = weir_redis_connected(ts->redis);
	struct budget b = { OPS_PER_RUN, mono_us() + US_PER_RUN };
	if (up) {
		/* a new connection may be to a Redis that lost everything */
		uint64_t c = weir_redis_stats(ts->redis)->connects;
		if (c != ts->connects) {
			ts->connects = c;
			struct known *e, *te;
			HASH_ITER(hh, ts->known, e, te)
				mark_dirty(ts, e);
		}
	}
	for (unsigned int i = 0; i < ts->n_workers; i++) {
		struct weir_spsc_ring *ring = &ts->w[i]->tmpl_out;
		const struct weir_tmpl_msg *m;
		while ((m = weir_spsc_ring_peek(ring))) {
			if (m->kind == WEIR_TMPL_WANTED) {
				if (!answer(ts, i, m, now_ms, up, &b))
					break;	/* the rest of this ring next time */
			} else {
				take(ts, m, now_ms);
			}
			weir_spsc_ring_pop(ring);
		}
	}
	if (up)
		flush(ts, &b);
	if (now_ms >= ts->next_sweep_ms)
		sweep(ts, now_ms);
}
