/* replay.c -- run a libFuzzer target without libFuzzer.
 *
 * Built into each fuzz target when the build is not a clang fuzz build, so
 * that `meson test --suite fuzz` exercises every target on every run: each
 * file of the corpus directories given on the command line goes through
 * LLVMFuzzerTestOneInput as is, then as a few thousand cheap mutations
 * (bit flips, truncations, byte runs, length-field smashes) from a fixed
 * seed, so a failure reproduces. A crash is the failure; sanitizer builds
 * turn over-reads into crashes. Bounded: WEIR_REPLAY_MUTATIONS (default
 * 2000) per file, at most 64 KiB per input. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT 65536

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
mutate(uint8_t *buf, size_t *len, size_t cap)
{
	size_t n = *len;
	switch (next() % 6) {
	case 0:	/* flip a few bits */
		for (int i = 0; i < 4 && n; i++)
			buf[next() % n] ^= (uint8_t)(1u << (next() % 8));
		break;
	case 1:	/* truncate */
		if (n)
			*len = next() % n;
		break;
	case 2:	/* smash a 16-bit field with an edge value */
		if (n >= 2) {
			static const uint16_t v[] = {0, 1, 3, 4, 255, 256, 0x7fff, 0xffff};
			size_t o = next() % (n - 1);
			uint16_t x = v[next() % 8];
			buf[o] = (uint8_t)(x >> 8);
			buf[o + 1] = (uint8_t)x;
		}
		break;
	case 3:	/* smash a 32-bit field */
		if (n >= 4) {
			static const uint32_t v[] = {0, 1, 0xffffffffu, 0x7fffffffu, 65536, 0x03e80000u};
			size_t o = next() % (n - 3);
			uint32_t x = v[next() % 6];
			memcpy(buf + o, &x, 4);
		}
		break;
	case 4:	/* extend with a byte run */
		if (n < cap) {
			size_t add = 1 + next() % 64;
			if (n + add > cap)
				add = cap - n;
			memset(buf + n, (int)(next() & 0xff), add);
			*len = n + add;
		}
		break;
	default: /* random byte */
		if (n)
			buf[next() % n] = (uint8_t)next();
		break;
	}
}

static int
run_file(const char *path, unsigned int mutations)
{
	static uint8_t orig[REPLAY_MAX_INPUT], buf[REPLAY_MAX_INPUT];
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t n = fread(orig, 1, sizeof(orig), f);
	fclose(f);
	LLVMFuzzerTestOneInput(orig, n);
	for (unsigned int i = 0; i < mutations; i++) {
		size_t len = n;
		memcpy(buf, orig, n);
		for (unsigned int k = 1 + next() % 3; k; k--)
			mutate(buf, &len, sizeof(buf));
		/* exact-size heap copy so ASan sees any over-read */
		uint8_t *h = malloc(len ? len : 1);
		memcpy(h, buf, len);
		LLVMFuzzerTestOneInput(h, len);
		free(h);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *m = getenv("WEIR_REPLAY_MUTATIONS");
	unsigned int mutations = m ? (unsigned int)strtoul(m, NULL, 10) : 2000;
	unsigned int files = 0;

	for (int a = 1; a < argc; a++) {
		struct stat st;
		if (stat(argv[a], &st) != 0) {
			fprintf(stderr, "replay: %s: no such corpus\n", argv[a]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[a], mutations) == 0)
				files++;
			continue;
		}
		DIR *d = opendir(argv[a]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[a], e->d_name);
			if (run_file(p, mutations) == 0)
				files++;
		}
		if (d)
			closedir(d);
	}
	printf("replay: %u inputs, %u mutations each, no crash\n", files, mutations);
	return files ? 0 : 1;
}
