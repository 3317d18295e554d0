import Foundation
import SpeakerRuntime
import TestSupport
import Testing
@testable import speaker

/// Address families per session and route refresh, against FRR with its common dual-stack neighbour configuration
/// (IPv4 and IPv6 unicast activated on the IPv4 and on the IPv6 neighbour) and zebra installing into the router's
/// kernel table.
@Suite("BGP families per session and ROUTE-REFRESH against FRR (namespaces, real daemons)", .dedicatedThreads, .tags(.privileged))
struct BGPFamilyTests {
    static let neighbors: [BGPLab.Neighbor] = [.init(address: "192.0.2.11", asn: 64513), .init(address: "2001:db8::11", asn: 64513)]

    /// One session per transport family, both announcing an IPv4 and an IPv6 prefix. Without dual-stack each session
    /// carries its own family only; with it both carry both, and every next hop is the node's address of the
    /// prefix's family: the router installs both prefixes, and no IPv4-mapped next hop ever reaches it.
    @Test("families per session against FRR's dual-stack neighbours: the right next hops in the kernel, never ::ffff:", arguments: [false, true])
    func familiesPerSession(_ dualStack: Bool) throws {
        let lab = try BGPLab(.frr, neighbors: Self.neighbors, frr: .init(zebra: true))
        var probes: [BackgroundSpeaker] = []
        for peer in ["192.0.2.1", "2001:db8::1"] {
            probes.append(try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", peer, "--asn", "64513", "--peer-asn", "64512",
                                                              "--router-id", "192.0.2.11", "--hold-time", "9",
                                                              "--announce", "198.51.100.10/32", "--announce", "2001:db8:5::10/128"]
                                                             + (dualStack ? ["--dual-stack"] : [])))
        }
        defer { for p in probes { p.terminate() } }
        for p in probes { #expect(p.waitFor("state Established"), "\(p.output)") }
        #expect(Self.eventually { try lab.kernelNextHops("198.51.100.10") == ["192.0.2.11"] },
                "\((try? lab.kernelNextHops("198.51.100.10")) ?? [])\n\((try? lab.vtysh(["show bgp ipv4 unicast"])) ?? "")")
        #expect(Self.eventually { try lab.kernelNextHops("2001:db8:5::10") == ["2001:db8::11"] },
                "\((try? lab.kernelNextHops("2001:db8:5::10")) ?? [])\n\((try? lab.vtysh(["show bgp ipv6 unicast"])) ?? "")")
        // Which neighbours each prefix was learned from, and over which next hops.
        let expected4 = dualStack ? ["192.0.2.11", "2001:db8::11"] : ["192.0.2.11"]
        let expected6 = dualStack ? ["192.0.2.11", "2001:db8::11"] : ["2001:db8::11"]
        #expect(Self.eventually { try Self.paths(lab, "ipv4", "198.51.100.10/32").peers == expected4 })
        #expect(Self.eventually { try Self.paths(lab, "ipv6", "2001:db8:5::10/128").peers == expected6 })
        let v4 = try Self.paths(lab, "ipv4", "198.51.100.10/32"), v6 = try Self.paths(lab, "ipv6", "2001:db8:5::10/128")
        #expect(Set(v4.nextHops) == ["192.0.2.11"], "\(v4)")
        #expect(Set(v6.nextHops) == ["2001:db8::11"], "\(v6)")
        for p in probes { #expect(!p.output.contains("::ffff:"), "\(p.output)") }
    }

    /// FRR drops everything from the node by inbound policy, then the policy changes and `clear bgp … soft in` asks
    /// for the routes again: they return without a new session (FRR keeps no copy of what it refused).
    @Test("ROUTE-REFRESH: after an inbound policy change on FRR, soft in brings the paths back without a reset")
    func routeRefresh() throws {
        let lab = try BGPLab(.frr, neighbors: [Self.neighbors[0]],
                             frr: .init(routerLines: ["neighbor 192.0.2.11 route-map FROM-NODE in"], globalLines: ["route-map FROM-NODE deny 10"]))
        let probe = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                         "--hold-time", "9", "--announce", "198.51.100.20/32"])
        defer { probe.terminate() }
        #expect(probe.waitFor("state Established"), "\(probe.output)")
        #expect(probe.waitFor("UPDATE(s); 1 prefix(es) advertised"), "\(probe.output)")
        #expect(!lab.waitForRoute("198.51.100.20", family: .ipv4, seconds: 1), "the inbound policy refuses the path")
        try lab.vtysh(["configure terminal", "no route-map FROM-NODE deny 10", "route-map FROM-NODE permit 10", "end",
                       "clear bgp ipv4 unicast 192.0.2.11 soft in"])
        #expect(lab.waitForRoute("198.51.100.20", family: .ipv4), "\(probe.output)\n\((try? lab.vtysh(["show bgp neighbors 192.0.2.11"])) ?? "")")
        #expect(probe.output.contains("peer asked for a route refresh (IPv4)"), "\(probe.output)")
        #expect(probe.output.components(separatedBy: "state Established (").count == 2, "one session, never reset: \(probe.output)")
    }

    /// BIRD (`reload in`) asks for the routes again: the speaker answers on the same session. (GoBGP keeps its own
    /// copy of what it received: its `softresetin` re-reads that and sends no ROUTE-REFRESH.)
    @Test("ROUTE-REFRESH from BIRD is answered on the same session", arguments: [BGPLab.Kind.bird])
    func refreshRequested(_ kind: BGPLab.Kind) throws {
        let lab = try BGPLab(kind, neighbors: [Self.neighbors[0]])
        let probe = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                         "--hold-time", "9", "--announce", "198.51.100.21/32"])
        defer { probe.terminate() }
        #expect(probe.waitFor("state Established"), "\(probe.output)")
        #expect(lab.waitForRoute("198.51.100.21", family: .ipv4), "\(probe.output)")
        // Asked again every 2 s until it arrives: on a loaded machine the router's CLI can time out.
        var asked: [String] = []
        let refreshed = (0..<5).contains { _ in
            let r: (status: Int32, output: String)?
            switch kind {
            case .bird: r = try? sh(["birdc", "-s", lab.dir.appendingPathComponent("bird.ctl").path, "reload", "in", "p0"])
            case .gobgp: r = try? sh(["ip", "netns", "exec", lab.router, "gobgp", "-u", "127.0.0.1", "-p", "50051", "neighbor", "192.0.2.11", "softresetin"])
            case .frr: r = nil
            }
            asked.append("\(r?.status ?? -1): \(r?.output ?? "")")
            return probe.waitFor("peer asked for a route refresh (IPv4)", seconds: 2)
        }
        #expect(refreshed, "router CLI: \(asked)\n\(probe.output)")
        #expect(lab.waitForRoute("198.51.100.21", family: .ipv4), "\(probe.output)")
        #expect(probe.output.components(separatedBy: "state Established (").count == 2, "one session, never reset: \(probe.output)")
    }

    /// The neighbours a prefix was learned from (sorted) and the next hops of those paths, from FRR's JSON.
    static func paths(_ lab: BGPLab, _ afi: String, _ prefix: String) throws -> (peers: [String], nextHops: [String]) {
        let out = try lab.vtysh(["show bgp \(afi) unicast \(prefix) json"])
        guard let root = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any],
              let paths = root["paths"] as? [[String: Any]] else { return ([], []) }
        let peers = paths.compactMap { ($0["peer"] as? [String: Any])?["peerId"] as? String }.sorted()
        let hops = paths.flatMap { ($0["nexthops"] as? [[String: Any]] ?? []).compactMap { $0["ip"] as? String } }
        return (peers, hops)
    }

    static func eventually(_ seconds: Double = 15, _ condition: () throws -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if (try? condition()) == true { return true }
            usleep(100_000)
        } while Date() < deadline
        return false
    }
}

/// `speaker routes` says whether each route is on the wire.
@Suite("speaker routes: SENT")
struct RoutesSentTests {
    static func peer(_ state: String, withheld: [String]? = nil) throws -> DebugState.Peer {
        let w = withheld.map { ", \"withheld\": [" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? ""
        let json = #"{"name": "tor", "address": "192.0.2.1:179", "localASN": 64513, "peerASN": 64512, "state": "\#(state)", "advertised": 0, "pending": 0, "routes": []\#(w)}"#
        return try JSONDecoder().decode(DebugState.Peer.self, from: Data(json.utf8))
    }

    @Test("yes on an established session; no with the reason otherwise", arguments: [
        ("203.0.113.1/32", "Established", nil, "yes"),
        ("203.0.113.1/32", "Active", nil, "no (session Active)"),
        ("2001:db8::1/128", "Established", ["IPv6: no global IPv6 address on eth0 to use as the IPv6 next hop"],
         "no (IPv6: no global IPv6 address on eth0 to use as the IPv6 next hop)"),
        ("203.0.113.1/32", "Established", ["IPv6: no global IPv6 address on eth0 to use as the IPv6 next hop"], "yes"),
    ] as [(String, String, [String]?, String)])
    func sent(_ prefix: String, _ state: String, _ withheld: [String]?, _ expected: String) throws {
        #expect(RoutesCommand.sent(prefix, try Self.peer(state, withheld: withheld)) == expected)
    }
}
