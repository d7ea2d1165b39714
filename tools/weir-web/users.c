/* users.c -- who may log in: the users file and its crypt(3) hashes.
 *
 * The file holds one `name:HASH` line per user (blank lines and lines
 * starting with '#' are skipped). HASH is a crypt(3) string from libxcrypt:
 * yescrypt (`$y$`, Debian's default for /etc/shadow) or SHA-512 (`$6$`);
 * nothing weaker is accepted. It is read at start-up and again on SIGHUP
 * (a reset password works without a restart; a file that does not load
 * keeps the users already loaded), and never written by the server;
 * `weir-web --add-user` writes it (umask 077, through a temporary file
 * renamed over the old one, creating a missing directory with mode 0700).
 * There is no default user and no default password. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web.h"

#define MAX_USERS 256
#define HASH_MAX 256

struct user {
	char name[33];
	char hash[HASH_MAX];
};

/* The loaded users, swapped whole by a reload under the lock. */
static struct user users[MAX_USERS], loading[MAX_USERS];
static int n_users;
static pthread_rwlock_t users_lock = PTHREAD_RWLOCK_INITIALIZER;

/* A yescrypt hash of a password nobody knows: checked against when the
 * name is unknown, so both paths cost one crypt(3). Made at load. */
static char dummy_hash[HASH_MAX];

bool
web_user_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool
hash_ok(const char *h)
{
	if (strncmp(h, "$y$", 3) && strncmp(h, "$6$", 3))
		return false;
	if (strlen(h) >= HASH_MAX)
		return false;
	for (const char *p = h; *p; p++)
		if (*p <= ' ' || *p == ':' || *p > '~')
			return false;
	return true;
}

int
web_users_hash(const char *password, char *out, size_t len)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;
	int ret = -1;

	if (!cd)
		return -1;
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) &&
	    !crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)))
		goto out_free;
	h = crypt_r(password, salt, cd);
	if (h && h[0] == '$' && strlen(h) < len) {
		strcpy(out, h);
		ret = 0;
	}
out_free:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ret;
}

int
web_users_load(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[512];
	int lineno = 0;
	struct stat st;
	int nu = 0;

	if (!f) {
		if (errno == ENOENT) {
			web_log("error", "users file %s does not exist: create the "
				"first user with: weir-web --add-user NAME --users %s",
				file, file);
		} else {
			web_log("error", "cannot read users file %s: %s", file,
				strerror(errno));
		}
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		web_log("warning", "users file %s is readable by others (mode %03o): "
			"chmod 600 %s", file, (unsigned)(st.st_mode & 0777), file);
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		char *colon;

		lineno++;
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			web_log("error", "%s:%d: line too long", file, lineno);
			goto err_close;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		colon = strchr(line, ':');
		if (!colon) {
			web_log("error", "%s:%d: not a name:HASH line", file, lineno);
			goto err_close;
		}
		*colon = '\0';
		if (!web_user_name_ok(line)) {
			web_log("error", "%s:%d: '%s' is not a user name (1 to 32 of "
				"A-Z a-z 0-9 . _ -)", file, lineno, line);
			goto err_close;
		}
		if (!hash_ok(colon + 1)) {
			web_log("error", "%s:%d: user %s: the hash is not a yescrypt "
				"($y$) or SHA-512 ($6$) crypt(3) string (reset it with "
				"weir-web --add-user %s --users %s)", file, lineno, line,
				line, file);
			goto err_close;
		}
		if (nu == MAX_USERS) {
			web_log("error", "%s: more than %d users", file, MAX_USERS);
			goto err_close;
		}
		for (int i = 0; i < nu; i++)
			if (!strcmp(loading[i].name, line)) {
				web_log("error", "%s:%d: user %s is there twice", file,
					lineno, line);
				goto err_close;
			}
		snprintf(loading[nu].name, sizeof(loading[nu].name), "%s", line);
		snprintf(loading[nu].hash, sizeof(loading[nu].hash), "%s", colon + 1);
		nu++;
	}
	fclose(f);
	explicit_bzero(line, sizeof(line));
	if (!dummy_hash[0]) {
		unsigned char r[18];
		char pw[40];

		if (web_random(r, sizeof(r)) == 0) {
			for (size_t i = 0; i < sizeof(r); i++)
				snprintf(pw + 2 * i, 3, "%02x", r[i]);
			web_users_hash(pw, dummy_hash, sizeof(dummy_hash));
		}
	}
	pthread_rwlock_wrlock(&users_lock);
	memcpy(users, loading, (size_t)nu * sizeof(*users));
	n_users = nu;
	pthread_rwlock_unlock(&users_lock);
	explicit_bzero(loading, sizeof(loading));
	return nu;

err_close:
	fclose(f);
	explicit_bzero(loading, sizeof(loading));
	return -1;
}

bool
web_users_check(const char *name, const char *password)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char want[HASH_MAX];
	bool found = false, ok = false;
	const char *h;

	if (!cd)
		return false;
	memcpy(want, dummy_hash, sizeof(want));
	pthread_rwlock_rdlock(&users_lock);
	for (int i = 0; i < n_users; i++)
		if (!strcmp(users[i].name, name)) {
			memcpy(want, users[i].hash, sizeof(want));
			found = true;
			break;
		}
	pthread_rwlock_unlock(&users_lock);
	if (want[0]) {
		h = crypt_r(password, want, cd);
		ok = h && h[0] == '$' && web_str_eq_ct(h, want);
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return found && ok;
}

/* 24 characters from an alphabet without look-alikes (no 0/O, 1/l/I):
 * 57 symbols, 24 * log2(57) = 140 bits. */
static int
make_password(char *out, size_t len)
{
	static const char alpha[] = "abcdefghijkmnopqrstuvwxyz"
				    "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	const unsigned na = sizeof(alpha) - 1;	/* 57 */
	size_t o = 0;

	while (o < 24 && o + 1 < len) {
		unsigned char r[32];

		if (web_random(r, sizeof(r)))
			return -1;
		for (size_t i = 0; i < sizeof(r) && o < 24 && o + 1 < len; i++)
			if (r[i] < 256 - 256 % na)	/* no modulo bias */
				out[o++] = alpha[r[i] % na];
	}
	out[o] = '\0';
	return 0;
}

/* The directory of file and any missing above it, mode 0700 (the
 * default /etc/weir does not exist on a fresh machine). */
static int
make_parent(const char *file)
{
	char dir[4096];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", file) >= (int)sizeof(dir))
		return 0;	/* mkstemp says why */
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; ; p++) {
		bool last = !*p;

		if (*p && *p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			fprintf(stderr, "weir-web: cannot create %s: %s\n", dir, strerror(errno));
			return -1;
		}
		if (last)
			break;
		*p = '/';
	}
	return 0;
}

int
web_users_add(const char *file, const char *name, FILE *out)
{
	char pw[32], hash[HASH_MAX], tmp[4096], line[512];
	FILE *in, *f;
	int fd;
	bool replaced = false;

	if (!web_user_name_ok(name)) {
		fprintf(stderr, "weir-web: --add-user: '%s' is not a user name (1 to "
			"32 of A-Z a-z 0-9 . _ -)\n", name);
		return 1;
	}
	if (make_password(pw, sizeof(pw)) || web_users_hash(pw, hash, sizeof(hash))) {
		fprintf(stderr, "weir-web: --add-user: could not make a password "
			"hash (libcrypt)\n");
		return 1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", file) >= (int)sizeof(tmp)) {
		fprintf(stderr, "weir-web: --users: path too long\n");
		return 1;
	}
	umask(077);
	if (make_parent(file))
		return 1;
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "weir-web: cannot write beside %s: %s\n", file,
			strerror(errno));
		return 1;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return 1;
	}
	in = fopen(file, "r");
	if (in) {
		size_t nl = strlen(name);

		while (fgets(line, sizeof(line), in)) {
			if (!strncmp(line, name, nl) && line[nl] == ':') {
				if (!replaced)
					fprintf(f, "%s:%s\n", name, hash);
				replaced = true;
				continue;
			}
			fputs(line, f);
			if (!strchr(line, '\n'))
				fputc('\n', f);
		}
		fclose(in);
	} else if (errno != ENOENT) {
		fprintf(stderr, "weir-web: cannot read %s: %s\n", file, strerror(errno));
		goto err_unlink;
	}
	if (!replaced)
		fprintf(f, "%s:%s\n", name, hash);
	if (fflush(f) || fsync(fileno(f))) {
		fprintf(stderr, "weir-web: cannot write %s: %s\n", tmp, strerror(errno));
		goto err_unlink;
	}
	fclose(f);
	f = NULL;
	if (rename(tmp, file)) {
		fprintf(stderr, "weir-web: cannot replace %s: %s\n", file, strerror(errno));
		unlink(tmp);
		return 1;
	}
	fprintf(out, "%s user %s in %s. Password (shown once, not stored):\n%s\n",
		replaced ? "reset" : "added", name, file, pw);
	explicit_bzero(pw, sizeof(pw));
	return 0;

err_unlink:
	if (f)
		fclose(f);
	unlink(tmp);
	return 1;
}
