import Foundation
import TestSupport
import Testing

/// BFD beside BGP against FRR's bfdd (RFC 5880/5881, 100 ms × 3), with zebra installing the routes in the router's
/// kernel: both ends come up, and a silent death on either side drops the BGP session at once instead of after the
/// 9 s hold time.
@Suite("BFD against FRR's bfdd (namespaces, real daemons)", .dedicatedThreads, .tags(.privileged))
struct BFDInteropTests {
    static func lab() throws -> BGPLab {
        try BGPLab(.frr, neighbors: [.init(address: "192.0.2.11", asn: 64513)],
                   frr: .init(zebra: true, bfdProfile: ["transmit-interval 100", "receive-interval 100", "detect-multiplier 3"],
                              routerLines: ["neighbor 192.0.2.11 bfd profile beacon"]))
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

    @Test("the node goes silent: FRR's BFD drops the session and the route leaves its kernel in well under the hold time")
    func nodeDies() throws {
        let lab = try Self.lab()
        let probe = try Self.probe(lab)
        defer { probe.terminate() }
        #expect(probe.waitFor("state Established"), "\(probe.output)")
        #expect(probe.waitFor("BFD Init → Up") || probe.waitFor("BFD Down → Up"), "\(probe.output)")
        #expect(BGPFamilyTests.eventually { try lab.vtysh(["show bfd peers json"]).contains("\"status\":\"up\"") },
                "\((try? lab.vtysh(["show bfd peers"])) ?? "")")
        #expect(BGPFamilyTests.eventually { try lab.kernelNextHops("198.51.100.30") == ["192.0.2.11"] })
        let start = Date()
        try Self.silence(lab.speaker)
        #expect(BGPFamilyTests.eventually(10) { try lab.kernelNextHops("198.51.100.30").isEmpty })
        let gone = Date().timeIntervalSince(start)
        #expect(gone < 3, "route withdrawn after \(gone) s; the hold time is 9 s")
    }

    @Test("the router goes silent: the speaker's BFD drops the BGP session at once, with the reason")
    func routerDies() throws {
        let lab = try Self.lab()
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
