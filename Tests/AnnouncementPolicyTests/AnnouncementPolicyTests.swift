import KubernetesModel
import LoadBalancerConfig
import NetworkPrimitives
import TestSupport
import Testing
@testable import AnnouncementPolicy

private func config(_ yaml: String) throws -> Configuration { try Fixture.configuration(yaml) }

private let base = Fixture.layer2Pool

private func node(_ name: String, labels: [String: String] = [:], unavailable: Bool = false) -> Node {
    Fixture.node(name, labels: labels, unavailable: unavailable)
}

private func service(_ name: String, ip: String, local: Bool = false, labels: [String: String]? = nil) -> Service {
    Fixture.service(name, ip: ip, local: local, labels: labels)
}

private func endpoints(_ service: String, on nodes: [String], ready: Bool = true) -> EndpointSlice {
    Fixture.endpoints(service, on: nodes, ready: ready)
}

private let three = [node("node-a"), node("node-b"), node("node-c")]

@Suite("Layer 2 owner election (MetalLB's rule)")
struct Layer2ElectionTests {
    /// SHA-256 of "node#ip" ranks the candidates; the expected orders were computed independently with Python's
    /// hashlib: 192.0.2.100 → node-b, node-a, node-c; 2001:db8::100 → node-c, node-b, node-a.
    @Test("hash ranking picks the same owner on every node", arguments: [("192.0.2.100", "node-b"), ("2001:db8::100", "node-c")])
    func ranking(_ ip: String, _ owner: String) throws {
        let snap = ClusterSnapshot(configuration: try config(base), services: [service("web", ip: ip)],
                                   endpointSlices: [endpoints("web", on: ["node-a"])], nodes: three)
        for me in ["node-a", "node-b", "node-c"] {
            let plan = AnnouncementPolicy.plan(snap, node: me)
            let l2 = try #require(plan.services[ServiceRef(namespace: "default", name: "web")]?.layer2.first)
            #expect(l2.owner == owner)
            #expect(l2.decision == (me == owner ? .announce : .notOwner(winner: owner)))
            #expect((plan.desired.layer2[try IPAddress(ip)] != nil) == (me == owner))
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var nodes: [Node]
        var members: Set<String>?
        var endpointNodes: [String]
        var local = false
        var extraYAML = ""
        var owner: String?
        var decisionForB: Layer2Decision
        var testDescription: String { name }
    }

    /// Each row changes one input; node-b would win the plain hash ranking for 192.0.2.100.
    static let cases: [Case] = [
        Case(name: "no endpoints: nobody announces", nodes: three, endpointNodes: [], owner: nil, decisionForB: .noServingEndpoints),
        Case(name: "owner's speaker is dead: the next one takes over", nodes: three, members: ["node-a", "node-c"], endpointNodes: ["node-c"],
             owner: "node-a", decisionForB: .thisNodeExcluded(.notAMember, winner: "node-a")),
        Case(name: "NetworkUnavailable never owns", nodes: [node("node-a"), node("node-b", unavailable: true), node("node-c")],
             endpointNodes: ["node-c"], owner: "node-a", decisionForB: .thisNodeExcluded(.networkUnavailable, winner: "node-a")),
        Case(name: "exclude-labelled never owns",
             nodes: [node("node-a"), node("node-b", labels: [AnnouncementPolicy.excludeLabel: ""]), node("node-c")],
             endpointNodes: ["node-c"], owner: "node-a", decisionForB: .thisNodeExcluded(.excludedByLabel(AnnouncementPolicy.excludeLabel), winner: "node-a")),
        Case(name: "ETP Local: only nodes with a serving endpoint", nodes: three, endpointNodes: ["node-c"], local: true,
             owner: "node-c", decisionForB: .thisNodeExcluded(.noLocalEndpoint, winner: "node-c")),
        Case(name: "ETP Cluster: any endpoint anywhere", nodes: three, endpointNodes: ["node-c"], owner: "node-b", decisionForB: .announce),
        Case(name: "node selector leaves node-b out", nodes: [node("node-a", labels: ["l2": "yes"]), node("node-b"), node("node-c", labels: ["l2": "yes"])],
             endpointNodes: ["node-a"], extraYAML: "nodeSelectors: [{matchLabels: {l2: \"yes\"}}]",
             owner: "node-a", decisionForB: .thisNodeExcluded(.notSelectedByAdvertisement, winner: "node-a")),
        Case(name: "preferredNodeSelectors weight beats the hash", nodes: [node("node-a"), node("node-b"), node("node-c", labels: ["zone": "z1"])],
             endpointNodes: ["node-a"], extraYAML: "preferredNodeSelectors: [{weight: 10, preference: {matchLabels: {zone: z1}}}]",
             owner: "node-c", decisionForB: .notOwner(winner: "node-c")),
    ]

    @Test("candidates and decisions", arguments: cases)
    func decisions(_ c: Case) throws {
        var yaml = base
        if !c.extraYAML.isEmpty { yaml = yaml.replacingOccurrences(of: "spec: {ipAddressPools: [pool]}", with: "spec: {ipAddressPools: [pool], \(c.extraYAML)}") }
        var snap = ClusterSnapshot(configuration: try config(yaml), services: [service("web", ip: "192.0.2.100", local: c.local)],
                                   endpointSlices: c.endpointNodes.isEmpty ? [] : [endpoints("web", on: c.endpointNodes)], nodes: c.nodes)
        snap.liveMembers = c.members
        let plan = AnnouncementPolicy.plan(snap, node: "node-b")
        let l2 = try #require(plan.services[ServiceRef(namespace: "default", name: "web")]?.layer2.first)
        #expect(l2.owner == c.owner, "\(l2.candidates)")
        #expect(l2.decision == c.decisionForB)
    }

    /// Removing a node that is not the owner never moves the address (the ranking of the others is unchanged).
    @Test("removing a non-owner never moves the IP")
    func stability() throws {
        for ip in (1...50).map({ "192.0.2.\($0)" }) {
            let svc = service("web", ip: ip)
            let all = ClusterSnapshot(configuration: try config(base), services: [svc], endpointSlices: [endpoints("web", on: ["node-a"])], nodes: three)
            let owner = try #require(AnnouncementPolicy.plan(all, node: "node-a").services.first?.value.layer2.first?.owner)
            for gone in ["node-a", "node-b", "node-c"] where gone != owner {
                var less = all
                less.liveMembers = Set(["node-a", "node-b", "node-c"]).subtracting([gone])
                #expect(AnnouncementPolicy.plan(less, node: "node-a").services.first?.value.layer2.first?.owner == owner)
            }
        }
    }

    /// The owner answers on the advertisements' interfaces (union; empty = every eligible interface).
    @Test("interfaces")
    func interfaces() throws {
        let yaml = base.replacingOccurrences(of: "spec: {ipAddressPools: [pool]}", with: "spec: {ipAddressPools: [pool], interfaces: [eth1, eth0]}")
        let snap = ClusterSnapshot(configuration: try config(yaml), services: [service("web", ip: "192.0.2.100")],
                                   endpointSlices: [endpoints("web", on: ["node-a"])], nodes: three)
        let plan = AnnouncementPolicy.plan(snap, node: "node-b")
        #expect(plan.desired.layer2[.v4(IPv4Address(192, 0, 2, 100))] == ["eth0", "eth1"])
    }

    /// The diff between two desired states names what to acquire and release.
    @Test("desired state changes")
    func changes() throws {
        let snap = ClusterSnapshot(configuration: try config(base), services: [service("web", ip: "192.0.2.100")],
                                   endpointSlices: [endpoints("web", on: ["node-a"])], nodes: three)
        let before = AnnouncementPolicy.plan(snap, node: "node-b").desired
        var dead = snap
        dead.liveMembers = ["node-a", "node-c"]
        let afterB = AnnouncementPolicy.plan(dead, node: "node-b").desired
        let afterA = AnnouncementPolicy.plan(dead, node: "node-a").desired
        #expect(afterB.changes(from: before).layer2Released == [.v4(IPv4Address(192, 0, 2, 100))])
        #expect(afterA.changes(from: DesiredState()).layer2Acquired == [.v4(IPv4Address(192, 0, 2, 100))])
        #expect(before.changes(from: before).isEmpty)
    }
}

@Suite("BGP announcers (MetalLB's rule)")
struct BGPAnnouncerTests {
    static let yaml = """
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: pool, namespace: metallb-system}
        spec: {addresses: [198.51.100.0/24]}
        ---
        apiVersion: metallb.io/v1beta2
        kind: BGPPeer
        metadata: {name: r1, namespace: metallb-system}
        spec: {myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.1}
        ---
        apiVersion: metallb.io/v1beta2
        kind: BGPPeer
        metadata: {name: r2, namespace: metallb-system}
        spec: {myASN: 64513, peerASN: 64512, peerAddress: 192.0.2.2, nodeSelectors: [{matchLabels: {rack: "2"}}]}
        ---
        apiVersion: metallb.io/v1beta1
        kind: BGPAdvertisement
        metadata: {name: agg, namespace: metallb-system}
        spec: {ipAddressPools: [pool], aggregationLength: 24, communities: ["65000:7"], peers: [r1]}
        ---
        apiVersion: metallb.io/v1beta1
        kind: BGPAdvertisement
        metadata: {name: host, namespace: metallb-system}
        spec: {ipAddressPools: [pool], communities: ["large:64513:1:2"]}

        """

    /// Each advertisement yields its own prefix (aggregation), with its communities, to its peers; r2 is only on rack 2.
    @Test("aggregation, communities and peers")
    func routes() throws {
        let nodes = [node("n1", labels: ["rack": "1"]), node("n2", labels: ["rack": "2"])]
        let snap = ClusterSnapshot(configuration: try config(Self.yaml), services: [service("web", ip: "198.51.100.7")],
                                   endpointSlices: [endpoints("web", on: ["n1"])], nodes: nodes)
        let n2 = AnnouncementPolicy.plan(snap, node: "n2").desired.bgp
        #expect(n2["r1"]?[try IPPrefix("198.51.100.0/24")]?.communities == [BGPCommunity(65000, 7)])
        #expect(n2["r1"]?[try IPPrefix("198.51.100.7/32")]?.largeCommunities == [LargeCommunity(64513, 1, 2)])
        #expect(n2["r2"]?.keys.sorted() == [try IPPrefix("198.51.100.7/32")], "agg is limited to r1")
        let n1 = AnnouncementPolicy.plan(snap, node: "n1").desired.bgp
        #expect(n1["r2"] == nil, "n1 has no session to r2")
    }

    @Test("Local without a local endpoint, exclusions, no endpoints")
    func eligibility() throws {
        let nodes = [node("n1"), node("n2", labels: [AnnouncementPolicy.excludeLabel: ""]), node("n3", unavailable: true)]
        let local = ClusterSnapshot(configuration: try config(Self.yaml), services: [service("web", ip: "198.51.100.7", local: true)],
                                    endpointSlices: [endpoints("web", on: ["n3"])], nodes: nodes + [node("n4")])
        let ref = ServiceRef(namespace: "default", name: "web")
        #expect(AnnouncementPolicy.plan(local, node: "n1").services[ref]?.bgp == .noLocalEndpoint)
        #expect(AnnouncementPolicy.plan(local, node: "n2").services[ref]?.bgp == .nodeExcluded(label: AnnouncementPolicy.excludeLabel))
        #expect(AnnouncementPolicy.plan(local, node: "n3").services[ref]?.bgp == .networkUnavailable)
        let none = ClusterSnapshot(configuration: try config(Self.yaml), services: [service("web", ip: "198.51.100.7")],
                                   endpointSlices: [endpoints("web", on: ["n1"], ready: false)], nodes: nodes)
        #expect(AnnouncementPolicy.plan(none, node: "n1").services[ref]?.bgp == .noServingEndpoints)
    }

    /// MetalLB's documented pattern: a /32 advertisement with localPref 100 and a /24 aggregate with localPref 250
    /// for the same pool produce different prefixes, so both are valid and both are announced, each with its own
    /// LOCAL_PREF (iBGP). Valid means it announces.
    @Test("different prefixes carry their own localPref and are all announced")
    func localPrefPerPrefix() throws {
        let yaml = Self.yaml
            .replacingOccurrences(of: "myASN: 64513, peerASN: 64512", with: "myASN: 64513, peerASN: 64513")
            .replacingOccurrences(of: "aggregationLength: 24, communities: [\"65000:7\"], peers: [r1]}",
                                  with: "aggregationLength: 24, localPref: 250}")
            .replacingOccurrences(of: "spec: {ipAddressPools: [pool], communities: [\"large:64513:1:2\"]}",
                                  with: "spec: {ipAddressPools: [pool], localPref: 100}")
        let snap = ClusterSnapshot(configuration: try config(yaml), services: [service("web", ip: "198.51.100.7")],
                                   endpointSlices: [endpoints("web", on: ["n1"])], nodes: [node("n1", labels: ["rack": "1"])])
        let plan = AnnouncementPolicy.plan(snap, node: "n1")
        guard case .announce? = plan.services[ServiceRef(namespace: "default", name: "web")]?.bgp else {
            Issue.record("not announced: \(String(describing: plan.services.first?.value.bgp))"); return
        }
        #expect(plan.desired.bgp["r1"]?[try IPPrefix("198.51.100.7/32")]?.localPreference == 100)
        #expect(plan.desired.bgp["r1"]?[try IPPrefix("198.51.100.0/24")]?.localPreference == 250)
    }

    /// Two advertisements that could both select one node and disagree on LOCAL_PREF are refused by validation
    /// (overlapping node selectors count), so the planner's own `.localPrefConflict` guard is a second line only.
    @Test("advertisements that may disagree on localPref are refused before planning")
    func localPrefConflict() throws {
        let yaml = Self.yaml
            .replacingOccurrences(of: "aggregationLength: 24, communities: [\"65000:7\"], peers: [r1]}",
                                  with: "localPref: 100, nodeSelectors: [{matchLabels: {rack: \"1\"}}]}")
            .replacingOccurrences(of: "spec: {ipAddressPools: [pool], communities: [\"large:64513:1:2\"]}",
                                  with: "spec: {ipAddressPools: [pool], localPref: 200, nodeSelectors: [{matchLabels: {zone: z}}]}")
        #expect(throws: ConfigurationError.self) { try config(yaml) }
    }
}
