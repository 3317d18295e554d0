import AdminHTTP
import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// Feeds arbitrary bytes, as one client connection, through the admin listener's real pipeline (NIO's HTTP decoder
/// with Beacon's limits, the request guard) to the route table; a route that would call a handler is answered with
/// its path. The first byte sets the chunk size, so requests also arrive split at odd places; then the request
/// deadline passes. Protocol errors are fine (they are 400s and closed connections); crashes, hangs, and output
/// out of proportion to the input are not.
func fuzzOne(_ bytes: UnsafeBufferPointer<UInt8>) {
    var limits = AdminLimits()
    limits.requestTimeout = .seconds(10)
    let channel = EmbeddedChannel()
    let answered = Answered()
    do {
        try AdminServer.configure(channel.pipeline.syncOperations, limits: limits)
        try channel.pipeline.syncOperations.addHandler(Responder(routes: routes, answered: answered))
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 40000)).wait()
    } catch {
        preconditionFailure("cannot set up the embedded admin connection: \(error)")
    }
    let chunk = max(1, Int(bytes.first ?? 0) % 97)
    var offset = 0
    var written = 0
    while offset < bytes.count, channel.isActive {
        let end = min(bytes.count, offset + chunk)
        do { try channel.writeInbound(ByteBuffer(bytes: UnsafeBufferPointer(rebasing: bytes[offset..<end]))) } catch { break }
        offset = end
        while let out = try? channel.readOutbound(as: IOData.self) { written += out.readableBytes }
    }
    channel.embeddedEventLoop.advanceTime(by: .seconds(11))
    while let out = try? channel.readOutbound(as: IOData.self) { written += out.readableBytes }
    // Each answer is a few hundred bytes at most, and there is at most one per request line in the input.
    precondition(written <= 512 * (answered.count + 1), "\(written) bytes written for \(answered.count) answers")
    precondition(answered.count <= bytes.count / 10 + 1, "more answers (\(answered.count)) than requests could fit")
    _ = try? channel.finish()
}

/// The speaker's routes, with stand-ins for what they serve.
let routes = AdminRoutes(["/metrics": stub, "/healthz": stub, "/readyz": stub, "/debug/state": stub])
let stub: AdminServer.Handler = { _ in .text("") }

final class Answered { var count = 0 }

/// Answers each request the way the live server does, but synchronously: a handler call becomes the path.
final class Responder: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let routes: AdminRoutes
    let answered: Answered
    var head: HTTPRequestHead?

    init(routes: AdminRoutes, answered: Answered) {
        self.routes = routes
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            answered.count += 1
            let response: AdminServer.Response
            switch routes.dispatch(h) {
            case .respond(let r): response = r
            case .call(_, let request): response = .text(request.path)
            }
            context.write(wrapOutboundOut(.head(AdminRoutes.head(response, to: h))), promise: nil)
            if h.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            if !h.isKeepAlive { context.close(promise: nil) }
        }
    }
}

#if FUZZING
@_cdecl("fuzz_admin_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzzing.runDriver(argc, argv) { data, size in
        fuzzOne(UnsafeBufferPointer(start: data, count: size))
        return 0
    }
}
#else
/// Without libFuzzer: replays files or directories of inputs (the kept corpus).
@main
struct FuzzReplay {
    static func main() { Fuzzing.replay(CommandLine.arguments.dropFirst(), fuzzOne) }
}
#endif
