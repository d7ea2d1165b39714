/* sflow_counters.c -- sFlow v5 counter samples into struct weir_if_counters.
 *
 * An agent polls each data source's counters every few seconds and sends
 * them as a counter sample of typed records. weir keeps two of them: the
 * generic interface counters (format 1, IF-MIB) and the Ethernet counters
 * (format 2, EtherLike-MIB), merged into one struct weir_if_counters per
 * sample and delivered through sink->ifc. Every other record (VLAN,
 * processor, host-sFlow, vendor) is skipped by its checked length.
 *
 * Called from sflow.c with one sample body whose length already fits the
 * datagram; on the exporter's owning worker only. */
#include <string.h>

#include "sflow.h"

/* Generic interface counters: 88 bytes of mixed 32/64-bit words. */
static void
generic(struct weir_if_counters *c, const uint8_t *p)
{
	struct sflow_if_generic g;

	memcpy(&g, p, sizeof(g));
	c->ifindex = be32toh(g.ifindex);
	c->if_type = be32toh(g.type);
	c->speed = be64toh(g.speed);
	c->if_direction = be32toh(g.direction);
	c->status = be32toh(g.status);
	c->in_octets = be64toh(g.in_octets);
	c->in_ucast = be32toh(g.in_ucast);
	c->in_mcast = be32toh(g.in_mcast);
	c->in_bcast = be32toh(g.in_bcast);
	c->in_discards = be32toh(g.in_discards);
	c->in_errors = be32toh(g.in_errors);
	c->in_unknown_protos = be32toh(g.in_unknown);
	c->out_octets = be64toh(g.out_octets);
	c->out_ucast = be32toh(g.out_ucast);
	c->out_mcast = be32toh(g.out_mcast);
	c->out_bcast = be32toh(g.out_bcast);
	c->out_discards = be32toh(g.out_discards);
	c->out_errors = be32toh(g.out_errors);
	c->promisc = be32toh(g.promisc);
	c->have |= WEIR_IFC_GENERIC;
}

/* Ethernet counters: 13 words in the order of c->dot3. */
static void
ethernet(struct weir_if_counters *c, const uint8_t *p)
{
	static_assert(sizeof(c->dot3) == SFLOW_ETH_CTR_LEN,
		      "dot3 mirrors the 13 wire words");
	memcpy(&c->dot3, p, SFLOW_ETH_CTR_LEN);
	sflow_swap32(&c->dot3, SFLOW_ETH_CTR_WORDS);
	c->have |= WEIR_IFC_ETHERNET;
}

int
weir_sflow_counters_decode(struct weir_exporter *ex, const uint8_t *p,
			   size_t len, int expanded,
			   const struct weir_flow_sink *out)
{
	uint32_t ds_type, ds_index, nrec;
	size_t hl;

	if (expanded) {
		struct sflow_counter_sample_x s;
		if (unlikely(len < sizeof(s)))
			return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);
		memcpy(&s, p, sizeof(s));
		sflow_swap32(&s, sizeof(s) / 4);
		ds_type = s.ds_type;
		ds_index = s.ds_index;
		nrec = s.nrec;
		hl = sizeof(s);
	} else {
		struct sflow_counter_sample s;
		if (unlikely(len < sizeof(s)))
			return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);
		memcpy(&s, p, sizeof(s));
		sflow_swap32(&s, sizeof(s) / 4);
		ds_type = s.source_id >> 24;
		ds_index = s.source_id & 0xffffff;
		nrec = s.nrec;
		hl = sizeof(s);
	}
	p += hl;
	len -= hl;
	if (unlikely(nrec > len / sizeof(struct sflow_tlv)))
		return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_SAMPLE);
	ex->sf->st.counter_samples++;

	struct weir_if_counters c;
	memset(&c, 0, sizeof(c));
	for (uint32_t i = 0; i < nrec; i++) {
		if (unlikely(len < sizeof(struct sflow_tlv)))
			return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
		uint32_t fmt = sflow_be32(p);
		uint32_t rlen = sflow_be32(p + 4);
		p += sizeof(struct sflow_tlv);
		len -= sizeof(struct sflow_tlv);
		if (unlikely(rlen > len))	/* BAD_INPUTS #22 */
			return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);

		switch (SFLOW_ENTERPRISE(fmt) ? 0 : SFLOW_FORMAT(fmt)) {
		case SFLOW_CTR_GENERIC:
			if (unlikely(rlen < sizeof(struct sflow_if_generic)))
				return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
			if (!(c.have & WEIR_IFC_GENERIC))
				generic(&c, p);
			break;
		case SFLOW_CTR_ETHERNET:
			if (unlikely(rlen < SFLOW_ETH_CTR_LEN))
				return weir_xerr(ex, WEIR_XERR_SFLOW_BAD_RECORD);
			if (!(c.have & WEIR_IFC_ETHERNET))
				ethernet(&c, p);
			break;
		default:
			ex->sf->st.records_skipped++;
			break;
		}
		p += rlen;
		len -= rlen;
	}

	if (!c.have)
		return 0;
	/* Ethernet counters alone name no interface: the data source does
	 * when it is an ifIndex (type 0). */
	if (!(c.have & WEIR_IFC_GENERIC))
		c.ifindex = ds_type == 0 ? ds_index : 0;
	if (out->ifc)
		out->ifc(out->ctx, ex, &c);
	return 0;
}
