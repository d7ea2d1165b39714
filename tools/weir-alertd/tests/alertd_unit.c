/* alertd_unit.c -- weir-alertd's pure pieces, against values worked out by
 * hand or published elsewhere:
 *
 *   - value syntaxes (durations, quantities, quiet hours across midnight,
 *     rates, address blocks);
 *   - HMAC-SHA256 against RFC 4231 test cases 1 and 2;
 *   - the webhook address policy on loopback, private, link-local,
 *     metadata, IPv4-mapped and global addresses;
 *   - a note through the outbox form and back, with bytes that would
 *     break a separator-based format, and truncated forms refused;
 *   - the RFC 5424 line of a note, written out by hand below, with SD
 *     escapes; an email whose summary tries to add a header;
 *   - the lifecycle: `for`, hysteresis (release-below), `release-for`,
 *     critical escalation, event deduplication;
 *   - the rules parser on a file with an error per line;
 *   - several nodes: the node keys, the node an alert says it came from
 *     (a node's id, the nodes of a merged value, kept through a release
 *     at zero), the quiet release of merged alerts left under a node
 *     that is no longer the home, and the node labels. */
#define _GNU_SOURCE	/* memmem */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertd.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		failures++; \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

static void
test_units(void)
{
	int64_t ms;
	double q;
	int a, b;
	unsigned n;
	struct alertd_cidr c;

	CHECK(!alertd_parse_duration_ms("30s", &ms) && ms == 30000, "30s");
	CHECK(!alertd_parse_duration_ms("5m", &ms) && ms == 300000, "5m");
	CHECK(!alertd_parse_duration_ms("250ms", &ms) && ms == 250, "250ms");
	{
		char d[32];

		alertd_fmt_duration(600000, d, sizeof(d));
		CHECK(!strcmp(d, "10m"), "600000 ms is 10m");
		alertd_fmt_duration(5400250, d, sizeof(d));
		CHECK(!strcmp(d, "1h30m250ms"), "5400250 ms is 1h30m250ms");
		alertd_fmt_duration(86400000, d, sizeof(d));
		CHECK(!strcmp(d, "1d"), "a day is 1d");
	}
	CHECK(!alertd_parse_duration_ms("1.5h", &ms) && ms == 5400000, "1.5h");
	CHECK(!alertd_parse_duration_ms("2", &ms) && ms == 2000, "bare seconds");
	CHECK(alertd_parse_duration_ms("5 m", &ms), "blank inside");
	CHECK(alertd_parse_duration_ms("-1s", &ms), "negative");
	CHECK(alertd_parse_duration_ms("soon", &ms), "word");
	CHECK(!alertd_parse_quantity("800M", &q) && q == 8e8, "800M");
	CHECK(!alertd_parse_quantity("1.5k", &q) && q == 1500, "1.5k");
	CHECK(alertd_parse_quantity("12Mb", &q), "unit junk");
	CHECK(!alertd_parse_tod_range("22:00-05:00", &a, &b) && a == 1320 && b == 300,
	      "22:00-05:00");
	CHECK(alertd_tod_inside(a, b, 23 * 60) && alertd_tod_inside(a, b, 0) &&
	      alertd_tod_inside(a, b, 299) && !alertd_tod_inside(a, b, 300) &&
	      !alertd_tod_inside(a, b, 12 * 60), "wrap past midnight");
	CHECK(!alertd_parse_tod_range("00:00-05:00", &a, &b) &&
	      alertd_tod_inside(a, b, 0) && !alertd_tod_inside(a, b, 300), "00-05");
	CHECK(alertd_parse_tod_range("05:00-05:00", &a, &b), "empty range");
	CHECK(alertd_parse_tod_range("25:00-05:00", &a, &b), "25h");
	CHECK(alertd_parse_tod_range("5:00-06:00", &a, &b), "H:MM");
	CHECK(!alertd_parse_rate("20/min", &n, &ms) && n == 20 && ms == 60000, "20/min");
	CHECK(!alertd_parse_rate("5/30s", &n, &ms) && n == 5 && ms == 30000, "5/30s");
	CHECK(alertd_parse_rate("0/min", &n, &ms), "zero");
	CHECK(!alertd_cidr_parse("10.0.30.0/24", &c) && alertd_cidr_has(&c, "10.0.30.7") &&
	      !alertd_cidr_has(&c, "10.0.31.7") && !alertd_cidr_has(&c, "2001:db8::1"),
	      "10.0.30.0/24");
	CHECK(!alertd_cidr_parse("10.0.16.0/20", &c) && alertd_cidr_has(&c, "10.0.31.255") &&
	      !alertd_cidr_has(&c, "10.0.32.0"), "a /20: partial byte");
	CHECK(!alertd_cidr_parse("2001:db8:a::/48", &c) &&
	      alertd_cidr_has(&c, "2001:db8:a:30::5") && !alertd_cidr_has(&c, "2001:db8:b::1"),
	      "IPv6 /48");
	CHECK(alertd_cidr_parse("10.0.0.0/33", &c), "/33");
}

static void
test_hmac(void)
{
	char out[72];
	char key1[21];

	/* RFC 4231 4.2, test case 1: key 0x0b x 20, "Hi There" */
	memset(key1, 0x0b, 20);
	key1[20] = 0;
	alertd_hmac_sha256_hex(key1, "Hi There", 8, out);
	CHECK(!strcmp(out, "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da7"
		      "26e9376c2e32cff7"), "RFC 4231 case 1: %s", out);
	/* RFC 4231 4.3, test case 2 */
	alertd_hmac_sha256_hex("Jefe", "what do ya want for nothing?", 28, out);
	CHECK(!strcmp(out, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d273983"
		      "9dec58b964ec3843"), "RFC 4231 case 2: %s", out);
}

static bool
allowed(const char *addr, bool priv)
{
	struct sockaddr_storage ss = { 0 };
	char why[256];

	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &s4->sin_addr);
	}
	return alertd_addr_allowed((struct sockaddr *)&ss, priv, why, sizeof(why));
}

static void
test_policy(void)
{
	static const char *const refused[] = {
		"127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "169.254.169.254", "169.254.1.1", "100.64.0.1",
		"0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::",
		"fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
		"64:ff9b::a00:1", "ff02::1",
	};
	static const char *const ok[] = {
		"8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.0.2.1",
		"2001:4860:4860::8888", "::ffff:8.8.8.8",
	};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK(!allowed(refused[i], false), "%s should be refused", refused[i]);
		CHECK(allowed(refused[i], true), "%s with allow-private", refused[i]);
	}
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(allowed(ok[i], false), "%s should be allowed", ok[i]);
}

static void
fill_note(struct alertd_note *n)
{
	memset(n, 0, sizeof(*n));
	n->alert_id = 42;
	n->seq = 3;
	alertd_note_address(n, 42, "ops");
	strcpy(n->node, "local");
	strcpy(n->rule, "iot-to-servers");
	strcpy(n->kind, "boundary");
	strcpy(n->state, "engaged");
	strcpy(n->severity, "critical");
	strcpy(n->entity, "10.0.30.5>10.0.20.53");
	strcpy(n->summary, "forbidden flow \"x\" ] \\ 5:a,\nnext");
	n->details = strdup("{\"a\":1}");
	n->ts_ms = 1795766401234;
	n->engaged_ms = 1795766400000;
	n->count = 7;
	n->value = 11933.6;
	n->threshold = 10000;
	n->has_value = true;
}

static void
test_note(void)
{
	struct alertd_note n, back;
	size_t len;
	char *ser;

	fill_note(&n);
	CHECK(!strcmp(n.key, "42:3:ops"), "note key %s", n.key);
	ser = alertd_note_serialise(&n, &len);
	CHECK(ser != NULL, "serialised");
	if (ser && !alertd_note_parse(ser, len, &back)) {
		CHECK(!strcmp(back.summary, n.summary) && !strcmp(back.key, n.key) &&
		      back.alert_id == 42 && back.seq == 3 && back.count == 7 &&
		      back.value == n.value && back.has_value &&
		      !strcmp(back.details, "{\"a\":1}") && back.ts_ms == n.ts_ms,
		      "round trip keeps every field");
		alertd_note_free(&back);
		CHECK(true, "round trip parses");
		/* every shorter prefix is refused, never read past */
		for (size_t cut = 0; cut < len; cut++) {
			char *p = malloc(cut ? cut : 1);

			memcpy(p, ser, cut);
			CHECK(alertd_note_parse(p, cut, &back), "prefix %zu refused", cut);
			free(p);
		}
	} else {
		CHECK(false, "round trip parses");
	}
	free(ser);
	alertd_note_free(&n);
}

static void
test_syslog(void)
{
	struct alertd_dest d = { 0 };
	struct alertd_note n;
	char buf[2049], want[1024];

	fill_note(&n);
	d.facility = 19;	/* local3 */
	strcpy(d.app_name, "weir-alertd");
	strcpy(d.hostname, "gw1");
	alertd_syslog_format(&d, &n, buf, sizeof(buf));
	/* 1795766401 is 2026-11-27 08:00:01 UTC; PRI 19 * 8 + 2 = 154 */
	snprintf(want, sizeof(want), "<154>1 2026-11-27T08:00:01.234Z gw1 weir-alertd %d "
		 "engaged [weir@32473 id=\"42\" rule=\"iot-to-servers\" kind=\"boundary\" "
		 "state=\"engaged\" severity=\"critical\" entity=\"10.0.30.5>10.0.20.53\" "
		 "node=\"local\"] forbidden flow \"x\" ] \\ 5:a, next", (int)getpid());
	CHECK(!strcmp(buf, want), "syslog line\n got %s\nwant %s", buf, want);
	strcpy(n.entity, "a\"b]c\\d");
	alertd_syslog_format(&d, &n, buf, sizeof(buf));
	CHECK(strstr(buf, "entity=\"a\\\"b\\]c\\\\d\"") != NULL, "SD escapes: %s", buf);
	alertd_note_free(&n);
}

static void
test_email(void)
{
	struct alertd_dest d = { 0 };
	struct alertd_note n;
	char *m;

	fill_note(&n);
	strcpy(n.summary, "evil\r\nBcc: victim@example.org\r\n\r\nbody");
	strcpy(d.from, "weir@example.test");
	strcpy(d.to, "a@example.test");
	m = alertd_email_format(&d, &n);
	CHECK(m != NULL, "email formatted");
	if (m) {
		char *body = strstr(m, "\r\n\r\n");

		CHECK(body && !memmem(m, (size_t)(body - m), "\nBcc:", 5),
		      "no header injected:\n%s", m);
		CHECK(strstr(m, "Subject: [weir] [CRITICAL] engaged iot-to-servers: evil??Bcc: "
			     "victim@example.org????body\r\n") != NULL, "subject flattened:\n%s", m);
		free(m);
	}
	alertd_note_free(&n);
}

static struct alertd_conf *
conf_from(const char *text)
{
	char path[] = "/tmp/alertd-unit-XXXXXX";
	int fd = mkstemp(path);
	struct alertd_conf *c;

	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return NULL;
	}
	close(fd);
	c = alertd_conf_load(NULL, path);
	unlink(path);
	return c;
}

static size_t
count_state(struct alertd_changes *ch, const char *state)
{
	size_t n = 0;

	for (size_t i = 0; i < ch->n; i++)
		if (ch->v[i].state && !strcmp(ch->v[i].state, state))
			n++;
	return n;
}

static void
value(struct alertd_alerts *a, struct alertd_changes *ch, struct alertd_conf *c,
      const struct alertd_rule *r, double v, int64_t t)
{
	alertd_alerts_value(a, ch, c, r, "subnet:a>b", v, r->above, v > r->above,
			    v < r->release_below, "s", "{}", t);
}

static void
test_lifecycle(void)
{
	struct alertd_conf *c = conf_from(
		"[webhook w]\nurl = https://example.org/x\n"
		"[rule t]\nkind = threshold\nentity = subnet:a>b\nabove = 100\n"
		"release-below = 50\ncritical-above = 500\nfor = 2s\nrelease-for = 1s\n"
		"notify = w\n"
		"[rule e]\nkind = boundary\nrelease-after = 10s\nnotify = w\n");
	struct alertd_alerts *a = alertd_alerts_new();
	struct alertd_changes ch = { 0 };
	const struct alertd_rule *t, *e;

	CHECK(c != NULL, "lifecycle config loads");
	if (!c)
		return;
	t = alertd_conf_rule_find(c, "t");
	e = alertd_conf_rule_find(c, "e");
	/* above for 1.5 s only: pending, never engaged */
	value(a, &ch, c, t, 150, 0);
	value(a, &ch, c, t, 150, 1500);
	value(a, &ch, c, t, 90, 1600);
	CHECK(ch.n == 0 && alertd_alerts_count(a) == 0, "short spike: nothing");
	/* above for 2 s: engaged once */
	value(a, &ch, c, t, 150, 10000);
	value(a, &ch, c, t, 150, 11000);
	value(a, &ch, c, t, 150, 12000);
	CHECK(count_state(&ch, "engaged") == 1, "engaged after for = 2s");
	CHECK(ch.n == 1 || !ch.v[ch.n - 1].state, "then quiet updates");
	alertd_changes_clear(&ch);
	/* hysteresis: 80 is below the threshold but above release-below */
	value(a, &ch, c, t, 80, 13000);
	value(a, &ch, c, t, 80, 20000);
	CHECK(count_state(&ch, "released") == 0, "80 holds the alert (release-below 50)");
	/* escalation */
	value(a, &ch, c, t, 600, 21000);
	CHECK(count_state(&ch, "updated") == 1 && !strcmp(ch.v[ch.n - 1].snap.severity, "critical"),
	      "critical-above raises the severity, notified as updated");
	alertd_changes_clear(&ch);
	/* below 50 for less than release-for, then long enough */
	value(a, &ch, c, t, 10, 22000);
	value(a, &ch, c, t, 10, 22500);
	CHECK(count_state(&ch, "released") == 0, "release-for not yet");
	value(a, &ch, c, t, 10, 23000);
	CHECK(count_state(&ch, "released") == 1 && alertd_alerts_count(a) == 0, "released");
	alertd_changes_clear(&ch);

	/* events: dedup by (rule, entity), release after quiet */
	alertd_alerts_event(a, &ch, c, e, ALERTD_SEV_CRITICAL, "x>y", "s", "{}", 0);
	alertd_alerts_event(a, &ch, c, e, ALERTD_SEV_CRITICAL, "x>y", "s", "{}", 5000);
	alertd_alerts_event(a, &ch, c, e, ALERTD_SEV_CRITICAL, "x>z", "s", "{}", 5000);
	CHECK(count_state(&ch, "engaged") == 2 && ch.n == 3 && ch.v[1].snap.count == 2,
	      "same entity: one alert, count 2");
	alertd_changes_clear(&ch);
	alertd_alerts_tick(a, &ch, c, 14999);
	CHECK(ch.n == 0, "not quiet long enough");
	alertd_alerts_tick(a, &ch, c, 15000);
	CHECK(count_state(&ch, "released") == 2, "both released after 10 s quiet");
	CHECK(ch.n == 2 && !strcmp(ch.v[0].snap.summary, "s (quiet for 10s)") &&
	      !strcmp(ch.v[1].snap.summary, "s (quiet for 10s)"),
	      "the released summary says how long it was quiet");
	alertd_changes_clear(&ch);
	free(ch.v);
	alertd_alerts_free(a);
	alertd_conf_put(c);
}

static void
test_conf_errors(void)
{
	struct alertd_conf *c;

	c = conf_from("[webhook w]\nurl = ftp://example.org/\n[rule r]\nkind = new-host\n"
		      "notify = w\n");
	CHECK(c == NULL, "ftp webhook refused");
	alertd_conf_put(c);
	c = conf_from("[webhook w]\nurl = https://example.org/\n[rule r]\nkind = threshold\n"
		      "entity = subnet:a>b\nabove = 10\nrelease-below = 20\nnotify = w\n");
	CHECK(c == NULL, "release-below above the threshold refused");
	alertd_conf_put(c);
	c = conf_from("[webhook w]\nurl = https://example.org/\n[rule r]\nkind = dns-quiet\n"
		      "quiet = 22:00-06:00\nnotify = webhook:w\n");
	CHECK(c && c->n_rules == 1 && c->rules[0].quiet_from == 1320 &&
	      c->rules[0].notify[0] == 0, "dns-quiet rule loads");
	alertd_conf_put(c);
	c = conf_from("[syslog s]\n[rule r]\nkind = new-host\nnotify = email:s\n");
	CHECK(c == NULL, "notify type must match the destination's");
	alertd_conf_put(c);
}

static void
test_nodes(void)
{
	struct alertd_conf *c;
	struct alertd_alerts *a = alertd_alerts_new();
	struct alertd_changes ch = { 0 };
	const struct alertd_rule *t, *e;
	struct alertd_node n[3] = { { .id = "a" }, { .id = "b" }, { .id = "tap-3" } };
	struct alertd_ctx ctx = { .n_nodes = 3 };
	char buf[16];

	c = conf_from("[webhook w]\nurl = https://example.org/\n[rule r]\nkind = new-host\n"
		      "notify = w\n");
	CHECK(c && c->node[0] == '\0' && !c->alert_node[0] && c->nodes_every_ms == 10000,
	      "default: every node of the registry, home the first, registry every 10 s");
	alertd_conf_put(c);
	c = conf_from("node = b,a\nalert-node = a\nnodes-interval = 2s\n"
		      "[webhook w]\nurl = https://example.org/\n[rule r]\nkind = new-host\n"
		      "notify = w\n");
	CHECK(c && !strcmp(c->node, "b,a") && !strcmp(c->alert_node, "a") &&
	      c->nodes_every_ms == 2000, "node list, alert-node, nodes-interval");
	alertd_conf_put(c);
	c = conf_from("node = a,{b}\n[webhook w]\nurl = https://example.org/\n"
		      "[rule r]\nkind = new-host\nnotify = w\n");
	CHECK(c == NULL, "a node id with braces refused");
	alertd_conf_put(c);
	c = conf_from("node = a,a\n[webhook w]\nurl = https://example.org/\n"
		      "[rule r]\nkind = new-host\nnotify = w\n");
	CHECK(c == NULL, "a node given twice refused");
	alertd_conf_put(c);
	c = conf_from("alert-node = a,b\n[webhook w]\nurl = https://example.org/\n"
		      "[rule r]\nkind = new-host\nnotify = w\n");
	CHECK(c == NULL, "alert-node takes one id");
	alertd_conf_put(c);

	CHECK(alertd_kind_merged(ALERTD_K_THRESHOLD) && alertd_kind_merged(ALERTD_K_SCAN) &&
	      alertd_kind_merged(ALERTD_K_DNS_QUIET) && !alertd_kind_merged(ALERTD_K_BOUNDARY) &&
	      !alertd_kind_merged(ALERTD_K_NEW_HOST) && !alertd_kind_merged(ALERTD_K_HEALTH),
	      "merged kinds: threshold, scan, dns-quiet");
	for (int i = 0; i < 3; i++)
		ctx.nodes[i] = &n[i];
	alertd_view_label(&ctx, 5, buf, sizeof(buf));
	CHECK(!strcmp(buf, "a,tap-3"), "label of nodes 0 and 2: %s", buf);
	alertd_view_label(&ctx, 0, buf, sizeof(buf));
	CHECK(!strcmp(buf, "*"), "label of no node: %s", buf);
	alertd_view_label(&ctx, 7, buf, 6);
	CHECK(!strcmp(buf, "*"), "label too long for its buffer: %s", buf);

	c = conf_from("[webhook w]\nurl = https://example.org/x\n"
		      "[rule t]\nkind = threshold\nentity = host:h@1\nabove = 100\nnotify = w\n"
		      "[rule e]\nkind = boundary\nnotify = w\n");
	CHECK(c != NULL, "nodes config loads");
	if (!c)
		return;
	t = alertd_conf_rule_find(c, "t");
	e = alertd_conf_rule_find(c, "e");
	/* a merged value: the nodes that gave it; at zero it keeps them */
	alertd_alerts_node(a, "a,b");
	alertd_alerts_value(a, &ch, c, t, "host:h@1", 150, 100, true, false, "s", "{}", 0);
	CHECK(ch.n == 1 && !strcmp(ch.v[0].snap.node, "a,b"), "engaged with node a,b");
	alertd_changes_clear(&ch);
	alertd_alerts_node(a, "a");
	alertd_alerts_round_begin(a, t);
	alertd_alerts_round_end(a, &ch, c, t, 1000);
	CHECK(count_state(&ch, "released") == 1 && !strcmp(ch.v[0].snap.node, "a,b"),
	      "released at zero, still node a,b (got %s)", ch.n ? ch.v[0].snap.node : "-");
	alertd_changes_clear(&ch);
	/* an event alert says its node; one with none yet says * */
	alertd_alerts_node(a, "b");
	alertd_alerts_event(a, &ch, c, e, ALERTD_SEV_WARNING, "x>y", "s", "{}", 0);
	alertd_alerts_node(a, NULL);
	alertd_alerts_event(a, &ch, c, e, ALERTD_SEV_WARNING, "x>z", "s", "{}", 0);
	CHECK(ch.n == 2 && !strcmp(ch.v[0].snap.node, "b") && !strcmp(ch.v[1].snap.node, "*"),
	      "event alerts: node b, and * without a node");
	alertd_changes_clear(&ch);
	/* merged alerts under a node that is no longer the home: released,
	 * told to nobody, the reason in the summary */
	alertd_alerts_release_all(a, &ch, c, "home moved", 5000);
	CHECK(count_state(&ch, "released") == 2 && alertd_alerts_count(a) == 0 &&
	      !ch.v[0].notify && !ch.v[1].notify && strstr(ch.v[0].snap.summary, "(home moved)"),
	      "release_all: every alert released quietly");
	alertd_changes_clear(&ch);
	free(ch.v);
	alertd_alerts_free(a);
	alertd_conf_put(c);
}

int
main(void)
{
	test_units();
	test_hmac();
	test_policy();
	test_note();
	test_syslog();
	test_email();
	test_lifecycle();
	test_conf_errors();
	test_nodes();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("all alertd unit checks passed\n");
	return 0;
}
