import CoreMetrics
import NetworkPrimitives
import Synchronization

/// Layer 2 metrics with MetalLB's names and its `ip` label: `metallb_layer2_requests_received`,
/// `metallb_layer2_responses_sent`, `metallb_layer2_gratuitous_sent`; plus `beacon_layer2_conflicts_total{ip}`
/// (another station answered for an address we announce: a split brain or a misconfigured host).
public final class LayerTwoMetrics: Sendable {
    let factory: any MetricsFactory
    private let counters = Mutex<[Key: Counter]>([:])

    enum Kind: String, Hashable { case requests = "metallb_layer2_requests_received", responses = "metallb_layer2_responses_sent",
                                  gratuitous = "metallb_layer2_gratuitous_sent", conflicts = "beacon_layer2_conflicts_total" }
    struct Key: Hashable { var kind: Kind; var ip: IPAddress }

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
    }

    func increment(_ kind: Kind, _ ip: IPAddress, by n: Int = 1) {
        let key = Key(kind: kind, ip: ip)
        let counter = counters.withLock { c in
            if let have = c[key] { return have }
            let made = Counter(label: kind.rawValue, dimensions: [("ip", ip.description)], factory: factory)
            c[key] = made
            return made
        }
        counter.increment(by: n)
    }
}
