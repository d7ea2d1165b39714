/* http.c -- weir-web's requests: routing, login, sessions, CSRF, headers.
 *
 * Every request goes through handle(): the method is GET, HEAD or POST or
 * it is refused; a POST body is read up to 4 KiB; then the path decides.
 * The page's files are a fixed table loaded into memory at start-up (no
 * path from a request ever reaches the file system). Everything but the
 * login page and its assets needs a session cookie; /metrics may instead
 * take a bearer token or be public when the operator said so. Every POST
 * but the login needs the session's CSRF token in X-CSRF-Token; the login
 * has no session yet, so it checks that Origin, when the browser sends
 * it, is this server. Failed logins are rate-limited per address.
 *
 * Every response carries the same security headers: a Content-Security-
 * Policy that allows only this origin's scripts (the page has no inline
 * script), no framing, no MIME sniffing, no referrer, and no caching of
 * the API. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define BODY_MAX 4096
#define COOKIE "weir_session"

struct body {
	char buf[BODY_MAX + 1];
	size_t len;
	bool too_big;
};

/* ---- the static page ---------------------------------------------------- */

struct static_file {
	const char *url;
	const char *file;
	const char *type;
	bool login_needed;
	char *data;
	size_t len;
};

static struct static_file files[] = {
	{ "/index.html", "index.html", "text/html; charset=utf-8", true, NULL, 0 },
	{ "/login.html", "login.html", "text/html; charset=utf-8", false, NULL, 0 },
	{ "/assets/app.js", "app.js", "text/javascript; charset=utf-8", false, NULL, 0 },
	{ "/assets/app.css", "app.css", "text/css; charset=utf-8", false, NULL, 0 },
	{ "/assets/login.js", "login.js", "text/javascript; charset=utf-8", false, NULL, 0 },
};
#define N_FILES (sizeof(files) / sizeof(files[0]))

int
web_static_load(const char *dir)
{
	int missing = 0;

	for (size_t i = 0; i < N_FILES; i++) {
		char path[4096];
		FILE *f;
		long n;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i].file);
		f = fopen(path, "rb");
		if (!f) {
			missing++;
			continue;
		}
		if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (64L << 20) ||
		    fseek(f, 0, SEEK_SET)) {
			fclose(f);
			missing++;
			continue;
		}
		files[i].data = malloc((size_t)n + 1);
		if (files[i].data && fread(files[i].data, 1, (size_t)n, f) == (size_t)n) {
			files[i].len = (size_t)n;
		} else {
			free(files[i].data);
			files[i].data = NULL;
			missing++;
		}
		fclose(f);
	}
	return missing ? -1 : 0;
}

static struct static_file *
static_find(const char *url)
{
	if (!strcmp(url, "/"))
		url = "/index.html";
	for (size_t i = 0; i < N_FILES; i++)
		if (!strcmp(url, files[i].url))
			return &files[i];
	return NULL;
}

/* ---- responses ---------------------------------------------------------- */

static void
add_security_headers(struct MHD_Response *r, bool cache)
{
	MHD_add_response_header(r, "Content-Security-Policy",
		"default-src 'self'; script-src 'self'; style-src 'self'; "
		"img-src 'self' data:; connect-src 'self'; object-src 'none'; "
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	MHD_add_response_header(r, "Cache-Control", cache ? "no-cache" : "no-store");
}

static enum MHD_Result
send_buf(struct MHD_Connection *c, int status, const char *type, void *buf,
	 size_t len, enum MHD_ResponseMemoryMode mode, const char *cookie,
	 bool cache)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	add_security_headers(r, cache);
	MHD_add_response_header(r, "Content-Type", type);
	if (cookie)
		MHD_add_response_header(r, "Set-Cookie", cookie);
	ret = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A JSON body {"error": msg}, plus extra headers where asked. */
static enum MHD_Result
send_error(struct MHD_Connection *c, int status, const char *msg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct weirctl_json j;

	if (!f)
		return MHD_NO;
	weirctl_json_init(&j, f);
	weirctl_json_begin_obj(&j);
	weirctl_json_key(&j, "error");
	weirctl_json_str(&j, msg);
	weirctl_json_end_obj(&j);
	fclose(f);
	return send_buf(c, status, "application/json", buf, len,
			MHD_RESPMEM_MUST_FREE, NULL, false);
}

static enum MHD_Result
redirect(struct MHD_Connection *c, const char *to)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"",
								  MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	add_security_headers(r, false);
	MHD_add_response_header(r, "Location", to);
	ret = MHD_queue_response(c, 302, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- sessions and login ------------------------------------------------- */

static bool
session_of(struct MHD_Connection *c, struct web_session_view *v)
{
	const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);

	return sid && web_session_get(sid, v);
}

static const struct sockaddr *
client_addr(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci ? ci->client_addr : NULL;
}

/* The value of key in an application/x-www-form-urlencoded body, decoded
 * (%XX, '+') into out. Returns false when absent or not decodable. */
static bool
form_value(const char *body, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	const char *p = body;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			size_t o = 0;

			for (size_t i = kl + 1; i < n; i++) {
				int ch = (unsigned char)p[i];

				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%') {
					char hex[3] = { 0 };
					char *end;

					if (i + 2 >= n)
						return false;
					if (!isxdigit((unsigned char)p[i + 1]) ||
					    !isxdigit((unsigned char)p[i + 2]))
						return false;
					hex[0] = p[i + 1];
					hex[1] = p[i + 2];
					ch = (int)strtol(hex, &end, 16);
					if (*end || ch == 0)
						return false;
					i += 2;
				}
				if (o + 1 >= len)
					return false;
				out[o++] = (char)ch;
			}
			out[o] = '\0';
			return true;
		}
		p = amp ? amp + 1 : NULL;
	}
	return false;
}

/* Origin, when sent, must name this server: the Host the browser used
 * (a reverse proxy must pass it on: proxy_set_header Host $host, or
 * ProxyPreserveHost On), or the --public-origin the operator gave. */
static bool
origin_ok(struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	const char *rest;

	if (!origin)
		return true;
	if (web_cfg.public_origin[0] && !strcmp(origin, web_cfg.public_origin))
		return true;
	if (!host)
		return false;
	if (!strncmp(origin, "http://", 7))
		rest = origin + 7;
	else if (!strncmp(origin, "https://", 8))
		rest = origin + 8;
	else
		return false;
	return !strcmp(rest, host);
}

static enum MHD_Result
session_json(struct MHD_Connection *c, const struct web_session_view *v,
	     const char *cookie)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct weirctl_json j;

	if (!f)
		return MHD_NO;
	weirctl_json_init(&j, f);
	weirctl_json_begin_obj(&j);
	weirctl_json_key(&j, "user");
	weirctl_json_str(&j, v->user);
	weirctl_json_key(&j, "csrf");
	weirctl_json_str(&j, v->csrf);
	weirctl_json_key(&j, "node");	/* NULL: every registered node */
	if (web_cfg.node)
		weirctl_json_str(&j, web_cfg.node);
	else
		weirctl_json_null(&j);
	weirctl_json_end_obj(&j);
	fclose(f);
	return send_buf(c, 200, "application/json", buf, len,
			MHD_RESPMEM_MUST_FREE, cookie, false);
}

static enum MHD_Result
do_login(struct MHD_Connection *c, struct body *b)
{
	const struct sockaddr *sa = client_addr(c);
	char user[64], pw[256], sid[WEB_SID_HEX + 1], cookie[256];
	struct web_session_view v;
	unsigned wait;

	if (!origin_ok(c))
		return send_error(c, 403, "login refused: the Origin header is not this server");
	wait = web_login_blocked(sa);
	if (wait) {
		char msg[128];

		snprintf(msg, sizeof(msg), "too many failed logins from this address: "
			 "try again in %u s", wait);
		return send_error(c, 429, msg);
	}
	if (b->too_big || !form_value(b->buf, "user", user, sizeof(user)) ||
	    !form_value(b->buf, "password", pw, sizeof(pw)))
		return send_error(c, 400, "login wants a form body: user=NAME&password=PASSWORD");
	if (!web_user_name_ok(user) || !web_users_check(user, pw)) {
		explicit_bzero(pw, sizeof(pw));
		web_login_failed(sa);
		web_log("notice", "failed login for '%s'", web_user_name_ok(user) ? user : "(bad name)");
		return send_error(c, 401, "wrong user name or password");
	}
	explicit_bzero(pw, sizeof(pw));
	web_login_succeeded(sa);
	if (web_session_new(user, sid, &v))
		return send_error(c, 500, "no random bytes for a session");
	snprintf(cookie, sizeof(cookie), COOKIE "=%s; Path=/; HttpOnly; "
		 "SameSite=Strict; Max-Age=%u%s", sid, web_cfg.session_max_s,
		 web_cfg.secure_cookie ? "; Secure" : "");
	web_log("info", "login: %s", user);
	return session_json(c, &v, cookie);
}

static enum MHD_Result
do_logout(struct MHD_Connection *c)
{
	const char *sid = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
	char cookie[160];

	web_session_end(sid);
	snprintf(cookie, sizeof(cookie), COOKIE "=; Path=/; HttpOnly; "
		 "SameSite=Strict; Max-Age=0%s", web_cfg.secure_cookie ? "; Secure" : "");
	return send_buf(c, 200, "application/json", (void *)"{\"ok\":true}\n", 12,
			MHD_RESPMEM_PERSISTENT, cookie, false);
}

static bool
bearer_ok(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

	if (!web_cfg.metrics_token[0] || !h || strncmp(h, "Bearer ", 7))
		return false;
	return web_str_eq_ct(h + 7, web_cfg.metrics_token);
}

/* ---- the API ------------------------------------------------------------ */

static const struct {
	const char *path;
	web_api_fn fn;
} api[] = {
	{ "/api/status", web_api_status },
	{ "/api/hosts", web_api_hosts },
	{ "/api/host", web_api_host },
	{ "/api/flows", web_api_flows },
	{ "/api/flows/recent", web_api_flows_recent },
	{ "/api/vlans", web_api_vlans },
	{ "/api/subnets", web_api_subnets },
	{ "/api/apps", web_api_apps },
	{ "/api/categories", web_api_categories },
	{ "/api/exporters", web_api_exporters },
	{ "/api/interfaces", web_api_interfaces },
	{ "/api/timeseries", web_api_timeseries },
	{ "/api/alerts", web_api_alerts },
	{ "/api/alerts/history", web_api_alerts_history },
	{ "/api/events", web_api_events },
};

static enum MHD_Result
run_api(struct MHD_Connection *c, web_api_fn fn, bool metrics)
{
	struct weirctl_ctx *ctx = web_store();
	struct web_out o = { .status = 200 };
	char msg[1200], shown[1024];
	int status;

	if (!ctx) {
		weirctl_url_show(&web_cfg.redis, shown, sizeof(shown));
		snprintf(msg, sizeof(msg), "Redis at %s is unreachable", shown);
		return send_error(c, 503, msg);
	}
	o.f = open_memstream(&o.buf, &o.len);
	if (!o.f)
		return send_error(c, 500, "out of memory");
	weirctl_json_init(&o.j, o.f);
	status = web_store_nodes(c, ctx, &o);
	if (status == 200)
		status = metrics ? web_metrics(ctx, &o) : fn(c, ctx, &o);
	fclose(o.f);
	/* A command without any reply is a lost server, not an error it
	 * answered (502): the first request after Redis went away is 503
	 * like the ones after it. */
	if (ctx->redis_failures && (status == 200 || status == 502))
		status = web_fail(&o, 503, "Redis connection lost: %s",
				  weirctl_redis_errstr(&ctx->conn));
	web_store_check(ctx, status);
	if (status != 200) {
		free(o.buf);
		return send_error(c, status, o.err[0] ? o.err : "failed");
	}
	return send_buf(c, 200, metrics ? "text/plain; version=0.0.4; charset=utf-8" :
			"application/json", o.buf, o.len, MHD_RESPMEM_MUST_FREE,
			NULL, false);
}

/* ---- the handler -------------------------------------------------------- */

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_size, void **con_cls)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool post = !strcmp(method, "POST");
	struct web_session_view v;
	struct body *b = *con_cls;

	if (!get && !post)
		return send_error(c, 405, "only GET, HEAD and POST are served");
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size) {
		if (b->len + *upload_size > BODY_MAX)
			b->too_big = true;
		else {
			memcpy(b->buf + b->len, upload, *upload_size);
			b->len += *upload_size;
			b->buf[b->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}

	if (post) {
		if (!strcmp(url, "/api/login"))
			return do_login(c, b);
		if (!session_of(c, &v))
			return send_error(c, 401, "login required");
		const char *tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							      "X-CSRF-Token");

		if (!tok || !web_str_eq_ct(tok, v.csrf))
			return send_error(c, 403, "missing or wrong X-CSRF-Token (GET "
					  "/api/session gives it)");
		if (b->too_big)
			return send_error(c, 413, "request body over 4096 bytes");
		if (!strcmp(url, "/api/logout"))
			return do_logout(c);
		return send_error(c, 405, "nothing here takes a POST");
	}

	/* GET and HEAD */
	if (!strcmp(url, "/metrics")) {
		if (!web_cfg.metrics_public && !bearer_ok(c) && !session_of(c, &v))
			return send_error(c, 401, "/metrics needs a session or "
					  "'Authorization: Bearer TOKEN' (--metrics-token)");
		return run_api(c, NULL, true);
	}
	if (!strncmp(url, "/api/", 5)) {
		if (!session_of(c, &v))
			return send_error(c, 401, "login required (POST /api/login)");
		if (!strcmp(url, "/api/session"))
			return session_json(c, &v, NULL);
		for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++)
			if (!strcmp(url, api[i].path))
				return run_api(c, api[i].fn, false);
		return send_error(c, 404, "no such API endpoint (docs/api.md lists them)");
	}
	struct static_file *sf = static_find(url);

	if (!sf)
		return send_error(c, 404, "not found");
	if (sf->login_needed && !session_of(c, &v))
		return redirect(c, "/login.html");
	if (!sf->data)
		return send_error(c, 404, "the page was not built (weir-web was built "
				  "without node and npm): the API under /api/ works");
	return send_buf(c, 200, sf->type, sf->data, sf->len, MHD_RESPMEM_PERSISTENT,
			NULL, !sf->login_needed);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	web_log("warning", "http: %s", msg);
}

struct MHD_Daemon *
web_http_start(void)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;

	if (web_cfg.listen.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL;
	d = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&web_cfg.listen,
			     MHD_OPTION_THREAD_POOL_SIZE, web_cfg.threads,
			     MHD_OPTION_CONNECTION_LIMIT, 256U,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64U,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30U,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_END);
	if (!d)
		web_log("error", "cannot listen on %s: %s (in use? another weir-web?)",
			web_cfg.listen_text, strerror(errno));
	return d;
}
