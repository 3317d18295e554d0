import Crypto
import FuzzSupport
import Membership
import NIOCore

/// Membership datagrams, twice: as they come (an outsider without the key: only rejections), and signed with the
/// fuzzer's key (an insider, or a leaked key: the parser past the HMAC). What decodes must re-encode to the same
/// bytes when it fits a datagram, and is handed to a failure detector, whose member table must not grow: strangers
/// are ignored.
func fuzzOne(_ bytes: UnsafeBufferPointer<UInt8>) {
    let raw = ByteBuffer(bytes: bytes)
    _ = try? MembershipMessage(decoding: raw, key: key)
    var signed = raw
    signed.writeBytes(Array(HMAC<SHA256>.authenticationCode(for: Array(bytes), using: key)))
    guard let message = try? MembershipMessage(decoding: signed, key: key) else { return }
    let again = message.encode(key: key)
    if again.readableBytes == signed.readableBytes, message.sender.utf8.count <= 253, message.reports.allSatisfy({ $0.name.utf8.count <= 253 }) {
        precondition(again == signed, "membership datagram round trip changed the bytes")
    }
    var detector = FailureDetector(name: "fuzz-a", incarnation: 1)
    _ = detector.setMembers(["fuzz-a", "fuzz-b", "fuzz-c"], now: .zero)
    _ = detector.received(message, now: .milliseconds(10))
    _ = detector.tick(now: .milliseconds(60))
    precondition(detector.alive.isSubset(of: ["fuzz-a", "fuzz-b", "fuzz-c"]), "a datagram added a member")
}

let key = SymmetricKey(data: SHA256.hash(data: Array("beacon fuzz key".utf8)))

#if FUZZING
@_cdecl("fuzz_membership_main")
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
