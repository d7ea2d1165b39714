/* email.c -- a note as a plain-text email, sent with libcurl's SMTP.
 *
 * smtp://HOST[:PORT] with `starttls = no | try | yes` (yes refuses to
 * send in clear), or smtps:// for TLS from the first byte; certificates
 * are verified (against `ca-file` when given, else the system's CAs)
 * unless `insecure = yes`. The message is RFC 5322 text:
 * headers built only from the config (From, To) and from the note with
 * CR, LF and other control characters removed (a name off the wire
 * cannot add a header), then a body of "field: value" lines and the
 * details as JSON. libcurl escapes a line made of a single dot. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alertd.h"

/* Printable ASCII only, for headers. */
static void
header_safe(char *dst, size_t len, const char *src)
{
	size_t k = 0;

	for (; *src && k + 1 < len; src++) {
		unsigned char c = (unsigned char)*src;

		dst[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[k] = 0;
}

/* Valid UTF-8 without control characters but newline, for the body. */
static void
body_safe(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t l = weirctl_utf8_len(p + i, n - i);

		if (l == 0) {
			fputc('?', f);
			i++;
		} else if (l == 1) {
			fputc(p[i] < 0x20 || p[i] == 0x7f ? ' ' : p[i], f);
			i++;
		} else {
			fwrite(p + i, 1, l, f);
			i += l;
		}
	}
}

char *
alertd_email_format(const struct alertd_dest *d, const struct alertd_note *n)
{
	char *buf = NULL, line[ALERTD_SUMMARY_MAX + 200];
	char subj[300], date[64], host[128];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	time_t t = (time_t)(n->ts_ms / 1000);
	struct tm tm;

	if (!f)
		return NULL;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (gethostname(host, sizeof(host)) || !host[0])
		strcpy(host, "weir-alertd");
	host[sizeof(host) - 1] = 0;
	alertd_note_line(n, line, sizeof(line));
	header_safe(subj, sizeof(subj), line);
	fprintf(f, "Date: %s\r\n", date);
	fprintf(f, "From: weir-alertd <%s>\r\n", d->from);
	fprintf(f, "To: %s\r\n", d->to);
	fprintf(f, "Subject: [weir] %s\r\n", subj);
	header_safe(line, sizeof(line), n->key);
	for (char *p = line; *p; p++)
		if (*p == ':' || *p == ' ' || *p == '<' || *p == '>' || *p == '@')
			*p = '.';
	header_safe(host, sizeof(host), host);
	fprintf(f, "Message-ID: <weir.%s.%lld@%s>\r\n", line, (long long)n->ts_ms,
		host);
	fprintf(f, "MIME-Version: 1.0\r\n");
	fprintf(f, "Content-Type: text/plain; charset=utf-8\r\n");
	fprintf(f, "Content-Transfer-Encoding: 8bit\r\n");
	fprintf(f, "X-Weir-Delivery: %s\r\n", line);
	fprintf(f, "X-Weir-Alert: %llu\r\n", (unsigned long long)n->alert_id);
	header_safe(line, sizeof(line), n->state);
	fprintf(f, "X-Weir-State: %s\r\n", line);
	fprintf(f, "\r\n");
	alertd_note_line(n, line, sizeof(line));
	body_safe(f, line);
	fprintf(f, "\r\n\r\n");
	fprintf(f, "alert:    %llu\r\n", (unsigned long long)n->alert_id);
	fprintf(f, "rule:     ");
	body_safe(f, n->rule);
	fprintf(f, " (%s)\r\nstate:    %s\r\nseverity: %s\r\nentity:   ",
		n->kind, n->state, n->severity);
	body_safe(f, n->entity);
	fprintf(f, "\r\nnode:     ");
	body_safe(f, n->node);
	fprintf(f, "\r\ncount:    %llu\r\n", (unsigned long long)n->count);
	if (n->has_value)
		fprintf(f, "value:    %g (threshold %g)\r\n", n->value, n->threshold);
	fprintf(f, "details:  ");
	body_safe(f, n->details ? n->details : "{}");
	fprintf(f, "\r\n");
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct reader {
	const char *p;
	size_t left;
};

static size_t
read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct reader *r = arg;
	size_t n = size * nmemb;

	if (n > r->left)
		n = r->left;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

enum alertd_outcome
alertd_email_send(const struct alertd_dest *d, const struct alertd_note *n,
		  char *err, size_t errlen)
{
	char *msg = alertd_email_format(d, n);
	char buf[1024], *tok[16], addr[300];
	struct curl_slist *rcpt = NULL;
	struct reader rd;
	CURL *c;
	CURLcode res;
	long code = 0;
	int nt;
	enum alertd_outcome out;

	if (!msg) {
		snprintf(err, errlen, "out of memory");
		return ALERTD_RETRY;
	}
	c = curl_easy_init();
	if (!c) {
		free(msg);
		snprintf(err, errlen, "curl_easy_init failed");
		return ALERTD_RETRY;
	}
	nt = alertd_split_list(d->to, buf, sizeof(buf), tok, 16);
	for (int i = 0; i < nt; i++) {
		snprintf(addr, sizeof(addr), "<%s>", tok[i]);
		rcpt = curl_slist_append(rcpt, addr);
	}
	snprintf(addr, sizeof(addr), "<%s>", d->from);
	rd.p = msg;
	rd.left = strlen(msg);
	curl_easy_setopt(c, CURLOPT_URL, d->smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(c, CURLOPT_USE_SSL, d->starttls == 2 ? (long)CURLUSESSL_ALL :
			 d->starttls == 1 ? (long)CURLUSESSL_TRY :
			 (long)CURLUSESSL_NONE);
	if (d->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (d->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, d->ca_file);
	if (d->user[0]) {
		curl_easy_setopt(c, CURLOPT_USERNAME, d->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, d->password);
	}
	res = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (res == CURLE_OK) {
		out = ALERTD_OK;
	} else {
		snprintf(err, errlen, "%s (SMTP %ld)", curl_easy_strerror(res), code);
		/* 5xx from the server: the message or an address is refused */
		out = code >= 500 && code < 600 ? ALERTD_FAIL :
		      res == CURLE_URL_MALFORMAT ? ALERTD_FAIL : ALERTD_RETRY;
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	free(msg);
	return out;
}
