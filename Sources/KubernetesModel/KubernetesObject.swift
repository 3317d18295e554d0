/// A Kubernetes object type with its group/version and kind.
public protocol KubernetesObject: Codable, Sendable {
    static var apiVersion: String { get }
    static var kind: String { get }
    var metadata: ObjectMeta { get set }
}

extension KubernetesObject {
    /// `namespace/name`, or `name` for cluster-scoped objects.
    public var namespacedName: String {
        if let ns = metadata.namespace, !ns.isEmpty { return "\(ns)/\(metadata.name ?? "")" }
        return metadata.name ?? ""
    }
}

/// A list response: `{"kind": "ServiceList", "metadata": {"resourceVersion": …}, "items": […]}`.
public struct ObjectList<Item: Codable & Sendable & Hashable>: Hashable, Sendable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta
    public var items: [Item]

    public init(apiVersion: String? = nil, kind: String? = nil, metadata: ListMeta = ListMeta(), items: [Item]) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.items = items
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, items }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
        // The API server sends `"items": null` for empty lists in some versions.
        items = try c.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

public struct ListMeta: Hashable, Sendable, Codable {
    public var resourceVersion: String?
    /// Present when the list was truncated with `limit`.
    public var `continue`: String?
    public var remainingItemCount: Int64?

    public init(resourceVersion: String? = nil) { self.resourceVersion = resourceVersion }
}

/// One line of a watch stream.
public struct WatchEvent<Object: Codable & Sendable & Hashable>: Hashable, Sendable, Codable {
    public enum EventType: String, Hashable, Sendable, Codable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
        case bookmark = "BOOKMARK"
        case error = "ERROR"
    }

    public var type: EventType
    /// The object; for ERROR events the API server sends a `Status` here instead, see `WatchEvent<Status>`.
    public var object: Object

    public init(type: EventType, object: Object) {
        self.type = type
        self.object = object
    }
}

/// `metav1.Status`: the API server's error (and some success) responses. `reason` is machine-readable
/// (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Expired`, `Gone`, `Unauthorized`, `Forbidden`, …).
public struct Status: Hashable, Sendable, Codable, Error, CustomStringConvertible {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Status"
    public var metadata: ListMeta? = ListMeta()
    /// Success or Failure.
    public var status: String?
    public var message: String?
    public var reason: String?
    public var details: StatusDetails?
    public var code: Int?

    public init(status: String = "Failure", message: String, reason: String, code: Int, details: StatusDetails? = nil) {
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
        self.details = details
    }

    public var description: String { "\(code.map(String.init) ?? "?") \(reason ?? "Unknown"): \(message ?? "")" }
}

public struct StatusDetails: Hashable, Sendable, Codable {
    public var name: String?
    public var group: String?
    public var kind: String?
    public var uid: String?
    public var causes: [StatusCause]?
    public var retryAfterSeconds: Int?

    public init(name: String? = nil, group: String? = nil, kind: String? = nil, causes: [StatusCause]? = nil) {
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes
    }
}

public struct StatusCause: Hashable, Sendable, Codable {
    public var reason: String?
    public var message: String?
    public var field: String?

    public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
        self.reason = reason
        self.message = message
        self.field = field
    }
}
