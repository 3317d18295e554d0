import BFD
import Glibc
import Logging
import NetworkPrimitives
import Synchronization

/// BFD over UDP for this node's sessions: RFC 5881 single hop (port 3784, sent and accepted only with TTL 255) and
/// RFC 5883 multihop (port 4784, accepted with at least the configured minimum TTL). Each session sends from its own
/// socket on a port in 49152–65535; one socket per port receives for all of them, matched by Your Discriminator or,
/// before the peer knows ours, by its address.
///
/// The sockets are read by threads of their own (blocking `recvmsg`, for the TTL of every packet, which SwiftNIO does
/// not expose), and one more thread keeps the sessions' timers; none of them waits on Swift's cooperative pool, so a
/// busy speaker does not delay a BFD packet. They start with the first session and stop with the last.
public final class BFDEndpoint: Sendable {
    public struct Options: Hashable, Sendable {
        public var session = BFDSession.Configuration()
        /// RFC 5883 multihop (eBGP multihop peers); single hop otherwise.
        public var multihop = false
        /// Multihop only: the least TTL a packet may arrive with (MetalLB's `minimumTtl`, default 254).
        public var minimumTTL: UInt8 = 254
        /// The address to send from; the kernel's choice toward the peer when nil.
        public var source: IPAddress?
        public init() {}
    }

    /// A state change of one session: the peer, the old and new state, and why.
    public typealias Handler = @Sendable (IPAddress, BFDSession.State, BFDSession.State, BFDSession.Diagnostic) -> Void

    public struct Status: Sendable {
        public var state: BFDSession.State
        public var diagnostic: BFDSession.Diagnostic
        public var remoteState: BFDSession.State
        public var transmitInterval: Duration
        public var detectionTime: Duration?
    }

    struct Entry {
        var session: BFDSession
        let peer: IPAddress
        let options: Options
        let socket: Int32
        let handler: Handler
    }

    struct State {
        var sessions: [UInt32: Entry] = [:]
        var running = false
        var listeners: [UInt16: Int32] = [:]
        var generation = 0
    }

    let logger: Logger
    private let state = Mutex(State())
    private let origin = ContinuousClock.now
    /// Packets refused (malformed, wrong TTL, unknown session), for status.
    private let refused = Atomic<Int>(0)

    public static let singleHopPort: UInt16 = 3784
    public static let multihopPort: UInt16 = 4784

    public init(logger: Logger) { self.logger = logger }

    private func now() -> Duration { ContinuousClock.now - origin }

    public var refusedPackets: Int { refused.load(ordering: .relaxed) }

    /// Starts a session to `peer`; `handler` hears every state change. Throws when the sockets cannot be opened.
    @discardableResult
    public func add(peer: IPAddress, options: Options, handler: @escaping Handler) throws -> UInt32 {
        let port = options.multihop ? Self.multihopPort : Self.singleHopPort
        let socket = try Self.senderSocket(peer: peer, source: options.source)
        let (discriminator, startThreads, listenerError) = state.withLock { s -> (UInt32, Bool, String?) in
            var d: UInt32 = 0
            repeat { d = UInt32.random(in: 1...UInt32.max) } while s.sessions[d] != nil
            var error: String?
            if s.listeners[port] == nil {
                switch Self.listener(port: port) {
                case .success(let fd): s.listeners[port] = fd
                case .failure(let e): error = e.description
                }
            }
            s.sessions[d] = Entry(session: BFDSession(configuration: options.session, localDiscriminator: d), peer: peer,
                                  options: options, socket: socket, handler: handler)
            let start = !s.running
            if start { s.running = true; s.generation += 1 }
            return (d, start, error)
        }
        if let listenerError {
            remove(discriminator)
            throw BFDError("cannot listen on UDP port \(port): \(listenerError)")
        }
        if startThreads { startThreadsNow() }
        let actions = state.withLock { s -> [BFDSession.Action] in s.sessions[discriminator]?.session.start(now: now()) ?? [] }
        carryOut(actions, discriminator: discriminator)
        return discriminator
    }

    /// Ends a session: AdminDown to the peer, then the socket closes. The last session stops the threads.
    public func remove(_ discriminator: UInt32) {
        let (entry, actions) = state.withLock { s -> (Entry?, [BFDSession.Action]) in
            guard var e = s.sessions[discriminator] else { return (nil, []) }
            let a = e.session.adminDown(now: now())
            s.sessions[discriminator] = nil
            if s.sessions.isEmpty {
                s.running = false
                for (_, fd) in s.listeners { close(fd) }
                s.listeners = [:]
            }
            return (e, a)
        }
        guard let entry else { return }
        for case .send(let p) in actions { send(p, entry) }
        close(entry.socket)
    }

    public func status(_ discriminator: UInt32) -> Status? {
        state.withLock { s in
            s.sessions[discriminator].map {
                Status(state: $0.session.state, diagnostic: $0.session.diagnostic, remoteState: $0.session.remoteState,
                       transmitInterval: $0.session.transmitInterval, detectionTime: $0.session.detectionTime)
            }
        }
    }

    // MARK: - Threads

    private func startThreadsNow() {
        let generation = state.withLock { $0.generation }
        for port in [Self.singleHopPort, Self.multihopPort] {
            spawn { [self] in receiveLoop(port: port, generation: generation) }
        }
        spawn { [self] in timerLoop(generation: generation) }
    }

    private func alive(_ generation: Int) -> Bool { state.withLock { $0.running && $0.generation == generation } }

    /// Ticks every session at its next deadline (at least every 50 ms, so a session added meanwhile starts on time).
    private func timerLoop(generation: Int) {
        while alive(generation) {
            let t = now()
            var fired: [(UInt32, [BFDSession.Action])] = []
            let next = state.withLock { s -> Duration in
                var next = t + .milliseconds(50)
                for d in Array(s.sessions.keys) {
                    let a = s.sessions[d]!.session.tick(now: t, jitter: Double.random(in: 0.75...1))  // Invariant: key from the dictionary.
                    if !a.isEmpty { fired.append((d, a)) }
                    if let n = s.sessions[d]?.session.nextDeadline { next = min(next, n) }
                }
                return next
            }
            for (d, a) in fired { carryOut(a, discriminator: d) }
            let wait = next - now()
            if wait > .zero {
                let (s, atto) = wait.components
                var ts = timespec(tv_sec: Int(s), tv_nsec: Int(atto / 1_000_000_000))
                nanosleep(&ts, nil)
            }
        }
    }

    private func receiveLoop(port: UInt16, generation: Int) {
        var buffer = [UInt8](repeating: 0, count: 128)
        var control = [UInt8](repeating: 0, count: 128)
        while alive(generation) {
            guard let fd = state.withLock({ $0.listeners[port] }) else {
                usleep(100_000)
                continue
            }
            guard let (from, ttl, count) = Self.receive(fd, &buffer, &control) else { continue }
            handle(Array(buffer.prefix(count)), from: from, ttl: ttl, port: port)
        }
    }

    func handle(_ bytes: [UInt8], from: IPAddress, ttl: Int?, port: UInt16) {
        let packet: BFDPacket
        do { packet = try BFDPacket(decoding: bytes) } catch {
            refused.add(1, ordering: .relaxed)
            return
        }
        let t = now()
        let (discriminator, actions) = state.withLock { s -> (UInt32?, [BFDSession.Action]) in
            let multihop = port == Self.multihopPort
            let d: UInt32? = packet.yourDiscriminator != 0
                ? packet.yourDiscriminator
                : s.sessions.first { $0.value.peer == from && $0.value.options.multihop == multihop }?.key
            guard let d, let e = s.sessions[d], e.peer == from, e.options.multihop == multihop else { return (nil, []) }
            // RFC 5881 §5: single hop only from TTL 255; RFC 5883 §5: multihop from at least the configured minimum.
            let least = multihop ? Int(e.options.minimumTTL) : 255
            guard let ttl, ttl >= least else { return (nil, []) }
            return (d, s.sessions[d]!.session.received(packet, now: t))  // Invariant: checked above.
        }
        guard let discriminator else {
            refused.add(1, ordering: .relaxed)
            return
        }
        carryOut(actions, discriminator: discriminator)
    }

    private func carryOut(_ actions: [BFDSession.Action], discriminator: UInt32) {
        guard !actions.isEmpty, let entry = state.withLock({ $0.sessions[discriminator] }) else { return }
        for action in actions {
            switch action {
            case .send(let p): send(p, entry)
            case .stateChanged(let from, let to, let why):
                logger.info("BFD session state", metadata: ["peer": "\(entry.peer)", "from": "\(from)", "to": "\(to)", "diagnostic": "\(why)"])
                entry.handler(entry.peer, from, to, why)
            }
        }
    }

    private func send(_ p: BFDPacket, _ e: Entry) {
        let bytes = p.encoded
        let port = e.options.multihop ? Self.multihopPort : Self.singleHopPort
        _ = Self.withSockaddr(e.peer, port: port) { sa, len in
            bytes.withUnsafeBytes { sendto(e.socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), sa, len) }
        }
    }
}

public struct BFDError: Error, CustomStringConvertible {
    public let description: String
    init(_ d: String) { description = d }
}

/// A detached thread running `body`.
private func spawn(_ body: @escaping @Sendable () -> Void) {
    final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let rc = pthread_create(&thread, nil, { arg in
        let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()  // Invariant: pthread_create passes the pointer given.
        box.body()
        return nil
    }, box)
    if rc == 0 { pthread_detach(thread) } else { Unmanaged<Box>.fromOpaque(box).release() }
}
