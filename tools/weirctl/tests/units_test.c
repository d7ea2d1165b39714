/* units_test.c -- weirctl's pure pieces, checked against values worked
 * out by hand: URL parsing (what redis-cli -u and the Redis client
 * libraries accept), human units (1000 base: 1234567 B is 1.23 MB),
 * JSON string escaping (RFC 8259 section 7) and number detection, UTF-8
 * validation (RFC 3629 section 4 table), and table alignment. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weirctl.h"

static int failures, checks;

#define CHECK(cond, ...) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

static void
check_url(const char *text, int unix_sock, const char *host_or_path, int port,
	  const char *user, const char *pw, int db, const char *shown)
{
	struct weirctl_url u;
	char err[256], buf[1024];

	if (weirctl_url_parse(text, &u, err, sizeof(err))) {
		CHECK(0, "%s: refused: %s", text, err);
		return;
	}
	CHECK(u.unix_sock == unix_sock, "%s: unix %d", text, u.unix_sock);
	CHECK(!strcmp(unix_sock ? u.path : u.host, host_or_path), "%s: host/path '%s'",
	      text, unix_sock ? u.path : u.host);
	if (!unix_sock)
		CHECK(u.port == port, "%s: port %d", text, u.port);
	CHECK(!strcmp(u.user, user), "%s: user '%s'", text, u.user);
	CHECK(pw ? u.has_password && !strcmp(u.password, pw) : !u.has_password,
	      "%s: password '%s'", text, u.password);
	CHECK(u.db == db, "%s: db %d", text, u.db);
	weirctl_url_show(&u, buf, sizeof(buf));
	CHECK(!strcmp(buf, shown), "%s: shown as '%s', want '%s'", text, buf, shown);
}

static void
test_urls(void)
{
	struct weirctl_url u;
	char err[256];

	check_url("redis://127.0.0.1:6379", 0, "127.0.0.1", 6379, "", NULL, 0,
		  "redis://127.0.0.1:6379");
	check_url("redis://localhost", 0, "localhost", 6379, "", NULL, 0,
		  "redis://localhost:6379");
	check_url("redis://:pa%40ss@10.1.2.3:7000/5", 0, "10.1.2.3", 7000, "",
		  "pa@ss", 5, "redis://:***@10.1.2.3:7000/5");
	check_url("redis://reader:p:w@h/0", 0, "h", 6379, "reader", "p:w", 0,
		  "redis://reader:***@h:6379");
	check_url("redis://[::1]:6380/2", 0, "::1", 6380, "", NULL, 2,
		  "redis://[::1]:6380/2");
	check_url("redis://[2001:db8::5]", 0, "2001:db8::5", 6379, "", NULL, 0,
		  "redis://[2001:db8::5]:6379");
	check_url("redis://h/", 0, "h", 6379, "", NULL, 0, "redis://h:6379");
	check_url("unix:///run/redis/redis.sock", 1, "/run/redis/redis.sock", 0, "",
		  NULL, 0, "unix:///run/redis/redis.sock");
	check_url("unix:///tmp/r.sock?db=3&password=x%26y", 1, "/tmp/r.sock", 0, "",
		  "x&y", 3, "unix:///tmp/r.sock?password=***&db=3");
	check_url("/var/run/redis.sock", 1, "/var/run/redis.sock", 0, "", NULL, 0,
		  "unix:///var/run/redis.sock");
	check_url("./r.sock", 1, "./r.sock", 0, "", NULL, 0, "unix://./r.sock");

	static const char *const bad[] = {
		"", "localhost:6379", "http://h", "redis://", "redis://:6379",
		"redis://h:0", "redis://h:65536", "redis://h:12ab", "redis://h:",
		"redis://h/x", "redis://h/-1", "redis://[::1", "redis://[::1]x",
		"redis://pw@h", "redis://:%4@h", "redis://:%zz@h", "unix://",
		"unix://rel.sock", "unix:///s?db=x", "unix:///s?foo=1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(weirctl_url_parse(bad[i], &u, err, sizeof(err)) == -1 && err[0],
		      "'%s' should be refused", bad[i]);
}

static void
test_units(void)
{
	static const struct { uint64_t v; const char *bytes, *bps, *count; } t[] = {
		{ 0, "0 B", "0 bit/s", "0" },
		{ 999, "999 B", "999 bit/s", "999" },
		{ 1000, "1.00 KB", "1.00 kbit/s", "1.00k" },
		{ 1234567, "1.23 MB", "1.23 Mbit/s", "1.23M" },
		{ 9994999, "9.99 MB", "9.99 Mbit/s", "9.99M" },
		{ 9995000, "10.0 MB", "10.0 Mbit/s", "10.0M" },	/* rounds up a digit */
		{ 99949999, "99.9 MB", "99.9 Mbit/s", "99.9M" },
		{ 99950000, "100 MB", "100 Mbit/s", "100M" },
		{ 999499999, "999 MB", "999 Mbit/s", "999M" },
		{ 999500000, "1.00 GB", "1.00 Gbit/s", "1.00G" },	/* not "1000 MB" */
		{ 10000000000000ULL, "10.0 TB", "10.0 Tbit/s", "10.0T" },
		{ UINT64_MAX, "18.4 EB", "18.4 Ebit/s", "18.4E" },
	};
	char b[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK(!strcmp(weirctl_fmt_bytes(t[i].v, b, sizeof(b)), t[i].bytes),
		      "bytes %llu: '%s' want '%s'", (unsigned long long)t[i].v, b, t[i].bytes);
		CHECK(!strcmp(weirctl_fmt_bps(t[i].v, b, sizeof(b)), t[i].bps),
		      "bps %llu: '%s' want '%s'", (unsigned long long)t[i].v, b, t[i].bps);
		CHECK(!strcmp(weirctl_fmt_count(t[i].v, b, sizeof(b)), t[i].count),
		      "count %llu: '%s' want '%s'", (unsigned long long)t[i].v, b, t[i].count);
	}
	static const struct { int64_t ms; const char *s; } ages[] = {
		{ -5000, "0s" }, { 999, "0s" }, { 59999, "59s" }, { 60000, "1m00s" },
		{ 3599000, "59m59s" }, { 3600000, "1h00m" }, { 86399000, "23h59m" },
		{ 90000000, "1d01h" },
	};
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++)
		CHECK(!strcmp(weirctl_fmt_age(ages[i].ms, b, sizeof(b)), ages[i].s),
		      "age %lld: '%s' want '%s'", (long long)ages[i].ms, b, ages[i].s);
	/* 1700000041000 ms is 2023-11-14T22:14:01Z (date -u -d @1700000041). */
	setenv("TZ", "UTC", 1);
	CHECK(!strcmp(weirctl_fmt_time(1700000041000ULL, b, sizeof(b)),
		      "2023-11-14 22:14:01"), "time '%s'", b);
	CHECK(!strcmp(weirctl_fmt_time(0, b, sizeof(b)), "-"), "time 0 '%s'", b);

	/* Units chosen from field names (docs/redis-keys.md). */
	CHECK(!strcmp(weirctl_human("bytes_sent", "1234567", b, sizeof(b)), "1.23 MB"), "%s", b);
	CHECK(!strcmp(weirctl_human("bps_rcvd", "1500000", b, sizeof(b)), "1.50 Mbit/s"), "%s", b);
	CHECK(!strcmp(weirctl_human("publish_ms", "7", b, sizeof(b)), "7 ms"), "%s", b);
	CHECK(!strcmp(weirctl_human("uptime_ms", "90061000", b, sizeof(b)), "1d01h"), "%s", b);
	CHECK(!strcmp(weirctl_human("peers", "4000", b, sizeof(b)), ""), "%s", b);
	CHECK(!strcmp(weirctl_human("bytes", "x1", b, sizeof(b)), ""), "%s", b);
}

static void
test_json(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct weirctl_json j;

	weirctl_json_init(&j, f);
	weirctl_json_begin_arr(&j);
	weirctl_json_begin_obj(&j);
	weirctl_json_key(&j, "a\"b");
	/* quote, backslash, newline, ESC, DEL, é (c3 a9), lone ff, a
	 * truncated 3-byte sequence (e2 82), an overlong '/' (c0 af), a
	 * UTF-16 surrogate (ed a0 80), U+1F600 (f0 9f 98 80) */
	weirctl_json_str(&j, "q\"\\\n\x1b\x7f\xc3\xa9\xff\xe2\x82");
	weirctl_json_key(&j, "n");
	weirctl_json_u64(&j, 18446744073709551615ULL);
	weirctl_json_key(&j, "o");
	weirctl_json_str(&j, "\xc0\xaf\xed\xa0\x80\xf0\x9f\x98\x80");
	weirctl_json_end_obj(&j);
	weirctl_json_begin_obj(&j);
	weirctl_json_key(&j, "e");
	weirctl_json_begin_arr(&j);
	weirctl_json_null(&j);
	weirctl_json_raw_num(&j, "-1.5e3");
	weirctl_json_end_arr(&j);
	weirctl_json_end_obj(&j);
	weirctl_json_end_arr(&j);
	fclose(f);
	const char *want =
		"[\n"
		"{\"a\\\"b\":\"q\\\"\\\\\\n\\u001b\\u007f\xc3\xa9\\ufffd\\ufffd\\ufffd\","
		"\"n\":18446744073709551615,"
		"\"o\":\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\xf0\x9f\x98\x80\"},\n"
		"{\"e\":[null,-1.5e3]}\n"
		"]\n";
	CHECK(!strcmp(buf, want), "json:\n%s\nwant:\n%s", buf, want);
	free(buf);

	static const char *const nums[] = { "0", "-0", "12", "1.5", "1e9", "-2.5E-3" };
	static const char *const not_nums[] = {
		"", "-", "01", "1.", ".5", "1e", "+1", "0x10", "inf", "nan", "1 ",
		"12a", "--1",
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		CHECK(weirctl_is_json_number(nums[i]), "'%s' is a number", nums[i]);
	for (size_t i = 0; i < sizeof(not_nums) / sizeof(not_nums[0]); i++)
		CHECK(!weirctl_is_json_number(not_nums[i]), "'%s' is not", not_nums[i]);
}

static void
test_utf8(void)
{
	static const struct { const char *s; size_t n, want; } t[] = {
		{ "A", 1, 1 }, { "\xc2\x80", 2, 2 }, { "\xdf\xbf", 2, 2 },
		{ "\xe0\xa0\x80", 3, 3 }, { "\xef\xbf\xbf", 3, 3 },
		{ "\xf0\x90\x80\x80", 4, 4 }, { "\xf4\x8f\xbf\xbf", 4, 4 },
		{ "\xc0\x80", 2, 0 },		/* overlong NUL */
		{ "\xc1\xbf", 2, 0 },		/* overlong */
		{ "\xe0\x9f\xbf", 3, 0 },	/* overlong */
		{ "\xed\xa0\x80", 3, 0 },	/* surrogate D800 */
		{ "\xf4\x90\x80\x80", 4, 0 },	/* above U+10FFFF */
		{ "\xf5\x80\x80\x80", 4, 0 }, { "\x80", 1, 0 },
		{ "\xe2\x82", 2, 0 },		/* cut short */
		{ "\xc3\x28", 2, 0 },		/* bad continuation */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK(weirctl_utf8_len((const unsigned char *)t[i].s, t[i].n) == t[i].want,
		      "utf8 case %zu", i);
}

static void
test_table(void)
{
	static const char *const hdr[] = { "NAME", "BYTES", "NOTE" };
	struct weirctl_table *t = weirctl_table_new(hdr, "lrl");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	weirctl_table_cell(t, "%s", "eth0");
	weirctl_table_cell(t, "%s", "1.23 MB");
	weirctl_table_cell(t, "%s", "ok");
	weirctl_table_end_row(t);
	weirctl_table_cell(t, "%s", "Wan-\xc3\xa9\x1b[2J");	/* é is one column */
	weirctl_table_cell(t, "%s", "5 B");
	weirctl_table_end_row(t);		/* NOTE left empty */
	weirctl_table_highlight(t);
	weirctl_table_cell(t, "%s", "x\xff");
	weirctl_table_cell(t, "%s", "0 B");
	weirctl_table_cell(t, "%s", "bad");
	weirctl_table_end_row(t);
	CHECK(weirctl_table_rows(t) == 3, "3 rows");
	weirctl_table_print(t, f, false);
	fclose(f);
	const char *want =
		"NAME         BYTES  NOTE\n"	/* NAME is 9 wide, BYTES 7 */
		"eth0       1.23 MB  ok\n"
		"Wan-\xc3\xa9?[2J      5 B\n"
		"x?             0 B  bad\n";
	CHECK(!strcmp(buf, want), "table:\n%s\nwant:\n%s", buf, want);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	weirctl_table_print(t, f, true);
	fclose(f);
	CHECK(strstr(buf, "\033[1;31mx?") != NULL && strstr(buf, "\033[1mNAME") != NULL,
	      "colour: bold header, red highlighted row:\n%s", buf);
	free(buf);
	weirctl_table_free(t);
}

static void
test_filters(void)
{
	struct weirctl_filters f;
	char *ok[] = { "--vlan", "10", "--proto=udp", "--host", "2001:DB8::1",
		       "--port=53", "--top", "0" };
	char *bad_vlan[] = { "--vlan", "4096" };
	char *not_taken[] = { "--matrix" };
	char b[32];

	CHECK(weirctl_filters_parse("flows", WC_F_VLAN | WC_F_PROTO | WC_F_HOST |
				    WC_F_PORT | WC_F_TOP, 8, ok, &f) == WC_EXIT_OK,
	      "flows filters parse");
	CHECK(f.vlan == 10 && f.proto == 17 && f.port == 53 && f.top == 0 &&
	      f.host.af != 0, "filter values");
	CHECK(weirctl_addr_eq_text(&f.host, "2001:db8:0:0:0:0:0:1"), "v6 forms equal");
	CHECK(!weirctl_addr_eq_text(&f.host, "2001:db8::2"), "v6 differs");
	CHECK(!weirctl_addr_eq_text(&f.host, NULL), "NULL address");
	CHECK(weirctl_filters_parse("hosts", WC_F_VLAN, 2, bad_vlan, &f) ==
	      WC_EXIT_USAGE, "--vlan 4096 refused");
	CHECK(weirctl_filters_parse("hosts", WC_F_VLAN, 1, not_taken, &f) ==
	      WC_EXIT_USAGE, "--matrix refused by hosts");
	CHECK(weirctl_proto_parse("ICMP6") == 58 && weirctl_proto_parse("255") == 255 &&
	      weirctl_proto_parse("256") == -1 && weirctl_proto_parse("tcpx") == -1,
	      "proto names");
	CHECK(!strcmp(weirctl_proto_name(132, b, sizeof(b)), "sctp") &&
	      !strcmp(weirctl_proto_name(99, b, sizeof(b)), "99"), "proto to name");
}

/* --app, --category, the share column and the score reader. The app
 * names are nDPI 4.2's, as ndpiReader prints them in the expected
 * outputs of its test captures ("TLS.Github", "DNS.Google", "QUIC.YouTube"). */
static void
test_apps(void)
{
	char *args[] = { "--app", "youtube", "--category=Media" };
	char *empty[] = { "--app=" };
	char *not_taken[] = { "--app", "DNS" };
	struct weirctl_filters f;
	redisReply sc = { .type = REDIS_REPLY_STRING };
	char b[32];

	CHECK(weirctl_filters_parse("flows", WC_F_APP | WC_F_CATEGORY, 3, args,
				    &f) == WC_EXIT_OK &&
	      !strcmp(f.app, "youtube") && !strcmp(f.category, "Media"),
	      "--app and --category parse");
	CHECK(weirctl_filters_parse("flows", WC_F_APP, 1, empty, &f) ==
	      WC_EXIT_USAGE, "--app= refused");
	CHECK(weirctl_filters_parse("hosts", WC_F_VLAN, 2, not_taken, &f) ==
	      WC_EXIT_USAGE, "--app refused by hosts");

	CHECK(weirctl_app_matches("youtube", "QUIC.YouTube", "YouTube"), "application");
	CHECK(weirctl_app_matches("quic.youtube", "QUIC.YouTube", "YouTube"), "app pair");
	CHECK(weirctl_app_matches("QUIC", "QUIC.YouTube", "YouTube"), "master half");
	CHECK(weirctl_app_matches("google", "DNS.Google", NULL), "app half, no application");
	CHECK(!weirctl_app_matches("QUI", "QUIC.YouTube", "YouTube"), "a prefix is not a half");
	CHECK(!weirctl_app_matches("QUIC.", "QUIC.YouTube", "YouTube"), "dot alone");
	CHECK(!weirctl_app_matches("Tube", "QUIC.YouTube", "YouTube"), "a suffix is not a half");
	CHECK(weirctl_app_matches("dns", "DNS", "DNS"), "plain name");
	CHECK(!weirctl_app_matches("DNS", NULL, NULL), "no fields: no match");

	char filt[256];

	weirctl_filter_valued_names(filt, sizeof(filt));
	/* --recent's value is optional: not in the list (nothing to stop a
	 * completion after it). */
	CHECK(!strcmp(filt, "--vlan|--subnet|--top|--host|--port|--proto|--app|"
		      "--category|--type|--since|--res"), "options with a value: %s",
	      filt);

	/* 8000000 / 9390288 = 85.194...%; 1000 / 9390288 = 0.0106% */
	CHECK(!strcmp(weirctl_fmt_share(8000000, 9390288, b, sizeof(b)), "85.2%"),
	      "share %s", b);
	CHECK(!strcmp(weirctl_fmt_share(1000, 9390288, b, sizeof(b)), "<0.1%"),
	      "sliver %s", b);
	CHECK(!strcmp(weirctl_fmt_share(0, 9390288, b, sizeof(b)), "0.0%"), "zero %s", b);
	CHECK(!strcmp(weirctl_fmt_share(5, 0, b, sizeof(b)), "-"), "no total %s", b);
	CHECK(!strcmp(weirctl_fmt_share(7, 7, b, sizeof(b)), "100.0%"), "all %s", b);

	/* Redis prints scores with %.17g: big ones in exponent form. */
	sc.str = "8000000"; sc.len = 7;
	CHECK(weirctl_score_u64(&sc) == 8000000, "score 8000000");
	sc.str = "1.2e+17"; sc.len = 7;
	CHECK(weirctl_score_u64(&sc) == 120000000000000000ULL, "score 1.2e+17");
	sc.str = "-3"; sc.len = 2;
	CHECK(weirctl_score_u64(&sc) == 0, "negative score");
	sc.str = "nan"; sc.len = 3;
	CHECK(weirctl_score_u64(&sc) == 0, "nan score");
	sc.str = "inf"; sc.len = 3;
	CHECK(weirctl_score_u64(&sc) == UINT64_MAX, "inf score");
	sc.str = "12x"; sc.len = 3;
	CHECK(weirctl_score_u64(&sc) == 0, "junk score");
	CHECK(weirctl_score_u64(NULL) == 0, "no score");

	/* A name off the wire with a NUL, BEL and ESC: each one '?' in a
	 * table (4 code points wide: "a?b?" then "?]0;x"); escaped in JSON. */
	static const char *const hdr[] = { "NAME" };
	static const char name[] = "a\0b\a\x1b]0;x";
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	struct weirctl_table *t = weirctl_table_new(hdr, "l");
	struct weirctl_json j;

	weirctl_table_cell_n(t, name, sizeof(name) - 1);
	weirctl_table_print(t, m, false);
	weirctl_table_free(t);
	weirctl_json_init(&j, m);
	weirctl_json_strn(&j, name, sizeof(name) - 1);
	fclose(m);
	CHECK(!strcmp(buf, "NAME\na?b??]0;x\n\"a\\u0000b\\u0007\\u001b]0;x\""),
	      "counted string in a table and in JSON: %s", buf);
	free(buf);
}

/* history, flows --recent and events: their options, the chart. */
static void
test_history(void)
{
	char *recent_n[] = { "--recent", "7", "--vlan", "3" };
	char *recent_bare[] = { "--recent", "--vlan", "3" };
	char *recent_eq[] = { "--recent=12" };
	char *recent_zero[] = { "--recent", "0" };
	char *entity[] = { "host", "10.0.0.5@10", "--since", "24h", "--res", "1m" };
	char *bad_res[] = { "--res", "10s" };
	char *bad_since[] = { "--since", "1w" };
	struct weirctl_filters f;

	CHECK(weirctl_since_parse("1h") == 3600000, "1h");
	CHECK(weirctl_since_parse("24h") == 86400000, "24h");
	CHECK(weirctl_since_parse("7d") == 604800000, "7d");
	CHECK(weirctl_since_parse("30d") == 2592000000LL, "30d");
	CHECK(weirctl_since_parse("90s") == 90000, "90s");
	CHECK(weirctl_since_parse("15m") == 900000, "15m");
	CHECK(weirctl_since_parse("1w") == -1 && weirctl_since_parse("h") == -1 &&
	      weirctl_since_parse("0h") == -1 && weirctl_since_parse("-1h") == -1 &&
	      weirctl_since_parse("1hh") == -1 && weirctl_since_parse("") == -1,
	      "bad durations refused");

	CHECK(weirctl_filters_parse("flows", WC_F_RECENT | WC_F_VLAN, 4, recent_n,
				    &f) == WC_EXIT_OK && f.recent == 7 && f.vlan == 3,
	      "--recent 7 --vlan 3");
	CHECK(weirctl_filters_parse("flows", WC_F_RECENT | WC_F_VLAN, 3, recent_bare,
				    &f) == WC_EXIT_OK && f.recent == 50 && f.vlan == 3,
	      "--recent alone: 50, the next option is not its value");
	CHECK(weirctl_filters_parse("flows", WC_F_RECENT, 1, recent_eq, &f) ==
	      WC_EXIT_OK && f.recent == 12, "--recent=12");
	CHECK(weirctl_filters_parse("flows", WC_F_RECENT, 2, recent_zero, &f) ==
	      WC_EXIT_USAGE, "--recent 0 refused");
	CHECK(weirctl_filters_parse("flows", 0, 1, recent_eq, &f) == WC_EXIT_USAGE,
	      "--recent refused where not accepted");
	CHECK(weirctl_filters_parse("history", WC_F_ARG_WORD | WC_F_ARG_WORD2 |
				    WC_F_SINCE | WC_F_RES, 6, entity, &f) ==
	      WC_EXIT_OK && !strcmp(f.word, "host") &&
	      !strcmp(f.word2, "10.0.0.5@10") && f.since_ms == 86400000 &&
	      f.res == WC_RES_1M, "history host IP@VLAN --since 24h --res 1m");
	CHECK(weirctl_filters_parse("history", WC_F_RES, 2, bad_res, &f) ==
	      WC_EXIT_USAGE, "--res 10s refused");
	CHECK(weirctl_filters_parse("history", WC_F_SINCE, 2, bad_since, &f) ==
	      WC_EXIT_USAGE, "--since 1w refused");
	CHECK(weirctl_filters_parse("history", WC_F_ARG_WORD | WC_F_ARG_WORD2, 3,
				    entity, &f) == WC_EXIT_USAGE,
	      "a third positional word refused");
	CHECK(!strcmp(weirctl_filter_values("--res"), "1s 1m 5m") &&
	      !strcmp(weirctl_filter_values("--since"), "1h 24h 7d 30d"),
	      "completion values");

	CHECK(weirctl_stream_id_ms("1700000000000-3") == 1700000000000ULL &&
	      weirctl_stream_id_ms("17x-3") == 0 && weirctl_stream_id_ms("5") == 0,
	      "stream id times");

	/* The chart, ASCII, 8 rows, five 1-minute points worked out by hand:
	 * the top is the tallest, 8 Mbit/s = 8 rows; 4 Mbit/s is 4 rows; 1
	 * Mbit/s 1 row. Labels are 11 wide ("8.00 Mbit/s"); 72 columns leave
	 * room for one column a point. 1700000000000 is 22:13:20 UTC; the
	 * last column's 22:17:20 would not fit after the first label: left
	 * out. */
	static const double v[] = { 0, 1e6, 0, 8e6, 4e6 };
	struct weirctl_chart c = { .v = v, .n = 5, .t0_ms = 1700000000000ULL,
				   .step_ms = 60000, .width = 72, .rows = 8 };
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	weirctl_chart_draw(m, &c);
	fclose(m);
	CHECK(!strcmp(buf,
		      "8.00 Mbit/s+   # \n"
		      "           |   # \n"
		      "           |   # \n"
		      "           |   # \n"
		      "4.00 Mbit/s+   ##\n"
		      "           |   ##\n"
		      "           |   ##\n"
		      "           | # ##\n"
		      "    0 bit/s+-----\n"
		      "            22:13:20\n"), "ASCII chart:\n%s", buf);
	free(buf);

	/* UTF-8: the same in eighths of a row; 1 Mbit/s is 8 eighths (one
	 * full block), 3 Mbit/s would be 3 rows. */
	c.utf8 = true;
	m = open_memstream(&buf, &len);
	weirctl_chart_draw(m, &c);
	fclose(m);
	CHECK(strstr(buf, "8.00 Mbit/s\u2524   \u2588 \n") &&
	      strstr(buf, "           \u2502 \u2588 \u2588\u2588\n") &&
	      strstr(buf, "    0 bit/s\u2514\u2500\u2500\u2500\u2500\u2500\n"),
	      "UTF-8 chart:\n%s", buf);
	free(buf);

	/* 150 points on 60 columns: 3 a column, averaged. A single 9 Mbit/s
	 * point at index 100 makes column 33 (points 99-101) 3 Mbit/s, the
	 * tallest: the top label says 3.00 Mbit/s and its '#' is the 34th
	 * character after the axis, of 50 columns (ceil(150 / 3)). */
	double many[150] = { 0 };

	many[100] = 9e6;
	c = (struct weirctl_chart){ .v = many, .n = 150, .t0_ms = 1700000000000ULL,
				    .step_ms = 1000, .width = 72, .rows = 10 };
	m = open_memstream(&buf, &len);
	weirctl_chart_draw(m, &c);
	fclose(m);
	{
		const char *axis = strstr(buf, "3.00 Mbit/s+");
		const char *nl = axis ? strchr(axis, '\n') : NULL;

		CHECK(axis == buf && nl && nl - (axis + 12) == 50 &&
		      axis[12 + 33] == '#' && strchr(axis + 12, '#') == axis + 12 + 33,
		      "averaged chart: tallest column 33:\n%s", buf);
		CHECK(strstr(buf, "1.50 Mbit/s+"), "middle label half of the top");
		/* 10 rows, the axis, the times: 12 lines */
		int lines = 0;

		for (const char *p = buf; *p; p++)
			lines += *p == '\n';
		CHECK(lines == 12, "10 rows + axis + times: %d lines", lines);
	}
	free(buf);

	/* Ticks: the span picks the form. */
	char b[32];

	CHECK(!strcmp(weirctl_fmt_tick(1700000000000ULL, 600000, b, sizeof(b)),
		      "22:13:20"), "tick %s", b);
	CHECK(!strcmp(weirctl_fmt_tick(1700000000000ULL, 3600000, b, sizeof(b)),
		      "22:13"), "tick %s", b);
	CHECK(!strcmp(weirctl_fmt_tick(1700000000000ULL, 86400000, b, sizeof(b)),
		      "11-14 22:13"), "tick %s", b);
	CHECK(!strcmp(weirctl_fmt_tick(1700000000000ULL, 30 * 86400000LL, b,
					sizeof(b)), "2023-11-14"), "tick %s", b);

	/* A hidden column leaves no gap; put_safe makes a line safe. */
	static const char *const hdr[] = { "A", "B", "C" };
	struct weirctl_table *t = weirctl_table_new(hdr, "lll");

	weirctl_table_cell(t, "1");
	weirctl_table_cell(t, "x");
	weirctl_table_cell(t, "3");
	weirctl_table_end_row(t);
	weirctl_table_hide(t, 1);
	m = open_memstream(&buf, &len);
	weirctl_table_print(t, m, false);
	weirctl_put_safe(m, "ev\x1b[2Jil\x00\xff", 10);
	fclose(m);
	weirctl_table_free(t);
	CHECK(!strcmp(buf, "A  C\n1  3\nev?[2Jil??"), "hide and put_safe: %s", buf);
	free(buf);
}

/* A reply as HGETALL gives it: field, value, ... (NULL-terminated). */
static redisReply *
hash_of(const char *const *kv)
{
	size_t n = 0;
	redisReply *r = calloc(1, sizeof(*r));

	while (kv[n])
		n++;
	r->type = REDIS_REPLY_ARRAY;
	r->elements = n;
	r->element = calloc(n + 1, sizeof(*r->element));
	for (size_t i = 0; i < n; i++) {
		redisReply *e = calloc(1, sizeof(*e));

		e->type = REDIS_REPLY_STRING;
		e->str = strdup(kv[i]);
		e->len = strlen(kv[i]);
		r->element[i] = e;
	}
	return r;
}

/* The rules of merge.c, worked out by hand: counters add up, first_seen
 * is the least, last_seen and peers the greatest, names the first
 * non-empty, identities (vlan) the first even when they are numbers, a
 * field one hash alone has kept as written, a text counter left as text. */
static void
test_merge(void)
{
	static const char *const a[] = {
		"ip", "10.0.0.5", "vlan", "10", "name", "", "bytes_sent", "100",
		"flows", "3", "peers", "4", "first_seen", "2000", "last_seen", "5000",
		"subnet", "lan", "odd", "007", NULL };
	static const char *const b[] = {
		"ip", "10.0.0.5", "vlan", "10", "name", "ws5.example", "bytes_sent",
		"18446744073709551615", "flows", "2", "peers", "9", "first_seen",
		"1000", "last_seen", "4000", "subnet", "other", "mac", "00:11", NULL };
	static const char *const want[] = {
		"ip", "10.0.0.5", "vlan", "10", "name", "ws5.example", "bytes_sent",
		"18446744073709551615", "flows", "5", "peers", "9", "first_seen",
		"1000", "last_seen", "5000", "subnet", "lan", "odd", "007", "mac",
		"00:11", NULL };
	redisReply *h[3] = { hash_of(a), NULL, hash_of(b) };
	redisReply *m = weirctl_hash_merge(h, 3);
	size_t i;

	for (i = 0; want[i] && i < m->elements; i++)
		CHECK(!strcmp(m->element[i]->str, want[i]), "merge: element %zu '%s', "
		      "want '%s'", i, m->element[i]->str, want[i]);
	CHECK(!want[i] && i == m->elements, "merge: %zu elements", m->elements);
	weirctl_hash_set_u64(m, "hosts", 7);
	CHECK(!strcmp(weirctl_hash_get(m, "hosts"), "7"), "set_u64 adds");
	weirctl_hash_set_u64(m, "flows", 1);
	CHECK(weirctl_hash_u64(m, "flows") == 1, "set_u64 replaces");
	freeReplyObject(m);
	m = weirctl_hash_merge(h + 1, 1);
	CHECK(m->type == REDIS_REPLY_ARRAY && m->elements == 0, "merge of none: []");
	freeReplyObject(m);
	freeReplyObject(h[0]);
	freeReplyObject(h[2]);

	uint64_t v[4];

	CHECK(weirctl_ts_point("1700000040000:1500:3:1", 22, v) && v[0] == 1700000040000ULL &&
	      v[1] == 1500 && v[2] == 3 && v[3] == 1, "ts point");
	CHECK(!weirctl_ts_point("1:2:3", 5, v) && !weirctl_ts_point("1:2:3:4x", 8, v) &&
	      !weirctl_ts_point("1:2:-3:4", 8, v) &&
	      !weirctl_ts_point("1:18446744073709551616:3:4", 26, v), "ts point refusals");

	char err[200];

	CHECK(!weirctl_nodes_check("a", err, sizeof(err)) &&
	      !weirctl_nodes_check("tap-a,tap_b,local", err, sizeof(err)), "node lists");
	CHECK(weirctl_nodes_check("a,a", err, sizeof(err)) && strstr(err, "twice"), "%s", err);
	CHECK(weirctl_nodes_check("a,", err, sizeof(err)) &&
	      weirctl_nodes_check("{a}", err, sizeof(err)) &&
	      weirctl_nodes_check("a b", err, sizeof(err)) &&
	      weirctl_nodes_check("a:b", err, sizeof(err)), "bad node ids");
}

/* Which registered nodes a view without --node merges (nodes.c). Times
 * in seconds below, ms in the struct; the gap is 60 s. */
static void
test_pick(void)
{
#define S(x) ((uint64_t)(x) * 1000 + 1700000000000ULL)
	struct {
		const char *what;
		struct weirctl_node_run r[4];
		size_t n;
		const char *want;	/* '1' kept, '0' left out */
	} t[] = {
		{ "two file runs back to back (a, then b 5 s later)",
		  { { "a", false, S(0), S(100) }, { "b", false, S(105), S(200) } }, 2, "11" },
		{ "two file runs at once",
		  { { "a", false, S(0), S(100) }, { "b", false, S(10), S(90) } }, 2, "11" },
		{ "last week's run under another id: the newest only",
		  { { "old", false, S(0), S(100) }, { "new", false, S(90000), S(90100) } },
		  2, "01" },
		{ "a chain a, b, c back to back, each ended 30 s before the next",
		  { { "a", false, S(0), S(100) }, { "b", false, S(130), S(1000) },
		    { "c", false, S(1030), S(2000) } }, 3, "111" },
		{ "a gap of 61 s breaks the chain",
		  { { "a", false, S(0), S(100) }, { "b", false, S(161), S(300) } }, 2, "01" },
		{ "running engines, a file run of yesterday left out",
		  { { "tap1", true, S(0), S(86400) }, { "tap2", true, S(5), S(86399) },
		    { "file", false, S(100), S(200) } }, 3, "110" },
		{ "running engines, one of them stopped 10 s ago",
		  { { "tap1", true, S(0), S(86400) }, { "tap2", false, S(5), S(86390) } },
		  2, "11" },
		{ "metas written by hand (no state, no times): all",
		  { { "a", true, 0, 0 }, { "b", true, 0, 0 } }, 2, "11" },
		{ "one node", { { "a", false, S(0), S(1) } }, 1, "1" },
	};
#undef S

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool keep[4];
		char got[5] = "";

		weirctl_nodes_pick(t[i].r, t[i].n, keep);
		for (size_t k = 0; k < t[i].n; k++)
			got[k] = keep[k] ? '1' : '0';
		CHECK(!strcmp(got, t[i].want), "pick: %s: %s, want %s", t[i].what,
		      got, t[i].want);
	}
}

static redisReply *
fake_str(const char *s)
{
	redisReply *r = calloc(1, sizeof(*r));

	r->type = REDIS_REPLY_STRING;
	r->str = strdup(s);
	r->len = strlen(s);
	return r;
}

/* A meta hash as HGETALL returns it. */
static redisReply *
fake_meta(const char *state, uint64_t started_ms, uint64_t updated_ms)
{
	redisReply *r = calloc(1, sizeof(*r));
	char a[32], b[32];

	snprintf(a, sizeof(a), "%llu", (unsigned long long)started_ms);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)updated_ms);
	r->type = REDIS_REPLY_ARRAY;
	r->elements = 6;
	r->element = calloc(6, sizeof(*r->element));
	r->element[0] = fake_str("state");
	r->element[1] = fake_str(state);
	r->element[2] = fake_str("started_ms");
	r->element[3] = fake_str(a);
	r->element[4] = fake_str("updated_ms");
	r->element[5] = fake_str(b);
	return r;
}

/* The most nodes, each with a state of 3000 bytes (a meta holds any
 * text): half kept (ran together), half left out (a week older). The
 * message says so, cut to a bounded length, and nothing overruns. */
static void
test_pick_long_states(void)
{
	struct weirctl_ctx ctx = { 0 };
	char state[3001], *msg = NULL;
	size_t len = 0;
	FILE *saved = weirctl_errout, *m;
	const uint64_t t0 = 1700000000000ULL, week = 7 * 86400000ULL;
	bool order = true;

	memset(state, 'x', sizeof(state) - 1);
	state[sizeof(state) - 1] = '\0';
	ctx.nodes = calloc(WEIRCTL_NODES_MAX, sizeof(*ctx.nodes));
	ctx.nnodes = WEIRCTL_NODES_MAX;
	for (size_t i = 0; i < ctx.nnodes; i++) {
		bool old = i < WEIRCTL_NODES_MAX / 2;

		snprintf(ctx.nodes[i].id, sizeof(ctx.nodes[i].id), "%s-node-%02zu-%s",
			 old ? "old" : "new", i, "abcdefghijklmnopqrstuvwxyz0123456789abcdef");
		ctx.nodes[i].meta = fake_meta(state, t0 - (old ? week : 0),
					      t0 + 100000 - (old ? week : 0));
	}
	m = open_memstream(&msg, &len);
	weirctl_errout = m;
	weirctl_nodes_pick_registered(&ctx);
	fclose(m);
	weirctl_errout = saved;
	CHECK(ctx.nnodes == WEIRCTL_NODES_MAX / 2, "long states: %zu nodes kept, want %d",
	      ctx.nnodes, WEIRCTL_NODES_MAX / 2);
	for (size_t i = 0; i < ctx.nnodes; i++)
		order &= !strncmp(ctx.nodes[i].id, "new-node-", 9);
	CHECK(order, "long states: the newer half kept");
	CHECK(msg && !strncmp(msg, "weirctl: merging nodes new-node-32-", 35) &&
	      strstr(msg, "; left out old-node-00-") && strstr(msg, "--node ID reads any node"),
	      "long states: the message names the first kept and left out: %.80s", msg);
	/* cut to nodes.c's two buffers (kept, left out) and the words around */
	CHECK(len < WEIRCTL_NODES_MAX * (2 * WEIRCTL_NODE_ID_MAX + 80) + 300 &&
	      len > WEIRCTL_NODES_MAX * (2 * WEIRCTL_NODE_ID_MAX + 80) - 300,
	      "long states: message cut (%zu bytes)", len);
	for (size_t i = 0; i < ctx.nnodes; i++)
		freeReplyObject(ctx.nodes[i].meta);
	free(ctx.nodes);
	free(msg);
}

/* --subnet on a pair (cmd_flows.c, cmd_subnets.c, weir-web's api_flows.c
 * share it) and the VLAN of a host id (cmd_vlans.c, merge.c). */
static void
test_subnet_match(void)
{
	static const struct {
		const char *want, *pair;	/* pair: SRC>DST, split at the first '>' */
		bool match;
	} t[] = {
		{ "lan", "lan>remote", true }, { "remote", "lan>remote", true },
		{ "la", "lan>remote", false }, { "lanx", "lan>remote", false },
		{ "LAN", "lan>remote", false }, { "lan>remote", "lan>remote", true },
		{ "lan>remot", "lan>remote", false }, { "remote>lan", "lan>remote", false },
		{ "lan>", "lan>remote", false }, { ">remote", "lan>remote", false },
		{ "lan>remote", "lan>remote>x", false }, { "lan>remote>x", "lan>remote>x", true },
		{ "remote>x", "lan>remote>x", false }, { "lan", "lan>lan", true },
		{ "", "lan>", true }, { "", "lan>x", false },
	};
	static const struct {
		const char *id;
		long vlan;
	} v[] = {
		{ "10.0.0.1@0", 0 }, { "10.0.0.1@4095", 4095 }, { "10.0.0.1@4096", -1 },
		{ "2001:db8::1@12", 12 }, { "a@b@7", 7 }, { "10.0.0.1", -1 },
		{ "10.0.0.1@", -1 }, { "10.0.0.1@-1", -1 }, { "10.0.0.1@+5", -1 },
		{ "10.0.0.1@ 5", -1 }, { "10.0.0.1@5x", -1 }, { "10.0.0.1@007", 7 },
		{ "10.0.0.1@99999999999999999999999", -1 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *gt = strchr(t[i].pair, '>');

		CHECK(weirctl_subnet_match(t[i].want, t[i].pair, (size_t)(gt - t[i].pair),
					   gt + 1) == t[i].match,
		      "--subnet %s on %s: want %d", t[i].want, t[i].pair, t[i].match);
	}
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK(weirctl_host_id_vlan(v[i].id) == v[i].vlan, "VLAN of %s: %ld, want %ld",
		      v[i].id, weirctl_host_id_vlan(v[i].id), v[i].vlan);
}

/* weirctl status marks the counters of something lost. */
static void
test_drop_counters(void)
{
	static const char *const drops[] = {
		"drop_bad_ipv4", "err_template", "rx_missed", "rx_nombuf",
		"ring_drops", "events_dropped", "export_dropped", "rx_errors",
		"series_points_dropped", "flow_deletes_overflow", "dpi_verdicts_orphaned", "collect_refused",
		"flow_table_full", "flows_unmatched", "publish_lost_cycles",
	};
	static const char *const not_drops[] = {
		"rx_pkts", "dropped_total_x", "publish_ms", "dropped", "flows",
	};

	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		CHECK(weirctl_is_drop_counter(drops[i]), "%s counts a loss", drops[i]);
	for (size_t i = 0; i < sizeof(not_drops) / sizeof(not_drops[0]); i++)
		CHECK(!weirctl_is_drop_counter(not_drops[i]), "%s is no loss",
		      not_drops[i]);
}

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	weirctl_errout = fopen("/dev/null", "w");	/* expected usage errors */
	test_urls();
	test_units();
	test_json();
	test_utf8();
	test_table();
	test_filters();
	test_apps();
	test_history();
	test_merge();
	test_pick();
	test_pick_long_states();
	test_subnet_match();
	test_drop_counters();
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
