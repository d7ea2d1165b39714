/* webhook.c -- one HTTP POST of a note.
 *
 * The body is the note as JSON, or a Slack or Discord payload (note.c).
 * Headers: Content-Type, X-Weir-Delivery (the note key, the same on every
 * retry: a receiver can drop repeats), X-Weir-State, and when the
 * destination has a secret X-Weir-Signature: sha256=HEX (hmac.c).
 *
 * What the client refuses, whatever the URL: redirects (never followed;
 * a 3xx is a failure naming where it pointed), any protocol but http and
 * https, proxies from the environment, and addresses addrpolicy.c does
 * not allow. Timeouts bound every attempt. The outcome says whether
 * trying again may help: a timeout, a refused connection, 408, 429 or a
 * 5xx may; a 4xx, a redirect or a refused address will not. */
#include <stdlib.h>
#include <string.h>
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

enum alertd_outcome
alertd_webhook_send(const struct alertd_dest *d, const struct alertd_note *n,
		    char *err, size_t errlen)
{
	struct sockcheck sc = { .d = d };
	struct curl_slist *h = NULL;
	char *body = alertd_note_render(n, d->format);
	char hdr[400], sig[72];
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
	curl_easy_setopt(c, CURLOPT_URL, d->url);
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
	res = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
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
		char *loc = NULL;

		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
		snprintf(err, errlen, "HTTP %ld redirect to %s not followed "
			 "(redirects are refused)", code, loc ? loc : "?");
		out = ALERTD_FAIL;
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
