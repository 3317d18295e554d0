#pragma once
// glibc's malloc_trim and mallinfo2, which the Glibc module does not export.
#include <malloc.h>

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
