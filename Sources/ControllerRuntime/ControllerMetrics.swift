import AddressAllocator
import KubernetesClient
import NetworkPrimitives
import CoreMetrics
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
