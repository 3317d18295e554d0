import NetworkPrimitives

/// The RFC 4271 §8 finite state machine for one peer, as Beacon runs it (active open only), driven by events and a
/// clock the caller supplies (`now` is any monotonic instant expressed as a Duration since a fixed origin), and
/// returning the actions to carry out. No I/O, no timers of its own: tests drive it with a manual clock.
public struct SessionStateMachine: Sendable {
    public struct Configuration: Hashable, Sendable {
        public var localASN: ASN
        /// The AS the peer must open with; ignored with `anyExternalPeerAS`.
        public var peerASN: ASN
        /// MetalLB's `dynamicASN: external` (FRR's `remote-as external`): any AS but our own.
        public var anyExternalPeerAS = false
        public var routerID: IPv4Address
        /// Proposed hold time; 0 disables keepalives and the hold timer (RFC 4271 §4.2). Otherwise ≥ 3 s.
        public var holdTime: Duration = .seconds(90)
        /// Keepalive interval; nil = a third of the negotiated hold time.
        public var keepaliveTime: Duration?
        /// The address families offered (MP-BGP). MetalLB's rule: the session's transport family, and the other one
        /// too with `dualStackAddressFamily` (`families(transport:dualStack:)`).
        public var families: [IPFamily] = [.ipv4, .ipv6]
        /// Advertise RFC 4724 graceful restart (routers keep our routes for `restartTime` while we restart). The
        /// forwarding bit is set: traffic to service IPs is forwarded by kube-proxy, which a speaker restart leaves alone.
        public var gracefulRestart = false
        public var restartTime: UInt16 = 120
        /// Connect-retry backoff: first delay, doubling per consecutive failure up to `maximumRetry`.
        public var minimumRetry: Duration = .seconds(1)
        public var maximumRetry: Duration = .seconds(60)

        public init(localASN: ASN, peerASN: ASN, routerID: IPv4Address) {
            self.localASN = localASN
            self.peerASN = peerASN
            self.routerID = routerID
        }

        /// The families a session over `transport` carries: that one alone, or both (IPv4 first) when dual-stack.
        public static func families(transport: IPFamily, dualStack: Bool) -> [IPFamily] {
            dualStack ? [.ipv4, .ipv6] : [transport]
        }
    }

    public enum State: String, Hashable, Sendable {
        case idle = "Idle", connect = "Connect", openSent = "OpenSent", openConfirm = "OpenConfirm", established = "Established"
    }

    /// What the session negotiated, known once OPENs are exchanged.
    public struct Negotiated: Hashable, Sendable {
        public var holdTime: Duration
        public var keepaliveTime: Duration
        public var fourOctetAS: Bool
        public var families: [IPFamily]
        public var peerRouterID: IPv4Address
        public var peerGracefulRestart: Bool
        public var peerCapabilities: [Capability]
        /// Both sides advertised RFC 7313 enhanced route refresh: a refresh is framed by BoRR and EoRR.
        public var enhancedRouteRefresh: Bool
    }

    public enum Action: Hashable, Sendable {
        case connect
        case send(BGPMessage)
        /// Close the TCP connection (after sending what precedes this action).
        case close
        /// The session came up: send the whole Adj-RIB-Out.
        case established(Negotiated)
        /// The session went down (or a connection attempt failed), with the reason; a new attempt is due after `retry`
        /// unless the session was stopped.
        case down(reason: String, retry: Duration?)
        /// An UPDATE was accepted (Beacon keeps no routes from peers: this is for counting and logs). `treatedAsWithdraw`
        /// is RFC 7606's verdict on attribute errors that do not reset the session, with the reason.
        case updateReceived(announced: Int, withdrawn: Int, treatedAsWithdraw: String?)
        /// The peer asked for our routes of this family again (RFC 2918 ROUTE-REFRESH): send the whole Adj-RIB-Out
        /// of that family, between BoRR and EoRR when enhanced route refresh was negotiated.
        case refresh(IPFamily)
    }

    public let configuration: Configuration
    public private(set) var state: State = .idle
    public private(set) var negotiated: Negotiated?
    public private(set) var lastError: String?
    public private(set) var establishedSince: Duration?
    private var failures = 0
    private var holdDeadline: Duration?
    private var nextKeepalive: Duration?
    private var stopped = true

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// RFC 4271 §8.2.2: the large hold time used until OPENs are exchanged.
    static let openHoldTime: Duration = .seconds(240)

    public mutating func start() -> [Action] {
        stopped = false
        guard state == .idle else { return [] }
        state = .connect
        return [.connect]
    }

    /// Administrative stop: Cease/Administrative Shutdown if a connection is open.
    public mutating func stop(reason: String = "") -> [Action] {
        stopped = true
        defer { reset() }
        switch state {
        case .openSent, .openConfirm, .established:
            return [.send(.notification(.administrativeShutdown(reason))), .close, .down(reason: "stopped", retry: nil)]
        case .connect:
            return [.close, .down(reason: "stopped", retry: nil)]
        case .idle:
            return []
        }
    }

    /// The retry timer fired.
    public mutating func retry() -> [Action] {
        guard !stopped, state == .idle else { return [] }
        state = .connect
        return [.connect]
    }

    public mutating func connected(now: Duration) -> [Action] {
        guard state == .connect else { return [.close] }
        state = .openSent
        holdDeadline = now + Self.openHoldTime
        return [.send(.open(openMessage()))]
    }

    public mutating func connectFailed(_ error: String) -> [Action] {
        guard state == .connect else { return [] }
        return fail(error, notify: nil)
    }

    /// The peer closed the connection (or it broke).
    public mutating func closed(_ reason: String) -> [Action] {
        guard state != .idle else { return [] }
        return fail(reason, notify: nil, closeFirst: false)
    }

    /// A message arrived that could not be decoded: send the NOTIFICATION and drop the session.
    public mutating func malformed(_ notification: BGPNotification) -> [Action] {
        fail("malformed message from peer: \(notification)", notify: notification)
    }

    public mutating func received(_ message: BGPMessage, now: Duration) -> [Action] {
        switch (state, message) {
        case (.openSent, .open(let open)):
            let neg: Negotiated
            switch validate(open) {
            case .failure(let n): return fail("peer's OPEN refused: \(n)", notify: n)
            case .success(let v): neg = v
            }
            negotiated = neg
            state = .openConfirm
            holdDeadline = neg.holdTime == .zero ? nil : now + neg.holdTime
            nextKeepalive = neg.holdTime == .zero ? nil : now + neg.keepaliveTime
            return [.send(.keepalive)]
        case (.openConfirm, .keepalive):
            guard let neg = negotiated else { return [] }
            state = .established
            establishedSince = now
            failures = 0
            lastError = nil
            holdDeadline = neg.holdTime == .zero ? nil : now + neg.holdTime
            return [.established(neg)]
        case (.established, .update(let body)):
            if let neg = negotiated, neg.holdTime != .zero { holdDeadline = now + neg.holdTime }
            // RFC 7606: the decoder throws the NOTIFICATION for the errors that still reset the session (message
            // lengths that hide the NLRI, NLRI that cannot be parsed, a malformed MP_REACH_NLRI); attribute errors it
            // reports as treat-as-withdraw, and repeated or malformed optional attributes it discards.
            do {
                let u = try UpdateMessage(decoding: body, fourOctetAS: negotiated?.fourOctetAS ?? true)
                return [.updateReceived(announced: u.announced.count, withdrawn: u.withdrawn.count, treatedAsWithdraw: u.treatAsWithdraw)]
            } catch {
                return fail("malformed UPDATE from peer: \(error)", notify: error)
            }
        case (.established, .routeRefresh(let afi, let subtype, let safi)):
            if let neg = negotiated, neg.holdTime != .zero { holdDeadline = now + neg.holdTime }
            // A request (subtype 0) for a family of this session; a family we did not negotiate is ignored (RFC 2918
            // §4), and so are the peer's BoRR/EoRR (they frame the peer's own routes, which Beacon does not keep).
            guard subtype == 0, safi == 1, let family = IPFamily(afi: afi), negotiated?.families.contains(family) == true else { return [] }
            return [.refresh(family)]
        case (.established, .keepalive):
            if let neg = negotiated, neg.holdTime != .zero { holdDeadline = now + neg.holdTime }
            return []
        case (_, .notification(let n)):
            return fail("peer sent NOTIFICATION \(n)", notify: nil)
        default:
            // RFC 4271 §8.2.2: any other message in this state is an FSM error.
            return fail("unexpected message in \(state.rawValue)", notify: .finiteStateMachineError())
        }
    }

    /// Timers: hold expiry and keepalives. Call at least every keepalive interval / 3 (the driver ticks every 200 ms).
    public mutating func tick(now: Duration) -> [Action] {
        if let deadline = holdDeadline, now >= deadline, state == .openSent || state == .openConfirm || state == .established {
            return fail("hold timer expired: nothing from the peer for \(negotiated?.holdTime ?? Self.openHoldTime)", notify: .holdTimerExpired())
        }
        if let due = nextKeepalive, now >= due, state == .openConfirm || state == .established, let neg = negotiated {
            nextKeepalive = now + neg.keepaliveTime
            return [.send(.keepalive)]
        }
        return []
    }

    /// The delay before the next connection attempt after `failures` consecutive failures, before jitter.
    public var retryDelay: Duration {
        let factor = 1 << min(failures - 1, 16)
        return min(configuration.maximumRetry, configuration.minimumRetry * max(1, factor))
    }

    private mutating func fail(_ reason: String, notify: BGPNotification?, closeFirst: Bool = true) -> [Action] {
        var actions: [Action] = []
        if let notify, state == .openSent || state == .openConfirm || state == .established { actions.append(.send(.notification(notify))) }
        if closeFirst { actions.append(.close) }
        lastError = reason
        failures += 1
        let delay = retryDelay
        reset()
        actions.append(.down(reason: reason, retry: stopped ? nil : delay))
        return actions
    }

    private mutating func reset() {
        state = .idle
        negotiated = nil
        establishedSince = nil
        holdDeadline = nil
        nextKeepalive = nil
    }

    func openMessage() -> OpenMessage {
        var caps: [Capability] = configuration.families.map { .multiprotocol(afi: $0.afi, safi: 1) }
        caps.append(.routeRefresh)
        caps.append(.enhancedRouteRefresh)
        caps.append(.fourOctetASN(configuration.localASN))
        if configuration.gracefulRestart {
            caps.append(.gracefulRestart(restarting: false, notification: false, time: configuration.restartTime,
                                         families: configuration.families.map { GracefulRestartFamily(afi: $0.afi, safi: 1, forwardingPreserved: true) }))
        }
        let seconds = UInt16(clamping: configuration.holdTime.components.seconds)
        return OpenMessage(asn: configuration.localASN, holdTime: seconds, identifier: configuration.routerID, capabilities: caps)
    }

    /// RFC 4271 §6.2 and RFC 6793 checks of the peer's OPEN; the negotiated parameters.
    func validate(_ open: OpenMessage) -> Result<Negotiated, BGPNotification> {
        var peerAS = ASN(UInt32(open.myAutonomousSystem))
        var fourOctet = false
        var families: Set<IPFamily> = []
        var peerMP = false
        var gr = false
        var enhanced = false
        for c in open.capabilities {
            switch c {
            case .fourOctetASN(let asn): peerAS = asn; fourOctet = true
            case .multiprotocol(let afi, let safi):
                peerMP = true
                if safi == 1, let f = IPFamily(afi: afi) { families.insert(f) }
            case .gracefulRestart: gr = true
            case .enhancedRouteRefresh: enhanced = true
            default: break
            }
        }
        if configuration.anyExternalPeerAS {
            guard peerAS != configuration.localASN else { return .failure(.badPeerAS()) }
        } else {
            guard peerAS == configuration.peerASN else { return .failure(.badPeerAS()) }
        }
        guard open.identifier != configuration.routerID || configuration.localASN != configuration.peerASN else { return .failure(.badBGPIdentifier()) }
        // A peer without multiprotocol capabilities speaks IPv4 unicast only (RFC 4760 §8).
        if !peerMP { families = [.ipv4] }
        let common = configuration.families.filter { families.contains($0) }
        let peerHold = Duration.seconds(Int64(open.holdTime))
        let hold = min(configuration.holdTime, peerHold)
        let keepalive: Duration
        if let k = configuration.keepaliveTime, hold != .zero { keepalive = min(k, hold / 3) } else { keepalive = hold / 3 }
        return .success(Negotiated(holdTime: hold, keepaliveTime: keepalive, fourOctetAS: fourOctet, families: common,
                                   peerRouterID: open.identifier, peerGracefulRestart: gr, peerCapabilities: open.capabilities,
                                   enhancedRouteRefresh: enhanced))
    }
}
