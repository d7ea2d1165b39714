/* test_resp.c -- the RESP command builder (drivers/redis/resp.c) against
 * hiredis' own formatter: for random commands (empty, binary and long
 * arguments, numbers at every width, negative numbers) the bytes must equal
 * what redisFormatCommandArgv makes of the same arguments as strings, and
 * numbers must read back as snprintf prints them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "../../../drivers/redis/resp.h"
#include "../engine/check.h"

static uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

/* a number of a random decimal width, 0 and UINT64_MAX included */
static uint64_t
rnd_num(void)
{
	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2: return rnd() % 10;
	default: {
		uint64_t v = rnd();
		return v >> (rnd() % 64);
	}
	}
}

int
main(void)
{
	struct weir_resp b = {0};
	static char text[64][400];
	const char *argv[64];
	size_t lens[64];

	/* the conversion alone, at every power of ten and its neighbours */
	uint64_t p = 1;
	for (int i = 0; i < 20; i++, p *= 10) {
		uint64_t vs[3] = { p - 1, p, p + 1 };
		for (int k = 0; k < 3; k++) {
			char out[20], want[24];
			char *d = weir_resp_u64_text(vs[k], out);
			snprintf(want, sizeof(want), "%" PRIu64, vs[k]);
			CHECK((size_t)(out + 20 - d) == strlen(want) && !memcmp(d, want, strlen(want)));
		}
	}

	for (int round = 0; round < 20000; round++) {
		int argc = 1 + (int)(rnd() % 40);
		weir_resp_reset(&b);
		for (int i = 0; i < argc; i++) {
			int kind = (int)(rnd() % 4);
			if (kind == 0) {
				uint64_t v = rnd_num();
				snprintf(text[i], sizeof(text[i]), "%" PRIu64, v);
				weir_resp_arg_u64(&b, v);
			} else if (kind == 1) {
				int64_t v = (int64_t)rnd_num();
				snprintf(text[i], sizeof(text[i]), "%" PRId64, v);
				weir_resp_arg_i64(&b, v);
			} else {
				/* bytes of any value, \r \n and NUL included, up to 399 */
				size_t n = kind == 2 ? rnd() % 12 : rnd() % 400;
				for (size_t k = 0; k < n; k++)
					text[i][k] = (char)(rnd() & 0xff);
				lens[i] = n;
				weir_resp_arg(&b, text[i], n);
				argv[i] = text[i];
				continue;
			}
			argv[i] = text[i];
			lens[i] = strlen(text[i]);
		}
		char *want = NULL;
		int wlen = redisFormatCommandArgv(&want, argc, argv, lens);
		const char *got;
		long glen = weir_resp_finish(&b, &got);
		CHECK(wlen > 0);
		CHECK_EQ(glen, wlen);
		if (glen == wlen && memcmp(got, want, (size_t)wlen) != 0) {
			CHECK(!"same bytes as redisFormatCommandArgv");
			round = 20000;
		}
		redisFreeCommand(want);
	}

	/* nothing added: no command */
	const char *got;
	weir_resp_reset(&b);
	CHECK(weir_resp_finish(&b, &got) < 0);
	weir_resp_free(&b);
	return CHECK_DONE();
}
