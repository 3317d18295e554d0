/// An informer's cache: one record per object, by namespace and name.
///
/// A `[ObjectKey: record]` dictionary costs 40 bytes a slot (two strings and a reference), with a quarter of its slots
/// or more empty: 655 KB for 10,000 objects, in a 768 KB allocation. Here the names and records sit in dense arrays,
/// the namespaces interned (a cluster has few, and each object decoded its own copy), 28 bytes an object, found
/// through an open-addressed index of 4-byte positions (linear probing, at most 3/4 full, deletion by backward shift:
/// no tombstones): about 350 KB for 10,000. The arrays grow by a quarter, not double, and shrink when most of them is
/// empty.
struct RecordTable: Sequence {
    typealias Record = any AnyObject & Sendable

    private var names: [String] = []
    private var spaces: [UInt32] = []
    private var records: [Record] = []
    /// Each entry's position in the arrays, or -1; the count is a power of two (or zero).
    private var slots: [Int32] = []
    private var namespaces = Interned()

    init() {}

    init(minimumCapacity: Int) { reserveCapacity(minimumCapacity) }

    var count: Int { names.count }

    subscript(key: ObjectKey) -> Record? {
        get { find(key).entry.map { records[Int($0)] } }
        set {
            if let newValue { put(newValue, for: key) } else { removeValue(forKey: key) }
        }
    }

    mutating func reserveCapacity(_ n: Int) {
        guard n > names.capacity else { return }
        names.reserveCapacity(n)
        spaces.reserveCapacity(n)
        records.reserveCapacity(n)
        if Self.slotCount(for: n) > slots.count { rehash(slotCount: Self.slotCount(for: n)) }
    }

    @discardableResult
    mutating func removeValue(forKey key: ObjectKey) -> Record? {
        let (slot, found) = find(key)
        guard let found else { return nil }
        let i = Int(found)
        let record = records[i]
        vacate(slot)
        namespaces.release(spaces[i])
        // The last entry moves into the gap; its slot follows.
        let last = names.count - 1
        if i != last {
            let moved = slotOf(entry: Int32(last))
            names.swapAt(i, last)
            spaces.swapAt(i, last)
            records.swapAt(i, last)
            slots[moved] = Int32(i)
        }
        names.removeLast()
        spaces.removeLast()
        records.removeLast()
        if slots.count > 64, names.count < slots.count / 8 { compact() }
        return record
    }

    func makeIterator() -> AnyIterator<(key: ObjectKey, record: Record)> {
        var i = 0
        return AnyIterator {
            guard i < names.count else { return nil }
            defer { i += 1 }
            return (key(at: i), records[i])
        }
    }

    var keys: [ObjectKey] { names.indices.map(key(at:)) }

    // MARK: - Internals

    private func key(at i: Int) -> ObjectKey {
        ObjectKey(namespace: namespaces.names[Int(spaces[i])], name: names[i])
    }

    private static func hash(_ namespace: String, _ name: String) -> Int {
        var h = Hasher()
        h.combine(namespace)
        h.combine(name)
        return h.finalize()
    }

    private static func slotCount(for n: Int) -> Int {
        var c = 8
        while c * 3 / 4 < n { c *= 2 }
        return c
    }

    /// The slot holding `key`, and its entry; or the empty slot where it would go.
    private func find(_ key: ObjectKey) -> (slot: Int, entry: Int32?) {
        guard !slots.isEmpty else { return (0, nil) }
        let mask = slots.count - 1
        var s = Self.hash(key.namespace, key.name) & mask
        while true {
            let e = slots[s]
            if e < 0 { return (s, nil) }
            if names[Int(e)] == key.name, namespaces.names[Int(spaces[Int(e)])] == key.namespace { return (s, e) }
            s = (s + 1) & mask
        }
    }

    private func home(of entry: Int32) -> Int {
        Self.hash(namespaces.names[Int(spaces[Int(entry)])], names[Int(entry)]) & (slots.count - 1)
    }

    private func slotOf(entry: Int32) -> Int {
        let mask = slots.count - 1
        var s = home(of: entry)
        while slots[s] != entry { s = (s + 1) & mask }
        return s
    }

    private mutating func put(_ record: Record, for key: ObjectKey) {
        if case (_, let found?) = find(key) {
            records[Int(found)] = record
            return
        }
        if names.count + 1 > slots.count * 3 / 4 { rehash(slotCount: Self.slotCount(for: names.count + 1)) }
        if names.count == names.capacity {
            // A quarter more, not double: a table of 10,000 does not sit in room for 16,384.
            let grown = Swift.max(16, names.count + names.count / 4)
            names.reserveCapacity(grown)
            spaces.reserveCapacity(grown)
            records.reserveCapacity(grown)
        }
        let slot = find(key).slot
        slots[slot] = Int32(names.count)
        names.append(key.name)
        spaces.append(namespaces.retain(key.namespace))
        records.append(record)
    }

    /// Empties `slot` and shifts back the entries after it that probing would no longer reach.
    private mutating func vacate(_ slot: Int) {
        let mask = slots.count - 1
        var hole = slot
        var j = slot
        while true {
            j = (j + 1) & mask
            let e = slots[j]
            if e < 0 { break }
            let h = home(of: e)
            // The entry at j may fill the hole if its home is not cyclically within (hole, j].
            let reachable = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !reachable {
                slots[hole] = e
                hole = j
            }
        }
        slots[hole] = -1
    }

    private mutating func rehash(slotCount: Int) {
        slots = [Int32](repeating: -1, count: slotCount)
        let mask = slotCount - 1
        for i in names.indices {
            var s = Self.hash(namespaces.names[Int(spaces[i])], names[i]) & mask
            while slots[s] >= 0 { s = (s + 1) & mask }
            slots[s] = Int32(i)
        }
    }

    /// Copies the arrays to their size and the index to the smallest that fits.
    private mutating func compact() {
        names = names.withUnsafeBufferPointer { Array($0) }
        spaces = spaces.withUnsafeBufferPointer { Array($0) }
        records = records.withUnsafeBufferPointer { Array($0) }
        rehash(slotCount: Self.slotCount(for: names.count))
    }

    /// Namespace names by number, each kept while some entry uses it.
    struct Interned {
        private(set) var names: [String] = []
        private var numbers: [String: UInt32] = [:]
        private var uses: [Int] = []
        private var free: [UInt32] = []

        mutating func retain(_ name: String) -> UInt32 {
            if let n = numbers[name] {
                uses[Int(n)] += 1
                return n
            }
            let n: UInt32
            if let reused = free.popLast() {
                n = reused
                names[Int(n)] = name
                uses[Int(n)] = 1
            } else {
                n = UInt32(names.count)
                names.append(name)
                uses.append(1)
            }
            numbers[name] = n
            return n
        }

        mutating func release(_ n: UInt32) {
            uses[Int(n)] -= 1
            guard uses[Int(n)] == 0 else { return }
            numbers[names[Int(n)]] = nil
            names[Int(n)] = ""
            free.append(n)
        }
    }
}
