/* web.h -- what the pieces of weir-web share.
 *
 * weir-web is the dashboard's server: one process, libmicrohttpd with a
 * small thread pool, reading the Redis keyspace of docs/redis-keys.md and
 * nothing else. It writes nothing to Redis; its only state is in memory
 * (sessions, the failed-login table). The pieces: main.c (options, start,
 * stop), users.c (the users file and crypt(3)), session.c (sessions, CSRF
 * tokens, the login rate limit), http.c (routing, authentication,
 * security headers, the static page), config.c (settings, listen
 * address, the log), params.c (every API parameter is
 * validated there before a Redis key is built from it), store.c (one
 * Redis connection per server thread, reusing weirctl's reader), api.c,
 * api_flows.c, api_vlan_matrix.c, api_ts.c (the JSON API) and metrics.c
 * (Prometheus).
 *
 * weirctl's static library gives the URL parser, the Redis connection
 * (one server or a Redis Cluster), the choice of nodes and their merged
 * view, the pipelined sorted-set walker and the JSON writer. */
#ifndef WEIR_WEB_H
#define WEIR_WEB_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "weirctl.h"

#define WEB_NAME_MAX 64		/* a user, subnet, app or category name */

/* ---- main.c: the configuration --------------------------------------- */

struct web_cfg {
	struct sockaddr_storage listen;
	socklen_t listen_len;
	char listen_text[80];
	bool listen_explicit;		/* --listen was given */
	struct weirctl_url redis;
	const char *node;		/* --node ID[,ID]; NULL: the registry */
	const char *prefix;
	const char *users_file;
	const char *static_dir;
	bool secure_cookie;		/* Secure on the cookie (behind TLS) */
	char public_origin[256];	/* --public-origin, canonical; "" none */
	bool metrics_public;
	char metrics_token[256];	/* empty: no bearer token */
	unsigned session_idle_s;	/* a session unused this long ends */
	unsigned session_max_s;		/* and none lives longer than this */
	unsigned threads;
	unsigned metrics_hosts;		/* hosts exported on /metrics */
};

extern struct web_cfg web_cfg;

void web_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parses ADDR:PORT, [V6]:PORT. Returns 0 or -1 with a reason. */
int web_listen_parse(const char *text, struct sockaddr_storage *ss,
		     socklen_t *len, char *err, size_t errlen);
bool web_addr_is_loopback(const struct sockaddr_storage *ss);
/* --public-origin: http(s)://HOST[:PORT] with no path (one trailing '/'
 * is dropped) into out. Returns 0 or -1. */
int web_origin_parse(const char *text, char *out, size_t len);

/* ---- users.c ----------------------------------------------------------- */

/* A user name: 1..32 of [A-Za-z0-9._-]. */
bool web_user_name_ok(const char *name);
/* Loads FILE (name:HASH lines). Returns the number of users, or -1 after
 * saying why (unreadable, a line that is not name:$id$...). */
int web_users_load(const char *file);
/* True when name and password match a loaded user; runs crypt(3) even
 * for an unknown name so timing does not tell which names exist. */
bool web_users_check(const char *name, const char *password);
/* --add-user: a random password, printed once; the hash replaces the
 * user's line or is appended (file written with umask 077). Returns 0 or
 * a process exit code after saying why. */
int web_users_add(const char *file, const char *name, FILE *out);
/* The hash of password with a fresh salt: yescrypt ($y$), or sha512
 * ($6$) where yescrypt is unknown. Returns 0 or -1. */
int web_users_hash(const char *password, char *out, size_t len);

/* ---- session.c --------------------------------------------------------- */

#define WEB_SID_HEX 64			/* 256 random bits, as hex */

struct web_session_view {
	char user[33];
	char csrf[WEB_SID_HEX + 1];
};

/* Fills buf with n random bytes from getrandom(2). Returns 0 or -1. */
int web_random(void *buf, size_t n);
/* Creates a session; sid gets its id. Returns 0, -1 when out of random. */
int web_session_new(const char *user, char sid[WEB_SID_HEX + 1],
		    struct web_session_view *v);
/* Looks a session up (and refreshes its idle timer). */
bool web_session_get(const char *sid, struct web_session_view *v);
void web_session_end(const char *sid);
/* Failed logins per client address: 5 in 5 minutes locks the address
 * out until the window ends. */
#define WEB_LOGIN_MAX_FAILS 5
#define WEB_LOGIN_WINDOW_S 300
/* Seconds the address must still wait, 0 when it may try. */
unsigned web_login_blocked(const struct sockaddr *sa);
void web_login_failed(const struct sockaddr *sa);
void web_login_succeeded(const struct sockaddr *sa);
/* Constant-time comparison of two NUL-terminated strings. */
bool web_str_eq_ct(const char *a, const char *b);

/* ---- store.c: Redis, one connection per server thread ---------------- */

struct web_out;

/* The calling thread's weirctl context, connected, or NULL when Redis
 * cannot be reached (a thread tries again at most every 5 s, and logs
 * each failed try). */
struct weirctl_ctx *web_store(void);
/* Chooses the request's nodes (its node= parameter, else --node, else
 * the registry, merged) and loads their meta hashes. Returns 200, or an
 * error status set with web_fail. */
int web_store_nodes(struct MHD_Connection *c, struct weirctl_ctx *ctx,
		    struct web_out *o);
/* After a request: drops the connection if Redis failed during it (or
 * the status says so), so the next request reconnects. */
void web_store_check(struct weirctl_ctx *ctx, int status);
/* A command; NULL on a connection error, or an error reply turned into
 * NULL (logged). The caller frees the reply. */
redisReply *web_cmd(struct weirctl_ctx *ctx, const char *fmt, ...);

/* ---- the response being built ----------------------------------------- */

struct web_out {
	char *buf;
	size_t len;
	FILE *f;
	struct weirctl_json j;
	int status;		/* HTTP status */
	char err[300];		/* message for an error status */
};

/* Sets an error status and message; returns status. */
int web_fail(struct web_out *o, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- params.c ---------------------------------------------------------- */

/* Each returns 0 when the parameter is absent, 1 when it is present and
 * valid (value stored), -1 when present and invalid (o->status 400 and a
 * message say why). */
int web_param_long(struct MHD_Connection *c, struct web_out *o,
		   const char *name, long lo, long hi, long *v);
/* An IPv4 or IPv6 address, parsed with inet_pton and written back in
 * inet_ntop's canonical form (what the engine writes). */
int web_param_ip(struct MHD_Connection *c, struct web_out *o,
		 const char *name, char *buf, size_t len);
/* One of the words in choices (NULL-terminated): *idx gets its index. */
int web_param_choice(struct MHD_Connection *c, struct web_out *o,
		     const char *name, const char *const *choices, int *idx);
/* A name of at most WEB_NAME_MAX bytes of printable ASCII without
 * spaces, braces or '*?[]' (a glob); whether Redis lists it is checked
 * by the caller with web_member. */
int web_param_name(struct MHD_Connection *c, struct web_out *o,
		   const char *name, char *buf, size_t len);
bool web_name_ok(const char *s);
/* True when the text is an address; canonical form into buf. */
bool web_ip_canon(const char *text, char *buf, size_t len);
/* node=ID[,ID]: node ids as weirctl's --node takes them (nodes.c). */
int web_param_nodes(struct MHD_Connection *c, struct web_out *o, char *buf,
		    size_t len);
/* 1 when member is in the sorted set PREFIX{NODE}:zset of a node of the
 * view, 0 when not, -1 on a Redis error. */
int web_member(struct weirctl_ctx *ctx, const char *zset, const char *member);

/* ---- the API ------------------------------------------------------------ */

/* Writes the response body of path into o->j; returns the HTTP status
 * (200, or an error set with web_fail). */
typedef int (*web_api_fn)(struct MHD_Connection *c, struct weirctl_ctx *ctx,
			  struct web_out *o);

int web_api_status(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_hosts(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_host(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_vlans(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_subnets(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_apps(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_categories(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_exporters(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_interfaces(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_alerts(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_alerts_history(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_events(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_flows(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_flows_recent(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);
int web_api_timeseries(struct MHD_Connection *, struct weirctl_ctx *, struct web_out *);

/* api.c: the last entries of a stream of every node as {"node", KEY: []}
 * (a `count` parameter, 1-1000, default 50). */
int web_stream_list(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o,
		    const char *name, const char *what, const char *key,
		    const char *const *strings);
/* api.c: stream entries as JSON objects (a "node" field when merged). */
void web_entries(struct weirctl_json *j, struct weirctl_ctx *ctx,
		 const struct weirctl_entries *l, const char *const *strings);
/* 1 when name is a subnet name a node of the view publishes (a side of a
 * member of P subnets) or "remote", 0 when not, -1 on a Redis error. */
int web_subnet_known(struct weirctl_ctx *ctx, const char *name);

/* api_flows.c, for the host page: the peers of host id (address@vlan),
 * from its flows, into the current object as "peers". */
int web_flows_peers(struct weirctl_ctx *ctx, struct web_out *o,
		    const char *id, const char *ip);

/* api_flows.c, for the VLAN matrix: the flows held on every node of the
 * view (a state= parameter, active or ended, narrows them), with the same
 * bounds as /api/flows; *truncated when a bound was hit, *examined the
 * candidates read. The caller frees *out. Returns 200 or an error. */
struct web_flow_brief {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	unsigned vlan;
	uint64_t bytes, pkts;
};
int web_flows_brief(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o,
		    struct web_flow_brief **out, size_t *n, bool *truncated,
		    uint64_t *examined);

/* api_vlan_matrix.c: /api/vlans?form=matrix. */
int web_vlan_matrix(struct MHD_Connection *c, struct weirctl_ctx *ctx, struct web_out *o);

/* metrics.c: the Prometheus text exposition into o->f. */
int web_metrics(struct weirctl_ctx *ctx, struct web_out *o);

/* http.c */
struct MHD_Daemon *web_http_start(void);
int web_static_load(const char *dir);

#endif
