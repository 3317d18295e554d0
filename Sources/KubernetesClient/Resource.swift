import KubernetesModel

/// A kind's REST address (group, version, plural, scope) together with the Swift type its objects decode to.
/// Typed kinds decode to their models; metallb.io kinds decode to `JSONValue` and go through LoadBalancerConfig.
public struct Resource<Object: Codable & Sendable & Hashable>: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var plural: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.namespaced = namespaced
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// `/api/v1/namespaces/NS/services[/NAME][/status]`.
    func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var p = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace { p += "/namespaces/\(namespace)" }
        p += "/\(plural)"
        if let name { p += "/\(name)" }
        if let subresource { p += "/\(subresource)" }
        return p
    }
}

extension Resource where Object == Service {
    public static let services = Resource(group: "", version: "v1", plural: "services", namespaced: true)
}
extension Resource where Object == Node {
    public static let nodes = Resource(group: "", version: "v1", plural: "nodes", namespaced: false)
}
extension Resource where Object == Namespace {
    public static let namespaces = Resource(group: "", version: "v1", plural: "namespaces", namespaced: false)
}
extension Resource where Object == Secret {
    public static let secrets = Resource(group: "", version: "v1", plural: "secrets", namespaced: true)
}
extension Resource where Object == Pod {
    public static let pods = Resource(group: "", version: "v1", plural: "pods", namespaced: true)
}
extension Resource where Object == EndpointSlice {
    public static let endpointSlices = Resource(group: "discovery.k8s.io", version: "v1", plural: "endpointslices", namespaced: true)
}
extension Resource where Object == Event {
    public static let events = Resource(group: "events.k8s.io", version: "v1", plural: "events", namespaced: true)
}
extension Resource where Object == Lease {
    public static let leases = Resource(group: "coordination.k8s.io", version: "v1", plural: "leases", namespaced: true)
}
extension Resource where Object == JSONValue {
    public static let ipAddressPools = metallb("ipaddresspools")
    public static let l2Advertisements = metallb("l2advertisements")
    public static let bgpAdvertisements = metallb("bgpadvertisements")
    public static let bgpPeers = metallb("bgppeers", version: "v1beta2")
    public static let communities = metallb("communities")
    public static let bfdProfiles = metallb("bfdprofiles")
    public static let serviceL2Statuses = metallb("servicel2statuses")
    public static let serviceBGPStatuses = metallb("servicebgpstatuses")
    public static let configurationStates = metallb("configurationstates")
    /// FRR-K8s's per-node, per-peer session state.
    public static let bgpSessionStates = Resource(group: "frrk8s.metallb.io", version: "v1beta1", plural: "bgpsessionstates", namespaced: true)
    /// Every metallb.io configuration kind, in the order the configuration loader reads them.
    public static let metallbConfiguration: [Resource<JSONValue>] = [ipAddressPools, l2Advertisements, bgpAdvertisements, bgpPeers, communities, bfdProfiles]

    static func metallb(_ plural: String, version: String = "v1beta1") -> Resource<JSONValue> {
        Resource(group: "metallb.io", version: version, plural: plural, namespaced: true)
    }
}

/// Selectors and paging for list and watch.
public struct ListOptions: Sendable, Hashable {
    public var labelSelector: String?
    public var fieldSelector: String?
    /// Page size for lists (the client follows `continue` until the end).
    public var limit: Int?

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
    }
}

/// A patch body and its content type.
public enum Patch: Sendable, Hashable {
    case merge(JSONValue)
    case strategicMerge(JSONValue)
    case json([JSONPatch.Operation])

    var contentType: String {
        switch self {
        case .merge: return "application/merge-patch+json"
        case .strategicMerge: return "application/strategic-merge-patch+json"
        case .json: return "application/json-patch+json"
        }
    }

    var body: [UInt8] {
        switch self {
        case .merge(let v), .strategicMerge(let v): return JSONText.serialize(v)
        case .json(let ops):
            return JSONText.serialize(.array(ops.map { op in
                var o: [String: JSONValue] = ["op": .string(op.op), "path": .string(op.path)]
                if let v = op.value { o["value"] = v }
                if let f = op.from { o["from"] = .string(f) }
                return .object(o)
            }))
        }
    }
}
