/// An RFC 1997 BGP community: a 32-bit value, written `high:low` with two 16-bit halves.
public struct BGPCommunity: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }
    public init(_ high: UInt16, _ low: UInt16) { value = UInt32(high) << 16 | UInt32(low) }

    /// Well-known communities (IANA "BGP Well-known Communities") by the names routers use.
    public static let wellKnown: [String: BGPCommunity] = [
        "graceful-shutdown": BGPCommunity(0xFFFF_0000),   // RFC 8326
        "accept-own": BGPCommunity(0xFFFF_0001),          // RFC 7611
        "llgr-stale": BGPCommunity(0xFFFF_0006),          // RFC 9494
        "no-llgr": BGPCommunity(0xFFFF_0007),             // RFC 9494
        "blackhole": BGPCommunity(0xFFFF_029A),           // RFC 7999
        "no-export": BGPCommunity(0xFFFF_FF01),           // RFC 1997
        "no-advertise": BGPCommunity(0xFFFF_FF02),        // RFC 1997
        "no-export-subconfed": BGPCommunity(0xFFFF_FF03), // RFC 1997
        "local-as": BGPCommunity(0xFFFF_FF03),            // FRR's name for NO_EXPORT_SUBCONFED
        "no-peer": BGPCommunity(0xFFFF_FF04),             // RFC 3765
    ]

    /// Parses `high:low` (each half 0...65535) or a well-known name such as `no-export`.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        func fail(_ r: NetworkParseError.Reason) -> NetworkParseError { .init(.community, input, r) }
        guard !input.isEmpty else { throw fail(.empty) }
        if let known = Self.wellKnown[input] {
            self = known
            return
        }
        let parts = input.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ DecimalParsing.isDigits($0) }) else {
            if parts.count == 1, input.allSatisfy({ $0.isLetter || $0 == "-" }) { throw fail(.unknownName(input)) }
            throw fail(.wrongShape(expected: "\"high:low\" with two decimal 16-bit halves, or a well-known name"))
        }
        var halves: [UInt16] = []
        for p in parts {
            guard let v = DecimalParsing.strictUnsigned(p.drop(while: { $0 == "0" }).isEmpty ? "0" : p.drop(while: { $0 == "0" }), max: 65535) else {
                throw fail(.valueOutOfRange(String(p), max: "65535"))
            }
            halves.append(UInt16(v))
        }
        self.init(halves[0], halves[1])
    }

    public var high: UInt16 { UInt16(value >> 16) }
    public var low: UInt16 { UInt16(value & 0xffff) }

    /// The well-known name, if this value has one.
    public var wellKnownName: String? {
        Self.wellKnown.filter { $0.value == self && $0.key != "local-as" }.map(\.key).first
    }

    public var description: String { "\(high):\(low)" }

    public static func < (l: BGPCommunity, r: BGPCommunity) -> Bool { l.value < r.value }
}

/// An RFC 8092 large community: three 32-bit values, written `large:global:local1:local2` in MetalLB's syntax.
public struct LargeCommunity: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let globalAdministrator: UInt32
    public let localData1: UInt32
    public let localData2: UInt32

    public init(_ g: UInt32, _ l1: UInt32, _ l2: UInt32) {
        globalAdministrator = g
        localData1 = l1
        localData2 = l2
    }

    /// Parses `large:A:B:C` (MetalLB's form) or `A:B:C` (BIRD/FRR form); each part 0...4294967295.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        func fail(_ r: NetworkParseError.Reason) -> NetworkParseError { .init(.largeCommunity, input, r) }
        guard !input.isEmpty else { throw fail(.empty) }
        var body = input[...]
        if body.hasPrefix("large:") { body = body.dropFirst(6) }
        let parts = body.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ DecimalParsing.isDigits($0) }) else {
            throw fail(.wrongShape(expected: "\"large:A:B:C\" with three decimal 32-bit parts"))
        }
        var v: [UInt32] = []
        for p in parts {
            let trimmed = p.drop(while: { $0 == "0" })
            guard let n = DecimalParsing.strictUnsigned(trimmed.isEmpty ? "0" : trimmed, max: UInt64(UInt32.max)) else {
                throw fail(.valueOutOfRange(String(p), max: String(UInt32.max)))
            }
            v.append(UInt32(n))
        }
        self.init(v[0], v[1], v[2])
    }

    /// `large:A:B:C`, the form MetalLB configurations use.
    public var description: String { "large:\(globalAdministrator):\(localData1):\(localData2)" }

    public static func < (l: LargeCommunity, r: LargeCommunity) -> Bool {
        (l.globalAdministrator, l.localData1, l.localData2) < (r.globalAdministrator, r.localData1, r.localData2)
    }
}

/// A standard or large community, as a BGPAdvertisement lists them.
public enum Community: Hashable, Sendable, Comparable, CustomStringConvertible {
    case standard(BGPCommunity)
    case large(LargeCommunity)

    /// Parses `large:A:B:C` as large and anything else as a standard community or well-known name.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        if input.hasPrefix("large:") {
            self = .large(try LargeCommunity(input))
        } else {
            self = .standard(try BGPCommunity(input))
        }
    }

    public var description: String {
        switch self {
        case .standard(let c): return c.description
        case .large(let c): return c.description
        }
    }

    public static func < (l: Community, r: Community) -> Bool {
        switch (l, r) {
        case (.standard(let a), .standard(let b)): return a < b
        case (.large(let a), .large(let b)): return a < b
        case (.standard, .large): return true
        case (.large, .standard): return false
        }
    }
}
