/// When to send gratuitous ARP / unsolicited NA after taking an address over: the first frame at once (it is what
/// moves the traffic), then repeats for neighbours that missed it (a busy switch, a host whose `locktime` held the
/// old entry). MetalLB sends about 5 over a few seconds; the default here is 5 frames over 2 s.
public struct GratuitousSchedule: Hashable, Sendable {
    /// Offsets from the decision, ascending; the first is normally zero.
    public var offsets: [Duration]

    public init(offsets: [Duration]) {
        self.offsets = offsets.sorted()
    }

    public static let `default` = GratuitousSchedule(offsets: [.zero, .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2)])

    /// `count` frames `interval` apart, starting now.
    public static func evenly(count: Int, interval: Duration) -> GratuitousSchedule {
        GratuitousSchedule(offsets: (0..<max(0, count)).map { interval * $0 })
    }

    /// Parses `0,250ms,500ms,1s,2s` (`ms` or `s`; a bare number is milliseconds).
    public init(_ text: String) throws(LinkLayerError) {
        var out: [Duration] = []
        for part in text.split(separator: ",") {
            let p = part.trimmingWhitespace
            let (number, scale): (Substring, Double) = p.hasSuffix("ms") ? (p.dropLast(2), 1) : p.hasSuffix("s") ? (p.dropLast(), 1000) : (p, 1)
            guard let v = Double(number), v >= 0, v <= 3_600_000 else {
                throw LinkLayerError(.schedule, "\"\(p)\" is not a duration like 250ms or 1s")
            }
            out.append(.microseconds(Int64(v * scale * 1000)))
        }
        guard !out.isEmpty else { throw LinkLayerError(.schedule, "no offsets") }
        self.init(offsets: out)
    }
}

extension Substring {
    var trimmingWhitespace: Substring {
        var s = self
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return s
    }
}
