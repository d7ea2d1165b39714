/* export_peers.c -- the collectors the export scenario measures, each run
 * the way its users run it, each counting what it took in its own way:
 *
 * weir     `weir --collect udp://127.0.0.1:PORT --redis ... -q`, one engine
 *          for the whole scenario with a redis-server of its own. Per step:
 *          what its socket did not drop, less what it counts as dropped
 *          itself (health hash, docs/redis-keys.md: collect_ring_full,
 *          collect_too_big, xflow_errors, and flow_ring_drops, flow
 *          updates the control thread never saw; see below for their lag; not
 *          collect_no_mbuf, whose datagram stays in the socket and is a
 *          kernel drop if it is ever lost). Its socket: 32 MiB asked with
 *          SO_RCVBUFFORCE (drivers/udp/udp_collector.c).
 * nfcapd   `nfcapd -b 127.0.0.1 -p PORT -w DIR -t 3600 -B 33554432`
 *          (nfdump 1.7), started for each step and stopped with SIGTERM
 *          after it: the "Flows: N" of the stat record it prints on exit
 *          (nfdump -I on its file says the same) is the records it stored.
 * sfacctd  pmacct 1.7, plugin print (CSV, aggregate src_host, dst_host,
 *          src_port, dst_port, proto: a flow table like weir's),
 *          sfacctd_pipe_size 33554432; started for each step and stopped
 *          with SIGINT, on which it purges its cache: the sum of the
 *          PACKETS column is the samples it accounted (one packet per
 *          sample at sampling rate 1, no renormalisation).
 * nfacctd  pmacct 1.7 for NetFlow v9 and IPFIX, run as sfacctd is (same
 *          plugin and aggregate, nfacctd_pipe_size 33554432) with the
 *          primitive `flows` added: the sum of the FLOWS column is the
 *          flow records it accounted.
 *
 * For all three the kernel's drops on the collector's socket come from
 * /proc/net/udp, and the step is over once that socket's queue is empty
 * (settle_s), before a peer is stopped. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "export.h"

#ifndef WEIR_BUILD_ROOT
#define WEIR_BUILD_ROOT "."
#endif

#define PEER_RCVBUF BENCH_STR(BENCH_PEER_RCVBUF)
#define WEIR_NODE "bench-export"

static void
nap_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait (at most max_s) until the socket's queue is empty; seconds taken. */
static double
drain(uint16_t port, double max_s, uint64_t *drops)
{
	double t0 = bench_now_s();
	uint64_t q = 0, d = 0;
	while (bench_udp_sock(port, &q, &d) == 0 && q && bench_now_s() - t0 < max_s)
		nap_ms(1);
	*drops = d;
	return bench_now_s() - t0;
}

/* The socket's receive buffer as the kernel set it (ss -uamn: skmem rb). */
static long long
rcvbuf_of(uint16_t port)
{
	char cmd[128], line[512];
	snprintf(cmd, sizeof(cmd), "ss -uamnH 'sport = :%u' 2>/dev/null", port);
	FILE *p = popen(cmd, "r");
	long long rb = -1;
	while (p && fgets(line, sizeof(line), p)) {
		char *s = strstr(line, ",rb");
		if (s)
			rb = strtoll(s + 3, NULL, 10);
	}
	if (p)
		pclose(p);
	return rb;
}

/* ---- weir ----
 *
 * weir's counters reach Redis once per publish cycle, and a cycle takes as
 * long as writing every dirty host and flow takes: with this stream's 26k
 * hosts, seconds. So a step does not wait for them. The socket's drops
 * (/proc/net/udp) count at once; the engine's own drop counters (ring
 * full, no mbuf, too big: sampled when a cycle starts, at meta updated_ms;
 * decode errors) are logged here with that time as they appear, and
 * export.c charges each rise to a step that overlaps the interval between
 * the two samples around it (judge()). */

enum { W_DGRAMS, W_RECORDS, W_KDROPS, W_RINGFULL, W_TOOBIG, W_ERRORS, W_FLOWRING, W_CYCLE, W__N };

static uint64_t
weir_app_drops(const uint64_t v[W__N])
{
	return v[W_RINGFULL] + v[W_TOOBIG] + v[W_ERRORS] + v[W_FLOWRING];
}

/* One consistent reading (meta updated_ms the same before and after), logged. */
static int
weir_read(struct bench_collector *c, uint64_t v[W__N])
{
	static const char *const f[W__N] = {"collect_datagrams", "xflow_records", "collect_kernel_drops",
					    "collect_ring_full", "collect_too_big",
					    "xflow_errors", "flow_ring_drops", "publish_cycles"};
	static const char meta[] = "weir:{" WEIR_NODE "}:meta", health[] = "weir:{" WEIR_NODE "}:health";
	for (int attempt = 0; attempt < 4; attempt++) {
		if (!c->redis && !(c->redis = bench_redis_connect(c->redis_port)))
			return -1;
		long long t0 = bench_redis_hget_ll(c->redis, meta, "updated_ms");
		int i = 0;
		for (; t0 >= 0 && i < W__N; i++) {
			long long x = bench_redis_hget_ll(c->redis, health, f[i]);
			if (x < 0)
				break;
			v[i] = (uint64_t)x;
		}
		long long t1 = i == W__N ? bench_redis_hget_ll(c->redis, meta, "updated_ms") : -1;
		if (t1 >= 0 && t1 == t0) {
			uint64_t d = weir_app_drops(v);
			if (c->n_sam < BENCH_WEIR_SAMPLES &&
			    (!c->n_sam || c->sam_t[c->n_sam - 1] != (uint64_t)t1)) {
				c->sam_t[c->n_sam] = (uint64_t)t1;
				c->sam_d[c->n_sam++] = d;
			}
			return 0;
		}
		if (t1 >= 0)
			continue;	/* a cycle landed between the reads */
		/* absent field (before the first cycle) or a broken connection */
		bench_redis_free(c->redis);
		c->redis = NULL;
	}
	return -1;
}

/* Wait until a cycle that started at or after t_ms has been published (at
 * most max_s); 0 if one was. */
int
bench_weir_wait_sample(struct bench_collector *c, uint64_t t_ms, double max_s)
{
	uint64_t v[W__N];
	double t0 = bench_now_s();
	do {
		if (weir_read(c, v) == 0 && c->n_sam && c->sam_t[c->n_sam - 1] >= t_ms) {
			bench_progress("  export: weir published its counters in %.1f s", bench_now_s() - t0);
			return 0;
		}
		nap_ms(20);
	} while (bench_now_s() - t0 < max_s);
	return -1;
}

int
bench_weir_open(struct bench_collector *c)
{
	memset(c, 0, sizeof(*c));
	c->name = "weir";
	c->rcvbuf = -1;
	const char *wd = bench_workdir();
	c->redis_pid = bench_redis_start(wd, &c->redis_port);
	if (c->redis_pid < 0) {
		bench_note("export: redis-server did not start (is it installed?): no weir figures");
		return -1;
	}
	c->port = bench_free_udp_port();
	char collect[64], redis[64], weir[1200];
	snprintf(collect, sizeof(collect), "udp://127.0.0.1:%u", c->port);
	snprintf(redis, sizeof(redis), "redis://127.0.0.1:%u", c->redis_port);
	snprintf(weir, sizeof(weir), "%s/engine/weir", WEIR_BUILD_ROOT);
	snprintf(c->log, sizeof(c->log), "%s/weir-export.log", wd);
	/* --redis-timeout: a full publish of this stream's hosts outlasts the
	 * default 2 s, after which the engine would call Redis down and
	 * rewrite everything, for ever (see bench/README.md).
	 * --publish-interval 250: its counters come sooner after a step */
	char *argv[32] = {weir, "--collect", collect, "--redis", redis, "--node", WEIR_NODE, "--redis-timeout",
			  "30000", "--publish-interval", "250", "-q", NULL};
	/* WEIR_BENCH_ENGINE_ARGS: engine options to try in the sweep (split
	 * on spaces, e.g. "--lcores 0@(0,1),1@1"); said in a note */
	const char *extra = getenv("WEIR_BENCH_ENGINE_ARGS");
	static char extra_buf[512];
	if (extra && *extra) {
		snprintf(extra_buf, sizeof(extra_buf), "%s", extra);
		int n = 0;
		while (argv[n])
			n++;
		for (char *save = NULL, *t = strtok_r(extra_buf, " ", &save); t && n < 31;
		     t = strtok_r(NULL, " ", &save))
			argv[n++] = t;
		argv[n] = NULL;
		bench_note("export: weir runs with WEIR_BENCH_ENGINE_ARGS=\"%s\"", extra);
	}
	c->pid = bench_spawn(argv, c->log);
	double t0 = bench_now_s();
	while (c->pid > 0 && bench_now_s() - t0 < 30) {
		uint64_t v[W__N];
		if (weir_read(c, v) == 0) {
			c->rcvbuf = rcvbuf_of(c->port);
			return 0;
		}
		if (!bench_alive(c->pid))
			break;
		nap_ms(50);
	}
	bench_note("export: weir did not start publishing within 30 s (log: %s)", c->log);
	bench_collector_close(c);
	return -1;
}

static int
weir_end(struct bench_collector *c, const struct bench_stream *s, const struct bench_sent *sent,
	 struct bench_recv *r)
{
	uint64_t drops, v[W__N];
	r->settle_s = drain(c->port, 10, &drops);
	r->kernel_drops = drops - c->drops0;
	weir_read(c, v);	/* logs a sample if a cycle landed */
	r->dgrams = -1;
	/* taken: what the socket did not drop, in records at the stream's
	 * mean; its own drops are charged afterwards by export.c */
	double per = (double)s->records / (double)s->n;
	double lost = (double)r->kernel_drops * per;
	r->records = (double)sent->records > lost ? sent->records - (uint64_t)lost : 0;
	r->app_drops = 0;
	return 0;
}

/* ---- nfcapd, nfacctd, sfacctd ---- */

void
bench_peer_init(struct bench_collector *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->rcvbuf = -1;
	for (int k = 0; k < BENCH_STREAM__MAX; k++)
		c->skip_per_pass[k] = 1;
	c->calibrate = !strcmp(name, "nfacctd");
}

static int
nfcapd_begin(struct bench_collector *c)
{
	const char *wd = bench_workdir();
	c->port = bench_free_udp_port();
	snprintf(c->out, sizeof(c->out), "%s/nfcapd-%u", wd, c->step);
	mkdir(c->out, 0755);
	snprintf(c->log, sizeof(c->log), "%s/nfcapd-%u.log", wd, c->step);
	char port[8];
	snprintf(port, sizeof(port), "%u", c->port);
	char *argv[] = {"nfcapd", "-b", "127.0.0.1", "-p", port, "-w", c->out, "-t", "3600", "-B", PEER_RCVBUF, NULL};
	c->pid = bench_spawn(argv, c->log);
	if (c->pid < 0 || bench_wait_log(c->pid, c->log, "Startup", 10) != 0)
		return -1;
	return 0;
}

/* "Ident: 'none' Flows: 100000, Packets: 955587, ..." printed on exit */
static int
nfcapd_flows(const char *log, uint64_t *flows)
{
	FILE *f = fopen(log, "r");
	char line[1024];
	int found = -1;
	while (f && fgets(line, sizeof(line), f)) {
		char *s = strstr(line, "Flows: ");
		if (s) {
			*flows = strtoull(s + 7, NULL, 10);
			found = 0;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* sfacctd or nfacctd (c->name), the same configuration but for the
 * daemon's own key prefix and, for nfacctd, the flows counter. */
static int
pmacct_begin(struct bench_collector *c)
{
	const char *wd = bench_workdir(), *d = c->name;
	int nf = !strcmp(d, "nfacctd");
	c->port = bench_free_udp_port();
	snprintf(c->out, sizeof(c->out), "%s/%s-%u.csv", wd, d, c->step);
	snprintf(c->log, sizeof(c->log), "%s/%s-%u.log", wd, d, c->step);
	char conf[1300];
	snprintf(conf, sizeof(conf), "%s/%s-%u.conf", wd, d, c->step);
	FILE *f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "daemonize: false\n"
		   "%s_ip: 127.0.0.1\n"
		   "%s_port: %u\n"
		   "%s_pipe_size: " PEER_RCVBUF "\n"
		   "plugins: print\n"
		   "aggregate: src_host, dst_host, src_port, dst_port, proto%s\n"
		   "print_output: csv\n"
		   "print_output_file: %s\n"
		   "print_output_file_append: true\n"
		   "print_refresh_time: 3600\n"
		   "plugin_pipe_size: 4194304\n"
		   "plugin_buffer_size: 65536\n",
		d, d, c->port, d, nf ? ", flows" : "", c->out);
	fclose(f);
	char *argv[] = {(char *)d, "-f", conf, NULL};
	c->pid = bench_spawn(argv, c->log);
	if (c->pid < 0 ||
	    bench_wait_log(c->pid, c->log, nf ? "waiting for NetFlow/IPFIX data" : "waiting for sFlow data", 10) != 0)
		return -1;
	return 0;
}

/* CPU time (clock ticks) of pid's child processes: pmacct's plugins. */
static uint64_t
children_cpu(pid_t pid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	uint64_t sum = 0;
	while (d && (e = readdir(d))) {
		char path[300], buf[1024];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		char *p = strrchr(buf, ')');	/* after "pid (comm" */
		int ppid;
		unsigned long long ut, st;
		if (p && sscanf(p + 2, "%*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &ppid, &ut, &st) == 3 &&
		    ppid == pid)
			sum += ut + st;
	}
	if (d)
		closedir(d);
	return sum;
}

/* pmacct's core process reads the socket and hands buffers to the plugin
 * through a pipe (plugin_pipe_size): an empty socket does not mean the
 * plugin is done, and what is still in the pipe at SIGINT is lost. Wait (at
 * most max_s) until the plugin's CPU time has stood still for 100 ms, as
 * the other collectors get until their socket is empty. */
static double
pmacct_settle(pid_t pid, double max_s)
{
	double t0 = bench_now_s(), still = t0;
	uint64_t last = children_cpu(pid);
	nap_ms(20);
	while (bench_now_s() - t0 < max_s) {
		uint64_t now = children_cpu(pid);
		if (now != last) {
			last = now;
			still = bench_now_s();
		} else if (bench_now_s() - still >= 0.1) {
			break;
		}
		nap_ms(20);
	}
	return bench_now_s() - t0;
}

/* Sum of one column (PACKETS, FLOWS) of the print plugin's CSV. */
static int
pmacct_count(const char *csv, const char *column, uint64_t *samples)
{
	FILE *f = fopen(csv, "r");
	if (!f)
		return -1;
	char line[1024];
	int col = -1;
	*samples = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "SRC_IP", 6)) {
			col = 0;
			for (char *t = strtok(line, ",\n"); t && strcmp(t, column); t = strtok(NULL, ",\n"))
				col++;
			continue;
		}
		if (col < 0)
			continue;
		char *t = strtok(line, ",\n");
		for (int i = 0; t && i < col; i++)
			t = strtok(NULL, ",\n");
		if (t)
			*samples += strtoull(t, NULL, 10);
	}
	fclose(f);
	return col >= 0 ? 0 : -1;
}

/* ---- the common interface ---- */

int
bench_collector_begin(struct bench_collector *c, const struct bench_stream *s)
{
	c->step++;
	if (strcmp(c->name, "weir")) {
		int rc = !strcmp(c->name, "nfcapd") ? nfcapd_begin(c) : pmacct_begin(c);
		if (rc != 0) {
			bench_note("export: %s did not start (log: %s)", c->name, c->log);
			bench_stop(c->pid, SIGKILL, 5);
			c->pid = 0;
			return -1;
		}
		if (c->rcvbuf < 0)
			c->rcvbuf = rcvbuf_of(c->port);
	}
	uint64_t q;
	if (bench_udp_sock(c->port, &q, &c->drops0) != 0)
		return -1;
	return 0;
}

int
bench_collector_end(struct bench_collector *c, const struct bench_stream *s, const struct bench_sent *sent,
		    struct bench_recv *r)
{
	memset(r, 0, sizeof(*r));
	if (!strcmp(c->name, "weir"))
		return weir_end(c, s, sent, r);

	uint64_t drops;
	r->settle_s = drain(c->port, 10, &drops);
	r->kernel_drops = drops - c->drops0;
	r->dgrams = -1;
	r->app_drops = -1;
	int rc;
	if (!strcmp(c->name, "nfcapd")) {
		rc = bench_stop(c->pid, SIGTERM, 30);
		rc = rc == 0 ? nfcapd_flows(c->log, &r->records) : -1;
	} else {
		r->settle_s += pmacct_settle(c->pid, 10);
		rc = bench_stop(c->pid, SIGINT, 30);
		const char *col = strcmp(c->name, "nfacctd") ? "PACKETS" : "FLOWS";
		rc = rc >= 0 ? pmacct_count(c->out, col, &r->records) : -1;
		if (bench_log_has(c->log, "missing data"))
			r->app_drops = 1;	/* pmacct says its plugin pipe overflowed */
	}
	c->pid = 0;
	if (rc != 0)
		bench_note("export: %s step %u: no count (log: %s)", c->name, c->step, c->log);
	return rc;
}

void
bench_collector_close(struct bench_collector *c)
{
	if (c->pid > 0)
		bench_stop(c->pid, strcmp(c->name, "nfcapd") ? SIGINT : SIGTERM, 30);
	c->pid = 0;
	bench_redis_free(c->redis);
	c->redis = NULL;
	if (c->redis_pid > 0)
		bench_stop(c->redis_pid, SIGTERM, 10);
	c->redis_pid = 0;
}
