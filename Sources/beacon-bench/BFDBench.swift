import ArgumentParser
import BeaconLab
import Foundation
import Synchronization

/// `beacon-bench bfd`: a node dies (its link goes down and its BGP speaker is SIGKILLed); how long until the router
/// (FRR with zebra, bfdd and bgpd) removes the node's route from its kernel table. Three ways, in one run:
/// - `beacon-bfd`: Beacon's session (`speaker bgp-probe`) with BFD 100 ms × 3;
/// - `frr-bfd-default`: the anchor, FRR as the node's speaker (what MetalLB's FRR mode runs) with MetalLB's default
///   BFDProfile, 300 ms × 3;
/// - `beacon-hold`: Beacon's session without BFD, so the router waits for the 9 s hold time.
/// Router and node hang off a bridge, so the node's link going down is not seen by the router's interface. The
/// router's kernel table is watched with one `ip monitor route` (a line as each route comes and goes), not polled.
struct BFDBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bfd", abstract: "Node death to route removal at FRR: BFD vs hold timer (root).")

    @Option(help: "Trials per way.") var trials = 20
    @Option(help: "Ways to measure (beacon-bfd, frr-bfd-default, beacon-hold).") var ways: [String] = ["beacon-bfd", "frr-bfd-default", "beacon-hold"]

    func run() async throws {
        guard getuid() == 0 else { throw ValidationError("beacon-bench bfd needs root (network namespaces)") }
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        let p = "bfd\(id)"
        let dir = NSTemporaryDirectory() + "beacon-bfd-\(id)"
        try FileManager.default.createDirectory(atPath: dir + "/r", withIntermediateDirectories: true)
        var net = BenchNet(prefix: p, dir: dir)
        defer { net.tearDown() }
        try await net.build()
        let routes = try RouteWatch(namespace: net.r, prefix: "198.51.100.10")
        defer { routes.stop() }
        let speaker = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("speaker").path
        var summary: [String: [Double]] = [:]
        for way in ways {
            var times: [Double] = []
            for trial in 1...trials {
                let t = try await net.trial(way: way, speaker: speaker, routes: routes)
                times.append(t)
                say(#"{"bench":"bfd","way":"\#(way)","trial":\#(trial),"route_gone_ms":\#(ms1(t * 1000))}"#)
            }
            summary[way] = times.sorted()
        }
        for way in ways {
            let s = summary[way] ?? []
            say(#"{"bench":"bfd","way":"\#(way)","trials":\#(s.count),"median_ms":\#(ms1(quantile(s, 0.5) * 1000)),"p99_ms":\#(ms1(quantile(s, 0.99) * 1000)),"max_ms":\#(ms1((s.last ?? 0) * 1000))}"#)
        }
    }
}

/// Router `R` (192.0.2.1, FRR) and node `N` (192.0.2.11) on a bridge in `SW`.
struct BenchNet {
    let prefix: String
    let dir: String
    var processes: [Process] = []
    var r: String { "\(prefix)-r" }
    var n: String { "\(prefix)-n" }
    var sw: String { "\(prefix)-sw" }

    init(prefix: String, dir: String) {
        self.prefix = prefix
        self.dir = dir
    }

    mutating func build() async throws {
        for ns in [r, n, sw] {
            try await Shell.run(["ip", "netns", "add", ns])
            try await Shell.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        }
        try await Shell.run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge"])
        try await Shell.run(["ip", "-n", sw, "link", "set", "br0", "up"])
        for (ns, host) in [(r, 1), (n, 11)] {
            try await Shell.run(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "p\(host)", "netns", sw])
            try await Shell.run(["ip", "-n", sw, "link", "set", "p\(host)", "master", "br0", "up"])
            try await Shell.run(["ip", "-n", ns, "addr", "add", "192.0.2.\(host)/24", "dev", "eth0"])
            try await Shell.run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        }
        try await startRouter()
    }

    /// zebra, bfdd and bgpd in the router: the node is a passive eBGP neighbour with BFD (MetalLB's default profile
    /// for the anchor, 100 ms × 3 for Beacon) or without it; one at a time, per way.
    mutating func startRouter() async throws {
        let rd = dir + "/r"
        try "".write(toFile: rd + "/zebra.conf", atomically: true, encoding: .utf8)
        try """
            bfd
             profile fast
              transmit-interval 100
              receive-interval 100
              detect-multiplier 3
             !
             profile metallb-default
              transmit-interval 300
              receive-interval 300
              detect-multiplier 3
             !
            !

            """.write(toFile: rd + "/bfdd.conf", atomically: true, encoding: .utf8)
        try await Shell.run(["chown", "-R", "frr:frr", rd])
        let zserv = rd + "/zserv.api"
        processes.append(try spawn(r, ["/usr/lib/frr/zebra", "-f", rd + "/zebra.conf", "-i", rd + "/zebra.pid", "--vty_socket", rd, "-z", zserv, "-P", "0"]))
        try await waitFor(zserv)
        processes.append(try spawn(r, ["/usr/lib/frr/bfdd", "-f", rd + "/bfdd.conf", "-i", rd + "/bfdd.pid", "--vty_socket", rd, "-z", zserv,
                                       "--bfdctl", rd + "/bfdd.sock", "-P", "0"]))
        try await waitFor(rd + "/bfdd.vty")
        try """
            frr defaults traditional
            router bgp 64512
             bgp router-id 192.0.2.1
             no bgp ebgp-requires-policy
             neighbor 192.0.2.11 remote-as 64513
             neighbor 192.0.2.11 timers 3 9
             neighbor 192.0.2.11 passive

            """.write(toFile: rd + "/bgpd.conf", atomically: true, encoding: .utf8)
        processes.append(try spawn(r, ["/usr/lib/frr/bgpd", "-f", rd + "/bgpd.conf", "-i", rd + "/bgpd.pid", "--vty_socket", rd,
                                       "-z", zserv, "-S", "-P", "0"]))
        try await waitFor(rd + "/bgpd.vty")
    }

    func vtysh(_ commands: [String]) async throws {
        try await Shell.inNamespace(r, ["vtysh", "--vty_socket", dir + "/r"] + commands.flatMap { ["-c", $0] })
    }

    /// One death: the node's speaker up and its route in the router's kernel; then link down and SIGKILL; the time
    /// until the route is gone.
    func trial(way: String, speaker: String, routes: RouteWatch) async throws -> Double {
        let bfd: String? = way == "beacon-bfd" ? "fast" : way == "frr-bfd-default" ? "metallb-default" : nil
        try await vtysh(["configure terminal", "router bgp 64512",
                         bfd.map { "neighbor 192.0.2.11 bfd profile \($0)" } ?? "no neighbor 192.0.2.11 bfd", "end"])
        try await Shell.run(["ip", "-n", n, "link", "set", "eth0", "up"])
        let prefix = "198.51.100.10"
        let node: Process
        var nodeFRR: [Process] = []
        if way == "frr-bfd-default" {
            nodeFRR = try await startNodeFRR(prefix: prefix)
            node = nodeFRR[nodeFRR.count - 1]
        } else {
            var args = [speaker, "bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512", "--hold-time", "9",
                        "--announce", "\(prefix)/32"]
            if bfd != nil { args += ["--bfd-interval", "100"] }
            node = try spawn(n, args)
        }
        defer { for p in nodeFRR + [node] where p.isRunning { killTree(p.processIdentifier) } }
        // Up: the route in the kernel, and with BFD, the router's BFD session up (so the death is BFD's to see).
        let deadline = ContinuousClock.now + .seconds(60)
        while !routes.installed {
            guard ContinuousClock.now < deadline else { throw LabError("\(way): the node's route never reached the router's kernel") }
            try await Task.sleep(for: .milliseconds(20))
        }
        while bfd != nil, try await !bfdUp() {
            guard ContinuousClock.now < deadline else { throw LabError("\(way): the router's BFD session never came up") }
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Task.sleep(for: .milliseconds(500))
        let start = ContinuousClock.now
        try await Shell.run(["ip", "-n", n, "link", "set", "eth0", "down"])
        for p in nodeFRR + [node] { killTree(p.processIdentifier) }
        guard let removed = try await routes.waitForRemoval(within: .seconds(30)) else { throw LabError("\(way): the route stayed 30 s") }
        let gone = removed - start
        // Let the router's BGP session finish going down before the next trial.
        try await Task.sleep(for: .milliseconds(300))
        return Double(gone.components.seconds) + Double(gone.components.attoseconds) / 1e18
    }


    func bfdUp() async throws -> Bool {
        try await Shell.inNamespace(r, ["vtysh", "--vty_socket", dir + "/r", "-c", "show bfd peers json"]).output.contains("\"status\":\"up\"")
    }

    /// FRR as the node's speaker, as MetalLB's FRR mode runs it: bgpd announcing the prefix (a static route to
    /// null makes it exist), bfdd with MetalLB's default profile.
    func startNodeFRR(prefix: String) async throws -> [Process] {
        let nd = dir + "/n-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: nd, withIntermediateDirectories: true)
        try "".write(toFile: nd + "/zebra.conf", atomically: true, encoding: .utf8)
        try "bfd\n profile metallb-default\n  transmit-interval 300\n  receive-interval 300\n  detect-multiplier 3\n !\n!\n"
            .write(toFile: nd + "/bfdd.conf", atomically: true, encoding: .utf8)
        try """
            frr defaults traditional
            router bgp 64513
             bgp router-id 192.0.2.11
             no bgp ebgp-requires-policy
             no bgp network import-check
             neighbor 192.0.2.1 remote-as 64512
             neighbor 192.0.2.1 timers 3 9
             neighbor 192.0.2.1 bfd profile metallb-default
             address-family ipv4 unicast
              network \(prefix)/32
             exit-address-family

            """.write(toFile: nd + "/bgpd.conf", atomically: true, encoding: .utf8)
        try await Shell.run(["chown", "-R", "frr:frr", nd])
        let zserv = nd + "/zserv.api"
        var out = [try spawn(n, ["/usr/lib/frr/zebra", "-f", nd + "/zebra.conf", "-i", nd + "/zebra.pid", "--vty_socket", nd, "-z", zserv, "-P", "0"])]
        try await waitFor(zserv)
        out.append(try spawn(n, ["/usr/lib/frr/bfdd", "-f", nd + "/bfdd.conf", "-i", nd + "/bfdd.pid", "--vty_socket", nd, "-z", zserv,
                                 "--bfdctl", nd + "/bfdd.sock", "-P", "0"]))
        try await waitFor(nd + "/bfdd.vty")
        out.append(try spawn(n, ["/usr/lib/frr/bgpd", "-f", nd + "/bgpd.conf", "-i", nd + "/bgpd.pid", "--vty_socket", nd, "-z", zserv, "-S", "-P", "0"]))
        return out
    }

    func waitFor(_ path: String) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !FileManager.default.fileExists(atPath: path) {
            guard ContinuousClock.now < deadline else { throw LabError("\(path) did not appear") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func spawn(_ ns: String, _ argv: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", ns] + argv
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func tearDown() {
        for p in processes where p.isRunning { killTree(p.processIdentifier); p.waitUntilExit() }
        for ns in [r, n, sw] { _ = shellStatus(["ip", "netns", "del", ns]) }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// `ip -n NS monitor route`, read as it prints: whether `prefix` is in the kernel table, and when it left.
final class RouteWatch: Sendable {
    private let process: Process
    private let prefix: Substring
    private let state = Mutex<(installed: Bool, removedAt: ContinuousClock.Instant?, pending: String)>((false, nil, ""))

    init(namespace: String, prefix: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "-n", namespace, "monitor", "route"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        process = p
        self.prefix = Substring(prefix)
        _ = PipeReader(pipe.fileHandleForReading) { [weak self] data in self?.take(data, at: .now) }
        try p.run()
        usleep(200_000)
    }

    private func take(_ data: Data, at now: ContinuousClock.Instant) {
        state.withLock { s in
            s.pending += String(decoding: data, as: UTF8.self)
            while let newline = s.pending.firstIndex(of: "\n") {
                let words = s.pending[..<newline].split(separator: " ")
                s.pending = String(s.pending[s.pending.index(after: newline)...])
                if words.first == "Deleted", words.dropFirst().first == prefix {
                    s.installed = false
                    s.removedAt = now
                } else if words.first == prefix {
                    s.installed = true
                }
            }
        }
    }

    var installed: Bool { state.withLock { $0.installed } }

    /// Waits for the route to leave; the instant its removal was read, nil if it stayed.
    func waitForRemoval(within limit: Duration) async throws -> ContinuousClock.Instant? {
        state.withLock { $0.removedAt = nil }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let t = state.withLock({ $0.installed ? nil : $0.removedAt }) { return t }
            try await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    func stop() { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
}
