/* fuzz_ipfix.c -- libFuzzer target for the IPFIX decoder; the harness, with
 * a persistent exporter across inputs, is fuzz_netflow.h. */
#define FUZZ_VERSION 10
#define FUZZ_DECODE weir_ipfix_decode
#include "fuzz_netflow.h"
