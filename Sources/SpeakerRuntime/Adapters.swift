import Logging
import Netlink
import NetworkPrimitives
import LoadBalancerConfig
import AnnouncementPolicy

/// The runtime's outside world behind narrow protocols: the real ones need root and a network (AF_PACKET sockets,
/// BGP sessions, netlink); the fakes let the runtime's tests run without either. The Kubernetes API side is the
/// client, whose test double is the emulator.

/// The layer 2 side: `LayerTwoAnnouncer`.
protocol LayerTwoReconciling: Sendable {
    func update(_ desired: Set<LayerTwoAnnouncer.Announcement>) async -> LayerTwoAnnouncer.UpdateReport
    /// Announces these addresses again at once (after a split heals); returns how many it had.
    func reannounce(_ ips: Set<IPAddress>) async -> Int
    /// Asks the segment who has `ip` (a conflict's confirmation).
    func probe(_ ip: IPAddress) async
    func stop() async
}

extension LayerTwoAnnouncer: LayerTwoReconciling {}

/// The BGP side: `PeerSessions`, one session per matching BGPPeer.
protocol BGPReconciling: Sendable {
    /// Sessions for `peers`, each carrying its routes; returns the names of the sessions it started.
    @discardableResult
    func reconcile(peers: [BGPPeer], routes: [String: [IPPrefix: RouteAttributes]], routerID: IPv4Address?) -> [String]
    func stopAll(gracefulRestart: Bool)
    func report(now: ContinuousClock.Instant) -> [DebugState.Peer]
    /// Runs the sessions as they start, until cancelled.
    func run() async
}

extension PeerSessions: BGPReconciling {
    func run() async {
        await withDiscardingTaskGroup { group in
            for await session in starts { group.addTask { await session.run() } }
        }
    }
}

/// This node's interfaces.
protocol InterfaceSource: Sendable {
    /// Calls `onChange` with every interface at once and after each change, until cancelled.
    func watch(_ onChange: @escaping @Sendable ([NetworkInterface]) -> Void) async
}

/// The kernel's view through netlink notifications; read once if the notifications cannot be had.
struct NetlinkInterfaces: InterfaceSource {
    let logger: Logger

    func watch(_ onChange: @escaping @Sendable ([NetworkInterface]) -> Void) async {
        do {
            try await InterfaceMonitor.watch { onChange($0) }
        } catch is CancellationError {
        } catch {
            logger.warning("cannot watch interfaces; reading them once", metadata: ["error": "\(error)"])
            onChange((try? NetlinkReader.interfaces()) ?? [])
        }
    }
}

/// Replacements for the runtime's adapters; nil keeps the real one.
struct Adapters: Sendable {
    var layerTwo: (any LayerTwoReconciling)?
    var bgp: (any BGPReconciling)?
    var interfaces: (any InterfaceSource)?
}
