import CNetlink
import Glibc
import NIOCore
import NIOPosix

/// Link and address changes from the kernel's netlink notifications (RTMGRP_LINK, RTMGRP_IPV4_IFADDR,
/// RTMGRP_IPV6_IFADDR): no polling. Level-triggered and coalescing: a consumer that is busy sees only the latest
/// state, never a backlog.
public enum InterfaceMonitor {
    /// Calls `onChange` with the current interfaces at once, then with a fresh list after every burst of changes,
    /// until the calling task is cancelled (or `onChange` throws). Throws if the netlink socket cannot be opened.
    public static func watch(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             onChange: @Sendable ([NetworkInterface]) async throws -> Void) async throws {
        let fd = beacon_netlink_monitor_socket()
        guard fd >= 0 else { throw NetlinkError(operation: "subscribe", message: String(cString: strerror(-fd))) }
        let (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let channel: any Channel
        do {
            channel = try await NIOPipeBootstrap(group: group)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 64 * 1024))
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(ChangeHandler(signal: signal)) }
                }
                .takingOwnershipOfDescriptor(input: fd).get()
        } catch {
            close(fd)
            throw error
        }
        signal.yield()
        try await withTaskCancellationHandler {
            defer { channel.close(promise: nil) }
            for await _ in signals {
                // A short pause lets a burst (a link coming up with its addresses) arrive before the dump.
                try await Task.sleep(for: .milliseconds(20))
                try await onChange(try NetlinkReader.interfaces())
            }
        } onCancel: {
            signal.finish()
        }
    }
}

final class ChangeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let signal: AsyncStream<Void>.Continuation
    init(signal: AsyncStream<Void>.Continuation) { self.signal = signal }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) { signal.yield() }
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ENOBUFS: notifications were lost; a fresh dump covers them.
        signal.yield()
    }
}
