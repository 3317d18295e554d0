/// core/v1 Service: the fields Beacon reads (spec) and writes (status.loadBalancer).
public struct Service: Hashable, Sendable, Codable, KubernetesObject {
    public static let apiVersion = "v1"
    public static let kind = "Service"

    public var apiVersion: String? = Service.apiVersion
    public var kind: String? = Service.kind
    public var metadata: ObjectMeta
    public var spec: ServiceSpec
    public var status: ServiceStatus?

    public init(metadata: ObjectMeta, spec: ServiceSpec = ServiceSpec(), status: ServiceStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try c.decodeIfPresent(ServiceSpec.self, forKey: .spec) ?? ServiceSpec()
        status = try c.decodeIfPresent(ServiceStatus.self, forKey: .status)
    }
}

public struct ServiceSpec: Hashable, Sendable, Codable {
    /// ClusterIP, NodePort, LoadBalancer or ExternalName (nil means ClusterIP).
    public var type: String?
    public var ports: [ServicePortSpec]?
    public var selector: [String: String]?
    public var clusterIP: String?
    public var clusterIPs: [String]?
    public var ipFamilies: [String]?
    public var ipFamilyPolicy: String?
    public var loadBalancerIP: String?
    public var loadBalancerClass: String?
    public var loadBalancerSourceRanges: [String]?
    /// Cluster (default) or Local.
    public var externalTrafficPolicy: String?
    public var internalTrafficPolicy: String?
    public var healthCheckNodePort: Int?
    public var allocateLoadBalancerNodePorts: Bool?
    public var sessionAffinity: String?
    public var externalIPs: [String]?
    public var publishNotReadyAddresses: Bool?

    public init(type: String? = nil, ports: [ServicePortSpec]? = nil, selector: [String: String]? = nil) {
        self.type = type
        self.ports = ports
        self.selector = selector
    }

    public var isLoadBalancer: Bool { type == "LoadBalancer" }
}

public struct ServicePortSpec: Hashable, Sendable, Codable {
    public var name: String?
    /// TCP (default), UDP or SCTP.
    public var `protocol`: String?
    public var port: Int
    /// An integer or a named port.
    public var targetPort: IntOrString?
    public var nodePort: Int?
    public var appProtocol: String?

    public init(name: String? = nil, protocol: String? = "TCP", port: Int, targetPort: IntOrString? = nil, nodePort: Int? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
    }
}

public struct ServiceStatus: Hashable, Sendable, Codable {
    public var loadBalancer: LoadBalancerStatus?
    public var conditions: [Condition]?

    public init(loadBalancer: LoadBalancerStatus? = nil) { self.loadBalancer = loadBalancer }
}

public struct LoadBalancerStatus: Hashable, Sendable, Codable {
    public var ingress: [LoadBalancerIngress]?

    public init(ingress: [LoadBalancerIngress]? = nil) { self.ingress = ingress }
}

public struct LoadBalancerIngress: Hashable, Sendable, Codable {
    public var ip: String?
    public var hostname: String?
    /// VIP (set by the API server on entries with an ip) or Proxy.
    public var ipMode: String?
    public var ports: [PortStatus]?

    public init(ip: String? = nil, hostname: String? = nil, ipMode: String? = nil) {
        self.ip = ip
        self.hostname = hostname
        self.ipMode = ipMode
    }
}

public struct PortStatus: Hashable, Sendable, Codable {
    public var port: Int
    public var `protocol`: String
    public var error: String?
}

/// `intstr.IntOrString`: JSON is either a number or a string.
public enum IntOrString: Hashable, Sendable, Codable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let i): try c.encode(i)
        case .string(let s): try c.encode(s)
        }
    }

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }
}

/// `metav1.Condition`, as used by status conditions across APIs.
public struct Condition: Hashable, Sendable, Codable {
    public var type: String
    /// True, False or Unknown.
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String?
    public var observedGeneration: Int64?

    public init(type: String, status: String, reason: String? = nil, message: String? = nil, lastTransitionTime: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
    }
}
