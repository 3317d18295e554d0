/// An IPv6 address as a 128-bit integer value.
public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    // Two 64-bit halves rather than a `UInt128`, which is 16-byte aligned: an `IPAddress` is then 24 bytes in an
    // array or a hash table instead of 32, and a struct holding one does not pad to 16 (a speaker keeps several
    // tables of 10,000 addresses).
    private var high: UInt64
    private var low: UInt64

    /// The address in host order (`2001:db8::1` is `0x2001_0db8_0000_…_0001`).
    public var value: UInt128 {
        get { UInt128(high) << 64 | UInt128(low) }
        set {
            high = UInt64(truncatingIfNeeded: newValue >> 64)
            low = UInt64(truncatingIfNeeded: newValue)
        }
    }

    public init(_ value: UInt128) {
        high = UInt64(truncatingIfNeeded: value >> 64)
        low = UInt64(truncatingIfNeeded: value)
    }

    /// Builds the IPv4-mapped address `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2).
    public init(ipv4Mapped v4: IPv4Address) { self.init(UInt128(0xffff) << 32 | UInt128(v4.value)) }

    /// Parses any RFC 4291 §2.2 text form: full, `::`-compressed, and with an embedded dotted IPv4 in the
    /// last 32 bits. Hex digits are case-insensitive; zone identifiers (`%eth0`) and whitespace are rejected.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        func fail(_ reason: NetworkParseError.Reason) -> NetworkParseError { .init(.ipv6Address, input, reason) }
        guard !input.isEmpty else { throw fail(.empty) }
        if input.contains("%") { throw fail(.zoneNotAllowed) }
        if let bad = input.first(where: { !($0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == ".")) }) {
            if bad.isWhitespace, input.trimmingWhitespace() != input[...] { throw fail(.surroundingWhitespace) }
            throw fail(.invalidCharacter(bad))
        }
        let head: Substring
        let tail: Substring?
        if let r = input.firstRange(of: "::") {
            head = input[..<r.lowerBound]
            let rest = input[r.upperBound...]
            if rest.contains("::") || rest.first == ":" { throw fail(rest.first == ":" ? .misplacedColon : .multipleDoubleColons) }
            tail = rest
        } else {
            head = input[...]
            tail = nil
        }
        var headGroups: [UInt16] = []
        var tailGroups: [UInt16] = []
        do {
            headGroups = try Self.groups(head, ipv4Allowed: tail == nil)
            if let tail { tailGroups = try Self.groups(tail, ipv4Allowed: true) }
        } catch {
            throw fail(error)
        }
        let total = headGroups.count + tailGroups.count
        if tail == nil {
            guard total == 8 else { throw fail(.wrongGroupCount(total)) }
        } else {
            // RFC 4291: "::" stands for one or more groups of zeros.
            guard total <= 7 else { throw fail(.wrongGroupCount(total + 1)) }
        }
        var v: UInt128 = 0
        for g in headGroups { v = v << 16 | UInt128(g) }
        v <<= UInt128(16 * (8 - headGroups.count))
        var t: UInt128 = 0
        for g in tailGroups { t = t << 16 | UInt128(g) }
        self.init(v | t)
    }

    /// Splits a "::"-free segment into 16-bit groups; an IPv4 dotted quad is allowed as the last piece.
    private static func groups(_ segment: Substring, ipv4Allowed: Bool) throws(NetworkParseError.Reason) -> [UInt16] {
        if segment.isEmpty { return [] }
        let pieces = segment.split(separator: ":", omittingEmptySubsequences: false)
        var out: [UInt16] = []
        out.reserveCapacity(8)
        for (i, piece) in pieces.enumerated() {
            if piece.isEmpty { throw .misplacedColon }
            if piece.contains(".") {
                guard ipv4Allowed, i == pieces.count - 1 else { throw .misplacedIPv4 }
                let v4: IPv4Address
                do { v4 = try IPv4Address(piece) } catch { throw .inner(error) }
                out.append(UInt16(truncatingIfNeeded: v4.value >> 16))
                out.append(UInt16(truncatingIfNeeded: v4.value))
                continue
            }
            guard piece.count <= 4 else { throw .groupTooLong(String(piece)) }
            guard let g = UInt16(piece, radix: 16) else { throw .invalidCharacter(piece.first ?? " ") }
            out.append(g)
            if out.count > 8 { throw .wrongGroupCount(pieces.count) }
        }
        return out
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { UInt16(truncatingIfNeeded: value >> UInt128(16 * (7 - $0))) }
    }

    /// True for `::ffff:0:0/96`.
    public var isIPv4Mapped: Bool { value >> 32 == 0xffff }

    /// The IPv4 address inside an IPv4-mapped address, or nil.
    public var ipv4Mapped: IPv4Address? {
        isIPv4Mapped ? IPv4Address(UInt32(truncatingIfNeeded: value)) : nil
    }

    /// True for fe80::/10.
    public var isLinkLocal: Bool { value >> 118 == 0x3fa }

    /// RFC 5952 canonical text: lowercase, no leading zeros, the longest run (first if tied) of two or more
    /// zero groups as "::", and IPv4-mapped addresses with a dotted-quad tail (RFC 5952 §5).
    public var description: String {
        if let v4 = ipv4Mapped { return "::ffff:" + v4.description }
        let g = groups
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && g[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                let length = i - runStart
                if length > bestLength { bestStart = runStart; bestLength = length }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var s = ""
        s.reserveCapacity(39)
        var i = 0
        while i < 8 {
            if i == bestStart {
                s += "::"
                i += bestLength
                continue
            }
            if !s.isEmpty && !s.hasSuffix(":") { s += ":" }
            s += String(g[i], radix: 16)
            i += 1
        }
        return s
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}
