/* proc.c -- the other processes weir-bench runs beside itself.
 *
 * The export and publish scenarios measure real daemons (weir, nfcapd,
 * sfacctd, redis-server) started here with fork/exec, each with its log in
 * the run's work directory, and stopped by their pid with a bounded wait.
 * EAL pins this process's main thread to lcore 0, and children inherit
 * that: they get every CPU back before exec, as if started from a shell.
 *
 * Also here: free port numbers, a Redis client for reading counters, the
 * kernel's view of a UDP socket (/proc/net/udp: receive queue and drops,
 * the same figures for every collector), and the socket-buffer ceiling
 * (net.core.rmem_max) raised for the length of a scenario so that peers
 * asking with SO_RCVBUF get what weir takes with SO_RCVBUFFORCE. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "bench.h"

static void
nap_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void
bench_all_cpus(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

pid_t
bench_spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		bench_all_cpus();
		setsid();
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int
bench_stop(pid_t pid, int sig, double timeout_s)
{
	int st = 0;
	if (pid <= 0)
		return -1;
	kill(pid, sig);
	double t0 = bench_now_s();
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return -1;
		if (bench_now_s() - t0 > timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -2;
		}
		nap_ms(5);
	}
}

int
bench_alive(pid_t pid)
{
	int st;
	return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

int
bench_log_has(const char *log, const char *needle)
{
	static char buf[1 << 16];
	FILE *f = fopen(log, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

int
bench_wait_log(pid_t pid, const char *log, const char *needle, double timeout_s)
{
	double t0 = bench_now_s();
	while (bench_now_s() - t0 < timeout_s) {
		if (bench_log_has(log, needle))
			return 0;
		if (!bench_alive(pid))
			return -1;
		nap_ms(10);
	}
	return -1;
}

static uint16_t
free_port(int type)
{
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	uint16_t port = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

uint16_t
bench_free_udp_port(void)
{
	return free_port(SOCK_DGRAM);
}

uint16_t
bench_free_tcp_port(void)
{
	return free_port(SOCK_STREAM);
}

/* ---- redis-server of our own ---- */

pid_t
bench_redis_start(const char *workdir, uint16_t *port)
{
	char p[8], log[1200];
	*port = bench_free_tcp_port();
	snprintf(p, sizeof(p), "%u", *port);
	snprintf(log, sizeof(log), "%s/redis-%u.log", workdir, *port);
	char *argv[] = {"redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", (char *)workdir, NULL};
	pid_t pid = bench_spawn(argv, log);
	if (pid < 0)
		return -1;
	double t0 = bench_now_s();
	while (bench_now_s() - t0 < 10) {
		redisContext *c = bench_redis_connect(*port);
		if (c) {
			redisFree(c);
			return pid;
		}
		if (!bench_alive(pid))
			break;
		nap_ms(20);
	}
	bench_stop(pid, SIGKILL, 5);
	return -1;
}

void *
bench_redis_connect(uint16_t port)
{
	/* a publish cycle of the engine under test can keep redis-server busy
	 * for seconds: wait as long as the engine itself is told to */
	struct timeval tv = {30, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	if (!c || c->err) {
		if (c)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	redisReply *r = redisCommand(c, "PING");
	int ok = r && r->type == REDIS_REPLY_STATUS;
	if (r)
		freeReplyObject(r);
	if (!ok) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* HGET key field as an integer; -1 if absent or on error. */
long long
bench_redis_hget_ll(void *ctx, const char *key, const char *field)
{
	redisReply *r = redisCommand(ctx, "HGET %s %s", key, field);
	long long v = -1;
	if (r && r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	if (r)
		freeReplyObject(r);
	return v;
}

int
bench_redis_exists(void *ctx, const char *key)
{
	redisReply *r = redisCommand(ctx, "EXISTS %s", key);
	int v = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
	if (r)
		freeReplyObject(r);
	return v;
}

void
bench_redis_free(void *ctx)
{
	if (ctx)
		redisFree(ctx);
}

/* ---- the kernel's view of a UDP socket ----
 *
 * /proc/net/udp, one line per socket:
 *   sl  local_address rem_address   st tx_queue:rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 *    0: 0100007F:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12345 2 0000... 0
 * rx_queue is the bytes the socket holds (skb truesize), drops its sk_drops. */
int
bench_udp_sock(uint16_t port, uint64_t *rx_queue, uint64_t *drops)
{
	FILE *f = fopen("/proc/net/udp", "r");
	if (!f)
		return -1;
	char line[512];
	int found = -1;
	*rx_queue = *drops = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned int sl, laddr, lport, raddr, rport, st;
		unsigned long txq, rxq;
		if (sscanf(line, " %u: %X:%X %X:%X %X %lX:%lX", &sl, &laddr, &lport, &raddr, &rport, &st, &txq,
			   &rxq) != 8 || lport != port)
			continue;
		/* the 13th field; the kernel pads each line with spaces */
		char *save, *t = strtok_r(line, " \t\n", &save);
		for (int i = 0; t && i < 12; i++)
			t = strtok_r(NULL, " \t\n", &save);
		*rx_queue += rxq;
		*drops += t ? strtoull(t, NULL, 10) : 0;
		found = 0;
	}
	fclose(f);
	return found;
}

/* ---- net.core.rmem_max ---- */

static long long rmem_saved = -1;

static long long
read_rmem_max(void)
{
	FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
	long long v = -1;
	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int
write_rmem_max(long long v)
{
	FILE *f = fopen("/proc/sys/net/core/rmem_max", "w");
	if (!f)
		return -1;
	int ok = fprintf(f, "%lld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

long long
bench_rmem_raise(long long want)
{
	long long cur = read_rmem_max();
	if (cur < 0 || cur >= want)
		return cur;
	if (write_rmem_max(want) != 0)
		return cur;
	rmem_saved = cur;
	return want;
}

void
bench_rmem_restore(void)
{
	if (rmem_saved >= 0)
		write_rmem_max(rmem_saved);
	rmem_saved = -1;
}

/* ---- the run's work directory ---- */

static char workdir[1200];

const char *
bench_workdir(void)
{
	if (!workdir[0]) {
		snprintf(workdir, sizeof(workdir), "%s/run-%d", bench.cache_dir, (int)getpid());
		mkdir(bench.cache_dir, 0755);
		mkdir(workdir, 0755);
	}
	return workdir;
}

void
bench_workdir_remove(void)
{
	if (!workdir[0])
		return;
	char cmd[1300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (system(cmd) != 0)
		fprintf(stderr, "weir-bench: could not remove %s\n", workdir);
	workdir[0] = 0;
}
