import AnnouncementPolicy
import BFDTransport
import BGPProtocol
import BGPTransport
import CoreMetrics
import LoadBalancerConfig
import Logging
import NetworkPrimitives
import Synchronization

/// The BGP sessions of this node: one `BGPSession` per BGPPeer whose nodeSelectors match it, each fed the routes the
/// plan gives that peer. A peer whose settings change gets a new session (the old one sends Cease); a peer that
/// goes away is stopped. Sessions run as children of the runtime's task group (`starts` hands them over).
final class PeerSessions: Sendable {
    struct Entry {
        var peer: BGPPeer
        var configuration: BGPSession.Configuration
        var session: BGPSession
        var routes: [IPPrefix: PathAttributes] = [:]
        /// Distinguishes this session from the one it replaced.
        var generation = 0
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let generations = Atomic<Int>(0)
    /// Peers that cannot have a session, with the reason (for logs and /debug/state).
    private let refused = Mutex<[String: String]>([:])
    let starts: AsyncStream<BGPSession>
    private let startContinuation: AsyncStream<BGPSession>.Continuation
    let logger: Logger
    let factory: any MetricsFactory
    /// The BFD sessions of peers with a BFDProfile (its threads run only while there is one).
    let bfd: BFDEndpoint
    private let changeHandler = Mutex<(@Sendable () -> Void)?>(nil)

    init(logger: Logger, factory: any MetricsFactory) {
        (starts, startContinuation) = AsyncStream.makeStream()
        self.logger = logger
        self.factory = factory
        bfd = BFDEndpoint(logger: logger)
    }

    /// The session settings for `peer` on this node, or why there can be none.
    static func sessionConfiguration(_ peer: BGPPeer, routerID fallback: IPv4Address?,
                                     bfdProfile: BFDProfile? = nil) -> Result<BGPSession.Configuration, SessionRefusal> {
        guard let address = peer.address else { return .failure(SessionRefusal("peer \(peer.name): unnumbered peering (spec.interface) is not supported")) }
        // Never peered from the default table instead: the router would get routes meant for another VRF.
        if let vrf = peer.vrf { return .failure(SessionRefusal("peer \(peer.name): VRF \"\(vrf)\" is not supported yet")) }
        guard let routerID = peer.routerID ?? fallback else {
            return .failure(SessionRefusal("peer \(peer.name): no router ID (set spec.routerID, or give the node an IPv4 InternalIP)"))
        }
        let local = peer.localASN ?? peer.myASN
        let remote: ASN
        switch peer.peerASN {
        case .fixed(let a): remote = a
        case .dynamicInternal: remote = local
        // Any AS but ours, learnt from the peer's OPEN; 0 here only marks the session as eBGP.
        case .dynamicExternal: remote = ASN(0)
        }
        var fsm = SessionStateMachine.Configuration(localASN: local, peerASN: remote, routerID: routerID)
        fsm.anyExternalPeerAS = peer.peerASN == .dynamicExternal
        fsm.holdTime = peer.holdTime
        fsm.keepaliveTime = peer.keepaliveTime
        fsm.gracefulRestart = peer.enableGracefulRestart
        // MetalLB's rule: a session carries its transport's family; dualStackAddressFamily adds the other one.
        fsm.families = [.ipv4, .ipv6].filter(peer.carries)
        var c = BGPSession.Configuration(peer: address, fsm: fsm)
        c.port = Int(peer.port)
        c.sourceAddress = peer.sourceAddress
        c.ebgpMultiHop = peer.ebgpMultiHop
        c.ttlSecurityHops = peer.ttlSecurityHops
        if let profile = bfdProfile {
            // MetalLB's BFDProfile: intervals in milliseconds, multiplier, passive; multihop for eBGP multihop peers,
            // which accept packets from at least minimumTtl. Echo mode is not run (asynchronous mode only).
            var o = BFDEndpoint.Options()
            o.session.desiredMinTx = .milliseconds(Int(profile.transmitInterval))
            o.session.requiredMinRx = .milliseconds(Int(profile.receiveInterval))
            o.session.detectMultiplier = UInt8(clamping: profile.detectMultiplier)
            o.session.passive = profile.passiveMode
            o.multihop = peer.ebgpMultiHop
            o.minimumTTL = UInt8(clamping: profile.minimumTTL)
            o.source = peer.sourceAddress
            c.bfd = o
        }
        if let t = peer.connectTime {
            // MetalLB's connectTime is FRR's connect-retry timer: an attempt every `t`, each given at most `t`,
            // instead of the jittered exponential backoff.
            c.fsm.minimumRetry = t
            c.fsm.maximumRetry = t
            c.connectTimeout = t
        }
        switch peer.password {
        case .inline(let p)?: c.password = p
        case .secret(let name, let value)?:
            guard let value else { return .failure(SessionRefusal("peer \(peer.name): password Secret \(name) is not readable")) }
            c.password = value
        case nil: break
        }
        return .success(c)
    }

    struct SessionRefusal: Error, Hashable, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Makes the sessions match `peers` and gives each its routes. Returns the peers that got a new session.
    @discardableResult
    func reconcile(peers: [BGPPeer], routes: [String: [IPPrefix: RouteAttributes]], routerID: IPv4Address?, bfdProfiles: [BFDProfile]) -> [String] {
        var started: [String] = []
        var stopped: [BGPSession] = []
        var refusals: [String: String] = [:]
        entries.withLock { entries in
            let wanted = Dictionary(peers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            for (name, entry) in entries where wanted[name] == nil {
                stopped.append(entry.session)
                entries[name] = nil
            }
            for (name, peer) in wanted.sorted(by: { $0.key < $1.key }) {
                let configuration: BGPSession.Configuration
                let profile = peer.bfdProfile.flatMap { name in bfdProfiles.first { $0.name == name } }
                switch Self.sessionConfiguration(peer, routerID: routerID, bfdProfile: profile) {
                case .failure(let why):
                    refusals[name] = why.description
                    if let old = entries.removeValue(forKey: name) { stopped.append(old.session) }
                    continue
                case .success(let c): configuration = c
                }
                if let have = entries[name], have.peer == peer, have.configuration.fsm.routerID == configuration.fsm.routerID,
                   have.configuration.bfd == configuration.bfd {
                    continue
                }
                if let old = entries.removeValue(forKey: name) { stopped.append(old.session) }
                let session = BGPSession(configuration: configuration, logger: logger,
                                         metrics: BGPMetrics(peer: configuration.label, factory: factory), bfd: bfd)
                session.onStateChange { [weak self] in self?.changeHandler.withLock { $0 }?() }
                entries[name] = Entry(peer: peer, configuration: configuration, session: session,
                                      generation: generations.add(1, ordering: .relaxed).newValue)
                started.append(name)
            }
            for (name, entry) in entries {
                let want = (routes[name] ?? [:]).mapValues(Self.pathAttributes)
                if want != entry.routes || started.contains(name) {
                    entries[name]?.routes = want
                    entry.session.setRoutes(want)
                }
            }
            for name in started { if let s = entries[name]?.session { startContinuation.yield(s) } }
        }
        for s in stopped { s.stop() }
        let newRefusals = refused.withLock { r in
            let fresh = refusals.filter { r[$0.key] != $0.value }
            r = refusals
            return fresh
        }
        for (_, why) in newRefusals.sorted(by: { $0.key < $1.key }) { logger.warning("BGP peer skipped", metadata: ["reason": "\(why)"]) }
        if !started.isEmpty { logger.info("BGP sessions started", metadata: ["peers": "\(started.joined(separator: ","))"]) }
        return started
    }

    static func pathAttributes(_ r: RouteAttributes) -> PathAttributes {
        PathAttributes(localPreference: r.localPreference, communities: r.communities.sorted(), largeCommunities: r.largeCommunities.sorted())
    }

    /// Stops every session (Cease, or a silent close for graceful restart) and forgets them.
    func stopAll(gracefulRestart: Bool) {
        let all = entries.withLock { e in
            let s = e.values.map(\.session)
            e.removeAll()
            return s
        }
        for s in all {
            if gracefulRestart { s.setStopMode(.gracefulRestart) }
            s.stop()
        }
        startContinuation.finish()
    }

    func setChangeHandler(_ handler: @escaping @Sendable () -> Void) { changeHandler.withLock { $0 = handler } }

    func notEstablished() -> Set<String> {
        entries.withLock { e in Set(e.filter { $0.value.session.status.state != .established }.map { "\($0.key)#\($0.value.generation)" }) }
    }

    /// For /debug/state.
    func report(now: ContinuousClock.Instant = .now) -> [DebugState.Peer] {
        entries.withLock { e in
            e.sorted { $0.key < $1.key }.map { name, entry in
                let st = entry.session.status
                return DebugState.Peer(
                    name: name, address: entry.configuration.label, localASN: entry.configuration.fsm.localASN.value,
                    peerASN: entry.configuration.fsm.peerASN.value, state: st.state.rawValue,
                    uptimeSeconds: st.establishedAt.map { Self.seconds(now - $0) }, lastError: st.lastError,
                    holdTimeSeconds: st.negotiated.map { Self.seconds($0.holdTime) }, advertised: st.advertised, pending: st.pending,
                    routes: entry.routes.sorted { $0.key < $1.key }.map { prefix, a in
                        DebugState.PeerRoute(prefix: prefix.description, localPref: a.localPreference.map(Int.init),
                                             communities: a.communities.map(\.description) + a.largeCommunities.map(\.description))
                    },
                    bfd: st.bfd, withheld: st.withheld.isEmpty ? nil : st.withheld.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" },
                    generation: entry.generation)
            }
        }
    }

    static func seconds(_ d: Duration) -> Double {
        let (s, a) = d.components
        return Double(s) + Double(a) / 1e18
    }
}
