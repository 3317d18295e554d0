#pragma once
#include <stddef.h>

/// The version of the jemalloc this process runs with. 0 on success; -1 when the allocator is glibc's.
int beacon_jemalloc_version(const char **version);
