import Crypto
import Logging
import Membership
import NIOCore
import Synchronization
import NIOPosix
import TestSupport
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
@Suite("Membership over UDP (loopback)", .tags(.timing), .dedicatedThreads)
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

    /// The default bind (`::`) serves IPv4 and IPv6 members on one socket: one member is reached by an IPv4 address
    /// (sent to as IPv4-mapped), another by ::1.
    @Test("the default :: socket talks to IPv4 and IPv6 members")
    func dualStack() async throws {
        let base = Int.random(in: 20000..<60000)
        var c1 = MembershipNode.Configuration(name: "v4", incarnation: 1)
        c1.port = base
        var c2 = MembershipNode.Configuration(name: "v6", incarnation: 1)
        c2.port = base + 1
        #expect(c1.bindHost == "::")
        let seen1 = Seen(), seen2 = Seen()
        let n1 = MembershipNode(configuration: c1, key: Self.key, logger: Logger(label: "test")) { seen1.record($0, $1) }
        let n2 = MembershipNode(configuration: c2, key: Self.key, logger: Logger(label: "test")) { seen2.record($0, $1) }
        let members = ["v4": try SocketAddress(ipAddress: "127.0.0.1", port: base), "v6": try SocketAddress(ipAddress: "::1", port: base + 1)]
        n1.setMembers(members)
        n2.setMembers(members)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await n1.run() }
            group.addTask { try await n2.run() }
            // Both alive from the start (grace); what counts is that neither times the other out.
            try await Task.sleep(for: .seconds(2))
            #expect(n1.alive == ["v4", "v6"] && n2.alive == ["v4", "v6"], "\(n1.alive) \(n2.alive)")
            #expect(seen1.downs.withLock { $0.isEmpty } && seen2.downs.withLock { $0.isEmpty })
            #expect(n1.talking && n2.talking)
            n1.stop()
            n2.stop()
            try await group.waitForAll()
        }
    }

    /// A socket that fails (here: the port is taken at first, as after a crash that left it bound) is opened again
    /// with backoff; meanwhile `talking` is false and the error is kept; then it serves.
    @Test("a failing socket is opened again with backoff")
    func reopen() async throws {
        let port = Int.random(in: 20000..<60000)
        // A socket without SO_REUSEADDR holds the port (both families): the node's bind fails until it closes.
        let holder = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 0)
            .bind(host: "::", port: port).get()
        var c = MembershipNode.Configuration(name: "r", incarnation: 1)
        c.port = port
        c.reopenBackoff = (.milliseconds(50), .milliseconds(200))
        let node = MembershipNode(configuration: c, key: Self.key, logger: Logger(label: "test")) { _, _ in }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await node.run() }
            #expect(await wait(5) { node.socketFailures >= 2 }, "failures: \(node.socketFailures)")
            #expect(!node.talking)
            #expect(node.lastError?.contains("Address already in use") == true, "\(node.lastError ?? "no error")")
            try await holder.close()
            #expect(await wait(5) { node.talking }, "never reopened: \(node.lastError ?? "")")
            node.stop()
            try await group.waitForAll()
        }
    }
}
