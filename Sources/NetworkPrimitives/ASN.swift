/// A BGP autonomous system number (RFC 6793: four octets).
public struct ASN: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }
    public init(integerLiteral value: UInt32) { self.value = value }

    /// AS_TRANS (RFC 6793 §9), sent in the 2-octet OPEN field when our ASN does not fit.
    public static let trans = ASN(23456)

    /// Parses asplain (`4200000000`) or asdot (`64086.59904`, RFC 5396): each dotted half at most 65535.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        func fail(_ r: NetworkParseError.Reason) -> NetworkParseError { .init(.asn, input, r) }
        guard !input.isEmpty else { throw fail(.empty) }
        if let bad = input.first(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) {
            throw fail(.invalidCharacter(bad))
        }
        let parts = input.split(separator: ".", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            guard DecimalParsing.isDigits(parts[0]), !(parts[0].count > 1 && parts[0].first == "0") else {
                throw fail(.wrongShape(expected: "a decimal number or asdot \"high.low\""))
            }
            guard let v = DecimalParsing.strictUnsigned(parts[0], max: UInt64(UInt32.max)) else {
                throw fail(.valueOutOfRange(input, max: String(UInt32.max)))
            }
            value = UInt32(v)
        case 2:
            var halves: [UInt32] = []
            for p in parts {
                guard DecimalParsing.isDigits(p), !(p.count > 1 && p.first == "0") else {
                    throw fail(.wrongShape(expected: "asdot \"high.low\" with two decimal halves"))
                }
                guard let v = DecimalParsing.strictUnsigned(p, max: 65535) else {
                    throw fail(.valueOutOfRange(String(p), max: "65535"))
                }
                halves.append(UInt32(v))
            }
            value = halves[0] << 16 | halves[1]
        default:
            throw fail(.wrongShape(expected: "a decimal number or asdot \"high.low\""))
        }
    }

    /// True when the ASN does not fit the 2-octet OPEN field.
    public var isFourOctet: Bool { value > 65535 }

    /// RFC 6996 private-use ranges.
    public var isPrivate: Bool { (64512...65534).contains(value) || (4_200_000_000...4_294_967_294).contains(value) }

    /// RFC 7607 (0), RFC 6793 AS_TRANS, RFC 7300 (65535, 4294967295) and documentation ranges are not usable
    /// as a speaker's own number: 0 and AS_TRANS are rejected outright by BGP implementations.
    public var isReservedForProtocol: Bool { value == 0 || value == 23456 }

    public var description: String { String(value) }

    /// RFC 5396 asdot text: plain below 65536, `high.low` above.
    public var asdot: String { isFourOctet ? "\(value >> 16).\(value & 0xffff)" : String(value) }

    public static func < (l: ASN, r: ASN) -> Bool { l.value < r.value }
}
