/* udp_collector.c -- see udp_collector.h.
 *
 * The thread is not a worker: it sleeps in poll() when nothing arrives and
 * makes system calls by design (that is what a socket costs). Datagrams are
 * received directly into mbufs from a dedicated pool (data room sized for
 * jumbo datagrams), behind a struct weir_xflow_hdr.
 *
 * Backpressure: it reads no more datagrams than every worker's ring can
 * still take, and naps while one is full, so what a busy worker cannot take
 * yet waits in the socket buffer (collect-rcvbuf, tens of MB) rather than
 * being read and dropped here behind a ring of 4096. Only a worker whose
 * ring stays full for STALL_MS while others could go on is left out (its
 * datagrams are then dropped and counted as ring_full), so one stuck
 * worker does not stop every exporter. Everything it cannot deliver is
 * counted by cause; the kernel's own socket-buffer drops are read with
 * SO_RXQ_OVFL. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "log.h"
#include "udp_collector.h"
#include "worker.h"

#define BATCH 64
#define WAIT_US 100         /* nap while a worker's ring is full */
#define STALL_MS 1000       /* a ring full this long, with other workers: left out */

struct weir_udp_collector {
	int fd[WEIR_MAX_COLLECT];
	unsigned int n_fd;
	const struct weir_config *cfg;
	struct weir_worker **w;
	unsigned int n_workers;
	struct rte_mempool *mp;
	pthread_t thread;
	int stop;
	uint32_t ovfl_last[WEIR_MAX_COLLECT];
	uint64_t *full_since_ms;      /* per worker: when its ring was first seen full, 0: not full */
	struct weir_udp_stats st;
};

/* How many datagrams may be read now: the least free space of the workers'
 * rings (an exporter's datagram can go to any of them), leaving out a ring
 * that has stayed full for STALL_MS when there are other workers. */
static unsigned int
ring_room(struct weir_udp_collector *c)
{
	unsigned int least = BATCH;
	uint64_t now = 0;
	for (unsigned int i = 0; i < c->n_workers; i++) {
		unsigned int f = rte_ring_free_count(c->w[i]->xflow_ring);
		if (f) {
			c->full_since_ms[i] = 0;
		} else {
			if (!now)
				now = weir_mono_ms();
			if (!c->full_since_ms[i])
				c->full_since_ms[i] = now;
			if (c->n_workers > 1 && now - c->full_since_ms[i] >= STALL_MS)
				continue;	/* stuck: its datagrams drop as ring_full */
		}
		if (f < least)
			least = f;
	}
	return least;
}

static int
open_socket(const struct weir_collect *col, uint32_t rcvbuf, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, col->addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(col->port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, col->addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(col->port);
		sl = sizeof(*s6);
	} else {
		snprintf(err, errlen, "collect %s: not an address", col->addr);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "collect %s:%u: socket: %s", col->addr, col->port, strerror(errno));
		return -1;
	}
	int one = 1, zero = 0, buf = (int)rcvbuf;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	/* past net.core.rmem_max when we may (root), else what the kernel allows */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		int got = 0;
		socklen_t gl = sizeof(got);
		/* the kernel reports twice what it will hold for data */
		if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got / 2 < buf)
			weir_log(WEIR_LOG_WARN, "collect %s:%u: receive buffer %d bytes, not the %d of collect-rcvbuf "
				 "(raise net.core.rmem_max, or run as root)", col->addr, col->port, got / 2, buf);
	}
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		snprintf(err, errlen, "collect udp://%s%s%s:%u: bind: %s%s", strchr(col->addr, ':') ? "[" : "",
			 col->addr, strchr(col->addr, ':') ? "]" : "", col->port, strerror(errno),
			 errno == EADDRINUSE ? " (another collector holds the port without SO_REUSEPORT?)" :
			 errno == EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

static void
to_mapped(const struct sockaddr_storage *ss, uint8_t a[16], uint16_t *port)
{
	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		memcpy(a, &s6->sin6_addr, 16);	/* ::ffff:a.b.c.d stays v4-mapped */
		*port = ntohs(s6->sin6_port);
	}
}

/* Reads socket k until it is empty (0) or a worker cannot take more (1). */
static int
read_socket(struct weir_udp_collector *c, unsigned int k)
{
	struct rte_mbuf *mb[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	char ctrl[BATCH][CMSG_SPACE(sizeof(uint32_t))];
	const uint32_t data_room = rte_pktmbuf_data_room_size(c->mp) - RTE_PKTMBUF_HEADROOM -
			      (uint32_t)sizeof(struct weir_xflow_hdr);

	for (int rounds = 0; rounds < 16 && !__atomic_load_n(&c->stop, __ATOMIC_RELAXED); rounds++) {
		unsigned int want = ring_room(c);
		if (!want)
			return 1;
		if (rte_pktmbuf_alloc_bulk(c->mp, mb, want) != 0) {
			c->st.no_mbuf++;
			return 1;
		}
		memset(msgs, 0, want * sizeof(msgs[0]));
		for (unsigned int i = 0; i < want; i++) {
			iov[i].iov_base = rte_pktmbuf_mtod_offset(mb[i], char *, sizeof(struct weir_xflow_hdr));
			iov[i].iov_len = data_room;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = ctrl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
		}
		int n = recvmmsg(c->fd[k], msgs, want, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				c->st.errors++;
			rte_pktmbuf_free_bulk(mb, want);
			return 0;
		}
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &msgs[i].msg_hdr;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
					uint32_t v;
					memcpy(&v, CMSG_DATA(cm), sizeof(v));
					c->st.kernel_drops += (uint32_t)(v - c->ovfl_last[k]);
					c->ovfl_last[k] = v;
				}
			}
			if (h->msg_flags & MSG_TRUNC) {
				c->st.too_big++;
				rte_pktmbuf_free(mb[i]);
				continue;
			}
			struct weir_xflow_hdr *x = rte_pktmbuf_mtod(mb[i], struct weir_xflow_hdr *);
			uint16_t sport;
			to_mapped(&from[i], x->src, &sport);
			x->sport = sport;
			if (!weir_exporter_allowed(c->cfg, x->src)) {
				c->st.refused++;
				rte_pktmbuf_free(mb[i]);
				continue;
			}
			x->len = msgs[i].msg_len;
			x->ts_ms = 0;
			x->steered = 0;
			mb[i]->data_len = (uint16_t)(sizeof(*x) + x->len);
			mb[i]->pkt_len = mb[i]->data_len;
			unsigned int t = weir_xflow_owner(x->src, c->n_workers);
			if (rte_ring_enqueue(c->w[t]->xflow_ring, mb[i]) != 0) {
				c->st.ring_full++;
				rte_pktmbuf_free(mb[i]);
				continue;
			}
			c->st.datagrams++;
			c->st.bytes += x->len;
		}
		if ((unsigned int)n < want) {	/* the socket is empty */
			rte_pktmbuf_free_bulk(mb + n, want - (unsigned int)n);
			return 0;
		}
	}
	return 0;
}

static void *
collector_main(void *arg)
{
	struct weir_udp_collector *c = arg;
	struct pollfd pfd[WEIR_MAX_COLLECT];
	for (unsigned int i = 0; i < c->n_fd; i++) {
		pfd[i].fd = c->fd[i];
		pfd[i].events = POLLIN;
	}
	const struct timespec nap = { 0, WAIT_US * 1000 };
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		int rc = poll(pfd, c->n_fd, 100);
		if (rc <= 0)
			continue;
		int blocked = 0;
		for (unsigned int i = 0; i < c->n_fd; i++)
			if (pfd[i].revents & POLLIN)
				blocked |= read_socket(c, i);
		if (blocked) {	/* the rest waits in the socket buffer */
			c->st.waits++;
			nanosleep(&nap, NULL);
		}
	}
	return NULL;
}

struct weir_udp_collector *
weir_udp_collector_start(const struct weir_config *cfg, struct weir_worker **w, unsigned int n,
			 struct rte_mempool *mp, char *err, size_t errlen)
{
	struct weir_udp_collector *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->w = w;
	c->n_workers = n;
	c->mp = mp;
	c->full_since_ms = calloc(n, sizeof(*c->full_since_ms));
	if (!c->full_since_ms) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	for (unsigned int i = 0; i < cfg->n_collect; i++) {
		int fd = open_socket(&cfg->collect[i], cfg->collect_rcvbuf, err, errlen);
		if (fd < 0)
			goto err_close;
		c->fd[c->n_fd++] = fd;
	}
	int rc = pthread_create(&c->thread, NULL, collector_main, c);
	if (rc != 0) {
		snprintf(err, errlen, "collector thread: %s", strerror(rc));
		goto err_close;
	}
	pthread_setname_np(c->thread, "weir-collect");
	return c;

err_close:
	for (unsigned int i = 0; i < c->n_fd; i++)
		close(c->fd[i]);
	free(c->full_since_ms);
	free(c);
	return NULL;
}

void
weir_udp_collector_stop(struct weir_udp_collector *c)
{
	if (!c)
		return;
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	pthread_join(c->thread, NULL);
	for (unsigned int i = 0; i < c->n_fd; i++)
		close(c->fd[i]);
	free(c->full_since_ms);
	free(c);
}

void
weir_udp_collector_stats(const struct weir_udp_collector *c, struct weir_udp_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (c)
		*st = c->st;
}
