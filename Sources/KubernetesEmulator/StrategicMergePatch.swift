import KubernetesModel

/// Kubernetes strategic merge patch for the built-in kinds, as `kubectl apply`, `label`, `annotate` and `patch`
/// send it: a merge patch, except that lists with a merge key merge element by element, lists of primitives with
/// the merge strategy (finalizers) merge as sets, and the directives `$patch` (replace/delete/merge),
/// `$retainKeys`, `$setElementOrder/F` and `$deleteFromPrimitiveList/F` are honoured.
///
/// The merge keys are those of the Go types' `patchMergeKey` tags, by field path; unknown lists are replaced.
enum StrategicMergePatch {
    enum ListStrategy: Equatable { case replace, mergeByKey(String), mergePrimitives }

    struct Failure: Error { var message: String }

    /// `patchMergeKey`s of the built-in kinds, by the path of the list (array elements do not add a component).
    static func strategy(kind: String, path: [String]) -> ListStrategy {
        let p = path.joined(separator: ".")
        switch p {
        case "metadata.finalizers": return .mergePrimitives
        case "metadata.ownerReferences": return .mergeByKey("uid")
        case "status.conditions": return .mergeByKey("type")
        default: break
        }
        switch (kind, p) {
        case ("Service", "spec.ports"): return .mergeByKey("port")
        case ("Node", "status.addresses"): return .mergeByKey("type")
        case ("Node", "spec.podCIDRs"): return .mergePrimitives
        case ("Pod", "spec.containers"), ("Pod", "spec.initContainers"), ("Pod", "spec.ephemeralContainers"),
             ("Pod", "spec.volumes"), ("Pod", "spec.containers.env"), ("Pod", "spec.initContainers.env"),
             ("Pod", "status.containerStatuses"): return .mergeByKey("name")
        case ("Pod", "spec.containers.ports"), ("Pod", "spec.initContainers.ports"): return .mergeByKey("containerPort")
        case ("Pod", "spec.containers.volumeMounts"), ("Pod", "spec.initContainers.volumeMounts"): return .mergeByKey("mountPath")
        case ("Pod", "status.podIPs"): return .mergeByKey("ip")
        default: return .replace
        }
    }

    static func apply(_ patch: JSONValue, to target: JSONValue, kind: String) throws(Failure) -> JSONValue {
        try merge(patch, into: target, kind: kind, path: [])
    }

    private static func merge(_ patch: JSONValue, into target: JSONValue, kind: String, path: [String]) throws(Failure) -> JSONValue {
        guard case .object(var p) = patch else { return patch }
        if let directive = p.removeValue(forKey: "$patch") {
            switch directive.stringValue {
            case "replace": return .object(p)
            case "delete": return .null
            case "merge": break
            default: throw Failure(message: "unknown patch type: \(directive) in map")
            }
        }
        var result = target.objectValue ?? [:]
        if let retain = p.removeValue(forKey: "$retainKeys") {
            guard case .array(let keys) = retain else { throw Failure(message: "$retainKeys must be a list of strings") }
            let keep = Set(keys.compactMap(\.stringValue))
            result = result.filter { keep.contains($0.key) }
        }
        var orders: [String: [JSONValue]] = [:]
        var deletions: [String: [JSONValue]] = [:]
        for key in p.keys {
            if key.hasPrefix("$setElementOrder/") {
                if case .array(let order)? = p.removeValue(forKey: key) { orders[String(key.dropFirst("$setElementOrder/".count))] = order }
            } else if key.hasPrefix("$deleteFromPrimitiveList/") {
                if case .array(let gone)? = p.removeValue(forKey: key) { deletions[String(key.dropFirst("$deleteFromPrimitiveList/".count))] = gone }
            } else if key.hasPrefix("$") {
                throw Failure(message: "unknown directive \(key)")
            }
        }
        for (key, value) in p {
            let childPath = path + [key]
            if value == .null { result[key] = nil; continue }
            switch value {
            case .object:
                let merged = try merge(value, into: result[key] ?? .null, kind: kind, path: childPath)
                result[key] = merged == .null ? nil : merged
            case .array(let items):
                result[key] = try mergeList(items, into: result[key], kind: kind, path: childPath, order: orders[key])
            default:
                result[key] = value
            }
        }
        for (key, gone) in deletions {
            if case .array(let items)? = result[key] { result[key] = .array(items.filter { !gone.contains($0) }) }
        }
        for (key, order) in orders where p[key] == nil {
            if case .array(let items)? = result[key] {
                result[key] = .array(reorder(items, order: order, strategy: strategy(kind: kind, path: path + [key])))
            }
        }
        return .object(result)
    }

    private static func mergeList(_ items: [JSONValue], into current: JSONValue?, kind: String, path: [String],
                                  order: [JSONValue]?) throws(Failure) -> JSONValue {
        let existing: [JSONValue] = { if case .array(let a)? = current { return a }; return [] }()
        let s = strategy(kind: kind, path: path)
        switch s {
        case .replace:
            // A `{"$patch": "replace"}` element marks an explicit replace; drop it.
            return .array(items.filter { $0["$patch"] == nil })
        case .mergePrimitives:
            var out = existing
            for item in items where !out.contains(item) { out.append(item) }
            return .array(order.map { reorder(out, order: $0, strategy: s) } ?? out)
        case .mergeByKey(let key):
            if items.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
                return .array(items.filter { $0["$patch"] == nil })
            }
            var out = existing
            for item in items {
                guard let k = item[key] else { throw Failure(message: "map: \(item) does not contain declared merge key: \(key)") }
                let index = out.firstIndex { $0[key] == k }
                if item["$patch"]?.stringValue == "delete" {
                    if let index { out.remove(at: index) }
                    continue
                }
                if let index {
                    out[index] = try merge(item, into: out[index], kind: kind, path: path)
                } else {
                    out.append(try merge(item, into: .null, kind: kind, path: path))
                }
            }
            return .array(order.map { reorder(out, order: $0, strategy: s) } ?? out)
        }
    }

    /// `$setElementOrder`: elements named in the order come first, in that order; the rest keep their place after.
    private static func reorder(_ items: [JSONValue], order: [JSONValue], strategy: ListStrategy) -> [JSONValue] {
        func id(_ v: JSONValue) -> JSONValue? {
            if case .mergeByKey(let k) = strategy { return v[k] }
            return v
        }
        var rest = items
        var out: [JSONValue] = []
        for o in order {
            let want = id(o) ?? o
            if let i = rest.firstIndex(where: { id($0) == want }) { out.append(rest.remove(at: i)) }
        }
        return out + rest
    }
}
