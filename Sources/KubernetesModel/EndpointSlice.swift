/// discovery.k8s.io/v1 EndpointSlice: which endpoints back a Service, on which nodes, and whether they serve.
public struct EndpointSlice: Hashable, Sendable, Codable, KubernetesObject {
    public static let apiVersion = "discovery.k8s.io/v1"
    public static let kind = "EndpointSlice"
    /// The label linking a slice to its Service.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    public var apiVersion: String? = EndpointSlice.apiVersion
    public var kind: String? = EndpointSlice.kind
    public var metadata: ObjectMeta
    /// IPv4, IPv6 or FQDN.
    public var addressType: String
    public var endpoints: [Endpoint]
    public var ports: [EndpointPort]?

    public init(metadata: ObjectMeta, addressType: String = "IPv4", endpoints: [Endpoint] = [], ports: [EndpointPort]? = nil) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, addressType, endpoints, ports }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        addressType = try c.decodeIfPresent(String.self, forKey: .addressType) ?? "IPv4"
        endpoints = try c.decodeIfPresent([Endpoint].self, forKey: .endpoints) ?? []
        ports = try c.decodeIfPresent([EndpointPort].self, forKey: .ports)
    }

    /// The Service this slice belongs to, from its `kubernetes.io/service-name` label.
    public var serviceName: String? { metadata.labels?[Self.serviceNameLabel] }
}

public struct Endpoint: Hashable, Sendable, Codable {
    public var addresses: [String]
    public var conditions: EndpointConditions?
    public var nodeName: String?
    public var zone: String?
    public var hostname: String?

    public init(addresses: [String], conditions: EndpointConditions? = nil, nodeName: String? = nil) {
        self.addresses = addresses
        self.conditions = conditions
        self.nodeName = nodeName
    }

    /// MetalLB's rule: serving when `ready` is absent or true, or when `serving` is true (a terminating
    /// endpoint that still serves counts).
    public var isServing: Bool {
        let ready = conditions?.ready ?? true
        return ready || conditions?.serving == true
    }
}

public struct EndpointConditions: Hashable, Sendable, Codable {
    public var ready: Bool?
    public var serving: Bool?
    public var terminating: Bool?

    public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
    }
}

public struct EndpointPort: Hashable, Sendable, Codable {
    public var name: String?
    public var `protocol`: String?
    public var port: Int?
    public var appProtocol: String?

    public init(name: String? = nil, protocol: String? = "TCP", port: Int? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
    }
}
