@testable import AdminHTTP
import NIOCore
import NIOPosix
import Prometheus
import TestSupport
import Testing
@testable import fuzz_admin
import Foundation

/// The admin port takes bytes from anyone who can reach a node: no request target may crash the daemon.
@Suite("Admin HTTP: request targets", .dedicatedThreads)
struct AdminServerTests {
    /// Query strings with empty names, empty values and stray separators split without trapping.
    @Test("query strings split without trapping", arguments: [
        ("/healthz?=", "/healthz", ["": ""]),
        ("/healthz?", "/healthz", [:]),
        ("/healthz?&&", "/healthz", [:]),
        ("/healthz?==", "/healthz", ["": "="]),
        ("/healthz?=x", "/healthz", ["": "x"]),
        ("/healthz?a", "/healthz", ["a": ""]),
        ("/healthz?a=", "/healthz", ["a": ""]),
        ("/healthz?a=1&a=2", "/healthz", ["a": "2"]),
        ("/debug/state?service=shop%2Fweb&x=a+b", "/debug/state", ["service": "shop/web", "x": "a b"]),
        ("/x?v=%", "/x", ["v": "%"]),
        ("/x?v=%zz%4", "/x", ["v": "%zz%4"]),
        ("?", "", [:]),
    ] as [(String, String, [String: String])])
    func split(uri: String, path: String, query: [String: String]) {
        let (p, q) = AdminRoutes.split(uri)
        #expect(p == path)
        #expect(q == query)
    }

    /// The request that used to kill the controller and every speaker (`/healthz?=`) is answered, and the server
    /// still answers the next request on a new connection.
    @Test("a query with an empty name is answered and the server keeps serving")
    func emptyQueryName() async throws {
        let server = try await AdminServer(host: "127.0.0.1", port: 0, registry: PrometheusCollectorRegistry(), ready: { nil })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            for target in ["/healthz?=", "/readyz?=&=", "/metrics?==", "/nowhere?="] {
                let answer = try await RawHTTP.exchange(port: server.port, "GET \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                #expect(answer.hasPrefix("HTTP/1.1 "), "no answer to \(target)")
            }
            let answer = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            group.cancelAll()
        }
    }
}

/// Every bound of `AdminLimits`, against a live listener on loopback.
@Suite("Admin HTTP: limits", .timeLimit(.minutes(1)), .dedicatedThreads)
struct AdminLimitTests {
    static func server(_ adjust: (inout AdminLimits) -> Void = { _ in }, host: String = "127.0.0.1") async throws -> AdminServer {
        var limits = AdminLimits()
        adjust(&limits)
        return try await AdminServer(host: host, port: 0, registry: PrometheusCollectorRegistry(), ready: { nil }, limits: limits)
    }

    static func serving<T: Sendable>(_ server: AdminServer, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await server.run(); return nil }
            group.addTask { try await body() }
            defer { group.cancelAll() }
            while let r = try await group.next() { if let r { return r } }
            throw CancellationError()
        }
    }

    /// A client that sends half a request and stops is cut off at the deadline (slowloris), and the server serves on.
    @Test("a half-sent request is closed at the request deadline")
    func slowClient() async throws {
        let server = try await Self.server { $0.requestTimeout = .milliseconds(300) }
        try await Self.serving(server) {
            let start = ContinuousClock.now
            let answer = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", halfClose: false)
            let took = ContinuousClock.now - start
            #expect(answer.isEmpty)
            #expect(took >= .milliseconds(250) && took < .seconds(5), "closed after \(took)")
            let next = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(next.hasPrefix("HTTP/1.1 200"))
        }
    }

    /// An idle keep-alive connection is closed at the deadline after its last answer.
    @Test("an idle keep-alive connection is closed after its answer")
    func idleKeepAlive() async throws {
        let server = try await Self.server { $0.requestTimeout = .milliseconds(300) }
        try await Self.serving(server) {
            let answer = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", halfClose: false)
            #expect(answer.hasPrefix("HTTP/1.1 200"))
        }
    }

    /// A body beyond the limit gets 413 and a closed connection; headers beyond the limit get NIO's 400.
    @Test("oversized bodies get 413, oversized heads 400, and the server serves on")
    func oversized() async throws {
        let server = try await Self.server { $0.maxBodyBytes = 100; $0.maxHeadBytes = 1024 }
        try await Self.serving(server) {
            let body = String(repeating: "b", count: 1000)
            let big = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nContent-Length: 1000\r\n\r\n\(body)")
            #expect(big.hasPrefix("HTTP/1.1 413"))
            let small = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789")
            #expect(small.hasPrefix("HTTP/1.1 200"))
            let header = String(repeating: "h", count: 2000)
            let head = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nX-Big: \(header)\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 400"))
            let target = try await RawHTTP.exchange(port: server.port, "GET /\(header) HTTP/1.1\r\n\r\n")
            #expect(target.hasPrefix("HTTP/1.1 400"))
            let fields = (0..<100).map { "X-\($0): v\r\n" }.joined()
            let many = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\n\(fields)\r\n")
            #expect(many.hasPrefix("HTTP/1.1 400"))
            let after = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(after.hasPrefix("HTTP/1.1 200"))
        }
    }

    /// One source holding its share of connections is refused more; the others' slots stay free.
    @Test("connections beyond the per-source limit are closed before a byte is read")
    func perSource() async throws {
        let server = try await Self.server { $0.maxConnectionsPerSource = 2; $0.requestTimeout = .seconds(30) }
        try await Self.serving(server) {
            let held = try await [RawHTTP.hold(port: server.port), RawHTTP.hold(port: server.port)]
            // Long enough for the accept loop to have admitted both.
            try await Task.sleep(for: .milliseconds(200))
            let third = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(third.isEmpty)
            for c in held { try await c.close() }
            try await Task.sleep(for: .milliseconds(100))
            let later = try await RawHTTP.exchange(port: server.port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(later.hasPrefix("HTTP/1.1 200"))
        }
    }

    /// The default host (`:PORT`) is `::` with IPV6_V6ONLY off: IPv4 and IPv6 clients alike.
    @Test("the default address serves IPv4 and IPv6 clients")
    func dualStack() async throws {
        let parsed = try #require(AdminServer.parseAddress(":0"))
        #expect(parsed.host == "::")
        let server = try await Self.server(host: parsed.host)
        try await Self.serving(server) {
            for host in ["127.0.0.1", "::1"] {
                let answer = try await RawHTTP.exchange(port: server.port, host: host, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
                #expect(answer.hasPrefix("HTTP/1.1 200"), "no answer over \(host)")
            }
        }
    }

    /// Only GET and HEAD; HEAD has no body.
    @Test("methods other than GET and HEAD get 405; HEAD gets no body")
    func methods() async throws {
        let server = try await Self.server()
        try await Self.serving(server) {
            let post = try await RawHTTP.exchange(port: server.port, "POST /healthz HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            #expect(post.hasPrefix("HTTP/1.1 405"))
            let head = try await RawHTTP.exchange(port: server.port, "HEAD /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(head.hasPrefix("HTTP/1.1 200") && head.hasSuffix("\r\n\r\n"))
        }
    }

    /// A listener with only the routes given (the speaker's loopback debug listener) serves nothing else.
    @Test("a listener with its own routes serves only those")
    func ownRoutes() async throws {
        let server = try await AdminServer(host: "127.0.0.1", port: 0, routes: AdminRoutes(["/debug/state": { _ in .text("state") }]))
        try await Self.serving(server) {
            let state = try await RawHTTP.exchange(port: server.port, "GET /debug/state HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(state.hasSuffix("state"))
            let metrics = try await RawHTTP.exchange(port: server.port, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
            #expect(metrics.hasPrefix("HTTP/1.1 404"))
        }
    }

    /// A taken port is an error that names the address.
    @Test("a bind failure names the address and port")
    func bindFailure() async throws {
        let first = try await Self.server()
        await #expect {
            _ = try await AdminServer(host: "127.0.0.1", port: first.port, routes: AdminRoutes())
        } throws: { error in
            "\(error)".contains("cannot listen on 127.0.0.1:\(first.port)")
        }
        try await Self.serving(first) { }
    }
}

/// The kept fuzz corpus, replayed through the fuzzer's own harness (the live pipeline on an embedded channel).
@Suite("Admin HTTP: fuzz corpus")
struct AdminFuzzCorpusTests {
    @Test("every kept fuzz input runs through the admin pipeline without a crash")
    func replay() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures/fuzz-corpus", withExtension: nil))
        #expect(try replayCorpus(dir, into: { fuzzOne($0) }) >= 8)
    }
}

/// Raw bytes to a local port.
enum RawHTTP {
    typealias Client = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func open(port: Int, host: String = "127.0.0.1") async throws -> Client {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try Client(wrappingChannelSynchronously: channel) }
            }
    }

    /// An open connection that sends nothing.
    static func hold(port: Int) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
    }

    /// Sends `request`, then (with `halfClose`) shuts the write side, and reads until the server closes.
    static func exchange(port: Int, host: String = "127.0.0.1", _ request: String, halfClose: Bool = true) async throws -> String {
        let client = try await open(port: port, host: host)
        return try await client.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            if halfClose { outbound.finish() }
            var text = ""
            do {
                for try await var chunk in inbound { text += chunk.readString(length: chunk.readableBytes) ?? "" }
            } catch {
                // A reset after the answer still leaves the answer.
            }
            return text
        }
    }
}
