import NIOCore
import NetworkPrimitives

/// What one interface does with a received ARP or NDP frame, decided without I/O: answer it, ignore it (and why),
/// or report that another station claims one of our addresses.
///
/// The rules (RFC 826, RFC 4861 §7.2): answer an ARP request only for an owned IPv4 address and only when
/// the frame is broadcast or sent to our MAC, with a unicast reply from the receiving interface's MAC; answer a
/// Neighbour Solicitation only for an owned IPv6 address and only when it carries a source link-layer option (a DAD
/// probe from :: has none and must not be answered), with a unicast Neighbour Advertisement with Solicited and
/// Override set. A foreign ARP reply or announcement, or a foreign NA, for an owned address is a conflict.
public struct NeighborResponder: Hashable, Sendable {
    /// The receiving interface's MAC.
    public var mac: MACAddress
    public var ownedIPv4: Set<IPv4Address>
    public var ownedIPv6: Set<IPv6Address>

    public init(mac: MACAddress, ownedIPv4: Set<IPv4Address> = [], ownedIPv6: Set<IPv6Address> = []) {
        self.mac = mac
        self.ownedIPv4 = ownedIPv4
        self.ownedIPv6 = ownedIPv6
    }

    public enum Decision: Hashable, Sendable {
        /// Send `frame`; it answers a request for `ip`.
        case reply(ip: IPAddress, frame: EthernetFrame)
        /// A request for an owned `ip` that must not be answered (`reason` says why); it still counts as received.
        case refuse(ip: IPAddress, reason: Ignored)
        /// Another station says it has `ip`.
        case conflict(ip: IPAddress, mac: MACAddress)
        case ignore(Ignored)
    }

    public enum Ignored: Hashable, Sendable, CustomStringConvertible {
        case malformed(LinkLayerError)
        case notNeighbourDiscovery
        case notOwned(IPAddress)
        case notForUs(destination: MACAddress)
        case fromUs
        case noSourceLinkLayer
        case nothingToDo

        public var description: String {
            switch self {
            case .malformed(let e): return "malformed: \(e)"
            case .notNeighbourDiscovery: return "not ARP or neighbour discovery"
            case .notOwned(let ip): return "\(ip) is not announced here"
            case .notForUs(let d): return "sent to \(d), not to us or broadcast"
            case .fromUs: return "our own frame"
            case .noSourceLinkLayer: return "solicitation without a source link-layer option (a DAD probe)"
            case .nothingToDo: return "nothing to answer"
            }
        }
    }

    public func respond(to bytes: ByteBuffer) -> Decision {
        let frame: EthernetFrame
        do { frame = try EthernetFrame(decoding: bytes) } catch { return .ignore(.malformed(error)) }
        return respond(to: frame)
    }

    public func respond(to frame: EthernetFrame) -> Decision {
        if frame.source == mac { return .ignore(.fromUs) }
        switch frame.etherType {
        case EtherType.arp:
            let arp: ARPPacket
            do { arp = try ARPPacket(decoding: frame.payload) } catch { return .ignore(.malformed(error)) }
            if arp.senderMAC != mac, ownedIPv4.contains(arp.senderIP),
               arp.operation == .reply || arp.isGratuitous {
                return .conflict(ip: .v4(arp.senderIP), mac: arp.senderMAC)
            }
            guard arp.operation == .request, !arp.isGratuitous else { return .ignore(.nothingToDo) }
            guard ownedIPv4.contains(arp.targetIP) else { return .ignore(.notOwned(.v4(arp.targetIP))) }
            guard frame.destination == .broadcast || frame.destination == mac else {
                return .refuse(ip: .v4(arp.targetIP), reason: .notForUs(destination: frame.destination))
            }
            return .reply(ip: .v4(arp.targetIP), frame: arp.reply(from: mac).frame(from: mac))
        case EtherType.ipv6:
            let ndp: NDPPacket
            do { ndp = try NDPPacket(decoding: frame.payload) } catch { return .ignore(.malformed(error)) }
            switch ndp.message {
            case .neighborAdvertisement(let na):
                let claimed = na.targetLinkLayer ?? frame.source
                if ownedIPv6.contains(na.target), claimed != mac { return .conflict(ip: .v6(na.target), mac: claimed) }
                return .ignore(.nothingToDo)
            case .neighborSolicitation(let target, let sll):
                guard ownedIPv6.contains(target) else { return .ignore(.notOwned(.v6(target))) }
                let group = NDP.solicitedNodeMulticast(target)
                guard frame.destination == mac || frame.destination == NDP.multicastMAC(for: group) || frame.destination == .broadcast else {
                    return .refuse(ip: .v6(target), reason: .notForUs(destination: frame.destination))
                }
                guard let sll else { return .refuse(ip: .v6(target), reason: .noSourceLinkLayer) }
                let na = NDP.solicitedAdvertisement(answering: ndp, ip: target, mac: mac)
                return .reply(ip: .v6(target), frame: na.frame(from: mac, to: sll))
            }
        default:
            return .ignore(.notNeighbourDiscovery)
        }
    }
}
