import Foundation
import TestSupport
import Testing

extension Tag {
    /// Needs root and network namespaces (CI runs as root; these fail, not skip, without them).
    @Tag static var privileged: Self
}

/// Runs a command, returning its status and output.
@discardableResult
func sh(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try runProcess("/usr/bin/env", arguments)
}

@Suite("speaker interfaces", .dedicatedThreads, .tags(.privileged), .serialized)
struct SpeakerInterfacesTests {
    /// In a namespace with one interface of each kind, every decision names the right reason, and the interface
    /// whose subnet holds the IP comes first.
    @Test("decides for every kind of interface inside a network namespace")
    func decisions() throws {
        let ns = "bcn-ifaces-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        try #require(try sh(["ip", "netns", "add", ns]).status == 0, "ip netns add needs root")
        defer { _ = try? sh(["ip", "netns", "del", ns]) }
        let setup: [[String]] = [
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "veth-peer"],
            ["ip", "-n", ns, "link", "add", "br0", "type", "bridge"],
            ["ip", "-n", ns, "link", "add", "port0", "type", "veth", "peer", "name", "port1"],
            ["ip", "-n", ns, "link", "set", "port0", "master", "br0"],
            ["ip", "-n", ns, "link", "add", "noarp0", "type", "veth", "peer", "name", "noarp1"],
            ["ip", "-n", ns, "link", "set", "noarp0", "arp", "off"],
            ["ip", "-n", ns, "link", "add", "down0", "type", "veth", "peer", "name", "down1"],
            ["ip", "-n", ns, "addr", "add", "192.0.2.10/24", "dev", "eth0"],
            ["ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", "br0"],
        ] + ["eth0", "veth-peer", "br0", "port0", "port1", "noarp0", "noarp1"].map { ["ip", "-n", ns, "link", "set", $0, "up"] }
        for command in setup { try #require(try sh(command).status == 0, "\(command)") }

        let run = try sh(["ip", "netns", "exec", ns, SpeakerProcess.binary.path, "interfaces", "-o", "json", "--ip", "198.51.100.7"])
        try #require(run.status == 0, "\(run.output)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [[String: Any]])
        let decisions = rows.map { (($0["interface"] as? [String: Any])?["name"] as? String ?? "?", $0["decision"] as? String ?? "?") }
        let byName = Dictionary(decisions, uniquingKeysWith: { a, _ in a })
        #expect(decisions.prefix(2).map(\.0) == ["br0", "eth0"])
        #expect(byName["br0"] == "eligible (subnet contains the IP)")
        #expect(byName["eth0"] == "eligible")
        #expect(byName["port0"] == "skipped: port of br0")
        #expect(byName["noarp0"] == "skipped: ARP is off (NOARP)")
        #expect(byName["down0"] == "skipped: interface is down")
        #expect(byName["down1"] == "skipped: interface is down")
        #expect(byName["veth-peer"] == "skipped: name matches exclude pattern ^veth.*")
        #expect(byName["lo"] == "skipped: loopback")
        let eth0 = try #require(rows.first { ($0["interface"] as? [String: Any])?["name"] as? String == "eth0" })
        #expect(((eth0["interface"] as? [String: Any])?["addresses"] as? [String])?.first == "192.0.2.10/24")

        // An advertisement's interface list restricts the choice and overrides the default excludes.
        let listed = try sh(["ip", "netns", "exec", ns, SpeakerProcess.binary.path, "interfaces", "--interface", "veth-peer", "-o", "json"])
        let listedRows = try #require(try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]])
        #expect(listedRows.filter { $0["eligible"] as? Bool == true }.compactMap { ($0["interface"] as? [String: Any])?["name"] as? String } == ["veth-peer"])
        // Text output names the decision too.
        let text = try sh(["ip", "netns", "exec", ns, SpeakerProcess.binary.path, "interfaces"])
        #expect(text.output.contains("skipped: port of br0"))
    }

    /// `--watch` prints the table at once and again after each change the kernel notifies: a new link, an address,
    /// a link going down, each within a second and without polling.
    @Test("--watch follows netlink notifications")
    func watch() throws {
        let ns = "bcn-watch-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        try #require(try sh(["ip", "netns", "add", ns]).status == 0, "ip netns add needs root")
        defer { _ = try? sh(["ip", "netns", "del", ns]) }
        // No IPv6 on new links: a link-local address finishing DAD a second later would be a (real) change.
        _ = try sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"])
        let watcher = try BackgroundSpeaker(ns, ["interfaces", "--watch"])
        defer { watcher.kill9() }
        #expect(watcher.waitFor("lo", seconds: 5), "\(watcher.output)")
        func snapshots() -> Int { watcher.output.components(separatedBy: "--- ").count - 1 }
        let before = snapshots()
        try #require(try sh(["ip", "-n", ns, "link", "add", "eth7", "type", "veth", "peer", "name", "eth8"]).status == 0)
        #expect(watcher.waitFor("eth7", seconds: 1), "\(watcher.output)")
        _ = try sh(["ip", "-n", ns, "link", "set", "eth7", "up"])
        _ = try sh(["ip", "-n", ns, "link", "set", "eth8", "up"])
        _ = try sh(["ip", "-n", ns, "addr", "add", "203.0.113.7/24", "dev", "eth7"])
        #expect(watcher.waitFor("203.0.113.7/24", seconds: 1), "\(watcher.output)")
        #expect(snapshots() > before)
        // Nothing changes: no new snapshot (notifications, not a timer). The kernel may still report the veth's carrier
        // coming up (a real change, later under load): wait until half a second passes without a snapshot first.
        var quiet = snapshots()
        for _ in 0..<6 {
            usleep(500_000)
            if snapshots() == quiet { break }
            quiet = snapshots()
        }
        usleep(1_500_000)
        #expect(snapshots() == quiet, "printed without a change: \(watcher.output)")
    }

    @Test("rejects a bad --ip or --exclude with exit 2")
    func usage() throws {
        #expect(try SpeakerProcess.run(["interfaces", "--ip", "nope"]).status == 2)
        #expect(try SpeakerProcess.run(["interfaces", "--exclude", "(["]).status == 2)
    }
}
