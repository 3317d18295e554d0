import BFD
import BFDTransport
import BGPProtocol
import CBGPSocket
import Glibc
import Logging
import NIOCore
import NIOPosix
import NetworkPrimitives
import Synchronization

extension tcp_md5sig: @unchecked @retroactive Sendable {}

/// One BGP peer: a TCP session (active open) driven by `SessionStateMachine`, its Adj-RIB-Out, timers and
/// reconnects. `run()` owns everything and lives until its task is cancelled, which stops the session with
/// Cease/Administrative Shutdown (or, in graceful-restart mode, closes without one so the peer keeps our routes).
public final class BGPSession: Sendable {
    public struct Configuration: Sendable {
        public var peer: IPAddress
        public var port = 179
        public var sourceAddress: IPAddress?
        /// RFC 2385 TCP MD5 key (at most 80 bytes).
        public var password: String?
        /// eBGP sessions are single-hop (TTL 1) unless this is set (then TTL 255).
        public var ebgpMultiHop = false
        /// RFC 5082 GTSM: send with TTL 255 and have the kernel drop segments from the peer that crossed more than
        /// this many hops (minimum TTL 256 - hops), so a spoofer further away cannot reach the session at all.
        public var ttlSecurityHops: Int?
        public var connectTimeout: Duration = .seconds(5)
        public var fsm: SessionStateMachine.Configuration
        /// A BFD session beside this one (a BFDProfile): when it goes down after being up, the BGP session drops at
        /// once instead of waiting for the hold timer.
        public var bfd: BFDEndpoint.Options?

        public init(peer: IPAddress, fsm: SessionStateMachine.Configuration) {
            self.peer = peer
            self.fsm = fsm
        }

        public var isEBGP: Bool { fsm.localASN != fsm.peerASN }
        /// `ADDR:PORT` as MetalLB labels peers.
        public var label: String { peer.family == .ipv6 ? "[\(peer)]:\(port)" : "\(peer):\(port)" }
    }

    /// What `speaker status` and /debug/state show for a peer.
    public struct Status: Sendable {
        public var state: SessionStateMachine.State = .idle
        public var establishedAt: ContinuousClock.Instant?
        public var lastError: String?
        public var negotiated: SessionStateMachine.Negotiated?
        public var advertised = 0
        public var pending = 0
        public var messagesSent: [String: Int] = [:]
        public var messagesReceived: [String: Int] = [:]
        /// Prefixes the peer announced to us (counted and dropped: Beacon does not import routes).
        public var prefixesReceived = 0
        /// Families negotiated on the session whose routes are not sent, with the reason (no next hop of that family).
        public var withheld: [IPFamily: String] = [:]
        /// Route refreshes the peer asked for and got.
        public var refreshes = 0
        /// The BFD session's state and last diagnostic, when there is one ("Up", "Down: control detection time expired").
        public var bfd: String?
    }

    /// How `run()` ends when its task is cancelled.
    public enum StopMode: Sendable {
        /// NOTIFICATION Cease/Administrative Shutdown: the peer withdraws our routes at once.
        case cease
        /// Close without a NOTIFICATION: a peer that negotiated graceful restart keeps our routes for the restart time.
        case gracefulRestart
    }

    public let configuration: Configuration
    let logger: Logger
    let metrics: BGPMetrics
    private let shared = Mutex(Shared())
    private let mailbox = Mailbox<Event>()
    private let bfdEndpoint: BFDEndpoint?
    /// Called for every transition and message, for `speaker bgp-probe`.
    let observer: (@Sendable (String) -> Void)?

    struct Shared {
        var status = Status()
        var routes: [IPPrefix: PathAttributes] = [:]
        var stopMode = StopMode.cease
        var nextHops = NextHops()
        /// The open connection once OPEN was sent: where a cancelled session writes its Cease.
        var channel: (any Channel)?
        /// Told when the session comes up or goes down, or its BFD session changes.
        var onChange: (@Sendable () -> Void)?
    }

    enum Event: Sendable {
        case connected(Int, any Channel)
        case connectFailed(Int, String)
        case message(Int, BGPMessage)
        case malformed(Int, BGPNotification)
        case closed(Int, String)
        case tick
        case retry
        case routes
        case stop
        case bfd(BFDSession.State, BFDSession.State, BFDSession.Diagnostic)
    }

    public init(configuration: Configuration, logger: Logger, metrics: BGPMetrics? = nil, bfd: BFDEndpoint? = nil,
                observer: (@Sendable (String) -> Void)? = nil) {
        self.configuration = configuration
        self.bfdEndpoint = bfd
        var l = logger
        l[metadataKey: "bgp.peer"] = "\(configuration.label)"
        self.logger = l
        self.metrics = metrics ?? BGPMetrics(peer: configuration.label)
        self.observer = observer
    }

    private func post(_ e: Event) { mailbox.post(e) }

    public var status: Status { shared.withLock { $0.status } }

    /// The routes to advertise (all of them; the session sends only differences).
    public func setRoutes(_ routes: [IPPrefix: PathAttributes]) {
        shared.withLock { $0.routes = routes }
        post(.routes)
    }

    public func setStopMode(_ mode: StopMode) { shared.withLock { $0.stopMode = mode } }

    /// `handler` runs (on the session's task) after the session comes up, goes down, or its BFD state changes.
    public func onStateChange(_ handler: @escaping @Sendable () -> Void) { shared.withLock { $0.onChange = handler } }

    private func changed() { shared.withLock { $0.onChange }?() }

    /// Stops the session (Cease, or a silent close in graceful-restart mode); `run()` returns once that is sent.
    /// Prefer this to cancelling `run()`'s task: cancellation also ends the connection's reader, so the Cease is
    /// then written straight to the socket as a last resort.
    public func stop() { post(.stop) }

    // MARK: - Run

    public func run() async {
        let bfd = startBFD()
        defer { if let bfd { bfdEndpoint?.remove(bfd) } }
        var fsm = SessionStateMachine(configuration: configuration.fsm)
        var rib = AdjRIBOut()
        var connection: (any Channel)?
        var generation = 0
        let origin = ContinuousClock.now
        func now() -> Duration { ContinuousClock.now - origin }
        let mailbox = self.mailbox

        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(200))
                        mailbox.post(.tick)
                    }
                }
                var pending = fsm.start()
                var stopping = false
                eventLoop: while true {
                    // Carry out the actions; they may produce more (e.g. a failed write).
                    while !pending.isEmpty {
                        let action = pending.removeFirst()
                        switch action {
                        case .connect:
                            generation += 1
                            let g = generation
                            observe("connecting to \(configuration.label)")
                            group.addTask { await self.connect(generation: g) }
                        case .send(let message):
                            guard let c = connection else { continue }
                            var b = ByteBuffer()
                            b.writeBGPMessage(message)
                            do { try await c.writeAndFlush(b).get(); count(sent: message) } catch {
                                pending += fsm.closed("write failed: \(error)")
                            }
                        case .close:
                            if let c = connection { try? await c.close() }
                            connection = nil
                        case .established(let negotiated):
                            shared.withLock { $0.status.establishedAt = .now; $0.status.negotiated = negotiated; $0.status.lastError = nil }
                            metrics.sessionUp.record(1)
                            logger.info("BGP session established", metadata: ["hold": "\(negotiated.holdTime)"])
                            observe("state Established (hold \(negotiated.holdTime), keepalive \(negotiated.keepaliveTime), families \(negotiated.families.map(\.description).joined(separator: ","))\(negotiated.peerGracefulRestart ? ", peer supports graceful restart" : ""))")
                            rib.reset()
                            pending += await advertise(&rib, negotiated: negotiated, channel: connection, endOfRIB: true)
                            changed()
                        case .refresh(let family):
                            guard let negotiated = fsm.negotiated else { continue }
                            observe("peer asked for a route refresh (\(family))")
                            shared.withLock { $0.status.refreshes += 1 }
                            rib.forget(family)
                            pending += await advertise(&rib, negotiated: negotiated, channel: connection, endOfRIB: false,
                                                       refreshing: family)
                        case .updateReceived(let announced, _, let treated):
                            shared.withLock { $0.status.prefixesReceived += announced }
                            if let treated {
                                metrics.updatesTreatedAsWithdraw.increment()
                                logger.info("UPDATE from peer treated as withdraw (RFC 7606)", metadata: ["reason": "\(treated)"])
                                observe("UPDATE treated as withdraw: \(treated)")
                            }
                        case .down(let reason, let retry):
                            connection = nil
                            metrics.sessionUp.record(0)
                            shared.withLock { $0.status.establishedAt = nil; $0.status.negotiated = nil; $0.status.lastError = reason }
                            if reason != "stopped" { logger.warning("BGP session down", metadata: ["reason": "\(reason)"]) }
                            observe("down: \(reason)\(retry.map { "; retrying in about \($0)" } ?? "")")
                            changed()
                            if let retry, !stopping {
                                // Jitter (0.75–1.0 of the delay, as RFC 4271 §10 suggests) so peers do not reconnect in step.
                                let jittered = retry * Double.random(in: 0.75...1.0)
                                group.addTask {
                                    try? await Task.sleep(for: jittered)
                                    mailbox.post(.retry)
                                }
                            }
                        }
                        let open = fsm.state == .openSent || fsm.state == .openConfirm || fsm.state == .established
                        shared.withLock { $0.status.state = fsm.state; $0.channel = open ? connection : nil }
                    }
                    if stopping { break eventLoop }
                    // The next event. (A mailbox, not an AsyncStream: after cancellation the loop must still see .stop
                    // and send its Cease.)
                    let event = await mailbox.next()
                    switch event {
                    case .connected(let g, let c):
                        guard g == generation, fsm.state == .connect else { try? await c.close(); continue }
                        connection = c
                        let local = c.localAddress?.ipAddress.flatMap { try? IPAddress($0) }?.unmapped
                        let hops = local.map(NextHops.forSession) ?? NextHops()
                        shared.withLock { $0.nextHops = hops }
                        observe("TCP connected from \(c.localAddress?.ipAddress ?? "?"):\(c.localAddress?.port ?? 0)")
                        pending = fsm.connected(now: now())
                    case .connectFailed(let g, let reason):
                        guard g == generation else { continue }
                        pending = fsm.connectFailed(reason)
                    case .message(let g, let m):
                        guard g == generation else { continue }
                        count(received: m)
                        let before = fsm.state
                        pending = fsm.received(m, now: now())
                        if fsm.state != before { observe("state \(before.rawValue) → \(fsm.state.rawValue)") }
                    case .malformed(let g, let n):
                        guard g == generation else { continue }
                        observe("received malformed message: \(n)")
                        pending = fsm.malformed(n)
                    case .closed(let g, let reason):
                        guard g == generation else { continue }
                        pending = fsm.closed(reason)
                    case .tick:
                        pending = fsm.tick(now: now())
                    case .retry:
                        pending = fsm.retry()
                    case .bfd(let from, let to, let why):
                        shared.withLock { $0.status.bfd = to == .up ? "Up" : "\(to): \(why)" }
                        observe("BFD \(from) → \(to)\(to == .up ? "" : " (\(why))")")
                        changed()
                        // A path the peer cannot reach us on: drop the session now, not after the hold time.
                        if from == .up, to != .up, fsm.state != .idle {
                            if let c = connection { try? await c.close() }
                            connection = nil
                            pending = fsm.closed("BFD session down: \(why)")
                        }
                    case .routes:
                        if fsm.state == .established, let n = fsm.negotiated {
                            pending = await advertise(&rib, negotiated: n, channel: connection, endOfRIB: false)
                        } else {
                            let routes = shared.withLock { $0.routes.count }
                            metrics.pending.record(routes)
                            shared.withLock { $0.status.pending = routes }
                        }
                    case .stop:
                        stopping = true
                        let mode = shared.withLock { $0.stopMode }
                        if mode == .gracefulRestart, fsm.state == .established {
                            observe("closing without NOTIFICATION (graceful restart)")
                            if let c = connection { try? await c.close() }
                            pending = [.down(reason: "stopped", retry: nil)]
                            _ = fsm.stop()
                        } else {
                            pending = fsm.stop(reason: "Beacon speaker shutting down")
                        }
                    }
                }
                group.cancelAll()
            }
        } onCancel: {
            // Cancellation ends the reader and closes the socket soon: send the Cease now, from here.
            let (channel, mode) = self.shared.withLock { ($0.channel, $0.stopMode) }
            if let channel, mode == .cease {
                var b = ByteBuffer()
                b.writeBGPMessage(.notification(.administrativeShutdown("Beacon speaker shutting down")))
                channel.writeAndFlush(b).whenComplete { _ in channel.close(promise: nil) }
            }
            mailbox.post(.stop)
        }
    }

    /// What one peer gets: eBGP prepends our AS and never carries LOCAL_PREF; iBGP defaults LOCAL_PREF to 100 (RFC 4271
    /// §5.1.5); a missing next hop becomes this node's address of the route's family on the session's interface (its
    /// own end of the session for the transport's family). Nil when there is no such address: the route is withheld
    /// rather than sent with a next hop the router cannot use.
    func sessionAttributes(_ a: PathAttributes, family: IPFamily, nextHops: NextHops) -> PathAttributes? {
        var out = a
        let c = configuration.fsm
        if configuration.isEBGP {
            out.asPath = [c.localASN] + a.asPath
            out.localPreference = nil
        } else if out.localPreference == nil {
            out.localPreference = 100
        }
        switch (family, nextHops.address(for: family)) {
        case (.ipv4, .success(.v4(let v4))): if out.nextHop == nil { out.nextHop = v4 }
        case (.ipv6, .success(.v6(let v6))): if out.nextHopIPv6 == nil { out.nextHopIPv6 = v6 }
        default:
            if family == .ipv4 && out.nextHop == nil { return nil }
            if family == .ipv6 && out.nextHopIPv6 == nil { return nil }
        }
        return out
    }

    /// Sends the differences between the Adj-RIB-Out and the wanted routes (plus End-of-RIB after establishment;
    /// framed by BoRR and EoRR when answering an enhanced route refresh for `refreshing`).
    private func advertise(_ rib: inout AdjRIBOut, negotiated: SessionStateMachine.Negotiated,
                           channel: (any Channel)?, endOfRIB: Bool, refreshing: IPFamily? = nil) async -> [SessionStateMachine.Action] {
        guard let channel else { return [] }
        let (routes, nextHops) = shared.withLock { ($0.routes, $0.nextHops) }
        var wanted: [IPPrefix: PathAttributes] = [:]
        var withheld: [IPFamily: String] = [:]
        for (prefix, attributes) in routes where negotiated.families.contains(prefix.family) {
            if let a = sessionAttributes(attributes, family: prefix.family, nextHops: nextHops) {
                wanted[prefix] = a
            } else if withheld[prefix.family] == nil, case .failure(let missing) = nextHops.address(for: prefix.family) {
                withheld[prefix.family] = "\(missing)"
            }
        }
        let newlyWithheld = shared.withLock { s in
            defer { s.status.withheld = withheld }
            return withheld.filter { s.status.withheld[$0.key] != $0.value }
        }
        for (family, why) in newlyWithheld.sorted(by: { $0.key < $1.key }) {
            logger.warning("BGP routes of a family not sent on this session", metadata: ["family": "\(family)", "reason": "\(why)"])
            observe("\(family) routes withheld: \(why)")
        }
        var bodies = rib.updates(to: wanted, fourOctetAS: negotiated.fourOctetAS)
        if endOfRIB { bodies += negotiated.families.map { UpdateMessage.endOfRIB($0).encode(fourOctetAS: negotiated.fourOctetAS) } }
        // Coalesce many UPDATEs into few writes.
        var batch = ByteBuffer()
        let framed = refreshing.flatMap { negotiated.enhancedRouteRefresh ? $0 : nil }
        if let framed { batch.writeBGPMessage(.routeRefresh(afi: framed.afi, subtype: 1, safi: 1)) }
        do {
            for body in bodies {
                batch.writeBGPMessage(.update(body))
                if batch.readableBytes > 60_000 { try await channel.writeAndFlush(batch).get(); batch = ByteBuffer() }
            }
            if let framed { batch.writeBGPMessage(.routeRefresh(afi: framed.afi, subtype: 2, safi: 1)) }
            if batch.readableBytes > 0 { try await channel.writeAndFlush(batch).get() }
        } catch {
            rib.reset()
            return [.close]
        }
        metrics.updatesSent.increment(by: bodies.count)
        metrics.announced.record(rib.count)
        metrics.pending.record(0)
        shared.withLock { s in
            s.status.advertised = rib.count
            s.status.pending = 0
            s.status.messagesSent["update", default: 0] += bodies.count
        }
        if !bodies.isEmpty { observe("sent \(bodies.count) UPDATE(s); \(rib.count) prefix(es) advertised") }
        return []
    }

    /// Registers the BFD session, if this peer has one; nil when none or when it cannot start (logged).
    private func startBFD() -> UInt32? {
        guard let options = configuration.bfd, let endpoint = bfdEndpoint else { return nil }
        do {
            let d = try endpoint.add(peer: configuration.peer, options: options) { [mailbox] _, from, to, why in
                mailbox.post(.bfd(from, to, why))
            }
            shared.withLock { $0.status.bfd = "\(BFDSession.State.down)" }
            return d
        } catch {
            logger.error("BFD cannot start; the session relies on its hold timer", metadata: ["error": "\(error)"])
            shared.withLock { $0.status.bfd = "not running: \(error)" }
            return nil
        }
    }

    // MARK: - Connection

    private func connect(generation: Int) async {
        let c = configuration
        do {
            let address = try SocketAddress(ipAddress: c.peer.description, port: c.port)
            var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(c.connectTimeout.components.seconds * 1_000_000_000 + c.connectTimeout.components.attoseconds / 1_000_000_000))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            if let source = c.sourceAddress { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source.description, port: 0)) }
            let v6 = c.peer.family == .ipv6
            let ttl: CInt? = c.ttlSecurityHops != nil ? 255 : c.isEBGP ? (c.ebgpMultiHop ? 255 : 1) : nil
            let minimumTTL: CInt? = c.ttlSecurityHops.map { CInt(256 - $0) }
            let password = c.password
            // Socket options go on before connect, so the SYN is already signed (MD5) and has the right TTL.
            let channel = try await bootstrap.connect(to: address) { channel in
                Self.socketOptions(channel, address: address, v6: v6, ttl: ttl, minimumTTL: minimumTTL, password: password).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(BGPFrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
            try await channel.executeThenClose { inbound, _ in
                post(.connected(generation, channel.channel))
                await read(inbound, generation: generation)
            }
        } catch {
            var reason = "cannot connect to \(c.label): \(error)"
            if c.password != nil, "\(error)".lowercased().contains("timeout") || "\(error)".lowercased().contains("timed out") {
                reason += " (with a TCP MD5 password set, a wrong or missing key on either side looks exactly like this: "
                    + "the peer's kernel drops unsigned or badly signed SYNs without an answer, so neither side can tell)"
            }
            post(.connectFailed(generation, reason))
        }
    }

    /// Linux's IPV6_MINHOPCOUNT (linux/in6.h; not in glibc's headers).
    static let ipv6MinHopCount: CInt = 73

    static func socketOptions(_ channel: any Channel, address: SocketAddress, v6: Bool, ttl: CInt?, minimumTTL: CInt?,
                              password: String?) -> EventLoopFuture<Void> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededVoidFuture() }
        var futures: [EventLoopFuture<Void>] = []
        if let password, !password.isEmpty {
            let key = Array(password.utf8)
            let sig: tcp_md5sig = address.withSockAddr { sa, len in
                key.withUnsafeBytes { cbgp_md5sig(sa, socklen_t(len), $0.baseAddress, Int32(key.count)) }
            }
            futures.append(provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_MD5SIG), value: sig))
        }
        if let ttl {
            if v6 {
                futures.append(provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_IPV6), name: SocketOptionName(IPV6_UNICAST_HOPS), value: ttl))
            } else {
                futures.append(provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_IP), name: SocketOptionName(IP_TTL), value: ttl))
            }
        }
        if let minimumTTL {
            // RFC 5082 §3: the SYN-ACK and everything after must arrive with at least this TTL.
            if v6 {
                futures.append(provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_IPV6), name: SocketOptionName(ipv6MinHopCount), value: minimumTTL))
            } else {
                futures.append(provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_IP), name: SocketOptionName(IP_MINTTL), value: minimumTTL))
            }
        }
        return EventLoopFuture.andAllSucceed(futures, on: channel.eventLoop)
    }

    private func read(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, generation: Int) async {
        do {
            var broken = false
            for try await frame in inbound where !broken {
                var b = frame
                do {
                    // Waits while the session is behind: the socket is then not read, and TCP slows the peer.
                    if let m = try b.readBGPMessage() { await mailbox.send(.message(generation, m)) }
                } catch {
                    // Keep the connection open (reading and ignoring) until the session has sent its NOTIFICATION
                    // and closes it.
                    post(.malformed(generation, error))
                    broken = true
                }
            }
            post(.closed(generation, "peer closed the connection"))
        } catch {
            post(.closed(generation, "connection error: \(error)"))
        }
    }

    // MARK: - Accounting

    private func count(sent m: BGPMessage) {
        switch m {
        case .open: metrics.opensSent.increment()
        case .keepalive: metrics.keepalivesSent.increment()
        case .notification(let n): metrics.notificationsSent.increment(); observe("sent NOTIFICATION \(n)")
        default: break
        }
        if case .open(let o) = m { observe("sent OPEN as \(o.asn), hold \(o.holdTime) s, router ID \(o.identifier)") }
        shared.withLock { $0.status.messagesSent[m.kind, default: 0] += 1 }
    }

    private func count(received m: BGPMessage) {
        switch m {
        case .open(let o):
            metrics.opensReceived.increment()
            observe("received OPEN: AS \(o.asn), hold \(o.holdTime) s, router ID \(o.identifier), capabilities \(o.capabilities.map(\.description).joined(separator: " "))")
        case .keepalive: metrics.keepalivesReceived.increment()
        case .notification(let n): metrics.notificationsReceived.increment(); observe("received NOTIFICATION \(n)")
        case .update:
            // Decoded and counted once, by the state machine (`.updateReceived`).
            metrics.updatesReceived.increment()
        case .routeRefresh: break
        }
        shared.withLock { $0.status.messagesReceived[m.kind, default: 0] += 1 }
    }

    private func observe(_ text: String) {
        observer?(text)
        logger.debug("\(text)")
    }
}

extension BGPMessage {
    var kind: String {
        switch self {
        case .open: return "open"
        case .update: return "update"
        case .notification: return "notification"
        case .keepalive: return "keepalive"
        case .routeRefresh: return "route-refresh"
        }
    }
}

/// Frames the TCP byte stream into whole BGP messages (by the header's length field); validation is left to
/// `readBGPMessage`, which then sees exactly one message per buffer.
struct BGPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= BGPMessage.headerLength,
              let length = buffer.getInteger(at: buffer.readerIndex + 16, as: UInt16.self) else { return .needMoreData }
        // A bad length is passed on as it is (header only), so the decoder answers with the right NOTIFICATION.
        let take = Int(length) < BGPMessage.headerLength || Int(length) > BGPMessage.maximumLength ? BGPMessage.headerLength : Int(length)
        guard buffer.readableBytes >= take, let slice = buffer.readSlice(length: take) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(slice))
        return .continue
    }
}

/// A queue of events whose `next()` waits regardless of task cancellation (the session must process its own
/// stop after its task is cancelled). Two lanes in one order: `post` (the session's own events: timers, stop, route
/// changes; few by construction) never waits; `send` (what the peer sends) waits while `capacity` of its elements
/// are queued, so a peer that sends faster than the session works is slowed by TCP, not buffered here.
final class Mailbox<Element: Sendable>: Sendable {
    private struct State {
        var queue = CircularBuffer<(element: Element, bounded: Bool)>()
        var bounded = 0
        var receiver: CheckedContinuation<Element, Never>?
        /// Senders waiting for room, by ticket.
        var senders: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextTicket = 0
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 64) { self.capacity = max(1, capacity) }

    /// Queues `e` at once.
    func post(_ e: Element) { enqueue(e, bounded: false) }

    /// Queues `e` once fewer than `capacity` sent elements wait; a cancelled sender stops waiting (and its element is
    /// still queued, so nothing is lost before the session sees its stop).
    func send(_ e: Element) async {
        let ticket = state.withLock { s in s.nextTicket += 1; return s.nextTicket }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                // Task.isCancelled is read under the lock that onCancel takes: either onCancel ran first (and this sees
                // the cancellation) or it finds this sender registered.
                let proceed = state.withLock { s -> Bool in
                    if s.bounded < capacity || Task.isCancelled { return true }
                    s.senders[ticket] = c
                    return false
                }
                if proceed { c.resume() }
            }
        } onCancel: {
            state.withLock { $0.senders.removeValue(forKey: ticket) }?.resume()
        }
        enqueue(e, bounded: true)
    }

    /// Elements waiting (for tests and status).
    var count: Int { state.withLock { $0.queue.count } }

    private func enqueue(_ e: Element, bounded: Bool) {
        let receiver: CheckedContinuation<Element, Never>? = state.withLock { s in
            if let r = s.receiver { s.receiver = nil; return r }
            s.queue.append((e, bounded))
            if bounded { s.bounded += 1 }
            return nil
        }
        receiver?.resume(returning: e)
    }

    func next() async -> Element {
        await withCheckedContinuation { (c: CheckedContinuation<Element, Never>) in
            let (ready, wake) = state.withLock { s -> (Element?, CheckedContinuation<Void, Never>?) in
                guard let first = s.queue.popFirst() else {
                    s.receiver = c
                    return (nil, nil)
                }
                if first.bounded { s.bounded -= 1 }
                var wake: CheckedContinuation<Void, Never>?
                if s.bounded < capacity, let ticket = s.senders.keys.min() { wake = s.senders.removeValue(forKey: ticket) }
                return (first.element, wake)
            }
            wake?.resume()
            if let ready { c.resume(returning: ready) }
        }
    }
}
