#pragma once
// glibc's malloc_trim, which the Glibc module does not export: returns freed heap memory to the kernel.
#include <malloc.h>

static inline int beacon_malloc_trim(void) { return malloc_trim(0); }
