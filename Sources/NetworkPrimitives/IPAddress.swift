/// The two IP address families.
public enum IPFamily: String, Hashable, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"

    /// The number of bits in an address of this family.
    public var bitWidth: Int { self == .ipv4 ? 32 : 128 }

    public var description: String { rawValue }

    public static func < (lhs: IPFamily, rhs: IPFamily) -> Bool { lhs == .ipv4 && rhs == .ipv6 }
}

/// An IPv4 or IPv6 address. IPv4 sorts before IPv6.
///
/// IPv4-mapped IPv6 text (`::ffff:192.0.2.1`) parses as `.v6`; call `unmapped` to treat it as the IPv4
/// address it carries, which is what a socket API means by it.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses IPv4 dotted-quad or any RFC 4291 IPv6 text form.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        guard !input.isEmpty else { throw NetworkParseError(.ipAddress, input, .empty) }
        if input.contains(":") {
            do { self = .v6(try IPv6Address(input)) } catch { throw NetworkParseError(.ipAddress, input, error.reason) }
        } else {
            do { self = .v4(try IPv4Address(input)) } catch { throw NetworkParseError(.ipAddress, input, error.reason) }
        }
    }

    public var family: IPFamily {
        switch self {
        case .v4: return .ipv4
        case .v6: return .ipv6
        }
    }

    /// The address as an unsigned integer, in a 128-bit container for both families.
    public var bits: UInt128 {
        switch self {
        case .v4(let a): return UInt128(a.value)
        case .v6(let a): return a.value
        }
    }

    /// Rebuilds an address of `family` from its integer value (truncated to the family's width).
    public init(family: IPFamily, bits: UInt128) {
        switch family {
        case .ipv4: self = .v4(IPv4Address(UInt32(truncatingIfNeeded: bits)))
        case .ipv6: self = .v6(IPv6Address(bits))
        }
    }

    /// An IPv4-mapped IPv6 address becomes its IPv4 address; anything else is returned unchanged.
    public var unmapped: IPAddress {
        if case .v6(let a) = self, let v4 = a.ipv4Mapped { return .v4(v4) }
        return self
    }

    public var description: String {
        switch self {
        case .v4(let a): return a.description
        case .v6(let a): return a.description
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v6(let a), .v6(let b)): return a < b
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        }
    }

    /// The largest value an address of `family` can hold.
    static func maxBits(_ family: IPFamily) -> UInt128 {
        family == .ipv4 ? UInt128(UInt32.max) : UInt128.max
    }
}
