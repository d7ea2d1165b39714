/* flow_id.h -- a flow's id as Redis and readers know it: its uid as 16
 * lowercase hex digits (docs/redis-keys.md), written without printf since
 * the control thread writes several per published flow. */
#ifndef WEIR_FLOW_ID_H
#define WEIR_FLOW_ID_H

#include <stdint.h>

/* out[16] is set to NUL; out[0..15] are the digits. */
static inline void
weir_flow_id(uint64_t uid, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, uid >>= 4)
		out[i] = hex[uid & 15];
	out[16] = 0;
}

#endif
