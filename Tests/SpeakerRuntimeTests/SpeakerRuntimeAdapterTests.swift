import AnnouncementPolicy
import CoreMetrics
import Foundation
import KubernetesClient
import KubernetesEmulator
import KubernetesModel
import LoadBalancerConfig
import Logging
import Membership
import NIOCore
import Netlink
import NetworkPrimitives
import Synchronization
import TestSupport
import Testing
@testable import PacketSocket
@testable import SpeakerRuntime

/// The layer 2 side, recording what the runtime asks of it.
final class RecordingLayerTwo: LayerTwoReconciling {
    let desired = Mutex<[String]?>(nil)
    let updates = Mutex(0)

    func update(_ desired: Set<LayerTwoAnnouncer.Announcement>) async -> LayerTwoAnnouncer.UpdateReport {
        self.desired.withLock { $0 = desired.map { "\($0.ip) \($0.interface.name)" }.sorted() }
        updates.withLock { $0 += 1 }
        return LayerTwoAnnouncer.UpdateReport()
    }
    func reannounce(_ ips: Set<IPAddress>) async -> Int { 0 }
    func probe(_ ip: IPAddress) async {}
    func stop() async {}
}

/// The BGP side, recording the peers it is given.
final class RecordingBGP: BGPReconciling {
    let peers = Mutex<[String]>([])
    func reconcile(peers: [BGPPeer], routes: [String: [IPPrefix: RouteAttributes]], routerID: IPv4Address?, bfdProfiles: [BFDProfile]) -> [String] {
        self.peers.withLock { $0 = peers.map(\.name) }
        return []
    }
    func stopAll(gracefulRestart: Bool) {}
    func report(now: ContinuousClock.Instant) -> [DebugState.Peer] { [] }
    func setChangeHandler(_ handler: @escaping @Sendable () -> Void) {}
    func notEstablished() -> Set<String> { [] }
    func run() async {}
}

/// A fixed list of interfaces.
struct FixedInterfaces: InterfaceSource {
    let interfaces: [NetworkInterface]
    func watch(_ onChange: @escaping @Sendable ([NetworkInterface]) -> Void) async {
        onChange(interfaces)
        try? await Task.sleep(for: .seconds(3600))
    }
}

/// Membership as the test says: who is alive, whether the socket talks, and the members the runtime set.
final class ScriptedMembership: MembershipService {
    struct State {
        var alive: Set<String>
        var talking = true
        var members: [String] = []
        var stopped = false
    }
    let state: Mutex<State>
    let onChange: @Sendable ([FailureDetector.Change], Set<String>) -> Void

    init(alive: Set<String>, onChange: @escaping @Sendable ([FailureDetector.Change], Set<String>) -> Void) {
        state = Mutex(State(alive: alive))
        self.onChange = onChange
    }

    var alive: Set<String> { state.withLock { $0.alive } }
    var talking: Bool { state.withLock { $0.talking } }
    var lastError: String? { talking ? nil : "sendmsg: Operation not permitted (errno: 1)" }
    var rejectedDatagrams: Int { 0 }
    var socketFailures: Int { talking ? 0 : 1 }
    func setMembers(_ members: [String: SocketAddress]) { state.withLock { $0.members = members.keys.sorted() } }
    func run() async throws {
        while !state.withLock({ $0.stopped }) { try await Task.sleep(for: .milliseconds(20)) }
    }
    func stop() { state.withLock { $0.stopped = true } }

    /// The detector declares `name` dead.
    func lose(_ name: String) {
        let alive = state.withLock { s in s.alive.remove(name); return s.alive }
        onChange([.down(name, reason: "no heartbeat for 157 ms")], alive)
    }
    func setTalking(_ talking: Bool) { state.withLock { $0.talking = talking } }
}

/// The whole speaker runtime, without root: informers, configuration, the pass, status objects, events and
/// ConfigurationState against an in-process API server; fakes for the packet, BGP and netlink adapters.
@Suite("speaker runtime with fake adapters (no root)", .dedicatedThreads, .timeLimit(.minutes(2)))
struct SpeakerRuntimeAdapterTests {
    static let pool: JSONValue = ["apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": "pool"],
                                  "spec": ["addresses": ["192.0.2.0/24"]]]
    static let l2: JSONValue = ["apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": ["name": "l2"],
                                "spec": ["ipAddressPools": ["pool"]]]

    @Test("a Service's address reaches the layer 2 adapter; status, event and ConfigurationState reach the API; a rejected configuration changes nothing")
    func endToEnd() async throws {
        let (server, client) = try await Self.apiServer()
        let layerTwo = RecordingLayerTwo(), bgp = RecordingBGP()
        var options = SpeakerRuntime.Options(nodeName: "node-a")
        options.membership.enabled = false
        let runtime = SpeakerRuntime(client: client, options: options, logger: Logger(label: "test"), metricsFactory: NOOPMetricsHandler.instance,
                                     adapters: Adapters(layerTwo: layerTwo, bgp: bgp,
                                                        interfaces: FixedInterfaces(interfaces: [Fixture.interface("eth0", index: 2, addresses: ["192.0.2.11/24", "fe80::1/64"])])))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            try await Self.seed(client)
            group.addTask { try await runtime.run() }

            #expect(try await eventuallyAsync(20) { layerTwo.desired.withLock { $0 } == ["192.0.2.10 eth0"] })
            #expect(try await eventuallyAsync { try await client.list(.serviceL2Statuses, namespace: "metallb-system").items.count == 1 })
            #expect(try await eventuallyAsync {
                try await client.list(.events, namespace: "default").items.contains {
                    $0.reason == "nodeAssigned" && $0.note == "announcing from node \"node-a\" with protocol \"layer2\""
                }
            })
            #expect(try await eventuallyAsync { try await Self.verdict(client) == "Valid" })
            #expect(bgp.peers.withLock { $0 }.isEmpty)

            // A pool that does not parse: ConfigurationState says so, and the address stays announced.
            let updates = layerTwo.updates.withLock { $0 }
            _ = try await client.patch(.ipAddressPools, namespace: "metallb-system", name: "pool", .merge(["spec": ["addresses": ["192.0.2.0/33"]]]))
            #expect(try await eventuallyAsync { try await Self.verdict(client) == "Invalid" })
            #expect(layerTwo.desired.withLock { $0 } == ["192.0.2.10 eth0"])
            #expect(layerTwo.updates.withLock { $0 } >= updates)

            // The Service goes: nothing is announced and its status object goes too.
            try await client.delete(.services, namespace: "default", name: "web")
            #expect(try await eventuallyAsync(20) { layerTwo.desired.withLock { $0 } == [] })
            #expect(try await eventuallyAsync { try await client.list(.serviceL2Statuses, namespace: "metallb-system").items.isEmpty })

            runtime.shutdown()
        }
        await client.shutdown()
    }

    /// Two nodes; the Service's address ranks node-b first, so node-a announces it only once membership says node-b
    /// is gone. A membership socket that cannot talk fails readiness.
    @Test("membership through its adapter: the members are the Nodes, a lost member's address is taken over, a silent socket fails readiness")
    func membership() async throws {
        let ip = try #require((10...250).map { "192.0.2.\($0)" }.first { LabFixture.expectedOwner($0, among: ["node-a", "node-b"]) == "node-b" })
        let (server, client) = try await Self.apiServer()
        let layerTwo = RecordingLayerTwo()
        let made = Mutex<ScriptedMembership?>(nil)
        let factory: MembershipFactory = { onChange in
            let m = ScriptedMembership(alive: ["node-a", "node-b"], onChange: onChange)
            made.withLock { $0 = m }
            return m
        }
        let runtime = SpeakerRuntime(client: client, options: SpeakerRuntime.Options(nodeName: "node-a"), logger: Logger(label: "test"),
                                     metricsFactory: NOOPMetricsHandler.instance,
                                     adapters: Adapters(layerTwo: layerTwo, bgp: RecordingBGP(),
                                                        interfaces: FixedInterfaces(interfaces: [Fixture.interface("eth0", index: 2, addresses: ["192.0.2.11/24"])]),
                                                        membership: factory))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            try await Self.seed(client, ip: ip, nodes: ["node-a": "192.0.2.11", "node-b": "192.0.2.12"])
            group.addTask { try await runtime.run() }

            #expect(try await eventuallyAsync(20) { runtime.isReady && layerTwo.updates.withLock { $0 } > 0 })
            let membership = try #require(made.withLock { $0 })
            #expect(membership.state.withLock { $0.members } == ["node-a", "node-b"], "the members follow the Nodes")
            #expect(layerTwo.desired.withLock { $0 } == [], "node-b ranks first for \(ip) and is alive")
            #expect(runtime.notReadyReason == nil)

            membership.lose("node-b")
            #expect(try await eventuallyAsync(10) { layerTwo.desired.withLock { $0 } == ["\(ip) eth0"] }, "node-a takes \(ip) over")
            #expect(runtime.debugState().membership.recentChanges.first?.hasSuffix("node-b down: no heartbeat for 157 ms") == true)

            membership.setTalking(false)
            #expect(runtime.notReadyReason == "membership socket down: sendmsg: Operation not permitted (errno: 1)")
            membership.setTalking(true)
            #expect(runtime.notReadyReason == nil)

            runtime.shutdown()
            #expect(try await eventuallyAsync(10) { membership.state.withLock { $0.stopped } }, "shutdown leaves membership")
        }
        await client.shutdown()
    }

    /// An in-process API server over TLS on loopback, and a client of it without a rate limit.
    static func apiServer() async throws -> (EmulatorServer, KubernetesClient) {
        let certs = try SelfSignedCertificates(hosts: ["127.0.0.1"])
        let state = try EmulatorState(store: ObjectStore(now: { KubeTime.micro() }, makeUID: { UUID().uuidString.lowercased() }))
        let server = try await EmulatorServer(handler: APIHandler(state: state, serverAddress: "127.0.0.1"),
                                              options: .init(tls: try certs.serverConfiguration()))
        var config = ClientConfiguration(server: "https://127.0.0.1:\(server.port)", certificateAuthorityPEM: Array(certs.caPEM.utf8))
        config.qps = 0
        return (server, try KubernetesClient(configuration: config))
    }

    static func seed(_ client: KubernetesClient, ip: String = "192.0.2.10", nodes: [String: String] = ["node-a": "192.0.2.11"]) async throws {
        for ns in ["metallb-system", "default"] {
            _ = try? await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: ns)))
        }
        _ = try await client.create(.ipAddressPools, namespace: "metallb-system", pool)
        _ = try await client.create(.l2Advertisements, namespace: "metallb-system", l2)
        for (name, address) in nodes.sorted(by: { $0.key < $1.key }) {
            _ = try await client.create(.nodes, Fixture.node(name, internalIP: address))
            // As the real API server, the emulator drops the status of a create.
            _ = try await client.patch(.nodes, name: name, .merge(["status": ["addresses": [["type": "InternalIP", "address": .string(address)]]]]),
                                       subresource: "status")
        }
        var service = Fixture.service("web", ip: ip)
        let status = service.status
        service.status = nil
        _ = try await client.create(.services, namespace: "default", service)
        _ = try await client.patch(.services, namespace: "default", name: "web",
                                   .merge(["status": ["loadBalancer": ["ingress": [["ip": .string(status?.loadBalancer?.ingress?.first?.ip ?? "")]]]]]),
                                   subresource: "status")
        _ = try await client.create(.endpointSlices, namespace: "default", Fixture.endpoints("web", on: nodes.keys.sorted()))
    }

    static func verdict(_ client: KubernetesClient) async throws -> String? {
        let states = try await client.list(.configurationStates, namespace: "metallb-system").items
        return states.first { $0["metadata"]?["name"]?.stringValue == "speaker-node-a" }?["status"]?["result"]?.stringValue
    }
}

/// Polls an async condition every 50 ms until it holds or `seconds` pass.
func eventuallyAsync(_ seconds: Double = 20, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}
