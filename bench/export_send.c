/* export_send.c -- replay a flow-export stream from memory, paced.
 *
 * One connected UDP socket, bound to the stream's own loopback source
 * address, sends the stream's datagrams in order (looping) with sendmmsg,
 * up to 32 per call. Paced in records per second: a batch leaves when the
 * records it carries are due (rate x elapsed time); between batches the
 * sender naps when the next one is more than 100 us away and spins
 * otherwise. Rate 0: no pacing, as fast as the kernel takes them.
 *
 * On loopback the kernel delivers a datagram into the receiver's socket in
 * the sender's own system call, so what the receiver cannot take shows up
 * at once in its socket's queue and drops (/proc/net/udp), sampled here
 * every 10 ms.
 *
 * Each datagram is dated as it leaves, as a live exporter's is
 * (export_stream.c, retimed): v9 unix_secs and IPFIX export time are the
 * wall clock, and IPFIX's systemInitTimeMilliseconds is set so that the
 * stream's newest record ends now. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "export.h"

#define SEND_BATCH 32

static void
stamp(const struct bench_stream *s, unsigned int i, uint64_t now_ms)
{
	uint8_t *p = s->iov[i].iov_base;
	uint32_t secs = htonl((uint32_t)(now_ms / 1000));
	if (s->kind == BENCH_STREAM_NF9) {
		memcpy(p + 8, &secs, 4);
	} else if (s->kind == BENCH_STREAM_IPFIX) {
		memcpy(p + 4, &secs, 4);
		if (s->init_at[i]) {
			uint64_t init = now_ms - s->up_end;
			for (int b = 0; b < 8; b++)
				p[s->init_at[i] + b] = (uint8_t)(init >> (56 - 8 * b));
		}
	}
}

int
bench_send(const struct bench_stream *s, uint16_t port, double rate, double secs, struct bench_sent *out)
{
	memset(out, 0, sizeof(*out));
	out->rxq_tail = UINT64_MAX;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int buf = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, s->src, &src.sin_addr);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
		close(fd);
		return -1;
	}

	struct mmsghdr msgs[SEND_BATCH];
	memset(msgs, 0, sizeof(msgs));
	unsigned int idx = 0;
	double t0 = bench_now_s(), next_sample = t0, tail_from = t0 + secs * 0.75;
	for (;;) {
		double now = bench_now_s(), el = now - t0;
		if (el >= secs)
			break;
		if (now >= next_sample) {
			uint64_t q, d;
			if (bench_udp_sock(port, &q, &d) == 0) {
				if (q > out->rxq_max)
					out->rxq_max = q;
				if (now >= tail_from && q < out->rxq_tail)
					out->rxq_tail = q;
			}
			next_sample = now + 0.010;
		}
		/* how many datagrams are due */
		unsigned int k = 0;
		uint64_t recs = out->records;
		double due = rate > 0 ? rate * el : 1e30;
		while (k < SEND_BATCH) {
			unsigned int i = (idx + k) % s->n;
			if (k && (double)(recs + s->recs[i]) > due)
				break;
			if (!k && (double)recs >= due)
				break;
			msgs[k].msg_hdr.msg_iov = &s->iov[i];
			msgs[k].msg_hdr.msg_iovlen = 1;
			recs += s->recs[i];
			k++;
			/* a batch never wraps, so msgs[] maps onto iov[] in order */
			if (i == s->n - 1)
				break;
		}
		if (!k) {
			double wait = ((double)out->records - due) / rate;
			if (wait > 100e-6) {
				struct timespec ts = {0, 50000};
				nanosleep(&ts, NULL);
			}
			continue;
		}
		struct timespec wall;
		clock_gettime(CLOCK_REALTIME, &wall);
		for (unsigned int j = 0; j < k && !bench.as_caught; j++)
			stamp(s, (idx + j) % s->n, (uint64_t)wall.tv_sec * 1000 + (uint64_t)wall.tv_nsec / 1000000);
		int n = sendmmsg(fd, msgs, k, 0);
		if (n <= 0) {
			out->send_errors++;
			if (n < 0 && errno != EINTR && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
				break;
			continue;
		}
		for (int j = 0; j < n; j++) {
			unsigned int i = (idx + (unsigned int)j) % s->n;
			out->records += s->recs[i];
			out->bytes += s->iov[i].iov_len;
		}
		out->dgrams += (uint64_t)n;
		idx = (idx + (unsigned int)n) % s->n;
	}
	out->secs = bench_now_s() - t0;
	if (out->rxq_tail == UINT64_MAX)
		out->rxq_tail = 0;
	close(fd);
	return 0;
}
