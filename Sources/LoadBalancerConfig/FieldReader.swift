import KubernetesModel

/// Shared state while one object is decoded: the issue log, the object's name, and where each field was.
final class DecodeContext {
    var log: IssueLog
    var object: ObjectReference?
    var origin: String?

    init(log: IssueLog, object: ObjectReference?, origin: String? = nil) {
        self.log = log
        self.object = object
        self.origin = origin
    }

    func error(_ path: String, _ message: String, at position: SourcePosition?) {
        log.error(object, path, message, at: position, origin: origin)
    }

    func warning(_ path: String, _ message: String, at position: SourcePosition?) {
        log.warning(object, path, message, at: position, origin: origin)
    }
}

/// Reads one field of a decoded document, reporting type mismatches against its path. A null (or absent)
/// value reads as nil without complaint, as the API server drops null fields.
struct FieldReader {
    let node: ConfigNode
    let path: String
    let context: DecodeContext

    init(_ node: ConfigNode, path: String, context: DecodeContext) {
        self.node = node
        self.path = path
        self.context = context
    }

    var isNull: Bool { node.value == .null }

    func error(_ message: String) { context.error(path, message, at: node.position) }
    func warning(_ message: String) { context.warning(path, message, at: node.position) }

    private func typeError(_ expected: String) {
        error("expected \(expected), got \(node.kindName)")
    }

    private func join(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The mapping's fields, warning about keys outside `known` (with a suggestion when one is close).
    /// Returns nil (after an error) when the value is not a mapping.
    func fields(known: [String]) -> [String: FieldReader]? {
        guard case .mapping(let entries) = node.value else {
            if !isNull { typeError("a map") }
            return isNull ? [:] : nil
        }
        var out: [String: FieldReader] = [:]
        for entry in entries {
            let child = FieldReader(entry.value, path: join(entry.key), context: context)
            if known.contains(entry.key) {
                out[entry.key] = child
            } else {
                var message = "unknown field \"\(entry.key)\" is ignored"
                if let guess = Self.closest(entry.key, in: known) { message += " (did you mean \"\(guess)\"?)" }
                child.warning(message)
            }
        }
        return out
    }

    func string() -> String? {
        switch node.value {
        case .null: return nil
        case .scalar(let s, let plain):
            if plain {
                switch PlainScalar.classify(s) {
                case .string: return s
                default:
                    error("expected a string, got \(node.kindName) \(s) (quote it: \"\(s)\")")
                    return nil
                }
            }
            return s
        default:
            typeError("a string")
            return nil
        }
    }

    func bool() -> Bool? {
        switch node.value {
        case .null: return nil
        case .scalar(let s, true):
            if case .bool(let b) = PlainScalar.classify(s) { return b }
            typeError("a boolean (true or false)")
            return nil
        default:
            typeError("a boolean (true or false)")
            return nil
        }
    }

    /// An integer within `range`; values outside it are reported with the allowed range.
    func integer(in range: ClosedRange<Int64>) -> Int64? {
        switch node.value {
        case .null: return nil
        case .scalar(let s, true):
            switch PlainScalar.classify(s) {
            case .int(let v?):
                guard range.contains(v) else {
                    error("\(v) is out of range (\(range.lowerBound)...\(range.upperBound))")
                    return nil
                }
                return v
            case .int(nil):
                error("\(s) is out of range (\(range.lowerBound)...\(range.upperBound))")
                return nil
            default:
                typeError("an integer")
                return nil
            }
        default:
            typeError("an integer")
            return nil
        }
    }

    func items() -> [FieldReader]? {
        switch node.value {
        case .null: return nil
        case .sequence(let nodes):
            return nodes.enumerated().map { FieldReader($1, path: "\(path)[\($0)]", context: context) }
        default:
            typeError("a list")
            return nil
        }
    }

    /// A list of strings; bad entries are reported and skipped.
    func strings() -> [String]? {
        items()?.compactMap { $0.string() }
    }

    func stringMap() -> [String: String]? {
        switch node.value {
        case .null: return nil
        case .mapping(let entries):
            var out: [String: String] = [:]
            for e in entries {
                if let v = FieldReader(e.value, path: "\(path)[\(e.key)]", context: context).string() ?? (e.value.value == .null ? "" : nil) {
                    out[e.key] = v
                }
            }
            return out
        default:
            typeError("a map of strings")
            return nil
        }
    }

    /// A `metav1.LabelSelector` (or, with `legacyKeys`, MetalLB's ConfigMap `match-labels`/`match-expressions`).
    /// Syntax errors (bad keys, operators, value lists) are reported; the selector is returned only if valid.
    func labelSelector(legacyKeys: Bool = false) -> LabelSelector? {
        let labelsKey = legacyKeys ? "match-labels" : "matchLabels"
        let exprKey = legacyKeys ? "match-expressions" : "matchExpressions"
        guard let f = fields(known: [labelsKey, exprKey]) else { return nil }
        var selector = LabelSelector()
        var ok = true
        if let labels = f[labelsKey]?.stringMap() { selector.matchLabels = labels }
        if let exprs = f[exprKey]?.items() {
            for item in exprs {
                guard let e = item.fields(known: ["key", "operator", "values"]) else { ok = false; continue }
                let key = e["key"]?.string()
                let opText = e["operator"]?.string()
                let values = e["values"]?.strings() ?? []
                guard let key else {
                    item.error("key is required")
                    ok = false
                    continue
                }
                guard let opText else {
                    item.error("operator is required")
                    ok = false
                    continue
                }
                // The legacy ConfigMap format accepted operators in any case ("in"); the CRDs need the exact name.
                let op = LabelSelectorRequirement.Operator(rawValue: opText)
                    ?? (legacyKeys ? LabelSelectorRequirement.Operator.allCases.first { $0.rawValue.lowercased() == opText.lowercased() } : nil)
                guard let op else {
                    (e["operator"] ?? item).error("\"\(opText)\" is not a valid selector operator (In, NotIn, Exists, DoesNotExist)")
                    ok = false
                    continue
                }
                selector.matchExpressions.append(LabelSelectorRequirement(key: key, operator: op, values: values))
            }
        }
        for problem in selector.problems() {
            let fieldPath = path + "." + problem.path
                .replacing("matchLabels", with: labelsKey)
                .replacing("matchExpressions", with: exprKey)
            let relative = problem.path.replacing("matchLabels", with: labelsKey).replacing("matchExpressions", with: exprKey)
            context.error(fieldPath, problem.message, at: node.deepestPosition(along: relative) ?? node.position)
            ok = false
        }
        return ok ? selector : nil
    }

    /// A list of selectors; returns nil if any of them is invalid (the problems are reported).
    func labelSelectors(legacyKeys: Bool = false) -> [LabelSelector]? {
        guard let list = items() else { return isNull ? [] : nil }
        var out: [LabelSelector] = []
        var ok = true
        for item in list {
            if let s = item.labelSelector(legacyKeys: legacyKeys) { out.append(s) } else { ok = false }
        }
        return ok ? out : nil
    }

    /// A Go duration string (`90s`, `1m30s`, `1h`), as metav1.Duration serializes.
    func duration() -> Duration? {
        guard let text = string() else { return nil }
        guard let nanos = GoDuration.parse(text) else {
            error("\"\(text)\" is not a duration (use a number with a unit: \"90s\", \"1m30s\", \"500ms\")")
            return nil
        }
        return .nanoseconds(nanos)
    }

    /// The candidate within edit distance 2, if any: catches `adresses` for `addresses`.
    static func closest(_ word: String, in candidates: [String]) -> String? {
        var best: (String, Int)? = nil
        for c in candidates {
            let d = editDistance(Array(word.lowercased().utf8), Array(c.lowercased().utf8))
            if d <= 2, d < (best?.1 ?? .max) { best = (c, d) }
        }
        return best?.0
    }

    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// Go's `time.ParseDuration` grammar: an optional sign, then one or more decimal numbers (with optional
/// fraction) each followed by a unit among ns, us, µs, ms, s, m, h. A bare "0" is allowed.
enum GoDuration {
    static func parse(_ text: String) -> Int64? {
        var s = Substring(text)
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        var total: Double = 0
        while !s.isEmpty {
            let number = s.prefix(while: { ($0.isASCII && $0.isNumber) || $0 == "." })
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1,
                  let value = Double(String(number.hasPrefix(".") ? "0" + number : number))
            else { return nil }
            s = s.dropFirst(number.count)
            let unit = s.prefix(while: { !($0.isASCII && $0.isNumber) && $0 != "." })
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            s = s.dropFirst(unit.count)
            total += value * scale
        }
        guard total <= Double(Int64.max) else { return nil }
        let n = Int64(total.rounded())
        return negative ? -n : n
    }

    /// Go's `Duration.String()` form: `1h2m3s`, `1m30s`, `2.5s`, `500ms`, `0s`.
    static func format(_ d: Duration) -> String {
        let (seconds, attos) = d.components
        if seconds < 0 || attos < 0 { return "-" + format(.zero - d) }
        if seconds == 0 && attos == 0 { return "0s" }
        let nanos = attos / 1_000_000_000
        if seconds == 0 {
            return nanos % 1_000_000 == 0 ? "\(nanos / 1_000_000)ms" : nanos % 1_000 == 0 ? "\(nanos / 1_000)µs" : "\(nanos)ns"
        }
        var out = ""
        let h = seconds / 3600, m = (seconds % 3600) / 60, sec = seconds % 60
        if h > 0 { out += "\(h)h" }
        if h > 0 || m > 0 { out += "\(m)m" }
        out += "\(sec)"
        if nanos > 0 {
            var fraction = String(nanos)
            fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            out += "." + fraction
        }
        return out + "s"
    }
}
