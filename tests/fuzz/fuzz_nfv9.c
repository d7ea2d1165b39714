/* fuzz_nfv9.c -- libFuzzer target for the NetFlow v9 decoder; the harness, with
 * a persistent exporter across inputs, is fuzz_netflow.h. */
#define FUZZ_VERSION 9
#define FUZZ_DECODE weir_nfv9_decode
#include "fuzz_netflow.h"
