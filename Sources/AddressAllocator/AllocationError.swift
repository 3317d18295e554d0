import KubernetesModel
import NetworkPrimitives

/// Why an allocation was refused. Descriptions use MetalLB's wording where MetalLB has one, so events read
/// the same after a migration.
public enum AllocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No pool the Service may use has a free (or shareable) address; `why` says what each pool lacks.
    case noAvailableIPs(why: String)
    /// The pool named by annotation (or chosen for dual-stack) is exhausted for these families.
    case noAvailableIPsInPool(String, FamilyPolicy)
    case unknownPool(String)
    /// A requested address is in no pool (or is a .0/.255 address of an avoidBuggyIPs pool).
    case notAllowedInConfig([IPAddress])
    /// The pool's serviceAllocation excludes this Service's namespace or labels.
    case poolNotCompatible(String)
    case requestedIPsNotInRequestedPool([IPAddress], pool: String)
    case requestedIPsInDifferentPools([IPAddress])
    case requestedFamilyMismatch([IPAddress])
    /// The address is used by other Services whose sharing key or backends do not match; `reason` says which.
    case cannotChangeSharingKey(ServiceKey, alsoUsedBy: [ServiceKey], reason: String)
    case portInUse(ServicePort, IPAddress)
    /// The Service's fields or annotations are malformed.
    case invalidRequest(String)

    public var description: String {
        switch self {
        case .noAvailableIPs(let why): return why.isEmpty ? "no available IPs" : "no available IPs (\(why))"
        case .noAvailableIPsInPool(let p, let f):
            if case .singleStack = f { return "no available IPs in pool \"\(p)\"" }
            return "no available IPs in pool \"\(p)\" for \(f) IPFamily"
        case .unknownPool(let p): return "unknown pool \"\(p)\""
        case .notAllowedInConfig(let ips): return "\(Self.quoted(ips)) is not allowed in config"
        case .poolNotCompatible(let p): return "pool \(p) not compatible for ip assignment"
        case .requestedIPsNotInRequestedPool(let ips, let p):
            return "requested loadBalancer IP(s) \(Self.quoted(ips)) is not compatible with requested address pool \(p)"
        case .requestedIPsInDifferentPools(let ips): return "requested loadBalancer IP(s) \(Self.quoted(ips)) are in different pools"
        case .requestedFamilyMismatch(let ips):
            return "requested loadBalancer IP(s) \(Self.quoted(ips)) does not match the ipFamily of the service"
        case .cannotChangeSharingKey(let s, let others, let reason):
            // MetalLB's wording, plus the reason it leaves out (MetalLB #788).
            return "can't change sharing key for \"\(s)\", address also in use by \(others.map(\.description).joined(separator: ",")) (\(reason))"
        case .portInUse(let port, let ip): return "port \(port) is already in use on \"\(ip)\""
        case .invalidRequest(let m): return m
        }
    }

    /// Go's `%q` of a []string: `["1.2.3.4" "2001:db8::1"]`.
    static func quoted(_ ips: [IPAddress]) -> String {
        "[" + ips.map { "\"\($0)\"" }.joined(separator: " ") + "]"
    }
}
