import KubernetesModel
import Testing
@testable import AddressAllocator

@Suite("Hash tables")
struct HashTableTests {
    /// Random, dense and strided keys with heavy deletion: the table always agrees with a Dictionary.
    @Test("IndexTable matches a Dictionary", arguments: [
        ("random", UInt64(1)), ("dense", UInt64(2)), ("strided", UInt64(3)), ("high bits", UInt64(4)),
    ])
    func indexTable(_ pattern: String, _ seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var table = IndexTable()
        var reference: [UInt128: UInt32] = [:]
        func key(_ i: UInt64) -> UInt128 {
            switch pattern {
            case "dense": return UInt128(i % 5000)
            case "strided": return UInt128(i % 3000) << 20
            case "high bits": return UInt128(i % 3000) << 100 | 7
            default: return UInt128(rng.next()) << 64 | UInt128(rng.next() % 4000)
            }
        }
        for step in 0..<20_000 {
            let k = key(rng.next())
            switch rng.next() % 3 {
            case 0:
                #expect(table.remove(k) == reference.removeValue(forKey: k), "step \(step)")
            default:
                let v = UInt32(truncatingIfNeeded: rng.next() % 1_000_000)
                #expect(table.set(k, v) == reference.updateValue(v, forKey: k), "step \(step)")
            }
            #expect(table.count == reference.count)
        }
        for (k, v) in reference { #expect(table[k] == v) }
        for _ in 0..<2000 {
            let k = key(rng.next())
            #expect(table[k] == reference[k])
        }
    }

    /// The ServiceTable finds every live key after many inserts and removals, and nothing else.
    @Test("ServiceTable matches a Dictionary", arguments: [UInt64(1), 2, 3])
    func serviceTable(_ seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var table = ServiceTable()
        var keys: [ServiceKey] = []  // id → key
        var live: [ServiceKey: UInt32] = [:]
        for _ in 0..<20_000 {
            let key = ServiceKey(namespace: "ns\(rng.next() % 7)", name: "svc-\(rng.next() % 3000)")
            let hash = ServiceTable.hash(key)
            let found = table.find(key, hash: hash) { keys[Int($0)] }
            #expect(found == live[key])
            if let id = found, rng.next() % 2 == 0 {
                table.remove(hash: hash, id: id)
                live[key] = nil
            } else if found == nil {
                let id = UInt32(keys.count)
                keys.append(key)
                table.insert(hash: hash, id: id)
                live[key] = id
            }
            #expect(table.count == live.count)
        }
        for (key, id) in live { #expect(table.find(key, hash: ServiceTable.hash(key)) { keys[Int($0)] } == id) }
    }
}
