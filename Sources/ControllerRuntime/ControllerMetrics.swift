import AddressAllocator
import KubernetesClient
import NetworkPrimitives
import CoreMetrics
import MetricsText
import Synchronization

/// The controller's metrics, with MetalLB's names so existing dashboards and the Helm chart's alerts
/// (MetalLBAddressPoolExhausted, MetalLBStaleConfig, ...) keep working, plus Beacon's allocation latency.
///
/// Per pool (label `pool`): `metallb_allocator_addresses_total`, `metallb_allocator_addresses_in_use_total` and their
/// `ipv4_`/`ipv6_` variants, `metallb_allocator_services_allocated_total` (MetalLB registers it but never sets it;
/// Beacon does). Process-wide: `metallb_k8s_client_updates_total`, `metallb_k8s_client_update_errors_total`,
/// `metallb_k8s_client_config_loaded_bool`, `metallb_k8s_client_config_stale_bool`, and
/// `beacon_controller_allocation_seconds` (from the pass that saw the Service to its status being written).
public struct ControllerMetrics: Sendable {
    public static let allocationLatency = "beacon_controller_allocation_seconds"

    let factory: any MetricsFactory
    let client: ClientMetrics
    var updates: Counter { client.updates }
    var updateErrors: Counter { client.updateErrors }
    var configLoaded: Gauge { client.configLoaded }
    var configStale: Gauge { client.configStale }
    let allocation: Timer
    private let pools = PoolGauges()
    /// `beacon_allocator_address_assigned{service,pool,ip}`: served with the registry's metrics (`scraped`).
    let assigned = AssignedAddresses()
    public var scraped: [any ScrapedFamilies] { [assigned] }

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        client = ClientMetrics(factory: factory)
        allocation = Timer(label: Self.allocationLatency, factory: factory)
    }

    /// Sets every pool's gauges; pools no longer configured lose theirs.
    func record(_ statistics: [PoolStatistics]) {
        pools.update(statistics, factory: factory)
    }
}

/// `beacon_allocator_address_assigned{service,pool,ip}`, 1 for each address the controller has assigned, written at
/// each scrape from the allocator's table. Beside the speakers' `metallb_speaker_announced` it answers "which assigned
/// address does nobody announce" (the `BeaconAddressNotAnnounced` alert). Empty while this replica does not lead.
final class AssignedAddresses: ScrapedFamilies {
    static let name = "beacon_allocator_address_assigned"
    private let allocations = Mutex<[Allocation]>([])

    func update(_ allocations: [Allocation]) { self.allocations.withLock { $0 = allocations } }

    func write(into out: inout String) {
        let rows = allocations.withLock { $0 }.flatMap { a in a.ips.map { (service: a.service.description, pool: a.pool, ip: $0.description) } }
        guard !rows.isEmpty else { return }
        PrometheusText.header(Self.name, help: "addresses the controller has assigned to Services", kind: .gauge, into: &out)
        for r in rows.sorted(by: { ($0.service, $0.ip) < ($1.service, $1.ip) }) {
            PrometheusText.sample(Self.name, labels: [("service", r.service), ("pool", r.pool), ("ip", r.ip)], value: 1, into: &out)
        }
    }
}

/// Gauges per pool, created on first sight and destroyed when the pool goes away.
final class PoolGauges: Sendable {
    static let names = ["addresses_total", "ipv4_addresses_total", "ipv6_addresses_total",
                        "addresses_in_use_total", "ipv4_addresses_in_use_total", "ipv6_addresses_in_use_total",
                        "services_allocated_total"]
    private let gauges = Mutex<[String: [Gauge]]>([:])

    func update(_ statistics: [PoolStatistics], factory: any MetricsFactory) {
        gauges.withLock { gauges in
            var seen = Set<String>()
            for s in statistics {
                seen.insert(s.pool)
                let g = gauges[s.pool] ?? Self.names.map { Gauge(label: "metallb_allocator_\($0)", dimensions: [("pool", s.pool)], factory: factory) }
                gauges[s.pool] = g
                func d(_ c: AddressCount?) -> Double { c?.doubleValue ?? 0 }
                let values = [d(s.totalSize), d(s.size[.ipv4]), d(s.size[.ipv6]),
                              d(s.totalAssigned), d(s.assigned[.ipv4]), d(s.assigned[.ipv6]), Double(s.services)]
                for (gauge, v) in zip(g, values) { gauge.record(v) }
            }
            for (pool, g) in gauges where !seen.contains(pool) {
                g.forEach { $0.destroy() }
                gauges[pool] = nil
            }
        }
    }
}
