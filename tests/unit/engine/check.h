/* check.h -- the few assertion macros the engine's unit tests use: print
 * the failing expression with its values and count it; main returns the
 * failure count so meson marks the test failed. */
#ifndef WEIR_TEST_CHECK_H
#define WEIR_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(cond) do { if (!(cond)) { check_failures++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
	if (a_ != b_) { check_failures++; fprintf(stderr, "%s:%d: %s == %s failed: %llu != %llu\n", \
	__FILE__, __LINE__, #a, #b, a_, b_); } } while (0)
/* a v4-mapped address from a host-order IPv4 number */
static inline void
v4(uint8_t a[16], uint32_t ip)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(ip >> 24);
	a[13] = (uint8_t)(ip >> 16);
	a[14] = (uint8_t)(ip >> 8);
	a[15] = (uint8_t)ip;
}

#define CHECK_DONE() (printf("%s\n", check_failures ? "FAILED" : "ok"), check_failures ? 1 : 0)

#endif
