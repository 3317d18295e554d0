import Logging
import Membership
import MembershipTransport
import Netlink
import NIOCore
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
    /// Sessions for `peers`, each carrying its routes (and a BFD session when its BFDProfile is among
    /// `bfdProfiles`); returns the names of the sessions it started.
    @discardableResult
    func reconcile(peers: [BGPPeer], routes: [String: [IPPrefix: RouteAttributes]], routerID: IPv4Address?, bfdProfiles: [BFDProfile]) -> [String]
    func stopAll(gracefulRestart: Bool)
    func report(now: ContinuousClock.Instant) -> [DebugState.Peer]
    /// `handler` runs when any session comes up, goes down or its BFD state changes.
    func setChangeHandler(_ handler: @escaping @Sendable () -> Void)
    /// The sessions that are not established, by BGPPeer name and generation (cheap: no routes).
    func notEstablished() -> Set<String>
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

/// Membership: which speakers are alive, over the membership socket (`MembershipNode`).
protocol MembershipService: Sendable {
    /// Members alive now, this one included.
    var alive: Set<String> { get }
    /// Whether the socket is open and sending; when not, why.
    var talking: Bool { get }
    var lastError: String? { get }
    var rejectedDatagrams: Int { get }
    var socketFailures: Int { get }
    /// The members and where they listen.
    func setMembers(_ members: [String: SocketAddress])
    /// Serves until `stop()` (which leaves the cluster) or cancellation.
    func run() async throws
    func stop()
}

extension MembershipNode: MembershipService {}

/// Makes the membership service with the runtime's change handler (members that came and went, and who is alive).
typealias MembershipFactory = @Sendable (_ onChange: @escaping @Sendable ([FailureDetector.Change], Set<String>) -> Void) -> any MembershipService

/// Replacements for the runtime's adapters; nil keeps the real one.
struct Adapters: Sendable {
    var layerTwo: (any LayerTwoReconciling)?
    var bgp: (any BGPReconciling)?
    var interfaces: (any InterfaceSource)?
    /// Replaces the membership node (and the Secret its key comes from).
    var membership: MembershipFactory?
}
