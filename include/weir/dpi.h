/* dpi.h -- application detection with nDPI, one instance per worker.
 *
 * A worker runs nDPI on a flow's first packets only: it takes a detection
 * slot when the flow starts, feeds packets until detection is finished (a
 * protocol is known and nDPI wants nothing more, or the packet budget is
 * spent), copies the verdict and its metadata into a plain struct, and gives
 * the slot back. The slots come from a pool allocated once at create time,
 * so the packet path never allocates on our side; nDPI's own allocations go
 * through jemalloc and are counted per thread.
 *
 * Concurrency: a struct weir_dpi belongs to one worker thread. Every
 * function below except weir_dpi_create() is called by that thread only and
 * takes no lock. The counters may be read (torn reads tolerated, each field
 * is a naturally aligned u64) by the control thread.
 *
 * Nothing in struct weir_dpi_result points into nDPI state: strings are
 * bounded copies, so a result outlives the slot it came from. */
#ifndef WEIR_DPI_H
#define WEIR_DPI_H

#include <stdint.h>

struct weir_dpi;

struct weir_dpi_cfg {
	uint32_t max_flows_in_detection;  /* slots in the pool, default 65536 */
	uint16_t max_pkts_tcp;            /* budget: give up when a TCP flow has
					   * fed more than this, default 80 */
	uint16_t max_pkts_udp;            /* same for UDP and others, default 24 */
	uint16_t snaplen;                 /* longest L3 buffer handed to nDPI,
					   * default 65535 */
	uint8_t  enable_guess;            /* guess by port/IP on give-up, default 1 */
	/* Optional nDPI configuration files (NULL: none), same formats as
	 * ndpiReader -p, -c, -r, -j, -S. Read once at create time. */
	const char *protos_file;
	const char *categories_file;
	const char *risky_domains_file;
	const char *ja3_file;
	const char *sha1_file;
};

void weir_dpi_cfg_default(struct weir_dpi_cfg *cfg);

/* How the verdict was reached. */
enum weir_dpi_method {
	WEIR_DPI_METHOD_DPI = 0,     /* payload inspection found it */
	WEIR_DPI_METHOD_GUESS = 1,   /* by port or address after giving up,
				      * or weir_dpi_guess() without payload */
	WEIR_DPI_METHOD_NONE = 2,    /* unknown */
	WEIR_DPI_METHOD_EXPORTER = 3, /* the exporter's application id (IPFIX
				      * 95), weir_dpi_exporter_app() */
};

#define WEIR_DPI_NAME_LEN   64
#define WEIR_DPI_HOST_LEN   80   /* nDPI 4.2 host_server_name is 80 bytes */
#define WEIR_DPI_URL_LEN    256
#define WEIR_DPI_BANNER_LEN 48   /* nDPI 4.2 SSH signatures are 48 bytes */
#define WEIR_DPI_RISK_LEN   256

struct weir_dpi_result {
	uint16_t master_id;          /* nDPI master protocol id (e.g. 91 TLS), 0 if none */
	uint16_t app_id;             /* nDPI app protocol id (e.g. 124 YouTube) */
	uint16_t category_id;        /* ndpi_protocol_category_t */
	uint8_t  method;             /* enum weir_dpi_method */
	uint8_t  confidence_id;      /* ndpi_confidence_t */
	uint16_t pkts;               /* packets fed to nDPI for this flow */
	uint16_t dns_rcode;          /* DNS response code (valid if dns_rsp) */
	uint16_t dns_qtype;
	uint8_t  dns_rsp;            /* a DNS response was seen */
	uint8_t  tls_version_known;
	uint16_t tls_version;        /* e.g. 0x0303, 0x0304 */
	uint64_t risk;               /* ndpi_risk bitmap */
	char name[WEIR_DPI_NAME_LEN];        /* ndpi_protocol2name: "TLS.YouTube" */
	char app_name[WEIR_DPI_NAME_LEN];    /* name of app_id, else of master_id:
					      * "YouTube" (what aggregates key on) */
	char category[WEIR_DPI_NAME_LEN];    /* ndpi_category_get_name: "Media" */
	char confidence[WEIR_DPI_NAME_LEN];  /* ndpi_confidence_get_name: "DPI" */
	char host[WEIR_DPI_HOST_LEN];        /* TLS/QUIC SNI, HTTP Host, DNS query,
					      * DHCP hostname */
	char ja3c[33];                       /* TLS/QUIC JA3 client hash */
	char ja3s[33];                       /* TLS JA3 server hash (ServerHello) */
	char url[WEIR_DPI_URL_LEN];          /* HTTP URL (host + path) */
	char ssh_client[WEIR_DPI_BANNER_LEN];
	char ssh_server[WEIR_DPI_BANNER_LEN];
	char risk_text[WEIR_DPI_RISK_LEN];   /* risk names, "; " separated */
};

/* Counters of one instance. Written by the owner only. */
struct weir_dpi_counters {
	uint64_t flows_detected;     /* finished with a protocol found by DPI */
	uint64_t flows_gave_up;      /* finished without one (budget spent or flow
				      * ended): guessed or unknown */
	uint64_t pool_full;          /* weir_dpi_flow_begin() found no free slot */
	uint64_t pkts_processed;     /* packets handed to nDPI */
	uint64_t pkts_truncated;     /* packets cut to the snaplen before nDPI */
	uint64_t pkts_after_app;     /* ... of them, fed after nDPI had named the
				      * application (its extra dissection:
				      * a TLS certificate, a DNS answer) */
};

/* Build one nDPI module (all protocols enabled) and a pool of
 * cfg->max_flows_in_detection slots. cfg may be NULL for the defaults.
 * Call it from the thread that will own the instance: nDPI's memory is
 * counted in that thread's counter. Creates are serialized internally
 * (nDPI forbids parallel ndpi_init_detection_module). NULL on failure. */
struct weir_dpi *weir_dpi_create(const struct weir_dpi_cfg *cfg);
void weir_dpi_destroy(struct weir_dpi *d);

/* Take a detection slot for a new flow: its index, or -1 when the pool is
 * full (counted in pool_full; the flow then stays unclassified). */
int weir_dpi_flow_begin(struct weir_dpi *d);

/* Feed one packet of the flow in `slot`. l3 points at the IPv4 or IPv6
 * header, l3_len is the captured length from there (longer is cut to the
 * snaplen). from_initiator is 1 for the flow's initiator-to-responder
 * direction; nDPI 4.2 works the direction out itself, so it is used only
 * for the per-direction packet counts. Returns 1 when detection is finished
 * and *res is filled, 0 when nDPI wants more packets, -1 for a bad slot or
 * a slot already finished. */
int weir_dpi_process(struct weir_dpi *d, int slot, const uint8_t *l3,
		     uint16_t l3_len, uint64_t ts_ms, int from_initiator,
		     struct weir_dpi_result *res);

/* Finish a flow that ends (idle, evicted, end of input) before detection
 * finished: nDPI gives up (and guesses if enabled) and *res is filled.
 * Returns 1, or -1 for a bad slot or a slot already finished. */
int weir_dpi_flow_finish(struct weir_dpi *d, int slot,
			 struct weir_dpi_result *res);

/* Give the slot back (frees what nDPI allocated for the flow). Any slot
 * index returned by weir_dpi_flow_begin(), finished or not. */
void weir_dpi_flow_end(struct weir_dpi *d, int slot);

/* Guess the application of a flow seen without payload (NetFlow/IPFIX/sFlow
 * records) from protocol, addresses (16 bytes, v4-mapped for IPv4) and
 * ports (host order). Always returns 1; res->method is GUESS, or NONE when
 * nothing matched. */
int weir_dpi_guess(struct weir_dpi *d, uint8_t proto,
		   const uint8_t src[16], uint16_t sport,
		   const uint8_t dst[16], uint16_t dport,
		   struct weir_dpi_result *res);

/* The application of a flow-export record that carries an application id
 * (IPFIX IE 95, RFC 6759: Classification Engine ID, Selector ID). Engine
 * 3 (IANA-L4: the selector is a port) and 1 (IANA-L3: an IP protocol
 * number) are what nDPI's guess gives for that port (with the record's
 * protocol) or protocol; anything else, and a port or protocol nDPI does
 * not know, is named "ENGINE:SELECTOR" in decimal (e.g. "13:453", an NBAR
 * id), category Unspecified. res->method is EXPORTER. Returns 1, or 0 if
 * engine is 0 (no application id: res untouched). */
int weir_dpi_exporter_app(struct weir_dpi *d, uint8_t proto, uint8_t engine,
			  uint32_t selector, struct weir_dpi_result *res);

const struct weir_dpi_counters *weir_dpi_counters(const struct weir_dpi *d);

/* Slots in use right now. */
uint32_t weir_dpi_slots_used(const struct weir_dpi *d);

/* Bytes nDPI currently holds through its allocator hooks, counted on the
 * thread that owns d (plus the slot pool, allocated by us). */
int64_t weir_dpi_mem_bytes(const struct weir_dpi *d);

#endif
