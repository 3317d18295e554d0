import LinkLayer
import Logging
import PacketSocket
import NIOCore
import NetworkPrimitives
import Synchronization

/// Makes the segment send an address's traffic to this node: answers ARP requests and neighbour solicitations for
/// the announced addresses on the chosen interfaces, and sends a gratuitous burst (ARP requests, unsolicited NAs
/// with Override) on takeover. Release stops answering at once.
///
/// The hot path (a frame arrives, an answer leaves) runs on the socket's event loop against a snapshot of the
/// announced set behind a Mutex; `update` is serialised by the actor. See `NeighborResponder` for the rules.
public actor LayerTwoAnnouncer {
    /// One address on one interface. The interface is held by reference: the addresses on one interface share one
    /// `SharedEndpoint` (build it once per interface), so an announcement is 32 bytes, not 90.
    public struct Announcement: Hashable, Sendable, CustomStringConvertible {
        public var ip: IPAddress
        private var shared: SharedEndpoint
        public var interface: LinkEndpoint {
            get { shared.endpoint }
            set { shared = SharedEndpoint(newValue) }
        }
        var sharedEndpoint: SharedEndpoint { shared }
        public init(ip: IPAddress, interface: SharedEndpoint) {
            self.ip = ip
            self.shared = interface
        }
        public init(ip: IPAddress, interface: LinkEndpoint) {
            self.init(ip: ip, interface: SharedEndpoint(interface))
        }
        public var description: String { "\(ip) on \(interface.name)" }

        // Identity is the address, the interface index and its MAC: cheap to hash, which matters when a takeover
        // moves 10,000 addresses at once.
        public static func == (a: Self, b: Self) -> Bool {
            a.ip == b.ip && (a.shared === b.shared || (a.interface.index == b.interface.index && a.interface.mac == b.interface.mac))
        }
        public func hash(into h: inout Hasher) {
            h.combine(ip)
            h.combine(interface.index)
        }
    }

    /// Another station claims one of our addresses.
    public struct Conflict: Hashable, Sendable, CustomStringConvertible {
        public var ip: IPAddress
        public var interface: String
        public var mac: MACAddress
        public var description: String { "\(mac) on \(interface) also claims \(ip)" }
    }

    /// What an update did.
    public struct UpdateReport: Sendable {
        public var added: [Announcement] = []
        public var removed: [Announcement] = []
        /// Announcements that could not be made, with the reason (the interface's socket could not be opened).
        public var failed: [Announcement: String] = [:]
    }

    let schedule: GratuitousSchedule
    let metrics: LayerTwoMetrics
    let logger: Logger
    let hot: HotState
    private var sockets: [Int: PacketSocket] = [:]
    /// What is announced: the responders installed in the hot state, by interface (their address sets are the
    /// announced addresses, shared with the hot state, not copied), and each interface's endpoint. A second table of
    /// announcements was 640 KB at 10,000 addresses.
    private var installed: [Int: NeighborResponder] = [:]
    private var installedEndpoints: [Int: SharedEndpoint] = [:]
    /// Solicited-node group MACs joined per interface: those of the IPv6 addresses announced there (a set of 6-byte
    /// MACs, recomputed when an interface's IPv6 addresses change, not a count per MAC).
    private var groups: [Int: Set<MACAddress>] = [:]

    public init(schedule: GratuitousSchedule = .default, metrics: LayerTwoMetrics = LayerTwoMetrics(), logger: Logger,
                onConflict: @escaping @Sendable (Conflict) -> Void = { _ in }) {
        self.schedule = schedule
        self.metrics = metrics
        self.logger = logger
        hot = HotState(metrics: metrics, logger: logger, onConflict: onConflict)
    }

    public var announced: Set<Announcement> {
        var all: Set<Announcement> = []
        forEachAnnounced { all.insert($0) }
        return all
    }

    /// Each announcement the installed responders make.
    private func forEachAnnounced(_ body: (Announcement) -> Void) {
        for (index, r) in installed {
            guard let endpoint = installedEndpoints[index] else { continue }
            for ip in r.ownedIPv4 { body(Announcement(ip: .v4(ip), interface: endpoint)) }
            for ip in r.ownedIPv6 { body(Announcement(ip: .v6(ip), interface: endpoint)) }
        }
    }

    private var announcedCount: Int { installed.values.reduce(0) { $0 + $1.ownedIPv4.count + $1.ownedIPv6.count } }

    private func isAnnounced(_ a: Announcement) -> Bool {
        guard let r = installed[a.interface.index], r.mac == a.interface.mac else { return false }
        switch a.ip {
        case .v4(let ip): return r.ownedIPv4.contains(ip)
        case .v6(let ip): return r.ownedIPv6.contains(ip)
        }
    }

    /// Makes `desired` the announced set: new announcements get their first gratuitous frame before this returns;
    /// withdrawn ones are no longer answered from the moment their interface's responder is swapped.
    @discardableResult
    public func update(_ desired: Set<Announcement>) async -> UpdateReport {
        var report = UpdateReport()
        var wanted = desired
        // Sockets for interfaces that are new.
        var endpoints: [Int: LinkEndpoint] = [:]
        for a in desired where endpoints[a.interface.index] == nil { endpoints[a.interface.index] = a.interface }
        var changedV6: Set<Int> = []  // interfaces whose solicited-node groups to recompute
        for endpoint in endpoints.values where sockets[endpoint.index]?.endpoint != endpoint {
            if let old = sockets.removeValue(forKey: endpoint.index) { await old.close() }
            do {
                let hot = self.hot
                let index = endpoint.index
                sockets[endpoint.index] = try await PacketSocket.open(endpoint) { frame in hot.handle(frame, interface: index) }
                // A new socket has joined no group yet.
                groups[endpoint.index] = nil
                changedV6.insert(endpoint.index)
                logger.debug("listening for ARP and NDP", metadata: ["interface": "\(endpoint.name)"])
            } catch {
                for a in desired where a.interface == endpoint {
                    report.failed[a] = "\(error)"
                    wanted.remove(a)
                }
                logger.warning("cannot announce on interface", metadata: ["interface": "\(endpoint.name)", "error": "\(error)"])
            }
        }
        // The first gratuitous frame of each new address goes out as the address is found new, before any other
        // bookkeeping: it is what moves the traffic, and with 10,000 addresses the bookkeeping takes tens of
        // milliseconds. (A request that arrives meanwhile waits for the responder swap below; the neighbour that
        // got the frame does not need to ask.)
        let immediate = schedule.offsets.first == .zero
        var frames: [Int: [(ip: IPAddress, frame: ByteBuffer)]] = [:]
        var added: Set<Announcement> = []
        added.reserveCapacity(wanted.count)
        for a in wanted where !isAnnounced(a) {
            added.insert(a)
            guard let socket = sockets[a.interface.index] else { continue }
            let frame = Self.gratuitous(a)
            if immediate, socket.send(frame) == 1 { metrics.increment(.gratuitous, a.ip) }
            frames[a.interface.index, default: []].append((a.ip, frame))
        }
        var removed: [Announcement] = []
        forEachAnnounced { a in if !wanted.contains(a) { removed.append(a) } }
        report.added = Array(added)
        report.removed = removed

        // Swap the responders first: from here on, withdrawn addresses are not answered and new ones are.
        // The address sets are built in place (`dict[key, default:]` mutates without a copy); copying a responder
        // out, inserting and storing it back copied the whole set per address, O(n²) for 10,000 addresses.
        var v4: [Int: Set<IPv4Address>] = [:], v6: [Int: Set<IPv6Address>] = [:], macs: [Int: MACAddress] = [:]
        for a in wanted {
            macs[a.interface.index] = a.interface.mac
            switch a.ip {
            case .v4(let ip): v4[a.interface.index, default: []].insert(ip)
            case .v6(let ip): v6[a.interface.index, default: []].insert(ip)
            }
        }
        var responders: [Int: NeighborResponder] = [:]
        for (index, mac) in macs {
            var r = NeighborResponder(mac: mac)
            r.ownedIPv4 = v4[index] ?? []
            r.ownedIPv6 = v6[index] ?? []
            responders[index] = r
        }
        var interfaces: [Int: LinkEndpoint] = [:]
        for a in wanted where interfaces[a.interface.index] == nil { interfaces[a.interface.index] = a.interface }
        // The rest of each burst goes out on the socket's event loop, for addresses still announced since this
        // update; the hot state tracks those addresses until the burst ends.
        let later = immediate ? Array(schedule.offsets.dropFirst()) : schedule.offsets
        let bursts = later.isEmpty ? [] : frames.flatMap { index, batch in batch.map { (interface: index, ip: $0.ip) } }
        let generation = hot.replace(responders, endpoints: interfaces, withdrawn: removed.map(\.ip), bursts: bursts)
        installed = responders
        installedEndpoints = [:]
        for a in wanted where installedEndpoints[a.interface.index] == nil { installedEndpoints[a.interface.index] = a.sharedEndpoint }

        // Solicited-node groups, so solicitations reach us on NICs that filter multicast.
        for a in added { if case .v6 = a.ip { changedV6.insert(a.interface.index) } }
        for a in removed { if case .v6 = a.ip { changedV6.insert(a.interface.index) } }
        for index in changedV6 { updateGroups(interface: index) }

        for (index, batch) in frames {
            guard let socket = sockets[index] else { continue }
            for offset in later {
                socket.eventLoop.scheduleTask(in: .nanoseconds(offset.nanoseconds)) { [hot, metrics] in
                    for f in batch where hot.isCurrent(f.ip, interface: index, since: generation) {
                        if socket.send(f.frame) == 1 { metrics.increment(.gratuitous, f.ip) }
                    }
                }
            }
        }
        if let last = later.max(), let loop = frames.keys.lazy.compactMap({ self.sockets[$0]?.eventLoop }).first {
            loop.scheduleTask(in: .nanoseconds(last.nanoseconds) + .milliseconds(100)) { [hot] in hot.burstsEnded(generation) }
        }
        if !added.isEmpty || !removed.isEmpty {
            logger.info("layer 2 announcements changed", metadata: ["added": "\(added.count)", "removed": "\(removed.count)",
                                                                   "announced": "\(announcedCount)"])
        }

        // Sockets no longer needed.
        let needed = Set(wanted.map(\.interface.index))
        for (index, socket) in sockets where !needed.contains(index) {
            sockets[index] = nil
            groups[index] = nil
            await socket.close()
        }
        return report
    }

    /// Sends gratuitous frames again for those of `ips` that are announced here, now and 250 ms later: after a split
    /// heals, neighbours that learned the other station's MAC move back at once instead of when their entry expires.
    /// Returns how many addresses it covered.
    @discardableResult
    public func reannounce(_ ips: Set<IPAddress>) -> Int {
        var covered = 0
        for (index, r) in installed {
            guard let endpoint = installedEndpoints[index], let socket = sockets[index] else { continue }
            let owned = ips.filter { ip in
                switch ip {
                case .v4(let a): r.ownedIPv4.contains(a)
                case .v6(let a): r.ownedIPv6.contains(a)
                }
            }
            let frames = owned.map { (ip: $0, frame: Self.gratuitous(Announcement(ip: $0, interface: endpoint))) }
            covered += frames.count
            for f in frames where socket.send(f.frame) == 1 { metrics.increment(.gratuitous, f.ip) }
            socket.eventLoop.scheduleTask(in: .milliseconds(250)) { [metrics] in
                for f in frames where socket.send(f.frame) == 1 { metrics.increment(.gratuitous, f.ip) }
            }
        }
        return covered
    }

    /// Asks who has `ip` (an ARP request, or a neighbour solicitation) on the interface it is announced on, if it
    /// still is: another station that claims it answers to this node's MAC, and that answer is a conflict frame.
    public func probe(_ ip: IPAddress) {
        for (index, r) in installed {
            let owned: Bool
            switch ip {
            case .v4(let a): owned = r.ownedIPv4.contains(a)
            case .v6(let a): owned = r.ownedIPv6.contains(a)
            }
            guard owned, let endpoint = installedEndpoints[index], let socket = sockets[index] else { continue }
            socket.send(Self.request(for: ip, from: endpoint.endpoint))
        }
    }

    /// An ARP request (IPv4) or a neighbour solicitation (IPv6) for `address` from `endpoint`.
    public static func request(for address: IPAddress, from endpoint: LinkEndpoint) -> ByteBuffer {
        switch address {
        case .v4(let target):
            let sender = endpoint.ipv4.first ?? IPv4Address(0)
            return ARPPacket(operation: .request, senderMAC: endpoint.mac, senderIP: sender, targetMAC: .zero, targetIP: target)
                .frame(from: endpoint.mac).encoded
        case .v6(let target):
            let group = NDP.solicitedNodeMulticast(target)
            let source = endpoint.linkLocal ?? IPv6Address(0)
            return NDPPacket(source: source, destination: group, message: .neighborSolicitation(target: target, sourceLinkLayer: endpoint.mac))
                .frame(from: endpoint.mac).encoded
        }
    }

    /// Stops answering everything and closes every socket (SIGTERM).
    public func stop() async {
        await update([])
    }

    /// The solicited-node group MACs joined on an interface.
    func joinedGroups(_ index: Int) -> Set<MACAddress> { groups[index] ?? [] }

    /// Joins the solicited-node groups of the IPv6 addresses now announced on `interface` and leaves the others.
    private func updateGroups(interface index: Int) {
        let needed = Set((installed[index]?.ownedIPv6 ?? []).map { NDP.multicastMAC(for: NDP.solicitedNodeMulticast($0)) })
        let joined = groups[index] ?? []
        groups[index] = needed.isEmpty ? nil : needed
        guard let socket = sockets[index] else { return }
        for (macs, join) in [(needed.subtracting(joined), true), (joined.subtracting(needed), false)] {
            for mac in macs {
                do { try socket.membership(mac, join: join) } catch {
                    logger.warning("multicast membership failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// A gratuitous ARP request (accepted by Linux even within `locktime`) or an unsolicited NA to all nodes.
    static func gratuitous(_ a: Announcement) -> ByteBuffer {
        switch a.ip {
        case .v4(let ip):
            return ARPPacket.gratuitousRequest(mac: a.interface.mac, ip: ip).frame(from: a.interface.mac).encoded
        case .v6(let ip):
            return NDP.unsolicitedAdvertisement(ip: ip, mac: a.interface.mac, from: a.interface.linkLocal ?? ip)
                .frame(from: a.interface.mac).encoded
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}

/// The announcer's state the event loops read for every frame.
final class HotState: Sendable {
    struct State {
        var responders: [Int: NeighborResponder] = [:]
        var generation: UInt64 = 0
        /// The addresses whose gratuitous burst is still going, per interface, with the generation that started it:
        /// a release (or a release and a new announcement) ends the old burst. An entry goes when its burst ends, so
        /// an idle speaker keeps none (one per announced address cost about 64 bytes).
        var bursting: [Int: [IPAddress: UInt64]] = [:]
        /// The interfaces answered on, for defending an address.
        var endpoints: [Int: LinkEndpoint] = [:]
        /// When each (interface, address) was last defended.
        var defended: [DefenceKey: ContinuousClock.Instant] = [:]
    }

    struct DefenceKey: Hashable {
        var interface: Int
        var ip: IPAddress
    }

    /// RFC 5227 §2.4 (c): an address is defended at most once per DEFEND_INTERVAL (10 s).
    static let defendInterval: Duration = .seconds(10)

    private let state = Mutex(State())
    let metrics: LayerTwoMetrics
    let logger: Logger
    let onConflict: @Sendable (LayerTwoAnnouncer.Conflict) -> Void

    init(metrics: LayerTwoMetrics, logger: Logger, onConflict: @escaping @Sendable (LayerTwoAnnouncer.Conflict) -> Void) {
        self.metrics = metrics
        self.logger = logger
        self.onConflict = onConflict
    }

    /// Installs new responders; `bursts` are the newly announced addresses whose gratuitous burst continues after
    /// this update. Returns the generation stamped on them.
    func replace(_ responders: [Int: NeighborResponder], endpoints: [Int: LinkEndpoint], withdrawn: [IPAddress],
                 bursts: [(interface: Int, ip: IPAddress)] = []) -> UInt64 {
        state.withLock { s in
            s.endpoints = endpoints
            s.generation += 1
            // Bursts of addresses no longer announced on their interface end here.
            for (index, started) in s.bursting {
                guard let r = responders[index] else { s.bursting[index] = nil; continue }
                let kept = started.filter { ip, _ in
                    switch ip {
                    case .v4(let a): r.ownedIPv4.contains(a)
                    case .v6(let a): r.ownedIPv6.contains(a)
                    }
                }
                s.bursting[index] = kept.isEmpty ? nil : kept
            }
            for (index, ip) in bursts { s.bursting[index, default: [:]][ip] = s.generation }
            s.responders = responders
            return s.generation
        }
    }

    /// Whether the burst of `ip` on `interface` started at `generation` is still going.
    func isCurrent(_ ip: IPAddress, interface: Int, since generation: UInt64) -> Bool {
        state.withLock { $0.bursting[interface]?[ip] == generation }
    }

    /// The bursts started at `generation` are over.
    func burstsEnded(_ generation: UInt64) {
        state.withLock { s in
            for (index, started) in s.bursting {
                let kept = started.filter { $0.value != generation }
                s.bursting[index] = kept.isEmpty ? nil : kept
            }
        }
    }

    /// How many addresses are in a burst (for tests).
    var burstingCount: Int { state.withLock { $0.bursting.values.reduce(0) { $0 + $1.count } } }

    /// Decides about one received frame; returns the answer to send, if any.
    func handle(_ frame: ByteBuffer, interface: Int) -> ByteBuffer? {
        guard let responder = state.withLock({ $0.responders[interface] }) else { return nil }
        switch responder.respond(to: frame) {
        case .reply(let ip, let answer):
            metrics.increment(.requests, ip)
            metrics.increment(.responses, ip)
            return answer.encoded
        case .refuse(let ip, _):
            metrics.increment(.requests, ip)
            return nil
        case .conflict(let ip, let mac):
            metrics.increment(.conflicts, ip)
            let now = ContinuousClock.now
            let (defend, name) = state.withLock { s -> (LinkEndpoint?, String) in
                let name = s.endpoints[interface]?.name ?? "\(interface)"
                let key = DefenceKey(interface: interface, ip: ip)
                if let last = s.defended[key], now - last < Self.defendInterval { return (nil, name) }
                s.defended[key] = now
                if s.defended.count > 4096 { s.defended = s.defended.filter { now - $0.value < Self.defendInterval } }
                return (s.endpoints[interface], name)
            }
            // Counted above; what to log and report is the receiver's (rate-limited per address, not per frame:
            // a flood of frames from invented MACs must cost nothing but counters here).
            onConflict(.init(ip: ip, interface: name, mac: mac))
            // Defend the address once (a gratuitous frame of our own): the neighbours that just learned the other
            // station come back here, and the other station hears of us and reports the conflict too.
            guard let defend else { return nil }
            metrics.increment(.gratuitous, ip)
            return LayerTwoAnnouncer.gratuitous(.init(ip: ip, interface: defend))
        case .ignore:
            return nil
        }
    }
}
