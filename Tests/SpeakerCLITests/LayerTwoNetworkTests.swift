import BeaconLab
import Foundation
import Synchronization
import TestSupport
import Testing

/// An L2 segment of namespaces: a bridge namespace and, on it, `nodes` speakers' namespaces (192.0.2.11.., 2001:db8::11..)
/// and a client (192.0.2.50, 2001:db8::50) whose kernel learns from gratuitous ARP (`arp_accept=1`) and unsolicited
/// NA (`forwarding=1`, `accept_untracked_na=1`), as netlab.md shows. Unique names; removed in `deinit`.
final class Segment {
    let prefix: String
    let count: Int
    var client: String { "\(prefix)-client" }
    private var made: [String] = []

    init(nodes count: Int) throws {
        prefix = "bcn-l2-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        self.count = count
        try build(count)
    }

    private func node(_ i: Int) -> String { "\(prefix)-n\(i)" }

    private func build(_ count: Int) throws {
        func must(_ args: [String]) throws {
            let r = try sh(args)
            try #require(r.status == 0, "\(args.joined(separator: " ")): \(r.output)")
        }
        let sw = "\(prefix)-sw"
        try must(["ip", "netns", "add", sw]); made.append(sw)
        try must(["ip", "-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
        try must(["ip", "-n", sw, "link", "set", "br0", "up"])
        let members = (1...count).map { (node($0), 10 + $0) } + [(client, 50)]
        for (i, (ns, host)) in members.enumerated() {
            try must(["ip", "netns", "add", ns]); made.append(ns)
            try must(["ip", "-n", ns, "link", "set", "lo", "up"])
            try must(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "p\(i)", "netns", sw])
            try must(["ip", "-n", sw, "link", "set", "p\(i)", "master", "br0", "up"])
            try must(["ip", "-n", ns, "link", "set", "eth0", "up"])
            try must(["ip", "-n", ns, "addr", "add", "192.0.2.\(host)/24", "dev", "eth0"])
            try must(["ip", "-n", ns, "addr", "add", "2001:db8::\(host)/64", "dev", "eth0", "nodad"])
        }
        for setting in ["net.ipv4.conf.eth0.arp_accept=1", "net.ipv6.conf.eth0.forwarding=1", "net.ipv6.conf.eth0.accept_untracked_na=1"] {
            try must(["ip", "netns", "exec", client, "sysctl", "-qw", setting])
        }
        // Link-local addresses come up after DAD on the veth; wait for them (the NA source).
        for ns in members.map(\.0) {
            let ok = (0..<100).contains { _ in
                let out = (try? sh(["ip", "-n", ns, "-6", "addr", "show", "dev", "eth0", "scope", "link"]))?.output ?? ""
                if out.contains("fe80::") && !out.contains("tentative") { return true }
                usleep(50_000)
                return false
            }
            try #require(ok, "no link-local address in \(ns)")
        }
    }

    var nodeNames: [String] { (1...count).map(node) }

    func mac(_ ns: String, _ dev: String = "eth0") throws -> String {
        let out = try sh(["ip", "-n", ns, "-o", "link", "show", dev]).output
        guard let r = out.firstRange(of: "link/ether ") else { return "" }
        return String(out[r.upperBound...].prefix(17)).lowercased()
    }

    /// The client's neighbour entry for `ip`: the MAC, or "" when there is none.
    func clientEntry(_ ip: String) throws -> String {
        let out = try sh(["ip", "-n", client, "neigh", "show", ip]).output
        guard let r = out.firstRange(of: "lladdr ") else { return "" }
        return String(out[r.upperBound...].prefix(17)).lowercased()
    }

    func run(_ ns: String, _ args: [String]) throws -> (status: Int32, output: String) {
        try sh(["ip", "netns", "exec", ns] + args)
    }

    deinit {
        for ns in made.reversed() { _ = try? sh(["ip", "netns", "del", ns]) }
    }
}

/// A `speaker` running in a namespace, its output collected.
final class BackgroundSpeaker: @unchecked Sendable {
    // Safety: `process` is used from the test's task only; output is behind a Mutex.
    let process = Process()
    private let buffer = TextBuffer()

    convenience init(_ ns: String, _ args: [String]) throws {
        try self.init(command: ["ip", "netns", "exec", ns, SpeakerProcess.binary.path] + args)
    }

    init(command: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let b = buffer
        _ = PipeReader(pipe.fileHandleForReading) { d in b.text.withLock { $0 += String(decoding: d, as: UTF8.self) } }
        try process.run()
    }

    var output: String { buffer.text.withLock { $0 } }

    func waitFor(_ text: String, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            usleep(10_000)
        }
        return output.contains(text)
    }

    /// The epoch milliseconds printed at the start of the first line containing `text`.
    func stamp(_ text: String) -> Double? {
        output.split(separator: "\n").first { $0.contains(text) }.flatMap { Double($0.split(separator: " ").first ?? "") }
    }

    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// For tools that ignore SIGTERM when started from the test runner (`ip monitor`).
    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }
}

final class TextBuffer: Sendable {
    let text = Mutex("")
}

/// Epoch milliseconds of an `ip -ts monitor` line (`[2026-12-01T10:37:52.330087] ...`, local time).
func monitorTime(_ line: Substring) -> Double? {
    guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
    let text = line[line.index(after: line.startIndex)..<close]
    let parts = text.split(separator: ".")
    guard parts.count == 2, let micros = Double("0." + parts[1]) else { return nil }
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone.current
    f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
    guard let date = f.date(from: String(parts[0])) else { return nil }
    return (date.timeIntervalSince1970 + micros) * 1000
}

func nowMilliseconds() -> Double { Date().timeIntervalSince1970 * 1000 }

@Suite("layer 2 announcements on a real segment (namespaces, kernel neighbour tables, arping, ndisc6)", .dedicatedThreads, .tags(.privileged))
struct LayerTwoNetworkTests {
    /// The owner's gratuitous frames create the client's neighbour entries; arping and ndisc6 get answers only from
    /// the owner and only for owned addresses; an interface that was not selected stays silent; after release
    /// nothing answers.
    @Test("answers only for owned addresses, only from the owner, only on the chosen interface; silent after release")
    func ownerAnswers() throws {
        let seg = try Segment(nodes: 2)
        let (n1, n2) = (seg.nodeNames[0], seg.nodeNames[1])
        let mac1 = try seg.mac(n1)
        // node2 gets a second interface that is not on the segment; it announces there only.
        try #require(try seg.run(n2, ["ip", "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]).status == 0)
        _ = try seg.run(n2, ["ip", "link", "set", "eth1", "up"])
        _ = try seg.run(n2, ["ip", "link", "set", "eth1p", "up"])
        let owner = try BackgroundSpeaker(n1, ["announce", "--ip", "192.0.2.100", "--ip", "2001:db8::100", "--serve"])
        let elsewhere = try BackgroundSpeaker(n2, ["announce", "--ip", "192.0.2.100", "--interface", "eth1", "--serve"])
        #expect(owner.waitFor("answering"), "\(owner.output)")
        #expect(elsewhere.waitFor("answering"), "\(elsewhere.output)")

        // Gratuitous ARP request and unsolicited NA created the client's entries.
        #expect(try (0..<100).contains { _ in usleep(10_000); return try seg.clientEntry("192.0.2.100") == mac1 }, "v4 entry")
        #expect(try (0..<100).contains { _ in usleep(10_000); return try seg.clientEntry("2001:db8::100") == mac1 }, "v6 entry")

        let arping = try seg.run(seg.client, ["arping", "-c", "3", "-w", "3", "-I", "eth0", "192.0.2.100"])
        #expect(arping.status == 0, "\(arping.output)")
        #expect(arping.output.lowercased().contains("[\(mac1)]"), "\(arping.output)")
        #expect(arping.output.contains("Received 3 response(s)"), "\(arping.output)")
        let ndisc = try seg.run(seg.client, ["ndisc6", "-n", "-r", "2", "2001:db8::100", "eth0"])
        #expect(ndisc.status == 0, "\(ndisc.output)")
        #expect(ndisc.output.lowercased().contains(mac1), "\(ndisc.output)")
        #expect(ndisc.output.lowercased().components(separatedBy: "target link-layer address").count == 2, "one answer: \(ndisc.output)")

        let notOwned = try seg.run(seg.client, ["arping", "-c", "2", "-w", "2", "-I", "eth0", "192.0.2.101"])
        #expect(notOwned.status != 0 && notOwned.output.contains("Received 0 response(s)"), "\(notOwned.output)")
        let notOwned6 = try seg.run(seg.client, ["ndisc6", "-n", "-r", "1", "-w", "500", "2001:db8::101", "eth0"])
        #expect(notOwned6.status != 0, "\(notOwned6.output)")

        owner.terminate()
        #expect(owner.output.contains("released"))
        let after = try seg.run(seg.client, [SpeakerProcess.binary.path, "who-has", "192.0.2.100", "--interface", "eth0", "--count", "2", "--wait", "200"])
        #expect(after.status == 1, "nothing answers after release: \(after.output)")
        let after6 = try seg.run(seg.client, [SpeakerProcess.binary.path, "who-has", "2001:db8::100", "--interface", "eth0", "--count", "1", "--wait", "200"])
        #expect(after6.status == 1, "\(after6.output)")
        elsewhere.terminate()
    }

    /// Ownership moves node1 → node2: the client's entries follow within 100 ms of node2's first gratuitous frame,
    /// although node1's frames updated them less than a second before (`locktime`): Beacon sends requests, which
    /// Linux accepts within locktime.
    @Test("ownership moves node1 to node2: the client's entry follows within 100 ms")
    func takeover() throws {
        let seg = try Segment(nodes: 2)
        let (n1, n2) = (seg.nodeNames[0], seg.nodeNames[1])
        let (mac1, mac2) = (try seg.mac(n1), try seg.mac(n2))
        let first = try BackgroundSpeaker(n1, ["announce", "--ip", "192.0.2.100", "--ip", "2001:db8::100", "--serve"])
        #expect(first.waitFor("answering"))
        #expect(try (0..<100).contains { _ in usleep(10_000); return try seg.clientEntry("192.0.2.100") == mac1 })
        #expect(try (0..<100).contains { _ in usleep(10_000); return try seg.clientEntry("2001:db8::100") == mac1 })
        first.terminate()
        // The kernel's own change notifications, timestamped by `ip monitor` as they arrive.
        let monitor = try BackgroundSpeaker(command: ["ip", "-n", seg.client, "-ts", "monitor", "neigh"])
        usleep(200_000)
        let second = try BackgroundSpeaker(n2, ["announce", "--ip", "192.0.2.100", "--ip", "2001:db8::100", "--serve"])
        #expect(second.waitFor("announced"))
        let sent = try #require(second.stamp("announced"), "\(second.output)")
        for ip in ["192.0.2.100", "2001:db8::100"] {
            #expect(monitor.waitFor("] \(ip) dev eth0 lladdr \(mac2)", seconds: 3), "\(ip) never moved to node2: \(monitor.output)")
            let line = monitor.output.split(separator: "\n").first { $0.contains("] \(ip) dev eth0 lladdr \(mac2)") }
            let at = try #require(line.flatMap(monitorTime), "\(monitor.output)")
            #expect(at - sent < 100, "\(ip): entry moved \(at - sent) ms after the first gratuitous frame")
        }
        second.terminate()
        monitor.kill9()
    }

    /// Two nodes made to answer for one address: `speaker who-has` lists both MACs and exits 3, and each speaker
    /// reports the other as a conflict.
    @Test("who-has shows two MACs when two nodes answer; both report the conflict")
    func splitBrain() throws {
        let seg = try Segment(nodes: 2)
        let (n1, n2) = (seg.nodeNames[0], seg.nodeNames[1])
        let (mac1, mac2) = (try seg.mac(n1), try seg.mac(n2))
        let a = try BackgroundSpeaker(n1, ["announce", "--ip", "192.0.2.100", "--ip", "2001:db8::100", "--serve"])
        #expect(a.waitFor("answering"))
        let b = try BackgroundSpeaker(n2, ["announce", "--ip", "192.0.2.100", "--ip", "2001:db8::100", "--serve"])
        #expect(b.waitFor("answering"))
        for ip in ["192.0.2.100", "2001:db8::100"] {
            let r = try seg.run(seg.client, [SpeakerProcess.binary.path, "who-has", ip, "--count", "2", "--wait", "200"])
            #expect(r.status == 3, "\(r.output)")
            #expect(r.output.contains(mac1) && r.output.contains(mac2) && r.output.contains("2 MACs answer"), "\(r.output)")
        }
        #expect(a.waitFor("conflict: \(mac2) also claims 192.0.2.100", seconds: 3), "\(a.output)")
        #expect(a.waitFor("conflict: \(mac2) also claims 2001:db8::100", seconds: 3), "\(a.output)")
        a.terminate()
        let one = try seg.run(seg.client, [SpeakerProcess.binary.path, "who-has", "192.0.2.100", "--count", "1", "--wait", "200", "-o", "json"])
        #expect(one.status == 0, "\(one.output)")
        #expect(one.output.contains(mac2) && !one.output.contains(mac1), "\(one.output)")
        b.terminate()
    }
}
