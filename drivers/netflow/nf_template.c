/* nf_template.c -- the template store of NetFlow v9 and IPFIX.
 *
 * Owns everything an exporter can make us hold between datagrams:
 * templates and options templates keyed by (version, domain, id), data
 * sets held until their template arrives, and the per-domain sequence and
 * sampling state. It parses template sets (v9 flowsets 0/1, IPFIX sets
 * 2/3), applies withdrawals and redefinitions, enforces the per-exporter
 * limits (templates, fields, memory, held sets) and expires what is not
 * refreshed. Every byte it allocates is counted in ex->mem_bytes.
 *
 * Template sharing (engine/tmpl_share.c) hangs off the sink: what an
 * exporter defines or withdraws, and the templates its held data waits
 * for, are raised as events; weir_nf_template_install feeds a template
 * learnt elsewhere back through the same parser and limits.
 *
 * Called by the exporter's owning worker only; no locks. Never prints:
 * every refusal is a named counter in ex->err[]. */
#include <stdlib.h>
#include <string.h>
#include "nf_template.h"

static const struct weir_exporter_limits nf_default_limits = {
	.max_templates = 512,
	.max_fields = 128,
	.max_pending = 64,
	.pending_ttl_ms = 30000,
	.template_ttl_ms = 1800000,
	.max_bytes = 1u << 20,
	.default_sampling = 1,
};

const struct weir_exporter_limits *
weir_nf_limits(const struct weir_exporter *ex)
{
	return ex->lim ? ex->lim : &nf_default_limits;
}

static bool
mem_fits(struct weir_exporter *ex, size_t need)
{
	return (uint64_t)ex->mem_bytes + need <= weir_nf_limits(ex)->max_bytes;
}

struct weir_nf_state *
weir_nf_state_get(struct weir_exporter *ex)
{
	if (likely(ex->nf != NULL))
		return ex->nf;
	if (!mem_fits(ex, sizeof(struct weir_nf_state)))
		return NULL;
	ex->nf = calloc(1, sizeof(struct weir_nf_state));
	if (ex->nf)
		ex->mem_bytes += sizeof(struct weir_nf_state);
	return ex->nf;
}

/* ---- per-domain state -------------------------------------------------- */

struct nf_domain *
weir_nf_domain_get(struct weir_exporter *ex, uint8_t version, uint32_t domain,
		   uint64_t now_ms)
{
	struct weir_nf_state *st = weir_nf_state_get(ex);
	struct nf_domain *d, *lru = NULL;

	if (!st)
		return NULL;
	for (d = st->domains; d; d = d->next) {
		if (d->version == version && d->id == domain) {
			d->last_ms = now_ms;
			return d;
		}
		if (!lru || d->last_ms < lru->last_ms)
			lru = d;
	}
	if (st->n_domains < NF_MAX_DOMAINS && mem_fits(ex, sizeof(*d))) {
		d = calloc(1, sizeof(*d));
		if (d) {
			ex->mem_bytes += sizeof(*d);
			st->n_domains++;
			d->next = st->domains;
			st->domains = d;
		}
	} else {
		d = lru;	/* a source-id flood reuses, never grows */
	}
	if (!d)
		return NULL;
	struct nf_domain *keep = d->next;
	memset(d, 0, sizeof(*d));
	d->next = keep;
	d->version = version;
	d->id = domain;
	d->last_ms = now_ms;
	return d;
}

void
weir_nf_seq_account(struct weir_exporter *ex, struct nf_domain *d,
		    uint32_t seq, uint32_t next)
{
	if (d->seq_valid) {
		int32_t diff = (int32_t)(seq - d->seq_next);

		if (diff > 0)
			ex->seq_lost += (uint32_t)diff;
		else if (diff < 0)
			ex->seq_resets++;
	}
	d->seq_next = next;
	d->seq_valid = 1;
}

/* ---- template hash ----------------------------------------------------- */

static unsigned int
tmpl_hash(uint8_t version, uint32_t domain, uint16_t id)
{
	uint32_t h = domain * 0x9e3779b1u ^ (uint32_t)id * 0x85ebca6bu ^ version;

	h ^= h >> 15;
	return h & (NF_BUCKETS - 1);
}

struct nf_tmpl *
weir_nf_tmpl_find(struct weir_nf_state *st, uint8_t version, uint32_t domain,
		  uint16_t id)
{
	struct nf_tmpl *t = st->bucket[tmpl_hash(version, domain, id)];

	for (; t; t = t->next)
		if (t->id == id && t->domain == domain && t->version == version)
			return t;
	return NULL;
}

static void
tmpl_free(struct weir_exporter *ex, struct nf_tmpl *t)
{
	ex->mem_bytes -= t->mem;
	ex->templates--;
	free(t);
}

/* Unlink and free the template with this key; true if there was one. */
static bool
tmpl_remove(struct weir_exporter *ex, uint8_t version, uint32_t domain,
	    uint16_t id)
{
	struct nf_tmpl **pp = &ex->nf->bucket[tmpl_hash(version, domain, id)];

	for (; *pp; pp = &(*pp)->next) {
		struct nf_tmpl *t = *pp;

		if (t->id == id && t->domain == domain && t->version == version) {
			*pp = t->next;
			tmpl_free(ex, t);
			return true;
		}
	}
	return false;
}

/* IPFIX withdraw-all: every data (options=0) or options template of a domain. */
static void
tmpl_remove_all(struct weir_exporter *ex, uint8_t version, uint32_t domain,
		bool options)
{
	for (unsigned int b = 0; b < NF_BUCKETS; b++) {
		struct nf_tmpl **pp = &ex->nf->bucket[b];

		while (*pp) {
			struct nf_tmpl *t = *pp;

			if (t->version == version && t->domain == domain &&
			    !!t->options == options) {
				*pp = t->next;
				tmpl_free(ex, t);
			} else {
				pp = &t->next;
			}
		}
	}
}

static bool
tmpl_same(const struct nf_tmpl *a, const struct nf_tmpl *b)
{
	if (a->options != b->options || a->n_fields != b->n_fields ||
	    a->n_scope != b->n_scope)
		return false;
	for (unsigned int i = 0; i < a->n_fields; i++)
		if (a->f[i].type != b->f[i].type || a->f[i].len != b->f[i].len ||
		    a->f[i].pen != b->f[i].pen)
			return false;
	return true;
}

/* ---- data held for a template ------------------------------------------ */

static void
pending_drop_head(struct weir_exporter *ex)
{
	struct weir_nf_state *st = ex->nf;
	struct nf_pending *e = st->pend_head;

	st->pend_head = e->next;
	if (!st->pend_head)
		st->pend_tail = NULL;
	st->n_pending--;
	ex->held = st->n_pending;
	ex->mem_bytes -= e->mem;
	free(e);
}

bool
weir_nf_pending_add(struct weir_exporter *ex, const struct nf_ctx *ctx,
		    uint16_t set_id, const uint8_t *p, size_t len,
		    uint64_t now_ms)
{
	const struct weir_exporter_limits *lim = weir_nf_limits(ex);
	struct weir_nf_state *st = ex->nf;
	size_t need = sizeof(struct nf_pending) + len;

	if (lim->max_pending == 0 || len > UINT16_MAX) {
		weir_xerr(ex, WEIR_XERR_UNKNOWN_TEMPLATE);
		return false;
	}
	/* Oldest held data makes room for the newest. */
	while (st->pend_head &&
	       (st->n_pending >= lim->max_pending || !mem_fits(ex, need))) {
		pending_drop_head(ex);
		weir_xerr(ex, WEIR_XERR_PENDING_OVERFLOW);
	}
	struct nf_pending *e = mem_fits(ex, need) ? malloc(need) : NULL;
	if (!e) {
		weir_xerr(ex, WEIR_XERR_PENDING_OVERFLOW);
		return false;
	}
	e->next = NULL;
	e->arrival_ms = now_ms;
	e->ctx = *ctx;
	e->mem = (uint32_t)need;
	e->set_id = set_id;
	e->len = (uint16_t)len;
	memcpy(e->data, p, len);
	if (st->pend_tail)
		st->pend_tail->next = e;
	else
		st->pend_head = e;
	st->pend_tail = e;
	st->n_pending++;
	ex->held = st->n_pending;
	ex->mem_bytes += (uint32_t)need;
	return true;
}

uint32_t
weir_nf_pending_count(const struct weir_exporter *ex)
{
	return ex->nf ? ex->nf->n_pending : 0;
}

/* Decode, in arrival order, the data held for template t. */
static int
pending_release(struct weir_exporter *ex, const struct nf_tmpl *t,
		uint64_t now_ms, const struct weir_flow_sink *out)
{
	struct weir_nf_state *st = ex->nf;
	struct nf_pending **pp = &st->pend_head, *prev = NULL;
	int n = 0;

	while (*pp) {
		struct nf_pending *e = *pp;

		if (e->set_id != t->id || e->ctx.domain != t->domain ||
		    e->ctx.version != t->version) {
			prev = e;
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		if (st->pend_tail == e)
			st->pend_tail = prev;
		st->n_pending--;
		ex->held = st->n_pending;
		uint32_t nd = 0;
		int r = weir_nf_data_set(ex, t, &e->ctx, e->data, e->len,
					 now_ms, out, &nd);
		if (r > 0)
			n += r;
		ex->mem_bytes -= e->mem;
		free(e);
	}
	return n;
}

/* ---- template sharing events ------------------------------------------- */

/* Raise one event; 0 when sharing is off, the sink dropped it, or the
 * template being defined came from the sink (weir_nf_template_install). */
static int
share(struct weir_exporter *ex, const struct weir_flow_sink *out, uint8_t kind,
      uint8_t version, uint32_t domain, uint16_t id, uint16_t set_id,
      const uint8_t *rec, size_t len)
{
	if (!out || !out->tmpl || ex->nf->installing)
		return 0;
	struct weir_tmpl_event e = {
		.rec = rec, .len = len, .domain = domain, .id = id,
		.set_id = set_id, .version = version, .kind = kind,
	};
	return out->tmpl(out->ctx, ex, &e);
}

/* A refresh is passed on once per quarter of the template expiry, so the
 * shared copy, which expires like ours, stays alive while the exporter
 * keeps sending it. */
static bool
share_due(struct weir_exporter *ex, const struct nf_tmpl *t, uint64_t now_ms)
{
	return !t->shared_ms || (now_ms > t->shared_ms &&
				 now_ms - t->shared_ms >= weir_nf_limits(ex)->template_ttl_ms / 4);
}

void
weir_nf_want(struct weir_exporter *ex, const struct nf_ctx *ctx, uint16_t id,
	     uint64_t now_ms, const struct weir_flow_sink *out)
{
	if (!out || !out->tmpl)
		return;
	struct nf_asked *a = &ex->nf->asked[tmpl_hash(ctx->version, ctx->domain, id) &
					    (NF_ASKED_SLOTS - 1)];
	if (a->ms && a->version == ctx->version && a->domain == ctx->domain &&
	    a->id == id && now_ms >= a->ms && now_ms - a->ms < NF_ASK_EVERY_MS)
		return;
	if (share(ex, out, WEIR_TMPL_WANTED, ctx->version, ctx->domain, id, 0, NULL, 0)) {
		a->ms = now_ms ? now_ms : 1;
		a->version = ctx->version;
		a->domain = ctx->domain;
		a->id = id;
	}
}

/* ---- template parsing -------------------------------------------------- */

enum nf_kind { K_NONE, K_UINT, K_ADDR4, K_ADDR6, K_MAC, K_STR, K_BYTES, K_NTP };

struct nf_ie {
	uint8_t role;
	uint8_t kind;
};

/* Information elements we read (numbers shared by v9 and IPFIX). */
static const struct nf_ie nf_ies[] = {
	[1]   = { NF_R_OCTETS,         K_UINT },
	[2]   = { NF_R_PKTS,           K_UINT },
	[4]   = { NF_R_PROTO,          K_UINT },
	[6]   = { NF_R_TCP_FLAGS,      K_UINT },
	[7]   = { NF_R_SPORT,          K_UINT },
	[8]   = { NF_R_SRC4,           K_ADDR4 },
	[10]  = { NF_R_IN_IF,          K_UINT },
	[11]  = { NF_R_DPORT,          K_UINT },
	[12]  = { NF_R_DST4,           K_ADDR4 },
	[14]  = { NF_R_OUT_IF,         K_UINT },
	[21]  = { NF_R_UP_END,         K_UINT },
	[22]  = { NF_R_UP_START,       K_UINT },
	[23]  = { NF_R_OUT_OCTETS,     K_UINT },
	[24]  = { NF_R_OUT_PKTS,       K_UINT },
	[27]  = { NF_R_SRC6,           K_ADDR6 },
	[28]  = { NF_R_DST6,           K_ADDR6 },
	[32]  = { NF_R_ICMP_TC4,       K_UINT },
	[34]  = { NF_R_SAMPLING,       K_UINT },
	[35]  = { NF_R_SAMPLING_ALGO,  K_UINT },
	[48]  = { NF_R_SAMPLER_ID,     K_UINT },
	[50]  = { NF_R_SAMPLER_RANDOM, K_UINT },
	[56]  = { NF_R_SMAC,           K_MAC },
	[57]  = { NF_R_POST_DMAC,      K_MAC },
	[58]  = { NF_R_VLAN,           K_UINT },
	[59]  = { NF_R_POST_VLAN,      K_UINT },
	[61]  = { NF_R_DIRECTION,      K_UINT },
	[80]  = { NF_R_DMAC,           K_MAC },
	[81]  = { NF_R_POST_SMAC,      K_MAC },
	[82]  = { NF_R_IFNAME,         K_STR },
	[83]  = { NF_R_IFDESCR,        K_STR },
	[85]  = { NF_R_OCTETS_TOTAL,   K_UINT },
	[86]  = { NF_R_PKTS_TOTAL,     K_UINT },
	[95]  = { NF_R_APP_ID,         K_BYTES },
	[139] = { NF_R_ICMP_TC6,       K_UINT },
	[150] = { NF_R_START_S,        K_UINT },
	[151] = { NF_R_END_S,          K_UINT },
	[152] = { NF_R_START_MS,       K_UINT },
	[153] = { NF_R_END_MS,         K_UINT },
	[154] = { NF_R_START_NTP,      K_NTP },
	[155] = { NF_R_END_NTP,        K_NTP },
	[156] = { NF_R_START_NTP,      K_NTP },
	[157] = { NF_R_END_NTP,        K_NTP },
	[158] = { NF_R_START_DUS,      K_UINT },
	[159] = { NF_R_END_DUS,        K_UINT },
	[160] = { NF_R_SYS_INIT_MS,    K_UINT },
	[176] = { NF_R_ICMP_T4,        K_UINT },
	[177] = { NF_R_ICMP_C4,        K_UINT },
	[178] = { NF_R_ICMP_T6,        K_UINT },
	[179] = { NF_R_ICMP_C6,        K_UINT },
	[234] = { NF_R_VRF_IN,         K_UINT },
	[235] = { NF_R_VRF_OUT,        K_UINT },
	[236] = { NF_R_VRF_NAME,       K_STR },
	[243] = { NF_R_DOT1Q_VLAN,     K_UINT },
	[245] = { NF_R_DOT1Q_CVLAN,    K_UINT },
	[302] = { NF_R_SAMPLER_ID,     K_UINT },
	[305] = { NF_R_PKT_INTERVAL,   K_UINT },
	[306] = { NF_R_PKT_SPACE,      K_UINT },
	[309] = { NF_R_SAMPLING_SIZE,  K_UINT },
	[310] = { NF_R_SAMPLING_POP,   K_UINT },
};

static const uint8_t nf_role_kind[NF_R__MAX] = {
#define K(r, k) [r] = k
	K(NF_R_SRC4, K_ADDR4), K(NF_R_DST4, K_ADDR4),
	K(NF_R_SRC6, K_ADDR6), K(NF_R_DST6, K_ADDR6),
	K(NF_R_SMAC, K_MAC), K(NF_R_DMAC, K_MAC),
	K(NF_R_POST_SMAC, K_MAC), K(NF_R_POST_DMAC, K_MAC),
	K(NF_R_IFNAME, K_STR), K(NF_R_IFDESCR, K_STR), K(NF_R_VRF_NAME, K_STR),
	K(NF_R_APP_ID, K_BYTES),
	K(NF_R_START_NTP, K_NTP), K(NF_R_END_NTP, K_NTP),
#undef K
};

bool
weir_nf_len_ok(unsigned int role, size_t len)
{
	switch (role < NF_R__MAX ? nf_role_kind[role] : K_NONE) {
	case K_ADDR4:	return len == 4;
	case K_ADDR6:	return len == 16;
	case K_MAC:	return len == 6;
	case K_NTP:	return len == 8;
	case K_STR:	return true;
	case K_BYTES:	return len >= 1;
	default:	return len >= 1 && len <= 8;	/* unsigned, reduced size ok */
	}
}

/* RFC 5103 reverse counters (PEN 29305, same IE numbers): the counts of
 * a biflow's other direction (YAF, nProbe). */
static uint8_t
reverse_role(uint16_t type)
{
	switch (type) {
	case 1:		return NF_R_REV_OCTETS;
	case 2:		return NF_R_REV_PKTS;
	case 85:	return NF_R_REV_OCTETS_TOTAL;
	case 86:	return NF_R_REV_PKTS_TOTAL;
	default:	return NF_R_SKIP;
	}
}

/* What a field is to us. A known field whose length cannot hold it (an
 * IPv4 address of 50 bytes, BAD_INPUTS #1) is skipped by its length and
 * counted; length 0 (Juniper SRX, #6) is skipped quietly. */
static uint8_t
field_role(struct weir_exporter *ex, uint16_t type, bool enterprise,
	   uint32_t pen, uint16_t len, bool ipfix)
{
	uint8_t role;

	if (enterprise)
		role = pen == NF_PEN_REVERSE ? reverse_role(type) : NF_R_SKIP;
	else if (type < sizeof(nf_ies) / sizeof(nf_ies[0]))
		role = nf_ies[type].role;
	else
		role = NF_R_SKIP;
	if (role == NF_R_SKIP || len == 0)
		return NF_R_SKIP;
	if (ipfix && len == NF_VARLEN)
		return role;		/* checked per record */
	if (!weir_nf_len_ok(role, len)) {
		weir_xerr(ex, WEIR_XERR_BAD_FIELD_LENGTH);
		return NF_R_SKIP;
	}
	return role;
}

static struct nf_tmpl *
tmpl_alloc(uint16_t n_fields)
{
	size_t sz = sizeof(struct nf_tmpl) + (size_t)n_fields * sizeof(struct nf_field);
	struct nf_tmpl *t = calloc(1, sz);

	if (t) {
		t->mem = (uint32_t)sz;
		t->n_fields = n_fields;
	}
	return t;
}

/* Store t (already filled in), replacing any template of the same key,
 * and decode what was held for it. Takes ownership of t. rec/rec_len is
 * its record in set set_id, for the sharing events. */
static int
tmpl_insert(struct weir_exporter *ex, struct nf_tmpl *t, uint64_t now_ms,
	    const struct weir_flow_sink *out, const uint8_t *rec, size_t rec_len,
	    uint16_t set_id)
{
	const struct weir_exporter_limits *lim = weir_nf_limits(ex);
	struct weir_nf_state *st = ex->nf;
	uint64_t min = 0;
	bool varlen = false;

	for (unsigned int i = 0; i < t->n_fields; i++) {
		if (t->f[i].len == NF_VARLEN && t->version == NF_IPFIX) {
			varlen = true;
			min += 1;
		} else {
			min += t->f[i].len;
		}
	}
	if (min == 0 || min > UINT16_MAX) {
		/* Records of 0 bytes would loop forever (BAD_INPUTS #7); the
		 * old definition of this id is gone either way (#12). */
		enum weir_xerr why = t->options ? WEIR_XERR_BAD_OPTIONS_TEMPLATE
						: WEIR_XERR_BAD_TEMPLATE;
		if (tmpl_remove(ex, t->version, t->domain, t->id))
			share(ex, out, WEIR_TMPL_WITHDRAWN, t->version, t->domain,
			      t->id, set_id, NULL, 0);
		free(t);
		weir_xerr(ex, why);
		return 0;
	}
	t->min_len = (uint32_t)min;
	t->varlen = varlen;
	t->last_ms = now_ms;

	struct nf_tmpl *old = weir_nf_tmpl_find(st, t->version, t->domain, t->id);
	if (old && tmpl_same(old, t)) {
		old->last_ms = now_ms;		/* refresh */
		if (share_due(ex, old, now_ms) &&
		    share(ex, out, WEIR_TMPL_LEARNT, t->version, t->domain, t->id,
			  set_id, rec, rec_len))
			old->shared_ms = now_ms;
		free(t);
		return 0;
	}
	/* A redefinition replaces: one owner per (exporter, domain, id),
	 * data or options (BAD_INPUTS #11, #12). */
	if (old)
		tmpl_remove(ex, t->version, t->domain, t->id);
	while (st->pend_head && !mem_fits(ex, t->mem)) {
		pending_drop_head(ex);
		weir_xerr(ex, WEIR_XERR_PENDING_OVERFLOW);
	}
	if (ex->templates >= lim->max_templates || !mem_fits(ex, t->mem)) {
		if (old)	/* the shared copy is the old definition: gone too */
			share(ex, out, WEIR_TMPL_WITHDRAWN, t->version, t->domain,
			      t->id, set_id, NULL, 0);
		free(t);
		weir_xerr(ex, WEIR_XERR_TEMPLATE_LIMIT);
		return 0;
	}
	unsigned int b = tmpl_hash(t->version, t->domain, t->id);
	t->next = st->bucket[b];
	st->bucket[b] = t;
	ex->templates++;
	ex->mem_bytes += t->mem;
	if (st->installing)	/* learnt elsewhere install_age_ms ago */
		t->shared_ms = now_ms > st->install_age_ms ? now_ms - st->install_age_ms : 1;
	else if (share(ex, out, WEIR_TMPL_LEARNT, t->version, t->domain, t->id,
		       set_id, rec, rec_len))
		t->shared_ms = now_ms;
	return st->pend_head ? pending_release(ex, t, now_ms, out) : 0;
}

static unsigned int
max_fields(struct weir_exporter *ex)
{
	unsigned int m = weir_nf_limits(ex)->max_fields;

	return m > 4096 ? 4096 : m;
}

/*
 * v9 template flowset (id 0) body, and options template flowset (id 1):
 *
 *   | template id | field count |  type | length | ... (count times)
 *   | template id | scope length (bytes) | option length (bytes) |
 *   |  scope type | length | ... | option type | length | ... | padding
 */
static int
v9_template_set(struct weir_exporter *ex, const struct nf_ctx *ctx, bool opt,
		const uint8_t *p, size_t len, uint64_t now_ms,
		const struct weir_flow_sink *out)
{
	size_t hdr = opt ? 6 : 4, off = 0;
	int n = 0;

	while (len - off >= hdr) {
		if (nf_all_zero(p + off, len - off))
			return n;			/* padding */
		const uint8_t *r = p + off;
		uint16_t id = nf_be16(r);
		size_t n_fields, n_scope = 0;
		if (opt) {
			uint16_t slen = nf_be16(r + 2), olen = nf_be16(r + 4);
			/* Lengths not in whole fields or past the set
			 * (BAD_INPUTS #3, #4): nothing after can be trusted. */
			if ((slen | olen) & 3 ||
			    (size_t)slen + olen > len - off - hdr)
				return weir_xerr(ex, WEIR_XERR_BAD_OPTIONS_TEMPLATE), n;
			n_scope = slen / 4;
			n_fields = n_scope + olen / 4;
		} else {
			n_fields = nf_be16(r + 2);
			if (n_fields * 4 > len - off - hdr)
				return weir_xerr(ex, WEIR_XERR_BAD_TEMPLATE), n;
		}
		size_t rec_len = hdr + n_fields * 4;
		off += rec_len;
		if (id < 256) {
			weir_xerr(ex, WEIR_XERR_BAD_TEMPLATE_ID);
			continue;
		}
		if (n_fields == 0) {			/* v9 has no withdrawal */
			weir_xerr(ex, opt ? WEIR_XERR_BAD_OPTIONS_TEMPLATE
					  : WEIR_XERR_BAD_TEMPLATE);
			continue;
		}
		if (n_fields > max_fields(ex)) {	/* BAD_INPUTS #13 */
			weir_xerr(ex, WEIR_XERR_TEMPLATE_TOO_LARGE);
			continue;
		}
		struct nf_tmpl *t = tmpl_alloc((uint16_t)n_fields);
		if (!t)
			return weir_xerr(ex, WEIR_XERR_TEMPLATE_LIMIT), n;
		t->version = NF_V9;
		t->domain = ctx->domain;
		t->id = id;
		t->options = opt;
		t->n_scope = (uint16_t)n_scope;
		for (size_t i = 0; i < n_fields; i++) {
			struct nf_field *f = &t->f[i];
			f->type = nf_be16(r + hdr + i * 4);
			f->len = nf_be16(r + hdr + i * 4 + 2);
			if (i < n_scope)	/* scope types: 2 is an interface */
				f->role = f->type == 2 && f->len >= 1 && f->len <= 8
					  ? NF_R_SCOPE_IF : NF_R_SKIP;
			else
				f->role = field_role(ex, f->type, false, 0, f->len, false);
		}
		n += tmpl_insert(ex, t, now_ms, out, r, rec_len, opt ? 1 : 0);
	}
	weir_nf_set_tail(ex, p + off, len - off);
	return n;
}

/*
 * IPFIX template set (id 2) and options template set (id 3) records:
 *
 *   | template id | field count | [scope field count, options only]
 *   |E| IE id | length | [enterprise number if E] | ...
 *
 * field count 0 withdraws the template; template id 2 (3) with count 0
 * withdraws every template (options template) of the domain.
 */
static int
ipfix_template_set(struct weir_exporter *ex, const struct nf_ctx *ctx, bool opt,
		   const uint8_t *p, size_t len, uint64_t now_ms,
		   const struct weir_flow_sink *out)
{
	enum weir_xerr bad = opt ? WEIR_XERR_BAD_OPTIONS_TEMPLATE
				 : WEIR_XERR_BAD_TEMPLATE;
	size_t off = 0;
	int n = 0;

	while (len - off >= 4) {
		if (nf_all_zero(p + off, len - off))
			return n;			/* padding */
		const uint8_t *r = p + off;
		uint16_t id = nf_be16(r), n_fields = nf_be16(r + 2), n_scope = 0;
		size_t hdr = 4;

		if (n_fields == 0) {			/* withdrawal */
			off += 4;
			if (id == (opt ? 3 : 2)) {
				tmpl_remove_all(ex, NF_IPFIX, ctx->domain, opt);
				share(ex, out, WEIR_TMPL_WITHDRAW_ALL, NF_IPFIX, ctx->domain,
				      0, id, NULL, 0);
			} else if (id < 256) {
				weir_xerr(ex, WEIR_XERR_BAD_TEMPLATE_ID);
			} else {
				struct nf_tmpl *t = weir_nf_tmpl_find(ex->nf, NF_IPFIX,
								      ctx->domain, id);
				if (t && !!t->options != opt) {
					weir_xerr(ex, bad);
				} else if (t) {
					tmpl_remove(ex, NF_IPFIX, ctx->domain, id);
					share(ex, out, WEIR_TMPL_WITHDRAWN, NF_IPFIX,
					      ctx->domain, id, opt ? 3 : 2, NULL, 0);
				}
			}
			continue;
		}
		if (opt) {
			if (len - off < 6)
				return weir_xerr(ex, bad), n;
			n_scope = nf_be16(r + 4);
			hdr = 6;
		}
		/* Walk the specifiers to find where the record ends. */
		size_t q = hdr;
		for (unsigned int i = 0; i < n_fields; i++) {
			if (len - off - q < 4)
				return weir_xerr(ex, bad), n;
			size_t fl = nf_be16(r + q) & 0x8000 ? 8 : 4;
			if (len - off - q < fl)
				return weir_xerr(ex, bad), n;
			q += fl;
		}
		off += q;
		if (id < 256) {
			weir_xerr(ex, WEIR_XERR_BAD_TEMPLATE_ID);
			continue;
		}
		/* RFC 7011 3.4.2.2: the scope count MUST NOT be zero, and
		 * cannot exceed the fields there are (BAD_INPUTS #4, #5). */
		if (opt && (n_scope == 0 || n_scope > n_fields)) {
			weir_xerr(ex, bad);
			continue;
		}
		if (n_fields > max_fields(ex)) {
			weir_xerr(ex, WEIR_XERR_TEMPLATE_TOO_LARGE);
			continue;
		}
		struct nf_tmpl *t = tmpl_alloc(n_fields);
		if (!t)
			return weir_xerr(ex, WEIR_XERR_TEMPLATE_LIMIT), n;
		t->version = NF_IPFIX;
		t->domain = ctx->domain;
		t->id = id;
		t->options = opt;
		t->n_scope = n_scope;
		q = hdr;
		for (unsigned int i = 0; i < n_fields; i++) {
			struct nf_field *f = &t->f[i];
			uint16_t ty = nf_be16(r + q);
			uint32_t pen = 0;

			f->len = nf_be16(r + q + 2);
			if (ty & 0x8000) {
				pen = nf_be32(r + q + 4);
				q += 8;
			} else {
				q += 4;
			}
			f->type = ty;		/* a new PEN is a new template */
			f->pen = pen;
			f->role = field_role(ex, ty & 0x7fff, ty & 0x8000, pen,
					     f->len, true);
			/* an interface in the scope: options about it (G5) */
			if (i < n_scope && (f->role == NF_R_IN_IF ||
					    f->role == NF_R_OUT_IF))
				f->role = NF_R_SCOPE_IF;
		}
		n += tmpl_insert(ex, t, now_ms, out, r, q, opt ? 3 : 2);
	}
	weir_nf_set_tail(ex, p + off, len - off);
	return n;
}

int
weir_nf_template_set(struct weir_exporter *ex, const struct nf_ctx *ctx,
		     uint16_t set_id, const uint8_t *p, size_t len,
		     uint64_t now_ms, const struct weir_flow_sink *out)
{
	if (ctx->version == NF_V9)
		return v9_template_set(ex, ctx, set_id == 1, p, len, now_ms, out);
	return ipfix_template_set(ex, ctx, set_id == 3, p, len, now_ms, out);
}

/* ---- templates learnt elsewhere ---------------------------------------- */

/* Bytes of the one template record at rec, 0 if it does not fit in len. */
static size_t
tmpl_rec_len(uint8_t version, bool opt, const uint8_t *rec, size_t len)
{
	size_t q = opt ? 6 : 4;

	if (len < q)
		return 0;
	if (version == NF_V9) {
		size_t need = opt ? q + nf_be16(rec + 2) + (size_t)nf_be16(rec + 4)
				  : q + (size_t)nf_be16(rec + 2) * 4;
		return need <= len ? need : 0;
	}
	for (unsigned int i = 0, n = nf_be16(rec + 2); i < n; i++) {
		if (len - q < 4)
			return 0;
		size_t fl = nf_be16(rec + q) & 0x8000 ? 8 : 4;
		if (len - q < fl)
			return 0;
		q += fl;
	}
	return q;
}

int
weir_nf_template_install(struct weir_exporter *ex, uint8_t version, uint32_t domain,
			 uint16_t set_id, const uint8_t *rec, size_t len,
			 uint64_t age_ms, uint64_t now_ms, const struct weir_flow_sink *out)
{
	uint16_t first = version == NF_V9 ? 0 : 2;

	/* What a LEARNT event carries: exactly one template record of this
	 * version's template or options template set. Anything else came
	 * from somewhere we should not trust, and is not the exporter's
	 * fault: refused without touching its counters. An IPFIX record of
	 * 0 fields would be a withdrawal, not a template. */
	if ((version != NF_V9 && version != NF_IPFIX) ||
	    (set_id != first && set_id != first + 1) || len < 4 ||
	    tmpl_rec_len(version, set_id == first + 1, rec, len) != len ||
	    (version == NF_IPFIX && nf_be16(rec + 2) == 0))
		return -1;
	struct weir_nf_state *st = weir_nf_state_get(ex);
	if (!st)
		return weir_xerr(ex, WEIR_XERR_TEMPLATE_LIMIT);
	uint16_t id = nf_be16(rec);
	if (weir_nf_tmpl_find(st, version, domain, id))
		return WEIR_TMPL_KNOWN;	/* the exporter's own wins */

	struct nf_ctx ctx = { .version = version, .domain = domain, .export_ms = now_ms };
	st->installing = 1;
	st->install_age_ms = age_ms;
	int n = weir_nf_template_set(ex, &ctx, set_id, rec, len, now_ms, out);
	st->installing = 0;
	if (!weir_nf_tmpl_find(st, version, domain, id))
		return -1;
	ex->templates_from_redis++;
	return n;
}

/* ---- expiry and teardown ----------------------------------------------- */

void
weir_nf_expire(struct weir_exporter *ex, uint64_t now_ms)
{
	const struct weir_exporter_limits *lim = weir_nf_limits(ex);
	struct weir_nf_state *st = ex->nf;

	if (!st)
		return;
	for (unsigned int b = 0; b < NF_BUCKETS; b++) {
		struct nf_tmpl **pp = &st->bucket[b];

		while (*pp) {
			struct nf_tmpl *t = *pp;

			if (now_ms > t->last_ms &&
			    now_ms - t->last_ms > lim->template_ttl_ms) {
				*pp = t->next;
				tmpl_free(ex, t);
			} else {
				pp = &t->next;
			}
		}
	}
	/* Held data never gets its template: counted when given up. */
	struct nf_pending **pp = &st->pend_head, *prev = NULL;
	while (*pp) {
		struct nf_pending *e = *pp;

		if (now_ms > e->arrival_ms &&
		    now_ms - e->arrival_ms > lim->pending_ttl_ms) {
			*pp = e->next;
			if (st->pend_tail == e)
				st->pend_tail = prev;
			st->n_pending--;
			ex->held = st->n_pending;
			ex->mem_bytes -= e->mem;
			free(e);
			weir_xerr(ex, WEIR_XERR_UNKNOWN_TEMPLATE);
		} else {
			prev = e;
			pp = &e->next;
		}
	}
	struct nf_domain **dp = &st->domains;
	while (*dp) {
		struct nf_domain *d = *dp;

		if (now_ms > d->last_ms &&
		    now_ms - d->last_ms > lim->template_ttl_ms) {
			*dp = d->next;
			st->n_domains--;
			ex->mem_bytes -= sizeof(*d);
			free(d);
		} else {
			dp = &d->next;
		}
	}
}

void
weir_nf_state_free(struct weir_exporter *ex)
{
	struct weir_nf_state *st = ex->nf;

	if (!st)
		return;
	for (unsigned int b = 0; b < NF_BUCKETS; b++) {
		while (st->bucket[b]) {
			struct nf_tmpl *t = st->bucket[b];

			st->bucket[b] = t->next;
			tmpl_free(ex, t);
		}
	}
	while (st->pend_head)
		pending_drop_head(ex);
	while (st->domains) {
		struct nf_domain *d = st->domains;

		st->domains = d->next;
		ex->mem_bytes -= sizeof(*d);
		free(d);
	}
	ex->mem_bytes -= sizeof(*st);
	free(st);
	ex->nf = NULL;
}
