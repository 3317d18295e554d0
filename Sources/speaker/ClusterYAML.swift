import KubernetesModel
import Yams

/// Kubernetes objects from YAML or JSON files (several documents; `kind: List` items are flattened), as JSON values
/// for the model decoders. (Kept apart from code that uses the model's `Node`: Yams has a `Node` too.)
enum ClusterYAML {
    /// Every document (and every item of a List) as a JSON value.
    static func objects(_ text: String) throws -> [JSONValue] {
        var out: [JSONValue] = []
        for doc in try Yams.load_all(yaml: text) {
            let value = jsonValue(doc)
            if value == .null { continue }
            if case .array(let items)? = value["items"] { out += items } else { out.append(value) }
        }
        return out
    }

    static func jsonValue(_ any: Any) -> JSONValue {
        switch any {
        case let d as [String: Any]: return .object(d.mapValues(jsonValue))
        case let a as [Any]: return .array(a.map(jsonValue))
        case let b as Bool: return .bool(b)
        case let i as Int: return .int(Int64(i))
        case let d as Double: return .double(d)
        case let s as String: return .string(s)
        default: return .null
        }
    }

}
