#if canImport(Glibc)
import Glibc
#endif
import MetricsText
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization

/// The daemons' admin port: `/metrics` (Prometheus text format), `/healthz` (the process serves), `/readyz` (the
/// daemon says it is ready), plus any routes the daemon adds; and, with `init(host:port:routes:limits:)`, a listener
/// with only the routes given (the speaker's loopback `/debug/state`).
///
/// It is a ServiceLifecycle `Service`: first in the group, so it answers health checks while the rest starts, and
/// stopped last. Plain HTTP/1.1 with keep-alive; GET and HEAD only. Every byte it reads is outside input: NIO's HTTP
/// decoder parses with the head bounded, `AdminRequestGuard` bounds bodies and time, the accept loop bounds
/// connections (`AdminLimits`), and handlers run off the event loop, so a slow scrape never delays ARP or BGP.
/// Handlers must be quick reads of state the daemon already keeps.
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

    /// The open connections, by channel, with the remote address each counts against.
    private struct Open {
        var channels: [ObjectIdentifier: (channel: any Channel, source: String)] = [:]
        var perSource: [String: Int] = [:]
    }

    private let channel: NIOAsyncChannel<Connection, Never>
    private let routes: AdminRoutes
    private let limits: AdminLimits
    private let open = Mutex(Open())

    /// The bound port (useful with port 0).
    public var port: Int { channel.channel.localAddress?.port ?? 0 }
    /// The bound address, as `HOST:PORT` (`[V6]:PORT`).
    public var boundAddress: String {
        guard let a = channel.channel.localAddress, let ip = a.ipAddress else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(a.port ?? 0)" : "\(ip):\(a.port ?? 0)"
    }

    /// The admin listener: `/metrics`, `/healthz`, `/readyz` and `routes`. Binds at once (so a daemon fails fast on
    /// a taken port); `run()` then serves until cancelled or shut down.
    /// - Parameters:
    ///   - registry: served on `/metrics`,
    ///   - scraped: followed by these families (kept outside swift-metrics, written at each scrape).
    ///   - ready: `/readyz` answers 200 when it returns nil, else 503 with the reason.
    ///   - routes: further paths (exact match).
    public convenience init(host: String, port: Int, registry: PrometheusCollectorRegistry, scraped: [any ScrapedFamilies] = [],
                            ready: @escaping @Sendable () -> String?, routes: [String: Handler] = [:],
                            limits: AdminLimits = AdminLimits()) async throws {
        var all = AdminRoutes(routes)
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
        try await self.init(host: host, port: port, routes: all, limits: limits)
    }

    /// A listener with exactly `routes`.
    public init(host: String, port: Int, routes: AdminRoutes, limits: AdminLimits = AdminLimits()) async throws {
        self.routes = routes
        self.limits = limits
        do {
            channel = try await Self.bind(host: host, port: port, limits: limits)
        } catch let error as IOError where host == "::" && [EAFNOSUPPORT, EADDRNOTAVAIL].contains(error.errnoCode) {
            // A host without IPv6 (ipv6.disable=1): all IPv4 addresses instead.
            channel = try await Self.bind(host: "0.0.0.0", port: port, limits: limits)
        } catch {
            throw AdminBindError(host: host, port: port, underlying: error)
        }
    }

    private static func bind(host: String, port: Int, limits: AdminLimits) async throws -> NIOAsyncChannel<Connection, Never> {
        var bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 128)
        if host == "::" {
            // Both families on one socket whatever net.ipv6.bindv6only says: IPv6-only and dual-stack nodes alike.
            bootstrap = bootstrap.serverChannelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 0)
        }
        return try await bootstrap.bind(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try Self.configure(channel.pipeline.syncOperations, limits: limits)
                return try Connection(wrappingChannelSynchronously: channel)
            }
        }
    }

    /// The handlers of one admin connection, in order: NIO's HTTP server pipeline with the head bounded, then the
    /// guard. The fuzzer builds the same pipeline on an embedded channel.
    public static func configure(_ pipeline: ChannelPipeline.SynchronousOperations, limits: AdminLimits) throws {
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = limits.maxHeadBytes
        decoderLimits.maxHeaderListSize = limits.maxHeadBytes
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderFields
        try pipeline.configureHTTPServerPipeline(withErrorHandling: true, withEncoderConfiguration: .init(),
                                                 withDecoderLimitConfiguration: decoderLimits)
        try pipeline.addHandler(AdminRequestGuard(limits: limits))
    }

    /// Parses `--admin-addr` (`HOST:PORT`, `:PORT`, `[V6]:PORT`); an empty host means all addresses of both families
    /// (`::`, falling back to IPv4 on a host without IPv6).
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "::" }
        return (host, port)
    }

    public func run() async throws {
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await self.serve()
        } onCancelOrGracefulShutdown: {
            self.channel.channel.close(promise: nil)
            for c in self.open.withLock({ $0.channels.values.map(\.channel) }) { c.close(promise: nil) }
        }
    }

    private func serve() async throws {
        do {
            try await channel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        let id = ObjectIdentifier(connection.channel)
                        let source = connection.channel.remoteAddress?.ipAddress ?? "?"
                        let admitted = open.withLock { o -> Bool in
                            guard o.channels.count < limits.maxConnections, o.perSource[source, default: 0] < limits.maxConnectionsPerSource
                            else { return false }
                            o.channels[id] = (connection.channel, source)
                            o.perSource[source, default: 0] += 1
                            return true
                        }
                        guard admitted else {
                            // Over the limit: closed at once, before a byte is read. Through executeThenClose, which
                            // finishes the async writer: NIO traps on one dropped unfinished.
                            try? await connection.executeThenClose { _, _ in }
                            continue
                        }
                        group.addTask {
                            await self.handle(connection)
                            self.open.withLock { o in
                                o.channels[id] = nil
                                let left = o.perSource[source, default: 1] - 1
                                o.perSource[source] = left > 0 ? left : nil
                            }
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
                        switch routes.dispatch(h) {
                        case .respond(let r): response = r
                        case .call(let handler, let request): response = await handler(request)
                        }
                        try await outbound.write(.head(AdminRoutes.head(response, to: h)))
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
}

/// A listener that cannot bind, naming the address and port.
public struct AdminBindError: Error, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var underlying: any Error
    public var description: String {
        let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return "cannot listen on \(shown): \(underlying)"
    }
}
