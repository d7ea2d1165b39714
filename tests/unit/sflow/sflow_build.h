/* sflow_build.h -- build sFlow v5 datagrams by hand, for the unit tests and
 * the fuzz seed corpus.
 *
 * A datagram is a flat byte buffer; put32() appends one XDR word, open()
 * starts a length-prefixed part (sample or record) and close() patches its
 * length. Everything the tests check is written here word by word, so the
 * expected values can be read off the test source. */
#ifndef WEIR_TEST_SFLOW_BUILD_H
#define WEIR_TEST_SFLOW_BUILD_H

#include <stdint.h>
#include <string.h>

struct dg {
	uint8_t b[4096];
	size_t  n;
};

static inline void
put32(struct dg *d, uint32_t v)
{
	d->b[d->n++] = (uint8_t)(v >> 24);
	d->b[d->n++] = (uint8_t)(v >> 16);
	d->b[d->n++] = (uint8_t)(v >> 8);
	d->b[d->n++] = (uint8_t)v;
}

static inline void
put64(struct dg *d, uint64_t v)
{
	put32(d, (uint32_t)(v >> 32));
	put32(d, (uint32_t)v);
}

/* Opaque bytes, zero-padded to a multiple of 4 (XDR). */
static inline void
putbytes(struct dg *d, const void *p, size_t n)
{
	memcpy(d->b + d->n, p, n);
	d->n += n;
	while (d->n % 4)
		d->b[d->n++] = 0;
}

/* Start a part: writes its format and a length placeholder, returns the
 * offset of the placeholder for close_part(). */
static inline size_t
open_part(struct dg *d, uint32_t format)
{
	put32(d, format);
	size_t at = d->n;
	put32(d, 0);
	return at;
}

static inline void
close_part(struct dg *d, size_t at)
{
	uint32_t len = (uint32_t)(d->n - at - 4);
	d->b[at] = (uint8_t)(len >> 24);
	d->b[at + 1] = (uint8_t)(len >> 16);
	d->b[at + 2] = (uint8_t)(len >> 8);
	d->b[at + 3] = (uint8_t)len;
}

static inline void
set32(struct dg *d, size_t at, uint32_t v)
{
	d->b[at] = (uint8_t)(v >> 24);
	d->b[at + 1] = (uint8_t)(v >> 16);
	d->b[at + 2] = (uint8_t)(v >> 8);
	d->b[at + 3] = (uint8_t)v;
}

/* Datagram header with an IPv4 agent; returns the offset of num_samples. */
static inline size_t
dg_header4(struct dg *d, uint32_t agent, uint32_t sub, uint32_t seq, uint32_t nsamples)
{
	d->n = 0;
	put32(d, 5);		/* version */
	put32(d, 1);		/* address type IPv4 */
	put32(d, agent);
	put32(d, sub);
	put32(d, seq);
	put32(d, 123456);	/* uptime ms */
	size_t at = d->n;
	put32(d, nsamples);
	return at;
}

#endif
