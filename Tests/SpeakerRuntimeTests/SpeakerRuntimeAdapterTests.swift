import AnnouncementPolicy
import CoreMetrics
import Foundation
import KubernetesClient
import KubernetesEmulator
import KubernetesModel
import LoadBalancerConfig
import Logging
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
    func reconcile(peers: [BGPPeer], routes: [String: [IPPrefix: RouteAttributes]], routerID: IPv4Address?) -> [String] {
        self.peers.withLock { $0 = peers.map(\.name) }
        return []
    }
    func stopAll(gracefulRestart: Bool) {}
    func report(now: ContinuousClock.Instant) -> [DebugState.Peer] { [] }
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
        let certs = try SelfSignedCertificates(hosts: ["127.0.0.1"])
        let state = try EmulatorState(store: ObjectStore(now: { KubeTime.micro() }, makeUID: { UUID().uuidString.lowercased() }))
        let server = try await EmulatorServer(handler: APIHandler(state: state, serverAddress: "127.0.0.1"),
                                              options: .init(tls: try certs.serverConfiguration()))
        var config = ClientConfiguration(server: "https://127.0.0.1:\(server.port)", certificateAuthorityPEM: Array(certs.caPEM.utf8))
        config.qps = 0
        let client = try KubernetesClient(configuration: config)
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

    static func seed(_ client: KubernetesClient) async throws {
        for ns in ["metallb-system", "default"] {
            _ = try? await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: ns)))
        }
        _ = try await client.create(.ipAddressPools, namespace: "metallb-system", pool)
        _ = try await client.create(.l2Advertisements, namespace: "metallb-system", l2)
        _ = try await client.create(.nodes, Fixture.node("node-a", internalIP: "192.0.2.11"))
        var service = Fixture.service("web", ip: "192.0.2.10")
        let status = service.status
        service.status = nil
        _ = try await client.create(.services, namespace: "default", service)
        _ = try await client.patch(.services, namespace: "default", name: "web",
                                   .merge(["status": ["loadBalancer": ["ingress": [["ip": .string(status?.loadBalancer?.ingress?.first?.ip ?? "")]]]]]),
                                   subresource: "status")
        _ = try await client.create(.endpointSlices, namespace: "default", Fixture.endpoints("web", on: ["node-a"]))
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
