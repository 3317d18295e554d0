/// `metadata` of a Kubernetes object: the fields Beacon reads or writes.
public struct ObjectMeta: Hashable, Sendable, Codable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var finalizers: [String]?
    public var ownerReferences: [OwnerReference]?

    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil,
                annotations: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

/// `metadata.ownerReferences[]`: garbage collection and "who made this" (ServiceL2Status → speaker pod).
public struct OwnerReference: Hashable, Sendable, Codable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
    }
}

/// The API server's syntax rules for object names, label keys and label values
/// (k8s.io/apimachinery/pkg/util/validation).
public enum NameValidation {
    /// DNS-1123 subdomain: at most 253 characters of lowercase alphanumerics, '-' and '.', starting and ending
    /// alphanumeric. Used for most object names, including every metallb.io kind. Returns the problem, or nil.
    public static func dns1123Subdomain(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.utf8.count > 253 { return "must be no more than 253 characters" }
        for label in s.split(separator: ".", omittingEmptySubsequences: false) {
            if let problem = dns1123Label(Substring(label), what: "a lowercase RFC 1123 subdomain") { return problem }
        }
        return nil
    }

    /// Path segment (RBAC Roles, ClusterRoles and their bindings, whose names are often `group:component`): not
    /// empty, not "." or "..", no '/' or '%'.
    public static func pathSegment(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s == "." || s == ".." { return "may not be '\(s)'" }
        if s.contains("/") { return "may not contain '/'" }
        if s.contains("%") { return "may not contain '%'" }
        return nil
    }

    /// DNS-1123 label (namespace names): at most 63 lowercase alphanumerics or '-', alphanumeric at both ends.
    public static func dns1123Label(_ s: String) -> String? {
        if s.utf8.count > 63 { return "must be no more than 63 characters" }
        return dns1123Label(Substring(s), what: "a lowercase RFC 1123 label")
    }

    private static func dns1123Label(_ s: Substring, what: String) -> String? {
        let bytes = Array(s.utf8)
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }
        guard let f = bytes.first, let l = bytes.last, alnum(f), alnum(l),
              bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "-") })
        else {
            return "must be \(what): lowercase alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character"
        }
        return nil
    }

    /// A label key: an optional DNS subdomain prefix and '/', then a name of at most 63 characters.
    public static func labelKey(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            return qualifiedName(parts[0]).map { "key \"\(key)\": \($0)" }
        case 2:
            if parts[0].isEmpty { return "key \"\(key)\": prefix part must not be empty" }
            if let p = dns1123Subdomain(String(parts[0])) { return "key \"\(key)\": prefix part \(p)" }
            return qualifiedName(parts[1]).map { "key \"\(key)\": \($0)" }
        default:
            return "key \"\(key)\": a qualified name must have at most one '/'"
        }
    }

    /// A label value: empty, or at most 63 alphanumerics, '-', '_' or '.', alphanumeric at both ends.
    public static func labelValue(_ value: String) -> String? {
        if value.isEmpty { return nil }
        return qualifiedName(Substring(value)).map { "value \"\(value)\": \($0)" }
    }

    private static func qualifiedName(_ s: Substring) -> String? {
        if s.isEmpty { return "name part must not be empty" }
        if s.utf8.count > 63 { return "name part must be no more than 63 characters" }
        let bytes = Array(s.utf8)
        func alnum(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39)
        }
        guard let f = bytes.first, let l = bytes.last, alnum(f), alnum(l),
              bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
        else {
            return "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        }
        return nil
    }
}
