/// A set of `UInt128` values stored as disjoint, maximal intervals `[lo, hi]` in a treap (a randomized balanced
/// binary search tree) laid out in arrays: no per-node allocation or reference counting.
///
/// Insert, remove and membership cost O(log k) expected for k intervals; the lowest value *not* in the set is
/// found in O(log k) (it is either 0 or just past the first interval). Memory is proportional to the number of
/// intervals, not to the values covered: a million consecutive allocations are one interval.
struct IntervalSet: Sendable {
    private struct Node: Sendable {
        var lo: UInt128
        var hi: UInt128
        var left: Int32 = -1
        var right: Int32 = -1
        var priority: UInt32
    }

    private var nodes: [Node] = []
    private var freeSlots: [Int32] = []
    private var root: Int32 = -1
    private var rng = SplitMix64(seed: 0x9E37_79B9_7F4A_7C15)
    /// The number of values in the set.
    private(set) var count: UInt128 = 0
    /// The number of intervals (tree nodes).
    private(set) var intervalCount = 0

    var isEmpty: Bool { root < 0 }

    // MARK: Queries

    /// The node whose interval starts at or before `x`, if any (the floor by `lo`).
    private func floorNode(_ x: UInt128) -> Int32 {
        var current = root, best: Int32 = -1
        while current >= 0 {
            let n = nodes[Int(current)]
            if n.lo <= x {
                best = current
                current = n.right
            } else {
                current = n.left
            }
        }
        return best
    }

    /// The node whose interval starts after `x`, if any (the strict ceiling by `lo`).
    private func ceilingNodeAfter(_ x: UInt128) -> Int32 {
        var current = root, best: Int32 = -1
        while current >= 0 {
            let n = nodes[Int(current)]
            if n.lo > x {
                best = current
                current = n.left
            } else {
                current = n.right
            }
        }
        return best
    }

    func contains(_ x: UInt128) -> Bool {
        let f = floorNode(x)
        return f >= 0 && nodes[Int(f)].hi >= x
    }

    /// The interval containing `x`, if any.
    func interval(containing x: UInt128) -> ClosedRange<UInt128>? {
        let f = floorNode(x)
        guard f >= 0, nodes[Int(f)].hi >= x else { return nil }
        return nodes[Int(f)].lo...nodes[Int(f)].hi
    }

    /// The lowest value `>= from` that is not in the set (it may exceed any bound the caller has).
    func lowestAbsent(from: UInt128 = 0) -> UInt128? {
        let f = floorNode(from)
        if f >= 0, nodes[Int(f)].hi >= from {
            let hi = nodes[Int(f)].hi
            return hi == .max ? nil : hi + 1  // intervals are maximal, so hi + 1 is absent
        }
        return from
    }

    /// The intervals in ascending order.
    var intervals: [ClosedRange<UInt128>] {
        var out: [ClosedRange<UInt128>] = []
        out.reserveCapacity(intervalCount)
        var stack: [Int32] = []
        var current = root
        while current >= 0 || !stack.isEmpty {
            while current >= 0 {
                stack.append(current)
                current = nodes[Int(current)].left
            }
            let n = stack.removeLast()
            out.append(nodes[Int(n)].lo...nodes[Int(n)].hi)
            current = nodes[Int(n)].right
        }
        return out
    }

    // MARK: Updates

    /// Adds `x`; returns false if it was already present. Merges with adjacent intervals.
    @discardableResult
    mutating func insert(_ x: UInt128) -> Bool {
        let f = floorNode(x)
        if f >= 0 {
            let n = nodes[Int(f)]
            if n.hi >= x { return false }
            if n.hi + 1 == x {
                // Extend the predecessor upward, and swallow the successor if they now touch.
                let s = x == .max ? -1 : ceilingNodeAfter(x)
                if s >= 0, nodes[Int(s)].lo == x + 1 {
                    let sHi = nodes[Int(s)].hi
                    removeNode(lo: nodes[Int(s)].lo)
                    nodes[Int(f)].hi = sHi
                } else {
                    nodes[Int(f)].hi = x
                }
                count += 1
                return true
            }
        }
        let s = x == .max ? -1 : ceilingNodeAfter(x)
        if s >= 0, nodes[Int(s)].lo == x + 1 {
            // Extend the successor downward; its order among the keys is unchanged.
            nodes[Int(s)].lo = x
        } else {
            insertNode(lo: x, hi: x)
        }
        count += 1
        return true
    }

    /// Removes `x`; returns false if it was absent. Splits an interval when `x` is inside it.
    @discardableResult
    mutating func remove(_ x: UInt128) -> Bool {
        let f = floorNode(x)
        guard f >= 0 else { return false }
        let n = nodes[Int(f)]
        guard n.hi >= x else { return false }
        if n.lo == x && n.hi == x {
            removeNode(lo: x)
        } else if n.lo == x {
            nodes[Int(f)].lo = x + 1
        } else if n.hi == x {
            nodes[Int(f)].hi = x - 1
        } else {
            nodes[Int(f)].hi = x - 1
            insertNode(lo: x + 1, hi: n.hi)
        }
        count -= 1
        return true
    }

    // MARK: Treap plumbing

    private mutating func allocateNode(lo: UInt128, hi: UInt128) -> Int32 {
        let node = Node(lo: lo, hi: hi, priority: UInt32(truncatingIfNeeded: rng.next()))
        if let slot = freeSlots.popLast() {
            nodes[Int(slot)] = node
            return slot
        }
        nodes.append(node)
        return Int32(nodes.count - 1)
    }

    private mutating func insertNode(lo: UInt128, hi: UInt128) {
        let new = allocateNode(lo: lo, hi: hi)
        let (l, r) = split(root, lo)
        root = merge(merge(l, new), r)
        intervalCount += 1
    }

    private mutating func removeNode(lo: UInt128) {
        let (l, rest) = split(root, lo)
        let (middle, r) = split(rest, lo == .max ? lo : lo + 1, inclusiveMax: lo == .max)
        if middle >= 0 {
            freeSlots.append(middle)
            intervalCount -= 1
        }
        root = merge(l, r)
    }

    /// Splits `t` into keys `< key` and keys `>= key` (with `inclusiveMax`, everything goes left).
    private mutating func split(_ t: Int32, _ key: UInt128, inclusiveMax: Bool = false) -> (Int32, Int32) {
        guard t >= 0 else { return (-1, -1) }
        if inclusiveMax || nodes[Int(t)].lo < key {
            let (l, r) = split(nodes[Int(t)].right, key, inclusiveMax: inclusiveMax)
            nodes[Int(t)].right = l
            return (t, r)
        } else {
            let (l, r) = split(nodes[Int(t)].left, key, inclusiveMax: inclusiveMax)
            nodes[Int(t)].left = r
            return (l, t)
        }
    }

    /// Joins two treaps where every key of `a` is below every key of `b`.
    private mutating func merge(_ a: Int32, _ b: Int32) -> Int32 {
        if a < 0 { return b }
        if b < 0 { return a }
        if nodes[Int(a)].priority > nodes[Int(b)].priority {
            nodes[Int(a)].right = merge(nodes[Int(a)].right, b)
            return a
        } else {
            nodes[Int(b)].left = merge(a, nodes[Int(b)].left)
            return b
        }
    }
}

/// A small deterministic generator (Steele, Lea, Flood 2014) for treap priorities: reproducible layouts.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
