/* netflow9.c -- NetFlow v9 (RFC 3954) message header.
 *
 * Reads the 20-byte header, accounts the sequence number (it counts export
 * packets per source id, so a gap is datagrams lost) and walks the
 * flowsets with the template engine shared with IPFIX (nf_record.c,
 * nf_template.c). Templates, options and data are keyed by source id.
 *
 * The header's count field is not used to bound the walk: exporters
 * disagree on what it counts (records, flowsets), and the flowset lengths
 * already bound every read. Called by the exporter's owning worker only. */
#include <assert.h>
#include "nf_template.h"

/*
 * Header, 20 bytes, then flowsets to the end of the datagram:
 *
 *  0         2         4               8              12             16
 *  | version | count   |   sysUptime   |  unix_secs   |   sequence   |
 *  16
 *  | source id |
 */
struct nfv9_hdr {
	uint16_t version;
	uint16_t count;
	uint32_t uptime;
	uint32_t unix_secs;
	uint32_t sequence;
	uint32_t source_id;
};
static_assert(sizeof(struct nfv9_hdr) == 20, "v9 header is 20 bytes");

int
weir_nfv9_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		 uint64_t now_ms, const struct weir_flow_sink *out)
{
	ex->datagrams++;
	ex->last_version = NF_V9;
	ex->last_seen_ms = now_ms;
	if (!ex->first_seen_ms)
		ex->first_seen_ms = now_ms;

	if (unlikely(len < sizeof(struct nfv9_hdr)))
		return weir_xerr(ex, WEIR_XERR_SHORT_DATAGRAM);
	if (unlikely(nf_be16(p) != 9))
		return weir_xerr(ex, WEIR_XERR_BAD_VERSION);
	if (unlikely(!weir_nf_state_get(ex)))
		return weir_xerr(ex, WEIR_XERR_TEMPLATE_LIMIT);

	struct nf_ctx ctx = {
		.version = NF_V9,
		.uptime_ms = nf_be32(p + 4),
		.domain = nf_be32(p + 16),
	};
	uint32_t secs = nf_be32(p + 8), seq = nf_be32(p + 12);
	ctx.export_ms = secs ? (uint64_t)secs * 1000 : now_ms;

	struct nf_domain *d = weir_nf_domain_get(ex, NF_V9, ctx.domain, now_ms);
	if (d)
		weir_nf_seq_account(ex, d, seq, seq + 1);

	uint32_t n_data = 0;
	bool held = false;
	return weir_nf_sets_walk(ex, &ctx, p + sizeof(struct nfv9_hdr),
				 len - sizeof(struct nfv9_hdr), now_ms, out,
				 &n_data, &held);
}
