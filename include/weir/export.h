/* export.h -- the contract between flow-export decoders and the engine.
 *
 * NetFlow v5, NetFlow v9, IPFIX and sFlow v5 decoders all turn datagrams
 * into struct weir_flow_rec and hand them to a struct weir_flow_sink; the
 * engine folds those records into the same flow table and aggregates as
 * captured packets. Decoder state lives in struct weir_exporter, one per
 * exporter address, owned by exactly one worker (datagrams are hashed by
 * exporter), so decoders take no locks.
 *
 * Decoders never trust a length: every count, offset and length is checked
 * against the datagram before it is read, and each refusal is counted under
 * a named reason in ex->err[] (and summed in ex->errors). */
#ifndef WEIR_EXPORT_H
#define WEIR_EXPORT_H

#include <stdint.h>
#include <stddef.h>
#include "weir/pkt.h"
#include "weir/flow.h"

/* Reasons a datagram, set or record was refused. Decoders may append. */
#define WEIR_FOREACH_XERR(_)                                             \
	_(SHORT_DATAGRAM,      "short_datagram")                         \
	_(BAD_VERSION,         "bad_version")                            \
	_(NFV5_BAD_COUNT,      "nfv5_bad_count")                         \
	_(SHORT_SET,           "short_set")                              \
	_(SET_PAST_END,        "set_past_end")                           \
	_(BAD_TEMPLATE_ID,     "bad_template_id")                        \
	_(BAD_TEMPLATE,        "bad_template")                           \
	_(TEMPLATE_TOO_LARGE,  "template_too_large")                     \
	_(TEMPLATE_LIMIT,      "template_limit")                         \
	_(BAD_OPTIONS_TEMPLATE,"bad_options_template")                   \
	_(UNKNOWN_TEMPLATE,    "unknown_template")                       \
	_(PENDING_OVERFLOW,    "pending_overflow")                       \
	_(BAD_VARLEN,          "bad_varlen")                             \
	_(TRAILING_BYTES,      "trailing_bytes")                         \
	_(SFLOW_BAD_AGENT,     "sflow_bad_agent")                        \
	_(SFLOW_BAD_SAMPLE,    "sflow_bad_sample")                       \
	_(SFLOW_BAD_RECORD,    "sflow_bad_record")                       \
	_(SFLOW_BAD_HEADER,    "sflow_bad_sampled_header")               \
	_(SAMPLING_MISSING,    "sampling_rate_missing")                  \
	_(BAD_TIMESTAMP,       "bad_timestamp")                          \
	_(BAD_FIELD_LENGTH,    "bad_field_length")                       \
	_(SFLOW_NO_STATE,      "sflow_no_state")

enum weir_xerr {
#define WEIR_XERR_ENUM(n, s) WEIR_XERR_##n,
	WEIR_FOREACH_XERR(WEIR_XERR_ENUM)
#undef WEIR_XERR_ENUM
	WEIR_XERR__MAX
};
extern const char *const weir_xerr_names[WEIR_XERR__MAX];

/* Record origin, for weirctl and Redis. */
enum weir_rec_src {
	WEIR_SRC_NFV5 = 1,
	WEIR_SRC_NFV9,
	WEIR_SRC_IPFIX,
	WEIR_SRC_SFLOW,
};

/* One flow record as an exporter reported it, already scaled by its
 * sampling rate. Addresses are v4-mapped for IPv4 (see pkt.h). */
struct weir_flow_rec {
	uint8_t  src[16];
	uint8_t  dst[16];
	uint8_t  smac[6];
	uint8_t  dmac[6];
	uint16_t sport;
	uint16_t dport;            /* ICMP: type << 8 | code, as in NetFlow */
	uint16_t vlan;             /* dot1q / vlanId; 0 if absent */
	uint16_t vlan_inner;       /* dot1qCustomerVlanId / postVlanId; 0 if absent */
	uint8_t  proto;
	uint8_t  tcp_flags;
	uint8_t  direction;        /* 0 ingress, 1 egress, 0xff unknown */
	uint8_t  source;           /* enum weir_rec_src */
	uint32_t in_if;
	uint32_t out_if;
	uint32_t sampling;         /* rate that was applied (1 = unsampled) */
	uint32_t app_id;           /* exporter's application id (IPFIX 95), its low
	                            * 32 bits; 0 if none */
	uint32_t app_selector;     /* ... as RFC 6759 splits it: the Selector ID
	                            * (low 32 bits) of ... */
	uint8_t  app_engine;       /* ... Classification Engine ID app_engine (the
	                            * first byte; 0 if none: 0 is not an engine) */
	uint64_t bytes;            /* scaled */
	uint64_t pkts;             /* scaled */
	uint64_t start_ms;         /* unix ms; 0 if unknown */
	uint64_t end_ms;
	uint32_t frame_len;        /* sFlow: the sampled frame's length; else 0 */
	uint32_t vrf_in;           /* ingressVRFID (IPFIX/v9 234), 0 if none */
	uint32_t vrf_out;          /* egressVRFID (235), 0 if none */
	uint64_t rev_bytes;        /* RFC 5103 biflow: the other direction's (dst to
	                            * src) counts, scaled like bytes; 0 if none */
	uint64_t rev_pkts;
	struct weir_flow_route route;   /* sFlow extended router/gateway; zero if none */
};

/* Interface counters (sFlow counter samples, IPFIX interface stats). */
struct weir_if_counters {
	uint32_t ifindex;
	uint64_t speed;            /* bits/s */
	uint64_t in_octets, in_ucast, in_mcast, in_bcast, in_discards, in_errors;
	uint64_t out_octets, out_ucast, out_mcast, out_bcast, out_discards, out_errors;
	uint32_t status;           /* sFlow ifStatus bits */
	/* Appended for sFlow counter samples (drivers/sflow/sflow_counters.c). */
	uint32_t have;             /* WEIR_IFC_GENERIC | WEIR_IFC_ETHERNET: which parts are set */
	uint32_t if_type;          /* IANA ifType (6 = ethernetCsmacd) */
	uint32_t if_direction;     /* 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out */
	uint32_t promisc;          /* ifPromiscuousMode: 1 true, 2 false */
	uint64_t in_unknown_protos;
	struct {                   /* sFlow ethernet counters (format 2), RFC 3635 dot3Stats* */
		uint32_t alignment_errors, fcs_errors, single_collisions,
			 multiple_collisions, sqe_test_errors, deferred_transmissions,
			 late_collisions, excessive_collisions, internal_mac_tx_errors,
			 carrier_sense_errors, frame_too_longs, internal_mac_rx_errors,
			 symbol_errors;
	} dot3;
};
#define WEIR_IFC_GENERIC   0x1
#define WEIR_IFC_ETHERNET  0x2

struct weir_exporter;

/* Template sharing events (struct weir_flow_sink.tmpl). */
enum weir_tmpl_ev {
	WEIR_TMPL_LEARNT = 1,      /* defined, redefined, or refreshed after template-ttl/4 */
	WEIR_TMPL_WITHDRAWN,       /* withdrawn (IPFIX), or its redefinition was refused */
	WEIR_TMPL_WITHDRAW_ALL,    /* IPFIX: every template (set_id 2) or options template (3) of the domain */
	WEIR_TMPL_WANTED,          /* a data set was held for this unknown template (at most once a second) */
};

struct weir_tmpl_event {
	const uint8_t *rec;        /* LEARNT: the template record, as in the set (header included) */
	size_t   len;
	uint32_t domain;           /* v9 source id, IPFIX observation domain */
	uint16_t id;               /* template id (0 for WITHDRAW_ALL) */
	uint16_t set_id;           /* the set it belongs in: v9 0 (template) or 1 (options), IPFIX 2 or 3; 0 for WANTED */
	uint8_t  version;          /* 9 or 10 */
	uint8_t  kind;             /* enum weir_tmpl_ev */
};

/* Where decoders deliver. Each callback may be NULL. Called on the owning
 * worker only; callbacks must not block. */
struct weir_flow_sink {
	void (*rec)(void *ctx, struct weir_exporter *ex,
		    const struct weir_flow_rec *r);
	void (*ifc)(void *ctx, struct weir_exporter *ex,
		    const struct weir_if_counters *c);
	void (*ifname)(void *ctx, struct weir_exporter *ex, uint32_t ifindex,
		       const char *name);
	void *ctx;
	const struct weir_parse_cfg *pcfg;   /* sFlow sampled headers */
	/* NetFlow v9 / IPFIX template sharing (engine/tmpl_share.c): told
	 * what the exporter defined, withdrew or is missing. Returns 1 if the
	 * event was taken, 0 if dropped (a LEARNT is then offered again at the
	 * template's next refresh). NULL: sharing off. */
	int  (*tmpl)(void *ctx, struct weir_exporter *ex,
		     const struct weir_tmpl_event *e);
};

struct weir_nf_state;     /* netflow9/ipfix template engine, drivers/netflow */
struct weir_sflow_state;  /* drivers/sflow */

/* Limits on what one exporter may make us hold. */
struct weir_exporter_limits {
	uint32_t max_templates;      /* live templates per exporter, default 512 */
	uint32_t max_fields;         /* fields per template, default 128 */
	uint32_t max_pending;        /* data sets held awaiting a template, default 64 */
	uint32_t pending_ttl_ms;     /* how long they are held, default 30000 */
	uint32_t template_ttl_ms;    /* template expiry without refresh, default 1800000 */
	uint32_t max_bytes;          /* template + pending memory, default 1 MiB */
	uint32_t default_sampling;   /* applied when sampling is missing or 0, default 1 */
};

void weir_exporter_limits_default(struct weir_exporter_limits *l);

/* One exporter (by source address and UDP source port? no: by address). */
struct weir_exporter {
	uint8_t  addr[16];           /* v4-mapped for IPv4 */
	uint16_t port;               /* last UDP source port seen */
	uint8_t  last_version;       /* 5, 9, 10 or sflow 5 -> 'S' */
	uint64_t first_seen_ms;
	uint64_t last_seen_ms;
	uint64_t datagrams;
	uint64_t records;            /* flow records delivered (and samples for sFlow) */
	uint64_t bytes;              /* scaled bytes of those records */
	uint64_t pkts;
	uint64_t seq_lost;           /* records (or datagrams for sFlow/v9) missed by sequence */
	uint64_t seq_resets;         /* backward jumps: exporter restart */
	uint64_t errors;             /* sum of err[] */
	uint64_t err[WEIR_XERR__MAX];
	uint32_t templates;          /* live templates now */
	uint32_t mem_bytes;          /* template + pending memory now */
	uint32_t sampling;           /* last sampling rate in force */
	const struct weir_exporter_limits *lim;
	struct weir_nf_state *nf;    /* owned by drivers/netflow */
	struct weir_sflow_state *sf; /* owned by drivers/sflow */
	uint64_t sflow_drops;        /* sFlow: samples the agents lost for lack of resources
				      * (sum of the increases of each data source's drops) */
	uint32_t held;               /* v9/IPFIX data sets held now, waiting for their template */
	uint64_t templates_from_redis;   /* templates installed by weir_nf_template_install */
};

/* Count a refusal. Returns -1 so decoders can `return weir_xerr(ex, R);`. */
static inline int
weir_xerr(struct weir_exporter *ex, enum weir_xerr r)
{
	ex->err[r]++;
	ex->errors++;
	return -1;
}

/* Decoders. p/len is one UDP payload; now_ms is arrival time (unix ms).
 * Return the number of flow records delivered (>= 0) or -1 if the datagram
 * was refused as a whole (already counted). */
int weir_nfv5_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		     uint64_t now_ms, const struct weir_flow_sink *out);
int weir_nfv9_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		     uint64_t now_ms, const struct weir_flow_sink *out);
int weir_ipfix_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		      uint64_t now_ms, const struct weir_flow_sink *out);
int weir_sflow_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		      uint64_t now_ms, const struct weir_flow_sink *out);

/* Dispatch by the version field (5, 9, 10; sFlow datagrams start with 5 as
 * a 32-bit word). Unknown versions count BAD_VERSION. */
int weir_xflow_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		      uint64_t now_ms, const struct weir_flow_sink *out);

/* Expire templates and pending data past their TTL (control of the owning
 * worker, called about once a second). */
void weir_nf_expire(struct weir_exporter *ex, uint64_t now_ms);

/* Template sharing: define a template another collector learnt from this
 * exporter. rec/len is one template record exactly as a WEIR_TMPL_LEARNT
 * event gave it, set_id the set it belongs in (v9 0/1, IPFIX 2/3). It goes
 * through the same parser and per-exporter limits as a template set from
 * the exporter (refusals are counted in ex->err[] the same way), then the
 * data held for it is decoded. A template the exporter already defined
 * itself is never replaced. age_ms: how long ago it was learnt. Returns
 * the records delivered from held data (>= 0), WEIR_TMPL_KNOWN if the
 * exporter already has a template of that id, or -1 if refused. Counts
 * ex->templates_from_redis. No event is raised for what it defines. */
#define WEIR_TMPL_KNOWN (-2)
int weir_nf_template_install(struct weir_exporter *ex, uint8_t version, uint32_t domain,
			     uint16_t set_id, const uint8_t *rec, size_t len,
			     uint64_t age_ms, uint64_t now_ms, const struct weir_flow_sink *out);

/* Free everything the decoders hang off ex (templates, pending data). */
void weir_nf_state_free(struct weir_exporter *ex);
void weir_sflow_state_free(struct weir_exporter *ex);

/* sFlow figures of one exporter, for the control thread (plain reads of
 * aligned words while the owning worker writes them). ex->sf is never
 * freed while the engine runs: an evicted exporter's is reset in place. */
struct weir_sflow_summary {
	uint64_t flow_samples, counter_samples;
	uint64_t pool_pkts;          /* packets the samplers saw (sample_pool increases) */
	uint64_t samples_skipped, records_skipped;
	uint64_t sources_evicted;    /* sequence slots recycled, table full */
};
int  weir_sflow_summary(const struct weir_exporter *ex, struct weir_sflow_summary *s);  /* 0: no sFlow */
void weir_sflow_state_reset(struct weir_sflow_state *sf);

#endif
