/* flow.h -- the bidirectional flow: key and per-flow state.
 *
 * Both directions of a conversation share one key: the (address, port)
 * endpoints are stored in a canonical order (a <= b), so A->B and B->A land
 * on the same entry; WEIR_FLOWST_A_INIT remembers which end sent first.
 * The first cache line holds what every packet touches (key, counts since
 * the last fold, last seen); the second is touched when a flow starts, is
 * folded into the aggregates, or ends. */
#ifndef WEIR_FLOW_H
#define WEIR_FLOW_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

struct weir_flow_key {
	uint8_t  a[16];            /* lower endpoint address (v4-mapped) */
	uint8_t  b[16];
	uint16_t pa;               /* port of a */
	uint16_t pb;
	uint16_t vlan;
	uint8_t  proto;
	uint8_t  pad;              /* always 0: keys are compared as bytes */
};
static_assert(sizeof(struct weir_flow_key) == 40, "flow key is 40 bytes");

/* Why a flow left the table. */
#define WEIR_FOREACH_FLOW_END(_)        \
	_(NONE,    "active")            \
	_(IDLE,    "idle")              \
	_(ACTIVE,  "active_timeout")    \
	_(EVICTED, "evicted")           \
	_(FLUSH,   "flush")

enum weir_flow_end {
#define WEIR_FE_ENUM(n, s) WEIR_FLOW_END_##n,
	WEIR_FOREACH_FLOW_END(WEIR_FE_ENUM)
#undef WEIR_FE_ENUM
	WEIR_FLOW_END__MAX
};
extern const char *const weir_flow_end_names[WEIR_FLOW_END__MAX];

/* Per-flow state in the worker's table: 128 bytes, two cache lines, and
 * nothing else per flow but its index slot (flow_table.h). Written by the
 * owning worker only.
 *
 * Line 0 is all a packet touches: the key, the counts since the last fold
 * (a fold adds them to the totals and to the aggregates, agg.c; a count
 * about to overflow folds early), the last-seen time, the TCP flags and the
 * state bits. Line 1 is touched when the flow starts, at a fold and at its
 * end. Times are milliseconds since the Unix epoch in 48 bits (good to the
 * year 10000; a larger one from an exporter is clamped, weir_ms48()), in
 * separate 32- and 16-bit fields rather than a bit-field: a packet's byte
 * store to tcp_flags followed by the next packet's 8-byte load of a word
 * holding it would stall store-to-load forwarding.
 * What only some flows need lives in side arrays indexed like the flows:
 * the nDPI detection slot (worker.h) and the exporter's interfaces
 * (struct weir_flow_xinfo). */
struct weir_flow {
	/* line 0: per packet */
	struct weir_flow_key key;
	union {
		uint32_t new_bytes[2];     /* since the last fold: [0] a->b, [1] b->a */
		uint32_t free_next;        /* a free entry: the next free one (flow_table.c) */
	};
	uint16_t new_pkts[2];      /* ditto (a full one folds early, worker.c) */
	uint16_t sub_init;         /* subnet index of the initiator, +1 (0 = none) */
	uint16_t sub_resp;
	uint32_t last_lo;          /* last seen: weir_flow_last() */
	uint16_t last_hi;
	uint8_t  tcp_flags;        /* OR of all flags seen */
	uint8_t  state;            /* WEIR_FLOWST_* */
	/* line 1: start, fold, end */
	uint64_t bytes[2];         /* totals as of the last fold */
	uint64_t pkts[2];
	uint32_t first_lo;         /* first seen: weir_flow_first() */
	uint16_t first_hi;
	uint16_t uid_hi;           /* uid_hi:uid_lo: the low 48 bits of the uid, */
	uint32_t uid_lo;           /* weir_flow_uid() (flow_table.h) */
	/* handles of the aggregate entries of its two hosts (0: not yet), set at
	 * its first fold: a host with an active flow is never freed (agg.c), so
	 * folds after the first cost no hash lookup */
	uint32_t agg_a;
	uint32_t agg_b;
	uint8_t  amac[6];          /* MAC of a as seen as a source */
	uint8_t  bmac[6];
};
static_assert(sizeof(struct weir_flow) == 128, "a flow is two cache lines");
static_assert(offsetof(struct weir_flow, bytes) == 64, "what a packet touches is line 0");

#define WEIR_FLOWST_DIRTY     0x01  /* counted in the dirty bitmap (flow_table.h) */
#define WEIR_FLOWST_COUNTED   0x02  /* already counted in host/vlan flow totals */
#define WEIR_FLOWST_DETECTING 0x04  /* holds an nDPI detection slot */
#define WEIR_FLOWST_DPI_DONE  0x08  /* detection is over */
#define WEIR_FLOWST_A_INIT    0x10  /* a sent the first packet */
#define WEIR_FLOWST_XFLOW     0x20  /* from flow export: its struct weir_flow_xinfo is set */
#define WEIR_FLOWST_SEEN_A    0x40  /* a packet a->b was counted (its MAC taken) */
#define WEIR_FLOWST_SEEN_B    0x80  /* ... b->a: WEIR_FLOWST_SEEN_A << dir */

#define WEIR_MS48_MAX ((1ull << 48) - 1)

static inline uint64_t
weir_ms48(uint64_t ms)
{
	return ms < WEIR_MS48_MAX ? ms : WEIR_MS48_MAX;
}

/* A flow's times; ms must be below 2^48 (weir_ms48()). */
static inline uint64_t
weir_flow_last(const struct weir_flow *f)
{
	return (uint64_t)f->last_hi << 32 | f->last_lo;
}

static inline void
weir_flow_set_last(struct weir_flow *f, uint64_t ms)
{
	f->last_lo = (uint32_t)ms;
	f->last_hi = (uint16_t)(ms >> 32);
}

static inline uint64_t
weir_flow_first(const struct weir_flow *f)
{
	return (uint64_t)f->first_hi << 32 | f->first_lo;
}

static inline void
weir_flow_set_first(struct weir_flow *f, uint64_t ms)
{
	f->first_lo = (uint32_t)ms;
	f->first_hi = (uint16_t)(ms >> 32);
}

/* What a router said about a flow's path (sFlow extended router 1002 and
 * gateway 1003). Zero fields were not given. */
struct weir_flow_route {
	uint8_t  next_hop[16];     /* 1002 IP next hop (else 1003's BGP next hop); v4-mapped */
	uint8_t  src_mask, dst_mask;   /* 1002 prefix lengths (IPv4 0-32, IPv6 0-128) */
	uint16_t pad;
	uint32_t src_as, dst_as;   /* 1003: source AS; the last AS of the path */
	uint32_t src_peer_as, dst_peer_as;   /* 1003: peer AS; the first AS of the path */
};

/* What a flow-export flow carries besides the counters: the exporter's
 * interfaces, the exporter, the record format. In a side array indexed
 * like the flows (collect.c), touched only by such flows. */
struct weir_flow_xinfo {
	uint32_t in_if;
	uint32_t out_if;
	uint32_t exporter;         /* index into the worker's exporter table + 1 */
	uint32_t source;           /* enum weir_rec_src */
	uint32_t vrf;              /* ingress VRF id (IPFIX/v9 234), 0 if none */
	struct weir_flow_route route;   /* export.h; the latest record's that had one */
};

#endif
