import KubernetesModel

/// The emulator's state: objects of every served kind as JSON, with the API server's semantics wherever Beacon
/// or kubectl can observe them: uid, creationTimestamp, generation, a monotonically increasing resourceVersion,
/// status as a separate subresource, optimistic concurrency, finalizers and deletionTimestamp, no-op writes
/// that change nothing, and a bounded watch history (older resourceVersions get `410 Gone`).
///
/// Pure (no I/O): the HTTP layer maps requests onto these calls and `Status` errors onto responses.
public struct ObjectStore: Sendable {
    /// One change, as a watch stream reports it.
    public struct Change: Sendable {
        public var type: WatchEvent<JSONValue>.EventType
        public var resource: ResourceType.Key
        public var namespace: String?
        public var object: JSONValue
        /// The object before the change (for MODIFIED), so selector-filtered watches can see transitions.
        public var previous: JSONValue?
        public var resourceVersion: Int64
    }

    public enum Subresource: Sendable { case main, status }

    public enum Patch: Sendable {
        case merge(JSONValue)
        /// A strategic merge patch (built-in kinds only).
        case strategic(JSONValue)
        case json([JSONPatch.Operation])
    }

    public let types: [ResourceType.Key: ResourceType]
    /// The resourceVersion of the last change.
    public private(set) var resourceVersion: Int64 = 1
    private var objects: [ResourceType.Key: [String: JSONValue]] = [:]
    private var history: [Change] = []
    private var historyStart = 0
    /// Changes kept for watches; a watch from an older resourceVersion gets 410 Gone.
    public var historyLimit: Int
    private let now: @Sendable () -> String
    private let makeUID: @Sendable () -> String
    var serviceDefaults = ServiceDefaults()

    public init(types: [ResourceType] = ResourceType.catalog, historyLimit: Int = 100_000,
                now: @escaping @Sendable () -> String, makeUID: @escaping @Sendable () -> String) {
        self.types = Dictionary(uniqueKeysWithValues: types.map { ($0.key, $0) })
        self.historyLimit = historyLimit
        self.now = now
        self.makeUID = makeUID
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            if let t = self.types[ResourceType.Key(group: "", plural: "namespaces")] {
                _ = try? create(t, namespace: nil, .object(["metadata": .object(["name": .string(ns)])]))
            }
        }
    }

    // MARK: - Reads

    public func get(_ type: ResourceType, namespace: String?, name: String) throws(Status) -> JSONValue {
        guard let object = objects[type.key]?[path(type, namespace, name)] else { throw notFound(type, name) }
        return object
    }

    /// Objects of a kind (in one namespace, or all), filtered by selectors, in namespace/name order.
    public func list(_ type: ResourceType, namespace: String?, labels: LabelSelector? = nil,
                     fields: FieldSelector? = nil) -> (items: [JSONValue], resourceVersion: Int64) {
        let all = objects[type.key] ?? [:]
        let items = all.keys.sorted().compactMap { key -> JSONValue? in
            guard let object = all[key] else { return nil }
            if type.namespaced, let namespace, Self.namespace(of: object) != namespace { return nil }
            return Self.matches(object, labels, fields) ? object : nil
        }
        return (items, resourceVersion)
    }

    /// How many objects of a kind satisfy `predicate` (unsorted, for monitoring).
    public func count(_ type: ResourceType, where predicate: (JSONValue) -> Bool) -> Int {
        (objects[type.key] ?? [:]).values.reduce(0) { $0 + (predicate($1) ? 1 : 0) }
    }

    /// Changes after `since` for a watch, with selector transitions turned into ADDED/DELETED as the API server
    /// does. Throws 410 Gone (reason Expired) when `since` is older than the retained history.
    public func changes(_ type: ResourceType, namespace: String?, since: Int64, labels: LabelSelector? = nil,
                        fields: FieldSelector? = nil) throws(Status) -> [Change] {
        let oldest = history.count > historyStart ? history[historyStart].resourceVersion : resourceVersion + 1
        if since < oldest - 1 && since < resourceVersion {
            throw Status(message: "too old resource version: \(since) (\(oldest - 1))", reason: "Expired", code: 410)
        }
        var out: [Change] = []
        for change in history[historyStart...] where change.resourceVersion > since {
            if let c = Self.filter(change, type, namespace: namespace, labels: labels, fields: fields) { out.append(c) }
        }
        return out
    }

    /// Every change after `resourceVersion`, of every kind, unfiltered (the server fans these out to watchers).
    public func changes(after resourceVersion: Int64) -> [Change] {
        var out: [Change] = []
        var i = history.count
        while i > historyStart, history[i - 1].resourceVersion > resourceVersion { i -= 1 }
        out.append(contentsOf: history[i...])
        return out
    }

    /// One change as a watch of `type` in `namespace` with these selectors sees it: nil when it does not see it;
    /// a MODIFIED that moves an object into or out of the selection becomes ADDED or DELETED, as the API server does.
    public static func filter(_ change: Change, _ type: ResourceType, namespace: String?, labels: LabelSelector?,
                              fields: FieldSelector?) -> Change? {
        guard change.resource == type.key else { return nil }
        if type.namespaced, let namespace, change.namespace != namespace { return nil }
        let now = matches(change.object, labels, fields)
        let before = change.previous.map { matches($0, labels, fields) } ?? false
        var c = change
        switch (change.type, before, now) {
        case (.modified, false, true): c.type = .added
        case (.modified, true, false): c.type = .deleted
        case (.modified, false, false), (.added, _, false), (.deleted, _, false): return nil
        default: break
        }
        return c
    }

    /// Every stored object, by kind (for persistence).
    public var allObjects: [ResourceType.Key: [JSONValue]] {
        objects.mapValues { Array($0.values) }
    }

    /// Rebuilds the store from persisted objects; the history starts empty, so older watches get 410 Gone.
    public mutating func restore(_ saved: [ResourceType.Key: [JSONValue]], resourceVersion: Int64) {
        objects = [:]
        history = []
        historyStart = 0
        for (key, items) in saved {
            guard let type = types[key] else { continue }
            for object in items {
                guard let name = object["metadata"]?["name"]?.stringValue else { continue }
                objects[key, default: [:]][path(type, Self.namespace(of: object), name)] = object
                if type.kind == "Service" { serviceDefaults.reserve(object) }
            }
        }
        self.resourceVersion = max(resourceVersion, self.resourceVersion)
    }

    // MARK: - Writes

    @discardableResult
    public mutating func create(_ type: ResourceType, namespace: String?, _ body: JSONValue) throws(Status) -> JSONValue {
        guard case .object = body else { throw badRequest("the request body must be a JSON object") }
        try checkTypeMeta(type, body)
        var object = body
        var meta = object["metadata"]?.objectValue ?? [:]
        if meta["name"]?.stringValue == nil, let prefix = meta["generateName"]?.stringValue {
            meta["name"] = .string(prefix + String(makeUID().filter { $0.isLetter || $0.isNumber }.lowercased().prefix(5)))
        }
        guard let name = meta["name"]?.stringValue, !name.isEmpty else {
            throw invalid(type, "", [StatusCause(reason: "FieldValueRequired", message: "Required value: name or generateName is required", field: "metadata.name")])
        }
        let problem = type.kind == "Namespace" ? NameValidation.dns1123Label(name)
            : type.group == "rbac.authorization.k8s.io" ? NameValidation.pathSegment(name) : NameValidation.dns1123Subdomain(name)
        if let problem {
            throw invalid(type, name, [StatusCause(reason: "FieldValueInvalid", message: "Invalid value: \"\(name)\": \(problem)", field: "metadata.name")])
        }
        let ns = try scope(type, namespace: namespace, meta: meta)
        if type.namespaced, let ns, type.kind != "Namespace",
           objects[ResourceType.Key(group: "", plural: "namespaces")]?[ns] == nil {
            throw Status(message: "namespaces \"\(ns)\" not found", reason: "NotFound", code: 404,
                         details: StatusDetails(name: ns, kind: "namespaces"))
        }
        let key = path(type, ns, name)
        if objects[type.key]?[key] != nil {
            throw Status(message: "\(type.qualifiedName) \"\(name)\" already exists", reason: "AlreadyExists", code: 409,
                         details: StatusDetails(name: name, group: type.group, kind: type.plural))
        }
        if let ns { meta["namespace"] = .string(ns) } else { meta["namespace"] = nil }
        meta["uid"] = .string(makeUID())
        meta["creationTimestamp"] = .string(now())
        meta["deletionTimestamp"] = nil
        if object["spec"] != nil { meta["generation"] = .int(1) }
        resourceVersion += 1
        meta["resourceVersion"] = .string(String(resourceVersion))
        object["metadata"] = .object(meta)
        object["apiVersion"] = .string(object["apiVersion"]?.stringValue ?? type.apiVersion())
        object["kind"] = .string(type.kind)
        if type.hasStatus && type.kind != "Namespace" { object["status"] = nil }
        if type.kind == "Service" { object = try serviceDefaults.apply(to: object, existing: nil) }
        object = CustomResourceDefaults.apply(type, object)
        if type.kind == "Namespace" { object["status"] = .object(["phase": .string("Active")]) }
        objects[type.key, default: [:]][key] = object
        record(.added, type, ns, object, previous: nil)
        return object
    }

    /// PUT: replaces the object (or only its status). A stale `metadata.resourceVersion` is a 409 Conflict;
    /// a write that changes nothing returns the stored object without a new resourceVersion.
    @discardableResult
    public mutating func update(_ type: ResourceType, namespace: String?, name: String, _ body: JSONValue,
                                subresource: Subresource = .main) throws(Status) -> JSONValue {
        guard case .object = body else { throw badRequest("the request body must be a JSON object") }
        try checkTypeMeta(type, body)
        let ns = try scope(type, namespace: namespace, meta: body["metadata"]?.objectValue ?? [:])
        let key = path(type, ns, name)
        guard let current = objects[type.key]?[key] else { throw notFound(type, name) }
        if let bodyName = body["metadata"]?["name"]?.stringValue, bodyName != name {
            throw badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if let rv = body["metadata"]?["resourceVersion"]?.stringValue, rv != current["metadata"]?["resourceVersion"]?.stringValue {
            throw conflict(type, name)
        }
        var next: JSONValue
        switch subresource {
        case .status:
            guard type.hasStatus else { throw notFound(type, name) }
            next = current
            next["status"] = body["status"]
        case .main:
            next = body
            // System-owned metadata is kept; status changes only through the status subresource.
            var meta = next["metadata"]?.objectValue ?? [:]
            for field in ["uid", "creationTimestamp", "deletionTimestamp", "generation", "namespace", "name"] {
                meta[field] = current["metadata"]?[field]
            }
            next["metadata"] = .object(meta)
            next["apiVersion"] = current["apiVersion"]
            next["kind"] = current["kind"]
            if type.hasStatus { next["status"] = current["status"] }
            if type.kind == "Service" { next = try serviceDefaults.apply(to: next, existing: current) }
            next = CustomResourceDefaults.apply(type, next)
            if next["spec"] != current["spec"], case .int(let g)? = current["metadata"]?["generation"] {
                next["metadata"]?["generation"] = .int(g + 1)
            }
        }
        if type.kind == "Service", subresource == .status { next = ServiceDefaults.defaultIngressMode(next) }
        next["metadata"]?["resourceVersion"] = current["metadata"]?["resourceVersion"]
        if next == current { return current }
        return commit(type, ns, key, next, previous: current)
    }

    /// PATCH with a merge patch (also used for strategic merge patches on built-in kinds, which agree with it on
    /// everything Beacon sends) or a JSON patch. A `metadata.resourceVersion` in the result is a precondition.
    @discardableResult
    public mutating func patch(_ type: ResourceType, namespace: String?, name: String, _ patch: Patch,
                               subresource: Subresource = .main) throws(Status) -> JSONValue {
        let current = try get(type, namespace: type.namespaced ? namespace : nil, name: name)
        var patched: JSONValue
        switch patch {
        case .merge(let p):
            guard case .object = p else { throw badRequest("a merge patch must be a JSON object") }
            patched = MergePatch.apply(p, to: current)
        case .strategic(let p):
            guard case .object = p else { throw badRequest("a strategic merge patch must be a JSON object") }
            do { patched = try StrategicMergePatch.apply(p, to: current, kind: type.kind) } catch {
                throw badRequest(error.message)
            }
        case .json(let ops):
            do { patched = try JSONPatch.apply(ops, to: current) } catch {
                throw Status(message: error.description, reason: "Invalid", code: 422)
            }
        }
        if patched["metadata"]?["resourceVersion"] == nil { patched["metadata"]?["resourceVersion"] = current["metadata"]?["resourceVersion"] }
        return try update(type, namespace: namespace, name: name, patched, subresource: subresource)
    }

    /// DELETE: with finalizers the object only gets a deletionTimestamp (and goes once they are removed).
    @discardableResult
    public mutating func delete(_ type: ResourceType, namespace: String?, name: String) throws(Status) -> JSONValue {
        let ns = type.namespaced ? namespace : nil
        let key = path(type, ns, name)
        guard let current = objects[type.key]?[key] else { throw notFound(type, name) }
        if case .array(let finalizers)? = current["metadata"]?["finalizers"], !finalizers.isEmpty {
            if current["metadata"]?["deletionTimestamp"] != nil { return current }
            var next = current
            next["metadata"]?["deletionTimestamp"] = .string(now())
            return commit(type, ns, key, next, previous: current)
        }
        if type.kind == "Namespace" {
            // The namespace controller empties a deleted namespace; here that happens at once.
            for t in types.values where t.namespaced {
                for (k, object) in objects[t.key] ?? [:] where Self.namespace(of: object) == name {
                    objects[t.key]?[k] = nil
                    resourceVersion += 1
                    var gone = object
                    gone["metadata"]?["resourceVersion"] = .string(String(resourceVersion))
                    record(.deleted, t, name, gone, previous: object)
                }
            }
        }
        objects[type.key]?[key] = nil
        resourceVersion += 1
        var gone = current
        gone["metadata"]?["resourceVersion"] = .string(String(resourceVersion))
        record(.deleted, type, ns, gone, previous: current)
        return gone
    }

    // MARK: - Plumbing

    private mutating func commit(_ type: ResourceType, _ ns: String?, _ key: String, _ object: JSONValue, previous: JSONValue) -> JSONValue {
        var next = object
        // A finalized object whose last finalizer was removed is deleted.
        if next["metadata"]?["deletionTimestamp"] != nil, (next["metadata"]?["finalizers"].map { $0 == .array([]) || $0 == .null } ?? true) {
            objects[type.key]?[key] = nil
            resourceVersion += 1
            next["metadata"]?["resourceVersion"] = .string(String(resourceVersion))
            record(.deleted, type, ns, next, previous: previous)
            return next
        }
        resourceVersion += 1
        next["metadata"]?["resourceVersion"] = .string(String(resourceVersion))
        objects[type.key, default: [:]][key] = next
        record(.modified, type, ns, next, previous: previous)
        return next
    }

    private mutating func record(_ type: WatchEvent<JSONValue>.EventType, _ resource: ResourceType, _ ns: String?,
                                 _ object: JSONValue, previous: JSONValue?) {
        history.append(Change(type: type, resource: resource.key, namespace: ns, object: object, previous: previous,
                              resourceVersion: resourceVersion))
        if history.count - historyStart > historyLimit {
            historyStart += 1
            // Compact now and then so the array does not grow without bound.
            if historyStart > historyLimit {
                history.removeFirst(historyStart)
                historyStart = 0
            }
        }
    }

    private func path(_ type: ResourceType, _ namespace: String?, _ name: String) -> String {
        type.namespaced ? "\(namespace ?? "")/\(name)" : name
    }

    private func scope(_ type: ResourceType, namespace: String?, meta: [String: JSONValue]) throws(Status) -> String? {
        guard type.namespaced else { return nil }
        let inBody = meta["namespace"]?.stringValue
        if let namespace, let inBody, inBody != namespace {
            throw badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        guard let ns = namespace ?? inBody else { throw badRequest("a namespace is required for \(type.qualifiedName)") }
        return ns
    }

    private func checkTypeMeta(_ type: ResourceType, _ body: JSONValue) throws(Status) {
        if let kind = body["kind"]?.stringValue, kind != type.kind {
            throw badRequest("the kind in the data (\(kind)) does not match the expected kind (\(type.kind))")
        }
        if let apiVersion = body["apiVersion"]?.stringValue, !type.versions.map({ type.apiVersion($0) }).contains(apiVersion) {
            throw badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(type.apiVersion()))")
        }
    }

    static func namespace(of object: JSONValue) -> String? { object["metadata"]?["namespace"]?.stringValue }

    static func matches(_ object: JSONValue, _ labels: LabelSelector?, _ fields: FieldSelector?) -> Bool {
        if let labels {
            var set: [String: String] = [:]
            for (k, v) in object["metadata"]?["labels"]?.objectValue ?? [:] { set[k] = v.stringValue ?? "" }
            if !labels.matches(set) { return false }
        }
        if let fields {
            return fields.matches { field in
                var node: JSONValue? = object
                for part in field.split(separator: ".") { node = node?[String(part)] }
                return node?.stringValue
            }
        }
        return true
    }

    private func notFound(_ type: ResourceType, _ name: String) -> Status {
        Status(message: "\(type.qualifiedName) \"\(name)\" not found", reason: "NotFound", code: 404,
               details: StatusDetails(name: name, group: type.group, kind: type.plural))
    }

    private func conflict(_ type: ResourceType, _ name: String) -> Status {
        Status(message: "Operation cannot be fulfilled on \(type.qualifiedName) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again",
               reason: "Conflict", code: 409, details: StatusDetails(name: name, group: type.group, kind: type.plural))
    }

    private func invalid(_ type: ResourceType, _ name: String, _ causes: [StatusCause]) -> Status {
        let summary = causes.map { "\($0.field ?? ""): \($0.message ?? "")" }.joined(separator: ", ")
        return Status(message: "\(type.kind) \"\(name)\" is invalid: \(summary)", reason: "Invalid", code: 422,
                      details: StatusDetails(name: name, group: type.group, kind: type.kind, causes: causes))
    }

    private func badRequest(_ message: String) -> Status {
        Status(message: message, reason: "BadRequest", code: 400)
    }
}
