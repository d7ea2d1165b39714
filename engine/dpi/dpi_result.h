/* dpi_result.h -- private to engine/dpi: turning nDPI's verdict and flow
 * state into a struct weir_dpi_result (bounded copies, no pointers). */
#ifndef WEIR_DPI_RESULT_H
#define WEIR_DPI_RESULT_H

#include <ndpi/ndpi_api.h>

#include "weir/dpi.h"

/* What the slot knows about the flow beyond nDPI's own state. */
struct weir_dpi_flow_facts {
	uint16_t pkts;          /* fed to nDPI */
	uint16_t pkts_resp;     /* of which from the responder: a DNS answer
				 * can only have been seen if > 0 */
	uint8_t  ssh_swapped;   /* the responder sent the first SSH banner:
				 * nDPI 4.2 filed it as the client's */
};

/* Fill *res from the protocol nDPI returned and the flow it worked on
 * (flow and facts NULL for a payload-less guess). */
void weir_dpi_result_fill(struct ndpi_detection_module_struct *ndpi,
			  struct ndpi_flow_struct *flow, ndpi_protocol proto,
			  enum weir_dpi_method method,
			  const struct weir_dpi_flow_facts *facts,
			  struct weir_dpi_result *res);

#endif
