import MetricsText
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization

/// The daemons' admin port: `/metrics` (Prometheus text format), `/healthz` (the process serves), `/readyz` (the
/// daemon says it is ready), plus any routes the daemon adds (the speaker's `/debug/state`).
///
/// It is a ServiceLifecycle `Service`: first in the group, so it answers health checks while the rest starts, and
/// stopped last. Plain HTTP/1.1 with keep-alive; GET and HEAD only. It must not block on the daemon: every
/// handler is a quick read of state the daemon already keeps.
public final class AdminServer: Service, Sendable {
    /// A request as the handlers see it.
    public struct Request: Sendable {
        public var path: String
        /// Query parameters; a repeated name keeps its last value.
        public var query: [String: String]
    }

    /// What a handler returns.
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]

        public init(status: Int = 200, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }

        public static func text(_ s: String, status: Int = 200) -> Response { Response(status: status, body: Array(s.utf8)) }
        public static func json(_ bytes: [UInt8], status: Int = 200) -> Response {
            Response(status: status, contentType: "application/json", body: bytes)
        }
    }

    public typealias Handler = @Sendable (Request) async -> Response

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    private let channel: NIOAsyncChannel<Connection, Never>
    private let routes: [String: Handler]
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// The bound port (useful with port 0).
    public var port: Int { channel.channel.localAddress?.port ?? 0 }

    /// Binds at once (so a daemon fails fast on a taken port); `run()` then serves until cancelled or shut down.
    /// - Parameters:
    ///   - registry: served on `/metrics`,
    ///   - scraped: followed by these families (kept outside swift-metrics, written at each scrape).
    ///   - ready: `/readyz` answers 200 when it returns nil, else 503 with the reason.
    ///   - routes: further paths (exact match).
    public init(host: String, port: Int, registry: PrometheusCollectorRegistry, scraped: [any ScrapedFamilies] = [],
                ready: @escaping @Sendable () -> String?, routes: [String: Handler] = [:]) async throws {
        var all = routes
        all["/metrics"] = { _ in
            var body = registry.emitToBuffer()
            var text = ""
            for families in scraped { families.write(into: &text) }
            body += text.utf8
            return Response(contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
        }
        all["/healthz"] = { _ in .text("ok\n") }
        all["/readyz"] = { _ in
            if let reason = ready() { return .text("not ready: \(reason)\n", status: 503) }
            return .text("ok\n")
        }
        self.routes = all
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Parses `--admin-addr` (`HOST:PORT`, `:PORT`, `[V6]:PORT`); an empty host means all addresses.
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return (host, port)
    }

    public func run() async throws {
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await self.serve()
        } onCancelOrGracefulShutdown: {
            self.channel.channel.close(promise: nil)
            for c in self.open.withLock({ Array($0.values) }) { c.close(promise: nil) }
        }
    }

    private func serve() async throws {
        do {
            try await channel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        let id = ObjectIdentifier(connection.channel)
                        open.withLock { $0[id] = connection.channel }
                        group.addTask {
                            await self.handle(connection)
                            _ = self.open.withLock { $0.removeValue(forKey: id) }
                        }
                    }
                }
            }
        } catch let error as ChannelError where error == .ioOnClosedChannel || error == .alreadyClosed {
            // Closed by shutdown.
        }
    }

    private func handle(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let h): head = h
                    case .body: continue
                    case .end:
                        guard let h = head else { continue }
                        head = nil
                        let response: Response
                        if h.method != .GET && h.method != .HEAD {
                            response = .text("method not allowed\n", status: 405)
                        } else {
                            let (path, query) = Self.split(h.uri)
                            if let handler = routes[path] {
                                response = await handler(Request(path: path, query: query))
                            } else {
                                response = .text("not found: \(path)\nroutes: \(routes.keys.sorted().joined(separator: " "))\n", status: 404)
                            }
                        }
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: response.contentType)
                        headers.add(name: "Content-Length", value: "\(response.body.count)")
                        if !h.isKeepAlive { headers.add(name: "Connection", value: "close") }
                        try await outbound.write(.head(HTTPResponseHead(version: h.version, status: .init(statusCode: response.status),
                                                                        headers: headers)))
                        if h.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body)))) }
                        try await outbound.write(.end(nil))
                        if !h.isKeepAlive { return }
                    }
                }
            }
        } catch {
            // A client that goes away ends only its own connection.
        }
    }

    /// Splits a request target into path and query. Any bytes are accepted: `?=`, `?&&`, `?=x` and a bare `?` give
    /// empty names or values, never a trap (a request is outside input).
    static func split(_ uri: String) -> (String, [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            // Not omitting empty pieces: "=" splits into "" and "", so there is always a name.
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = kv.first else { continue }
            query[String(name)] = kv.count > 1 ? String(kv[1]).removingPercentEncodingLite : ""
        }
        return (String(uri[..<q]), query)
    }
}

extension String {
    /// `%XX` and `+` decoding for query values (Foundation-free).
    var removingPercentEncodingLite: String {
        var out: [UInt8] = []
        var bytes = Array(utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "+") { out.append(0x20); continue }
            if b == UInt8(ascii: "%"), bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
                continue
            }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
