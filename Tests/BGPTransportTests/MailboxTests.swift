@testable import BGPTransport
import Synchronization
import TestSupport
import Testing

/// The session's mailbox: one order for both lanes, the peer's lane bounded with waiting senders, cancellation safe.
@Suite("BGP session mailbox", .timeLimit(.minutes(1)), .dedicatedThreads)
struct MailboxTests {
    /// Posted and sent elements come out in the order they went in.
    @Test("elements come out in order, whatever the lane")
    func order() async {
        let m = Mailbox<Int>(capacity: 4)
        m.post(1)
        await m.send(2)
        m.post(3)
        await m.send(4)
        var out: [Int] = []
        for _ in 0..<4 { out.append(await m.next()) }
        #expect(out == [1, 2, 3, 4])
    }

    /// A sender beyond the capacity waits until the session takes an element; posts never wait.
    @Test("the peer's lane holds at most its capacity; the sender waits for room")
    func bounded() async throws {
        let m = Mailbox<Int>(capacity: 3)
        let sent = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for i in 0..<10 {
                    await m.send(i)
                    sent.add()
                }
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(sent.value == 3)
            m.post(-1)
            #expect(m.count == 4)
            var out: [Int] = []
            for _ in 0..<11 { out.append(await m.next()) }
            try await group.waitForAll()
            #expect(out.filter { $0 >= 0 } == Array(0..<10))
            #expect(sent.value == 10)
        }
    }

    /// A sender waiting for room returns when its task is cancelled (the session's reader must end with it).
    @Test("a waiting sender returns on cancellation")
    func cancellation() async throws {
        let m = Mailbox<Int>(capacity: 1)
        await m.send(0)
        let waiting = Task { await m.send(1) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await waiting.value
        #expect(m.count == 2)
    }

    /// A receiver waiting on an empty mailbox gets the next element at once.
    @Test("a waiting receiver is handed the next element")
    func waitingReceiver() async {
        let m = Mailbox<Int>(capacity: 2)
        async let got = m.next()
        try? await Task.sleep(for: .milliseconds(20))
        await m.send(7)
        #expect(await got == 7)
        #expect(m.count == 0)
    }
}

final class Counter: Sendable {
    private let n = Mutex(0)
    func add() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}
