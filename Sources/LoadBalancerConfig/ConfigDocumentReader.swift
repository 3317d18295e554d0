import Yams

/// Text to read configuration from: a file's contents, standard input, or an API object's JSON.
public struct ConfigSource: Sendable {
    /// Shown in positions: a path, `<stdin>`, or `Kind/name` for API objects.
    public var name: String
    public var text: String

    /// Set when the bytes were not valid UTF-8: the offset of the first bad byte.
    public var invalidUTF8Offset: Int?

    public init(name: String, text: String) {
        self.name = name
        self.text = text
    }

    /// Decodes UTF-8 bytes; invalid input is kept as a problem the reader reports, not a thrown error.
    public init(name: String, bytes: some Collection<UInt8>) {
        self.name = name
        var offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        decode: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let u):
                scalars.append(u)
                offset += UTF8.width(u)
            case .emptyInput: break decode
            case .error:
                invalidUTF8Offset = offset
                break decode
            }
        }
        text = invalidUTF8Offset == nil ? String(scalars) : ""
    }
}

/// Turns YAML (or JSON, which YAML 1.2 contains) text into `ConfigNode` documents, with limits that keep hostile
/// input from exhausting memory or stack: a size cap, a nesting-depth cap checked before the YAML parser runs,
/// and a node budget that stops alias-expansion bombs.
public struct ConfigDocumentReader: Sendable {
    /// Largest accepted source, in bytes. The API server caps requests at 3 MiB; a file of several thousand
    /// objects is well under 4 MiB.
    public var maximumBytes: Int = 8 << 20
    /// Deepest accepted nesting of collections.
    public var maximumDepth: Int = 128
    /// Most nodes a source may expand to, counting every use of an alias. Without aliases a node needs at
    /// least one byte of text, so the budget for a source is also capped at 10,000 + 4 × its size: legitimate
    /// anchors fit, and an expansion bomb stops after a few thousand nodes instead of two million.
    public var maximumNodes: Int = 2_000_000

    public init() {}

    /// The documents in `source`, skipping empty ones. A syntax error yields one issue with its line and column.
    public func documents(_ source: ConfigSource) -> Result<[ConfigNode], ConfigIssue> {
        if let offset = source.invalidUTF8Offset {
            return .failure(fileIssue(source, "is not UTF-8 text (invalid byte at offset \(offset)); binary data?"))
        }
        let size = source.text.utf8.count
        if size > maximumBytes {
            return .failure(fileIssue(source, "is \(size) bytes, more than the \(maximumBytes)-byte limit for configuration"))
        }
        if let bad = source.text.unicodeScalars.first(where: { Self.isForbiddenControl($0) }) {
            let line = lineOf(scalar: bad, in: source.text)
            return .failure(fileIssue(source, "contains the control character U+\(String(bad.value, radix: 16, uppercase: true)), so it is not YAML or JSON text (binary data?)", line: line))
        }
        if let (depth, line) = flowDepthExceeded(source.text) {
            return .failure(fileIssue(source, "nests collections deeper than \(maximumDepth) levels (\(depth))", line: line))
        }
        var out: [ConfigNode] = []
        let limit = min(maximumNodes, 10_000 + 4 * size)
        var budget = limit
        do {
            // The basic resolver skips Yams' regex tag resolution: scalars are typed by the field that reads them.
            var sequence = try Yams.compose_all(yaml: source.text, .basic)
            while let node = sequence.next() {
                switch convert(node, source: source.name, depth: 0, budget: &budget, limit: limit) {
                case .success(let n):
                    if n.value != ConfigNode.Value.null { out.append(n) }
                case .failure(let issue):
                    return .failure(issue)
                }
            }
            if let error = sequence.error { return .failure(yamlIssue(error, source: source)) }
        } catch {
            return .failure(yamlIssue(error, source: source))
        }
        return .success(out)
    }

    private static func isForbiddenControl(_ u: Unicode.Scalar) -> Bool {
        // YAML allows tab, LF, CR and (as a BOM) U+FEFF; C0 controls, DEL and C1 controls are not printable.
        switch u.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x00...0x1F, 0x7F, 0x80...0x84, 0x86...0x9F, 0xFFFE, 0xFFFF: return true
        default: return false
        }
    }

    private func lineOf(scalar: Unicode.Scalar, in text: String) -> Int {
        var line = 1
        for u in text.unicodeScalars {
            if u == scalar { break }
            if u == "\n" { line += 1 }
        }
        return line
    }

    /// Counts `[`/`{` nesting outside quoted scalars and comments; block nesting needs indentation and so is
    /// bounded by the size limit. Returns the depth and line where the limit is first exceeded.
    private func flowDepthExceeded(_ text: String) -> (Int, Int)? {
        var depth = 0, line = 1
        var quote: UInt8? = nil
        var comment = false
        var previous: UInt8 = 0x0A
        for b in text.utf8 {
            if b == 0x0A { line += 1; comment = false; previous = b; continue }
            if comment { previous = b; continue }
            if let q = quote {
                if b == q { quote = nil }
                previous = b
                continue
            }
            switch b {
            case UInt8(ascii: "#") where previous == 0x20 || previous == 0x09 || previous == 0x0A: comment = true
            case UInt8(ascii: "\""): quote = b
            case UInt8(ascii: "'") where previous == 0x20 || previous == 0x0A || previous == UInt8(ascii: "[")
                || previous == UInt8(ascii: "{") || previous == UInt8(ascii: ",") || previous == UInt8(ascii: ":"):
                quote = b
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maximumDepth { return (depth, line) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default: break
            }
            previous = b
        }
        return nil
    }

    private func convert(_ node: Yams.Node, source: String, depth: Int, budget: inout Int, limit: Int) -> Result<ConfigNode, ConfigIssue> {
        budget -= 1
        let position = node.mark.map { SourcePosition(file: source, line: $0.line, column: $0.column) }
        if budget < 0 {
            return .failure(ConfigIssue(.error, object: nil, field: "", "expands to more than \(limit) values (an alias bomb?)", position: position))
        }
        if depth > maximumDepth {
            return .failure(ConfigIssue(.error, object: nil, field: "", "nests collections deeper than \(maximumDepth) levels", position: position))
        }
        switch node {
        case .scalar(let s):
            let plain = s.style == .plain || s.style == .any
            if plain, case .null = PlainScalar.classify(s.string), s.tag.description != "tag:yaml.org,2002:str" {
                return .success(ConfigNode(.null, position: position))
            }
            return .success(ConfigNode(.scalar(s.string, plain: plain && s.tag.description != "tag:yaml.org,2002:str"), position: position))
        case .sequence(let seq):
            var items: [ConfigNode] = []
            items.reserveCapacity(seq.count)
            for child in seq {
                switch convert(child, source: source, depth: depth + 1, budget: &budget, limit: limit) {
                case .success(let n): items.append(n)
                case .failure(let e): return .failure(e)
                }
            }
            return .success(ConfigNode(.sequence(items), position: position))
        case .mapping(let map):
            var entries: [ConfigNode.Entry] = []
            entries.reserveCapacity(map.count)
            var seen = Set<String>()
            for (k, v) in map {
                guard case .scalar(let keyScalar) = k else {
                    let kp = k.mark.map { SourcePosition(file: source, line: $0.line, column: $0.column) }
                    return .failure(ConfigIssue(.error, object: nil, field: "", "a mapping key must be a plain string, not a collection", position: kp))
                }
                if !seen.insert(keyScalar.string).inserted {
                    let kp = k.mark.map { SourcePosition(file: source, line: $0.line, column: $0.column) }
                    return .failure(ConfigIssue(.error, object: nil, field: "", "key \"\(keyScalar.string)\" appears twice in one mapping", position: kp))
                }
                switch convert(v, source: source, depth: depth + 1, budget: &budget, limit: limit) {
                case .success(let n): entries.append(.init(key: keyScalar.string, value: n))
                case .failure(let e): return .failure(e)
                }
            }
            return .success(ConfigNode(.mapping(entries), position: position))
        case .alias:
            return .failure(ConfigIssue(.error, object: nil, field: "", "unresolved YAML alias", position: position))
        }
    }

    private func fileIssue(_ source: ConfigSource, _ message: String, line: Int? = nil) -> ConfigIssue {
        ConfigIssue(.error, object: nil, field: "", message,
                    position: SourcePosition(file: source.name, line: line ?? 1, column: 1))
    }

    private func yamlIssue(_ error: any Error, source: ConfigSource) -> ConfigIssue {
        guard let y = error as? YamlError else {
            return fileIssue(source, "cannot be parsed: \(error)")
        }
        switch y {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context { message += " \(context.text)" }
            return ConfigIssue(.error, object: nil, field: "", message,
                               position: SourcePosition(file: source.name, line: mark.line, column: mark.column))
        case .reader(let problem, _, _, _):
            return fileIssue(source, "is not readable text: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let mark = context.mark
            return ConfigIssue(.error, object: nil, field: "", "keys appear twice in one mapping: \(duplicates.joined(separator: ", "))",
                               position: SourcePosition(file: source.name, line: mark.line, column: mark.column))
        default:
            return fileIssue(source, "cannot be parsed: \(y)")
        }
    }
}
