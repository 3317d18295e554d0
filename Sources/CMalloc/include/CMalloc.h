#pragma once
// glibc's malloc_trim, which the Glibc module does not export.
#include <malloc.h>

/// Returns freed heap memory to the kernel.
static inline int beacon_malloc_trim(void) { return malloc_trim(0); }
