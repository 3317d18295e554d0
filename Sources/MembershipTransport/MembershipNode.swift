import CoreMetrics
import Crypto
import Logging
import Membership
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The failure detector on the wire: UDP datagrams signed with the shared key, a heartbeat tick every interval,
/// changes reported as they happen. `run()` lives until `stop()` (which sends a leave so the others re-plan at once)
/// or until its task is cancelled (a crash, as far as the others can tell: they notice by timeout).
///
/// The socket binds `::` by default (IPv4 and IPv6 members on one socket; IPv4 members are sent to as IPv4-mapped
/// addresses), or IPv4 alone on a host without IPv6. Any error on it (a send refused by a host firewall, a link
/// going down) is logged and counted, and the socket is opened again with backoff: membership never stops for good.
/// While it is down, `talking` is false and `lastError` says why.
public final class MembershipNode: Sendable {
    public struct Configuration: Sendable {
        public var name: String
        public var incarnation: UInt64
        public var bindHost = "::"
        /// MetalLB's memberlist port.
        public var port = 7946
        public var detector = FailureDetector.Configuration()
        /// Reopening a failed socket: the first wait, doubled up to the second.
        public var reopenBackoff: (first: Duration, limit: Duration) = (.milliseconds(50), .milliseconds(500))

        public init(name: String, incarnation: UInt64) {
            self.name = name
            self.incarnation = incarnation
        }
    }

    public let configuration: Configuration
    let key: SymmetricKey
    let logger: Logger
    let onChange: @Sendable ([FailureDetector.Change], Set<String>) -> Void
    /// Time between two accepted heartbeats from the same member, as this node processed them: the delay a stalled
    /// sender, a lossy link or a busy receiver adds, which is what a timeout must cover.
    let heartbeatGaps: CoreMetrics.Timer?
    let state: Mutex<State>
    private let stopSignal = StopSignal()

    struct State {
        var detector: FailureDetector
        /// Where each member listens, as given, and as this socket sends to it (IPv4-mapped on an IPv6 socket):
        /// mapped once when either changes, not per heartbeat.
        var addresses: [String: SocketAddress] = [:] { didSet { remap() } }
        private(set) var destinations: [String: SocketAddress] = [:]
        var rejected = 0
        /// The socket is open and the last send worked.
        var talking = false
        var socketFailures = 0
        var lastError: String?
        /// When a refused datagram was last logged.
        var lastRefusalLog: ContinuousClock.Instant?
        /// The bound socket is IPv6 (IPv4 members are then sent to as ::ffff:a.b.c.d).
        var mapIPv4 = false { didSet { if mapIPv4 != oldValue { remap() } } }

        init(detector: FailureDetector) { self.detector = detector }

        private mutating func remap() {
            destinations = addresses.mapValues { MembershipNode.destination($0, mapIPv4: mapIPv4) }
        }
    }

    public init(configuration: Configuration, key: SymmetricKey, logger: Logger, heartbeatGaps: CoreMetrics.Timer? = nil,
                onChange: @escaping @Sendable ([FailureDetector.Change], Set<String>) -> Void) {
        self.configuration = configuration
        self.heartbeatGaps = heartbeatGaps
        self.key = key
        self.logger = logger
        self.onChange = onChange
        state = Mutex(State(detector: FailureDetector(name: configuration.name, incarnation: configuration.incarnation,
                                                      configuration: configuration.detector)))
    }

    /// Members alive now, this one included.
    public var alive: Set<String> { state.withLock { $0.detector.alive } }

    /// Datagrams refused (bad signature, not ours, malformed): a wrong key shows here.
    public var rejectedDatagrams: Int { state.withLock { $0.rejected } }

    /// Whether the socket is open and sending; when not, why (for `/readyz` and `speaker members`).
    public var talking: Bool { state.withLock { $0.talking } }
    public var lastError: String? { state.withLock { $0.lastError } }
    /// Times the socket failed and was opened again.
    public var socketFailures: Int { state.withLock { $0.socketFailures } }

    private let origin = ContinuousClock.now
    private func now() -> Duration { ContinuousClock.now - origin }

    /// The members and where they listen (from the speaker pods); this node's own entry is ignored.
    public func setMembers(_ members: [String: SocketAddress]) {
        let (changes, alive) = state.withLock { s in
            s.addresses = members
            return (s.detector.setMembers(Set(members.keys), now: now()), s.detector.alive)
        }
        if !changes.isEmpty { onChange(changes, alive) }
    }

    /// Leaves the cluster (the others see it at once) and makes `run()` return.
    public func stop() { stopSignal.fire() }

    /// Serves until `stop()` or cancellation, opening the socket again after any failure.
    public func run() async throws {
        var backoff = configuration.reopenBackoff.first
        while !stopSignal.isFired {
            let opened = ContinuousClock.now
            do {
                try await serve()
                return  // stopped, leave sent
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                let n = state.withLock { s in
                    s.talking = false
                    s.socketFailures += 1
                    s.lastError = "\(error)"
                    return s.socketFailures
                }
                // A socket that served a while starts the backoff over.
                if ContinuousClock.now - opened > .seconds(10) { backoff = configuration.reopenBackoff.first }
                logger.warning("membership socket failed; opening it again", metadata: [
                    "error": "\(error)", "failures": "\(n)", "retry.seconds": "\(backoff)"])
            }
            try? await Task.sleep(for: backoff)
            if Task.isCancelled { return }
            backoff = min(backoff * 2, configuration.reopenBackoff.limit)
        }
    }

    /// Datagrams read per recvmmsg(2): a flood is drained in few system calls, so the heartbeats in it are not
    /// dropped by a full socket buffer.
    static let vectorRead = 16

    private func bind() async throws -> Channel {
        func open(_ host: String) async throws -> Channel {
            var bootstrap = DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.datagramVectorReadMessageCount, value: Self.vectorRead)
                .channelOption(.maxMessagesPerRead, value: 8)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.vectorRead * 1536))
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Receiver(node: self)) }
                }
            if host == "::" {
                // Both families whatever net.ipv6.bindv6only says.
                bootstrap = bootstrap.channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 0)
            }
            return try await bootstrap.bind(host: host, port: configuration.port).get()
        }
        do {
            return try await open(configuration.bindHost)
        } catch let error as IOError where configuration.bindHost == "::" && [EAFNOSUPPORT, EADDRNOTAVAIL].contains(error.errnoCode) {
            return try await open("0.0.0.0")
        }
    }

    /// Where to send to `address` from a socket of the bound family.
    static func destination(_ address: SocketAddress, mapIPv4: Bool) -> SocketAddress {
        guard mapIPv4, case .v4 = address, let ip = address.ipAddress, let port = address.port,
              let mapped = try? SocketAddress(ipAddress: "::ffff:" + ip, port: port) else { return address }
        return mapped
    }

    /// One datagram, handled where it is read (on the event loop, no hop to a task): verified, then given to the
    /// detector. A refused one costs a failed decode and a counter.
    func receive(_ data: ByteBuffer, from sender: SocketAddress) {
        let message: MembershipMessage
        do { message = try MembershipMessage(decoding: data, key: key) } catch {
            let now = ContinuousClock.now
            let (n, report) = state.withLock { s in
                s.rejected += 1
                // The first refusal, then at most one line every 10 s with the count: a flood is one line, not many.
                let report = s.lastRefusalLog.map { now - $0 >= .seconds(10) } ?? true
                if report { s.lastRefusalLog = now }
                return (s.rejected, report)
            }
            if report {
                logger.warning("membership datagram refused", metadata: ["from": "\(sender)", "reason": "\(error)", "refused": "\(n)"])
            }
            return
        }
        let (changes, alive, gap) = state.withLock { s in
            let before = s.detector.lastDirect(of: message.sender)
            let changes = s.detector.received(message, now: now())
            let after = s.detector.lastDirect(of: message.sender)
            let gap = message.kind == .heartbeat && after != before ? before.flatMap { b in after.map { $0 - b } } : nil
            return (changes, s.detector.alive, gap)
        }
        if let gap { heartbeatGaps?.recordNanoseconds(gap.components.seconds * 1_000_000_000 + gap.components.attoseconds / 1_000_000_000) }
        if !changes.isEmpty { onChange(changes, alive) }
    }

    /// The socket's inbound side: every datagram to `receive`; an error closes the channel (and `serve` opens
    /// another).
    final class Receiver: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let node: MembershipNode
        init(node: MembershipNode) { self.node = node }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            node.receive(envelope.data, from: envelope.remoteAddress)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            node.state.withLock { $0.lastError = "\(error)" }
            context.close(promise: nil)
        }
    }

    /// One socket's life: returns when stopped (after the leave), throws when the socket fails.
    private func serve() async throws {
        let channel = try await bind()
        defer { channel.close(promise: nil) }
        let v6 = channel.localAddress.map { if case .v6 = $0 { true } else { false } } ?? false
        state.withLock { s in s.mapIPv4 = v6; s.talking = true; s.lastError = nil }
        logger.info("membership listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        func send(_ bytes: ByteBuffer, to targets: [SocketAddress]) -> EventLoopFuture<Void> {
            for address in targets.dropLast() { channel.write(AddressedEnvelope(remoteAddress: address, data: bytes), promise: nil) }
            guard let last = targets.last else { return channel.eventLoop.makeSucceededVoidFuture() }
            // One flush for the whole round; the last write's result stands for the round (a failed write closes
            // nothing by itself, so a refused send surfaces here).
            return channel.writeAndFlush(AddressedEnvelope(remoteAddress: last, data: bytes))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let (message, targets, changes, alive) = self.state.withLock { s in
                        let t = s.detector.tick(now: self.now())
                        let to = t.targets.compactMap { s.destinations[$0] }
                        return (t.heartbeat, to, t.changes, s.detector.alive)
                    }
                    if !changes.isEmpty { self.onChange(changes, alive) }
                    try await send(message.encode(key: self.key), to: targets).get()
                    try await Task.sleep(for: self.configuration.detector.interval)
                }
            }
            group.addTask {
                try await channel.closeFuture.get()
                throw MembershipSocketClosed(reason: self.state.withLock { $0.lastError })
            }
            group.addTask {
                // Wait for stop() (say goodbye to everyone); a cancelled wait (a crash, or this socket failing)
                // says nothing.
                guard await self.stopSignal.wait() else { return }
                let (message, targets) = self.state.withLock { s in
                    let l = s.detector.leave()
                    return (l.message, l.targets.compactMap { s.destinations[$0] })
                }
                try? await send(message.encode(key: self.key), to: targets).get()
                throw StopSignal.Stopped()
            }
            // The close also ends the task waiting on closeFuture, which cancellation alone would not.
            defer { group.cancelAll(); channel.close(promise: nil) }
            do { try await group.next() } catch is StopSignal.Stopped { return }
        }
    }
}

/// The socket closed under us (after an error on its inbound side, which `reason` gives).
struct MembershipSocketClosed: Error, CustomStringConvertible {
    var reason: String?
    var description: String { "the membership socket was closed" + (reason.map { ": \($0)" } ?? "") }
}

/// Set once by `stop()`; `wait()` returns true once it is set, or false if the waiting task is cancelled first
/// (the socket failed, or the node crashed: no leave).
final class StopSignal: Sendable {
    struct Stopped: Error {}
    private struct State {
        var fired = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var next = 0
    }
    private let state = Mutex(State())

    var isFired: Bool { state.withLock { $0.fired } }

    func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Bool, Never>] in
            s.fired = true
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume(returning: true) }
    }

    func wait() async -> Bool {
        let id = state.withLock { s in s.next += 1; return s.next }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
                // Task.isCancelled is read under the lock onCancel takes: either onCancel ran first, or it finds this
                // waiter registered.
                let ready: Bool? = state.withLock { s in
                    if s.fired { return true }
                    if Task.isCancelled { return false }
                    s.waiters[id] = c
                    return nil
                }
                if let ready { c.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }
}
