/* session.c -- logged-in sessions and the failed-login table, in memory.
 *
 * A session id is 256 random bits (getrandom), sent once in an HttpOnly,
 * SameSite=Strict cookie; its CSRF token is another 256 bits the page
 * reads from /api/session and sends back in X-CSRF-Token on every POST.
 * Sessions end after session_idle_s without a request, session_max_s
 * after login, at logout, or when the server restarts (nothing is
 * written anywhere). The table is small and fixed: when full, the
 * session used least recently goes.
 *
 * Failed logins are counted per client address (IPv6 by /64, so one host
 * cannot rotate through its own prefix): WEB_LOGIN_MAX_FAILS failures in
 * WEB_LOGIN_WINDOW_S seconds lock the address out until the window ends.
 * The table is fixed too; when full, the oldest entry is reused.
 *
 * Every function here takes the one mutex; the server threads call them. */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "web.h"

#define MAX_SESSIONS 1024
#define MAX_ADDRS 1024

struct session {
	char sid[WEB_SID_HEX + 1];	/* "" when free */
	struct web_session_view v;
	time_t created, used;
};

struct fails {
	unsigned char key[16];
	int af;
	unsigned count;
	time_t first;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct session sessions[MAX_SESSIONS];
static struct fails fails[MAX_ADDRS];

static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int
web_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;

	for (int tries = 0; got < n && tries < 16; tries++) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r > 0)
			got += (size_t)r;
	}
	return got == n ? 0 : -1;
}

static int
random_hex(char *out, size_t bytes)
{
	unsigned char r[64];

	if (bytes > sizeof(r) || web_random(r, bytes))
		return -1;
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	explicit_bzero(r, sizeof(r));
	return 0;
}

bool
web_str_eq_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static bool
expired(const struct session *s, time_t now)
{
	return now - s->used > (time_t)web_cfg.session_idle_s ||
	       now - s->created > (time_t)web_cfg.session_max_s;
}

int
web_session_new(const char *user, char sid[WEB_SID_HEX + 1],
		struct web_session_view *v)
{
	time_t now = now_s();
	struct session *slot = NULL;

	if (random_hex(sid, WEB_SID_HEX / 2))
		return -1;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &sessions[i];

		if (s->sid[0] && expired(s, now))
			memset(s, 0, sizeof(*s));
		if (!s->sid[0] && !slot)
			slot = s;
	}
	if (!slot) {		/* full: the least recently used goes */
		slot = &sessions[0];
		for (int i = 1; i < MAX_SESSIONS; i++)
			if (sessions[i].used < slot->used)
				slot = &sessions[i];
	}
	memset(slot, 0, sizeof(*slot));
	memcpy(slot->sid, sid, WEB_SID_HEX + 1);
	snprintf(slot->v.user, sizeof(slot->v.user), "%s", user);
	if (random_hex(slot->v.csrf, WEB_SID_HEX / 2)) {
		memset(slot, 0, sizeof(*slot));
		pthread_mutex_unlock(&lock);
		return -1;
	}
	slot->created = slot->used = now;
	*v = slot->v;
	pthread_mutex_unlock(&lock);
	return 0;
}

static bool
sid_ok(const char *sid)
{
	if (strlen(sid) != WEB_SID_HEX)
		return false;
	for (const char *p = sid; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

bool
web_session_get(const char *sid, struct web_session_view *v)
{
	time_t now = now_s();
	bool found = false;

	if (!sid || !sid_ok(sid))
		return false;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &sessions[i];

		if (!s->sid[0] || !web_str_eq_ct(s->sid, sid))
			continue;
		if (expired(s, now)) {
			memset(s, 0, sizeof(*s));
			break;
		}
		s->used = now;
		*v = s->v;
		found = true;
		break;
	}
	pthread_mutex_unlock(&lock);
	return found;
}

void
web_session_end(const char *sid)
{
	if (!sid || !sid_ok(sid))
		return;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_SESSIONS; i++)
		if (sessions[i].sid[0] && web_str_eq_ct(sessions[i].sid, sid))
			memset(&sessions[i], 0, sizeof(sessions[i]));
	pthread_mutex_unlock(&lock);
}

/* The address as a key: IPv4 whole, IPv6 by its /64. */
static void
addr_key(const struct sockaddr *sa, unsigned char key[16], int *af)
{
	memset(key, 0, 16);
	*af = sa ? sa->sa_family : 0;
	if (*af == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (*af == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			*af = AF_INET;
			memcpy(key, a->s6_addr + 12, 4);
		} else {
			memcpy(key, a->s6_addr, 8);
		}
	}
}

static struct fails *
fails_find(const struct sockaddr *sa, bool create, time_t now)
{
	unsigned char key[16];
	int af;
	struct fails *freeslot = NULL, *oldest = &fails[0];

	addr_key(sa, key, &af);
	for (int i = 0; i < MAX_ADDRS; i++) {
		struct fails *f = &fails[i];

		if (f->count && now - f->first >= WEB_LOGIN_WINDOW_S)
			memset(f, 0, sizeof(*f));
		if (f->count && f->af == af && !memcmp(f->key, key, 16))
			return f;
		if (!f->count && !freeslot)
			freeslot = f;
		else if (f->count && f->first < oldest->first)
			oldest = f;
	}
	if (!create)
		return NULL;
	if (freeslot)
		oldest = freeslot;
	memset(oldest, 0, sizeof(*oldest));
	memcpy(oldest->key, key, 16);
	oldest->af = af;
	oldest->first = now;
	return oldest;
}

unsigned
web_login_blocked(const struct sockaddr *sa)
{
	time_t now = now_s();
	unsigned wait = 0;
	struct fails *f;

	pthread_mutex_lock(&lock);
	f = fails_find(sa, false, now);
	if (f && f->count >= WEB_LOGIN_MAX_FAILS)
		wait = (unsigned)(WEB_LOGIN_WINDOW_S - (now - f->first));
	pthread_mutex_unlock(&lock);
	return wait ? wait : 0;
}

void
web_login_failed(const struct sockaddr *sa)
{
	time_t now = now_s();
	struct fails *f;

	pthread_mutex_lock(&lock);
	f = fails_find(sa, true, now);
	f->count++;
	pthread_mutex_unlock(&lock);
}

void
web_login_succeeded(const struct sockaddr *sa)
{
	time_t now = now_s();
	struct fails *f;

	pthread_mutex_lock(&lock);
	f = fails_find(sa, false, now);
	if (f)
		memset(f, 0, sizeof(*f));
	pthread_mutex_unlock(&lock);
}
