import Foundation
import KubernetesModel
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// The emulator's HTTP(S) transport: HTTP/1.1 with keep-alive on SwiftNIO, TLS from NIOSSL, request bodies capped
/// at the real API server's 3 MiB, and watches streamed as chunked JSON lines until the client goes away, the
/// watch's `timeoutSeconds` pass, or the server stops.
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

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public let handler: APIHandler
    private let options: Options
    private let channel: NIOAsyncChannel<Connection, Never>
    /// Open connections, closed when the server stops (idle keep-alive connections would otherwise hold it up).
    private let open = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// The bound port (useful with port 0).
    public var port: Int { channel.channel.localAddress?.port ?? 0 }

    /// Binds the listening socket; `run()` then serves until cancelled.
    public init(handler: APIHandler, options: Options) async throws {
        self.handler = handler
        self.options = options
        let sslContext = try options.tls.map { try NIOSSLContext(configuration: $0) }
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: options.host, port: options.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try Connection(wrappingChannelSynchronously: channel)
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
                    for try await connection in inbound {
                        let id = ObjectIdentifier(connection.channel)
                        open.withLock { $0[id] = connection.channel }
                        group.addTask {
                            await self.serve(connection)
                            _ = self.open.withLock { $0.removeValue(forKey: id) }
                        }
                    }
                }
            }
        } onCancel: {
            handler.state.endAllWatches()
            channel.channel.close(promise: nil)
            for c in open.withLock({ Array($0.values) }) { c.close(promise: nil) }
        }
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
                            if !h.isKeepAlive || Task.isCancelled { return }
                            head = nil
                            continue
                        }
                        try await write(response, head: h, outbound, keepAlive: h.isKeepAlive)
                        if !h.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            // A client that goes away mid-response, or a TLS handshake that fails, ends only its own connection.
        }
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
