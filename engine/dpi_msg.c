/* dpi_msg.c -- packing an nDPI verdict for the worker-to-control ring (see
 * dpi_msg.h): the numbers before the first string go as they are, each
 * string as one length byte (every buffer is under 256) and its bytes. */
#include <string.h>

#include "dpi_msg.h"

#define STR(f) { offsetof(struct weir_dpi_result, f), sizeof(((struct weir_dpi_result *)0)->f) }

static const struct {
	uint16_t off, size;
} strs[] = {
	STR(name), STR(app_name), STR(category), STR(confidence), STR(host), STR(ja3c),
	STR(ja3s), STR(url), STR(ssh_client), STR(ssh_server), STR(risk_text),
};

#define NUMS offsetof(struct weir_dpi_result, name)

/* only padding after the last string: a field added there would not travel */
_Static_assert(sizeof(struct weir_dpi_result) - offsetof(struct weir_dpi_result, risk_text)
	       - sizeof(((struct weir_dpi_result *)0)->risk_text) < 8, "a field after risk_text is not packed");

size_t
weir_dpi_msg_pack(uint8_t *out, uint64_t uid, const struct weir_dpi_result *r)
{
	uint8_t *p = out;
	memcpy(p, &uid, sizeof(uid));
	p += sizeof(uid);
	memcpy(p, r, NUMS);
	p += NUMS;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *s = (const char *)r + strs[i].off;
		size_t n = strnlen(s, strs[i].size - 1u);
		*p++ = (uint8_t)n;
		memcpy(p, s, n);
		p += n;
	}
	return (size_t)(p - out);
}

int
weir_dpi_msg_unpack(const uint8_t *in, size_t len, uint64_t *uid, struct weir_dpi_result *r)
{
	const uint8_t *p = in, *end = in + len;
	memset(r, 0, sizeof(*r));
	if (len < sizeof(*uid) + NUMS)
		return -1;
	memcpy(uid, p, sizeof(*uid));
	p += sizeof(*uid);
	memcpy(r, p, NUMS);
	p += NUMS;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (p >= end || *p >= strs[i].size || (size_t)(end - p - 1) < *p)
			return -1;
		memcpy((char *)r + strs[i].off, p + 1, *p);
		p += 1 + *p;
	}
	return p == end ? 0 : -1;
}
