/* check.h -- the few assertion macros the engine's unit tests use: print
 * the failing expression with its values and count it; main returns the
 * failure count so meson marks the test failed. */
#ifndef WEIR_TEST_CHECK_H
#define WEIR_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond) do { if (!(cond)) { check_failures++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
	if (a_ != b_) { check_failures++; fprintf(stderr, "%s:%d: %s == %s failed: %llu != %llu\n", \
	__FILE__, __LINE__, #a, #b, a_, b_); } } while (0)
#define CHECK_DONE() (printf("%s\n", check_failures ? "FAILED" : "ok"), check_failures ? 1 : 0)

#endif
