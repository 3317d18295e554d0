/// An exact count of IP addresses, up to and including all 2^128 IPv6 addresses (which does not fit in
/// `UInt128`) and sums of several such spaces. MetalLB saturates large IPv6 counts at `Int64.max`; Beacon keeps
/// them exact and only saturates when a consumer (an `int64` status field, a float metric) needs it.
public struct AddressCount: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// Bits 0–127.
    public private(set) var low: UInt128
    /// Bits 128–191.
    public private(set) var high: UInt64

    public static let zero = AddressCount(0)

    public init(_ value: UInt128) {
        low = value
        high = 0
    }

    public init(integerLiteral value: UInt64) { self.init(UInt128(value)) }

    init(high: UInt64, low: UInt128) {
        self.high = high
        self.low = low
    }

    /// 2^bits, for the size of a prefix with `bits` host bits (0...128).
    public static func powerOfTwo(_ bits: Int) -> AddressCount {
        precondition(bits >= 0 && bits <= 128)
        return bits == 128 ? AddressCount(high: 1, low: 0) : AddressCount(UInt128(1) << UInt128(bits))
    }

    /// The number of addresses from `first` through `last` inclusive (`last - first + 1`).
    public static func inclusive(from first: UInt128, to last: UInt128) -> AddressCount {
        precondition(first <= last)
        let diff = last - first
        return diff == .max ? AddressCount(high: 1, low: 0) : AddressCount(diff + 1)
    }

    public static func + (lhs: AddressCount, rhs: AddressCount) -> AddressCount {
        let (l, carry) = lhs.low.addingReportingOverflow(rhs.low)
        return AddressCount(high: lhs.high &+ rhs.high &+ (carry ? 1 : 0), low: l)
    }

    public static func += (lhs: inout AddressCount, rhs: AddressCount) { lhs = lhs + rhs }

    /// Subtraction clamps at zero: a count is never negative.
    public static func - (lhs: AddressCount, rhs: AddressCount) -> AddressCount {
        guard lhs > rhs else { return .zero }
        let (l, borrow) = lhs.low.subtractingReportingOverflow(rhs.low)
        return AddressCount(high: lhs.high - rhs.high - (borrow ? 1 : 0), low: l)
    }

    public static func -= (lhs: inout AddressCount, rhs: AddressCount) { lhs = lhs - rhs }

    public static func < (lhs: AddressCount, rhs: AddressCount) -> Bool {
        lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
    }

    /// The count clamped to `Int64.max`, for Kubernetes `int64` status fields.
    public var int64Saturated: Int64 {
        high == 0 && low <= UInt128(Int64.max) ? Int64(low) : .max
    }

    /// The nearest `Double`, for Prometheus gauges (exact up to 2^53).
    public var doubleValue: Double {
        Double(high) * 0x1p128 + Double(low)
    }

    /// Exact decimal text.
    public var description: String {
        if high == 0 { return String(low) }
        // Long division of the 192-bit value by 10^19 in three 64-bit limbs.
        var limbs: [UInt64] = [high, UInt64(truncatingIfNeeded: low >> 64), UInt64(truncatingIfNeeded: low)]
        let chunk: UInt64 = 10_000_000_000_000_000_000
        var parts: [UInt64] = []
        while limbs.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for i in limbs.indices {
                let (q, r) = chunk.dividingFullWidth((high: remainder, low: limbs[i]))
                limbs[i] = q
                remainder = r
            }
            parts.append(remainder)
        }
        var s = String(parts.last ?? 0)
        for part in parts.dropLast().reversed() {
            let digits = String(part)
            s += String(repeating: "0", count: 19 - digits.count) + digits
        }
        return s
    }
}
