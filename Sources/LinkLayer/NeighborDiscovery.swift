import NIOCore
import NetworkPrimitives

/// An IPv6 packet carrying an NDP message (no extension headers: NDP packets must not have them here).
public struct NDPPacket: Hashable, Sendable {
    public var source: IPv6Address
    public var destination: IPv6Address
    /// RFC 4861 §7.1: receivers drop NDP messages whose hop limit is not 255 (they may come from off-link).
    public var hopLimit: UInt8
    public var message: NDPMessage

    public init(source: IPv6Address, destination: IPv6Address, hopLimit: UInt8 = 255, message: NDPMessage) {
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
        self.message = message
    }

    /// Decodes the IPv6 payload of an Ethernet frame. Checks version, next header (ICMPv6), payload length,
    /// hop limit 255, ICMPv6 code 0, the checksum, and every option's bounds.
    public init(decoding payload: ByteBuffer) throws(LinkLayerError) {
        var b = payload
        guard b.readableBytes >= 40 else { throw .truncated(.ipv6, have: b.readableBytes, need: 40) }
        guard let vtf = b.readInteger(as: UInt32.self), let length = b.readInteger(as: UInt16.self),
              let next = b.readInteger(as: UInt8.self), let hops = b.readInteger(as: UInt8.self),
              let src = b.readIPv6(), let dst = b.readIPv6()
        else { throw .truncated(.ipv6, have: payload.readableBytes, need: 40) }
        guard vtf >> 28 == 6 else { throw LinkLayerError(.ipv6, "version \(vtf >> 28), expected 6") }
        guard next == 58 else { throw LinkLayerError(.ipv6, "next header \(next), expected 58 (ICMPv6 without extension headers)") }
        guard b.readableBytes >= Int(length) else { throw .truncated(.ipv6, have: 40 + b.readableBytes, need: 40 + Int(length)) }
        guard hops == 255 else { throw LinkLayerError(.icmpv6, "hop limit \(hops), NDP requires 255") }
        guard let icmp = b.readSlice(length: Int(length)) else { throw .truncated(.ipv6, have: payload.readableBytes, need: 40 + Int(length)) }
        guard Checksum.icmpv6(source: src, destination: dst, icmp) == 0 else { throw LinkLayerError(.icmpv6, "bad checksum") }
        source = src
        destination = dst
        hopLimit = hops
        message = try NDPMessage(decoding: icmp)
    }

    /// The IPv6 packet bytes, with payload length and ICMPv6 checksum filled in.
    public func encode(into b: inout ByteBuffer) -> Int {
        var icmp = ByteBuffer()
        icmp.reserveCapacity(32)
        message.encode(into: &icmp)
        let checksum = Checksum.icmpv6(source: source, destination: destination, icmp)
        icmp.setInteger(checksum, at: icmp.readerIndex + 2)
        var n = b.writeInteger(UInt32(6) << 28) + b.writeInteger(UInt16(icmp.readableBytes))
        n += b.writeInteger(UInt8(58)) + b.writeInteger(hopLimit)
        n += b.writeIPv6(source) + b.writeIPv6(destination)
        n += b.writeBuffer(&icmp)
        return n
    }

    /// The whole Ethernet frame; the destination MAC is the IPv6 multicast mapping (RFC 2464 §7) for multicast
    /// destinations, else `unicastDestination`.
    public func frame(from sourceMAC: MACAddress, to unicastDestination: MACAddress? = nil) -> EthernetFrame {
        var payload = ByteBuffer()
        payload.reserveCapacity(72)
        _ = encode(into: &payload)
        let dst = destination.value >> 120 == 0xff ? NDP.multicastMAC(for: destination) : (unicastDestination ?? .broadcast)
        return EthernetFrame(destination: dst, source: sourceMAC, etherType: EtherType.ipv6, payload: payload)
    }
}

/// The NDP messages Beacon handles.
public enum NDPMessage: Hashable, Sendable {
    /// Type 135. `sourceLinkLayer` is absent in DAD probes (from ::), which must not be answered.
    case neighborSolicitation(target: IPv6Address, sourceLinkLayer: MACAddress?)
    /// Type 136.
    case neighborAdvertisement(NeighborAdvertisement)

    init(decoding icmp: ByteBuffer) throws(LinkLayerError) {
        var b = icmp
        guard b.readableBytes >= 24 else { throw .truncated(.icmpv6, have: b.readableBytes, need: 24) }
        guard let type = b.readInteger(as: UInt8.self), let code = b.readInteger(as: UInt8.self),
              b.readInteger(as: UInt16.self) != nil, let word = b.readInteger(as: UInt32.self), let target = b.readIPv6()
        else { throw .truncated(.icmpv6, have: icmp.readableBytes, need: 24) }
        guard code == 0 else { throw LinkLayerError(.icmpv6, "code \(code), expected 0") }
        let options = try NDP.options(b)
        switch type {
        case 135:
            self = .neighborSolicitation(target: target, sourceLinkLayer: options[1])
        case 136:
            self = .neighborAdvertisement(NeighborAdvertisement(
                router: word & 0x8000_0000 != 0, solicited: word & 0x4000_0000 != 0, override: word & 0x2000_0000 != 0,
                target: target, targetLinkLayer: options[2]))
        default:
            throw LinkLayerError(.icmpv6, "type \(type) is not a neighbour solicitation (135) or advertisement (136)")
        }
    }

    func encode(into b: inout ByteBuffer) {
        switch self {
        case .neighborSolicitation(let target, let sll):
            b.writeInteger(UInt8(135)); b.writeInteger(UInt8(0)); b.writeInteger(UInt16(0)); b.writeInteger(UInt32(0))
            b.writeIPv6(target)
            if let sll { b.writeInteger(UInt8(1)); b.writeInteger(UInt8(1)); b.writeMAC(sll) }
        case .neighborAdvertisement(let na):
            var flags: UInt32 = 0
            if na.router { flags |= 0x8000_0000 }
            if na.solicited { flags |= 0x4000_0000 }
            if na.override { flags |= 0x2000_0000 }
            b.writeInteger(UInt8(136)); b.writeInteger(UInt8(0)); b.writeInteger(UInt16(0)); b.writeInteger(flags)
            b.writeIPv6(na.target)
            if let tll = na.targetLinkLayer { b.writeInteger(UInt8(2)); b.writeInteger(UInt8(1)); b.writeMAC(tll) }
        }
    }
}

public struct NeighborAdvertisement: Hashable, Sendable {
    public var router: Bool
    public var solicited: Bool
    public var override: Bool
    public var target: IPv6Address
    public var targetLinkLayer: MACAddress?

    public init(router: Bool = false, solicited: Bool, override: Bool, target: IPv6Address, targetLinkLayer: MACAddress?) {
        self.router = router
        self.solicited = solicited
        self.override = override
        self.target = target
        self.targetLinkLayer = targetLinkLayer
    }
}

/// Addresses and helpers of IPv6 neighbour discovery.
public enum NDP {
    public static let allNodes = IPv6Address(0xff02_0000_0000_0000_0000_0000_0000_0001)

    /// ff02::1:ffXX:XXXX, where a solicitation for `target` is sent (RFC 4291 §2.7.1).
    public static func solicitedNodeMulticast(_ target: IPv6Address) -> IPv6Address {
        IPv6Address(0xff02_0000_0000_0000_0000_0001_ff00_0000 | (target.value & 0xff_ffff))
    }

    /// 33:33 followed by the low 32 bits of an IPv6 multicast address (RFC 2464 §7).
    public static func multicastMAC(for group: IPv6Address) -> MACAddress {
        let low = UInt32(truncatingIfNeeded: group.value)
        return MACAddress(0x33, 0x33, UInt8(low >> 24), UInt8(low >> 16 & 0xff), UInt8(low >> 8 & 0xff), UInt8(low & 0xff))
    }

    /// Link-layer address options by type (1 source, 2 target); other options are skipped. Every option's length
    /// must be non-zero and within the message (RFC 4861 §4.6).
    static func options(_ buffer: ByteBuffer) throws(LinkLayerError) -> [UInt8: MACAddress] {
        var b = buffer
        var out: [UInt8: MACAddress] = [:]
        while b.readableBytes > 0 {
            guard b.readableBytes >= 2, let type = b.readInteger(as: UInt8.self), let units = b.readInteger(as: UInt8.self) else {
                throw .truncated(.ndpOption, have: b.readableBytes, need: 2)
            }
            guard units > 0 else { throw LinkLayerError(.ndpOption, "option \(type) has length 0") }
            let bodyLength = Int(units) * 8 - 2
            guard let body = b.readSlice(length: bodyLength) else {
                throw LinkLayerError(.ndpOption, "option \(type) claims \(Int(units) * 8) bytes, \(b.readableBytes + 2) remain")
            }
            if type == 1 || type == 2 {
                var body = body
                guard units == 1, let mac = body.readMAC() else { throw LinkLayerError(.ndpOption, "link-layer address option \(type) is \(Int(units) * 8) bytes, expected 8 for Ethernet") }
                out[type] = mac
            }
        }
        return out
    }

    /// An unsolicited advertisement for a takeover: to all nodes, Override set, Solicited clear (RFC 4861 §7.2.6).
    public static func unsolicitedAdvertisement(ip: IPv6Address, mac: MACAddress, from source: IPv6Address) -> NDPPacket {
        NDPPacket(source: source, destination: allNodes,
                  message: .neighborAdvertisement(NeighborAdvertisement(solicited: false, override: true, target: ip, targetLinkLayer: mac)))
    }

    /// The answer to a solicitation carrying a source link-layer option: unicast, Solicited set, with our MAC.
    public static func solicitedAdvertisement(answering ns: NDPPacket, ip: IPv6Address, mac: MACAddress, override: Bool = true) -> NDPPacket {
        NDPPacket(source: ip, destination: ns.source,
                  message: .neighborAdvertisement(NeighborAdvertisement(solicited: true, override: override, target: ip, targetLinkLayer: mac)))
    }
}

/// The Internet checksum (RFC 1071) and the ICMPv6 pseudo-header (RFC 8200 §8.1).
public enum Checksum {
    /// The ICMPv6 checksum of `icmp` (whose checksum field may hold anything: 0 when computing; a valid message
    /// yields 0 when its stored checksum is included).
    public static func icmpv6(source: IPv6Address, destination: IPv6Address, _ icmp: ByteBuffer) -> UInt16 {
        var sum: UInt64 = 0
        for a in [source, destination] {
            for shift in stride(from: 112, through: 0, by: -16) { sum += UInt64(UInt16(truncatingIfNeeded: a.value >> UInt128(shift))) }
        }
        sum += UInt64(icmp.readableBytes) + 58
        sum += internetSum(icmp)
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func internetSum(_ buffer: ByteBuffer) -> UInt64 {
        var sum: UInt64 = 0
        buffer.withUnsafeReadableBytes { raw in
            var i = 0
            while i + 1 < raw.count {
                sum += UInt64(raw[i]) << 8 | UInt64(raw[i + 1])
                i += 2
            }
            if i < raw.count { sum += UInt64(raw[i]) << 8 }
        }
        return sum
    }
}
