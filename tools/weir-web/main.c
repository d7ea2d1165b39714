/* main.c -- weir-web's command line, start-up checks and shutdown.
 *
 * The checks before the socket opens are the security ones an operator
 * must not be able to skip by accident: a users file with at least one
 * user (there is no default password: `weir-web --add-user NAME` makes
 * one), and a loopback address unless --listen asked for another one.
 * WEIR_WEB_LISTEN (for service files) may only name a loopback address.
 * Then it serves until SIGINT or SIGTERM; SIGHUP reads the users file
 * again (a reset password works at once; a file that does not load
 * leaves the users as they were). */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "web.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "dev"
#endif
#ifndef WEIR_WEB_STATIC
#define WEIR_WEB_STATIC "/usr/local/share/weir-web"
#endif
#define DEFAULT_USERS "/etc/weir/web-users"

static const char usage[] =
"usage: weir-web [options]\n"
"       weir-web --add-user NAME [--users FILE]\n"
"\n"
"The weir dashboard: a web page, a JSON API (/api/) and Prometheus metrics\n"
"(/metrics), read from the Redis keyspace the engine publishes. Login is\n"
"required; users live in a file of name:HASH lines (crypt(3) hashes).\n"
"\n"
"  --listen ADDR:PORT     where to listen (default 127.0.0.1:8080); an address\n"
"                         other than loopback is taken only from this option\n"
"  --redis URL            redis://[[user]:password@]host[:port][/db] or\n"
"                         unix:///path[?db=N&password=P] (default: $WEIR_REDIS,\n"
"                         else redis://127.0.0.1:6379)\n"
"  --node ID[,ID]         read these engines only (default: every node in the\n"
"                         registry PREFIXnodes, merged; else 'local'); the API's\n"
"                         node= parameter picks others per request\n"
"  --redis-prefix STR     key prefix (default: weir:)\n"
"  --users FILE           the users file (default: " DEFAULT_USERS ")\n"
"  --add-user NAME        create or reset NAME with a random password, print\n"
"                         it once, store its hash in the users file, exit\n"
"  --static DIR           the built page (default: next to the binary in a\n"
"                         build tree, else " WEIR_WEB_STATIC ")\n"
"  --secure-cookie        mark the session cookie Secure (behind a TLS proxy)\n"
"  --public-origin URL    also accept this Origin at login (https://HOST[:PORT]\n"
"                         that people open, behind a reverse proxy)\n"
"  --session-idle SEC     a session unused for SEC seconds ends (default 3600)\n"
"  --metrics-public       serve /metrics without login\n"
"  --metrics-token FILE   /metrics also accepts 'Authorization: Bearer TOKEN'\n"
"                         with the token read from FILE\n"
"  --metrics-hosts N      hosts exported on /metrics, busiest first (default 1000)\n"
"  --threads N            server threads, each with its Redis connection (default 4)\n"
"  -h, --help             this text\n"
"  -V, --version          the version\n";

static volatile sig_atomic_t stopping, reloading;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reloading = 1;
	else
		stopping = 1;
}

static int
read_token(const char *file)
{
	FILE *f = fopen(file, "r");
	size_t n;

	if (!f) {
		web_log("error", "--metrics-token %s: %s", file, strerror(errno));
		return -1;
	}
	n = fread(web_cfg.metrics_token, 1, sizeof(web_cfg.metrics_token) - 1, f);
	fclose(f);
	web_cfg.metrics_token[n] = '\0';
	while (n && strchr(" \t\r\n", web_cfg.metrics_token[n - 1]))
		web_cfg.metrics_token[--n] = '\0';
	if (n < 16 || strpbrk(web_cfg.metrics_token, " \t\r\n")) {
		web_log("error", "--metrics-token %s: the token must be one word of "
			"at least 16 characters (e.g. head -c 24 /dev/urandom | "
			"base64 > %s)", file, file);
		return -1;
	}
	return 0;
}

/* The page's directory: --static, else web/ beside the executable (a
 * build tree), else the installed one. */
static const char *
find_static(void)
{
	static char buf[4096];
	ssize_t n;
	char *slash;

	if (web_cfg.static_dir)
		return web_cfg.static_dir;
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 32);
	if (n > 0) {
		buf[n] = '\0';
		slash = strrchr(buf, '/');
		if (slash) {
			strcpy(slash, "/web/index.html");
			if (access(buf, R_OK) == 0) {
				strcpy(slash, "/web");
				return buf;
			}
		}
	}
	return WEIR_WEB_STATIC;
}

static int
need_value(int argc, char **argv, int i)
{
	if (i + 1 >= argc) {
		fprintf(stderr, "weir-web: %s needs a value (see weir-web --help)\n",
			argv[i]);
		return -1;
	}
	return 0;
}

static int
parse_uint(const char *opt, const char *v, unsigned lo, unsigned hi,
	   unsigned *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || x < lo || x > hi) {
		fprintf(stderr, "weir-web: %s: '%s' is not a number from %u to %u\n",
			opt, v, lo, hi);
		return -1;
	}
	*out = (unsigned)x;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *listen = NULL, *redis = getenv("WEIR_REDIS");
	const char *add_user = NULL, *token_file = NULL;
	char err[300];
	struct MHD_Daemon *d;

	web_cfg.node = NULL;
	web_cfg.prefix = "weir:";
	web_cfg.users_file = DEFAULT_USERS;
	web_cfg.session_idle_s = 3600;
	web_cfg.session_max_s = 12 * 3600;
	web_cfg.threads = 4;
	web_cfg.metrics_hosts = 1000;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("weir-web %s\n", WEIR_VERSION);
			return 0;
		}
		if (!strcmp(a, "--secure-cookie")) {
			web_cfg.secure_cookie = true;
			continue;
		}
		if (!strcmp(a, "--metrics-public")) {
			web_cfg.metrics_public = true;
			continue;
		}
		static const char *const valued[] = { "--listen", "--redis",
			"--node", "--redis-prefix", "--users", "--add-user",
			"--static", "--metrics-token", "--session-idle",
			"--threads", "--metrics-hosts", "--public-origin", NULL };
		bool known = false;

		for (int k = 0; valued[k]; k++)
			known |= !strcmp(a, valued[k]);
		if (!known) {
			fprintf(stderr, "weir-web: unknown option '%s' (see weir-web --help)\n", a);
			return 1;
		}
		if (need_value(argc, argv, i))
			return 1;
		const char *v = argv[i + 1];

		if (!strcmp(a, "--listen"))
			listen = v;
		else if (!strcmp(a, "--redis"))
			redis = v;
		else if (!strcmp(a, "--node"))
			web_cfg.node = v;
		else if (!strcmp(a, "--redis-prefix"))
			web_cfg.prefix = v;
		else if (!strcmp(a, "--users"))
			web_cfg.users_file = v;
		else if (!strcmp(a, "--add-user"))
			add_user = v;
		else if (!strcmp(a, "--static"))
			web_cfg.static_dir = v;
		else if (!strcmp(a, "--metrics-token"))
			token_file = v;
		else if (!strcmp(a, "--public-origin")) {
			if (web_origin_parse(v, web_cfg.public_origin,
					     sizeof(web_cfg.public_origin))) {
				fprintf(stderr, "weir-web: --public-origin: '%s' is not "
					"http(s)://HOST[:PORT] (the address people type, "
					"without a path)\n", v);
				return 1;
			}
		}
		else if (!strcmp(a, "--session-idle")) {
			if (parse_uint(a, v, 60, 7 * 86400, &web_cfg.session_idle_s))
				return 1;
		} else if (!strcmp(a, "--threads")) {
			if (parse_uint(a, v, 1, 64, &web_cfg.threads))
				return 1;
		} else if (!strcmp(a, "--metrics-hosts")) {
			if (parse_uint(a, v, 0, 100000, &web_cfg.metrics_hosts))
				return 1;
		}
		i++;
	}

	if (add_user)
		return web_users_add(web_cfg.users_file, add_user, stdout);

	if (!redis || !*redis)
		redis = "redis://127.0.0.1:6379";
	if (weirctl_url_parse(redis, &web_cfg.redis, err, sizeof(err))) {
		web_log("error", "bad Redis URL '%s': %s", redis, err);
		return 1;
	}
	if (web_cfg.node && weirctl_nodes_check(web_cfg.node, err, sizeof(err))) {
		web_log("error", "--node '%s': %s", web_cfg.node, err);
		return 1;
	}
	if (strlen(web_cfg.prefix) > 128 || strpbrk(web_cfg.prefix, "{}")) {
		web_log("error", "--redis-prefix '%s': at most 128 characters, no braces",
			web_cfg.prefix);
		return 1;
	}

	/* Where to listen. */
	if (listen) {
		web_cfg.listen_explicit = true;
	} else {
		listen = getenv("WEIR_WEB_LISTEN");
		if (!listen || !*listen)
			listen = "127.0.0.1:8080";
	}
	if (web_listen_parse(listen, &web_cfg.listen, &web_cfg.listen_len, err,
			     sizeof(err))) {
		web_log("error", "listen address: %s", err);
		return 1;
	}
	snprintf(web_cfg.listen_text, sizeof(web_cfg.listen_text), "%s", listen);
	if (!web_addr_is_loopback(&web_cfg.listen)) {
		if (!web_cfg.listen_explicit) {
			web_log("error", "refusing to listen on %s (from WEIR_WEB_LISTEN): "
				"it is not a loopback address. weir-web listens beyond "
				"this machine only when told so on the command line: "
				"--listen %s", listen, listen);
			return 1;
		}
		web_log("warning", "listening on %s, which is not loopback, because "
			"--listen says so: put TLS in front (a reverse proxy) and "
			"use --secure-cookie", listen);
	}

	if (token_file && read_token(token_file))
		return 1;

	int users = web_users_load(web_cfg.users_file);

	if (users < 0)
		return 1;
	if (users == 0) {
		web_log("error", "no users in %s: there is no default password. "
			"Create one with: weir-web --add-user NAME --users %s",
			web_cfg.users_file, web_cfg.users_file);
		return 1;
	}

	const char *sdir = find_static();

	if (web_static_load(sdir) < 0)
		web_log("warning", "the page is not in %s (built without node/npm?): "
			"only the API and /metrics are served", sdir);

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	d = web_http_start();
	if (!d)
		return 1;
	char shown[1024];

	weirctl_url_show(&web_cfg.redis, shown, sizeof(shown));
	web_log("info", "serving http://%s/ (%u users, page from %s), reading %s "
		"node %s%s%s", web_cfg.listen_text, users, sdir, shown,
		web_cfg.node ? web_cfg.node : "(every registered node, merged)",
		web_cfg.metrics_public ? ", /metrics public" : "",
		web_cfg.metrics_token[0] ? ", /metrics bearer token" : "");
	while (!stopping) {
		pause();
		if (reloading && !stopping) {
			reloading = 0;
			users = web_users_load(web_cfg.users_file);
			if (users > 0)
				web_log("info", "SIGHUP: %d users loaded from %s", users,
					web_cfg.users_file);
			else
				web_log("error", "SIGHUP: %s did not load (%s): the users "
					"loaded before stay", web_cfg.users_file,
					users == 0 ? "no users" : "see above");
		}
	}
	web_log("info", "stopping");
	MHD_stop_daemon(d);
	return 0;
}
