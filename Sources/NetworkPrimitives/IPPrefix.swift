/// A CIDR prefix: a network address with no host bits set, and a length.
public struct IPPrefix: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The network address (host bits are always zero).
    public let address: IPAddress
    /// The number of leading network bits, 0...32 or 0...128.
    public let length: Int

    /// Creates a prefix, masking away host bits. `length` is clamped to the family's width.
    public init(masking address: IPAddress, length: Int) {
        let width = address.family.bitWidth
        let len = max(0, min(length, width))
        self.length = len
        self.address = IPAddress(family: address.family, bits: address.bits & Self.netmask(len, family: address.family))
    }

    /// Parses `address/length` strictly: host bits set are an error (`10.0.0.1/24` names `10.0.0.0/24`).
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let (address, length) = try Self.split(String(text))
        let prefix = IPPrefix(masking: address, length: length)
        if prefix.address != address {
            throw NetworkParseError(.prefix, String(text), .hostBitsSet(canonical: prefix.description))
        }
        self = prefix
    }

    /// Parses `address/length` and masks host bits, as Go's `net.ParseCIDR` (and therefore MetalLB) does.
    /// `hadHostBits` tells the caller so it can warn.
    public static func parseMasking(_ text: some StringProtocol) throws(NetworkParseError) -> (prefix: IPPrefix, hadHostBits: Bool) {
        let (address, length) = try split(String(text))
        let prefix = IPPrefix(masking: address, length: length)
        return (prefix, prefix.address != address)
    }

    private static func split(_ input: String) throws(NetworkParseError) -> (IPAddress, Int) {
        guard !input.isEmpty else { throw NetworkParseError(.prefix, input, .empty) }
        let parts = input.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw NetworkParseError(.prefix, input, .missingPrefixLength) }
        let address: IPAddress
        do { address = try IPAddress(parts[0]) } catch { throw NetworkParseError(.prefix, input, .inner(error)) }
        let width = address.family.bitWidth
        guard DecimalParsing.isDigits(parts[1]), !(parts[1].count > 1 && parts[1].first == "0"),
              let length = DecimalParsing.strictUnsigned(parts[1], max: UInt64.max)
        else { throw NetworkParseError(.prefix, input, .invalidPrefixLength(String(parts[1]))) }
        guard length <= UInt64(width) else {
            throw NetworkParseError(.prefix, input, .prefixLengthTooLong(Int(clamping: length), max: width))
        }
        return (address, Int(length))
    }

    /// A single-address prefix (/32 or /128).
    public init(host: IPAddress) { self.init(masking: host, length: host.family.bitWidth) }

    public var family: IPFamily { address.family }

    /// The lowest and highest address covered.
    public var first: IPAddress { address }
    public var last: IPAddress {
        IPAddress(family: family, bits: address.bits | ~Self.netmask(length, family: family) & IPAddress.maxBits(family))
    }

    /// The exact number of addresses covered (2^(width-length)).
    public var count: AddressCount { AddressCount.powerOfTwo(family.bitWidth - length) }

    public var range: IPRange { IPRange(uncheckedFirst: first, last: last) }

    public func contains(_ ip: IPAddress) -> Bool {
        ip.family == family && ip.bits & Self.netmask(length, family: family) == address.bits
    }

    /// True when every address of `other` is in this prefix.
    public func contains(_ other: IPPrefix) -> Bool { other.length >= length && contains(other.address) }

    public func overlaps(_ other: IPPrefix) -> Bool { contains(other.address) || other.contains(address) }

    public var description: String { "\(address)/\(length)" }

    public static func < (lhs: IPPrefix, rhs: IPPrefix) -> Bool {
        lhs.address != rhs.address ? lhs.address < rhs.address : lhs.length < rhs.length
    }

    /// The netmask of a prefix of `length` bits, as a family-width value inside a UInt128.
    public static func netmask(_ length: Int, family: IPFamily) -> UInt128 {
        let width = family.bitWidth
        if length <= 0 { return 0 }
        let hostBits = width - min(length, width)
        let all = IPAddress.maxBits(family)
        return hostBits == 0 ? all : (all >> UInt128(hostBits)) << UInt128(hostBits)
    }
}
