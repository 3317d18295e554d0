import NetworkPrimitives

/// One interface as the packet layer needs it: where to bind, which MAC to answer with, and which addresses to
/// use as a sender when asking (`speaker who-has`). Built by the caller from netlink's view of the interface.
public struct LinkEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var index: Int
    public var mac: MACAddress
    /// The interface's own IPv4 addresses (candidates for the sender address of an ARP request).
    public var ipv4: [IPv4Address]
    /// A link-local IPv6 address (the source of solicitations and unsolicited advertisements), if the interface has one.
    public var linkLocal: IPv6Address?

    public init(name: String, index: Int, mac: MACAddress, ipv4: [IPv4Address] = [], linkLocal: IPv6Address? = nil) {
        self.name = name
        self.index = index
        self.mac = mac
        self.ipv4 = ipv4
        self.linkLocal = linkLocal
    }

    public var description: String { "\(name) (index \(index), \(mac))" }
}

/// A `LinkEndpoint` by reference, for the many announcements on one interface.
public final class SharedEndpoint: Sendable {
    public let endpoint: LinkEndpoint
    public init(_ endpoint: LinkEndpoint) { self.endpoint = endpoint }
}
