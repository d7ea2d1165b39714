/* control_priv.h -- the control thread's own state, shared by control.c
 * (sums, flows, publishing) and control_apps.c (applications, DNS names).
 * Nothing here is visible to the workers. */
#ifndef WEIR_CONTROL_PRIV_H
#define WEIR_CONTROL_PRIV_H

#include <stdint.h>
#include <uthash.h>

#include "weir/dpi.h"
#include "weir/redis.h"
#include "control.h"
#include "udp_collector.h"
#include "events.h"
#include "flow_id.h"
#include "rdns.h"
#include "timeseries.h"

/* Empty a uthash table whose entries own nothing but themselves. */
#define WEIR_HASH_FREE_ALL(head, type) do {                         \
	type *x_, *t_;                                                \
	HASH_ITER(hh, head, x_, t_) {                                 \
		HASH_DEL(head, x_);                                   \
		free(x_);                                             \
	}                                                             \
} while (0)

struct ctl_app;
struct host_app;
struct weir_ipfix_export;
struct ctl_host;
struct deleted_flow {
	uint64_t uid;
	struct weir_flow_key key;
	struct ctl_host *ha, *hb;    /* its hosts, if known */
	const char *app;
	int indexed;
	int a_is_init;
};
struct host_dns;

enum { HB_SENT, HB_RCVD, HP_SENT, HP_RCVD, H_FLOWS, H_ACTIVE, H_N };

struct peer {
	uint8_t addr[16];
	UT_hash_handle hh;
};

struct ctl_host {
	struct { uint8_t ip[16]; uint16_t vlan; } key;
	UT_hash_handle hh;
	char id[64];
	char ip_text[48];
	uint8_t mac[6];
	int subnet;                  /* index, -1 remote */
	int local;
	uint64_t first_ms, last_ms;
	uint64_t retired[H_N];
	uint64_t *cur;               /* [n_workers][H_N] */
	uint64_t *seen;              /* [n_workers] cycle last read */
	uint64_t *born;              /* [n_workers] weir_agg_host.born of the entry last read */
	uint64_t tot[H_N];
	uint64_t pub_tot[H_N];       /* totals at the last published change */
	uint64_t prev_sent, prev_rcvd;
	uint64_t bps_sent, bps_rcvd;
	struct peer *peers;
	uint32_t n_peers;
	struct host_app *apps;       /* bytes per application (control_apps.c) */
	struct host_dns *dns;        /* names queried (control_apps.c) */
	uint32_t n_dns;
	struct dns_gone *dns_gone;   /* replaced names Redis still holds: the next
				      * landed cycle removes them (control_apps.c) */
	int apps_dirty;
	int announced;               /* new_host event sent */
	char *name;                  /* reverse DNS, NULL if none */
	int dirty;
	/* What Redis holds of its hash (a committed cycle wrote it): after
	 * the first whole write, a cycle sends the fields that move, and the
	 * others only when their signature (host_sig) changed. */
	uint64_t pub_sig;            /* 0: never written whole */
	uint64_t sent_cycle;         /* c->cycle of the last write (maybe not committed) */
	uint64_t apps_sent_cycle;    /* same for hostapps/hostdns */
};

struct ctl_vlan {
	uint16_t vlan;
	UT_hash_handle hh;
	uint64_t bytes, pkts, flows, first_ms, last_ms, hosts;
	uint64_t pub_bytes, pub_flows, pub_hosts, prev_bytes, bps;
	int seen;
};

struct ctl_pair {
	uint32_t key;                /* src << 16 | dst */
	UT_hash_handle hh;
	uint64_t bf, br, pf, pr, flows, first_ms, last_ms;
	uint64_t pub_bytes, pub_flows, prev_bytes, bps;
};

/* What the control thread keeps of a flow's verdict: names are interned
 * (a few hundred distinct), metadata strings copied only when present. */
struct ctl_dpi {
	const char *name;            /* "TLS.YouTube" */
	const char *app;             /* "YouTube" */
	const char *category;
	const char *confidence;
	uint8_t  method;
	uint8_t  dns_rsp;
	uint16_t dns_rcode;
	uint64_t risk;
	char *host, *ja3c, *ja3s, *url, *ssh_client, *ssh_server, *risk_text;
};

struct ctl_flow {
	uint64_t uid;
	UT_hash_handle hh;
	struct weir_flow_snap s;
	struct ctl_dpi *dpi;
	struct ctl_app *app_agg;     /* where its bytes are counted so far */
	struct ctl_app *hap_app;     /* the application hap[] count under, */
	struct host_app *hap[2];     /* ...in the hosts of key.a and key.b: one
				      * cache miss a snapshot instead of the
				      * five of a lookup (control_apps.c) */
	struct ctl_host *ha, *hb;    /* hosts of key.a and key.b (weir_ctl_flow_host) */
	int dns_pending;             /* a DNS name waits for the flow's key */
	const char *indexed_app;     /* idx:app:NAME it is in (NULL: none yet), */
	int indexed;                 /* in the idx:* sets: both as of the last committed cycle */
	int streamed;                /* its end is in flows:ended */
	int have_snap;
	uint64_t snapless_cycle;     /* a verdict without snapshot since (control.c drop_orphans) */
	int dirty;
	int ended;
	struct ctl_flow *prev, *next;   /* ended list, oldest first */
	/* What Redis holds of its hash, as of the last committed cycle that
	 * wrote it (control.c publish_flows): fields that never move are sent
	 * again only when the signature of them (flow_sig) changes; state and
	 * end_reason when it ends; the application fields with the verdict. */
	uint64_t sig;                /* flow_sig at the last write */
	uint64_t pub_sig;            /* ...at the last committed one, 0: none */
	uint64_t sent_cycle;         /* c->cycle of the last write */
	uint8_t  pub_end;            /* s.end committed */
	uint8_t  pub_dpi;            /* application fields committed with a verdict */
};

/* The loss counters a `drops` health event reports, and what was said. */
#define CTL_DROP_COUNTERS 12
struct ctl_drops {
	uint64_t said[CTL_DROP_COUNTERS];	/* value the last event reported */
	uint64_t said_ms[CTL_DROP_COUNTERS];
};

struct weir_control {
	const struct weir_config *cfg;
	struct weir_worker **w;
	unsigned int n_workers;
	struct weir_redis *redis;
	char prefix[160];
	uint64_t cycle;
	uint64_t last_cycle_ms;
	uint64_t started_ms;
	int need_full;
	struct ctl_drops drops;
	int purged;
	int redis_ok;
	char state[16];
	char source[300];

	struct ctl_host *hosts;
	struct ctl_vlan *vlans;
	struct ctl_pair *pairs;
	struct ctl_flow *flows;
	struct ctl_xerr *xerrs;         /* errors already logged, exporter up/down */
	uint64_t xerr_pass;             /* log_exporter_errors passes: an entry not met in one was evicted */
	struct weir_ts *ts;
	struct weir_events *events;
	struct weir_rdns *rdns;
	int lost_since_ok;              /* publish cycles lost since the last good one */
	uint64_t lost_total;            /* every cycle that did not land, connected or not */
	struct ctl_app *apps;
	struct ctl_app *cats;
	struct intern *names;
	struct ctl_flow *ended;         /* utlist DL, oldest first */
	uint64_t n_flows;
	struct deleted_flow *deleted;   /* flows to DEL, ZREM and unindex */
	struct weir_set_batch *idx_add, *idx_rem;  /* a cycle's index updates (set_batch.h) */
	size_t n_deleted, cap_deleted;  /* at most flow-history, then: */
	int deleted_overflow;           /* purge and rewrite all at reconnection */
	uint64_t deletes_overflow;      /* flows forgotten past that bound */
	uint64_t hostdns_dropped;       /* DNS names that left a host's full list */
	uint64_t last_outage;           /* cycles lost before Redis was last back */
	uint64_t verdicts_orphaned;     /* verdicts of flows already gone (drop_orphans) */
	uint64_t flows_dropped_view;    /* left the view (history cap) */
	struct weir_ipfix_export *ipfix;  /* IPFIX re-export of ended flows, NULL if none */
	struct weir_tmpl_share *tshare;   /* v9/IPFIX template sharing, NULL if off */

	struct weir_port_counters ports;
	struct weir_udp_stats udp;
	uint64_t publish_ms, publish_lag_ms;
	uint64_t prev_rx_pkts, prev_rx_bytes, pps, bps;
};

/* control_apps.c */
struct intern;
void weir_ctl_apps_snapshot(struct weir_control *c, struct ctl_flow *f,
			    uint64_t dbytes, uint64_t dpkts);
void weir_ctl_apps_verdict(struct weir_control *c, struct ctl_flow *f,
			   const struct weir_dpi_result *r);
void weir_ctl_apps_drain(struct weir_control *c);
void weir_ctl_apps_publish(struct weir_control *c, struct weir_redis *r, int full);
void weir_ctl_apps_publish_host(struct weir_control *c, struct weir_redis *r,
				struct ctl_host *h, int full);
void weir_ctl_apps_flow_fields(struct weir_redis *r, const struct ctl_flow *f);
/* A verdict's `detection` value: dpi, guess, exporter or none (d NULL). */
const char *weir_ctl_detection_name(const struct ctl_dpi *d);
void weir_ctl_apps_free_flow(struct ctl_flow *f);
void weir_ctl_apps_free_host(struct ctl_host *h);
void weir_ctl_apps_free(struct weir_control *c);
void weir_ctl_apps_observe(struct weir_control *c);
void weir_ctl_apps_clear_dirty(struct weir_control *c);
/* control_series.c */
void weir_ctl_observe(struct weir_control *c);
void weir_ctl_hosts_news(struct weir_control *c, uint64_t now_ms);
void weir_ctl_boundary(struct weir_control *c, struct ctl_flow *f);
void weir_ctl_index_flow(struct weir_control *c, struct weir_redis *r, struct ctl_flow *f, int full);
void weir_ctl_unindex_flow(struct weir_control *c, struct weir_redis *r, const struct deleted_flow *d);
void weir_ctl_index_send(struct weir_control *c, struct weir_redis *r);
void weir_ctl_stream_ended(struct weir_control *c, struct weir_redis *r, struct ctl_flow *f);
const char *weir_ctl_subnet_name(const struct weir_config *cfg, int idx);
void weir_ctl_addr_text(const uint8_t a[16], char *out, size_t len);

struct ctl_host *weir_ctl_host_get(struct weir_control *c, const uint8_t ip[16], uint16_t vlan);
/* The host at end a (b = 0) or b (b = 1) of a flow with a snapshot, found
 * once and kept (hosts live as long as the control thread); NULL only if
 * out of memory. */
struct ctl_host *weir_ctl_flow_host(struct weir_control *c, struct ctl_flow *f, int b);

#endif
