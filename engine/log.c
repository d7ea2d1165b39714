/* log.c -- see log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static const char *const level_name[] = { "error", "warning", "info", "debug" };

void
weir_log(enum weir_log_level lvl, const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	va_list ap;
	va_start(ap, fmt);
	flockfile(stderr);
	fprintf(stderr, "%s weir %s: ", when, level_name[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}

uint64_t
weir_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
weir_ratelimit_ok(struct weir_ratelimit *rl, uint64_t interval_ms, uint64_t *held)
{
	uint64_t now = weir_mono_ms();
	if (now < rl->next_ms) {
		rl->suppressed++;
		return 0;
	}
	if (held)
		*held = rl->suppressed;
	rl->suppressed = 0;
	rl->next_ms = now + interval_ms;
	return 1;
}
