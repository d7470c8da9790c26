/* Callgrind collection switched on and off by the measured code itself (client requests; a no-op outside valgrind). */
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_DUMP_STATS_AT("measured steps"); CALLGRIND_STOP_INSTRUMENTATION; }
