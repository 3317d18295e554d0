import Foundation
import Testing
@testable import KubernetesModel

func json(_ text: String) -> JSONValue {
    (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .string("<invalid test JSON: \(text)>")
}

@Suite("JSON patches")
struct PatchTests {
    /// RFC 7386 Appendix A, every example.
    @Test("merge patch follows RFC 7386", arguments: [
        (#"{"a":"b"}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"b"}"#, #"{"b":"c"}"#, #"{"a":"b","b":"c"}"#),
        (#"{"a":"b"}"#, #"{"a":null}"#, #"{}"#),
        (#"{"a":"b","b":"c"}"#, #"{"a":null}"#, #"{"b":"c"}"#),
        (#"{"a":["b"]}"#, #"{"a":"c"}"#, #"{"a":"c"}"#),
        (#"{"a":"c"}"#, #"{"a":["b"]}"#, #"{"a":["b"]}"#),
        (#"{"a":{"b":"c"}}"#, #"{"a":{"b":"d","c":null}}"#, #"{"a":{"b":"d"}}"#),
        (#"{"a":[{"b":"c"}]}"#, #"{"a":[1]}"#, #"{"a":[1]}"#),
        (#"["a","b"]"#, #"["c","d"]"#, #"["c","d"]"#),
        (#"{"a":"b"}"#, #"["c"]"#, #"["c"]"#),
        (#"{"a":"foo"}"#, "null", "null"),
        (#"{"a":"foo"}"#, #""bar""#, #""bar""#),
        (#"{"e":null}"#, #"{"a":1}"#, #"{"e":null,"a":1}"#),
        (#"[1,2]"#, #"{"a":"b","c":null}"#, #"{"a":"b"}"#),
        (#"{}"#, #"{"a":{"bb":{"ccc":null}}}"#, #"{"a":{"bb":{}}}"#),
    ])
    func mergePatch(_ original: String, _ patch: String, _ result: String) {
        #expect(MergePatch.apply(json(patch), to: json(original)) == json(result))
    }

    /// The diff is the smallest patch, and applying it reproduces the target.
    @Test("merge patch diff round-trips", arguments: [
        (#"{"a":1,"b":{"c":2,"d":3}}"#, #"{"a":1,"b":{"c":2,"d":4}}"#, #"{"b":{"d":4}}"#),
        (#"{"a":1,"b":2}"#, #"{"a":1}"#, #"{"b":null}"#),
        (#"{"status":{}}"#, #"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1"}]}}}"#, #"{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1"}]}}}"#),
        (#"{"l":[1,2]}"#, #"{"l":[1,3]}"#, #"{"l":[1,3]}"#),
        (#"{"a":{"b":1}}"#, #"{"a":"x"}"#, #"{"a":"x"}"#),
    ])
    func diff(_ from: String, _ to: String, _ expected: String) {
        let patch = MergePatch.diff(from: json(from), to: json(to))
        #expect(patch == json(expected))
        #expect(patch.map { MergePatch.apply($0, to: json(from)) } == json(to))
        #expect(MergePatch.diff(from: json(to), to: json(to)) == nil)
    }

    static func ops(_ text: String) -> [JSONPatch.Operation] {
        (try? JSONDecoder().decode([JSONPatch.Operation].self, from: Data(text.utf8))) ?? []
    }

    /// RFC 6902 Appendix A examples that succeed.
    @Test("JSON patch follows RFC 6902", arguments: [
        (#"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz","value":"qux"}]"#, #"{"baz":"qux","foo":"bar"}"#),
        (#"{"foo":["bar","baz"]}"#, #"[{"op":"add","path":"/foo/1","value":"qux"}]"#, #"{"foo":["bar","qux","baz"]}"#),
        (#"{"baz":"qux","foo":"bar"}"#, #"[{"op":"remove","path":"/baz"}]"#, #"{"foo":"bar"}"#),
        (#"{"foo":["bar","qux","baz"]}"#, #"[{"op":"remove","path":"/foo/1"}]"#, #"{"foo":["bar","baz"]}"#),
        (#"{"baz":"qux","foo":"bar"}"#, #"[{"op":"replace","path":"/baz","value":"boo"}]"#, #"{"baz":"boo","foo":"bar"}"#),
        (#"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#, #"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#,
         #"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#),
        (#"{"foo":["all","grass","cows","eat"]}"#, #"[{"op":"move","from":"/foo/1","path":"/foo/3"}]"#, #"{"foo":["all","cows","eat","grass"]}"#),
        (#"{"baz":"qux","foo":["a",2,"c"]}"#, #"[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]"#, #"{"baz":"qux","foo":["a",2,"c"]}"#),
        (#"{"foo":"bar"}"#, #"[{"op":"add","path":"/child","value":{"grandchild":{}}}]"#, #"{"foo":"bar","child":{"grandchild":{}}}"#),
        (#"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz","value":"qux","xyz":123}]"#, #"{"foo":"bar","baz":"qux"}"#),
        (#"{"/":9,"~1":10}"#, #"[{"op":"test","path":"/~01","value":10}]"#, #"{"/":9,"~1":10}"#),
        (#"{"foo":["bar"]}"#, #"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#, #"{"foo":["bar",["abc","def"]]}"#),
        (#"{"a":{"b":"c"}}"#, #"[{"op":"copy","from":"/a","path":"/d"}]"#, #"{"a":{"b":"c"},"d":{"b":"c"}}"#),
        (#"{"metadata":{"labels":{"a":"b"}}}"#, #"[{"op":"add","path":"/metadata/labels/example.com~1team","value":"x"}]"#, #"{"metadata":{"labels":{"a":"b","example.com/team":"x"}}}"#),
    ])
    func jsonPatch(_ document: String, _ patch: String, _ result: String) throws {
        #expect(try JSONPatch.apply(Self.ops(patch), to: json(document)) == json(result))
    }

    /// Failing operations leave nothing half-applied and say which operation failed and why.
    @Test("JSON patch errors name the operation", arguments: [
        (#"{"baz":"qux"}"#, #"[{"op":"test","path":"/baz","value":"bar"}]"#, "JSON patch operation 0: test failed at /baz"),
        (#"{"foo":"bar"}"#, #"[{"op":"add","path":"/baz/bat","value":"qux"}]"#, "JSON patch operation 0: path /baz/bat does not exist"),
        (#"{"/":9,"~1":10}"#, #"[{"op":"test","path":"/~01","value":"10"}]"#, "JSON patch operation 0: test failed at /~01"),
        (#"{"a":[1]}"#, #"[{"op":"add","path":"/a/5","value":2}]"#, "JSON patch operation 0: index 5 is out of bounds"),
        (#"{"a":1}"#, #"[{"op":"add","path":"/b","value":2},{"op":"remove","path":"/zz"}]"#, "JSON patch operation 1: path /zz does not exist"),
        (#"{"a":1}"#, #"[{"op":"frobnicate","path":"/a"}]"#, "JSON patch operation 0: unknown op \"frobnicate\""),
        (#"{"a":1}"#, #"[{"op":"add","path":"a","value":1}]"#, "JSON patch operation 0: path \"a\" must start with /"),
        (#"{"a":{"b":1}}"#, #"[{"op":"move","from":"/a","path":"/a/c"}]"#, "JSON patch operation 0: cannot move /a into its own child /a/c"),
        (#"{"a":[1]}"#, #"[{"op":"remove","path":"/a/01"}]"#, "JSON patch operation 0: index 01 is out of bounds"),
    ])
    func jsonPatchErrors(_ document: String, _ patch: String, _ message: String) {
        #expect(throws: JSONPatch.Failure.self) { try JSONPatch.apply(Self.ops(patch), to: json(document)) }
        do {
            _ = try JSONPatch.apply(Self.ops(patch), to: json(document))
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("JSON values decode numbers, booleans and nulls distinctly")
    func values() {
        #expect(json("1") == .int(1))
        #expect(json("1.5") == .double(1.5))
        #expect(json("true") == .bool(true))
        #expect(json("null") == .null)
        #expect(json(#"{"a":[1,"x",false]}"#) == .object(["a": .array([.int(1), .string("x"), .bool(false)])]))
    }
}
