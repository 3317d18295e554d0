/// Where a value came from: a file (or "<stdin>", or an API object) and a 1-based line and column.
public struct SourcePosition: Hashable, Sendable, CustomStringConvertible {
    public var file: String?
    public var line: Int
    public var column: Int

    public init(file: String?, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file ?? "<input>"):\(line):\(column)" }
}

/// A parsed YAML/JSON value with its source position. Scalars keep their text and whether they were plain
/// (unquoted): type interpretation is left to the field that reads them, so `64512:1` stays a string where a
/// community is expected instead of becoming a YAML 1.1 sexagesimal integer.
public struct ConfigNode: Hashable, Sendable {
    public indirect enum Value: Hashable, Sendable {
        case null
        case scalar(String, plain: Bool)
        case sequence([ConfigNode])
        case mapping([Entry])
    }

    public struct Entry: Hashable, Sendable {
        public var key: String
        public var value: ConfigNode
    }

    public var value: Value
    public var position: SourcePosition?

    public init(_ value: Value, position: SourcePosition? = nil) {
        self.value = value
        self.position = position
    }

    /// The type of the value as the Kubernetes API would see it (YAML core schema with YAML 1.1 booleans,
    /// as sigs.k8s.io/yaml resolves plain scalars).
    public var kindName: String {
        switch value {
        case .null: return "null"
        case .sequence: return "list"
        case .mapping: return "map"
        case .scalar(let s, let plain):
            guard plain else { return "string" }
            switch PlainScalar.classify(s) {
            case .null: return "null"
            case .bool: return "boolean"
            case .int: return "integer"
            case .float: return "number"
            case .string: return "string"
            }
        }
    }

    /// Looks up a key of a mapping.
    public subscript(key: String) -> ConfigNode? {
        guard case .mapping(let entries) = value else { return nil }
        return entries.first(where: { $0.key == key })?.value
    }

    /// The position of the deepest node that exists along a field path such as `spec.addresses[1]` or
    /// `matchLabels[app]`: the field itself when present, else its nearest present parent.
    public func deepestPosition(along path: String) -> SourcePosition? {
        var node = self
        var best = position
        var i = path.startIndex
        while i < path.endIndex {
            var component: Substring
            let isIndex = path[i] == "["
            if isIndex {
                let start = path.index(after: i)
                guard let close = path[start...].firstIndex(of: "]") else { break }
                component = path[start..<close]
                i = path.index(after: close)
            } else {
                if path[i] == "." { i = path.index(after: i) }
                let end = path[i...].firstIndex(where: { $0 == "." || $0 == "[" }) ?? path.endIndex
                component = path[i..<end]
                i = end
            }
            let next: ConfigNode?
            switch node.value {
            case .sequence(let items): next = Int(component).flatMap { items.indices.contains($0) ? items[$0] : nil }
            case .mapping: next = node[String(component)]
            default: next = nil
            }
            guard let next else { break }
            node = next
            if let p = next.position { best = p }
        }
        return best
    }

    /// The scalar text when this is a string-like scalar.
    public var scalarText: String? {
        if case .scalar(let s, _) = value { return s }
        return nil
    }
}

/// Resolution of plain (unquoted) scalars.
enum PlainScalar {
    enum Kind { case null, bool(Bool), int(Int64?), float, string }

    static func classify(_ s: String) -> Kind {
        // Fast path: only these first bytes can start a null, boolean or number.
        guard let first = s.utf8.first else { return .null }
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "~"),
             UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"),
             UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "o"), UInt8(ascii: "O"):
            break
        default:
            return .string
        }
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y": return .bool(true)
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N": return .bool(false)
        case ".inf", ".Inf", ".INF", "-.inf", "+.inf", "-.Inf", "+.Inf", ".nan", ".NaN", ".NAN": return .float
        default: break
        }
        if let i = parseInt(s) { return .int(i) }
        if looksLikeInt(s) { return .int(nil) }  // overflows Int64: still an integer to the API
        if looksLikeFloat(s) { return .float }
        return .string
    }

    static func parseInt(_ s: String) -> Int64? {
        var body = Substring(s)
        var negative = false
        if body.first == "-" || body.first == "+" {
            negative = body.first == "-"
            body = body.dropFirst()
        }
        guard !body.isEmpty else { return nil }
        var radix = 10
        if body.hasPrefix("0x") { radix = 16; body = body.dropFirst(2) }
        else if body.hasPrefix("0o") { radix = 8; body = body.dropFirst(2) }
        else if body.hasPrefix("0b") { radix = 2; body = body.dropFirst(2) }
        guard !body.isEmpty, let magnitude = UInt64(body, radix: radix) else { return nil }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    private static func looksLikeInt(_ s: String) -> Bool {
        var body = Substring(s)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        return !body.isEmpty && body.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func looksLikeFloat(_ s: String) -> Bool {
        var body = Substring(s)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        var sawDigit = false, sawDot = false, sawExp = false
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            if c.isASCII && c.isNumber { sawDigit = true }
            else if c == "." && !sawDot && !sawExp { sawDot = true }
            else if (c == "e" || c == "E") && sawDigit && !sawExp {
                sawExp = true
                let next = body.index(after: i)
                if next < body.endIndex && (body[next] == "-" || body[next] == "+") { i = next }
                sawDigit = false
            } else { return false }
            i = body.index(after: i)
        }
        return sawDigit && (sawDot || sawExp)
    }
}
