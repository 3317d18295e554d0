import Foundation
import TestSupport
import Testing
@testable import KubernetesModel
@testable import fuzz_json

@Suite("JSON text")
struct JSONTextTests {
    /// Every value shape survives serialize → parse, and agrees with Foundation's decoder.
    @Test("round trips", arguments: [
        #"{"a":[1,-2,3.5,true,false,null,"x"],"b":{"c":"é\n\t\"\\"},"d":[]}"#, #"[]"#, #"{}"#, #""\u0001""#,
        #"1e3"#, #"-0.25"#, #""\ud83d\ude00""#, #"9223372036854775807"#,
    ])
    func roundTrip(_ text: String) throws {
        let v = try JSONText.parse(text)
        // Text is stable after one pass (1e3 becomes 1000, which then stays 1000).
        #expect(JSONText.serialize(try JSONText.parse(JSONText.serialize(v)), sortedKeys: true) == JSONText.serialize(v, sortedKeys: true))
        let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(JSONText.string(v, sortedKeys: true) == JSONText.string(foundation, sortedKeys: true))
    }

    /// Malformed input is an error that names its byte offset.
    @Test("errors", arguments: [
        ("{", 1), ("[1,]", 3), ("{\"a\" 1}", 5), ("01", 2), ("\"abc", 4), ("tru", 0), ("[1] x", 4), ("\"\\x\"", 3),
        ("\"\u{01}\"", 1), ("1.", 2), ("\"\\ud800\"", 7),
    ])
    func errors(_ text: String, _ offset: Int) {
        do {
            _ = try JSONText.parse(text)
            Issue.record("\(text) must not parse")
        } catch {
            #expect(error.offset == offset, "\(text): \(error)")
        }
    }

    /// Nesting beyond the limit is refused instead of exhausting the stack.
    @Test("depth limit")
    func depth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONText.ParseError.self) { try JSONText.parse(deep) }
        #expect((try? JSONText.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))) != nil)
    }

    /// Invalid UTF-8 inside a string is refused.
    @Test("invalid UTF-8")
    func utf8() {
        #expect(throws: JSONText.ParseError.self) { try JSONText.parse([0x22, 0xFF, 0x22]) }
    }
}

/// The kept fuzz corpus, replayed through the fuzzer's own harness (parse, round trip, split, decode).
@Suite("JSON: fuzz corpus")
struct JSONFuzzCorpusTests {
    @Test("every kept fuzz input parses or is refused, and round-trips when it parses")
    func replay() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures/fuzz-corpus", withExtension: nil))
        #expect(try replayCorpus(dir, into: { fuzz_json.fuzzOne($0) }) >= 6)
    }
}
