/* units_test.c -- weir-web's pieces that need no server: address and
 * name checks, the listen address, sessions, the login rate limit, and
 * the users file with its crypt(3) hashes.
 *
 * Truth: the addresses' canonical forms are RFC 5952's (written out by
 * hand below). The SHA-512 reference line was computed by OpenSSL's own
 * implementation (openssl passwd -6 -salt saltsaltsalt hunter2hunter2),
 * not by libxcrypt; the startup test checks --add-user's yescrypt line
 * with Python's crypt module. */
#include <arpa/inet.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "web.h"

static int failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		failures++; \
	} \
} while (0)

static void
test_ip(void)
{
	char b[INET6_ADDRSTRLEN];

	CHECK(web_ip_canon("10.0.0.5", b, sizeof(b)) && !strcmp(b, "10.0.0.5"));
	/* RFC 5952: lower case, longest zero run as ::, no leading zeros */
	CHECK(web_ip_canon("2001:DB8:0:0:0:0:0:1", b, sizeof(b)) && !strcmp(b, "2001:db8::1"));
	CHECK(web_ip_canon("2001:0db8:0000:0001:0000:0000:0000:0001", b, sizeof(b)) &&
	      !strcmp(b, "2001:db8:0:1::1"));
	CHECK(!web_ip_canon("10.0.0", b, sizeof(b)));
	CHECK(!web_ip_canon("10.0.0.256", b, sizeof(b)));
	CHECK(!web_ip_canon("10.0.0.1 ", b, sizeof(b)));
	CHECK(!web_ip_canon("10.0.0.1*", b, sizeof(b)));
	CHECK(!web_ip_canon("", b, sizeof(b)));
	CHECK(!web_ip_canon("host:1", b, sizeof(b)));
}

static void
test_names(void)
{
	CHECK(web_name_ok("iot"));
	CHECK(web_name_ok("10.0.0.0/8"));
	CHECK(web_name_ok("TLS.YouTube"));
	CHECK(!web_name_ok(""));
	CHECK(!web_name_ok("a b"));
	CHECK(!web_name_ok("a*"));
	CHECK(!web_name_ok("{x}"));
	CHECK(!web_name_ok("a\nb"));
	char longname[WEB_NAME_MAX + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!web_name_ok(longname));
	longname[WEB_NAME_MAX] = '\0';
	CHECK(web_name_ok(longname));

	CHECK(web_user_name_ok("admin"));
	CHECK(web_user_name_ok("a.b_c-1"));
	CHECK(!web_user_name_ok("a:b"));
	CHECK(!web_user_name_ok(""));
	CHECK(!web_user_name_ok("012345678901234567890123456789012"));	/* 33 */
}

static void
test_listen(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[200];

	CHECK(web_listen_parse("127.0.0.1:8080", &ss, &len, err, sizeof(err)) == 0);
	CHECK(web_addr_is_loopback(&ss));
	CHECK(web_listen_parse("127.3.4.5:1", &ss, &len, err, sizeof(err)) == 0);
	CHECK(web_addr_is_loopback(&ss));
	CHECK(web_listen_parse("[::1]:8080", &ss, &len, err, sizeof(err)) == 0);
	CHECK(web_addr_is_loopback(&ss) && ss.ss_family == AF_INET6);
	CHECK(web_listen_parse("0.0.0.0:8080", &ss, &len, err, sizeof(err)) == 0);
	CHECK(!web_addr_is_loopback(&ss));
	CHECK(web_listen_parse("[::]:8080", &ss, &len, err, sizeof(err)) == 0);
	CHECK(!web_addr_is_loopback(&ss));
	CHECK(web_listen_parse("192.0.2.1:443", &ss, &len, err, sizeof(err)) == 0);
	CHECK(!web_addr_is_loopback(&ss));
	CHECK(web_listen_parse("localhost:8080", &ss, &len, err, sizeof(err)) < 0);
	CHECK(web_listen_parse("127.0.0.1", &ss, &len, err, sizeof(err)) < 0);
	CHECK(web_listen_parse("127.0.0.1:0", &ss, &len, err, sizeof(err)) < 0);
	CHECK(web_listen_parse("127.0.0.1:65536", &ss, &len, err, sizeof(err)) < 0);
	CHECK(web_listen_parse("::1:8080", &ss, &len, err, sizeof(err)) < 0);
	CHECK(web_listen_parse("[::1]8080", &ss, &len, err, sizeof(err)) < 0);
}

static void
test_sessions(void)
{
	char sid[WEB_SID_HEX + 1], sid2[WEB_SID_HEX + 1];
	struct web_session_view v, w;

	web_cfg.session_idle_s = 3600;
	web_cfg.session_max_s = 7200;
	CHECK(web_session_new("admin", sid, &v) == 0);
	CHECK(strlen(sid) == WEB_SID_HEX && strlen(v.csrf) == WEB_SID_HEX);
	CHECK(strspn(sid, "0123456789abcdef") == WEB_SID_HEX);
	CHECK(strcmp(sid, v.csrf) != 0);
	CHECK(web_session_new("other", sid2, &w) == 0);
	CHECK(strcmp(sid, sid2) != 0 && strcmp(v.csrf, w.csrf) != 0);
	CHECK(web_session_get(sid, &w) && !strcmp(w.user, "admin") && !strcmp(w.csrf, v.csrf));
	/* one character off, wrong length, not hex: no session */
	char bad[WEB_SID_HEX + 2];

	strcpy(bad, sid);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	CHECK(!web_session_get(bad, &w));
	strcpy(bad, sid);
	bad[WEB_SID_HEX - 1] = '\0';
	CHECK(!web_session_get(bad, &w));
	strcpy(bad, sid);
	bad[0] = 'Z';
	CHECK(!web_session_get(bad, &w));
	CHECK(!web_session_get("", &w));
	web_session_end(sid);
	CHECK(!web_session_get(sid, &w));
	CHECK(web_session_get(sid2, &w) && !strcmp(w.user, "other"));

	CHECK(web_str_eq_ct("abc", "abc"));
	CHECK(!web_str_eq_ct("abc", "abd"));
	CHECK(!web_str_eq_ct("abc", "abcd"));
	CHECK(!web_str_eq_ct("", "a"));
}

static void
test_rate_limit(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, b = a;
	struct sockaddr_in6 c6 = { .sin6_family = AF_INET6 }, d6 = c6;

	inet_pton(AF_INET, "192.0.2.1", &a.sin_addr);
	inet_pton(AF_INET, "192.0.2.2", &b.sin_addr);
	for (int i = 0; i < WEB_LOGIN_MAX_FAILS - 1; i++) {
		CHECK(web_login_blocked((struct sockaddr *)&a) == 0);
		web_login_failed((struct sockaddr *)&a);
	}
	CHECK(web_login_blocked((struct sockaddr *)&a) == 0);
	web_login_failed((struct sockaddr *)&a);
	unsigned w = web_login_blocked((struct sockaddr *)&a);

	CHECK(w > 0 && w <= WEB_LOGIN_WINDOW_S);
	CHECK(web_login_blocked((struct sockaddr *)&b) == 0);
	/* a success before the limit clears the count */
	for (int i = 0; i < WEB_LOGIN_MAX_FAILS - 1; i++)
		web_login_failed((struct sockaddr *)&b);
	web_login_succeeded((struct sockaddr *)&b);
	web_login_failed((struct sockaddr *)&b);
	CHECK(web_login_blocked((struct sockaddr *)&b) == 0);

	/* IPv6: one /64 is one client */
	inet_pton(AF_INET6, "2001:db8:1:2::1", &c6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &d6.sin6_addr);
	for (int i = 0; i < WEB_LOGIN_MAX_FAILS; i++)
		web_login_failed((struct sockaddr *)(i % 2 ? &c6 : &d6));
	CHECK(web_login_blocked((struct sockaddr *)&c6) > 0);
	CHECK(web_login_blocked((struct sockaddr *)&d6) > 0);
	inet_pton(AF_INET6, "2001:db8:1:3::1", &d6.sin6_addr);
	CHECK(web_login_blocked((struct sockaddr *)&d6) == 0);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static void
test_users(void)
{
	char dir[] = "/tmp/weir-web-unit-XXXXXX", path[256], hash[256];
	FILE *out;
	char *printed = NULL;
	size_t plen = 0;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/users", dir);

	/* A SHA-512 crypt(3) line from OpenSSL (see the top of the file). */
	write_file(path, "# users\n\nalice:$6$saltsaltsalt$hguFfInXUYQq3."
		   "YdeS5GHRl2cyF947rYGbVV0eKpjixzD9XEq7yxUCiT3MbvlC1Y8GiYIij7W5eEmIu3.hoiP/\n");
	int n = web_users_load(path);

	CHECK(n == 1);
	/* whether the reference line verifies depends only on libxcrypt */
	struct crypt_data cd = { 0 };
	const char *h = crypt_r("hunter2hunter2", "$6$saltsaltsalt", &cd);
	bool ref_ok = h && !strcmp(h, "$6$saltsaltsalt$hguFfInXUYQq3.YdeS5GHRl2cyF947rYGbV"
				   "V0eKpjixzD9XEq7yxUCiT3MbvlC1Y8GiYIij7W5eEmIu3.hoiP/");

	CHECK(ref_ok);
	CHECK(web_users_check("alice", "hunter2hunter2"));
	CHECK(!web_users_check("alice", "hunter2hunter3"));
	CHECK(!web_users_check("alice", ""));
	CHECK(!web_users_check("bob", "hunter2hunter2"));

	write_file(path, "# nobody\n\n");
	CHECK(web_users_load(path) == 0);
	write_file(path, "alice:plaintext\n");
	CHECK(web_users_load(path) < 0);
	write_file(path, "alice:$1$md5isweak$abc\n");
	CHECK(web_users_load(path) < 0);
	write_file(path, "al ice:$6$x$y\n");
	CHECK(web_users_load(path) < 0);
	write_file(path, "alice:$6$a$b\nalice:$6$a$c\n");
	CHECK(web_users_load(path) < 0);
	unlink(path);
	CHECK(web_users_load(path) < 0);

	/* --add-user: a new file, mode 0600, a yescrypt hash that checks */
	out = open_memstream(&printed, &plen);
	CHECK(web_users_add(path, "admin", out) == 0);
	fclose(out);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	const char *nl = strrchr(printed, '\n');
	char pw[64] = "";

	if (nl && nl > printed) {
		const char *start = nl - 1;

		while (start > printed && start[-1] != '\n')
			start--;
		snprintf(pw, sizeof(pw), "%.*s", (int)(nl - start), start);
	}
	CHECK(strlen(pw) == 24);
	CHECK(web_users_load(path) == 1);
	CHECK(web_users_check("admin", pw));
	CHECK(!web_users_check("admin", "wrong"));
	FILE *f = fopen(path, "r");

	CHECK(f && fgets(hash, sizeof(hash), f));
	if (f)
		fclose(f);
	CHECK(!strncmp(hash, "admin:$y$", 9) || !strncmp(hash, "admin:$6$", 9));
	free(printed);

	/* resetting replaces the line, another user is appended */
	out = open_memstream(&printed, &plen);
	CHECK(web_users_add(path, "admin", out) == 0);
	CHECK(web_users_add(path, "bob", out) == 0);
	fclose(out);
	free(printed);
	CHECK(web_users_load(path) == 2);
	CHECK(!web_users_check("admin", pw));	/* the old password is gone */
	CHECK(web_users_add(path, "bad:name", stderr) != 0);

	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_ip();
	test_names();
	test_listen();
	test_sessions();
	test_rate_limit();
	test_users();
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("all weir-web unit checks passed\n");
	return 0;
}
