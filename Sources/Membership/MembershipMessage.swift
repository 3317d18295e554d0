import Crypto
import NIOCore

/// A membership datagram: who sends it, its incarnation and sequence (replay protection), what it says, and gossip
/// reports about other members (alive at a sequence, or dead at an incarnation); authenticated with HMAC-SHA256 over
/// every preceding byte, keyed with the `memberlist` Secret.
///
/// Layout (big-endian): magic "BM" (2) · version 1 (1) · kind (1) · incarnation (8) · sequence (8) · name length (1)
/// · name · report count (1) · per report: alive flag (1), incarnation (8), sequence (8), name length (1), name ·
/// HMAC-SHA256 (32).
public struct MembershipMessage: Hashable, Sendable {
    public enum Kind: UInt8, Hashable, Sendable {
        /// "I am alive"; carries the sender's view of dead members.
        case heartbeat = 1
        /// Clean leave (SIGTERM): the others re-plan at once instead of waiting for the timeout.
        case leave = 2
    }

    public var kind: Kind
    public var sender: String
    /// Bumped by a member each time it starts, so a restarted member is not mistaken for a replay of its old self.
    public var incarnation: UInt64
    /// Increases with every message from one incarnation.
    public var sequence: UInt64
    /// What the sender knows about other members.
    public var reports: [Report]

    /// "I heard `name` (incarnation, sequence) directly" or "`name`'s incarnation died".
    public struct Report: Hashable, Sendable {
        public var name: String
        public var alive: Bool
        public var incarnation: UInt64
        public var sequence: UInt64
        public init(name: String, alive: Bool, incarnation: UInt64, sequence: UInt64 = 0) {
            self.name = name
            self.alive = alive
            self.incarnation = incarnation
            self.sequence = sequence
        }
    }

    public init(kind: Kind, sender: String, incarnation: UInt64, sequence: UInt64, reports: [Report] = []) {
        self.kind = kind
        self.sender = sender
        self.incarnation = incarnation
        self.sequence = sequence
        self.reports = reports
    }

    static let magic: [UInt8] = [0x42, 0x4d]  // "BM"
    static let macLength = 32
    /// Keeps datagrams within one Ethernet frame.
    public static let maximumLength = 1400

    /// Why a datagram was refused.
    public enum Rejection: Error, Hashable, Sendable, CustomStringConvertible {
        case truncated
        case notMembership
        case unsupportedVersion(UInt8)
        case badSignature
        case malformed(String)

        public var description: String {
            switch self {
            case .truncated: return "truncated datagram"
            case .notMembership: return "not a Beacon membership datagram"
            case .unsupportedVersion(let v): return "unsupported version \(v)"
            case .badSignature: return "bad HMAC: wrong key or altered in transit"
            case .malformed(let why): return "malformed: \(why)"
            }
        }
    }

    /// The signed datagram. Names longer than 253 bytes (the longest DNS name) are cut; reports are cut so that the
    /// datagram stays within `maximumLength` (dead reports first: callers order them so).
    public func encode(key: SymmetricKey) -> ByteBuffer {
        var b = ByteBuffer()
        b.writeBytes(Self.magic)
        b.writeInteger(UInt8(1))
        b.writeInteger(kind.rawValue)
        b.writeInteger(incarnation)
        b.writeInteger(sequence)
        Self.writeName(sender, into: &b)
        let countIndex = b.writerIndex
        b.writeInteger(UInt8(0))
        var count: UInt8 = 0
        for r in reports where count < 255 {
            let name = Array(r.name.utf8.prefix(253))
            guard b.readableBytes + 18 + name.count + Self.macLength <= Self.maximumLength else { break }
            b.writeInteger(UInt8(r.alive ? 1 : 0))
            b.writeInteger(r.incarnation)
            b.writeInteger(r.sequence)
            b.writeInteger(UInt8(name.count))
            b.writeBytes(name)
            count += 1
        }
        b.setInteger(count, at: countIndex)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(b.readableBytesView), using: key)
        b.writeBytes(Array(mac))
        return b
    }

    /// Verifies the HMAC first (nothing unauthenticated is parsed beyond the header), then decodes.
    public init(decoding datagram: ByteBuffer, key: SymmetricKey) throws(Rejection) {
        let bytes = Array(datagram.readableBytesView)
        guard bytes.count >= 4 + 16 + 1 + Self.macLength else { throw .truncated }
        guard bytes[0] == Self.magic[0], bytes[1] == Self.magic[1] else { throw .notMembership }
        guard bytes[2] == 1 else { throw .unsupportedVersion(bytes[2]) }
        let body = bytes[..<(bytes.count - Self.macLength)]
        let mac = bytes[(bytes.count - Self.macLength)...]
        guard HMAC<SHA256>.isValidAuthenticationCode(Array(mac), authenticating: Array(body), using: key) else { throw .badSignature }
        var b = ByteBuffer(bytes: body)
        b.moveReaderIndex(forwardBy: 3)
        guard let k = b.readInteger(as: UInt8.self), let kind = Kind(rawValue: k) else { throw .malformed("unknown kind") }
        guard let inc = b.readInteger(as: UInt64.self), let seq = b.readInteger(as: UInt64.self), let sender = Self.readName(&b),
              !sender.isEmpty, let count = b.readInteger(as: UInt8.self) else { throw .malformed("header") }
        var reports: [Report] = []
        for _ in 0..<count {
            guard let flag = b.readInteger(as: UInt8.self), flag <= 1, let i = b.readInteger(as: UInt64.self),
                  let q = b.readInteger(as: UInt64.self), let name = Self.readName(&b) else { throw .malformed("report list") }
            reports.append(Report(name: name, alive: flag == 1, incarnation: i, sequence: q))
        }
        guard b.readableBytes == 0 else { throw .malformed("\(b.readableBytes) trailing bytes") }
        self.init(kind: kind, sender: sender, incarnation: inc, sequence: seq, reports: reports)
    }

    static func writeName(_ name: String, into b: inout ByteBuffer) {
        let bytes = Array(name.utf8.prefix(253))
        b.writeInteger(UInt8(bytes.count))
        b.writeBytes(bytes)
    }

    static func readName(_ b: inout ByteBuffer) -> String? {
        guard let n = b.readInteger(as: UInt8.self), let bytes = b.readBytes(length: Int(n)) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
