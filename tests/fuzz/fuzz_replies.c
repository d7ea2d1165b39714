/* fuzz_replies.c -- libFuzzer target for the readers' Redis reply handling.
 *
 * Redis is a trust boundary (docs/security.md): weirctl and weir-web read
 * what is there, and anything that can write to that Redis (or stand in
 * for it) chooses the replies. The input is RESP bytes, the server's side
 * of a conversation, and it goes two ways:
 *
 * 1. hiredis's reader (redisReaderCreate/Feed/GetReply) turns the bytes
 *    into reply trees, and every reply, and every element of an array
 *    down to hiredis's nesting limit, goes through the functions of
 *    tools/weirctl that take a redisReply: weirctl_hash_get/_u64/_u64_ok,
 *    weirctl_score_u64, weirctl_entry_ok and weirctl_stream_id_ms,
 *    weirctl_json_hash_fields (into an in-memory FILE), weirctl_hash_sorted,
 *    weirctl_human and weirctl_detail_table (to /dev/null).
 * 2. The same bytes are what a fake server answers on a socketpair
 *    (redisConnectFd): the peer holds the bytes, then end of file. The
 *    readers that talk to Redis themselves run against it, one fresh
 *    connection each: weirctl_meta_load (HGETALL meta and, for an empty
 *    one, the SCAN for other nodes), weirctl_hgetall,
 *    weirctl_zrevrange_scores, the pipelined weirctl_walk and
 *    weirctl_stream_last (XREVRANGE), with what they return handled as in 1.
 *    Our end is non-blocking, so a reader that writes more than the socket
 *    holds gets an error instead of a hang.
 *
 * Checks: hash_u64_ok only says true for a value of decimal digits; a
 * hash_get result is one of the reply's strings; hash_sorted gives at most
 * one row per field pair, none NULL; the JSON of a hash is valid UTF-8
 * with no raw control byte (NUL bytes and invalid UTF-8 in values must
 * come out escaped), and with balanced braces; an entry weirctl_entry_ok
 * accepts is [string, even array of strings]; what the reading functions
 * hand back has the shape their comments in weirctl.h promise.
 *
 * hiredis 0.14 allocates an array of whatever count the server sends
 * (`*2000000000` is a 16 GB calloc) before any element arrives; that is
 * hiredis's, not ours, and would stop the fuzzer at its malloc limit on
 * every such input. The reader's createArray is wrapped to refuse counts
 * above 1M (hiredis then reports out of memory), as hiredis 1.x's
 * maxelements does.
 * Seeds: tests/fuzz/corpus/replies/ (replies Redis gives to the readers'
 * commands, written by hand in RESP); dictionary: replies.dict. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "weir/rcluster.h"
#include "weirctl.h"

#define REQUIRE(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_replies: invariant broken: %s\n", #c); \
		abort();						\
	}								\
} while (0)

#define MAX_ELEMENTS (1 << 20)
#define MAX_REPLIES 64


static FILE *devnull;
static redisReplyObjectFunctions limited;
static void *(*hiredis_array)(const redisReadTask *, int);

static void *
array_limited(const redisReadTask *task, int elements)
{
	if (elements < 0 || elements > MAX_ELEMENTS)
		return NULL;
	return hiredis_array(task, elements);
}

static void
limit_reader(redisReader *r)
{
	if (!hiredis_array) {
		limited = *r->fn;
		hiredis_array = limited.createArray;
		limited.createArray = array_limited;
	}
	r->fn = &limited;
}

/* Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF),
 * written apart from weirctl_utf8_len so that it checks it. */
static bool
utf8_valid(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = p[i], cp, need;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1; cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2; cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3; cp = c & 0x07;
		} else {
			return false;
		}
		if (i + need >= n)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

/* JSON output of one object: valid UTF-8, no raw control byte inside a
 * string (the writer puts line breaks between the outermost object's
 * members), braces and brackets balanced outside strings. */
static void
check_json(const char *s, size_t n)
{
	int depth = 0;
	bool in_str = false;

	REQUIRE(n >= 3 && s[0] == '{' && s[n - 2] == '}' && s[n - 1] == '\n');
	REQUIRE(utf8_valid((const unsigned char *)s, n));
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];

		REQUIRE(c >= 0x20 || (c == '\n' && !in_str));
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			REQUIRE(--depth >= 0);
	}
	REQUIRE(!in_str && depth == 0);
}

static bool
is_member_str(const redisReply *h, const char *s)
{
	for (size_t i = 0; i < h->elements; i++)
		if (h->element[i]->str == s)
			return true;
	return false;
}

/* A reply as an HGETALL answer (an array of field, value, ...). */
static void
as_hash(const redisReply *h)
{
	static const char *const probe[] = { "version", "bytes", "first_seen",
		"last_seen", "state", "app", "" };
	static const char *const strings[] = { "app", "state", "src", NULL };
	static const char *const order[] = { "state", "bytes", "version", NULL };
	const char **names, **values;
	char *buf = NULL, hum[64];
	size_t len = 0, n;
	uint64_t v;

	for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		const char *s = weirctl_hash_get(h, probe[i]);

		REQUIRE(!s || is_member_str(h, s));
		if (weirctl_hash_u64_ok(h, probe[i], &v)) {
			REQUIRE(s && *s);
			for (const char *d = s; *d; d++)
				REQUIRE(*d >= '0' && *d <= '9');
			REQUIRE(weirctl_hash_u64(h, probe[i]) == v);
		} else {
			REQUIRE(v == 0 && weirctl_hash_u64(h, probe[i]) == 0);
		}
	}

	FILE *f = open_memstream(&buf, &len);
	struct weirctl_json j;

	REQUIRE(f);
	weirctl_json_init(&j, f);
	weirctl_json_begin_obj(&j);
	weirctl_json_hash_fields(&j, h, strings);
	weirctl_json_end_obj(&j);
	REQUIRE(fclose(f) == 0);
	check_json(buf, len);
	free(buf);

	n = weirctl_hash_sorted(h, order, &names, &values);
	REQUIRE(n <= h->elements / 2);
	for (size_t i = 0; i < n; i++) {
		REQUIRE(names[i] && values[i]);
		weirctl_human(names[i], values[i], hum, sizeof(hum));
		REQUIRE(memchr(hum, 0, sizeof(hum)));
	}
	free(names);
	free(values);
}

static void
handle(const redisReply *r, int depth)
{
	static struct weirctl_ctx ctx;

	(void)weirctl_score_u64(r);
	if (weirctl_entry_ok(r)) {
		const redisReply *f = r->element[1];

		REQUIRE(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
		REQUIRE(r->element[0]->type == REDIS_REPLY_STRING);
		REQUIRE(f->type == REDIS_REPLY_ARRAY && f->elements % 2 == 0);
		(void)weirctl_stream_id_ms(r->element[0]->str);
		as_hash(f);
	}
	if (r->type != REDIS_REPLY_ARRAY)
		return;
	as_hash(r);
	ctx.out = devnull;
	weirctl_detail_table(&ctx, r, NULL);
	REQUIRE(depth < 16);
	for (size_t i = 0; i < r->elements; i++)
		handle(r->element[i], depth + 1);
}

/* 1: hiredis's reader alone. */
static void
parse(const uint8_t *data, size_t size)
{
	redisReader *rd = redisReaderCreate();
	void *reply;

	REQUIRE(rd);
	limit_reader(rd);
	if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK)
		for (int i = 0; i < MAX_REPLIES; i++) {
			if (redisReaderGetReply(rd, &reply) != REDIS_OK || !reply)
				break;
			handle(reply, 0);
			freeReplyObject(reply);
		}
	redisReaderFree(rd);
}

static int
walk_cb(struct weirctl_ctx *ctx, void *arg, const char *id,
	const redisReply *hash)
{
	REQUIRE(id);
	REQUIRE(hash->type == REDIS_REPLY_ARRAY && hash->elements >= 2);
	handle(hash, 0);
	return ++*(int *)arg >= 3000 ? 1 : 0;	/* as --top stops a walk */
}

/* 2: one reader against a fake server that answers data. */
static void
serve(int which, const uint8_t *data, size_t size)
{
	struct weirctl_ctx ctx = { 0 };
	redisReply *r = NULL;
	int sv[2], rc, n = 0;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	for (size_t off = 0; off < size;) {
		ssize_t w = write(sv[1], data + off, size - off);

		REQUIRE(w > 0);
		off += (size_t)w;
	}
	REQUIRE(shutdown(sv[1], SHUT_WR) == 0);
	REQUIRE(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	redisContext *c = redisConnectFd(sv[0]);
	REQUIRE(c);
	limit_reader(c->reader);
	/* a reconnect after an I/O error fails at once: no such socket */
	static const struct weir_rc_endpoint ep = { .unix_path = "/nonexistent/weir-fuzz.sock" };
	ctx.conn.rc = weir_rc_new(&ep, 1000);
	REQUIRE(ctx.conn.rc && weir_rc_adopt(ctx.conn.rc, c) == 0);
	strcpy(ctx.conn.shown, "fuzz");
	ctx.prefix = "weir:";
	ctx.node = "n1";
	strcpy(ctx.keypfx, "weir:{n1}:");
	ctx.json = true;
	ctx.out = devnull;
	/* a view of one node, as weirctl --node n1 makes it (nodes.c) */
	struct weirctl_node one = { .id = "n1", .keypfx = "weir:{n1}:" };
	ctx.nodes = &one;
	ctx.nnodes = 1;
	weirctl_node_unfocus(&ctx);

	switch (which) {
	case 0:
		rc = weirctl_meta_load(&ctx);
		REQUIRE(rc == WC_EXIT_OK || rc == WC_EXIT_REDIS || rc == WC_EXIT_NODATA);
		REQUIRE((rc == WC_EXIT_OK) == (ctx.meta != NULL));
		if (ctx.meta) {
			REQUIRE(ctx.meta->type == REDIS_REPLY_ARRAY);
			REQUIRE(weirctl_hash_get(ctx.meta, "version"));
			handle(ctx.meta, 0);
			freeReplyObject(ctx.meta);
		}
		break;
	case 1:
		rc = weirctl_hgetall(&ctx, "host:10.0.0.1@0", &r);
		REQUIRE((rc == WC_EXIT_OK) == (r != NULL));
		if (r) {
			REQUIRE(r->type == REDIS_REPLY_ARRAY);
			handle(r, 0);
		}
		break;
	case 2:
		rc = weirctl_zrevrange_scores(&ctx, "hosts", 100, &r);
		REQUIRE((rc == WC_EXIT_OK) == (r != NULL));
		if (r) {
			REQUIRE(r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0);
			for (size_t i = 0; i < r->elements; i++)
				REQUIRE(r->element[i]->type == REDIS_REPLY_STRING);
			for (size_t i = 1; i < r->elements; i += 2)
				(void)weirctl_score_u64(r->element[i]);
			handle(r, 0);
		}
		break;
	case 3:
		rc = weirctl_walk(&ctx, "hosts", "host:", NULL, walk_cb, &n);
		REQUIRE(rc == WC_EXIT_OK || rc == WC_EXIT_REDIS);
		break;
	case 4: {
		struct weirctl_entries l;

		rc = weirctl_stream_last(&ctx, "events", 50, NULL, NULL, &l);
		REQUIRE(rc == WC_EXIT_OK || rc == WC_EXIT_REDIS);
		REQUIRE(l.n <= 50);
		for (size_t i = 0; i < l.n; i++) {
			REQUIRE(weirctl_entry_ok(l.e[i]));
			handle(l.e[i], 0);
		}
		weirctl_entries_free(&l);
		break;
	}
	}
	if (r)
		freeReplyObject(r);
	weir_rc_free(ctx.conn.rc);	/* closes sv[0] */
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!devnull) {
		devnull = fopen("/dev/null", "w");
		REQUIRE(devnull);
		weirctl_errout = devnull;
	}
	parse(data, size);
	for (int which = 0; which < 5; which++)
		serve(which, data, size);
	return 0;
}
