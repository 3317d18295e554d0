import NetworkPrimitives

/// A network interface as netlink reports it. Plain values: no libnl pointer escapes the module.
public struct NetworkInterface: Hashable, Sendable, Codable {
    public var index: Int
    public var name: String
    public var mac: String?
    public var mtu: Int
    /// IFF_* flags.
    public var flags: UInt32
    /// RFC 2863 operational state as libnl names it (up, down, lowerlayerdown, unknown, …).
    public var operState: String
    /// The bridge or bond this interface is a port of.
    public var masterIndex: Int?
    /// The link kind (veth, bridge, bond, vlan, …), when the kernel reports one.
    public var kind: String?
    /// Addresses as "address/prefixLength".
    public var addresses: [String]

    public var isUp: Bool { flags & 0x1 != 0 }
    public var isBroadcast: Bool { flags & 0x2 != 0 }
    public var isLoopback: Bool { flags & 0x8 != 0 }
    public var isNoARP: Bool { flags & 0x80 != 0 }

    /// The interface's prefixes (the networks of its addresses).
    public var prefixes: [IPPrefix] {
        addresses.compactMap { try? IPPrefix.parseMasking($0).prefix }
    }

    public init(index: Int, name: String, mac: String?, mtu: Int, flags: UInt32, operState: String,
                masterIndex: Int?, kind: String?, addresses: [String]) {
        self.index = index
        self.name = name
        self.mac = mac
        self.mtu = mtu
        self.flags = flags
        self.operState = operState
        self.masterIndex = masterIndex
        self.kind = kind
        self.addresses = addresses
    }
}

/// Which interfaces layer 2 mode would answer on, and why the others are left out. MetalLB's rules: up,
/// broadcast-capable, ARP enabled, not a bridge or bond port, and not matching an exclude pattern; with an
/// L2Advertisement's `interfaces`, only those. Beacon adds an order: interfaces whose subnet contains the IP first.
public enum InterfaceEligibility {
    public enum Decision: Hashable, Sendable, CustomStringConvertible {
        case eligible(inSubnet: Bool)
        case down
        case loopback
        case noBroadcast
        case noARP
        case portOf(String)
        case excluded(pattern: String)
        case notListed

        public var description: String {
            switch self {
            case .eligible(let s): return s ? "eligible (subnet contains the IP)" : "eligible"
            case .down: return "skipped: interface is down"
            case .loopback: return "skipped: loopback"
            case .noBroadcast: return "skipped: not broadcast-capable"
            case .noARP: return "skipped: ARP is off (NOARP)"
            case .portOf(let m): return "skipped: port of \(m)"
            case .excluded(let p): return "skipped: name matches exclude pattern \(p)"
            case .notListed: return "skipped: not in the advertisement's interfaces"
            }
        }

        public var isEligible: Bool { if case .eligible = self { return true }; return false }
    }

    /// MetalLB's default exclude patterns (`/etc/metallb/excludel2.yaml`).
    public static let defaultExcludes = ["^docker.*", "^cbr.*", "^dummy.*", "^virbr.*", "^lxcbr.*", "^veth.*", "^lo$",
                                         "^cali.*", "^tunl.*", "^flannel.*", "^kube-ipvs.*", "^cni.*", "^nodelocaldns.*", "^lxc.*"]

    /// Decides for every interface; eligible ones come first (those whose subnet holds `ip` before the rest), then
    /// the others, each group in index order.
    public static func evaluate(_ interfaces: [NetworkInterface], listed: [String] = [], excludes: [String] = defaultExcludes,
                                ip: IPAddress? = nil) -> [(interface: NetworkInterface, decision: Decision)] {
        let names = Dictionary(interfaces.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        let patterns = excludes.compactMap { try? InterfacePattern($0) }
        let decided = interfaces.sorted { $0.index < $1.index }.map { i -> (NetworkInterface, Decision) in
            if !listed.isEmpty && !listed.contains(i.name) { return (i, .notListed) }
            if i.isLoopback { return (i, .loopback) }
            if !i.isUp { return (i, .down) }
            if let m = i.masterIndex { return (i, .portOf(names[m] ?? "index \(m)")) }
            if !i.isBroadcast { return (i, .noBroadcast) }
            if i.isNoARP { return (i, .noARP) }
            // An interface the advertisement names explicitly is used even if a default pattern matches it.
            if listed.isEmpty, let p = patterns.first(where: { $0.matches(i.name) }) { return (i, .excluded(pattern: p.description)) }
            let inSubnet = ip.map { ip in i.prefixes.contains { $0.contains(ip) } } ?? false
            return (i, .eligible(inSubnet: inSubnet))
        }
        func rank(_ d: Decision) -> Int {
            switch d {
            case .eligible(true): return 0
            case .eligible(false): return 1
            default: return 2
            }
        }
        return decided.enumerated().sorted { a, b in
            rank(a.element.1) != rank(b.element.1) ? rank(a.element.1) < rank(b.element.1) : a.offset < b.offset
        }.map { (interface: $0.element.0, decision: $0.element.1) }
    }
}
