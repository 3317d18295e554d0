/// A 48-bit IEEE 802 MAC address.
public struct MACAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The six octets in transmission order.
    public let octets: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ o0: UInt8, _ o1: UInt8, _ o2: UInt8, _ o3: UInt8, _ o4: UInt8, _ o5: UInt8) {
        octets = (o0, o1, o2, o3, o4, o5)
    }

    /// Builds from exactly six bytes; nil otherwise.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        let b = Array(bytes)
        self.init(b[0], b[1], b[2], b[3], b[4], b[5])
    }

    public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    public static let zero = MACAddress(0, 0, 0, 0, 0, 0)

    /// Parses `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or `aabb.ccdd.eeff` (the forms Go's `net.ParseMAC` takes
    /// for 48-bit addresses), case-insensitively.
    public init(_ text: some StringProtocol) throws(NetworkParseError) {
        let input = String(text)
        func fail(_ r: NetworkParseError.Reason) -> NetworkParseError { .init(.macAddress, input, r) }
        guard !input.isEmpty else { throw fail(.empty) }
        if let bad = input.first(where: { !($0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == "-" || $0 == ".")) }) {
            throw fail(.invalidCharacter(bad))
        }
        var bytes: [UInt8] = []
        if input.utf8.count == 17, input.contains(":") != input.contains("-") {
            let sep: Character = input.contains(":") ? ":" : "-"
            let parts = input.split(separator: sep, omittingEmptySubsequences: false)
            guard parts.count == 6, parts.allSatisfy({ $0.count == 2 }) else { throw fail(.wrongMACFormat) }
            for p in parts {
                guard let b = UInt8(p, radix: 16) else { throw fail(.wrongMACFormat) }
                bytes.append(b)
            }
        } else if input.utf8.count == 14 {
            let parts = input.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, parts.allSatisfy({ $0.count == 4 }) else { throw fail(.wrongMACFormat) }
            for p in parts {
                guard let w = UInt16(p, radix: 16) else { throw fail(.wrongMACFormat) }
                bytes.append(UInt8(w >> 8))
                bytes.append(UInt8(w & 0xff))
            }
        } else {
            throw fail(.wrongMACFormat)
        }
        self.init(bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5])
    }

    public var bytes: [UInt8] { [octets.0, octets.1, octets.2, octets.3, octets.4, octets.5] }

    public var isBroadcast: Bool { self == .broadcast }
    /// The I/G bit: group (multicast or broadcast) rather than individual.
    public var isMulticast: Bool { octets.0 & 1 == 1 }

    /// Lowercase, colon-separated.
    public var description: String {
        bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: ":")
    }

    public static func == (l: MACAddress, r: MACAddress) -> Bool { l.bytes == r.bytes }
    public func hash(into h: inout Hasher) { h.combine(bytes) }
    public static func < (l: MACAddress, r: MACAddress) -> Bool { l.bytes.lexicographicallyPrecedes(r.bytes) }
}
