/// What `/debug/state` serves and the speaker CLI (`status`, `explain`, `peers`, `routes`, `members`) reads.
public struct DebugState: Codable, Sendable {
    public struct ConfigurationReport: Codable, Sendable {
        /// A configuration was loaded (the last good one is in force).
        public var loaded = false
        /// The latest configuration was rejected; `error` says why.
        public var stale = false
        public var error: String?
        public var pools = 0
        public var peers = 0
    }

    public struct Member: Codable, Sendable, Hashable {
        public var name: String
        public var address: String?
        public var alive: Bool
    }

    public struct MembershipReport: Codable, Sendable {
        public var enabled = false
        /// Why membership is off (then node conditions decide, as MetalLB without memberlist).
        public var disabledReason: String?
        public var port = 0
        public var members: [Member] = []
        /// Datagrams refused: a wrong key, a replay or a stranger shows here.
        public var refusedDatagrams = 0
        /// Whether the membership socket is open and sending; when not, the last socket error.
        public var talking: Bool?
        public var socketError: String?
        /// Times the socket failed and was opened again.
        public var socketFailures: Int?
        /// Last changes seen, newest first.
        public var recentChanges: [String] = []
    }

    public struct Announcement: Codable, Sendable, Hashable {
        public var ip: String
        public var service: String
        public var interfaces: [String]
    }

    public struct Interface: Codable, Sendable, Hashable {
        public var name: String
        public var index: Int
        public var mac: String?
        public var decision: String
        public var eligible: Bool
    }

    public struct PeerRoute: Codable, Sendable, Hashable {
        public var prefix: String
        public var localPref: Int?
        public var communities: [String]
    }

    public struct Peer: Codable, Sendable {
        public var name: String
        public var address: String
        public var localASN: UInt32
        public var peerASN: UInt32
        public var state: String
        public var uptimeSeconds: Double?
        public var lastError: String?
        public var holdTimeSeconds: Double?
        public var advertised: Int
        public var pending: Int
        public var routes: [PeerRoute]
        /// The BFD session beside this one ("Up", "Down: control detection time expired"), nil without a BFDProfile.
        public var bfd: String?
        /// Families negotiated but not sent, with the reason (no next hop of that family on the interface).
        public var withheld: [String]?
        /// Changes when the session is replaced (its BGPPeer's settings changed): a new session, not a lost one.
        public var generation: Int?
    }

    public struct Failover: Codable, Sendable {
        /// Takeovers after a membership loss, and the last one's time from loss to the first frame sent.
        public var takeovers = 0
        public var lastSeconds: Double?
    }

    public var node: String
    public var uptimeSeconds: Double = 0
    public var configuration = ConfigurationReport()
    public var membership = MembershipReport()
    public var layer2: [Announcement] = []
    public var interfaces: [Interface] = []
    public var peers: [Peer] = []
    public var services: [ServiceExplanation] = []
    public var failover = Failover()
    /// Other stations seen answering for addresses this node announces, newest first.
    public var conflicts: [String] = []
    /// Reconcile passes made so far.
    public var passes = 0

    public init(node: String) { self.node = node }
}
