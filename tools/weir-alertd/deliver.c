/* deliver.c -- the delivery queue and its workers.
 *
 * The main thread records an alert, then pushes one job per destination
 * here and goes back to reading events: it never waits for a webhook or
 * a mail server. A few worker threads (config `workers`) take the job
 * that is due soonest; a failed attempt that may work later goes back in
 * the queue with a backoff that doubles from the destination's `backoff`
 * up to `backoff-max`, for `retries` more attempts, so a dead endpoint
 * holds one worker for one timeout at a time and never the others.
 *
 * One attempt at a time per destination: take() passes over the jobs of a
 * destination that already has an attempt running, so an endpoint that
 * accepts and never answers holds one worker for its timeout while the
 * other workers go on delivering to everyone else. A destination's notes
 * go out in the order they came unless one is retried: a job put back
 * with its backoff has a later not_before than the jobs queued after it
 * (0, new), so those go first and the retried note arrives after them.
 *
 * The rate limit is per destination: at most N notes per period (a fixed
 * window); a note over the limit is not sent and says so in its result.
 * Limits and the running count are kept by destination name, so a SIGHUP
 * reload keeps them.
 *
 * Every job ends with a result (ok, failed after N attempts: why,
 * refused: why, rate-limited) that the worker records at once over its
 * own Redis connection: the note leaves the outbox and the alert's hash
 * says what happened. A crash can therefore repeat only a note whose
 * delivery had succeeded and whose record had not landed yet, a window
 * of one Redis round trip; receivers that must not see a repeat can drop
 * it by its X-Weir-Delivery id. A result Redis did not take goes to the
 * main thread, which records it later. A job left when the process stops
 * stays in the outbox and is sent at the next start. Among the jobs that
 * are due, take() starts the one with the earliest not_before, then the
 * oldest. A job knows its home, the
 * node whose keys hold its alert and outbox entry; a worker points its
 * connection there before recording. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alertd.h"

struct job {
	struct job *next;
	uint64_t order;
	struct alertd_conf *conf;
	int dest;
	char home[ALERTD_NODE_MAX + 1];
	struct alertd_note note;
	unsigned attempt;
	int64_t not_before;
};

/* What is kept per destination name. */
struct dstate {
	char name[ALERTD_NAME_MAX];
	int64_t window_start;		/* the rate limit's window */
	unsigned used;
	unsigned long suppressed;
	unsigned running;		/* attempts in progress */
};

#define MAX_WORKERS 64

struct alertd_deliver {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* a job, or stop */
	pthread_cond_t idle;	/* a job finished */
	struct job *queue;
	size_t queued, running;
	struct alertd_result *res;
	size_t nres, capres;
	bool stopping, abandon;
	pthread_t th[MAX_WORKERS];
	struct alertd_store st[MAX_WORKERS];
	unsigned n_th;
	unsigned next_worker;
	uint64_t order;
	struct dstate dstates[ALERTD_MAX_DESTS * 4];
	int n_dstates;
};

static void
add_result(struct alertd_deliver *d, const struct job *j, const char *text)
{
	struct alertd_result *r;

	if (d->nres == d->capres) {
		size_t nc = d->capres ? d->capres * 2 : 64;
		void *nv = realloc(d->res, nc * sizeof(*d->res));

		if (!nv)
			return;	/* the note stays in the outbox */
		d->res = nv;
		d->capres = nc;
	}
	r = &d->res[d->nres++];
	snprintf(r->home, sizeof(r->home), "%s", j->home);
	snprintf(r->note_key, sizeof(r->note_key), "%s", j->note.key);
	r->alert_id = j->note.alert_id;
	snprintf(r->dest, sizeof(r->dest), "%s", j->note.dest);
	snprintf(r->result, sizeof(r->result), "%s", text);
}

static void
free_job(struct job *j)
{
	alertd_note_free(&j->note);
	alertd_conf_put(j->conf);
	free(j);
}

/* Under the lock: the state kept for destination name; NULL when the
 * table is full (no limit, no running count: as before there was one). */
static struct dstate *
dstate_of(struct alertd_deliver *d, const char *name, int64_t now)
{
	const int max = (int)(sizeof(d->dstates) / sizeof(d->dstates[0]));
	struct dstate *l;

	for (int i = 0; i < d->n_dstates; i++)
		if (!strcmp(d->dstates[i].name, name))
			return &d->dstates[i];
	if (d->n_dstates == max) {
		/* reuse the slot of a name no longer used (a reload renamed
		 * destinations): nothing running, no window open */
		for (int i = 0; i < max; i++) {
			l = &d->dstates[i];
			if (!l->running && now - l->window_start > 86400000)
				goto reuse;
		}
		return NULL;
	}
	l = &d->dstates[d->n_dstates++];
reuse:
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->window_start = now;
	return l;
}

/* Under the lock: may this destination send one more now? */
static bool
limit_take(struct alertd_deliver *d, const struct alertd_dest *dst,
	   int64_t now)
{
	struct dstate *l;

	if (!dst->rate_n)
		return true;
	l = dstate_of(d, dst->name, now);
	if (!l)
		return true;
	if (now - l->window_start >= dst->rate_period_ms) {
		if (l->suppressed)
			alertd_log("%s: %lu notification%s over its rate limit "
				   "were not sent", dst->name, l->suppressed,
				   l->suppressed == 1 ? "" : "s");
		l->window_start = now;
		l->used = 0;
		l->suppressed = 0;
	}
	if (l->used >= dst->rate_n) {
		l->suppressed++;
		return false;
	}
	l->used++;
	return true;
}

/* Under the lock: does job j's destination have an attempt running? */
static bool
dest_busy(struct alertd_deliver *d, const struct job *j, int64_t now)
{
	struct dstate *l = dstate_of(d, j->note.dest, now);

	return l && l->running;
}

static void
dest_running(struct alertd_deliver *d, const struct job *j, int delta)
{
	struct dstate *l = dstate_of(d, j->note.dest, alertd_now_ms());

	if (l && (delta > 0 || l->running))
		l->running += delta;
}

/* Under the lock: the job due soonest (then the oldest) among those whose
 * destination is free; NULL and *wait_ms when none may start now. */
static struct job *
take(struct alertd_deliver *d, int64_t *wait_ms)
{
	struct job **best = NULL;
	int64_t now = alertd_now_ms();

	*wait_ms = 1000;	/* a finished attempt wakes us before */
	for (struct job **pp = &d->queue; *pp; pp = &(*pp)->next) {
		if (dest_busy(d, *pp, now))
			continue;
		if (!best || (*pp)->not_before < (*best)->not_before ||
		    ((*pp)->not_before == (*best)->not_before &&
		     (*pp)->order < (*best)->order))
			best = pp;
	}
	if (!best)
		return NULL;
	if ((*best)->not_before > now) {
		*wait_ms = (*best)->not_before - now;
		return NULL;
	}
	{
		struct job *j = *best;

		*best = j->next;
		d->queued--;
		d->running++;
		dest_running(d, j, 1);
		return j;
	}
}

static enum alertd_outcome
attempt(const struct alertd_dest *dst, const struct alertd_note *n, char *err,
	size_t errlen)
{
	switch (dst->type) {
	case ALERTD_WEBHOOK:
		return alertd_webhook_send(dst, n, err, errlen);
	case ALERTD_SYSLOG:
		return alertd_syslog_send(dst, n, err, errlen);
	case ALERTD_EMAIL:
		return alertd_email_send(dst, n, err, errlen);
	}
	return ALERTD_FAIL;
}

/* Records a result over the worker's connection; on failure the main
 * thread gets it. Called without the lock. */
static void
record(struct alertd_deliver *d, struct alertd_store *st, struct job *j,
       const char *text)
{
	if (st)
		alertd_store_target(st, j->home);
	if (st && !alertd_store_delivered(st, j->conf, j->note.key,
					  j->note.alert_id, j->note.dest, text))
		return;
	pthread_mutex_lock(&d->mu);
	add_result(d, j, text);
	pthread_mutex_unlock(&d->mu);
}

static void *
worker(void *arg)
{
	struct alertd_deliver *d = arg;
	struct alertd_store *st;

	pthread_mutex_lock(&d->mu);
	st = &d->st[d->next_worker++];
	for (;;) {
		struct job *j;
		int64_t wait_ms;
		const struct alertd_dest *dst;
		char err[256] = "", text[300];
		enum alertd_outcome out;

		if (d->abandon)
			break;
		j = take(d, &wait_ms);
		if (!j) {
			struct timespec ts;

			if (d->stopping && !d->queued)
				break;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait_ms / 1000;
			ts.tv_nsec += (wait_ms % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&d->work, &d->mu, &ts);
			continue;
		}
		dst = &j->conf->dests[j->dest];
		if (j->attempt == 0 && !limit_take(d, dst, alertd_now_ms())) {
			snprintf(text, sizeof(text), "rate-limited (more than %u per "
				 "%llds)", dst->rate_n,
				 (long long)(dst->rate_period_ms / 1000));
			pthread_mutex_unlock(&d->mu);
			record(d, st, j, text);
			pthread_mutex_lock(&d->mu);
			d->running--;
			dest_running(d, j, -1);
			free_job(j);
			pthread_cond_broadcast(&d->work);
			pthread_cond_broadcast(&d->idle);
			continue;
		}
		pthread_mutex_unlock(&d->mu);
		out = attempt(dst, &j->note, err, sizeof(err));
		pthread_mutex_lock(&d->mu);
		j->attempt++;
		if (out == ALERTD_RETRY && j->attempt <= dst->retries &&
		    !d->abandon) {
			int64_t back = dst->backoff_ms;

			for (unsigned i = 1; i < j->attempt && back < dst->backoff_max_ms; i++)
				back *= 2;
			if (back > dst->backoff_max_ms)
				back = dst->backoff_max_ms;
			alertd_debug("%s: attempt %u of note %s failed (%s); again "
				     "in %lldms", dst->name, j->attempt, j->note.key,
				     err, (long long)back);
			j->not_before = alertd_now_ms() + back;
			j->next = d->queue;
			d->queue = j;
			d->queued++;
			d->running--;
			dest_running(d, j, -1);
			pthread_cond_broadcast(&d->work);
			continue;
		}
		if (out == ALERTD_OK)
			snprintf(text, sizeof(text), "ok (attempt %u)", j->attempt);
		else if (out == ALERTD_RETRY && d->abandon)
			text[0] = 0;	/* stopping: stays in the outbox */
		else if (out == ALERTD_RETRY)
			snprintf(text, sizeof(text), "failed after %u attempts: %s",
				 j->attempt, err);
		else
			snprintf(text, sizeof(text), "failed: %s", err);
		if (out != ALERTD_OK && text[0])
			alertd_log("%s: note %s (%s %s): %s", dst->name, j->note.key,
				   j->note.rule, j->note.state, text);
		if (text[0]) {
			pthread_mutex_unlock(&d->mu);
			record(d, st, j, text);
			pthread_mutex_lock(&d->mu);
		}
		d->running--;
		dest_running(d, j, -1);
		free_job(j);
		pthread_cond_broadcast(&d->work);
		pthread_cond_broadcast(&d->idle);
	}
	pthread_mutex_unlock(&d->mu);
	alertd_store_close(st);
	return NULL;
}

struct alertd_deliver *
alertd_deliver_start(unsigned workers, const struct alertd_conf *conf)
{
	struct alertd_deliver *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	for (unsigned i = 0; i < MAX_WORKERS; i++) {
		if (alertd_store_init(&d->st[i], conf, NULL)) {
			free(d);
			return NULL;
		}
		d->st[i].no_group = true;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->work, NULL);
	pthread_cond_init(&d->idle, NULL);
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	for (unsigned i = 0; i < workers; i++) {
		if (pthread_create(&d->th[d->n_th], NULL, worker, d)) {
			alertd_log("cannot start a delivery thread: %s",
				   strerror(errno));
			break;
		}
		d->n_th++;
	}
	if (!d->n_th) {
		free(d);
		return NULL;
	}
	return d;
}

void
alertd_deliver_push(struct alertd_deliver *d, struct alertd_conf *conf,
		    const struct alertd_note *n, const char *home)
{
	struct job *j = calloc(1, sizeof(*j));
	int dest = alertd_conf_dest_find(conf, n->dest);

	if (!j)
		return;		/* stays in the outbox for the next start */
	j->note = *n;
	j->note.details = strdup(n->details ? n->details : "{}");
	j->conf = alertd_conf_get(conf);
	j->dest = dest;
	snprintf(j->home, sizeof(j->home), "%s", home);
	pthread_mutex_lock(&d->mu);
	if (dest < 0) {
		add_result(d, j, "dropped: the destination is no longer in the "
			   "configuration");
		pthread_mutex_unlock(&d->mu);
		free_job(j);
		return;
	}
	j->not_before = 0;
	j->order = ++d->order;
	for (struct job *q = d->queue; q; q = q->next)
		if (!strcmp(q->note.key, j->note.key) && !strcmp(q->home, j->home)) {
			/* already queued (the outbox read twice): once */
			pthread_mutex_unlock(&d->mu);
			free_job(j);
			return;
		}
	j->next = d->queue;
	d->queue = j;
	d->queued++;
	pthread_cond_signal(&d->work);
	pthread_mutex_unlock(&d->mu);
}

size_t
alertd_deliver_results(struct alertd_deliver *d, struct alertd_result *out,
		       size_t max)
{
	size_t n;

	pthread_mutex_lock(&d->mu);
	n = d->nres < max ? d->nres : max;
	if (!n) {
		pthread_mutex_unlock(&d->mu);
		return 0;
	}
	memcpy(out, d->res, n * sizeof(*out));
	memmove(d->res, d->res + n, (d->nres - n) * sizeof(*out));
	d->nres -= n;
	pthread_mutex_unlock(&d->mu);
	return n;
}

size_t
alertd_deliver_pending(struct alertd_deliver *d)
{
	size_t n;

	pthread_mutex_lock(&d->mu);
	n = d->queued + d->running;
	pthread_mutex_unlock(&d->mu);
	return n;
}

void
alertd_deliver_stop(struct alertd_deliver *d, int64_t grace_ms)
{
	int64_t deadline = alertd_now_ms() + grace_ms;

	pthread_mutex_lock(&d->mu);
	d->stopping = true;
	pthread_cond_broadcast(&d->work);
	while ((d->queued || d->running) && alertd_now_ms() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->idle, &d->mu, &ts);
	}
	d->abandon = true;
	pthread_cond_broadcast(&d->work);
	pthread_mutex_unlock(&d->mu);
	for (unsigned i = 0; i < d->n_th; i++)
		pthread_join(d->th[i], NULL);
	d->n_th = 0;
}

void
alertd_deliver_free(struct alertd_deliver *d)
{
	if (!d)
		return;
	if (d->n_th)
		alertd_deliver_stop(d, 0);
	while (d->queue) {
		struct job *j = d->queue;

		d->queue = j->next;
		free_job(j);
	}
	free(d->res);
	pthread_cond_destroy(&d->work);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->mu);
	free(d);
}
