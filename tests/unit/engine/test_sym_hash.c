/* test_sym_hash.c -- the software distributor's hash (weir_sym_hash): the
 * same for both directions of a flow, and spread evenly over any worker
 * count, for IPv4 (v4-mapped addresses, whose high 12 bytes are all the
 * same) as well as IPv6. weir-bench's scale scenario found that an earlier
 * version sent every IPv4 pair to an even-numbered worker. */
#include <stdlib.h>
#include <string.h>

#include "worker.h"
#include "check.h"

#define PAIRS 20000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
next32(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Every worker of n gets between half and 1.5 times its fair share. */
static void
check_spread(int v6, unsigned int n)
{
	unsigned int got[8] = {0};
	struct weir_pkt_meta m, r;
	for (int i = 0; i < PAIRS; i++) {
		memset(&m, 0, sizeof(m));
		if (v6) {
			for (int b = 0; b < 16; b += 4) {
				uint32_t x = next32(), y = next32();
				memcpy(m.src + b, &x, 4);
				memcpy(m.dst + b, &y, 4);
			}
		} else {
			v4(m.src, next32());
			v4(m.dst, next32());
		}
		m.vlan = (uint16_t)(i % 3 ? 0 : 10 + i % 7);
		r = m;
		memcpy(r.src, m.dst, 16);
		memcpy(r.dst, m.src, 16);
		uint32_t h = weir_sym_hash(&m);
		CHECK_EQ(h, weir_sym_hash(&r));
		got[h % n]++;
	}
	for (unsigned int k = 0; k < n; k++) {
		if (got[k] < PAIRS / n / 2 || got[k] > PAIRS / n * 3 / 2) {
			fprintf(stderr, "%s, %u workers: worker %u got %u of %d pairs\n", v6 ? "IPv6" : "IPv4", n,
				k, got[k], PAIRS);
			check_failures++;
		}
	}
}

int
main(void)
{
	for (unsigned int n = 2; n <= 8; n++) {
		check_spread(0, n);
		check_spread(1, n);
	}
	return CHECK_DONE();
}
