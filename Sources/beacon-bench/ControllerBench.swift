import ArgumentParser
import ControllerRuntime
import Foundation
import KubernetesClient
import KubernetesEmulator
import KubernetesModel
import Logging

/// The controller at scale: N Services pending → all allocated (cold start), then a controller restart with all N
/// already allocated → first pass done (ready). The emulator runs in-process over HTTPS; the controller is the
/// real `ControllerRuntime` with its own client.
struct ControllerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Cold start: 10k pending Services to allocated; restart with 10k allocated to ready.")

    @Option(help: "Services of type LoadBalancer.") var services = 10_000
    @Option(help: "Writes in flight at once.") var concurrency = 64

    func run() async throws {
        // One in 16 Services is IPv4 (the three IPv4 documentation /24s hold 768), the rest IPv6.
        guard services / 16 < 768 else { throw ValidationError("at most \(768 * 16) Services") }
        let certs = try SelfSignedCertificates(hosts: ["127.0.0.1"])
        let state = try EmulatorState(store: ObjectStore(now: { "2026-11-28T00:00:00Z" }, makeUID: { UUID().uuidString.lowercased() }))
        let catalog = Dictionary(uniqueKeysWithValues: ResourceType.catalog.map { ($0.plural, $0) })
        guard let svcType = catalog["services"], let nsType = catalog["namespaces"], let poolType = catalog["ipaddresspools"] else {
            throw ValidationError("catalog is missing kinds")
        }
        try state.write { s throws(Status) in
            try s.create(nsType, namespace: nil, ["metadata": ["name": "metallb-system"]])
            try s.create(poolType, namespace: "metallb-system",
                         ["apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": "bench"],
                          "spec": ["addresses": ["198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24", "2001:db8::/64"]]])
            for i in 0..<services {
                try s.create(svcType, namespace: "default",
                             ["metadata": ["name": .string("svc-\(i)")],
                              "spec": ["type": "LoadBalancer", "ipFamilyPolicy": "SingleStack", "ipFamilies": [i % 16 == 0 ? "IPv4" : "IPv6"],
                                       "ports": [["port": 80]]]])
            }
        }
        let server = try await EmulatorServer(handler: APIHandler(state: state, serverAddress: "127.0.0.1"),
                                              options: .init(tls: try certs.serverConfiguration()))
        var config = ClientConfiguration(server: "https://127.0.0.1:\(server.port)", certificateAuthorityPEM: Array(certs.caPEM.utf8))
        config.qps = 0
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var options = ControllerRuntime.Options()
        options.writeConcurrency = concurrency

        func allocated() -> Int {
            state.inspect { s in s.count(svcType) { $0["status"]?["loadBalancer"]?["ingress"] != nil } }
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }

            // Cold start.
            let client = try KubernetesClient(configuration: config)
            let runtime = ControllerRuntime(client: client, options: options, logger: logger)
            let start = ContinuousClock.now
            let (cold, allWrites): (Double, Double) = try await withThrowingTaskGroup(of: (Double, Double)?.self) { inner in
                inner.addTask { try await runtime.run(); return nil }
                inner.addTask {
                    while allocated() < services { try await Task.sleep(for: .milliseconds(50)) }
                    let allocatedAt = (ContinuousClock.now - start).seconds
                    // All writes (annotations, events, pool status) done: the first pass is complete.
                    while runtime.currentStatus.passes == 0 { try await Task.sleep(for: .milliseconds(10)) }
                    return (allocatedAt, (ContinuousClock.now - start).seconds)
                }
                defer { inner.cancelAll() }
                while let r = try await inner.next() { if let r { return r } }
                return (-1, -1)
            }
            let writes = runtime.currentStatus.writes
            await client.shutdown()
            let rvAfterCold = state.resourceVersion

            // Restart with everything allocated.
            let client2 = try KubernetesClient(configuration: config)
            let runtime2 = ControllerRuntime(client: client2, options: options, logger: logger)
            let restartStart = ContinuousClock.now
            let restart: Double = try await withThrowingTaskGroup(of: Double?.self) { inner in
                inner.addTask { try await runtime2.run(); return nil }
                inner.addTask {
                    while runtime2.currentStatus.passes == 0 { try await Task.sleep(for: .milliseconds(5)) }
                    return (ContinuousClock.now - restartStart).seconds
                }
                defer { inner.cancelAll() }
                while let r = try await inner.next() { if let r { return r } }
                return -1
            }
            let restartWrites = state.resourceVersion - rvAfterCold
            await client2.shutdown()

            // The anchor: the same number of status writes through a client alone, as many at a time, no controller.
            let client3 = try KubernetesClient(configuration: config)
            let floorStart = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { writers in
                for w in 0..<concurrency {
                    writers.addTask {
                        for i in stride(from: w, to: services, by: concurrency) {
                            _ = try await client3.patch(.services, namespace: "default", name: "svc-\(i)",
                                                        .merge(["status": ["loadBalancer": ["ingress": [["ip": .string("198.51.100.\(i % 250 + 1)")]]]]]),
                                                        subresource: "status")
                        }
                    }
                }
                try await writers.waitForAll()
            }
            let floor = (ContinuousClock.now - floorStart).seconds
            await client3.shutdown()
            print(#"{"bench":"controller","services":\#(services),"cold_start_s":\#(String(format: "%.3f", cold)),"cold_all_writes_s":\#(String(format: "%.3f", allWrites)),"cold_writes":\#(writes),"restart_ready_s":\#(String(format: "%.3f", restart)),"restart_writes":\#(restartWrites),"write_concurrency":\#(concurrency),"anchor_status_writes_alone_s":\#(String(format: "%.3f", floor))}"#)
        }
    }
}
