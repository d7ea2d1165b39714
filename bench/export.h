/* export.h -- what the export scenario's files share: the replayed streams
 * (export_stream.c), the paced sender (export_send.c) and the collectors
 * under test (export_peers.c); export.c runs the sweep. */
#ifndef WEIR_BENCH_EXPORT_H
#define WEIR_BENCH_EXPORT_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

enum bench_stream_kind { BENCH_STREAM_NF9, BENCH_STREAM_IPFIX, BENCH_STREAM_SFLOW, BENCH_STREAM__MAX };

/* One exporter's datagrams, in the order it sent them, replayed in a loop
 * from source address src (each stream its own, so one weir keeps one
 * exporter, and one template space, per stream). */
struct bench_stream {
	enum bench_stream_kind kind;
	const char *name;              /* nf9, ipfix, sflow */
	const char *src;               /* 127.0.0.2 .. 4 */
	uint8_t *data;
	struct iovec *iov;             /* each datagram */
	uint32_t *recs;                /* flow records (samples) in each */
	uint32_t *init_at;             /* IPFIX: where each one's systemInitTimeMilliseconds is, 0: none */
	uint32_t up_end;               /* v9, IPFIX: the newest flow-end uptime (export_stream.c) */
	unsigned int n;
	uint64_t records, bytes;       /* per pass over the stream */
};

int bench_stream_load(struct bench_stream *s, enum bench_stream_kind kind);
void bench_stream_free(struct bench_stream *s);
/* The capture's first `frames` frames into `out` (kept if it exists). */
int bench_pcap_slice(const char *out, unsigned int frames);

/* What one paced send did. The receiving socket's queue (bytes, from
 * /proc/net/udp) is sampled every 10 ms while sending; rxq_tail is its
 * smallest value over the last quarter of the send: near 0 when the
 * collector keeps up, large when its backlog only grows. */
struct bench_sent {
	uint64_t dgrams, records, bytes;
	double secs;
	uint64_t rxq_tail, rxq_max;
	uint64_t send_errors;
};

/* Send s from its start, looping, to 127.0.0.1:port for secs seconds at
 * rate records/s (0: as fast as sendmmsg goes). Unless bench.as_caught,
 * it writes each datagram's time fields as it sends (the datagrams' bytes,
 * which s points to, not s). */
int bench_send(const struct bench_stream *s, uint16_t port, double rate, double secs, struct bench_sent *out);

/* The receive buffer every collector of the scenario asks for (weir's
 * own RCVBUF; the peers' -B and pipe size; --sink's), 32 MiB. */
#define BENCH_PEER_RCVBUF 33554432
#define BENCH_STR_(x) #x
#define BENCH_STR(x) BENCH_STR_(x)

/* --sink (export_sink.c): take datagrams on 127.0.0.1:port for secs, drop them. */
int bench_sink(uint16_t port, double secs);

/* What a collector accounted for one step. records: records (samples) it
 * took in; dgrams: datagrams, or -1 when it does not say; kernel_drops: the
 * socket's drops (/proc/net/udp) during the step; app_drops: its own drop
 * counters (-1: none to read); settle_s: from the end of sending until its
 * socket was empty again (nfacctd, sfacctd: and its plugin idle). */
struct bench_recv {
	uint64_t records;
	int64_t dgrams;
	uint64_t kernel_drops;
	int64_t app_drops;
	double settle_s;
};

struct bench_collector {
	const char *name;              /* weir, nfcapd, nfacctd, sfacctd */
	uint16_t port;
	pid_t pid;
	uint16_t redis_port;
	pid_t redis_pid;
	void *redis;
	unsigned int step;
	long long rcvbuf;              /* what its socket got, bytes (ss's rb), -1 unknown */
	char log[1300];
	char out[1300];                /* nfcapd: its directory; nfacctd, sfacctd: the CSV */
	uint64_t drops0;               /* the socket's drops at the start of a step */
	/* records it never accounts per pass over each stream, whatever the
	 * rate: 1 allowed by default (sfacctd's odd non-IP sample); with
	 * calibrate, measured by one slow pass before its first sweep */
	uint64_t skip_per_pass[BENCH_STREAM__MAX];
	int calibrate, calibrated[BENCH_STREAM__MAX];
	/* weir: its own drop counters as published, with the time they were
	 * sampled (meta updated_ms) */
#define BENCH_WEIR_SAMPLES 2048
	uint64_t sam_t[BENCH_WEIR_SAMPLES], sam_d[BENCH_WEIR_SAMPLES];
	unsigned int n_sam;
};

/* weir: one engine for the whole scenario (and its redis-server). */
int bench_weir_open(struct bench_collector *c);
/* nfcapd, nfacctd and sfacctd: started for each step, stopped after it. */
void bench_peer_init(struct bench_collector *c, const char *name);

/* weir: wait until a cycle that started at or after t_ms (unix ms) is in
 * Redis (its sample is then in sam_t/sam_d). */
int bench_weir_wait_sample(struct bench_collector *c, uint64_t t_ms, double max_s);

int bench_collector_begin(struct bench_collector *c, const struct bench_stream *s);
int bench_collector_end(struct bench_collector *c, const struct bench_stream *s, const struct bench_sent *sent,
			struct bench_recv *r);
void bench_collector_close(struct bench_collector *c);

#endif
