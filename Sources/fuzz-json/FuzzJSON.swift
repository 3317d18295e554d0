import FuzzSupport
import KubernetesModel

/// Feeds arbitrary bytes to the JSON reader the daemons use on every API server answer (`JSONText`), as a whole
/// value and as a list the way list responses are split; whatever parses must serialize and parse to the same
/// value, and decode into the object shapes the daemons read (Service, EndpointSlice, Node) or fail cleanly.
func fuzzOne(_ bytes: UnsafeBufferPointer<UInt8>) {
    let input = Array(bytes)
    if let value = try? JSONText.parse(input, maxDepth: 64) {
        let again = try? JSONText.parse(JSONText.serialize(value), maxDepth: 64)
        precondition(again.map(numbersByValue) == numbersByValue(value), "JSON round trip changed the value")
        let decoder = JSONValueDecoder()
        _ = try? decoder.decode(Service.self, from: value)
        _ = try? decoder.decode(EndpointSlice.self, from: value)
        _ = try? decoder.decode(Node.self, from: value)
    }
    if let (_, items) = try? JSONText.splitList(input, maxDepth: 64) {
        for r in items {
            precondition(r.lowerBound >= 0 && r.upperBound <= input.count, "list item range outside the input")
            _ = try? JSONText.parse(input[r], maxDepth: 64)
        }
    }
}

/// The writer puts an integral double as an integer (`-1.5e3` as `-1500`), which reads back as `.int`: the same
/// number, so compare numbers by value.
func numbersByValue(_ v: JSONValue) -> JSONValue {
    switch v {
    case .double(let d) where d.isFinite && d == d.rounded() && abs(d) < 1e15: return .int(Int64(d))
    case .double(let d) where !d.isFinite: return .null
    case .array(let a): return .array(a.map(numbersByValue))
    case .object(let o): return .object(o.mapValues(numbersByValue))
    default: return v
    }
}

#if FUZZING
@_cdecl("fuzz_json_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzzing.runDriver(argc, argv) { data, size in
        fuzzOne(UnsafeBufferPointer(start: data, count: size))
        return 0
    }
}
#else
/// Without libFuzzer: replays files or directories of inputs (the kept corpus).
@main
struct FuzzReplay {
    static func main() { Fuzzing.replay(CommandLine.arguments.dropFirst(), fuzzOne) }
}
#endif
