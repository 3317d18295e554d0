import CoreMetrics
import KubernetesClient
import KubernetesModel
import MetricsText
import NetworkPrimitives
import Synchronization

/// The speaker's metrics, MetalLB's names where MetalLB has one:
/// `metallb_speaker_announced{service,protocol,node,ip}` (1 while announced), `metallb_k8s_client_updates_total`,
/// `metallb_k8s_client_update_errors_total`, `metallb_k8s_client_config_loaded_bool`,
/// `metallb_k8s_client_config_stale_bool`. Beacon's own: `beacon_failover_seconds` (a histogram: from the membership
/// loss of an owner to the first gratuitous frame this node sent for the addresses it took over) and
/// `beacon_membership_alive_members`, `beacon_membership_heartbeat_gap_seconds` (a histogram: time between two
/// heartbeats from the same member as processed here). The layer 2 and BGP adapters add theirs (`metallb_layer2_*`, `metallb_bgp_*`).
public struct SpeakerMetrics: Sendable {
    public static let failoverSeconds = "beacon_failover_seconds"
    public static let heartbeatGapSeconds = "beacon_membership_heartbeat_gap_seconds"

    let client: ClientMetrics
    var updates: Counter { client.updates }
    var updateErrors: Counter { client.updateErrors }
    var configLoaded: Gauge { client.configLoaded }
    var configStale: Gauge { client.configStale }
    let failover: Timer
    let aliveMembers: Gauge
    /// Time between two heartbeats from the same member, as this speaker processed them.
    let heartbeatGap: Timer
    private let announced = AnnouncedGauges()
    /// `beacon_layer2_advertisement_nodes{advertisement}`: the nodes that can announce for each L2Advertisement.
    let advertisementNodes = AdvertisementNodes()
    /// The families written at each scrape rather than kept as swift-metrics objects (per-address ones).
    public var scraped: [any ScrapedFamilies] { [announced, advertisementNodes] }

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        client = ClientMetrics(factory: factory)
        failover = Timer(label: Self.failoverSeconds, factory: factory)
        aliveMembers = Gauge(label: "beacon_membership_alive_members", factory: factory)
        heartbeatGap = Timer(label: Self.heartbeatGapSeconds, factory: factory)
    }

    /// Sets the announced gauges to exactly these: the layer 2 list is the one `/debug/state` shows (shared, not
    /// copied), the BGP one its own.
    func setAnnounced(layer2: [SpeakerRuntime.Layer2Entry], bgp: [SpeakerRuntime.Announced], node: String) {
        announced.update(layer2: layer2, bgp: bgp, node: node)
    }
}

/// `metallb_speaker_announced{service,protocol,node,ip}`, 1 for each announced address: the runtime's own lists,
/// written at each scrape (a swift-metrics gauge per address cost about 1 KB; the lists cost nothing extra for layer
/// 2, whose list `/debug/state` keeps anyway, and about 50 bytes per BGP address).
final class AnnouncedGauges: ScrapedFamilies {
    static let name = "metallb_speaker_announced"
    private struct Current {
        var layer2: [SpeakerRuntime.Layer2Entry] = []
        var bgp: [SpeakerRuntime.Announced] = []
        var node = ""
    }
    private let state = Mutex(Current())

    func update(layer2: [SpeakerRuntime.Layer2Entry], bgp: [SpeakerRuntime.Announced], node: String) {
        state.withLock { $0 = Current(layer2: layer2, bgp: bgp, node: node) }
    }

    func write(into out: inout String) {
        let current = state.withLock { $0 }
        guard !current.layer2.isEmpty || !current.bgp.isEmpty else { return }
        PrometheusText.header(Self.name, help: "addresses this node announces, by service and protocol (desired state)", kind: .gauge, into: &out)
        let rows = current.layer2.map { (service: $0.service.description, protocol: "layer2", ip: $0.ip.description) }
            + current.bgp.map { (service: $0.service.description, protocol: "bgp", ip: $0.ip.description) }
        for a in rows.sorted(by: { ($0.service, $0.protocol, $0.ip) < ($1.service, $1.protocol, $1.ip) }) {
            PrometheusText.sample(Self.name, labels: [("service", a.service), ("protocol", a.protocol), ("node", current.node), ("ip", a.ip)],
                                  value: 1, into: &out)
        }
    }
}

/// `beacon_layer2_advertisement_nodes{advertisement}`: for each L2Advertisement, how many nodes can announce for it
/// now in this speaker's view (live members it selects, neither NetworkUnavailable nor excluded by label). Every
/// speaker sees the same cluster; 0 means its Services' addresses have no announcer (the
/// `BeaconLayer2AdvertisementWithoutSpeaker` alert).
final class AdvertisementNodes: ScrapedFamilies {
    static let name = "beacon_layer2_advertisement_nodes"
    private let counts = Mutex<[String: Int]>([:])

    func update(_ nodes: [String: [String]]) { counts.withLock { $0 = nodes.mapValues(\.count) } }

    func write(into out: inout String) {
        let rows = counts.withLock { $0 }.sorted { $0.key < $1.key }
        guard !rows.isEmpty else { return }
        PrometheusText.header(Self.name, help: "nodes that can announce for each L2Advertisement now (live members it selects)", kind: .gauge, into: &out)
        for (name, n) in rows { PrometheusText.sample(Self.name, labels: [("advertisement", name)], value: UInt64(n), into: &out) }
    }
}
