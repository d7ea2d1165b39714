/* xflow.c -- one entry point for every flow-export datagram.
 *
 * A collector port may receive several protocols (an exporter switched from
 * v9 to IPFIX, or sFlow and NetFlow on one port), so the protocol is chosen
 * per datagram from its version field, never from the port:
 *
 *   00 05 ..     NetFlow v5   (16-bit version)
 *   00 09 ..     NetFlow v9
 *   00 0a ..     IPFIX        (version 10)
 *   00 00 00 05  sFlow v5     (32-bit version)
 */
#include <string.h>
#include "weir/export.h"

const char *const weir_xerr_names[WEIR_XERR__MAX] = {
#define WEIR_XERR_NAME(n, s) [WEIR_XERR_##n] = s,
	WEIR_FOREACH_XERR(WEIR_XERR_NAME)
#undef WEIR_XERR_NAME
};

void
weir_exporter_limits_default(struct weir_exporter_limits *l)
{
	l->max_templates = 512;
	l->max_fields = 128;
	l->max_pending = 64;
	l->pending_ttl_ms = 30000;
	l->template_ttl_ms = 1800000;
	l->max_bytes = 1u << 20;
	l->default_sampling = 1;
}

int
weir_xflow_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		  uint64_t now_ms, const struct weir_flow_sink *out)
{
	if (len < 4) {
		ex->datagrams++;
		return weir_xerr(ex, WEIR_XERR_SHORT_DATAGRAM);
	}
	uint16_t v16 = (uint16_t)(p[0] << 8 | p[1]);
	switch (v16) {
	case 5:
		return weir_nfv5_decode(ex, p, len, now_ms, out);
	case 9:
		return weir_nfv9_decode(ex, p, len, now_ms, out);
	case 10:
		return weir_ipfix_decode(ex, p, len, now_ms, out);
	case 0:
		if (p[2] == 0 && p[3] == 5)
			return weir_sflow_decode(ex, p, len, now_ms, out);
		break;
	}
	ex->datagrams++;
	return weir_xerr(ex, WEIR_XERR_BAD_VERSION);
}
