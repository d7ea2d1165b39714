/* test_config.c -- configuration: defaults, file + command line precedence,
 * validation errors that name the key, subnet longest-prefix match. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/config.h"
#include "check.h"

static struct weir_config cfg;

static int
load(int argc, const char **argv)
{
	return weir_config_load(&cfg, argc, (char **)argv);
}

static void
addr4(uint8_t a[16], const char *text)
{
	uint8_t bits;
	CHECK_EQ(weir_cidr_parse(text, a, &bits), 0);
}

int
main(void)
{
	const char *a1[] = {"weir", "--collect", "udp://127.0.0.1:2055"};
	CHECK_EQ(load(3, a1), 0);
	CHECK_EQ(cfg.workers, 1);
	CHECK_EQ(cfg.flow_table_size, 1048576);
	CHECK_EQ(cfg.idle_timeout_s, 30);
	CHECK_EQ(cfg.active_timeout_s, 120);
	CHECK_EQ(cfg.publish_interval_ms, 1000);
	CHECK_EQ(cfg.n_collector_ports, 3);
	CHECK_EQ(cfg.hugepages, 0);	/* no PCI device: development mode */
	CHECK(!strcmp(cfg.node, "local"));
	CHECK_EQ(cfg.collect[0].port, 2055);

	/* nothing to read is an error */
	const char *a2[] = {"weir"};
	CHECK_EQ(load(1, a2), -1);
	/* out of range and unknown */
	const char *a3[] = {"weir", "--collect", "udp://[::1]:6343", "--workers", "0"};
	CHECK_EQ(load(5, a3), -1);
	const char *a4[] = {"weir", "--collect", "udp://0.0.0.0:2055", "--no-such-key", "1"};
	CHECK_EQ(load(5, a4), -1);
	const char *a5[] = {"weir", "--collect", "tcp://0.0.0.0:2055"};
	CHECK_EQ(load(3, a5), -1);
	/* a PCI address means production mode */
	const char *a6[] = {"weir", "-i", "0000:03:00.0", "-w", "4"};
	CHECK_EQ(load(5, a6), 0);
	CHECK_EQ(cfg.hugepages, 1);
	CHECK_EQ(cfg.workers, 4);

	/* file, then command line wins; bad lines are refused with file:line */
	char path[] = "/tmp/weir-test-config-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fprintf(f, "# a comment\nworkers = 2\nidle-timeout = 10\n--local-networks=10.0.0.0/8\n"
		   "subnet = iot=10.0.30.0/24\nsubnet = v6lab=2001:db8:1::/48\ncollect = udp://0.0.0.0:2055\n");
	fclose(f);
	const char *a7[] = {"weir", "-c", path, "--idle-timeout", "20"};
	CHECK_EQ(load(5, a7), 0);
	CHECK_EQ(cfg.workers, 2);
	CHECK_EQ(cfg.idle_timeout_s, 20);
	CHECK_EQ(cfg.n_subnets, 3);

	uint8_t a[16];
	addr4(a, "10.0.30.7");
	int i = weir_subnet_lookup(&cfg, a);
	CHECK(i >= 0 && !strcmp(cfg.subnets[i].name, "iot"));	/* longest prefix wins */
	addr4(a, "10.9.9.9");
	i = weir_subnet_lookup(&cfg, a);
	CHECK(i >= 0 && !strcmp(cfg.subnets[i].name, "10.0.0.0/8") && cfg.subnets[i].local);
	addr4(a, "192.0.2.1");
	CHECK_EQ(weir_subnet_lookup(&cfg, a), (unsigned long long)-1);
	addr4(a, "2001:db8:1:ffff::1");
	i = weir_subnet_lookup(&cfg, a);
	CHECK(i >= 0 && !strcmp(cfg.subnets[i].name, "v6lab"));
	addr4(a, "2001:db8:2::1");
	CHECK_EQ(weir_subnet_lookup(&cfg, a), (unsigned long long)-1);

	f = fopen(path, "w");
	fprintf(f, "workers = lots\n");
	fclose(f);
	const char *a8[] = {"weir", "-c", path, "--collect", "udp://0.0.0.0:2055"};
	CHECK_EQ(load(5, a8), -1);
	unlink(path);

	uint8_t p[16], bits;
	CHECK_EQ(weir_cidr_parse("10.1.2.3/8", p, &bits), 0);
	CHECK_EQ(bits, 104);
	CHECK_EQ(p[13], 0);	/* host bits cleared */
	CHECK_EQ(weir_cidr_parse("10.0.0.0/33", p, &bits), (unsigned long long)-1);
	CHECK_EQ(weir_cidr_parse("nonsense", p, &bits), (unsigned long long)-1);
	return CHECK_DONE();
}
