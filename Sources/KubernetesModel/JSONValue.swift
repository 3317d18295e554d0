/// Any JSON value. The emulator stores objects of every kind this way (as the real API server stores
/// unstructured objects), and patches are applied to it.
public indirect enum JSONValue: Hashable, Sendable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        get {
            if case .object(let o) = self { return o[key] }
            return nil
        }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\"\($0)\":\(o[$0]?.description ?? "null")" }.joined(separator: ",") + "}"
        }
    }
}

/// Literals, so documents can be written inline.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
}

/// RFC 7386 JSON Merge Patch: objects merge key by key, `null` deletes, anything else replaces.
public enum MergePatch {
    public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in p {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }

    /// The smallest merge patch turning `from` into `to` (nil when they are equal). Arrays are replaced
    /// whole, as merge patch requires; a `null` value in `to` cannot be expressed and is treated as absent.
    public static func diff(from: JSONValue, to: JSONValue) -> JSONValue? {
        guard case .object(let a) = from, case .object(let b) = to else { return from == to ? nil : to }
        var patch: [String: JSONValue] = [:]
        for (key, old) in a where b[key] == nil || b[key] == .null {
            if old != .null { patch[key] = .null }
        }
        for (key, new) in b where new != .null {
            if let old = a[key], old != .null {
                if let d = diff(from: old, to: new) { patch[key] = d }
            } else {
                patch[key] = new
            }
        }
        return patch.isEmpty ? nil : .object(patch)
    }
}

/// RFC 6902 JSON Patch, with RFC 6901 JSON Pointers. Applying is all or nothing.
public enum JSONPatch {
    public struct Operation: Hashable, Sendable, Codable {
        public var op: String
        public var path: String
        public var from: String?
        public var value: JSONValue?

        public init(op: String, path: String, from: String? = nil, value: JSONValue? = nil) {
            self.op = op
            self.path = path
            self.from = from
            self.value = value
        }
    }

    /// Why a patch cannot be applied, naming the operation.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public var index: Int
        public var message: String
        public var description: String { "JSON patch operation \(index): \(message)" }
    }

    public static func apply(_ operations: [Operation], to document: JSONValue) throws(Failure) -> JSONValue {
        var doc = document
        for (i, op) in operations.enumerated() {
            func fail(_ m: String) -> Failure { Failure(index: i, message: m) }
            let path: [String]
            do { path = try pointer(op.path) } catch { throw fail(error.message) }
            switch op.op {
            case "add":
                guard let value = op.value else { throw fail("\"add\" needs a value") }
                doc = try add(value, at: path, in: doc, fail)
            case "remove":
                doc = try remove(at: path, in: doc, fail).document
            case "replace":
                guard let value = op.value else { throw fail("\"replace\" needs a value") }
                let (removed, _) = try remove(at: path, in: doc, fail)
                doc = try add(value, at: path, in: removed, fail)
            case "move", "copy":
                guard let fromText = op.from else { throw fail("\"\(op.op)\" needs from") }
                let from: [String]
                do { from = try pointer(fromText) } catch { throw fail(error.message) }
                guard let value = get(from, in: doc) else { throw fail("from path \(fromText) does not exist") }
                if op.op == "move" {
                    if path.count > from.count && Array(path.prefix(from.count)) == from {
                        throw fail("cannot move \(fromText) into its own child \(op.path)")
                    }
                    doc = try remove(at: from, in: doc, fail).document
                }
                doc = try add(value, at: path, in: doc, fail)
            case "test":
                guard let value = op.value else { throw fail("\"test\" needs a value") }
                guard get(path, in: doc) == value else { throw fail("test failed at \(op.path)") }
            default:
                throw fail("unknown op \"\(op.op)\"")
            }
        }
        return doc
    }

    struct PointerError: Error { var message: String }

    /// Splits an RFC 6901 pointer, unescaping `~1` and `~0`.
    static func pointer(_ text: String) throws(PointerError) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw PointerError(message: "path \"\(text)\" must start with /") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            String($0.replacing("~1", with: "/").replacing("~0", with: "~"))
        }
    }

    static func get(_ path: [String], in doc: JSONValue) -> JSONValue? {
        var current = doc
        for token in path {
            switch current {
            case .object(let o):
                guard let next = o[token] else { return nil }
                current = next
            case .array(let a):
                guard let i = Int(token), a.indices.contains(i), token == String(i) else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }

    private static func add(_ value: JSONValue, at path: [String], in doc: JSONValue,
                            _ fail: (String) -> Failure) throws(Failure) -> JSONValue {
        guard let token = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch doc {
        case .object(var o):
            if rest.isEmpty {
                o[token] = value
            } else {
                guard let child = o[token] else { throw fail("path /\(path.joined(separator: "/")) does not exist") }
                o[token] = try add(value, at: rest, in: child, fail)
            }
            return .object(o)
        case .array(var a):
            if rest.isEmpty {
                if token == "-" { a.append(value); return .array(a) }
                guard let i = Int(token), i >= 0, i <= a.count, token == String(i) else { throw fail("index \(token) is out of bounds") }
                a.insert(value, at: i)
                return .array(a)
            }
            guard let i = Int(token), a.indices.contains(i), token == String(i) else { throw fail("index \(token) is out of bounds") }
            a[i] = try add(value, at: rest, in: a[i], fail)
            return .array(a)
        default:
            throw fail("cannot add below a scalar at \(token)")
        }
    }

    private static func remove(at path: [String], in doc: JSONValue,
                               _ fail: (String) -> Failure) throws(Failure) -> (document: JSONValue, removed: JSONValue) {
        guard let token = path.first else { throw fail("cannot remove the whole document") }
        let rest = Array(path.dropFirst())
        switch doc {
        case .object(var o):
            guard let child = o[token] else { throw fail("path /\(path.joined(separator: "/")) does not exist") }
            if rest.isEmpty {
                o[token] = nil
                return (.object(o), child)
            }
            let (updated, removed) = try remove(at: rest, in: child, fail)
            o[token] = updated
            return (.object(o), removed)
        case .array(var a):
            guard let i = Int(token), a.indices.contains(i), token == String(i) else { throw fail("index \(token) is out of bounds") }
            if rest.isEmpty {
                let removed = a.remove(at: i)
                return (.array(a), removed)
            }
            let (updated, removed) = try remove(at: rest, in: a[i], fail)
            a[i] = updated
            return (.array(a), removed)
        default:
            throw fail("path does not exist below a scalar")
        }
    }
}
