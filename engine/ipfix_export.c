/* ipfix_export.c -- ended flows out as IPFIX messages over UDP (RFC 7011).
 *
 * weir keeps only the present in Redis; users keep history in the flow
 * stores they already run. So the control thread hands every ended flow to
 * this module, which writes it as IPFIX data records and sends the messages
 * to each `export` destination. A weir flow is bidirectional; it leaves as
 * two unidirectional records (one per direction that carried packets),
 * which every collector understands, rather than as an RFC 5103 biflow,
 * which few do.
 *
 * What a record says that the flow does not know exactly: weir keeps one
 * first/last time and one OR of the TCP flags per flow, so both records of
 * a flow carry the same times and flags. MACs are those seen as sources:
 * the destination MAC of a->b is the source MAC seen on b->a (zero when b
 * never spoke, and for collected flows). Interfaces are the exporter's,
 * in/out for the initiator's direction, swapped for the responder's; 0 for
 * captured flows.
 *
 * UDP carries no state, so templates go out before the first data, then
 * again every 60 s or every 4096 messages (RFC 7011 section 8.4), as a
 * message of their own. The header's sequence number counts the data
 * records sent before the message (templates do not count), so a
 * collector sees a gap when a datagram is lost.
 *
 * Owned by the control thread; no lock, no worker involvement. Sockets are
 * non-blocking and unconnected: a send that fails is counted and the
 * message is gone for that destination, never retried or waited for. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipfix_export.h"

#define IPFIX_VERSION        10
#define IPFIX_MTU            1400      /* fits any path that carries 1500-byte frames */
#define IPFIX_SET_TEMPLATE   2
#define IPFIX_TMPL_V4        256
#define IPFIX_TMPL_V6        257
#define IPFIX_VARLEN         65535
#define TMPL_REFRESH_MS      60000
#define TMPL_REFRESH_MSGS    4096
#define APP_NAME_MAX         254       /* one-byte length prefix (RFC 7011 7.) */

/*
 * Message header, 16 bytes (RFC 7011 section 3.1):
 *
 *  0                   1                   2                   3
 *  |  version = 10   |     length (whole message)    |
 *  |                 export time (UNIX seconds)       |
 *  |  sequence number (data records sent before this) |
 *  |            observation domain id                 |
 *
 * Set header, 4 bytes (section 3.3.2): | set id | length (with header) |
 * set id 2 holds template records, >= 256 data records of that template.
 * Template record header (section 3.4.1): | template id | field count |,
 * then count x | information element id | field length |.
 */
struct ipfix_hdr {
	uint16_t version;
	uint16_t length;
	uint32_t export_time;
	uint32_t seq;
	uint32_t domain;
} __attribute__((packed));
static_assert(sizeof(struct ipfix_hdr) == 16, "IPFIX message header is 16 bytes");

struct ipfix_set_hdr {
	uint16_t id;
	uint16_t length;
} __attribute__((packed));
static_assert(sizeof(struct ipfix_set_hdr) == 4, "IPFIX set header is 4 bytes");

/* One field of a template: IANA element id and the length we send. */
struct ie {
	uint16_t id, len;
};

/*
 * Data record of template 256 (IPv4), 69 bytes + applicationName:
 *
 *  | src addr (4) | dst addr (4) | sport (2) | dport (2) | proto (1) |
 *  | tcp flags (2) | octets (8) | packets (8) | start ms (8) | end ms (8) |
 *  | vlan (2) | ingress if (4) | egress if (4) | src mac (6) | dst mac (6) |
 *  | name length (1) | name (0..254) |
 *
 * Template 257 (IPv6) is the same with 16-byte addresses: 93 bytes + name.
 */
#define IE_COMMON \
	{7, 2}, {11, 2}, {4, 1}, {6, 2}, {1, 8}, {2, 8}, {152, 8}, {153, 8}, \
	{58, 2}, {10, 4}, {14, 4}, {56, 6}, {80, 6}, {96, IPFIX_VARLEN}
static const struct ie tmpl_v4[] = { {8, 4}, {12, 4}, IE_COMMON };
static const struct ie tmpl_v6[] = { {27, 16}, {28, 16}, IE_COMMON };
#define N_IE (sizeof(tmpl_v4) / sizeof(tmpl_v4[0]))
static_assert(sizeof(tmpl_v4) == sizeof(tmpl_v6), "both templates have the same fields");
#define REC_FIXED_V4 69
#define REC_FIXED_V6 93

struct dest {
	int fd;
	struct sockaddr_storage sa;
	socklen_t salen;
};

struct weir_ipfix_export {
	struct dest d[WEIR_MAX_EXPORTS];
	unsigned int n_dest;
	uint32_t domain;
	uint32_t seq;                  /* data records sent so far, modulo 2^32 */
	uint64_t tmpl_ms;              /* templates last sent, 0: never */
	uint64_t msgs_since_tmpl;
	uint8_t msg[IPFIX_MTU];
	size_t len;                    /* bytes in msg; 0: no message open */
	size_t set_off;                /* offset of the open set's header */
	uint16_t set_id;               /* 0: no set open */
	uint32_t msg_records;
	struct weir_flow_snap *held;   /* ended flows waiting for their verdict */
	size_t n_held, cap_held;
	struct weir_ipfix_export_stats st;
};

static uint64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	p = put32(p, (uint32_t)(v >> 32));
	return put32(p, (uint32_t)v);
}

struct weir_ipfix_export *
weir_ipfix_export_new(const struct weir_config *cfg, char *err, size_t errlen)
{
	struct weir_ipfix_export *x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "IPFIX export: out of memory");
		return NULL;
	}
	x->domain = cfg->export_domain;
	for (unsigned int i = 0; i < cfg->n_exports && i < WEIR_MAX_EXPORTS; i++) {
		const struct weir_export_dest *e = &cfg->exports[i];
		struct dest *d = &x->d[x->n_dest];
		memset(&d->sa, 0, sizeof(d->sa));
		struct sockaddr_in *s4 = (struct sockaddr_in *)&d->sa;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&d->sa;
		if (inet_pton(AF_INET, e->addr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons(e->port);
			d->salen = sizeof(*s4);
		} else if (inet_pton(AF_INET6, e->addr, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(e->port);
			d->salen = sizeof(*s6);
		} else {
			snprintf(err, errlen, "export ipfix://%s:%u: not an address", e->addr, e->port);
			goto err_close_sockets;
		}
		d->fd = socket(d->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (d->fd < 0) {
			snprintf(err, errlen, "export ipfix://%s:%u: socket: %s", e->addr, e->port,
				 strerror(errno));
			goto err_close_sockets;
		}
		/* room for the burst of a stop, when every flow ends at once
		 * (the kernel caps it at net.core.wmem_max) */
		int sndbuf = 4 << 20;
		(void)setsockopt(d->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		x->n_dest++;
	}
	return x;

err_close_sockets:
	for (unsigned int i = 0; i < x->n_dest; i++)
		close(x->d[i].fd);
	free(x);
	return NULL;
}

/* One datagram to every destination. Would-block (the socket buffer is
 * full) is a drop; anything else is an error. */
static void
send_all(struct weir_ipfix_export *x, const uint8_t *p, size_t len)
{
	for (unsigned int i = 0; i < x->n_dest; i++) {
		const struct dest *d = &x->d[i];
		ssize_t n = sendto(d->fd, p, len, MSG_DONTWAIT, (const struct sockaddr *)&d->sa, d->salen);
		if (n == (ssize_t)len)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			x->st.dropped++;
		else
			x->st.send_errors++;
	}
	x->st.messages++;
	x->msgs_since_tmpl++;
}

static void
write_header(struct weir_ipfix_export *x, uint8_t *p, size_t len)
{
	p = put16(p, IPFIX_VERSION);
	p = put16(p, (uint16_t)len);
	p = put32(p, (uint32_t)(wall_ms() / 1000));
	p = put32(p, x->seq);
	put32(p, x->domain);
}

static uint8_t *
put_template(uint8_t *p, uint16_t id, const struct ie *ie, size_t n)
{
	p = put16(p, id);
	p = put16(p, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		p = put16(p, ie[i].id);
		p = put16(p, ie[i].len);
	}
	return p;
}

/* Both templates in one message of their own: 16 + 4 + 2 x (4 + 16 x 4) = 156 bytes. */
static void
send_templates(struct weir_ipfix_export *x, uint64_t now_ms)
{
	uint8_t m[sizeof(struct ipfix_hdr) + sizeof(struct ipfix_set_hdr) + 2 * (4 + N_IE * 4)];
	uint8_t *p = m + sizeof(struct ipfix_hdr);
	p = put16(p, IPFIX_SET_TEMPLATE);
	p = put16(p, (uint16_t)(sizeof(m) - sizeof(struct ipfix_hdr)));
	p = put_template(p, IPFIX_TMPL_V4, tmpl_v4, N_IE);
	p = put_template(p, IPFIX_TMPL_V6, tmpl_v6, N_IE);
	write_header(x, m, (size_t)(p - m));
	send_all(x, m, (size_t)(p - m));
	x->tmpl_ms = now_ms ? now_ms : 1;
	x->msgs_since_tmpl = 0;
}

static int
templates_due(const struct weir_ipfix_export *x, uint64_t now_ms)
{
	return !x->tmpl_ms || x->msgs_since_tmpl >= TMPL_REFRESH_MSGS ||
	       now_ms >= x->tmpl_ms + TMPL_REFRESH_MS;
}

static void
close_set(struct weir_ipfix_export *x)
{
	if (!x->set_id)
		return;
	put16(x->msg + x->set_off + 2, (uint16_t)(x->len - x->set_off));
	x->set_id = 0;
}

/* Send the open message, if any. */
static void
send_message(struct weir_ipfix_export *x)
{
	if (!x->len)
		return;
	close_set(x);
	write_header(x, x->msg, x->len);
	send_all(x, x->msg, x->len);
	x->st.records += x->msg_records;
	x->seq += x->msg_records;
	x->len = 0;
	x->msg_records = 0;
}

/* Room for a record of rec bytes of template id: a message is open, its
 * open set is of that template, and the record fits. */
static uint8_t *
reserve(struct weir_ipfix_export *x, uint16_t id, size_t rec)
{
	size_t need = rec + (x->set_id == id ? 0 : sizeof(struct ipfix_set_hdr));
	if (x->len && x->len + need > IPFIX_MTU)
		send_message(x);
	if (!x->len) {
		uint64_t now = wall_ms();
		if (templates_due(x, now))
			send_templates(x, now);
		x->len = sizeof(struct ipfix_hdr);
	}
	if (x->set_id != id) {
		close_set(x);
		x->set_off = x->len;
		put16(x->msg + x->len, id);
		x->len += sizeof(struct ipfix_set_hdr);
		x->set_id = id;
	}
	uint8_t *p = x->msg + x->len;
	x->len += rec;
	x->msg_records++;
	return p;
}

static void
put_record(struct weir_ipfix_export *x, const struct weir_flow_snap *s, int dir,
	   const char *app, size_t app_len)
{
	const struct weir_flow_key *k = &s->key;
	int v4 = weir_addr_is_v4(k->a) && weir_addr_is_v4(k->b);
	const uint8_t *src = dir ? k->b : k->a, *dst = dir ? k->a : k->b;
	const uint8_t *smac = dir ? s->bmac : s->amac, *dmac = dir ? s->amac : s->bmac;
	int from_init = dir == (s->a_is_init ? 0 : 1);
	size_t rec = (v4 ? REC_FIXED_V4 : REC_FIXED_V6) + 1 + app_len;

	uint8_t *p = reserve(x, v4 ? IPFIX_TMPL_V4 : IPFIX_TMPL_V6, rec);
	if (v4) {
		memcpy(p, src + 12, 4);
		memcpy(p + 4, dst + 12, 4);
		p += 8;
	} else {
		memcpy(p, src, 16);
		memcpy(p + 16, dst, 16);
		p += 32;
	}
	p = put16(p, dir ? k->pb : k->pa);
	p = put16(p, dir ? k->pa : k->pb);
	*p++ = k->proto;
	p = put16(p, k->proto == 6 ? s->tcp_flags : 0);
	p = put64(p, s->bytes[dir]);
	p = put64(p, s->pkts[dir]);
	p = put64(p, s->first_ms);
	p = put64(p, s->last_ms);
	p = put16(p, k->vlan);
	p = put32(p, from_init ? s->in_if : s->out_if);
	p = put32(p, from_init ? s->out_if : s->in_if);
	memcpy(p, smac, 6);
	memcpy(p + 6, dmac, 6);
	p += 12;
	*p++ = (uint8_t)app_len;
	memcpy(p, app, app_len);
}

void
weir_ipfix_export_flow(struct weir_ipfix_export *x, const struct weir_flow_snap *s,
		       const char *app_name)
{
	const char *app = app_name ? app_name : "";
	size_t app_len = strnlen(app, APP_NAME_MAX);
	for (int dir = 0; dir < 2; dir++)
		if (s->pkts[dir])
			put_record(x, s, dir, app, app_len);
}

void
weir_ipfix_export_hold(struct weir_ipfix_export *x, const struct weir_flow_snap *s)
{
	if (x->n_held == x->cap_held) {
		size_t cap = x->cap_held ? x->cap_held * 2 : 256;
		struct weir_flow_snap *h = realloc(x->held, cap * sizeof(*h));
		if (!h) {
			/* no room to wait for the verdict: export it without */
			weir_ipfix_export_flow(x, s, NULL);
			return;
		}
		x->held = h;
		x->cap_held = cap;
	}
	x->held[x->n_held++] = *s;
}

const struct weir_flow_snap *
weir_ipfix_export_held(const struct weir_ipfix_export *x, size_t *n)
{
	*n = x->n_held;
	return x->held;
}

void
weir_ipfix_export_release(struct weir_ipfix_export *x)
{
	x->n_held = 0;
}

void
weir_ipfix_export_flush(struct weir_ipfix_export *x, uint64_t now_ms)
{
	send_message(x);
	/* refresh even when idle, so a collector that restarts is ready */
	if (templates_due(x, now_ms))
		send_templates(x, now_ms);
}

const struct weir_ipfix_export_stats *
weir_ipfix_export_stats(const struct weir_ipfix_export *x)
{
	return &x->st;
}

void
weir_ipfix_export_free(struct weir_ipfix_export *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n_held; i++)
		weir_ipfix_export_flow(x, &x->held[i], NULL);
	send_message(x);
	for (unsigned int i = 0; i < x->n_dest; i++)
		close(x->d[i].fd);
	free(x->held);
	free(x);
}
