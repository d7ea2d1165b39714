/* test_mem_map.c -- the worker's anonymous tables (engine/mem_map.h): a
 * populated map is resident and zero before anyone touches it, a lazy one
 * is not resident until touched, and both are offered to transparent huge
 * pages (the kernel marks the mapping THPeligible in /proc/self/smaps
 * whenever THP is not "never"). */
#include <stdlib.h>
#include <string.h>

#include "mem_map.h"
#include "check.h"

#define MAP_BYTES (16u << 20)

/* The THPeligible field of the smaps entry that holds p: 1, 0, or -1 if
 * the kernel does not print one. */
static int
thp_eligible(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, r = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && sscanf(line, "THPeligible: %d", &r) == 1)
			break;
	}
	fclose(f);
	return r;
}

/* THP's mode: "never" turns the advice into nothing. */
static int
thp_never(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char s[128] = "";
	if (!f)
		return 1;
	if (!fgets(s, sizeof(s), f))
		s[0] = 0;
	fclose(f);
	return strstr(s, "[never]") != NULL;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 4093)
		if (p[i])
			return 0;
	return p[n - 1] == 0;
}

/* MAP_BYTES mapped as touch says, checked to be offered to THP. */
static uint8_t *
map_advised(enum weir_mem_touch touch)
{
	uint8_t *p = weir_mem_map(MAP_BYTES, touch);
	CHECK(p != NULL);
	if (p && thp_never())
		printf("THP is off here (never): the advice is not checked\n");
	else if (p)
		CHECK_EQ(thp_eligible(p), 1);
	return p;
}

static void
test_populate(void)
{
	uint8_t *p = map_advised(WEIR_MEM_POPULATE);
	if (!p)
		return;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	CHECK_EQ(resident_pages(p, MAP_BYTES), MAP_BYTES / pg);	/* before any touch */
	CHECK(all_zero(p, MAP_BYTES));
	weir_mem_unmap(p, MAP_BYTES);
}

static void
test_lazy(void)
{
	uint8_t *p = map_advised(WEIR_MEM_LAZY);
	if (!p)
		return;
	CHECK_EQ(resident_pages(p, MAP_BYTES), 0);
	p[MAP_BYTES / 2] = 1;
	CHECK(resident_pages(p, MAP_BYTES) > 0);
	CHECK(resident_pages(p, MAP_BYTES) <= (2u << 20) / (size_t)sysconf(_SC_PAGESIZE));	/* at most one huge page */
	CHECK_EQ(p[MAP_BYTES / 2 + 1], 0);
	weir_mem_unmap(p, MAP_BYTES);
}

int
main(void)
{
	test_populate();
	test_lazy();
	return CHECK_DONE();
}
