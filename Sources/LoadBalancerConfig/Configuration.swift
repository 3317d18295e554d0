import KubernetesModel
import NetworkPrimitives

/// An IPAddressPool after validation.
public struct AddressPool: Hashable, Sendable {
    public var name: String
    public var labels: [String: String]
    /// The pool's address entries as ranges, in the order written (a CIDR is its range).
    public var ranges: [IPRange]
    /// The entries' text as written.
    public var entries: [String]
    public var autoAssign: Bool
    public var avoidBuggyIPs: Bool
    public var serviceAllocation: ServiceAllocation?

    /// The minimal CIDRs covering the pool, in address order.
    public var prefixes: [IPPrefix] { ranges.flatMap(\.prefixes) }

    public var families: Set<IPFamily> { Set(ranges.map(\.family)) }

    /// The exact number of assignable addresses of `family` (with `avoidBuggyIPs`, IPv4 .0 and .255 excluded).
    public func size(_ family: IPFamily) -> AddressCount {
        var total = AddressCount.zero
        for r in ranges where r.family == family {
            total += r.count
            if avoidBuggyIPs && family == .ipv4 { total -= Self.buggyAddresses(in: r) }
        }
        return total
    }

    /// The number of addresses ending in .0 or .255 inside an IPv4 range.
    static func buggyAddresses(in r: IPRange) -> AddressCount {
        let first = r.first.bits, last = r.last.bits
        // Count values v in [first, last] with v mod 256 == k, for k = 0 and 255.
        func count(_ k: UInt128) -> UInt128 {
            func upTo(_ x: UInt128) -> UInt128 { x < k ? 0 : (x - k) / 256 + 1 }  // in [0, x]
            return upTo(last) - (first == 0 ? 0 : upTo(first - 1))
        }
        return AddressCount(count(0) + count(255))
    }

    public func contains(_ ip: IPAddress) -> Bool { ranges.contains { $0.contains(ip) } }
}

/// `serviceAllocation` of a pool: which Services may (preferentially) take addresses from it.
public struct ServiceAllocation: Hashable, Sendable {
    /// Lower wins; 0 means "no priority" and sorts after every set priority, as in MetalLB.
    public var priority: Int
    public var namespaces: [String]
    public var namespaceSelectors: [LabelSelector]
    public var serviceSelectors: [LabelSelector]
}

/// An L2Advertisement after validation.
public struct L2Advertisement: Hashable, Sendable {
    public var name: String
    public var ipAddressPools: [String]
    public var ipAddressPoolSelectors: [LabelSelector]
    /// Empty means every node.
    public var nodeSelectors: [LabelSelector]
    /// Empty means every eligible interface.
    public var interfaces: [String]
    public var serviceSelectors: [LabelSelector]
    public var preferredNodeSelectors: [PreferredNodeSelector]

    public func selectsNode(labels: [String: String]) -> Bool {
        nodeSelectors.isEmpty || nodeSelectors.contains { $0.matches(labels) }
    }
}

/// A BGPAdvertisement after validation, with communities resolved to values.
public struct BGPAdvertisement: Hashable, Sendable {
    public var name: String
    public var aggregationLength: Int
    public var aggregationLengthV6: Int
    public var localPref: UInt32?
    public var communities: [Community]
    public var ipAddressPools: [String]
    public var ipAddressPoolSelectors: [LabelSelector]
    public var nodeSelectors: [LabelSelector]
    /// Names of the BGPPeers to announce to; empty means all.
    public var peers: [String]
    public var serviceSelectors: [LabelSelector]

    public func selectsNode(labels: [String: String]) -> Bool {
        nodeSelectors.isEmpty || nodeSelectors.contains { $0.matches(labels) }
    }

    public func aggregationLength(for family: IPFamily) -> Int {
        family == .ipv4 ? aggregationLength : aggregationLengthV6
    }
}

/// How a peer's ASN is known.
public enum PeerASN: Hashable, Sendable, CustomStringConvertible {
    case fixed(ASN)
    /// `dynamicASN: internal`: accept the peer only if its ASN equals ours.
    case dynamicInternal
    /// `dynamicASN: external`: accept the peer only if its ASN differs from ours.
    case dynamicExternal

    public var description: String {
        switch self {
        case .fixed(let a): return a.description
        case .dynamicInternal: return "internal"
        case .dynamicExternal: return "external"
        }
    }
}

/// Where a BGP MD5 password comes from.
public enum PeerPassword: Hashable, Sendable {
    case inline(String)
    /// From a `kubernetes.io/basic-auth` Secret's `password` key; `value` is nil when the Secret was not
    /// part of the input (the daemon resolves it at runtime).
    case secret(name: String, value: String?)
}

/// A BGPPeer after validation, with timers defaulted and derived as MetalLB does.
public struct BGPPeer: Hashable, Sendable {
    public var name: String
    public var myASN: ASN
    public var peerASN: PeerASN
    public var localASN: ASN?
    public var address: IPAddress?
    public var interface: String?
    public var sourceAddress: IPAddress?
    public var port: UInt16
    /// Negotiated upward with the peer's proposal (the smaller wins); 0 disables keepalives and hold timer.
    public var holdTime: Duration
    public var keepaliveTime: Duration
    public var connectTime: Duration?
    public var routerID: IPv4Address?
    public var nodeSelectors: [LabelSelector]
    public var password: PeerPassword?
    public var bfdProfile: String?
    public var enableGracefulRestart: Bool
    public var ebgpMultiHop: Bool
    public var vrf: String?
    public var disableMP: Bool
    public var dualStackAddressFamily: Bool
    /// RFC 5082 GTSM (annotation `beacon.io/ttl-security-hops`): send with TTL 255 and accept only packets that crossed
    /// at most this many hops. Nil: off.
    public var ttlSecurityHops: Int? = nil

    /// True when the session is internal BGP (same ASN, or `dynamicASN: internal`).
    public var isIBGP: Bool {
        switch peerASN {
        case .fixed(let a): return a == (localASN ?? myASN)
        case .dynamicInternal: return true
        case .dynamicExternal: return false
        }
    }

    public func selectsNode(labels: [String: String]) -> Bool {
        nodeSelectors.isEmpty || nodeSelectors.contains { $0.matches(labels) }
    }

    /// MetalLB's rule: a session carries its transport's address family, and both with `dualStackAddressFamily`
    /// (an unnumbered session, over IPv6 link-local, carries both).
    public func carries(_ family: IPFamily) -> Bool {
        guard let address else { return true }
        return dualStackAddressFamily || address.family == family
    }
}

/// A BFDProfile after validation, with MetalLB's defaults filled in.
public struct BFDProfile: Hashable, Sendable {
    public var name: String
    public var receiveInterval: UInt32
    public var transmitInterval: UInt32
    public var detectMultiplier: UInt32
    public var echoInterval: UInt32
    public var echoMode: Bool
    public var passiveMode: Bool
    public var minimumTTL: UInt32
}

/// A complete, valid configuration. Immutable; built only by validation. Lookups are precomputed.
public struct Configuration: Hashable, Sendable {
    /// Pools in name order.
    public let pools: [AddressPool]
    public let l2Advertisements: [L2Advertisement]
    public let bgpAdvertisements: [BGPAdvertisement]
    public let peers: [BGPPeer]
    public let bfdProfiles: [BFDProfile]
    /// Community aliases by name.
    public let communityAliases: [String: Community]

    private let poolIndex: [String: Int]
    private let l2ByPool: [String: [Int]]
    private let bgpByPool: [String: [Int]]
    /// Every pool range with its pool index, sorted by first address, for `pool(containing:)`.
    private let sortedRanges: [(range: IPRange, pool: Int)]

    init(pools: [AddressPool], l2Advertisements: [L2Advertisement], bgpAdvertisements: [BGPAdvertisement],
         peers: [BGPPeer], bfdProfiles: [BFDProfile], communityAliases: [String: Community],
         l2ByPool: [String: [Int]], bgpByPool: [String: [Int]]) {
        self.pools = pools.sorted { $0.name < $1.name }
        self.l2Advertisements = l2Advertisements
        self.bgpAdvertisements = bgpAdvertisements
        self.peers = peers.sorted { $0.name < $1.name }
        self.bfdProfiles = bfdProfiles.sorted { $0.name < $1.name }
        self.communityAliases = communityAliases
        var index: [String: Int] = [:]
        for (i, p) in self.pools.enumerated() { index[p.name] = i }
        poolIndex = index
        self.l2ByPool = l2ByPool
        self.bgpByPool = bgpByPool
        sortedRanges = self.pools.enumerated().flatMap { i, p in p.ranges.map { (range: $0, pool: i) } }
            .sorted { $0.range < $1.range }
    }

    /// The empty configuration: no pools, nothing announced.
    public static let empty = Configuration(pools: [], l2Advertisements: [], bgpAdvertisements: [], peers: [],
                                            bfdProfiles: [], communityAliases: [:], l2ByPool: [:], bgpByPool: [:])

    public func pool(named name: String) -> AddressPool? { poolIndex[name].map { pools[$0] } }

    /// The pool whose ranges contain `ip` (pools never overlap), found by binary search.
    public func pool(containing ip: IPAddress) -> AddressPool? {
        var lo = 0, hi = sortedRanges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sortedRanges[mid].range.last < ip { lo = mid + 1 } else { hi = mid }
        }
        guard lo < sortedRanges.count, sortedRanges[lo].range.contains(ip) else { return nil }
        return pools[sortedRanges[lo].pool]
    }

    /// The L2Advertisements that apply to a pool.
    public func l2Advertisements(forPool name: String) -> [L2Advertisement] {
        (l2ByPool[name] ?? []).map { l2Advertisements[$0] }
    }

    /// The BGPAdvertisements that apply to a pool.
    public func bgpAdvertisements(forPool name: String) -> [BGPAdvertisement] {
        (bgpByPool[name] ?? []).map { bgpAdvertisements[$0] }
    }

    /// The BGPPeers a node with these labels holds sessions to.
    public func peers(forNodeLabels labels: [String: String]) -> [BGPPeer] {
        peers.filter { $0.selectsNode(labels: labels) }
    }

    public func peer(named name: String) -> BGPPeer? { peers.first { $0.name == name } }
    public func bfdProfile(named name: String) -> BFDProfile? { bfdProfiles.first { $0.name == name } }

    public static func == (l: Configuration, r: Configuration) -> Bool {
        l.pools == r.pools && l.l2Advertisements == r.l2Advertisements && l.bgpAdvertisements == r.bgpAdvertisements
            && l.peers == r.peers && l.bfdProfiles == r.bfdProfiles && l.communityAliases == r.communityAliases
    }

    public func hash(into h: inout Hasher) {
        h.combine(pools)
        h.combine(l2Advertisements)
        h.combine(bgpAdvertisements)
        h.combine(peers)
    }
}
