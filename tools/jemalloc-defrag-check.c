// Checks beacon_malloc_should_move (Sources/CMalloc) against the jemalloc this machine links: that the utilization
// query it reads answers in the layout it expects, and that moving what it picks empties slabs. Records kept through
// a burst of same-size temporaries are left spread over slabs, dense in one half of the burst and sparse in the other
// (as a speaker's cached records are after 10,000 Services arrive); moving the ones the hint picks must give memory
// back. Run by `make image-check`; exits 1 on failure.
#include "CMalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The speaker's policy (Sources/CJemalloc/shim.c): no thread caches, empty pages and address space returned at once.
const char *malloc_conf = "narenas:2,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0,retain:false";

enum { N = 40000, SIZE = 80 };
static void *all[N];

int main(void) {
    if (!beacon_malloc_is_jemalloc()) { fprintf(stderr, "jemalloc-defrag-check: not running on jemalloc\n"); return 1; }
    // First half: keep 3 of every 4; second half: keep 1 of every 8.
    int kept = 0;
    for (int i = 0; i < N; i++) { all[i] = malloc(SIZE); memset(all[i], i & 0xff, SIZE); }
    for (int i = 0; i < N; i++) {
        int keep = i < N / 2 ? i % 4 != 0 : i % 8 == 0;
        if (keep) kept++; else { free(all[i]); all[i] = NULL; }
    }
    size_t in_use, before, after, mapped;
    beacon_malloc_trim();
    beacon_malloc_stats(&in_use, &before, &mapped);
    int moved = 0, passes = 0;
    for (; passes < 3; passes++) {
        int n = 0;
        for (int i = 0; i < N; i++) {
            if (!all[i] || !beacon_malloc_should_move(all[i])) continue;
            void *copy = malloc(SIZE);
            memcpy(copy, all[i], SIZE);
            free(all[i]);
            all[i] = copy;
            n++;
        }
        moved += n;
        if (n == 0) break;
    }
    beacon_malloc_trim();
    beacon_malloc_stats(&in_use, &after, &mapped);
    int intact = 1;
    for (int i = 0; i < N; i++) if (all[i] && ((unsigned char *)all[i])[SIZE - 1] != (i & 0xff)) intact = 0;
    printf("ok   jemalloc defragmentation hint: moved %d of %d kept records in %d passes; allocator overhead %.2f -> %.2f MB\n",
           moved, kept, passes, before / 1048576.0, after / 1048576.0);
    if (!intact) { fprintf(stderr, "jemalloc-defrag-check: a moved record lost its contents\n"); return 1; }
    if (moved == 0 || after + (256 << 10) > before) {
        fprintf(stderr, "jemalloc-defrag-check: the hint moved %d records and the overhead went %zu -> %zu bytes\n", moved, before, after);
        return 1;
    }
    return 0;
}
