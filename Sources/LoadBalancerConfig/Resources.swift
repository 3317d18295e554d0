import KubernetesModel

/// The configuration kinds Beacon reads.
public enum ResourceKind: String, Hashable, Sendable, CaseIterable, Comparable {
    case ipAddressPool = "IPAddressPool"
    case l2Advertisement = "L2Advertisement"
    case bgpAdvertisement = "BGPAdvertisement"
    case bgpPeer = "BGPPeer"
    case community = "Community"
    case bfdProfile = "BFDProfile"
    case secret = "Secret"

    public static func < (l: ResourceKind, r: ResourceKind) -> Bool {
        allCases.firstIndex(of: l)! < allCases.firstIndex(of: r)!  // Invariant: every case is in allCases.
    }
}

/// What every decoded object carries besides its spec.
public struct ResourceMeta: Hashable, Sendable {
    public var kind: ResourceKind
    public var apiVersion: String
    public var name: String
    public var namespace: String?
    public var labels: [String: String]
    /// Only Beacon's own (`beacon.io/...`): MetalLB's objects carry Beacon-only settings there, so that they stay
    /// valid under MetalLB's CRDs.
    public var annotations: [String: String] = [:]
    public var position: SourcePosition?
    /// The object as parsed, so issues found after decoding can point at the field's source position.
    public var document: ConfigNode?
    /// Set for objects converted from MetalLB's legacy ConfigMap.
    public var origin: String?

    public var reference: ObjectReference { ObjectReference(kind: kind.rawValue, name: name) }
}

/// `spec` of an IPAddressPool, as written.
public struct IPAddressPoolSpec: Hashable, Sendable {
    public var addresses: [String] = []
    public var autoAssign: Bool?
    public var avoidBuggyIPs: Bool?
    public var serviceAllocation: ServiceAllocationSpec?
}

public struct ServiceAllocationSpec: Hashable, Sendable {
    public var priority: Int64?
    public var namespaces: [String] = []
    public var namespaceSelectors: [LabelSelector] = []
    public var serviceSelectors: [LabelSelector] = []
}

/// `spec` of an L2Advertisement, as written.
public struct L2AdvertisementSpec: Hashable, Sendable {
    public var ipAddressPools: [String] = []
    public var ipAddressPoolSelectors: [LabelSelector] = []
    public var nodeSelectors: [LabelSelector] = []
    public var interfaces: [String] = []
    public var serviceSelectors: [LabelSelector] = []
    public var preferredNodeSelectors: [PreferredNodeSelector] = []
}

/// A weighted node preference (L2Advertisement `preferredNodeSelectors`): candidates matching `preference`
/// add `weight` (1–100) to their rank.
public struct PreferredNodeSelector: Hashable, Sendable {
    public var weight: Int
    public var preference: LabelSelector

    public init(weight: Int, preference: LabelSelector) {
        self.weight = weight
        self.preference = preference
    }
}

/// `spec` of a BGPAdvertisement, as written.
public struct BGPAdvertisementSpec: Hashable, Sendable {
    public var aggregationLength: Int64?
    public var aggregationLengthV6: Int64?
    public var localPref: Int64?
    public var communities: [String] = []
    public var ipAddressPools: [String] = []
    public var ipAddressPoolSelectors: [LabelSelector] = []
    public var nodeSelectors: [LabelSelector] = []
    public var peers: [String] = []
    public var serviceSelectors: [LabelSelector] = []
}

/// `spec` of a BGPPeer (v1beta1 or v1beta2), as written.
public struct BGPPeerSpec: Hashable, Sendable {
    public var myASN: Int64?
    public var peerASN: Int64?
    public var dynamicASN: String?
    public var localASN: Int64?
    public var peerAddress: String?
    public var interface: String?
    public var sourceAddress: String?
    public var peerPort: Int64?
    public var holdTime: Duration?
    public var keepaliveTime: Duration?
    public var connectTime: Duration?
    public var routerID: String?
    public var nodeSelectors: [LabelSelector] = []
    public var password: String?
    public var passwordSecret: SecretReference?
    public var bfdProfile: String?
    public var enableGracefulRestart: Bool?
    public var ebgpMultiHop: Bool?
    public var vrf: String?
    public var disableMP: Bool?
    public var dualStackAddressFamily: Bool?
}

public struct SecretReference: Hashable, Sendable {
    public var name: String?
    public var namespace: String?
}

/// `spec.communities[]` of a Community.
public struct CommunityAlias: Hashable, Sendable {
    public var name: String?
    public var value: String?
}

/// `spec` of a BFDProfile, as written.
public struct BFDProfileSpec: Hashable, Sendable {
    public var receiveInterval: Int64?
    public var transmitInterval: Int64?
    public var detectMultiplier: Int64?
    public var echoInterval: Int64?
    public var echoMode: Bool?
    public var passiveMode: Bool?
    public var minimumTtl: Int64?
}

/// A Secret as far as BGP passwords need it.
public struct SecretSpec: Hashable, Sendable {
    public var type: String?
    /// Decoded `data` (base64) merged with `stringData`.
    public var data: [String: String] = [:]
}

/// One decoded configuration object.
public enum ConfigResource: Hashable, Sendable {
    case ipAddressPool(ResourceMeta, IPAddressPoolSpec)
    case l2Advertisement(ResourceMeta, L2AdvertisementSpec)
    case bgpAdvertisement(ResourceMeta, BGPAdvertisementSpec)
    case bgpPeer(ResourceMeta, BGPPeerSpec)
    case community(ResourceMeta, [CommunityAlias])
    case bfdProfile(ResourceMeta, BFDProfileSpec)
    case secret(ResourceMeta, SecretSpec)

    public var meta: ResourceMeta {
        switch self {
        case .ipAddressPool(let m, _), .l2Advertisement(let m, _), .bgpAdvertisement(let m, _), .bgpPeer(let m, _),
             .community(let m, _), .bfdProfile(let m, _), .secret(let m, _):
            return m
        }
    }
}
