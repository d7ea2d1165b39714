/* fuzz_nfv5.c -- libFuzzer target for the NetFlow v5 decoder; the harness, with
 * a persistent exporter across inputs, is fuzz_netflow.h. */
#define FUZZ_VERSION 5
#define FUZZ_DECODE weir_nfv5_decode
#include "fuzz_netflow.h"
