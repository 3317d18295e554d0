import Foundation
import KubernetesModel
import TestSupport
import Testing
@testable import KubernetesClient
@testable import KubernetesEmulator

/// An API server (or something in its place) that answers garbage, a cut-off list, a body larger than any real
/// answer, or a run of 500s: the informer retries with backoff, keeps no unbounded buffer, and syncs once the
/// server answers properly.
@Suite("Kubernetes client: hostile answers", .timeLimit(.minutes(2)), .dedicatedThreads)
struct HostileAnswerTests {
    @Test("an informer retries through broken list answers and then syncs", arguments: [
        (#"{"answer": "garbage", "count": 2}"#, "invalid JSON"),
        (#"{"answer": "truncated", "count": 2}"#, "invalid JSON"),
        (#"{"answer": "huge", "size": 104857600, "count": 1}"#, "more than the 67108864-byte limit"),
        (#"{"code": 500, "count": 5}"#, "injected fault"),
    ])
    func brokenLists(_ fault: String, _ expected: String) async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            try await emu.withClient { client in
                try await client.create(.services, namespace: "default", service("web"))
                var f = try JSONText.parse(fault)
                f["method"] = "GET"
                f["path"] = "/api/v1/services"
                _ = try await client.raw(method: "POST", path: "/emulator/faults", body: JSONText.serialize(f))
                let informer = Informer(client: client, resource: .services)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await informer.run() }
                    #expect(await eventually(20) { informer.hasSynced }, "never synced")
                    #expect(informer.lastError?.contains(expected) == true, "\(informer.lastError ?? "no error")")
                    #expect(informer.snapshot().map { $0.metadata.name } == ["web"])
                    group.cancelAll()
                }
            }
        }
    }

    /// A non-watch answer beyond the limit is refused, by its Content-Length or while it is read.
    @Test("a single answer beyond the limit is an error that says so")
    func hugeAnswer() async throws {
        let emu = try EmulatorFixture()
        try await emu.serve { _ in
            var config = emu.clientConfiguration()
            config.maxResponseBytes = 1 << 20
            try await emu.withClient(config) { client in
                let fault: JSONValue = ["method": "GET", "path": "/api/v1/namespaces/default/services/*", "answer": "huge", "size": 4_000_000]
                _ = try await client.raw(method: "POST", path: "/emulator/faults", body: JSONText.serialize(fault))
                await #expect {
                    _ = try await client.raw("/api/v1/namespaces/default/services/x")
                } throws: { error in
                    "\(error)".contains("more than the 1048576-byte limit")
                }
            }
        }
    }
}

/// The watch stream's line splitting: any chunking, blank lines, a last line without newline, and the bound.
@Suite("Watch line buffer")
struct WatchLineBufferTests {
    static func lines(_ chunks: [String], limit: Int = 64) throws -> [String] {
        var b = WatchLineBuffer(maxLineBytes: limit)
        var out: [String] = []
        for c in chunks {
            try b.append(Array(c.utf8))
            while let line = try b.nextLine() { out.append(String(decoding: line, as: UTF8.self)) }
        }
        if let rest = b.remainder() { out.append(String(decoding: rest, as: UTF8.self)) }
        return out
    }

    @Test("lines come out whole however the stream is cut", arguments: [
        (["{\"a\":1}\n{\"b\":2}\n"], ["{\"a\":1}", "{\"b\":2}"]),
        (["{\"a\"", ":1}\n{", "\"b\":2}", "\n"], ["{\"a\":1}", "{\"b\":2}"]),
        (["x\r\n\n  \r\ny\n"], ["x\r", "y"]),
        (["x\ny"], ["x", "y"]),
        (["x\n \n"], ["x"]),
        ([""], []),
    ])
    func splitting(_ chunks: [String], _ expected: [String]) throws {
        #expect(try Self.lines(chunks) == expected)
    }

    /// One byte at a time gives the same lines as one chunk.
    @Test("byte-at-a-time delivery gives the same lines")
    func byteAtATime() throws {
        let text = (0..<50).map { "{\"n\":\($0)}\n" }.joined()
        #expect(try Self.lines(text.map { String($0) }) == (0..<50).map { "{\"n\":\($0)}" })
    }

    /// A line beyond the limit fails as soon as the buffered part exceeds it, newline or not.
    @Test("a line beyond the limit is an error before its newline arrives")
    func bound() throws {
        var b = WatchLineBuffer(maxLineBytes: 16)
        try b.append(Array("ok\n0123456789".utf8))
        #expect(try b.nextLine().map { Array($0) } == Array("ok".utf8))
        #expect(throws: WatchLineBuffer.LineTooLong.self) { try b.append(Array("0123456789".utf8)) }
        #expect(throws: WatchLineBuffer.LineTooLong.self) { try Self.lines([String(repeating: "z", count: 100) + "\n"]) }
    }
}
