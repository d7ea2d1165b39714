/* config.h -- the engine's configuration, parsed once, validated, then read.
 *
 * engine/config.c fills struct weir_config from defaults, then a config file,
 * then the command line (later wins), checks every value against its range,
 * and only then does the engine start. Nothing changes it afterwards except
 * a SIGHUP reload of the keys marked reloadable. */
#ifndef WEIR_CONFIG_H
#define WEIR_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "weir/pkt.h"
#include "weir/export.h"

#define WEIR_MAX_PORTS    16
#define WEIR_MAX_SUBNETS  256
#define WEIR_MAX_WORKERS  64
#define WEIR_MAX_COLLECT  8
#define WEIR_MAX_EXPORTS  8
#define WEIR_NAME_LEN     48

struct weir_subnet {
	char     name[WEIR_NAME_LEN];  /* "iot", or the CIDR text for local networks */
	char     cidr[64];             /* as given */
	uint8_t  prefix[16];           /* v4-mapped for IPv4 */
	uint8_t  bits;                 /* prefix length in the 128-bit space */
	uint8_t  local;                /* from local-networks (-m) */
};

struct weir_collect {
	char     addr[64];             /* bind address text */
	uint16_t port;
};

struct weir_export_dest {
	char     addr[64];             /* IPFIX collector address text (IPv4 or IPv6) */
	uint16_t port;
};

struct weir_config {
	/* sources */
	char     interfaces[WEIR_MAX_PORTS][256];  /* DPDK device args (PCI or vdev) */
	unsigned n_interfaces;
	char     read_file[1024];      /* -r: capture file through net_pcap */
	int      loop;                 /* replay the file forever */
	struct weir_collect collect[WEIR_MAX_COLLECT];
	unsigned n_collect;
	uint16_t collector_ports[8];   /* UDP ports diverted to the decoders */
	unsigned n_collector_ports;
	/* EAL */
	int      hugepages;            /* 0: --no-huge --no-pci (development) */
	unsigned eal_mem_mb;
	char     eal_args[512];        /* extra EAL arguments, verbatim */
	char     lcores[64];           /* EAL -l list; default derived from workers */
	/* packet path */
	int      idle_sleep_us;        /* -1 auto; 0 pure polling */
	unsigned workers;
	unsigned queues;               /* RX queues per port; 0 = workers */
	unsigned rx_desc;
	unsigned mbufs;
	uint32_t flow_table_size;      /* per worker */
	uint32_t idle_timeout_s;
	uint32_t active_timeout_s;
	uint32_t host_idle_s;          /* hosts forgotten by the worker after this */
	struct weir_parse_cfg parse;
	/* application detection */
	int      dpi;                  /* nDPI on captured flows (guess on exported ones) */
	uint32_t dpi_flows;            /* flows under detection at once, per worker */
	uint32_t dpi_pkts_tcp;         /* packet budget before giving up */
	uint32_t dpi_pkts_udp;
	/* networks */
	struct weir_subnet subnets[WEIR_MAX_SUBNETS];
	unsigned n_subnets;
	/* flow export */
	struct weir_exporter_limits xlim;
	unsigned max_exporters;        /* per worker */
	int      share_templates;      /* v9/IPFIX templates shared through Redis (engine/tmpl_share.c) */
	/* publishing */
	char     redis_url[512];
	char     redis_prefix[64];
	char     node[64];
	uint32_t publish_interval_ms;
	uint32_t flow_history;         /* flows kept in Redis, active + ended */
	uint32_t flow_ring_size;       /* per worker snapshots to the control thread */
	uint32_t redis_timeout_ms;
	uint32_t data_retention_days;
	uint32_t flow_stream_len;      /* entries kept in the flows:ended stream */
	/* IPFIX re-export of ended flows (engine/ipfix_export.c) */
	struct weir_export_dest exports[WEIR_MAX_EXPORTS];
	unsigned n_exports;
	uint32_t export_domain;        /* observation domain id */
	/* events */
	char     watch[32][2 * WEIR_NAME_LEN + 2];  /* "SRC>DST" subnet pairs to report */
	uint8_t  watch_forbid[32];     /* 1: forbid (a violation), 0: watch */
	unsigned n_watch;
	uint32_t exporter_timeout_s;
	struct weir_subnet exporter_allow[64];   /* exporter-allow: only these send (none given: all) */
	unsigned n_exporter_allow;
	uint32_t collect_rcvbuf;       /* --collect sockets' receive buffer, bytes */
	/* reverse DNS */
	int      resolve;              /* 0 none, 1 local hosts, 2 all */
	uint32_t resolve_rate;
	uint32_t resolve_ttl_s;
	char     resolve_server[256];  /* "HOST[:PORT],...", "" for /etc/resolv.conf's */
	/* operations */
	int      quiet;
	uint32_t log_interval_s;
	int      progress;             /* -1 auto (tty), 0, 1 */
	int      dry_run;              /* validate and print, then exit */
	char     config_file[1024];
};

/* Fill defaults, read the file named by -c/--config if any, apply the command
 * line. On error prints what is wrong and what to do, and returns -1; on
 * --help/--version prints and returns 1 (the caller exits 0). */
int weir_config_load(struct weir_config *cfg, int argc, char **argv);

/* SIGHUP: take from next (a fresh, valid load) the keys that can change
 * while running; their names go to changed. Returns 1 if other keys differ
 * too (they need a restart and are ignored). */
int weir_config_reload(struct weir_config *live, const struct weir_config *next,
		       char *changed, size_t len);

/* Print the effective configuration, one `key = value` per line. */
void weir_config_dump(const struct weir_config *cfg, FILE *out);

/* Longest-prefix match over cfg->subnets; -1 if none. */
int weir_subnet_lookup(const struct weir_config *cfg, const uint8_t addr[16]);

/* 1 if flow export from addr (v4-mapped for IPv4) is taken: exporter-allow
 * is empty or holds it. */
int weir_exporter_allowed(const struct weir_config *cfg, const uint8_t addr[16]);

/* Parse "10.0.0.0/8" or "2001:db8::/32" into prefix/bits. 0 ok, -1 bad. */
int weir_cidr_parse(const char *text, uint8_t prefix[16], uint8_t *bits);

#endif
