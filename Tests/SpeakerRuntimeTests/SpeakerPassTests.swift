import KubernetesModel
import LoadBalancerConfig
import Netlink
import NetworkPrimitives
@testable import PacketSocket
import TestSupport
import Testing
@testable import SpeakerRuntime

/// The speaker's decisions without root or a network: `SpeakerPass` from cluster state, interfaces and live members
/// to the layer 2 set, routes per peer, status objects, events and failures.
@Suite("Speaker pass: decisions without I/O")
struct SpeakerPassTests {
    static let nodes = [Fixture.node("node-a", internalIP: "198.51.100.11"), Fixture.node("node-b", internalIP: "198.51.100.12"),
                        Fixture.node("node-c", internalIP: "198.51.100.13")]
    /// eth0 carries both families; eth1 has no IPv4 address; docker0 is excluded by default; eth2 is down.
    static let interfaces = [
        Fixture.interface("eth0", index: 2, addresses: ["198.51.100.11/24", "fe80::1/64"]),
        Fixture.interface("eth1", index: 3, addresses: ["fe80::2/64"]),
        Fixture.interface("docker0", index: 4, addresses: ["203.0.113.1/24", "fe80::3/64"]),
        Fixture.interface("eth2", index: 5, addresses: ["198.51.100.99/24", "fe80::4/64"], up: false),
    ]
    // SHA-256 of "node#ip" ranks the candidates (see the election tests): 192.0.2.100 → node-b first, then node-a.
    static let web = Fixture.service("web", ip: "192.0.2.100", uid: "uid-web")

    static func input(_ yaml: String = Fixture.layer2Pool, node: String = "node-b", services: [Service] = [web],
                      slices: [EndpointSlice] = [Fixture.endpoints("web", on: ["node-a"])], live: Set<String>? = nil,
                      interfaces: [NetworkInterface] = interfaces) throws -> SpeakerPass.Input {
        SpeakerPass.Input(node: node, configuration: try Fixture.configuration(yaml), services: services, endpointSlices: slices,
                          nodes: nodes, interfaces: interfaces, liveMembers: live)
    }

    /// (address, interface) pairs of the layer 2 set, sorted.
    static func announced(_ n: SpeakerPass.Network) -> [String] {
        n.layer2.map { "\($0.ip) \($0.interface.name)" }.sorted()
    }

    struct Layer2Case: Sendable, CustomTestStringConvertible {
        var name: String
        var node = "node-b"
        var ip = "192.0.2.100"
        var local = false
        var endpointsOn = ["node-a"]
        var live: Set<String>?
        var advertisement = "spec: {ipAddressPools: [pool]}"
        /// Expected layer 2 set, and the Service's failure (nil: none).
        var announced: [String]
        var failure: String? = nil
        var testDescription: String { name }
    }

    static let layer2Cases: [Layer2Case] = [
        Layer2Case(name: "the owner announces IPv4 on the eligible interface with an IPv4 address", announced: ["192.0.2.100 eth0"]),
        Layer2Case(name: "a node that is not the owner announces nothing", node: "node-a", announced: []),
        Layer2Case(name: "IPv6 goes out on every eligible interface with a link-local address", node: "node-c", ip: "2001:db8::100",
                   announced: ["2001:db8::100 eth0", "2001:db8::100 eth1"]),
        Layer2Case(name: "the owner lost: the next in rank takes over", node: "node-a", live: ["node-a", "node-c"],
                   announced: ["192.0.2.100 eth0"]),
        Layer2Case(name: "the owner not in the live set does not announce", live: ["node-a", "node-c"], announced: []),
        Layer2Case(name: "externalTrafficPolicy Local: only a node with a ready endpoint", local: true, endpointsOn: ["node-c"],
                   announced: []),
        Layer2Case(name: "externalTrafficPolicy Local: the node with the endpoint announces", node: "node-c", local: true,
                   endpointsOn: ["node-c"], announced: ["192.0.2.100 eth0"]),
        Layer2Case(name: "an advertisement's node selector leaves this node out",
                   advertisement: "spec: {ipAddressPools: [pool], nodeSelectors: [{matchLabels: {rack: r1}}]}", announced: []),
        Layer2Case(name: "interfaces listed: only those, even an excluded one",
                   advertisement: "spec: {ipAddressPools: [pool], interfaces: [docker0]}", announced: ["192.0.2.100 docker0"]),
        Layer2Case(name: "an IPv4 address on an interface list without IPv4 fails with the reason",
                   advertisement: "spec: {ipAddressPools: [pool], interfaces: [eth1]}", announced: [],
                   failure: "192.0.2.100: none of the interfaces eth1 is usable here (see `speaker status`); "),
        Layer2Case(name: "a listed interface that does not exist fails with the reason",
                   advertisement: "spec: {ipAddressPools: [pool], interfaces: [bond0, eth2]}", announced: [],
                   failure: "192.0.2.100: none of the interfaces bond0, eth2 is usable here (see `speaker status`); "),
    ]

    @Test("layer 2: who announces, on which interfaces, and why not", arguments: layer2Cases)
    func layer2(_ c: Layer2Case) throws {
        let yaml = Fixture.layer2Pool.replacingOccurrences(of: "spec: {ipAddressPools: [pool]}", with: c.advertisement)
        let web = Fixture.service("web", ip: c.ip, local: c.local, uid: "uid-web")
        let input = try Self.input(yaml, node: c.node, services: [web], slices: [Fixture.endpoints("web", on: c.endpointsOn)], live: c.live)
        let network = SpeakerPass.network(input)
        #expect(Self.announced(network) == c.announced)
        let report = SpeakerPass.report(input, network, sendFailures: [:], previous: .init())
        let key = ServiceKey(namespace: "default", name: "web")
        #expect(report.failures[key] == c.failure)
        #expect(report.status.layer2Entries.map(\.ip.description) == (c.announced.isEmpty ? [] : [c.ip]))
        let reasons = report.events.map(\.reason)
        #expect(reasons == (c.announced.isEmpty ? [] : ["nodeAssigned"]) + (c.failure == nil ? [] : ["announceFailed"]))
    }

    @Test("events come on change only: assigned once, failure once, again when the reason changes")
    func eventsOnChange() throws {
        let input = try Self.input()
        let network = SpeakerPass.network(input)
        let first = SpeakerPass.report(input, network, sendFailures: [:], previous: .init())
        #expect(first.events.map(\.reason) == ["nodeAssigned"])
        #expect(first.events.first?.message == "announcing from node \"node-b\" with protocol \"layer2\"")
        #expect(first.events.first?.uid == "uid-web")
        let second = SpeakerPass.report(input, network, sendFailures: [:], previous: first.memory)
        #expect(second.events.isEmpty)

        // The socket of eth0 would not open: announceFailed with the reason, once.
        let a = try #require(network.layer2.first)
        let failed = SpeakerPass.report(input, network, sendFailures: [a: "socket: Operation not permitted"], previous: second.memory)
        #expect(failed.events.map(\.reason) == ["announceFailed"])
        #expect(failed.events.first?.warning == true)
        #expect(failed.newFailures.values.first == "192.0.2.100 on eth0: socket: Operation not permitted; ")
        let same = SpeakerPass.report(input, network, sendFailures: [a: "socket: Operation not permitted"], previous: failed.memory)
        #expect(same.events.isEmpty && same.newFailures.isEmpty && same.failures.count == 1)

        // Released, then owned again: a new nodeAssigned.
        let other = try Self.input(live: ["node-a"])
        let released = SpeakerPass.report(other, SpeakerPass.network(other), sendFailures: [:], previous: same.memory)
        #expect(released.events.isEmpty && released.status.layer2Entries.isEmpty)
        let back = SpeakerPass.report(input, network, sendFailures: [:], previous: released.memory)
        #expect(back.events.map(\.reason) == ["nodeAssigned"])
    }

    static let bgp = """
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: routed, namespace: metallb-system}
        spec: {addresses: [203.0.113.0/24]}
        ---
        apiVersion: metallb.io/v1beta2
        kind: BGPPeer
        metadata: {name: tor, namespace: metallb-system}
        spec: {myASN: 64513, peerASN: 64512, peerAddress: 198.51.100.1}
        ---
        apiVersion: metallb.io/v1beta2
        kind: BGPPeer
        metadata: {name: rack1, namespace: metallb-system}
        spec: {myASN: 64513, peerASN: 64514, peerAddress: 198.51.100.2, nodeSelectors: [{matchLabels: {rack: r1}}]}
        ---
        apiVersion: metallb.io/v1beta1
        kind: BGPAdvertisement
        metadata: {name: routed, namespace: metallb-system}
        spec: {ipAddressPools: [routed], localPref: 150, communities: ["64512:100"]}

        """

    @Test("BGP: every eligible node routes to the peers its labels select, with the advertisement's attributes")
    func bgpRoutes() throws {
        let svc = Fixture.service("web", ip: "203.0.113.10", uid: "uid-web")
        let input = try Self.input(Self.bgp, node: "node-a", services: [svc], live: ["node-a", "node-b", "node-c"])
        let network = SpeakerPass.network(input)
        #expect(network.layer2.isEmpty)
        #expect(network.peers.map(\.name) == ["tor"])
        #expect(network.routerID == (try IPv4Address("198.51.100.11")))
        let prefix = try IPPrefix("203.0.113.10/32")
        let attributes = try #require(network.routes["tor"]?[prefix])
        #expect(attributes.localPreference == 150)
        #expect(attributes.communities.map(\.description) == ["64512:100"])
        let report = SpeakerPass.report(input, network, sendFailures: [:], previous: .init())
        #expect(report.status.bgp[ServiceKey(namespace: "default", name: "web")] == ["tor"])
        #expect(report.bgpAnnounced.map(\.ip.description) == ["203.0.113.10"])
        #expect(report.events.map(\.message) == ["announcing from node \"node-a\" with protocol \"bgp\""])
    }

    @Test("BGP: a Local Service is routed only from nodes with an endpoint; a node with no peer reports no BGP status")
    func bgpLocalAndNoPeer() throws {
        let svc = Fixture.service("web", ip: "203.0.113.10", local: true)
        let without = try Self.input(Self.bgp, node: "node-b", services: [svc], slices: [Fixture.endpoints("web", on: ["node-a"])])
        let routes = SpeakerPass.network(without).routes
        #expect(routes.values.allSatisfy { $0.isEmpty })
        let with = try Self.input(Self.bgp, node: "node-a", services: [svc], slices: [Fixture.endpoints("web", on: ["node-a"])])
        #expect(SpeakerPass.network(with).routes["tor"]?.keys.map(\.description) == ["203.0.113.10/32"])

        // Only the rack1 peer would take this route, and this node is not in rack 1: routes, but no status.
        let rackOnly = Self.bgp.replacingOccurrences(of: "localPref: 150, communities: [\"64512:100\"]", with: "peers: [rack1]")
        let input = try Self.input(rackOnly, node: "node-a", services: [Fixture.service("web", ip: "203.0.113.10")])
        let network = SpeakerPass.network(input)
        let report = SpeakerPass.report(input, network, sendFailures: [:], previous: .init())
        #expect(report.status.bgp.isEmpty && report.bgpAnnounced.isEmpty && report.events.isEmpty)
    }

    /// MetalLB's families per session: an IPv6 address goes to an IPv6 peer, and to an IPv4 peer only with
    /// dualStackAddressFamily; an IPv4 address likewise.
    @Test("BGP: each family's routes go to the peers whose sessions carry that family", arguments: [false, true])
    func bgpFamilies(_ dualStack: Bool) throws {
        let config = Self.bgp
            .replacingOccurrences(of: "spec: {addresses: [203.0.113.0/24]}", with: "spec: {addresses: [203.0.113.0/24, \"2001:db8:7::/64\"]}")
            .replacingOccurrences(of: "peerAddress: 198.51.100.1}", with: "peerAddress: 198.51.100.1, dualStackAddressFamily: \(dualStack)}")
            + """
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: tor6, namespace: metallb-system}
            spec: {myASN: 64513, peerASN: 64512, peerAddress: "2001:db8::1"}

            """
        let services = [Fixture.service("v4", ip: "203.0.113.10"), Fixture.service("v6", ip: "2001:db8:7::10")]
        let slices = [Fixture.endpoints("v4", on: ["node-a"]), Fixture.endpoints("v6", on: ["node-a"])]
        let network = SpeakerPass.network(try Self.input(config, node: "node-a", services: services, slices: slices))
        #expect(network.routes["tor"]?.keys.map(\.description).sorted() == (dualStack ? ["2001:db8:7::10/128", "203.0.113.10/32"] : ["203.0.113.10/32"]))
        #expect(network.routes["tor6"]?.keys.map(\.description) == ["2001:db8:7::10/128"])
    }

    /// The nodes each L2Advertisement can announce from: live members it selects, without NetworkUnavailable or the
    /// exclude label. A dead member, a condition or a label takes a node away; a selector that matches no live node
    /// leaves none.
    @Test("layer 2: the nodes that can announce for each L2Advertisement", arguments: [
        (["node-a", "node-b", "node-c"], ["node-a", "node-b"]),
        (nil, ["node-a", "node-b"]),
        (["node-a"], ["node-a"]),
        ([], []),
    ] as [([String]?, [String])])
    func layer2Nodes(_ liveList: [String]?, _ everywhere: [String]) throws {
        let live = liveList.map(Set.init)
        let expected = ["everywhere": everywhere, "rack9": []]
        let config = Fixture.layer2Pool.replacingOccurrences(of: "kind: L2Advertisement\nmetadata: {name: l2", with: "kind: L2Advertisement\nmetadata: {name: everywhere")
            + """
            ---
            apiVersion: metallb.io/v1beta1
            kind: L2Advertisement
            metadata: {name: rack9, namespace: metallb-system}
            spec: {ipAddressPools: [pool], nodeSelectors: [{matchLabels: {rack: r9}}]}

            """
        var input = try Self.input(config, live: live)
        input.nodes = [Fixture.node("node-a"), Fixture.node("node-b"), Fixture.node("node-c", unavailable: true),
                       Fixture.node("node-d", labels: ["node.kubernetes.io/exclude-from-external-load-balancers": "", "rack": "r9"])]
        if let live { input.liveMembers = live.union(["node-d"]) }
        #expect(SpeakerPass.layer2Nodes(input) == expected)
    }

    /// A Service's BGP status names only peers whose sessions are up, and `nodeAssigned` for BGP waits for one.
    @Test("BGP: status and nodeAssigned only with an established session")
    func bgpOnlyWhenCarried() throws {
        var input = try Self.input(Self.bgp, node: "node-a", services: [Fixture.service("web", ip: "203.0.113.10")])
        input.establishedPeers = []
        let network = SpeakerPass.network(input)
        let down = SpeakerPass.report(input, network, sendFailures: [:], previous: .init())
        #expect(down.status.bgp.isEmpty && down.events.isEmpty && down.bgpAnnounced.isEmpty)
        #expect(network.routes["tor"]?.isEmpty == false, "the route is still offered to the session")
        input.establishedPeers = ["tor"]
        let up = SpeakerPass.report(input, network, sendFailures: [:], previous: down.memory)
        #expect(up.status.bgp[ServiceKey(namespace: "default", name: "web")] == ["tor"])
        #expect(up.events.map(\.reason) == ["nodeAssigned"])
    }

    static func peer(_ name: String, _ state: String, error: String? = nil, bfd: String? = nil) throws -> DebugState.Peer {
        DebugState.Peer(name: name, address: "192.0.2.1:179", localASN: 64513, peerASN: 64512, state: state, uptimeSeconds: nil,
                        lastError: error, holdTimeSeconds: nil, advertised: 0, pending: 0, routes: [], bfd: bfd, withheld: nil, generation: 1)
    }

    /// Session events on change only: down after up at once, not established after 20 s once, established again
    /// after a warning; the BGPSessionState of each.
    @Test("BGP sessions: state objects and events on change")
    func sessionEvents() throws {
        let t0 = ContinuousClock.now
        func run(_ peers: [DebugState.Peer], _ memory: [String: SpeakerPass.SessionMemory], at s: Int)
            -> (states: [StatusReporter.SessionState], events: [String], memory: [String: SpeakerPass.SessionMemory]) {
            let r = SpeakerPass.sessions(peers, previous: memory, now: t0 + .seconds(s), node: "node-a", namespace: "metallb-system")
            return (r.states, r.events.map { "\($0.reason) \($0.kind)/\($0.name) \($0.warning ? "Warning" : "Normal"): \($0.message)" }, r.memory)
        }
        let md5 = "cannot connect to 192.0.2.1:179: connect timeout (with a TCP MD5 password set, a wrong or missing key ...)"
        var r = run([try Self.peer("tor", "Connect", error: md5)], [:], at: 0)
        #expect(r.events.isEmpty)
        #expect(r.states == [.init(peer: "tor", address: "192.0.2.1", bgp: "Connect", bfd: "N/A", lastError: md5)])
        r = run([try Self.peer("tor", "Connect", error: md5)], r.memory, at: 19)
        #expect(r.events.isEmpty)
        r = run([try Self.peer("tor", "Connect", error: md5)], r.memory, at: 20)
        #expect(r.events == ["BGPSessionNotEstablished BGPPeer/tor Warning: BGP session from node \"node-a\" to 192.0.2.1:179 has not been established for 20 s (Connect): \(md5)"])
        r = run([try Self.peer("tor", "Connect", error: md5)], r.memory, at: 40)
        #expect(r.events.isEmpty, "once per episode")
        r = run([try Self.peer("tor", "Established", bfd: "Up")], r.memory, at: 41)
        #expect(r.events == ["BGPSessionEstablished BGPPeer/tor Normal: BGP session from node \"node-a\" to 192.0.2.1:179 is established"])
        #expect(r.states.first?.bfd == "Up" && r.states.first?.lastError == nil)
        r = run([try Self.peer("tor", "Idle", error: "BFD session down: control detection time expired", bfd: "Down: control detection time expired")], r.memory, at: 50)
        #expect(r.events == ["BGPSessionDown BGPPeer/tor Warning: BGP session from node \"node-a\" to 192.0.2.1:179 went down: BFD session down: control detection time expired"])
        #expect(r.states.first?.bfd == "Down")
        r = run([], r.memory, at: 60)
        #expect(r.states.isEmpty && r.memory.isEmpty, "a peer that goes away is forgotten")
    }

    @Test("an address outside every pool is a problem of the plan, announced by no one")
    func outsidePools() throws {
        let input = try Self.input(services: [Fixture.service("web", ip: "198.51.100.200")])
        let network = SpeakerPass.network(input)
        #expect(network.layer2.isEmpty)
        #expect(network.plan.services.values.first?.problem == "no configured pool contains 198.51.100.200")
    }

    @Test("the addresses on one interface share one endpoint object")
    func sharedEndpoint() throws {
        let services = (1...50).map { Fixture.service("s\($0)", ip: "192.0.2.\($0)") }
        let input = try Self.input(services: services, slices: (1...50).map { Fixture.endpoints("s\($0)", on: ["node-a"]) })
        let network = SpeakerPass.network(input)
        let endpoints = Set(network.layer2.map { ObjectIdentifier($0.sharedEndpoint) })
        #expect(!network.layer2.isEmpty)
        #expect(endpoints.count == 1)
    }
}
