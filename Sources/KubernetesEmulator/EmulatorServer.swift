import Foundation
import KubernetesModel
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// The emulator's HTTP(S) transport on SwiftNIO: over TLS (NIOSSL) HTTP/2 or HTTP/1.1 as ALPN settles, like the real
/// API server, so that a client multiplexing its watches on one connection is tested as it will run; plain HTTP is
/// HTTP/1.1 with keep-alive. Request bodies are capped at the real API server's 3 MiB, and watches stream as JSON
/// lines until the client goes away, the watch's `timeoutSeconds` pass, or the server stops.
public final class EmulatorServer: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var tls: TLSConfiguration?
        /// How often a watch that allows bookmarks gets one.
        public var bookmarkInterval: Duration

        public init(host: String = "127.0.0.1", port: Int = 0, tls: TLSConfiguration? = nil, bookmarkInterval: Duration = .seconds(10)) {
            self.host = host
            self.port = port
            self.tls = tls
            self.bookmarkInterval = bookmarkInterval
        }
    }

    /// One HTTP/1.1 connection, or one HTTP/2 stream behind NIOHTTP2's HTTP/1 translation: either way one request at
    /// a time, so both are served by `serve(_:)`.
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias HTTP2Connection = (channel: any Channel, streams: PendingStreams)
    typealias Negotiated = NIONegotiatedHTTPVersion<Connection, (HTTP2Connection, NIOHTTP2Handler.AsyncStreamMultiplexer<Connection>)>
    typealias Accepted = EventLoopFuture<Negotiated>
    /// Concurrent streams per HTTP/2 connection: Go's default, which the real API server keeps.
    static let maxConcurrentStreams = 250

    public let handler: APIHandler
    private let options: Options
    private let channel: NIOAsyncChannel<Accepted, Never>
    /// Open connections, closed when the server stops (idle keep-alive connections would otherwise hold it up).
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// Connections open now (an HTTP/2 connection counts once, whatever its streams).
    var openConnections: Int { open.withLock { $0.count } }

    /// The bound port (useful with port 0).
    public var port: Int { channel.channel.localAddress?.port ?? 0 }

    /// Binds the listening socket; `run()` then serves until cancelled.
    public init(handler: APIHandler, options: Options) async throws {
        self.handler = handler
        self.options = options
        let sslContext = try options.tls.map { try NIOSSLContext(configuration: $0) }
        var http2Settings = NIOHTTP2Handler.Configuration()
        http2Settings.connection.initialSettings = nioDefaultSettings.map {
            $0.parameter == .maxConcurrentStreams ? HTTP2Setting(parameter: .maxConcurrentStreams, value: Self.maxConcurrentStreams) : $0
        }
        let http2 = http2Settings
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .bind(host: options.host, port: options.port) { channel -> EventLoopFuture<Accepted> in
                guard let sslContext else {
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        return channel.eventLoop.makeSucceededFuture(.http1_1(try Connection(wrappingChannelSynchronously: channel)))
                    }
                }
                let pending = PendingStreams()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                }.flatMap {
                    channel.configureAsyncHTTPServerPipeline(
                        http2Configuration: http2,
                        http1ConnectionInitializer: { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(HTTPServerProtocolErrorHandler())
                                return try Connection(wrappingChannelSynchronously: channel)
                            }
                        },
                        http2ConnectionInitializer: { channel in channel.eventLoop.makeSucceededFuture((channel, pending)) },
                        http2StreamInitializer: { stream in
                            stream.eventLoop.makeCompletedFuture {
                                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                let connection = try Connection(wrappingChannelSynchronously: stream)
                                pending.add(connection)
                                return connection
                            }
                        })
                }
            }
    }

    /// Serves connections until the task is cancelled; then closes every watch and the listening socket.
    public func run() async throws {
        do {
            try await serveConnections()
        } catch where Task.isCancelled {
            // Stopping is not an error.
        }
    }

    private func serveConnections() async throws {
        try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await accepted in inbound {
                        group.addTask { await self.serve(accepted) }
                    }
                }
            }
        } onCancel: {
            handler.state.endAllWatches()
            channel.channel.close(promise: nil)
            for c in open.withLock({ Array($0.values) }) { c.close(promise: nil) }
        }
    }

    /// Serves one accepted connection: one HTTP/1.1 request after another, or each HTTP/2 stream concurrently.
    private func serve(_ accepted: Accepted) async {
        let negotiated: Negotiated
        do {
            negotiated = try await accepted.get()
        } catch {
            return  // A failed TLS handshake or negotiation ends only its own connection.
        }
        switch negotiated {
        case .http1_1(let connection):
            await whileOpen(connection.channel) { await serve(connection) }
        case .http2(let (connection, multiplexer)):
            await whileOpen(connection.channel) {
                do {
                    try await withThrowingDiscardingTaskGroup { group in
                        for try await stream in multiplexer.inbound where connection.streams.take(stream) {
                            group.addTask { await self.serve(stream) }
                        }
                    }
                } catch {
                    // The connection failed or the server is stopping.
                }
            }
            // NIOHTTP2 ends the stream sequence on a connection error or on cancellation, and then drops any stream
            // that still arrives: the connection closes, and streams not yet served are finished here.
            connection.channel.close(promise: nil)
            connection.streams.finishAll()
        }
    }

    /// Runs `body` with `channel` among the open connections that stopping the server closes.
    private func whileOpen(_ channel: any Channel, _ body: () async -> Void) async {
        let id = ObjectIdentifier(channel)
        open.withLock { $0[id] = channel }
        defer { _ = open.withLock { $0.removeValue(forKey: id) } }
        await body()
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body = []
                        tooLarge = false
                    case .body(let buffer):
                        if body.count + buffer.readableBytes > APIHandler.maxBodyBytes { tooLarge = true; body = [] }
                        if !tooLarge { body.append(contentsOf: buffer.readableBytesView) }
                    case .end:
                        guard let h = head else { continue }
                        if tooLarge {
                            let s = Status(message: "Request entity too large: limit is \(APIHandler.maxBodyBytes)", reason: "RequestEntityTooLarge", code: 413)
                            try await write(APIResponse.status(s), head: h, outbound, keepAlive: false)
                            return
                        }
                        let request = APIRequest(method: h.method.rawValue, uri: h.uri, headers: h.headers.map { ($0.name, $0.value) }, body: body)
                        let response = handler.handle(request)
                        if case .watch(let stream) = response {
                            // After a watch ends (timeout) the connection stays usable, as on the real server.
                            try await streamWatch(stream, head: h, connection: connection, outbound)
                            if !Self.keepsOpen(h) || Task.isCancelled { return }
                            head = nil
                            continue
                        }
                        try await write(response, head: h, outbound, keepAlive: Self.keepsOpen(h))
                        if !Self.keepsOpen(h) { return }
                        head = nil
                    }
                }
            }
        } catch {
            // A client that goes away mid-response, or a TLS handshake that fails, ends only its own connection.
        }
    }

    /// Whether the connection stays open after this request's response. An HTTP/2 stream (HTTP/2.0 heads, which NIO
    /// does not count as keep-alive) closes by itself once both sides have ended it; closing it sooner would reset a
    /// response still waiting for the client's flow-control window.
    static func keepsOpen(_ head: HTTPRequestHead) -> Bool {
        head.version.major >= 2 || head.isKeepAlive
    }

    private func write(_ response: APIResponse, head: HTTPRequestHead, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
                       keepAlive: Bool) async throws {
        guard case .complete(let status, let contentType, let body) = response else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Cache-Control", value: "no-cache, private")
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: headers)))
        if head.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try await outbound.write(.end(nil))
    }

    /// Streams a watch: chunked `application/json` lines; ends on timeout, client close or server stop.
    private func streamWatch(_ stream: WatchStream, head: HTTPRequestHead, connection: Connection,
                             _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        let state = handler.state
        connection.channel.closeFuture.whenComplete { _ in state.endWatch(stream.id) }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        headers.add(name: "Cache-Control", value: "no-cache, private")
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers)))
        let bookmarkInterval = options.bookmarkInterval
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let timeout = stream.timeout {
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    state.endWatch(stream.id)
                }
            }
            if stream.bookmarks {
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: bookmarkInterval)
                        state.bookmark(stream.id)
                    }
                }
            }
            // The events end on timeout, client close, or shutdown; then the timers stop.
            defer { group.cancelAll() }
            for await change in stream.events {
                if let line = stream.line(change, now: Date()) {
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: line))))
                }
            }
            try await outbound.write(.end(nil))
        }
        state.endWatch(stream.id)
    }
}

/// The HTTP/2 streams of one connection that are open but not yet served. A stream NIOHTTP2 drops after its stream
/// sequence ends (see `serve(_:)`) is finished here, when it closes or when the connection ends, so that no
/// `NIOAsyncChannel` goes away unfinished.
final class PendingStreams: Sendable {
    private let streams = Mutex<[ObjectIdentifier: EmulatorServer.Connection]>([:])

    func add(_ connection: EmulatorServer.Connection) {
        let id = ObjectIdentifier(connection.channel)
        streams.withLock { $0[id] = connection }
        connection.channel.closeFuture.whenComplete { _ in
            self.streams.withLock { $0.removeValue(forKey: id) }?.outbound.finish()
        }
    }

    /// Whether `connection` was still waiting; from then on its server finishes it.
    func take(_ connection: EmulatorServer.Connection) -> Bool {
        streams.withLock { $0.removeValue(forKey: ObjectIdentifier(connection.channel)) } != nil
    }

    func finishAll() {
        let waiting = streams.withLock { streams in
            defer { streams.removeAll() }
            return Array(streams.values)
        }
        for connection in waiting { connection.outbound.finish() }
    }
}
