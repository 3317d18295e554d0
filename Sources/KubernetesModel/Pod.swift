/// core/v1 Pod, read only: the speaker finds its peers' addresses from the speaker pods.
public struct Pod: Hashable, Sendable, Codable, KubernetesObject {
    public static let apiVersion = "v1"
    public static let kind = "Pod"

    public var apiVersion: String? = Pod.apiVersion
    public var kind: String? = Pod.kind
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?

    public init(metadata: ObjectMeta, spec: PodSpec? = nil, status: PodStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct PodSpec: Hashable, Sendable, Codable {
    public var nodeName: String?
    public var hostNetwork: Bool?

    public init(nodeName: String? = nil, hostNetwork: Bool? = nil) {
        self.nodeName = nodeName
        self.hostNetwork = hostNetwork
    }
}

public struct PodStatus: Hashable, Sendable, Codable {
    /// Pending, Running, Succeeded, Failed or Unknown.
    public var phase: String?
    public var podIP: String?
    public var hostIP: String?
    public var conditions: [Condition]?

    public init(phase: String? = nil, podIP: String? = nil, hostIP: String? = nil) {
        self.phase = phase
        self.podIP = podIP
        self.hostIP = hostIP
    }

    /// The Ready condition is True.
    public var isReady: Bool { conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
}
