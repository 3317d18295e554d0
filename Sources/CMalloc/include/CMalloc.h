#pragma once
// glibc's malloc_trim and mallinfo2, which the Glibc module does not export.
#include <malloc.h>

/// The speaker's malloc policy, set once at start (`speaker run`):
/// - the mmap threshold fixed at 128 KiB: glibc otherwise raises it to the size of the largest mmapped block freed (up
///   to 32 MiB), after which the large temporary arrays of a pass over 10,000 Services come from the heap and leave
///   it fragmented around the long-lived records allocated meanwhile;
/// - no fastbins: freed small chunks coalesce at once instead of waiting in per-size lists.
/// Measured with `beacon-bench speaker-idle --services 10000` (Docs/benchmarks.md): idle RSS 110 → 55 MB.
static inline void beacon_malloc_tune(void) {
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_MXFAST, 0);
}

/// Returns freed heap memory to the kernel.
static inline int beacon_malloc_trim(void) { return malloc_trim(0); }

/// Bytes the program holds (in_use), bytes free inside the heap (free: kept by malloc, counted in RSS when touched),
/// and bytes in mmapped chunks.
static inline void beacon_malloc_stats(size_t *in_use, size_t *free_bytes, size_t *mmapped) {
    struct mallinfo2 m = mallinfo2();
    *in_use = m.uordblks + m.hblkhd;
    *free_bytes = m.fordblks;
    *mmapped = m.hblkhd;
}
