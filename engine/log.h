/* log.h -- the engine's log lines: time-stamped, to stderr, rate-limited.
 *
 * Data-path errors are never logged per packet (they are counters); the
 * control thread logs state changes and a periodic status line.
 * WEIR_LOG_RL() prints at most once per interval per call site and says
 * how many it suppressed. */
#ifndef WEIR_LOG_H
#define WEIR_LOG_H

#include <stdint.h>

enum weir_log_level { WEIR_LOG_ERR, WEIR_LOG_WARN, WEIR_LOG_INFO, WEIR_LOG_DEBUG };

void weir_log(enum weir_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct weir_ratelimit {
	uint64_t next_ms;
	uint64_t suppressed;
};

/* CLOCK_MONOTONIC in milliseconds (not for the workers' hot path: a
 * clock_gettime each). */
uint64_t weir_mono_ms(void);

/* 1 if a line may be printed now (and how many were held back in *held,
 * unless held is NULL). */
int weir_ratelimit_ok(struct weir_ratelimit *rl, uint64_t interval_ms, uint64_t *held);

#define WEIR_LOG_RL(lvl, interval_ms, fmt, ...) do {                          \
	static struct weir_ratelimit rl_;                                     \
	uint64_t held_;                                                       \
	if (weir_ratelimit_ok(&rl_, (interval_ms), &held_))                   \
		weir_log(lvl, fmt "%s", ##__VA_ARGS__,                        \
			 held_ ? " (and similar lines suppressed)" : "");     \
} while (0)

#endif
