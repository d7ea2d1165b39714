/* test_rcluster_slot.c -- weir_rc_slot() against values known without our
 * code: the CRC16/XMODEM check value, the slots the Redis documentation
 * prints for CLUSTER KEYSLOT, and the hash-tag examples of the Redis
 * Cluster specification. (tests/integration/cluster_redis.py also compares
 * it with a live server's CLUSTER KEYSLOT.) */
#include <string.h>

#include "weir/rcluster.h"
#include "../engine/check.h"

static unsigned
slot(const char *k)
{
	return weir_rc_slot(k, strlen(k));
}

int
main(void)
{
	/* CRC16/XMODEM("123456789") = 0x31C3, the catalogued check value */
	CHECK_EQ(slot("123456789"), 0x31C3 & 16383);
	CHECK_EQ(slot(""), 0);
	/* redis.io, CLUSTER KEYSLOT: "somekey" 11058, "foo{hash_tag}" and
	 * "bar{hash_tag}" both 2515; the cluster tutorial: "foo" 12182 */
	CHECK_EQ(slot("somekey"), 11058);
	CHECK_EQ(slot("foo{hash_tag}"), 2515);
	CHECK_EQ(slot("bar{hash_tag}"), 2515);
	CHECK_EQ(slot("hash_tag"), 2515);
	CHECK_EQ(slot("foo"), 12182);
	/* the specification's hash-tag rules */
	CHECK_EQ(slot("{user1000}.following"), slot("user1000"));
	CHECK_EQ(slot("{user1000}.followers"), slot("user1000"));
	CHECK(slot("foo{}{bar}") != slot("bar"));	/* empty tag: the whole key */
	CHECK(slot("foo{}{bar}") != slot(""));
	CHECK_EQ(slot("foo{{bar}}zap"), slot("{bar"));
	CHECK_EQ(slot("foo{bar}{zap}"), slot("bar"));
	CHECK_EQ(slot("a{b}c{d}"), slot("b"));
	CHECK(slot("{") != slot(""));		/* no closing brace: the whole key */
	CHECK(slot("{}x") != slot("x"));
	CHECK(slot("{}x") != slot(""));
	/* weir's own keys: a node's keys all share the node's slot */
	CHECK_EQ(slot("weir:{local}:hosts"), slot("local"));
	CHECK_EQ(slot("weir:{local}:host:10.0.0.1@0"), slot("local"));
	CHECK_EQ(slot("weir:{a}:meta"), slot("a"));
	/* the length is honoured, not the NUL */
	CHECK_EQ(weir_rc_slot("foo{bar}", 3), slot("foo"));
	CHECK_EQ(weir_rc_slot("x{ab}", 4), slot("x{ab"));
	for (unsigned i = 0; i < 1000; i++) {
		char k[32];
		snprintf(k, sizeof(k), "key:%u", i);
		CHECK(slot(k) < 16384);
	}
	return CHECK_DONE();
}
