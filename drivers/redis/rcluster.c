/* rcluster.c -- one Redis endpoint, single server or Redis Cluster, over
 * Debian's hiredis 0.14 (contract in include/weir/rcluster.h).
 *
 * Only the part of a cluster client weir needs: CLUSTER SLOTS turned into
 * a slot -> master table, one lazily made connection per master, MOVED and
 * ASK followed for single commands, and a re-discovery whenever an answer
 * says the table is wrong or a connection broke (a failover): every node we
 * heard of is asked in turn, the ones we are still connected to first, the
 * seed last. Every weir key carries its node as hash tag, so no command
 * spans slots and a caller's pipeline or MULTI/EXEC goes to the one
 * connection it gets here.
 *
 * A context is freed only in drop_ctx(), which bumps the epoch: callers that
 * keep a context between calls compare epochs instead of trusting a pointer
 * that malloc may have handed out again. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "weir/rcluster.h"

#define RC_SLOTS         16384
#define RC_NO_NODE       0xffff
#define RC_MAX_NODES     4096	/* far above a cluster's ~1000 nodes */
#define RC_MAX_REDIRECTS 5
#define RC_TRYAGAIN_US   20000

struct rc_addr {
	char host[256];
	int  port;
};

/* A node commands may go to: a master of the table, or a MOVED/ASK target
 * learnt since the last re-discovery. Single server: nodes[0], the seed. */
struct rc_node {
	struct rc_addr a;
	redisContext *c;	/* NULL until first needed */
};

struct weir_rc {
	struct rc_addr seed;
	char unix_path[512];
	char user[128];
	char password[256];
	int db;
	struct timeval tv;

	bool up;		/* the seed answered once: mode known */
	bool cluster;
	bool stale;		/* re-discover (cluster) or reconnect (single) before the next use */
	bool mapped;		/* a table was loaded before: later loads are re-discoveries */

	struct rc_node *nodes;
	unsigned n_nodes;
	struct rc_addr *known;	/* every node CLUSTER SLOTS named, replicas too */
	unsigned n_known;
	uint16_t slot[RC_SLOTS];	/* index into nodes, RC_NO_NODE if unserved */

	uint64_t epoch;
	struct weir_rc_stats st;
	char err[256];
};

enum redirect { R_NONE, R_MOVED, R_ASK, R_TRYAGAIN, R_CLUSTERDOWN };

__attribute__((format(printf, 2, 3))) static void
set_err(struct weir_rc *rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rc->err, sizeof(rc->err), fmt, ap);
	va_end(ap);
}

static const char *
addr_name(const struct weir_rc *rc, const struct rc_addr *a, char *buf, size_t len)
{
	if (!a)
		snprintf(buf, len, "unix://%s", rc->unix_path);
	else if (strchr(a->host, ':'))
		snprintf(buf, len, "[%s]:%d", a->host, a->port);
	else
		snprintf(buf, len, "%s:%d", a->host, a->port);
	return buf;
}

static bool
addr_eq(const struct rc_addr *a, const char *host, int port)
{
	return a->port == port && !strcmp(a->host, host);
}

static void
free_reply(redisReply *r)
{
	if (r)
		freeReplyObject(r);
}

/* A new connection to A (NULL: the unix socket), authenticated. */
static redisContext *
dial(struct weir_rc *rc, const struct rc_addr *a)
{
	char name[300];
	redisContext *c = a ? redisConnectWithTimeout(a->host, a->port, rc->tv)
			    : redisConnectUnixWithTimeout(rc->unix_path, rc->tv);
	if (!c || c->err) {
		set_err(rc, "connect to %s: %s", addr_name(rc, a, name, sizeof(name)),
			c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, rc->tv);
	if (a)
		redisEnableKeepAlive(c);
	if (rc->password[0]) {
		redisReply *r = rc->user[0]
			? redisCommand(c, "AUTH %s %s", rc->user, rc->password)
			: redisCommand(c, "AUTH %s", rc->password);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			set_err(rc, "AUTH on %s: %s", addr_name(rc, a, name, sizeof(name)),
				r ? r->str : c->errstr);
			free_reply(r);
			redisFree(c);
			return NULL;
		}
		free_reply(r);
	}
	rc->st.connects++;
	return c;
}

static void
drop_ctx(struct weir_rc *rc, redisContext **c)
{
	if (*c) {
		redisFree(*c);
		*c = NULL;
		rc->epoch++;
	}
}

static void
drop_conns(struct weir_rc *rc)
{
	for (unsigned i = 0; i < rc->n_nodes; i++)
		drop_ctx(rc, &rc->nodes[i].c);
	memset(rc->slot, 0xff, sizeof(rc->slot));
}

static int
node_find(const struct weir_rc *rc, const char *host, int port)
{
	for (unsigned i = 0; i < rc->n_nodes; i++)
		if (addr_eq(&rc->nodes[i].a, host, port))
			return (int)i;
	return -1;
}

/* The index of HOST:PORT in rc->nodes, added if new; -1 if out of room. */
static int
node_add(struct weir_rc *rc, const char *host, int port)
{
	int i = node_find(rc, host, port);
	if (i >= 0)
		return i;
	if (rc->n_nodes >= RC_MAX_NODES) {
		set_err(rc, "more than %d cluster nodes", RC_MAX_NODES);
		return -1;
	}
	struct rc_node *n = realloc(rc->nodes, (rc->n_nodes + 1) * sizeof(*n));
	if (!n) {
		set_err(rc, "out of memory");
		return -1;
	}
	rc->nodes = n;
	n = &rc->nodes[rc->n_nodes];
	memset(n, 0, sizeof(*n));
	snprintf(n->a.host, sizeof(n->a.host), "%s", host);
	n->a.port = port;
	return (int)rc->n_nodes++;
}

/* Append HOST:PORT to a list of at most CAP distinct addresses. */
static void
addr_push(struct rc_addr *list, unsigned *n, unsigned cap, const char *host, int port)
{
	for (unsigned i = 0; i < *n; i++)
		if (addr_eq(&list[i], host, port))
			return;
	if (*n >= cap)
		return;
	snprintf(list[*n].host, sizeof(list[*n].host), "%s", host);
	list[*n].port = port;
	(*n)++;
}

/* One node entry of CLUSTER SLOTS: [host, port, id, ...]. An empty host
 * (or "?", an unknown endpoint) means the node we asked. */
static bool
slots_node(const redisReply *e, const struct rc_addr *from, const char **host, int *port)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_INTEGER ||
	    e->element[1]->integer <= 0 || e->element[1]->integer > 65535)
		return false;
	const char *h = e->element[0]->str;
	*host = (!h[0] || !strcmp(h, "?")) ? from->host : h;
	*port = (int)e->element[1]->integer;
	return true;
}

/* CLUSTER SLOTS on C (connected to FROM) becomes the table. 0 loaded, 1 the
 * server has no cluster support, -1 failed (rc->err says why). Connections
 * of masters still in the table are kept, the others closed. C is not
 * taken over; it may be one of rc->nodes' own and closed here. */
static int
load_map(struct weir_rc *rc, redisContext *c, const struct rc_addr *from)
{
	char name[300];
	addr_name(rc, from, name, sizeof(name));
	redisReply *r = redisCommand(c, "CLUSTER SLOTS");
	if (!r) {
		set_err(rc, "CLUSTER SLOTS on %s: %s", name, c->errstr);
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		/* NOPERM: a read-only ACL user (+@read) may not ask; on a single
		 * server that is harmless, on a cluster the first MOVED says so */
		int single = strstr(r->str, "cluster support disabled") || strstr(r->str, "unknown command") ||
			     !strncmp(r->str, "NOPERM", 6);
		set_err(rc, "CLUSTER SLOTS on %s: %s", name, r->str);
		freeReplyObject(r);
		return single ? 1 : -1;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		set_err(rc, "CLUSTER SLOTS on %s: unexpected reply type %d", name, r->type);
		freeReplyObject(r);
		return -1;
	}
	size_t n_addr = 0;
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_ARRAY && r->element[i]->elements > 2)
			n_addr += r->element[i]->elements - 2;
	unsigned cap = n_addr > RC_MAX_NODES ? RC_MAX_NODES : (unsigned)n_addr;
	struct rc_node *nn = calloc(cap + 1, sizeof(*nn));
	struct rc_addr *kn = calloc(cap + 1, sizeof(*kn));
	uint16_t *slot = malloc(sizeof(rc->slot));
	unsigned n_nn = 0, n_kn = 0;
	int ret = -1;
	if (!nn || !kn || !slot) {
		set_err(rc, "out of memory");
		goto out;
	}
	memset(slot, 0xff, sizeof(rc->slot));
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		const char *host;
		int port;
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[0]->integer < 0 || e->element[1]->integer >= RC_SLOTS ||
		    e->element[0]->integer > e->element[1]->integer ||
		    !slots_node(e->element[2], from, &host, &port)) {
			set_err(rc, "CLUSTER SLOTS on %s: malformed entry %zu", name, i);
			goto out;
		}
		unsigned m;
		for (m = 0; m < n_nn; m++)
			if (addr_eq(&nn[m].a, host, port))
				break;
		if (m == n_nn) {
			if (n_nn >= cap)
				continue;
			snprintf(nn[m].a.host, sizeof(nn[m].a.host), "%s", host);
			nn[m].a.port = port;
			n_nn++;
		}
		for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
			slot[s] = (uint16_t)m;
		for (size_t j = 2; j < e->elements; j++)
			if (slots_node(e->element[j], from, &host, &port))
				addr_push(kn, &n_kn, cap, host, port);
	}
	/* keep the live connections of masters that stay */
	for (unsigned i = 0; i < rc->n_nodes; i++) {
		struct rc_node *o = &rc->nodes[i];
		unsigned m;
		for (m = 0; m < n_nn; m++)
			if (addr_eq(&nn[m].a, o->a.host, o->a.port))
				break;
		if (m < n_nn && o->c && !o->c->err && !nn[m].c) {
			nn[m].c = o->c;
			o->c = NULL;
		} else {
			drop_ctx(rc, &o->c);
		}
	}
	free(rc->nodes);
	rc->nodes = nn;
	rc->n_nodes = n_nn;
	nn = NULL;
	free(rc->known);
	rc->known = kn;
	rc->n_known = n_kn;
	kn = NULL;
	memcpy(rc->slot, slot, sizeof(rc->slot));
	if (rc->mapped)
		rc->st.rediscoveries++;
	rc->mapped = true;
	ret = 0;
out:
	free(nn);
	free(kn);
	free(slot);
	freeReplyObject(r);
	return ret;
}

/* C was made only to ask FROM for the table: it becomes that master's
 * connection if the table has it without one, else it is closed. */
static void
adopt(struct weir_rc *rc, const struct rc_addr *from, redisContext *c)
{
	int i = from ? node_find(rc, from->host, from->port) : -1;
	if (i >= 0 && !rc->nodes[i].c)
		rc->nodes[i].c = c;
	else
		redisFree(c);
}

struct weir_rc *
weir_rc_new(const struct weir_rc_endpoint *ep, uint32_t timeout_ms)
{
	struct weir_rc *rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	snprintf(rc->seed.host, sizeof(rc->seed.host), "%s",
		 ep->host && ep->host[0] ? ep->host : "127.0.0.1");
	rc->seed.port = ep->port > 0 ? ep->port : 6379;
	snprintf(rc->unix_path, sizeof(rc->unix_path), "%s", ep->unix_path ? ep->unix_path : "");
	snprintf(rc->user, sizeof(rc->user), "%s", ep->user ? ep->user : "");
	snprintf(rc->password, sizeof(rc->password), "%s", ep->password ? ep->password : "");
	rc->db = ep->db;
	rc->tv.tv_sec = timeout_ms / 1000;
	rc->tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	memset(rc->slot, 0xff, sizeof(rc->slot));
	return rc;
}

void
weir_rc_free(struct weir_rc *rc)
{
	if (!rc)
		return;
	drop_conns(rc);
	free(rc->nodes);
	free(rc->known);
	free(rc);
}

/* A single server on C (reached at A; NULL: a unix socket or a given
 * context): its one node. 0, or -1 with C freed. */
static int
single_up(struct weir_rc *rc, const struct rc_addr *a, redisContext *c)
{
	int i = node_add(rc, a ? a->host : "", a ? a->port : 0);
	if (i < 0) {
		redisFree(c);
		return -1;
	}
	rc->nodes[i].c = c;
	rc->up = true;
	rc->err[0] = 0;
	return 0;
}

int
weir_rc_connect(struct weir_rc *rc)
{
	drop_conns(rc);
	rc->n_nodes = 0;
	rc->n_known = 0;
	rc->up = rc->cluster = rc->stale = false;
	const struct rc_addr *a = rc->unix_path[0] ? NULL : &rc->seed;
	redisContext *c = dial(rc, a);
	if (!c)
		return -1;
	int ret = a ? load_map(rc, c, a) : 1;
	if (ret < 0) {
		redisFree(c);
		return -1;
	}
	if (ret == 0) {
		if (rc->db) {
			set_err(rc, "%s:%d is a Redis Cluster, which has only database 0 (the URL asks for %d)",
				rc->seed.host, rc->seed.port, rc->db);
			redisFree(c);
			drop_conns(rc);
			return -1;
		}
		rc->cluster = true;
		adopt(rc, a, c);
	} else {
		if (rc->db) {
			redisReply *r = redisCommand(c, "SELECT %d", rc->db);
			if (!r || r->type == REDIS_REPLY_ERROR) {
				set_err(rc, "SELECT %d: %s", rc->db, r ? r->str : c->errstr);
				free_reply(r);
				redisFree(c);
				return -1;
			}
			freeReplyObject(r);
		}
		return single_up(rc, a, c);
	}
	rc->up = true;
	rc->err[0] = 0;
	return 0;
}

int
weir_rc_adopt(struct weir_rc *rc, redisContext *c)
{
	drop_conns(rc);
	rc->n_nodes = 0;
	rc->n_known = 0;
	rc->up = rc->cluster = rc->stale = false;
	return single_up(rc, NULL, c);
}

bool
weir_rc_is_cluster(const struct weir_rc *rc)
{
	return rc->cluster;
}

/* Ask every node we know for the table: the ones still connected first,
 * then the other masters, the replicas, and last the seed. */
static int
rediscover(struct weir_rc *rc)
{
	unsigned cap = rc->n_nodes + rc->n_known + 1, n = 0;
	struct rc_addr *cand = calloc(cap, sizeof(*cand));
	if (!cand) {
		set_err(rc, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < rc->n_nodes; i++)
		if (rc->nodes[i].c && !rc->nodes[i].c->err)
			addr_push(cand, &n, cap, rc->nodes[i].a.host, rc->nodes[i].a.port);
	for (unsigned i = 0; i < rc->n_nodes; i++)
		addr_push(cand, &n, cap, rc->nodes[i].a.host, rc->nodes[i].a.port);
	for (unsigned i = 0; i < rc->n_known; i++)
		addr_push(cand, &n, cap, rc->known[i].host, rc->known[i].port);
	addr_push(cand, &n, cap, rc->seed.host, rc->seed.port);

	int ret = -1;
	for (unsigned k = 0; k < n && ret != 0; k++) {
		int i = node_find(rc, cand[k].host, cand[k].port);
		redisContext *c = i >= 0 ? rc->nodes[i].c : NULL;
		if (c && !c->err) {
			ret = load_map(rc, c, &cand[k]);	/* may close c */
			continue;
		}
		c = dial(rc, &cand[k]);
		if (!c)
			continue;
		ret = load_map(rc, c, &cand[k]);
		if (ret == 0)
			adopt(rc, &cand[k], c);
		else
			redisFree(c);
	}
	free(cand);
	if (ret != 0)
		return -1;
	rc->stale = false;
	return 0;
}

/* Connected, with a table that is not known to be wrong. */
static bool
ready(struct weir_rc *rc)
{
	if (!rc->up || (rc->stale && !rc->cluster))
		return weir_rc_connect(rc) == 0;
	if (rc->stale)
		return rediscover(rc) == 0;
	return true;
}

static redisContext *
node_ctx(struct weir_rc *rc, int i)
{
	struct rc_node *n = &rc->nodes[i];
	if (n->c && n->c->err)
		drop_ctx(rc, &n->c);
	if (!n->c)
		n->c = dial(rc, &n->a);
	return n->c;
}

/* The node for KEY (NULL: any master, preferably one we are connected to). */
static int
pick(struct weir_rc *rc, const char *key, size_t keylen)
{
	if (key) {
		unsigned s = weir_rc_slot(key, keylen);
		if (rc->slot[s] == RC_NO_NODE) {
			set_err(rc, "no master serves slot %u (of key '%.*s')", s, (int)(keylen > 64 ? 64 : keylen), key);
			return -1;
		}
		return rc->slot[s];
	}
	for (unsigned i = 0; i < rc->n_nodes; i++)
		if (rc->nodes[i].c && !rc->nodes[i].c->err)
			return (int)i;
	if (!rc->n_nodes) {
		set_err(rc, "the cluster has no master");
		return -1;
	}
	return 0;
}

/* weir_rc_ctx, also saying which node it is (for empty hosts in MOVED). */
static redisContext *
ctx_for(struct weir_rc *rc, const char *key, size_t keylen, int *node)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!ready(rc))
			return NULL;
		if (!rc->cluster) {
			redisContext *c = rc->nodes[0].c;
			if (c && !c->err) {
				*node = 0;
				return c;
			}
			rc->stale = true;
			continue;
		}
		int i = pick(rc, key, keylen);
		if (i < 0) {
			rc->stale = true;
			return NULL;
		}
		redisContext *c = node_ctx(rc, i);
		if (c) {
			*node = i;
			return c;
		}
		rc->stale = true;	/* the master did not answer: failed over? */
	}
	return NULL;
}

redisContext *
weir_rc_ctx(struct weir_rc *rc, const char *key, size_t keylen)
{
	int node;
	return ctx_for(rc, key, keylen, &node);
}

static enum redirect
redirect_of(const redisReply *r)
{
	if (!r || r->type != REDIS_REPLY_ERROR || !r->str)
		return R_NONE;
	if (!strncmp(r->str, "MOVED ", 6))
		return R_MOVED;
	if (!strncmp(r->str, "ASK ", 4))
		return R_ASK;
	if (!strncmp(r->str, "TRYAGAIN", 8))
		return R_TRYAGAIN;
	if (!strncmp(r->str, "CLUSTERDOWN", 11))
		return R_CLUSTERDOWN;
	return R_NONE;
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ..." (host may be an IPv6 address,
 * or empty: the node that answered) into a node index; -1 if unreadable. */
static int
redirect_target(struct weir_rc *rc, const char *msg, int from, unsigned *slot)
{
	const char *p = strchr(msg, ' ');
	char *e;
	if (!p)
		return -1;
	unsigned long s = strtoul(p + 1, &e, 10);
	if (*e != ' ' || s >= RC_SLOTS)
		return -1;
	const char *hp = e + 1;
	const char *colon = strrchr(hp, ':');
	if (!colon)
		return -1;
	long port = strtol(colon + 1, &e, 10);
	if (*e || port <= 0 || port > 65535)
		return -1;
	char host[256];
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {	/* not what Redis sends, but harmless */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	if ((!host[0] || !strcmp(host, "?")) && from >= 0)
		snprintf(host, sizeof(host), "%s", rc->nodes[from].a.host);
	*slot = (unsigned)s;
	return node_add(rc, host, (int)port);
}

/* Send a formatted command routed by KEY, following redirects. */
static redisReply *
run(struct weir_rc *rc, const char *key, const char *cmd, size_t len)
{
	size_t klen = key ? strlen(key) : 0;
	int target = -1, node = -1, redirects = 0;
	bool asking = false, retried = false;
	for (;;) {
		redisContext *c;
		if (target >= 0) {
			node = target;
			c = node_ctx(rc, target);
		} else {
			c = ctx_for(rc, key, klen, &node);
			if (!c)
				return NULL;
		}
		void *rep = NULL;
		int ok = REDIS_ERR;
		if (c) {
			if (asking)
				redisAppendCommand(c, "ASKING");
			redisAppendFormattedCommand(c, cmd, len);
			ok = REDIS_OK;
			if (asking) {
				void *a = NULL;
				ok = redisGetReply(c, &a);
				free_reply(a);
			}
			if (ok == REDIS_OK)
				ok = redisGetReply(c, &rep);
			if (ok != REDIS_OK || !rep) {
				char name[300];
				set_err(rc, "reply from %s: %s", addr_name(rc, &rc->nodes[node].a, name, sizeof(name)),
					c->errstr[0] ? c->errstr : "none");
				free_reply(rep);
				ok = REDIS_ERR;
			}
		}
		if (ok != REDIS_OK) {	/* I/O error or timeout, or a redirect target unreachable */
			rc->stale = true;
			if (retried)
				return NULL;
			retried = true;
			target = -1;
			asking = false;
			continue;
		}
		redisReply *r = rep;
		enum redirect kind = redirect_of(r);
		if (kind == R_NONE)
			return r;
		if (kind == R_CLUSTERDOWN) {
			rc->stale = true;
			set_err(rc, "%s", r->str);
			return r;
		}
		if (++redirects > RC_MAX_REDIRECTS) {
			set_err(rc, "more than %d redirects, the last: %s", RC_MAX_REDIRECTS, r->str);
			freeReplyObject(r);
			rc->stale = true;
			return NULL;
		}
		if (kind == R_TRYAGAIN) {	/* a slot being migrated: wait a little */
			freeReplyObject(r);
			nanosleep(&(struct timespec){ 0, RC_TRYAGAIN_US * 1000 }, NULL);
			continue;
		}
		unsigned slot;
		int t = redirect_target(rc, r->str, node, &slot);
		if (t < 0) {
			set_err(rc, "cannot follow '%s'", r->str);
			return r;
		}
		rc->st.redirects++;
		freeReplyObject(r);
		target = t;
		asking = kind == R_ASK;
		if (kind == R_MOVED) {
			rc->slot[slot] = (uint16_t)t;
			rc->stale = true;	/* the table is behind: reload it on the next call */
		}
	}
}

redisReply *
weir_rc_command(struct weir_rc *rc, const char *key, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	va_start(ap, fmt);
	int len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0) {
		set_err(rc, "cannot format command '%s'", fmt);
		return NULL;
	}
	redisReply *r = run(rc, key, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return r;
}

redisReply *
weir_rc_commandargv(struct weir_rc *rc, const char *key, int argc,
		    const char **argv, const size_t *argvlen)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0) {
		set_err(rc, "out of memory");
		return NULL;
	}
	redisReply *r = run(rc, key, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return r;
}

bool
weir_rc_reply_check(struct weir_rc *rc, const redisReply *r)
{
	if (!r) {
		rc->stale = true;
		set_err(rc, "connection lost or timed out");
		return false;
	}
	enum redirect kind = redirect_of(r);
	if (kind == R_NONE)
		return true;
	if ((kind == R_MOVED || kind == R_ASK) && !rc->stale)
		rc->st.redirects++;
	rc->stale = true;
	set_err(rc, "%s", r->str);
	return false;
}

void
weir_rc_invalidate(struct weir_rc *rc)
{
	drop_conns(rc);
	rc->stale = true;
}

uint64_t
weir_rc_epoch(const struct weir_rc *rc)
{
	return rc->epoch;
}

const char *
weir_rc_error(const struct weir_rc *rc)
{
	return rc->err;
}

const struct weir_rc_stats *
weir_rc_stats(const struct weir_rc *rc)
{
	return &rc->st;
}

/* CRC16/XMODEM (polynomial 0x1021, initial value 0), as Redis Cluster. */
static uint16_t
crc16(const char *p, size_t n)
{
	uint16_t crc = 0;
	while (n--) {
		crc ^= (uint16_t)((unsigned char)*p++ << 8);
		for (int i = 0; i < 8; i++)
			crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

unsigned
weir_rc_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);
	if (open) {
		size_t rest = len - (size_t)(open - key) - 1;
		const char *close = memchr(open + 1, '}', rest);
		if (close && close > open + 1)
			return crc16(open + 1, (size_t)(close - open - 1)) & (RC_SLOTS - 1);
	}
	return crc16(key, len) & (RC_SLOTS - 1);
}
