/* What the bridge benchmarks' C drivers share (bridge_bench.c, medform_bench.c): reporting a failed bridge call. */
#ifndef FCT_BENCH_COMMON_H
#define FCT_BENCH_COMMON_H
#include <stdio.h>
#include "fct_torch.h"

/* Prints the bridge's message for a failed call (and frees it) and returns -1. */
static inline int bench_failed(char *error, const char *what) {
    fprintf(stderr, "%s: %s\n", what, error ? error : "?");
    fct_torch_free_string(error);
    return -1;
}
#endif
