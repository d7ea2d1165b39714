/* nf_template.h -- the template engine shared by NetFlow v9 and IPFIX.
 *
 * v9 and IPFIX describe their records the same way: a template (an id and
 * a list of field type/length pairs) announced in one set and referred to
 * by the id of later data sets. This header is the private interface
 * between the two header decoders (netflow9.c, ipfix.c), the template store
 * (nf_template.c) and the record decoder (nf_record.c). Nothing here is
 * seen outside drivers/netflow except by the unit tests.
 *
 * Everything hangs off one struct weir_nf_state per exporter (ex->nf),
 * owned by the exporter's worker: no locks. Templates are keyed by
 * (version, domain, template id), where domain is the v9 source id or the
 * IPFIX observation domain; an id has one owner at a time, data or options
 * (BAD_INPUTS #11). All memory the state holds (templates, data sets held
 * for a template not yet seen, per-domain state) is counted in
 * ex->mem_bytes and bounded by ex->lim. */
#ifndef WEIR_NF_TEMPLATE_H
#define WEIR_NF_TEMPLATE_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "weir/export.h"

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif

#define NF_V5		5
#define NF_V9		9
#define NF_IPFIX	10

#define NF_VARLEN	0xffff	/* IPFIX variable-length field */
#define NF_BUCKETS	256	/* template hash buckets, power of two */
#define NF_MAX_DOMAINS	64	/* per exporter; least recently seen is reused */
#define NF_MAX_SAMPLERS	16	/* per domain */
#define NF_MAX_IF_RATES	32	/* interface-scoped sampling rates per domain */
#define NF_IFNAME_MAX	64

/* What a template field means to us; everything else is skipped by length. */
enum nf_role {
	NF_R_SKIP = 0,
	NF_R_SRC4, NF_R_DST4, NF_R_SRC6, NF_R_DST6,
	NF_R_SPORT, NF_R_DPORT, NF_R_PROTO, NF_R_TCP_FLAGS,
	NF_R_OCTETS, NF_R_OCTETS_TOTAL, NF_R_OUT_OCTETS,
	NF_R_PKTS, NF_R_PKTS_TOTAL, NF_R_OUT_PKTS,
	NF_R_IN_IF, NF_R_OUT_IF, NF_R_DIRECTION,
	NF_R_SMAC, NF_R_DMAC, NF_R_POST_SMAC, NF_R_POST_DMAC,
	NF_R_VLAN, NF_R_POST_VLAN, NF_R_DOT1Q_VLAN, NF_R_DOT1Q_CVLAN,
	NF_R_ICMP_TC4, NF_R_ICMP_TC6,
	NF_R_ICMP_T4, NF_R_ICMP_C4, NF_R_ICMP_T6, NF_R_ICMP_C6,
	NF_R_APP_ID,
	NF_R_UP_START, NF_R_UP_END,		/* sysUptime ms (v9 22/21, IPFIX 22/21) */
	NF_R_START_S, NF_R_END_S,		/* 150/151 */
	NF_R_START_MS, NF_R_END_MS,		/* 152/153 */
	NF_R_START_NTP, NF_R_END_NTP,		/* 154..157, NTP 64-bit format */
	NF_R_START_DUS, NF_R_END_DUS,		/* 158/159, us before export time */
	NF_R_SYS_INIT_MS,			/* 160 */
	NF_R_SAMPLING,				/* 34 samplingInterval */
	NF_R_SAMPLING_ALGO,			/* 35 samplingAlgorithm, 0 none */
	NF_R_SAMPLER_RANDOM,			/* 50 samplerRandomInterval */
	NF_R_PKT_INTERVAL, NF_R_PKT_SPACE,	/* 305/306 */
	NF_R_SAMPLING_SIZE, NF_R_SAMPLING_POP,	/* 309/310: n out of N */
	NF_R_SAMPLER_ID,			/* 48 samplerId, 302 selectorId */
	NF_R_IFNAME, NF_R_IFDESCR,		/* 82/83 */
	NF_R_SCOPE_IF,				/* options scope: an interface */
	NF_R_REV_OCTETS, NF_R_REV_OCTETS_TOTAL,	/* RFC 5103 (PEN 29305) 1, 85 */
	NF_R_REV_PKTS, NF_R_REV_PKTS_TOTAL,	/* 29305/2, 29305/86 */
	NF_R_VRF_IN, NF_R_VRF_OUT,		/* 234/235 ingress/egressVRFID */
	NF_R_VRF_NAME,				/* 236 VRFname (options data) */
	NF_R__MAX
};

struct nf_field {
	uint32_t pen;		/* IPFIX enterprise number, 0 for IANA fields */
	uint16_t type;		/* with the enterprise bit 0x8000 as sent */
	uint16_t len;		/* NF_VARLEN for IPFIX variable length */
	uint8_t  role;		/* enum nf_role */
};

#define NF_PEN_REVERSE	29305	/* RFC 5103: reverse-direction IEs */

struct nf_tmpl {
	struct nf_tmpl *next;	/* hash chain */
	uint64_t last_ms;	/* last definition or refresh */
	uint64_t shared_ms;	/* last WEIR_TMPL_LEARNT taken by the sink, 0 never */
	uint32_t domain;
	uint32_t min_len;	/* record bytes with every varlen field empty */
	uint32_t mem;
	uint16_t id;
	uint16_t n_fields;
	uint16_t n_scope;
	uint8_t  version;
	uint8_t  options;	/* options template */
	uint8_t  varlen;	/* has a variable-length field */
	struct nf_field f[];
};

/* The export header facts a record's times are relative to. */
struct nf_ctx {
	uint64_t export_ms;	/* export time, unix ms */
	uint32_t domain;
	uint32_t uptime_ms;	/* v9 sysUptime at export */
	uint8_t  version;
};

/* A data set held until its template arrives (BAD_INPUTS: data before
 * template). data[] is the set body, after its 4-byte header. */
struct nf_pending {
	struct nf_pending *next;
	uint64_t arrival_ms;
	struct nf_ctx ctx;
	uint32_t mem;
	uint16_t set_id;
	uint16_t len;
	uint8_t  data[];
};

struct nf_sampler {
	uint64_t id;
	uint32_t rate;
};

/* A sampling rate options data gave one interface (interface scope). */
struct nf_if_rate {
	uint32_t ifindex;
	uint32_t rate;
};

/* Per (version, domain): sequence, sampling and clock state. For v5 the
 * domain is engine_type << 8 | engine_id. */
struct nf_domain {
	struct nf_domain *next;
	uint64_t last_ms;
	uint64_t sys_init_ms;	/* IPFIX systemInitTimeMilliseconds, 0 unknown */
	uint32_t id;
	uint32_t seq_next;	/* expected next sequence number */
	uint32_t sampling;	/* from options data not scoped by interface, 0 unknown */
	uint8_t  version;
	uint8_t  seq_valid;
	uint8_t  n_samplers;
	uint8_t  sampler_next;	/* slot reused when the table is full */
	uint8_t  n_if_rates;
	uint8_t  if_rate_next;	/* slot reused when the table is full */
	struct nf_sampler samplers[NF_MAX_SAMPLERS];
	struct nf_if_rate if_rates[NF_MAX_IF_RATES];
};

/* A WEIR_TMPL_WANTED recently raised, so a stream of data sets for one
 * missing template asks once a second, not once a datagram. */
#define NF_ASKED_SLOTS	8
#define NF_ASK_EVERY_MS	1000
struct nf_asked {
	uint64_t ms;
	uint32_t domain;
	uint16_t id;
	uint8_t  version;
};

struct weir_nf_state {
	struct nf_tmpl *bucket[NF_BUCKETS];
	struct nf_pending *pend_head, *pend_tail;
	struct nf_domain *domains;
	uint32_t n_pending;
	uint32_t n_domains;
	struct nf_asked asked[NF_ASKED_SLOTS];
	uint8_t  installing;	/* inside weir_nf_template_install: raise no event */
	uint64_t install_age_ms;
	uint64_t padding;	/* sets ending in non-zero bytes shorter than a
				 * record and than 4 (RFC 3954 5.3, RFC 7011
				 * 3.3.1 padding): noted, not an error */
};

/* ex->lim, or the defaults when the engine gave none. */
const struct weir_exporter_limits *weir_nf_limits(const struct weir_exporter *ex);

/* The exporter's state, created on first use; NULL if it cannot be
 * allocated within the limits. */
struct weir_nf_state *weir_nf_state_get(struct weir_exporter *ex);

/* The (version, domain) state, created on first use (NULL when memory is
 * refused). */
struct nf_domain *weir_nf_domain_get(struct weir_exporter *ex, uint8_t version,
				     uint32_t domain, uint64_t now_ms);

/* Account one sequence number: counts gaps into seq_lost and backward
 * jumps into seq_resets, then expects `next`. */
void weir_nf_seq_account(struct weir_exporter *ex, struct nf_domain *d,
			 uint32_t seq, uint32_t next);

struct nf_tmpl *weir_nf_tmpl_find(struct weir_nf_state *st, uint8_t version,
				  uint32_t domain, uint16_t id);

/* Parse one template set (v9 id 0/1, IPFIX id 2/3) of body p/len, store
 * what it defines, and decode any data held for those templates. Returns
 * the flow records delivered from released data. */
int weir_nf_template_set(struct weir_exporter *ex, const struct nf_ctx *ctx,
			 uint16_t set_id, const uint8_t *p, size_t len,
			 uint64_t now_ms, const struct weir_flow_sink *out);

/* Hold a data set whose template is unknown; false if it was refused
 * (counted). */
bool weir_nf_pending_add(struct weir_exporter *ex, const struct nf_ctx *ctx,
			 uint16_t set_id, const uint8_t *p, size_t len,
			 uint64_t now_ms);

/* A data set for template id was held: ask the sink (sharing) for it,
 * at most once a second per template. */
void weir_nf_want(struct weir_exporter *ex, const struct nf_ctx *ctx, uint16_t id,
		  uint64_t now_ms, const struct weir_flow_sink *out);

/* Data sets currently held (tests). */
uint32_t weir_nf_pending_count(const struct weir_exporter *ex);

/* Walk the sets of one v9/IPFIX message body. *n_data returns data
 * records seen (delivered or options), *held whether a set was held for an
 * unknown template. Returns flow records delivered. */
int weir_nf_sets_walk(struct weir_exporter *ex, const struct nf_ctx *ctx,
		      const uint8_t *p, size_t len, uint64_t now_ms,
		      const struct weir_flow_sink *out, uint32_t *n_data,
		      bool *held);

/* Decode the records of one data set with template t. *n_data as above. */
int weir_nf_data_set(struct weir_exporter *ex, const struct nf_tmpl *t,
		     const struct nf_ctx *ctx, const uint8_t *p, size_t len,
		     uint64_t now_ms, const struct weir_flow_sink *out,
		     uint32_t *n_data);

/* Whether len bytes can hold a field of this role. */
bool weir_nf_len_ok(unsigned int role, size_t len);

/* Common tail of every decoder: counters, scaling by sampling and delivery. */
void weir_nf_deliver(struct weir_exporter *ex, struct weir_flow_rec *r,
		     const struct weir_flow_sink *out);

/* Wrap-aware conversion of a sysUptime-relative time (ms) to unix ms,
 * given the uptime and unix time of the export (BAD_INPUTS #26). */
static inline uint64_t
weir_nf_uptime_to_unix(uint64_t export_ms, uint32_t uptime_ms, uint32_t t)
{
	int64_t age = (int32_t)(uptime_ms - t);	/* < 0: after export */

	if (age > 0 && (uint64_t)age > export_ms)
		return 0;
	return (uint64_t)((int64_t)export_ms - age);
}

/* Multiply a counter by a sampling rate without wrapping. */
static inline uint64_t
weir_nf_scale(uint64_t v, uint32_t rate)
{
	uint64_t r;

	if (__builtin_mul_overflow(v, (uint64_t)rate, &r))
		return UINT64_MAX;
	return r;
}

static inline uint16_t
nf_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
nf_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Big-endian unsigned of 1..8 bytes (reduced-size encoding; of more, the
 * last 8). The usual widths are one load each: a byte loop of unknown
 * length was a fifth of a v9 record's decoding. */
static inline uint64_t
nf_beN(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	switch (n) {
	case 1:
		return p[0];
	case 2:
		return nf_be16(p);
	case 4:
		return nf_be32(p);
	case 8:
		memcpy(&v, p, 8);
		return be64toh(v);
	default:
		for (size_t i = 0; i < n; i++)
			v = v << 8 | p[i];
		return v;
	}
}

static inline bool
nf_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The n bytes after the last record (or template) of a set, fewer than a
 * record: padding if zero, or if fewer than 4 whatever they hold (RFC
 * 3954 5.3 pads to 4 bytes; RFC 7011 3.3.1 says padding SHOULD be zero,
 * and MikroTik, Cisco WLC and nProbe pad with garbage): noted in
 * nf->padding. Anything longer is counted TRAILING_BYTES (#15). */
static inline void
weir_nf_set_tail(struct weir_exporter *ex, const uint8_t *p, size_t n)
{
	if (n == 0 || nf_all_zero(p, n))
		return;
	if (n < 4 && ex->nf)
		ex->nf->padding++;
	else
		weir_xerr(ex, WEIR_XERR_TRAILING_BYTES);
}

#endif
