/* ipfix_export.h -- re-export the flows weir tracks as IPFIX (RFC 7011).
 *
 * Users keep long-term flow history in stores they already run (nfcapd,
 * nfacctd, GoFlow2). This module turns each ended flow into IPFIX data
 * records, packs them into messages of at most 1400 bytes and sends each
 * message to every `export` destination over UDP.
 *
 * Concurrency: owned by the control thread. No worker ever calls it; it
 * takes no lock. Sockets are non-blocking: a send that fails is counted,
 * never retried, never waited for. */
#ifndef WEIR_IPFIX_EXPORT_H
#define WEIR_IPFIX_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "weir/config.h"
#include "flow_snap.h"

struct weir_ipfix_export;

struct weir_ipfix_export_stats {
	uint64_t messages;      /* messages built (templates and data), each sent to every destination */
	uint64_t records;       /* data records built (one per flow direction that carried packets) */
	uint64_t send_errors;   /* datagrams refused by sendto() (unreachable, ...), over all destinations */
	uint64_t dropped;       /* datagrams dropped because our socket buffer was full */
};

/* One socket per cfg->exports[] destination. NULL (with a reason in err) if
 * a socket cannot be made; cfg->n_exports must be > 0. */
struct weir_ipfix_export *weir_ipfix_export_new(const struct weir_config *cfg,
						char *err, size_t errlen);
/* Sends what is still buffered, then closes. NULL is fine. */
void weir_ipfix_export_free(struct weir_ipfix_export *x);

/* Encode an ended flow: one record per direction with packets. app_name
 * (nDPI's "TLS.YouTube") may be NULL. Full messages go out at once. */
void weir_ipfix_export_flow(struct weir_ipfix_export *x, const struct weir_flow_snap *s,
			    const char *app_name);

/* An ended flow whose application verdict may still be on its way (a worker
 * sends a flow's verdict just before its last snapshot, on another ring):
 * keep a copy until the caller has drained the verdicts. */
void weir_ipfix_export_hold(struct weir_ipfix_export *x, const struct weir_flow_snap *s);
/* The held flows, oldest first; weir_ipfix_export_release() forgets them. */
const struct weir_flow_snap *weir_ipfix_export_held(const struct weir_ipfix_export *x, size_t *n);
void weir_ipfix_export_release(struct weir_ipfix_export *x);

/* Send the partial message, and the templates when due (at start, then
 * every 60 s or every 4096 messages, RFC 7011 section 8.4). now_ms: wall time. */
void weir_ipfix_export_flush(struct weir_ipfix_export *x, uint64_t now_ms);

const struct weir_ipfix_export_stats *weir_ipfix_export_stats(const struct weir_ipfix_export *x);

#endif
