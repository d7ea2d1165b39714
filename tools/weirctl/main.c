/* main.c -- weirctl's command line: global options, dispatch, --watch.
 *
 * Global options may stand before or after the command (`weirctl --json
 * hosts` and `weirctl hosts --json` are the same); everything else after
 * the command is the command's, and filters.c checks it against what the
 * command accepts. A command that reads Redis gets a connection and a
 * checked meta hash before it runs; --watch repeats it on a timer,
 * drawing each round in memory first so the screen is replaced at once,
 * and reconnecting when Redis went away. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weirctl.h"

#ifndef WEIR_VERSION
#define WEIR_VERSION "unknown"
#endif

#define DEFAULT_URL "redis://127.0.0.1:6379"

const char weirctl_global_help[] =
	"  --redis URL     where to read: redis://[[user]:password@]host[:port][/db],\n"
	"                  unix:///path/to/redis.sock[?db=N&password=P] or a\n"
	"                  socket path. Default $WEIR_REDIS, else " DEFAULT_URL "\n"
	"  --node ID[,ID]  read these engines only (weir --node); default: every\n"
	"                  node registered in PREFIXnodes, merged, else 'local'\n"
	"  --prefix P      the key prefix (weir redis-prefix), default 'weir:'\n"
	"  --json          print JSON instead of a table (numbers as numbers)\n"
	"  --watch [SEC]   redraw the table every SEC seconds (default 2) until\n"
	"                  Ctrl-C\n"
	"  --count N       with --watch: stop after N rounds (events: how many)\n"
	"  --no-color      no colours even on a terminal (also: NO_COLOR=1)\n"
	"  -h, --help      this help; `weirctl COMMAND --help` for a command's\n"
	"  --version       weirctl's version and the keyspace version it reads\n";

static void
usage(FILE *f)
{
	fputs("usage: weirctl [--redis URL] [--node ID[,ID]] [--prefix P] [--json]\n"
	      "               [--watch [SECONDS]] COMMAND [filters]\n"
	      "\n"
	      "Reads what a weir engine publishes to Redis (docs/redis-keys.md) and\n"
	      "prints it as aligned tables or JSON. It never talks to the engine.\n"
	      "\n"
	      "commands:\n", f);
	for (size_t i = 0; weirctl_cmds[i]; i++)
		fprintf(f, "  %-12s %s\n", weirctl_cmds[i]->name,
			weirctl_cmds[i]->summary);
	fputs("\noptions:\n", f);
	fputs(weirctl_global_help, f);
	fputs("\nexit codes: 0 ok, 1 usage, 2 Redis unreachable or refusing, or an\n"
	      "unknown keyspace version, 3 no data (nothing published, no such host)\n"
	      "\nSee weirctl(1).\n", f);
}

static void
cmd_usage(const struct weirctl_cmd *c, FILE *f)
{
	fprintf(f, "usage: weirctl [options] %s%s%s\n\n%s", c->name,
		c->args[0] ? " " : "", c->args, c->help);
	fprintf(f, "\nglobal options (before or after the command):\n%s",
		weirctl_global_help);
}

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	stopping = 1;
}

static int
run_once(const struct weirctl_cmd *cmd, struct weirctl_ctx *ctx)
{
	int ret;

	ctx->now_ms = weirctl_now_ms();
	if (!(cmd->flags & WC_CMD_REDIS))
		return cmd->run(ctx);
	if (!ctx->conn.rc) {
		ret = weirctl_redis_connect(&ctx->conn);
		if (ret)
			return ret;
	}
	ctx->zset_cached[0] = '\0';
	ret = weirctl_nodes_select(ctx);
	if (!ret)
		ret = cmd->run(ctx);
	if (ret == WC_EXIT_REDIS)	/* --watch: the next round reconnects */
		weirctl_redis_close(&ctx->conn);
	return ret;
}

static int
watch(const struct weirctl_cmd *cmd, struct weirctl_ctx *ctx, double every,
      long count, int argc, char **argv)	/* the command's own arguments */
{
	struct sigaction sa = { .sa_handler = on_signal };
	int ret = WC_EXIT_OK;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (long round = 0; !stopping; round++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		char t[64];

		if (!m) {
			weirctl_err("out of memory");
			return WC_EXIT_REDIS;
		}
		ctx->out = m;
		weirctl_errout = m;
		ret = run_once(cmd, ctx);
		weirctl_errout = NULL;
		fclose(m);
		fputs("\033[H\033[2J", stdout);
		/* Not argv as typed: the URL may hold a password. */
		fprintf(stdout, "every %gs: weirctl --redis %s %s", every,
			ctx->conn.shown, cmd->name);
		for (int i = 0; i < argc; i++)
			fprintf(stdout, " %s", argv[i]);
		fprintf(stdout, "   %s\n\n", weirctl_fmt_time(
			(uint64_t)weirctl_now_ms(), t, sizeof(t)));
		fwrite(buf, 1, len, stdout);
		fflush(stdout);
		free(buf);
		if (count && round + 1 >= count)
			break;

		struct timespec ts = { (time_t)every,
				       (long)((every - floor(every)) * 1e9) };

		while (!stopping && nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	return stopping ? WC_EXIT_OK : ret;
}

/* A value for a global option: "--opt=value" or the next argument. */
static const char *
opt_value(const char *a, size_t n, int argc, char **argv, int *i)
{
	if (a[n] == '=')
		return a + n + 1;
	if (*i + 1 < argc)
		return argv[++*i];
	weirctl_err("%.*s needs a value (see weirctl --help)", (int)n, a);
	return NULL;
}

static bool
is_number(const char *s, double *v)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return !errno && !*end && isfinite(*v);
}

int
main(int argc, char **argv)
{
	static char *cmd_argv[256];
	struct weirctl_ctx ctx = { .node = "local", .prefix = "weir:", .focus = -1 };
	const struct weirctl_cmd *cmd = NULL;
	const char *url = getenv("WEIR_REDIS");
	const char *cmd_name = NULL;
	bool help = false, no_color = false, want_watch = false;
	double every = 2;
	long count = 0;
	int cmd_argc = 0;
	char err[256];
	int ret;

	if (!url || !*url)
		url = DEFAULT_URL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t n = strcspn(a, "=");

#define IS(name) (n == strlen(name) && !strncmp(a, name, n))
		if (IS("--redis")) {
			if (!(url = opt_value(a, n, argc, argv, &i)))
				return WC_EXIT_USAGE;
		} else if (IS("--node")) {
			if (!(ctx.node_arg = opt_value(a, n, argc, argv, &i)))
				return WC_EXIT_USAGE;
		} else if (IS("--prefix")) {
			if (!(ctx.prefix = opt_value(a, n, argc, argv, &i)))
				return WC_EXIT_USAGE;
		} else if (IS("--count")) {
			const char *v = opt_value(a, n, argc, argv, &i);
			double d;

			if (!v || !is_number(v, &d) || d < 1 || d != floor(d)) {
				weirctl_err("--count needs a whole number of rounds");
				return WC_EXIT_USAGE;
			}
			count = (long)d;
		} else if (!strcmp(a, "--json")) {
			ctx.json = true;
		} else if (!strcmp(a, "--no-color")) {
			no_color = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help = true;
		} else if (!strcmp(a, "--version")) {
			printf("weirctl %s (reads Redis keyspace version %d)\n",
			       WEIR_VERSION, WEIRCTL_KEYSPACE_MAJOR);
			return WC_EXIT_OK;
		} else if (IS("--watch")) {
			double d;

			want_watch = true;
			if (a[n] == '=') {
				if (!is_number(a + n + 1, &d) || d < 0.1) {
					weirctl_err("--watch: '%s' is not a number of "
						    "seconds (0.1 or more)", a + n + 1);
					return WC_EXIT_USAGE;
				}
				every = d;
			} else if (i + 1 < argc && is_number(argv[i + 1], &d)) {
				if (d < 0.1) {
					weirctl_err("--watch: at least 0.1 seconds");
					return WC_EXIT_USAGE;
				}
				every = d;
				i++;
			}
		} else if (!cmd_name && a[0] == '-') {
			weirctl_err("unknown option '%s' (filters go after the "
				    "command; see weirctl --help)", a);
			return WC_EXIT_USAGE;
		} else if (!cmd_name) {
			cmd_name = a;
		} else {
			if (cmd_argc == (int)(sizeof(cmd_argv) / sizeof(cmd_argv[0]))) {
				weirctl_err("too many arguments");
				return WC_EXIT_USAGE;
			}
			cmd_argv[cmd_argc++] = argv[i];
		}
#undef IS
	}

	if (cmd_name && !strcmp(cmd_name, "help")) {
		help = true;
		cmd_name = cmd_argc ? cmd_argv[0] : NULL;
	}
	if (cmd_name && !(cmd = weirctl_cmd_find(cmd_name))) {
		weirctl_err("unknown command '%s' (weirctl --help lists them)",
			    cmd_name);
		return WC_EXIT_USAGE;
	}
	if (help) {
		if (cmd)
			cmd_usage(cmd, stdout);
		else
			usage(stdout);
		return WC_EXIT_OK;
	}
	if (!cmd) {
		usage(stderr);
		return WC_EXIT_USAGE;
	}
	ret = weirctl_filters_parse(cmd->name, cmd->filters, cmd_argc, cmd_argv,
				    &ctx.f);
	if (ret)
		return ret;
	if (want_watch && ctx.json) {
		weirctl_err("--watch repeats a table: not with --json");
		return WC_EXIT_USAGE;
	}
	if (want_watch && !(cmd->flags & WC_CMD_WATCH)) {
		weirctl_err("--watch repeats a table: %s prints none to repeat",
			    cmd->name);
		return WC_EXIT_USAGE;
	}
	if (!want_watch && count) {
		if (!(cmd->filters & WC_F_COUNT)) {
			weirctl_err("--count goes with --watch");
			return WC_EXIT_USAGE;
		}
		ctx.f.count = count;	/* the command's own count */
		count = 0;
	}
	if (weirctl_url_parse(url, &ctx.conn.url, err, sizeof(err))) {
		weirctl_err("bad Redis URL '%s': %s", url, err);
		return WC_EXIT_USAGE;
	}
	if (ctx.node_arg && weirctl_nodes_check(ctx.node_arg, err, sizeof(err))) {
		weirctl_err("--node: %s", err);
		return WC_EXIT_USAGE;
	}
	if (strlen(ctx.prefix) > 256 || strpbrk(ctx.prefix, "{}")) {
		weirctl_err("--prefix: '%s': at most 256 characters, no braces",
			    ctx.prefix);
		return WC_EXIT_USAGE;
	}
	ctx.color = !no_color && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	if (ctx.color) {
		const char *term = getenv("TERM");

		ctx.color = term && strcmp(term, "dumb");
	}
	ctx.out = stdout;

	if (want_watch) {
		ret = watch(cmd, &ctx, every, count, cmd_argc, cmd_argv);
	} else {
		/* Output goes in big blocks: flows --json may be 500 MB. */
		setvbuf(stdout, NULL, _IOFBF, 1 << 20);
		ret = run_once(cmd, &ctx);
	}
	if (fflush(stdout) || ferror(stdout)) {
		if (errno != EPIPE)
			weirctl_err("writing the output failed: %s", strerror(errno));
		if (!ret)
			ret = WC_EXIT_USAGE;
	}
	weirctl_nodes_free(&ctx);
	weirctl_redis_close(&ctx.conn);
	return ret;
}
