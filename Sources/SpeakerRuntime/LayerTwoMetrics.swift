import MetricsText
import NetworkPrimitives
import Synchronization

/// Layer 2 metrics with MetalLB's names and its `ip` label: `metallb_layer2_requests_received`,
/// `metallb_layer2_responses_sent`, `metallb_layer2_gratuitous_sent`; plus `beacon_layer2_conflicts_total{ip}`
/// (another station answered for an address we announce: a split brain or a misconfigured host).
///
/// Kept as a table of integers keyed by (metric, address) and written when `/metrics` is scraped: one swift-metrics
/// counter per address cost about 1 KB, and a speaker announcing 10,000 addresses has at least 10,000 of them.
public final class LayerTwoMetrics: ScrapedFamilies {
    private let counters = Mutex<[Key: UInt64]>([:])

    enum Kind: String, Hashable, CaseIterable {
        case requests = "metallb_layer2_requests_received", responses = "metallb_layer2_responses_sent",
             gratuitous = "metallb_layer2_gratuitous_sent", conflicts = "beacon_layer2_conflicts_total"

        var help: String {
            switch self {
            case .requests: "ARP requests and neighbor solicitations received for announced addresses"
            case .responses: "ARP replies and neighbor advertisements sent for announced addresses"
            case .gratuitous: "gratuitous ARP and unsolicited neighbor advertisements sent for announced addresses"
            case .conflicts: "frames from another station claiming an address this node announces"
            }
        }
    }

    /// The address first: its 17 bytes and the kind's one make 24, where the kind first made 32 (the address is
    /// 8-byte aligned), and a table of 10,000 slots 128 KB smaller.
    struct Key: Hashable { var ip: IPAddress; var kind: Kind }

    public init() {}

    func increment(_ kind: Kind, _ ip: IPAddress, by n: Int = 1) {
        counters.withLock { $0[Key(ip: ip, kind: kind), default: 0] &+= UInt64(max(n, 0)) }
    }

    /// The counter's value (nil before its first increment).
    func value(_ kind: Kind, _ ip: IPAddress) -> UInt64? { counters.withLock { $0[Key(ip: ip, kind: kind)] } }

    public func write(into out: inout String) {
        let all = counters.withLock { $0 }
        var byKind: [Kind: [(IPAddress, UInt64)]] = [:]
        for (key, value) in all { byKind[key.kind, default: []].append((key.ip, value)) }
        for kind in Kind.allCases {
            guard let samples = byKind[kind] else { continue }
            PrometheusText.header(kind.rawValue, help: kind.help, kind: .counter, into: &out)
            for (ip, value) in samples.sorted(by: { $0.0 < $1.0 }) {
                PrometheusText.sample(kind.rawValue, labels: [("ip", ip.description)], value: value, into: &out)
            }
        }
    }
}
