import NIOCore
import NetworkPrimitives

/// EtherType values Beacon uses.
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let ipv6: UInt16 = 0x86DD
    public static let vlan: UInt16 = 0x8100
    public static let qinq: UInt16 = 0x88A8
}

/// An Ethernet II frame. 802.1Q (and 802.1ad outer) tags are recognised when decoding so tagged frames reach the
/// right parser; Beacon sends untagged frames (the kernel tags them on VLAN interfaces).
public struct EthernetFrame: Hashable, Sendable {
    public var destination: MACAddress
    public var source: MACAddress
    /// Tag control information of each 802.1Q/802.1ad tag, outermost first.
    public var vlanTags: [UInt16]
    public var etherType: UInt16
    public var payload: ByteBuffer

    public init(destination: MACAddress, source: MACAddress, etherType: UInt16, payload: ByteBuffer, vlanTags: [UInt16] = []) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
        self.payload = payload
        self.vlanTags = vlanTags
    }

    /// Parses a whole frame (as one AF_PACKET read delivers it; the FCS is not included).
    public init(decoding frame: ByteBuffer) throws(LinkLayerError) {
        var buffer = frame
        guard buffer.readableBytes >= 14 else { throw .truncated(.ethernet, have: buffer.readableBytes, need: 14) }
        guard let dst = buffer.readMAC(), let src = buffer.readMAC(), var type = buffer.readInteger(as: UInt16.self) else {
            throw .truncated(.ethernet, have: frame.readableBytes, need: 14)
        }
        var tags: [UInt16] = []
        while type == EtherType.vlan || type == EtherType.qinq {
            guard tags.count < 2 else { throw LinkLayerError(.ethernet, "more than two VLAN tags") }
            guard let tci = buffer.readInteger(as: UInt16.self), let inner = buffer.readInteger(as: UInt16.self) else {
                throw .truncated(.ethernet, have: frame.readableBytes, need: 14 + 4 * (tags.count + 1))
            }
            tags.append(tci)
            type = inner
        }
        guard type >= 0x0600 else { throw LinkLayerError(.ethernet, "length field 0x\(String(type, radix: 16)) (802.3 frames are not Ethernet II)") }
        destination = dst
        source = src
        vlanTags = tags
        etherType = type
        payload = buffer
    }

    /// Writes the frame; returns the number of bytes written.
    @discardableResult
    public func encode(into buffer: inout ByteBuffer) -> Int {
        var n = buffer.writeMAC(destination) + buffer.writeMAC(source)
        for tci in vlanTags {
            n += buffer.writeInteger(EtherType.vlan)
            n += buffer.writeInteger(tci)
        }
        n += buffer.writeInteger(etherType)
        var p = payload
        n += buffer.writeBuffer(&p)
        return n
    }

    public var encoded: ByteBuffer {
        var b = ByteBuffer()
        b.reserveCapacity(14 + payload.readableBytes)
        encode(into: &b)
        return b
    }
}

extension ByteBuffer {
    mutating func readMAC() -> MACAddress? {
        guard let bytes = readBytes(length: 6) else { return nil }
        return MACAddress(bytes: bytes)
    }

    @discardableResult
    mutating func writeMAC(_ mac: MACAddress) -> Int { writeBytes(mac.bytes) }

    mutating func readIPv6() -> IPv6Address? {
        guard let high = readInteger(as: UInt64.self), let low = readInteger(as: UInt64.self) else { return nil }
        return IPv6Address(UInt128(high) << 64 | UInt128(low))
    }

    @discardableResult
    mutating func writeIPv6(_ a: IPv6Address) -> Int {
        writeInteger(UInt64(truncatingIfNeeded: a.value >> 64)) + writeInteger(UInt64(truncatingIfNeeded: a.value))
    }
}
