/* addrpolicy.c -- which addresses a webhook may connect to.
 *
 * A webhook URL is the one destination that names an arbitrary host, so
 * a mistyped or malicious config could turn alerts into requests against
 * this machine or its network (the engine's Redis, a cloud metadata
 * service at 169.254.169.254). By default a webhook may reach global
 * unicast addresses only: loopback, link-local (metadata included),
 * private (RFC 1918, unique-local fc00::/7, shared 100.64/10), multicast,
 * unspecified and reserved blocks are refused, and IPv4-mapped or NAT64
 * IPv6 forms are judged by the IPv4 address inside. `allow-private = yes`
 * on a destination lifts this for that destination alone.
 *
 * The check runs in libcurl's open-socket callback, on the address curl
 * is about to connect to after its own name resolution, so a name that
 * resolves to a private address is caught too. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "alertd.h"

static const char *
v4_class(uint32_t a)
{
	if ((a >> 24) == 0)
		return "this-network (0.0.0.0/8)";
	if ((a >> 24) == 127)
		return "loopback";
	if ((a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8)
		return "private (RFC 1918)";
	if ((a >> 22) == (100u << 2 | 1))	/* 100.64/10 */
		return "shared address space (100.64.0.0/10)";
	if ((a >> 16) == 0xa9fe)
		return a == 0xa9fea9fe ? "the cloud metadata address" :
					 "link-local";
	if ((a >> 8) == 0xc00000)
		return "IETF protocol assignments (192.0.0.0/24)";
	if ((a >> 17) == (0xc612 >> 1))	/* 198.18/15 */
		return "benchmarking (198.18.0.0/15)";
	if ((a >> 28) == 0xe)
		return "multicast";
	if ((a >> 28) == 0xf)
		return "reserved (240.0.0.0/4)";
	return NULL;
}

bool
alertd_addr_allowed(const struct sockaddr *sa, bool allow_private, char *why,
		    size_t whylen)
{
	const char *cls = NULL;
	char txt[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, txt, sizeof(txt));
		cls = v4_class(ntohl(s4->sin_addr.s_addr));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *b = s6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						    0xff, 0xff };
		static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
		static const uint8_t zero[16] = { 0 };

		inet_ntop(AF_INET6, &s6->sin6_addr, txt, sizeof(txt));
		if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12)) {
			uint32_t a = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
				     (uint32_t)b[14] << 8 | b[15];

			cls = v4_class(a);
		} else if (!memcmp(b, zero, 15) && b[15] == 1) {
			cls = "loopback";
		} else if (!memcmp(b, zero, 16)) {
			cls = "unspecified";
		} else if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
			cls = "link-local";
		} else if ((b[0] & 0xfe) == 0xfc) {
			cls = "unique-local (fc00::/7)";
		} else if (b[0] == 0xff) {
			cls = "multicast";
		}
	} else {
		snprintf(why, whylen, "address family %d is not IP",
			 sa->sa_family);
		return false;
	}
	if (!cls || allow_private)
		return true;
	snprintf(why, whylen, "%s is %s: refused (set allow-private = yes on "
		 "this destination to allow it)", txt, cls);
	return false;
}
