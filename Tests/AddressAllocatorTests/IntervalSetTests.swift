import Testing
@testable import AddressAllocator

@Suite("Interval set")
struct IntervalSetTests {
    /// Random inserts and removes agree with a plain Set at every step, and the intervals stay maximal.
    @Test("matches a reference set under random operations", arguments: [1, 2, 3, 4, 5])
    func randomAgainstReference(_ seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var set = IntervalSet()
        var reference = Set<UInt128>()
        for _ in 0..<4000 {
            let x = UInt128(rng.next() % 300)
            if rng.next() % 3 == 0 {
                #expect(set.remove(x) == (reference.remove(x) != nil))
            } else {
                #expect(set.insert(x) == reference.insert(x).inserted)
            }
            #expect(set.count == UInt128(reference.count))
        }
        for x in UInt128(0)..<300 { #expect(set.contains(x) == reference.contains(x)) }
        let intervals = set.intervals
        #expect(intervals.reduce(UInt128(0)) { $0 + ($1.upperBound - $1.lowerBound + 1) } == UInt128(reference.count))
        for (a, b) in zip(intervals, intervals.dropFirst()) { #expect(a.upperBound + 1 < b.lowerBound) }
        var lowest = UInt128(0)
        while reference.contains(lowest) { lowest += 1 }
        #expect(set.lowestAbsent() == lowest)
        #expect(set.intervalCount == intervals.count)
    }

    @Test("merges neighbours and splits on removal")
    func mergeAndSplit() {
        var s = IntervalSet()
        for x in [UInt128(1), 3, 2, 10, 9, 11] { s.insert(x) }
        #expect(s.intervals == [1...3, 9...11])
        #expect(s.lowestAbsent() == 0)
        s.insert(0)
        #expect(s.lowestAbsent() == 4)
        s.remove(2)
        #expect(s.intervals == [0...1, 3...3, 9...11])
        #expect(s.lowestAbsent() == 2)
        #expect(s.lowestAbsent(from: 3) == 4)
        #expect(s.interval(containing: 10) == 9...11)
        #expect(s.interval(containing: 5) == nil)
    }

    @Test("handles the ends of the 128-bit space")
    func extremes() {
        var s = IntervalSet()
        s.insert(.max)
        s.insert(.max - 1)
        #expect(s.intervals == [(UInt128.max - 1)...UInt128.max])
        #expect(s.lowestAbsent(from: .max - 1) == nil)
        s.remove(.max)
        #expect(s.lowestAbsent(from: .max - 1) == .max)
        let removed = s.remove(.max - 1)
        #expect(removed)
        #expect(s.isEmpty)
    }

    @Test("a million consecutive values are one interval")
    func consecutive() {
        var s = IntervalSet()
        for x in UInt128(0)..<1_000_000 { s.insert(x) }
        #expect(s.intervalCount == 1)
        #expect(s.lowestAbsent() == 1_000_000)
    }
}
