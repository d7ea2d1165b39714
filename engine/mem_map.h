/* mem_map.h -- anonymous memory for the worker's fixed tables and rings.
 *
 * A page first touched on the packet path is a page fault: a trip into the
 * kernel that allocates and zeroes 4 KB, a few microseconds in a VM. For
 * memory every deployment touches whole (a flow table's hash index, whose
 * buckets are hit at random; a ring the worker writes round and round) that
 * is a cost paid on the packets, not at start, so it is mapped populated:
 * the kernel faults it all in at mmap(). Memory that fills in order and
 * only as far as traffic needs (the flow entries, the per-flow side arrays)
 * stays lazy, so a large table costs only what it holds. With huge pages
 * (EAL memory) the same holds by construction; this is the 4 KB-page case. */
#ifndef WEIR_MEM_MAP_H
#define WEIR_MEM_MAP_H

#include <stddef.h>
#include <sys/mman.h>

enum weir_mem_touch { WEIR_MEM_LAZY, WEIR_MEM_POPULATE };

/* Zeroed, page-aligned; NULL if it cannot be had. */
static inline void *
weir_mem_map(size_t bytes, enum weir_mem_touch touch)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	if (touch == WEIR_MEM_POPULATE)
		flags |= MAP_POPULATE;
	void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, flags, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static inline void
weir_mem_unmap(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes ? bytes : 1);
}

#endif
