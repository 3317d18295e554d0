import Crypto
import NIOCore
import TestSupport
import Testing
@testable import Membership
import Foundation
@testable import fuzz_membership

private let key = SymmetricKey(data: Array("the memberlist secret key, 32 by".utf8))

@Suite("Membership datagrams")
struct MembershipMessageTests {
    /// Round trip; a wrong key, a flipped bit, a truncation or garbage are refused with the reason.
    @Test("signed round trip and refusals")
    func codec() throws {
        let m = MembershipMessage(kind: .heartbeat, sender: "node-a", incarnation: 7, sequence: 42,
                                  reports: [.init(name: "node-b", alive: false, incarnation: 3), .init(name: "node-c", alive: true, incarnation: 5, sequence: 9)])
        let bytes = m.encode(key: key)
        #expect(try MembershipMessage(decoding: bytes, key: key) == m)
        #expect(throws: MembershipMessage.Rejection.badSignature) { try MembershipMessage(decoding: bytes, key: SymmetricKey(size: .bits256)) }
        var raw = Array(bytes.readableBytesView)
        raw[12] ^= 1
        #expect(throws: MembershipMessage.Rejection.badSignature) { try MembershipMessage(decoding: ByteBuffer(bytes: raw), key: key) }
        #expect(throws: MembershipMessage.Rejection.truncated) { try MembershipMessage(decoding: ByteBuffer(bytes: raw.prefix(20)), key: key) }
        #expect(throws: MembershipMessage.Rejection.notMembership) { try MembershipMessage(decoding: ByteBuffer(bytes: [UInt8](repeating: 7, count: 80)), key: key) }
        for n in 0..<raw.count { _ = try? MembershipMessage(decoding: ByteBuffer(bytes: raw.prefix(n)), key: key) }
    }

    /// Many reports are cut to keep the datagram within one frame.
    @Test("bounded size")
    func size() {
        let reports = (0..<500).map { MembershipMessage.Report(name: "node-\($0)-with-a-long-name.example", alive: false, incarnation: 1) }
        let bytes = MembershipMessage(kind: .heartbeat, sender: "a", incarnation: 1, sequence: 1, reports: reports).encode(key: key)
        #expect(bytes.readableBytes <= MembershipMessage.maximumLength)
    }
}

/// A simulated cluster: every node's detector, a manual clock, a network that can drop links or nodes.
struct Cluster {
    var nodes: [String: FailureDetector] = [:]
    var now: Duration = .zero
    var dead: Set<String> = []
    var blocked: Set<[String]> = []
    var changes: [String: [FailureDetector.Change]] = [:]
    var sentPerTick: [String: Int] = [:]

    init(_ count: Int, configuration: FailureDetector.Configuration = .init()) {
        let names = Set((0..<count).map { i -> String in
            let digits = String(i)
            return "node-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
        })
        for n in names {
            var d = FailureDetector(name: n, incarnation: 1, configuration: configuration)
            _ = d.setMembers(names, now: .zero)
            nodes[n] = d
        }
    }

    /// One heartbeat interval: every live node ticks and its datagrams (really encoded and verified) are delivered.
    mutating func step() {
        now += .milliseconds(100)
        var inflight: [(to: String, bytes: ByteBuffer)] = []
        for name in nodes.keys.sorted() where !dead.contains(name) {
            let (hb, targets, ch) = nodes[name]!.tick(now: now)
            changes[name, default: []] += ch
            sentPerTick[name] = targets.count
            let bytes = hb.encode(key: key)
            for t in targets where !blocked.contains([name, t]) && !blocked.contains([t, name]) { inflight.append((t, bytes)) }
        }
        for (to, bytes) in inflight where !dead.contains(to) {
            guard let m = try? MembershipMessage(decoding: bytes, key: key) else { continue }
            changes[to, default: []] += nodes[to]!.received(m, now: now)
        }
    }

    mutating func run(_ steps: Int) { for _ in 0..<steps { step() } }

    func everyoneAgrees(dead name: String) -> Bool {
        nodes.filter { !dead.contains($0.key) }.allSatisfy { !$0.value.alive.contains(name) }
    }
}

@Suite("Failure detector (manual clock)")
struct FailureDetectorTests {
    /// Full mesh (8 nodes): a killed node is seen dead by every other within 0.5 s; on the ring (100 nodes) within
    /// 1.2 s.
    @Test("a death is seen everywhere within 500 ms (full mesh) or 1.2 s (ring)", arguments: [8, 100])
    func death(size: Int) {
        var c = Cluster(size)
        c.run(10)
        #expect(c.nodes.values.allSatisfy { $0.alive.count == size }, "all alive at first")
        c.dead.insert("node-005")
        let killedAt = c.now
        var seenAt: Duration?
        for _ in 0..<20 {
            c.step()
            if c.everyoneAgrees(dead: "node-005") { seenAt = c.now; break }
        }
        let latency = seenAt.map { $0 - killedAt }
        let limit: Duration = .milliseconds(size <= 32 ? 500 : 1200)
        #expect(latency.map { $0 <= limit } == true, "seen after \(String(describing: latency))")
    }

    /// On a large cluster each node sends a bounded number of heartbeats, not one per member.
    @Test("per-node traffic is bounded on large clusters")
    func bounded() {
        var small = Cluster(10)
        small.step()
        #expect(small.sentPerTick.values.max() == 9, "full mesh")
        var c = Cluster(200)
        c.step()
        #expect(c.sentPerTick.values.max() == 16, "\(c.sentPerTick.values.max() ?? 0) per interval at 200 nodes")
        var one = FailureDetector(name: "node-500", incarnation: 1)
        _ = one.setMembers(Set((0..<1000).map { "node-\($0)" }), now: .zero)
        #expect(one.targets().count == 20, "\(one.targets().count) per interval at 1,000 nodes")
        #expect(one.watched().count == 6)
    }

    /// A clean leave is seen at once (one interval), not after the timeout.
    @Test("leave")
    func leave() throws {
        var c = Cluster(5)
        c.run(3)
        var leaver = try #require(c.nodes["node-002"])
        let (msg, targets) = leaver.leave()
        c.dead.insert("node-002")
        for t in targets {
            _ = c.nodes[t]!.received(try MembershipMessage(decoding: msg.encode(key: key), key: key), now: c.now)
        }
        #expect(c.everyoneAgrees(dead: "node-002"))
    }

    /// A restarted member (new incarnation) comes back everywhere, also on the ring.
    @Test("restart brings a member back", arguments: [5, 60])
    func restart(size: Int) throws {
        var c = Cluster(size)
        c.run(3)
        c.dead.insert("node-003")
        c.run(12)
        #expect(c.everyoneAgrees(dead: "node-003") == true)
        var reborn = FailureDetector(name: "node-003", incarnation: 2)
        _ = reborn.setMembers(Set(c.nodes.keys), now: c.now)
        c.nodes["node-003"] = reborn
        c.dead.remove("node-003")
        c.run(10)
        let missing = c.nodes.filter { !$0.value.alive.contains("node-003") }.keys.sorted()
        #expect(missing.isEmpty, "still dead on \(missing)")
    }

    /// A death by silence says how long, in whole milliseconds (not a Duration's "0.150510594 seconds").
    @Test("a timeout's reason reads in milliseconds")
    func timeoutReason() {
        var d = FailureDetector(name: "a", incarnation: 1)
        _ = d.setMembers(["a", "b"], now: .zero)
        let changes = d.tick(now: .milliseconds(450)).changes
        #expect(changes == [.down("b", reason: "no heartbeat for 450 ms")])
    }

    /// A member restarted with a generation below the one the others hold (a clock set back, or a start at 1) has
    /// its first heartbeats refused, is told the generation held, moves above it and is back everywhere within a
    /// few intervals, also on the ring.
    @Test("a restart below the held generation is accepted after one refutation", arguments: [5, 60])
    func restartBelow(size: Int) throws {
        var c = Cluster(size)
        // Everyone holds node-003 at generation 1000.
        var old = FailureDetector(name: "node-003", incarnation: 1000)
        _ = old.setMembers(Set(c.nodes.keys), now: c.now)
        c.nodes["node-003"] = old
        c.run(5)
        #expect(c.nodes.values.allSatisfy { $0.alive.contains("node-003") })
        c.dead.insert("node-003")
        c.run(12)
        #expect(c.everyoneAgrees(dead: "node-003") == true)
        var reborn = FailureDetector(name: "node-003", incarnation: 1)
        _ = reborn.setMembers(Set(c.nodes.keys), now: c.now)
        c.nodes["node-003"] = reborn
        c.dead.remove("node-003")
        c.run(6)
        #expect(c.nodes["node-003"]!.incarnation > 1000)
        let missing = c.nodes.filter { !$0.value.alive.contains("node-003") }.keys.sorted()
        #expect(missing.isEmpty, "still dead on \(missing)")
    }

    /// A replayed heartbeat from an older generation changes nothing where it lands; the live member it names only
    /// moves to a newer generation, and nobody sees it die.
    @Test("a replayed old generation changes no one's view")
    func replayOldGeneration() throws {
        var c = Cluster(4)
        c.run(3)
        let captured = c.nodes["node-001"]!.tick(now: c.now).heartbeat
        c.run(2)
        // node-001 refutes something (a death report) and moves on to a newer generation.
        var report = c.nodes["node-002"]!.tick(now: c.now).heartbeat
        report.reports.append(.init(name: "node-001", alive: false, incarnation: 1))
        _ = c.nodes["node-001"]!.received(report, now: c.now)
        #expect(c.nodes["node-001"]!.incarnation == 2)
        c.run(3)
        // The old generation's heartbeat, replayed to everyone: refused, no change anywhere.
        for n in ["node-000", "node-002", "node-003"] {
            let replayed = try MembershipMessage(decoding: captured.encode(key: key), key: key)
            #expect(c.nodes[n]!.received(replayed, now: c.now).isEmpty)
        }
        c.run(5)
        #expect(c.nodes.values.allSatisfy { $0.alive.count == 4 })
        #expect(c.changes.values.allSatisfy { $0.allSatisfy { if case .down = $0 { false } else { true } } }, "\(c.changes)")
    }

    /// A report of this member at the largest generation (only a forgery, with the key, says that) is not refuted:
    /// moving above it would overflow.
    @Test("a report at the largest generation is ignored, not refuted past it")
    func largestGeneration() {
        var c = Cluster(3)
        c.run(2)
        var report = c.nodes["node-002"]!.tick(now: c.now).heartbeat
        report.reports.append(.init(name: "node-001", alive: false, incarnation: .max))
        _ = c.nodes["node-001"]!.received(report, now: c.now)
        #expect(c.nodes["node-001"]!.incarnation == 1)
        c.run(3)
        #expect(c.nodes.values.allSatisfy { $0.alive.count == 3 })
    }

    /// A replayed heartbeat of a dead member (same incarnation and sequence) does not revive it; a stranger is ignored.
    @Test("replays and strangers change nothing")
    func replay() throws {
        var c = Cluster(3)
        c.run(2)
        // A heartbeat the network delivered, recorded by an attacker.
        let captured = c.nodes["node-001"]!.tick(now: c.now).heartbeat
        _ = c.nodes["node-000"]!.received(captured, now: c.now)
        c.dead.insert("node-001")
        c.run(8)
        #expect(c.everyoneAgrees(dead: "node-001") == true)
        let replayed = try MembershipMessage(decoding: captured.encode(key: key), key: key)
        #expect(c.nodes["node-000"]!.received(replayed, now: c.now).isEmpty)
        #expect(!c.nodes["node-000"]!.alive.contains("node-001"))
        let stranger = MembershipMessage(kind: .heartbeat, sender: "intruder", incarnation: 9, sequence: 9,
                                         reports: [.init(name: "node-002", alive: false, incarnation: 99)])
        #expect(c.nodes["node-000"]!.received(stranger, now: c.now).isEmpty)
        #expect(c.nodes["node-000"]!.alive.contains("node-002"))
    }

    /// A blocked link between two nodes (a partition of two): each sees the other die; when the block lifts, both
    /// see each other alive again within a second.
    @Test("partition heals")
    func partition() {
        var c = Cluster(4)
        c.run(3)
        c.blocked.insert(["node-000", "node-001"])
        c.run(6)
        #expect(c.nodes["node-000"]!.alive.contains("node-001") == false)
        c.blocked.removeAll()
        c.run(10)
        #expect(c.nodes["node-000"]!.alive.contains("node-001") && c.nodes["node-001"]!.alive.contains("node-000"))
    }
}

/// The kept fuzz corpus, replayed through the fuzzer's own harness (unsigned, then signed, into a detector).
@Suite("Membership: fuzz corpus")
struct MembershipFuzzCorpusTests {
    @Test("every kept fuzz input decodes or is refused, and adds no member")
    func replay() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures/fuzz-corpus", withExtension: nil))
        #expect(try replayCorpus(dir, into: { fuzz_membership.fuzzOne($0) }) >= 6)
    }
}
