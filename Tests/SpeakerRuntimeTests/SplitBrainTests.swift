import BeaconLab
import Foundation
import TestSupport
import Testing

/// Membership under attack and under partition, with real speakers in the namespace lab.
@Suite("speaker membership: split brain, forged datagrams, planned restart", .tags(.privileged, .timing), .serialized, .dedicatedThreads)
struct SplitBrainTests {
    func blockMembership(_ lab: Lab, between a: Int, and b: Int, _ on: Bool) async throws {
        for (me, other) in [(a, b), (b, a)] {
            let rules = on
                ? "table inet split {\n chain input {\n  type filter hook input priority 0;\n  ip saddr \(lab.nodeIPv4(other)) udp dport 7946 drop\n }\n}\n"
                : "delete table inet split\n"
            try await Shell.inNamespace(lab.nodeNS(me), ["nft", "-f", "-"], input: rules)
        }
    }

    func metric(_ lab: Lab, _ node: Int, _ prefix: String) async throws -> Double {
        let text = try await Shell.inNamespace(lab.nodeNS(node), ["curl", "-s", "http://127.0.0.1:7473/metrics"]).output
        return text.split(separator: "\n").filter { $0.hasPrefix(prefix) }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    /// Blocking membership between the two top-ranked nodes makes both announce; each reports the conflict (metric,
    /// event, `speaker who-has` sees two MACs). When the block lifts, one owner remains within a second. Forged
    /// datagrams (wrong key, or a replay of an older incarnation) claiming the owner left change nothing. A planned
    /// restart (SIGTERM) exits within 2 s and hands over.
    @Test("split brain is reported by both sides and heals; forged datagrams change nothing; SIGTERM hands over")
    func splitBrain() async throws {
        try await LabFixture.withLab { lab in
            try await SpeakerLabTests.start(lab)
            let ip = try await SpeakerLabTests.service(lab, "web", pool: "lan", endpoints: lab.nodeIndices)
            let ranked = lab.nodeIndices.sorted { a, b in LabFixture.expectedOwner(ip, among: [lab.nodeName(a), lab.nodeName(b)]) == lab.nodeName(a) }
            let (first, second) = (ranked[0], ranked[1])
            #expect(try await LabFixture.eventually(20) { try await SpeakerLabTests.owner(lab, ip) == [first] })

            // MetalLB's speaker metric on the owner, and none on the others.
            let announced = try await Shell.inNamespace(lab.nodeNS(first), ["curl", "-s", "http://127.0.0.1:7473/metrics"]).output
            #expect(announced.contains("metallb_speaker_announced{") && announced.contains("ip=\"\(ip)\"") && announced.contains("protocol=\"layer2\""),
                    "\(announced.split(separator: "\n").filter { $0.contains("announced") })")
            #expect(try await metric(lab, second, "metallb_speaker_announced{") == 0)

            // Partition the two top-ranked nodes' membership traffic.
            try await blockMembership(lab, between: first, and: second, true)
            let both = try await LabFixture.eventually(10) {
                let a = try await metric(lab, first, "beacon_layer2_conflicts_total")
                let b = try await metric(lab, second, "beacon_layer2_conflicts_total")
                return a > 0 && b > 0
            }
            #expect(both, "both sides count the conflict")
            let whoHas = try await Shell.inNamespace(lab.clientNS, [lab.options.binDirectory + "/speaker", "who-has", ip, "--interface", "eth0",
                                                                    "--count", "5", "--wait", "200"], check: false)
            #expect(whoHas.status == 3, "who-has sees two MACs: \(whoHas.output)")
            // Reported once the conflict has lasted 3 s: by the second defence (RFC 5227: every 10 s) at the latest.
            let events = try await LabFixture.eventually(20) {
                let text = try await lab.kubectl(["get", "events", "-n", "default", "-o", "jsonpath={range .items[*]}{.reason}:{.message}{\"\\n\"}{end}"]).output
                return text.contains("addressConflict:") && text.contains("announced by node \"\(lab.nodeName(first))\"")
                    && text.contains("announced by node \"\(lab.nodeName(second))\"")
            }
            #expect(events, "each side posts an addressConflict event")
            let status = try await lab.speakerCLI(first, ["status"]).output
            #expect(status.contains("CONFLICTS"), "\(status)")

            // Heal: one owner within a second.
            try await blockMembership(lab, between: first, and: second, false)
            let healed = ContinuousClock.now
            var owners: [Int] = []
            let one = try await LabFixture.eventually(3) { owners = try await SpeakerLabTests.owner(lab, ip); return owners == [first] }
            #expect(one, "exactly the ranked owner answers after the heal: \(owners)")
            #expect(ContinuousClock.now - healed < .milliseconds(1500), "healed in \(ContinuousClock.now - healed) (arping itself takes up to 1 s)")
            // The owner announced the conflicted address again as the split healed: the client's neighbour entry
            // names the owner, not the station it may have learned during the split.
            let ownerMAC = try await lab.nodeMAC(first)
            var neighbour = ""
            let follows = try await LabFixture.eventually(2) {
                neighbour = try await Shell.inNamespace(lab.clientNS, ["ip", "neigh", "show", ip], check: false).output.lowercased()
                return neighbour.contains(ownerMAC)
            }
            #expect(follows, "the client's neighbour entry for \(ip) follows the owner \(ownerMAC): \(neighbour)")
            #expect(lab.speaker(first)?.log.contains("announced again the addresses that were in conflict") == true)

            // Forged: the owner "leaves" (wrong key), and an old incarnation of it says the same (right key).
            let wrongKey = lab.options.workDirectory + "/wrong-key"
            try "not the key".write(toFile: wrongKey, atomically: true, encoding: .utf8)
            let refusedBefore = try await metricRefused(lab, second)
            for (key, incarnation) in [(wrongKey, UInt64(1)), (lab.membershipKeyPath, UInt64(1))] {
                for target in lab.nodeIndices where target != first {
                    try await Shell.inNamespace(lab.clientNS, [lab.options.binDirectory + "/beacon-lab", "forge-membership", "--to", lab.nodeIPv4(target),
                                                               "--sender", lab.nodeName(first), "--key-file", key, "--incarnation", "\(incarnation)",
                                                               "--report-dead", lab.nodeName(first)])
                }
            }
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await SpeakerLabTests.owner(lab, ip) == [first], "forged leaves move nothing")
            let members = try await lab.speakerCLI(second, ["members", "-o", "json"]).output
            #expect(!members.contains("\"alive\" : false"), "nobody is dead: \(members)")
            #expect(try await metricRefused(lab, second) >= refusedBefore + 20, "the wrong-key datagrams are counted as refused")

            // Planned restart: SIGTERM exits within 2 s, and the next in rank answers.
            let took = await lab.speaker(first)?.stop(signal: SIGTERM, seconds: 5) ?? .zero
            #expect(took < .seconds(2), "SIGTERM to exit: \(took)\n\(lab.speaker(first)?.log.split(separator: "\n").suffix(15).joined(separator: "\n") ?? "")")
            #expect(try await LabFixture.eventually(3) { try await SpeakerLabTests.owner(lab, ip) == [second] })
            #expect(lab.speaker(first)?.log.contains("stopped announcing") == true)

            // Back again: its generation starts at 1, below the one the others hold; they tell it, it moves above,
            // and the top-ranked node answers again.
            try lab.startSpeaker(first)
            #expect(try await LabFixture.eventually(10) { try await SpeakerLabTests.owner(lab, ip) == [first] },
                    "the restarted speaker was not accepted back\n\(lab.speaker(first)?.log.split(separator: "\n").suffix(15).joined(separator: "\n") ?? "")")
        }
    }

    func metricRefused(_ lab: Lab, _ node: Int) async throws -> Int {
        let json = try await lab.speakerCLI(node, ["members", "-o", "json"]).output
        guard let r = json.range(of: "\"refusedDatagrams\" : ") else { return 0 }
        return Int(json[r.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}
