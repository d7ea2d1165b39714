/* webhook.c -- one HTTP POST of a note.
 *
 * The body is the note as JSON, or a Slack or Discord payload (note.c).
 * Headers: Content-Type, X-Weir-Delivery (the note key, the same on every
 * retry: a receiver can drop repeats), X-Weir-State, and when the
 * destination has a secret X-Weir-Signature: sha256=HEX (hmac.c).
 *
 * Redirects are followed by hand, never by libcurl, at most MAX_HOPS of
 * them and only as the destination's `follow-redirects` allows: `no`, a
 * 3xx is a failure naming where it pointed; `same-host` (the default),
 * the new URL's host is the configured URL's host or one listed in
 * `redirect-hosts`, on the configured port or its scheme's default one
 * (HOST:PORT in the list allows another); `yes`, any host. Every hop is
 * the same signed POST (body, headers, signature), goes through the same
 * address policy and timeout.
 *
 * What the client refuses, whatever the URL: any protocol but http and
 * https (redirects included), proxies from the environment, and addresses
 * addrpolicy.c does not allow. The outcome says whether trying again may
 * help: a timeout, a refused connection, 408, 429 or a 5xx may; a 4xx, a
 * refused redirect or a refused address will not. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alertd.h"

struct sockcheck {
	const struct alertd_dest *d;
	bool refused;
	char why[256];
};

static curl_socket_t
open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct sockcheck *sc = clientp;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!alertd_addr_allowed(&a->addr, sc->d->allow_private, sc->why,
				 sizeof(sc->why))) {
		sc->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

#define MAX_HOPS 3

/* A URL's scheme, host and port (the scheme's default when none) into
 * the buffers; -1 when curl cannot parse it. */
static int
url_parts(const char *url, char *scheme, size_t sl, char *host, size_t hl,
	  char *port, size_t pl)
{
	CURLU *u = curl_url();
	char *sc = NULL, *h = NULL, *p = NULL;
	int rc = -1;

	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, &sc, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &h, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT)) {
		snprintf(scheme, sl, "%s", sc);
		snprintf(host, hl, "%s", h);
		snprintf(port, pl, "%s", p);
		rc = 0;
	}
	curl_free(sc);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

/* Whether d's policy lets its POST go on to `to` (hosts are compared
 * with the configured URL's, not the last hop's); why says why not. */
static bool
redirect_allowed(const struct alertd_dest *d, const char *to, char *why,
		 size_t wl)
{
	char s0[16], h0[256], p0[8], s1[16], h1[256], p1[8];
	char buf[512], *tok[16];
	int n;

	if (!d->follow_redirects) {
		snprintf(why, wl, "follow-redirects = no");
		return false;
	}
	if (url_parts(d->url, s0, sizeof(s0), h0, sizeof(h0), p0, sizeof(p0)) ||
	    url_parts(to, s1, sizeof(s1), h1, sizeof(h1), p1, sizeof(p1))) {
		snprintf(why, wl, "not a URL");
		return false;
	}
	if (strcasecmp(s1, "http") && strcasecmp(s1, "https")) {
		snprintf(why, wl, "scheme %s is not http or https", s1);
		return false;
	}
	if (d->follow_redirects == 2)
		return true;
	/* the port of the original, or the new scheme's default */
	bool port_ok = !strcmp(p1, p0) || !strcmp(p1, strcasecmp(s1, "https") ? "80" : "443");
	if (!strcasecmp(h1, h0) && port_ok)
		return true;
	n = d->redirect_hosts[0] ? alertd_split_list(d->redirect_hosts, buf,
						     sizeof(buf), tok, 16) : 0;
	for (int i = 0; i < n; i++) {
		char *colon = strrchr(tok[i], ':');

		if (colon && !strchr(colon, ']')) {
			*colon = 0;
			if (!strcasecmp(tok[i], h1) && !strcmp(colon + 1, p1))
				return true;
		} else if (!strcasecmp(tok[i], h1) && port_ok) {
			return true;
		}
	}
	snprintf(why, wl, "%s:%s is not %s:%s nor in redirect-hosts", h1, p1,
		 h0, p0);
	return false;
}

enum alertd_outcome
alertd_webhook_send(const struct alertd_dest *d, const struct alertd_note *n,
		    char *err, size_t errlen)
{
	struct sockcheck sc = { .d = d };
	struct curl_slist *h = NULL;
	char *body = alertd_note_render(n, d->format);
	char hdr[400], sig[72], url[1024], why[300];
	CURL *c;
	CURLcode res;
	long code = 0;
	enum alertd_outcome out;

	if (!body) {
		snprintf(err, errlen, "out of memory");
		return ALERTD_RETRY;
	}
	c = curl_easy_init();
	if (!c) {
		free(body);
		snprintf(err, errlen, "curl_easy_init failed");
		return ALERTD_RETRY;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "User-Agent: weir-alertd/" WEIR_VERSION);
	snprintf(hdr, sizeof(hdr), "X-Weir-Delivery: %s", n->key);
	h = curl_slist_append(h, hdr);
	snprintf(hdr, sizeof(hdr), "X-Weir-State: %s", n->state);
	h = curl_slist_append(h, hdr);
	if (d->secret[0]) {
		alertd_hmac_sha256_hex(d->secret, body, strlen(body), sig);
		snprintf(hdr, sizeof(hdr), "X-Weir-Signature: %s", sig);
		h = curl_slist_append(h, hdr);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &sc);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE, 1L << 20);
	snprintf(url, sizeof(url), "%s", d->url);
	for (int hop = 0;; hop++) {
		char *loc = NULL;

		curl_easy_setopt(c, CURLOPT_URL, url);
		res = curl_easy_perform(c);
		code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (res != CURLE_OK || code < 300 || code >= 400)
			break;
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
		if (!loc || strlen(loc) >= sizeof(url)) {
			snprintf(why, sizeof(why), "no usable Location");
		} else if (hop == MAX_HOPS) {
			snprintf(why, sizeof(why), "more than %d redirects",
				 MAX_HOPS);
		} else if (redirect_allowed(d, loc, why, sizeof(why))) {
			alertd_debug("%s: HTTP %ld redirect to %s followed",
				     d->name, code, loc);
			snprintf(url, sizeof(url), "%s", loc);
			continue;
		}
		snprintf(err, errlen, "HTTP %ld redirect to %s not followed (%s)",
			 code, loc ? loc : "?", why);
		break;
	}
	if (res != CURLE_OK && sc.refused) {
		snprintf(err, errlen, "%s", sc.why);
		out = ALERTD_FAIL;
	} else if (res != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(res));
		out = res == CURLE_URL_MALFORMAT ||
		      res == CURLE_UNSUPPORTED_PROTOCOL ? ALERTD_FAIL : ALERTD_RETRY;
	} else if (code >= 200 && code < 300) {
		out = ALERTD_OK;
	} else if (code >= 300 && code < 400) {
		out = ALERTD_FAIL;	/* err says which redirect and why */
	} else {
		snprintf(err, errlen, "HTTP %ld", code);
		out = code == 408 || code == 429 || code >= 500 ? ALERTD_RETRY :
								  ALERTD_FAIL;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(body);
	return out;
}
