/* fuzz_parser.c -- libFuzzer target for the packet parser.
 *
 * Every input goes through weir_parse_frame and weir_parse_ip, with GRE and
 * VXLAN decapsulation off and on, from a heap copy of exactly the input's
 * size, so that ASan turns any read past the end into a crash. For an OK
 * result the offsets must describe bytes inside the buffer; a broken
 * invariant aborts, and so does weir_parse_frame's fast path answering
 * other than the general walk (weir_parse_frame_general). Seeds in corpus/parser/ are raw Ethernet frames written
 * by tests/unit/parse/gen_frames.py --corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_parser: invariant broken: %s\n", #c); \
		abort();						\
	}								\
} while (0)

static void
check(const struct weir_parse_cfg *cfg, enum weir_parse_result r,
      const struct weir_pkt_meta *m, size_t len)
{
	uint32_t cap = len > 0xffff ? 0xffff : (uint32_t)len;

	REQUIRE(r >= 0 && r < WEIR_PARSE__MAX);
	if (r != WEIR_PARSE_OK)
		return;
	REQUIRE((uint32_t)m->l3_off + m->l3_len <= cap);
	REQUIRE(m->l3_len >= 20);
	if (m->flags & WEIR_PKT_L4) {
		REQUIRE(m->l4_off > m->l3_off);
		REQUIRE(m->payload_off >= m->l4_off);
		REQUIRE((uint32_t)m->payload_off + m->payload_len ==
			(uint32_t)m->l3_off + m->l3_len);
		REQUIRE(!(m->flags & WEIR_PKT_FRAG_LATER));
	} else {
		REQUIRE(m->l4_off == 0 && m->payload_off == 0 && m->payload_len == 0);
		REQUIRE(m->sport == 0 && m->dport == 0 && m->tcp_flags == 0);
	}
	if (m->flags & WEIR_PKT_FRAG_LATER)
		REQUIRE(m->flags & WEIR_PKT_FRAG);
	if (!(m->flags & WEIR_PKT_FRAG))
		REQUIRE(m->frag_id == 0);
	if (m->flags & WEIR_PKT_TUNNEL)
		REQUIRE(cfg->decap_gre || cfg->decap_vxlan);
	if (m->flags & WEIR_PKT_IPV6)
		REQUIRE(m->l3_len >= 40);
	else
		REQUIRE(weir_addr_is_v4(m->src) && weir_addr_is_v4(m->dst));
	REQUIRE(m->vlan < 4096 && m->vlan_inner < 4096);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct weir_parse_cfg cfg[2];
	static int init;
	struct weir_pkt_meta m, m2;

	if (!init) {
		weir_parse_cfg_default(&cfg[0]);
		weir_parse_cfg_default(&cfg[1]);
		cfg[1].decap_gre = cfg[1].decap_vxlan = 1;
		init = 1;
	}
	if (size > UINT32_MAX)
		return 0;
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return 0;
	memcpy(p, data, size);
	for (int i = 0; i < 2; i++) {
		enum weir_parse_result r = weir_parse_frame(&cfg[i], p, (uint32_t)size, &m);
		check(&cfg[i], r, &m, size);
		/* same bytes, same answer: no hidden state */
		enum weir_parse_result r2 = weir_parse_frame(&cfg[i], p, (uint32_t)size, &m2);
		REQUIRE(r == r2);
		if (r == WEIR_PARSE_OK)
			REQUIRE(memcmp(&m, &m2, sizeof(m)) == 0);
		/* the fast path (common frames) gives what the general walk gives */
		r2 = weir_parse_frame_general(&cfg[i], p, (uint32_t)size, &m2);
		REQUIRE(r == r2);
		if (r == WEIR_PARSE_OK)
			REQUIRE(memcmp(&m, &m2, sizeof(m)) == 0);
		r = weir_parse_ip(&cfg[i], p, (uint32_t)size, &m);
		check(&cfg[i], r, &m, size);
	}
	free(p);
	return 0;
}
