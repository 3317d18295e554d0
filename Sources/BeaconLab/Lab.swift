import Foundation
import Synchronization

/// A small on-prem site built from network namespaces on this machine (Docs/architecture.md, "The demo and the
/// test network"): an L2 segment (a bridge in its own namespace) with a router, an API server namespace
/// (`kube-emulator` and the controller), N node namespaces each running `speaker run` and a backend behind an
/// nftables DNAT (the kube-proxy stand-in), a client on the segment, and a client behind the router. The router
/// runs BIRD and peers with every node.
///
/// Addresses are documentation ranges only: the segment is 192.0.2.0/24 and 2001:db8::/64, the far side
/// 198.51.100.0/24, and BGP services come from 203.0.113.0/24. Every namespace name starts with `prefix`, and
/// `down()` deletes them all and stops only the processes this lab started.
public final class Lab: Sendable {
    public struct Options: Sendable {
        /// Unique per lab (tests run in parallel): every namespace is `<prefix>-<role>`.
        public var prefix: String
        public var nodes = 3
        /// Where `speaker`, `controller`, `kube-emulator` and `beacon-lab` are.
        public var binDirectory: String
        public var workDirectory: String
        public var logLevel = "info"
        /// Membership heartbeat interval and timeout, milliseconds.
        public var membershipInterval = 50
        public var membershipTimeout = 150
        /// BGP: the router's ASN and the nodes'.
        public var routerASN = 64512
        public var nodeASN = 64513
        /// Nodes with IPv6 addresses only (and only IPv6 InternalIPs); the API server is reached over IPv6. BGP to the
        /// router, which peers over IPv4, does not come up then.
        public var ipv6Only = false
        /// The admin ports (metrics and probes: the controller's 7472, the speakers' 7473) on every address, as the
        /// deployment has them, instead of loopback only.
        public var adminOnAllAddresses = false

        public init(prefix: String, binDirectory: String, workDirectory: String) {
            self.prefix = prefix
            self.binDirectory = binDirectory
            self.workDirectory = workDirectory
        }
    }

    public let options: Options
    private let processes = Mutex<[String: LabProcess]>([:])
    private let upFlag = Mutex(false)
    /// `up()` was called.
    public var isUp: Bool { upFlag.withLock { $0 } }
    /// Service addresses the nodes' NAT forwards (`exampleServiceAddress` adds to it).
    let natAddresses = Mutex<Set<String>>([])

    public init(options: Options) {
        self.options = options
    }

    // MARK: - Names and addresses

    public var prefix: String { options.prefix }
    public var switchNS: String { "\(prefix)-sw" }
    public var routerNS: String { "\(prefix)-rt" }
    public var apiNS: String { "\(prefix)-api" }
    public var clientNS: String { "\(prefix)-c1" }
    public var farClientNS: String { "\(prefix)-c2" }
    public func nodeNS(_ i: Int) -> String { "\(prefix)-n\(i)" }
    public func nodeName(_ i: Int) -> String { "node\(i)" }
    public func nodeIPv4(_ i: Int) -> String { "192.0.2.\(10 + i)" }
    public func nodeIPv6(_ i: Int) -> String { "2001:db8::\(10 + i)" }
    public var nodeIndices: [Int] { Array(1...options.nodes) }
    public let routerIPv4 = "192.0.2.1", routerIPv6 = "2001:db8::1", apiIPv4 = "192.0.2.2", clientIPv4 = "192.0.2.50", clientIPv6 = "2001:db8::50"
    public let apiIPv6 = "2001:db8::2"
    /// Where the API server listens: IPv6 in an IPv6-only lab.
    public var apiAddress: String { options.ipv6Only ? apiIPv6 : apiIPv4 }
    public let farRouterIPv4 = "198.51.100.1", farClientIPv4 = "198.51.100.50"
    public var kubeconfig: String { options.workDirectory + "/kubeconfig" }
    public var membershipKeyPath: String { options.workDirectory + "/memberlist-key" }
    var allNamespaces: [String] { [switchNS, routerNS, apiNS, clientNS, farClientNS] + nodeIndices.map(nodeNS) }

    func path(_ name: String) -> String { options.workDirectory + "/" + name }
    public func binary(_ name: String) -> String { options.binDirectory + "/" + name }

    // MARK: - Up and down

    /// Builds the network, starts the API server and BIRD, registers the Nodes, and writes the membership key.
    /// Speakers, the controller and backends are started separately.
    public func up() async throws {
        upFlag.withLock { $0 = true }
        // A run that was killed hard (SIGKILL, power loss) leaves its namespaces; they are this lab's by name.
        if !(await Self.leftovers(prefix: prefix)).isEmpty { await Self.down(prefix: prefix, workDirectory: options.workDirectory) }
        try FileManager.default.createDirectory(atPath: options.workDirectory, withIntermediateDirectories: true)
        try await buildNetwork()
        try await startEmulator()
        try await kubectl(["apply", "-f", "-"], input: "apiVersion: v1\nkind: Namespace\nmetadata: {name: metallb-system}\n")
        try await startRouter()
        try await registerNodes()
        var key = [UInt8](repeating: 0, count: 32)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        _ = FileManager.default.createFile(atPath: membershipKeyPath, contents: Data(key.map { String(format: "%02x", $0) }.joined().utf8))
    }

    /// Stops every process this lab started (SIGTERM, then SIGKILL) and deletes its namespaces.
    public func down() async {
        // The processes stay listed until they are gone, so a second `down()` (Ctrl-C during teardown) waits for
        // them too instead of returning while one still runs.
        let all = processes.withLock { Array($0.values) }
        await withTaskGroup(of: Void.self) { g in
            for p in all { g.addTask { await p.stop(seconds: 3) } }
        }
        processes.withLock { $0.removeAll() }
        for ns in allNamespaces { _ = try? await Shell.run(["ip", "netns", "del", ns], check: false) }
    }

    /// Tears down a lab that another process brought up: SIGTERM (then SIGKILL) to the PIDs it recorded, then its
    /// namespaces. Only PIDs whose command line mentions the lab's work directory or namespaces are signalled, so a
    /// recycled PID is left alone.
    public static func down(prefix: String, workDirectory: String) async {
        let text = (try? String(contentsOfFile: workDirectory + "/pids", encoding: .utf8)) ?? ""
        var pids: [Int32] = []
        for line in text.split(separator: "\n") {
            guard let pid = line.split(separator: " ").first.flatMap({ Int32($0) }) else { continue }
            let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8))?.replacingOccurrences(of: "\0", with: " ") ?? ""
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard cmdline.contains(workDirectory) || cmdline.contains(prefix + "-") || environ.contains(workDirectory) else { continue }
            kill(pid, SIGTERM)
            pids.append(pid)
        }
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline, pids.contains(where: { kill($0, 0) == 0 }) { try? await Task.sleep(for: .milliseconds(50)) }
        for pid in pids where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        for ns in await leftovers(prefix: prefix) { _ = try? await Shell.run(["ip", "netns", "del", ns], check: false) }
    }

    /// SIGINT and SIGTERM as a stream (the default actions are turned off while it is being iterated).
    static func interruptions() -> AsyncStream<Int32> {
        AsyncStream { continuation in
            let list = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig)
                source.setEventHandler { continuation.yield(sig) }
                source.resume()
                return source
            }
            let sources = Mutex(list)
            continuation.onTermination = { _ in
                sources.withLock { $0.forEach { $0.cancel() } }
                signal(SIGINT, SIG_DFL)
                signal(SIGTERM, SIG_DFL)
            }
        }
    }

    /// Namespaces of earlier runs with this prefix that are still there (a crashed run).
    public static func leftovers(prefix: String) async -> [String] {
        let list = (try? await Shell.run(["ip", "netns", "list"], check: false).output) ?? ""
        return list.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix(prefix + "-") }
    }

    private func buildNetwork() async throws {
        func ip(_ a: String...) async throws { try await Shell.run(["ip"] + a) }
        func sysctl(_ ns: String, _ kv: String) async throws { try await Shell.inNamespace(ns, ["sysctl", "-qw", kv]) }
        for ns in allNamespaces {
            try await ip("netns", "add", ns)
            try await ip("-n", ns, "link", "set", "lo", "up")
        }
        try await ip("-n", switchNS, "link", "add", "br0", "type", "bridge")
        try await ip("-n", switchNS, "link", "set", "br0", "up")
        // Segment members: router, api, nodes, client; each gets eth0 on the bridge.
        var members: [(ns: String, v4: String, v6: String)] = [(routerNS, routerIPv4, routerIPv6), (apiNS, apiIPv4, apiIPv6),
                                                               (clientNS, clientIPv4, clientIPv6)]
        for i in nodeIndices { members.append((nodeNS(i), nodeIPv4(i), nodeIPv6(i))) }
        let nodeNamespaces = Set(nodeIndices.map(nodeNS))
        for (n, m) in members.enumerated() {
            let port = "p\(n)"
            try await ip("link", "add", "eth0", "netns", m.ns, "type", "veth", "peer", "name", port, "netns", switchNS)
            try await ip("-n", switchNS, "link", "set", port, "master", "br0", "up")
            try await ip("-n", m.ns, "link", "set", "eth0", "up")
            if !(options.ipv6Only && nodeNamespaces.contains(m.ns)) { try await ip("-n", m.ns, "addr", "add", m.v4 + "/24", "dev", "eth0") }
            try await ip("-n", m.ns, "addr", "add", m.v6 + "/64", "dev", "eth0", "nodad")
        }
        // The far side: router eth1 <-> far client eth0.
        try await ip("link", "add", "eth1", "netns", routerNS, "type", "veth", "peer", "name", "eth0", "netns", farClientNS)
        try await ip("-n", routerNS, "link", "set", "eth1", "up")
        try await ip("-n", farClientNS, "link", "set", "eth0", "up")
        try await ip("-n", routerNS, "addr", "add", farRouterIPv4 + "/24", "dev", "eth1")
        try await ip("-n", farClientNS, "addr", "add", farClientIPv4 + "/24", "dev", "eth0")
        try await ip("-n", farClientNS, "route", "add", "default", "via", farRouterIPv4)
        try await sysctl(routerNS, "net.ipv4.ip_forward=1")
        try await sysctl(routerNS, "net.ipv4.fib_multipath_hash_policy=1")
        for i in nodeIndices {
            if options.ipv6Only {
                try await ip("-n", nodeNS(i), "-6", "route", "add", "default", "via", routerIPv6)
            } else {
                try await ip("-n", nodeNS(i), "route", "add", "default", "via", routerIPv4)
            }
            // Neighbours are learned from gratuitous frames as on a real segment.
            try await sysctl(nodeNS(i), "net.ipv4.conf.eth0.arp_accept=1")
        }
        for ns in [clientNS, routerNS] {
            // Learn addresses from gratuitous ARP and unsolicited NA (netlab.md §2, §3).
            try await sysctl(ns, "net.ipv4.conf.eth0.arp_accept=1")
            try await sysctl(ns, "net.ipv6.conf.eth0.forwarding=1")
            try await sysctl(ns, "net.ipv6.conf.eth0.accept_untracked_na=1")
        }
    }

    /// Starts a process in a namespace under `name` (its log is `<work>/<name>.log`); `down()` stops it.
    @discardableResult
    public func spawn(_ name: String, namespace: String?, _ argv: [String], environment: [String: String] = [:]) throws -> LabProcess {
        let p = try LabProcess(name: name, namespace: namespace, argv, logPath: path("\(name).log"), environment: environment)
        let (old, pids) = processes.withLock { ps in
            let old = ps[name]
            ps[name] = p
            return (old, ps.map { "\($0.value.pid) \($0.key)" }.sorted())
        }
        old?.crash()
        // For `beacon-lab down` from another process: the PIDs this lab started, and nothing else.
        try? (pids.joined(separator: "\n") + "\n").write(toFile: path("pids"), atomically: true, encoding: .utf8)
        return p
    }

    public func process(_ name: String) -> LabProcess? { processes.withLock { $0[name] } }

    private func startEmulator() async throws {
        try "lab-token\n".write(toFile: path("tokens"), atomically: true, encoding: .utf8)
        let p = try spawn("kube-emulator", namespace: apiNS, [binary("kube-emulator"), "--address", apiAddress, "--port", "6443",
                                                              "--token-file", path("tokens"), "--cert-dir", path("certs"),
                                                              "--write-kubeconfig", kubeconfig])
        let deadline = ContinuousClock.now + .seconds(30)
        while !FileManager.default.fileExists(atPath: kubeconfig) {
            guard p.isRunning, ContinuousClock.now < deadline else { throw LabError("kube-emulator did not start: \(p.log)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        // Ready when kubectl gets an answer.
        while try await kubectl(["get", "namespaces"], check: false).status != 0 {
            guard ContinuousClock.now < deadline else { throw LabError("kube-emulator does not answer kubectl: \(p.log)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Runs kubectl against the lab's API server (from the API namespace).
    @discardableResult
    public func kubectl(_ args: [String], input: String? = nil, check: Bool = true) async throws -> Shell.Result {
        try await Shell.inNamespace(apiNS, ["kubectl", "--kubeconfig", kubeconfig] + args, input: input, check: check)
    }

    // MARK: - Router

    private func startRouter() async throws {
        var conf = """
            log "\(path("bird-events.log"))" all;
            router id \(routerIPv4);
            protocol device {}
            protocol kernel k4 { ipv4 { import none; export all; }; merge paths on; }
            protocol kernel k6 { ipv6 { import none; export all; }; merge paths on; }
            template bgp node {
              local as \(options.routerASN);
              hold time 9; keepalive time 3; connect delay time 1; connect retry time 2; error wait time 1,5;
              ipv4 { import all; export none; };
              ipv6 { import all; export none; };
            }

            """
        for i in nodeIndices {
            conf += "protocol bgp \(nodeName(i)) from node { neighbor \(nodeIPv4(i)) as \(options.nodeASN); source address \(routerIPv4); }\n"
        }
        try conf.write(toFile: path("bird.conf"), atomically: true, encoding: .utf8)
        try spawn("bird", namespace: routerNS, ["bird", "-f", "-c", path("bird.conf"), "-s", path("bird.ctl"), "-P", path("bird.pid")])
        // A start-up wait, not a timing assertion: on a loaded machine BIRD has been seen to take over 10 s.
        let bird = process("bird")
        let deadline = ContinuousClock.now + .seconds(30)
        while try await Shell.run(["birdc", "-s", path("bird.ctl"), "show", "status"], check: false).status != 0 {
            guard bird?.isRunning ?? false, ContinuousClock.now < deadline else { throw LabError("BIRD did not start: \(process("bird")?.log ?? "")") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// `birdc` on the router.
    public func birdc(_ args: [String]) async throws -> String {
        try await Shell.run(["birdc", "-s", path("bird.ctl")] + args).output
    }

    /// The router's kernel routes for `prefix` (`ip route show PREFIX`), with ECMP next hops.
    public func routerNextHops(_ prefix: String) async throws -> [String] {
        let family = prefix.contains(":") ? "-6" : "-4"
        let out = try await Shell.run(["ip", family, "-n", routerNS, "route", "show", prefix]).output
        var hops: [String] = []
        for line in out.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            if let v = words.firstIndex(of: "via"), v + 1 < words.count { hops.append(words[v + 1]) }
        }
        return hops.sorted()
    }

    // MARK: - Kubernetes objects

    /// Node objects with their InternalIPs (the emulator has no kubelet).
    public func registerNodes(labels: [Int: [String: String]] = [:]) async throws {
        for i in nodeIndices {
            var labelText = "    kubernetes.io/hostname: \(nodeName(i))\n"
            for (k, v) in (labels[i] ?? [:]).sorted(by: { $0.key < $1.key }) { labelText += "    \(k): \"\(v)\"\n" }
            try await kubectl(["apply", "-f", "-"], input: """
                apiVersion: v1
                kind: Node
                metadata:
                  name: \(nodeName(i))
                  labels:
                \(labelText)
                """)
            try await setNodeStatus(i, networkUnavailable: false)
        }
    }

    /// Sets a Node's addresses and its NetworkUnavailable condition.
    public func setNodeStatus(_ i: Int, networkUnavailable: Bool) async throws {
        let patch = """
            {"status":{"addresses":[\(options.ipv6Only ? "" : "{\"type\":\"InternalIP\",\"address\":\"\(nodeIPv4(i))\"},")\
            {"type":"InternalIP","address":"\(nodeIPv6(i))"},\
            {"type":"Hostname","address":"\(nodeName(i))"}],"conditions":[{"type":"Ready","status":"True"},\
            {"type":"NetworkUnavailable","status":"\(networkUnavailable ? "True" : "False")"}]}}
            """
        try await kubectl(["patch", "node", nodeName(i), "--subresource=status", "--type=merge", "-p", patch])
    }

    /// An EndpointSlice for `service` with one ready endpoint per node listed (the backend on that node).
    public func setEndpoints(namespace: String = "default", service: String, nodes: [Int], port: Int = 8080) async throws {
        var endpoints = ""
        for i in nodes {
            endpoints += """
                - addresses: ["\(nodeIPv4(i))"]
                  conditions: {ready: true, serving: true, terminating: false}
                  nodeName: \(nodeName(i))

                """
        }
        try await kubectl(["apply", "-f", "-"], input: """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: \(service)-lab
              namespace: \(namespace)
              labels:
                kubernetes.io/service-name: \(service)
            addressType: IPv4
            ports:
            - name: http
              port: \(port)
              protocol: TCP
            endpoints:
            \(nodes.isEmpty ? "[]" : endpoints)
            """)
    }

    /// The addresses the controller assigned to a Service (empty until it does).
    public func serviceAddresses(namespace: String = "default", _ name: String) async throws -> [String] {
        let r = try await kubectl(["get", "service", "-n", namespace, name, "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}"], check: false)
        return r.status == 0 ? r.output.split(separator: " ").map(String.init) : []
    }

    // MARK: - Daemons

    public func startController() async throws {
        try spawn("controller", namespace: apiNS, [binary("controller"), "run", "--kubeconfig", kubeconfig, "--admin-addr", options.adminOnAllAddresses ? ":7472" : "127.0.0.1:7472",
                                                   "--log-level", options.logLevel])
    }

    /// `speaker run` on node `i`, its admin port (metrics, probes) on 127.0.0.1:7473 (or every address) and its
    /// debug listener on 127.0.0.1:7474 in its namespace.
    @discardableResult
    public func startSpeaker(_ i: Int, extraArguments: [String] = []) throws -> LabProcess {
        // With the DaemonSet's capabilities and no more (drop ALL, add NET_RAW), so the lab proves they suffice.
        try spawn(nodeName(i), namespace: nodeNS(i),
                  ["setpriv", "--bounding-set", "-all,+net_raw", "--", binary("speaker"), "run", "--kubeconfig", kubeconfig, "--node-name", nodeName(i),
                   "--admin-addr", options.adminOnAllAddresses ? ":7473" : "127.0.0.1:7473",
                   "--debug-addr", "127.0.0.1:7474",
                   "--ml-secret-key-path", membershipKeyPath, "--ml-interval", "\(options.membershipInterval)",
                   "--ml-timeout", "\(options.membershipTimeout)", "--log-level", options.logLevel] + extraArguments)
    }

    public func speaker(_ i: Int) -> LabProcess? { process(nodeName(i)) }

    /// Runs a `speaker` debugging command against node `i`'s running speaker.
    public func speakerCLI(_ i: Int, _ args: [String], check: Bool = true) async throws -> Shell.Result {
        try await Shell.inNamespace(nodeNS(i), [binary("speaker")] + args + ["--debug-addr", "127.0.0.1:7474"], check: check)
    }

    /// Node `i` dies: its link goes down and its speaker is killed in the same instant (the link first, so
    /// nothing the dying process might still send gets out, as with a real power loss).
    public func killNode(_ i: Int) async throws {
        try await Shell.run(["ip", "-n", nodeNS(i), "link", "set", "eth0", "down"])
        speaker(i)?.crash()
    }

    /// Brings node `i`'s link back (and its default route, which went with it).
    public func healNode(_ i: Int) async throws {
        try await Shell.run(["ip", "-n", nodeNS(i), "link", "set", "eth0", "up"])
        try await Shell.run(["ip", "-n", nodeNS(i), "route", "replace", "default", "via", routerIPv4])
    }

    // MARK: - Backends and the kube-proxy stand-in

    /// A small HTTP server on every node (port 8080) that names its node.
    public func startBackends() throws {
        for i in nodeIndices {
            try spawn("backend-\(i)", namespace: nodeNS(i), [binary("beacon-lab"), "backend", "--name", nodeName(i), "--port", "8080",
                                                            "--lab", options.workDirectory])
        }
    }

    /// Programs every node's nftables: traffic for a service address goes to the node's own backend (TCP port 80
    /// to 8080; anything else, such as ping, to the node itself). kube-proxy does the same with the endpoints.
    public func programServiceNAT(_ addresses: [String]) async throws {
        for i in nodeIndices {
            var rules = "flush ruleset\ntable ip beacon_lab {\n chain prerouting {\n  type nat hook prerouting priority -100;\n"
            for a in addresses where !a.contains(":") {
                rules += "  ip daddr \(a) tcp dport 80 dnat to \(nodeIPv4(i)):8080\n  ip daddr \(a) dnat to \(nodeIPv4(i))\n"
            }
            rules += " }\n}\ntable ip6 beacon_lab6 {\n chain prerouting {\n  type nat hook prerouting priority -100;\n"
            for a in addresses where a.contains(":") {
                rules += "  ip6 daddr \(a) tcp dport 80 dnat to [\(nodeIPv6(i))]:8080\n  ip6 daddr \(a) dnat to \(nodeIPv6(i))\n"
            }
            rules += " }\n}\n"
            try await Shell.inNamespace(nodeNS(i), ["nft", "-f", "-"], input: rules)
        }
    }

    // MARK: - Observing

    /// The MACs that answer ARP for `ip` on the segment, as the client sees them (`arping`): `count` replies, or
    /// whatever came within 2 s. Requests go a second apart (the least iputils' arping allows).
    public func arpingMACs(_ ip: String, count: Int = 2, from ns: String? = nil) async throws -> [String] {
        let out = try await Shell.inNamespace(ns ?? clientNS, ["arping", "-c", "\(count)", "-w", "2", "-I", "eth0", ip], check: false).output
        var macs = Set<String>()
        for line in out.split(separator: "\n") where line.contains("reply from") {
            if let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") {
                macs.insert(line[line.index(after: open)..<close].lowercased())
            }
        }
        return macs.sorted()
    }

    /// Every MAC that answers one broadcast ARP request for `ip` within `window` milliseconds, as the client sees
    /// them (`arp-scan`, which keeps listening after the first answer, so two answering stations both show). A
    /// look at the segment in about 0.3 s, where `arpingMACs` needs a second.
    public func answeringMACs(_ ip: String, window: Int = 300, from ns: String? = nil) async throws -> [String] {
        let argv = ["arp-scan", "-I", "eth0", "-q", "-x", "--retry=1", "--timeout=\(window)", ip]
        let out = try await Shell.inNamespace(ns ?? clientNS, argv, check: false).output
        var macs = Set<String>()
        for line in out.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count >= 2, fields[0] == ip { macs.insert(fields[1].lowercased()) }
        }
        return macs.sorted()
    }

    /// Node `i`'s eth0 MAC.
    public func nodeMAC(_ i: Int) async throws -> String {
        let out = try await Shell.run(["ip", "-n", nodeNS(i), "-br", "link", "show", "eth0"]).output
        return out.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.map { String($0).lowercased() } ?? ""
    }

    /// Which node's MAC that is.
    public func node(withMAC mac: String) async throws -> Int? {
        for i in nodeIndices where try await nodeMAC(i) == mac.lowercased() { return i }
        return nil
    }

    /// `curl` from a client namespace; returns the body.
    public func curl(_ url: String, from ns: String, timeout: Int = 3) async throws -> Shell.Result {
        try await Shell.inNamespace(ns, ["curl", "-sS", "--max-time", "\(timeout)", url], check: false)
    }
}

public struct LabError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
