import KubernetesModel
import LoadBalancerConfig
import NetworkPrimitives

/// What the planner reads: the configuration, the Services (with their assigned addresses in status), their
/// EndpointSlices, the Nodes, and which speakers are alive.
public struct ClusterSnapshot: Sendable {
    public var configuration: Configuration
    public var services: [Service]
    public var endpointSlices: [EndpointSlice]
    public var nodes: [Node]
    /// Speakers known to be alive; nil when membership is off (every Node counts, as MetalLB without memberlist).
    public var liveMembers: Set<String>?
    /// MetalLB's `--ignore-exclude-lb`.
    public var ignoreExcludeLabel = false

    public init(configuration: Configuration, services: [Service], endpointSlices: [EndpointSlice], nodes: [Node],
                liveMembers: Set<String>? = nil) {
        self.configuration = configuration
        self.services = services
        self.endpointSlices = endpointSlices
        self.nodes = nodes
        self.liveMembers = liveMembers
    }
}

/// A Service's namespace and name (the same key the allocator uses).
public typealias ServiceRef = ServiceKey

/// The planner's answer for one node: what to announce, and why for every Service.
public struct Plan: Sendable {
    public var desired = DesiredState()
    public var services: [ServiceRef: ServicePlan] = [:]
}

/// What this node should announce: the reconcilers' input. Two of these are diffed to find the changes.
public struct DesiredState: Hashable, Sendable {
    /// Addresses this node owns in layer 2 mode, with the interfaces to answer on (empty: every eligible one).
    public var layer2: [IPAddress: Set<String>] = [:]
    /// Per BGPPeer name, the routes to advertise.
    public var bgp: [String: [IPPrefix: RouteAttributes]] = [:]

    public init() {}

    /// What changed from `old` to `self`.
    public func changes(from old: DesiredState) -> Changes {
        var c = Changes()
        for (ip, interfaces) in layer2 where old.layer2[ip] != interfaces { c.layer2Acquired.append(ip) }
        for ip in old.layer2.keys where layer2[ip] == nil { c.layer2Released.append(ip) }
        for peer in Set(bgp.keys).union(old.bgp.keys) where bgp[peer] != old.bgp[peer] { c.bgpPeersChanged.append(peer) }
        c.layer2Acquired.sort(); c.layer2Released.sort(); c.bgpPeersChanged.sort()
        return c
    }

    public struct Changes: Hashable, Sendable {
        public var layer2Acquired: [IPAddress] = []
        public var layer2Released: [IPAddress] = []
        public var bgpPeersChanged: [String] = []
        public var isEmpty: Bool { layer2Acquired.isEmpty && layer2Released.isEmpty && bgpPeersChanged.isEmpty }
    }
}

public struct RouteAttributes: Hashable, Sendable {
    public var localPreference: UInt32?
    public var communities: Set<BGPCommunity> = []
    public var largeCommunities: Set<LargeCommunity> = []

    public init(localPreference: UInt32? = nil, communities: Set<BGPCommunity> = [], largeCommunities: Set<LargeCommunity> = []) {
        self.localPreference = localPreference
        self.communities = communities
        self.largeCommunities = largeCommunities
    }
}

public struct Route: Hashable, Sendable {
    public var prefix: IPPrefix
    public var attributes: RouteAttributes
    /// BGPPeer names.
    public var peers: [String]
    /// The BGPAdvertisement(s) it comes from.
    public var advertisement: String
}

/// One Service's plan on one node, for `speaker explain`.
public struct ServicePlan: Hashable, Sendable {
    public var service: ServiceRef
    public var addresses: [IPAddress]
    public var pool: String?
    public var problem: String?
    public var servingEndpoints = 0
    public var endpointNodes: [String] = []
    public var layer2: [Layer2Plan] = []
    public var bgp: BGPDecision?

    public init(service: ServiceRef, addresses: [IPAddress], pool: String? = nil) {
        self.service = service
        self.addresses = addresses
        self.pool = pool
    }
}

public struct Layer2Plan: Hashable, Sendable {
    public var advertisements: [String]
    public var candidates: [RankedCandidate] = []
    public var owner: String?
    public var interfaces: [String] = []
    public var decision: Layer2Decision = .noCandidates
}

public struct RankedCandidate: Hashable, Sendable {
    public var node: String
    public var weight: Int
    public var hash: [UInt8]
    public var excluded: CandidateExclusion?
}

public enum CandidateExclusion: Hashable, Sendable, CustomStringConvertible {
    case notAMember
    case networkUnavailable
    case excludedByLabel(String)
    case notSelectedByAdvertisement
    case noLocalEndpoint

    public var description: String {
        switch self {
        case .notAMember: return "speaker not alive (not a member)"
        case .networkUnavailable: return "node condition NetworkUnavailable"
        case .excludedByLabel(let l): return "node labelled \(l)"
        case .notSelectedByAdvertisement: return "no matching L2Advertisement selects the node"
        case .noLocalEndpoint: return "externalTrafficPolicy Local and no serving endpoint on the node"
        }
    }
}

public enum Layer2Decision: Hashable, Sendable, CustomStringConvertible {
    case announce
    case notOwner(winner: String)
    case thisNodeExcluded(CandidateExclusion, winner: String)
    case noServingEndpoints
    case noCandidates
    case sharedIPWithServiceSelectors

    public var announces: Bool { self == .announce }

    public var description: String {
        switch self {
        case .announce: return "this node announces"
        case .notOwner(let w): return "not the owner: \(w) ranks first"
        case .thisNodeExcluded(let why, let w): return "this node is not a candidate (\(why)); \(w) announces"
        case .noServingEndpoints: return "no serving endpoints: nobody announces"
        case .noCandidates: return "no node is a candidate: nobody announces"
        case .sharedIPWithServiceSelectors: return "shared IP with an advertisement using serviceSelectors: nobody announces (as MetalLB)"
        }
    }
}

public enum BGPDecision: Hashable, Sendable, CustomStringConvertible {
    case announce([Route])
    case noServingEndpoints
    case noLocalEndpoint
    case nodeNotSelected(advertisements: [String])
    case nodeExcluded(label: String)
    case networkUnavailable
    case localPrefConflict([UInt32])

    public var description: String {
        switch self {
        case .announce(let r): return "advertise \(r.map { "\($0.prefix) to \($0.peers.isEmpty ? "no peer" : $0.peers.joined(separator: ","))" }.joined(separator: "; "))"
        case .noServingEndpoints: return "no serving endpoints"
        case .noLocalEndpoint: return "externalTrafficPolicy Local and no serving endpoint on this node"
        case .nodeNotSelected(let ads): return "no BGPAdvertisement (\(ads.joined(separator: ", "))) selects this node"
        case .nodeExcluded(let l): return "node labelled \(l)"
        case .networkUnavailable: return "node condition NetworkUnavailable"
        case .localPrefConflict(let p): return "matching BGPAdvertisements disagree on localPref (\(p.map(String.init).joined(separator: ", ")))"
        }
    }
}
