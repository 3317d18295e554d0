/// An inclusive range of addresses of one family, `first...last`.
public struct IPRange: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let first: IPAddress
    public let last: IPAddress

    /// Creates a range; nil when the ends are reversed or of different families.
    public init?(first: IPAddress, last: IPAddress) {
        guard first.family == last.family, first <= last else { return nil }
        self.first = first
        self.last = last
    }

    init(uncheckedFirst first: IPAddress, last: IPAddress) {
        self.first = first
        self.last = last
    }

    /// Parses `first-last` (whitespace around the dash is allowed, as MetalLB allows it). Reversed ranges and
    /// mixed families are errors.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        guard !input.isEmpty else { throw NetworkParseError(.range, input, .empty) }
        let parts = input.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw NetworkParseError(.range, input, .missingRangeSeparator) }
        let a: IPAddress, b: IPAddress
        do {
            a = try IPAddress(parts[0].trimmingWhitespace())
            b = try IPAddress(parts[1].trimmingWhitespace())
        } catch {
            throw NetworkParseError(.range, input, .inner(error))
        }
        guard a.family == b.family else { throw NetworkParseError(.range, input, .mixedFamilies) }
        guard a <= b else { throw NetworkParseError(.range, input, .reversedRange) }
        self.init(uncheckedFirst: a, last: b)
    }

    /// Parses either a CIDR or a `first-last` range, the two forms an IPAddressPool accepts. CIDR host bits
    /// are masked (as MetalLB does); `hadHostBits` lets the caller warn.
    public static func parsePoolEntry(_ text: some StringProtocol) throws(NetworkParseError) -> (range: IPRange, hadHostBits: Bool) {
        let input = String(text)
        if input.contains("-") { return (try IPRange(input), false) }
        if input.contains("/") {
            let (prefix, hostBits) = try IPPrefix.parseMasking(input)
            return (prefix.range, hostBits)
        }
        // A bare address is not a pool entry in MetalLB; say what was expected.
        switch Result(catching: { () throws(NetworkParseError) -> IPAddress in try IPAddress(input) }) {
        case .success: throw NetworkParseError(.prefix, input, .missingPrefixLength)
        case .failure(let error): throw NetworkParseError(.prefix, input, .inner(error))
        }
    }

    public var family: IPFamily { first.family }

    /// The exact number of addresses in the range.
    public var count: AddressCount { AddressCount.inclusive(from: first.bits, to: last.bits) }

    public func contains(_ ip: IPAddress) -> Bool { ip.family == family && first <= ip && ip <= last }

    public func overlaps(_ other: IPRange) -> Bool {
        family == other.family && first <= other.last && other.first <= last
    }

    /// The smallest list of CIDR prefixes that covers exactly this range, in address order.
    public var prefixes: [IPPrefix] {
        let family = self.family
        let width = family.bitWidth
        let maxValue = IPAddress.maxBits(family)
        var start = first.bits
        let end = last.bits
        var out: [IPPrefix] = []
        while true {
            // Largest aligned block starting at `start`, then shrink it until it ends within the range.
            var hostBits = start == 0 ? width : min(start.trailingZeroBitCount, width)
            while hostBits > 0 {
                let blockEnd = hostBits >= 128 ? UInt128.max : start | ((UInt128(1) << UInt128(hostBits)) - 1)
                if blockEnd <= end { break }
                hostBits -= 1
            }
            out.append(IPPrefix(masking: IPAddress(family: family, bits: start), length: width - hostBits))
            let blockEnd = hostBits >= 128 ? UInt128.max : start | ((UInt128(1) << UInt128(hostBits)) - 1)
            if blockEnd >= end || blockEnd == maxValue { break }
            start = blockEnd + 1
        }
        return out
    }

    /// `a-b` text, or the CIDR when the range is exactly one prefix.
    public var description: String { "\(first)-\(last)" }

    public static func < (lhs: IPRange, rhs: IPRange) -> Bool {
        lhs.first != rhs.first ? lhs.first < rhs.first : lhs.last < rhs.last
    }
}
