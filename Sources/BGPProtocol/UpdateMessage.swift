import NIOCore
import NetworkPrimitives

/// The path attributes Beacon sends, and the ones it decodes from peers (RFC 4271 §5, RFC 1997, RFC 8092, RFC 4760).
public struct PathAttributes: Hashable, Sendable {
    public enum Origin: UInt8, Hashable, Sendable { case igp = 0, egp = 1, incomplete = 2 }

    public var origin: Origin = .igp
    /// AS_SEQUENCE, nearest AS first. Empty for iBGP routes we originate.
    public var asPath: [ASN] = []
    /// IPv4 routes' NEXT_HOP; for IPv6 routes the next hop travels in MP_REACH_NLRI (`nextHopIPv6`).
    public var nextHop: IPv4Address?
    /// Global IPv6 next hop, and optionally a link-local one (RFC 2545 §3).
    public var nextHopIPv6: IPv6Address?
    public var nextHopIPv6LinkLocal: IPv6Address?
    public var med: UInt32?
    /// iBGP only (RFC 4271 §5.1.5).
    public var localPreference: UInt32?
    public var communities: [BGPCommunity] = []
    public var largeCommunities: [LargeCommunity] = []
    /// Optional transitive attributes we do not know, passed on as received (type code, flags, value).
    public var unknown: [UnknownAttribute] = []

    public init(origin: Origin = .igp, asPath: [ASN] = [], nextHop: IPv4Address? = nil, nextHopIPv6: IPv6Address? = nil,
                med: UInt32? = nil, localPreference: UInt32? = nil, communities: [BGPCommunity] = [],
                largeCommunities: [LargeCommunity] = []) {
        self.origin = origin
        self.asPath = asPath
        self.nextHop = nextHop
        self.nextHopIPv6 = nextHopIPv6
        self.med = med
        self.localPreference = localPreference
        self.communities = communities
        self.largeCommunities = largeCommunities
    }
}

public struct UnknownAttribute: Hashable, Sendable {
    public var flags: UInt8
    public var type: UInt8
    public var value: [UInt8]
}

/// A decoded UPDATE (RFC 4271 §4.3 with RFC 4760 MP_REACH/MP_UNREACH folded in: `announced`/`withdrawn` hold
/// prefixes of both families).
public struct UpdateMessage: Hashable, Sendable {
    public var withdrawn: [IPPrefix]
    public var attributes: PathAttributes?
    public var announced: [IPPrefix]
    /// RFC 7606: the attributes were malformed in a way that makes the announced prefixes unusable; they are to be
    /// treated as withdrawn instead of resetting the session. The reason, for logs.
    public var treatAsWithdraw: String?

    public init(withdrawn: [IPPrefix] = [], attributes: PathAttributes? = nil, announced: [IPPrefix] = []) {
        self.withdrawn = withdrawn
        self.attributes = attributes
        self.announced = announced
    }

    /// End-of-RIB marker (RFC 4724 §2): an empty UPDATE for IPv4, an empty MP_UNREACH_NLRI for IPv6.
    public static func endOfRIB(_ family: IPFamily) -> UpdateMessage {
        var u = UpdateMessage()
        if family == .ipv6 { u.endOfRIBIPv6 = true }
        return u
    }

    var endOfRIBIPv6 = false

    public var isEndOfRIB: Bool { withdrawn.isEmpty && announced.isEmpty && (attributes == nil || endOfRIBIPv6) }
}

// MARK: - Decoding

extension UpdateMessage {
    /// Decodes an UPDATE body. `fourOctetAS` is whether the session negotiated RFC 6793 (AS_PATH entries are then
    /// 4 bytes). Throws the NOTIFICATION for errors that RFC 7606 still treats as session resets (message-level
    /// lengths, NLRI that cannot be parsed); attribute errors become `treatAsWithdraw` or are discarded.
    public init(decoding body: ByteBuffer, fourOctetAS: Bool) throws(BGPNotification) {
        var b = body
        guard let withdrawnLength = b.readInteger(as: UInt16.self), var withdrawnBytes = b.readSlice(length: Int(withdrawnLength)) else {
            throw .malformedAttributeList()
        }
        guard let attrLength = b.readInteger(as: UInt16.self), var attrBytes = b.readSlice(length: Int(attrLength)) else {
            throw .malformedAttributeList()
        }
        withdrawn = try Self.readPrefixes(&withdrawnBytes, family: .ipv4)
        announced = try Self.readPrefixes(&b, family: .ipv4)
        attributes = nil
        guard attrLength > 0 else {
            if !announced.isEmpty { throw .missingWellKnownAttribute(1) }
            return
        }
        var attrs = PathAttributes()
        var seen = Set<UInt8>()
        var problems: [String] = []
        var haveOrigin = false, haveASPath = false
        attributes: while attrBytes.readableBytes > 0 {
            // RFC 7606 §4: too few bytes left for an attribute header, or an attribute running past the Total Attribute
            // Length: treat-as-withdraw, the NLRI located by the Total Attribute Length (already read above).
            guard let flags = attrBytes.readInteger(as: UInt8.self), let type = attrBytes.readInteger(as: UInt8.self) else {
                problems.append("attribute list ends inside an attribute header"); break attributes
            }
            let extended = flags & 0x10 != 0
            let length: Int
            if extended {
                guard let l = attrBytes.readInteger(as: UInt16.self) else { problems.append("attribute list ends inside an attribute header"); break attributes }
                length = Int(l)
            } else {
                guard let l = attrBytes.readInteger(as: UInt8.self) else { problems.append("attribute list ends inside an attribute header"); break attributes }
                length = Int(l)
            }
            guard var v = attrBytes.readSlice(length: length) else {
                problems.append("attribute \(type) (\(length) bytes) runs past the attribute list"); break attributes
            }
            // RFC 7606 §3 g: a repeated attribute (other than MP_*) is discarded after the first.
            guard seen.insert(type).inserted else {
                if type == 14 || type == 15 { throw .malformedAttributeList() }
                continue
            }
            let optional = flags & 0x80 != 0, transitive = flags & 0x40 != 0
            // Well-known attributes must be transitive and not optional (RFC 4271 §6.3 flags check; RFC 7606 §3 c).
            func wellKnown() -> Bool { !optional && transitive }
            switch type {
            case 1:
                guard wellKnown(), length == 1, let o = v.readInteger(as: UInt8.self), let origin = PathAttributes.Origin(rawValue: o) else {
                    problems.append("ORIGIN malformed"); continue
                }
                attrs.origin = origin
                haveOrigin = true
            case 2:
                guard wellKnown(), let path = Self.readASPath(&v, fourOctet: fourOctetAS) else { problems.append("AS_PATH malformed"); continue }
                attrs.asPath = path
                haveASPath = true
            case 3:
                guard wellKnown(), length == 4, let nh = v.readInteger(as: UInt32.self) else { problems.append("NEXT_HOP malformed"); continue }
                attrs.nextHop = IPv4Address(nh)
            case 4:
                guard optional, length == 4, let med = v.readInteger(as: UInt32.self) else { problems.append("MULTI_EXIT_DISC malformed"); continue }
                attrs.med = med
            case 5:
                guard wellKnown(), length == 4, let lp = v.readInteger(as: UInt32.self) else { problems.append("LOCAL_PREF malformed"); continue }
                attrs.localPreference = lp
            case 6:
                // ATOMIC_AGGREGATE, well-known discretionary, no value; RFC 7606 §7.6: a wrong length is discarded.
                continue
            case 8:
                guard optional, transitive, length % 4 == 0 else { problems.append("COMMUNITIES malformed"); continue }
                while let c = v.readInteger(as: UInt32.self) { attrs.communities.append(BGPCommunity(c)) }
            case 32:
                guard optional, transitive, length % 12 == 0 else { problems.append("LARGE_COMMUNITY malformed"); continue }
                while let g = v.readInteger(as: UInt32.self), let l1 = v.readInteger(as: UInt32.self), let l2 = v.readInteger(as: UInt32.self) {
                    attrs.largeCommunities.append(LargeCommunity(g, l1, l2))
                }
            case 14:
                // RFC 7606 §7.11: a malformed MP_REACH_NLRI cannot be withdrawn safely: reset.
                guard let afi = v.readInteger(as: UInt16.self), let safi = v.readInteger(as: UInt8.self),
                      let nhLength = v.readInteger(as: UInt8.self), var nh = v.readSlice(length: Int(nhLength)),
                      v.readInteger(as: UInt8.self) != nil else { throw .optionalAttributeError() }
                guard safi == 1, let family = IPFamily(afi: afi) else { continue }  // not a family we negotiated: ignore
                if family == .ipv6 {
                    guard nhLength == 16 || nhLength == 32, let g = nh.readIPv6Address() else { throw .optionalAttributeError() }
                    attrs.nextHopIPv6 = g
                    if nhLength == 32 { attrs.nextHopIPv6LinkLocal = nh.readIPv6Address() }
                } else {
                    guard nhLength == 4, let nh4 = nh.readInteger(as: UInt32.self) else { throw .optionalAttributeError() }
                    attrs.nextHop = IPv4Address(nh4)
                }
                announced += try Self.readPrefixes(&v, family: family)
            case 15:
                guard let afi = v.readInteger(as: UInt16.self), let safi = v.readInteger(as: UInt8.self) else { throw .optionalAttributeError() }
                guard safi == 1, let family = IPFamily(afi: afi) else { continue }
                let w = try Self.readPrefixes(&v, family: family)
                if w.isEmpty && family == .ipv6 { endOfRIBIPv6 = true }
                withdrawn += w
            default:
                if !optional { throw .unrecognizedWellKnownAttribute(type) }
                if transitive { attrs.unknown.append(UnknownAttribute(flags: flags | 0x20, type: type, value: v.readBytes(length: v.readableBytes) ?? [])) }
            }
        }
        let announcesIPv4 = announced.contains { $0.family == .ipv4 }
        if !announced.isEmpty && (!haveOrigin || !haveASPath) { problems.append("missing ORIGIN or AS_PATH") }
        if announcesIPv4 && attrs.nextHop == nil { problems.append("missing NEXT_HOP") }
        attributes = attrs
        if !problems.isEmpty {
            treatAsWithdraw = problems.joined(separator: "; ")
            withdrawn += announced
            announced = []
        }
    }

    static func readPrefixes(_ b: inout ByteBuffer, family: IPFamily) throws(BGPNotification) -> [IPPrefix] {
        var out: [IPPrefix] = []
        let width = family.bitWidth
        while b.readableBytes > 0 {
            guard let length = b.readInteger(as: UInt8.self), Int(length) <= width else { throw .invalidNetworkField() }
            let bytes = (Int(length) + 7) / 8
            guard let raw = b.readBytes(length: bytes) else { throw .invalidNetworkField() }
            var value: UInt128 = 0
            for (i, byte) in raw.enumerated() { value |= UInt128(byte) << UInt128(width - 8 - 8 * i) }
            let address: IPAddress = family == .ipv4 ? .v4(IPv4Address(UInt32(truncatingIfNeeded: value))) : .v6(IPv6Address(value))
            out.append(IPPrefix(masking: address, length: Int(length)))
        }
        return out
    }

    static func readASPath(_ b: inout ByteBuffer, fourOctet: Bool) -> [ASN]? {
        var out: [ASN] = []
        while b.readableBytes > 0 {
            guard let segmentType = b.readInteger(as: UInt8.self), (1...4).contains(segmentType),
                  let count = b.readInteger(as: UInt8.self), count > 0 else { return nil }
            for _ in 0..<count {
                if fourOctet {
                    guard let a = b.readInteger(as: UInt32.self) else { return nil }
                    out.append(ASN(a))
                } else {
                    guard let a = b.readInteger(as: UInt16.self) else { return nil }
                    out.append(ASN(UInt32(a)))
                }
            }
        }
        return out
    }
}

// MARK: - Encoding

extension UpdateMessage {
    /// The UPDATE body. IPv4 prefixes travel in the classic fields; IPv6 prefixes in MP_REACH/MP_UNREACH. With
    /// `fourOctetAS` false, ASNs above 65535 become AS_TRANS (23456) and the real path goes in AS4_PATH (RFC 6793 §4.2.2).
    public func encode(fourOctetAS: Bool) -> ByteBuffer {
        var b = ByteBuffer()
        let v4Withdrawn = withdrawn.filter { $0.family == .ipv4 }, v6Withdrawn = withdrawn.filter { $0.family == .ipv6 }
        let v4Announced = announced.filter { $0.family == .ipv4 }, v6Announced = announced.filter { $0.family == .ipv6 }
        var w = ByteBuffer()
        for p in v4Withdrawn { Self.writePrefix(p, into: &w) }
        b.writeInteger(UInt16(w.readableBytes))
        b.writeBuffer(&w)
        var a = ByteBuffer()
        if let attrs = attributes, !announced.isEmpty {
            Self.attribute(&a, flags: 0x40, type: 1) { $0.writeInteger(attrs.origin.rawValue) }
            let needsAS4 = !fourOctetAS && attrs.asPath.contains { $0.value > 0xffff }
            Self.attribute(&a, flags: 0x40, type: 2) { v in
                guard !attrs.asPath.isEmpty else { return }
                v.writeInteger(UInt8(2))
                v.writeInteger(UInt8(attrs.asPath.count))
                for asn in attrs.asPath {
                    if fourOctetAS { v.writeInteger(asn.value) } else { v.writeInteger(UInt16(asn.value > 0xffff ? 23456 : asn.value)) }
                }
            }
            if !v4Announced.isEmpty, let nh = attrs.nextHop { Self.attribute(&a, flags: 0x40, type: 3) { $0.writeInteger(nh.value) } }
            if let med = attrs.med { Self.attribute(&a, flags: 0x80, type: 4) { $0.writeInteger(med) } }
            if let lp = attrs.localPreference { Self.attribute(&a, flags: 0x40, type: 5) { $0.writeInteger(lp) } }
            if !attrs.communities.isEmpty {
                Self.attribute(&a, flags: 0xc0, type: 8) { v in for c in attrs.communities { v.writeInteger(c.value) } }
            }
            if needsAS4 {
                Self.attribute(&a, flags: 0xc0, type: 17) { v in
                    v.writeInteger(UInt8(2)); v.writeInteger(UInt8(attrs.asPath.count))
                    for asn in attrs.asPath { v.writeInteger(asn.value) }
                }
            }
            if !attrs.largeCommunities.isEmpty {
                Self.attribute(&a, flags: 0xc0, type: 32) { v in
                    for c in attrs.largeCommunities { v.writeInteger(c.globalAdministrator); v.writeInteger(c.localData1); v.writeInteger(c.localData2) }
                }
            }
            if !v6Announced.isEmpty {
                Self.attribute(&a, flags: 0x80, type: 14) { v in
                    v.writeInteger(UInt16(2)); v.writeInteger(UInt8(1))
                    let ll = attrs.nextHopIPv6LinkLocal
                    v.writeInteger(UInt8(ll == nil ? 16 : 32))
                    v.writeIPv6Address(attrs.nextHopIPv6 ?? IPv6Address(0))
                    if let ll { v.writeIPv6Address(ll) }
                    v.writeInteger(UInt8(0))
                    for p in v6Announced { Self.writePrefix(p, into: &v) }
                }
            }
            for u in attrs.unknown { Self.attribute(&a, flags: u.flags & 0xe0, type: u.type) { $0.writeBytes(u.value) } }
        }
        if !v6Withdrawn.isEmpty || endOfRIBIPv6 {
            Self.attribute(&a, flags: 0x80, type: 15) { v in
                v.writeInteger(UInt16(2)); v.writeInteger(UInt8(1))
                for p in v6Withdrawn { Self.writePrefix(p, into: &v) }
            }
        }
        b.writeInteger(UInt16(a.readableBytes))
        b.writeBuffer(&a)
        if attributes != nil { for p in v4Announced { Self.writePrefix(p, into: &b) } }
        return b
    }

    static func attribute(_ b: inout ByteBuffer, flags: UInt8, type: UInt8, _ body: (inout ByteBuffer) -> Void) {
        var v = ByteBuffer()
        body(&v)
        if v.readableBytes > 255 {
            b.writeInteger(flags | 0x10); b.writeInteger(type); b.writeInteger(UInt16(v.readableBytes))
        } else {
            b.writeInteger(flags); b.writeInteger(type); b.writeInteger(UInt8(v.readableBytes))
        }
        b.writeBuffer(&v)
    }

    static func writePrefix(_ p: IPPrefix, into b: inout ByteBuffer) {
        b.writeInteger(UInt8(p.length))
        let width = p.family.bitWidth
        let bits = p.address.bits
        for i in 0..<((p.length + 7) / 8) { b.writeInteger(UInt8(truncatingIfNeeded: bits >> UInt128(width - 8 - 8 * i))) }
    }

    /// Bytes one prefix takes in NLRI.
    static func prefixSize(_ p: IPPrefix) -> Int { 1 + (p.length + 7) / 8 }
}

extension IPFamily {
    init?(afi: UInt16) {
        switch afi {
        case 1: self = .ipv4
        case 2: self = .ipv6
        default: return nil
        }
    }

    public var afi: UInt16 { self == .ipv4 ? 1 : 2 }
}

extension ByteBuffer {
    mutating func readIPv6Address() -> IPv6Address? {
        guard let hi = readInteger(as: UInt64.self), let lo = readInteger(as: UInt64.self) else { return nil }
        return IPv6Address(UInt128(hi) << 64 | UInt128(lo))
    }

    mutating func writeIPv6Address(_ a: IPv6Address) {
        writeInteger(UInt64(truncatingIfNeeded: a.value >> 64))
        writeInteger(UInt64(truncatingIfNeeded: a.value))
    }
}
