import Testing
@testable import KubernetesModel

@Suite("Label selectors")
struct LabelSelectorTests {
    static let node: [String: String] = ["kubernetes.io/hostname": "node1", "rack": "a", "zone": "east"]

    /// Selector evaluation follows the API server: all terms must hold, empty matches everything.
    @Test("match as the API server evaluates them", arguments: [
        (LabelSelector(), true),
        (LabelSelector(matchLabels: ["rack": "a"]), true),
        (LabelSelector(matchLabels: ["rack": "b"]), false),
        (LabelSelector(matchLabels: ["rack": "a", "zone": "west"]), false),
        (LabelSelector(matchExpressions: [.init(key: "rack", operator: .in, values: ["a", "b"])]), true),
        (LabelSelector(matchExpressions: [.init(key: "rack", operator: .notIn, values: ["a"])]), false),
        (LabelSelector(matchExpressions: [.init(key: "missing", operator: .notIn, values: ["a"])]), true),
        (LabelSelector(matchExpressions: [.init(key: "missing", operator: .in, values: ["a"])]), false),
        (LabelSelector(matchExpressions: [.init(key: "zone", operator: .exists)]), true),
        (LabelSelector(matchExpressions: [.init(key: "zone", operator: .doesNotExist)]), false),
        (LabelSelector(matchExpressions: [.init(key: "gpu", operator: .doesNotExist)]), true),
        (LabelSelector(matchLabels: ["rack": "a"], matchExpressions: [.init(key: "zone", operator: .in, values: ["west"])]), false),
    ])
    func matching(_ selector: LabelSelector, _ expected: Bool) {
        #expect(selector.matches(Self.node) == expected)
    }

    @Test("reports syntax problems with their paths", arguments: [
        (LabelSelector(matchLabels: ["ok": "fine"]), [String]()),
        (LabelSelector(matchLabels: ["bad key": "x"]), ["matchLabels"]),
        (LabelSelector(matchLabels: ["k": String(repeating: "v", count: 64)]), ["matchLabels[k]"]),
        (LabelSelector(matchExpressions: [.init(key: "k", operator: .in)]), ["matchExpressions[0].values"]),
        (LabelSelector(matchExpressions: [.init(key: "k", operator: .exists, values: ["v"])]), ["matchExpressions[0].values"]),
        (LabelSelector(matchExpressions: [.init(key: "example.com/k", operator: .in, values: ["-v"])]), ["matchExpressions[0].values[0]"]),
        (LabelSelector(matchExpressions: [.init(key: "Example.com/k", operator: .exists)]), ["matchExpressions[0].key"]),
    ])
    func problems(_ selector: LabelSelector, _ paths: [String]) {
        #expect(selector.problems().map(\.path) == paths)
    }

    @Test("prints kubectl selector syntax")
    func description() {
        let s = LabelSelector(matchLabels: ["b": "2", "a": "1"], matchExpressions: [
            .init(key: "c", operator: .in, values: ["y", "x"]), .init(key: "d", operator: .notIn, values: ["z"]),
            .init(key: "e", operator: .exists), .init(key: "f", operator: .doesNotExist),
        ])
        #expect(s.description == "a=1,b=2,c in (x,y),d notin (z),e,!f")
    }

    /// Overlap is conservative: false only for outright contradictions.
    @Test("detects selectors that can never select the same labels", arguments: [
        (LabelSelector(matchLabels: ["rack": "a"]), LabelSelector(matchLabels: ["rack": "b"]), false),
        (LabelSelector(matchLabels: ["rack": "a"]), LabelSelector(matchLabels: ["zone": "b"]), true),
        (LabelSelector(matchLabels: ["rack": "a"]), LabelSelector(), true),
        (LabelSelector(matchExpressions: [.init(key: "k", operator: .exists)]), LabelSelector(matchExpressions: [.init(key: "k", operator: .doesNotExist)]), false),
        (LabelSelector(matchExpressions: [.init(key: "k", operator: .in, values: ["a", "b"])]), LabelSelector(matchExpressions: [.init(key: "k", operator: .in, values: ["b", "c"])]), true),
        (LabelSelector(matchExpressions: [.init(key: "k", operator: .in, values: ["a"])]), LabelSelector(matchExpressions: [.init(key: "k", operator: .notIn, values: ["a"])]), false),
        (LabelSelector(matchLabels: ["k": "a"]), LabelSelector(matchExpressions: [.init(key: "k", operator: .doesNotExist)]), false),
    ])
    func overlap(_ a: LabelSelector, _ b: LabelSelector, _ expected: Bool) {
        #expect(a.mayOverlap(b) == expected)
        #expect(b.mayOverlap(a) == expected)
    }

    @Test("empty selector lists mean everything when compared")
    func listOverlap() {
        let a = [LabelSelector(matchLabels: ["rack": "a"])]
        let b = [LabelSelector(matchLabels: ["rack": "b"])]
        #expect(![LabelSelector]().isEmpty || [LabelSelector]().mayOverlap(a))
        #expect(!a.mayOverlap(b))
        #expect(a.mayOverlap(b + a))
    }

    @Test("decodes from the API's JSON with absent lists")
    func codable() throws {
        let json = #"{"matchExpressions":[{"key":"k","operator":"Exists"}]}"#
        let s = try JSONDecoder().decode(LabelSelector.self, from: Data(json.utf8))
        #expect(s.matchLabels.isEmpty)
        #expect(s.matchExpressions == [.init(key: "k", operator: .exists)])
        let back = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(LabelSelector.self, from: back) == s)
    }
}

@Suite("Name validation")
struct NameValidationTests {
    @Test("DNS-1123 subdomains", arguments: [
        ("edge", true), ("edge-pool.v2", true), ("a", true), ("Edge", false), ("-edge", false), ("edge-", false),
        ("ed_ge", false), ("", false), (String(repeating: "a", count: 254), false), ("a..b", false),
    ])
    func subdomain(_ name: String, _ valid: Bool) {
        #expect((NameValidation.dns1123Subdomain(name) == nil) == valid)
    }

    @Test("label keys and values", arguments: [
        ("app", "web", true), ("example.com/app", "web-1.2_3", true), ("app", "", true), ("/app", "x", false),
        ("app/", "x", false), ("a b", "x", false), ("app", "-x", false), (String(repeating: "k", count: 64), "x", false),
    ])
    func labels(_ key: String, _ value: String, _ valid: Bool) {
        #expect((NameValidation.labelKey(key) == nil && NameValidation.labelValue(value) == nil) == valid)
    }
}

import Foundation
