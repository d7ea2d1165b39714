/* dpi.c -- one nDPI detection module per worker and its pool of flow slots.
 *
 * What this file owns: the nDPI module of one worker, a fixed array of
 * detection slots (each one struct ndpi_flow_struct plus our packet counts)
 * with a free-index stack, and a padded copy buffer. Who writes it: the
 * owning worker only, without locks. What it must never do: allocate on
 * the packet path on its own account, keep a flow beyond its packet budget,
 * or let nDPI read past a buffer it was given.
 *
 * nDPI 4.2 has known over-reads of 1 to 4 bytes and a u16 wrap in its DNS
 * dissector (BAD_INPUTS.md, "nDPI 4.2"), so each packet is copied into a
 * per-worker buffer with the exact captured length, capped at the snaplen,
 * followed by WEIR_DPI_PAD zeroed bytes. The give-up rule is ndpiReader's:
 * a flow is finished when nDPI has an application and wants no extra
 * packets, or when more than max_pkts_{tcp,udp} packets have been fed; then
 * ndpi_detection_giveup() settles unknown flows (and guesses if enabled).
 *
 * nDPI's allocator hooks are process-wide; they go to jemalloc and charge a
 * __thread byte counter, so each worker sees what nDPI holds for it. Under
 * AddressSanitizer the hooks use the libc allocator instead, so that leak
 * and use-after-free checks see nDPI's per-flow allocations. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jemalloc/jemalloc.h>
#include <ndpi/ndpi_api.h>

#include "weir/dpi.h"
#include "dpi_result.h"

#if defined(__SANITIZE_ADDRESS__)
#define WEIR_DPI_LIBC_ALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEIR_DPI_LIBC_ALLOC 1
#endif
#endif
#ifdef WEIR_DPI_LIBC_ALLOC
#include <malloc.h>
#endif

#define WEIR_DPI_PAD 64   /* zeroed tail after each copied packet */

struct dpi_slot {
	struct ndpi_flow_struct flow;   /* zeroed when free */
	struct weir_dpi_flow_facts facts;
	uint8_t  in_use;
	uint8_t  done;                  /* verdict given, nothing more fed */
};

struct weir_dpi {
	struct ndpi_detection_module_struct *ndpi;
	struct weir_dpi_cfg cfg;
	struct dpi_slot *slots;
	uint32_t *free_idx;             /* stack of free slot indices */
	uint32_t n_free;
	uint32_t n_touched;             /* slots [0, n_touched) were ever used */
	uint8_t *buf;                   /* snaplen + WEIR_DPI_PAD */
	const int64_t *mem;             /* owner thread's nDPI byte counter */
	int64_t pool_bytes;
	struct weir_dpi_counters ctr;
};

/* ---- allocator hooks ------------------------------------------------- */

static __thread int64_t tls_ndpi_bytes;

static void *
dpi_malloc(size_t n)
{
#ifdef WEIR_DPI_LIBC_ALLOC
	void *p = malloc(n ? n : 1);
	if (p)
		tls_ndpi_bytes += (int64_t)malloc_usable_size(p);
#else
	void *p = mallocx(n ? n : 1, 0);
	if (p)
		tls_ndpi_bytes += (int64_t)sallocx(p, 0);
#endif
	return p;
}

static void
dpi_free(void *p)
{
	if (p == NULL)
		return;
#ifdef WEIR_DPI_LIBC_ALLOC
	tls_ndpi_bytes -= (int64_t)malloc_usable_size(p);
	free(p);
#else
	tls_ndpi_bytes -= (int64_t)sallocx(p, 0);
	dallocx(p, 0);
#endif
}

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static void
install_hooks(void)
{
	set_ndpi_malloc(dpi_malloc);
	set_ndpi_free(dpi_free);
	set_ndpi_flow_malloc(dpi_malloc);
	set_ndpi_flow_free(dpi_free);
}

/* ---- create / destroy ------------------------------------------------ */

void
weir_dpi_cfg_default(struct weir_dpi_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_flows_in_detection = 65536;
	cfg->max_pkts_tcp = 80;
	cfg->max_pkts_udp = 24;
	cfg->snaplen = 65535;
	cfg->enable_guess = 1;
}

static int
load_files(struct weir_dpi *d)
{
	const struct weir_dpi_cfg *c = &d->cfg;

	if (c->protos_file && ndpi_load_protocols_file(d->ndpi, c->protos_file) < 0)
		return -1;
	if (c->categories_file &&
	    ndpi_load_categories_file(d->ndpi, c->categories_file) < 0)
		return -1;
	if (c->risky_domains_file &&
	    ndpi_load_risk_domain_file(d->ndpi, c->risky_domains_file) < 0)
		return -1;
	if (c->ja3_file && ndpi_load_malicious_ja3_file(d->ndpi, c->ja3_file) < 0)
		return -1;
	if (c->sha1_file && ndpi_load_malicious_sha1_file(d->ndpi, c->sha1_file) < 0)
		return -1;
	return 0;
}

static struct ndpi_detection_module_struct *
new_module(struct weir_dpi *d)
{
	struct ndpi_detection_module_struct *m;
	NDPI_PROTOCOL_BITMASK all;

	/* nDPI: "calls to ndpi_init_detection_module MUST NOT run in parallel". */
	pthread_mutex_lock(&init_lock);
	m = ndpi_init_detection_module(ndpi_no_prefs);
	if (m != NULL) {
		d->ndpi = m;
		NDPI_BITMASK_SET_ALL(all);
		ndpi_set_protocol_detection_bitmask2(m, &all);
		if (load_files(d) < 0) {
			ndpi_exit_detection_module(m);
			d->ndpi = m = NULL;
		} else {
			ndpi_finalize_initialization(m);
		}
	}
	pthread_mutex_unlock(&init_lock);
	return m;
}

struct weir_dpi *
weir_dpi_create(const struct weir_dpi_cfg *cfg)
{
	struct weir_dpi *d;
	size_t n;

	pthread_once(&hooks_once, install_hooks);
	/* The flow struct is embedded in our slots: the library we run
	 * against must agree with the header we were built with. */
	if (ndpi_detection_get_sizeof_ndpi_flow_struct() != sizeof(struct ndpi_flow_struct))
		return NULL;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	if (cfg != NULL)
		d->cfg = *cfg;
	else
		weir_dpi_cfg_default(&d->cfg);
	if (d->cfg.max_flows_in_detection == 0 || d->cfg.snaplen < 64 ||
	    d->cfg.max_pkts_tcp == 0 || d->cfg.max_pkts_udp == 0)
		goto err_free_dpi;
	n = d->cfg.max_flows_in_detection;

	d->slots = mallocx(n * sizeof(*d->slots), MALLOCX_ZERO);
	if (d->slots == NULL)
		goto err_free_dpi;
	d->free_idx = mallocx(n * sizeof(*d->free_idx), 0);
	if (d->free_idx == NULL)
		goto err_free_slots;
	d->buf = mallocx((size_t)d->cfg.snaplen + WEIR_DPI_PAD, MALLOCX_ZERO);
	if (d->buf == NULL)
		goto err_free_idx;
	d->pool_bytes = (int64_t)(sallocx(d->slots, 0) + sallocx(d->free_idx, 0) +
				  sallocx(d->buf, 0));
	/* Pop order: slot 0 first. */
	for (uint32_t i = 0; i < n; i++)
		d->free_idx[i] = (uint32_t)(n - 1 - i);
	d->n_free = (uint32_t)n;
	d->mem = &tls_ndpi_bytes;

	if (new_module(d) == NULL)
		goto err_free_buf;
	/* The files were read by new_module(); keep no caller pointers. */
	d->cfg.protos_file = d->cfg.categories_file = NULL;
	d->cfg.risky_domains_file = d->cfg.ja3_file = d->cfg.sha1_file = NULL;
	return d;

err_free_buf:
	dallocx(d->buf, 0);
err_free_idx:
	dallocx(d->free_idx, 0);
err_free_slots:
	dallocx(d->slots, 0);
err_free_dpi:
	free(d);
	return NULL;
}

void
weir_dpi_destroy(struct weir_dpi *d)
{
	if (d == NULL)
		return;
	/* only the slots ever handed out: the rest of the pool was never
	 * faulted in, and reading it would fault it all in now */
	for (uint32_t i = 0; i < d->n_touched; i++)
		if (d->slots[i].in_use)
			weir_dpi_flow_end(d, (int)i);
	ndpi_exit_detection_module(d->ndpi);
	dallocx(d->buf, 0);
	dallocx(d->free_idx, 0);
	dallocx(d->slots, 0);
	free(d);
}

/* ---- slots ----------------------------------------------------------- */

int
weir_dpi_flow_begin(struct weir_dpi *d)
{
	uint32_t i;

	if (d->n_free == 0) {
		d->ctr.pool_full++;
		return -1;
	}
	i = d->free_idx[--d->n_free];
	d->slots[i].in_use = 1;
	if (i >= d->n_touched)
		d->n_touched = i + 1;
	return (int)i;
}

static struct dpi_slot *
get_slot(struct weir_dpi *d, int slot)
{
	if (slot < 0 || (uint32_t)slot >= d->cfg.max_flows_in_detection)
		return NULL;
	if (!d->slots[slot].in_use)
		return NULL;
	return &d->slots[slot];
}

void
weir_dpi_flow_end(struct weir_dpi *d, int slot)
{
	struct dpi_slot *s = get_slot(d, slot);

	if (s == NULL)
		return;
	/* Frees http.url, TLS server names, kerberos buffer... but not the
	 * struct itself, which is ours. */
	ndpi_free_flow_data(&s->flow);
	memset(s, 0, sizeof(*s));
	d->free_idx[d->n_free++] = (uint32_t)slot;
}

/* ---- detection ------------------------------------------------------- */

/* The L4 protocol of a copied packet, for the budget: nDPI 4.2 records it
 * in flow->l4_proto once it has parsed a packet. */
static uint16_t
budget_for(const struct weir_dpi *d, const struct dpi_slot *s)
{
	return s->flow.l4_proto == IPPROTO_TCP ? d->cfg.max_pkts_tcp
					       : d->cfg.max_pkts_udp;
}

static int
finish(struct weir_dpi *d, struct dpi_slot *s, ndpi_protocol p,
       int give_up, struct weir_dpi_result *res)
{
	enum weir_dpi_method method = WEIR_DPI_METHOD_DPI;

	if (give_up) {
		uint8_t guessed = 0;

		p = ndpi_detection_giveup(d->ndpi, &s->flow, d->cfg.enable_guess,
					  &guessed);
		if (guessed)
			method = WEIR_DPI_METHOD_GUESS;
	}
	weir_dpi_result_fill(d->ndpi, &s->flow, p, method, &s->facts, res);
	if (res->method == WEIR_DPI_METHOD_DPI)
		d->ctr.flows_detected++;
	else
		d->ctr.flows_gave_up++;
	s->done = 1;
	return 1;
}

int
weir_dpi_process(struct weir_dpi *d, int slot, const uint8_t *l3,
		 uint16_t l3_len, uint64_t ts_ms, int from_initiator,
		 struct weir_dpi_result *res)
{
	struct dpi_slot *s = get_slot(d, slot);
	uint16_t len = l3_len;
	ndpi_protocol p;
	unsigned int ssh_stage;
	int enough;

	if (s == NULL || s->done)
		return -1;
	if (len > d->cfg.snaplen) {
		len = d->cfg.snaplen;
		d->ctr.pkts_truncated++;
	}
	memcpy(d->buf, l3, len);
	memset(d->buf + len, 0, WEIR_DPI_PAD);

	/* l4.tcp is the live union member only for TCP flows; before the
	 * first packet the struct is all zero and l4_proto is 0. */
	ssh_stage = s->flow.l4_proto == IPPROTO_TCP ? s->flow.l4.tcp.ssh_stage : 0;

	if (s->flow.detected_protocol_stack[0] != NDPI_PROTOCOL_UNKNOWN)
		d->ctr.pkts_after_app++;
	p = ndpi_detection_process_packet(d->ndpi, &s->flow, d->buf, len, ts_ms);
	d->ctr.pkts_processed++;
	if (s->facts.pkts < UINT16_MAX)
		s->facts.pkts++;
	if (!from_initiator && s->facts.pkts_resp < UINT16_MAX)
		s->facts.pkts_resp++;
	if (ssh_stage == 0 && s->flow.l4_proto == IPPROTO_TCP &&
	    s->flow.l4.tcp.ssh_stage != 0)
		s->facts.ssh_swapped = !from_initiator;

	enough = s->facts.pkts > budget_for(d, s);
	if (!enough && p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
		return 0;
	if (!enough && ndpi_extra_dissection_possible(d->ndpi, &s->flow))
		return 0;       /* e.g. TLS: wait for the certificate */
	return finish(d, s, p, p.app_protocol == NDPI_PROTOCOL_UNKNOWN, res);
}

int
weir_dpi_flow_finish(struct weir_dpi *d, int slot, struct weir_dpi_result *res)
{
	struct dpi_slot *s = get_slot(d, slot);
	ndpi_protocol p = { NDPI_PROTOCOL_UNKNOWN, NDPI_PROTOCOL_UNKNOWN,
			    NDPI_PROTOCOL_CATEGORY_UNSPECIFIED };

	if (s == NULL || s->done)
		return -1;
	/* As ndpiReader at the end of a capture: give up even if an app was
	 * found and extra dissection was still pending; giveup keeps it. */
	return finish(d, s, p, 1, res);
}

/* A guess's confidence: its nDPI id and name. */
static void
set_confidence(struct weir_dpi_result *res, ndpi_confidence_t c)
{
	res->confidence_id = (uint8_t)c;
	snprintf(res->confidence, sizeof(res->confidence), "%s", ndpi_confidence_get_name(c));
}

int
weir_dpi_guess(struct weir_dpi *d, uint8_t proto,
	       const uint8_t src[16], uint16_t sport,
	       const uint8_t dst[16], uint16_t dport,
	       struct weir_dpi_result *res)
{
	uint32_t sh = 0, dh = 0;
	ndpi_protocol p;
	static const uint8_t v4pfx[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};

	/* nDPI 4.2 guesses by address for IPv4 only (host byte order). */
	if (memcmp(src, v4pfx, 12) == 0 && memcmp(dst, v4pfx, 12) == 0) {
		sh = (uint32_t)src[12] << 24 | (uint32_t)src[13] << 16 |
		     (uint32_t)src[14] << 8 | src[15];
		dh = (uint32_t)dst[12] << 24 | (uint32_t)dst[13] << 16 |
		     (uint32_t)dst[14] << 8 | dst[15];
	}
	p = ndpi_guess_undetected_protocol(d->ndpi, NULL, proto, sh, sport, dh,
					   dport);
	weir_dpi_result_fill(d->ndpi, NULL, p, WEIR_DPI_METHOD_GUESS, NULL, res);
	if (res->method == WEIR_DPI_METHOD_GUESS) {
		/* Say whether an address or only a port matched. */
		struct in_addr a = { .s_addr = htonl(sh) }, b = { .s_addr = htonl(dh) };
		ndpi_confidence_t c = NDPI_CONFIDENCE_MATCH_BY_PORT;

		if ((sh || dh) && (ndpi_network_ptree_match(d->ndpi, &a) ||
				   ndpi_network_ptree_match(d->ndpi, &b)))
			c = NDPI_CONFIDENCE_MATCH_BY_IP;
		set_confidence(res, c);
	}
	return 1;
}

/* RFC 6759 section 4.1: Classification Engine IDs */
#define ENGINE_IANA_L3 1
#define ENGINE_IANA_L4 3

int
weir_dpi_exporter_app(struct weir_dpi *d, uint8_t proto, uint8_t engine,
		      uint32_t selector, struct weir_dpi_result *res)
{
	ndpi_protocol p = { NDPI_PROTOCOL_UNKNOWN, NDPI_PROTOCOL_UNKNOWN,
			    NDPI_PROTOCOL_CATEGORY_UNSPECIFIED };

	if (engine == 0)
		return 0;
	/* by port or protocol alone: no address may add its own match */
	if (engine == ENGINE_IANA_L4 && selector <= UINT16_MAX)
		p = ndpi_guess_undetected_protocol(d->ndpi, NULL, proto, 0, (uint16_t)selector,
						   0, (uint16_t)selector);
	else if (engine == ENGINE_IANA_L3 && selector <= UINT8_MAX)
		p = ndpi_guess_undetected_protocol(d->ndpi, NULL, (uint8_t)selector, 0, 0, 0, 0);
	weir_dpi_result_fill(d->ndpi, NULL, p, WEIR_DPI_METHOD_EXPORTER, NULL, res);
	if (res->method == WEIR_DPI_METHOD_NONE) {
		/* nothing nDPI knows: the exporter's own id, as it sent it */
		snprintf(res->name, sizeof(res->name), "%u:%u", engine, selector);
		memcpy(res->app_name, res->name, sizeof(res->app_name));
	} else {		/* as weir_dpi_guess() says of a guess */
		set_confidence(res, NDPI_CONFIDENCE_MATCH_BY_PORT);
	}
	res->method = WEIR_DPI_METHOD_EXPORTER;
	return 1;
}

const struct weir_dpi_counters *
weir_dpi_counters(const struct weir_dpi *d)
{
	return &d->ctr;
}

uint32_t
weir_dpi_slots_used(const struct weir_dpi *d)
{
	return d->cfg.max_flows_in_detection - d->n_free;
}

int64_t
weir_dpi_mem_bytes(const struct weir_dpi *d)
{
	return *d->mem + d->pool_bytes;
}
