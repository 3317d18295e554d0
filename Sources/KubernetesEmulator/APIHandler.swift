import Foundation
import KubernetesModel

/// One HTTP request as the handler sees it (the transport has already read the whole body, within the limit).
public struct APIRequest: Sendable {
    public var method: String
    /// Path and query, as sent (`/api/v1/namespaces/default/services?labelSelector=app%3Dweb`).
    public var uri: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, uri: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }
}

/// What the transport sends back: a complete body, or a watch stream it writes line by line.
public enum APIResponse: Sendable {
    case complete(status: Int, contentType: String, body: [UInt8])
    case watch(WatchStream)

    static func json(_ status: Int, _ value: JSONValue) -> APIResponse {
        .complete(status: status, contentType: "application/json", body: JSONText.serialize(value))
    }

    static func status(_ s: Status) -> APIResponse {
        var v: JSONValue = ["kind": "Status", "apiVersion": "v1", "status": "Failure"]
        v["metadata"] = .object([:])
        v["message"] = .string(s.message ?? "")
        if let r = s.reason, !r.isEmpty { v["reason"] = .string(r) }
        if let d = s.details {
            var details: [String: JSONValue] = [:]
            if let n = d.name { details["name"] = .string(n) }
            if let g = d.group { details["group"] = .string(g) }
            if let k = d.kind { details["kind"] = .string(k) }
            if let causes = d.causes {
                details["causes"] = .array(causes.map { c in
                    var o: [String: JSONValue] = [:]
                    if let r = c.reason { o["reason"] = .string(r) }
                    if let m = c.message { o["message"] = .string(m) }
                    if let f = c.field { o["field"] = .string(f) }
                    return .object(o)
                })
            }
            v["details"] = .object(details)
        }
        v["code"] = .int(Int64(s.code ?? 500))
        return json(s.code ?? 500, v)
    }
}

/// An open watch: the events to stream and how to print them.
public struct WatchStream: Sendable {
    public var events: AsyncStream<ObjectStore.Change>
    var id: Int
    var type: ResourceType
    var asTable: Bool
    var coreEvents: Bool
    var bookmarks: Bool
    public var timeout: Duration?
    /// Core/v1 event watches select on the converted shape.
    var coreEventFields: FieldSelector?
    /// The state's serialization cache (one serialization per object version, shared by responses and watches).
    var serialize: (@Sendable (JSONValue) -> [UInt8])?

    /// One line of the stream (`{"type":"ADDED","object":{…}}`), or nil when the watch does not show this change.
    func line(_ change: ObjectStore.Change, now: Date) -> [UInt8]? {
        var object = change.object
        if let f = coreEventFields, change.type != .bookmark {
            let core = EventConversion.toCore(object)
            guard f.matches({ APIHandler.lookup(core, $0) }) else { return nil }
        }
        if change.type == .bookmark {
            object = ["kind": .string(type.kind), "apiVersion": .string(type.apiVersion()),
                      "metadata": .object(["resourceVersion": .string(String(change.resourceVersion))])]
        } else {
            if coreEvents { object = EventConversion.toCore(object) }
            if asTable { object = TableConverter.table(type, [object], resourceVersion: change.resourceVersion, now: now, noHeaders: true) }
        }
        var out = Array("{\"type\":\"\(change.type.rawValue)\",\"object\":".utf8)
        if change.type != .bookmark && !asTable && !coreEvents, let serialize {
            out.append(contentsOf: serialize(object))
        } else {
            JSONText.write(object, into: &out)
        }
        out.append(contentsOf: "}\n".utf8)
        return out
    }
}

/// Maps API requests onto the `EmulatorState`: authentication, routing, discovery, the verbs, selectors, paging,
/// dry runs, patches, tables, and watches. Never throws: every failure is a `Status` response.
public struct APIHandler: Sendable {
    public let state: EmulatorState
    /// Failures tests inject through `/emulator/faults`.
    public let faults = FaultInjector()
    /// Accepted bearer tokens (re-read by the caller when the token file changes); nil disables authentication.
    public var tokens: @Sendable () -> Set<String>?
    public var serverAddress: String
    public static let maxBodyBytes = 3 * 1024 * 1024

    /// The served kinds (fixed for the life of the store), read once rather than on every request.
    let types: [ResourceType]

    public init(state: EmulatorState, serverAddress: String, tokens: @escaping @Sendable () -> Set<String>? = { nil }) {
        self.state = state
        types = state.inspect { Array($0.types.values) }
        self.serverAddress = serverAddress
        self.tokens = tokens
    }

    struct Target {
        var type: ResourceType
        var version: String
        var namespace: String?
        var name: String?
        var subresource: String?
        var coreEvents = false
    }

    public func handle(_ request: APIRequest) -> APIResponse {
        let (path, query) = Self.split(request.uri)
        if let accepted = tokens() {
            let auth = request.header("authorization") ?? ""
            guard auth.hasPrefix("Bearer "), accepted.contains(String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
                return .status(Status(message: "Unauthorized", reason: "Unauthorized", code: 401))
            }
        }
        if let response = faults.control(request, path: path) ?? faults.failure(method: request.method, path: path) { return response }
        let segments = path.split(separator: "/").map(String.init)
        switch segments.first {
        case "version": return .json(200, Discovery.serverVersion)
        case "healthz", "readyz", "livez": return .complete(status: 200, contentType: "text/plain", body: Array("ok".utf8))
        case "openapi":
            if segments.count == 2, segments[1] == "v3" { return .json(200, Discovery.openAPIRoot(types)) }
            if segments.count >= 3, segments[1] == "v3" {
                let gv = Array(segments.dropFirst(2))
                let (g, v) = gv.first == "api" && gv.count == 2 ? ("", gv[1]) : (gv.count == 3 ? gv[1] : "", gv.last ?? "")
                if let doc = Discovery.openAPIDocument(group: g, version: v, types) { return .json(200, doc) }
            }
            return notFoundPath(path)
        case "api":
            if segments.count == 1 { return .json(200, Discovery.coreVersions(serverAddress: serverAddress)) }
            if segments.count == 2 {
                if let list = Discovery.resourceList(group: "", version: segments[1], types) { return .json(200, list) }
                return notFoundPath(path)
            }
            return resource(request, group: "", version: segments[1], rest: Array(segments.dropFirst(2)), query: query, types: types)
        case "apis":
            if segments.count == 1 { return .json(200, Discovery.groupList(types)) }
            if segments.count == 2 {
                if let g = Discovery.groupDocument(segments[1], types) { return .json(200, g) }
                return notFoundPath(path)
            }
            if segments.count == 3 {
                if let list = Discovery.resourceList(group: segments[1], version: segments[2], types) { return .json(200, list) }
                return notFoundPath(path)
            }
            return resource(request, group: segments[1], version: segments[2], rest: Array(segments.dropFirst(3)), query: query, types: types)
        default:
            return notFoundPath(path)
        }
    }

    private func notFoundPath(_ path: String) -> APIResponse {
        .status(Status(message: "the server could not find the requested resource", reason: "NotFound", code: 404,
                       details: StatusDetails()))
    }

    /// `[namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE]]` under a group/version.
    private func route(group: String, version: String, rest: [String], types: [ResourceType]) -> Target? {
        var parts = rest
        var namespace: String?
        if parts.count >= 3, parts[0] == "namespaces", !(group.isEmpty && ["status", "finalize"].contains(parts[2]) && parts.count == 3) {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        guard let plural = parts.first else { return nil }
        let coreEvents = group.isEmpty && plural == "events"
        let lookupGroup = coreEvents ? "events.k8s.io" : group
        guard let type = types.first(where: { $0.group == lookupGroup && $0.plural == plural }),
              coreEvents || type.versions.contains(version) else { return nil }
        if namespace != nil && !type.namespaced { return nil }
        guard parts.count <= 3 else { return nil }
        return Target(type: type, version: version, namespace: namespace, name: parts.count > 1 ? parts[1] : nil,
                      subresource: parts.count > 2 ? parts[2] : nil, coreEvents: coreEvents)
    }

    private func resource(_ request: APIRequest, group: String, version: String, rest: [String], query: [String: String],
                          types: [ResourceType]) -> APIResponse {
        guard let target = route(group: group, version: version, rest: rest, types: types) else {
            let what = rest.first { $0 != "namespaces" } ?? ""
            return .status(Status(message: "the server could not find the requested resource", reason: "NotFound", code: 404,
                                  details: StatusDetails(group: group.isEmpty ? nil : group, kind: what)))
        }
        if let sub = target.subresource, !(sub == "status" && target.type.hasStatus) {
            return .status(Status(message: "the server could not find the requested resource", reason: "NotFound", code: 404))
        }
        let subresource: ObjectStore.Subresource = target.subresource == "status" ? .status : .main
        // DELETE carries its options (dryRun among them) in a DeleteOptions body.
        let deleteOptions = request.method == "DELETE" && !request.body.isEmpty ? try? JSONText.parse(request.body) : nil
        let dryRun = query["dryRun"] == "All" || deleteOptions?["dryRun"] == ["All"]
        do throws(Status) {
            switch (request.method, target.name) {
            case ("GET", nil):
                return try list(request, target, query)
            case ("GET", let name?):
                var object = try state.read { s throws(Status) in try s.get(target.type, namespace: target.namespace, name: name) }
                if target.coreEvents { object = EventConversion.toCore(object) }
                object["apiVersion"] = .string(target.coreEvents ? "v1" : target.type.apiVersion(target.version))
                if wantsTable(request) {
                    return .json(200, TableConverter.table(target.type, [object], resourceVersion: state.resourceVersion, now: Date()))
                }
                return .json(200, object)
            case ("POST", nil):
                var body = try parseBody(request)
                if target.coreEvents { body = EventConversion.fromCore(body) }
                let created = try write(dryRun) { s throws(Status) in try s.create(target.type, namespace: target.namespace, body) }
                return written(201, created, target)
            case ("PUT", let name?):
                let body = try parseBody(request)
                let updated = try write(dryRun) { s throws(Status) in
                    try s.update(target.type, namespace: target.namespace, name: name, body, subresource: subresource)
                }
                return written(200, updated, target)
            case ("PATCH", let name?):
                let contentType = (request.header("content-type") ?? "").split(separator: ";").first.map(String.init) ?? ""
                let patch: ObjectStore.Patch
                switch contentType {
                case "application/merge-patch+json":
                    patch = .merge(try parseBody(request))
                case "application/strategic-merge-patch+json":
                    guard !target.type.group.hasSuffix("metallb.io") else {
                        return .status(Status(message: "strategic merge patch is not supported for \(target.type.qualifiedName); use a merge patch",
                                              reason: "UnsupportedMediaType", code: 415))
                    }
                    patch = .strategic(try parseBody(request))
                case "application/json-patch+json":
                    guard case .array(let ops) = try parseBody(request) else {
                        throw Status(message: "a JSON patch must be a list of operations", reason: "BadRequest", code: 400)
                    }
                    var decoded: [JSONPatch.Operation] = []
                    for (i, op) in ops.enumerated() {
                        guard let o = op["op"]?.stringValue, let p = op["path"]?.stringValue else {
                            throw Status(message: "operation \(i) needs \"op\" and \"path\"", reason: "BadRequest", code: 400)
                        }
                        decoded.append(JSONPatch.Operation(op: o, path: p, from: op["from"]?.stringValue, value: op["value"]))
                    }
                    patch = .json(decoded)
                case "application/apply-patch+yaml", "application/apply-patch+cbor":
                    return .status(Status(message: "server-side apply is not supported by the Beacon emulator; use client-side `kubectl apply`",
                                          reason: "UnsupportedMediaType", code: 415))
                default:
                    return .status(Status(message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
                                          reason: "UnsupportedMediaType", code: 415))
                }
                let patched = try write(dryRun) { s throws(Status) in
                    try s.patch(target.type, namespace: target.namespace, name: name, patch, subresource: subresource)
                }
                return written(200, patched, target)
            case ("DELETE", let name?):
                let deleted = try write(dryRun) { s throws(Status) in try s.delete(target.type, namespace: target.namespace, name: name) }
                return .json(200, output(deleted, target))
            default:
                return .status(Status(message: "the server does not allow this method on the requested resource", reason: "MethodNotAllowed", code: 405))
            }
        } catch {
            return .status(error)
        }
    }

    /// A write's answer: the stored object, from the serialization cache when its apiVersion is the one asked for.
    private func written(_ status: Int, _ object: JSONValue, _ target: Target) -> APIResponse {
        let apiVersion = target.type.apiVersion(target.version)
        if !target.coreEvents, object["apiVersion"]?.stringValue == apiVersion {
            return .complete(status: status, contentType: "application/json", body: state.serializedObject(object))
        }
        return .json(status, output(object, target))
    }

    private func output(_ object: JSONValue, _ target: Target) -> JSONValue {
        var o = target.coreEvents ? EventConversion.toCore(object) : object
        o["apiVersion"] = .string(target.coreEvents ? "v1" : target.type.apiVersion(target.version))
        return o
    }

    /// A dry run (`?dryRun=All`) applies the write to a copy of the store and keeps nothing.
    private func write(_ dryRun: Bool, _ body: (inout ObjectStore) throws(Status) -> JSONValue) throws(Status) -> JSONValue {
        if dryRun {
            var copy = state.inspect { $0 }
            return try body(&copy)
        }
        return try state.write(body)
    }

    private func parseBody(_ request: APIRequest) throws(Status) -> JSONValue {
        if request.body.isEmpty { throw Status(message: "the request body is empty", reason: "BadRequest", code: 400) }
        let type = request.header("content-type") ?? "application/json"
        if type.hasPrefix("application/yaml") || type.hasPrefix("application/vnd.kubernetes.protobuf") {
            throw Status(message: "the body of the request was in an unknown format - accepted media types include: application/json",
                         reason: "UnsupportedMediaType", code: 415)
        }
        do { return try JSONText.parse(request.body) } catch {
            throw Status(message: "the request body is not valid JSON: \(error.description)", reason: "BadRequest", code: 400)
        }
    }

    private func wantsTable(_ request: APIRequest) -> Bool {
        guard let accept = request.header("accept") else { return false }
        return accept.split(separator: ",").first?.contains("as=Table") ?? false
    }

    private func list(_ request: APIRequest, _ target: Target, _ query: [String: String]) throws(Status) -> APIResponse {
        let labels: LabelSelector?
        let fields: FieldSelector?
        do throws(LabelSelector.ParseError) {
            let l = query["labelSelector"] ?? "", f = query["fieldSelector"] ?? ""
            labels = l.isEmpty ? nil : try LabelSelector(parsing: l)
            fields = f.isEmpty ? nil : try FieldSelector(parsing: f)
        } catch {
            throw Status(message: error.description, reason: "BadRequest", code: 400)
        }
        if let fields {
            for r in fields.requirements where !Self.fieldSupported(r.field, target) {
                throw Status(message: "field label not supported: \(r.field)", reason: "BadRequest", code: 400)
            }
        }
        // Core events are filtered after conversion, since their field names are those of the core shape.
        let storeFields = target.coreEvents ? nil : fields
        let asTable = wantsTable(request)
        if query["watch"] == "1" || query["watch"] == "true" {
            var since: Int64?
            if let rv = query["resourceVersion"], !rv.isEmpty, rv != "0" {
                guard let v = Int64(rv) else {
                    throw Status(message: "invalid resource version \"\(rv)\"", reason: "BadRequest", code: 400)
                }
                since = v
            }
            let (events, id) = try state.watch(target.type, namespace: target.namespace, since: since, labels: labels, fields: storeFields)
            let timeout = query["timeoutSeconds"].flatMap(Int.init).map { Duration.seconds($0) }
            var stream = WatchStream(events: events, id: id, type: target.type, asTable: asTable, coreEvents: target.coreEvents,
                                     bookmarks: query["allowWatchBookmarks"] == "true", timeout: timeout)
            if target.coreEvents { stream.coreEventFields = fields }
            let state = self.state
            stream.serialize = { state.serializedObject($0) }
            return .watch(stream)
        }
        var (items, rv) = state.inspect { $0.list(target.type, namespace: target.namespace, labels: labels, fields: storeFields) }
        if target.coreEvents {
            items = items.map(EventConversion.toCore)
            if let fields { items = items.filter { o in fields.matches { Self.lookup(o, $0) } } }
        }
        // Paging: `continue` names the last key returned; the next page starts after it.
        var continueToken: String?
        var remaining: Int?
        if let token = query["continue"], !token.isEmpty {
            guard let decoded = Data(base64Encoded: token).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw Status(message: "continue key is not valid: illegal base64 data", reason: "BadRequest", code: 400)
            }
            items = Array(items.drop { Self.sortKey($0) <= decoded })
        }
        if let limit = query["limit"].flatMap(Int.init), limit > 0, items.count > limit {
            remaining = items.count - limit
            items = Array(items.prefix(limit))
            continueToken = items.last.map { Data(Self.sortKey($0).utf8).base64EncodedString() }
        }
        if asTable {
            return .json(200, TableConverter.table(target.type, items, resourceVersion: rv, now: Date(), continueToken: continueToken))
        }
        let apiVersion = target.coreEvents ? "v1" : target.type.apiVersion(target.version)
        var meta: [String: JSONValue] = ["resourceVersion": .string(String(rv))]
        if let continueToken { meta["continue"] = .string(continueToken) }
        if let remaining { meta["remainingItemCount"] = .int(Int64(remaining)) }
        if target.coreEvents {
            return .json(200, ["kind": .string(target.type.kind + "List"), "apiVersion": .string(apiVersion),
                               "metadata": .object(meta), "items": .array(items)])
        }
        // Items are concatenated from the serialization cache.
        var out = Array("{\"kind\":\"\(target.type.kind)List\",\"apiVersion\":\"\(apiVersion)\",\"metadata\":".utf8)
        JSONText.write(.object(meta), into: &out)
        out.append(contentsOf: ",\"items\":[".utf8)
        for (i, item) in items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: state.serializedObject(item))
        }
        out.append(contentsOf: "]}".utf8)
        return .complete(status: 200, contentType: "application/json", body: out)
    }

    static func sortKey(_ o: JSONValue) -> String {
        "\(o["metadata"]?["namespace"]?.stringValue ?? "")/\(o["metadata"]?["name"]?.stringValue ?? "")"
    }

    static func lookup(_ object: JSONValue, _ field: String) -> String? {
        var node: JSONValue? = object
        for part in field.split(separator: ".") { node = node?[String(part)] }
        return node?.stringValue
    }

    /// The fields the real API server lets each kind be selected on.
    static func fieldSupported(_ field: String, _ target: Target) -> Bool {
        if field == "metadata.name" || field == "metadata.namespace" { return true }
        if target.coreEvents {
            return field.hasPrefix("involvedObject.") || ["reason", "source", "type", "reportingComponent"].contains(field)
        }
        switch target.type.kind {
        case "Event": return field.hasPrefix("regarding.") || ["reason", "type", "reportingController"].contains(field)
        case "Secret": return field == "type"
        case "Pod": return ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                            "status.phase", "status.podIP", "status.nominatedNodeName"].contains(field)
        case "Node": return field == "spec.unschedulable"
        case "Namespace": return field == "status.phase"
        case "Service": return field == "spec.clusterIP" || field == "spec.type"
        default: return false
        }
    }

    /// Splits `path?query` and percent-decodes the query (`+` is a space, as Go's url.ParseQuery has it).
    static func split(_ uri: String) -> (String, [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(kv[0])
            if query[key] == nil { query[key] = kv.count > 1 ? percentDecode(kv[1]) : "" }
        }
        return (String(uri[..<q]), query)
    }

    static func percentDecode(_ s: Substring) -> String {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "+") { out.append(0x20); continue }
            if b == UInt8(ascii: "%"), bytes.count >= 2,
               let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
                continue
            }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
