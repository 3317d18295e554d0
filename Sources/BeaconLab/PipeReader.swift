import Foundation
import Synchronization

/// Reads a pipe on a thread of its own until end of file, handing each chunk to `onData`.
///
/// Not a `FileHandle.readabilityHandler`: tearing those down while they fire crashes libdispatch's manager thread
/// (`_dispatch_event_loop_drain`, swift-corelibs-libdispatch issue 949), which a test process running many commands in
/// parallel reaches within seconds. A blocking `read(2)` per pipe needs no dispatch source at all.
public final class PipeReader: Sendable {
    private let finished = Mutex(false)

    public init(_ handle: FileHandle, onData: @escaping @Sendable (Data) -> Void) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                if n > 0 {
                    onData(Data(buffer[0..<n]))
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            self.finished.withLock { $0 = true }
        }
        thread.start()
    }

    public var isFinished: Bool { finished.withLock { $0 } }

    /// Waits up to `limit` for the end of the pipe: a command that left a child holding it open never gives one, and
    /// its caller then goes on with what arrived.
    public func finish(within limit: Duration = .milliseconds(200)) async {
        let deadline = ContinuousClock.now + limit
        while !isFinished, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}
