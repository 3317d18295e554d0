import NIOCore
import NetworkPrimitives

/// An Ethernet/IPv4 ARP packet (RFC 826).
public struct ARPPacket: Hashable, Sendable {
    public enum Operation: UInt16, Hashable, Sendable {
        case request = 1
        case reply = 2
    }

    public var operation: Operation
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    public init(operation: Operation, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    /// The ARP payload is 28 bytes; Ethernet pads it to 46, and the padding is ignored.
    public static let length = 28

    /// Decodes an ARP packet, accepting only Ethernet hardware (1) and IPv4 protocol (0x0800) addresses.
    public init(decoding payload: ByteBuffer) throws(LinkLayerError) {
        var b = payload
        guard b.readableBytes >= Self.length else { throw .truncated(.arp, have: b.readableBytes, need: Self.length) }
        guard let htype = b.readInteger(as: UInt16.self), let ptype = b.readInteger(as: UInt16.self),
              let hlen = b.readInteger(as: UInt8.self), let plen = b.readInteger(as: UInt8.self),
              let op = b.readInteger(as: UInt16.self), let sha = b.readMAC(), let spa = b.readInteger(as: UInt32.self),
              let tha = b.readMAC(), let tpa = b.readInteger(as: UInt32.self)
        else { throw .truncated(.arp, have: payload.readableBytes, need: Self.length) }
        guard htype == 1 else { throw LinkLayerError(.arp, "hardware type \(htype), expected 1 (Ethernet)") }
        guard ptype == EtherType.ipv4 else { throw LinkLayerError(.arp, "protocol type 0x\(String(ptype, radix: 16)), expected 0x800 (IPv4)") }
        guard hlen == 6, plen == 4 else { throw LinkLayerError(.arp, "address lengths \(hlen)/\(plen), expected 6/4") }
        guard let operation = Operation(rawValue: op) else { throw LinkLayerError(.arp, "operation \(op), expected 1 (request) or 2 (reply)") }
        self.init(operation: operation, senderMAC: sha, senderIP: IPv4Address(spa), targetMAC: tha, targetIP: IPv4Address(tpa))
    }

    @discardableResult
    public func encode(into b: inout ByteBuffer) -> Int {
        var n = b.writeInteger(UInt16(1)) + b.writeInteger(EtherType.ipv4)
        n += b.writeInteger(UInt8(6)) + b.writeInteger(UInt8(4)) + b.writeInteger(operation.rawValue)
        n += b.writeMAC(senderMAC) + b.writeInteger(senderIP.value)
        n += b.writeMAC(targetMAC) + b.writeInteger(targetIP.value)
        return n
    }

    /// True for announcements: sender and target protocol addresses are the same (RFC 5227 §3).
    public var isGratuitous: Bool { senderIP == targetIP }

    /// A gratuitous ARP *request* (who-has VIP tell VIP). Linux updates existing entries from these even within
    /// `locktime`, unlike replies with a broadcast target hardware address.
    public static func gratuitousRequest(mac: MACAddress, ip: IPv4Address) -> ARPPacket {
        ARPPacket(operation: .request, senderMAC: mac, senderIP: ip, targetMAC: .broadcast, targetIP: ip)
    }

    /// A gratuitous ARP reply, as `arping -A` sends it (target hardware address = sender's).
    public static func gratuitousReply(mac: MACAddress, ip: IPv4Address) -> ARPPacket {
        ARPPacket(operation: .reply, senderMAC: mac, senderIP: ip, targetMAC: mac, targetIP: ip)
    }

    /// The reply to `request` saying `ip` is at `mac`.
    public func reply(from mac: MACAddress) -> ARPPacket {
        ARPPacket(operation: .reply, senderMAC: mac, senderIP: targetIP, targetMAC: senderMAC, targetIP: senderIP)
    }

    /// The whole Ethernet frame carrying this packet: broadcast for requests (and gratuitous replies),
    /// unicast to the target for ordinary replies.
    public func frame(from source: MACAddress) -> EthernetFrame {
        var payload = ByteBuffer()
        payload.reserveCapacity(Self.length)
        encode(into: &payload)
        let destination: MACAddress = operation == .request || isGratuitous ? .broadcast : targetMAC
        return EthernetFrame(destination: destination, source: source, etherType: EtherType.arp, payload: payload)
    }
}
