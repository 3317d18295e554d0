import KubernetesModel
import LoadBalancerConfig
import NetworkPrimitives

/// Decides which addresses each LoadBalancer Service gets, with MetalLB's observable behaviour (pool choice,
/// priorities, sharing, dual-stack, requested addresses, error wording) and a cost independent of pool size:
/// every pool family is a dense index space (see `AddressSpace`) whose used indices are kept as intervals,
/// so the lowest free address, a specific reservation and a release each cost O(log n) in the number of
/// allocations, and memory grows with allocations, never with pool size.
///
/// Pure: no Kubernetes types, no I/O, no logging. The controller restores existing assignments with
/// `restore` before calling `allocate` for anything new, so a restart never moves an address.
public struct AddressAllocator: Sendable {
    public private(set) var configuration: Configuration

    /// Per-pool index spaces and sharing indexes, by pool name.
    private var pools: [String: PoolState] = [:]
    /// Pools with a serviceAllocation, in trial order (their scope is checked per request).
    private var scopedPoolOrder: [String] = []
    /// autoAssign pools without a serviceAllocation: the fallback for every Service, by name.
    private var unscopedPoolOrder: [String] = []

    private var records: [ServiceKey: Record] = [:]
    private var users: [IPAddress: IPUse] = [:]

    /// What the allocator remembers per Service: enough to re-check and release, nothing more.
    private struct Record: Sendable {
        var pool: String
        var ips: [IPAddress]
        var sharingKey: String?
        var backendKey: String
        /// Kept only for shared addresses (ports matter only when another Service may share).
        var ports: [ServicePort]
    }

    /// Who uses an address.
    private enum IPUse: Sendable {
        /// One Service that does not share.
        case exclusive(ServiceKey)
        /// Services that agreed on a sharing key (possibly just one so far).
        case shared(SharedUse)
    }

    private struct SharedUse: Sendable {
        var sharingKey: String
        var backendKey: String
        var ports: [ServicePort: ServiceKey]
        var services: Set<ServiceKey>
    }

    private struct PoolState: Sendable {
        var pool: AddressPool
        var spaces: [IPFamily: AddressSpace]
        /// Sharing key → indices (ascending) of addresses carrying it, per family: where a shareable Service
        /// may pack onto an existing address.
        var sharedIndices: [IPFamily: [String: [UInt128]]] = [:]
        var services = 0
    }

    public init(configuration: Configuration = .empty) {
        self.configuration = configuration
        rebuildPools()
    }

    // MARK: - Queries

    public func allocation(for service: ServiceKey) -> Allocation? {
        records[service].map { Allocation(service: service, pool: $0.pool, ips: $0.ips) }
    }

    public var allocations: [Allocation] {
        records.keys.sorted().compactMap { allocation(for: $0) }
    }

    public var allocationCount: Int { records.count }

    /// The Services using an address.
    public func users(of ip: IPAddress) -> [ServiceKey] {
        switch users[ip] {
        case .exclusive(let s)?: return [s]
        case .shared(let u)?: return u.services.sorted()
        case nil: return []
        }
    }

    public func statistics(pool name: String) -> PoolStatistics? {
        guard let state = pools[name] else { return nil }
        var size: [IPFamily: AddressCount] = [:], used: [IPFamily: AddressCount] = [:]
        for f in IPFamily.allCases {
            size[f] = state.spaces[f]?.size ?? .zero
            used[f] = state.spaces[f]?.usedCount ?? .zero
        }
        return PoolStatistics(pool: name, size: size, assigned: used, services: state.services)
    }

    public var statistics: [PoolStatistics] {
        configuration.pools.compactMap { statistics(pool: $0.name) }
    }

    // MARK: - Allocation

    /// Gives the Service addresses, or explains why it cannot. A Service that already holds addresses keeps
    /// them when its request still allows them (a re-assign, `changed == false`); when it no longer does
    /// (requested address or pool changed, sharing or scope no longer allows it, family policy changed), they
    /// are released and a fresh allocation is made (`replaced` says why). On failure, the Service holds nothing.
    public mutating func allocate(_ request: AllocationRequest) throws(AllocationError) -> AllocationOutcome {
        var replaced: (Allocation, AllocationError)? = nil
        if let existing = records[request.service] {
            let previous = Allocation(service: request.service, pool: existing.pool, ips: existing.ips)
            switch reassignProblem(existing, request) {
            case nil:
                release(request.service)
                assign(request, pool: existing.pool, ips: existing.ips)
                // PreferDualStack: add the missing family from the same pool once it can.
                if case .preferDualStack = request.families, existing.ips.count == 1,
                   let extra = try? addresses(from: existing.pool, families: [existing.ips[0].family == .ipv4 ? .ipv6 : .ipv4], request, excluding: existing.ips) {
                    release(request.service)
                    assign(request, pool: existing.pool, ips: (existing.ips + extra).sorted())
                }
                let now = allocation(for: request.service) ?? previous
                return AllocationOutcome(allocation: now, replaced: nil, changed: now != previous)
            case let problem?:
                release(request.service)
                replaced = (previous, problem)
            }
        }
        let (pool, ips) = try choose(request)
        assign(request, pool: pool, ips: ips)
        let allocation = Allocation(service: request.service, pool: pool, ips: ips)
        return AllocationOutcome(allocation: allocation, replaced: replaced, changed: true)
    }

    /// Re-takes addresses a Service already holds (from its status after a restart), before anything new is
    /// allocated. Checks that the addresses are still in a pool the Service may use and that sharing allows
    /// them, but ignores `autoAssign` and the lowest-free rule: a restart must never move an address.
    /// Restoring the same addresses again is a no-op.
    @discardableResult
    public mutating func restore(_ request: AllocationRequest, ips: [IPAddress]) throws(AllocationError) -> Allocation {
        let ips = ips.map(\.unmapped).sorted()
        if let existing = records[request.service], existing.ips == ips {
            return Allocation(service: request.service, pool: existing.pool, ips: ips)
        }
        let pool = try poolForSpecific(ips, request)
        let previous = records[request.service]
        if previous != nil { release(request.service) }
        if let problem = sharingProblem(ips, request) {
            if let previous { reinstate(request.service, previous) }
            throw problem
        }
        assign(request, pool: pool, ips: ips)
        return Allocation(service: request.service, pool: pool, ips: ips)
    }

    /// Frees a Service's addresses (deletion, type change, foreign loadBalancerClass). Returns what it held.
    @discardableResult
    public mutating func release(_ service: ServiceKey) -> Allocation? {
        guard let record = records.removeValue(forKey: service) else { return nil }
        for ip in record.ips {
            switch users[ip] {
            case .exclusive?:
                users[ip] = nil
                markFree(ip, pool: record.pool, sharingKey: nil)
            case .shared(var u)?:
                u.services.remove(service)
                u.ports = u.ports.filter { $0.value != service }
                if u.services.isEmpty {
                    users[ip] = nil
                    markFree(ip, pool: record.pool, sharingKey: u.sharingKey)
                } else {
                    users[ip] = .shared(u)
                }
            case nil:
                break
            }
        }
        pools[record.pool]?.services -= 1
        return Allocation(service: service, pool: record.pool, ips: record.ips)
    }

    /// Replaces the configuration. Every allocation is re-homed to the pool that now contains its addresses;
    /// those whose addresses no longer fit any pool are released and returned, with the reason, so the
    /// caller can clear them and allocate again. (Whether a Service may still use its pool by scope is
    /// re-checked by the next `allocate`.)
    @discardableResult
    public mutating func setConfiguration(_ configuration: Configuration) -> [ServiceKey: AllocationError] {
        let old = records
        self.configuration = configuration
        rebuildPools()
        records = [:]
        users = [:]
        var evicted: [ServiceKey: AllocationError] = [:]
        for service in old.keys.sorted() {
            guard let record = old[service] else { continue }
            let homes = Set(record.ips.map { poolName(containing: $0) })
            guard homes.count == 1, let home = homes.first ?? nil else {
                evicted[service] = .notAllowedInConfig(record.ips)
                continue
            }
            var moved = record
            moved.pool = home
            reinstate(service, moved)
        }
        return evicted
    }

    // MARK: - Choosing addresses

    /// Why a Service's current addresses cannot be kept for this request, or nil.
    private func reassignProblem(_ existing: Record, _ r: AllocationRequest) -> AllocationError? {
        if !r.requestedIPs.isEmpty && r.requestedIPs.sorted() != existing.ips {
            return .invalidRequest("requested addresses changed to \(AllocationError.quoted(r.requestedIPs))")
        }
        if let wanted = r.requestedPool, wanted != existing.pool {
            return .invalidRequest("requested pool changed to \"\(wanted)\"")
        }
        let held = Set(existing.ips.map(\.family))
        switch r.families {
        case .singleStack(let f) where held != [f]: return .requestedFamilyMismatch(existing.ips)
        case .requireDualStack where held.count != 2: return .requestedFamilyMismatch(existing.ips)
        case .preferDualStack(let p) where !held.contains(p): return .requestedFamilyMismatch(existing.ips)
        default: break
        }
        guard let state = pools[existing.pool] else { return .notAllowedInConfig(existing.ips) }
        if !isCompatible(state.pool, r) { return .poolNotCompatible(existing.pool) }
        return sharingProblem(existing.ips, r)
    }

    private mutating func choose(_ r: AllocationRequest) throws(AllocationError) -> (String, [IPAddress]) {
        if !r.requestedIPs.isEmpty {
            let ips = r.requestedIPs.sorted()
            let pool = try poolForSpecific(ips, r)
            if let problem = sharingProblem(ips, r) { throw problem }
            return (pool, ips)
        }
        if let name = r.requestedPool {
            guard let state = pools[name] else { throw .unknownPool(name) }
            guard isCompatible(state.pool, r) else { throw .poolNotCompatible(name) }
            for families in familyAttempts(r.families) {
                if let ips = try? addresses(from: name, families: families, r) { return (name, ips) }
            }
            throw .noAvailableIPsInPool(name, r.families)
        }
        let candidates = candidatePools(r)
        for families in familyAttempts(r.families) {
            for name in candidates {
                if let ips = try? addresses(from: name, families: families, r) { return (name, ips) }
            }
        }
        throw .noAvailableIPs
    }

    /// PreferDualStack tries both families first, then its primary family alone.
    private func familyAttempts(_ policy: FamilyPolicy) -> [[IPFamily]] {
        switch policy {
        case .singleStack(let f): return [[f]]
        case .requireDualStack: return [[.ipv4, .ipv6]]
        case .preferDualStack(let p): return [[.ipv4, .ipv6], [p]]
        }
    }

    /// The pool holding all requested addresses, checked against the requested pool and the pool's scope.
    private func poolForSpecific(_ ips: [IPAddress], _ r: AllocationRequest) throws(AllocationError) -> String {
        if ips.count > 2 || (ips.count == 2 && ips[0].family == ips[1].family) {
            throw .invalidRequest("at most one address per family can be requested, got \(AllocationError.quoted(ips))")
        }
        var found: String? = nil
        for ip in ips {
            guard let name = poolName(containing: ip) else { throw .notAllowedInConfig(ips) }
            if let f = found, f != name { throw .requestedIPsInDifferentPools(ips) }
            found = name
        }
        guard let pool = found, let state = pools[pool] else { throw .notAllowedInConfig(ips) }
        if let wanted = r.requestedPool, wanted != pool { throw .requestedIPsNotInRequestedPool(ips, pool: wanted) }
        guard isCompatible(state.pool, r) else { throw .poolNotCompatible(pool) }
        return pool
    }

    /// The pool whose assignable addresses include `ip` (a .0/.255 address of an avoidBuggyIPs pool is in none).
    private func poolName(containing ip: IPAddress) -> String? {
        guard let pool = configuration.pool(containing: ip.unmapped) else { return nil }
        if pool.avoidBuggyIPs, case .v4(let v4) = ip.unmapped, v4.isBuggyNetworkOrBroadcast { return nil }
        return pool.name
    }

    /// Pools to try for an automatic allocation: pools scoped to this Service (by namespace or labels), by
    /// priority (lower first, unset last, then by name), then unscoped pools by name. Only autoAssign pools.
    private func candidatePools(_ r: AllocationRequest) -> [String] {
        var scoped: [String] = []
        for name in scopedPoolOrder {
            guard let state = pools[name], state.pool.autoAssign, appliesByScope(state.pool, r) else { continue }
            scoped.append(name)
        }
        return scoped + unscopedPoolOrder
    }

    /// A scoped pool names this Service's namespace (by name or selector) or matches its labels.
    private func appliesByScope(_ pool: AddressPool, _ r: AllocationRequest) -> Bool {
        isCompatible(pool, r)
    }

    /// MetalLB's isPoolCompatibleWithService, with namespace selectors evaluated against the namespace's labels.
    private func isCompatible(_ pool: AddressPool, _ r: AllocationRequest) -> Bool {
        guard let scope = pool.serviceAllocation else { return true }
        let namespaceScoped = !scope.namespaces.isEmpty || !scope.namespaceSelectors.isEmpty
        if namespaceScoped {
            let byName = scope.namespaces.contains(r.service.namespace)
            let bySelector = scope.namespaceSelectors.contains { $0.matches(r.namespaceLabels) }
            if !byName && !bySelector { return false }
        }
        if !scope.serviceSelectors.isEmpty && !scope.serviceSelectors.contains(where: { $0.matches(r.serviceLabels) }) {
            return false
        }
        return true
    }

    /// One address per family from a pool: for each family the lowest usable address, where an address
    /// already carrying the Service's sharing key (with free ports and the same backends) counts as usable.
    private func addresses(from name: String, families: [IPFamily], _ r: AllocationRequest,
                           excluding: [IPAddress] = []) throws(AllocationError) -> [IPAddress] {
        guard let state = pools[name] else { throw .unknownPool(name) }
        var out: [IPAddress] = []
        for family in families {
            guard let space = state.spaces[family], space.size > .zero else { throw .noAvailableIPsInPool(name, r.families) }
            var best = space.lowestFree()
            if let key = r.sharingKey, let shared = state.sharedIndices[family]?[key] {
                for index in shared {
                    if let b = best, index >= b { break }
                    let ip = space.address(at: index)
                    if sharingProblem([ip], r) == nil {
                        best = index
                        break
                    }
                }
            }
            guard let index = best else { throw .noAvailableIPsInPool(name, r.families) }
            out.append(space.address(at: index))
        }
        return out.sorted()
    }

    /// MetalLB's checkSharing for each address: free, or used only by Services with the same sharing and
    /// backend keys and none of the same ports (a Service may always keep re-using its own address).
    private func sharingProblem(_ ips: [IPAddress], _ r: AllocationRequest) -> AllocationError? {
        for ip in ips {
            guard let use = users[ip] else { continue }
            let others: [ServiceKey]
            let reason: String?
            switch use {
            case .exclusive(let owner):
                if owner == r.service { continue }
                others = [owner]
                reason = "existing service does not allow sharing"
            case .shared(let u):
                others = u.services.filter { $0 != r.service }.sorted()
                if let key = r.sharingKey {
                    if key != u.sharingKey {
                        reason = "sharing key \"\(key)\" does not match existing sharing key \"\(u.sharingKey)\""
                    } else if r.backendKey != u.backendKey {
                        reason = "backend key \"\(r.backendKey)\" does not match existing backend key \"\(u.backendKey)\": Services sharing an address need the same externalTrafficPolicy, and Local ones the same selector"
                    } else {
                        reason = nil
                    }
                } else {
                    reason = "new service does not allow sharing"
                }
                if reason == nil {
                    for port in r.ports {
                        if let holder = u.ports[port], holder != r.service { return .portInUse(port, ip) }
                    }
                    continue
                }
            }
            if let reason, !others.isEmpty {
                return .cannotChangeSharingKey(r.service, alsoUsedBy: others, reason: reason)
            }
        }
        return nil
    }

    // MARK: - Bookkeeping

    private mutating func assign(_ r: AllocationRequest, pool: String, ips: [IPAddress]) {
        let record = Record(pool: pool, ips: ips, sharingKey: r.sharingKey, backendKey: r.backendKey,
                            ports: r.sharingKey == nil ? [] : r.ports)
        reinstate(r.service, record)
    }

    /// Records an allocation known to be permissible (new, restored, re-homed or put back).
    private mutating func reinstate(_ service: ServiceKey, _ record: Record) {
        for ip in record.ips {
            if let key = record.sharingKey {
                var u: SharedUse
                if case .shared(let existing)? = users[ip] {
                    u = existing
                } else {
                    u = SharedUse(sharingKey: key, backendKey: record.backendKey, ports: [:], services: [])
                    markUsed(ip, pool: record.pool, sharingKey: key)
                }
                // A sole user may change its key in place (MetalLB allows it).
                u.sharingKey = key
                u.backendKey = record.backendKey
                u.services.insert(service)
                for p in record.ports { u.ports[p] = service }
                users[ip] = .shared(u)
            } else {
                if users[ip] == nil { markUsed(ip, pool: record.pool, sharingKey: nil) }
                users[ip] = .exclusive(service)
            }
        }
        records[service] = record
        pools[record.pool]?.services += 1
    }

    private mutating func markUsed(_ ip: IPAddress, pool: String, sharingKey: String?) {
        guard var state = pools[pool], var space = state.spaces[ip.family], let index = space.index(of: ip) else { return }
        pools[pool] = nil  // keep the state uniquely referenced while it is mutated
        space.markUsed(index)
        state.spaces[ip.family] = space
        if let key = sharingKey {
            var list = state.sharedIndices[ip.family]?[key] ?? []
            list.insert(index, at: list.partitioningIndex { $0 >= index })
            state.sharedIndices[ip.family, default: [:]][key] = list
        }
        pools[pool] = state
    }

    private mutating func markFree(_ ip: IPAddress, pool: String, sharingKey: String?) {
        guard var state = pools[pool], var space = state.spaces[ip.family], let index = space.index(of: ip) else { return }
        pools[pool] = nil
        space.markFree(index)
        state.spaces[ip.family] = space
        if let key = sharingKey, var list = state.sharedIndices[ip.family]?[key] {
            let i = list.partitioningIndex { $0 >= index }
            if i < list.count, list[i] == index { list.remove(at: i) }
            state.sharedIndices[ip.family]?[key] = list.isEmpty ? nil : list
        }
        pools[pool] = state
    }

    private mutating func rebuildPools() {
        pools = [:]
        var scoped: [(priority: Int, name: String)] = []
        var unscoped: [String] = []
        for pool in configuration.pools {
            var spaces: [IPFamily: AddressSpace] = [:]
            for f in IPFamily.allCases {
                spaces[f] = AddressSpace(family: f, ranges: pool.ranges, avoidBuggyIPs: pool.avoidBuggyIPs)
            }
            pools[pool.name] = PoolState(pool: pool, spaces: spaces)
            if let scope = pool.serviceAllocation {
                scoped.append((scope.priority, pool.name))
            } else if pool.autoAssign {
                unscoped.append(pool.name)
            }
        }
        // Lower priority first; 0 (unset) after every set priority; ties by name (MetalLB picks at random).
        scopedPoolOrder = scoped.sorted { a, b in
            switch (a.priority > 0, b.priority > 0) {
            case (true, true): return a.priority != b.priority ? a.priority < b.priority : a.name < b.name
            case (true, false): return true
            case (false, true): return false
            case (false, false): return a.name < b.name
            }
        }.map(\.name)
        unscopedPoolOrder = unscoped.sorted()
    }
}

extension Array {
    /// The first index whose element satisfies `predicate`, which must be false then true along the array.
    func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if predicate(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
