/* table.c -- aligned columns for the terminal.
 *
 * A table keeps its rows until it is printed, because a column is as
 * wide as its widest cell. Commands that stream (flows --json) do not
 * come here; tables hold --top rows (50 by default).
 *
 * Cells are made safe on the way in: text from Redis may come from the
 * wire (an sFlow interface name, a hostname), so control bytes and
 * invalid UTF-8 become '?', and no escape sequence reaches the terminal.
 * Widths count code points, so a UTF-8 name does not skew a column. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "weirctl.h"

struct weirctl_table {
	size_t ncol;
	char *align;
	char **cells;		/* nrows * ncol, row 0 is the header */
	bool *hl;
	bool *hidden;		/* per column */
	size_t nrows, cap;
	size_t cur;		/* cells filled in the current row */
};

static char *
sanitize(const char *s, size_t n, size_t *width)
{
	char *o = malloc(n + 1);
	size_t j = 0, w = 0;

	if (!o)
		abort();
	for (size_t i = 0; i < n;) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t l = weirctl_utf8_len(p, n - i);

		if (l == 0 || (l == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    (l == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			o[j++] = '?';	/* NUL, C0, DEL, C1 controls, bad UTF-8 */
			i += l ? l : 1;
		} else {
			memcpy(o + j, p, l);
			j += l;
			i += l;
		}
		w++;
	}
	o[j] = '\0';
	*width = w;
	return o;
}

static void
grow(struct weirctl_table *t)
{
	if (t->nrows < t->cap)
		return;
	t->cap = t->cap ? t->cap * 2 : 64;
	t->cells = realloc(t->cells, t->cap * t->ncol * sizeof(*t->cells));
	t->hl = realloc(t->hl, t->cap * sizeof(*t->hl));
	if (!t->cells || !t->hl)
		abort();
}

struct weirctl_table *
weirctl_table_new(const char *const *headers, const char *align)
{
	struct weirctl_table *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->ncol = strlen(align);
	t->align = strdup(align);
	t->hidden = calloc(t->ncol ? t->ncol : 1, sizeof(*t->hidden));
	if (!t->align || !t->hidden || !t->ncol)
		abort();
	grow(t);
	t->hl[0] = false;
	for (size_t c = 0; c < t->ncol; c++)
		weirctl_table_cell(t, "%s", headers[c]);
	weirctl_table_end_row(t);
	return t;
}

void
weirctl_table_cell(struct weirctl_table *t, const char *fmt, ...)
{
	va_list ap;
	char *raw;
	size_t w;

	if (t->cur >= t->ncol)
		abort();	/* more cells than columns: a bug in a command */
	grow(t);
	va_start(ap, fmt);
	if (vasprintf(&raw, fmt, ap) < 0)
		abort();
	va_end(ap);
	t->cells[t->nrows * t->ncol + t->cur++] = sanitize(raw, strlen(raw), &w);
	free(raw);
}

void
weirctl_table_cell_n(struct weirctl_table *t, const char *s, size_t n)
{
	size_t w;

	if (t->cur >= t->ncol)
		abort();
	grow(t);
	t->cells[t->nrows * t->ncol + t->cur++] = sanitize(s, n, &w);
}

void
weirctl_table_highlight(struct weirctl_table *t)
{
	grow(t);
	t->hl[t->nrows] = true;
}

void
weirctl_table_hide(struct weirctl_table *t, size_t col)
{
	if (col < t->ncol)
		t->hidden[col] = true;
}

void
weirctl_put_safe(FILE *f, const char *s, size_t n)
{
	size_t w;
	char *o = sanitize(s, n, &w);

	fputs(o, f);
	free(o);
}

void
weirctl_table_end_row(struct weirctl_table *t)
{
	if (t->cur == 0)
		return;
	while (t->cur < t->ncol)
		weirctl_table_cell(t, "%s", "");
	t->nrows++;
	t->cur = 0;
	grow(t);
	t->hl[t->nrows] = false;
}

size_t
weirctl_table_rows(const struct weirctl_table *t)
{
	return t->nrows ? t->nrows - 1 : 0;
}

static size_t
width_of(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void
weirctl_table_print(struct weirctl_table *t, FILE *f, bool color)
{
	size_t *wid = calloc(t->ncol, sizeof(*wid));

	if (!wid)
		abort();
	weirctl_table_end_row(t);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncol; c++) {
			size_t w = width_of(t->cells[r * t->ncol + c]);

			if (w > wid[c])
				wid[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		bool hl = color && r > 0 && t->hl[r];
		bool bold = color && r == 0;

		if (hl)
			fputs("\033[1;31m", f);
		else if (bold)
			fputs("\033[1m", f);
		size_t lastc = t->ncol - 1;
		bool any = false;

		while (lastc > 0 && t->hidden[lastc])
			lastc--;
		for (size_t c = 0; c <= lastc; c++) {
			const char *s = t->cells[r * t->ncol + c];
			size_t pad = wid[c] - width_of(s);
			bool last = c == lastc;

			if (t->hidden[c])
				continue;
			if (last && !*s && t->align[c] == 'l')
				break;		/* no trailing blanks */
			if (any)
				fputs("  ", f);
			any = true;
			if (t->align[c] == 'r')
				fprintf(f, "%*s%s", (int)pad, "", s);
			else if (last)
				fputs(s, f);
			else
				fprintf(f, "%s%*s", s, (int)pad, "");
		}
		if (hl || bold)
			fputs("\033[0m", f);
		fputc('\n', f);
	}
	free(wid);
}

void
weirctl_table_free(struct weirctl_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncol + t->cur; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->hl);
	free(t->hidden);
	free(t->align);
	free(t);
}
