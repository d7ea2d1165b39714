/* export_stream.c -- the flow-export streams the export scenario replays.
 *
 * Made once by real exporters from the bench's mixed capture and kept in
 * the cache directory:
 *   nf9, ipfix: `softflowd -r mixed-1m.pcap -n 127.0.0.1:PORT -v 9|10`
 *               (the whole capture: about 100k flow records);
 *   sflow:      pmacctd's sfprobe (pcap_savefile, sampling_rate 1) over the
 *               capture's first 100k frames: one flow sample per frame.
 * The datagrams are caught on a loopback socket of ours while the exporter
 * runs, and stored as they came, each behind its length:
 *
 *   | len (u16, big endian) | len bytes of the datagram | len | ...
 *
 * Loaded, each datagram also carries how many flow records (NetFlow v9,
 * IPFIX) or flow samples (sFlow) it holds, counted here from the headers
 * drawn below, so the sender can pace in records per second and the sweep
 * knows how many records each step sent.
 *
 * Retimed, as a live exporter's would be: softflowd dates a record by the
 * capture's packets, days before the stream was caught, and a collector
 * that trusts record times (weir does: docs/exporters.md) would find every
 * flow past its idle timeout on arrival, end it at the next sweep and make
 * it anew on the next pass -- churn no live exporter causes. So the records keep
 * their ages relative to each other (the capture's 50 s), and the newest
 * ends when its datagram is sent: NetFlow v9's sysUptime moves by the
 * stream's last flow-end uptime (up_end) here, once, and the sender writes
 * unix_secs as it sends; IPFIX's export time and the options record's
 * systemInitTimeMilliseconds (IE 160, init_at) are written as it sends
 * (export_send.c). A collector that ignores record times (nfcapd) sees
 * the same datagrams otherwise. `weir-bench --send --as-caught` sends a
 * stream as it was caught, to compare. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "export.h"

#define SFLOW_SLICE_FRAMES 100000
#define MAX_TEMPLATES 65536

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Record length of each template id seen so far in the stream (0: none),
 * where its flow-end uptime (v9 LAST_SWITCHED, IPFIX flowEndSysUpTime, 21)
 * sits in the record (+1; 0: none), and for IPFIX options templates, the
 * record length and where systemInitTimeMilliseconds (160) sits (+1). */
struct tmpl_lens {
	uint32_t len[MAX_TEMPLATES];
	uint32_t end_at[MAX_TEMPLATES];
	uint32_t opt_len[MAX_TEMPLATES];
	uint32_t init_at[MAX_TEMPLATES];
};

/*
 * NetFlow v9 (RFC 3954), 20-byte header, then flowsets:
 *
 *  0         2         4              8              12             16             20
 *  | version | count   | sysUptime    | unix_secs    | sequence     | source id    |
 *  | flowset id | length | ... length bytes, padded ...
 *
 * flowset 0: templates  | template id | field count | (type, length) x count |
 * flowset 1: option templates; >= 256: data, (length - 4) / record length
 * records (the rest is padding).
 *
 * IPFIX (RFC 7011), 16-byte header, then sets:
 *
 *  0         2         4              8              12             16
 *  | version | length  | export time  | sequence     | domain id    |
 *  | set id  | length  | ...
 *
 * set 2: templates | template id | field count | (ie, length [, enterprise
 * number if ie & 0x8000]) x count |; 3: option templates; >= 256: data.
 * A field of length 65535 (variable) makes the record length unknown: such
 * a set counts as unreadable (softflowd sends none). IPFIX options
 * templates (set 3: | template id | field count | scope field count |
 * fields |) are read only for where IE 160 is in their records.
 *
 * Besides the records: *up_end rises to the largest flow-end uptime seen,
 * and *init_at is where this datagram's first IE 160 value is (0: none).
 */
static int
nf_records(const uint8_t *p, size_t len, int ipfix, struct tmpl_lens *t, uint32_t *recs, uint32_t *up_end,
	   uint32_t *init_at)
{
	size_t hdr = ipfix ? 16 : 20;
	*recs = 0;
	*init_at = 0;
	if (len < hdr || rd16(p) != (ipfix ? 10 : 9))
		return -1;
	size_t off = hdr;
	while (off + 4 <= len) {
		uint16_t id = rd16(p + off), sl = rd16(p + off + 2);
		if (sl < 4 || off + sl > len)
			return -1;
		const uint8_t *s = p + off + 4, *end = p + off + sl;
		int opt = ipfix && id == 3;
		if (id == (ipfix ? 2 : 0) || opt) {
			while (s + (opt ? 6 : 4) <= end) {
				uint16_t tid = rd16(s), nf = rd16(s + 2);
				s += opt ? 6 : 4;
				uint32_t rl = 0, end_at = 0, i160 = 0;
				int var = 0;
				for (uint16_t i = 0; i < nf; i++) {
					if (s + 4 > end)
						return -1;
					uint16_t ie = rd16(s), fl = rd16(s + 2);
					s += 4;
					if (ipfix && (ie & 0x8000)) {
						if (s + 4 > end)
							return -1;
						s += 4;
					} else if (ie == 21 && fl == 4) {
						end_at = rl + 1;
					} else if (ie == 160 && fl == 8) {
						i160 = rl + 1;
					}
					if (fl == 65535)
						var = 1;
					rl += fl;
				}
				if (opt) {
					t->opt_len[tid] = var ? 0 : rl;
					t->init_at[tid] = var ? 0 : i160;
				} else {
					t->len[tid] = var ? 0 : rl;
					t->end_at[tid] = var ? 0 : end_at;
				}
			}
		} else if (id >= 256) {
			uint32_t rl = t->len[id];
			if (rl)
				*recs += (sl - 4) / rl;
			for (const uint8_t *r = s; rl && t->end_at[id] && r + rl <= end; r += rl) {
				uint32_t e = rd32(r + t->end_at[id] - 1);
				if (e > *up_end)
					*up_end = e;
			}
			if (!*init_at && t->init_at[id] && t->opt_len[id] && s + t->opt_len[id] <= end)
				*init_at = (uint32_t)(s + t->init_at[id] - 1 - p);
		}
		off += sl;
	}
	return 0;
}

/*
 * sFlow v5 datagram:
 *
 *  | version = 5 | agent address type (1: IPv4, 2: IPv6) | agent address (4 or 16) |
 *  | sub-agent id | sequence | uptime | number of samples |
 *  then each sample: | format (enterprise << 12 | format) | length | length bytes |
 *
 * Flow samples are formats 1 and 3 (expanded) of enterprise 0; counter
 * samples (2, 4) are not counted.
 */
static int
sflow_samples(const uint8_t *p, size_t len, uint32_t *recs)
{
	*recs = 0;
	if (len < 8 || rd32(p) != 5)
		return -1;
	uint32_t at = rd32(p + 4);
	size_t off = 8 + (at == 1 ? 4 : at == 2 ? 16 : 0);
	if (at != 1 && at != 2)
		return -1;
	if (off + 16 > len)
		return -1;
	uint32_t n = rd32(p + off + 12);
	off += 16;
	for (uint32_t i = 0; i < n; i++) {
		if (off + 8 > len)
			return -1;
		uint32_t fmt = rd32(p + off), sl = rd32(p + off + 4);
		if (sl > len - off - 8)
			return -1;
		if (fmt == 1 || fmt == 3)
			(*recs)++;
		off += 8 + sl;
	}
	return 0;
}

/* Count every datagram's records; -1 if the stream does not parse. */
static int
count_records(struct bench_stream *s)
{
	struct tmpl_lens *t = NULL;
	if (s->kind != BENCH_STREAM_SFLOW && !(t = calloc(1, sizeof(*t))))
		return -1;
	int bad = 0;
	s->records = s->bytes = 0;
	s->up_end = 0;
	memset(s->init_at, 0, s->n * sizeof(*s->init_at));
	for (unsigned int i = 0; i < s->n; i++) {
		const uint8_t *p = s->iov[i].iov_base;
		size_t len = s->iov[i].iov_len;
		int rc = s->kind == BENCH_STREAM_SFLOW ? sflow_samples(p, len, &s->recs[i]) :
			 nf_records(p, len, s->kind == BENCH_STREAM_IPFIX, t, &s->recs[i], &s->up_end,
				    &s->init_at[i]);
		bad += rc != 0;
		s->records += s->recs[i];
		s->bytes += len;
	}
	free(t);
	return bad ? -1 : 0;
}

/* v9: each header's uptime moves by up_end, so the stream's newest record
 * ends at its datagram's export time (see the top); the sender writes
 * that time. */
static void
retime_nf9(struct bench_stream *s)
{
	for (unsigned int i = 0; i < s->n; i++) {
		uint8_t *p = s->iov[i].iov_base;
		uint32_t up = htonl(rd32(p + 4) + s->up_end);
		memcpy(p + 4, &up, 4);
	}
}

static int
load(struct bench_stream *s, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 3) {
		fclose(f);
		return -1;
	}
	s->data = malloc((size_t)st.st_size);
	if (!s->data || fread(s->data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		return -1;
	}
	fclose(f);
	size_t len = (size_t)st.st_size, cap = 0;
	s->n = 0;
	for (size_t off = 0; off + 2 <= len;) {
		uint16_t l = rd16(s->data + off);
		if (!l || off + 2 + l > len)
			return -1;
		if (s->n == cap) {
			cap = cap ? cap * 2 : 4096;
			struct iovec *ni = realloc(s->iov, cap * sizeof(*ni));
			uint32_t *nr = realloc(s->recs, cap * sizeof(*nr));
			uint32_t *na = realloc(s->init_at, cap * sizeof(*na));
			if (ni)
				s->iov = ni;
			if (nr)
				s->recs = nr;
			if (na)
				s->init_at = na;
			if (!ni || !nr || !na)
				return -1;
		}
		s->iov[s->n].iov_base = s->data + off + 2;
		s->iov[s->n].iov_len = l;
		s->n++;
		off += 2u + l;
	}
	if (!s->n || count_records(s) != 0)
		return -1;
	if (s->kind == BENCH_STREAM_NF9 && !bench.as_caught)
		retime_nf9(s);
	return 0;
}

/* The first n frames of the capture, for pmacctd. */
static int
slice_pcap(const char *in, const char *out, unsigned int n)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(in, err);
	if (!p)
		return -1;
	pcap_dumper_t *d = pcap_dump_open(p, out);
	if (!d) {
		pcap_close(p);
		return -1;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	unsigned int k = 0;
	while (k < n && pcap_next_ex(p, &h, &data) == 1) {
		pcap_dump((u_char *)d, h, data);
		k++;
	}
	pcap_dump_close(d);
	pcap_close(p);
	return k == n ? 0 : -1;
}

int
bench_pcap_slice(const char *out, unsigned int frames)
{
	struct stat st;
	if (stat(out, &st) == 0 && st.st_size > 0)
		return 0;
	char tmp[1300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if (slice_pcap(bench.pcap, tmp, frames) != 0 || rename(tmp, out) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Run the exporter (argv, with "%PORT%" replaced) and keep every datagram
 * it sends to our socket until it has exited and 1 s has passed quietly;
 * at most 120 s. Written to path. */
static int
catch_stream(const char *path, char *const argv_in[], const char *log)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int buf = 64 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		close(fd);
		return -1;
	}
	char port[8], target[32], *argv[24];
	snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
	snprintf(target, sizeof(target), "127.0.0.1:%u", ntohs(a.sin_port));
	unsigned int k = 0;
	for (; argv_in[k] && k < 23; k++)
		argv[k] = !strcmp(argv_in[k], "%PORT%") ? port : !strcmp(argv_in[k], "%TARGET%") ? target : argv_in[k];
	argv[k] = NULL;

	char tmp[1300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *out = fopen(tmp, "wb");
	if (!out) {
		close(fd);
		return -1;
	}
	pid_t pid = bench_spawn(argv, log);
	static uint8_t dg[65536];
	unsigned long n = 0;
	double t0 = bench_now_s(), exited = 0;
	while (bench_now_s() - t0 < 120) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) > 0) {
			ssize_t l = recv(fd, dg, sizeof(dg), 0);
			if (l > 0 && l < 65536) {
				uint8_t h[2] = {(uint8_t)(l >> 8), (uint8_t)l};
				fwrite(h, 1, 2, out);
				fwrite(dg, 1, (size_t)l, out);
				n++;
			}
			continue;
		}
		if (!exited && !bench_alive(pid))
			exited = bench_now_s();
		if (exited && bench_now_s() - exited > 1.0)
			break;
	}
	if (bench_alive(pid))
		bench_stop(pid, SIGKILL, 5);
	close(fd);
	if (fclose(out) != 0 || !n || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static const char *const kind_names[] = {"nf9", "ipfix", "sflow"};
static const char *const kind_src[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};

int
bench_stream_load(struct bench_stream *s, enum bench_stream_kind kind)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->name = kind_names[kind];
	s->src = kind_src[kind];
	char path[1300], log[1300];
	snprintf(path, sizeof(path), "%s/export-%s.dgrams", bench.cache_dir, s->name);
	struct stat st;
	if (stat(path, &st) != 0 || st.st_size == 0) {
		snprintf(log, sizeof(log), "%s/make-%s.log", bench_workdir(), s->name);
		bench_progress("  export: making the %s stream (once; kept in %s)", s->name, bench.cache_dir);
		int rc;
		if (kind == BENCH_STREAM_SFLOW) {
			char slice[1300], conf[1300];
			snprintf(slice, sizeof(slice), "%s/first-100k.pcap", bench.cache_dir);
			if (bench_pcap_slice(slice, SFLOW_SLICE_FRAMES) != 0)
				return -1;
			/* the port is only known once our socket is bound: the
			 * configuration is written by a shell around pmacctd */
			snprintf(conf, sizeof(conf),
				 "printf 'daemonize: false\\npcap_savefile: %s\\npcap_savefile_wait: false\\n"
				 "plugins: sfprobe\\nsfprobe_receiver: 127.0.0.1:%%s\\nsfprobe_agentip: 127.0.0.1\\n"
				 "sampling_rate: 1\\n' \"$1\" > '%s/sfprobe.conf' && exec pmacctd -f '%s/sfprobe.conf'",
				 slice, bench_workdir(), bench_workdir());
			char *argv[] = {"/bin/sh", "-c", conf, "sh", "%PORT%", NULL};
			rc = catch_stream(path, argv, log);
		} else {
			char *argv[] = {"softflowd", "-r", bench.pcap, "-n", "%TARGET%", "-v",
					kind == BENCH_STREAM_NF9 ? "9" : "10", NULL};
			rc = catch_stream(path, argv, log);
		}
		if (rc != 0)
			return -1;
	}
	if (load(s, path) != 0) {
		bench_stream_free(s);
		return -1;
	}
	return 0;
}

void
bench_stream_free(struct bench_stream *s)
{
	free(s->data);
	free(s->iov);
	free(s->recs);
	free(s->init_at);
	s->data = NULL;
	s->iov = NULL;
	s->recs = NULL;
	s->init_at = NULL;
}
