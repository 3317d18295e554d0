import AddressAllocator
import KubernetesModel
import LoadBalancerConfig
import NetworkPrimitives

/// The controller's decisions, without I/O: given the Services (as the API shows them), their namespaces' labels
/// and the configuration, what to write. It owns the `AddressAllocator`.
///
/// MetalLB's behaviour, with its weak spots fixed:
/// - on the first pass every Service that already shows addresses in its status gets them back (`restore`)
///   before any other Service is allocated, so a restart never moves an address;
/// - a pass writes only differences from what the API shows (or from a write still in flight), so a restart with
///   unchanged inputs writes nothing, and the steady state writes nothing;
/// - an event is emitted when an outcome changes, not on every pass;
/// - Services are served oldest first, so a pending Service never takes an address from one created earlier.
public struct ServiceReconciler: Sendable {
    /// One write the runtime carries out.
    public enum Action: Hashable, Sendable {
        /// Merge-patch `status.loadBalancer.ingress` (empty: clear it).
        case setIngress(ServiceKey, ips: [String])
        /// Set (or, with nil, remove) the `metallb.io/ip-allocated-from-pool` annotation.
        case setPoolAnnotation(ServiceKey, pool: String?)
        case event(ServiceKey, ServiceEvent)
        /// Merge-patch an IPAddressPool's `.status` counts.
        case setPoolStatus(String, PoolStatus)
    }

    /// An event about a Service, with MetalLB's reasons and messages.
    public struct ServiceEvent: Hashable, Sendable {
        public var warning: Bool
        public var reason: String
        public var message: String

        public init(warning: Bool, reason: String, message: String) {
            self.warning = warning
            self.reason = reason
            self.message = message
        }
    }

    /// IPAddressPool `.status`, as MetalLB 0.15 reports it.
    public struct PoolStatus: Hashable, Sendable {
        public var assignedIPv4: Int64
        public var assignedIPv6: Int64
        public var availableIPv4: Int64
        public var availableIPv6: Int64

        public init(assignedIPv4: Int64, assignedIPv6: Int64, availableIPv4: Int64, availableIPv6: Int64) {
            self.assignedIPv4 = assignedIPv4
            self.assignedIPv6 = assignedIPv6
            self.availableIPv4 = availableIPv4
            self.availableIPv6 = availableIPv6
        }
    }

    public private(set) var allocator = AddressAllocator()
    /// `--lb-class`: nil serves Services without a class; a value serves exactly that class.
    public let loadBalancerClass: String?
    private var restored = false
    /// What was last written (or is being written) per Service, and when, so that a pass does not repeat a write in
    /// flight. An entry lives until the API shows what it wrote; one the API has not shown within `confirmation`
    /// (an answer that said success but changed nothing: a broken proxy, a lost update) is written again.
    private var written: [ServiceKey: (ips: [String], pool: String?, at: ContinuousClock.Instant)] = [:]
    /// How long a write may go unconfirmed by the watch before it is repeated.
    public static let confirmation: Duration = .seconds(10)
    private var now = ContinuousClock.now
    private var lastEvent: [ServiceKey: ServiceEvent] = [:]
    private var poolStatus: [String: PoolStatus] = [:]

    public init(loadBalancerClass: String? = nil) {
        self.loadBalancerClass = loadBalancerClass
    }

    public var configuration: Configuration { allocator.configuration }

    /// A new valid configuration. Services whose addresses it no longer allows are re-allocated by the next pass.
    public mutating func setConfiguration(_ configuration: Configuration) {
        _ = allocator.setConfiguration(configuration)
        poolStatus = poolStatus.filter { name, _ in configuration.pool(named: name) != nil }
    }

    /// The events this controller emitted before a restart (the latest per Service), so that a restart does not
    /// repeat them.
    public mutating func seedEvents(_ events: [ServiceKey: ServiceEvent]) {
        for (k, e) in events where lastEvent[k] == nil { lastEvent[k] = e }
    }

    /// The pool status the API shows, so that a restart does not rewrite identical counts.
    public mutating func seedPoolStatus(_ status: [String: PoolStatus]) {
        for (k, s) in status where poolStatus[k] == nil { poolStatus[k] = s }
    }

    /// A write failed: forget it, so the next pass tries again.
    public mutating func writeFailed(_ key: ServiceKey) {
        written[key] = nil
    }

    /// Whether this controller is responsible for the Service (MetalLB's loadBalancerClass rule).
    public func isResponsible(_ service: Service) -> Bool {
        service.spec.isLoadBalancer && service.spec.loadBalancerClass == loadBalancerClass
    }

    /// Writes sent but not yet seen in the API: the caller runs another pass `confirmation` after this pass if so.
    public var awaitingConfirmation: Bool { !written.isEmpty }

    /// One pass over every Service. Returns the writes that make the API match the allocator's decisions.
    public mutating func reconcile(_ services: [Service], namespaceLabels: [String: [String: String]],
                                   now: ContinuousClock.Instant = .now) -> [Action] {
        self.now = now
        var actions: [Action] = []
        var live: [ServiceKey: Service] = [:]
        for s in services { live[Self.key(s)] = s }
        for allocation in allocator.allocations where live[allocation.service] == nil {
            _ = allocator.release(allocation.service)
            written[allocation.service] = nil
            lastEvent[allocation.service] = nil
        }
        written = written.filter { live[$0.key] != nil }
        lastEvent = lastEvent.filter { live[$0.key] != nil }

        // Oldest first (then by name), so that on contention the earlier Service wins, as it would have in time.
        let ordered = services.sorted { a, b in
            let ta = a.metadata.creationTimestamp ?? "", tb = b.metadata.creationTimestamp ?? ""
            return ta != tb ? ta < tb : Self.key(a) < Self.key(b)
        }
        if !restored {
            for service in ordered where isResponsible(service) {
                let ips = Self.ingressIPs(service).compactMap { try? IPAddress($0) }
                guard !ips.isEmpty, let request = try? AllocationRequest(describe(service, namespaceLabels)) else { continue }
                // A failed restore (the configuration no longer allows the address) is re-allocated below.
                _ = try? allocator.restore(request, ips: ips)
            }
            restored = true
        }
        // Holders first, so that re-checks of existing allocations happen before new ones take addresses.
        let holders = ordered.filter { allocator.allocation(for: Self.key($0)) != nil }
        let others = ordered.filter { allocator.allocation(for: Self.key($0)) == nil }
        for service in holders + others {
            actions += reconcile(service, namespaceLabels)
        }
        actions += poolStatusActions()
        return actions
    }

    private mutating func reconcile(_ service: Service, _ namespaceLabels: [String: [String: String]]) -> [Action] {
        let key = Self.key(service)
        let observedIPs = Self.ingressIPs(service)
        let observedPool = ServiceAnnotations.value("ip-allocated-from-pool", in: service.metadata.annotations ?? [:])?.value
        guard service.spec.isLoadBalancer else {
            // No longer a LoadBalancer: free the address and clear what we wrote.
            let held = allocator.release(key)
            lastEvent[key] = nil
            guard held != nil || observedPool != nil else { return [] }
            return write(key, ips: [], pool: nil, observedIPs: observedIPs, observedPool: observedPool)
        }
        guard isResponsible(service) else {
            // Another implementation's Service: never touch it.
            _ = allocator.release(key)
            written[key] = nil
            return []
        }
        let request: AllocationRequest
        do {
            request = try AllocationRequest(describe(service, namespaceLabels))
        } catch {
            _ = allocator.release(key)
            var actions = write(key, ips: [], pool: nil, observedIPs: observedIPs, observedPool: observedPool)
            actions += emit(key, ServiceEvent(warning: true, reason: "LoadBalancerFailed", message: error.description))
            return actions
        }
        do {
            let outcome = try allocator.allocate(request)
            let ips = outcome.allocation.ips.map(\.description)
            var actions: [Action] = []
            if let replaced = outcome.replaced {
                actions += emit(key, ServiceEvent(warning: false, reason: "ClearAssignment",
                                                  message: "current IP \(Self.quoted(replaced.allocation.ips.map(\.description))) not allowed by config: \(replaced.reason)"))
            }
            let changed = observedIPs != ips
            actions += write(key, ips: ips, pool: outcome.allocation.pool, observedIPs: observedIPs, observedPool: observedPool)
            if changed {
                actions += emit(key, ServiceEvent(warning: false, reason: "IPAllocated", message: "Assigned IP \(Self.quoted(ips))"))
            }
            return actions
        } catch {
            var actions = write(key, ips: [], pool: nil, observedIPs: observedIPs, observedPool: observedPool)
            actions += emit(key, ServiceEvent(warning: true, reason: "AllocationFailed", message: "Failed to allocate IP for \"\(key)\": \(error)"))
            return actions
        }
    }

    /// The writes that bring the Service's status and annotation to (ips, pool), unless the API already shows
    /// them or the same write is in flight.
    private mutating func write(_ key: ServiceKey, ips: [String], pool: String?, observedIPs: [String], observedPool: String?) -> [Action] {
        if observedIPs == ips && observedPool == pool {
            written[key] = nil
            return []
        }
        if let w = written[key], w.ips == ips, w.pool == pool, now - w.at < Self.confirmation { return [] }
        written[key] = (ips, pool, now)
        var actions: [Action] = []
        if observedIPs != ips { actions.append(.setIngress(key, ips: ips)) }
        if observedPool != pool { actions.append(.setPoolAnnotation(key, pool: pool)) }
        return actions
    }

    private mutating func emit(_ key: ServiceKey, _ event: ServiceEvent) -> [Action] {
        guard lastEvent[key] != event else { return [] }
        lastEvent[key] = event
        return [.event(key, event)]
    }

    private mutating func poolStatusActions() -> [Action] {
        var actions: [Action] = []
        for stats in allocator.statistics {
            func clamp(_ c: AddressCount?) -> Int64 { c?.int64Saturated ?? 0 }
            let status = PoolStatus(assignedIPv4: clamp(stats.assigned[.ipv4]), assignedIPv6: clamp(stats.assigned[.ipv6]),
                                    availableIPv4: clamp(stats.available(.ipv4)), availableIPv6: clamp(stats.available(.ipv6)))
            if poolStatus[stats.pool] != status {
                poolStatus[stats.pool] = status
                actions.append(.setPoolStatus(stats.pool, status))
            }
        }
        return actions
    }

    /// Forget the pool status written, so that the next pass writes it again (after a failed write).
    public mutating func poolStatusWriteFailed(_ pool: String) {
        poolStatus[pool] = nil
    }

    func describe(_ service: Service, _ namespaceLabels: [String: [String: String]]) -> ServiceDescription {
        let key = Self.key(service)
        var d = ServiceDescription(namespace: key.namespace, name: key.name)
        d.labels = service.metadata.labels ?? [:]
        d.annotations = service.metadata.annotations ?? [:]
        d.namespaceLabels = namespaceLabels[key.namespace] ?? [:]
        d.loadBalancerIP = service.spec.loadBalancerIP
        d.ipFamilyPolicy = service.spec.ipFamilyPolicy
        d.ipFamilies = service.spec.ipFamilies ?? []
        d.clusterIPs = service.spec.clusterIPs ?? service.spec.clusterIP.map { [$0] } ?? []
        d.ports = (service.spec.ports ?? []).map { ($0.protocol ?? "TCP", $0.port) }
        d.externalTrafficPolicy = service.spec.externalTrafficPolicy
        d.selector = service.spec.selector ?? [:]
        return d
    }

    static func key(_ s: Service) -> ServiceKey {
        ServiceKey(namespace: s.metadata.namespace ?? "", name: s.metadata.name ?? "")
    }

    static func ingressIPs(_ s: Service) -> [String] {
        (s.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
    }

    /// `["192.0.2.1"]`, as MetalLB prints address lists in events.
    static func quoted(_ ips: [String]) -> String { "[" + ips.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
}
