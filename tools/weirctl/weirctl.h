/* weirctl.h -- what the pieces of weirctl share.
 *
 * weirctl reads the Redis keyspace that docs/redis-keys.md defines and
 * prints it as aligned tables or JSON. It never talks to the engine. The
 * pieces: url.c (which Redis), redis_read.c (connection through the
 * cluster-aware layer, commands and pipelines routed by node, meta
 * check), nodes.c (which engines the view reads: --node or the
 * registry), merge.c (several nodes' sets and hashes as one), walk.c
 * (the pipelined walkers of a sorted set with its hashes), filters.c
 * (command filters), fmt.c (human
 * units, times, text made safe for a terminal), table.c, json.c, one
 * cmd_*.c per group of commands, host_lists.c (the applications and
 * DNS names under `host IP`), flow_index.c (flows filtered through the
 * engine's idx:* sets), stream_read.c (the flows:ended, events and
 * alerts:history streams), alerts_read.c (weir-alertd's active alerts,
 * shared with weir-web) and chart.c (history's terminal chart). A new
 * command is a struct weirctl_cmd added to the table in commands.c; it
 * says which filters it takes, and the option parser, --help, --watch
 * and the bash completion follow. */
#ifndef WEIRCTL_H
#define WEIRCTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

/* The keyspace major version this weirctl reads. */
#define WEIRCTL_KEYSPACE_MAJOR 1

enum weirctl_exit {
	WC_EXIT_OK = 0,
	WC_EXIT_USAGE = 1,	/* bad command line */
	WC_EXIT_REDIS = 2,	/* cannot connect, Redis error, unknown version */
	WC_EXIT_NODATA = 3,	/* nothing published, or no such host */
};

/* Prints "weirctl: ..." and a newline to weirctl_errout (stderr, or the
 * screen buffer under --watch). */
extern FILE *weirctl_errout;
void weirctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- url.c ---------------------------------------------------------- */

struct weirctl_url {
	bool unix_sock;
	char host[256];
	int port;
	char path[512];
	char user[128];		/* empty: AUTH with the password alone */
	char password[256];
	bool has_password;
	int db;
};

/* Parses redis://[[user]:password@]host[:port][/db], unix:///path[?db=N
 * &password=P] or a bare socket path (starting with '/' or '.').
 * Returns 0, or -1 with a reason in err. */
int weirctl_url_parse(const char *text, struct weirctl_url *u,
		      char *err, size_t errlen);
/* The URL as it may be shown: the password replaced by "***". */
void weirctl_url_show(const struct weirctl_url *u, char *buf, size_t len);
/* A new cluster-aware endpoint (rcluster.h) for the URL, not connected;
 * NULL when out of memory. */
struct weir_rc *weirctl_url_rc(const struct weirctl_url *u, uint32_t timeout_ms);

/* ---- redis_read.c ---------------------------------------------------- */

struct weir_rc;

struct weirctl_conn {
	struct weir_rc *rc;	/* one server or a Redis Cluster (rcluster.h) */
	redisContext *c;	/* the current node's connection, owned by rc */
	struct weirctl_url url;
	char shown[1024];	/* URL for messages, password masked */
};

/* Connects, authenticates and selects the db (a single server), or learns
 * the slot map (a cluster). Prints what failed and returns WC_EXIT_REDIS,
 * or WC_EXIT_OK. */
int weirctl_redis_connect(struct weirctl_conn *conn);
void weirctl_redis_close(struct weirctl_conn *conn);
/* What the last failure was, for messages. */
const char *weirctl_redis_errstr(const struct weirctl_conn *conn);

/* Field lookups in an HGETALL reply (an array of field, value, ...). */
const char *weirctl_hash_get(const redisReply *h, const char *field);
/* The field as an unsigned number; 0 when absent or not a number. */
uint64_t weirctl_hash_u64(const redisReply *h, const char *field);
/* Same, but says whether the field was there and numeric. */
bool weirctl_hash_u64_ok(const redisReply *h, const char *field, uint64_t *v);

struct weirctl_ctx;

/* What the walker hands to a command for each hash it read.
 * Return 0 to go on, 1 to stop early (enough rows), <0 on error. */
typedef int (*weirctl_walk_cb)(struct weirctl_ctx *ctx, void *arg,
			       const char *id, const redisReply *hash);
/* Decides from the member id alone whether the hash is worth reading. */
typedef bool (*weirctl_walk_id_cb)(struct weirctl_ctx *ctx, void *arg,
				   const char *id);

/* Walks the sorted set PREFIX{NODE}:ZSET from the highest score down,
 * reading PREFIX{NODE}:HASHPFX<member> for each member with HGETALL,
 * pipelined in batches of WEIRCTL_BATCH. Members removed between the two
 * reads are skipped; a member seen twice (the set reordered while being
 * walked) is handed over once. Returns WC_EXIT_OK or WC_EXIT_REDIS.
 *
 * Over several nodes (merge.c) a member is one row: the sets are read
 * whole and their scores summed, the ranking is the sums, and each hash
 * handed over is the merge of the nodes' hashes (weirctl_hash_merge),
 * the walker's own, which the callback may adjust. */
#define WEIRCTL_BATCH 1000
int weirctl_walk(struct weirctl_ctx *ctx, const char *zset,
		 const char *hashpfx, weirctl_walk_id_cb want, weirctl_walk_cb cb,
		 void *arg);
/* The same walk where a member of one node is never another's (flows: a
 * flow lives on one node and ids repeat across nodes): the nodes' sets
 * are merged by score as they are read, in batches, and the callback
 * runs with the row's node current (ctx->cur_node, ctx->keypfx). */
int weirctl_walk_union(struct weirctl_ctx *ctx, const char *zset,
		       const char *hashpfx, weirctl_walk_id_cb want,
		       weirctl_walk_cb cb, void *arg);

/* HGETALL of one key (name after the node prefix), merged over the
 * nodes of the view. *out is the reply, an empty array when the key is
 * missing. Returns WC_EXIT_OK/WC_EXIT_REDIS. */
int weirctl_hgetall(struct weirctl_ctx *ctx, const char *name,
		    redisReply **out);

/* ZREVRANGE PREFIX{NODE}:name 0 max-1 WITHSCORES: *out is a reply of
 * member, score, member, score... (empty when the key is missing), or
 * NULL after an error was said; over several nodes, the top max of the
 * summed set. Returns WC_EXIT_OK/WC_EXIT_REDIS. */
int weirctl_zrevrange_scores(struct weirctl_ctx *ctx, const char *name,
			     long max, redisReply **out);
/* A zset score as a count: Redis writes it as a double ("8000000",
 * "1.2e+17"); negative, NaN or unreadable give 0. */
uint64_t weirctl_score_u64(const redisReply *score);

/* The major number of a meta `version` field ("1", "1.2"), -1 when it is
 * missing or unreadable. A reader takes WEIRCTL_KEYSPACE_MAJOR only. */
long weirctl_keyspace_major(const char *version);
/* Reads and checks the current node's meta hash into ctx->meta. Returns
 * WC_EXIT_OK, WC_EXIT_NODATA (never published; with ctx->lenient an
 * empty meta and WC_EXIT_OK) or WC_EXIT_REDIS. */
int weirctl_meta_load(struct weirctl_ctx *ctx);

/* One command about the current node (routed by its key prefix, so to
 * the master that holds it in a cluster); NULL when the connection
 * failed (weirctl_redis_errstr says why). The caller frees the reply. */
redisReply *weirctl_command(struct weirctl_ctx *ctx, const char *fmt, ...);
redisReply *weirctl_vcommand(struct weirctl_ctx *ctx, const char *fmt, va_list ap);
redisReply *weirctl_commandargv(struct weirctl_ctx *ctx, int argc,
				const char **argv, const size_t *lens);
/* Says "Redis at URL failed during what: why"; returns WC_EXIT_REDIS. */
int weirctl_redis_fail(struct weirctl_ctx *ctx, const char *what);

/* A pipeline to one node: commands are formatted when added, sent
 * together by weirctl_pipe_run, and the replies land in r[0..n). */
struct weirctl_pipe {
	char **cmd;
	size_t *len;
	redisReply **r;
	size_t n, cap;
};

void weirctl_pipe_add(struct weirctl_pipe *p, const char *fmt, ...);
void weirctl_pipe_vadd(struct weirctl_pipe *p, const char *fmt, va_list ap);
void weirctl_pipe_addargv(struct weirctl_pipe *p, int argc, const char **argv,
			  const size_t *lens);
/* Sends the commands to node's master (node < 0: the current node) and
 * reads every reply. Replies that say the slot moved, or that a lost
 * connection never gave, are asked once more after re-discovery. Returns
 * WC_EXIT_OK (error replies are the caller's to judge), or WC_EXIT_REDIS
 * (nothing said: weirctl_redis_fail) with r[k] NULL for a command left
 * unanswered. */
int weirctl_pipe_run(struct weirctl_ctx *ctx, int node, struct weirctl_pipe *p);
/* Frees the commands and replies, keeps the arrays for the next round. */
void weirctl_pipe_clear(struct weirctl_pipe *p);
void weirctl_pipe_free(struct weirctl_pipe *p);

/* ---- filters.c -------------------------------------------------------- */

enum {
	WC_F_VLAN = 1 << 0,
	WC_F_SUBNET = 1 << 1,
	WC_F_TOP = 1 << 2,
	WC_F_HOST = 1 << 3,
	WC_F_PORT = 1 << 4,
	WC_F_PROTO = 1 << 5,
	WC_F_MATRIX = 1 << 6,
	WC_F_ARG_IP = 1 << 7,	/* one positional address */
	WC_F_ARG_WORD = 1 << 8,	/* one positional word (completion) */
	WC_F_APP = 1 << 9,
	WC_F_CATEGORY = 1 << 10,
	WC_F_RECENT = 1 << 11,	/* --recent [N] */
	WC_F_FOLLOW = 1 << 12,
	WC_F_TYPE = 1 << 13,	/* --type T (events) */
	WC_F_SINCE = 1 << 14,	/* --since 1h|24h|7d|30d (any N s/m/h/d) */
	WC_F_RES = 1 << 15,	/* --res 1s|1m|5m */
	WC_F_ARG_WORD2 = 1 << 16,	/* a second positional word, optional */
	WC_F_COUNT = 1 << 17,	/* takes the global --count without --watch */
	WC_F_HISTORY = 1 << 18,	/* --history (alerts) */
};

/* Time series resolutions (docs/redis-keys.md, "Time series"). */
enum weirctl_res { WC_RES_AUTO = -1, WC_RES_1S, WC_RES_1M, WC_RES_5M };

struct weirctl_addr {
	int af;			/* 0: none */
	unsigned char bin[16];
};

struct weirctl_filters {
	long vlan;		/* -1: any */
	const char *subnet;
	long top;		/* -1: the command's default; 0: all */
	struct weirctl_addr host;
	const char *host_text;
	long port;		/* -1: any */
	int proto;		/* -1: any */
	bool matrix;
	struct weirctl_addr ip;	/* WC_F_ARG_IP */
	const char *ip_text;
	const char *word;	/* WC_F_ARG_WORD */
	const char *app;	/* WC_F_APP: an nDPI name, any case */
	const char *category;	/* WC_F_CATEGORY: an nDPI category, any case */
	long recent;		/* WC_F_RECENT: -1 not asked, else N */
	bool follow;		/* WC_F_FOLLOW */
	const char *type;	/* WC_F_TYPE */
	int64_t since_ms;	/* WC_F_SINCE: 0 when not given */
	int res;		/* WC_F_RES: enum weirctl_res */
	const char *word2;	/* WC_F_ARG_WORD2 */
	long count;		/* WC_F_COUNT: -1 when not given */
	bool history;		/* WC_F_HISTORY */
};

/* Parses "90s", "15m", "24h", "7d" into ms; -1 when it is not that. */
int64_t weirctl_since_parse(const char *text);
/* The values an option offers to the completion ("" for none). */
const char *weirctl_filter_values(const char *option);

/* Parses the command's own arguments. Returns WC_EXIT_OK or
 * WC_EXIT_USAGE after saying what is wrong. */
int weirctl_filters_parse(const char *cmd, unsigned accepted, int argc,
			  char **argv, struct weirctl_filters *f);
int weirctl_addr_parse(const char *text, struct weirctl_addr *a);
bool weirctl_addr_eq_text(const struct weirctl_addr *a, const char *text);
int weirctl_proto_parse(const char *text);
const char *weirctl_proto_name(unsigned proto, char *buf, size_t len);
/* The option names of the filters in mask, space separated. */
void weirctl_filter_names(unsigned mask, char *buf, size_t len);
/* The protocol names --proto knows, space separated. */
void weirctl_proto_names(char *buf, size_t len);
/* The filter options that must take a value, '|' separated (for a shell
 * case pattern). */
void weirctl_filter_valued_names(char *buf, size_t len);
/* True when a flow whose `app` is app and `application` is application
 * matches --app want: either of them, or either half of app's
 * MASTER.APP pair (TLS.YouTube answers to TLS and to YouTube), compared
 * without regard to case. NULL fields match nothing. */
bool weirctl_app_matches(const char *want, const char *app,
			 const char *application);
/* True when the subnet pair (src, the srclen bytes at src; dst) matches
 * --subnet want: want SRC>DST that pair exactly, want NAME a pair with
 * NAME at either end. Compared byte for byte (names are case-sensitive). */
bool weirctl_subnet_match(const char *want, const char *src, size_t srclen,
			  const char *dst);

/* ---- fmt.c ------------------------------------------------------------ */

/* 1000-based: "999 B", "1.23 KB", "45.6 MB", "789 GB". */
const char *weirctl_fmt_bytes(uint64_t v, char *buf, size_t len);
/* A rate in bits per second: "0 bit/s", "1.50 Mbit/s". */
const char *weirctl_fmt_bps(uint64_t v, char *buf, size_t len);
/* A count: "999", "12.3k", "4.56M". */
const char *weirctl_fmt_count(uint64_t v, char *buf, size_t len);
/* part as a percentage of total: "85.2%", "<0.1%" for a sliver that
 * would round to 0.0%, "-" when total is 0. */
const char *weirctl_fmt_share(uint64_t part, uint64_t total, char *buf,
			      size_t len);
/* Unix ms as local "YYYY-MM-DD HH:MM:SS"; "-" for 0. */
const char *weirctl_fmt_time(uint64_t ms, char *buf, size_t len);
/* An age: "3s", "4m05s", "2h10m", "3d04h". */
const char *weirctl_fmt_age(int64_t ms, char *buf, size_t len);
/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid. */
size_t weirctl_utf8_len(const unsigned char *p, size_t n);
/* True when text matches the JSON number grammar. */
bool weirctl_is_json_number(const char *s);
int64_t weirctl_now_ms(void);
/* Unix ms as local "HH:MM:SS" (span under an hour), "HH:MM" (under a
 * day), "MM-DD HH:MM" (up to a week) or "YYYY-MM-DD" (longer): the x
 * axis of a chart. */
const char *weirctl_fmt_tick(uint64_t ms, int64_t span_ms, char *buf,
			     size_t len);

/* ---- table.c ---------------------------------------------------------- */

struct weirctl_table;

/* align: one letter per column, 'l' or 'r'. */
struct weirctl_table *weirctl_table_new(const char *const *headers,
					const char *align);
void weirctl_table_cell(struct weirctl_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A cell of n bytes that may hold anything, NUL included (a DNS name
 * off the wire): made safe like the others. */
void weirctl_table_cell_n(struct weirctl_table *t, const char *s, size_t n);
void weirctl_table_highlight(struct weirctl_table *t);	/* current row */
/* Leaves column col out when the table is printed. */
void weirctl_table_hide(struct weirctl_table *t, size_t col);
/* Writes the n bytes of s made safe the way cells are (control bytes
 * and invalid UTF-8 as '?'): for lines printed outside a table. */
void weirctl_put_safe(FILE *f, const char *s, size_t n);
void weirctl_table_end_row(struct weirctl_table *t);
size_t weirctl_table_rows(const struct weirctl_table *t);
void weirctl_table_print(struct weirctl_table *t, FILE *f, bool color);
void weirctl_table_free(struct weirctl_table *t);

/* ---- json.c ----------------------------------------------------------- */

struct weirctl_json {
	FILE *f;
	int depth;
	bool need_comma[16];
	bool after_key;
};

void weirctl_json_init(struct weirctl_json *j, FILE *f);
void weirctl_json_begin_obj(struct weirctl_json *j);
void weirctl_json_end_obj(struct weirctl_json *j);
void weirctl_json_begin_arr(struct weirctl_json *j);
void weirctl_json_end_arr(struct weirctl_json *j);
void weirctl_json_key(struct weirctl_json *j, const char *k);
void weirctl_json_str(struct weirctl_json *j, const char *s);
/* A string of n bytes, NUL bytes included. */
void weirctl_json_strn(struct weirctl_json *j, const char *s, size_t n);
void weirctl_json_u64(struct weirctl_json *j, uint64_t v);
void weirctl_json_null(struct weirctl_json *j);
/* Writes a number given as text already checked by weirctl_is_json_number. */
void weirctl_json_raw_num(struct weirctl_json *j, const char *s);
/* Writes the fields of an HGETALL reply into the current object: fields
 * named in strings (NULL-terminated) as strings, the others as numbers
 * when they are numbers, as strings otherwise. */
void weirctl_json_hash_fields(struct weirctl_json *j, const redisReply *h,
			      const char *const *strings);

/* ---- nodes.c: which engines the view reads ----------------------------- */

#define WEIRCTL_NODES_MAX 64
#define WEIRCTL_NODE_ID_MAX 63

struct weirctl_node {
	char id[WEIRCTL_NODE_ID_MAX + 1];
	char keypfx[512];	/* PREFIX{ID}: */
	redisReply *meta;	/* its meta hash, checked */
};

/* True when the n bytes of s are a node id a reader takes: 1 to 63
 * printable ASCII bytes without braces, colon, comma, space or a glob
 * character (the engine takes letters, digits, - and _). */
bool weirctl_node_id_ok(const char *s, size_t n);
/* Checks a --node value: one id or a comma list of at most
 * WEIRCTL_NODES_MAX. 0, or -1 with the reason in err. */
int weirctl_nodes_check(const char *list, char *err, size_t errlen);
/* Chooses the nodes of the view and loads their meta hashes: the ids of
 * ctx->node_arg when given (each must have published), else the nodes
 * registered in PREFIXnodes that have a meta hash and that
 * weirctl_nodes_pick keeps (saying on stderr which it merged and left
 * out, unless ctx->lenient), else "local". Sets
 * ctx->node to the view's label ("a" or "a,b"). Returns WC_EXIT_OK,
 * WC_EXIT_NODATA (no engine published) or WC_EXIT_REDIS. */
int weirctl_nodes_select(struct weirctl_ctx *ctx);
void weirctl_nodes_free(struct weirctl_ctx *ctx);
/* A registered node as weirctl_nodes_pick sees it (from its meta). */
struct weirctl_node_run {
	const char *id;
	bool running;		/* state running, or none (a meta by hand) */
	uint64_t started_ms, updated_ms;
};
/* How close (ms) a finished node's last update must come to the others'
 * run for a view without --node to merge it. */
#define WEIRCTL_NODES_GAP_MS 60000
/* Which of n registered nodes a view without --node reads (keep[i]):
 * those running and those that ended within the gap of the newest update
 * of a running one; with none running, the newest finished one and
 * those that ran with it or back to back (each ended within the gap
 * before the earliest start of the nodes kept so far). nodes.c's top
 * says why; weir-web chooses the same way (it calls this), weir-alertd
 * does not: it watches every registered node (docs/scaling.md). */
void weirctl_nodes_pick(const struct weirctl_node_run *r, size_t n, bool *keep);
/* Of the ctx->nnodes nodes with their meta loaded, keeps those
 * weirctl_nodes_pick keeps (freeing the others' metas) and, unless
 * ctx->lenient, says on weirctl_errout which it merged and left out (the
 * text cut to a bounded length: a state is whatever the meta holds). */
void weirctl_nodes_pick_registered(struct weirctl_ctx *ctx);
/* Makes node i current (keypfx, cur_node, meta, conn.c) and the view that
 * node alone until weirctl_node_unfocus gives the merged view back. */
void weirctl_node_focus(struct weirctl_ctx *ctx, size_t i);
void weirctl_node_unfocus(struct weirctl_ctx *ctx);
/* Gives back the focus a loop found (ctx->focus before it). */
void weirctl_node_restore(struct weirctl_ctx *ctx, long focus);
/* How many nodes the view reads now: 1 while focused. */
size_t weirctl_view_nodes(const struct weirctl_ctx *ctx);
/* The nodes of the view now (indexes into ctx->nodes) into idx, which
 * holds WEIRCTL_NODES_MAX; returns how many. A loop that focuses each in
 * turn takes them first: focusing changes the view. */
size_t weirctl_view(const struct weirctl_ctx *ctx, size_t *idx);

/* ---- merge.c: several nodes' numbers as one ------------------------------ */

/* A member of a sorted set summed over nodes. */
struct weirctl_zmember {
	char *m;		/* NUL-terminated copy (may hold NUL: len) */
	size_t len;
	uint64_t score;		/* the sum */
	uint64_t nodes;		/* bit i: node i of ctx->nodes has it */
};

struct weirctl_zsum {
	struct weirctl_zmember *v;
	size_t n;
};

/* Reads PREFIX{NODE}:name whole on every node of the view (ZRANGE 0 -1
 * WITHSCORES, one pipeline a node) and sums the scores member by member;
 * out sorted by the sums, highest first (equal sums: the member greater
 * byte-wise first, as ZREVRANGE). WC_EXIT_OK or WC_EXIT_REDIS. */
int weirctl_zsum_read(struct weirctl_ctx *ctx, const char *name,
		      struct weirctl_zsum *out);
void weirctl_zsum_free(struct weirctl_zsum *z);
/* The first max members (0: all) as a WITHSCORES-like reply. */
redisReply *weirctl_zsum_reply(const struct weirctl_zsum *z, size_t max);

/* One hash from the HGETALL replies of the same key on n nodes (NULL or
 * empty ones are skipped): counters summed, first_seen the least,
 * last_seen, peers and device readings (speed, in_octets...) the
 * greatest, names and identities (ip, vlan, name, mac, subnet, src,
 * dst, version, ifindex...) the first non-empty. A new reply, freed
 * with freeReplyObject; an empty array when every input was. */
redisReply *weirctl_hash_merge(redisReply *const *h, size_t n);
/* Replaces (or adds) field in a reply the walker or merge made. */
void weirctl_hash_set_u64(redisReply *h, const char *field, uint64_t v);
void weirctl_hash_set_str(redisReply *h, const char *field, const char *v);
/* HGETALL PREFIX{NODE}:hashpfx<member> of each member on the nodes that
 * have it (their bits), pipelined, merged into out[i] (an empty array
 * for a member gone). WC_EXIT_OK or WC_EXIT_REDIS. */
int weirctl_hashes_merged(struct weirctl_ctx *ctx, const char *hashpfx,
			  const struct weirctl_zmember *m, size_t n,
			  redisReply **out);
/* Hosts per VLAN over the nodes of the view: the distinct host ids
 * ADDR@VLAN of their P hosts sets (a host two nodes saw counts once),
 * into counts[0..4095]. WC_EXIT_OK or WC_EXIT_REDIS. */
int weirctl_vlan_host_counts(struct weirctl_ctx *ctx, uint64_t *counts);
/* The VLAN of host id ADDR@VLAN (the digits after the last '@', 0 to
 * 4095), or -1 when id is not so. */
long weirctl_host_id_vlan(const char *id);
/* A time series point "T:BYTES:PKTS:FLOWS" of n bytes into v. */
bool weirctl_ts_point(const char *s, size_t n, uint64_t v[4]);

/* ---- the context and the commands ------------------------------------- */

struct weirctl_ctx {
	struct weirctl_conn conn;
	const char *node;	/* the view: one node id, or "a,b" merged */
	const char *node_arg;	/* --node as given; NULL: the registry */
	const char *prefix;
	char keypfx[512];	/* PREFIX{NODE}: of the current node */
	const char *cur_node;	/* the current node's id */
	struct weirctl_node *nodes;	/* the view's, after weirctl_nodes_select */
	size_t nnodes;
	long focus;		/* the node the view is narrowed to, -1: all */
	char label[WEIRCTL_NODES_MAX * (WEIRCTL_NODE_ID_MAX + 1) + 1];
	bool lenient;		/* weir-web: a node not published yet is empty */
	unsigned redis_failures;	/* pipelines that failed (weir-web: reconnect) */
	bool json;
	bool color;
	bool watching;
	FILE *out;
	redisReply *meta;	/* the current node's meta hash */
	struct weirctl_filters f;
	int64_t now_ms;
	char zset_cached[64];	/* the last set summed by a merged walk */
	uint64_t zset_cached_n;	/* and its distinct members */
};

/* The header line above every table: node, state, cycle, the time of
 * the last publish and its age. */
void weirctl_print_publish_line(struct weirctl_ctx *ctx);

/* ---- output.c --------------------------------------------------------- */

/* A field's value in a person's unit, chosen from the field's name
 * (bytes, rates, times, durations, large counts); "" when none fits. */
const char *weirctl_human(const char *field, const char *value, char *buf,
			  size_t len);
/* The fields of h, those named in order first (in that order), then
 * drop_* then the rest in natural order. Caller frees both arrays. */
size_t weirctl_hash_sorted(const redisReply *h, const char *const *order,
			   const char ***names, const char ***values);
/* One hash as FIELD / VALUE / READABLE rows. */
void weirctl_detail_table(struct weirctl_ctx *ctx, const redisReply *h,
			  const char *const *order);
/* A counter of something lost, refused or broken (drop_*, *_missed...). */
bool weirctl_is_drop_counter(const char *name);
/* Members of PREFIX{NODE}:zset; over several nodes the distinct members
 * (a host two nodes saw is one), but for flows the sum (a flow lives on
 * one node and flow ids repeat across nodes). */
int weirctl_zcard(struct weirctl_ctx *ctx, const char *zset, uint64_t *n);
/* A list command's output: a JSON array, or a table (columns hdr, one
 * alignment letter each in align). list_begin opens it; list_end closes it
 * after the walk that filled it (returning ret): with a table it prints the
 * publish line, the table and "N of M" for zset, and frees the table. */
void weirctl_list_begin(struct weirctl_ctx *ctx, struct weirctl_json *j,
			struct weirctl_table **t, const char *const *hdr, const char *align);
int weirctl_list_end(struct weirctl_ctx *ctx, struct weirctl_json *j,
		     struct weirctl_table *t, uint64_t shown, int ret,
		     const char *zset, const char *what);
/* "showing N of M things" under a table cut by --top. */
void weirctl_print_shown(struct weirctl_ctx *ctx, uint64_t shown,
			 const char *zset, const char *what);

enum {
	WC_CMD_REDIS = 1 << 0,	/* needs Redis and a published meta hash */
	WC_CMD_WATCH = 1 << 1,	/* prints a table that --watch may repeat */
};

struct weirctl_cmd {
	const char *name;
	const char *args;	/* synopsis of its filters */
	const char *summary;	/* one line for the command list */
	const char *help;	/* the rest of its --help */
	unsigned filters;	/* WC_F_* it accepts */
	unsigned flags;		/* WC_CMD_* */
	int (*run)(struct weirctl_ctx *ctx);
	const char *words;	/* completion of the first positional word */
};

extern const struct weirctl_cmd *const weirctl_cmds[];
const struct weirctl_cmd *weirctl_cmd_find(const char *name);

extern const struct weirctl_cmd weirctl_cmd_hosts, weirctl_cmd_host,
	weirctl_cmd_flows, weirctl_cmd_vlans, weirctl_cmd_subnets,
	weirctl_cmd_exporters, weirctl_cmd_interfaces, weirctl_cmd_status,
	weirctl_cmd_completion, weirctl_cmd_apps, weirctl_cmd_categories,
	weirctl_cmd_history, weirctl_cmd_events, weirctl_cmd_alerts;

/* cmd_hosts.c: the host ids ADDR@VLAN of address canon (inet_ntop's
 * text) on the nodes of the view (ZSCAN of P hosts), each once with the
 * nodes that have it. WC_EXIT_OK or WC_EXIT_REDIS (out then freed and
 * empty: weirctl_zsum_free on it again is harmless). */
int weirctl_host_ids(struct weirctl_ctx *ctx, const char *canon,
		     struct weirctl_zsum *out);

/* cmd_hosts.c: weirctl_host_ids, then each id's host hash merged over the
 * nodes that have it: *hs (ids->n entries, NULL for none found, each to
 * freeReplyObject, the array to free) is NULL when there is no id. The
 * caller frees ids (weirctl_zsum_free) whatever the result. */
int weirctl_host_hashes(struct weirctl_ctx *ctx, const char *canon,
			struct weirctl_zsum *ids, redisReply ***hs);

/* host_lists.c: under `host IP`, the applications and DNS names of host
 * id; with --json, the keys "apps" and "dns_names" of the current
 * object. Returns WC_EXIT_OK or WC_EXIT_REDIS. */
int weirctl_host_lists(struct weirctl_ctx *ctx, struct weirctl_json *j,
		       const char *id);

/* ---- flow_index.c ------------------------------------------------------ */

/* The flows the idx:* sets say match ctx->f (--host, --vlan, --subnet
 * SRC>DST or NAME, --port, --app): *ids is a sorted malloc'd array of *n
 * malloc'd ids. *used is false when the sets cannot answer (no such
 * filter given, or the engine publishes no indexes): the caller reads
 * every flow then. *exact is false when a filter given has no set
 * (--proto, --category, --port 0, an --app that is no application), so
 * some ids may still fail the hash check. Returns WC_EXIT_OK,
 * WC_EXIT_REDIS, or WC_EXIT_NODATA after saying that --subnet has
 * nothing to read without indexes. */
int weirctl_flow_index(struct weirctl_ctx *ctx, char ***ids, size_t *n,
		       bool *used, bool *exact);
void weirctl_ids_free(char **ids, size_t n);
/* Whether the current node keeps the idx:* sets: *kept, or *no_flows
 * when P flows is empty (nothing to tell by). WC_EXIT_OK/WC_EXIT_REDIS. */
int weirctl_flow_indexes_kept(struct weirctl_ctx *ctx, bool *kept,
			      bool *no_flows);
/* Flow ids of several nodes ranked by their score in P flows (bytes). */
struct weirctl_ranked {
	char *id;
	size_t node;		/* index in ctx->nodes */
	uint64_t score;
};

struct weirctl_rank {
	struct weirctl_ranked *v;
	size_t n, cap;
};

/* Adds the ids of node (taken over: set to NULL) with their scores, one
 * pipelined ZMSCORE of P flows per WEIRCTL_BATCH ids; ids no longer in
 * P flows are left out (and stay the caller's to free). WC_EXIT_OK or
 * WC_EXIT_REDIS. */
int weirctl_flow_rank(struct weirctl_ctx *ctx, size_t node, char **ids,
		      size_t n, struct weirctl_rank *out);
/* Most bytes first, then the id from the highest (as ZREVRANGE), then
 * the node. */
void weirctl_rank_sort(struct weirctl_rank *r);
void weirctl_rank_free(struct weirctl_rank *r);
/* The application want stands for in P apps, spelt as the engine spells
 * it (*out malloc'd), or *out NULL when it is none; want may be any case
 * or a pair MASTER.APP, looked up by its APP half. */
int weirctl_app_name(struct weirctl_ctx *ctx, const char *want, char **out);

/* ---- stream_read.c ----------------------------------------------------- */

/* Entries of a stream, newest first; each is the reply's [ID, [field,
 * value, ...]] array, alive as long as the list, and node[i] the index in
 * ctx->nodes of the node whose stream held e[i]. */
struct weirctl_entries {
	redisReply **batches;
	size_t nbatches;
	const redisReply **e;
	size_t *node;
	size_t n, cap;
};

/* Decides whether an entry's fields (an array like HGETALL's) count. */
typedef bool (*weirctl_entry_cb)(struct weirctl_ctx *ctx, void *arg,
				 const redisReply *fields);

/* Reads PREFIX{NODE}:stream backwards with XREVRANGE in batches until
 * want entries passed keep (NULL keeps all) or the stream ends; over
 * several nodes, each node's so, interleaved by time and cut to want.
 * Malformed entries are skipped. Returns WC_EXIT_OK or WC_EXIT_REDIS. */
int weirctl_stream_last(struct weirctl_ctx *ctx, const char *stream,
			long want, weirctl_entry_cb keep, void *arg,
			struct weirctl_entries *out);
void weirctl_entries_free(struct weirctl_entries *l);
/* True when r is a well-formed entry: [ID string, even array of strings]. */
bool weirctl_entry_ok(const redisReply *r);
/* The unix ms of a stream id "MS-SEQ", 0 when unreadable. */
uint64_t weirctl_stream_id_ms(const char *id);

/* ---- alerts_read.c ------------------------------------------------------ */

/* The alerts weir-alertd keeps active (docs/alerts.md): the HGETALL
 * replies of P alert:ID for every id in P alerts:active, in the order
 * people read them: critical, warning, info, anything else; within a
 * severity the most recently engaged first (then the higher id). Ids
 * that are not numbers, and hashes gone (expired) or already released
 * between the two reads, are left out and counted in skipped. */
struct weirctl_alerts {
	redisReply **h;
	size_t n;
	size_t skipped;
};

/* Returns WC_EXIT_OK or WC_EXIT_REDIS (after saying why). */
int weirctl_alerts_active(struct weirctl_ctx *ctx, struct weirctl_alerts *out);
void weirctl_alerts_free(struct weirctl_alerts *a);
/* 0 critical, 1 warning, 2 info, 3 anything else or NULL. */
int weirctl_severity_rank(const char *severity);
/* True when an alert's entity names the host ip (canonical text) on
 * vlan (-1: any): the host id IP@VLAN itself, host:IP@VLAN (threshold),
 * IP@VLAN/APP (new-app), or the address alone or on either side of
 * SRC>DST (boundary, which names no VLAN). */
bool weirctl_alert_about_host(const char *entity, const char *ip, long vlan);
/* Fields that stay JSON strings: of P alert:ID, of P alerts:history. */
extern const char *const weirctl_alert_strings[];
extern const char *const weirctl_alert_history_strings[];

/* ---- chart.c ----------------------------------------------------------- */

struct weirctl_chart {
	const double *v;	/* one value a point, oldest first */
	size_t n;
	uint64_t t0_ms;		/* the time of v[0] */
	int64_t step_ms;	/* between two points */
	int width;		/* columns for the whole drawing */
	int rows;		/* 8 to 12 */
	bool utf8;		/* block characters, else ASCII */
};

/* Draws v as columns of bits per second, with the value axis on the left
 * (top: the tallest column, formatted as weirctl_fmt_bps) and times
 * under it. Points beyond the columns available are averaged, several
 * to a column. */
void weirctl_chart_draw(FILE *f, const struct weirctl_chart *c);
/* True when the locale (LC_ALL, LC_CTYPE, then LANG) is UTF-8. */
bool weirctl_locale_utf8(void);

/* The global options, for --help and the completion script. */
extern const char weirctl_global_help[];

#endif
