/// Splits a watch stream into lines (one JSON event each) without holding more than one event's worth: a line
/// longer than `maxLineBytes` is an error, whether or not its newline ever comes. Consumed bytes are dropped in
/// bulk, not per line (removing each line from the front of an array costs the rest of the buffer every time).
struct WatchLineBuffer {
    struct LineTooLong: Error, CustomStringConvertible {
        var limit: Int
        var description: String { "a watch event longer than the \(limit)-byte limit" }
    }

    let maxLineBytes: Int
    private var bytes: [UInt8] = []
    private var start = 0
    /// Where the bytes after the last newline begin: the unfinished line.
    private var unfinished = 0

    init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    var isEmpty: Bool { start == bytes.count }

    mutating func append(_ chunk: some Sequence<UInt8>) throws(LineTooLong) {
        if start > 0, start >= bytes.count / 2 {
            bytes.removeFirst(start)
            unfinished -= start
            start = 0
        }
        let old = bytes.count
        bytes.append(contentsOf: chunk)
        // Only the new bytes are searched for the last newline.
        if let newline = bytes[old...].lastIndex(of: 0x0A) { unfinished = newline + 1 }
        if bytes.count - unfinished > maxLineBytes { throw LineTooLong(limit: maxLineBytes) }
    }

    /// The next whole line without its newline, skipping blank ones (spaces and CR only); nil when none is complete.
    mutating func nextLine() throws(LineTooLong) -> ArraySlice<UInt8>? {
        while let newline = bytes[start...].firstIndex(of: 0x0A) {
            let line = bytes[start..<newline]
            start = newline + 1
            if line.count > maxLineBytes { throw LineTooLong(limit: maxLineBytes) }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
            return line
        }
        return nil
    }

    /// What is left when the stream ends (a last line without its newline), once.
    mutating func remainder() -> ArraySlice<UInt8>? {
        defer { bytes = []; start = 0; unfinished = 0 }
        let rest = bytes[start...]
        return rest.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x0A }) ? nil : rest
    }
}
