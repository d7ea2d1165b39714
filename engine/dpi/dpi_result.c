/* dpi_result.c -- copy what nDPI found about a flow into a plain struct.
 *
 * nDPI keeps per-protocol metadata in a union inside struct
 * ndpi_flow_struct (flow->protos). Reading the wrong member of that union
 * is how several nDPI consumers crashed (nDPI bdf54d7), so every union read
 * below is guarded by the detected protocol. Strings are copied with a
 * bound and always terminated; the result never points into nDPI memory,
 * so it stays valid after the slot is reused. */
#include <stdio.h>
#include <string.h>

#include "dpi_result.h"

static void
copy_str(char *dst, size_t dst_len, const char *src, size_t src_max)
{
	size_t n = 0;

	if (src != NULL)
		while (n < src_max && n + 1 < dst_len && src[n] != '\0')
			n++;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static int
is_proto(ndpi_protocol p, uint16_t id)
{
	return p.master_protocol == id || p.app_protocol == id;
}

static int
is_tls_like(ndpi_protocol p)
{
	return is_proto(p, NDPI_PROTOCOL_TLS) || is_proto(p, NDPI_PROTOCOL_QUIC) ||
	       is_proto(p, NDPI_PROTOCOL_DTLS) ||
	       is_proto(p, NDPI_PROTOCOL_MAIL_SMTPS) ||
	       is_proto(p, NDPI_PROTOCOL_MAIL_IMAPS) ||
	       is_proto(p, NDPI_PROTOCOL_MAIL_POPS);
}

static void
fill_risk(struct ndpi_flow_struct *flow, struct weir_dpi_result *res)
{
	size_t off = 0;

	res->risk = flow->risk;
	res->risk_text[0] = '\0';
	for (int i = 0; i < NDPI_MAX_RISK && i < 64; i++) {
		if (!(flow->risk & ((uint64_t)1 << i)))
			continue;
		const char *s = ndpi_risk2str((ndpi_risk_enum)i);
		int n = snprintf(res->risk_text + off, sizeof(res->risk_text) - off,
				 "%s%s", off ? "; " : "", s ? s : "?");
		if (n < 0 || (size_t)n >= sizeof(res->risk_text) - off) {
			/* Truncated: keep what fits, terminated by snprintf. */
			break;
		}
		off += (size_t)n;
	}
}

static void
fill_flow_meta(ndpi_protocol p, struct ndpi_flow_struct *flow,
	       const struct weir_dpi_flow_facts *facts,
	       struct weir_dpi_result *res)
{
	/* host_server_name lives outside the union: SNI, HTTP Host, DNS
	 * query, DHCP hostname, NetBIOS name, all in one field in 4.2. */
	copy_str(res->host, sizeof(res->host), flow->host_server_name,
		 sizeof(flow->host_server_name));
	res->confidence_id = (uint8_t)flow->confidence;
	copy_str(res->confidence, sizeof(res->confidence),
		 ndpi_confidence_get_name(flow->confidence), WEIR_DPI_NAME_LEN);
	fill_risk(flow, res);

	/* flow->http is outside the union too; url is NULL unless set. */
	if (is_proto(p, NDPI_PROTOCOL_HTTP) || flow->http.url != NULL)
		copy_str(res->url, sizeof(res->url), flow->http.url,
			 sizeof(res->url));

	if (is_tls_like(p)) {
		copy_str(res->ja3c, sizeof(res->ja3c),
			 flow->protos.tls_quic.ja3_client,
			 sizeof(flow->protos.tls_quic.ja3_client));
		copy_str(res->ja3s, sizeof(res->ja3s),
			 flow->protos.tls_quic.ja3_server,
			 sizeof(flow->protos.tls_quic.ja3_server));
		if (flow->protos.tls_quic.ssl_version) {
			res->tls_version_known = 1;
			res->tls_version = flow->protos.tls_quic.ssl_version;
		}
	} else if (is_proto(p, NDPI_PROTOCOL_DNS)) {
		res->dns_qtype = flow->protos.dns.query_type;
		if (!flow->protos.dns.is_query && facts->pkts_resp > 0) {
			res->dns_rsp = 1;
			res->dns_rcode = flow->protos.dns.reply_code;
		}
	} else if (is_proto(p, NDPI_PROTOCOL_SSH)) {
		/* nDPI 4.2 calls the first banner it sees the client's; the
		 * server usually speaks first, so trust our direction. */
		const char *c = flow->protos.ssh.client_signature;
		const char *sv = flow->protos.ssh.server_signature;
		if (facts->ssh_swapped) {
			c = flow->protos.ssh.server_signature;
			sv = flow->protos.ssh.client_signature;
		}
		copy_str(res->ssh_client, sizeof(res->ssh_client), c,
			 sizeof(flow->protos.ssh.client_signature));
		copy_str(res->ssh_server, sizeof(res->ssh_server), sv,
			 sizeof(flow->protos.ssh.server_signature));
	}
}

void
weir_dpi_result_fill(struct ndpi_detection_module_struct *ndpi,
		     struct ndpi_flow_struct *flow, ndpi_protocol p,
		     enum weir_dpi_method method,
		     const struct weir_dpi_flow_facts *facts,
		     struct weir_dpi_result *res)
{
	char buf[WEIR_DPI_NAME_LEN];
	uint16_t main_id;

	memset(res, 0, sizeof(*res));
	if (p.master_protocol == NDPI_PROTOCOL_UNKNOWN &&
	    p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
		method = WEIR_DPI_METHOD_NONE;
	res->master_id = p.master_protocol;
	res->app_id = p.app_protocol;
	res->category_id = (uint16_t)p.category;
	res->method = (uint8_t)method;
	res->pkts = facts ? facts->pkts : 0;

	copy_str(res->name, sizeof(res->name),
		 ndpi_protocol2name(ndpi, p, buf, sizeof(buf)), sizeof(buf));
	/* The application an aggregate is keyed by: app, else master. This
	 * is what ndpiReader sums its per-protocol totals under. */
	main_id = p.app_protocol ? p.app_protocol : p.master_protocol;
	copy_str(res->app_name, sizeof(res->app_name),
		 ndpi_get_proto_name(ndpi, main_id), WEIR_DPI_NAME_LEN);
	copy_str(res->category, sizeof(res->category),
		 ndpi_category_get_name(ndpi, p.category), WEIR_DPI_NAME_LEN);

	if (flow != NULL && facts != NULL) {
		fill_flow_meta(p, flow, facts, res);
	} else {
		/* No flow: the caller says how the guess was made. */
		res->confidence_id = NDPI_CONFIDENCE_UNKNOWN;
		copy_str(res->confidence, sizeof(res->confidence),
			 ndpi_confidence_get_name(NDPI_CONFIDENCE_UNKNOWN),
			 WEIR_DPI_NAME_LEN);
	}
}
