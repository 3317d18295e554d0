/// Why a piece of text is not a valid network value. The description names the input and the reason, e.g.
/// `invalid IPv4 address "10.0.0.256": octet 256 is greater than 255`.
public struct NetworkParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What the text was supposed to be.
    public enum Subject: String, Hashable, Sendable {
        case ipAddress = "IP address"
        case ipv4Address = "IPv4 address"
        case ipv6Address = "IPv6 address"
        case prefix = "CIDR"
        case range = "IP range"
        case macAddress = "MAC address"
        case asn = "AS number"
        case community = "BGP community"
        case largeCommunity = "BGP large community"
    }

    /// What is wrong with it.
    public enum Reason: Error, Hashable, Sendable {
        case empty
        case surroundingWhitespace
        case invalidCharacter(Character)
        case wrongOctetCount(Int)
        case leadingZero(String)
        case octetOutOfRange(String)
        case groupTooLong(String)
        case wrongGroupCount(Int)
        case multipleDoubleColons
        case misplacedColon
        case misplacedIPv4
        case zoneNotAllowed
        case missingPrefixLength
        case invalidPrefixLength(String)
        case prefixLengthTooLong(Int, max: Int)
        case hostBitsSet(canonical: String)
        case missingRangeSeparator
        case reversedRange
        case mixedFamilies
        case wrongMACFormat
        case valueOutOfRange(String, max: String)
        case wrongShape(expected: String)
        case unknownName(String)
        /// The underlying address part of a compound value (prefix, range) failed.
        indirect case inner(NetworkParseError)

        /// The reason in words, without the input.
        public var text: String {
            switch self {
            case .empty: return "it is empty"
            case .surroundingWhitespace: return "it has leading or trailing whitespace"
            case .invalidCharacter(let c): return "unexpected character \(Self.quote(c))"
            case .wrongOctetCount(let n): return "expected 4 dot-separated octets, found \(n)"
            case .leadingZero(let s): return "\"\(s)\" has a leading zero (ambiguous: octal or decimal?)"
            case .octetOutOfRange(let s): return "octet \(s) is greater than 255"
            case .groupTooLong(let s): return "group \"\(s)\" has more than 4 hex digits"
            case .wrongGroupCount(let n): return "expected 8 groups of 16 bits, found \(n)"
            case .multipleDoubleColons: return "\"::\" may appear only once"
            case .misplacedColon: return "a single \":\" cannot start or end an address, and groups cannot be empty"
            case .misplacedIPv4: return "an embedded IPv4 address may only be the last 32 bits"
            case .zoneNotAllowed: return "zone identifiers (\"%...\") are not allowed here"
            case .missingPrefixLength: return "missing \"/length\""
            case .invalidPrefixLength(let s): return "prefix length \"\(s)\" is not a decimal number"
            case .prefixLengthTooLong(let n, let max): return "prefix length \(n) is longer than \(max)"
            case .hostBitsSet(let canonical): return "host bits are set (the network is \(canonical))"
            case .missingRangeSeparator: return "expected \"first-last\""
            case .reversedRange: return "the first address is after the last"
            case .mixedFamilies: return "the two ends are of different IP families"
            case .wrongMACFormat:
                return "expected six hex octets as aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff"
            case .valueOutOfRange(let s, let max): return "\(s) is out of range (maximum \(max))"
            case .wrongShape(let expected): return "expected \(expected)"
            case .unknownName(let s): return "\"\(s)\" is not a known name"
            case .inner(let e): return e.description
            }
        }

        private static func quote(_ c: Character) -> String {
            c.isWhitespace || c.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
                ? "U+" + String(c.unicodeScalars.first.map { $0.value } ?? 0, radix: 16, uppercase: true)
                : "\"\(c)\""
        }
    }

    public var subject: Subject
    public var input: String
    public var reason: Reason

    public init(_ subject: Subject, _ input: String, _ reason: Reason) {
        self.subject = subject
        self.input = input
        self.reason = reason
    }

    public var description: String {
        if case .inner(let inner) = reason { return "invalid \(subject.rawValue) \"\(input)\": \(inner.description)" }
        return "invalid \(subject.rawValue) \"\(input)\": \(reason.text)"
    }
}

enum DecimalParsing {
    /// Parses an unsigned decimal without sign, whitespace or leading zeros ("0" itself is fine).
    /// Returns nil for anything else, including overflow beyond `max`.
    static func strictUnsigned(_ text: Substring, max: UInt64) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20 else { return nil }
        if text.utf8.count > 1 && text.utf8.first == UInt8(ascii: "0") { return nil }
        var value: UInt64 = 0
        for byte in text.utf8 {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(byte - 0x30))
            if o1 || o2 { return nil }
            value = a
        }
        return value <= max ? value : nil
    }

    static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}
