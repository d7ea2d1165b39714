/* check.h -- the few assertion macros the engine's unit tests use: print
 * the failing expression with its values and count it; main returns the
 * failure count so meson marks the test failed. And resident_pages(), for
 * the tests of what is faulted in when (test_mem_map, test_flow_table). */
#ifndef WEIR_TEST_CHECK_H
#define WEIR_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* Pages of [p, p + n) that are resident, by mincore(); (size_t)-1 if it
 * cannot tell. */
static inline size_t
resident_pages(void *p, size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), np = (n + pg - 1) / pg, r = 0;
	unsigned char *v = malloc(np);
	if (!v || mincore(p, n, v) != 0) {
		free(v);
		return (size_t)-1;
	}
	for (size_t i = 0; i < np; i++)
		r += v[i] & 1;
	free(v);
	return r;
}

#define CHECK_DONE() (printf("%s\n", check_failures ? "FAILED" : "ok"), check_failures ? 1 : 0)

#endif
