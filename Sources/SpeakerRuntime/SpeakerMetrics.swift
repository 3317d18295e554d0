import CoreMetrics
import KubernetesClient
import Synchronization

/// The speaker's metrics, MetalLB's names where MetalLB has one:
/// `metallb_speaker_announced{service,protocol,node,ip}` (1 while announced), `metallb_k8s_client_updates_total`,
/// `metallb_k8s_client_update_errors_total`, `metallb_k8s_client_config_loaded_bool`,
/// `metallb_k8s_client_config_stale_bool`. Beacon's own: `beacon_failover_seconds` (a histogram: from the membership
/// loss of an owner to the first gratuitous frame this node sent for the addresses it took over) and
/// `beacon_membership_alive_members`, `beacon_process_heap_bytes{state=in_use|free}`. The layer 2 and BGP adapters add theirs (`metallb_layer2_*`, `metallb_bgp_*`).
public struct SpeakerMetrics: Sendable {
    public static let failoverSeconds = "beacon_failover_seconds"

    let factory: any MetricsFactory
    let client: ClientMetrics
    var updates: Counter { client.updates }
    var updateErrors: Counter { client.updateErrors }
    var configLoaded: Gauge { client.configLoaded }
    var configStale: Gauge { client.configStale }
    let failover: Timer
    let aliveMembers: Gauge
    /// malloc's view of the heap: what the speaker holds, and what malloc keeps free (both count in RSS).
    let heapInUse: Gauge
    let heapFree: Gauge
    private let announced = AnnouncedGauges()

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        client = ClientMetrics(factory: factory)
        failover = Timer(label: Self.failoverSeconds, factory: factory)
        aliveMembers = Gauge(label: "beacon_membership_alive_members", factory: factory)
        heapInUse = Gauge(label: "beacon_process_heap_bytes", dimensions: [("state", "in_use")], factory: factory)
        heapFree = Gauge(label: "beacon_process_heap_bytes", dimensions: [("state", "free")], factory: factory)
    }

    /// One announced (service, protocol, ip) on `node`.
    struct Announced: Hashable {
        var service: String
        var `protocol`: String
        var ip: String
    }

    /// Sets the announced gauges to exactly `now`: new ones to 1, withdrawn ones removed.
    func setAnnounced(_ now: Set<Announced>, node: String) {
        announced.update(now, node: node, factory: factory)
    }
}

final class AnnouncedGauges: Sendable {
    private let gauges = Mutex<[SpeakerMetrics.Announced: Gauge]>([:])

    func update(_ now: Set<SpeakerMetrics.Announced>, node: String, factory: any MetricsFactory) {
        gauges.withLock { g in
            for key in now where g[key] == nil {
                let gauge = Gauge(label: "metallb_speaker_announced",
                                  dimensions: [("service", key.service), ("protocol", key.protocol), ("node", node), ("ip", key.ip)],
                                  factory: factory)
                gauge.record(1)
                g[key] = gauge
            }
            for (key, gauge) in g where !now.contains(key) {
                gauge.record(0)
                gauge.destroy()
                g[key] = nil
            }
        }
    }
}
