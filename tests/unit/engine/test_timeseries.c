/* test_timeseries.c -- engine/timeseries.c against a clock the test
 * moves and a Redis that only records what it is told (the weir_redis_*
 * calls timeseries.c makes are defined here), so days of retention and a
 * long outage take no time: the expiry every series gets (PEXPIRE = its
 * retention, --data-retention days for 5 min, at most 7 days for 1 min, one
 * hour for 1 s), the trimming of points older than that
 * (ZREMRANGEBYSCORE with the right bound, once a minute), the points kept
 * while Redis is away (all of them up to the bound, the newest past it,
 * the rest counted), and the sums. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/redis.h"
#include "timeseries.h"
#include "check.h"

/* ---- a recording Redis: each command as one space-separated line */
#define MAX_CMDS 100000
struct weir_redis {
	char *cmd[MAX_CMDS];
	int n;
	char cur[1024];
	size_t len;
};

void
weir_redis_cmd_start(struct weir_redis *r, const char *verb)
{
	r->len = (size_t)snprintf(r->cur, sizeof(r->cur), "%s", verb);
}

void
weir_redis_arg(struct weir_redis *r, const char *s, size_t len)
{
	r->len += (size_t)snprintf(r->cur + r->len, sizeof(r->cur) - r->len, " %.*s", (int)len, s);
}

void
weir_redis_arg_u64(struct weir_redis *r, uint64_t v)
{
	r->len += (size_t)snprintf(r->cur + r->len, sizeof(r->cur) - r->len, " %llu", (unsigned long long)v);
}

void
weir_redis_cmd_end(struct weir_redis *r)
{
	if (r->n < MAX_CMDS)
		r->cmd[r->n++] = strdup(r->cur);
}

char *
weir_redis_put_u64(char *p, uint64_t v)
{
	return p + sprintf(p, "%llu", (unsigned long long)v);
}

static void
reset(struct weir_redis *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->cmd[i]);
	r->n = 0;
}

/* The argument after "VERB KEY" of the last such command, 0 if none. */
static unsigned long long
last_arg(const struct weir_redis *r, const char *verb_key, int skip)
{
	size_t n = strlen(verb_key);
	for (int i = r->n - 1; i >= 0; i--) {
		if (strncmp(r->cmd[i], verb_key, n) || r->cmd[i][n] != ' ')
			continue;
		const char *p = r->cmd[i] + n;
		for (int k = 0; k < skip; k++)
			p = strchr(p + 1, ' ');
		while (*p == ' ' || *p == '(')
			p++;
		return strtoull(p, NULL, 10);
	}
	return 0;
}

static int
count(const struct weir_redis *r, const char *prefix)
{
	int k = 0;
	for (int i = 0; i < r->n; i++)
		k += !strncmp(r->cmd[i], prefix, strlen(prefix));
	return k;
}

/* Bytes of the ZADDed points of key: member T:BYTES:PKTS:FLOWS. */
static unsigned long long
zadd_bytes(const struct weir_redis *r, const char *key)
{
	char want[256];
	unsigned long long sum = 0;
	snprintf(want, sizeof(want), "ZADD %s ", key);
	for (int i = 0; i < r->n; i++) {
		if (strncmp(r->cmd[i], want, strlen(want)))
			continue;
		const char *m = strrchr(r->cmd[i], ' ') + 1;
		unsigned long long t, b;
		if (sscanf(m, "%llu:%llu", &t, &b) == 2)
			sum += b;
	}
	return sum;
}

#define DAY 86400000ull
#define T0 1700000080000ull	/* 40 s into a minute */

static struct weir_redis rec;

/* One cycle at now, publish-interval ms after the last: the engine's
 * total is bytes; ok: Redis took it. */
static uint32_t interval = 1000;

static void
cycle_as(struct weir_ts *ts, uint64_t now, uint64_t bytes, int ok, int full)
{
	weir_ts_begin(ts, now, interval);
	weir_ts_observe(ts, "engine", bytes, bytes / 100, 0, 1);
	weir_ts_publish(ts, &rec, 0, full);
	weir_ts_committed(ts, ok);
}

static void
cycle(struct weir_ts *ts, uint64_t now, uint64_t bytes, int ok)
{
	cycle_as(ts, now, bytes, ok, 0);
}

static void
retention(uint32_t days, uint64_t keep_1m, uint64_t keep_5m)
{
	struct weir_ts *ts = weir_ts_new("t:", days);
	interval = 1000;
	uint64_t now = T0, total = 0;
	reset(&rec);
	for (int i = 0; i < 30; i++) {	/* across a minute boundary */
		total += 1000;
		cycle(ts, now, total, 1);
		now += 1000;
	}
	CHECK_EQ(last_arg(&rec, "PEXPIRE t:ts:1s:engine", 0), 3600000);
	CHECK_EQ(last_arg(&rec, "PEXPIRE t:ts:1m:engine", 0), keep_1m);
	/* the minute closed: its point, its expiry, and the old points trimmed */
	CHECK_EQ(count(&rec, "ZADD t:ts:1m:engine "), 1);
	CHECK_EQ(last_arg(&rec, "ZREMRANGEBYSCORE t:ts:1m:engine", 1), T0 + 20000 - keep_1m);
	/* the 1 s series gets its expiry and is trimmed, by an hour, with
	 * its first point and with the first point of the next minute */
	CHECK_EQ(last_arg(&rec, "ZREMRANGEBYSCORE t:ts:1s:engine", 1), T0 + 21000 - 3600000);
	CHECK_EQ(count(&rec, "ZREMRANGEBYSCORE t:ts:1s:engine"), 2);
	CHECK_EQ(count(&rec, "PEXPIRE t:ts:1s:engine "), 2);
	/* a day and more later, with five-minute points closing */
	now += days * DAY;
	for (int i = 0; i < 320; i++) {
		total += 1000;
		cycle(ts, now, total, 1);
		now += 1000;
	}
	CHECK_EQ(last_arg(&rec, "PEXPIRE t:ts:5m:engine", 0), keep_5m);
	CHECK(count(&rec, "ZREMRANGEBYSCORE t:ts:5m:engine") >= 1);
	uint64_t bound = last_arg(&rec, "ZREMRANGEBYSCORE t:ts:5m:engine", 1);
	CHECK(bound > T0 + days * DAY - keep_5m && bound < now - keep_5m);
	/* every point of the day-ago minute is older than the 1 min bound */
	CHECK(last_arg(&rec, "ZREMRANGEBYSCORE t:ts:1m:engine", 1) > T0 + 60000);
	/* sums: every byte is in exactly one 1 s point (the first is the
	 * whole total, from zero) */
	CHECK_EQ(count(&rec, "ZADD t:ts:1s:engine "), 350);
	CHECK_EQ(zadd_bytes(&rec, "t:ts:1s:engine"), total);
	weir_ts_free(ts);
}

/* The per-cycle series' expiry and trim at ms a cycle (not always a
 * divisor of a minute, so cycles straddle its start): once in each minute
 * that has a point, with its first point, and not once a cycle; again in a
 * full cycle (a new connection: Redis may have lost the key); again after a
 * lost cycle that carried them. A cycle at T writes the point of the cycle
 * before, at T - ms. */
static uint64_t last_t, total_b;

static int
step(struct weir_ts *ts, int ok, int full)	/* the next cycle: expiries sent */
{
	reset(&rec);
	last_t += interval;
	total_b += 1000;
	cycle_as(ts, last_t, total_b, ok, full);
	return count(&rec, "PEXPIRE t:ts:1s:engine ");
}

static int
opens_minute(void)	/* the next cycle's point is a minute's first */
{
	return last_t / 60000 != (last_t - interval) / 60000;
}

static void
expiry(uint32_t ms)
{
	struct weir_ts *ts = weir_ts_new("t:", 30);
	interval = ms;
	last_t = T0 - ms;
	total_b = 0;
	int n = 300000 / (int)ms, minutes = 0, expiries = 0, trims = 0, zadds = 0;
	for (int i = 0; i < n; i++) {	/* five minutes */
		int want = i == 0 || opens_minute();	/* the first cycle writes a point at T0 */
		minutes += want;
		expiries += step(ts, 1, 0);
		trims += count(&rec, "ZREMRANGEBYSCORE t:ts:1s:engine ");
		zadds += count(&rec, "ZADD t:ts:1s:engine ");
	}
	CHECK_EQ(zadds, n);
	CHECK_EQ(expiries, minutes);
	CHECK_EQ(trims, minutes);
	CHECK(minutes == 5 || minutes == 6);
	/* mid-minute: nothing, unless the cycle is a full one */
	while (last_t % 60000 < 5000 || last_t % 60000 > 50000)
		step(ts, 1, 0);
	CHECK_EQ(step(ts, 1, 0), 0);
	CHECK_EQ(step(ts, 1, 1), 1);
	CHECK_EQ(last_arg(&rec, "PEXPIRE t:ts:1s:engine", 0), 3600000);
	CHECK_EQ(step(ts, 1, 0), 0);
	/* a minute's first point in a cycle that is lost: its expiry and trim
	 * go again with the next cycle, and then not */
	while (!opens_minute())
		CHECK_EQ(step(ts, 1, 0), 0);
	CHECK_EQ(step(ts, 0, 0), 1);
	CHECK_EQ(step(ts, 1, 0), 1);
	CHECK_EQ(count(&rec, "ZREMRANGEBYSCORE t:ts:1s:engine "), 1);
	CHECK_EQ(step(ts, 1, 0), 0);
	weir_ts_free(ts);
}

/* Redis away for `lost` cycles at interval ms, then back: the 1 s points
 * are all sent if they fit the bound, else the newest, the others counted. */
static void
outage(uint32_t ms, int lost, int want_kept)
{
	struct weir_ts *ts = weir_ts_new("t:", 30);
	interval = ms;
	uint64_t now = T0, total = 0;
	cycle(ts, now, 0, 1);
	reset(&rec);
	for (int i = 0; i < lost; i++) {
		now += interval;
		total += 500;
		cycle(ts, now, total, 0);
	}
	reset(&rec);	/* what the lost cycles sent never landed */
	now += interval;
	total += 500;
	cycle(ts, now, total, 1);
	int kept = count(&rec, "ZADD t:ts:1s:engine ");
	CHECK_EQ(kept, want_kept);
	CHECK_EQ(weir_ts_dropped(ts), (uint64_t)(lost + 1 - want_kept));
	CHECK_EQ(zadd_bytes(&rec, "t:ts:1s:engine"), (uint64_t)want_kept * 500);
	/* after it, one point a cycle again */
	reset(&rec);
	now += interval;
	total += 500;
	cycle(ts, now, total, 1);
	CHECK_EQ(count(&rec, "ZADD t:ts:1s:engine "), 1);
	weir_ts_free(ts);
}

/* publish-interval changes (SIGHUP) during an outage: lost_a cycles at
 * ms_a, then lost_b at ms_b, then Redis is back. The bound is the one of
 * the interval in force: all kept if they fit it, else the newest. */
static void
outage_reload(uint32_t ms_a, int lost_a, uint32_t ms_b, int lost_b, int want_kept)
{
	struct weir_ts *ts = weir_ts_new("t:", 30);
	uint64_t now = T0, total = 0;
	interval = ms_a;
	cycle(ts, now, 0, 1);
	for (int i = 0; i < lost_a + lost_b; i++) {
		if (i == lost_a)
			interval = ms_b;
		now += interval;
		total += 500;
		cycle(ts, now, total, 0);
	}
	reset(&rec);
	now += interval;
	total += 500;
	cycle(ts, now, total, 1);
	CHECK_EQ(count(&rec, "ZADD t:ts:1s:engine "), want_kept);
	CHECK_EQ(weir_ts_dropped(ts), (uint64_t)(lost_a + lost_b + 1 - want_kept));
	CHECK_EQ(zadd_bytes(&rec, "t:ts:1s:engine"), (uint64_t)want_kept * 500);
	weir_ts_free(ts);
}

int
main(void)
{
	retention(1, DAY, DAY);		/* --data-retention 1 */
	retention(30, 7 * DAY, 30 * DAY);	/* the default */
	expiry(1000);
	expiry(1400);	/* a cycle longer than a second: once missed minutes */
	expiry(250);
	/* 5 s of backoff, twice, in cycles, + 4: 1 s cycles keep 14 points,
	 * 200 ms cycles 54, 100 ms cycles the cap of 64 */
	outage(1000, 10, 11);
	outage(1000, 20, 14);
	outage(200, 50, 51);
	outage(200, 70, 54);
	outage(100, 100, 64);
	/* 1 s, then 200 ms: 10 + 40 lost fit the 200 ms bound (54), none
	 * dropped (a bound sized once, at 1 s, keeps 14) */
	outage_reload(1000, 10, 200, 40, 51);
	/* 200 ms, then 1 s: 40 + 5 lost, the 1 s bound keeps the newest 14 */
	outage_reload(200, 40, 1000, 5, 14);
	return CHECK_DONE();
}
