import ArgumentParser
import Foundation
import KubernetesClient
import KubernetesEmulator
import KubernetesModel

/// The Kubernetes API path at scale: an emulator over HTTPS holding N Services and N EndpointSlices, a full list
/// of the Services through the client (typed decode included), and W concurrent watchers that must each see every
/// one of C changes, in order.
struct KubeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube",
        abstract: "List 10k Services through the client; 20 concurrent watchers see every change in order.")

    @Option(help: "Services (and as many EndpointSlices) in the emulator.") var objects = 10_000
    @Option(help: "Timed full lists; the median and the slowest are reported.") var runs = 7
    @Option(help: "Concurrent watchers.") var watchers = 20
    @Option(help: "Changes each watcher must see.") var changes = 1_000

    func run() async throws {
        let certs = try SelfSignedCertificates(hosts: ["127.0.0.1"])
        let store = ObjectStore(now: { "2026-11-28T00:00:00Z" }, makeUID: { UUID().uuidString.lowercased() })
        let state = try EmulatorState(store: store)
        let services = try ResourceType.catalog.first { $0.plural == "services" }.unwrap("services")
        let slices = try ResourceType.catalog.first { $0.plural == "endpointslices" }.unwrap("endpointslices")
        let namespaces = try ResourceType.catalog.first { $0.plural == "namespaces" }.unwrap("namespaces")
        let t0 = ContinuousClock.now
        for i in 0..<objects {
            let ns = "ns-\(i % 50)"
            if i < 50 { try state.write { s throws(Status) in try s.create(namespaces, namespace: nil, ["metadata": ["name": .string(ns)]]) } }
            try state.write { s throws(Status) in
                try s.create(services, namespace: ns, Self.service(i))
                try s.create(slices, namespace: ns, Self.slice(i))
            }
        }
        let loadSeconds = (ContinuousClock.now - t0).seconds
        let handler = APIHandler(state: state, serverAddress: "127.0.0.1")
        let server = try await EmulatorServer(handler: handler, options: .init(tls: try certs.serverConfiguration()))
        var config = ClientConfiguration(server: "https://127.0.0.1:\(server.port)", certificateAuthorityPEM: Array(certs.caPEM.utf8))
        config.qps = 0
        let client = try KubernetesClient(configuration: config)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }

            var lists: [Double] = []
            var bytes = 0
            for _ in 0..<runs {
                let start = ContinuousClock.now
                let list = try await client.list(.services)
                lists.append((ContinuousClock.now - start).seconds)
                guard list.items.count == objects else { throw ValidationError("listed \(list.items.count) of \(objects)") }
                bytes = JSONText.serialize(try JSONText.parse(try JSONEncoder().encode(list.items[0]))).count * objects
            }
            var raw: [Double] = []
            for _ in 0..<runs {
                let start = ContinuousClock.now
                let list = try await client.list(Resource<JSONValue>(group: "", version: "v1", plural: "services", namespaced: true))
                raw.append((ContinuousClock.now - start).seconds)
                guard list.items.count == objects else { throw ValidationError("listed \(list.items.count)") }
            }
            // Where the time goes: the HTTP round trip alone, then each decoder on the same bytes.
            var fetch: [Double] = [], parse: [Double] = [], typed: [Double] = []
            for _ in 0..<runs {
                let a = ContinuousClock.now
                let body = try await client.raw("/api/v1/services")
                let b = ContinuousClock.now
                _ = try JSONText.parse(body)
                let c = ContinuousClock.now
                _ = try JSONDecoder().decode(ObjectList<Service>.self, from: Data(body))
                let d = ContinuousClock.now
                fetch.append((b - a).seconds); parse.append((c - b).seconds); typed.append((d - c).seconds)
            }
            fetch.sort(); parse.sort(); typed.sort()
            print(#"{"bench":"kube-list-phases","fetch_median_s":\#(fmt(fetch[runs / 2])),"jsontext_parse_median_s":\#(fmt(parse[runs / 2])),"foundation_decode_median_s":\#(fmt(typed[runs / 2]))}"#)
            lists.sort()
            raw.sort()
            let kubectl = try await Self.kubectlList(port: server.port, caPEM: certs.caPEM, runs: 3)
            print(#"{"bench":"kube-list","services":\#(objects),"endpointSlices":\#(objects),"load_s":\#(fmt(loadSeconds)),"typed_median_s":\#(fmt(lists[lists.count / 2])),"typed_max_s":\#(fmt(lists.last ?? 0)),"json_median_s":\#(fmt(raw[raw.count / 2])),"approx_mb":\#(fmt(Double(bytes) / 1e6)),"anchor_kubectl_get_median_s":\#(kubectl.map(fmt) ?? "null")}"#)

            // Watchers.
            let rv = try await client.list(.namespaces).metadata.resourceVersion
            let start = ContinuousClock.now
            let results = try await withThrowingTaskGroup(of: (Int, Bool, Double).self) { watch in
                for _ in 0..<watchers {
                    watch.addTask {
                        var seen = 0
                        var last: Int64 = 0
                        var ordered = true
                        for try await change in client.watch(.services, resourceVersion: rv, timeoutSeconds: 120, bookmarks: false) {
                            guard case .modified(let s) = change, let v = s.metadata.resourceVersion.flatMap(Int64.init) else { continue }
                            if v <= last { ordered = false }
                            last = v
                            seen += 1
                            if seen == changes { break }
                        }
                        return (seen, ordered, (ContinuousClock.now - start).seconds)
                    }
                }
                for i in 0..<changes {
                    _ = try await client.patch(.services, namespace: "ns-\(i % 50)", name: "svc-\(i)",
                                               .merge(["status": ["loadBalancer": ["ingress": [["ip": .string("192.0.2.\(i % 250 + 1)")]]]]]),
                                               subresource: "status")
                }
                var all: [(Int, Bool, Double)] = []
                for try await r in watch { all.append(r) }
                return all
            }
            let writeSeconds = (ContinuousClock.now - start).seconds
            let complete = results.filter { $0.0 == changes }.count
            let ordered = results.allSatisfy { $0.1 }
            let slowest = results.map(\.2).max() ?? 0
            print(#"{"bench":"kube-watch","watchers":\#(watchers),"changes":\#(changes),"watchers_complete":\#(complete),"all_in_order":\#(ordered),"all_delivered_s":\#(fmt(slowest)),"writes_and_delivery_s":\#(fmt(writeSeconds))}"#)
        }
        await client.shutdown()
    }

    /// The anchor: `kubectl get services -A -o json` of the same Services from the same server, start to end (what an
    /// operator waits for), median of `runs`. Nil when kubectl is missing or fails.
    static func kubectlList(port: Int, caPEM: String, runs: Int) async throws -> Double? {
        // kubectl is waited for on a thread of its own: the emulator answering it runs on this process's
        // cooperative pool, which a blocked thread would halve.
        try await withCheckedThrowingContinuation { c in
            Thread { c.resume(with: Result { try kubectlListBlocking(port: port, caPEM: caPEM, runs: runs) }) }.start()
        }
    }

    static func kubectlListBlocking(port: Int, caPEM: String, runs: Int) throws -> Double? {
        let dir = NSTemporaryDirectory() + "beacon-bench-kube-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A token (the emulator takes any): with no credentials at all, kubectl asks for a user name on stdin.
        try """
            apiVersion: v1
            kind: Config
            clusters: [{name: bench, cluster: {server: "https://127.0.0.1:\(port)", certificate-authority-data: \(Data(caPEM.utf8).base64EncodedString())}}]
            users: [{name: bench, user: {token: bench}}]
            contexts: [{name: bench, context: {cluster: bench, user: bench}}]
            current-context: bench
            """.write(toFile: dir + "/kubeconfig", atomically: true, encoding: .utf8)
        var times: [Double] = []
        for _ in 0..<runs {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["kubectl", "--kubeconfig", dir + "/kubeconfig", "--cache-dir", dir + "/cache", "get", "services", "-A", "-o", "json"]
            p.standardOutput = FileHandle.nullDevice
            let err = Pipe()
            p.standardError = err
            let start = ContinuousClock.now
            try p.run()
            let message = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                FileHandle.standardError.write(Data("kubectl failed: ".utf8) + message)
                return nil
            }
            times.append((ContinuousClock.now - start).seconds)
        }
        return times.sorted()[times.count / 2]
    }

    static func service(_ i: Int) -> JSONValue {
        ["metadata": ["name": .string("svc-\(i)"), "labels": ["app": .string("app-\(i % 100)")],
                      "annotations": ["metallb.io/address-pool": "default"]],
         "spec": ["type": "LoadBalancer", "selector": ["app": .string("app-\(i % 100)")],
                  "ports": [["name": "http", "port": 80, "targetPort": 8080], ["name": "https", "port": 443, "targetPort": 8443]]]]
    }

    static func slice(_ i: Int) -> JSONValue {
        ["metadata": ["name": .string("svc-\(i)-abcde"), "labels": ["kubernetes.io/service-name": .string("svc-\(i)")]],
         "addressType": "IPv4",
         "endpoints": [["addresses": [.string("10.244.\(i / 250 % 250).\(i % 250)")], "conditions": ["ready": true, "serving": true],
                        "nodeName": .string("node-\(i % 3)")]],
         "ports": [["name": "http", "port": 8080, "protocol": "TCP"]]]
    }
}

private func fmt(_ x: Double) -> String { String(format: "%.3f", x) }

extension Optional {
    func unwrap(_ what: String) throws -> Wrapped {
        guard let self else { throw ValidationError("no \(what) in the catalog") }
        return self
    }
}
