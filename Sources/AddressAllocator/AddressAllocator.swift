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

    /// Pool state, indexed like `configuration.pools`.
    private var pools: [PoolState] = []
    private var poolIndex: [String: Int] = [:]
    /// Pools with a serviceAllocation, in trial order (their scope is checked per request).
    private var scopedPoolOrder: [Int] = []
    /// autoAssign pools without a serviceAllocation: the fallback for every Service, by name.
    private var unscopedPoolOrder: [Int] = []

    /// Records live in an array (ids are indices, reused through `freeIDs`), found by `serviceTable`.
    private var slots: [Slot] = []
    private var freeIDs: [UInt32] = []
    private var serviceTable = ServiceTable()

    private struct Slot: Sendable {
        var service: ServiceKey
        var record: Record
        var live: Bool
    }

    /// What the allocator remembers per Service: 40 bytes, enough to re-check and release.
    private struct Record: Sendable {
        var addresses: AddressPair
        var pool: Int32
        /// Present only for Services with a sharing key.
        var sharing: SharingInfo?
    }

    /// The sharing terms a Service asked for. A class, so Records of Services that never share stay small.
    private final class SharingInfo: Sendable {
        let key: String
        let backendKey: String
        let ports: [ServicePort]

        init(key: String, backendKey: String, ports: [ServicePort]) {
            self.key = key
            self.backendKey = backendKey
            self.ports = ports
        }
    }

    /// Users of an address that allows sharing (possibly just one so far).
    private struct SharedUse: Sendable {
        var sharingKey: String
        var backendKey: String
        var ports: [ServicePort: ServiceKey]
        var services: Set<ServiceKey>
    }

    /// One family of one pool: which indices are used, by whom.
    private struct FamilyState: Sendable {
        var space: AddressSpace
        /// Record ids of the owners of addresses that do not share, by index.
        var owners = IndexTable()
        /// Addresses that allow sharing, by index.
        var shared: [UInt128: SharedUse] = [:]
        /// Sharing key → indices (ascending) carrying it: where a shareable Service may pack.
        var sharedByKey: [String: [UInt128]] = [:]
    }

    private struct PoolState: Sendable {
        var pool: AddressPool
        /// Index 0: IPv4, 1: IPv6 (Array's own accessors give in-place access without copies).
        var families: [FamilyState]
        var services = 0

        var v4: FamilyState { families[0] }
        var v6: FamilyState { families[1] }
    }

    public init(configuration: Configuration = .empty) {
        self.configuration = configuration
        rebuildPools()
    }

    // MARK: - Queries

    public func allocation(for service: ServiceKey) -> Allocation? {
        record(service).map { allocation(service, $0) }
    }

    private func recordID(_ service: ServiceKey) -> UInt32? {
        serviceTable.find(service, hash: ServiceTable.hash(service)) { slots[Int($0)].service }
    }

    private func record(_ service: ServiceKey) -> Record? {
        recordID(service).map { slots[Int($0)].record }
    }

    /// Stores the record of a Service that has none (every caller releases first); returns its id.
    private mutating func insertRecord(_ service: ServiceKey, _ record: Record) -> UInt32 {
        let slot = Slot(service: service, record: record, live: true)
        let id: UInt32
        if let reused = freeIDs.popLast() {
            id = reused
            slots[Int(id)] = slot
        } else {
            id = UInt32(slots.count)
            slots.append(slot)
        }
        serviceTable.insert(hash: ServiceTable.hash(service), id: id)
        return id
    }

    private mutating func removeRecord(_ service: ServiceKey) -> Record? {
        let hash = ServiceTable.hash(service)
        guard let id = serviceTable.find(service, hash: hash, key: { slots[Int($0)].service }) else { return nil }
        serviceTable.remove(hash: hash, id: id)
        let record = slots[Int(id)].record
        slots[Int(id)].live = false
        slots[Int(id)].service = ServiceKey(namespace: "", name: "")
        freeIDs.append(id)
        return record
    }

    private func allocation(_ service: ServiceKey, _ r: Record) -> Allocation {
        Allocation(service: service, pool: pools[Int(r.pool)].pool.name, addresses: r.addresses)
    }

    public var allocations: [Allocation] {
        slots.filter(\.live).sorted { $0.service < $1.service }.map { allocation($0.service, $0.record) }
    }

    public var allocationCount: Int { serviceTable.count }

    /// The Services using an address.
    public func users(of ip: IPAddress) -> [ServiceKey] {
        guard let (p, index) = locate(ip) else { return [] }
        if let id = pools[p].families[ip.family.slot].owners[index] { return [slots[Int(id)].service] }
        return pools[p].families[ip.family.slot].shared[index]?.services.sorted() ?? []
    }

    public func statistics(pool name: String) -> PoolStatistics? {
        guard let p = poolIndex[name] else { return nil }
        let state = pools[p]
        return PoolStatistics(pool: name, size: [.ipv4: state.v4.space.size, .ipv6: state.v6.space.size],
                              assigned: [.ipv4: state.v4.space.usedCount, .ipv6: state.v6.space.usedCount],
                              services: state.services)
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
        if let existing = record(request.service) {
            let previous = allocation(request.service, existing)
            switch reassignProblem(existing, request) {
            case nil:
                var addresses = existing.addresses
                // PreferDualStack: add the missing family from the same pool once it can.
                if case .preferDualStack = request.families, addresses.count == 1 {
                    let missing: IPFamily = addresses.ipv4 == nil ? .ipv4 : .ipv6
                    if let extra = try? pick(from: Int(existing.pool), families: [missing], request) {
                        for ip in extra.ips { addresses.insert(ip) }
                    }
                }
                let sameTerms = Self.sameSharing(existing.sharing, request)
                if addresses == existing.addresses && sameTerms {
                    return AllocationOutcome(allocation: previous, replaced: nil, changed: false)
                }
                release(request.service)
                assign(request, pool: Int(existing.pool), addresses: addresses)
                let now = allocation(for: request.service) ?? previous
                return AllocationOutcome(allocation: now, replaced: nil, changed: now != previous)
            case let problem?:
                release(request.service)
                replaced = (previous, problem)
            }
        }
        let (pool, addresses) = try choose(request)
        assign(request, pool: pool, addresses: addresses)
        let allocation = Allocation(service: request.service, pool: pools[pool].pool.name, addresses: addresses)
        return AllocationOutcome(allocation: allocation, replaced: replaced, changed: true)
    }

    /// Re-takes addresses a Service already holds (from its status after a restart), before anything new is
    /// allocated. Checks that the addresses are still in a pool the Service may use and that sharing allows
    /// them, but ignores `autoAssign` and the lowest-free rule: a restart must never move an address.
    /// Restoring the same addresses again is a no-op.
    @discardableResult
    public mutating func restore(_ request: AllocationRequest, ips: [IPAddress]) throws(AllocationError) -> Allocation {
        let ips = ips.map(\.unmapped).sorted()
        if let existing = record(request.service), existing.addresses.ips == ips {
            return allocation(request.service, existing)
        }
        let pool = try poolForSpecific(ips, request)
        if let problem = sharingProblem(ips, request) { throw problem }
        release(request.service)
        assign(request, pool: pool, addresses: AddressPair(ips))
        return Allocation(service: request.service, pool: pools[pool].pool.name, ips: ips)
    }

    /// Frees a Service's addresses (deletion, type change, foreign loadBalancerClass). Returns what it held.
    @discardableResult
    public mutating func release(_ service: ServiceKey) -> Allocation? {
        guard let record = removeRecord(service) else { return nil }
        let p = Int(record.pool)
        for family in IPFamily.allCases {
            guard let ip = record.addresses.address(family), let index = pools[p].families[family.slot].space.index(of: ip) else { continue }
            if pools[p].families[family.slot].owners.remove(index) != nil {
                pools[p].families[family.slot].space.markFree(index)
            } else if var use = pools[p].families[family.slot].shared.removeValue(forKey: index) {
                use.services.remove(service)
                use.ports = use.ports.filter { $0.value != service }
                if use.services.isEmpty {
                    pools[p].families[family.slot].space.markFree(index)
                    removeSharedIndex(index, key: use.sharingKey, pool: p, family: family)
                } else {
                    pools[p].families[family.slot].shared[index] = use
                }
            }
        }
        pools[p].services -= 1
        return Allocation(service: service, pool: pools[p].pool.name, addresses: record.addresses)
    }

    /// Replaces the configuration. Every allocation is re-homed to the pool that now contains its addresses;
    /// those whose addresses no longer fit any pool are released and returned, with the reason, so the
    /// caller can clear them and allocate again. (Whether a Service may still use its pool by scope is
    /// re-checked by the next `allocate`.)
    @discardableResult
    public mutating func setConfiguration(_ configuration: Configuration) -> [ServiceKey: AllocationError] {
        let old = slots.filter(\.live).sorted { $0.service < $1.service }
        self.configuration = configuration
        rebuildPools()
        slots = []
        freeIDs = []
        serviceTable = ServiceTable()
        var evicted: [ServiceKey: AllocationError] = [:]
        for slot in old {
            let service = slot.service, record = slot.record
            let ips = record.addresses.ips
            let homes = Set(ips.map { poolIndex(containing: $0) })
            guard homes.count == 1, let home = homes.first ?? nil else {
                evicted[service] = .notAllowedInConfig(ips)
                continue
            }
            reinstate(service, Record(addresses: record.addresses, pool: Int32(home), sharing: record.sharing))
        }
        return evicted
    }

    // MARK: - Choosing addresses

    private static func sameSharing(_ s: SharingInfo?, _ r: AllocationRequest) -> Bool {
        guard let s else { return r.sharingKey == nil }
        return s.key == r.sharingKey && s.backendKey == r.backendKey && s.ports == r.ports
    }

    /// Why a Service's current addresses cannot be kept for this request, or nil.
    private func reassignProblem(_ existing: Record, _ r: AllocationRequest) -> AllocationError? {
        let ips = existing.addresses.ips
        if !r.requestedIPs.isEmpty && r.requestedIPs.sorted() != ips {
            return .invalidRequest("requested addresses changed to \(AllocationError.quoted(r.requestedIPs))")
        }
        let pool = pools[Int(existing.pool)].pool
        if let wanted = r.requestedPool, wanted != pool.name {
            return .invalidRequest("requested pool changed to \"\(wanted)\"")
        }
        let held = existing.addresses.families
        switch r.families {
        case .singleStack(let f) where held != [f]: return .requestedFamilyMismatch(ips)
        case .requireDualStack where held.count != 2: return .requestedFamilyMismatch(ips)
        case .preferDualStack(let p) where !held.contains(p): return .requestedFamilyMismatch(ips)
        default: break
        }
        if !isCompatible(pool, r) { return .poolNotCompatible(pool.name) }
        return sharingProblem(ips, r)
    }

    private func choose(_ r: AllocationRequest) throws(AllocationError) -> (Int, AddressPair) {
        if !r.requestedIPs.isEmpty {
            let ips = r.requestedIPs.sorted()
            let pool = try poolForSpecific(ips, r)
            if let problem = sharingProblem(ips, r) { throw problem }
            return (pool, AddressPair(ips))
        }
        if let name = r.requestedPool {
            guard let p = poolIndex[name] else { throw .unknownPool(name) }
            guard isCompatible(pools[p].pool, r) else { throw .poolNotCompatible(name) }
            if let both = Self.dualAttempt(r.families), let found = try? pick(from: p, families: both, r) { return (p, found) }
            if let single = Self.singleAttempt(r.families), let found = try? pick(from: p, families: single, r) { return (p, found) }
            throw .noAvailableIPsInPool(name, r.families)
        }
        // PreferDualStack tries both families in every candidate pool first, then its primary family alone.
        if let families = Self.dualAttempt(r.families), let found = firstCandidate(families, r) { return found }
        if let families = Self.singleAttempt(r.families), let found = firstCandidate(families, r) { return found }
        throw .noAvailableIPs(why: whyNoAddress(r))
    }

    /// What each pool lacks for `r`, for the AllocationFailed event: MetalLB says only "no available IPs", which
    /// reads the same whether the pools are full, all manual, or scoped to other Services.
    private func whyNoAddress(_ r: AllocationRequest) -> String {
        guard !pools.isEmpty else { return "no IPAddressPool is configured" }
        let needed: Set<IPFamily>
        switch r.families {
        case .singleStack(let f), .preferDualStack(primary: let f): needed = [f]
        case .requireDualStack: needed = [.ipv4, .ipv6]
        }
        var full: [String] = [], manual: [String] = [], scoped: [String] = [], family: [String] = []
        for state in pools {
            let pool = state.pool
            if !pool.autoAssign { manual.append(pool.name) }
            else if !isCompatible(pool, r) { scoped.append(pool.name) }
            else if !needed.isSubset(of: pool.families) { family.append(pool.name) }
            else { full.append(pool.name) }
        }
        func names(_ list: [String]) -> String {
            let shown = list.sorted().prefix(5).map { "\"\($0)\"" }.joined(separator: ", ")
            return list.count > 5 ? shown + " and \(list.count - 5) more" : shown
        }
        func poolNames(_ list: [String]) -> String { (list.count == 1 ? "pool " : "pools ") + names(list) }
        var parts: [String] = []
        if !full.isEmpty { parts.append("\(poolNames(full)) \(full.count == 1 ? "is" : "are") full") }
        if !manual.isEmpty { parts.append("\(poolNames(manual)) \(manual.count == 1 ? "has" : "have") autoAssign: false and must be requested (metallb.io/address-pool)") }
        if !scoped.isEmpty { parts.append("\(poolNames(scoped)) \(scoped.count == 1 ? "does" : "do") not select this Service (serviceAllocation)") }
        if !family.isEmpty {
            let fams = needed.map(\.rawValue).sorted().joined(separator: " and ")
            parts.append("\(poolNames(family)) \(family.count == 1 ? "has" : "have") no \(fams) addresses")
        }
        return parts.joined(separator: "; ")
    }

    private func firstCandidate(_ families: [IPFamily], _ r: AllocationRequest) -> (Int, AddressPair)? {
        for p in scopedPoolOrder where pools[p].pool.autoAssign && isCompatible(pools[p].pool, r) {
            if let found = try? pick(from: p, families: families, r) { return (p, found) }
        }
        for p in unscopedPoolOrder {
            if let found = try? pick(from: p, families: families, r) { return (p, found) }
        }
        return nil
    }

    private static let both: [IPFamily] = [.ipv4, .ipv6]
    private static let onlyV4: [IPFamily] = [.ipv4]
    private static let onlyV6: [IPFamily] = [.ipv6]

    private static func dualAttempt(_ policy: FamilyPolicy) -> [IPFamily]? {
        switch policy {
        case .singleStack: return nil
        case .requireDualStack, .preferDualStack: return both
        }
    }

    private static func singleAttempt(_ policy: FamilyPolicy) -> [IPFamily]? {
        switch policy {
        case .singleStack(let f), .preferDualStack(let f): return f == .ipv4 ? onlyV4 : onlyV6
        case .requireDualStack: return nil
        }
    }

    /// The pool holding all requested addresses, checked against the requested pool and the pool's scope.
    private func poolForSpecific(_ ips: [IPAddress], _ r: AllocationRequest) throws(AllocationError) -> Int {
        if ips.count > 2 || (ips.count == 2 && ips[0].family == ips[1].family) {
            throw .invalidRequest("at most one address per family can be requested, got \(AllocationError.quoted(ips))")
        }
        var found: Int? = nil
        for ip in ips {
            guard let p = poolIndex(containing: ip) else { throw .notAllowedInConfig(ips) }
            if let f = found, f != p { throw .requestedIPsInDifferentPools(ips) }
            found = p
        }
        guard let p = found else { throw .notAllowedInConfig(ips) }
        if let wanted = r.requestedPool, wanted != pools[p].pool.name { throw .requestedIPsNotInRequestedPool(ips, pool: wanted) }
        guard isCompatible(pools[p].pool, r) else { throw .poolNotCompatible(pools[p].pool.name) }
        return p
    }

    /// The pool whose assignable addresses include `ip` (a .0/.255 address of an avoidBuggyIPs pool is in none).
    private func poolIndex(containing ip: IPAddress) -> Int? {
        guard let pool = configuration.pool(containing: ip.unmapped) else { return nil }
        if pool.avoidBuggyIPs, case .v4(let v4) = ip.unmapped, v4.isBuggyNetworkOrBroadcast { return nil }
        return poolIndex[pool.name]
    }

    private func locate(_ ip: IPAddress) -> (Int, UInt128)? {
        guard let p = poolIndex(containing: ip), let index = pools[p].families[ip.family.slot].space.index(of: ip.unmapped) else { return nil }
        return (p, index)
    }

    /// MetalLB's isPoolCompatibleWithService, with namespace selectors evaluated against the namespace's labels.
    private func isCompatible(_ pool: AddressPool, _ r: AllocationRequest) -> Bool {
        guard let scope = pool.serviceAllocation else { return true }
        if !scope.namespaces.isEmpty || !scope.namespaceSelectors.isEmpty {
            let byName = scope.namespaces.contains(r.service.namespace)
            if !byName && !scope.namespaceSelectors.contains(where: { $0.matches(r.namespaceLabels) }) { return false }
        }
        if !scope.serviceSelectors.isEmpty && !scope.serviceSelectors.contains(where: { $0.matches(r.serviceLabels) }) {
            return false
        }
        return true
    }

    /// One address per family from a pool: for each family the lowest usable address, where an address
    /// already carrying the Service's sharing key (with free ports and the same backends) counts as usable.
    private func pick(from p: Int, families: [IPFamily], _ r: AllocationRequest) throws(AllocationError) -> AddressPair {
        var out = AddressPair()
        for family in families {
            let slot = family.slot
            // Read through the arrays in place: copying a FamilyState would retain every table in it.
            var best = pools[p].families[slot].space.lowestFree()
            if let key = r.sharingKey, let candidates = pools[p].families[slot].sharedByKey[key] {
                for index in candidates {
                    if let b = best, index >= b { break }
                    if sharingProblem([pools[p].families[slot].space.address(at: index)], r) == nil {
                        best = index
                        break
                    }
                }
            }
            guard let index = best else { throw .noAvailableIPsInPool(pools[p].pool.name, r.families) }
            out.insert(pools[p].families[slot].space.address(at: index))
        }
        return out
    }

    /// MetalLB's checkSharing for each address: free, or used only by Services with the same sharing and
    /// backend keys and none of the same ports (a Service may always keep re-using its own address).
    private func sharingProblem(_ ips: [IPAddress], _ r: AllocationRequest) -> AllocationError? {
        for ip in ips {
            guard let (p, index) = locate(ip) else { continue }
            let f = pools[p].families[ip.family.slot]
            let others: [ServiceKey]
            let reason: String?
            if let id = f.owners[index] {
                let owner = slots[Int(id)].service
                if owner == r.service { continue }
                others = [owner]
                reason = "existing service does not allow sharing"
            } else if let u = f.shared[index] {
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
            } else {
                continue
            }
            if let reason, !others.isEmpty {
                return .cannotChangeSharingKey(r.service, alsoUsedBy: others, reason: reason)
            }
        }
        return nil
    }

    // MARK: - Bookkeeping

    private mutating func assign(_ r: AllocationRequest, pool: Int, addresses: AddressPair) {
        let sharing = r.sharingKey.map { SharingInfo(key: $0, backendKey: r.backendKey, ports: r.ports) }
        reinstate(r.service, Record(addresses: addresses, pool: Int32(pool), sharing: sharing))
    }

    /// Records an allocation known to be permissible (new, restored or re-homed) for a Service that holds
    /// nothing (callers release first).
    private mutating func reinstate(_ service: ServiceKey, _ record: Record) {
        let p = Int(record.pool)
        let id = insertRecord(service, record)
        for family in IPFamily.allCases {
            guard let ip = record.addresses.address(family), let index = pools[p].families[family.slot].space.index(of: ip) else { continue }
            if let sharing = record.sharing {
                var use = pools[p].families[family.slot].shared.removeValue(forKey: index)
                    ?? SharedUse(sharingKey: sharing.key, backendKey: sharing.backendKey, ports: [:], services: [])
                if use.services.isEmpty {
                    pools[p].families[family.slot].space.markUsed(index)
                } else if use.sharingKey != sharing.key {
                    removeSharedIndex(index, key: use.sharingKey, pool: p, family: family)
                }
                if use.services.isEmpty || use.sharingKey != sharing.key { addSharedIndex(index, key: sharing.key, pool: p, family: family) }
                // A sole user may change its key in place (MetalLB allows it).
                use.sharingKey = sharing.key
                use.backendKey = sharing.backendKey
                use.services.insert(service)
                for port in sharing.ports { use.ports[port] = service }
                pools[p].families[family.slot].shared[index] = use
            } else {
                if pools[p].families[family.slot].owners.set(index, id) == nil {
                    pools[p].families[family.slot].space.markUsed(index)
                }
            }
        }
        pools[p].services += 1
    }

    private mutating func addSharedIndex(_ index: UInt128, key: String, pool p: Int, family: IPFamily) {
        var list = pools[p].families[family.slot].sharedByKey.removeValue(forKey: key) ?? []
        list.insert(index, at: list.partitioningIndex { $0 >= index })
        pools[p].families[family.slot].sharedByKey[key] = list
    }

    private mutating func removeSharedIndex(_ index: UInt128, key: String, pool p: Int, family: IPFamily) {
        guard var list = pools[p].families[family.slot].sharedByKey.removeValue(forKey: key) else { return }
        let i = list.partitioningIndex { $0 >= index }
        if i < list.count, list[i] == index { list.remove(at: i) }
        if !list.isEmpty { pools[p].families[family.slot].sharedByKey[key] = list }
    }

    private mutating func rebuildPools() {
        pools = configuration.pools.map { pool in
            PoolState(pool: pool, families: [
                FamilyState(space: AddressSpace(family: .ipv4, ranges: pool.ranges, avoidBuggyIPs: pool.avoidBuggyIPs)),
                FamilyState(space: AddressSpace(family: .ipv6, ranges: pool.ranges, avoidBuggyIPs: pool.avoidBuggyIPs)),
            ])
        }
        poolIndex = Dictionary(uniqueKeysWithValues: pools.enumerated().map { ($1.pool.name, $0) })
        var scoped: [(priority: Int, name: String, index: Int)] = []
        var unscoped: [(String, Int)] = []
        for (i, state) in pools.enumerated() {
            if let scope = state.pool.serviceAllocation {
                scoped.append((scope.priority, state.pool.name, i))
            } else if state.pool.autoAssign {
                unscoped.append((state.pool.name, i))
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
        }.map(\.index)
        unscopedPoolOrder = unscoped.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

extension IPFamily {
    /// Position in per-family arrays.
    var slot: Int { self == .ipv4 ? 0 : 1 }
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
