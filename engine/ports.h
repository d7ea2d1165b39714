/* ports.h -- EAL arguments and DPDK port set-up from the configuration. */
#ifndef WEIR_PORTS_H
#define WEIR_PORTS_H

#include <stdint.h>
#include <rte_mempool.h>
#include "weir/config.h"
#include "worker.h"

/* Build the EAL argv for cfg into argv (at most max entries; strings live in
 * buf). Returns argc. */
int weir_eal_args(const struct weir_config *cfg, char **argv, int max, char *buf, size_t buflen);

/* Configure and start every probed port with nq RX queues each, and hand
 * queues to workers (queue q -> worker q; with fewer queues than workers,
 * those workers distribute). Returns the number of ports, -1 on error. */
int weir_ports_setup(const struct weir_config *cfg, struct rte_mempool *mp,
		     struct weir_worker **w, unsigned int n_workers);

void weir_ports_stop(void);

/* The symmetric Toeplitz RSS key the ports get (0x6d5a repeated), len
 * bytes of it: weir-bench's scale scenario hashes with it as a NIC would. */
void weir_rss_sym_key(uint8_t *key, size_t len);

/* For a port configured with nq > 1 queues: symmetric RSS over IP, TCP and
 * UDP with that key, as far as the device (info) can hash; left without
 * RSS (mq_mode NONE) if it hashes none of them. */
struct rte_eth_conf;
struct rte_eth_dev_info;
void weir_rss_conf(struct rte_eth_conf *conf, const struct rte_eth_dev_info *info);

/* Sum of the ports' counters. */
struct weir_port_counters;
void weir_ports_counters(struct weir_port_counters *pc);

#endif
