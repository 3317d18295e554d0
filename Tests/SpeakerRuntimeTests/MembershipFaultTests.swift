import BeaconLab
import Foundation
import TestSupport
import Testing

/// The membership socket's own faults in real namespaces: the membership port firewalled for 1 s on the owner and on
/// the backup, in each direction (an output drop makes sendmsg fail with EPERM, which closes a SwiftNIO datagram
/// channel). Afterwards exactly the ranked node answers, within a second, and stays the only one.
@Suite("speaker membership: its own socket faults", .tags(.privileged, .timing), .serialized, .dedicatedThreads)
struct MembershipFaultTests {
    @Test("a 1 s membership firewall on owner or backup, either direction: one owner within 1 s after")
    func firewall() async throws {
        try await LabFixture.withLab { lab in
            try await SpeakerLabTests.start(lab)
            let ip = try await SpeakerLabTests.service(lab, "web", pool: "lan", endpoints: lab.nodeIndices)
            let names = lab.nodeIndices.map(lab.nodeName)
            let ownerName = try #require(LabFixture.expectedOwner(ip, among: names))
            let backupName = try #require(LabFixture.expectedOwner(ip, among: names.filter { $0 != ownerName }))
            let owner = try #require(lab.nodeIndices.first { lab.nodeName($0) == ownerName })
            let backup = try #require(lab.nodeIndices.first { lab.nodeName($0) == backupName })
            #expect(try await LabFixture.eventually(20) { try await SpeakerLabTests.owner(lab, ip) == [owner] })

            for (node, hook) in [(owner, "output"), (owner, "input"), (backup, "output"), (backup, "input")] {
                let table = "beacon_mlfw"
                let ns = lab.nodeNS(node)
                try await Shell.inNamespace(ns, ["nft", "add table inet \(table); add chain inet \(table) c { type filter hook \(hook) priority 0 ; }; add rule inet \(table) c udp dport 7946 drop"])
                try await Task.sleep(for: .seconds(1))
                try await Shell.inNamespace(ns, ["nft", "delete table inet \(table)"])
                try await Task.sleep(for: .seconds(1))
                let after = try await SpeakerLabTests.owner(lab, ip)
                #expect(after == [owner], "\(lab.nodeName(node)) \(hook) firewalled 1 s: answering 1 s later: \(after.map(lab.nodeName))")
                // And it stays so (no permanent split or gap).
                try await Task.sleep(for: .seconds(1))
                let later = try await SpeakerLabTests.owner(lab, ip)
                #expect(later == [owner], "\(lab.nodeName(node)) \(hook): answering 2 s later: \(later.map(lab.nodeName))")
                let ready = try await Shell.inNamespace(ns, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:7473/readyz"], check: false).output
                #expect(ready == "200", "\(lab.nodeName(node)) \(hook): /readyz \(ready) after the firewall is gone")
            }
            let log = lab.speaker(owner)?.log ?? ""
            #expect(log.contains("membership socket failed; opening it again"), "the owner's output firewall should have failed its socket")
        }
    }
}
