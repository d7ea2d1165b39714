/* flowidx.c -- the flows of one flow index set, read on one node.
 *
 * The engine keeps, for each host, VLAN, subnet pair and application, the
 * set of the flows it holds that involve it (P idx:host:ID, idx:vlan:N,
 * idx:subnet:SRC>DST, idx:app:NAME, docs/redis-keys.md). Two kinds of
 * rule count distinct things over those flows: scan.c (the peers and
 * ports a host contacted) and threshold.c (the `peers` and `ports`
 * metrics over a window). Both read them here, the same way: one
 * SMEMBERS, then one pipeline of HMGETs of the fields they use. A flow
 * lives on one node, so the nodes' lists add up.
 *
 * Interfaces and exporters have no such index: rules over them cannot
 * count peers or ports. */
#include <stdlib.h>
#include <string.h>

#include "alertd.h"

static int
grow(struct alertd_flows *fl, size_t more)
{
	struct alertd_flow *nv;
	size_t nc;

	if (fl->n + more <= fl->cap)
		return 0;
	nc = fl->n + more;
	nv = realloc(fl->v, nc * sizeof(*nv));
	if (!nv)
		return -1;
	fl->v = nv;
	fl->cap = nc;
	return 0;
}

static char *
str_of(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
}

int
alertd_flows_read(struct alertd_store *st, size_t k, const char *idx,
		  bool (*keep)(const struct alertd_flow *f, void *arg),
		  void *arg, struct alertd_flows *fl)
{
	redisReply *ids = alertd_cmd(st, "SMEMBERS %sidx:%s", st->kp, idx);
	int rc = 0;

	if (!ids)
		return -1;
	if (ids->type != REDIS_REPLY_ARRAY || !ids->elements) {
		freeReplyObject(ids);
		return 0;
	}
	if (grow(fl, ids->elements)) {
		freeReplyObject(ids);
		return -1;
	}
	for (size_t i = 0; i < ids->elements; i++)
		redisAppendCommand(st->c, "HMGET %sflow:%s src dst dport proto "
				   "first_seen last_seen", st->kp,
				   ids->element[i]->str);
	for (size_t i = 0; i < ids->elements; i++) {
		redisReply *r = NULL;
		const redisReply *const *e;
		struct alertd_flow *f = &fl->v[fl->n];
		long proto;

		if (redisGetReply(st->c, (void **)&r) != REDIS_OK || !r) {
			alertd_store_drop(st, "reading flows failed");
			rc = -1;
			break;
		}
		if (rc || r->type != REDIS_REPLY_ARRAY || r->elements != 6) {
			freeReplyObject(r);
			continue;
		}
		e = (const redisReply *const *)r->element;
		if (e[0]->type != REDIS_REPLY_STRING ||
		    e[1]->type != REDIS_REPLY_STRING ||
		    e[4]->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			continue;	/* gone since the SMEMBERS */
		}
		memset(f, 0, sizeof(*f));
		f->first_ms = strtoll(e[4]->str, NULL, 10);
		f->last_ms = e[5]->type == REDIS_REPLY_STRING ?
			     strtoll(e[5]->str, NULL, 10) : f->first_ms;
		proto = e[3]->type == REDIS_REPLY_STRING ?
			strtol(e[3]->str, NULL, 10) : 0;
		/* port 0: a flow of later IP fragments whose first the
		 * engine did not see (no L4 header), not a port */
		f->port = (proto == 6 || proto == 17 || proto == 132) &&
			  e[2]->type == REDIS_REPLY_STRING ?
			  (int)(strtol(e[2]->str, NULL, 10) & 0xffff) : -1;
		if (f->port == 0)
			f->port = -1;
		f->src = str_of(e[0]);
		f->dst = str_of(e[1]);
		freeReplyObject(r);
		if (!f->src || !f->dst) {
			free(f->src);
			free(f->dst);
			rc = -1;	/* out of memory: drain the pipeline */
			continue;
		}
		if (f->last_ms > fl->newest_ms)
			fl->newest_ms = f->last_ms;
		if (keep && !keep(f, arg)) {
			free(f->src);
			free(f->dst);
			continue;
		}
		fl->n++;
		if (k < 64)
			fl->nodes |= (alertd_nodeset)1 << k;
	}
	freeReplyObject(ids);
	return rc;
}

int
alertd_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
alertd_flows_free(struct alertd_flows *fl)
{
	for (size_t i = 0; i < fl->n; i++) {
		free(fl->v[i].src);
		free(fl->v[i].dst);
	}
	free(fl->v);
	memset(fl, 0, sizeof(*fl));
}
