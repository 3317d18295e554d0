/// A Service's identity: namespace and name. The allocator keys its records by it, the planner its plans, the
/// runtimes their writes.
public struct ServiceKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(namespace)/\(name)" }

    public static func < (l: ServiceKey, r: ServiceKey) -> Bool { (l.namespace, l.name) < (r.namespace, r.name) }
}
