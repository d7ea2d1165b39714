/* test_dpi_msg.c -- a verdict packed for the worker-to-control ring comes
 * out as it went in: every number, every string (empty, short, and as long
 * as its buffer allows), at the length the format says; and bytes that are
 * not a packed verdict are refused, not read past. */
#include "dpi_msg.h"
#include "check.h"

static void
fill(char *dst, size_t size, char c)
{
	memset(dst, c, size - 1);
	dst[size - 1] = 0;
}

int
main(void)
{
	uint8_t buf[WEIR_DPI_MSG_MAX + 16];
	struct weir_dpi_result in, out;
	uint64_t uid = 0;

	/* empty strings: the uid (8), the numbers before `name` (2+2+2+1+1
	 * +2+2+2+1+1+2 = 18 bytes, padded to 24 for the 64-bit risk, then
	 * risk: 32) and one zero length byte for each of the 11 strings */
	memset(&in, 0, sizeof(in));
	in.master_id = 91;
	in.app_id = 124;
	in.category_id = 12;
	in.method = WEIR_DPI_METHOD_DPI;
	in.confidence_id = 6;
	in.pkts = 7;
	in.dns_rcode = 3;
	in.dns_qtype = 28;
	in.dns_rsp = 1;
	in.tls_version_known = 1;
	in.tls_version = 0x0304;
	in.risk = 0x8000000000000101ull;
	size_t n = weir_dpi_msg_pack(buf, 0x0123456789abcdefull, &in);
	CHECK_EQ(n, 8 + 32 + 11);
	CHECK_EQ(weir_dpi_msg_unpack(buf, n, &uid, &out), 0);
	CHECK_EQ(uid, 0x0123456789abcdefull);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);

	/* short strings: each is its length byte and its bytes */
	snprintf(in.name, sizeof(in.name), "TLS.YouTube");
	snprintf(in.app_name, sizeof(in.app_name), "YouTube");
	snprintf(in.category, sizeof(in.category), "Media");
	snprintf(in.host, sizeof(in.host), "www.youtube.com");
	n = weir_dpi_msg_pack(buf, 42, &in);
	CHECK_EQ(n, 8 + 32 + 11 + 11 + 7 + 5 + 15);
	CHECK_EQ(buf[40], 11);
	CHECK(memcmp(buf + 41, "TLS.YouTube", 11) == 0);
	CHECK_EQ(buf[52], 7);
	CHECK_EQ(weir_dpi_msg_unpack(buf, n, &uid, &out), 0);
	CHECK_EQ(uid, 42);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);

	/* every string as long as it can be */
	fill(in.name, sizeof(in.name), 'n');
	fill(in.app_name, sizeof(in.app_name), 'a');
	fill(in.category, sizeof(in.category), 'c');
	fill(in.confidence, sizeof(in.confidence), 'f');
	fill(in.host, sizeof(in.host), 'h');
	fill(in.ja3c, sizeof(in.ja3c), '1');
	fill(in.ja3s, sizeof(in.ja3s), '2');
	fill(in.url, sizeof(in.url), 'u');
	fill(in.ssh_client, sizeof(in.ssh_client), 's');
	fill(in.ssh_server, sizeof(in.ssh_server), 'S');
	fill(in.risk_text, sizeof(in.risk_text), 'r');
	n = weir_dpi_msg_pack(buf, 7, &in);
	CHECK(n <= WEIR_DPI_MSG_MAX);
	CHECK_EQ(n, 8 + 32 + 63 * 4 + 79 + 32 * 2 + 255 + 47 * 2 + 255 + 11);
	CHECK_EQ(weir_dpi_msg_unpack(buf, n, &uid, &out), 0);
	CHECK(memcmp(&in, &out, sizeof(in)) == 0);

	/* a buffer missing its NUL is cut to what fits with one */
	memset(in.host, 'x', sizeof(in.host));
	n = weir_dpi_msg_pack(buf, 7, &in);
	CHECK_EQ(weir_dpi_msg_unpack(buf, n, &uid, &out), 0);
	CHECK_EQ(strlen(out.host), sizeof(out.host) - 1);

	/* refused: cut short anywhere, a byte too many, a length past its buffer */
	int refused = 0;
	for (size_t cut = 0; cut < n; cut++)
		refused += weir_dpi_msg_unpack(buf, cut, &uid, &out) == -1;
	CHECK_EQ(refused, n);
	CHECK_EQ(weir_dpi_msg_unpack(buf, n + 1, &uid, &out), -1);
	memset(&in, 0, sizeof(in));
	n = weir_dpi_msg_pack(buf, 7, &in);
	buf[40] = 64;	/* name's buffer holds 63 */
	memset(buf + n, 0, 70);
	CHECK_EQ(weir_dpi_msg_unpack(buf, n + 64, &uid, &out), -1);
	return CHECK_DONE();
}
