import BeaconLab
import Crypto
import Foundation
import Testing

extension Tag {
    @Tag static var privileged: Self
}

/// A lab per test: unique namespace names, torn down even when the test fails.
enum LabFixture {
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    static func withLab(nodes: Int = 3, configure: (inout Lab.Options) -> Void = { _ in },
                        _ body: @escaping @Sendable (Lab) async throws -> Void) async throws {
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        var options = Lab.Options(prefix: "bt\(id)", binDirectory: root.appendingPathComponent(".build/debug").path,
                                  workDirectory: NSTemporaryDirectory() + "beacon-lab-\(id)")
        options.nodes = nodes
        // Debug builds on a loaded 2-core runner: a longer timeout than production's 150 ms avoids false deaths.
        options.membershipInterval = 50
        options.membershipTimeout = 400
        options.logLevel = "debug"
        configure(&options)
        do {
            try await Lab.with(options) { lab in
                do { try await body(lab) } catch {
                    await dumpLogs(lab)
                    throw error
                }
            }
        } catch {
            // The lab keeps its work directory on error for a person to read; a test has printed the logs' tails.
            try? FileManager.default.removeItem(atPath: options.workDirectory)
            throw error
        }
    }

    static func dumpLogs(_ lab: Lab) async {
        for name in ["controller"] + lab.nodeIndices.map(lab.nodeName) {
            if let p = lab.process(name) { print("---- \(name) log (tail) ----\n\(p.log.split(separator: "\n").suffix(40).joined(separator: "\n"))") }
        }
    }

    /// MetalLB's ranking: the node with the lowest SHA-256 of `node#ip` among `nodes`.
    static func expectedOwner(_ ip: String, among nodes: [String]) -> String? {
        nodes.min { a, b in
            Array(SHA256.hash(data: Array("\(a)#\(ip)".utf8))).lexicographicallyPrecedes(Array(SHA256.hash(data: Array("\(b)#\(ip)".utf8))))
        }
    }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass.
    static func eventually(_ seconds: Double = 20, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}
