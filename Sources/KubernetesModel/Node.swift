/// core/v1 Node: labels, addresses and the conditions announcement decisions depend on.
public struct Node: Hashable, Sendable, Codable, KubernetesObject {
    public static let apiVersion = "v1"
    public static let kind = "Node"
    /// Nodes with this label never announce LoadBalancer IPs (MetalLB honours it unless told not to).
    public static let excludeFromLoadBalancersLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

    public var apiVersion: String? = Node.apiVersion
    public var kind: String? = Node.kind
    public var metadata: ObjectMeta
    public var spec: NodeSpec?
    public var status: NodeStatus?

    public init(metadata: ObjectMeta, spec: NodeSpec? = nil, status: NodeStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// True when the `NetworkUnavailable` condition is `True`.
    public var isNetworkUnavailable: Bool {
        status?.conditions?.contains { $0.type == "NetworkUnavailable" && $0.status == "True" } ?? false
    }

    public var isExcludedFromLoadBalancers: Bool { metadata.labels?[Self.excludeFromLoadBalancersLabel] != nil }

    /// The addresses of one type (InternalIP, ExternalIP, Hostname).
    public func addresses(_ type: String) -> [String] {
        status?.addresses?.filter { $0.type == type }.map(\.address) ?? []
    }
}

public struct NodeSpec: Hashable, Sendable, Codable {
    public var podCIDR: String?
    public var podCIDRs: [String]?
    public var unschedulable: Bool?
    public var taints: [Taint]?

    public init(podCIDRs: [String]? = nil, taints: [Taint]? = nil) {
        self.podCIDRs = podCIDRs
        self.taints = taints
    }
}

public struct Taint: Hashable, Sendable, Codable {
    public var key: String
    public var value: String?
    public var effect: String
}

public struct NodeStatus: Hashable, Sendable, Codable {
    public var addresses: [NodeAddress]?
    public var conditions: [NodeCondition]?

    public init(addresses: [NodeAddress]? = nil, conditions: [NodeCondition]? = nil) {
        self.addresses = addresses
        self.conditions = conditions
    }
}

public struct NodeAddress: Hashable, Sendable, Codable {
    public var type: String
    public var address: String

    public init(type: String, address: String) {
        self.type = type
        self.address = address
    }
}

/// A node condition (its shape differs from `metav1.Condition`: heartbeat times, no observedGeneration).
public struct NodeCondition: Hashable, Sendable, Codable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastHeartbeatTime: String?
    public var lastTransitionTime: String?

    public init(type: String, status: String, reason: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
    }
}

/// core/v1 Namespace: only its labels matter to Beacon (pool namespace selectors).
public struct Namespace: Hashable, Sendable, Codable, KubernetesObject {
    public static let apiVersion = "v1"
    public static let kind = "Namespace"

    public var apiVersion: String? = Namespace.apiVersion
    public var kind: String? = Namespace.kind
    public var metadata: ObjectMeta

    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

/// core/v1 Secret (BGP passwords, the memberlist key). `data` values are base64 in JSON.
public struct Secret: Hashable, Sendable, Codable, KubernetesObject {
    public static let apiVersion = "v1"
    public static let kind = "Secret"

    public var apiVersion: String? = Secret.apiVersion
    public var kind: String? = Secret.kind
    public var metadata: ObjectMeta
    public var type: String?
    public var data: [String: String]?
    public var stringData: [String: String]?

    public init(metadata: ObjectMeta, type: String? = nil, data: [String: String]? = nil) {
        self.metadata = metadata
        self.type = type
        self.data = data
    }
}
