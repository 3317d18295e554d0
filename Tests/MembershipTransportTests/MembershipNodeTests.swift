import Crypto
import Logging
import Membership
import NIOCore
import Synchronization
import Testing
@testable import MembershipTransport

final class Seen: Sendable {
    let alive = Mutex<Set<String>>([])
    let downs = Mutex<[String: ContinuousClock.Instant]>([:])
    let reasons = Mutex<[String: String]>([:])
    func record(_ changes: [FailureDetector.Change], _ alive: Set<String>) {
        self.alive.withLock { $0 = alive }
        for c in changes {
            if case .down(let n, let reason) = c {
                downs.withLock { $0[n] = .now }
                reasons.withLock { $0[n] = reason }
            }
        }
    }
}

func wait(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Three members on loopback UDP, really signed and sent: they see each other, a stop and a crash are both seen,
/// the crash by the heartbeat timeout, and a member with the wrong key never counts. The time bounds are loose
/// because the test runner shares two cores with every other test; the design figures and the leave path come from
/// the manual-clock tests.
@Suite("Membership over UDP (loopback)")
struct MembershipNodeTests {
    static let key = SymmetricKey(data: Array("a shared memberlist key of 32 b.".utf8))

    func node(_ name: String, port: Int, key: SymmetricKey = key, seen: Seen) -> MembershipNode {
        var c = MembershipNode.Configuration(name: name, incarnation: 1)
        c.bindHost = "127.0.0.1"
        c.port = port
        return MembershipNode(configuration: c, key: key, logger: Logger(label: "test")) { seen.record($0, $1) }
    }

    @Test("see each other; leave at once; crash by timeout; wrong key never alive")
    func cluster() async throws {
        let base = Int.random(in: 20000..<60000)
        let ports = ["a": base, "b": base + 1, "c": base + 2, "x": base + 3]
        var addresses: [String: SocketAddress] = [:]
        for (n, p) in ports { addresses[n] = try SocketAddress(ipAddress: "127.0.0.1", port: p) }
        let seenA = Seen(), seenB = Seen(), seenC = Seen(), seenX = Seen()
        let a = node("a", port: ports["a"]!, seen: seenA), b = node("b", port: ports["b"]!, seen: seenB)
        let c = node("c", port: ports["c"]!, seen: seenC)
        let x = node("x", port: ports["x"]!, key: SymmetricKey(size: .bits256), seen: seenX)
        for n in [a, b, c, x] { n.setMembers(addresses) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await a.run() }
            group.addTask { try await b.run() }
            let cTask = Task { try await c.run() }  // cancelled below to simulate a crash (no leave)
            group.addTask { try await x.run() }
            // x's heartbeats are refused: after the grace timeout it is dead everywhere, and a counts the refusals.
            #expect(await wait(15) { a.alive == ["a", "b", "c"] && b.alive == ["a", "b", "c"] && a.rejectedDatagrams > 0 }, "\(a.alive) \(b.alive)")
            #expect(a.rejectedDatagrams > 0)

            // Clean stop: seen at once (well before the 400 ms timeout).
            let stopAt = ContinuousClock.now
            b.stop()
            #expect(await wait(5) { seenA.downs.withLock { $0["b"] } != nil })
            let leaveSeen = try #require(seenA.downs.withLock { $0["b"] }) - stopAt
            // Normally "left"; on a starved test runner a's timeout may fire first (the leave path itself is covered
            // on the manual clock in FailureDetectorTests).
            #expect(leaveSeen < .seconds(2), "stop seen after \(leaveSeen) (\(seenA.reasons.withLock { $0["b"] } ?? "?"))")

            // Crash: no leave; seen by timeout.
            let crashAt = ContinuousClock.now
            cTask.cancel()
            #expect(await wait(10) { seenA.downs.withLock { $0["c"] } != nil })
            let crashSeen = try #require(seenA.downs.withLock { $0["c"] }) - crashAt
            #expect(seenA.reasons.withLock { $0["c"] }?.hasPrefix("no heartbeat for") == true)
            #expect(crashSeen < .seconds(5), "crash seen after \(crashSeen)")

            a.stop()
            x.stop()
            try await group.waitForAll()
            _ = try? await cTask.value
        }
    }
}
