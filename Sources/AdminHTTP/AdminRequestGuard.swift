import NIOCore
import NIOHTTP1

/// Sits after NIO's HTTP decoder on an admin connection and enforces `AdminLimits` that the decoder does not: the
/// request deadline (slowloris, idle keep-alive) and the body size. Bodies are never passed on: no route reads one.
final class AdminRequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let limits: AdminLimits
    private var deadline: Scheduled<Void>?
    private var bodyBytes = 0
    /// Set once this handler has answered and is closing: nothing more is read or passed on.
    private var refused = false

    init(limits: AdminLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            bodyBytes = 0
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body(let chunk):
            bodyBytes += chunk.readableBytes
            if bodyBytes > limits.maxBodyBytes { refuse(context, .payloadTooLarge) }
        case .end(let trailers):
            // The request is whole: the time to answer is the server's, not the client's.
            disarm()
            context.fireChannelRead(wrapInboundOut(.end(trailers)))
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // Answered: the next request has its own deadline.
            arm(context)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: TimeAmount(limits.requestTimeout)) {
            bound.value.handler.expired(bound.value.context)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    private func expired(_ context: ChannelHandlerContext) {
        deadline = nil
        guard !refused else { return }
        // A client that has not sent a whole request in time gets no answer it could wait for either.
        refused = true
        context.close(promise: nil)
    }

    /// Answers with `status` and closes; the request is not passed on.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus) {
        refused = true
        disarm()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
    }
}
