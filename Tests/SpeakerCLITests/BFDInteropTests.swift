import Foundation
import TestSupport
import Testing

/// BFD beside BGP against FRR's bfdd (with zebra installing the routes in the router's kernel) and BIRD's BFD, both
/// at 100 ms × 3 (RFC 5880/5881): both ends come up, and a silent death on either side drops the BGP session at once
/// instead of after the 9 s hold time.
@Suite("BFD against FRR's bfdd and BIRD (namespaces, real daemons)", .dedicatedThreads, .tags(.privileged))
struct BFDInteropTests {
    static func lab(_ kind: BGPLab.Kind) throws -> BGPLab {
        let neighbors: [BGPLab.Neighbor] = [.init(address: "192.0.2.11", asn: 64513)]
        if kind == .bird { return try BGPLab(.bird, neighbors: neighbors, birdBFD: true) }
        return try BGPLab(.frr, neighbors: neighbors,
                          frr: .init(zebra: true, bfdProfile: ["transmit-interval 100", "receive-interval 100", "detect-multiplier 3"],
                                     routerLines: ["neighbor 192.0.2.11 bfd profile beacon"]))
    }

    /// Whether the router still holds the node's route: FRR's kernel table, BIRD's own table.
    static func holds(_ lab: BGPLab, _ prefix: String) throws -> Bool {
        lab.kind == .frr ? !(try lab.kernelNextHops(prefix)).isEmpty : (try lab.rib(.ipv4).output).contains(prefix)
    }

    static func probe(_ lab: BGPLab) throws -> BackgroundSpeaker {
        try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512", "--hold-time", "9",
                                            "--bfd-interval", "100", "--announce", "198.51.100.30/32"])
    }

    /// Drops everything in and out of `ns` (a node that dies without its link going down).
    static func silence(_ ns: String) throws {
        let rules = "table inet bfdtest { chain i { type filter hook input priority 0; drop; }; chain o { type filter hook output priority 0; drop; }; }"
        _ = try sh(["ip", "netns", "exec", ns, "nft", rules])
    }

    @Test("the node goes silent: the router's BFD drops the session and the route goes in well under the hold time",
          arguments: [BGPLab.Kind.frr, .bird])
    func nodeDies(_ kind: BGPLab.Kind) throws {
        let lab = try Self.lab(kind)
        let probe = try Self.probe(lab)
        defer { probe.terminate() }
        #expect(probe.waitFor("state Established"), "\(probe.output)")
        #expect(probe.waitFor("BFD Init → Up") || probe.waitFor("BFD Down → Up"), "\(probe.output)")
        if kind == .frr {
            #expect(BGPFamilyTests.eventually { try lab.vtysh(["show bfd peers json"]).contains("\"status\":\"up\"") },
                    "\((try? lab.vtysh(["show bfd peers"])) ?? "")")
        } else {
            #expect(BGPFamilyTests.eventually {
                try sh(["birdc", "-s", lab.dir.appendingPathComponent("bird.ctl").path, "show", "bfd", "sessions"]).output.contains("Up")
            })
        }
        #expect(BGPFamilyTests.eventually { try Self.holds(lab, "198.51.100.30") })
        let start = Date()
        try Self.silence(lab.speaker)
        #expect(BGPFamilyTests.eventually(10) { try !Self.holds(lab, "198.51.100.30") })
        let gone = Date().timeIntervalSince(start)
        #expect(gone < 3, "route withdrawn after \(gone) s; the hold time is 9 s")
    }

    @Test("the router goes silent: the speaker's BFD drops the BGP session at once, with the reason", arguments: [BGPLab.Kind.frr, .bird])
    func routerDies(_ kind: BGPLab.Kind) throws {
        let lab = try Self.lab(kind)
        let probe = try Self.probe(lab)
        defer { probe.terminate() }
        #expect(probe.waitFor("state Established"), "\(probe.output)")
        #expect(probe.waitFor(" → Up"), "\(probe.output)")
        let start = Date()
        try Self.silence(lab.router)
        #expect(probe.waitFor("down: BFD session down: control detection time expired", seconds: 5), "\(probe.output)")
        let down = Date().timeIntervalSince(start)
        #expect(down < 3, "session dropped after \(down) s; the hold time is 9 s")
    }
}
