import NIOCore
import NetworkPrimitives

/// A BGP message (RFC 4271 §4).
public enum BGPMessage: Hashable, Sendable {
    case open(OpenMessage)
    /// UPDATE body (withdrawn routes, attributes, NLRI), not yet decoded.
    case update(ByteBuffer)
    case notification(BGPNotification)
    case keepalive
    /// RFC 2918 (subtype per RFC 7313).
    case routeRefresh(afi: UInt16, subtype: UInt8, safi: UInt8)

    public static let headerLength = 19
    /// RFC 4271 §4.1 (RFC 8654 extended messages are not negotiated).
    public static let maximumLength = 4096

    var typeCode: UInt8 {
        switch self {
        case .open: return 1
        case .update: return 2
        case .notification: return 3
        case .keepalive: return 4
        case .routeRefresh: return 5
        }
    }
}

/// An OPEN message (RFC 4271 §4.2) with its capabilities (RFC 5492).
public struct OpenMessage: Hashable, Sendable {
    public var version: UInt8
    /// The 2-octet field: our ASN, or AS_TRANS (23456) when it does not fit (RFC 6793).
    public var myAutonomousSystem: UInt16
    public var holdTime: UInt16
    public var identifier: IPv4Address
    public var capabilities: [Capability]

    public init(version: UInt8 = 4, asn: ASN, holdTime: UInt16, identifier: IPv4Address, capabilities: [Capability]) {
        self.version = version
        myAutonomousSystem = asn.isFourOctet ? UInt16(ASN.trans.value) : UInt16(asn.value)
        self.holdTime = holdTime
        self.identifier = identifier
        self.capabilities = capabilities
    }

    /// The speaker's real ASN: from the 4-octet capability when present (RFC 6793 §4.1), else the 2-octet field.
    public var asn: ASN {
        for c in capabilities { if case .fourOctetASN(let a) = c { return a } }
        return ASN(UInt32(myAutonomousSystem))
    }
}

/// A BGP capability (RFC 5492). Unknown ones are kept so they can be logged (and, if needed, refused).
public enum Capability: Hashable, Sendable {
    /// RFC 4760: AFI 1 = IPv4, 2 = IPv6; SAFI 1 = unicast.
    case multiprotocol(afi: UInt16, safi: UInt8)
    /// RFC 2918 (code 2).
    case routeRefresh
    /// RFC 7313 (code 70).
    case enhancedRouteRefresh
    /// RFC 4724 (code 64): restart state flag, restart time (12 bits), per AFI/SAFI forwarding-state flags.
    case gracefulRestart(restarting: Bool, notification: Bool, time: UInt16, families: [GracefulRestartFamily])
    /// RFC 6793 (code 65).
    case fourOctetASN(ASN)
    case other(code: UInt8, value: [UInt8])

    public static let ipv4Unicast = Capability.multiprotocol(afi: 1, safi: 1)
    public static let ipv6Unicast = Capability.multiprotocol(afi: 2, safi: 1)
}

public struct GracefulRestartFamily: Hashable, Sendable {
    public var afi: UInt16
    public var safi: UInt8
    public var forwardingPreserved: Bool

    public init(afi: UInt16, safi: UInt8, forwardingPreserved: Bool) {
        self.afi = afi
        self.safi = safi
        self.forwardingPreserved = forwardingPreserved
    }
}

extension ByteBuffer {
    /// Reads one message. Returns nil (consuming nothing) while fewer bytes than the header announces have
    /// arrived; throws the NOTIFICATION to send when they are malformed.
    public mutating func readBGPMessage() throws(BGPNotification) -> BGPMessage? {
        guard readableBytes >= BGPMessage.headerLength else { return nil }
        let start = readerIndex
        // RFC 4271 §6.1: the marker must be all ones.
        guard let marker = getBytes(at: start, length: 16), marker.allSatisfy({ $0 == 0xff }) else {
            throw .connectionNotSynchronized()
        }
        guard let length = getInteger(at: start + 16, as: UInt16.self), let type = getInteger(at: start + 18, as: UInt8.self) else { return nil }
        guard Int(length) >= BGPMessage.headerLength, Int(length) <= BGPMessage.maximumLength else { throw .badMessageLength(length) }
        guard readableBytes >= Int(length) else { return nil }
        guard var body = getSlice(at: start + BGPMessage.headerLength, length: Int(length) - BGPMessage.headerLength) else { return nil }
        let message: BGPMessage
        switch type {
        case 1:
            guard body.readableBytes >= 10 else { throw .badMessageLength(length) }
            message = .open(try OpenMessage(decoding: &body))
        case 2:
            guard body.readableBytes >= 4 else { throw .badMessageLength(length) }
            message = .update(body)
        case 3:
            guard body.readableBytes >= 2, let code = body.readInteger(as: UInt8.self), let sub = body.readInteger(as: UInt8.self) else {
                throw .badMessageLength(length)
            }
            message = .notification(BGPNotification(code: code, subcode: sub, data: body.readBytes(length: body.readableBytes) ?? []))
        case 4:
            guard body.readableBytes == 0 else { throw .badMessageLength(length) }
            message = .keepalive
        case 5:
            guard body.readableBytes == 4, let afi = body.readInteger(as: UInt16.self), let subtype = body.readInteger(as: UInt8.self),
                  let safi = body.readInteger(as: UInt8.self) else { throw .badMessageLength(length) }
            message = .routeRefresh(afi: afi, subtype: subtype, safi: safi)
        default:
            throw .badMessageType(type)
        }
        moveReaderIndex(forwardBy: Int(length))
        return message
    }

    /// Writes one message with its header; returns the bytes written.
    @discardableResult
    public mutating func writeBGPMessage(_ message: BGPMessage) -> Int {
        let start = writerIndex
        writeRepeatingByte(0xff, count: 16)
        let lengthIndex = writerIndex
        writeInteger(UInt16(0))
        writeInteger(message.typeCode)
        switch message {
        case .open(let open): open.encode(into: &self)
        case .update(var body): writeBuffer(&body)
        case .notification(let n):
            writeInteger(n.code)
            writeInteger(n.subcode)
            writeBytes(n.data)
        case .keepalive: break
        case .routeRefresh(let afi, let subtype, let safi):
            writeInteger(afi)
            writeInteger(subtype)
            writeInteger(safi)
        }
        let length = writerIndex - start
        setInteger(UInt16(length), at: lengthIndex)
        return length
    }
}

extension OpenMessage {
    init(decoding b: inout ByteBuffer) throws(BGPNotification) {
        guard let version = b.readInteger(as: UInt8.self), let myAS = b.readInteger(as: UInt16.self),
              let hold = b.readInteger(as: UInt16.self), let id = b.readInteger(as: UInt32.self),
              let optLength = b.readInteger(as: UInt8.self) else { throw .malformedOpen() }
        // RFC 4271 §6.2.
        guard version == 4 else { throw .unsupportedVersion() }
        guard hold == 0 || hold >= 3 else { throw .unacceptableHoldTime() }
        guard id != 0 else { throw .badBGPIdentifier() }
        guard var params = b.readSlice(length: Int(optLength)), b.readableBytes == 0 else { throw .malformedOpen() }
        var capabilities: [Capability] = []
        while params.readableBytes > 0 {
            guard let type = params.readInteger(as: UInt8.self), let len = params.readInteger(as: UInt8.self),
                  var value = params.readSlice(length: Int(len)) else { throw .malformedOpen() }
            // Only the Capabilities parameter (2) is defined; RFC 5492 §5 refuses the others.
            guard type == 2 else { throw .unsupportedOptionalParameter() }
            while value.readableBytes > 0 {
                guard let code = value.readInteger(as: UInt8.self), let clen = value.readInteger(as: UInt8.self),
                      var cv = value.readSlice(length: Int(clen)) else { throw .malformedOpen() }
                capabilities.append(try Capability(code: code, value: &cv))
            }
        }
        self.version = version
        myAutonomousSystem = myAS
        holdTime = hold
        identifier = IPv4Address(id)
        self.capabilities = capabilities
    }

    func encode(into b: inout ByteBuffer) {
        b.writeInteger(version)
        b.writeInteger(myAutonomousSystem)
        b.writeInteger(holdTime)
        b.writeInteger(identifier.value)
        var caps = ByteBuffer()
        for c in capabilities { c.encode(into: &caps) }
        if caps.readableBytes == 0 {
            b.writeInteger(UInt8(0))
        } else {
            b.writeInteger(UInt8(caps.readableBytes + 2))
            b.writeInteger(UInt8(2))
            b.writeInteger(UInt8(caps.readableBytes))
            b.writeBuffer(&caps)
        }
    }
}

extension Capability {
    init(code: UInt8, value: inout ByteBuffer) throws(BGPNotification) {
        let raw = value.getBytes(at: value.readerIndex, length: value.readableBytes) ?? []
        switch code {
        case 1:
            guard value.readableBytes == 4, let afi = value.readInteger(as: UInt16.self), value.readInteger(as: UInt8.self) != nil,
                  let safi = value.readInteger(as: UInt8.self) else { throw .malformedOpen() }
            self = .multiprotocol(afi: afi, safi: safi)
        case 2 where value.readableBytes == 0:
            self = .routeRefresh
        case 70 where value.readableBytes == 0:
            self = .enhancedRouteRefresh
        case 64:
            guard let word = value.readInteger(as: UInt16.self), value.readableBytes % 4 == 0 else { throw .malformedOpen() }
            var families: [GracefulRestartFamily] = []
            while let afi = value.readInteger(as: UInt16.self), let safi = value.readInteger(as: UInt8.self),
                  let flags = value.readInteger(as: UInt8.self) {
                families.append(GracefulRestartFamily(afi: afi, safi: safi, forwardingPreserved: flags & 0x80 != 0))
            }
            self = .gracefulRestart(restarting: word & 0x8000 != 0, notification: word & 0x4000 != 0, time: word & 0x0fff, families: families)
        case 65:
            guard value.readableBytes == 4, let asn = value.readInteger(as: UInt32.self) else { throw .malformedOpen() }
            self = .fourOctetASN(ASN(asn))
        default:
            self = .other(code: code, value: raw)
        }
    }

    func encode(into b: inout ByteBuffer) {
        switch self {
        case .multiprotocol(let afi, let safi):
            b.writeInteger(UInt8(1)); b.writeInteger(UInt8(4)); b.writeInteger(afi); b.writeInteger(UInt8(0)); b.writeInteger(safi)
        case .routeRefresh:
            b.writeInteger(UInt8(2)); b.writeInteger(UInt8(0))
        case .enhancedRouteRefresh:
            b.writeInteger(UInt8(70)); b.writeInteger(UInt8(0))
        case .gracefulRestart(let restarting, let notification, let time, let families):
            b.writeInteger(UInt8(64)); b.writeInteger(UInt8(2 + 4 * families.count))
            b.writeInteger((restarting ? 0x8000 : 0) | (notification ? 0x4000 : 0) | (time & 0x0fff) as UInt16)
            for f in families { b.writeInteger(f.afi); b.writeInteger(f.safi); b.writeInteger(UInt8(f.forwardingPreserved ? 0x80 : 0)) }
        case .fourOctetASN(let asn):
            b.writeInteger(UInt8(65)); b.writeInteger(UInt8(4)); b.writeInteger(asn.value)
        case .other(let code, let value):
            b.writeInteger(code); b.writeInteger(UInt8(value.count)); b.writeBytes(value)
        }
    }
}

extension Capability: CustomStringConvertible {
    public var description: String {
        switch self {
        case .multiprotocol(let afi, let safi):
            let family = afi == 1 ? "ipv4" : afi == 2 ? "ipv6" : "afi\(afi)"
            return safi == 1 ? "\(family)-unicast" : "\(family)-safi\(safi)"
        case .routeRefresh: return "route-refresh"
        case .enhancedRouteRefresh: return "enhanced-route-refresh"
        case .gracefulRestart(let restarting, _, let time, let families):
            return "graceful-restart(time \(time) s\(restarting ? ", restarting" : "")\(families.isEmpty ? "" : ", \(families.count) families"))"
        case .fourOctetASN(let asn): return "4-octet-as(\(asn))"
        case .other(let code, _): return "capability-\(code)"
        }
    }
}
