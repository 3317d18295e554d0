import NetworkPrimitives

/// The assignable addresses of one pool and one family, numbered densely from 0: each of the pool's ranges
/// (in address order) contributes a run of indices. With `avoidBuggyIPs`, IPv4 addresses ending in .0 or .255
/// have no index at all, so "the lowest free index" is always an assignable address and no scan is needed.
struct AddressSpace: Sendable {
    private struct Segment: Sendable {
        /// The first index of this segment in the space.
        var base: UInt128
        /// The rank (see `rank`) of the segment's first address.
        var firstRank: UInt128
        var count: UInt128
    }

    let family: IPFamily
    let skipsBuggy: Bool
    private let segments: [Segment]
    /// The number of assignable addresses (may be 2^128 for `::/0`, which does not fit `UInt128`).
    let size: AddressCount
    /// Indices in use (an address shared by several services counts once).
    private(set) var used = IntervalSet()

    init(family: IPFamily, ranges: [IPRange], avoidBuggyIPs: Bool) {
        self.family = family
        skipsBuggy = avoidBuggyIPs && family == .ipv4
        var segments: [Segment] = []
        var base: UInt128 = 0
        var total = AddressCount.zero
        for r in ranges.filter({ $0.family == family }).sorted() {
            let first: UInt128, count: UInt128
            var wholeSpace = false
            if skipsBuggy {
                first = Self.rank(r.first.bits, skipsBuggy: true, roundUp: true)
                let endExclusive = Self.rankAfter(r.last.bits, skipsBuggy: true)
                guard endExclusive > first else { continue }  // only buggy addresses in this range
                count = endExclusive - first
            } else {
                first = r.first.bits
                let c = r.last.bits - r.first.bits &+ 1
                // Only ::/0 wraps to 0: its 2^128 addresses get indices 0...UInt128.max.
                wholeSpace = c == 0
                count = wholeSpace ? .max : c
            }
            segments.append(Segment(base: base, firstRank: first, count: count))
            total += wholeSpace ? .powerOfTwo(128) : AddressCount(count)
            base &+= count
        }
        self.segments = segments
        size = total
    }

    /// The position of `a` among assignable addresses: `a` itself, or with buggy addresses skipped,
    /// 254 per /24 plus the offset inside it. `roundUp` moves a buggy address to the next assignable one.
    private static func rank(_ a: UInt128, skipsBuggy: Bool, roundUp: Bool) -> UInt128 {
        guard skipsBuggy else { return a }
        let block = a >> 8, low = a & 0xff
        switch low {
        case 0: return block * 254
        case 255: return block * 254 + (roundUp ? 254 : 253)
        default: return block * 254 + low - 1
        }
    }

    /// The rank just past `a` (exclusive end of a range ending at `a`).
    private static func rankAfter(_ a: UInt128, skipsBuggy: Bool) -> UInt128 {
        guard skipsBuggy else { return a &+ 1 }
        let block = a >> 8, low = a & 0xff
        switch low {
        case 0: return block * 254
        case 255: return block * 254 + 254
        default: return block * 254 + low
        }
    }

    private static func unrank(_ r: UInt128, skipsBuggy: Bool) -> UInt128 {
        guard skipsBuggy else { return r }
        return (r / 254) << 8 | (r % 254 + 1)
    }

    /// The index of an address, or nil when it is not assignable in this space.
    func index(of ip: IPAddress) -> UInt128? {
        guard ip.family == family else { return nil }
        if skipsBuggy, case .v4(let v4) = ip, v4.isBuggyNetworkOrBroadcast { return nil }
        let r = Self.rank(ip.bits, skipsBuggy: skipsBuggy, roundUp: true)
        // The last segment whose first rank is <= r.
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].firstRank <= r { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let s = segments[lo - 1]
        let offset = r - s.firstRank
        guard offset < s.count || (s.count == .max && segments.count == 1) else { return nil }
        return s.base + offset
    }

    /// The address at an index (which must be below `size`).
    func address(at index: UInt128) -> IPAddress {
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].base <= index { lo = mid + 1 } else { hi = mid }
        }
        let s = segments[max(lo - 1, 0)]
        return IPAddress(family: family, bits: Self.unrank(s.firstRank + (index - s.base), skipsBuggy: skipsBuggy))
    }

    func contains(index: UInt128) -> Bool { AddressCount(index) < size }

    var usedCount: AddressCount { AddressCount(used.count) }
    var freeCount: AddressCount { size - usedCount }

    /// The lowest free index, if any address is left.
    func lowestFree() -> UInt128? {
        guard let i = used.lowestAbsent(), contains(index: i) else { return nil }
        return i
    }

    mutating func markUsed(_ index: UInt128) { used.insert(index) }
    mutating func markFree(_ index: UInt128) { used.remove(index) }
}
