import ArgumentParser
import BeaconLab
import Foundation
import Synchronization

/// `beacon-bench failover`: layer 2 failover in the namespace lab, Beacon against keepalived (root).
///
/// A trial kills the node that announces the address: SIGKILL of its speaker (or keepalived) and its link set down
/// in the same instant. The client on the segment captures ARP with tcpdump (kernel timestamps) and pings the
/// address every 10 ms. Measured from the kill: the new owner's first gratuitous ARP at the client, and the first
/// ping reply through the address. Beacon runs as deployed (release build, membership 50 ms / 150 ms);
/// keepalived (VRRP) protects another address between the same two nodes, with its default `advert_int 1` and
/// tuned to `advert_int 0.1` with VRRP version 3. Then planned restarts: SIGTERM to the owning speaker while the
/// client broadcasts an ARP request every 10 ms; the longest time with no reply is the window with no announcer.
struct FailoverBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "failover", abstract: "Layer 2 failover: Beacon vs keepalived (root).")

    @Option(help: "Trials per contender.") var trials = 20
    @Option(help: "Planned restarts to measure.") var restarts = 10
    @Flag(help: "Skip keepalived.") var beaconOnly = false

    func run() async throws {
        guard getuid() == 0 else { throw ValidationError("beacon-bench failover needs root (network namespaces)") }
        for tool in ["keepalived", "tcpdump", "nft", "bird"] where try await Shell.run(["which", tool], check: false).status != 0 {
            throw ValidationError("\(tool) is missing (make deps installs it)")
        }
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        var options = Lab.Options(prefix: "bf\(id)", binDirectory: bin, workDirectory: NSTemporaryDirectory() + "beacon-failover-\(id)")
        options.logLevel = "warning"
        try await Lab.with(options) { lab in try await measure(lab) }
    }

    func measure(_ lab: Lab) async throws {
        try await lab.startExample()
        let ip = try await lab.exampleServiceAddress("web", pool: "lan")
        let capture = try Capture(lab: lab)
        defer { capture.stop() }
        try await Task.sleep(for: .seconds(2))

        var beacon: [Trial] = []
        for n in 0..<trials {
            let owner = try await waitForSingleOwner(lab, ip)
            let newMACs = Set(try await lab.nodeIndices.filter { $0 != owner }.asyncMap { try await lab.nodeMAC($0) })
            let pinger = try Pinger(lab: lab, ip: ip)
            defer { pinger.stop() }
            try await Task.sleep(for: .milliseconds(300))
            let killedAt = Date().timeIntervalSince1970
            try await lab.killNode(owner)
            let trial = try await waitForTrial(capture: capture, pinger: pinger, ip: ip, from: newMACs, since: killedAt,
                                               down: Date().timeIntervalSince1970)
            beacon.append(trial)
            say(#"{"bench":"failover","contender":"beacon","trial":\#(n + 1),"garp_ms":\#(ms1(trial.garp)),"ping_ms":\#(ms1(trial.ping))}"#)
            try await lab.healNode(owner)
            try lab.startSpeaker(owner)
            _ = try await waitForOwner(lab, ip, owner)
            try await Task.sleep(for: .milliseconds(500))
        }

        var restartGaps: [Double] = []
        for n in 0..<restarts {
            let owner = try await waitForSingleOwner(lab, ip)
            let prober = try ARPProber(lab: lab, ip: ip)
            defer { prober.stop() }
            try await Task.sleep(for: .milliseconds(300))
            let start = Date().timeIntervalSince1970
            let took = await lab.speaker(owner)?.stop(signal: SIGTERM, seconds: 5) ?? .zero
            try lab.startSpeaker(owner)
            _ = try await waitForOwner(lab, ip, owner)
            try await Task.sleep(for: .milliseconds(500))
            prober.stop()
            let end = Date().timeIntervalSince1970
            let replies = capture.replies(for: ip, between: start - 0.3, and: end)
            var gap = 0.0
            for (a, b) in zip(replies, replies.dropFirst()) { gap = max(gap, b.time - a.time) }
            restartGaps.append(gap * 1000)
            say(#"{"bench":"failover","contender":"beacon-restart","trial":\#(n + 1),"max_gap_ms":\#(ms1(gap * 1000)),"replies":\#(replies.count),"sigterm_exit_ms":\#(ms1(Double(took.components.seconds) * 1000 + Double(took.components.attoseconds) / 1e15))}"#)
        }

        var results: [(String, [Trial])] = [("beacon", beacon)]
        if !beaconOnly {
            // Beacon's speakers stay up (they announce nothing keepalived uses); keepalived protects another address.
            results.append(("keepalived advert_int 1", try await keepalived(lab, capture: capture, advert: "1", version: 2)))
            results.append(("keepalived advert_int 0.1 v3", try await keepalived(lab, capture: capture, advert: "0.1", version: 3)))
        }
        say("")
        say("| contender | trials | GARP at client median | p99 | max | first ping reply median | p99 |")
        say("|---|---|---|---|---|---|---|")
        for (name, trials) in results {
            let g = trials.map(\.garp).sorted(), p = trials.map(\.ping).sorted()
            say("| \(name) | \(trials.count) | \(ms1(quantile(g, 0.5))) ms | \(ms1(quantile(g, 0.99))) ms | \(ms1(g.last ?? 0)) ms | \(ms1(quantile(p, 0.5))) ms | \(ms1(quantile(p, 0.99))) ms |")
        }
        if results.count == 3 {
            let b = quantile(beacon.map(\.garp).sorted(), 0.5)
            say("ratios (GARP median): keepalived default / beacon = \(ms1(quantile(results[1].1.map(\.garp).sorted(), 0.5) / b)), tuned / beacon = \(ms1(quantile(results[2].1.map(\.garp).sorted(), 0.5) / b))")
        }
        let gaps = restartGaps.sorted()
        say("planned restarts: \(gaps.count), longest window without an ARP reply: median \(ms1(quantile(gaps, 0.5))) ms, max \(ms1(gaps.last ?? 0)) ms (probe every 10 ms)")
    }

    func keepalived(_ lab: Lab, capture: Capture, advert: String, version: Int) async throws -> [Trial] {
        let vip = "192.0.2.240"
        func start(_ i: Int) throws {
            let conf = """
                global_defs { router_id node\(i) \n vrrp_garp_master_delay 0 }
                vrrp_instance bench {
                  state BACKUP
                  interface eth0
                  virtual_router_id 51
                  priority \(i == 1 ? 150 : 100)
                  advert_int \(advert)
                  version \(version)
                  virtual_ipaddress { \(vip)/24 }
                }
                """
            let dir = lab.options.workDirectory
            try conf.write(toFile: "\(dir)/keepalived-\(i).conf", atomically: true, encoding: .utf8)
            // Fresh PID files per start: a killed keepalived's VRRP child can stay a zombie (nobody reaps orphans
            // here), and keepalived refuses to start while its old PID file names a process that exists.
            let run = UInt32.random(in: 0..<UInt32.max)
            try lab.spawn("keepalived-\(i)", namespace: lab.nodeNS(i),
                          ["keepalived", "-n", "-l", "-P", "-f", "\(dir)/keepalived-\(i).conf", "-p", "\(dir)/ka-\(i)-\(run).pid",
                           "-r", "\(dir)/ka-vrrp-\(i)-\(run).pid"])
        }
        try start(1)
        try start(2)
        var trials: [Trial] = []
        let mac2 = try await lab.nodeMAC(2)
        let mac1 = try await lab.nodeMAC(1)
        for n in 0..<self.trials {
            // node1 (priority 150) is master: wait until it answers for the VIP alone.
            var ok = false
            for _ in 0..<200 {
                if try await lab.arpingMACs(vip, count: 1) == [mac1] { ok = true; break }
                try await Task.sleep(for: .milliseconds(100))
            }
            guard ok else { throw LabError("keepalived on node1 never became master") }
            try await Task.sleep(for: .seconds(1))
            let pinger = try Pinger(lab: lab, ip: vip)
            defer { pinger.stop() }
            try await Task.sleep(for: .milliseconds(300))
            // The same death as Beacon's: link down, then SIGKILL to keepalived and its VRRP child (which would
            // otherwise send a priority-0 advertisement as its parent dies, something a dead node cannot do).
            let killedAt = Date().timeIntervalSince1970
            try await Shell.run(["ip", "-n", lab.nodeNS(1), "link", "set", "eth0", "down"])
            let down = Date().timeIntervalSince1970
            if let pid = lab.process("keepalived-1")?.pid { killTree(pid) }
            let trial = try await waitForTrial(capture: capture, pinger: pinger, ip: vip, from: [mac2], since: killedAt, down: down, limit: 15)
            trials.append(trial)
            say(#"{"bench":"failover","contender":"keepalived","advert_int":"\#(advert)","trial":\#(n + 1),"garp_ms":\#(ms1(trial.garp)),"ping_ms":\#(ms1(trial.ping))}"#)
            _ = await lab.process("keepalived-1")?.stop(signal: SIGKILL, seconds: 1)
            // The VIP stays on the dead node's eth0; a restarted keepalived removes and re-adds it.
            try await lab.healNode(1)
            try start(1)
        }
        for i in [1, 2] { _ = await lab.process("keepalived-\(i)")?.stop(signal: SIGTERM, seconds: 3) }
        try await Shell.run(["ip", "-n", lab.nodeNS(1), "addr", "del", "\(vip)/24", "dev", "eth0"], check: false)
        try await Shell.run(["ip", "-n", lab.nodeNS(2), "addr", "del", "\(vip)/24", "dev", "eth0"], check: false)
        try await Task.sleep(for: .seconds(1))
        return trials
    }

    struct Trial { var garp: Double; var ping: Double }

    /// The takeover after a kill at `since`: the first gratuitous ARP from a new owner, and the first ping reply after
    /// the old owner's link was down (`down`).
    func waitForTrial(capture: Capture, pinger: Pinger, ip: String, from macs: Set<String>, since: Double, down: Double,
                      limit: Double = 5) async throws -> Trial {
        let deadline = Date().timeIntervalSince1970 + limit
        while Date().timeIntervalSince1970 < deadline {
            if let g = capture.firstGratuitous(for: ip, fromAnyOf: macs, after: since), let p = pinger.firstReply(after: down) {
                return Trial(garp: (g - since) * 1000, ping: (p - since) * 1000)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LabError("no takeover seen within \(limit) s (gratuitous: \(capture.firstGratuitous(for: ip, fromAnyOf: macs, after: since).map { "\($0 - since)" } ?? "none"), ping: \(pinger.firstReply(after: down).map { "\($0 - since)" } ?? "none"))")
    }
}

/// The node that alone answers ARP for `ip` (waits up to 10 s).
func waitForSingleOwner(_ lab: Lab, _ ip: String) async throws -> Int {
    for _ in 0..<100 {
        let macs = try await lab.arpingMACs(ip, count: 1)
        if macs.count == 1, let n = try await lab.node(withMAC: macs[0]) { return n }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw LabError("no single owner for \(ip)")
}

/// Waits until `node` alone answers ARP for `ip` (up to 10 s).
func waitForOwner(_ lab: Lab, _ ip: String, _ node: Int) async throws -> Bool {
    let mac = try await lab.nodeMAC(node)
    for _ in 0..<100 {
        if try await lab.arpingMACs(ip, count: 1) == [mac] { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw LabError("node\(node) did not take \(ip) back")
}

/// SIGKILL to a process this benchmark started and to its children (keepalived forks its VRRP process).
func killTree(_ pid: Int32) {
    let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    kill(pid, SIGKILL)
    for c in children.split(separator: " ").compactMap({ Int32($0) }) { killTree(c) }
}

/// One line to standard output at once (print buffers when the output is a file).
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func ms1(_ v: Double) -> String { String(format: "%.1f", v) }

func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos.rounded(.down)), hi = Int(pos.rounded(.up))
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
}

extension Array {
    func asyncMap<T>(_ f: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await f(e)) }
        return out
    }
}

