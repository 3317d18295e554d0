#pragma once
// The speaker's view of its allocator (used by its MemoryPolicy alone): glibc's malloc (mallopt, malloc_trim and mallinfo2, which the Glibc module does
// not export), or jemalloc when the executable links it (the speaker does: CJemalloc). `mallctl` is declared weak, so
// code that links this header without jemalloc (the tests, the other tools) gets glibc's behaviour.
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>

extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

/// True when jemalloc is the process's allocator.
static inline int beacon_malloc_is_jemalloc(void) { return mallctl != 0; }

/// The speaker's glibc malloc policy, set once at start (`speaker run`); nothing to do under jemalloc (its policy is
/// CJemalloc's `malloc_conf`):
/// - the mmap threshold fixed at 128 KiB: glibc otherwise raises it to the size of the largest mmapped block freed (up
///   to 32 MiB), after which the large temporary arrays of a pass over 10,000 Services come from the heap and leave
///   it fragmented around the long-lived records allocated meanwhile;
/// - no fastbins: freed small chunks coalesce at once instead of waiting in per-size lists.
/// Measured with `beacon-bench speaker-idle --services 10000` (Docs/benchmarks.md): idle RSS 110 → 55 MB.
static inline void beacon_malloc_tune(void) {
    if (beacon_malloc_is_jemalloc()) return;
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_MXFAST, 0);
}

/// Returns freed heap memory to the kernel (jemalloc: purges every arena).
static inline int beacon_malloc_trim(void) {
    if (beacon_malloc_is_jemalloc()) return mallctl("arena.4096.purge", NULL, NULL, NULL, 0) == 0;
    return malloc_trim(0);
}

/// Bytes the program holds (in_use), and bytes the allocator keeps resident beyond them (free: free chunks malloc
/// keeps, or jemalloc's resident pages that hold no allocation, its metadata included).
static inline void beacon_malloc_stats(size_t *in_use, size_t *free_bytes, size_t *mmapped) {
    if (beacon_malloc_is_jemalloc()) {
        uint64_t epoch = 1;
        size_t size = sizeof(epoch);
        mallctl("epoch", &epoch, &size, &epoch, size);
        size_t allocated = 0, resident = 0, mapped = 0;
        size = sizeof(size_t);
        mallctl("stats.allocated", &allocated, &size, NULL, 0);
        mallctl("stats.resident", &resident, &size, NULL, 0);
        mallctl("stats.mapped", &mapped, &size, NULL, 0);
        *in_use = allocated;
        *free_bytes = resident > allocated ? resident - allocated : 0;
        *mmapped = mapped;
        return;
    }
    struct mallinfo2 m = mallinfo2();
    *in_use = m.uordblks + m.hblkhd;
    *free_bytes = m.fordblks;
    *mmapped = m.hblkhd;
}
