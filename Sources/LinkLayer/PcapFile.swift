import NIOCore

/// The frames of a classic pcap file (the format `tcpdump -w` writes), either byte order, microsecond or
/// nanosecond timestamps. Returns nil for anything that is not such a file, or is cut short.
public enum PcapFile {
    public static func frames(_ bytes: [UInt8]) -> [ByteBuffer]? {
        var b = ByteBuffer(bytes: bytes)
        guard let magic = b.readInteger(endianness: .little, as: UInt32.self) else { return nil }
        let endianness: Endianness
        switch magic {
        case 0xa1b2_c3d4, 0xa1b2_3c4d: endianness = .little
        case 0xd4c3_b2a1, 0x4d3c_b2a1: endianness = .big
        default: return nil
        }
        guard b.readSlice(length: 20) != nil else { return nil }
        var frames: [ByteBuffer] = []
        while b.readableBytes > 0 {
            guard b.readSlice(length: 8) != nil, let captured = b.readInteger(endianness: endianness, as: UInt32.self),
                  b.readSlice(length: 4) != nil, let frame = b.readSlice(length: Int(captured)) else { return nil }
            frames.append(frame)
        }
        return frames
    }
}
