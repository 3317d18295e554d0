import KubernetesModel
import AddressAllocator
import ArgumentParser
import Foundation
import LoadBalancerConfig
import NetworkPrimitives

/// Allocation throughput, latency, memory and flatness for pools of several sizes.
struct AllocBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alloc",
        abstract: "Allocate N services from one pool; JSON lines with allocations/s, p50/p99, bytes per allocation, last/first-1% ratio.",
        discussion: "Without --pool, runs every case (/24, /16, IPv6 /64 and /48 at 1k, 10k, 100k and 1M services where they fit), each in its own process so memory figures are clean."
    )

    @Option(help: "Pool CIDR for a single case.") var pool: String?
    @Option(help: "Services to allocate for a single case.") var services: Int = 1000
    @Flag(help: "Fragment the pool first (release every other Service), then time releases, refills and specific reservations.")
    var fragmented = false

    static let cases: [(String, [Int])] = [
        ("10.0.0.0/24", [1000]),  // a /24 holds 256: the 1k case fills it, and the rest fail fast
        ("10.0.0.0/16", [1000, 10_000]),
        ("2001:db8::/64", [1000, 10_000, 100_000, 1_000_000]),
        ("2001:db8::/48", [1000, 10_000, 100_000, 1_000_000]),
    ]

    func run() throws {
        guard let pool else {
            for (cidr, counts) in Self.cases {
                for n in counts { try runChild(cidr, n) }
            }
            try runChild("2001:db8::/48", 1_000_000, fragmented: true)
            return
        }
        if fragmented { try measureFragmented(pool, services) } else { try measure(pool, services) }
    }

    private func runChild(_ cidr: String, _ n: Int, fragmented: Bool = false) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        p.arguments = ["alloc", "--pool", cidr, "--services", String(n)] + (fragmented ? ["--fragmented"] : [])
        try p.run()
        p.waitUntilExit()
    }

    private func measure(_ cidr: String, _ n: Int) throws {
        let yaml = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: bench}\nspec: {addresses: [\"\(cidr)\"]}\n"
        let config = try ConfigurationLoader().load([ConfigSource(name: "bench", text: yaml)]).configuration
        let family: IPFamily = cidr.contains(":") ? .ipv6 : .ipv4
        var allocator = AddressAllocator(configuration: config)
        var latencies = [Int64](repeating: 0, count: n)
        // Touch every page now, so neither its page faults nor its memory are counted as the allocator's.
        for i in stride(from: 0, to: n, by: 512) { latencies[i] = 1 }
        let clock = ContinuousClock()
        let baseline = MemoryUsage.residentBytes()
        var failures = 0
        let start = clock.now
        for i in 0..<n {
            let request = AllocationRequest(service: ServiceKey(namespace: "bench", name: "svc-\(i)"), families: .singleStack(family),
                                            ports: [ServicePort("TCP", 443)])
            let t0 = clock.now
            do { _ = try allocator.allocate(request) } catch { failures += 1 }
            let t1 = clock.now
            latencies[i] = (t1 - t0).nanoseconds
        }
        let elapsed = (clock.now - start).seconds
        let resident = MemoryUsage.residentBytes()
        // The anchor, in the same process: the same Service keys with an address each put in a Swift Dictionary, the
        // plain structure an allocator without its own tables would start from.
        var plain: [ServiceKey: IPAddress] = [:]
        let anchorStart = clock.now
        for i in 0..<n {
            plain[ServiceKey(namespace: "bench", name: "svc-\(i)")] = family == .ipv4 ? .v4(IPv4Address(UInt32(i))) : .v6(IPv6Address(UInt128(i)))
        }
        let anchor = (clock.now - anchorStart).seconds
        withExtendedLifetime(plain) {}
        let allocated = n - failures
        let sorted = latencies.sorted()
        let window = max(n / 100, 1)
        func median(_ xs: ArraySlice<Int64>) -> Double { Double(xs.sorted()[xs.count / 2]) }
        func mean(_ xs: ArraySlice<Int64>) -> Double { Double(xs.reduce(0, +)) / Double(xs.count) }
        let firstWindow = latencies[0..<min(window, allocated)], lastWindow = latencies[max(allocated - window, 0)..<max(allocated, 1)]
        let record: [String: Any] = [
            "benchmark": "alloc", "pool": cidr, "services": n, "allocated": allocated, "failed": failures,
            "seconds": elapsed, "allocations_per_s": Double(n) / elapsed, "anchor_dictionary_insert_s": anchor,
            "allocate_seconds": Double(latencies.reduce(0, +)) / 1e9,
            "p50_ns": sorted[n / 2], "p99_ns": sorted[min(n - 1, n * 99 / 100)], "max_ns": sorted[n - 1],
            "ratio_last_first_p50": allocated > 0 ? median(lastWindow) / max(median(firstWindow), 1) : 0,
            "ratio_last_first_mean": allocated > 0 ? mean(lastWindow) / max(mean(firstWindow), 1) : 0,
            "bytes_per_allocation": allocated > 0 ? Double(resident - baseline) / Double(allocated) : 0,
            "peak_rss_mb": Double(MemoryUsage.peakResidentBytes()) / 1_048_576,
            "assigned": allocator.statistics(pool: "bench")?.totalAssigned.description ?? "",
        ]
        print(try jsonLine(record))
        FileHandle.standardOutput.synchronizeFile()
        withExtendedLifetime(allocator) {}
    }
}

extension AllocBench {
    /// The worst case for an interval structure: N allocations, every other one released (N/2 disjoint
    /// intervals), then timed: releasing the survivors' neighbours is already done, so time (1) N/2 allocations
    /// that refill the holes lowest-first, (2) N/2 releases of every other address, (3) N/4 reservations of
    /// specific addresses inside the holes.
    func measureFragmented(_ cidr: String, _ n: Int) throws {
        let yaml = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: bench}\nspec: {addresses: [\"\(cidr)\"]}\n"
        let config = try ConfigurationLoader().load([ConfigSource(name: "bench", text: yaml)]).configuration
        let family: IPFamily = cidr.contains(":") ? .ipv6 : .ipv4
        var allocator = AddressAllocator(configuration: config)
        func request(_ i: Int, ip: IPAddress? = nil) -> AllocationRequest {
            AllocationRequest(service: ServiceKey(namespace: "bench", name: "svc-\(i)"), families: .singleStack(family),
                              requestedIPs: ip.map { [$0] } ?? [])
        }
        var ips: [IPAddress] = []
        ips.reserveCapacity(n)
        for i in 0..<n { ips.append(try allocator.allocate(request(i)).allocation.ips[0]) }
        for i in stride(from: 0, to: n, by: 2) { allocator.release(ServiceKey(namespace: "bench", name: "svc-\(i)")) }
        let clock = ContinuousClock()
        func timed(_ count: Int, _ body: (Int) throws -> Void) rethrows -> (seconds: Double, p50: Int64, p99: Int64) {
            var lat = [Int64](repeating: 0, count: count)
            let start = clock.now
            for k in 0..<count {
                let t0 = clock.now
                try body(k)
                lat[k] = (clock.now - t0).nanoseconds
            }
            let s = lat.sorted()
            return ((clock.now - start).seconds, s[count / 2], s[min(count - 1, count * 99 / 100)])
        }
        // (1) Refill: each allocation takes the lowest hole.
        let refill = try timed(n / 2) { k in _ = try allocator.allocate(request(n + k)) }
        // (2) Release every other original survivor, fragmenting again.
        let release = timed(n / 2) { k in allocator.release(ServiceKey(namespace: "bench", name: "svc-\(2 * k + 1)")) }
        // (3) Reserve specific addresses inside the holes just made.
        let reserve = try timed(n / 4) { k in _ = try allocator.allocate(request(2 * n + k, ip: ips[4 * k + 1])) }
        let record: [String: Any] = [
            "benchmark": "alloc-fragmented", "pool": cidr, "services": n,
            "refill_seconds": refill.seconds, "refill_p50_ns": refill.p50, "refill_p99_ns": refill.p99,
            "release_seconds": release.seconds, "release_p50_ns": release.p50, "release_p99_ns": release.p99,
            "reserve_seconds": reserve.seconds, "reserve_p50_ns": reserve.p50, "reserve_p99_ns": reserve.p99,
            "allocations": allocator.allocationCount,
            "peak_rss_mb": Double(MemoryUsage.peakResidentBytes()) / 1_048_576,
        ]
        print(try jsonLine(record))
    }
}

/// Reads this process's memory from /proc/self/status.
enum MemoryUsage {
    static func residentBytes() -> Int { field("VmRSS:") }
    static func peakResidentBytes() -> Int { field("VmHWM:") }

    private static func field(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }
}
