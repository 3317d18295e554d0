import BeaconLab
import ControllerRuntime
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KubernetesClient
import KubernetesModel
import Synchronization
import TestSupport
import Testing

/// Real processes: `kube-emulator` over HTTPS and `controller run`, both as built by SwiftPM.
final class Daemon: @unchecked Sendable {
    // Safety: `process` is only touched from the test's task; the output buffer is behind a Mutex.
    let process = Process()
    let output = OutputBuffer()

    /// The admin port, when the daemon serves one.
    var adminPort = 0

    init(_ binary: String, _ arguments: [String]) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        process.executableURL = root.appendingPathComponent(".build/debug/\(binary)")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let out = output
        _ = PipeReader(pipe.fileHandleForReading) { d in out.text.withLock { $0 += String(decoding: d, as: UTF8.self) } }
        try process.run()
    }

    var text: String { output.text.withLock { $0 } }

    func waitFor(_ needle: String, seconds: Double = 20) async -> Bool {
        await eventually(seconds) { text.contains(needle) }
    }

    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { kill9() }
}

final class OutputBuffer: Sendable {
    let text = Mutex("")
}

func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// An emulator with a data directory, restartable on the same port, and controllers started against it.
final class Site: @unchecked Sendable {
    // Safety: used from one test task.
    let dir: URL
    var emulator: Daemon?
    var port = 0
    var kubeconfig: String { dir.appendingPathComponent("kubeconfig").path }

    init() throws {
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("beacon-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "e2e-token".write(to: dir.appendingPathComponent("tokens"), atomically: true, encoding: .utf8)
    }

    deinit {
        emulator?.kill9()
        try? FileManager.default.removeItem(at: dir)
    }

    func startEmulator() async throws {
        let d = try Daemon("kube-emulator", ["--port", String(port), "--token-file", dir.appendingPathComponent("tokens").path,
                                             "--data-dir", dir.appendingPathComponent("data").path, "--write-kubeconfig", kubeconfig])
        emulator = d
        #expect(await d.waitFor("listening on"))
        if port == 0, let r = d.text.firstRange(of: "127.0.0.1:") {
            port = Int(d.text[r.upperBound...].prefix { $0.isNumber }) ?? 0
        }
    }

    func controller(_ extra: [String] = []) throws -> Daemon {
        let port = try freePort()
        let d = try Daemon("controller", ["run", "--kubeconfig", kubeconfig, "--log-level", "info", "--admin-addr", "127.0.0.1:\(port)"] + extra)
        d.adminPort = port
        return d
    }

    func client() throws -> KubernetesClient {
        var c = try ClientConfiguration.load(kubeconfig: kubeconfig)
        c.qps = 0
        return try KubernetesClient(configuration: c)
    }
}

/// A TCP port nothing listens on right now (the kernel picks it).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// GET http://127.0.0.1:PORT/PATH: status and body.
func httpGet(_ port: Int, _ path: String) async throws -> (Int, String) {
    let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
    let (data, response) = try await URLSession.shared.data(from: url)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// One sample's value from Prometheus text (`name{labels} value`), exact series match.
func metric(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

func pool(_ name: String, _ addresses: [String]) -> JSONValue {
    ["apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": .string(name)],
     "spec": ["addresses": .array(addresses.map(JSONValue.string))]]
}

func lbService(_ name: String, annotations: [String: String]? = nil) -> Service {
    Service(metadata: ObjectMeta(name: name, namespace: "default", annotations: annotations),
            spec: ServiceSpec(type: "LoadBalancer", ports: [ServicePortSpec(port: 80)]))
}

func ips(_ client: KubernetesClient) async throws -> [String: [String]] {
    var out: [String: [String]] = [:]
    for s in try await client.list(.services, namespace: "default").items {
        out[s.metadata.name ?? ""] = (s.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
    }
    return out
}

@Suite("controller end to end (real processes, HTTPS)", .dedicatedThreads)
struct ControllerE2ETests {
    /// Allocation, release and re-allocation; an invalid configuration keeps the last good one in force and is
    /// reported in ConfigurationState; events carry MetalLB's reasons.
    @Test("allocate, free, re-allocate; a bad configuration keeps the last good one")
    func lifecycle() async throws {
        let site = try Site()
        try await site.startEmulator()
        let client = try site.client()
        defer { Task { await client.shutdown() } }
        try await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: "metallb-system")))
        try await client.create(.ipAddressPools, namespace: "metallb-system", pool("a", ["192.0.2.10-192.0.2.11"]))
        for n in ["s1", "s2", "s3"] { try await client.create(.services, namespace: "default", lbService(n)) }
        let controller = try site.controller()
        #expect(try await eventually { try await ips(client) == ["s1": ["192.0.2.10"], "s2": ["192.0.2.11"], "s3": []] })
        // Events are posted after the status writes: wait for them too.
        func events() async throws -> [Event] { try await client.list(.events, namespace: "default").items }
        #expect(try await eventually { try await events().contains { $0.reason == "AllocationFailed" && $0.note == "Failed to allocate IP for \"default/s3\": no available IPs (pool \"a\" is full)" && $0.type == "Warning" } })
        #expect(try await eventually { try await events().contains { $0.reason == "IPAllocated" && $0.note == "Assigned IP [\"192.0.2.10\"]" && $0.regarding?.uid != nil } })
        let s1 = try await client.get(.services, namespace: "default", name: "s1")
        #expect(s1.metadata.annotations?["metallb.io/ip-allocated-from-pool"] == "a")
        // The speakers' membership key, made as MetalLB's controller makes it: 128 random bytes.
        let key = try #require(try await client.get(.secrets, namespace: "metallb-system", name: "memberlist").data?["secretkey"])
        #expect(Data(base64Encoded: key)?.count == 128)
        // Admin port: health, readiness and MetalLB's metrics.
        #expect(try await httpGet(controller.adminPort, "/healthz").0 == 200)
        #expect(try await httpGet(controller.adminPort, "/readyz").0 == 200)
        #expect(try await httpGet(controller.adminPort, "/nope").0 == 404)
        let m = try await httpGet(controller.adminPort, "/metrics").1
        #expect(metric(m, #"metallb_allocator_addresses_total{pool="a"}"#) == 2, "\(m)")
        #expect(metric(m, #"metallb_allocator_ipv4_addresses_total{pool="a"}"#) == 2)
        #expect(metric(m, #"metallb_allocator_ipv6_addresses_total{pool="a"}"#) == 0)
        #expect(metric(m, #"metallb_allocator_addresses_in_use_total{pool="a"}"#) == 2)
        #expect(metric(m, #"metallb_allocator_services_allocated_total{pool="a"}"#) == 2)
        #expect(metric(m, "metallb_k8s_client_config_loaded_bool") == 1)
        #expect(metric(m, "metallb_k8s_client_config_stale_bool") == 0)
        #expect((metric(m, "metallb_k8s_client_updates_total") ?? 0) >= 4)
        #expect(metric(m, "beacon_controller_allocation_seconds_count") == 2)
        // Every assigned address, for the BeaconAddressNotAnnounced alert.
        #expect(metric(m, #"beacon_allocator_address_assigned{service="default/s1",pool="a",ip="192.0.2.10"}"#) == 1, "\(m)")
        #expect(m.split(separator: "\n").filter { $0.hasPrefix("beacon_allocator_address_assigned{") }.count == 2, "\(m)")

        try await client.delete(.services, namespace: "default", name: "s1")
        #expect(try await eventually { try await ips(client)["s3"] == ["192.0.2.10"] })

        // An overlapping second pool: rejected, the last good configuration stays, ConfigurationState says why.
        try await client.create(.ipAddressPools, namespace: "metallb-system", pool("b", ["192.0.2.0/24"]))
        #expect(try await eventually {
            let state = try? await client.get(.configurationStates, namespace: "metallb-system", name: "controller")
            return state?["status"]?["result"] == "Invalid"
        })
        let state = try await client.get(.configurationStates, namespace: "metallb-system", name: "controller")
        #expect(state["status"]?["errorSummary"]?.stringValue?.contains("IPAddressPool/b") == true, "\(state)")
        #expect(metric(try await httpGet(controller.adminPort, "/metrics").1, "metallb_k8s_client_config_stale_bool") == 1)
        try await client.create(.services, namespace: "default", lbService("s4"))
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await ips(client) == ["s2": ["192.0.2.11"], "s3": ["192.0.2.10"], "s4": []])
        try await client.delete(.ipAddressPools, namespace: "metallb-system", name: "b")
        #expect(try await eventually {
            let state = try? await client.get(.configurationStates, namespace: "metallb-system", name: "controller")
            return state?["status"]?["result"] == "Valid"
        })
        #expect(try await eventually {
            metric(try await httpGet(controller.adminPort, "/metrics").1, "metallb_k8s_client_config_stale_bool") == 0
        })
        controller.stop()
        #expect(controller.process.terminationStatus == 0, "\(controller.text)")
        // A restarted controller keeps the existing key (speakers would otherwise stop trusting each other).
        let again = try site.controller()
        #expect(try await eventually { (try? await httpGet(again.adminPort, "/readyz").0) == 200 })
        #expect(try await client.get(.secrets, namespace: "metallb-system", name: "memberlist").data?["secretkey"] == key)
        again.stop()
    }

    /// 1,000 Services allocated; kill -9; restart with nothing changed: no address moves and nothing is written.
    /// A pending Service that wants a held address does not get it on the restart. Then the emulator restarts
    /// under the controller: it recovers and serves a new Service.
    @Test("restart after kill -9: 0 IPs change, 0 writes; emulator restart mid-run")
    func restart() async throws {
        let site = try Site()
        try await site.startEmulator()
        let client = try site.client()
        defer { Task { await client.shutdown() } }
        try await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: "metallb-system")))
        try await client.create(.ipAddressPools, namespace: "metallb-system", pool("a", ["198.51.100.0/22"]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    for i in stride(from: w, to: 1000, by: 8) { try await client.create(.services, namespace: "default", lbService("svc-\(i)")) }
                }
            }
            try await group.waitForAll()
        }
        var controller = try site.controller()
        #expect(try await eventually(60) { try await ips(client).values.filter { $0.count == 1 }.count == 1000 })
        let held = try await client.get(.services, namespace: "default", name: "svc-0")
        let heldIP = try #require(held.status?.loadBalancer?.ingress?.first?.ip)
        try await client.create(.services, namespace: "default", lbService("contender", annotations: ["metallb.io/loadBalancerIPs": heldIP]))
        #expect(try await eventually { try await client.list(.events, namespace: "default").items.contains { $0.regarding?.name == "contender" && $0.reason == "AllocationFailed" } })
        try await Task.sleep(for: .milliseconds(500))
        let before = try await ips(client)
        let rvBefore = try await client.list(.services).metadata.resourceVersion
        let eventsBefore = try await client.list(.events).items.count
        controller.kill9()

        controller = try site.controller()
        #expect(await controller.waitFor("first pass done", seconds: 30))
        #expect(controller.text.contains("writes=0"), "\(controller.text)")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await ips(client) == before)
        #expect(try await client.list(.services).metadata.resourceVersion == rvBefore)
        #expect(try await client.list(.events).items.count == eventsBefore)
        #expect(before["contender"] == [])

        // The emulator dies and comes back on the same port with its data: the controller recovers.
        site.emulator?.kill9()
        try await site.startEmulator()
        try await client.create(.services, namespace: "default", lbService("after-restart"))
        #expect(try await eventually(30) { (try? await ips(client))?["after-restart"]?.count == 1 })
        let after = try await ips(client)
        #expect(before.allSatisfy { after[$0.key] == $0.value })
        controller.stop()
    }

    @Test("configuration errors keep the last good configuration (§7 cases 1–2)")
    func configurationErrors() async throws {
        let site = try Site()
        try await site.startEmulator()
        let client = try site.client()
        defer { Task { await client.shutdown() } }
        try await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: "metallb-system")))
        try await client.create(.ipAddressPools, namespace: "metallb-system", pool("good", ["10.0.0.0/24"]))
        let controller = try site.controller()
        #expect(await controller.waitFor("first pass done"))
        func obj(_ kind: String, _ name: String, _ spec: JSONValue) -> JSONValue {
            let version = kind == "BGPPeer" ? "metallb.io/v1beta2" : "metallb.io/v1beta1"
            return ["apiVersion": .string(version), "kind": .string(kind), "metadata": ["name": .string(name)], "spec": spec]
        }
        let peer: JSONValue = ["myASN": 64512, "peerASN": 64513, "peerAddress": "192.0.2.1"]
        func peerWith(_ extra: [String: JSONValue]) -> JSONValue {
            guard case .object(var o) = peer else { return peer }
            for (k, v) in extra { o[k] = v }
            return .object(o)
        }
        let community = obj("Community", "aliases", ["communities": [["name": "ok", "value": "65000:1"]]])
        let cases: [(what: String, objects: [(Resource<JSONValue>, JSONValue)], culprit: String)] = [
            ("overlapping pools", [(.ipAddressPools, pool("half", ["10.0.0.128/25"]))], "IPAddressPool/half"),
            ("range overlapping a CIDR", [(.ipAddressPools, pool("range", ["10.0.0.250-10.0.1.5"]))], "IPAddressPool/range"),
            ("bad CIDR", [(.ipAddressPools, pool("badcidr", ["10.1.0.0/33"]))], "IPAddressPool/badcidr"),
            ("start after end", [(.ipAddressPools, pool("reversed", ["10.2.0.9-10.2.0.1"]))], "IPAddressPool/reversed"),
            ("community 70000:1", [(.bgpAdvertisements, obj("BGPAdvertisement", "c70000", ["communities": ["70000:1"]]))], "BGPAdvertisement/c70000"),
            ("unknown community alias", [(.bgpAdvertisements, obj("BGPAdvertisement", "alias", ["communities": ["nosuch"]]))], "nosuch"),
            ("duplicate community alias", [(.communities, community),
                                           (.communities, obj("Community", "again", ["communities": [["name": "ok", "value": "65000:2"]]]))], "ok"),
            ("hold time 1 s", [(.bgpPeers, obj("BGPPeer", "hold1", peerWith(["holdTime": "1s"])))], "BGPPeer/hold1"),
            ("keepalive above hold", [(.bgpPeers, obj("BGPPeer", "ka", peerWith(["holdTime": "30s", "keepaliveTime": "60s"])))], "BGPPeer/ka"),
        ]
        for (n, c) in cases.enumerated() {
            for (resource, o) in c.objects { try await client.create(resource, namespace: "metallb-system", o) }
            #expect(try await eventually {
                let state = try? await client.get(.configurationStates, namespace: "metallb-system", name: "controller")
                return state?["status"]?["result"] == "Invalid"
            }, "\(c.what)")
            let state = try await client.get(.configurationStates, namespace: "metallb-system", name: "controller")
            #expect(state["status"]?["errorSummary"]?.stringValue?.contains(c.culprit) == true, "\(c.what): \(state)")
            #expect(metric(try await httpGet(controller.adminPort, "/metrics").1, "metallb_k8s_client_config_stale_bool") == 1, "\(c.what)")
            // The last good configuration still allocates.
            try await client.create(.services, namespace: "default", lbService("svc-\(n)"))
            #expect(try await eventually { try await ips(client)["svc-\(n)"]?.first?.hasPrefix("10.0.0.") == true }, "\(c.what)")
            for (resource, o) in c.objects.reversed() {
                try await client.delete(resource, namespace: "metallb-system", name: o["metadata"]?["name"]?.stringValue ?? "")
            }
            #expect(try await eventually {
                let state = try? await client.get(.configurationStates, namespace: "metallb-system", name: "controller")
                return state?["status"]?["result"] == "Valid"
            }, "\(c.what)")
        }
        #expect(controller.text.contains("configuration rejected"))
        #expect(controller.process.isRunning)
        controller.stop()
    }

    /// The API server fails the status patch of one Service (as a webhook or an overloaded server would): the
    /// failure is logged and counted, the other Services are unaffected, and the write is retried until it lands.
    @Test("an API error on a status patch is logged, counted and retried")
    func apiErrorOnPatch() async throws {
        let site = try Site()
        try await site.startEmulator()
        let client = try site.client()
        defer { Task { await client.shutdown() } }
        try await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: "metallb-system")))
        try await client.create(.ipAddressPools, namespace: "metallb-system", pool("a", ["192.0.2.10-192.0.2.20"]))
        let fault: JSONValue = ["method": "PATCH", "path": "/api/v1/namespaces/default/services/unlucky/status", "code": 500, "count": 3]
        _ = try await client.raw(method: "POST", path: "/emulator/faults", body: JSONText.serialize(fault))
        for n in ["unlucky", "fine"] { try await client.create(.services, namespace: "default", lbService(n)) }
        try await client.create(.services, namespace: "default", lbService("garbled", annotations: ["metallb.io/loadBalancerIPs": "192.0.2.300"]))
        let controller = try site.controller()
        #expect(try await eventually { try await ips(client)["fine"]?.count == 1 })
        #expect(try await eventually(15) { try await ips(client)["unlucky"]?.count == 1 })
        #expect(controller.text.contains("write failed; will retry"), "\(controller.text)")
        #expect(controller.text.contains("injected fault"))
        let m = try await httpGet(controller.adminPort, "/metrics").1
        #expect(metric(m, "metallb_k8s_client_update_errors_total") == 3, "\(m)")
        #expect(Set(try await ips(client).values.flatMap { $0 }).count == 2)
        // The malformed annotation fails only its own Service, with a Warning that quotes it.
        func garbled() async throws -> [Event] { try await client.list(.events, namespace: "default").items.filter { $0.regarding?.name == "garbled" } }
        let quoted = try await eventually { try await garbled().contains { $0.type == "Warning" && ($0.note ?? "").contains("192.0.2.300") } }
        let seen = try await garbled()
        #expect(quoted, "\(seen)")
        #expect(try await ips(client)["garbled"] == [])
        #expect(controller.process.isRunning)
        controller.stop()
        #expect(controller.process.terminationStatus == 0)
    }

    /// `--log-format json` writes one JSON object per line with level, logger, message and metadata.
    @Test("JSON logs")
    func jsonLogs() async throws {
        let site = try Site()
        try await site.startEmulator()
        let controller = try site.controller(["--log-format", "json"])
        #expect(await controller.waitFor("configuration loaded"))
        controller.stop()
        let lines = controller.text.split(separator: "\n")
        #expect(lines.count >= 2)
        for line in lines {
            let v = try JSONText.parse(String(line))
            #expect(v["level"] != nil && v["msg"] != nil && v["time"] != nil, "\(line)")
        }
        #expect(lines.contains { (try? JSONText.parse(String($0)))?["msg"] == "starting" })
    }
}

/// Tests that keep time (a 3 s lease, a 10 s confirmation window): run with the other `timing` suites, not beside the
/// CPU-bound tests.
@Suite("controller timing: leader election, write confirmation (real processes, HTTPS)", .tags(.timing), .dedicatedThreads)
struct ControllerHATests {
    /// The API server answers a status patch with a 200 whose body is garbage and applies nothing: the
    /// controller, which ignores the bodies of its patches, writes again once the watch has not shown the address
    /// for the confirmation window.
    @Test("a status patch answered with garbage and not applied is written again")
    func garbageAnswerToPatch() async throws {
        let site = try Site()
        try await site.startEmulator()
        let client = try site.client()
        defer { Task { await client.shutdown() } }
        try await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: "metallb-system")))
        try await client.create(.ipAddressPools, namespace: "metallb-system", pool("a", ["192.0.2.10-192.0.2.20"]))
        let fault: JSONValue = ["method": "PATCH", "path": "/api/v1/namespaces/default/services/ghost/status", "answer": "garbage", "count": 1]
        _ = try await client.raw(method: "POST", path: "/emulator/faults", body: JSONText.serialize(fault))
        try await client.create(.services, namespace: "default", lbService("ghost"))
        let controller = try site.controller()
        #expect(await controller.waitFor("assigned addresses"))
        #expect(try await ips(client)["ghost"] == [], "the first write was not applied")
        let landed = ContinuousClock.now
        #expect(try await eventually(25) { try await ips(client)["ghost"]?.count == 1 })
        #expect(ContinuousClock.now - landed >= ServiceReconciler.confirmation - .seconds(1), "written again only after the window")
        #expect(controller.process.isRunning)
        controller.stop()
    }

    /// Two replicas with --leader-elect: only the Lease holder writes; kill -9 the leader and the standby takes
    /// over within the lease duration (plus one retry period), keeps every address, and serves new Services.
    @Test("HA: two replicas, kill the leader, the standby takes over without conflicting assignments")
    func leaderElection() async throws {
        let site = try Site()
        try await site.startEmulator()
        let client = try site.client()
        defer { Task { await client.shutdown() } }
        try await client.create(.namespaces, Namespace(metadata: ObjectMeta(name: "metallb-system")))
        try await client.create(.ipAddressPools, namespace: "metallb-system", pool("a", ["192.0.2.0/28"]))
        for n in ["s1", "s2", "s3"] { try await client.create(.services, namespace: "default", lbService(n)) }
        let args = ["--leader-elect", "--lease-duration", "3"]
        let first = try site.controller(args)
        let second = try site.controller(args)
        #expect(try await eventually { try await ips(client).values.allSatisfy { $0.count == 1 } })
        let lease = try await client.get(.leases, namespace: "metallb-system", name: "beacon-controller")
        let holder = try #require(lease.spec?.holderIdentity)
        let (leader, standby) = holder.hasSuffix("-\(first.process.processIdentifier)") ? (first, second) : (second, first)
        #expect(holder.hasSuffix("-\(leader.process.processIdentifier)"))
        #expect(!standby.text.contains("became leader"))
        let before = try await ips(client)

        leader.kill9()
        let killed = ContinuousClock.now
        #expect(await standby.waitFor("became leader", seconds: 10))
        let takeover = ContinuousClock.now - killed
        #expect(takeover < .seconds(3) + .milliseconds(1500), "takeover took \(takeover)")
        let now = try await client.get(.leases, namespace: "metallb-system", name: "beacon-controller")
        #expect(now.spec?.holderIdentity?.hasSuffix("-\(standby.process.processIdentifier)") == true)
        #expect(now.spec?.leaseTransitions == 1)

        try await client.create(.services, namespace: "default", lbService("s4"))
        #expect(try await eventually { try await ips(client)["s4"]?.count == 1 })
        let after = try await ips(client)
        #expect(before.allSatisfy { after[$0.key] == $0.value })
        #expect(Set(after.values.flatMap { $0 }).count == 4)

        // A clean stop releases the lease at once.
        standby.stop()
        let released = try await client.get(.leases, namespace: "metallb-system", name: "beacon-controller")
        #expect(released.spec?.holderIdentity == "")
    }

    /// metallb-behaviour.md §7 cases 1–2 at run time: each invalid object is rejected with a message naming it, the
    /// last good configuration stays in force (a new Service still gets an address from it), the stale metric is 1
    /// and ConfigurationState says Invalid; removing the object makes the configuration valid again.
}
