/* flow.h -- the bidirectional flow: key and per-flow state.
 *
 * Both directions of a conversation share one key: the (address, port)
 * endpoints are stored in a canonical order (a <= b), so A->B and B->A land
 * on the same entry; `a_is_init` remembers which end sent first. The first
 * cache line holds what every packet touches (key, byte counters, last
 * seen); the rest is touched when a flow starts, is folded into the
 * aggregates, or ends. */
#ifndef WEIR_FLOW_H
#define WEIR_FLOW_H

#include <assert.h>
#include <stdint.h>

struct weir_agg_host;

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

/* Per-flow state in the worker's table. Written by the owning worker only. */
struct weir_flow {
	/* line 0: per packet */
	struct weir_flow_key key;
	uint64_t bytes[2];         /* [0] a->b, [1] b->a */
	uint64_t last_ms;
	/* line 1 */
	uint64_t pkts[2];
	uint64_t first_ms;
	uint64_t uid;              /* unique for the engine's life: worker << 56 | seq */
	uint64_t folded_bytes[2];  /* what the aggregates already hold */
	uint32_t folded_pkts[2];   /* low 32 bits are enough for a fold delta */
	/* line 2 */
	uint8_t  amac[6];          /* MAC of a as seen as a source */
	uint8_t  bmac[6];
	uint8_t  tcp_flags;        /* OR of all flags seen */
	uint8_t  a_is_init;        /* a sent the first packet */
	uint8_t  state;            /* WEIR_FLOWST_* */
	uint8_t  source;           /* 0 captured, else enum weir_rec_src */
	uint16_t sub_init;         /* subnet index of the initiator, +1 (0 = not yet) */
	uint16_t sub_resp;
	int32_t  dpi_slot;         /* nDPI detection slot, -1 if none */
	uint32_t dirty_next;       /* intrusive dirty list, see flow_table.h */
	uint32_t dirty_prev;
	uint32_t in_if;            /* flow export: interfaces and exporter */
	uint32_t out_if;
	uint32_t exporter;         /* index into the worker's exporter table + 1 */
	uint16_t app;              /* nDPI app protocol id (issue 3) */
	uint16_t master;
	/* the aggregate entries of its two hosts, found at the first fold and
	 * kept: a host with an active flow is never freed (agg.c), so folds
	 * after the first cost no hash lookup */
	struct weir_agg_host *agg_a;
	struct weir_agg_host *agg_b;
};

#define WEIR_FLOWST_DIRTY    0x01  /* on the dirty list */
#define WEIR_FLOWST_COUNTED  0x02  /* already counted in host/vlan flow totals */
#define WEIR_FLOWST_DPI_DONE 0x04

#endif
