/* worker.h -- one packet worker per lcore.
 *
 * A worker owns its RX queues (or an input ring fed by a distributor), one
 * flow-table shard, its aggregates and its flow-snapshot ring. Nothing it
 * writes on the packet path is written by another thread. The control
 * thread reads its counters (struct weir_worker_stats, one cache-aligned
 * block written by the worker only) and its aggregates (under RCU), and
 * writes only the control words at the end of the struct (rx_quiet there
 * is the worker's own, read by its peers). */
#ifndef WEIR_WORKER_H
#define WEIR_WORKER_H

#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "weir/config.h"
#include "weir/dpi.h"
#include "weir/export.h"
#include "weir/pkt.h"
#include "agg.h"
#include "dpi_msg.h"
#include "flow_snap.h"
#include "flow_table.h"

#define WEIR_BURST      32
#define WEIR_MAX_RXQ    16
#define WEIR_FRAG_SLOTS 4096
#define WEIR_LIN_MAX    65535	/* longest chained frame made contiguous (the snaplen) */
/* Bytes of a worker's verdict ring: 64 per snapshot slot (16 MiB at the
 * default flow-ring-size), about 130k verdicts as the bench capture's
 * flows pack (117 bytes and an 8-byte header each, dpi_msg.h). Sized with
 * the snapshot ring because both must hold what a worker sends while a
 * publish cycle keeps the control thread away. */
#define WEIR_DPI_RING_BYTES(flow_ring_size) ((uint32_t)(flow_ring_size) * 64u)

struct weir_rxq {
	uint16_t port;
	uint16_t queue;
};

/* Counters of one worker. Written by that worker only (plain stores of
 * aligned 64-bit words), read by the control thread at any time. */
struct weir_worker_stats {
	uint64_t rx_pkts;
	uint64_t rx_bytes;
	uint64_t parsed;
	uint64_t parse[WEIR_PARSE__MAX];   /* [OK] and [NON_IP] included */
	uint64_t flows_created;
	uint64_t flows_ended[WEIR_FLOW_END__MAX];
	uint64_t flow_table_full;
	uint64_t frag_unmatched;
	uint64_t snap_drops;
	uint64_t ring_waits;               /* reading a file, flushing: spins for room on a ring to control */
	uint64_t dpi_msg_drops;            /* verdicts the control thread never saw */
	uint64_t dpi_flows;                /* flows given a detection slot */
	uint64_t dpi_detected;             /* copies of the nDPI module's counters */
	uint64_t dpi_gave_up;
	uint64_t dpi_pool_full;
	uint64_t dpi_pkts;
	uint64_t dpi_pkts_after_app;       /* ... after the application was named */
	uint64_t dpi_pkts_no_payload;      /* ... TCP segments without payload */
	uint64_t dpi_mem;                  /* bytes nDPI holds now */
	uint64_t dpi_tsc;                  /* TSC cycles inside weir_dpi_process: nDPI's work on the
					    * packets fed (weir-bench's pcap note; not published) */
	uint64_t dist_out;                 /* handed to other workers */
	uint64_t dist_drops;               /* their ring was full */
	uint64_t xflow_datagrams;          /* diverted from DPDK ports (counted in rx_pkts) */
	uint64_t collect_datagrams;        /* from the UDP socket collector */
	uint64_t xflow_records;
	uint64_t exporters_full;
	uint64_t xflow_steered;            /* collector-port datagrams handed to their exporter's worker */
	uint64_t xflow_steer_drops;        /* ... whose ring was full: dropped */
	uint64_t exporters_evicted;        /* silent past exporter-timeout, removed for a new one */
	uint64_t collect_refused;          /* from an address outside exporter-allow: dropped */
	uint64_t tmpl_msg_drops;           /* template sharing: events the ring to control had no room for */
	uint64_t tmpl_installed;           /* templates installed from the control thread's answers */
	uint64_t tmpl_refused;             /* answers the decoder refused (bad record, limits) */
	uint64_t folds;
	uint64_t folds_deferred;           /* folds that waited for the control thread to take the last one */
	uint64_t loops;                    /* stall detection: must keep moving */
	uint64_t idle_sleeps;              /* idle-sleep naps taken */
	uint64_t flows_active;
	uint64_t now_ms;
} __attribute__((aligned(64)));

/* Remembers the ports of first fragments so later fragments join their flow. */
struct weir_frag_slot {
	uint8_t  src[16], dst[16];
	uint32_t id;
	uint8_t  proto;
	uint16_t sport, dport;
	uint64_t ms;
};

struct weir_worker;
struct weir_exporter_table;

struct weir_worker {
	unsigned int id;
	unsigned int lcore;
	const struct weir_config *cfg;

	struct weir_rxq rxq[WEIR_MAX_RXQ];
	unsigned int n_rxq;
	int distribute;                    /* rxq are shared: hash packets to peers */
	struct rte_ring *in_ring;          /* frames from a distributor */
	struct rte_ring *xflow_ring;       /* datagrams from the UDP socket collector */
	struct weir_worker **peers;        /* all workers, for distribution */
	unsigned int n_workers;
	int file_mode;                     /* lossless back-pressure instead of drops */
	unsigned int fault_stall_ms;       /* WEIR_FAULT_STALL (tests): 0, the default, is off */
	uint64_t fault_stall_after;        /* ... stall once after this many frames/datagrams */
	int ts_dynfield;                   /* mbuf timestamp offset, -1 if none */
	uint64_t ts_dynflag;

	struct weir_flow_table ft;
	struct weir_agg agg;
	struct weir_spsc_ring snaps;       /* struct weir_flow_snap, to the control thread */
	struct weir_spsc_ring dpi_out;     /* packed verdicts (dpi_msg.h), to the control thread */
	struct weir_spsc_ring tmpl_out;    /* struct weir_tmpl_msg, to the control thread (tmpl_share.h) */
	struct weir_spsc_ring tmpl_in;     /* struct weir_tmpl_msg, from it; no slots: sharing off */
	struct weir_dpi *dpi;              /* NULL: application detection off */
	struct weir_dpi_result dpi_res;    /* scratch for the verdict being made */
	struct weir_frag_slot *frags;
	uint8_t *lin;                      /* WEIR_LIN_MAX bytes: a chained frame (nb_segs > 1)
					    * copied whole for the parser and nDPI */
	struct weir_exporter_table *exporters;   /* flow-export state (collect.c) */
	int32_t *dpi_slot;                 /* [flow index] its nDPI slot while WEIR_FLOWST_DETECTING */
	struct weir_flow_xinfo *xinfo;     /* [flow index] if WEIR_FLOWST_XFLOW (collect.c) */

	uint64_t now_ms;                   /* packet time if the source has it, else wall */
	uint64_t tsc_hz;
	uint64_t tsc0, wall0_ms;
	uint64_t next_fold_tsc;
	uint64_t fold_head;                /* snaps.head after the last fold */
	int fold_waiting;                  /* a fold is due and waits (counted once) */
	uint64_t next_expire_tsc;
	uint32_t sweep_per_loop;           /* reading a file: buckets a loop */
	uint64_t sweep_period_tsc;         /* live: a whole index per period */
	uint64_t sweep_tsc, sweep_acc;     /* live: last call, bucket-tsc carried */

	struct weir_worker_stats st;

	/* control words: written by the control thread, except done and
	 * rx_quiet (the worker's) */
	int stop __attribute__((aligned(64)));  /* finish: end every flow, fold, set done */
	int done;                          /* written by the worker: it has finished */
	int rx_quiet;                      /* written by the worker, read by its peers: its last
					    * burst is done, it steers no more */
	uint64_t stalls;                   /* written by the control thread: stalls seen */
};

int  weir_worker_init(struct weir_worker *w, unsigned int id, const struct weir_config *cfg);
void weir_worker_fini(struct weir_worker *w);

/* With --dpi, make w's nDPI instance, on the thread that will own it
 * (nDPI's memory is counted per thread); weir_worker_main() starts with
 * it. A failure leaves w->dpi NULL: no detection, counted. */
void weir_worker_dpi_open(struct weir_worker *w);

/* For the control thread (and weir-bench, which plays it), every few
 * milliseconds: fault in the flow entries this worker will hand out next
 * and their nDPI slot indexes, so that it does not take those page faults
 * on its packets (weir_flow_table_prefault). *done, 0 at first, is the
 * caller's. */
void weir_worker_prefault(struct weir_worker *w, uint32_t *done);

/* The lcore entry point (rte_eal_remote_launch). */
int  weir_worker_main(void *arg);

/* Account one parsed packet of frame_len bytes. Exposed for tests and
 * weir-bench, which drive the worker without an lcore. */
void weir_worker_account(struct weir_worker *w, const struct weir_pkt_meta *m,
			 const uint8_t *frame, uint32_t frame_len, uint64_t ts_ms);

/* f's application is decided (verdict in w->dpi_res): release its
 * detection slot, tell the control thread. */
void weir_worker_dpi_verdict(struct weir_worker *w, struct weir_flow *f);

/* Fold every dirty flow into the aggregates and snapshot it. */
void weir_worker_fold(struct weir_worker *w);

/* End every flow (reason FLUSH: each folded and sent once, as it ends) and
 * leave the table empty. */
void weir_worker_flush(struct weir_worker *w);

/* Process a burst of mbufs (parse, account, free). */
void weir_worker_burst(struct weir_worker *w, struct rte_mbuf **pkts, uint16_t n);

/* Flow-export: a UDP datagram for a collector port (collect.c). */
void weir_worker_xflow(struct weir_worker *w, const uint8_t src[16], uint16_t sport,
		       const uint8_t *p, uint32_t len);
int  weir_worker_xflow_init(struct weir_worker *w);
void weir_worker_xflow_expire(struct weir_worker *w);   /* templates, held data past TTL */
void weir_worker_xflow_fini(struct weir_worker *w);
void weir_worker_tmpl_drain(struct weir_worker *w);     /* templates from the control thread */

/* For the control thread: the exporters and interfaces this worker holds
 * (exporters are only ever appended; fields are plain aligned words). */
struct weir_exporter *weir_worker_exporters(struct weir_worker *w, uint32_t *n);

struct weir_iface {
	uint32_t exporter;                 /* exporter index + 1; 0 = free slot */
	uint32_t seq;                      /* odd while the slot is taken over (collect.c) */
	uint32_t ifindex;
	uint64_t bytes_in, bytes_out, pkts_in, pkts_out;   /* from flow records */
	struct weir_if_counters c;         /* from counter samples (c.have != 0) */
	char     name[64];                 /* from options data / counter samples */
};
struct weir_iface *weir_worker_interfaces(struct weir_worker *w, uint32_t *n_slots);
/* A copy of slot i for the control thread, 1 if it holds an interface of
 * an exporter index below n_ex, 0 if free, gone, or taken over by another
 * interface while it was read (a slot of an evicted exporter is reused). */
int weir_worker_iface_read(const struct weir_iface *i, uint32_t n_ex, struct weir_iface *out);

/* Symmetric hash of a packet's addresses (and VLAN): both directions of a
 * conversation, and every fragment of a datagram, go to the same worker. */
uint32_t weir_sym_hash(const struct weir_pkt_meta *m);

#endif
