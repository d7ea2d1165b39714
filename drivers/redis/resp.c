/* resp.c -- one Redis command as RESP bytes (see resp.h). */
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define HDR_ROOM 16            /* "*" + up to 10 digits + "\r\n" */

static const char digits2[201] =
	"0001020304050607080910111213141516171819"
	"2021222324252627282930313233343536373839"
	"4041424344454647484950515253545556575859"
	"6061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

char *
weir_resp_u64_text(uint64_t v, char out[20])
{
	char *p = out + 20;
	while (v >= 100) {
		unsigned i = (unsigned)(v % 100) * 2;
		v /= 100;
		*--p = digits2[i + 1];
		*--p = digits2[i];
	}
	if (v >= 10) {
		*--p = digits2[v * 2 + 1];
		*--p = digits2[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
	return p;
}

void
weir_resp_free(struct weir_resp *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void
weir_resp_reset(struct weir_resp *b)
{
	b->len = HDR_ROOM;
	b->argc = 0;
	b->oom = 0;
}

static int
room(struct weir_resp *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 1;
	if (b->oom)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	char *p = realloc(b->buf, cap);
	if (!p) {
		b->oom = 1;
		return 0;
	}
	b->buf = p;
	b->cap = cap;
	return 1;
}

void
weir_resp_arg(struct weir_resp *b, const char *s, size_t n)
{
	char num[20];
	char *d = weir_resp_u64_text(n, num);
	size_t nd = (size_t)(num + 20 - d);
	if (b->len < HDR_ROOM)
		weir_resp_reset(b);
	if (!room(b, 1 + nd + 2 + n + 2))
		return;
	char *p = b->buf + b->len;
	*p++ = '$';
	memcpy(p, d, nd);
	p += nd;
	*p++ = '\r';
	*p++ = '\n';
	memcpy(p, s, n);
	p += n;
	*p++ = '\r';
	*p++ = '\n';
	b->len = (size_t)(p - b->buf);
	b->argc++;
}

void
weir_resp_arg_u64(struct weir_resp *b, uint64_t v)
{
	char num[20];
	char *d = weir_resp_u64_text(v, num);
	weir_resp_arg(b, d, (size_t)(num + 20 - d));
}

void
weir_resp_arg_i64(struct weir_resp *b, int64_t v)
{
	char num[21];
	if (v >= 0) {
		weir_resp_arg_u64(b, (uint64_t)v);
		return;
	}
	char *d = weir_resp_u64_text(-(uint64_t)v, num + 1);
	*--d = '-';
	weir_resp_arg(b, d, (size_t)(num + 21 - d));
}

long
weir_resp_finish(struct weir_resp *b, const char **cmd)
{
	if (b->oom || !b->argc || b->len < HDR_ROOM)
		return -1;
	char num[20];
	char *d = weir_resp_u64_text(b->argc, num);
	size_t nd = (size_t)(num + 20 - d);
	char *p = b->buf + HDR_ROOM - (1 + nd + 2);
	p[0] = '*';
	memcpy(p + 1, d, nd);
	p[1 + nd] = '\r';
	p[2 + nd] = '\n';
	*cmd = p;
	return (long)(b->buf + b->len - p);
}
