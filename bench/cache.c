/* cache.c -- the bench's generated capture, named for the code that made it.
 *
 * Generating the mixed capture takes a while, so it is kept in the cache
 * directory, and so are the files made from it (the export streams, the
 * slices). A cached capture from an older generator would quietly measure
 * the old traffic: the file is named after an FNV-1a hash of every
 * Python file in tests/gen/, and when that name is missing, whatever the
 * cache made from another capture is deleted before the new one is
 * generated. */
#define _GNU_SOURCE
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

static uint32_t
fnv1a_file(uint32_t h, const char *path)
{
	FILE *f = fopen(path, "rb");
	int ch;
	if (!f)
		return h;
	while ((ch = getc(f)) != EOF) {
		h ^= (uint8_t)ch;
		h *= 16777619u;
	}
	fclose(f);
	return h;
}

/* glob() returns the names sorted, so the hash does not depend on order */
static uint32_t
generator_hash(void)
{
	char pat[1300];
	glob_t g;
	uint32_t h = 2166136261u;
	snprintf(pat, sizeof(pat), "%s/tests/gen/*.py", bench.source_root);
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			h = fnv1a_file(h, g.gl_pathv[i]);
		globfree(&g);
	}
	return h;
}

static void
remove_matching(const char *name_pattern)
{
	char pat[1300];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/%s", bench.cache_dir, name_pattern);
	if (glob(pat, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++)
		unlink(g.gl_pathv[i]);
	globfree(&g);
}

int
bench_cache_capture(void)
{
	struct stat st;
	snprintf(bench.pcap, sizeof(bench.pcap), "%s/mixed-1m-%08x.pcap", bench.cache_dir, generator_hash());
	if (stat(bench.pcap, &st) == 0 && st.st_size > 0)
		return 0;
	mkdir(bench.cache_dir, 0755);
	/* made from another capture (or by another generator) */
	remove_matching("mixed-1m*.pcap");
	remove_matching("first-*.pcap");
	remove_matching("export-*.dgrams");
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s/tests/gen/gen_traffic.py' --profile mixed --out '%s.tmp' "
		 ">&2 && mv '%s.tmp' '%s'", bench.source_root, bench.pcap, bench.pcap, bench.pcap);
	bench_progress("  pcap: generating %s (once; kept for later runs)", bench.pcap);
	if (system(cmd) != 0) {
		fprintf(stderr, "weir-bench: could not generate the capture: %s\n", cmd);
		return -1;
	}
	return 0;
}
