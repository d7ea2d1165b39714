/* events.c -- see events.h. A FIFO of events, each a type and a few
 * name/value pairs copied into one allocation; sent oldest first with
 * XADD ... MAXLEN ~ 100000, removed only once the cycle carrying them was
 * committed. A burst (13,719 new hosts in one cycle: engine_keyspace.py's
 * burst case) is sent whole: the bound applies only after a cycle that did
 * not land, so memory stays bounded by
 * max_queued plus one cycle's news while Redis is away. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utlist.h>

#include "events.h"

#define STREAM_MAXLEN 100000

struct event {
	struct event *prev, *next;
	int n;                              /* argv entries after "XADD key MAXLEN ~ N *" */
	const char *argv[2 + 2 * WEIR_EVENT_MAX_FIELDS + 2];
	char buf[];
};

struct weir_events {
	char key[200];
	uint32_t max;
	uint32_t queued;
	uint32_t in_flight;                 /* sent in the cycle being committed */
	uint64_t dropped, sent;
	struct event *q;
};

struct weir_events *
weir_events_new(const char *prefix, uint32_t max_queued)
{
	struct weir_events *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->key, sizeof(e->key), "%sevents", prefix);
	e->max = max_queued;
	return e;
}

void
weir_events_free(struct weir_events *e)
{
	if (!e)
		return;
	struct event *ev, *t;
	DL_FOREACH_SAFE(e->q, ev, t) {
		DL_DELETE(e->q, ev);
		free(ev);
	}
	free(e);
}

/* Copy s to *p and advance *p past it; returns where s went. */
static const char *
copy(char **p, const char *s)
{
	char *at = *p;
	size_t n = strlen(s) + 1;
	memcpy(at, s, n);
	*p += n;
	return at;
}

void
weir_events_add(struct weir_events *e, uint64_t ts_ms, const char *type, ...)
{
	const char *kv[2 * WEIR_EVENT_MAX_FIELDS];
	char tsbuf[24];
	int n = 0;
	size_t bytes = strlen(type) + 1;
	snprintf(tsbuf, sizeof(tsbuf), "%llu", (unsigned long long)ts_ms);
	bytes += strlen(tsbuf) + 1 + sizeof("type") + sizeof("ts");
	va_list ap;
	va_start(ap, type);
	for (const char *k; (k = va_arg(ap, const char *)) && n < 2 * (WEIR_EVENT_MAX_FIELDS - 2);) {
		const char *v = va_arg(ap, const char *);
		kv[n++] = k;
		kv[n++] = v ? v : "";
		bytes += strlen(k) + strlen(v ? v : "") + 2;
	}
	va_end(ap);
	struct event *ev = malloc(sizeof(*ev) + bytes);
	if (!ev) {
		e->dropped++;
		return;
	}
	char *p = ev->buf;
	int a = 0;
	ev->argv[a++] = copy(&p, "type");
	ev->argv[a++] = copy(&p, type);
	ev->argv[a++] = copy(&p, "ts");
	ev->argv[a++] = copy(&p, tsbuf);
	for (int i = 0; i < n; i++)
		ev->argv[a++] = copy(&p, kv[i]);
	ev->n = a;
	DL_APPEND(e->q, ev);
	e->queued++;
}

void
weir_events_publish(struct weir_events *e, struct weir_redis *r)
{
	const char *argv[6 + 2 * WEIR_EVENT_MAX_FIELDS + 4];
	size_t lens[6 + 2 * WEIR_EVENT_MAX_FIELDS + 4];
	char maxlen[16];
	snprintf(maxlen, sizeof(maxlen), "%d", STREAM_MAXLEN);
	e->in_flight = 0;
	struct event *ev;
	DL_FOREACH(e->q, ev) {
		int a = 0;
		argv[a++] = "XADD";
		argv[a++] = e->key;
		argv[a++] = "MAXLEN";
		argv[a++] = "~";
		argv[a++] = maxlen;
		argv[a++] = "*";
		for (int i = 0; i < ev->n; i++)
			argv[a++] = ev->argv[i];
		for (int i = 0; i < a; i++)
			lens[i] = strlen(argv[i]);
		weir_redis_cmdv(r, a, argv, lens);
		e->in_flight++;
	}
}

void
weir_events_committed(struct weir_events *e, int ok)
{
	if (!ok) {
		e->in_flight = 0;
		while (e->queued > e->max && e->q) {	/* newest first */
			struct event *ev = e->q->prev;	/* utlist: head->prev is the tail */
			DL_DELETE(e->q, ev);
			free(ev);
			e->queued--;
			e->dropped++;
		}
		return;
	}
	while (e->in_flight && e->q) {
		struct event *ev = e->q;
		DL_DELETE(e->q, ev);
		free(ev);
		e->in_flight--;
		e->queued--;
		e->sent++;
	}
}

uint64_t
weir_events_dropped(const struct weir_events *e)
{
	return e->dropped;
}

uint64_t
weir_events_sent(const struct weir_events *e)
{
	return e->sent;
}

uint64_t
weir_events_sent_if_ok(const struct weir_events *e)
{
	return e->sent + e->in_flight;
}
