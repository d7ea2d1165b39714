/* resp.h -- build one Redis command as RESP bytes, without printf.
 *
 * A publish cycle writes hundreds of thousands of arguments a second, most
 * of them counters. hiredis formats each argument with sprintf (argv API)
 * or vsnprintf (printf API), which was most of the control thread's time
 * (issue #8). Here each argument is appended as it comes ("$LEN\r\nARG\r\n",
 * numbers through a two-digits-at-a-time conversion) after room kept in
 * front for the "*N\r\n" header, written once the count is known, so the
 * finished command is one contiguous block for redisAppendFormattedCommand.
 * Internal to drivers/redis (redis_sink.c). */
#ifndef WEIR_RESP_H
#define WEIR_RESP_H

#include <stddef.h>
#include <stdint.h>

struct weir_resp {
	char *buf;
	size_t len, cap;       /* len counts the header room in front */
	uint32_t argc;
	int oom;               /* an allocation failed: the command is lost */
};

void weir_resp_free(struct weir_resp *b);
/* Start a new command (keeps the buffer). */
void weir_resp_reset(struct weir_resp *b);
void weir_resp_arg(struct weir_resp *b, const char *s, size_t n);
void weir_resp_arg_u64(struct weir_resp *b, uint64_t v);
void weir_resp_arg_i64(struct weir_resp *b, int64_t v);
/* Write the header; *cmd points at the whole command. Its length, or -1
 * if memory ran out on the way (or no argument was added). */
long weir_resp_finish(struct weir_resp *b, const char **cmd);

/* v in decimal at the end of out[20]; returns where it starts. */
char *weir_resp_u64_text(uint64_t v, char out[20]);

#endif
