/// Why a byte string is not a frame Beacon accepts.
public struct LinkLayerError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Layer: String, Hashable, Sendable {
        case ethernet = "Ethernet frame"
        case arp = "ARP packet"
        case ipv6 = "IPv6 packet"
        case icmpv6 = "ICMPv6 message"
        case ndpOption = "NDP option"
        case schedule = "gratuitous schedule"
    }

    public var layer: Layer
    public var reason: String

    public init(_ layer: Layer, _ reason: String) {
        self.layer = layer
        self.reason = reason
    }

    public var description: String { "invalid \(layer.rawValue): \(reason)" }

    static func truncated(_ layer: Layer, have: Int, need: Int) -> LinkLayerError {
        LinkLayerError(layer, "truncated: \(have) bytes, need \(need)")
    }
}
