/* hmac.c -- the webhook signature.
 *
 * X-Weir-Signature: sha256=HEX, the HMAC-SHA256 of the exact body bytes
 * under the destination's secret (the scheme GitHub uses for its
 * webhooks, so receivers have code for it). OpenSSL computes it; the unit
 * test checks it against RFC 4231's test vectors. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alertd.h"

void
alertd_hmac_sha256_hex(const char *secret, const void *body, size_t len,
		       char out[72])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;

	strcpy(out, "sha256=");
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac,
		  &mlen) || mlen != 32) {
		out[0] = 0;
		return;
	}
	for (unsigned i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[mac[i] >> 4];
		out[8 + 2 * i] = hex[mac[i] & 15];
	}
	out[71] = 0;
}
