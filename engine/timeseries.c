/* timeseries.c -- see timeseries.h.
 *
 * One record per entity, found by name: the last totals seen, and an
 * accumulator per resolution (1 s = one publish cycle, 1 min, 5 min). A
 * point is written when its interval closes and only if something happened
 * in it (readers read a gap as zero), so an idle entity costs nothing in
 * Redis. Points not yet committed (Redis down) stay pending, bounded per
 * entity, and go out with the next cycle that lands: per-cycle points up to
 * twice the longest reconnect backoff (WEIR_REDIS_BACKOFF_MAX_MS) worth of
 * cycles at the current publish interval (it may change on SIGHUP), so a
 * reconnection loses none; past the bound the oldest go, counted
 * (series_points_dropped). The pending arrays grow only while Redis is
 * away. Retention: a series gets an expiry of its retention, and is
 * trimmed with ZREMRANGEBYSCORE, with its first point of each minute (so
 * with every 1 min and 5 min point, and once a minute for the per-cycle
 * points, whatever the publish interval), and with its first point after
 * a reconnection (a full cycle: Redis may have lost the key and its
 * expiry), so neither a busy entity nor a vanished one grows without
 * bound. A key thus expires between retention - 1 min and retention
 * after its last point. Sending the expiry with every per-cycle point
 * instead was one command in six of a busy collector's cycle
 * (docs/benchmarks.md, session 12). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "timeseries.h"

enum { R_1S, R_1M, R_5M, R_N };
static const char *const res_name[R_N] = { "1s", "1m", "5m" };
static const uint64_t res_ms[R_N] = { 0, 60000, 300000 };

#define MAX_PENDING_LONG 4     /* closed 1 min / 5 min points waiting for Redis */
#define MAX_PENDING_1S 64     /* per-cycle points, whatever the interval */

struct point {
	uint64_t t, b, p, f;
};

struct series {
	UT_hash_handle hh;
	uint64_t last[3];               /* bytes, pkts, flows totals */
	uint64_t start[R_N];            /* open interval start */
	uint64_t acc[R_N][3];
	struct point *pend[R_N];        /* closed points waiting for Redis */
	uint8_t n_pend[R_N], cap_pend[R_N];
	uint8_t sent[R_N];              /* pending points in the cycle being sent */
	uint32_t kept_min[R_N];         /* minute + 1 of the last committed expiry and trim, 0: none */
	uint32_t keep_sent[R_N];        /* ...sent in the cycle being sent, 0: none */
	uint8_t touched;
	char name[];
};

struct weir_ts {
	char prefix[160];
	uint64_t keep_ms[R_N];
	uint64_t now, prev_now;
	uint8_t max_pend[R_N];
	uint64_t dropped;               /* points lost to max_pend */
	struct series *all;
};

/* Per-cycle points kept for a Redis that is away: twice the longest
 * reconnect backoff worth of cycles of interval_ms, + 4, at most 64. */
static uint8_t
pend_bound_1s(uint32_t interval_ms)
{
	uint32_t n = 2 * WEIR_REDIS_BACKOFF_MAX_MS / (interval_ms ? interval_ms : 1000) + 4;
	return n < MAX_PENDING_1S ? (uint8_t)n : MAX_PENDING_1S;
}

struct weir_ts *
weir_ts_new(const char *prefix, uint32_t retention_days)
{
	struct weir_ts *ts = calloc(1, sizeof(*ts));
	if (!ts)
		return NULL;
	ts->max_pend[R_1S] = pend_bound_1s(1000);	/* set again by each weir_ts_begin */
	ts->max_pend[R_1M] = ts->max_pend[R_5M] = MAX_PENDING_LONG;
	snprintf(ts->prefix, sizeof(ts->prefix), "%s", prefix);
	uint64_t day = 86400000ull, ret = (uint64_t)retention_days * day;
	ts->keep_ms[R_1S] = 3600000ull;
	ts->keep_ms[R_1M] = ret < 7 * day ? ret : 7 * day;
	ts->keep_ms[R_5M] = ret;
	return ts;
}

void
weir_ts_free(struct weir_ts *ts)
{
	if (!ts)
		return;
	struct series *s, *t;
	HASH_ITER(hh, ts->all, s, t) {
		HASH_DEL(ts->all, s);
		for (int r = 0; r < R_N; r++)
			free(s->pend[r]);
		free(s);
	}
	free(ts);
}

uint64_t
weir_ts_entities(const struct weir_ts *ts)
{
	return HASH_COUNT(ts->all);
}

uint64_t
weir_ts_dropped(const struct weir_ts *ts)
{
	return ts->dropped;
}

void
weir_ts_begin(struct weir_ts *ts, uint64_t now_ms, uint32_t interval_ms)
{
	ts->prev_now = ts->now ? ts->now : now_ms;
	ts->now = now_ms;
	ts->max_pend[R_1S] = pend_bound_1s(interval_ms);
}

/* The k oldest pending points of s at resolution r go, counted. */
static void
drop_oldest(struct weir_ts *ts, struct series *s, int r, unsigned int k)
{
	memmove(&s->pend[r][0], &s->pend[r][k], (size_t)(s->n_pend[r] - k) * sizeof(struct point));
	s->n_pend[r] = (uint8_t)(s->n_pend[r] - k);
	s->sent[r] = s->sent[r] > k ? (uint8_t)(s->sent[r] - k) : 0;
	ts->dropped += k;
}

static void
pend(struct weir_ts *ts, struct series *s, int r, uint64_t t, const uint64_t v[3])
{
	if (!(v[0] | v[1] | v[2]))
		return;
	/* Redis has been away for a while: keep the newest (the bound may
	 * have shrunk since they came: a longer publish interval) */
	if (s->n_pend[r] >= ts->max_pend[r])
		drop_oldest(ts, s, r, s->n_pend[r] - ts->max_pend[r] + 1u);
	if (s->n_pend[r] == s->cap_pend[r] && s->cap_pend[r] < ts->max_pend[r]) {
		unsigned cap = s->cap_pend[r] ? 2u * s->cap_pend[r] : 2;
		cap = cap < ts->max_pend[r] ? cap : ts->max_pend[r];
		struct point *p = realloc(s->pend[r], cap * sizeof(*p));
		if (p) {
			s->pend[r] = p;
			s->cap_pend[r] = (uint8_t)cap;
		}
	}
	if (!s->cap_pend[r]) {
		ts->dropped++;
		return;
	}
	if (s->n_pend[r] == s->cap_pend[r])	/* no memory to grow: keep the newest */
		drop_oldest(ts, s, r, 1);
	s->pend[r][s->n_pend[r]++] = (struct point){ t, v[0], v[1], v[2] };
}

void
weir_ts_observe(struct weir_ts *ts, const char *entity, uint64_t bytes, uint64_t pkts,
		uint64_t flows, int from_zero)
{
	struct series *s;
	HASH_FIND_STR(ts->all, entity, s);
	if (!s) {
		size_t n = strlen(entity) + 1;
		s = calloc(1, sizeof(*s) + n);
		if (!s)
			return;
		memcpy(s->name, entity, n);
		if (!from_zero) {
			s->last[0] = bytes;
			s->last[1] = pkts;
			s->last[2] = flows;
		}
		for (int r = R_1M; r < R_N; r++)
			s->start[r] = ts->now - ts->now % res_ms[r];
		HASH_ADD_STR(ts->all, name, s);
	}
	uint64_t d[3] = { bytes - s->last[0], pkts - s->last[1], flows - s->last[2] };
	if (bytes < s->last[0] || pkts < s->last[1] || flows < s->last[2])
		d[0] = d[1] = d[2] = 0;	/* never negative: a reset is not traffic */
	s->last[0] = bytes;
	s->last[1] = pkts;
	s->last[2] = flows;
	pend(ts, s, R_1S, ts->prev_now, d);
	for (int r = R_1M; r < R_N; r++) {
		uint64_t start = ts->now - ts->now % res_ms[r];
		if (start != s->start[r]) {
			pend(ts, s, r, s->start[r], s->acc[r]);
			memset(s->acc[r], 0, sizeof(s->acc[r]));
			s->start[r] = start;
		}
		for (int k = 0; k < 3; k++)
			s->acc[r][k] += d[k];
	}
	s->touched = 1;
}

void
weir_ts_publish(struct weir_ts *ts, struct weir_redis *r, int final, int full)
{
	char key[512], member[96];
	struct series *s, *t;
	HASH_ITER(hh, ts->all, s, t) {
		if (final) {
			for (int k = R_1M; k < R_N; k++) {
				pend(ts, s, k, s->start[k], s->acc[k]);
				memset(s->acc[k], 0, sizeof(s->acc[k]));
			}
		}
		for (int k = 0; k < R_N; k++) {
			s->sent[k] = s->n_pend[k];
			if (!s->n_pend[k])
				continue;
			/* PREFIXts:RES:NAME, every active series every cycle: no printf */
			char *kp = stpcpy(stpcpy(stpcpy(key, ts->prefix), "ts:"), res_name[k]);
			*kp++ = ':';
			size_t room = sizeof(key) - (size_t)(kp - key), n = strlen(s->name);
			n = n < room ? n : room - 1;
			memcpy(kp, s->name, n);
			kp[n] = 0;
			for (int i = 0; i < s->n_pend[k]; i++) {
				/* member T:BYTES:PKTS:FLOWS, built without printf */
				const struct point *p = &s->pend[k][i];
				char *m = weir_redis_put_u64(member, p->t);
				*m++ = ':';
				m = weir_redis_put_u64(m, p->b);
				*m++ = ':';
				m = weir_redis_put_u64(m, p->p);
				*m++ = ':';
				m = weir_redis_put_u64(m, p->f);
				weir_redis_cmd_start(r, "ZADD");
				weir_redis_arg_str(r, key);
				weir_redis_arg_u64(r, p->t);
				weir_redis_arg(r, member, (size_t)(m - member));
				weir_redis_cmd_end(r);
			}
			/* expiry and trim: with the first point of a minute, or
			 * after a reconnection; bounded work per point */
			uint32_t min = (uint32_t)(s->pend[k][s->n_pend[k] - 1].t / 60000 + 1);
			s->keep_sent[k] = 0;
			if (full || min != s->kept_min[k]) {
				char lim[24];
				weir_redis_cmd_start(r, "PEXPIRE");
				weir_redis_arg_str(r, key);
				weir_redis_arg_u64(r, ts->keep_ms[k]);
				weir_redis_cmd_end(r);
				lim[0] = '(';
				char *e = weir_redis_put_u64(lim + 1, ts->now - ts->keep_ms[k]);
				weir_redis_cmd_start(r, "ZREMRANGEBYSCORE");
				weir_redis_arg_str(r, key);
				weir_redis_arg(r, "-inf", 4);
				weir_redis_arg(r, lim, (size_t)(e - lim));
				weir_redis_cmd_end(r);
				s->keep_sent[k] = min;
			}
		}
	}
}

void
weir_ts_committed(struct weir_ts *ts, int ok)
{
	struct series *s, *t;
	HASH_ITER(hh, ts->all, s, t) {
		for (int k = 0; k < R_N; k++) {
			if (ok && s->keep_sent[k])
				s->kept_min[k] = s->keep_sent[k];
			s->keep_sent[k] = 0;
			if (ok && s->sent[k]) {
				memmove(&s->pend[k][0], &s->pend[k][s->sent[k]],
					(size_t)(s->n_pend[k] - s->sent[k]) * sizeof(struct point));
				s->n_pend[k] -= s->sent[k];
			}
			s->sent[k] = 0;
			if (ok && !s->n_pend[k] && s->cap_pend[k] > 2) {	/* the outage is over */
				free(s->pend[k]);
				s->pend[k] = NULL;
				s->cap_pend[k] = 0;
			}
		}
	}
}
