/// JSON text ⇄ `JSONValue` without Foundation: the emulator parses every request body and serializes every
/// response with these, so they are written for speed (one pass, no intermediate strings) and for hostile input
/// (depth limit, strict UTF-8, every error names its byte offset).
public enum JSONText {
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    /// Parses one JSON document (surrounding whitespace allowed).
    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = 256) throws(ParseError) -> JSONValue {
        let array = Array(bytes)
        var parser = Parser(bytes: array, maxDepth: maxDepth)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.index != array.count { throw parser.fail("unexpected data after the document") }
        return value
    }

    public static func parse(_ text: String) throws(ParseError) -> JSONValue { try parse(Array(text.utf8)) }

    /// Splits an API list (`{"kind": …, "metadata": …, "items": […]}`) into its other members, parsed, and the
    /// byte ranges of its items, unparsed, so that the items can be parsed and decoded on several cores.
    /// Items are only skipped over here; each is fully validated when parsed.
    public static func splitList(_ bytes: [UInt8], maxDepth: Int = 256) throws(ParseError) -> (members: [String: JSONValue], items: [Range<Int>]) {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        var members: [String: JSONValue] = [:]
        var items: [Range<Int>] = []
        parser.skipSpace()
        guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else { throw parser.fail("expected an object") }
        parser.index += 1
        parser.skipSpace()
        if parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "}") { return (members, items) }
        while true {
            parser.skipSpace()
            guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "\"") else { throw parser.fail("expected a string key") }
            let key = try parser.string()
            parser.skipSpace()
            guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: ":") else { throw parser.fail("expected ':'") }
            parser.index += 1
            parser.skipSpace()
            if key == "items", parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "[") {
                parser.index += 1
                parser.skipSpace()
                if parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "]") {
                    parser.index += 1
                } else {
                    while true {
                        parser.skipSpace()
                        let start = parser.index
                        try parser.skip()
                        items.append(start..<parser.index)
                        parser.skipSpace()
                        guard parser.index < bytes.count else { throw parser.fail("unexpected end of input in an array") }
                        if bytes[parser.index] == UInt8(ascii: ",") { parser.index += 1; continue }
                        if bytes[parser.index] == UInt8(ascii: "]") { parser.index += 1; break }
                        throw parser.fail("expected ',' or ']'")
                    }
                }
            } else {
                members[key] = try parser.value(depth: 1)
            }
            parser.skipSpace()
            guard parser.index < bytes.count else { throw parser.fail("unexpected end of input in an object") }
            if bytes[parser.index] == UInt8(ascii: ",") { parser.index += 1; continue }
            if bytes[parser.index] == UInt8(ascii: "}") { parser.index += 1; break }
            throw parser.fail("expected ',' or '}'")
        }
        parser.skipSpace()
        if parser.index != bytes.count { throw parser.fail("unexpected data after the document") }
        return (members, items)
    }

    /// Compact JSON. With `sortedKeys` object keys come out in byte order (for golden files and persistence).
    public static func serialize(_ value: JSONValue, sortedKeys: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out, sortedKeys: sortedKeys)
        return out
    }

    public static func string(_ value: JSONValue, sortedKeys: Bool = false) -> String {
        String(decoding: serialize(value, sortedKeys: sortedKeys), as: UTF8.self)
    }

    public static func write(_ value: JSONValue, into out: inout [UInt8], sortedKeys: Bool = false) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            if d.isFinite {
                if d == d.rounded(), abs(d) < 1e15 { out.append(contentsOf: String(Int64(d)).utf8) }
                else { out.append(contentsOf: String(d).utf8) }
            } else {
                out.append(contentsOf: "null".utf8)
            }
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(v, into: &out, sortedKeys: sortedKeys)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            var first = true
            func member(_ k: String, _ v: JSONValue) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(k, into: &out)
                out.append(UInt8(ascii: ":"))
                write(v, into: &out, sortedKeys: sortedKeys)
            }
            if sortedKeys {
                for k in o.keys.sorted() { if let v = o[k] { member(k, v) } }
            } else {
                for (k, v) in o { member(k, v) }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        func fail(_ message: String) -> ParseError { ParseError(offset: index, message: message) }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        /// Moves past one value without building it: strings with their escapes, brackets by depth.
        mutating func skip() throws(ParseError) {
            guard index < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                try skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                repeat {
                    let b = bytes[index]
                    if b == UInt8(ascii: "\"") { try skipString(); continue }
                    if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
                        depth += 1
                        guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
                    } else if b == UInt8(ascii: "}") || b == UInt8(ascii: "]") {
                        depth -= 1
                    }
                    index += 1
                } while depth > 0 && index < bytes.count
                if depth > 0 { throw fail("unexpected end of input") }
            default:
                while index < bytes.count, !Self.isDelimiter(bytes[index]) { index += 1 }
            }
        }

        mutating func skipString() throws(ParseError) {
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
            }
            guard index < bytes.count else { throw fail("unterminated string") }
            index += 1
        }

        static func isDelimiter(_ b: UInt8) -> Bool {
            b == UInt8(ascii: ",") || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") || b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            guard depth < maxDepth else { throw fail("nesting deeper than \(maxDepth)") }
            guard index < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var object: [String: JSONValue] = [:]
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
                while true {
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let key = try string()
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    index += 1
                    skipSpace()
                    object[key] = try value(depth: depth + 1)
                    skipSpace()
                    guard index < bytes.count else { throw fail("unexpected end of input in an object") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                index += 1
                var array: [JSONValue] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(array) }
                while true {
                    skipSpace()
                    array.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw fail("unexpected end of input in an array") }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(array) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) throws(ParseError) {
            let n = word.utf8CodeUnitCount
            guard index + n <= bytes.count else { throw fail("unexpected end of input") }
            let w = word.utf8Start
            for i in 0..<n where bytes[index + i] != w[i] { throw fail("unexpected character") }
            index += n
        }

        mutating func number() throws(ParseError) -> JSONValue {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            let digitsStart = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            if index == digitsStart { throw fail("expected a digit") }
            if bytes[digitsStart] == 0x30, index - digitsStart > 1 { throw fail("leading zero in a number") }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                let f = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                if index == f { throw fail("expected a digit after '.'") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                let e = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                if index == e { throw fail("expected a digit in the exponent") }
            }
            if isInteger, index - start <= 18 {
                // Fast path: at most 18 digits always fit in an Int64.
                var v: Int64 = 0
                var i = start
                let negative = bytes[i] == UInt8(ascii: "-")
                if negative { i += 1 }
                while i < index { v = v &* 10 &+ Int64(bytes[i] &- 0x30); i += 1 }
                return .int(negative ? -v : v)
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger, let i = Int64(text) { return .int(i) }
            guard let d = Double(text) else { throw ParseError(offset: start, message: "number out of range") }
            return .double(d)
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw fail("invalid \\u escape")
                }
                v = v << 4 | d
                index += 1
            }
            return v
        }

        mutating func string() throws(ParseError) -> String {
            index += 1  // opening quote
            let start = index
            // Fast path: no escapes.
            var ascii = true
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    let end = index
                    index += 1
                    if ascii {
                        return bytes.withUnsafeBufferPointer { all in
                            String(decoding: UnsafeBufferPointer(rebasing: all[start..<end]), as: UTF8.self)
                        }
                    }
                    guard let s = bytes.withUnsafeBufferPointer({ all in
                        String(validating: UnsafeBufferPointer(rebasing: all[start..<end]), as: UTF8.self)
                    }) else {
                        throw ParseError(offset: start, message: "invalid UTF-8 in a string")
                    }
                    return s
                }
                if b == UInt8(ascii: "\\") { break }
                if b < 0x20 { throw fail("control character in a string") }
                if b >= 0x80 { ascii = false }
                index += 1
            }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let b = bytes[index]
                switch b {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let s = String(validating: out, as: UTF8.self) else {
                        throw ParseError(offset: start, message: "invalid UTF-8 in a string")
                    }
                    return s
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw fail("truncated escape") }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw fail("unpaired surrogate")
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(scalar) {
                            throw fail("unpaired surrogate")
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                        out.append(contentsOf: String(Character(u)).utf8)
                    default: throw fail("invalid escape")
                    }
                default:
                    if b < 0x20 { throw fail("control character in a string") }
                    out.append(b)
                    index += 1
                }
            }
            throw fail("unterminated string")
        }
    }
}
