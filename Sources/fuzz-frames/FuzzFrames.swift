import FuzzSupport
import LinkLayer
import NIOCore

/// Feeds arbitrary bytes to every frame decoder, and re-encodes whatever decodes: a decoded frame must
/// encode and decode again to the same value.
func fuzzOne(_ bytes: UnsafeBufferPointer<UInt8>) {
    let buffer = ByteBuffer(bytes: bytes)
    guard let frame = try? EthernetFrame(decoding: buffer) else {
        _ = try? ARPPacket(decoding: buffer)
        _ = try? NDPPacket(decoding: buffer)
        return
    }
    switch frame.etherType {
    case EtherType.arp:
        if let arp = try? ARPPacket(decoding: frame.payload) {
            var out = ByteBuffer()
            arp.encode(into: &out)
            precondition((try? ARPPacket(decoding: out)) == arp, "ARP round trip")
        }
    case EtherType.ipv6:
        if let ndp = try? NDPPacket(decoding: frame.payload) {
            var out = ByteBuffer()
            _ = ndp.encode(into: &out)
            precondition((try? NDPPacket(decoding: out)) == ndp, "NDP round trip")
        }
    default:
        break
    }
}

#if FUZZING
/// SwiftPM links executables with `main` aliased to `<module>_main`; this is the program's entry under libFuzzer.
@_cdecl("fuzz_frames_main")
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
