/* nf_record.c -- NetFlow v9 / IPFIX sets and data records.
 *
 * Walks the sets of one message, hands template sets to nf_template.c,
 * and turns each data record into a struct weir_flow_rec using the field
 * roles the template store worked out. Options records are not flows: they
 * carry the sampling rate (per domain, or per sampler id), the exporter's
 * boot time and interface names, which are applied here.
 *
 * Every set length, record, variable-length prefix and field is checked
 * against the set end before it is read (BAD_INPUTS #2, #8, #14, #17).
 * Called by the exporter's owning worker only. Never prints. */
#include <assert.h>
#include <string.h>
#include "nf_template.h"

static_assert(NF_R__MAX <= 64, "roles fit the have-mask");

/* What one record said, before it becomes a weir_flow_rec. */
struct nf_acc {
	uint64_t have;			/* 1 << role */
	uint64_t v[NF_R__MAX];		/* unsigned values */
	uint8_t  src6[16], dst6[16];
	uint8_t  src4[4], dst4[4];
	uint8_t  smac[6], dmac[6], post_smac[6], post_dmac[6];
	const uint8_t *name[2];		/* ifName, ifDescr, in the datagram */
	size_t   name_len[2];
};

#define HAS(a, r)	((a)->have & (1ull << (r)))

#define MAC_ROLES	((1ull << NF_R_SMAC) | (1ull << NF_R_DMAC) | (1ull << NF_R_POST_SMAC) | \
			 (1ull << NF_R_POST_DMAC))
/* The roles whose value is not a plain big-endian number: acc_field's switch. */
#define SPECIAL_ROLES	((1ull << NF_R_SRC4) | (1ull << NF_R_DST4) | (1ull << NF_R_SRC6) | \
			 (1ull << NF_R_DST6) | MAC_ROLES | (1ull << NF_R_IFNAME) | \
			 (1ull << NF_R_IFDESCR) | (1ull << NF_R_VRF_NAME) | (1ull << NF_R_APP_ID))

/* A field's value into a. A fixed length was checked once, when the
 * template was read (field_role); only an IPFIX variable-length one is
 * checked here, per record. */
static void
acc_field(struct weir_exporter *ex, struct nf_acc *a, unsigned int role,
	  const uint8_t *p, size_t len, bool varlen)
{
	if (role == NF_R_SKIP)
		return;
	if (varlen && unlikely(!weir_nf_len_ok(role, len))) {
		weir_xerr(ex, WEIR_XERR_BAD_FIELD_LENGTH);	/* varlen of a fixed IE */
		return;
	}
	if (HAS(a, role))
		return;			/* first occurrence wins */
	a->have |= 1ull << role;
	if (likely(!((1ull << role) & SPECIAL_ROLES))) {
		a->v[role] = nf_beN(p, len);	/* most fields: a branch, not the switch's jump */
		return;
	}
	switch (role) {
	case NF_R_SRC4:		memcpy(a->src4, p, 4); break;
	case NF_R_DST4:		memcpy(a->dst4, p, 4); break;
	case NF_R_SRC6:		memcpy(a->src6, p, 16); break;
	case NF_R_DST6:		memcpy(a->dst6, p, 16); break;
	case NF_R_SMAC:		memcpy(a->smac, p, 6); break;
	case NF_R_DMAC:		memcpy(a->dmac, p, 6); break;
	case NF_R_POST_SMAC:	memcpy(a->post_smac, p, 6); break;
	case NF_R_POST_DMAC:	memcpy(a->post_dmac, p, 6); break;
	case NF_R_IFNAME:
	case NF_R_IFDESCR:
		a->name[role - NF_R_IFNAME] = p;
		a->name_len[role - NF_R_IFNAME] = len;
		break;
	case NF_R_VRF_NAME:	/* not used yet: present only */
		break;
	case NF_R_APP_ID:	/* the low 32 bits; RFC 6759's engine id (the first
				 * byte) in bits 32-39 and the length in 40-47 */
		a->v[role] = (len > 4 ? nf_be32(p + len - 4) : nf_beN(p, len)) |
			     (len ? (uint64_t)p[0] << 32 : 0) | (uint64_t)(len < 255 ? len : 255) << 40;
		break;
	}
}

/* Back to all zero after a record: acc_field wrote only the value slots of
 * the roles in `have`, the MACs and the names (addresses are read only
 * where `have` says so). Cheaper than clearing the whole accumulator per
 * record, which was a tenth of a v9 record's decoding. */
static inline void
acc_reset(struct nf_acc *a)
{
	if (!a->have)
		return;
	for (uint64_t h = a->have; h; h &= h - 1)	/* the roles it set: no loads */
		a->v[__builtin_ctzll(h)] = 0;
	if (a->have & MAC_ROLES) {
		memset(a->smac, 0, sizeof(a->smac));
		memset(a->dmac, 0, sizeof(a->dmac));
		memset(a->post_smac, 0, sizeof(a->post_smac));
		memset(a->post_dmac, 0, sizeof(a->post_dmac));
	}
	a->name[0] = a->name[1] = NULL;
	a->name_len[0] = a->name_len[1] = 0;
	a->have = 0;
}

/* One record of template t at p (at most avail bytes). Returns the bytes
 * it used, or 0 when a variable-length field runs past the set (#8). */
static size_t
record_read(struct weir_exporter *ex, const struct nf_tmpl *t,
	    const uint8_t *p, size_t avail, struct nf_acc *a)
{
	size_t q = 0;

	for (unsigned int i = 0; i < t->n_fields; i++) {
		const struct nf_field *f = &t->f[i];
		size_t fl = f->len;
		bool varlen = f->len == NF_VARLEN && t->version == NF_IPFIX;

		if (varlen) {
			/* 1-byte length, or 255 then a 2-byte length (RFC 7011 7) */
			if (avail - q < 1)
				return 0;
			fl = p[q++];
			if (fl == 255) {
				if (avail - q < 2)
					return 0;
				fl = nf_be16(p + q);
				q += 2;
			}
		}
		if (fl > avail - q)
			return 0;
		if (fl)		/* length 0 is valid and says nothing (#9) */
			acc_field(ex, a, f->role, p + q, fl, varlen);
		q += fl;
	}
	return q;
}

static uint64_t
ntp_to_ms(uint64_t v)
{
	uint64_t sec = v >> 32, frac = v & 0xffffffffu;

	if (sec < 2208988800u)		/* before 1970, or not set */
		return 0;
	return (sec - 2208988800u) * 1000 + ((frac * 1000) >> 32);
}

/* A start (end) time in unix ms from whichever field the record had. */
static uint64_t
rec_time(const struct nf_acc *a, const struct nf_ctx *ctx,
	 const struct nf_domain *d, bool end)
{
	unsigned int o = end ? 1 : 0;

	if (HAS(a, NF_R_START_MS + o))
		return a->v[NF_R_START_MS + o];
	if (HAS(a, NF_R_START_S + o))
		return a->v[NF_R_START_S + o] * 1000;
	if (HAS(a, NF_R_START_NTP + o))
		return ntp_to_ms(a->v[NF_R_START_NTP + o]);
	if (HAS(a, NF_R_START_DUS + o)) {
		uint64_t d_ms = a->v[NF_R_START_DUS + o] / 1000;
		return d_ms < ctx->export_ms ? ctx->export_ms - d_ms : 0;
	}
	if (!HAS(a, NF_R_UP_START + o))
		return 0;
	uint32_t t = (uint32_t)a->v[NF_R_UP_START + o];
	if (ctx->version == NF_V9)
		return weir_nf_uptime_to_unix(ctx->export_ms, ctx->uptime_ms, t);
	/* IPFIX: relative to systemInitTimeMilliseconds (160), from this
	 * record or from options data; unknown without it. */
	uint64_t init = HAS(a, NF_R_SYS_INIT_MS) ? a->v[NF_R_SYS_INIT_MS]
						 : d ? d->sys_init_ms : 0;
	if (!init || init > ctx->export_ms)
		return 0;
	return weir_nf_uptime_to_unix(ctx->export_ms,
				      (uint32_t)(ctx->export_ms - init), t);
}

/* The rate this record states itself, 0 if none. *zero is set when it
 * has a rate field and every one says 0 (BAD_INPUTS #25: counted by the
 * caller, the fallback rate applies). */
static uint32_t
own_rate(const struct nf_acc *a, bool *zero)
{
	uint64_t r = 0;
	bool stated = false;

	if (HAS(a, NF_R_SAMPLING)) {
		stated = true;
		r = a->v[NF_R_SAMPLING];
	}
	if (!r && HAS(a, NF_R_SAMPLER_RANDOM)) {
		stated = true;
		r = a->v[NF_R_SAMPLER_RANDOM];
	}
	if (!r && HAS(a, NF_R_SAMPLING_POP) && HAS(a, NF_R_SAMPLING_SIZE)) {
		/* samplingSize n out of samplingPopulation N (309/310, RFC
		 * 7014/5477): 1 in N/n. Checked before 305, which IOS XR sends
		 * as 1 beside them. */
		uint64_t n = a->v[NF_R_SAMPLING_SIZE], pop = a->v[NF_R_SAMPLING_POP];
		stated = true;
		r = n ? pop / n : 0;
	}
	if (!r && HAS(a, NF_R_PKT_INTERVAL)) {
		/* select `interval` packets, skip `space`: 1 in (i+s)/i */
		uint64_t i = a->v[NF_R_PKT_INTERVAL];
		uint64_t s = HAS(a, NF_R_PKT_SPACE) ? a->v[NF_R_PKT_SPACE] : 0;
		stated = true;
		r = i ? (i + s) / i : 0;
	}
	/* samplingAlgorithm 0 with interval 0 (H3C) says unsampled, as v5
	 * mode 0 does: nothing missing. */
	*zero = stated && !r &&
		!(HAS(a, NF_R_SAMPLING_ALGO) && a->v[NF_R_SAMPLING_ALGO] == 0);
	return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

/* The interface a record was sampled on: its output interface when the
 * exporter says it was metered on egress, else its input interface. */
static bool
rec_ifindex(const struct nf_acc *a, uint32_t *ifx)
{
	unsigned int role = HAS(a, NF_R_DIRECTION) && a->v[NF_R_DIRECTION] == 1
			    ? NF_R_OUT_IF : NF_R_IN_IF;

	if (!HAS(a, role))
		return false;
	*ifx = (uint32_t)a->v[role];
	return true;
}

static uint32_t
if_rate_find(const struct nf_domain *d, uint32_t ifx)
{
	for (unsigned int i = 0; i < d->n_if_rates; i++)
		if (d->if_rates[i].ifindex == ifx)
			return d->if_rates[i].rate;
	return 0;
}

/* Sampling of a flow record: its own, its sampler's, its interface's
 * (options scoped by interface), the domain's (options scoped by the
 * system, a sampler, or nothing), else the configured default. */
static uint32_t
rec_rate(struct weir_exporter *ex, const struct nf_acc *a,
	 const struct nf_domain *d)
{
	bool zero;
	uint32_t r = own_rate(a, &zero), ifx;

	if (unlikely(zero))
		weir_xerr(ex, WEIR_XERR_SAMPLING_MISSING);
	if (r)
		return r;
	if (d && HAS(a, NF_R_SAMPLER_ID))
		for (unsigned int i = 0; i < d->n_samplers; i++)
			if (d->samplers[i].id == a->v[NF_R_SAMPLER_ID])
				return d->samplers[i].rate;
	if (d && d->n_if_rates && rec_ifindex(a, &ifx) &&
	    (r = if_rate_find(d, ifx)) != 0)
		return r;
	if (d && d->sampling)
		return d->sampling;
	r = weir_nf_limits(ex)->default_sampling;	/* BAD_INPUTS #25 */
	return r ? r : 1;
}

/* Remember the rate options data gave interface ifx; a full table reuses
 * its slots in turn, so an interface flood cannot grow it. */
static void
if_rate_set(struct nf_domain *d, uint32_t ifx, uint32_t rate)
{
	unsigned int i;

	for (i = 0; i < d->n_if_rates; i++)
		if (d->if_rates[i].ifindex == ifx)
			break;
	if (i == d->n_if_rates) {
		if (d->n_if_rates < NF_MAX_IF_RATES) {
			d->n_if_rates++;
		} else {
			i = d->if_rate_next;
			d->if_rate_next = (uint8_t)((i + 1) % NF_MAX_IF_RATES);
		}
	}
	d->if_rates[i].ifindex = ifx;
	d->if_rates[i].rate = rate;
}

/* Options data: sampling per domain and sampler, boot time, if names. */
static void
options_apply(struct weir_exporter *ex, const struct nf_acc *a,
	      struct nf_domain *d, const struct weir_flow_sink *out)
{
	bool zero;
	uint32_t rate = own_rate(a, &zero);

	if (unlikely(zero))
		weir_xerr(ex, WEIR_XERR_SAMPLING_MISSING);
	/* Scoped by an interface alone: that interface's rate. Scoped by a
	 * sampler (which records name), the system, or nothing: the domain's,
	 * the fallback of records that match no sampler or interface. */
	if (d && rate && HAS(a, NF_R_SCOPE_IF) && !HAS(a, NF_R_SAMPLER_ID)) {
		if_rate_set(d, (uint32_t)a->v[NF_R_SCOPE_IF], rate);
	} else if (d && rate) {
		d->sampling = rate;
		if (HAS(a, NF_R_SAMPLER_ID)) {
			uint64_t id = a->v[NF_R_SAMPLER_ID];
			unsigned int i;

			for (i = 0; i < d->n_samplers; i++)
				if (d->samplers[i].id == id)
					break;
			if (i == d->n_samplers) {
				if (d->n_samplers < NF_MAX_SAMPLERS) {
					d->n_samplers++;
				} else {
					i = d->sampler_next;
					d->sampler_next = (uint8_t)((i + 1) % NF_MAX_SAMPLERS);
				}
			}
			d->samplers[i].id = id;
			d->samplers[i].rate = rate;
		}
	}
	if (d && HAS(a, NF_R_SYS_INIT_MS))
		d->sys_init_ms = a->v[NF_R_SYS_INIT_MS];

	unsigned int k = a->name[0] ? 0 : 1;
	if (a->name[k] && out && out->ifname &&
	    (HAS(a, NF_R_SCOPE_IF) || HAS(a, NF_R_IN_IF))) {
		char name[NF_IFNAME_MAX];
		size_t n = a->name_len[k] < sizeof(name) - 1 ? a->name_len[k]
							     : sizeof(name) - 1;
		memcpy(name, a->name[k], n);
		name[n] = '\0';			/* also cuts NUL padding */
		uint64_t ifx = HAS(a, NF_R_SCOPE_IF) ? a->v[NF_R_SCOPE_IF]
						     : a->v[NF_R_IN_IF];
		out->ifname(out->ctx, ex, (uint32_t)ifx, name);
	}
}

static void
set_addr(uint8_t dst[16], const uint8_t *v6, bool have6, const uint8_t *v4,
	 bool have4)
{
	static const uint8_t zero[16];

	if (have6 && (!have4 || memcmp(v6, zero, 16) != 0)) {
		memcpy(dst, v6, 16);
	} else if (have4) {
		memset(dst, 0, 10);
		dst[10] = dst[11] = 0xff;
		memcpy(dst + 12, v4, 4);
	} else {
		memset(dst, 0, 16);
	}
}

static uint64_t
first_of(const struct nf_acc *a, unsigned int r1, unsigned int r2,
	 unsigned int r3)
{
	if (HAS(a, r1))
		return a->v[r1];
	if (HAS(a, r2))
		return a->v[r2];
	return HAS(a, r3) ? a->v[r3] : 0;
}

static void
flow_emit(struct weir_exporter *ex, const struct nf_acc *a,
	  const struct nf_ctx *ctx, const struct nf_domain *d,
	  const struct weir_flow_sink *out)
{
	/* Every field is set below, not cleared first: a memset of the whole
	 * record (rep stos) was a fifth of a v9 record's decoding. A field
	 * added to struct weir_flow_rec must be set here too. */
	static_assert(sizeof(struct weir_flow_rec) == 184, "a new weir_flow_rec field: set it in flow_emit");
	struct weir_flow_rec r;

	r.frame_len = 0;
	memset(&r.route, 0, sizeof(r.route));
	r.source = ctx->version == NF_V9 ? WEIR_SRC_NFV9 : WEIR_SRC_IPFIX;
	set_addr(r.src, a->src6, HAS(a, NF_R_SRC6), a->src4, HAS(a, NF_R_SRC4));
	set_addr(r.dst, a->dst6, HAS(a, NF_R_DST6), a->dst4, HAS(a, NF_R_DST4));
	r.sport = (uint16_t)a->v[NF_R_SPORT];
	r.dport = (uint16_t)a->v[NF_R_DPORT];
	r.proto = (uint8_t)a->v[NF_R_PROTO];
	r.tcp_flags = (uint8_t)a->v[NF_R_TCP_FLAGS];
	r.in_if = (uint32_t)a->v[NF_R_IN_IF];
	r.out_if = (uint32_t)a->v[NF_R_OUT_IF];
	r.direction = HAS(a, NF_R_DIRECTION) ? (uint8_t)a->v[NF_R_DIRECTION] : 0xff;
	r.app_id = (uint32_t)a->v[NF_R_APP_ID];
	r.app_engine = (uint8_t)(a->v[NF_R_APP_ID] >> 32);
	size_t app_len = (size_t)(a->v[NF_R_APP_ID] >> 40);	/* selector: after the engine */
	r.app_selector = app_len > 4 ? r.app_id : app_len > 1 ? r.app_id & (0xffffffu >> 8 * (4 - app_len)) : 0;
	memcpy(r.smac, HAS(a, NF_R_SMAC) ? a->smac : a->post_smac, 6);
	memcpy(r.dmac, HAS(a, NF_R_DMAC) ? a->dmac : a->post_dmac, 6);
	r.vlan = (uint16_t)(HAS(a, NF_R_VLAN) ? a->v[NF_R_VLAN]
					      : a->v[NF_R_DOT1Q_VLAN]);
	r.vlan_inner = (uint16_t)(HAS(a, NF_R_DOT1Q_CVLAN) ? a->v[NF_R_DOT1Q_CVLAN]
							   : a->v[NF_R_POST_VLAN]);

	/* ICMP type/code goes where NetFlow v5 put it: the destination port. */
	if (r.proto == 1 || r.proto == 58) {
		bool v6 = r.proto == 58;
		unsigned int tc = v6 ? NF_R_ICMP_TC6 : NF_R_ICMP_TC4;
		unsigned int ty = v6 ? NF_R_ICMP_T6 : NF_R_ICMP_T4;
		unsigned int co = v6 ? NF_R_ICMP_C6 : NF_R_ICMP_C4;

		if (HAS(a, tc))
			r.dport = (uint16_t)a->v[tc];
		else if (HAS(a, ty) || HAS(a, co))
			r.dport = (uint16_t)((a->v[ty] & 0xff) << 8 | (a->v[co] & 0xff));
	}

	r.vrf_in = (uint32_t)a->v[NF_R_VRF_IN];
	r.vrf_out = (uint32_t)a->v[NF_R_VRF_OUT];

	/* Deltas (1, 2) are preferred over totals (85, 86) when a record has
	 * both. A record of totals alone is taken as the flow's whole count:
	 * right for exporters that report a flow once when it ends (YAF,
	 * softflowd, pf), an overcount for a permanent cache that exports
	 * the same flow's growing total again (docs/exporters.md). */
	uint64_t bytes = first_of(a, NF_R_OCTETS, NF_R_OCTETS_TOTAL, NF_R_OUT_OCTETS);
	uint64_t pkts = first_of(a, NF_R_PKTS, NF_R_PKTS_TOTAL, NF_R_OUT_PKTS);
	uint64_t rbytes = first_of(a, NF_R_REV_OCTETS, NF_R_REV_OCTETS_TOTAL, NF_R_SKIP);
	uint64_t rpkts = first_of(a, NF_R_REV_PKTS, NF_R_REV_PKTS_TOTAL, NF_R_SKIP);
	r.sampling = rec_rate(ex, a, d);
	r.bytes = weir_nf_scale(bytes, r.sampling);
	r.pkts = weir_nf_scale(pkts, r.sampling);
	r.rev_bytes = weir_nf_scale(rbytes, r.sampling);
	r.rev_pkts = weir_nf_scale(rpkts, r.sampling);

	r.start_ms = rec_time(a, ctx, d, false);
	r.end_ms = rec_time(a, ctx, d, true);
	if (r.start_ms && r.end_ms && r.end_ms < r.start_ms) {
		weir_xerr(ex, WEIR_XERR_BAD_TIMESTAMP);
		r.start_ms = r.end_ms;
	}
	weir_nf_deliver(ex, &r, out);
}

void
weir_nf_deliver(struct weir_exporter *ex, struct weir_flow_rec *r,
		const struct weir_flow_sink *out)
{
	ex->records++;
	ex->bytes += r->bytes + r->rev_bytes;
	ex->pkts += r->pkts + r->rev_pkts;
	ex->sampling = r->sampling;
	if (out && out->rec)
		out->rec(out->ctx, ex, r);
}

int
weir_nf_data_set(struct weir_exporter *ex, const struct nf_tmpl *t,
		 const struct nf_ctx *ctx, const uint8_t *p, size_t len,
		 uint64_t now_ms, const struct weir_flow_sink *out,
		 uint32_t *n_data)
{
	struct nf_domain *d = weir_nf_domain_get(ex, ctx->version, ctx->domain,
						 now_ms);
	size_t off = 0;
	int n = 0;

	struct nf_acc a;

	memset(&a, 0, sizeof(a));	/* once: each record undoes its own (acc_reset) */
	/* min_len >= 1 (zero-size templates are refused), so this ends. */
	while (len - off >= t->min_len) {
		acc_reset(&a);
		size_t used = record_read(ex, t, p + off, len - off, &a);
		if (used == 0) {
			weir_xerr(ex, WEIR_XERR_BAD_VARLEN);
			return n;		/* alignment is lost: drop the rest */
		}
		off += used;
		(*n_data)++;
		if (t->options) {
			options_apply(ex, &a, d, out);
		} else {
			if (HAS(&a, NF_R_SYS_INIT_MS) && d)
				d->sys_init_ms = a.v[NF_R_SYS_INIT_MS];
			flow_emit(ex, &a, ctx, d, out);
			n++;
		}
	}
	/* Fewer bytes than a record: padding, or counted (#15). */
	weir_nf_set_tail(ex, p + off, len - off);
	return n;
}

/*
 * A set, in v9 and IPFIX alike:
 *
 *   0          2          4
 *   |  set id  |  length  |  body (length - 4 bytes) ...
 *
 * v9: 0 template, 1 options template; IPFIX: 2 template, 3 options
 * template; >= 256 data described by the template of that id.
 */
struct nf_set_hdr {
	uint16_t id;
	uint16_t length;	/* including this header */
};
static_assert(sizeof(struct nf_set_hdr) == 4, "set header is 4 bytes");

int
weir_nf_sets_walk(struct weir_exporter *ex, const struct nf_ctx *ctx,
		  const uint8_t *p, size_t len, uint64_t now_ms,
		  const struct weir_flow_sink *out, uint32_t *n_data,
		  bool *held)
{
	uint16_t tmpl_set = ctx->version == NF_V9 ? 0 : 2;
	size_t off = 0;
	int n = 0;

	while (len - off >= sizeof(struct nf_set_hdr)) {
		uint16_t id = nf_be16(p + off), slen = nf_be16(p + off + 2);

		if (slen < sizeof(struct nf_set_hdr)) {
			/* Zero padding up to a fixed datagram size is not an
			 * error; any other short set is (BAD_INPUTS #14). */
			if (!nf_all_zero(p + off, len - off))
				weir_xerr(ex, WEIR_XERR_SHORT_SET);
			return n;
		}
		if (slen > len - off) {			/* #17 */
			weir_xerr(ex, WEIR_XERR_SET_PAST_END);
			return n;
		}
		const uint8_t *body = p + off + sizeof(struct nf_set_hdr);
		size_t blen = slen - sizeof(struct nf_set_hdr);
		off += slen;

		if (id == tmpl_set || id == tmpl_set + 1) {
			n += weir_nf_template_set(ex, ctx, id, body, blen, now_ms, out);
		} else if (id >= 256) {
			const struct nf_tmpl *t = weir_nf_tmpl_find(ex->nf, ctx->version,
								    ctx->domain, id);
			if (t) {
				n += weir_nf_data_set(ex, t, ctx, body, blen, now_ms,
						      out, n_data);
			} else {
				if (weir_nf_pending_add(ex, ctx, id, body, blen, now_ms))
					weir_nf_want(ex, ctx, id, now_ms, out);
				*held = true;
			}
		} else {
			weir_xerr(ex, WEIR_XERR_BAD_TEMPLATE_ID);	/* reserved set id */
		}
	}
	if (off < len && !nf_all_zero(p + off, len - off))
		weir_xerr(ex, WEIR_XERR_TRAILING_BYTES);
	return n;
}
