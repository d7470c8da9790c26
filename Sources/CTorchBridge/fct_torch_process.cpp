// fct_torch_process: process-wide glibc allocator settings for processes that train (one malloc arena) and its check.
#include "fct_torch.h"

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {

int32_t fct_torch_use_one_malloc_arena(void) { return mallopt(M_ARENA_MAX, 1) == 1 ? 1 : 0; }

int32_t fct_torch_malloc_arena_count(void) {
    char *report = nullptr;
    size_t length = 0;
    FILE *stream = open_memstream(&report, &length);
    if (stream == nullptr) return -1;
    const int status = malloc_info(0, stream);
    std::fclose(stream);
    int32_t arenas = status == 0 ? 0 : -1;
    for (const char *cursor = report; status == 0 && (cursor = std::strstr(cursor, "<heap nr=")) != nullptr; cursor += 9) ++arenas;
    std::free(report);
    return arenas;
}

}
