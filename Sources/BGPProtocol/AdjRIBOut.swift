import NIOCore
import NetworkPrimitives

/// What this speaker has told one peer, and the UPDATEs that turn it into what it should have told it.
///
/// Prefixes with identical attributes share an UPDATE; each message stays within 4,096 bytes (RFC 4271 §4.1);
/// only differences are sent. After a session loss `reset()` forgets everything, so the next `updates` re-advertises
/// the whole table.
public struct AdjRIBOut: Sendable {
    private var sent: [IPPrefix: PathAttributes] = [:]

    public init() {}

    public var advertised: [IPPrefix: PathAttributes] { sent }
    public var count: Int { sent.count }

    public mutating func reset() { sent = [:] }

    /// Forgets what was sent of one family, so that the next `updates` sends all of it again (a route refresh).
    public mutating func forget(_ family: IPFamily) { sent = sent.filter { $0.key.family != family } }

    /// UPDATE bodies (without the 19-byte header) that bring the peer from what it has to `desired`.
    public mutating func updates(to desired: [IPPrefix: PathAttributes], fourOctetAS: Bool) -> [ByteBuffer] {
        var withdrawals: [IPPrefix] = []
        var announcements: [PathAttributes: [IPPrefix]] = [:]
        for (prefix, _) in sent where desired[prefix] == nil { withdrawals.append(prefix) }
        for (prefix, attrs) in desired where sent[prefix] != attrs { announcements[attrs, default: []].append(prefix) }
        var out: [ByteBuffer] = []
        let limit = BGPMessage.maximumLength - BGPMessage.headerLength
        // Withdrawals first: a prefix that moves to other attributes is simply re-announced (implicit withdraw).
        for family in [IPFamily.ipv4, .ipv6] {
            let list = withdrawals.filter { $0.family == family }.sorted()
            // IPv4: 2 + 2 bytes of lengths; IPv6: those plus the MP_UNREACH header (4 + 3).
            let base = family == .ipv4 ? 4 : 4 + 4 + 3
            for chunk in Self.chunks(list, base: base, limit: limit) {
                out.append(UpdateMessage(withdrawn: chunk).encode(fourOctetAS: fourOctetAS))
            }
        }
        for (attrs, prefixes) in announcements.sorted(by: { $0.value.min()! < $1.value.min()! }) {  // Invariant: groups are non-empty.
            for family in [IPFamily.ipv4, .ipv6] {
                let list = prefixes.filter { $0.family == family }.sorted()
                guard let first = list.first else { continue }
                // The size of the attributes alone: an UPDATE with one prefix, minus that prefix, plus room for the
                // attribute-length fields growing to their extended form.
                let one = UpdateMessage(attributes: attrs, announced: [first]).encode(fourOctetAS: fourOctetAS).readableBytes
                let base = one - UpdateMessage.prefixSize(first) + 2
                for chunk in Self.chunks(list, base: base, limit: limit) {
                    out.append(UpdateMessage(attributes: attrs, announced: chunk).encode(fourOctetAS: fourOctetAS))
                }
            }
        }
        sent = desired
        return out
    }

    static func chunks(_ prefixes: [IPPrefix], base: Int, limit: Int) -> [[IPPrefix]] {
        var out: [[IPPrefix]] = []
        var current: [IPPrefix] = []
        var size = base
        for p in prefixes {
            let s = UpdateMessage.prefixSize(p)
            if size + s > limit, !current.isEmpty {
                out.append(current)
                current = []
                size = base
            }
            current.append(p)
            size += s
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
