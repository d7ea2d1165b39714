/* sflow_route.c -- sFlow v5 extended router (1002) and gateway (1003) data.
 *
 * Routers that sample (and hsflowd with a BGP feed) tell each flow sample
 * where it goes: the IP next hop and the source/destination prefix lengths
 * (1002), and the BGP view, i.e. the source AS, the peer AS it came from and
 * the AS path towards the destination (1003). weir keeps the next hop, both
 * masks, the source and peer AS, and of the path its first AS (the next
 * adjacent AS) and its last (the destination AS), as sflowtool reports
 * them. Communities and local preference are read past, not kept.
 *
 * Layouts (sflow_version_5.txt):
 *   1002  | next_hop: addr_type, 4 or 16 bytes | src_mask_len | dst_mask_len |
 *   1003  | next_hop | as | src_as | src_peer_as | n_segments |
 *         { seg_type | n_as | as * n_as } * n_segments |
 *         n_communities | community * n_communities | localpref |
 * Every count is checked against the record's length before it is used. */
#include <string.h>

#include "sflow.h"

/* An address: type, then 4 or 16 bytes. Returns the bytes read, or 0. */
static size_t
route_addr(const uint8_t *p, size_t len, uint8_t out[16])
{
	if (len < 4)
		return 0;
	uint32_t type = sflow_be32(p);
	size_t alen = type == SFLOW_ADDR_IP4 ? 4 : type == SFLOW_ADDR_IP6 ? 16 : 0;
	if (!alen || len - 4 < alen)
		return 0;
	if (alen == 4)
		sflow_v4_mapped(out, p + 4);
	else
		memcpy(out, p + 4, 16);
	return 4 + alen;
}

int
weir_sflow_ext_router(struct weir_flow_route *rt, const uint8_t *p, size_t len)
{
	uint8_t nh[16];
	size_t n = route_addr(p, len, nh);
	if (!n || len - n < 8)
		return -1;
	uint32_t sm = sflow_be32(p + n), dm = sflow_be32(p + n + 4);
	if (sm > 128 || dm > 128)
		return -1;
	memcpy(rt->next_hop, nh, 16);
	rt->src_mask = (uint8_t)sm;
	rt->dst_mask = (uint8_t)dm;
	return 0;
}

int
weir_sflow_ext_gateway(struct weir_flow_route *rt, const uint8_t *p, size_t len,
		       uint8_t bgp_next_hop[16])
{
	size_t n = route_addr(p, len, bgp_next_hop);
	if (!n || len - n < 16)
		return -1;
	uint32_t src_as = sflow_be32(p + n + 4), peer_as = sflow_be32(p + n + 8);
	uint32_t segs = sflow_be32(p + n + 12);
	size_t off = n + 16;
	uint32_t first = 0, last = 0;
	if (segs > (len - off) / 8)
		return -1;
	for (uint32_t s = 0; s < segs; s++) {
		if (len - off < 8)
			return -1;
		uint32_t cnt = sflow_be32(p + off + 4);
		off += 8;
		if (cnt > (len - off) / 4)
			return -1;
		if (cnt) {
			if (!first)
				first = sflow_be32(p + off);
			last = sflow_be32(p + off + 4 * (size_t)(cnt - 1));
		}
		off += 4 * (size_t)cnt;
	}
	if (len - off < 4)
		return -1;
	uint32_t comm = sflow_be32(p + off);
	off += 4;
	if (comm > (len - off) / 4 || len - off - 4 * (size_t)comm < 4)	/* communities, localpref */
		return -1;
	rt->src_as = src_as;
	rt->src_peer_as = peer_as;
	rt->dst_peer_as = first;
	rt->dst_as = last;
	return 0;
}
