/* sflow.c -- sFlow v5 datagrams and flow samples into struct weir_flow_rec.
 *
 * An sFlow agent does not export flows: it exports samples, each the first
 * bytes of one packet in `sampling_rate`, plus periodic interface counters.
 * This file turns each flow sample into one weir_flow_rec (the sampled
 * header goes through the engine's own packet parser, so a sampled packet
 * is read exactly as a captured one would be), scaled by its sampling rate,
 * and hands counter samples to sflow_counters.c.
 *
 * It owns the per-exporter sFlow state (ex->sf): a small, bounded table of
 * sequence slots, one per (agent, sub-agent) datagram stream and one per
 * flow sampler, from which datagram loss, agent restarts, sample-pool and
 * drop increases are derived. Called on the exporter's owning worker only;
 * no locks, no allocation after the first datagram of an exporter.
 *
 * Nothing in a datagram is trusted: the sample count is checked against the
 * bytes that could hold it, each sample and record length against its
 * parent before use, and an unknown sample or record is skipped by its
 * (checked) length. A refusal is a named counter in ex->err[], never a log
 * line. (BAD_INPUTS rows 21-25.) */
#include <stdlib.h>
#include <string.h>

#include "sflow.h"

static uint32_t
default_sampling(const struct weir_exporter *ex)
{
	if (ex->lim && ex->lim->default_sampling)
		return ex->lim->default_sampling;
	return 1;
}

struct sflow_seq_slot *
weir_sflow_slot(struct weir_sflow_state *sf, const struct sflow_agent *a,
		uint32_t ds_type, uint32_t ds_index, int *fresh)
{
	struct sflow_seq_slot *s, *lru = NULL;

	sf->clock++;
	for (uint32_t i = 0; i < sf->n_slots; i++) {
		s = &sf->slot[i];
		if (s->ds_type == ds_type && s->ds_index == ds_index &&
		    s->sub_agent == a->sub_agent &&
		    memcmp(s->agent, a->addr, 16) == 0) {
			s->used = sf->clock;
			*fresh = 0;
			return s;
		}
		if (!lru || s->used < lru->used)
			lru = s;
	}
	if (sf->n_slots < SFLOW_MAX_SLOTS) {
		s = &sf->slot[sf->n_slots++];
	} else {
		s = lru;
		sf->st.sources_evicted++;
	}
	memset(s, 0, sizeof(*s));
	memcpy(s->agent, a->addr, 16);
	s->sub_agent = a->sub_agent;
	s->ds_type = ds_type;
	s->ds_index = ds_index;
	s->used = sf->clock;
	*fresh = 1;
	return s;
}

void
weir_sflow_state_free(struct weir_exporter *ex)
{
	free(ex->sf);
	ex->sf = NULL;
}

void
weir_sflow_state_reset(struct weir_sflow_state *sf)
{
	memset(sf, 0, sizeof(*sf));
}

int
weir_sflow_summary(const struct weir_exporter *ex, struct weir_sflow_summary *s)
{
	const struct weir_sflow_state *sf = ex->sf;
	if (!sf)
		return 0;
	*s = (struct weir_sflow_summary){
		.flow_samples = sf->st.flow_samples,
		.counter_samples = sf->st.counter_samples,
		.pool_pkts = sf->st.pool_pkts,
		.samples_skipped = sf->st.samples_skipped,
		.records_skipped = sf->st.records_skipped,
		.sources_evicted = sf->st.sources_evicted,
	};
	return 1;
}

/* What the records of one flow sample told us, gathered before the record
 * is built (records come in any order). */
struct fs_ctx {
	/* raw packet header (format 1) */
	uint8_t  have_hdr;        /* a structurally sound header record */
	uint8_t  hdr_meta;        /* m is valid (parser said OK) */
	uint8_t  have_macs;       /* smac/dmac read from the header */
	uint32_t hdr_proto, frame_length, stripped;
	struct weir_pkt_meta m;
	uint8_t  smac[6], dmac[6];
	/* sampled Ethernet / IPv4 / IPv6 (formats 2-4) */
	uint8_t  have_eth, have_ip4, have_ip6, have_sw;
	struct sflow_eth_rec eth;
	struct sflow_ipv4_rec ip4;
	struct sflow_ipv6_rec ip6;
	uint16_t sw_vlan;         /* extended switch src_vlan */
	/* extended router / gateway (sflow_route.c) */
	uint8_t  have_router, have_gateway;
	struct weir_flow_route route;
	uint8_t  bgp_next_hop[16];
};

/* Raw packet header record. Returns -1 if refused (counted). */
static int
rec_header(struct weir_exporter *ex, struct fs_ctx *c, const uint8_t *p,
	   uint32_t rlen, const struct weir_flow_sink *out)
{
	struct sflow_raw_hdr h;
	struct weir_parse_cfg dflt;
	const struct weir_parse_cfg *cfg = out->pcfg;
	enum weir_parse_result r;

	if (unlikely(rlen < sizeof(h)))
		return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
	memcpy(&h, p, sizeof(h));
	sflow_swap32(&h, sizeof(h) / 4);
	if (unlikely(h.hlen > rlen - sizeof(h)))
		return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
	if (c->have_hdr) {		/* a second header: keep the first */
		ex->sf->st.records_skipped++;
		return 0;
	}
	c->have_hdr = 1;
	c->hdr_proto = h.protocol;
	c->frame_length = h.frame_length;
	c->stripped = h.stripped;

	const uint8_t *hdr = p + sizeof(h);
	if (!cfg) {
		weir_parse_cfg_default(&dflt);
		cfg = &dflt;
	}
	switch (h.protocol) {
	case SFLOW_HDRPROTO_ETHERNET:
		/* Shorter than two MACs and an ethertype: nothing in it can be
		 * read as a frame (BAD_INPUTS #23). The volume still counts. */
		if (unlikely(h.hlen < SFLOW_ETH_MIN)) {
			weir_xerr(ex, WEIR_XERR_SFLOW_BAD_HEADER);
			return 0;
		}
		memcpy(c->dmac, hdr, 6);
		memcpy(c->smac, hdr + 6, 6);
		c->have_macs = 1;
		r = weir_parse_frame(cfg, hdr, h.hlen, &c->m);
		break;
	case SFLOW_HDRPROTO_IPV4:
	case SFLOW_HDRPROTO_IPV6:
		if (unlikely(h.hlen == 0)) {
			weir_xerr(ex, WEIR_XERR_SFLOW_BAD_HEADER);
			return 0;
		}
		r = weir_parse_ip(cfg, hdr, h.hlen, &c->m);
		break;
	default:			/* 802.11, PPP, MPLS, ...: volume only */
		ex->sf->st.hdr_other_proto++;
		return 0;
	}
	if (r == WEIR_PARSE_OK)
		c->hdr_meta = 1;
	else if (r == WEIR_PARSE_NON_IP)
		ex->sf->st.non_ip++;
	else
		weir_xerr(ex, WEIR_XERR_SFLOW_BAD_HEADER);
	return 0;
}

/* Walk the records of one flow sample. Returns -1 if the sample must be
 * dropped (counted): a record that does not fit inside the sample leaves
 * no way to find the next one (BAD_INPUTS #22). */
static int
flow_records(struct weir_exporter *ex, struct fs_ctx *c, const uint8_t *p,
	     size_t len, uint32_t nrec, const struct weir_flow_sink *out)
{
	if (unlikely(nrec > len / sizeof(struct sflow_tlv)))
		return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);

	for (uint32_t i = 0; i < nrec; i++) {
		if (unlikely(len < sizeof(struct sflow_tlv)))
			return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
		uint32_t fmt = sflow_be32(p);
		uint32_t rlen = sflow_be32(p + 4);
		p += sizeof(struct sflow_tlv);
		len -= sizeof(struct sflow_tlv);
		if (unlikely(rlen > len))
			return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);

		switch (SFLOW_ENTERPRISE(fmt) ? 0 : SFLOW_FORMAT(fmt)) {
		case SFLOW_REC_HEADER:
			if (rec_header(ex, c, p, rlen, out) < 0)
				return -1;
			break;
		case SFLOW_REC_ETHERNET:
			if (unlikely(rlen < sizeof(c->eth)))
				return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
			if (!c->have_eth) {
				memcpy(&c->eth, p, sizeof(c->eth));
				c->eth.length = be32toh(c->eth.length);
				c->have_eth = 1;
			}
			break;
		case SFLOW_REC_IPV4:
			if (unlikely(rlen < sizeof(c->ip4)))
				return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
			if (!c->have_ip4) {
				memcpy(&c->ip4, p, sizeof(c->ip4));
				c->ip4.length = be32toh(c->ip4.length);
				c->ip4.proto = be32toh(c->ip4.proto);
				c->ip4.sport = be32toh(c->ip4.sport);
				c->ip4.dport = be32toh(c->ip4.dport);
				c->ip4.tcp_flags = be32toh(c->ip4.tcp_flags);
				c->have_ip4 = 1;
			}
			break;
		case SFLOW_REC_IPV6:
			if (unlikely(rlen < sizeof(c->ip6)))
				return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
			if (!c->have_ip6) {
				memcpy(&c->ip6, p, sizeof(c->ip6));
				c->ip6.length = be32toh(c->ip6.length);
				c->ip6.proto = be32toh(c->ip6.proto);
				c->ip6.sport = be32toh(c->ip6.sport);
				c->ip6.dport = be32toh(c->ip6.dport);
				c->ip6.tcp_flags = be32toh(c->ip6.tcp_flags);
				c->have_ip6 = 1;
			}
			break;
		case SFLOW_REC_EXT_SWITCH: {
			struct sflow_ext_switch sw;
			if (unlikely(rlen < sizeof(sw)))
				return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
			memcpy(&sw, p, sizeof(sw));
			sflow_swap32(&sw, sizeof(sw) / 4);
			if (!c->have_sw && sw.src_vlan <= 4095) {
				c->sw_vlan = (uint16_t)sw.src_vlan;
				c->have_sw = 1;
			}
			break;
		}
		case SFLOW_REC_EXT_ROUTER:
			if (c->have_router)
				break;
			if (weir_sflow_ext_router(&c->route, p, rlen) < 0)
				return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
			c->have_router = 1;
			break;
		case SFLOW_REC_EXT_GATEWAY:
			if (c->have_gateway)
				break;
			if (weir_sflow_ext_gateway(&c->route, p, rlen, c->bgp_next_hop) < 0)
				return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
			c->have_gateway = 1;
			break;
		default:	/* user, MPLS, NAT, ...: not ours */
			ex->sf->st.records_skipped++;
			break;
		}
		p += rlen;
		len -= rlen;
	}
	return 0;
}

/* The length, without FCS, that one sampled packet stands for.
 *
 * sflow_version_5.txt, sampled_header: "frame_length: Original length of
 * packet before sampling. Note: For a layer 2 header_protocol, length is
 * total number of octets of data received on the network (excluding framing
 * bits but including FCS octets)", and "In the case of a non-encapsulated
 * 802.3 packet stripped >= 4 since ... 4 octets of FCS is also stripped."
 * tshark and sflowtool print frame_length as sent (1518 for a full-size
 * frame whose Ethernet+IP bytes are 1514). The engine counts captured frames
 * without FCS (what tshark's frame.len says on a capture), so for an
 * Ethernet header that declares the FCS stripped (stripped >= 4) we take the
 * 4 FCS octets off; an agent that sends stripped < 4 has not counted an FCS
 * and its frame_length is taken as is. IPv4/IPv6 header protocols have no
 * FCS. rec->frame_len keeps the agent's frame_length untouched. */
static uint32_t
wire_length(const struct fs_ctx *c)
{
	if (c->have_hdr) {
		if (c->hdr_proto == SFLOW_HDRPROTO_ETHERNET && c->stripped >= 4 &&
		    c->frame_length >= 4)
			return c->frame_length - 4;
		return c->frame_length;
	}
	if (c->have_eth)
		return c->eth.length;
	if (c->have_ip4)
		return c->ip4.length;
	return c->ip6.length;
}

/* Fill r from what the records said: the parsed header first, the sampled
 * IPv4/IPv6 records when there is no usable header. */
static void
fill_rec(struct weir_flow_rec *r, const struct fs_ctx *c)
{
	if (c->have_macs) {
		memcpy(r->smac, c->smac, 6);
		memcpy(r->dmac, c->dmac, 6);
	} else if (c->have_eth) {
		memcpy(r->smac, c->eth.smac, 6);
		memcpy(r->dmac, c->eth.dmac, 6);
	}
	if (c->hdr_meta) {
		const struct weir_pkt_meta *m = &c->m;
		memcpy(r->src, m->src, 16);
		memcpy(r->dst, m->dst, 16);
		r->proto = m->proto;
		if (m->flags & WEIR_PKT_L4) {
			r->sport = m->sport;
			r->dport = m->dport;
			r->tcp_flags = m->tcp_flags;
		}
		r->vlan = m->vlan;
		r->vlan_inner = m->vlan_inner;
	} else if (c->have_ip4) {
		sflow_v4_mapped(r->src, c->ip4.src);
		sflow_v4_mapped(r->dst, c->ip4.dst);
		r->proto = (uint8_t)c->ip4.proto;
		r->sport = (uint16_t)c->ip4.sport;
		r->dport = (uint16_t)c->ip4.dport;
		r->tcp_flags = (uint8_t)c->ip4.tcp_flags;
	} else if (c->have_ip6) {
		memcpy(r->src, c->ip6.src, 16);
		memcpy(r->dst, c->ip6.dst, 16);
		r->proto = (uint8_t)c->ip6.proto;
		r->sport = (uint16_t)c->ip6.sport;
		r->dport = (uint16_t)c->ip6.dport;
		r->tcp_flags = (uint8_t)c->ip6.tcp_flags;
	}
	if (!r->vlan && c->have_sw)
		r->vlan = c->sw_vlan;
	r->route = c->route;
	if (c->have_gateway && !c->have_router)
		memcpy(r->route.next_hop, c->bgp_next_hop, 16);
}

/* An interface value: only format 0 is an ifIndex. */
static uint32_t
iface(struct weir_sflow_state *sf, uint32_t fmt, uint32_t val, int output)
{
	if (fmt == 0)
		return val;
	if (output && fmt == 1)
		sf->st.out_discarded++;
	else if (output && fmt == 2)
		sf->st.out_multiple++;
	return 0;
}

/* One flow sample body (compact or expanded). Returns 1 if a record was
 * delivered, 0 if there was nothing to account, -1 if refused (counted). */
static int
flow_sample(struct weir_exporter *ex, const struct sflow_agent *a,
	    const uint8_t *p, size_t len, int expanded, uint64_t now_ms,
	    const struct weir_flow_sink *out)
{
	struct weir_sflow_state *sf = ex->sf;
	uint32_t ds_type, ds_index, rate, pool, drops, nrec;
	uint32_t in_fmt, in_val, out_fmt, out_val;
	size_t hl;

	if (expanded) {
		struct sflow_flow_sample_x s;
		if (unlikely(len < sizeof(s)))
			return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);
		memcpy(&s, p, sizeof(s));
		sflow_swap32(&s, sizeof(s) / 4);
		ds_type = s.ds_type;
		ds_index = s.ds_index;
		rate = s.rate;
		pool = s.pool;
		drops = s.drops;
		in_fmt = s.in_fmt;
		in_val = s.in_val;
		out_fmt = s.out_fmt;
		out_val = s.out_val;
		nrec = s.nrec;
		hl = sizeof(s);
	} else {
		struct sflow_flow_sample s;
		if (unlikely(len < sizeof(s)))
			return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);
		memcpy(&s, p, sizeof(s));
		sflow_swap32(&s, sizeof(s) / 4);
		ds_type = s.source_id >> 24;
		ds_index = s.source_id & 0xffffff;
		rate = s.rate;
		pool = s.pool;
		drops = s.drops;
		in_fmt = SFLOW_IF_FMT(s.input);
		in_val = SFLOW_IF_VAL(s.input);
		out_fmt = SFLOW_IF_FMT(s.output);
		out_val = SFLOW_IF_VAL(s.output);
		nrec = s.nrec;
		hl = sizeof(s);
	}
	sf->st.flow_samples++;

	/* Pool and drops are per-sampler running counters (32-bit, wrapping):
	 * account their increases; a decrease is a sampler restart. */
	int fresh;
	struct sflow_seq_slot *s = weir_sflow_slot(sf, a, ds_type, ds_index, &fresh);
	if (!fresh) {
		uint32_t dp = pool - s->last_pool, dd = drops - s->last_drops;
		if (dp < 0x80000000u)
			sf->st.pool_pkts += dp;
		if (dd < 0x80000000u)
			ex->sflow_drops += dd;
	}
	s->last_pool = pool;
	s->last_drops = drops;

	if (unlikely(rate == 0)) {	/* BAD_INPUTS #25 */
		weir_xerr(ex, WEIR_XERR_SAMPLING_MISSING);
		rate = default_sampling(ex);
	}
	ex->sampling = rate;

	struct fs_ctx c;
	memset(&c, 0, sizeof(c));
	if (flow_records(ex, &c, p + hl, len - hl, nrec, out) < 0)
		return -1;

	if (!c.have_hdr && !c.have_eth && !c.have_ip4 && !c.have_ip6) {
		sf->st.samples_empty++;
		return 0;
	}

	struct weir_flow_rec r;
	memset(&r, 0, sizeof(r));
	fill_rec(&r, &c);
	r.source = WEIR_SRC_SFLOW;
	r.in_if = iface(sf, in_fmt, in_val, 0);
	r.out_if = iface(sf, out_fmt, out_val, 1);
	/* The data source is the interface the sampler sits on: ingress
	 * sampling when it is the input, egress when the output. */
	if (ds_type == 0 && r.in_if && ds_index == r.in_if)
		r.direction = 0;
	else if (ds_type == 0 && r.out_if && ds_index == r.out_if)
		r.direction = 1;
	else
		r.direction = 0xff;
	r.sampling = rate;
	r.pkts = rate;
	r.bytes = (uint64_t)wire_length(&c) * rate;
	r.frame_len = c.have_hdr ? c.frame_length : wire_length(&c);
	r.start_ms = now_ms;
	r.end_ms = now_ms;

	ex->records++;
	ex->pkts += r.pkts;
	ex->bytes += r.bytes;
	if (out->rec)
		out->rec(out->ctx, ex, &r);
	return 1;
}

int
weir_sflow_decode(struct weir_exporter *ex, const uint8_t *p, size_t len,
		  uint64_t now_ms, const struct weir_flow_sink *out)
{
	struct sflow_agent a;
	size_t alen, off;

	ex->datagrams++;
	ex->last_version = 'S';
	if (!ex->first_seen_ms)
		ex->first_seen_ms = now_ms;
	ex->last_seen_ms = now_ms;

	/* BAD_INPUTS #21: every fixed part is checked before it is read. */
	if (unlikely(len < SFLOW_HDR_FIXED))
		return weir_xerr(ex, WEIR_XERR_SHORT_DATAGRAM);
	if (unlikely(sflow_be32(p) != SFLOW_VERSION))
		return weir_xerr(ex, WEIR_XERR_BAD_VERSION);
	switch (sflow_be32(p + 4)) {
	case SFLOW_ADDR_IP4:
		alen = 4;
		break;
	case SFLOW_ADDR_IP6:
		alen = 16;
		break;
	default:
		return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_AGENT);
	}
	if (unlikely(len < SFLOW_HDR_FIXED + alen + SFLOW_HDR_TAIL))
		return weir_xerr(ex, WEIR_XERR_SHORT_DATAGRAM);
	if (alen == 4)
		sflow_v4_mapped(a.addr, p + SFLOW_HDR_FIXED);
	else
		memcpy(a.addr, p + SFLOW_HDR_FIXED, 16);
	off = SFLOW_HDR_FIXED + alen;
	a.sub_agent = sflow_be32(p + off);
	uint32_t seq = sflow_be32(p + off + 4);
	uint32_t nsamples = sflow_be32(p + off + 12);
	off += SFLOW_HDR_TAIL;

	/* A sample is at least its 8-byte header: a count that cannot fit
	 * is a lie about the whole datagram (BAD_INPUTS #21, #24). */
	size_t left = len - off;
	if (unlikely(nsamples > left / sizeof(struct sflow_tlv)))
		return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);

	if (unlikely(!ex->sf)) {
		ex->sf = calloc(1, sizeof(*ex->sf));
		if (!ex->sf)
			return weir_xerr(ex, WEIR_XERR_SFLOW_NO_STATE);
	}

	/* Datagram sequence per (agent, sub-agent): forward gaps are lost
	 * datagrams, a backward jump is an agent restart, a repeat is a
	 * duplicate and counts as neither. */
	int fresh;
	struct sflow_seq_slot *slot = weir_sflow_slot(ex->sf, &a, SFLOW_DS_DATAGRAM,
						      0, &fresh);
	if (!fresh) {
		uint32_t gap = seq - slot->last_seq;
		if (gap >= 0x80000000u)
			ex->seq_resets++;
		else if (gap > 1)
			ex->seq_lost += gap - 1;
	}
	slot->last_seq = seq;

	int delivered = 0;
	const uint8_t *q = p + off;
	for (uint32_t i = 0; i < nsamples; i++) {
		if (unlikely(left < sizeof(struct sflow_tlv))) {
			weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);
			return delivered;
		}
		uint32_t fmt = sflow_be32(q);
		uint32_t slen = sflow_be32(q + 4);
		q += sizeof(struct sflow_tlv);
		left -= sizeof(struct sflow_tlv);
		/* BAD_INPUTS #22: a length that does not fit its parent is
		 * never followed; the rest of the datagram is unreadable. */
		if (unlikely(slen > left)) {
			weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);
			return delivered;
		}
		switch (SFLOW_ENTERPRISE(fmt) ? 0 : SFLOW_FORMAT(fmt)) {
		case SFLOW_FLOW_SAMPLE:
		case SFLOW_FLOW_SAMPLE_X:
			if (flow_sample(ex, &a, q, slen,
					SFLOW_FORMAT(fmt) == SFLOW_FLOW_SAMPLE_X,
					now_ms, out) > 0)
				delivered++;
			break;
		case SFLOW_COUNTER_SAMPLE:
		case SFLOW_COUNTER_SAMPLE_X:
			weir_sflow_counters_decode(ex, q, slen,
				SFLOW_FORMAT(fmt) == SFLOW_COUNTER_SAMPLE_X, out);
			break;
		default:
			ex->sf->st.samples_skipped++;
			break;
		}
		q += slen;
		left -= slen;
	}
	/* Bytes after the declared samples refuse nothing (akvorado's
	 * discard-interface datagram is a 5-sample datagram whose count was
	 * edited to 1; tshark ignores the rest too): noted, not an error. */
	if (unlikely(left))
		ex->sf->st.trailing++;
	return delivered;
}
