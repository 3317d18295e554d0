import Testing
@testable import KubernetesClient

/// The informer cache's table against a Dictionary doing the same operations.
@Suite struct RecordTableTests {
    final class Box: Sendable {
        let value: Int
        init(_ value: Int) { self.value = value }
    }

    /// A small deterministic generator, so a failure replays.
    struct SplitMix {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }

    static func check(_ table: RecordTable, _ model: [ObjectKey: Int], _ step: String) {
        #expect(table.count == model.count, "\(step): count")
        var seen: [ObjectKey: Int] = [:]
        for (key, record) in table { seen[key] = (record as! Box).value }
        #expect(seen == model, "\(step): iteration")
        for (key, value) in model { #expect((table[key] as? Box)?.value == value, "\(step): \(key)") }
    }

    @Test("random puts, replaces and removes match a Dictionary", arguments: [(1, 40), (2, 400), (3, 3000), (4, 20)])
    func randomOperations(seed: UInt64, keys: Int) {
        var rng = SplitMix(state: seed)
        var table = RecordTable()
        var model: [ObjectKey: Int] = [:]
        // Namespaces long enough to be heap strings, and the empty one of cluster-scoped objects.
        let namespaces = ["", "default", "a-namespace-longer-than-fifteen", "kube-system"]
        for step in 0..<(keys * 12) {
            let key = ObjectKey(namespace: namespaces[rng.next(namespaces.count)], name: "svc-\(rng.next(keys))")
            switch rng.next(10) {
            case 0..<5:
                table[key] = Box(step)
                model[key] = step
            case 5..<9:
                let removed = table.removeValue(forKey: key) as? Box
                #expect(removed?.value == model.removeValue(forKey: key), "step \(step): removed value")
            default:
                #expect((table[key] as? Box)?.value == model[key], "step \(step): lookup")
            }
            if step % max(1, keys / 4) == 0 { Self.check(table, model, "step \(step)") }
        }
        Self.check(table, model, "end")
        // Empty it: the arrays and the index shrink, and it still works after.
        for key in model.keys { table[key] = nil }
        model = [:]
        Self.check(table, model, "emptied")
        table[ObjectKey(namespace: "default", name: "again")] = Box(7)
        #expect((table[ObjectKey(namespace: "default", name: "again")] as? Box)?.value == 7)
        #expect(table[ObjectKey(namespace: "other", name: "again")] == nil)
    }

    @Test("namespace and name are one key: a/bc is not ab/c")
    func keyBoundaries() {
        var table = RecordTable()
        table[ObjectKey(namespace: "a", name: "bc")] = Box(1)
        table[ObjectKey(namespace: "ab", name: "c")] = Box(2)
        table[ObjectKey(namespace: nil, name: "abc")] = Box(3)
        #expect(table.count == 3)
        #expect((table[ObjectKey(namespace: "a", name: "bc")] as? Box)?.value == 1)
        #expect((table[ObjectKey(namespace: "ab", name: "c")] as? Box)?.value == 2)
        #expect((table[ObjectKey(namespace: "", name: "abc")] as? Box)?.value == 3)
        #expect(table.keys.sorted() == [ObjectKey(namespace: "", name: "abc"), ObjectKey(namespace: "a", name: "bc"),
                                        ObjectKey(namespace: "ab", name: "c")])
    }

    @Test("a namespace whose last object goes can come back")
    func namespaceReuse() {
        var table = RecordTable()
        table[ObjectKey(namespace: "one", name: "x")] = Box(1)
        table[ObjectKey(namespace: "one", name: "x")] = nil
        table[ObjectKey(namespace: "two", name: "x")] = Box(2)
        table[ObjectKey(namespace: "one", name: "y")] = Box(3)
        #expect(table[ObjectKey(namespace: "one", name: "x")] == nil)
        #expect((table[ObjectKey(namespace: "two", name: "x")] as? Box)?.value == 2)
        #expect((table[ObjectKey(namespace: "one", name: "y")] as? Box)?.value == 3)
        #expect(Set(table.keys) == [ObjectKey(namespace: "two", name: "x"), ObjectKey(namespace: "one", name: "y")])
    }
}
