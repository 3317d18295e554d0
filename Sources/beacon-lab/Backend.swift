import ArgumentParser
import NIOCore
import NIOPosix

/// `beacon-lab backend`: the lab's stand-in for a Service's pods. Answers every HTTP request with the node's name.
struct Backend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve HTTP answering with this node's name (the lab's backend pod).")
    @Option(help: "Name to answer with.") var name: String
    @Option(help: "TCP port.") var port = 8080
    @Option(help: "The lab's work directory (marks the process as the lab's, for `beacon-lab down`).") var lab: String?

    func run() async throws {
        let body = "hello from \(name)\n"
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in ch.pipeline.addHandler(Answer(body: body)) }
            .bind(host: "::", port: port).get()
        print("backend \(name) listening on port \(port)")
        try await server.closeFuture.get()
    }
}

/// Answers once the request's header block has arrived, then closes.
final class Answer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let body: String
    init(body: String) { self.body = body }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytesView.contains(0x0A) else { return }
        let response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: response))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
