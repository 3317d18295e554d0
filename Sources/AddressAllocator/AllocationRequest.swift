import KubernetesModel
import NetworkPrimitives

/// A protocol and port a Service exposes, written `TCP/80` as MetalLB writes it.
public struct ServicePort: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var transport: String
    public var port: Int

    public init(_ transport: String, _ port: Int) {
        self.transport = transport
        self.port = port
    }

    public var description: String { "\(transport)/\(port)" }

    public static func < (l: ServicePort, r: ServicePort) -> Bool { (l.transport, l.port) < (r.transport, r.port) }
}

/// Which address families a Service needs.
public enum FamilyPolicy: Hashable, Sendable, CustomStringConvertible {
    case singleStack(IPFamily)
    /// Both families if one pool can give both; otherwise `primary` alone (and the other added later, from the
    /// same pool, when it can).
    case preferDualStack(primary: IPFamily)
    /// Both families from one pool, or nothing.
    case requireDualStack

    public var families: [IPFamily] {
        switch self {
        case .singleStack(let f): return [f]
        case .preferDualStack, .requireDualStack: return [.ipv4, .ipv6]
        }
    }

    public var description: String {
        switch self {
        case .singleStack(let f): return f.rawValue
        case .preferDualStack(let p): return "PreferDualStack(\(p.rawValue) first)"
        case .requireDualStack: return "DualStack"
        }
    }
}

/// Everything the allocator needs to know about one Service. Plain values: no Kubernetes types.
public struct AllocationRequest: Hashable, Sendable {
    public var service: ServiceKey
    public var namespaceLabels: [String: String]
    public var serviceLabels: [String: String]
    public var families: FamilyPolicy
    /// Addresses the Service asks for (at most one per family).
    public var requestedIPs: [IPAddress]
    /// The pool the Service asks for by annotation.
    public var requestedPool: String?
    /// `metallb.io/allow-shared-ip`; nil means the Service never shares its address.
    public var sharingKey: String?
    /// "" for `externalTrafficPolicy: Cluster`; the pod selector for `Local`, so that only Services with the
    /// same backends share an address.
    public var backendKey: String
    public var ports: [ServicePort]

    public init(service: ServiceKey, namespaceLabels: [String: String] = [:], serviceLabels: [String: String] = [:],
                families: FamilyPolicy = .singleStack(.ipv4), requestedIPs: [IPAddress] = [], requestedPool: String? = nil,
                sharingKey: String? = nil, backendKey: String = "", ports: [ServicePort] = []) {
        self.service = service
        self.namespaceLabels = namespaceLabels
        self.serviceLabels = serviceLabels
        self.families = families
        self.requestedIPs = requestedIPs
        self.requestedPool = requestedPool
        self.sharingKey = sharingKey
        self.backendKey = backendKey
        self.ports = ports
    }
}

/// The parts of a Service that decide its allocation, as plain strings (the controller fills this from the
/// Service object). `AllocationRequest(_:)` checks them the way MetalLB does.
public struct ServiceDescription: Sendable {
    public var namespace: String
    public var name: String
    public var labels: [String: String] = [:]
    public var annotations: [String: String] = [:]
    public var namespaceLabels: [String: String] = [:]
    /// `spec.loadBalancerIP` (deprecated by Kubernetes, still honoured).
    public var loadBalancerIP: String?
    /// `spec.ipFamilyPolicy`: SingleStack, PreferDualStack or RequireDualStack.
    public var ipFamilyPolicy: String?
    /// `spec.ipFamilies`, e.g. ["IPv6", "IPv4"].
    public var ipFamilies: [String] = []
    /// `spec.clusterIPs`.
    public var clusterIPs: [String] = []
    /// `spec.ports[]` as (protocol, port); protocol defaults to TCP.
    public var ports: [(transport: String, port: Int)] = []
    /// `spec.externalTrafficPolicy`: Cluster (default) or Local.
    public var externalTrafficPolicy: String?
    /// `spec.selector`.
    public var selector: [String: String] = [:]

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }
}

/// MetalLB's Service annotations. The `metallb.io/` prefix wins over the legacy `metallb.universe.tf/`.
public enum ServiceAnnotations {
    public static let prefixes = ["metallb.io/", "metallb.universe.tf/"]
    public static let addressPool = "address-pool"
    public static let loadBalancerIPs = "loadBalancerIPs"
    public static let allowSharedIP = "allow-shared-ip"
    /// Written by the controller: the pool an address came from.
    public static let allocatedFromPool = "metallb.io/ip-allocated-from-pool"

    /// The value of an annotation under either prefix, and the full key it was found under.
    public static func value(_ name: String, in annotations: [String: String]) -> (key: String, value: String)? {
        for prefix in prefixes {
            if let v = annotations[prefix + name] { return (prefix + name, v) }
        }
        return nil
    }
}

extension AllocationRequest {
    /// Builds a request from a Service's fields, rejecting what MetalLB rejects: malformed or conflicting
    /// requested addresses, more than one address per family, requested addresses that do not match the
    /// Service's families, RequireDualStack without two cluster IPs.
    public init(_ d: ServiceDescription) throws(AllocationError) {
        let key = ServiceKey(namespace: d.namespace, name: d.name)

        // Families, from clusterIPs first (they are what the API server assigned), then ipFamilies.
        var clusterFamilies: [IPFamily] = []
        for text in d.clusterIPs where text != "None" && !text.isEmpty {
            guard let ip = try? IPAddress(text) else {
                throw .invalidRequest("spec.clusterIPs: \"\(text)\" is not an IP address")
            }
            clusterFamilies.append(ip.family)
        }
        var declared: [IPFamily] = []
        for f in d.ipFamilies {
            switch f {
            case "IPv4": declared.append(.ipv4)
            case "IPv6": declared.append(.ipv6)
            default: throw .invalidRequest("spec.ipFamilies: \"\(f)\" is not IPv4 or IPv6")
            }
        }
        let known = clusterFamilies.isEmpty ? declared : clusterFamilies
        let primary = known.first ?? .ipv4
        let families: FamilyPolicy
        switch d.ipFamilyPolicy ?? "SingleStack" {
        case "SingleStack": families = .singleStack(primary)
        case "PreferDualStack":
            families = .preferDualStack(primary: primary)
        case "RequireDualStack":
            guard Set(known).count == 2 else {
                throw .invalidRequest("RequireDualStack needs two cluster IPs of different families, the Service has \(clusterFamilies.count)")
            }
            families = .requireDualStack
        case let other:
            throw .invalidRequest("spec.ipFamilyPolicy: \"\(other)\" is not SingleStack, PreferDualStack or RequireDualStack")
        }

        // Requested addresses: spec.loadBalancerIP or the loadBalancerIPs annotation, never both.
        var requested: [IPAddress] = []
        let annotation = ServiceAnnotations.value(ServiceAnnotations.loadBalancerIPs, in: d.annotations)
        let specIP = d.loadBalancerIP.flatMap { $0.isEmpty ? nil : $0 }
        if let annotation, specIP != nil {
            throw .invalidRequest("service can not have both \(annotation.key) and spec.loadBalancerIP")
        }
        if let annotation {
            let parts = annotation.value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
            if parts.count > 2 { throw .invalidRequest("\(annotation.key): at most two addresses (one per family), got \(parts.count)") }
            for part in parts {
                guard let ip = try? IPAddress(part) else {
                    throw .invalidRequest("\(annotation.key): \"\(part)\" is not an IP address")
                }
                requested.append(ip.unmapped)
            }
        } else if let specIP {
            guard let ip = try? IPAddress(specIP) else {
                throw .invalidRequest("spec.loadBalancerIP: \"\(specIP)\" is not an IP address")
            }
            requested.append(ip.unmapped)
        }
        if requested.count == 2 && requested[0].family == requested[1].family {
            throw .invalidRequest("\"\(requested[0])\" \"\(requested[1])\" has the same family")
        }
        if !requested.isEmpty {
            let wanted = Set(families.families)
            let asked = Set(requested.map(\.family))
            let matches: Bool
            switch families {
            case .singleStack: matches = asked == wanted
            case .requireDualStack: matches = asked == wanted
            case .preferDualStack(let p): matches = asked == [p] || asked == wanted
            }
            if !matches { throw .requestedFamilyMismatch(requested) }
        }

        let pool = ServiceAnnotations.value(ServiceAnnotations.addressPool, in: d.annotations)?.value
        let sharing = ServiceAnnotations.value(ServiceAnnotations.allowSharedIP, in: d.annotations)?.value
        var ports: [ServicePort] = []
        for p in d.ports {
            guard (1...65535).contains(p.port) else { throw .invalidRequest("spec.ports: port \(p.port) is out of range") }
            ports.append(ServicePort(p.transport.isEmpty ? "TCP" : p.transport, p.port))
        }
        let local = d.externalTrafficPolicy == "Local"
        let backend = local ? d.selector.keys.sorted().map { "\($0)=\(d.selector[$0] ?? "")" }.joined(separator: ",") : ""
        self.init(service: key, namespaceLabels: d.namespaceLabels, serviceLabels: d.labels, families: families,
                  requestedIPs: requested.sorted(), requestedPool: pool.flatMap { $0.isEmpty ? nil : $0 },
                  sharingKey: sharing.flatMap { $0.isEmpty ? nil : $0 }, backendKey: backend, ports: ports.sorted())
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
