import KubernetesModel

/// Open addressing with linear probing and backward-shift deletion (no tombstones), kept at most 3/4 full.
/// Used where Swift's Dictionary costs too much at a million entries: it rehashes every key on growth and its
/// slots are larger. Both tables here move fixed-size slots on growth and never rehash a String.

/// Backward-shift deletion: the entry at `j` (whose home slot is `home`) may move into the hole at `hole` unless
/// its home lies cyclically within (hole, j], where moving it would put it before its home.
@inline(__always)
func canFill(hole: Int, from j: Int, home: Int) -> Bool {
    j > hole ? (home <= hole || home > j) : (home <= hole && home > j)
}

/// Maps a dense address index (`UInt128`) to a record id. Fibonacci hashing spreads sequential indices.
struct IndexTable: Sendable {
    private var keys: [UInt128] = []
    private var values: [UInt32] = []  // UInt32.max marks an empty slot
    private(set) var count = 0
    private var shift: UInt64 = 64

    private static let empty = UInt32.max

    /// Fibonacci hashing of both halves. It spreads even consecutive indices evenly across the table, which
    /// linear probing needs: a hash that kept consecutive keys in consecutive slots would form one cluster as
    /// large as the table, making every deletion (backward shift) and every miss walk all of it.
    private func slot(_ key: UInt128) -> Int {
        let mixed = UInt64(truncatingIfNeeded: key) ^ (UInt64(truncatingIfNeeded: key >> 64) &* 0xD6E8_FEB8_6659_FD93)
        return Int(truncatingIfNeeded: (mixed &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    subscript(key: UInt128) -> UInt32? {
        guard count > 0 else { return nil }
        let mask = keys.count - 1
        var i = slot(key)
        while values[i] != Self.empty {
            if keys[i] == key { return values[i] }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Sets the value for `key`; returns the previous value.
    @discardableResult
    mutating func set(_ key: UInt128, _ value: UInt32) -> UInt32? {
        if (count + 1) * 4 > keys.count * 3 { grow() }
        let mask = keys.count - 1
        var i = slot(key)
        while values[i] != Self.empty {
            if keys[i] == key {
                let old = values[i]
                values[i] = value
                return old
            }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = value
        count += 1
        return nil
    }

    /// Removes `key`; returns its value.
    @discardableResult
    mutating func remove(_ key: UInt128) -> UInt32? {
        guard count > 0 else { return nil }
        let mask = keys.count - 1
        var i = slot(key)
        while values[i] != Self.empty {
            if keys[i] == key {
                let old = values[i]
                // Backward-shift: pull later entries of the probe run into the hole.
                var hole = i
                var j = (i + 1) & mask
                while values[j] != Self.empty {
                    if canFill(hole: hole, from: j, home: slot(keys[j])) {
                        keys[hole] = keys[j]
                        values[hole] = values[j]
                        hole = j
                    }
                    j = (j + 1) & mask
                }
                values[hole] = Self.empty
                count -= 1
                return old
            }
            i = (i + 1) & mask
        }
        return nil
    }

    private mutating func grow() {
        let newCapacity = max(16, keys.count * 2)
        let oldKeys = keys, oldValues = values
        keys = [UInt128](repeating: 0, count: newCapacity)
        values = [UInt32](repeating: Self.empty, count: newCapacity)
        shift = UInt64(64 - newCapacity.trailingZeroBitCount)
        count = 0
        for i in oldValues.indices where oldValues[i] != Self.empty { set(oldKeys[i], oldValues[i]) }
    }
}

/// Maps ServiceKeys to record ids. Slots hold the key's hash and the id; the key itself lives in the caller's
/// record array and is compared through `key(at:)`. Growth moves 12-byte slots without rehashing strings.
struct ServiceTable: Sendable {
    private var hashes: [UInt64] = []
    private var ids: [UInt32] = []  // UInt32.max marks an empty slot
    private(set) var count = 0
    private var shift: UInt64 = 64

    private static let empty = UInt32.max

    static func hash(_ key: ServiceKey) -> UInt64 {
        var h = Hasher()
        h.combine(key)
        return UInt64(bitPattern: Int64(h.finalize()))
    }

    private func slot(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    func find(_ key: ServiceKey, hash: UInt64, key keyAt: (UInt32) -> ServiceKey) -> UInt32? {
        guard count > 0 else { return nil }
        let mask = ids.count - 1
        var i = slot(hash)
        while ids[i] != Self.empty {
            if hashes[i] == hash && keyAt(ids[i]) == key { return ids[i] }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Inserts a key known to be absent.
    mutating func insert(hash: UInt64, id: UInt32) {
        if (count + 1) * 4 > ids.count * 3 { grow() }
        let mask = ids.count - 1
        var i = slot(hash)
        while ids[i] != Self.empty { i = (i + 1) & mask }
        hashes[i] = hash
        ids[i] = id
        count += 1
    }

    mutating func remove(hash: UInt64, id: UInt32) {
        guard count > 0 else { return }
        let mask = ids.count - 1
        var i = slot(hash)
        while ids[i] != Self.empty {
            if ids[i] == id {
                var hole = i
                var j = (i + 1) & mask
                while ids[j] != Self.empty {
                    if canFill(hole: hole, from: j, home: slot(hashes[j])) {
                        hashes[hole] = hashes[j]
                        ids[hole] = ids[j]
                        hole = j
                    }
                    j = (j + 1) & mask
                }
                ids[hole] = Self.empty
                count -= 1
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let newCapacity = max(16, ids.count * 2)
        let oldHashes = hashes, oldIds = ids
        hashes = [UInt64](repeating: 0, count: newCapacity)
        ids = [UInt32](repeating: Self.empty, count: newCapacity)
        shift = UInt64(64 - newCapacity.trailingZeroBitCount)
        count = 0
        for i in oldIds.indices where oldIds[i] != Self.empty { insert(hash: oldHashes[i], id: oldIds[i]) }
    }
}
