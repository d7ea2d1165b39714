/* replay.c -- run a libFuzzer target without libFuzzer.
 *
 * Built into each fuzz target when the build is not a clang fuzz build, so
 * that `meson test --suite fuzz` exercises every target on every run: each
 * file of the corpus directories (or single files) given on the command
 * line goes through LLVMFuzzerTestOneInput as is, then as
 * WEIR_REPLAY_MUTATIONS (default 2000) cheap mutations of it: bit flips,
 * truncations, byte runs, 16- and 32-bit length-field smashes. Every input,
 * the original included, is handed over in a heap block of exactly its size,
 * so that a sanitizer build turns any read past the end into a crash. Inputs
 * longer than 64 KiB are cut there, as scripts/fuzz.sh's -max_len does.
 *
 * Reproducible: files run in name order, and each file's mutations come
 * from a seed made of its name alone, so `fuzz_NAME FILE` repeats exactly
 * what the suite did with FILE (the targets that keep exporter state across
 * inputs may need the whole directory, in the same order, to repeat it).
 * When an input crashes (abort, a signal, or a sanitizer report) it is
 * written to replay-crash-FILE-mN in the working directory and the command
 * to rerun it is printed. At the end one line gives the numbers: inputs,
 * mutations each, executions, seconds, executions per second. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* in the sanitizer runtimes only; NULL in a plain build */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define REPLAY_MAX_INPUT 65536

static uint64_t rng;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* FNV-1a of the file's base name, mixed into a fixed seed; never 0 */
static void
seed_for(const char *path)
{
	const char *base = strrchr(path, '/');
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = base ? base + 1 : path; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	rng = (h ^ 0x9e3779b97f4a7c15ull) | 1;
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

/* The input being run, for the crash handlers. */
static struct {
	const char *path;
	long mutation;		/* -1: the file as is */
	const uint8_t *data;
	size_t len;
} cur;

static void
say(const char *s)
{
	ssize_t r = write(2, s, strlen(s));
	(void)r;
}

/* Async-signal-safe enough: only open/write/close and fixed buffers. */
static void
save_crash(void)
{
	static char name[512], msg[1536];
	static int done;
	if (done || !cur.path)
		return;
	done = 1;
	const char *base = strrchr(cur.path, '/');
	snprintf(name, sizeof(name), "replay-crash-%s-m%ld", base ? base + 1 : cur.path,
		 cur.mutation);
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		ssize_t r = write(fd, cur.data, cur.len);
		(void)r;
		close(fd);
	}
	char cwd[512];
	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, ".");
	snprintf(msg, sizeof(msg),
		 "replay: crashed on %s, %s%ld (%zu bytes); input saved to %s/%s\n"
		 "replay: rerun it alone with WEIR_REPLAY_MUTATIONS=0 and that file as the argument\n",
		 cur.path, cur.mutation < 0 ? "unmutated" : "mutation ", cur.mutation,
		 cur.len, fd >= 0 ? cwd : "(not saved)", name);
	say(msg);
}

static void
on_signal(int sig)
{
	save_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

static uint64_t execs;

static void
run_one(const uint8_t *buf, size_t len, long mutation)
{
	/* exact-size heap copy so that ASan sees any over-read */
	uint8_t *h = malloc(len ? len : 1);
	if (!h) {
		perror("replay: malloc");
		exit(1);
	}
	memcpy(h, buf, len);
	cur.mutation = mutation;
	cur.data = h;
	cur.len = len;
	LLVMFuzzerTestOneInput(h, len);
	cur.data = NULL;
	cur.len = 0;
	free(h);
	execs++;
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
	cur.path = path;
	seed_for(path);
	run_one(orig, n, -1);
	for (unsigned int i = 0; i < mutations; i++) {
		size_t len = n;
		memcpy(buf, orig, n);
		for (unsigned int k = 1 + next() % 3; k; k--)
			mutate(buf, &len, sizeof(buf));
		run_one(buf, len, (long)i);
	}
	cur.path = NULL;
	return 0;
}

static int
no_dot(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int
main(int argc, char **argv)
{
	const char *m = getenv("WEIR_REPLAY_MUTATIONS");
	unsigned int mutations = m ? (unsigned int)strtoul(m, NULL, 10) : 2000;
	unsigned int files = 0;
	struct timespec t0, t1;

	/* A sanitizer report ends the process its own way; a plain build
	 * dies of a signal. Either way the input is saved first. */
	signal(SIGABRT, on_signal);
	if (__sanitizer_set_death_callback) {
		__sanitizer_set_death_callback(save_crash);
	} else {
		signal(SIGSEGV, on_signal);
		signal(SIGBUS, on_signal);
		signal(SIGFPE, on_signal);
		signal(SIGILL, on_signal);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
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
		struct dirent **ents;
		int ne = scandir(argv[a], &ents, no_dot, alphasort);
		if (ne < 0) {
			perror(argv[a]);
			return 1;
		}
		for (int i = 0; i < ne; i++) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[a], ents[i]->d_name);
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    run_file(p, mutations) == 0)
				files++;
			free(ents[i]);
		}
		free(ents);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("replay: %u inputs, %u mutations each, %llu executions in %.2f s (%.0f exec/s), no crash\n",
	       files, mutations, (unsigned long long)execs, secs, secs > 0 ? (double)execs / secs : 0.0);
	if (!files)
		fprintf(stderr, "replay: no input found in the corpus given\n");
	return files ? 0 : 1;
}
