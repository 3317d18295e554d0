import Glibc
import NetworkPrimitives

/// This node's next hops on one session: its own end of the connection for the transport's family, and for the
/// other family (a dual-stack session) an address of that family on the same interface. An IPv4-mapped IPv6 next
/// hop (`::ffff:a.b.c.d`) is never used: routers install it as unreachable.
public struct NextHops: Hashable, Sendable {
    public var ipv4: IPv4Address?
    /// A global (or unique-local) IPv6 address; never link-local, which is only meaningful with a global one beside it.
    public var ipv6: IPv6Address?
    /// The interface that carries the session, when known.
    public var interface: String?

    public init(ipv4: IPv4Address? = nil, ipv6: IPv6Address? = nil, interface: String? = nil) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.interface = interface
    }

    /// The next hop for `family`, or why there is none.
    public func address(for family: IPFamily) -> Result<IPAddress, Missing> {
        switch family {
        case .ipv4: ipv4.map { .success(.v4($0)) } ?? .failure(Missing(family: .ipv4, interface: interface))
        case .ipv6: ipv6.map { .success(.v6($0)) } ?? .failure(Missing(family: .ipv6, interface: interface))
        }
    }

    public struct Missing: Error, Hashable, Sendable, CustomStringConvertible {
        public var family: IPFamily
        public var interface: String?
        public var description: String {
            let kind = family == .ipv4 ? "IPv4" : "global IPv6"
            return "no \(kind) address on \(interface ?? "the session's interface") to use as the \(family == .ipv4 ? "IPv4" : "IPv6") next hop"
        }
    }

    /// The next hops of a session whose local end is `local`: `local` itself, and the first address of the other
    /// family on the interface that holds `local` (read from the kernel with getifaddrs).
    public static func forSession(local: IPAddress) -> NextHops {
        var out = NextHops()
        switch local {
        case .v4(let a): out.ipv4 = a
        case .v6(let a) where !a.isLinkLocal: out.ipv6 = a
        case .v6: break
        }
        let entries = interfaceAddresses()
        guard let name = entries.first(where: { $0.address == local })?.interface else { return out }
        out.interface = name
        for e in entries where e.interface == name {
            switch e.address {
            case .v4(let a) where out.ipv4 == nil: out.ipv4 = a
            case .v6(let a) where out.ipv6 == nil && !a.isLinkLocal: out.ipv6 = a
            default: break
            }
        }
        return out
    }

    /// Every address of every interface, in the kernel's order.
    static func interfaceAddresses() -> [(interface: String, address: IPAddress)] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var out: [(String, IPAddress)] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr, let name = entry.pointee.ifa_name else { continue }
            switch Int32(sa.pointee.sa_family) {
            case AF_INET:
                let raw = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                out.append((String(cString: name), .v4(IPv4Address(UInt32(bigEndian: raw)))))
            case AF_INET6:
                let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
                }
                out.append((String(cString: name), .v6(IPv6Address(bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }))))
            default:
                break
            }
        }
        return out
    }
}
