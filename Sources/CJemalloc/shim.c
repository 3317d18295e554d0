// The speaker's allocator: jemalloc (Debian's libjemalloc-dev). `make release` links its objects into the speaker
// (SPEAKER_FLAGS, tools/static-libs.sh) and exports the malloc family, so glibc's own allocations use it too. (From
// the archive its malloc would stay local to the executable: the static Swift runtime links with --exclude-libs ALL,
// and two allocators in one process crash.) Debug builds keep glibc's malloc.
//
// Why: with 10,000 Services, glibc's arenas kept about 30 MB resident around a 20 MB live heap (the long-lived
// results of each pass land between the temporaries of the next, and a page with one live chunk stays). jemalloc
// keeps each size class in its own slabs and returns a page as soon as it is empty. Measured with
// `beacon-bench speaker-idle --services 10000` (Docs/benchmarks.md).
#include "CJemalloc.h"

extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// Two arenas (the speaker has two cooperative threads and two event loops; one arena measured the same), no thread
// caches (they hold freed chunks per thread), empty pages returned at once instead of after 10 s, and address space
// unmapped rather than retained (jemalloc otherwise keeps the peak of a 10,000-Service burst, about 200 MB, mapped but
// not resident, and about 1 MB of metadata describing it). jemalloc reads this symbol at its first allocation;
// MALLOC_CONF in the environment still overrides it. Without jemalloc it is an unused string.
const char *malloc_conf = "narenas:2,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0,retain:false";

int beacon_jemalloc_version(const char **version) {
    if (!mallctl) return -1;
    size_t size = sizeof(*version);
    return mallctl("version", version, &size, NULL, 0);
}
