import Testing
import NetworkPrimitives
@testable import AddressAllocator

/// A deliberately simple model of MetalLB's allocator: first-fit by walking every address of every pool in
/// order, with its sharing check. The allocator must choose exactly what this model chooses.
struct ReferenceAllocator {
    struct Use { var service: String; var key: String?; var backend: String; var ports: Set<ServicePort> }
    var pools: [(name: String, addresses: [IPAddress])]  // unscoped, autoAssign, in name order
    var uses: [IPAddress: [Use]] = [:]
    var held: [String: [IPAddress]] = [:]

    func canUse(_ ip: IPAddress, _ r: AllocationRequest) -> Bool {
        let others = (uses[ip] ?? []).filter { $0.service != r.service.name }
        guard !others.isEmpty else { return true }
        for o in others {
            guard let k = r.sharingKey, o.key == k, o.backend == r.backendKey, o.ports.isDisjoint(with: r.ports) else { return false }
        }
        return true
    }

    mutating func allocate(_ r: AllocationRequest) -> [IPAddress]? {
        if let existing = held[r.service.name] { return existing }
        let families = r.families.families
        for pool in pools {
            var chosen: [IPAddress] = []
            for f in families {
                if let ip = pool.addresses.first(where: { $0.family == f && canUse($0, r) }) { chosen.append(ip) }
            }
            if chosen.count == families.count {
                for ip in chosen { uses[ip, default: []].append(Use(service: r.service.name, key: r.sharingKey, backend: r.backendKey, ports: Set(r.ports))) }
                held[r.service.name] = chosen
                return chosen
            }
        }
        return nil
    }

    mutating func release(_ name: String) {
        for ip in held.removeValue(forKey: name) ?? [] {
            uses[ip]?.removeAll { $0.service == name }
            if uses[ip]?.isEmpty == true { uses[ip] = nil }
        }
    }
}

@Suite("Allocator properties")
struct PropertyTests {
    static let yaml = pools(poolYAML("a", ["10.0.0.250-10.0.1.5"], "avoidBuggyIPs: true"),
                            poolYAML("b", ["10.0.2.0/29", "2001:db8::/126"]),
                            poolYAML("c", ["2001:db8:1::/127", "10.0.3.0/31"]))

    static func referencePools(_ allocator: AddressAllocator) -> [(name: String, addresses: [IPAddress])] {
        allocator.configuration.pools.map { pool in
            var addresses: [IPAddress] = []
            for range in pool.ranges.sorted() {
                var bits = range.first.bits
                while true {
                    let ip = IPAddress(family: range.family, bits: bits)
                    let buggy: Bool = { if case .v4(let v4) = ip { return pool.avoidBuggyIPs && v4.isBuggyNetworkOrBroadcast }; return false }()
                    if !buggy { addresses.append(ip) }
                    if bits == range.last.bits { break }
                    bits += 1
                }
            }
            return (pool.name, addresses)
        }
    }

    /// Random allocate/release sequences: the allocator picks exactly what first-fit picks, never gives one
    /// address to two Services unless sharing allows it, keeps every address inside its pool, and counts right.
    @Test("agrees with a first-fit reference model", arguments: Array(UInt64(1)...12))
    func againstReference(_ seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var allocator = AddressAllocator(configuration: configuration(Self.yaml))
        var model = ReferenceAllocator(pools: Self.referencePools(allocator))
        var live: [String: AllocationRequest] = [:]
        let keys: [String?] = [nil, nil, "k1", "k2"]
        let portChoices = [["TCP/80"], ["TCP/443"], ["UDP/53"], ["TCP/80", "TCP/443"], []]
        let familyChoices: [FamilyPolicy] = [.singleStack(.ipv4), .singleStack(.ipv4), .singleStack(.ipv6), .requireDualStack]
        for step in 0..<600 {
            let name = "s\(rng.next() % 40)"
            if let r = live[name], rng.next() % 3 == 0 {
                allocator.release(r.service)
                model.release(name)
                live[name] = nil
            } else if let r = live[name] {
                // Re-allocating the same request changes nothing.
                let again = try allocator.allocate(r)
                #expect(!again.changed, "step \(step)")
            } else {
                let r = req(name, share: keys[Int(rng.next() % 4)], ports: portChoices[Int(rng.next() % 5)],
                            backend: rng.next() % 8 == 0 ? "app=x" : "", families: familyChoices[Int(rng.next() % 4)])
                let expected = model.allocate(r)
                let got = try? allocator.allocate(r).allocation.ips
                #expect(got == expected.map { $0.sorted() }, "step \(step): \(name)")
                if got != nil { live[name] = r }
                if got == nil, expected != nil { model.release(name) }
            }
            try checkInvariants(allocator)
        }
        // Release everything: nothing leaks, and the pools can be filled again from their first address.
        for r in live.values { allocator.release(r.service) }
        for s in allocator.statistics { #expect(s.totalAssigned == .zero) }
        #expect(allocator.allocationCount == 0)
        let refill = try allocator.allocate(req("again"))
        #expect(refill.allocation.ips == [try IPAddress("10.0.0.250")])
    }

    func checkInvariants(_ allocator: AddressAllocator) throws {
        var perPool: [String: Set<IPAddress>] = [:]
        for a in allocator.allocations {
            let pool = try #require(allocator.configuration.pool(named: a.pool))
            for ip in a.ips {
                #expect(pool.contains(ip), "\(ip) outside \(a.pool)")
                if pool.avoidBuggyIPs, case .v4(let v4) = ip { #expect(!v4.isBuggyNetworkOrBroadcast) }
                let users = allocator.users(of: ip)
                #expect(users.contains(a.service))
                perPool[a.pool, default: []].insert(ip)
            }
        }
        for s in allocator.statistics {
            #expect(s.totalAssigned == AddressCount(UInt128(perPool[s.pool]?.count ?? 0)), "count of \(s.pool)")
        }
    }

    /// Restoring what the allocator already holds, in any order, changes nothing; restoring into a fresh
    /// allocator reproduces the same state.
    @Test("restore is idempotent and reproduces a state", arguments: Array(UInt64(1)...5))
    func restoreIdempotent(_ seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var allocator = AddressAllocator(configuration: configuration(Self.yaml))
        var requests: [AllocationRequest] = []
        for i in 0..<25 {
            let r = req("s\(i)", share: rng.next() % 2 == 0 ? "k" : nil, ports: ["TCP/\(rng.next() % 3 + 1)"],
                        families: rng.next() % 4 == 0 ? .requireDualStack : .singleStack(.ipv4))
            if (try? allocator.allocate(r)) != nil { requests.append(r) }
        }
        let before = allocator.allocations
        var fresh = AddressAllocator(configuration: allocator.configuration)
        for r in requests.shuffled(using: &rng) {
            let held = try #require(allocator.allocation(for: r.service))
            #expect(try allocator.restore(r, ips: held.ips) == held)
            #expect(try fresh.restore(r, ips: held.ips) == held)
        }
        #expect(allocator.allocations == before)
        #expect(fresh.allocations == before)
        for s in allocator.statistics {
            #expect(fresh.statistics(pool: s.pool) == s)
        }
    }

    /// A configuration change never strands an allocation: each either fits a pool that contains it or is
    /// reported as evicted.
    @Test("reconfiguration re-homes or evicts every allocation", arguments: Array(UInt64(1)...5))
    func reconfiguration(_ seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var allocator = AddressAllocator(configuration: configuration(pools(poolYAML("a", ["10.0.0.0/28"]), poolYAML("b", ["10.0.1.0/28"]))))
        for i in 0..<20 { _ = try? allocator.allocate(req("s\(i)", pool: rng.next() % 2 == 0 ? "a" : "b")) }
        let before = Set(allocator.allocations.map(\.service))
        let next = configuration(pools(poolYAML("a2", ["10.0.0.4-10.0.0.9"]), poolYAML("b", ["10.0.1.0/29"])))
        let evicted = allocator.setConfiguration(next)
        let after = Set(allocator.allocations.map(\.service))
        #expect(after.union(evicted.keys) == before)
        #expect(after.isDisjoint(with: evicted.keys))
        for a in allocator.allocations {
            #expect(next.pool(named: a.pool)?.contains(a.ips[0]) == true)
        }
        try checkInvariants(allocator)
    }
}
