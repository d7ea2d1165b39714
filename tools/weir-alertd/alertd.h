/* alertd.h -- what the pieces of weir-alertd share.
 *
 * weir-alertd reads the engine's Redis keyspace (docs/redis-keys.md) and
 * turns it into alerts: the events stream through a consumer group, the
 * time series, host hashes and flow indexes by polling. It never talks to
 * the engine. Alerts are written back under the same prefix
 * (docs/alerts.md) and delivered by webhook, syslog and email.
 *
 * Several engines (nodes) may publish into one Redis or Redis Cluster.
 * weir-alertd watches every registered node, or those --node names:
 * each node's events are read from its own stream and its event alerts
 * written under that node (one slot, one transaction with the XACK);
 * threshold, scan and dns-quiet rules read the merged view (the sum over
 * the nodes) and write their alerts under one node, the home.
 *
 * The pieces:
 *   units.c      durations, quantities, times of day, lists, globs, CIDRs
 *   conf.c       the config and rules files: sections, keys, validation
 *   conf_rule.c  the keys of a [rule] section, per kind
 *   store.c      Redis: connection, consumer group, claims, atomic commits
 *   nodes.c      which nodes are watched (--node or the registry), the home
 *   view.c       the merged view: rankings and hashes over the nodes
 *   alerts.c     the alert table and lifecycle (engaged, updated, released)
 *   events.c     rules fed by the events stream (boundary, new-host, ...)
 *   threshold.c  rules on time series and host counters
 *   scan.c       a host contacting many peers or ports
 *   flowidx.c    the flows of a flow index set (scan, peers/ports)
 *   dnsquiet.c   DNS queries in quiet hours
 *   note.c       a notification: serialised for the outbox, rendered as
 *                JSON, Slack, Discord, text
 *   deliver.c    the delivery queue, worker threads, retries, rate limits
 *   webhook.c, syslog_out.c, email.c, addrpolicy.c, hmac.c: the backends
 *   main.c       options, signals, the loop
 *
 * Threads: the main thread owns the configuration, the alert tables and
 * the nodes' Redis connections. Delivery workers own only their jobs; they see a
 * configuration through a reference (alertd_conf_get/put) and hand their
 * results back through a queue the main thread drains. */
#ifndef WEIR_ALERTD_H
#define WEIR_ALERTD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include "../weirctl/weirctl.h"	/* url parsing, JSON writer, app names */

#define ALERTD_NAME_MAX 64
#define ALERTD_MAX_NOTIFY 8
#define ALERTD_MAX_DESTS 64
#define ALERTD_MAX_RULES 512
#define ALERTD_ENTITY_MAX 256
#define ALERTD_SUMMARY_MAX 512
#define ALERTD_NODES_MAX WEIRCTL_NODES_MAX	/* watched at once */
#define ALERTD_NODE_MAX WEIRCTL_NODE_ID_MAX	/* a node id's length */

/* Says "weir-alertd: ..." on stderr (and nothing else: no syslog of our
 * own errors, a destination may be the thing that is broken). */
void alertd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int alertd_verbose;
#define alertd_debug(...) do { if (alertd_verbose) alertd_log(__VA_ARGS__); } while (0)

int64_t alertd_now_ms(void);

/* ---- units.c ----------------------------------------------------------- */

/* "30s", "5m", "2h", "1d", "250ms", bare seconds "30". <0: invalid. */
int alertd_parse_duration_ms(const char *s, int64_t *out);
/* The other way: 600000 -> "10m", 5400000 -> "1h30m", 250 -> "250ms". */
void alertd_fmt_duration(int64_t ms, char *buf, size_t len);
/* "800M", "1.5k", "42", 1000-based suffixes k M G T. */
int alertd_parse_quantity(const char *s, double *out);
/* "00:00-05:00": minutes of the day; from == to is refused. */
int alertd_parse_tod_range(const char *s, int *from_min, int *to_min);
/* True when minute-of-day m is inside [from, to), wrapping past midnight. */
bool alertd_tod_inside(int from_min, int to_min, int m);
/* "yes"/"no"/"true"/"false"/"on"/"off"/"1"/"0". */
int alertd_parse_bool(const char *s, bool *out);
/* "N/PERIOD": "20/1m", "5/min", "100/h". */
int alertd_parse_rate(const char *s, unsigned *n, int64_t *period_ms);

struct alertd_cidr {
	int af;			/* 0: none */
	unsigned char bin[16];
	unsigned plen;
};
int alertd_cidr_parse(const char *s, struct alertd_cidr *c);
bool alertd_cidr_has(const struct alertd_cidr *c, const char *addr);

/* Splits "a, b ,c" into at most max trimmed tokens held in buf.
 * Returns the count, or -1 when there are more than max or one is
 * empty. */
int alertd_split_list(const char *s, char *buf, size_t buflen,
		      char **tok, int max);

/* The address part of a host id "ADDR@VLAN" into buf. */
const char *alertd_host_ip(const char *host_id, char *buf, size_t len);

/* ---- conf.c, conf_rule.c --------------------------------------------- */

enum alertd_dest_type { ALERTD_WEBHOOK, ALERTD_SYSLOG, ALERTD_EMAIL };
enum alertd_format { ALERTD_FMT_JSON, ALERTD_FMT_SLACK, ALERTD_FMT_DISCORD };
enum alertd_syslog_transport { ALERTD_SL_UDP, ALERTD_SL_TCP, ALERTD_SL_UNIX };

struct alertd_dest {
	char name[ALERTD_NAME_MAX];
	enum alertd_dest_type type;
	int line;
	/* every type */
	unsigned rate_n;		/* 0: no limit */
	int64_t rate_period_ms;
	unsigned retries;		/* attempts after the first */
	int64_t timeout_ms;
	int64_t backoff_ms, backoff_max_ms;
	/* webhook */
	char url[1024];
	enum alertd_format format;
	char secret[256];		/* empty: no signature */
	bool allow_private;
	int follow_redirects;		/* 0 no, 1 same host (default), 2 any */
	char redirect_hosts[512];	/* other hosts a redirect may go to */
	/* syslog */
	enum alertd_syslog_transport transport;
	char host[256];
	char port[16];
	char path[256];
	int facility;
	char app_name[49];
	char hostname[256];
	/* email */
	char smtp_url[1024];
	int starttls;			/* 0 no, 1 try, 2 required */
	char from[256];
	char to[1024];			/* comma separated */
	char user[128];
	char password[256];
	bool insecure;			/* do not verify the server certificate */
	char ca_file[512];		/* CA certificates (PEM); empty: the
					 * system's */
};

enum alertd_kind {
	ALERTD_K_THRESHOLD,
	ALERTD_K_BOUNDARY,
	ALERTD_K_NEW_HOST,
	ALERTD_K_NEW_APP,
	ALERTD_K_SCAN,
	ALERTD_K_DNS_QUIET,
	ALERTD_K_EXPORTER_DOWN,
	ALERTD_K_HEALTH,
	ALERTD_K_COUNT
};
const char *alertd_kind_name(enum alertd_kind k);

enum alertd_sev { ALERTD_SEV_INFO, ALERTD_SEV_WARNING, ALERTD_SEV_CRITICAL };
const char *alertd_sev_name(enum alertd_sev s);
int alertd_sev_parse(const char *s, enum alertd_sev *out);

/* Threshold entities: the time-series entity kinds of docs/redis-keys.md,
 * with the sorted set that lists their members. */
enum alertd_ent {
	ALERTD_ENT_HOST, ALERTD_ENT_VLAN, ALERTD_ENT_SUBNET, ALERTD_ENT_APP,
	ALERTD_ENT_INTERFACE, ALERTD_ENT_EXPORTER
};
enum alertd_metric {
	ALERTD_M_BITS, ALERTD_M_BYTES, ALERTD_M_PACKETS, ALERTD_M_FLOWS_RATE,
	ALERTD_M_FLOWS, ALERTD_M_PEERS, ALERTD_M_PORTS
};

enum alertd_group { ALERTD_G_PAIR, ALERTD_G_SRC, ALERTD_G_DST, ALERTD_G_SUBNET };

struct alertd_rule {
	char name[ALERTD_NAME_MAX];
	int line;
	enum alertd_kind kind;
	enum alertd_sev severity;
	bool severity_set;		/* given in the file, not a default */
	int notify[ALERTD_MAX_NOTIFY];	/* indexes into conf->dests */
	int n_notify;
	bool notify_updates;
	bool notify_release;
	int64_t release_after_ms;	/* event alerts: released after this
					 * long without a new match */
	/* filters, by kind */
	char from[ALERTD_NAME_MAX];	/* boundary: source subnet name */
	char to[ALERTD_NAME_MAX];	/* boundary: destination subnet */
	int boundary_mode;		/* 0 any, 1 watch, 2 forbid */
	long port;			/* -1 any: destination port */
	int proto;			/* -1 any */
	char apps[256];			/* comma list, any case */
	char category[ALERTD_NAME_MAX];
	char subnet[ALERTD_NAME_MAX];	/* a subnet name, or ... */
	struct alertd_cidr cidr;	/* ... an address block */
	int local;			/* -1 any, 0 remote, 1 local */
	char pattern[ALERTD_ENTITY_MAX];/* glob on a host id, exporter... */
	enum alertd_group group;
	int64_t learning_ms;		/* new-app: ignore young hosts */
	char what[32];			/* health: which */
	/* threshold */
	enum alertd_ent ent;
	enum alertd_metric metric;
	bool res_1m;
	int64_t window_ms;
	double above, release_below, critical_above;
	bool has_critical;
	int64_t for_ms, release_for_ms;
	unsigned max_entities;
	/* scan */
	unsigned scan_peers, scan_ports;	/* 0: not checked */
	int64_t hold_ms;
	/* dns-quiet */
	int quiet_from, quiet_to;	/* minutes of the day, local time */
};

struct alertd_conf {
	atomic_int refs;
	/* global */
	char redis[1024];
	char prefix[128];
	char node[1024];		/* --node: ids, comma separated; empty:
					 * every node of the registry */
	char alert_node[ALERTD_NODE_MAX + 1];	/* the home; empty: the
					 * first node watched */
	int64_t nodes_every_ms;		/* the registry is read this often */
	char group[ALERTD_NAME_MAX];
	char consumer[ALERTD_NAME_MAX];
	bool start_all;			/* a new group reads the stream from 0 */
	int64_t claim_idle_ms;
	int64_t eval_ms;
	int64_t scan_every_ms;
	unsigned history_max;
	int64_t released_ttl_ms;
	unsigned workers;
	unsigned batch;
	/* parts */
	struct alertd_dest dests[ALERTD_MAX_DESTS];
	int n_dests;
	struct alertd_rule *rules;
	int n_rules;
};

/* Reads the config file (globals and destinations; may be NULL) and the
 * rules file. Every problem is printed as FILE:LINE: reason; returns the
 * new configuration, or NULL when anything was wrong. */
struct alertd_conf *alertd_conf_load(const char *conf_path,
				     const char *rules_path);
struct alertd_conf *alertd_conf_get(struct alertd_conf *c);
void alertd_conf_put(struct alertd_conf *c);
int alertd_conf_dest_find(const struct alertd_conf *c, const char *name);
const struct alertd_rule *alertd_conf_rule_find(const struct alertd_conf *c,
						const char *name);

/* The parse state conf.c hands to conf_rule.c for each key. */
struct alertd_parse {
	const char *path;
	int line;
	int errors;
	struct alertd_conf *conf;
};
void alertd_parse_error(struct alertd_parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One key of a [rule] section. */
void alertd_rule_key(struct alertd_parse *p, struct alertd_rule *r,
		     const char *key, const char *val);
/* Called at the section's end: defaults and cross-key checks. */
void alertd_rule_finish(struct alertd_parse *p, struct alertd_rule *r);

/* ---- note.c ------------------------------------------------------------ */

/* One notification of one alert transition to one destination. */
struct alertd_note {
	char key[160];			/* ALERTID:SEQ:DEST, the outbox field */
	uint64_t alert_id;
	unsigned seq;
	char dest[ALERTD_NAME_MAX];
	char node[128];
	char rule[ALERTD_NAME_MAX];
	char kind[24];
	char state[16];			/* engaged, updated, released */
	char severity[16];
	char entity[ALERTD_ENTITY_MAX];
	char summary[ALERTD_SUMMARY_MAX];
	char *details;			/* a JSON object, built by us */
	int64_t ts_ms, engaged_ms;
	uint64_t count;
	double value, threshold;
	bool has_value;
};

/* The outbox value: the fields as netstrings, "LEN:bytes," each. */
char *alertd_note_serialise(const struct alertd_note *n, size_t *len);
int alertd_note_parse(const char *buf, size_t len, struct alertd_note *n);
void alertd_note_free(struct alertd_note *n);
/* Bodies. Caller frees. */
char *alertd_note_json(const struct alertd_note *n);
char *alertd_note_render(const struct alertd_note *n, enum alertd_format f);
/* Details objects, built with weirctl's JSON writer. */
struct alertd_obj {
	FILE *f;
	char *buf;
	size_t len;
	struct weirctl_json j;
};
int alertd_obj_begin(struct alertd_obj *o);
void alertd_obj_str(struct alertd_obj *o, const char *k, const char *v);
void alertd_obj_num(struct alertd_obj *o, const char *k, double v);
void alertd_obj_strs(struct alertd_obj *o, const char *k, char *const *v,
		     size_t n);
/* The object as one line of text; caller frees. */
char *alertd_obj_end(struct alertd_obj *o);
/* One line for people: "[CRITICAL] engaged iot-to-servers: summary". */
void alertd_note_line(const struct alertd_note *n, char *buf, size_t len);

/* ---- alerts.c ---------------------------------------------------------- */

/* What changed in one pass, for the store to commit in one transaction. */
struct alertd_change {
	uint64_t alert_id;
	char key[ALERTD_NAME_MAX + ALERTD_ENTITY_MAX + 2];
	bool engaged, released, notify;
	const char *state;		/* engaged, updated, released, or NULL
					 * (a quiet update: hash only) */
	struct alertd_note snap;	/* the alert as it is now; details
					 * owned here */
	int notify_dests[ALERTD_MAX_NOTIFY];
	int n_notify;
	int64_t updated_ms, last_match_ms;
	double peak;
	unsigned seq_total;		/* notified transitions so far */
	char seen_set[32];		/* "hosts"/"apps": SADD in the commit */
	char seen_member[ALERTD_ENTITY_MAX + 64];
};

struct alertd_changes {
	struct alertd_change *v;
	size_t n, cap;
};
void alertd_changes_clear(struct alertd_changes *c);

struct alertd_alerts;

struct alertd_alerts *alertd_alerts_new(void);
void alertd_alerts_free(struct alertd_alerts *a);
/* The `node` the next matches and values give their alert: a node id
 * (a node's event alerts) or the nodes whose data made a merged value
 * ("a,b"). NULL or "": an alert keeps the node it had ("*" when new). */
void alertd_alerts_node(struct alertd_alerts *a, const char *node);
/* Threshold, scan and dns-quiet: rules on the merged view, whose alerts
 * live under the home node. The others are a node's own. */
bool alertd_kind_merged(enum alertd_kind k);
/* Drops everything held in memory (before a restore from Redis). */
void alertd_alerts_reset(struct alertd_alerts *a);
size_t alertd_alerts_count(const struct alertd_alerts *a);

/* A match of an event rule: engages the alert (rule, entity) or updates
 * it. details: a JSON object (copied). Returns the change, or NULL when
 * nothing needs writing. */
struct alertd_change *alertd_alerts_event(struct alertd_alerts *a,
					  struct alertd_changes *out,
					  const struct alertd_conf *conf,
					  const struct alertd_rule *r,
					  enum alertd_sev sev,
					  const char *entity,
					  const char *summary,
					  const char *details, int64_t now);

/* A measured value for (rule, entity): pending, engaged, escalated,
 * released, with the rule's `for` and `release-for`. The caller decides
 * what is above (on) and below (off) the rule's thresholds, hysteresis
 * included; threshold is shown with the value. */
void alertd_alerts_value(struct alertd_alerts *a, struct alertd_changes *out,
			 const struct alertd_conf *conf,
			 const struct alertd_rule *r, const char *entity,
			 double value, double threshold, bool on, bool off,
			 const char *summary, const char *details, int64_t now);
/* A value round for rule r: alerts of r not given a value between
 * round_begin and round_end are given 0 and "below" (an entity without
 * a point in its time series had no traffic). */
void alertd_alerts_round_begin(struct alertd_alerts *a,
			       const struct alertd_rule *r);
void alertd_alerts_round_end(struct alertd_alerts *a,
			     struct alertd_changes *out,
			     const struct alertd_conf *conf,
			     const struct alertd_rule *r, int64_t now);
/* Releases event alerts idle for their rule's release-after, alerts
 * whose rule is gone, and event alerts an explicit clear names. */
void alertd_alerts_tick(struct alertd_alerts *a, struct alertd_changes *out,
			const struct alertd_conf *conf, int64_t now);
void alertd_alerts_clear(struct alertd_alerts *a, struct alertd_changes *out,
			 const struct alertd_conf *conf,
			 const struct alertd_rule *r, const char *entity,
			 const char *why, int64_t now);
/* Releases every alert of the table quietly (no note, the history says
 * why): merged alerts left under a node that is no longer the home. */
void alertd_alerts_release_all(struct alertd_alerts *a,
			       struct alertd_changes *out,
			       const struct alertd_conf *conf, const char *why,
			       int64_t now);
/* Before a reload: releases the alerts whose rule is not in nc (or is
 * of another kind), telling the destinations old gave them. */
void alertd_alerts_release_gone(struct alertd_alerts *a,
				struct alertd_changes *out,
				const struct alertd_conf *old,
				const struct alertd_conf *nc, int64_t now);
bool alertd_alerts_active(const struct alertd_alerts *a, const char *rule,
			  const char *entity);
/* Restore one active alert read back from Redis (HGETALL alert:ID). */
int alertd_alerts_restore(struct alertd_alerts *a, const redisReply *h);
/* Gives ids to engaged alerts (from INCR) before the commit. */
void alertd_alerts_set_id(struct alertd_alerts *a, const char *key,
			  uint64_t id);

/* ---- store.c ----------------------------------------------------------- */

struct weir_rc;

struct alertd_store {
	struct weir_rc *rc;		/* one server or a Redis Cluster */
	redisContext *c;		/* the node's master, owned by rc */
	struct weirctl_url url;
	char shown[1024];
	char prefix[128];
	char node[ALERTD_NODE_MAX + 1];
	char kp[512];			/* PREFIX{NODE}: */
	char events_key[600];
	char seq_key[200];		/* PREFIXalerts:seq, every node's ids */
	char group[ALERTD_NAME_MAX];
	char consumer[ALERTD_NAME_MAX];
	bool start_all;
	bool no_group;			/* no events read: a delivery worker,
					 * a home no engine writes */
	int64_t backoff_ms;
	int64_t next_try_ms;
};

/* A connection to the configured Redis (weir_rc_connect not yet done). */
struct weir_rc *alertd_rc_new(const struct weirctl_url *u);
/* A store for node's keys (NULL or "": none yet, see _target). */
int alertd_store_init(struct alertd_store *s, const struct alertd_conf *conf,
		      const char *node);
/* Points the store at another node's keys (a delivery worker recording
 * the result of a note whose alert lives there). */
void alertd_store_target(struct alertd_store *s, const char *node);
/* Connects when not connected (bounded, with backoff between tries) and
 * makes sure the group exists. Returns 0 when usable. */
int alertd_store_ensure(struct alertd_store *s);
void alertd_store_drop(struct alertd_store *s, const char *why);
void alertd_store_close(struct alertd_store *s);
/* A command; NULL (and the connection dropped) on a transport error. */
redisReply *alertd_cmd(struct alertd_store *s, const char *fmt, ...);
redisReply *alertd_cmdargv(struct alertd_store *s, int argc,
			   const char **argv, const size_t *lens);

/* Events as read from the stream: id and the field/value reply. */
struct alertd_event {
	char id[64];
	const redisReply *fields;	/* array f, v, f, v; NULL: deleted */
};
const char *alertd_event_get(const struct alertd_event *e, const char *f);

enum alertd_read { ALERTD_READ_NEW, ALERTD_READ_OWN_PENDING,
		   ALERTD_READ_CLAIM };
/* Reads a batch; *reply owns the entries. Returns the count (0 none),
 * -1 on a Redis failure. For CLAIM, *cursor is XAUTOCLAIM's. */
int alertd_store_read(struct alertd_store *s, enum alertd_read how,
		      unsigned count, int64_t block_ms, int64_t claim_idle,
		      char *cursor, size_t cursor_len, redisReply **reply,
		      struct alertd_event **evs);

/* Writes changes, the outbox notes, acks: one MULTI/EXEC. ids: events
 * to XACK. Returns 0, -1 when nothing was written. */
int alertd_store_commit(struct alertd_store *s, const struct alertd_conf *conf,
			struct alertd_changes *ch, char **ack_ids,
			size_t n_ack);
/* Reads P alerts:active back into the table: the alerts of merged kinds
 * (merged true) or of the others. Returns how many, -1 on a failure. */
int alertd_store_restore(struct alertd_store *s, struct alertd_alerts *a,
			 bool merged);
/* Notes in the node's outbox (after a restart): handed to cb. */
int alertd_store_outbox(struct alertd_store *s,
			void (*cb)(void *arg, struct alertd_note *n),
			void *arg);
/* A delivery result: the outbox entry removed, the alert hash told. */
int alertd_store_delivered(struct alertd_store *s, const struct alertd_conf *conf,
			   const char *note_key, uint64_t alert_id,
			   const char *dest, const char *result);
/* New alert ids, from INCR PREFIXalerts:seq: one counter for every
 * node, so an id (and a delivery id) names one alert. */
int alertd_store_next_id(struct alertd_store *s, uint64_t *id);
/* Lifts PREFIXalerts:seq above the node's own old P alerts:seq (ids
 * given before the counter was shared), so no id is given twice. */
int alertd_store_seed_ids(struct alertd_store *s);
/* SISMEMBER P alerts:seen:SET member: 1 yes, 0 no, -1 error. */
int alertd_store_seen(struct alertd_store *s, const char *set,
		      const char *member);

/* ---- event rules, threshold, scan, dnsquiet ---------------------------- */

/* One node: its keys, its events, its own (event) alerts. */
struct alertd_node {
	char id[ALERTD_NODE_MAX + 1];
	struct alertd_store store;
	struct alertd_alerts *alerts;
	bool watched;			/* false: only the home, not read */
	bool need_recover;		/* the table is read back first */
	bool outbox_read;
	int64_t retry_ms;		/* a failed recovery: not before */
};

struct alertd_ctx {
	struct alertd_conf *conf;
	/* nodes.c: the nodes watched, sorted by id, and the home */
	struct alertd_node *nodes[ALERTD_NODES_MAX];
	size_t n_nodes;
	struct alertd_node *home;	/* one of nodes, or its own */
	struct alertd_alerts *merged;	/* alerts of merged kinds (home's) */
	bool merged_recover;
	struct weir_rc *reg;		/* reads the registry PREFIXnodes */
	bool reg_up;			/* reg connected */
	bool reg_read;			/* the registry was read once */
	int64_t next_nodes_ms;
	/* the node whose events are being handled */
	struct alertd_store *store;
	struct alertd_alerts *alerts;
	struct alertd_changes changes;
	struct alertd_scan_state *scan;
	struct alertd_dns_state *dns;
	int64_t last_scan_ms;
	/* threshold.c: the flows' clock (their last_seen, which is a
	 * capture's own time when the engine reads a file), advanced by
	 * this machine's clock between the rounds that see newer flows */
	int64_t flow_clock_ms, flow_clock_at;
};

/* ---- nodes.c ----------------------------------------------------------- */

/* Sets up the watched nodes: those of conf->node, or "local" until the
 * registry is read. 0, or -1 (out of memory, a bad id). */
int alertd_nodes_init(struct alertd_ctx *ctx);
/* Reads the registry again when it is due (no --node): nodes that
 * registered and published are added (read from their first event when
 * they came after the first read), those gone are dropped, the home
 * chosen again. Returns true when the set changed. */
bool alertd_nodes_refresh(struct alertd_ctx *ctx, int64_t now);
void alertd_nodes_free(struct alertd_ctx *ctx);
/* The node of that id, watched or the home; NULL: none. */
struct alertd_node *alertd_node_find(struct alertd_ctx *ctx, const char *id);
/* The ids watched, "a,b". */
void alertd_nodes_label(const struct alertd_ctx *ctx, char *buf, size_t len);

/* ---- view.c: the merged view over the watched nodes --------------------- */

/* Bit i: ctx->nodes[i]. */
typedef uint64_t alertd_nodeset;
/* The ids of the nodes in set, "a,b" ("*" when empty or too long). */
void alertd_view_label(const struct alertd_ctx *ctx, alertd_nodeset set,
		       char *buf, size_t len);
/* Members of the ranking PREFIX{N}:zset of every node, their scores
 * summed, matching glob (NULL: all), highest first, at most max. */
int alertd_members(struct alertd_ctx *ctx, const char *zset, const char *glob,
		   unsigned max, char ***out, size_t *n);
void alertd_members_free(char **v, size_t n);
/* HGETALL PREFIX{N}:hashpfx<id> of each id on every node, merged by
 * weirctl_hash_merge (counters summed, first_seen the least, last_seen
 * and peers the greatest...: docs/redis-keys.md "Several nodes"); out[i]
 * an array (empty: no node has it), has[i] the nodes that had it.
 * Caller frees the replies. */
int alertd_view_hashes(struct alertd_ctx *ctx, const char *hashpfx,
		       char *const *ids, size_t n, redisReply **out,
		       alertd_nodeset *has);
/* Every watched node connected; -1 when one is not (a merged value
 * without it would be wrong: the round waits). */
int alertd_view_ensure(struct alertd_ctx *ctx);

/* ---- flowidx.c: the flows of a flow index set on one node --------------- */

struct alertd_flow {
	int64_t first_ms, last_ms;
	int port;		/* destination port; -1: none (not TCP, UDP or
				 * SCTP, or 0: later fragments) */
	char *src, *dst;
};
struct alertd_flows {
	struct alertd_flow *v;
	size_t n, cap;
	alertd_nodeset nodes;	/* nodes that had one kept */
	int64_t newest_ms;	/* greatest last_seen read, kept or not */
};
/* Appends the flows of PREFIX{NODE}idx:IDX ("host:ID", "vlan:N",
 * "subnet:SRC>DST", "app:NAME") on node k's store that keep accepts
 * (NULL: every one). -1 on a Redis failure or out of memory. */
int alertd_flows_read(struct alertd_store *st, size_t k, const char *idx,
		      bool (*keep)(const struct alertd_flow *f, void *arg),
		      void *arg, struct alertd_flows *fl);
void alertd_flows_free(struct alertd_flows *fl);
/* qsort/bsearch order of an array of C strings (peers of the flows) */
int alertd_cmp_str(const void *a, const void *b);

/* One event through every rule of its type. Returns 0, -1 on a Redis
 * failure (the batch is then not acknowledged). */
int alertd_events_handle(struct alertd_ctx *ctx, const struct alertd_event *e);

/* flow_round: also the rules whose metric is counted over the flow
 * index (peers, ports), which run every scan-interval. */
int alertd_threshold_eval(struct alertd_ctx *ctx, int64_t now,
			  bool flow_round);

struct alertd_scan_state *alertd_scan_new(void);
void alertd_scan_free(struct alertd_scan_state *s);
int alertd_scan_eval(struct alertd_ctx *ctx, int64_t now);

struct alertd_dns_state *alertd_dns_new(void);
void alertd_dns_free(struct alertd_dns_state *s);
int alertd_dns_eval(struct alertd_ctx *ctx, int64_t now);


/* ---- deliver.c and the backends ---------------------------------------- */

enum alertd_outcome {
	ALERTD_OK,
	ALERTD_RETRY,		/* may work later: timeout, 5xx, refused */
	ALERTD_FAIL,		/* will not work: 4xx, bad address, policy */
};

/* One attempt. err gets the reason of a failure. */
enum alertd_outcome alertd_webhook_send(const struct alertd_dest *d,
					const struct alertd_note *n,
					char *err, size_t errlen);
enum alertd_outcome alertd_syslog_send(const struct alertd_dest *d,
				       const struct alertd_note *n,
				       char *err, size_t errlen);
enum alertd_outcome alertd_email_send(const struct alertd_dest *d,
				      const struct alertd_note *n,
				      char *err, size_t errlen);
/* The RFC 5424 message of a note. */
size_t alertd_syslog_format(const struct alertd_dest *d,
			    const struct alertd_note *n, char *buf,
			    size_t len);
/* The email message (headers and body). Caller frees. */
char *alertd_email_format(const struct alertd_dest *d,
			  const struct alertd_note *n);
/* "sha256=" and the hex HMAC-SHA256 of body under secret. */
void alertd_hmac_sha256_hex(const char *secret, const void *body,
			    size_t len, char out[72]);
/* Whether a webhook may connect to this address. */
bool alertd_addr_allowed(const struct sockaddr *sa, bool allow_private,
			 char *why, size_t whylen);

struct alertd_deliver;
/* Workers record each result in Redis themselves (their own connection
 * from conf), right after the attempt, so a note delivered just before a
 * crash is not sent again; results they could not record are handed to
 * the main thread (alertd_deliver_results). */
struct alertd_deliver *alertd_deliver_start(unsigned workers,
					    const struct alertd_conf *conf);
/* Queues a copy of n for its destination under conf (a reference is
 * taken); home: the node whose keys hold its alert and outbox entry. */
void alertd_deliver_push(struct alertd_deliver *d, struct alertd_conf *conf,
			 const struct alertd_note *n, const char *home);
struct alertd_result {
	char home[ALERTD_NODE_MAX + 1];
	char note_key[160];
	uint64_t alert_id;
	char dest[ALERTD_NAME_MAX];
	char result[300];	/* ok, failed: ..., rate-limited, ... */
};
/* Takes up to max finished results. */
size_t alertd_deliver_results(struct alertd_deliver *d,
			      struct alertd_result *out, size_t max);
/* Jobs queued or running. */
size_t alertd_deliver_pending(struct alertd_deliver *d);
/* Stops the workers: waits at most grace_ms for the queue to drain,
 * then abandons what is left (it stays in the outbox). */
void alertd_deliver_stop(struct alertd_deliver *d, int64_t grace_ms);
/* After stop: what is left is freed (its notes stay in the outbox). */
void alertd_deliver_free(struct alertd_deliver *d);
/* Sets a note's destination and its outbox key ALERTID:SEQ:DEST. */
void alertd_note_address(struct alertd_note *n, uint64_t alert_id,
			 const char *dest);

#endif
