import Testing
@testable import LoadBalancerConfig

/// Input that is not a configuration at all: every case is an error value with a clear message, never a crash.
@Suite("Malformed input")
struct MalformedInputTests {
    private func firstError(_ source: ConfigSource, reader: ConfigDocumentReader = ConfigDocumentReader()) -> ConfigIssue? {
        do {
            _ = try ConfigurationLoader(reader: reader).load([source])
            return nil
        } catch {
            return error.errors.first
        }
    }

    @Test("YAML syntax errors give line and column", arguments: [
        ("key: [1, 2\n", "YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence", 2, 1),
        ("a: b\n c: d\n", "YAML syntax error: mapping values are not allowed in this context", 2, 3),
        ("a: \"unclosed\n", "YAML syntax error: found unexpected end of stream while scanning a quoted scalar", 2, 1),
        ("a:\n\t- b\n", "YAML syntax error: found character that cannot start any token while scanning for the next token", 2, 1),
        ("- a\nb: c\n", "YAML syntax error: did not find expected '-' indicator while parsing a block collection", 2, 1),
        ("a: *nope\n", "YAML syntax error: found undefined alias", 1, 4),
    ])
    func syntax(_ text: String, _ message: String, _ line: Int, _ column: Int) throws {
        let issue = try #require(firstError(ConfigSource(name: "bad.yaml", text: text)))
        #expect(issue.message == message)
        #expect(issue.position?.line == line)
        #expect(issue.position?.column == column)
        #expect(issue.position?.file == "bad.yaml")
    }

    @Test("duplicate keys are an error")
    func duplicateKeys() throws {
        let issue = try #require(firstError(ConfigSource(name: "d.yaml", text: "apiVersion: v1\napiVersion: v2\nkind: X\n")))
        #expect(issue.message.contains("apiVersion"))
    }

    @Test("binary junk is rejected as not text")
    func binary() throws {
        var bytes: [UInt8] = []
        var seed: UInt32 = 12345
        for _ in 0..<4096 {
            seed = seed &* 1_103_515_245 &+ 12345
            bytes.append(UInt8(truncatingIfNeeded: seed >> 16))
        }
        let issue = try #require(firstError(ConfigSource(name: "junk.bin", bytes: bytes)))
        #expect(issue.message.hasPrefix("is not UTF-8 text (invalid byte at offset"))
        let nul = try #require(firstError(ConfigSource(name: "nul.yaml", bytes: Array("a: b\n\u{0}c: d".utf8))))
        #expect(nul.message.contains("U+0"))
        #expect(nul.position?.line == 2)
    }

    @Test("a 10 MB file is refused with its size")
    func huge() throws {
        let line = "# " + String(repeating: "x", count: 98) + "\n"
        let text = String(repeating: line, count: 100_000)
        let issue = try #require(firstError(ConfigSource(name: "big.yaml", text: text)))
        #expect(issue.message == "is 10100000 bytes, more than the 8388608-byte limit for configuration")
    }

    @Test("a large but legal file is read")
    func largeLegal() throws {
        var docs: [String] = []
        for i in 0..<3000 { docs.append(pool("p\(i)", ["10.\(i / 256).\(i % 256).0/24"])) }
        let loaded = try ConfigurationLoader().load([ConfigSource(name: "many.yaml", text: docs.joined(separator: "\n---\n"))])
        #expect(loaded.configuration.pools.count == 3000)
    }

    @Test("deep nesting is refused before the parser recurses")
    func deepNesting() throws {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let issue = try #require(firstError(ConfigSource(name: "deep.yaml", text: text)))
        #expect(issue.message == "nests collections deeper than 128 levels (129)")
    }

    @Test("an alias bomb is stopped by the node budget")
    func aliasBomb() throws {
        var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        var previous = "a"
        for level in "bcdefgh" {
            let refs = Array(repeating: "*\(previous)", count: 10).joined(separator: ", ")
            text += "\(level): &\(level) [\(refs)]\n"
            previous = String(level)
        }
        let issue = try #require(firstError(ConfigSource(name: "bomb.yaml", text: text)))
        #expect(issue.message == "expands to more than \(10_000 + 4 * text.utf8.count) values (an alias bomb?)")
        // A legitimate anchor, reused a few times, is fine.
        let shared = "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2}\nspec:\n  nodeSelectors: &nodes [{matchLabels: {rack: a}}]\n  serviceSelectors: *nodes\n"
        #expect(errors(shared) == [])
    }

    @Test("a list where a map belongs, and a map where a list belongs")
    func wrongShapes() {
        #expect(errors(object("IPAddressPool", "p", "{addresses: {a: b}}")) == ["IPAddressPool/p: spec.addresses: expected a list, got map", "IPAddressPool/p: spec.addresses: pool has no prefixes defined"])
        #expect(errors("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: [p]\nspec: {}") == ["IPAddressPool/?: metadata.name: every object needs a name", "IPAddressPool/?: metadata: expected a map, got list"])
        #expect(errors("apiVersion: metallb.io/v1beta1\nkind: [IPAddressPool]\n") == ["kind: every object needs a kind (IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, Community, BFDProfile)"])
    }

    @Test("a mapping key that is a collection")
    func complexKey() throws {
        let issue = try #require(firstError(ConfigSource(name: "k.yaml", text: "? [a, b]\n: c\n")))
        #expect(issue.message == "a mapping key must be a plain string, not a collection")
    }

    @Test("the kept fuzz corpus replays without a crash")
    func fuzzCorpus() throws {
        let urls = try FileManager.default.contentsOfDirectory(at: try #require(Bundle.module.url(forResource: "Fixtures/fuzz-corpus", withExtension: nil)), includingPropertiesForKeys: nil)
        #expect(urls.count >= 10)
        for url in urls {
            let bytes = [UInt8](try Data(contentsOf: url))
            let source = ConfigSource(name: url.lastPathComponent, bytes: bytes)
            // Either outcome is fine; reaching the end is the assertion.
            _ = try? ConfigurationLoader().load([source])
        }
    }
}

import Foundation
