/// An IPv4 address as a 32-bit big-endian integer value.
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address in host order (`192.0.2.1` is `0xC000_0201`).
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text. Exactly four decimal octets, no leading zeros (as Go 1.17+ and glibc's
    /// `inet_pton` require), no whitespace.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        func fail(_ reason: NetworkParseError.Reason) -> NetworkParseError { .init(.ipv4Address, input, reason) }
        guard !input.isEmpty else { throw fail(.empty) }
        if let bad = input.first(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) {
            if bad.isWhitespace, input.trimmingWhitespace() != input[...] { throw fail(.surroundingWhitespace) }
            throw fail(bad == "%" ? .zoneNotAllowed : .invalidCharacter(bad))
        }
        let parts = input.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw fail(.wrongOctetCount(parts.count)) }
        var result: UInt32 = 0
        for part in parts {
            guard !part.isEmpty else { throw fail(.wrongOctetCount(parts.count)) }
            if part.count > 1 && part.first == "0" { throw fail(.leadingZero(String(part))) }
            guard part.count <= 3, let octet = DecimalParsing.strictUnsigned(part, max: 255) else {
                throw fail(.octetOutOfRange(String(part)))
            }
            result = result << 8 | UInt32(octet)
        }
        value = result
    }

    public var octets: [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    public var description: String {
        var s = ""
        s.reserveCapacity(15)
        for (i, o) in octets.enumerated() {
            if i > 0 { s.append(".") }
            s.append(String(o))
        }
        return s
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    /// True for addresses that end in .0 or .255, which some old clients and routers mishandle and which
    /// MetalLB's `avoidBuggyIPs` skips.
    public var isBuggyNetworkOrBroadcast: Bool { value & 0xff == 0 || value & 0xff == 0xff }
}

extension StringProtocol {
    func trimmingWhitespace() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start].isWhitespace { start = index(after: start) }
        while end > start, self[index(before: end)].isWhitespace { end = index(before: end) }
        return self[start..<end]
    }
}
