/* chart.c -- `weirctl history`'s small chart of bits per second.
 *
 * A column per point, or per group of points averaged when there are
 * more points than columns (24 h of 1 min points on 72 columns: 20 a
 * column), drawn upwards from a time axis. The tallest column reaches the
 * top row and the top label is its value, so "how high was it" is read
 * off the axis without guessing a scale; the middle label is half of it.
 * With a UTF-8 locale a cell is one of the eight block elements U+2581 to
 * U+2588 (eighths of a row), else '#' whole rows in ASCII. A column that
 * saw any traffic shows at least its lowest mark, so a trickle next to a
 * burst is not drawn as silence.
 *
 *      8.00 Mbit/s┤                  █
 *                 │                  █
 *      4.00 Mbit/s┤                  █                   █
 *                 │▁                 █                   █
 *          0 bit/s└────────────────────────────────────────────
 *                  21:14              21:44               22:13
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weirctl.h"

#define LABEL_MAX 24

bool
weirctl_locale_utf8(void)
{
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (v && *v)
			return strcasestr(v, "UTF-8") || strcasestr(v, "utf8");
	}
	return false;
}

/* Puts text into line at col (clipped to len). */
static void
place(char *line, size_t len, size_t col, const char *text)
{
	for (size_t i = 0; text[i] && col + i < len; i++)
		line[col + i] = text[i];
}

void
weirctl_chart_draw(FILE *f, const struct weirctl_chart *c)
{
	static const char *const eighths[] = {
		"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
		"\u2587", "\u2588"
	};
	const char *vbar = c->utf8 ? "\u2502" : "|";
	const char *tick = c->utf8 ? "\u2524" : "+";
	const char *corner = c->utf8 ? "\u2514" : "+";
	const char *hbar = c->utf8 ? "\u2500" : "-";
	char top[LABEL_MAX], mid[LABEL_MAX], zero[LABEL_MAX];
	int rows = c->rows < 8 ? 8 : c->rows > 12 ? 12 : c->rows;
	size_t lw, avail, per, ncols;
	double *col, max = 0;
	int *h;

	if (!c->n)
		return;
	/* The labels first: their width sets the room left for columns. */
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i] > max)
			max = c->v[i];
	/* Averaged columns never exceed the largest point: its label is
	 * the widest the top one can be. */
	weirctl_fmt_bps((uint64_t)llround(max), top, sizeof(top));
	lw = strlen(top) > strlen("0 bit/s") ? strlen(top) : strlen("0 bit/s");
	if (lw < 11)
		lw = 11;	/* "999 kbit/s" and the like keep one width */
	/* label, axis, columns: 72 - 11 - 1 leaves 60, one an hour's 1m
	 * points, or a day's in groups of 24 */
	avail = c->width > (int)lw + 11 ? (size_t)c->width - lw - 1 : 10;
	per = (c->n + avail - 1) / avail;
	ncols = (c->n + per - 1) / per;

	col = calloc(ncols, sizeof(*col));
	h = calloc(ncols, sizeof(*h));
	if (!col || !h)
		abort();
	max = 0;
	for (size_t k = 0; k < ncols; k++) {
		size_t from = k * per, to = from + per < c->n ? from + per : c->n;
		double sum = 0;

		for (size_t i = from; i < to; i++)
			sum += c->v[i];
		col[k] = sum / (double)(to - from);
		if (col[k] > max)
			max = col[k];
	}
	/* Heights in eighths of a row (UTF-8) or in rows (ASCII). */
	for (size_t k = 0; k < ncols; k++) {
		int full = c->utf8 ? rows * 8 : rows;

		h[k] = max > 0 ? (int)llround(col[k] / max * full) : 0;
		if (col[k] > 0 && h[k] == 0)
			h[k] = 1;
	}
	weirctl_fmt_bps((uint64_t)llround(max), top, sizeof(top));
	weirctl_fmt_bps((uint64_t)llround(max / 2), mid, sizeof(mid));
	snprintf(zero, sizeof(zero), "0 bit/s");

	for (int r = 0; r < rows; r++) {
		int below = rows - 1 - r;	/* rows under this one */
		const char *label = r == 0 ? top : r == rows / 2 ? mid : "";

		fprintf(f, "%*s%s", (int)lw, label, *label ? tick : vbar);
		for (size_t k = 0; k < ncols; k++) {
			if (c->utf8) {
				int fill = h[k] - below * 8;

				fputs(fill >= 8 ? eighths[7] : fill > 0 ?
				      eighths[fill - 1] : " ", f);
			} else {
				fputc(h[k] > below ? '#' : ' ', f);
			}
		}
		fputc('\n', f);
	}
	fprintf(f, "%*s%s", (int)lw, zero, corner);
	for (size_t k = 0; k < ncols; k++)
		fputs(hbar, f);
	fputc('\n', f);

	/* Times: the first column's at its left, the last's ending under
	 * it, the middle one's centred when it does not touch the others. */
	{
		size_t len = lw + 2 + ncols + LABEL_MAX;
		char *line = malloc(len + 1);
		char a[LABEL_MAX], m[LABEL_MAX], z[LABEL_MAX];
		int64_t span = (int64_t)c->n * c->step_ms;
		size_t base = lw + 1, la, lm, lz, zat, mat;

		if (!line)
			abort();
		memset(line, ' ', len);
		line[len] = '\0';
		weirctl_fmt_tick(c->t0_ms, span, a, sizeof(a));
		weirctl_fmt_tick(c->t0_ms + (uint64_t)((ncols / 2) * per) *
				 (uint64_t)c->step_ms, span, m, sizeof(m));
		weirctl_fmt_tick(c->t0_ms + (uint64_t)((ncols - 1) * per) *
				 (uint64_t)c->step_ms, span, z, sizeof(z));
		la = strlen(a);
		lm = strlen(m);
		lz = strlen(z);
		place(line, len, base, a);
		zat = base + ncols >= lz ? base + ncols - lz : base;
		if (zat >= base + la + 2) {
			place(line, len, zat, z);
			mat = base + ncols / 2 >= lm / 2 ? base + ncols / 2 - lm / 2 : 0;
			if (mat >= base + la + 2 && mat + lm + 2 <= zat)
				place(line, len, mat, m);
		}
		while (len && line[len - 1] == ' ')
			line[--len] = '\0';
		fprintf(f, "%s\n", line);
		free(line);
	}
	free(col);
	free(h);
}
