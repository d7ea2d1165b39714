/* export_sink.c -- the least a flow collector does: take the datagrams from
 * its socket and drop them.
 *
 * `weir-bench --sink PORT SECONDS` binds 127.0.0.1:PORT with the receive
 * buffer the export scenario gives its peers (BENCH_PEER_RCVBUF, 32 MiB; the
 * kernel caps it at net.core.rmem_max), reads with recvmmsg, 64 datagrams
 * a call, reading each one's header as a decoder's first step would, and
 * stops SECONDS after it started, or on SIGTERM or SIGINT. Then it prints
 * the datagrams and bytes it took. bench/collect-cpu.sh (PEER=sink) times
 * it beside weir and nfcapd on the same paced stream: what a collector
 * costs over this floor is its decoding and its keeping. No DPDK, no root. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench.h"
#include "export.h"

#define SINK_BATCH 64
#define SINK_DGRAM 65536

static volatile sig_atomic_t sink_stop;

static void
on_signal(int sig)
{
	(void)sig;
	sink_stop = 1;
}

int
bench_sink(uint16_t port, double secs)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("weir-bench: --sink: socket");
		return 1;
	}
	int rb = BENCH_PEER_RCVBUF;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	struct timeval tv = {0, 100000};	/* wake to see the clock and signals */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "weir-bench: --sink: cannot bind 127.0.0.1:%u: %s\n", port, strerror(errno));
		close(fd);
		return 1;
	}
	struct sigaction act = {.sa_handler = on_signal};
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);

	uint8_t *buf = malloc((size_t)SINK_BATCH * SINK_DGRAM);
	if (!buf) {
		close(fd);
		return 1;
	}
	struct mmsghdr m[SINK_BATCH];
	struct iovec io[SINK_BATCH];
	for (int i = 0; i < SINK_BATCH; i++) {
		io[i] = (struct iovec){buf + (size_t)i * SINK_DGRAM, SINK_DGRAM};
		m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &io[i], .msg_iovlen = 1}};
	}
	unsigned long long dgrams = 0, bytes = 0, sum = 0;
	double t0 = bench_now_s();
	while (!sink_stop && bench_now_s() - t0 < secs) {
		int k = recvmmsg(fd, m, SINK_BATCH, 0, NULL);
		for (int i = 0; i < k; i++) {
			bytes += m[i].msg_len;
			sum += m[i].msg_len >= 4 ? ((const uint8_t *)io[i].iov_base)[1] : 0;	/* the version */
		}
		if (k > 0)
			dgrams += (unsigned long long)k;
	}
	printf("sink took %llu datagrams, %llu bytes in %.2f s (version byte sum %llu)\n", dgrams, bytes,
	       bench_now_s() - t0, sum);
	free(buf);
	close(fd);
	return 0;
}
