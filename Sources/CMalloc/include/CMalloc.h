#pragma once
// glibc's malloc tuning, which the Glibc module does not export.
#include <malloc.h>

/// Returns freed heap memory to the kernel.
static inline int beacon_malloc_trim(void) { return malloc_trim(0); }

/// Caps the number of malloc arenas (glibc makes up to 8 per core, and memory freed in one is not reused by another).
static inline int beacon_malloc_arenas(int n) { return mallopt(M_ARENA_MAX, n); }
