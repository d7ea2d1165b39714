/* flow_snap.h -- what a worker tells the control thread about its flows.
 *
 * At every fold, and when a flow ends, the owning worker copies the flow's
 * counters into a struct weir_flow_snap and pushes it on its own
 * single-producer/single-consumer ring (spsc_ring.h); the control thread drains every
 * worker's ring into the flow view it publishes. The ring's head and tail
 * live on separate cache lines, each written by one side only.
 *
 * A full ring drops the snapshot and counts it (the flow view then lags; the
 * aggregates, which do not travel here, stay exact). Reading a capture file,
 * the worker waits for room instead, since nothing is lost by waiting. */
#ifndef WEIR_FLOW_SNAP_H
#define WEIR_FLOW_SNAP_H

#include <stdint.h>

#include "weir/dpi.h"
#include "weir/flow.h"
#include "spsc_ring.h"

struct weir_flow_snap {
	struct weir_flow_key key;
	uint64_t uid;
	uint64_t bytes[2];
	uint64_t pkts[2];
	uint64_t first_ms, last_ms;
	uint8_t  amac[6], bmac[6];
	uint8_t  a_is_init, tcp_flags, end, source;
	uint16_t worker;           /* (its application travels as a packed verdict, dpi_msg.h) */
	uint32_t in_if, out_if;
	uint32_t exporter;         /* worker exporter index + 1, 0 if captured */
	uint32_t vrf;              /* flow-export ingress VRF id, 0 if none */
	uint8_t  exporter_addr[16];
	struct weir_flow_route route;   /* sFlow extended router/gateway (flow.h) */
};

#endif
