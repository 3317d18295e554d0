import Foundation
import NIOCore
import Testing
import NetworkPrimitives
@testable import BGPProtocol

func fixture(_ name: String) throws -> ByteBuffer {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
    return ByteBuffer(bytes: [UInt8](try Data(contentsOf: url)))
}

func decodeOne(_ bytes: [UInt8]) throws(BGPNotification) -> BGPMessage? {
    var b = ByteBuffer(bytes: bytes)
    return try b.readBGPMessage()
}

func header(length: Int, type: UInt8) -> [UInt8] {
    [UInt8](repeating: 0xff, count: 16) + [UInt8(length >> 8), UInt8(length & 0xff), type]
}

@Suite("BGP messages")
struct MessageTests {
    /// BIRD 2's OPEN, captured on the wire (capture.sh).
    @Test("decodes BIRD's OPEN")
    func bird() throws {
        var b = try fixture("bird-open.bin")
        guard case .open(let open)? = try b.readBGPMessage() else { Issue.record("not an OPEN"); return }
        #expect(b.readableBytes == 0)
        #expect(open.version == 4 && open.asn == 64513 && open.holdTime == 9)
        #expect(open.identifier == IPv4Address(192, 0, 2, 1))
        #expect(open.capabilities == [
            .ipv4Unicast, .ipv6Unicast, .routeRefresh,
            .gracefulRestart(restarting: false, notification: false, time: 120, families: []),
            .fourOctetASN(64513), .enhancedRouteRefresh, .other(code: 71, value: []),
        ])
        // Re-encoding gives BIRD's bytes back.
        var out = ByteBuffer()
        out.writeBGPMessage(.open(open))
        #expect(out == (try fixture("bird-open.bin")))
    }

    /// GoBGP's OPEN with a 4-octet ASN: AS_TRANS in the 2-octet field, the real ASN in the capability.
    @Test("decodes GoBGP's OPEN with a 4-octet ASN")
    func gobgp() throws {
        var b = try fixture("gobgp-open.bin")
        guard case .open(let open)? = try b.readBGPMessage() else { Issue.record("not an OPEN"); return }
        #expect(open.myAutonomousSystem == 23456)
        #expect(open.asn == 4_200_000_001)
        #expect(open.capabilities.contains(.ipv4Unicast) && open.capabilities.contains(.ipv6Unicast))
        #expect(open.capabilities.contains(.routeRefresh))
        #expect(open.capabilities.contains(.other(code: 5, value: [0, 1, 0, 1, 0, 2])))  // extended next hop (RFC 8950)
        var out = ByteBuffer()
        out.writeBGPMessage(.open(open))
        #expect(out == (try fixture("gobgp-open.bin")))
    }

    @Test("our OPEN puts AS_TRANS in the 2-octet field for large ASNs")
    func asTrans() throws {
        let open = OpenMessage(asn: 4_200_000_000, holdTime: 90, identifier: IPv4Address(192, 0, 2, 9),
                               capabilities: [.ipv4Unicast, .fourOctetASN(4_200_000_000)])
        #expect(open.myAutonomousSystem == 23456 && open.asn == 4_200_000_000)
        #expect(OpenMessage(asn: 64512, holdTime: 90, identifier: IPv4Address(1, 2, 3, 4), capabilities: []).myAutonomousSystem == 64512)
    }

    @Test("every message round-trips", arguments: [
        BGPMessage.keepalive,
        .notification(.administrativeShutdown("maintenance")),
        .notification(.holdTimerExpired()),
        .routeRefresh(afi: 2, subtype: 0, safi: 1),
        .update(ByteBuffer(bytes: [0, 0, 0, 0])),
        .open(OpenMessage(asn: 64512, holdTime: 9, identifier: IPv4Address(192, 0, 2, 3), capabilities: [
            .ipv4Unicast, .ipv6Unicast, .routeRefresh, .enhancedRouteRefresh, .fourOctetASN(64512),
            .gracefulRestart(restarting: true, notification: true, time: 120, families: [GracefulRestartFamily(afi: 1, safi: 1, forwardingPreserved: true)]),
        ])),
        .open(OpenMessage(asn: 1, holdTime: 0, identifier: IPv4Address(1, 1, 1, 1), capabilities: [])),
    ])
    func roundTrip(_ message: BGPMessage) throws {
        var b = ByteBuffer()
        let written = b.writeBGPMessage(message)
        #expect(written == b.readableBytes)
        #expect(try b.readBGPMessage() == message)
        #expect(b.readableBytes == 0)
    }

    /// Fed one byte at a time, the decoder waits (nil, nothing consumed) until a whole message is there.
    @Test("decodes byte at a time and back to back")
    func byteAtATime() throws {
        var stream = ByteBuffer()
        stream.writeBGPMessage(.keepalive)
        var bird = try fixture("bird-open.bin")
        stream.writeBuffer(&bird)
        stream.writeBGPMessage(.notification(.administrativeShutdown()))
        var incoming = ByteBuffer()
        var decoded: [BGPMessage] = []
        for byte in stream.readableBytesView {
            incoming.writeInteger(byte)
            while let m = try incoming.readBGPMessage() { decoded.append(m) }
        }
        #expect(decoded.count == 3)
        #expect(decoded.first == .keepalive)
        #expect(decoded.last == .notification(BGPNotification(code: 6, subcode: 2)))
    }

    /// Malformed input is answered with the NOTIFICATION RFC 4271 §6 prescribes.
    @Test("malformed messages give the right NOTIFICATION", arguments: [
        ([UInt8](repeating: 0xff, count: 15) + [0xfe, 0, 19, 4], BGPNotification.connectionNotSynchronized()),
        (header(length: 18, type: 4), .badMessageLength(18)),
        (header(length: 4097, type: 2), .badMessageLength(4097)),
        (header(length: 20, type: 4) + [0], .badMessageLength(20)),
        (header(length: 19, type: 9), .badMessageType(9)),
        (header(length: 20, type: 3) + [6], .badMessageLength(20)),
        (header(length: 22, type: 5) + [0, 1, 0], .badMessageLength(22)),
        (header(length: 28, type: 1) + [4, 0xfc, 0, 0, 9, 1, 2, 3, 4], .badMessageLength(28)),
        (header(length: 29, type: 1) + [3, 0xfc, 0, 0, 9, 1, 2, 3, 4, 0], .unsupportedVersion()),
        (header(length: 29, type: 1) + [4, 0xfc, 0, 0, 2, 1, 2, 3, 4, 0], .unacceptableHoldTime()),
        (header(length: 29, type: 1) + [4, 0xfc, 0, 0, 9, 0, 0, 0, 0, 0], .badBGPIdentifier()),
        (header(length: 33, type: 1) + [4, 0xfc, 0, 0, 9, 1, 2, 3, 4, 4, 1, 2, 0, 0], .unsupportedOptionalParameter()),
        (header(length: 31, type: 1) + [4, 0xfc, 0, 0, 9, 1, 2, 3, 4, 9, 2, 7], .malformedOpen()),
        (header(length: 33, type: 1) + [4, 0xfc, 0, 0, 9, 1, 2, 3, 4, 4, 2, 2, 65, 3], .malformedOpen()),
        (header(length: 37, type: 1) + [4, 0xfc, 0, 0, 9, 1, 2, 3, 4, 8, 2, 6, 65, 3, 0, 0, 1, 0], .malformedOpen()),
    ])
    func malformed(_ bytes: [UInt8], _ expected: BGPNotification) {
        #expect(throws: expected) { try decodeOne(bytes) }
    }

    @Test("partial headers and bodies wait for more bytes")
    func partial() throws {
        #expect(try decodeOne([0xff, 0xff]) == nil)
        #expect(try decodeOne(header(length: 29, type: 1) + [4, 0xfc]) == nil)
    }

    @Test("NOTIFICATIONs describe themselves as routers do")
    func descriptions() {
        #expect(BGPNotification.unacceptableHoldTime().description == "OPEN Message Error / Unacceptable Hold Time (2/6)")
        #expect(BGPNotification.badMessageLength(4097).description == "Message Header Error / Bad Message Length (1/2) data 1001")
        #expect(BGPNotification.administrativeShutdown("bye").description == "Cease / Administrative Shutdown (6/2) data 03627965")
    }
}
