import Crypto
import Logging
import Membership
import NIOCore
import NIOPosix
import Synchronization

/// The failure detector on the wire: UDP datagrams signed with the shared key, a heartbeat tick every interval,
/// changes reported as they happen. `run()` lives until `stop()` (which sends a leave so the others re-plan at once)
/// or until its task is cancelled (a crash, as far as the others can tell: they notice by timeout).
public final class MembershipNode: Sendable {
    public struct Configuration: Sendable {
        public var name: String
        public var incarnation: UInt64
        public var bindHost = "0.0.0.0"
        /// MetalLB's memberlist port.
        public var port = 7946
        public var detector = FailureDetector.Configuration()

        public init(name: String, incarnation: UInt64) {
            self.name = name
            self.incarnation = incarnation
        }
    }

    public let configuration: Configuration
    let key: SymmetricKey
    let logger: Logger
    let onChange: @Sendable ([FailureDetector.Change], Set<String>) -> Void
    private let state: Mutex<State>
    private let stopSignal = StopSignal()

    struct State {
        var detector: FailureDetector
        var addresses: [String: SocketAddress] = [:]
        var rejected = 0
    }

    public init(configuration: Configuration, key: SymmetricKey, logger: Logger,
                onChange: @escaping @Sendable ([FailureDetector.Change], Set<String>) -> Void) {
        self.configuration = configuration
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
    public func stop() { stopSignal.fire(leave: true) }

    public func run() async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: configuration.bindHost, port: configuration.port) { ch in
                ch.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: ch)
                }
            }
        logger.info("membership listening", metadata: ["port": "\(channel.channel.localAddress?.port ?? 0)"])
        try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        let (message, targets, changes, alive) = self.state.withLock { s in
                            let t = s.detector.tick(now: self.now())
                            return (t.heartbeat, t.targets.compactMap { s.addresses[$0] }, t.changes, s.detector.alive)
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
                        let (changes, alive) = self.state.withLock { s in (s.detector.received(message, now: self.now()), s.detector.alive) }
                        if !changes.isEmpty { self.onChange(changes, alive) }
                    }
                }
                group.addTask {
                    // Wait for stop() (say goodbye to everyone) or cancellation (a crash: say nothing).
                    let leave = await withTaskCancellationHandler {
                        await self.stopSignal.wait()
                    } onCancel: {
                        self.stopSignal.fire(leave: false)
                    }
                    guard leave else { throw CancellationError() }
                    let (message, targets) = self.state.withLock { s in
                        let l = s.detector.leave()
                        return (l.message, l.targets.compactMap { s.addresses[$0] })
                    }
                    let bytes = message.encode(key: self.key)
                    for address in targets { try await outbound.write(AddressedEnvelope(remoteAddress: address, data: bytes)) }
                    throw CancellationError()  // ends the group
                }
                do { try await group.next() } catch is CancellationError {}
                group.cancelAll()
            }
        }
    }
}

/// One-shot: `wait()` returns whether to leave, once `fire` was called (before or after).
final class StopSignal: Sendable {
    private enum State { case idle, waiting(CheckedContinuation<Bool, Never>), fired(Bool) }
    private let state = Mutex(State.idle)

    func fire(leave: Bool) {
        let waiter: CheckedContinuation<Bool, Never>? = state.withLock { s in
            switch s {
            case .idle: s = .fired(leave); return nil
            case .waiting(let c): s = .fired(leave); return c
            case .fired: return nil
            }
        }
        waiter?.resume(returning: leave)
    }

    func wait() async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let ready: Bool? = state.withLock { s in
                switch s {
                case .idle: s = .waiting(c); return nil
                case .waiting: return nil
                case .fired(let leave): return leave
                }
            }
            if let ready { c.resume(returning: ready) }
        }
    }
}
