import BFD
import BGPProtocol
import FuzzSupport
import NIOCore

/// Feeds arbitrary bytes to the BGP message decoder, then decodes any UPDATE body with both AS widths; whatever
/// decodes must re-encode and decode to the same prefixes. Errors are fine (they are NOTIFICATIONs); crashes,
/// hangs and unbounded allocations are not. The same bytes, cut in 24-byte packets, go to the BFD decoder and a
/// session (what the peer's BFD could send): whatever decodes must round-trip, and the session must survive it.
func fuzzOne(_ bytes: UnsafeBufferPointer<UInt8>) {
    var buffer = ByteBuffer(bytes: bytes)
    var messages = 0
    while messages < 64, let message = try? buffer.readBGPMessage() {
        messages += 1
        if case .update(let body) = message {
            for four in [true, false] {
                guard let u = try? UpdateMessage(decoding: body, fourOctetAS: four) else { continue }
                let again = try? UpdateMessage(decoding: u.encode(fourOctetAS: four), fourOctetAS: four)
                precondition(again.map { Set($0.announced) == Set(u.announced) } ?? false, "UPDATE round trip")
            }
        }
        var out = ByteBuffer()
        out.writeBGPMessage(message)
    }
    // The body decoder also sees the raw bytes, as if they were an UPDATE body.
    _ = try? UpdateMessage(decoding: ByteBuffer(bytes: bytes), fourOctetAS: true)
    var session = BFDSession(configuration: .init(), localDiscriminator: 1)
    _ = session.start(now: .zero)
    var t = Duration.zero
    for start in stride(from: 0, to: bytes.count, by: BFDPacket.length) {
        let packet = Array(bytes[start..<min(bytes.count, start + BFDPacket.length)])
        guard let p = try? BFDPacket(decoding: packet) else { continue }
        precondition((try? BFDPacket(decoding: p.encoded)) == p, "BFD round trip")
        t += .milliseconds(Int(packet[0]))
        _ = session.received(p, now: t)
        _ = session.tick(now: t, jitter: 0.8)
    }
}

#if FUZZING
@_cdecl("fuzz_bgp_main")
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
