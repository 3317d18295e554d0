import CJemalloc
import CMalloc
import CoreMetrics
import ServiceLifecycle

/// The speaker's memory policy, all of it: which allocator runs (jemalloc, linked in by `make release` and configured
/// by `CJemalloc`'s `malloc_conf`; glibc in debug builds, tuned once by `beacon_malloc_tune`), the heap figures as
/// `beacon_process_heap_bytes{state=in_use|free}`, and freed memory handed back to the kernel after a burst.
/// Nothing else in the speaker knows which allocator it runs on.
struct MemoryPolicy: ServiceLifecycle.Service {
    static let interval: Duration = .seconds(10)
    /// Trim when the allocator keeps this much more free memory than at the last look.
    static let trimAfter = 4 << 20

    let inUse: Gauge
    let free: Gauge

    init(factory: any MetricsFactory) {
        inUse = Gauge(label: "beacon_process_heap_bytes", dimensions: [("state", "in_use")], factory: factory)
        free = Gauge(label: "beacon_process_heap_bytes", dimensions: [("state", "free")], factory: factory)
    }

    /// Sets the allocator up (before the allocations that matter) and names it, for the start-up log line.
    static func configure() -> String {
        beacon_malloc_tune()
        var version: UnsafePointer<CChar>?
        return beacon_jemalloc_version(&version) == 0 ? "jemalloc \(version.map { String(cString: $0) } ?? "?")" : "glibc"
    }

    /// Every 10 s: record the heap; trim when more was freed since the last look. Only then: `malloc_trim` walks every
    /// free chunk and re-advises pages already returned, which with a large fragmented heap costs a second of CPU.
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastFree = 0
            while true {
                try await Task.sleep(for: Self.interval)
                let (_, freeBytes) = record()
                if freeBytes > lastFree + Self.trimAfter { _ = beacon_malloc_trim() }
                lastFree = freeBytes
            }
        }
    }

    private func record() -> (inUse: Int, free: Int) {
        var used = 0, freeBytes = 0, mapped = 0
        beacon_malloc_stats(&used, &freeBytes, &mapped)
        inUse.record(used)
        free.record(freeBytes)
        return (used, freeBytes)
    }
}
