/* config.c -- one table of every configuration key: its type, default,
 * range and help text.
 *
 * The table drives everything: defaults, the config file (`key = value`
 * lines, `#` comments; ntopng-style `--key=value` lines work too), the
 * command line (`--key value`, `--key=value`, and the short aliases), range
 * checks, `--help` and `--dump-config`. An error names the key, the bad value
 * and what is accepted, and the engine does not start. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/config.h"

enum kind { K_STR, K_UINT, K_BOOL, K_FN };

struct key {
	const char *name;
	char short_opt;          /* 0 if none */
	enum kind kind;
	size_t off;              /* offset in struct weir_config (K_STR/K_UINT/K_BOOL) */
	size_t size;             /* K_STR buffer size; K_UINT width (4 or 2) */
	unsigned long min, max;  /* K_UINT range */
	int (*set)(struct weir_config *c, const char *v, char *err, size_t errlen);
	const char *def;         /* default, as text */
	const char *arg;         /* argument name for --help */
	const char *help;
};

#define OFF(f) offsetof(struct weir_config, f)
#define SZ(f) sizeof(((struct weir_config *)0)->f)

static int set_interface(struct weir_config *c, const char *v, char *e, size_t n);
static int set_local(struct weir_config *c, const char *v, char *e, size_t n);
static int set_subnet(struct weir_config *c, const char *v, char *e, size_t n);
static int set_collect(struct weir_config *c, const char *v, char *e, size_t n);
static int set_cports(struct weir_config *c, const char *v, char *e, size_t n);
static int set_decap(struct weir_config *c, const char *v, char *e, size_t n);
static int set_vxlan_port(struct weir_config *c, const char *v, char *e, size_t n);
static int set_idle_sleep(struct weir_config *c, const char *v, char *e, size_t n);
static int set_watch(struct weir_config *c, const char *v, char *e, size_t n);
static int set_forbid(struct weir_config *c, const char *v, char *e, size_t n);
static int set_resolve(struct weir_config *c, const char *v, char *e, size_t n);
static int set_export(struct weir_config *c, const char *v, char *e, size_t n);
static int set_exporter_allow(struct weir_config *c, const char *v, char *e, size_t n);

static const struct key keys[] = {
	{"config", 'c', K_STR, OFF(config_file), SZ(config_file), 0, 0, NULL, "",
	 "FILE", "read settings from FILE first (key = value lines); the command line overrides it"},
	{"interface", 'i', K_FN, 0, 0, 0, 0, set_interface, "",
	 "DEV", "capture from DEV (repeatable): a PCI address (0000:03:00.0) for a DPDK NIC, "
		"a vdev (net_pcap0,rx_pcap=f.pcap | net_af_packet0,iface=eth0,qpairs=2 | net_tap0 | "
		"net_null0 | net_ring0), or a Linux interface name (eth0: uses net_af_packet)"},
	{"read", 'r', K_STR, OFF(read_file), SZ(read_file), 0, 0, NULL, "",
	 "FILE", "read a capture file (pcap) through the DPDK pcap vdev; flush to Redis and exit at its end"},
	{"loop", 0, K_BOOL, OFF(loop), 0, 0, 1, NULL, "no",
	 NULL, "with --read: replay the file forever instead of exiting at its end"},
	{"collect", 0, K_FN, 0, 0, 0, 0, set_collect, "",
	 "udp://ADDR:PORT", "receive NetFlow/IPFIX/sFlow on a kernel UDP socket (repeatable; IPv6 as udp://[::]:2055)"},
	{"collector-ports", 0, K_FN, 0, 0, 0, 0, set_cports, "2055,4739,6343",
	 "P,P,...", "UDP destination ports whose datagrams on a DPDK port go to the flow-export decoders"},
	{"hugepages", 0, K_BOOL, OFF(hugepages), 0, 0, 1, NULL, "auto",
	 NULL, "use hugepages and PCI devices (production); default: yes if an interface is a PCI address, "
	       "else development mode (--no-huge --no-pci)"},
	{"eal-mem", 0, K_UINT, OFF(eal_mem_mb), 4, 64, 1u << 20, NULL, "512",
	 "MB", "memory for DPDK (mbufs, rings) in development mode"},
	{"eal-args", 0, K_STR, OFF(eal_args), SZ(eal_args), 0, 0, NULL, "",
	 "ARGS", "extra EAL arguments, passed verbatim (e.g. \"--file-prefix weir2 -a 0000:03:00.0\")"},
	{"lcores", 'l', K_STR, OFF(lcores), SZ(lcores), 0, 0, NULL, "",
	 "LIST", "EAL lcore list (or an lcore@CPU map, 0@(0,4),1@1); default: main lcore plus one per worker"},
	{"workers", 'w', K_UINT, OFF(workers), 4, 1, WEIR_MAX_WORKERS, NULL, "1",
	 "N", "packet workers, one per lcore"},
	{"queues", 0, K_UINT, OFF(queues), 4, 0, 64, NULL, "0",
	 "N", "RX queues per port (0: one per worker, one for a Linux interface); fewer queues than workers adds the software distributor"},
	{"rx-desc", 0, K_UINT, OFF(rx_desc), 4, 64, 16384, NULL, "1024",
	 "N", "RX descriptors per queue"},
	{"mbufs", 0, K_UINT, OFF(mbufs), 4, 1024, 1u << 24, NULL, "16383",
	 "N", "mbufs in the packet pool"},
	{"flow-table-size", 0, K_UINT, OFF(flow_table_size), 4, 64, 1u << 28, NULL, "1048576",
	 "N", "flows each worker can track at once; when full the least recently seen is evicted and counted"},
	{"idle-timeout", 0, K_UINT, OFF(idle_timeout_s), 4, 1, 86400, NULL, "30",
	 "SEC", "a flow with no packet for SEC seconds ends"},
	{"active-timeout", 0, K_UINT, OFF(active_timeout_s), 4, 1, 86400 * 7, NULL, "120",
	 "SEC", "a long flow is reported as ended and restarted every SEC seconds"},
	{"host-idle-timeout", 0, K_UINT, OFF(host_idle_s), 4, 10, 86400 * 30, NULL, "300",
	 "SEC", "a worker forgets a host without traffic for SEC seconds (totals stay in Redis)"},
	{"dpi", 0, K_BOOL, OFF(dpi), 0, 0, 1, NULL, "yes",
	 NULL, "detect applications with nDPI on each flow's first packets (exported flows get a port guess)"},
	{"dpi-flows", 0, K_UINT, OFF(dpi_flows), 4, 16, 1u << 24, NULL, "65536",
	 "N", "flows under detection at once per worker; more wait unclassified (counted)"},
	{"dpi-packets-tcp", 0, K_UINT, OFF(dpi_pkts_tcp), 4, 1, 1000, NULL, "80",
	 "N", "TCP packets nDPI may see before it gives up (ndpiReader's default)"},
	{"dpi-packets-udp", 0, K_UINT, OFF(dpi_pkts_udp), 4, 1, 1000, NULL, "24",
	 "N", "UDP and other packets nDPI may see before it gives up"},
	{"decap-tunnels", 0, K_FN, 0, 0, 0, 0, set_decap, "none",
	 "none|gre|vxlan|all", "account the inner packet of these tunnels instead of the outer one"},
	{"idle-sleep", 0, K_FN, 0, 0, 0, 0, set_idle_sleep, "auto",
	 "auto|US", "a worker that found nothing for 1024 polls in a row sleeps this many microseconds "
		    "before polling again (0: pure polling); auto: 0 with PCI ports, 50 otherwise"},
	{"vxlan-port", 0, K_FN, 0, 0, 0, 0, set_vxlan_port, "4789",
	 "PORT", "UDP port carrying VXLAN"},
	{"local-networks", 'm', K_FN, 0, 0, 0, 0, set_local, "",
	 "CIDR,...", "your networks (as ntopng -m): hosts inside are local; each CIDR is also a subnet for the matrix"},
	{"subnet", 0, K_FN, 0, 0, 0, 0, set_subnet, "",
	 "NAME=CIDR", "a named subnet for the cross-subnet matrix (repeatable), e.g. iot=10.0.30.0/24"},
	{"max-exporters", 0, K_UINT, OFF(max_exporters), 4, 1, 1u << 20, NULL, "4096",
	 "N", "flow exporters tracked per worker; datagrams from more are dropped and counted"},
	{"max-templates", 0, K_UINT, OFF(xlim.max_templates), 4, 1, 65535, NULL, "512",
	 "N", "NetFlow v9/IPFIX templates one exporter may hold"},
	{"exporter-memory", 0, K_UINT, OFF(xlim.max_bytes), 4, 4096, 1u << 30, NULL, "1048576",
	 "BYTES", "template and pending-data memory one exporter may hold"},
	{"default-sampling", 0, K_UINT, OFF(xlim.default_sampling), 4, 1, 1u << 30, NULL, "1",
	 "N", "sampling rate assumed when an exporter sends none (or 0)"},
	{"share-templates", 0, K_BOOL, OFF(share_templates), 0, 0, 1, NULL, "yes",
	 NULL, "share NetFlow v9/IPFIX templates through Redis with every engine using it, so a restarted "
	       "or sibling collector decodes data whose template it never received (not with --read)"},
	{"redis", 0, K_STR, OFF(redis_url), SZ(redis_url), 0, 0, NULL, "redis://127.0.0.1:6379",
	 "URL", "where to publish: redis://[:password@]host[:port][/db] or unix:///path/redis.sock"},
	{"redis-prefix", 0, K_STR, OFF(redis_prefix), SZ(redis_prefix), 0, 0, NULL, "weir:",
	 "STR", "prefix of every key (see docs/redis-keys.md)"},
	{"node", 0, K_STR, OFF(node), SZ(node), 0, 0, NULL, "local",
	 "ID", "node id: several engines can share one Redis under different ids"},
	{"publish-interval", 0, K_UINT, OFF(publish_interval_ms), 4, 100, 600000, NULL, "1000",
	 "MS", "how often the control thread publishes to Redis"},
	{"flow-history", 0, K_UINT, OFF(flow_history), 4, 0, 1u << 26, NULL, "1000000",
	 "N", "flows (active and ended) kept in Redis; the oldest ended go first"},
	{"flow-ring-size", 0, K_UINT, OFF(flow_ring_size), 4, 1024, 1u << 24, NULL, "262144",
	 "N", "flow snapshots each worker can queue for the control thread (its nDPI verdicts get 64 bytes of ring per snapshot slot)"},
	{"redis-timeout", 0, K_UINT, OFF(redis_timeout_ms), 4, 10, 600000, NULL, "2000",
	 "MS", "Redis connect and command timeout"},
	{"data-retention", 0, K_UINT, OFF(data_retention_days), 4, 1, 3650, NULL, "30",
	 "DAYS", "how long time series are kept (as ntopng --data-retention)"},
	{"flow-history-stream", 0, K_UINT, OFF(flow_stream_len), 4, 0, 1u << 26, NULL, "100000",
	 "N", "ended flows kept in the flows:ended stream (approximately)"},
	{"export", 0, K_FN, 0, 0, 0, 0, set_export, "",
	 "ipfix://ADDR:PORT", "re-export every ended flow as IPFIX over UDP to a collector such as nfcapd, "
			      "nfacctd or GoFlow2 (repeatable; IPv6 as ipfix://[2001:db8::1]:4739)"},
	{"export-domain", 0, K_UINT, OFF(export_domain), 4, 0, 0xffffffffUL, NULL, "1",
	 "ID", "IPFIX observation domain id of the re-exported flows"},
	{"watch", 0, K_FN, 0, 0, 0, 0, set_watch, "",
	 "SRC>DST", "report every flow initiated from subnet SRC to subnet DST as a 'boundary' event (repeatable)"},
	{"forbid", 0, K_FN, 0, 0, 0, 0, set_forbid, "",
	 "SRC>DST", "the same, marked as a violation (rule=forbid), e.g. iot>servers"},
	{"exporter-timeout", 0, K_UINT, OFF(exporter_timeout_s), 4, 5, 86400, NULL, "60",
	 "SEC", "an exporter silent this long gets an exporter_down event, and may be evicted for a new "
		"one when max-exporters is reached"},
	{"exporter-allow", 0, K_FN, 0, 0, 0, 0, set_exporter_allow, "",
	 "CIDR,...", "take flow export only from these addresses (repeatable); datagrams from others are "
		     "dropped before decoding and counted (collect_refused); default: from anyone"},
	{"collect-rcvbuf", 0, K_UINT, OFF(collect_rcvbuf), 4, 65536, 1u << 30, NULL, "33554432",
	 "BYTES", "receive buffer of each --collect socket (above net.core.rmem_max only as root)"},
	{"resolve-hosts", 'n', K_FN, 0, 0, 0, 0, set_resolve, "local",
	 "none|local|all", "reverse-DNS names for hosts (as ntopng -n): none, hosts inside local-networks, or all"},
	{"resolve-rate", 0, K_UINT, OFF(resolve_rate), 4, 1, 100000, NULL, "20",
	 "N", "reverse-DNS queries per second at most"},
	{"resolve-ttl", 0, K_UINT, OFF(resolve_ttl_s), 4, 10, 86400 * 7, NULL, "3600",
	 "SEC", "how long a name (or its absence) is kept before asking again"},
	{"resolve-server", 0, K_STR, OFF(resolve_server), SZ(resolve_server), 0, 0, NULL, "",
	 "HOST[:PORT],...", "DNS servers for reverse lookups instead of /etc/resolv.conf's"},
	{"quiet", 'q', K_BOOL, OFF(quiet), 0, 0, 1, NULL, "no",
	 NULL, "no periodic status line"},
	{"log-interval", 0, K_UINT, OFF(log_interval_s), 4, 1, 86400, NULL, "5",
	 "SEC", "seconds between status lines"},
	{"dump-config", 0, K_BOOL, OFF(dry_run), 0, 0, 1, NULL, "no",
	 NULL, "print the effective configuration and exit"},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static const struct key *
find_short(char c)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].short_opt == c)
			return &keys[i];
	return NULL;
}

static int
parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*out = 0;
	else if (!strcmp(v, "auto"))
		*out = -1;
	else
		return -1;
	return 0;
}

int
weir_cidr_parse(const char *text, uint8_t prefix[16], uint8_t *bits)
{
	char buf[80];
	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	char *slash = strchr(buf, '/');
	long len = -1;
	if (slash) {
		char *end;
		*slash = 0;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1)
			return -1;
	}
	struct in_addr a4;
	struct in6_addr a6;
	memset(prefix, 0, 16);
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		if (len < 0)
			len = 32;
		if (len > 32)
			return -1;
		prefix[10] = prefix[11] = 0xff;
		memcpy(prefix + 12, &a4, 4);
		*bits = (uint8_t)(96 + len);
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		if (len < 0)
			len = 128;
		if (len > 128)
			return -1;
		memcpy(prefix, &a6, 16);
		*bits = (uint8_t)len;
	} else {
		return -1;
	}
	/* clear host bits so that 10.0.0.5/8 means 10.0.0.0/8 */
	for (int i = 0; i < 16; i++) {
		int keep = *bits - i * 8;
		if (keep >= 8)
			continue;
		prefix[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	return 0;
}

static int
add_subnet(struct weir_config *c, const char *name, const char *cidr, int local,
	   char *e, size_t n)
{
	if (c->n_subnets >= WEIR_MAX_SUBNETS) {
		snprintf(e, n, "more than %d subnets; merge some", WEIR_MAX_SUBNETS);
		return -1;
	}
	struct weir_subnet *s = &c->subnets[c->n_subnets];
	if (weir_cidr_parse(cidr, s->prefix, &s->bits) != 0) {
		snprintf(e, n, "'%s' is not a network; write it as 10.0.30.0/24 or 2001:db8::/48", cidr);
		return -1;
	}
	if (strlen(name) >= sizeof(s->name) || !*name) {
		snprintf(e, n, "subnet name '%s' must be 1 to %zu characters", name, sizeof(s->name) - 1);
		return -1;
	}
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && !strchr("-_./:", *p)) {
			snprintf(e, n, "subnet name '%s' may hold only letters, digits and - _ . / :", name);
			return -1;
		}
	}
	for (unsigned i = 0; i < c->n_subnets; i++) {
		if (!strcmp(c->subnets[i].name, name) && !(local && c->subnets[i].local)) {
			snprintf(e, n, "subnet name '%s' is used twice", name);
			return -1;
		}
	}
	strcpy(s->name, name);
	snprintf(s->cidr, sizeof(s->cidr), "%s", cidr);
	s->local = (uint8_t)local;
	c->n_subnets++;
	return 0;
}

static int
set_exporter_allow(struct weir_config *c, const char *v, char *e, size_t n)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		const size_t max = sizeof(c->exporter_allow) / sizeof(c->exporter_allow[0]);
		struct weir_subnet *a = &c->exporter_allow[c->n_exporter_allow];
		if (c->n_exporter_allow >= max) {
			snprintf(e, n, "exporter-allow: more than %zu prefixes; use wider ones", max);
			return -1;
		}
		if (weir_cidr_parse(tok, a->prefix, &a->bits) != 0) {
			snprintf(e, n, "exporter-allow: '%s' is not an address or CIDR (10.0.0.0/8, 2001:db8::/32)", tok);
			return -1;
		}
		snprintf(a->cidr, sizeof(a->cidr), "%s", tok);
		c->n_exporter_allow++;
	}
	return 0;
}

static int
set_local(struct weir_config *c, const char *v, char *e, size_t n)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
		if (add_subnet(c, tok, tok, 1, e, n) != 0)
			return -1;
	return 0;
}

static int
set_subnet(struct weir_config *c, const char *v, char *e, size_t n)
{
	const char *eq = strchr(v, '=');
	if (!eq) {
		snprintf(e, n, "write it as NAME=CIDR, e.g. iot=10.0.30.0/24");
		return -1;
	}
	char name[WEIR_NAME_LEN + 8];
	snprintf(name, sizeof(name), "%.*s", (int)(eq - v), v);
	return add_subnet(c, name, eq + 1, 0, e, n);
}

static int
set_interface(struct weir_config *c, const char *v, char *e, size_t n)
{
	if (c->n_interfaces >= WEIR_MAX_PORTS) {
		snprintf(e, n, "at most %d interfaces", WEIR_MAX_PORTS);
		return -1;
	}
	if (!*v || strlen(v) >= sizeof(c->interfaces[0])) {
		snprintf(e, n, "empty or too long device argument");
		return -1;
	}
	strcpy(c->interfaces[c->n_interfaces++], v);
	return 0;
}

static int
set_collect(struct weir_config *c, const char *v, char *e, size_t n)
{
	if (c->n_collect >= WEIR_MAX_COLLECT) {
		snprintf(e, n, "at most %d collectors", WEIR_MAX_COLLECT);
		return -1;
	}
	if (strncmp(v, "udp://", 6) != 0) {
		snprintf(e, n, "'%s': write udp://ADDR:PORT, e.g. udp://0.0.0.0:2055 or udp://[::]:6343", v);
		return -1;
	}
	const char *h = v + 6, *colon;
	char addr[64];
	if (*h == '[') {
		const char *rb = strchr(h, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - h - 1) >= sizeof(addr)) {
			snprintf(e, n, "'%s': an IPv6 address goes in brackets: udp://[::1]:2055", v);
			return -1;
		}
		snprintf(addr, sizeof(addr), "%.*s", (int)(rb - h - 1), h + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon || (size_t)(colon - h) >= sizeof(addr)) {
			snprintf(e, n, "'%s': missing :PORT", v);
			return -1;
		}
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - h), h);
	}
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535) {
		snprintf(e, n, "'%s': port must be 1-65535", v);
		return -1;
	}
	struct in6_addr tmp;
	if (inet_pton(AF_INET, addr, &tmp) != 1 && inet_pton(AF_INET6, addr, &tmp) != 1) {
		snprintf(e, n, "'%s': '%s' is not an IPv4 or IPv6 address", v, addr);
		return -1;
	}
	strcpy(c->collect[c->n_collect].addr, addr);
	c->collect[c->n_collect].port = (uint16_t)port;
	c->n_collect++;
	return 0;
}

/* ipfix://ADDR:PORT, ADDR a literal IPv4 address or a bracketed IPv6 one:
 * no names, so that a DNS failure cannot stop or slow the engine. */
static int
set_export(struct weir_config *c, const char *v, char *e, size_t n)
{
	static const char how[] = "write ipfix://ADDR:PORT, e.g. ipfix://192.0.2.9:4739 or ipfix://[2001:db8::9]:4739";
	if (c->n_exports >= WEIR_MAX_EXPORTS) {
		snprintf(e, n, "at most %d export destinations", WEIR_MAX_EXPORTS);
		return -1;
	}
	if (strncmp(v, "ipfix://", 8) != 0) {
		snprintf(e, n, "'%s': %s (IPFIX over UDP is the only export)", v, how);
		return -1;
	}
	const char *h = v + 8, *colon;
	char addr[64];
	if (*h == '[') {
		const char *rb = strchr(h, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - h - 1) >= sizeof(addr)) {
			snprintf(e, n, "'%s': an IPv6 address goes in brackets: ipfix://[::1]:4739", v);
			return -1;
		}
		snprintf(addr, sizeof(addr), "%.*s", (int)(rb - h - 1), h + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon || colon == h || (size_t)(colon - h) >= sizeof(addr)) {
			snprintf(e, n, "'%s': %s", v, how);
			return -1;
		}
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - h), h);
		if (strchr(addr, ':')) {
			snprintf(e, n, "'%s': an IPv6 address goes in brackets: ipfix://[%s]:PORT", v, addr);
			return -1;
		}
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port == 0 || port > 65535) {
		snprintf(e, n, "'%s': the port must be 1-65535 (IPFIX's own is 4739)", v);
		return -1;
	}
	struct in_addr a4;
	struct in6_addr a6;
	int v4 = *h != '[' && inet_pton(AF_INET, addr, &a4) == 1;
	if (!v4 && inet_pton(AF_INET6, addr, &a6) != 1) {
		snprintf(e, n, "'%s': '%s' is not an IPv4 address or a bracketed IPv6 address "
			 "(host names are not resolved)", v, addr);
		return -1;
	}
	if ((v4 && a4.s_addr == 0) || (!v4 && IN6_IS_ADDR_UNSPECIFIED(&a6))) {
		snprintf(e, n, "'%s': %s is not a destination; give the collector's address", v, addr);
		return -1;
	}
	strcpy(c->exports[c->n_exports].addr, addr);
	c->exports[c->n_exports].port = (uint16_t)port;
	c->n_exports++;
	return 0;
}

static int
set_cports(struct weir_config *c, const char *v, char *e, size_t n)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", v);
	c->n_collector_ports = 0;
	for (char *save, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *end;
		unsigned long p = strtoul(tok, &end, 10);
		if (*end || p == 0 || p > 65535 || c->n_collector_ports >= 8) {
			snprintf(e, n, "'%s': give up to 8 ports 1-65535, comma-separated", v);
			return -1;
		}
		c->collector_ports[c->n_collector_ports++] = (uint16_t)p;
	}
	return 0;
}

static int
set_decap(struct weir_config *c, const char *v, char *e, size_t n)
{
	c->parse.decap_gre = !strcmp(v, "gre") || !strcmp(v, "all");
	c->parse.decap_vxlan = !strcmp(v, "vxlan") || !strcmp(v, "all");
	if (strcmp(v, "none") && strcmp(v, "gre") && strcmp(v, "vxlan") && strcmp(v, "all")) {
		snprintf(e, n, "'%s': choose none, gre, vxlan or all", v);
		return -1;
	}
	return 0;
}

static int
set_vxlan_port(struct weir_config *c, const char *v, char *e, size_t n)
{
	char *end;
	unsigned long p = strtoul(v, &end, 10);
	if (*end || p == 0 || p > 65535) {
		snprintf(e, n, "'%s': a UDP port 1-65535", v);
		return -1;
	}
	c->parse.vxlan_port = (uint16_t)p;
	return 0;
}

static int
set_idle_sleep(struct weir_config *c, const char *v, char *e, size_t n)
{
	char *end;
	if (!strcmp(v, "auto")) {
		c->idle_sleep_us = -1;
		return 0;
	}
	unsigned long us = strtoul(v, &end, 10);
	if (!*v || *end || us > 100000) {
		snprintf(e, n, "'%s': auto, or microseconds 0-100000", v);
		return -1;
	}
	c->idle_sleep_us = (int)us;
	return 0;
}

static int
add_watch(struct weir_config *c, const char *v, int forbid, char *e, size_t n)
{
	const char *gt = strchr(v, '>');
	if (!gt || gt == v || !gt[1] || strlen(v) >= sizeof(c->watch[0])) {
		snprintf(e, n, "'%s': write SRC>DST with subnet names (or CIDRs of local-networks, "
			 "or 'remote'), e.g. iot>servers", v);
		return -1;
	}
	if (c->n_watch >= 32) {
		snprintf(e, n, "at most 32 watch/forbid rules");
		return -1;
	}
	strcpy(c->watch[c->n_watch], v);
	c->watch_forbid[c->n_watch] = (uint8_t)forbid;
	c->n_watch++;
	return 0;
}

static int
set_watch(struct weir_config *c, const char *v, char *e, size_t n)
{
	return add_watch(c, v, 0, e, n);
}

static int
set_forbid(struct weir_config *c, const char *v, char *e, size_t n)
{
	return add_watch(c, v, 1, e, n);
}

static int
set_resolve(struct weir_config *c, const char *v, char *e, size_t n)
{
	if (!strcmp(v, "none") || !strcmp(v, "0"))
		c->resolve = 0;
	else if (!strcmp(v, "local") || !strcmp(v, "1"))
		c->resolve = 1;
	else if (!strcmp(v, "all") || !strcmp(v, "2"))
		c->resolve = 2;
	else {
		snprintf(e, n, "'%s': choose none, local or all", v);
		return -1;
	}
	return 0;
}

static int
apply(struct weir_config *c, const struct key *k, const char *v, const char *where)
{
	char err[512] = "";
	switch (k->kind) {
	case K_STR:
		if (strlen(v) >= k->size) {
			fprintf(stderr, "weir: %s: %s is too long (at most %zu characters)\n",
				where, k->name, k->size - 1);
			return -1;
		}
		strcpy((char *)c + k->off, v);
		return 0;
	case K_UINT: {
		char *end;
		errno = 0;
		unsigned long x = strtoul(v, &end, 0);
		if (errno || end == v || *end || x < k->min || x > k->max || *v == '-') {
			fprintf(stderr, "weir: %s: %s = '%s' is not valid: give a number from %lu to %lu\n",
				where, k->name, v, k->min, k->max);
			return -1;
		}
		*(uint32_t *)((char *)c + k->off) = (uint32_t)x;
		return 0;
	}
	case K_BOOL: {
		int b;
		if (parse_bool(v, &b) != 0) {
			fprintf(stderr, "weir: %s: %s = '%s' is not valid: give yes or no\n",
				where, k->name, v);
			return -1;
		}
		*(int *)((char *)c + k->off) = b;
		return 0;
	}
	case K_FN:
		if (k->set(c, v, err, sizeof(err)) != 0) {
			fprintf(stderr, "weir: %s: %s: %s\n", where, k->name, err);
			return -1;
		}
		return 0;
	}
	return -1;
}

static void
defaults(struct weir_config *c)
{
	memset(c, 0, sizeof(*c));
	weir_parse_cfg_default(&c->parse);
	weir_exporter_limits_default(&c->xlim);
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].kind != K_FN && keys[i].def[0] && strcmp(keys[i].def, "auto"))
			apply(c, &keys[i], keys[i].def, "default");
	set_cports(c, "2055,4739,6343", NULL, 0);
	c->resolve = 1;
	c->hugepages = -1;
	c->progress = -1;
	c->idle_sleep_us = -1;
}

static void
usage(FILE *out)
{
	fprintf(out,
"usage: weir [options]\n"
"\n"
"weir captures mirrored/tap traffic with DPDK (or reads a capture file, or\n"
"collects NetFlow/IPFIX/sFlow) and publishes hosts, flows, VLANs and subnet\n"
"pairs to Redis, where `weirctl`, weir-web and weir-alertd read them.\n"
"\n"
"examples:\n"
"  weir -r capture.pcap -m 10.0.0.0/8            read a file, publish, exit\n"
"  weir -i 0000:03:00.0 -w 4 --hugepages yes     a NIC with 4 workers (RSS)\n"
"  weir -i eth1 -w 2                              a Linux interface via af_packet\n"
"  weir --collect udp://0.0.0.0:2055              NetFlow/IPFIX on a UDP socket\n"
"\n"
"options (config-file key in the first column; a file line is `key = value`):\n");
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		char left[64];
		if (k->short_opt)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", k->short_opt, k->name,
				 k->arg ? " " : "", k->arg ? k->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", k->name,
				 k->arg ? " " : "", k->arg ? k->arg : (k->kind == K_BOOL ? " [yes|no]" : ""));
		fprintf(out, "  %-34s %s", left, k->help);
		if (k->def[0])
			fprintf(out, " (default: %s)", k->def);
		fputc('\n', out);
	}
	fprintf(out,
"  -h, --help                         this text\n"
"  -V, --version                      print the version\n"
"\n"
"See docs/configuration.md for every key and docs/operations.md for hugepages,\n"
"NIC binding and RSS.\n");
}

static int
load_file(struct weir_config *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "weir: cannot open config file %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = line;
		while (isspace((unsigned char)*s))
			s++;
		char *hash = strchr(s, '#');
		if (hash)
			*hash = 0;
		size_t len = strlen(s);
		while (len && isspace((unsigned char)s[len - 1]))
			s[--len] = 0;
		if (!*s)
			continue;
		while (*s == '-')
			s++;
		char *eq = strchr(s, '=');
		char *name = s, *val = (char *)"yes";
		if (eq) {
			*eq = 0;
			val = eq + 1;
			while (isspace((unsigned char)*val))
				val++;
			if (*val == '"' && strlen(val) >= 2 && val[strlen(val) - 1] == '"') {
				val++;
				val[strlen(val) - 1] = 0;
			}
		}
		len = strlen(name);
		while (len && isspace((unsigned char)name[len - 1]))
			name[--len] = 0;
		const struct key *k = strlen(name) == 1 ? find_short(name[0]) : find_key(name);
		char where[1100];
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (!k || k == &keys[0]) {
			fprintf(stderr, "weir: %s: unknown key '%s' (weir --help lists them)\n", where, name);
			rc = -1;
			continue;
		}
		if (!eq && k->kind != K_BOOL) {
			fprintf(stderr, "weir: %s: '%s' needs a value: %s = %s\n", where, name, name,
				k->arg ? k->arg : "VALUE");
			rc = -1;
			continue;
		}
		if (apply(c, k, val, where) != 0)
			rc = -1;
	}
	fclose(f);
	return rc;
}

int
weir_config_load(struct weir_config *c, int argc, char **argv)
{
	defaults(c);

	/* the config file first, wherever -c appears */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 1;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("weir %s\n", WEIR_VERSION);
			return 1;
		}
		const char *file = NULL;
		if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && i + 1 < argc)
			file = argv[i + 1];
		else if (!strncmp(a, "--config=", 9))
			file = a + 9;
		if (file) {
			snprintf(c->config_file, sizeof(c->config_file), "%s", file);
			if (load_file(c, file) != 0)
				return -1;
		}
	}

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct key *k = NULL;
		const char *val = NULL;
		char name[128];
		if (a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			snprintf(name, sizeof(name), "%.*s", (int)(eq ? eq - a - 2 : (long)strlen(a + 2)), a + 2);
			k = find_key(name);
			if (eq)
				val = eq + 1;
		} else if (a[0] == '-' && a[1] && !a[2]) {
			k = find_short(a[1]);
			snprintf(name, sizeof(name), "%s", a);
		} else {
			fprintf(stderr, "weir: unexpected argument '%s' (options start with -; see weir --help)\n", a);
			return -1;
		}
		if (!k) {
			fprintf(stderr, "weir: unknown option '%s' (weir --help lists them)\n", a);
			return -1;
		}
		if (!val) {
			if (k->kind == K_BOOL) {
				int b;
				if (i + 1 < argc && parse_bool(argv[i + 1], &b) == 0)
					val = argv[++i];
				else
					val = "yes";
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				fprintf(stderr, "weir: %s needs a value (%s)\n", a, k->arg ? k->arg : "VALUE");
				return -1;
			}
		}
		if (k == &keys[0])
			continue;	/* already read */
		if (apply(c, k, val, "command line") != 0)
			return -1;
	}

	/* whole-config checks */
	if (!c->n_interfaces && !c->read_file[0] && !c->n_collect) {
		fprintf(stderr, "weir: nothing to read: give -r FILE, -i DEVICE or --collect udp://ADDR:PORT "
				"(weir --help shows examples)\n");
		return -1;
	}
	if (c->read_file[0] && access(c->read_file, R_OK) != 0) {
		fprintf(stderr, "weir: --read %s: %s\n", c->read_file, strerror(errno));
		return -1;
	}
	if (c->loop && !c->read_file[0]) {
		fprintf(stderr, "weir: --loop only makes sense with --read FILE\n");
		return -1;
	}
	if (!c->node[0] || strpbrk(c->node, "{}: \t")) {
		fprintf(stderr, "weir: node = '%s': use letters, digits, - and _ (no braces, colons or spaces)\n", c->node);
		return -1;
	}
	for (unsigned i = 0; i < c->n_watch; i++) {
		char side[2][WEIR_NAME_LEN + 8];
		const char *gt = strchr(c->watch[i], '>');
		snprintf(side[0], sizeof(side[0]), "%.*s", (int)(gt - c->watch[i]), c->watch[i]);
		snprintf(side[1], sizeof(side[1]), "%s", gt + 1);
		for (int k = 0; k < 2; k++) {
			int found = !strcmp(side[k], "remote");
			for (unsigned j = 0; j < c->n_subnets && !found; j++)
				found = !strcmp(c->subnets[j].name, side[k]);
			if (!found) {
				fprintf(stderr, "weir: %s %s: '%s' is not a subnet: define it with "
					"--subnet %s=CIDR or -m CIDR\n", c->watch_forbid[i] ? "forbid" : "watch",
					c->watch[i], side[k], side[k]);
				return -1;
			}
		}
	}
	if (c->hugepages < 0) {
		c->hugepages = 0;
		for (unsigned i = 0; i < c->n_interfaces; i++) {
			unsigned dom, bus, dev, fn;
			if (sscanf(c->interfaces[i], "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4 ||
			    sscanf(c->interfaces[i], "%x:%x.%x", &bus, &dev, &fn) == 3)
				c->hugepages = 1;
		}
	}
	/* polling a NIC must not sleep; a worker fed by vdevs, the software
	 * distributor or the socket collector shares its core with them */
	if (c->idle_sleep_us < 0)
		c->idle_sleep_us = c->hugepages ? 0 : 50;
	if (c->progress < 0)
		c->progress = isatty(STDERR_FILENO) && !c->quiet;
	return 0;
}

/* The keys a running engine can take from a reloaded configuration: they
 * are read by the control thread only (or are single aligned words). */
int
weir_config_reload(struct weir_config *live, const struct weir_config *next, char *changed, size_t len)
{
	size_t n = 0;
	changed[0] = 0;
#define TAKE(field, name) do { if (memcmp(&live->field, &next->field, sizeof(live->field))) { \
		memcpy(&live->field, &next->field, sizeof(live->field)); \
		n += (size_t)snprintf(changed + n, n < len ? len - n : 0, "%s%s", n ? ", " : "", name); } } while (0)
	TAKE(quiet, "quiet");
	TAKE(log_interval_s, "log-interval");
	TAKE(publish_interval_ms, "publish-interval");
	TAKE(flow_history, "flow-history");
	TAKE(flow_stream_len, "flow-history-stream");
	TAKE(exporter_timeout_s, "exporter-timeout");
	if (memcmp(live->watch, next->watch, sizeof(live->watch)) ||
	    memcmp(live->watch_forbid, next->watch_forbid, sizeof(live->watch_forbid)) ||
	    live->n_watch != next->n_watch) {
		/* read by the control thread only, between cycles */
		memcpy(live->watch, next->watch, sizeof(live->watch));
		memcpy(live->watch_forbid, next->watch_forbid, sizeof(live->watch_forbid));
		live->n_watch = next->n_watch;
		n += (size_t)snprintf(changed + n, n < len ? len - n : 0, "%swatch/forbid", n ? ", " : "");
	}
#undef TAKE
	/* everything else shapes memory or the workers: it needs a restart */
	struct weir_config a = *live, b = *next;
	a.quiet = b.quiet;
	a.progress = b.progress;
	a.dry_run = b.dry_run;
	memcpy(a.config_file, b.config_file, sizeof(a.config_file));
	a.hugepages = b.hugepages;
	return memcmp(&a, &b, sizeof(a)) != 0;
}

void
weir_config_dump(const struct weir_config *c, FILE *out)
{
	fprintf(out, "# weir --dump-config: the effective configuration, readable back with -c\n");
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		if (k == &keys[0] || k->off == OFF(dry_run))
			continue;	/* config, dump-config: not settings */
		switch (k->kind) {
		case K_STR: {
			const char *v = (const char *)c + k->off;
			const char *at = strrchr(v, '@'), *sl = strstr(v, "//");
			if (!strcmp(k->name, "redis") && at && sl && at > sl) {
				/* never print a password */
				const char *colon = memchr(sl + 2, ':', (size_t)(at - sl - 2));
				if (colon)
					fprintf(out, "%s = %.*s:***%s\n", k->name, (int)(colon - v), v, at);
				else
					fprintf(out, "%s = %.*s***%s\n", k->name, (int)(sl + 2 - v), v, at);
			} else {
				fprintf(out, "%s = %s\n", k->name, v);
			}
			break;
		}
		case K_UINT:
			fprintf(out, "%s = %u\n", k->name, *(const uint32_t *)((const char *)c + k->off));
			break;
		case K_BOOL:
			fprintf(out, "%s = %s\n", k->name, *(const int *)((const char *)c + k->off) ? "yes" : "no");
			break;
		case K_FN:
			break;
		}
	}
	for (unsigned i = 0; i < c->n_interfaces; i++)
		fprintf(out, "interface = %s\n", c->interfaces[i]);
	for (unsigned i = 0; i < c->n_watch; i++)
		fprintf(out, "%s = %s\n", c->watch_forbid[i] ? "forbid" : "watch", c->watch[i]);
	fprintf(out, "resolve-hosts = %s\n", c->resolve == 2 ? "all" : c->resolve == 1 ? "local" : "none");
	for (unsigned i = 0; i < c->n_collect; i++)
		fprintf(out, "collect = udp://%s%s%s:%u\n", strchr(c->collect[i].addr, ':') ? "[" : "",
			c->collect[i].addr, strchr(c->collect[i].addr, ':') ? "]" : "", c->collect[i].port);
	for (unsigned i = 0; i < c->n_exporter_allow; i++)
		fprintf(out, "exporter-allow = %s\n", c->exporter_allow[i].cidr);
	for (unsigned i = 0; i < c->n_exports; i++)
		fprintf(out, "export = ipfix://%s%s%s:%u\n", strchr(c->exports[i].addr, ':') ? "[" : "",
			c->exports[i].addr, strchr(c->exports[i].addr, ':') ? "]" : "", c->exports[i].port);
	fprintf(out, "decap-tunnels = %s\n", c->parse.decap_gre && c->parse.decap_vxlan ? "all" :
		c->parse.decap_gre ? "gre" : c->parse.decap_vxlan ? "vxlan" : "none");
	fprintf(out, "vxlan-port = %u\n", c->parse.vxlan_port);
	fprintf(out, "idle-sleep = %d\n", c->idle_sleep_us);
	fprintf(out, "collector-ports =");
	for (unsigned i = 0; i < c->n_collector_ports; i++)
		fprintf(out, "%s%u", i ? "," : " ", c->collector_ports[i]);
	fputc('\n', out);
	for (unsigned i = 0; i < c->n_subnets; i++) {
		if (c->subnets[i].local)
			fprintf(out, "local-networks = %s\n", c->subnets[i].name);
		else
			fprintf(out, "subnet = %s=%s\n", c->subnets[i].name, c->subnets[i].cidr);
	}
}

static int
in_prefix(const struct weir_subnet *s, const uint8_t addr[16])
{
	int full = s->bits / 8, rem = s->bits % 8;
	if (memcmp(addr, s->prefix, (size_t)full) != 0)
		return 0;
	return !rem || !((addr[full] ^ s->prefix[full]) & (uint8_t)(0xff << (8 - rem)));
}

int
weir_subnet_lookup(const struct weir_config *c, const uint8_t addr[16])
{
	int best = -1, best_bits = -1;
	for (unsigned i = 0; i < c->n_subnets; i++) {
		const struct weir_subnet *s = &c->subnets[i];
		if ((int)s->bits <= best_bits || !in_prefix(s, addr))
			continue;
		best = (int)i;
		best_bits = s->bits;
	}
	return best;
}

int
weir_exporter_allowed(const struct weir_config *c, const uint8_t addr[16])
{
	if (!c->n_exporter_allow)
		return 1;
	for (unsigned i = 0; i < c->n_exporter_allow; i++)
		if (in_prefix(&c->exporter_allow[i], addr))
			return 1;
	return 0;
}
