/* syslog_out.c -- a note as an RFC 5424 syslog message.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ELEMENT] MSG
 *   <130>1 2026-11-27T00:00:01.234Z gw weir-alertd 4242 engaged
 *     [weir@32473 id="7" rule="iot-to-servers" kind="boundary"
 *      state="engaged" severity="critical" entity="10.0.30.5>10.0.20.53"
 *      node="local"] forbidden flow 10.0.30.5 (iot) -> ...
 *
 * PRI is facility * 8 + severity (critical 2, warning 4, info 6). The
 * SD-ID weir@32473 uses the private enterprise number RFC 5612 reserves
 * for documentation; a site with its own number can filter on the name.
 * SD-PARAM values escape '"', '\' and ']' (RFC 5424 6.3.3); MSG has its
 * control characters replaced, so one alert is always one line.
 *
 * Transports: UDP (RFC 5426, one datagram, cut at 2048 octets), TCP with
 * octet-counting framing (RFC 6587 3.4.1: "LEN SP MSG"), or the local
 * socket (/dev/log, datagrams). One connection per message: alerts are
 * rare, and a broken connection must not eat the next one. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alertd.h"

#define SYSLOG_MAX 2048

static int
sev_code(const char *s)
{
	return !strcmp(s, "critical") ? 2 : !strcmp(s, "warning") ? 4 : 6;
}

/* Appends an SD-PARAM value, escaped. */
static size_t
put_param(char *buf, size_t len, size_t at, const char *name, const char *v)
{
	int w = snprintf(buf + at, at < len ? len - at : 0, " %s=\"", name);

	if (w < 0)
		return at;
	at += (size_t)w;
	for (; *v && at + 3 < len; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\' || c == ']')
			buf[at++] = '\\';
		buf[at++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (at + 1 < len)
		buf[at++] = '"';
	buf[at < len ? at : len - 1] = 0;
	return at;
}

size_t
alertd_syslog_format(const struct alertd_dest *d, const struct alertd_note *n,
		     char *buf, size_t len)
{
	char ts[40], host[256], idbuf[32];
	time_t t = (time_t)(n->ts_ms / 1000);
	struct tm tm;
	size_t at;
	int w;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03dZ",
		 (int)(n->ts_ms % 1000));
	if (d->hostname[0])
		snprintf(host, sizeof(host), "%s", d->hostname);
	else if (gethostname(host, sizeof(host)) || !host[0])
		strcpy(host, "-");
	host[sizeof(host) - 1] = 0;
	for (char *p = host; *p; p++)
		if (*p < 33 || *p > 126)
			*p = '_';
	w = snprintf(buf, len, "<%d>1 %s %s %s %d %s [weir@32473",
		     d->facility * 8 + sev_code(n->severity), ts, host,
		     d->app_name, (int)getpid(), n->state[0] ? n->state : "-");
	if (w < 0 || (size_t)w >= len)
		return 0;
	at = (size_t)w;
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)n->alert_id);
	at = put_param(buf, len, at, "id", idbuf);
	at = put_param(buf, len, at, "rule", n->rule);
	at = put_param(buf, len, at, "kind", n->kind);
	at = put_param(buf, len, at, "state", n->state);
	at = put_param(buf, len, at, "severity", n->severity);
	at = put_param(buf, len, at, "entity", n->entity);
	at = put_param(buf, len, at, "node", n->node);
	if (at + 2 >= len)
		return 0;
	buf[at++] = ']';
	buf[at++] = ' ';
	for (const char *p = n->summary; *p && at + 1 < len; p++) {
		unsigned char c = (unsigned char)*p;

		buf[at++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	buf[at] = 0;
	return at;
}

static int
wait_fd(int fd, short ev, int64_t timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do {
		r = poll(&p, 1, (int)timeout_ms);
	} while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

static int
connect_timeout(int fd, const struct sockaddr *sa, socklen_t sl, int64_t tmo)
{
	int err = 0;
	socklen_t el = sizeof(err);

	if (connect(fd, sa, sl) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	if (wait_fd(fd, POLLOUT, tmo)) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		errno = err ? err : EIO;
		return -1;
	}
	return 0;
}

static int
send_all(int fd, const char *p, size_t n, int64_t tmo)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(fd, POLLOUT, tmo)) {
				errno = ETIMEDOUT;
				return -1;
			}
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

enum alertd_outcome
alertd_syslog_send(const struct alertd_dest *d, const struct alertd_note *n,
		   char *err, size_t errlen)
{
	char msg[SYSLOG_MAX + 1], frame[SYSLOG_MAX + 16];
	size_t len = alertd_syslog_format(d, n, msg, sizeof(msg));
	struct addrinfo hints = { 0 }, *ai = NULL, *a;
	int fd = -1, gai;
	enum alertd_outcome out = ALERTD_RETRY;

	if (!len) {
		snprintf(err, errlen, "message could not be formatted");
		return ALERTD_FAIL;
	}
	if (d->transport == ALERTD_SL_UNIX) {
		struct sockaddr_un un = { .sun_family = AF_UNIX };

		if (strlen(d->path) >= sizeof(un.sun_path)) {
			snprintf(err, errlen, "socket path too long");
			return ALERTD_FAIL;
		}
		strcpy(un.sun_path, d->path);
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof(un)) ||
		    send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
			snprintf(err, errlen, "%s: %s", d->path, strerror(errno));
			goto out;
		}
		out = ALERTD_OK;
		goto out;
	}
	hints.ai_socktype = d->transport == ALERTD_SL_UDP ? SOCK_DGRAM : SOCK_STREAM;
	gai = getaddrinfo(d->host, d->port, &hints, &ai);
	if (gai) {
		snprintf(err, errlen, "%s: %s", d->host, gai_strerror(gai));
		return ALERTD_RETRY;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0)
			continue;
		if (d->transport == ALERTD_SL_UDP) {
			if (sendto(fd, msg, len, 0, a->ai_addr, a->ai_addrlen) ==
			    (ssize_t)len) {
				out = ALERTD_OK;
				break;
			}
		} else if (!connect_timeout(fd, a->ai_addr, a->ai_addrlen,
					    d->timeout_ms)) {
			int fl = snprintf(frame, sizeof(frame), "%zu %s", len, msg);

			if (fl > 0 && !send_all(fd, frame, (size_t)fl,
						d->timeout_ms)) {
				out = ALERTD_OK;
				break;
			}
		}
		snprintf(err, errlen, "%s:%s: %s", d->host, d->port,
			 strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
out:
	if (fd >= 0)
		close(fd);
	return out;
}
