/* json.c -- a streaming JSON writer, just enough for weirctl.
 *
 * Written straight to a FILE as the hashes arrive, so `flows --json` over
 * a million flows never holds more than one batch. Strings are escaped
 * per RFC 8259: quote, backslash and control characters escaped, and any
 * byte that is not valid UTF-8 (an interface name off the wire may hold
 * anything) replaced by U+FFFD, so the output always parses.
 *
 * Redis stores everything as text; a field becomes a JSON number when its
 * text is one, except for the fields a command names as strings (an
 * address, a subnet or interface name that happens to look like "10"). */
#include <string.h>

#include "weirctl.h"

void
weirctl_json_init(struct weirctl_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Called before any value or key: the comma, and a line break between
 * the elements of the outermost container. */
static void
sep(struct weirctl_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0 && j->need_comma[j->depth]) {
		fputc(',', j->f);
		if (j->depth == 1)
			fputc('\n', j->f);
	}
	if (j->depth > 0)
		j->need_comma[j->depth] = true;
}

static void
open_c(struct weirctl_json *j, int c)
{
	sep(j);
	fputc(c, j->f);
	if (j->depth + 1 < (int)(sizeof(j->need_comma) / sizeof(j->need_comma[0])))
		j->depth++;
	j->need_comma[j->depth] = false;
	if (j->depth == 1 && c == '[')
		fputc('\n', j->f);
}

static void
close_c(struct weirctl_json *j, int c)
{
	if (j->depth == 1 && c == ']' && j->need_comma[1])
		fputc('\n', j->f);
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0)
		fputc('\n', j->f);
}

void weirctl_json_begin_obj(struct weirctl_json *j) { open_c(j, '{'); }
void weirctl_json_end_obj(struct weirctl_json *j) { close_c(j, '}'); }
void weirctl_json_begin_arr(struct weirctl_json *j) { open_c(j, '['); }
void weirctl_json_end_arr(struct weirctl_json *j) { close_c(j, ']'); }

static void
put_escaped(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t span = 0;	/* start of bytes that need no escape */

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t l;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		l = weirctl_utf8_len(p + i, n - i);
		if (l > 1) {
			i += l;		/* valid UTF-8 goes out as it is */
			continue;
		}
		fwrite(p + span, 1, i - span, f);
		if (l == 0) {
			fputs("\\ufffd", f);
		} else {
			switch (c) {
			case '"': fputs("\\\"", f); break;
			case '\\': fputs("\\\\", f); break;
			case '\n': fputs("\\n", f); break;
			case '\r': fputs("\\r", f); break;
			case '\t': fputs("\\t", f); break;
			case '\b': fputs("\\b", f); break;
			case '\f': fputs("\\f", f); break;
			default: fprintf(f, "\\u%04x", c); break;
			}
		}
		i++;
		span = i;
	}
	fwrite(p + span, 1, n - span, f);
	fputc('"', f);
}

void
weirctl_json_key(struct weirctl_json *j, const char *k)
{
	sep(j);
	put_escaped(j->f, k, strlen(k));
	fputc(':', j->f);
	j->after_key = true;
}

void
weirctl_json_str(struct weirctl_json *j, const char *s)
{
	sep(j);
	put_escaped(j->f, s, strlen(s));
}

void
weirctl_json_strn(struct weirctl_json *j, const char *s, size_t n)
{
	sep(j);
	put_escaped(j->f, s, n);
}

void
weirctl_json_u64(struct weirctl_json *j, uint64_t v)
{
	sep(j);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void
weirctl_json_null(struct weirctl_json *j)
{
	sep(j);
	fputs("null", j->f);
}

void
weirctl_json_raw_num(struct weirctl_json *j, const char *s)
{
	sep(j);
	fputs(s, j->f);
}

void
weirctl_json_hash_fields(struct weirctl_json *j, const redisReply *h,
			 const char *const *strings)
{
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *k = h->element[i], *v = h->element[i + 1];
		bool as_str = false;

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		for (const char *const *s = strings; s && *s; s++)
			if (!strcmp(*s, k->str)) {
				as_str = true;
				break;
			}
		weirctl_json_key(j, k->str);
		if (!as_str && strlen(v->str) == v->len &&
		    weirctl_is_json_number(v->str)) {
			weirctl_json_raw_num(j, v->str);
		} else {
			sep(j);		/* the value may hold NUL bytes */
			put_escaped(j->f, v->str, v->len);
		}
	}
}
