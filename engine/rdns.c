/* rdns.c -- see rdns.h. The cache is a hash by address plus a list in
 * order of last use: when it holds max_entries, the least recently used
 * entry makes room (expired ones sort there by themselves; evicting a name
 * still valid is counted as cache_full), so a network with more hosts
 * than the cache keeps resolving new ones. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include <ares.h>
#include <uthash.h>
#include <utlist.h>

#include "weir/pkt.h"
#include "log.h"
#include "rdns.h"

#define MAX_ENTRIES 200000

struct entry {
	uint8_t addr[16];
	UT_hash_handle hh;
	struct entry *prev, *next;  /* lru, least recently used first */
	uint64_t asked_ms;
	int pending;
	char *name;                 /* NULL: not answered; "" no name */
};

struct weir_rdns {
	ares_channel ch;
	int ok;
	int destroying;
	unsigned int pending;
	enum weir_rdns_mode mode;
	uint32_t per_sec;
	uint64_t ttl_ms;
	uint64_t window_ms;
	uint32_t in_window;
	uint32_t max_entries;
	struct entry *cache;
	struct entry *lru;
	struct weir_rdns_stats st;
};

struct weir_rdns *
weir_rdns_new(enum weir_rdns_mode mode, uint32_t per_sec, uint32_t ttl_s, const char *server,
	      uint32_t max_entries)
{
	struct weir_rdns *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->mode = mode;
	r->per_sec = per_sec;
	r->ttl_ms = (uint64_t)ttl_s * 1000;
	r->max_entries = max_entries ? max_entries : MAX_ENTRIES;
	if (mode == WEIR_RDNS_NONE)
		return r;
	struct ares_options o;
	memset(&o, 0, sizeof(o));
	o.timeout = 2000;
	o.tries = 2;
	if (ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS &&
	    ares_init_options(&r->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) == ARES_SUCCESS)
		r->ok = 1;
	/* resolve-server: these servers instead of /etc/resolv.conf's */
	if (r->ok && server && server[0] && ares_set_servers_ports_csv(r->ch, server) != ARES_SUCCESS) {
		weir_log(WEIR_LOG_WARN, "resolve-server %s: not a list of HOST[:PORT]; "
			 "host names are not resolved", server);
		ares_destroy(r->ch);
		ares_library_cleanup();
		r->ok = 0;
	}
	return r;
}

void
weir_rdns_free(struct weir_rdns *r)
{
	if (!r)
		return;
	if (r->ok) {
		r->destroying = 1;
		ares_destroy(r->ch);	/* pending callbacks run now, with ARES_EDESTRUCTION */
		ares_library_cleanup();
	}
	struct entry *e, *t;
	HASH_ITER(hh, r->cache, e, t) {
		HASH_DEL(r->cache, e);
		DL_DELETE(r->lru, e);
		free(e->name);
		free(e);
	}
	free(r);
}

struct query {
	struct weir_rdns *r;
	uint8_t addr[16];
};

static void
answered(void *arg, int status, int timeouts, struct hostent *h)
{
	struct query *q = arg;
	struct weir_rdns *r = q->r;
	(void)timeouts;
	if (!r->destroying) {
		struct entry *e;
		HASH_FIND(hh, r->cache, q->addr, 16, e);
		if (e) {
			if (e->pending && r->pending)
				r->pending--;
			e->pending = 0;
			free(e->name);
			if (status == ARES_SUCCESS && h && h->h_name) {
				e->name = strdup(h->h_name);
				r->st.answers++;
			} else {
				e->name = strdup("");
				r->st.failures++;
			}
		}
	}
	free(q);
}

/* Room for one more: the least recently used entry goes. A pending one's
 * answer then finds nothing to fill (answered() looks it up by address). */
static void
evict(struct weir_rdns *r, uint64_t now_ms)
{
	struct entry *e = r->lru;
	if (!e)
		return;
	if (e->pending) {
		if (r->pending)
			r->pending--;
		r->st.cache_full++;
	} else if (now_ms < e->asked_ms + r->ttl_ms) {
		r->st.cache_full++;	/* still valid: the cache is too small */
	}
	HASH_DEL(r->cache, e);
	DL_DELETE(r->lru, e);
	free(e->name);
	free(e);
}

const char *
weir_rdns_name(struct weir_rdns *r, const uint8_t addr[16], int local, uint64_t now_ms)
{
	if (!r || !r->ok || r->mode == WEIR_RDNS_NONE || (r->mode == WEIR_RDNS_LOCAL && !local))
		return NULL;
	struct entry *e;
	HASH_FIND(hh, r->cache, addr, 16, e);
	if (e) {	/* most recently used last */
		DL_DELETE(r->lru, e);
		DL_APPEND(r->lru, e);
	}
	if (e && (e->pending || now_ms < e->asked_ms + r->ttl_ms))
		return e->name;
	if (now_ms >= r->window_ms + 1000) {
		r->window_ms = now_ms;
		r->in_window = 0;
	}
	if (r->in_window >= r->per_sec) {
		r->st.rate_limited++;
		return e ? e->name : NULL;
	}
	struct query *q = malloc(sizeof(*q));
	if (!q)
		return NULL;
	if (!e) {
		if (HASH_COUNT(r->cache) >= r->max_entries)
			evict(r, now_ms);
		e = calloc(1, sizeof(*e));
		if (!e) {
			free(q);
			return NULL;
		}
		memcpy(e->addr, addr, 16);
		HASH_ADD(hh, r->cache, addr, 16, e);
		DL_APPEND(r->lru, e);
	}
	e->pending = 1;
	r->pending++;
	e->asked_ms = now_ms;
	r->in_window++;
	r->st.queries++;
	q->r = r;
	memcpy(q->addr, addr, 16);
	if (weir_addr_is_v4(addr))
		ares_gethostbyaddr(r->ch, addr + 12, 4, AF_INET, answered, q);
	else
		ares_gethostbyaddr(r->ch, addr, 16, AF_INET6, answered, q);
	return e->name;
}

void
weir_rdns_poll(struct weir_rdns *r)
{
	if (!r || !r->ok)
		return;
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	int n = ares_fds(r->ch, &rd, &wr);
	struct timeval tv = { 0, 0 };
	if (n > 0)
		select(n, &rd, &wr, NULL, &tv);
	ares_process(r->ch, &rd, &wr);	/* also handles timeouts */
}

unsigned int
weir_rdns_pending(const struct weir_rdns *r)
{
	return r ? r->pending : 0;
}

void
weir_rdns_stats(const struct weir_rdns *r, struct weir_rdns_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!r)
		return;
	*st = r->st;
	st->cached = HASH_COUNT(r->cache);
}
