/* test_rdns.c -- engine/rdns.c's cache stays within its size and keeps
 * resolving: with room for 4 names, 10 addresses are all asked (the least
 * recently used make room, counted as cache_full while still valid), an
 * evicted address is asked again, a cached one is not, and expired entries
 * make room without being counted. The resolver is pointed (resolve-server)
 * at a loopback port nobody listens on, so every answer is a quick
 * failure and the names are "" -- what is tested is the cache. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rdns.h"
#include "check.h"

static int
closed_udp_port(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	bind(s, (struct sockaddr *)&a, sizeof(a));
	getsockname(s, (struct sockaddr *)&a, &len);
	close(s);
	return ntohs(a.sin_port);
}

/* Poll until nothing is pending (at most 5 s). */
static void
settle(struct weir_rdns *r)
{
	for (int i = 0; i < 500 && weir_rdns_pending(r); i++) {
		weir_rdns_poll(r);
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
}

int
main(void)
{
	char server[64];
	snprintf(server, sizeof(server), "127.0.0.1:%d", closed_udp_port());
	struct weir_rdns *r = weir_rdns_new(WEIR_RDNS_ALL, 1000, 10, server, 4);
	struct weir_rdns_stats st;
	uint8_t a[16];
	uint64_t now = 1000000;

	/* one at a time, each answered before the next: 6 valid names evicted */
	for (uint32_t i = 0; i < 10; i++) {
		v4(a, 0xc0000200 + i);	/* 192.0.2.i */
		CHECK(weir_rdns_name(r, a, 1, now) == NULL);	/* asked, not known yet */
		settle(r);
	}
	weir_rdns_stats(r, &st);
	CHECK_EQ(st.queries, 10);
	CHECK_EQ(st.failures, 10);
	CHECK_EQ(st.cached, 4);
	CHECK_EQ(st.cache_full, 6);
	CHECK_EQ(weir_rdns_pending(r), 0);

	/* a cached address: its (empty) name, no query */
	v4(a, 0xc0000209);
	const char *n = weir_rdns_name(r, a, 1, now + 100);
	CHECK(n && !n[0]);
	/* an evicted one: asked again, and the least recently used goes */
	v4(a, 0xc0000200);
	CHECK(weir_rdns_name(r, a, 1, now + 100) == NULL);
	settle(r);
	weir_rdns_stats(r, &st);
	CHECK_EQ(st.queries, 11);
	CHECK_EQ(st.cache_full, 7);
	CHECK_EQ(st.cached, 4);
	/* 192.0.2.9 was used last but one: still there */
	v4(a, 0xc0000209);
	n = weir_rdns_name(r, a, 1, now + 200);
	CHECK(n && !n[0]);

	/* past the TTL (10 s): new addresses take the room of expired names,
	 * which is no loss */
	for (uint32_t i = 0; i < 4; i++) {
		v4(a, 0xc0000240 + i);
		weir_rdns_name(r, a, 1, now + 11000);
		settle(r);
	}
	weir_rdns_stats(r, &st);
	CHECK_EQ(st.queries, 15);
	CHECK_EQ(st.cache_full, 7);
	CHECK_EQ(st.cached, 4);

	/* many at once, all pending: evicting a pending one keeps the count right */
	for (uint32_t i = 0; i < 8; i++) {
		v4(a, 0xc0000280 + i);
		weir_rdns_name(r, a, 1, now + 12000);
	}
	CHECK_EQ(weir_rdns_pending(r), 4);
	settle(r);
	CHECK_EQ(weir_rdns_pending(r), 0);
	weir_rdns_stats(r, &st);
	CHECK_EQ(st.cached, 4);
	weir_rdns_free(r);

	/* a server list c-ares cannot read: no resolving, no crash */
	r = weir_rdns_new(WEIR_RDNS_ALL, 1000, 10, "not an address", 4);
	v4(a, 0xc0000201);
	CHECK(weir_rdns_name(r, a, 1, now) == NULL);
	weir_rdns_stats(r, &st);
	CHECK_EQ(st.queries, 0);
	weir_rdns_free(r);
	return CHECK_DONE();
}
