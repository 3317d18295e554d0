import NetworkPrimitives

/// Up to one address per family, stored inline in 24 bytes, so a Service's allocation needs no array.
struct AddressPair: Hashable, Sendable {
    private var v4: UInt32 = 0
    private var flags: UInt8 = 0  // bit 0: has IPv4, bit 1: has IPv6
    private var v6High: UInt64 = 0
    private var v6Low: UInt64 = 0

    init() {}

    init(_ ips: [IPAddress]) {
        for ip in ips { insert(ip) }
    }

    mutating func insert(_ ip: IPAddress) {
        switch ip {
        case .v4(let a):
            v4 = a.value
            flags |= 1
        case .v6(let a):
            v6High = UInt64(truncatingIfNeeded: a.value >> 64)
            v6Low = UInt64(truncatingIfNeeded: a.value)
            flags |= 2
        }
    }

    var ipv4: IPv4Address? { flags & 1 != 0 ? IPv4Address(v4) : nil }
    var ipv6: IPv6Address? { flags & 2 != 0 ? IPv6Address(UInt128(v6High) << 64 | UInt128(v6Low)) : nil }

    func address(_ family: IPFamily) -> IPAddress? {
        family == .ipv4 ? ipv4.map(IPAddress.v4) : ipv6.map(IPAddress.v6)
    }

    /// IPv4 first, then IPv6.
    var ips: [IPAddress] {
        var out: [IPAddress] = []
        if let a = ipv4 { out.append(.v4(a)) }
        if let a = ipv6 { out.append(.v6(a)) }
        return out
    }

    var count: Int { Int(flags & 1) + Int(flags >> 1 & 1) }
    var families: Set<IPFamily> { Set(IPFamily.allCases.filter { address($0) != nil }) }
}
