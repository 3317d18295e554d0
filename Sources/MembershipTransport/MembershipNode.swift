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
    private let state: Mutex<State>
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

    private func bind() async throws -> NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>> {
        func open(_ host: String) async throws -> NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>> {
            var bootstrap = DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
            if host == "::" {
                // Both families whatever net.ipv6.bindv6only says.
                bootstrap = bootstrap.channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 0)
            }
            return try await bootstrap.bind(host: host, port: configuration.port) { ch in
                ch.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: ch)
                }
            }
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

    /// One socket's life: returns when stopped (after the leave), throws when the socket fails.
    private func serve() async throws {
        let channel = try await bind()
        let v6 = channel.channel.localAddress.map { if case .v6 = $0 { true } else { false } } ?? false
        state.withLock { s in s.mapIPv4 = v6; s.talking = true; s.lastError = nil }
        logger.info("membership listening", metadata: ["address": "\(channel.channel.localAddress.map { "\($0)" } ?? "?")"])
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        let (message, targets, changes, alive) = self.state.withLock { s in
                            let t = s.detector.tick(now: self.now())
                            let to = t.targets.compactMap { s.destinations[$0] }
                            return (t.heartbeat, to, t.changes, s.detector.alive)
                        }
                        if !changes.isEmpty { self.onChange(changes, alive) }
                        let bytes = message.encode(key: self.key)
                        for address in targets { try await outbound.write(AddressedEnvelope(remoteAddress: address, data: bytes)) }
                        try await Task.sleep(for: self.configuration.detector.interval)
                    }
                }
                group.addTask {
                    for try await envelope in inbound {
                        let message: MembershipMessage
                        do { message = try MembershipMessage(decoding: envelope.data, key: self.key) } catch {
                            let n = self.state.withLock { s in s.rejected += 1; return s.rejected }
                            if n == 1 || n % 1000 == 0 {
                                self.logger.warning("membership datagram refused", metadata: ["from": "\(envelope.remoteAddress)", "reason": "\(error)", "refused": "\(n)"])
                            }
                            continue
                        }
                        let (changes, alive, gap) = self.state.withLock { s in
                            let before = s.detector.lastDirect(of: message.sender)
                            let changes = s.detector.received(message, now: self.now())
                            let after = s.detector.lastDirect(of: message.sender)
                            let gap = message.kind == .heartbeat && after != before ? before.flatMap { b in after.map { $0 - b } } : nil
                            return (changes, s.detector.alive, gap)
                        }
                        if let gap { self.heartbeatGaps?.recordNanoseconds(gap.components.seconds * 1_000_000_000 + gap.components.attoseconds / 1_000_000_000) }
                        if !changes.isEmpty { self.onChange(changes, alive) }
                    }
                    throw MembershipSocketClosed()
                }
                group.addTask {
                    // Wait for stop() (say goodbye to everyone); a cancelled wait (a crash, or this socket failing)
                    // says nothing.
                    guard await self.stopSignal.wait() else { return }
                    let (message, targets) = self.state.withLock { s in
                        let l = s.detector.leave()
                        return (l.message, l.targets.compactMap { s.destinations[$0] })
                    }
                    let bytes = message.encode(key: self.key)
                    for address in targets { try? await outbound.write(AddressedEnvelope(remoteAddress: address, data: bytes)) }
                    throw StopSignal.Stopped()
                }
                defer { group.cancelAll() }
                do { try await group.next() } catch is StopSignal.Stopped { return }
            }
        }
    }
}

/// The socket's receive side ended without an error.
struct MembershipSocketClosed: Error, CustomStringConvertible {
    var description: String { "the membership socket was closed" }
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
