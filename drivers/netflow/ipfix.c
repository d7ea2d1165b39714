/* ipfix.c -- IPFIX (RFC 7011) message header.
 *
 * Reads the 16-byte header, bounds the message by its own length field,
 * walks the sets with the template engine shared with NetFlow v9, then
 * accounts the sequence number: it counts data records sent in the
 * observation domain before this message, so the next message should
 * carry this one's + the data records it held. When a set had to wait for
 * its template, this message's record count is unknown, and the next
 * message only resynchronises. Called by the exporter's owning worker only. */
#include <assert.h>
#include "nf_template.h"

/*
 * Header, 16 bytes, then sets up to `length`:
 *
 *  0         2         4               8                 12
 *  | version | length  |  export time  | sequence number | observation domain |
 */
struct ipfix_hdr {
	uint16_t version;
	uint16_t length;
	uint32_t export_time;
	uint32_t sequence;
	uint32_t domain;
};
static_assert(sizeof(struct ipfix_hdr) == 16, "IPFIX header is 16 bytes");

int
weir_ipfix_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		  uint64_t now_ms, const struct weir_flow_sink *out)
{
	ex->datagrams++;
	ex->last_version = NF_IPFIX;
	ex->last_seen_ms = now_ms;
	if (!ex->first_seen_ms)
		ex->first_seen_ms = now_ms;

	if (unlikely(len < sizeof(struct ipfix_hdr)))
		return weir_xerr(ex, WEIR_XERR_SHORT_DATAGRAM);
	if (unlikely(nf_be16(p) != 10))
		return weir_xerr(ex, WEIR_XERR_BAD_VERSION);
	size_t mlen = nf_be16(p + 2);
	if (unlikely(mlen < sizeof(struct ipfix_hdr) || mlen > len))
		return weir_xerr(ex, WEIR_XERR_SHORT_DATAGRAM);
	if (mlen < len && !nf_all_zero(p + mlen, len - mlen))
		weir_xerr(ex, WEIR_XERR_TRAILING_BYTES);
	if (unlikely(!weir_nf_state_get(ex)))
		return weir_xerr(ex, WEIR_XERR_TEMPLATE_LIMIT);

	uint32_t secs = nf_be32(p + 4), seq = nf_be32(p + 8);
	struct nf_ctx ctx = {
		.version = NF_IPFIX,
		.domain = nf_be32(p + 12),
		.export_ms = secs ? (uint64_t)secs * 1000 : now_ms,
	};

	uint32_t n_data = 0;
	bool held = false;
	int n = weir_nf_sets_walk(ex, &ctx, p + sizeof(struct ipfix_hdr),
				  mlen - sizeof(struct ipfix_hdr), now_ms, out,
				  &n_data, &held);

	struct nf_domain *d = weir_nf_domain_get(ex, NF_IPFIX, ctx.domain, now_ms);
	if (d) {
		weir_nf_seq_account(ex, d, seq, seq + n_data);
		if (held)
			d->seq_valid = 0;
	}
	return n;
}
