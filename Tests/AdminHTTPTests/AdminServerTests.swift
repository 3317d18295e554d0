@testable import AdminHTTP
import NIOCore
import NIOPosix
import Prometheus
import Testing

/// The admin port takes bytes from anyone who can reach a node: no request target may crash the daemon.
@Suite("Admin HTTP: request targets")
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
        let (p, q) = AdminServer.split(uri)
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

/// Sends raw bytes to a local port and reads until the peer closes.
enum RawHTTP {
    static func exchange(port: Int, _ request: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var text = ""
            for try await var chunk in inbound { text += chunk.readString(length: chunk.readableBytes) ?? "" }
            return text
        }
    }
}
