/* mem_map.h -- anonymous memory for the worker's fixed tables and rings.
 *
 * A page first touched on the packet path is a page fault: a trip into the
 * kernel that allocates and zeroes 4 KB, a few microseconds in a VM. For
 * memory every deployment touches whole (a flow table's hash index, whose
 * buckets are hit at random; a ring the worker writes round and round) that
 * is a cost paid on the packets, not at start, so it is mapped populated:
 * the kernel faults it all in before weir_mem_map() returns. Memory that
 * fills in order and only as far as traffic needs (the flow entries, the
 * per-flow side arrays) stays lazy, so a large table costs only what it
 * holds (and what weir_flow_table_prefault() faults in ahead of it). With huge pages
 * (EAL memory) the same holds by construction; this is the 4 KB-page case.
 *
 * Both kinds are offered to transparent huge pages (MADV_HUGEPAGE: the
 * kernel's default THP mode, "madvise", backs only what asks): a table
 * hit at random over 100 MB missed the TLB on nearly every packet with 4
 * KB pages, and a 2 MB page covers 512 of them (docs/benchmarks.md,
 * "Transparent huge pages"). A table then costs up to 2 MB more than it
 * holds. Populated memory is advised first and faulted in after, so that
 * the faults can take huge pages. */
#ifndef WEIR_MEM_MAP_H
#define WEIR_MEM_MAP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

enum weir_mem_touch { WEIR_MEM_LAZY, WEIR_MEM_POPULATE };

/* Zeroed, page-aligned; NULL if it cannot be had. */
static inline void *
weir_mem_map(size_t bytes, enum weir_mem_touch touch)
{
	size_t n = bytes ? bytes : 1;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, n, MADV_HUGEPAGE);	/* advice: without THP, nothing changes */
#endif
	if (touch == WEIR_MEM_POPULATE) {
#ifdef MADV_POPULATE_WRITE
		/* out of memory: left lazy, as MAP_POPULATE would */
		if (madvise(p, n, MADV_POPULATE_WRITE) == 0 || errno != EINVAL)
			return p;
#endif
		/* before Linux 5.14 (EINVAL): a write to every page (zero:
		 * the mapping is zeroed already) */
		for (size_t off = 0; off < n; off += 4096)
			((volatile uint8_t *)p)[off] = 0;
	}
	return p;
}

static inline void
weir_mem_unmap(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
}

#endif
