import CPacket
import Glibc
import LinkLayer
import NIOCore
import NIOPosix
import NetworkPrimitives

/// Why a packet socket could not be opened or used.
public struct PacketSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    public var interface: String
    public var operation: String
    public var errno: Int32

    public var description: String {
        let hint = errno == EPERM ? " (needs CAP_NET_RAW)" : errno == ENODEV ? " (no such interface)" : ""
        return "packet socket on \(interface): \(operation): \(String(cString: strerror(errno)))\(hint)"
    }
}

/// An AF_PACKET socket on one interface, on a NIO event loop: receives only ARP and ICMPv6 NS/NA frames (a BPF
/// filter in the kernel drops everything else before it is queued) and sends whole Ethernet frames.
///
/// `onFrame` runs on the socket's event loop for every received frame; a frame it returns is sent at once from the
/// same loop, so an answer costs no thread hop. Needs only CAP_NET_RAW.
///
/// Receiving goes through a NIO pipe channel (one `read` is one frame); sending does not (see `send`).
public final class PacketSocket: Sendable {
    public let endpoint: LinkEndpoint
    let channel: any Channel
    /// Owned by the channel; used only for socket options while the channel is open.
    let descriptor: Int32

    /// Frames larger than this are truncated by the kernel and then rejected by the decoder; neighbour discovery
    /// frames are far smaller.
    static let frameCapacity = 2048

    private init(endpoint: LinkEndpoint, channel: any Channel, descriptor: Int32) {
        self.endpoint = endpoint
        self.channel = channel
        self.descriptor = descriptor
    }

    public static func open(_ endpoint: LinkEndpoint, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                            onFrame: @escaping @Sendable (ByteBuffer) -> ByteBuffer?) async throws -> PacketSocket {
        let fd = cpacket_open(Int32(endpoint.index))
        guard fd >= 0 else { throw PacketSocketError(interface: endpoint.name, operation: "open", errno: -fd) }
        do {
            let channel = try await NIOPipeBootstrap(group: group)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: frameCapacity))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(FrameHandler(descriptor: fd, onFrame: onFrame))
                    }
                }
                .takingOwnershipOfDescriptor(inputOutput: fd).get()
            return PacketSocket(endpoint: endpoint, channel: channel, descriptor: fd)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Sends each frame with its own send(2). (Not through the NIO channel: a pipe channel coalesces queued
    /// writes into one writev, which on a packet socket would glue frames together.) Safe from any thread.
    /// Returns how many frames went out; a failure is counted, never thrown: the next gratuitous frame or answer
    /// is the retry.
    @discardableResult
    public func send(_ frames: [ByteBuffer]) -> Int {
        var sent = 0
        for f in frames {
            let n = f.withUnsafeReadableBytes { raw in
                cpacket_send(descriptor, raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count), 10)
            }
            if n > 0 { sent += 1 }
        }
        return sent
    }

    @discardableResult
    public func send(_ frame: ByteBuffer) -> Int { send([frame]) }

    /// Joins or leaves a link-layer multicast group (for IPv6, the solicited-node group's MAC of an announced address).
    public func membership(_ mac: MACAddress, join: Bool) throws(PacketSocketError) {
        let bytes = mac.bytes
        let fd = descriptor
        let r = bytes.withUnsafeBufferPointer { cpacket_membership(fd, Int32(endpoint.index), $0.baseAddress, join ? 1 : 0) }
        if r < 0 { throw PacketSocketError(interface: endpoint.name, operation: join ? "join multicast \(mac)" : "leave multicast \(mac)", errno: -r) }
    }

    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Frames the kernel queued for this socket and frames it dropped because the queue was full, since the last call.
    public func statistics() -> (received: Int, dropped: Int) {
        var packets: UInt32 = 0, drops: UInt32 = 0
        guard cpacket_statistics(descriptor, &packets, &drops) == 0 else { return (0, 0) }
        return (Int(packets), Int(drops))
    }

    public func close() async {
        try? await channel.close()
    }
}

/// Hands each frame to `onFrame` and sends what it returns.
final class FrameHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let descriptor: Int32
    let onFrame: @Sendable (ByteBuffer) -> ByteBuffer?

    init(descriptor: Int32, onFrame: @escaping @Sendable (ByteBuffer) -> ByteBuffer?) {
        self.descriptor = descriptor
        self.onFrame = onFrame
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let answer = onFrame(unwrapInboundIn(data)) {
            _ = answer.withUnsafeReadableBytes { raw in
                cpacket_send(descriptor, raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count), 0)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed read or write of one frame (e.g. ENOBUFS, or the interface went down) must not close the socket.
    }
}
