import ArgumentParser
import BeaconLab
import Foundation
import Synchronization

/// `beacon-bench attack`: hostile input against a live lab (root).
///
/// The lab runs as deployed: three speakers with their admin ports on every address, BGP sessions to BIRD, a layer 2
/// address (IPv4, and an IPv6 one) and a BGP address. While the client on the segment pings the layer 2 address
/// every 10 ms and the kubelet-style probes ask every daemon's `/healthz` twice a second from its own node, the
/// attackers (`beacon-bench attack-agent`, started in the lab's namespaces) take turns:
/// 1. malformed HTTP requests and slow connections on every admin and debug port;
/// 2. spoofed ARP replies and neighbour advertisements for the announced addresses from random MACs, while the
///    client asks for the address every 10 ms;
/// 3. forged, replayed and garbage membership datagrams to every speaker;
/// 4. a second BGP peer (the client, configured as a BGPPeer) that sends malformed UPDATEs;
/// 5. the API server answering writes with garbage, 500s, 100 MB bodies and truncated lists.
/// Then it prints what the attack cost: crashes, failovers, ping loss, ARP answer latency, heartbeat gaps, RSS growth
/// per daemon and events per Service.
struct AttackBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attack", abstract: "Hostile input against a live lab (root).")

    @Option(help: "Malformed HTTP requests per port.") var requests = 10_000
    @Option(help: "Slow connections per port.") var slow = 1_000
    @Option(help: "Spoofed ARP replies and neighbour advertisements.") var frames = 100_000
    @Option(help: "Spoofed frames per second.") var frameRate = 20_000
    @Option(help: "Membership datagrams per second to each speaker.") var membershipRate = 50_000
    @Option(help: "Seconds of membership flood.") var membershipSeconds = 10
    @Option(help: "Seconds the hostile BGP peer runs.") var bgpSeconds = 20
    @Option(help: "Phases to run, in order (http, frames, membership, bgp, api).") var phases: [String] = ["http", "frames", "membership", "bgp", "api"]

    func run() async throws {
        guard getuid() == 0 else { throw ValidationError("beacon-bench attack needs root (network namespaces)") }
        for tool in ["tcpdump", "nft", "bird", "curl"] where try await Shell.run(["which", tool], check: false).status != 0 {
            throw ValidationError("\(tool) is missing (make deps installs it)")
        }
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        var options = Lab.Options(prefix: "ba\(id)", binDirectory: bin, workDirectory: NSTemporaryDirectory() + "beacon-attack-\(id)")
        options.adminOnAllAddresses = true
        try await Lab.with(options) { lab in try await measure(lab) }
    }

    func measure(_ lab: Lab) async throws {
        try await lab.startExample()
        try await lab.kubectl(["apply", "-f", "-"], input: """
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: hostile, namespace: metallb-system}
            spec: {myASN: 64513, peerASN: 64666, peerAddress: \(lab.clientIPv4), holdTime: 9s, connectTime: 1s}
            """)
        let ip = try await lab.exampleServiceAddress("web", pool: "lan")
        _ = try await lab.exampleServiceAddress("api", pool: "routed")
        let ip6 = try await ipv6Service(lab, "web6")
        let sessions = try await establishedSessions(lab)
        guard sessions.count == lab.nodeIndices.count else { throw LabError("BGP sessions not up: \(sessions)") }
        let owner = try await waitForSingleOwner(lab, ip)
        let ownerMAC = try await lab.nodeMAC(owner)
        let owner6MAC = try await lab.nodeMAC(try await announcer(lab, ip6))
        say(#"{"bench":"attack","layer2":"\#(ip)","layer2_v6":"\#(ip6)","owner":"node\#(owner)","bgp_sessions":\#(sessions.count)}"#)

        let daemons = ["controller"] + lab.nodeIndices.map(lab.nodeName)
        let pids = daemons.map { lab.process($0)?.pid ?? 0 }
        let rssBefore = pids.map(rss)
        let eventsBefore = try await eventCounts(lab)
        let logOffsets = lab.nodeIndices.map { lab.speaker($0)?.log.utf8.count ?? 0 }
        let start = Date().timeIntervalSince1970
        let capture = try Capture(lab: lab)
        defer { capture.stop() }
        let pinger = try Pinger(lab: lab, ip: ip)
        defer { pinger.stop() }
        let probes = Probes()
        async let probing: Void = probes.run(lab)
        try await Task.sleep(for: .seconds(1))

        // 1. Admin HTTP.
        var httpProbes = Probes.Tally()
        if phases.contains("http") {
        var agents: [(String, [String])] = []
        for i in lab.nodeIndices {
            agents.append((lab.clientNS, ["http", "--target", "\(lab.nodeIPv4(i)):7473"]))
            agents.append((lab.nodeNS(i), ["http", "--target", "127.0.0.1:7474"]))
        }
        agents.append((lab.clientNS, ["http", "--target", "\(lab.apiIPv4):7472"]))
        let httpResults = try await withThrowingTaskGroup(of: String.self) { group in
            for (ns, args) in agents {
                group.addTask { try await agent(lab, ns, args + ["--requests", "\(requests)", "--slow", "\(slow)"]) }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        for line in httpResults.sorted() { say(line) }
        httpProbes = probes.take()
        say(#"{"phase":"http","probes":\#(httpProbes.total),"probe_failures":\#(httpProbes.failed),"probe_max_ms":\#(ms1(httpProbes.maxMs))}"#)
        }

        // 2. Spoofed ARP replies and neighbour advertisements.
        var arpBaseline: (ms: [Double], asked: Int, unanswered: Int) = ([], 0, 0), arpFlood = arpBaseline
        if phases.contains("frames") {
        arpBaseline = try await arpLatencies(lab, capture: capture, ip: ip, seconds: 3, during: nil)
        let floodSeconds = max(1, frames / max(1, frameRate)) + 1
        arpFlood = try await arpLatencies(lab, capture: capture, ip: ip, seconds: floodSeconds, during: {
            try await agent(lab, lab.clientNS, ["frames", "--ipv4", ip, "--ipv6", ip6, "--to", ownerMAC, "--to6", owner6MAC,
                                                "--count", "\(frames)", "--rate", "\(frameRate)"])
        })
        say(#"{"phase":"frames","arp_requests":\#(arpFlood.asked),"arp_unanswered":\#(arpFlood.unanswered),"arp_p50_ms":\#(ms1(quantile(arpFlood.ms, 0.5))),"arp_p99_ms":\#(ms1(quantile(arpFlood.ms, 0.99))),"baseline_p99_ms":\#(ms1(quantile(arpBaseline.ms, 0.99)))}"#)
        }

        // 3. Membership: replays come from a capture of real traffic on node1.
        var gaps: [Double: Double] = [:]
        if phases.contains("membership") {
        let pcap = lab.options.workDirectory + "/membership.pcap"
        try await Shell.inNamespace(lab.nodeNS(1), ["timeout", "3", "tcpdump", "-i", "eth0", "-c", "300", "-w", pcap, "udp", "port", "7946"], check: false)
        let gapsBefore = try await lab.nodeIndices.asyncMap { try await gapHistogram(lab, $0) }
        var membershipArgs = ["membership", "--rate", "\(membershipRate)", "--seconds", "\(membershipSeconds)", "--replay", pcap]
        for i in lab.nodeIndices { membershipArgs += ["--target", "\(lab.nodeIPv4(i)):7946", "--member", lab.nodeName(i)] }
        say(try await agent(lab, lab.clientNS, membershipArgs))
        let gapsAfter = try await lab.nodeIndices.asyncMap { try await gapHistogram(lab, $0) }
        for (a, b) in zip(gapsAfter, gapsBefore) { for (le, n) in a { gaps[le, default: 0] += n - (b[le] ?? 0) } }
        say(#"{"phase":"membership","heartbeats":\#(Int(gaps.values.max() ?? 0)),"heartbeat_gap_p99_le_ms":\#(ms1(histogramQuantile(gaps, 0.99) * 1000)),"heartbeat_gap_max_le_ms":\#(ms1(histogramMaximum(gaps) * 1000))}"#)
        }
        let gapP99 = histogramQuantile(gaps, 0.99)

        // 4. A hostile BGP peer.
        if phases.contains("bgp") {
            say(try await agent(lab, lab.clientNS, ["bgp", "--listen", lab.clientIPv4, "--seconds", "\(bgpSeconds)"]))
        }

        // 5. The API server answering writes with garbage, errors and huge bodies.
        var recoveries: [String] = []
        for (label, fault) in !phases.contains("api") ? [] : [("garbage", #""answer":"garbage""#), ("500", #""code":500"#),
                               ("huge", #""answer":"huge","size":100000000,"count":3"#), ("truncated", #""answer":"truncated""#)] {
            let name = "attack-\(label)"
            for method in ["PATCH", "PUT", "POST"] {
                let path = method == "POST" ? "/api/v1/namespaces/default/events" : "/*"
                try await lab.kubectl(["create", "--raw", "/emulator/faults", "-f", "-"], input: #"{"method":"\#(method)","path":"\#(path)",\#(fault)}"#)
            }
            try await lab.kubectl(["apply", "-f", "-"], input: Lab.exampleService(name, pool: "lan"))
            try await Task.sleep(for: .seconds(4))
            try await lab.kubectl(["delete", "--raw", "/emulator/faults"])
            let cleared = ContinuousClock.now
            while try await lab.serviceAddresses(name).isEmpty {
                guard ContinuousClock.now - cleared < .seconds(60) else { throw LabError("\(name) got no address after the faults ended") }
                try await Task.sleep(for: .milliseconds(100))
            }
            recoveries.append(#""\#(label)_recovery_s":\#(String(format: "%.2f", (ContinuousClock.now - cleared).seconds))"#)
            try await lab.kubectl(["delete", "service", name, "--wait=false"])
        }
        if !recoveries.isEmpty { say(#"{"phase":"api",\#(recoveries.joined(separator: ","))}"#) }

        // The verdict, after the daemons had time to settle.
        try await Task.sleep(for: .seconds(5))
        probes.stop()
        await probing
        let end = Date().timeIntervalSince1970
        let crashed = zip(daemons, pids).filter { name, pid in !(lab.process(name)?.isRunning ?? false) || lab.process(name)?.pid != pid }.map(\.0)
        let rssAfter = pids.map(rss)
        let lost = lab.nodeIndices.map { i -> Int in
            let log = lab.speaker(i)?.log ?? ""
            return String(log.utf8.dropFirst(logOffsets[i - 1]))?.components(separatedBy: "speaker lost").count ?? 1
        }.reduce(0) { $0 + $1 - 1 }
        let sessionsAfter = try await establishedSessions(lab)
        let flapped = sessions.filter { sessionsAfter[$0.key] != $0.value }.keys.sorted()
        let otherNodes = Set(try await lab.nodeIndices.filter { $0 != owner }.asyncMap { try await lab.nodeMAC($0) })
        let replies = capture.replies(for: ip, between: start, and: end)
        let moved = replies.filter { otherNodes.contains($0.mac) }.count
        let spoofedSeen = replies.filter { $0.mac != ownerMAC && !otherNodes.contains($0.mac) }.count
        let ping = pinger.loss
        let eventsAfter = try await eventCounts(lab)
        let events = eventsAfter.map { ($0.key, $0.value - (eventsBefore[$0.key] ?? 0)) }.filter { $0.1 > 0 }.sorted { $0.0 < $1.0 }
        let allProbes = probes.take()
        say("")
        say("| measure | result |")
        say("|---|---|")
        say("| daemons crashed or restarted | \(crashed.count)\(crashed.isEmpty ? "" : " (\(crashed.joined(separator: ", ")))") |")
        say("| speakers declared lost (membership) | \(lost) |")
        say("| ARP replies for \(ip) from another node than the owner | \(moved) |")
        say("| spoofed ARP replies for \(ip) that reached the client | \(spoofedSeen) |")
        say("| BGP sessions to the router that flapped | \(flapped.count) |")
        say("| client pings (10 ms) lost | \(ping.lost) of \(ping.sent) |")
        say("| /healthz probes failed (twice a second per daemon) | \(httpProbes.failed + allProbes.failed) of \(httpProbes.total + allProbes.total), slowest \(ms1(max(httpProbes.maxMs, allProbes.maxMs))) ms |")
        say("| ARP answer p99 before / during the spoofed flood | \(ms1(quantile(arpBaseline.ms, 0.99))) ms / \(ms1(quantile(arpFlood.ms, 0.99))) ms (\(arpFlood.unanswered) of \(arpFlood.asked) unanswered) |")
        say("| heartbeat gap p99 during the membership flood | ≤ \(ms1(gapP99 * 1000)) ms (longest ≤ \(ms1(histogramMaximum(gaps) * 1000)) ms) |")
        for (name, (a, b)) in zip(daemons, zip(rssBefore, rssAfter)) {
            say("| RSS \(name) | \(mib(a)) → \(mib(b)) MiB (\(b >= a ? "+" : "")\(mib(b - a))) |")
        }
        say("| events posted during the attack | \(events.isEmpty ? "none" : events.map { "\($0.0): \($0.1)" }.joined(separator: ", ")) |")
    }

    /// A Service of one IPv6 address from the layer 2 pool.
    func ipv6Service(_ lab: Lab, _ name: String) async throws -> String {
        try await lab.kubectl(["apply", "-f", "-"], input: Lab.exampleService(name, pool: "lan")
            .replacingOccurrences(of: "  type: LoadBalancer", with: "  type: LoadBalancer\n  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv6]"))
        try await lab.setEndpoints(service: name, nodes: lab.nodeIndices)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let a = try await lab.serviceAddresses(name).first { return a }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LabError("no IPv6 address for \(name)")
    }

    /// The node whose speaker announces `ip` in layer 2 (from `metallb_speaker_announced`).
    func announcer(_ lab: Lab, _ ip: String) async throws -> Int {
        for i in lab.nodeIndices {
            let metrics = try await lab.curl("http://\(lab.nodeIPv4(i)):7473/metrics", from: lab.nodeNS(i)).output
            if metrics.split(separator: "\n").contains(where: { $0.contains("protocol=\"layer2\"") && $0.contains("ip=\"\(ip)\"") }) { return i }
        }
        throw LabError("no speaker announces \(ip)")
    }

    /// The router's BGP sessions to the nodes that are Established, with the time they came up.
    func establishedSessions(_ lab: Lab) async throws -> [String: String] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            var up: [String: String] = [:]
            for line in try await lab.birdc(["show", "protocols"]).split(separator: "\n") {
                let w = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                if w.count >= 6, w[0].hasPrefix("node"), w[1] == "BGP", w[5] == "Established" { up[w[0]] = w[4] }
            }
            if up.count == lab.nodeIndices.count || ContinuousClock.now > deadline { return up }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Runs one attacker in a namespace and returns its JSON line.
    func agent(_ lab: Lab, _ ns: String, _ args: [String]) async throws -> String {
        let r = try await Shell.inNamespace(ns, [lab.binary("beacon-bench"), "attack-agent"] + args, check: false)
        guard r.status == 0, let line = r.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw LabError("attack-agent \(args.first ?? "") failed (\(r.status)): \(r.output)")
        }
        return String(line)
    }

    /// Broadcast ARP requests every 10 ms from the client for `seconds` (while `during` runs, if given): the time from
    /// each request to its first reply, and the requests nobody answered within 1 s.
    func arpLatencies(_ lab: Lab, capture: Capture, ip: String, seconds: Int,
                      during: (@Sendable () async throws -> String)?) async throws -> (ms: [Double], asked: Int, unanswered: Int) {
        let begin = Date().timeIntervalSince1970
        let prober = try ARPProber(lab: lab, ip: ip, seconds: seconds)
        if let during { say(try await during()) }
        try await Task.sleep(for: .seconds(seconds))
        prober.stop()
        try await Task.sleep(for: .seconds(1))
        let frames = capture.frames(between: begin, and: Date().timeIntervalSince1970)
        let requests = frames.filter { $0.line.contains("Request who-has \(ip) tell \(lab.clientIPv4)") }.map(\.time)
        let replies = frames.filter { $0.line.contains("Reply \(ip) is-at") }.map(\.time)
        var ms: [Double] = [], unanswered = 0
        for t in requests {
            if let r = replies.first(where: { $0 >= t && $0 < t + 1 }) { ms.append((r - t) * 1000) } else { unanswered += 1 }
        }
        return (ms.sorted(), requests.count, unanswered)
    }

    /// Cumulative counts of a speaker's heartbeat-gap histogram, by upper bound in seconds.
    func gapHistogram(_ lab: Lab, _ i: Int) async throws -> [Double: Double] {
        let text = try await lab.curl("http://\(lab.nodeIPv4(i)):7473/metrics", from: lab.nodeNS(i)).output
        var out: [Double: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("beacon_membership_heartbeat_gap_seconds_bucket") {
            guard let le = line.range(of: "le=\""), let close = line[le.upperBound...].firstIndex(of: "\""),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            let bound = line[le.upperBound..<close]
            out[bound == "+Inf" ? .infinity : Double(bound) ?? .infinity] = value
        }
        return out
    }

    /// Events per involved object (`Kind/namespace/name`).
    func eventCounts(_ lab: Lab) async throws -> [String: Int] {
        let text = try await lab.kubectl(["get", "events", "-A", "-o", "jsonpath={range .items[*]}{.involvedObject.kind}/{.involvedObject.namespace}/{.involvedObject.name}{\"\\n\"}{end}"]).output
        return text.split(separator: "\n").reduce(into: [:]) { $0[String($1), default: 0] += 1 }
    }
}

/// The upper bound of the bucket where the `q` quantile falls, from cumulative bucket counts.
func histogramQuantile(_ cumulative: [Double: Double], _ q: Double) -> Double {
    let sorted = cumulative.sorted { $0.key < $1.key }
    guard let total = sorted.last?.value, total > 0 else { return 0 }
    return sorted.first { $0.value >= q * total }?.key ?? .infinity
}

/// The upper bound of the highest bucket that gained a sample.
func histogramMaximum(_ cumulative: [Double: Double]) -> Double {
    let sorted = cumulative.sorted { $0.key < $1.key }
    guard let total = sorted.last?.value, total > 0 else { return 0 }
    return sorted.first { $0.value >= total }?.key ?? .infinity
}

/// Resident set size of a process, bytes (0 if it is gone).
func rss(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
    return kb * 1024
}

func mib(_ bytes: Int) -> String { String(format: "%.1f", Double(bytes) / 1_048_576) }

/// `/healthz` on every daemon twice a second, from its own node (where the kubelet asks from).
final class Probes: Sendable {
    struct Tally: Sendable { var total = 0, failed = 0, maxMs = 0.0 }
    private let tally = Mutex(Tally())
    private let stopped = Mutex(false)

    func stop() { stopped.withLock { $0 = true } }

    func run(_ lab: Lab) async {
        var targets = lab.nodeIndices.map { (lab.nodeNS($0), "http://\(lab.nodeIPv4($0)):7473/healthz") }
        targets.append((lab.apiNS, "http://\(lab.apiIPv4):7472/healthz"))
        while !stopped.withLock({ $0 }) {
            await withTaskGroup(of: Void.self) { group in
                for (ns, url) in targets {
                    group.addTask {
                        let t0 = ContinuousClock.now
                        let r = try? await lab.curl(url, from: ns, timeout: 2)
                        let ms = (ContinuousClock.now - t0).seconds * 1000
                        self.tally.withLock { t in
                            t.total += 1
                            if r?.status != 0 || r?.output.contains("ok") != true { t.failed += 1 }
                            t.maxMs = max(t.maxMs, ms)
                        }
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// The tally so far, and a fresh one from now on.
    func take() -> Tally { tally.withLock { t in defer { t = Tally() }; return t } }
}
