/* dpi_msg.h -- an nDPI verdict as it crosses from a worker to the control
 * thread. A struct weir_dpi_result is about 1.1 KB, nearly all of it string
 * buffers that are mostly empty (a URL, SSH banners, risk names); packed --
 * the flow's uid, the result's numbers, then each string as a length byte
 * and its bytes -- a verdict takes a tenth of that, so the worker's verdict
 * ring (spsc_ring.h, records of varying length) holds ten times more in the
 * same memory: enough to outlast a publish cycle that keeps the control
 * thread away from the rings for seconds. */
#ifndef WEIR_DPI_MSG_H
#define WEIR_DPI_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "weir/dpi.h"

/* The most bytes weir_dpi_msg_pack() writes (every string full). */
#define WEIR_DPI_MSG_MAX (sizeof(uint64_t) + sizeof(struct weir_dpi_result))

/* Pack uid and *r into out (WEIR_DPI_MSG_MAX bytes); returns the length. */
size_t weir_dpi_msg_pack(uint8_t *out, uint64_t uid, const struct weir_dpi_result *r);

/* Unpack len bytes into *uid and *r (every string NUL-terminated);
 * -1 if they are not what weir_dpi_msg_pack() writes. */
int weir_dpi_msg_unpack(const uint8_t *in, size_t len, uint64_t *uid, struct weir_dpi_result *r);

#endif
