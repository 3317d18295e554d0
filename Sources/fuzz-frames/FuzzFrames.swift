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
import CFuzzerSupport

/// SwiftPM aliases `main` to `<module>_main`; this hands control to libFuzzer's driver.
@_cdecl("fuzz_frames_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var args = argv
    return LLVMFuzzerRunDriver(&count, &args) { data, size in
        fuzzOne(UnsafeBufferPointer(start: data, count: size))
        return 0
    }
}
#else
import Foundation

/// Without libFuzzer: replays files or directories of inputs.
@main
struct FuzzReplay {
    static func main() {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).map { path + "/" + $0 }
            for file in files.isEmpty ? [path] : files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { fuzzOne($0.bindMemory(to: UInt8.self)) }
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
#endif
