import Foundation
import NIOCore
import Testing
import NetworkPrimitives
@testable import LinkLayer

/// The frames of a pcap fixture.
func pcapFrames(_ name: String) throws -> [ByteBuffer] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
    return try #require(PcapFile.frames([UInt8](try Data(contentsOf: url))))
}

let macA = MACAddress(0x02, 0, 0, 0, 0, 0x0a)
let macB = MACAddress(0x02, 0, 0, 0, 0, 0x0b)
let ipA = IPv4Address(192, 0, 2, 10)
let ipB = IPv4Address(192, 0, 2, 11)

@Suite("Frames captured from the Linux kernel, arping and ndisc6")
struct CapturedFrameTests {
    @Test("ARP request from arping and the kernel's reply")
    func arpRequestReply() throws {
        let frames = try pcapFrames("arp-request-reply.pcap")
        try #require(frames.count == 2)
        let request = try EthernetFrame(decoding: frames[0])
        #expect(request.destination == .broadcast && request.source == macA && request.etherType == EtherType.arp)
        let arp = try ARPPacket(decoding: request.payload)
        #expect(arp.operation == .request && arp.senderMAC == macA && arp.senderIP == ipA && arp.targetIP == ipB && !arp.isGratuitous)
        let reply = try ARPPacket(decoding: try EthernetFrame(decoding: frames[1]).payload)
        #expect(reply == arp.reply(from: macB))
        // Our encoding of the same reply is byte-for-byte the kernel's frame.
        #expect(reply.frame(from: macB).encoded == frames[1])
    }

    @Test("gratuitous ARP request and reply as arping -U and -A send them")
    func gratuitous() throws {
        let request = try #require(try pcapFrames("arp-gratuitous-request.pcap").first)
        let r = try ARPPacket(decoding: try EthernetFrame(decoding: request).payload)
        #expect(r.isGratuitous && r.operation == .request)
        #expect(ARPPacket.gratuitousRequest(mac: macA, ip: ipA).frame(from: macA).encoded == request)
        let reply = try #require(try pcapFrames("arp-gratuitous-reply.pcap").first)
        let p = try ARPPacket(decoding: try EthernetFrame(decoding: reply).payload)
        #expect(p.isGratuitous && p.operation == .reply && p.targetMAC == macA)
        #expect(ARPPacket.gratuitousReply(mac: macA, ip: ipA).frame(from: macA).encoded == reply)
    }

    @Test("neighbour solicitation from ndisc6 and the kernel's advertisement, checksums included")
    func ndp() throws {
        let frames = try pcapFrames("ndp-solicit-advert.pcap")
        try #require(frames.count == 2)
        let nsFrame = try EthernetFrame(decoding: frames[0])
        #expect(nsFrame.destination == MACAddress(0x33, 0x33, 0xff, 0, 0, 0x0b))
        let ns = try NDPPacket(decoding: nsFrame.payload)
        let target = try IPv6Address("2001:db8::b")
        #expect(ns.message == .neighborSolicitation(target: target, sourceLinkLayer: macA))
        #expect(ns.destination == NDP.solicitedNodeMulticast(target))
        #expect(NDP.multicastMAC(for: ns.destination) == nsFrame.destination)
        let naFrame = try EthernetFrame(decoding: frames[1])
        let na = try NDPPacket(decoding: naFrame.payload)
        #expect(na.message == .neighborAdvertisement(NeighborAdvertisement(solicited: true, override: true, target: target, targetLinkLayer: macB)))
        // Answering the captured solicitation reproduces the kernel's advertisement exactly.
        let ours = NDP.solicitedAdvertisement(answering: ns, ip: target, mac: macB)
        #expect(ours.frame(from: macB, to: nsFrame.source).encoded == frames[1])
    }
}

@Suite("Frame decoding is strict")
struct StrictDecodingTests {
    static func validFrames() throws -> [ByteBuffer] {
        try ["arp-request-reply.pcap", "arp-gratuitous-request.pcap", "ndp-solicit-advert.pcap"].flatMap(pcapFrames)
    }

    static func decodeAll(_ frame: ByteBuffer) throws {
        let f = try EthernetFrame(decoding: frame)
        switch f.etherType {
        case EtherType.arp: _ = try ARPPacket(decoding: f.payload)
        case EtherType.ipv6: _ = try NDPPacket(decoding: f.payload)
        default: throw LinkLayerError(.ethernet, "other")
        }
    }

    /// Every proper prefix of a valid frame is rejected with an error (never a crash).
    @Test("rejects every truncation")
    func truncations() throws {
        for frame in try Self.validFrames() {
            let bytes = Array(frame.readableBytesView)
            // ARP frames are exactly the 42-byte minimum; NDP ones need all their bytes.
            for length in 0..<bytes.count {
                #expect(throws: LinkLayerError.self) { try Self.decodeAll(ByteBuffer(bytes: bytes.prefix(length))) }
            }
            #expect(throws: Never.self) { try Self.decodeAll(frame) }
        }
    }

    /// Flipping any byte of an NDP message breaks its checksum (or a field check): it is rejected.
    @Test("rejects corrupted NDP messages")
    func corruption() throws {
        let frame = try #require(try pcapFrames("ndp-solicit-advert.pcap").last)
        let bytes = Array(frame.readableBytesView)
        for i in 14..<bytes.count {
            var corrupt = bytes
            corrupt[i] ^= 0x01
            if (14...17).contains(i) { continue }  // traffic class and flow label: any value is legal and not checksummed
            #expect(throws: LinkLayerError.self, "byte \(i)") { try Self.decodeAll(ByteBuffer(bytes: corrupt)) }
        }
    }

    @Test("random bytes never crash the decoders")
    func randomJunk() {
        var seed: UInt64 = 42
        for _ in 0..<20_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let length = Int(seed >> 56)
            var bytes: [UInt8] = []
            for k in 0..<length { bytes.append(UInt8(truncatingIfNeeded: (seed >> UInt64(k % 56)) &+ UInt64(k))) }
            if bytes.count > 13 { bytes[12] = seed & 1 == 0 ? 0x08 : 0x86; bytes[13] = seed & 1 == 0 ? 0x06 : 0xdd }
            _ = try? Self.decodeAll(ByteBuffer(bytes: bytes))
        }
    }

    /// Each case overwrites bytes at offsets of a valid ARP frame.
    @Test("field checks name what is wrong", arguments: [
        ([(14, UInt8(0)), (15, 6)], "invalid ARP packet: hardware type 6, expected 1 (Ethernet)"),
        ([(16, 0x86), (17, 0xdd)], "invalid ARP packet: protocol type 0x86dd, expected 0x800 (IPv4)"),
        ([(21, 3)], "invalid ARP packet: operation 3, expected 1 (request) or 2 (reply)"),
        ([(18, 8)], "invalid ARP packet: address lengths 8/4, expected 6/4"),
        ([(12, 0x05), (13, 0xdc)], "invalid Ethernet frame: length field 0x5dc (802.3 frames are not Ethernet II)"),
    ] as [([(Int, UInt8)], String)])
    func arpFieldErrors(_ patches: [(Int, UInt8)], _ message: String) throws {
        var bytes = Array(try #require(try pcapFrames("arp-request-reply.pcap").first).readableBytesView)
        for (offset, value) in patches { bytes[offset] = value }
        do {
            try Self.decodeAll(ByteBuffer(bytes: bytes))
            Issue.record("accepted")
        } catch let e as LinkLayerError {
            #expect(e.description == message)
        }
    }

    @Test("NDP rejects a hop limit other than 255, extension headers and bad options")
    func ndpChecks() throws {
        let ns = try NDPPacket(decoding: try EthernetFrame(decoding: try #require(try pcapFrames("ndp-solicit-advert.pcap").first)).payload)
        var low = ns
        low.hopLimit = 64
        var b = ByteBuffer()
        _ = low.encode(into: &b)
        #expect(throws: LinkLayerError(.icmpv6, "hop limit 64, NDP requires 255")) { try NDPPacket(decoding: b) }
        var ext = Array(b.readableBytesView)
        ext[6] = 0  // hop-by-hop options header
        #expect(throws: LinkLayerError(.ipv6, "next header 0, expected 58 (ICMPv6 without extension headers)")) { try NDPPacket(decoding: ByteBuffer(bytes: ext)) }
        // An option of length 0 would loop forever in a careless parser.
        var zero = ByteBuffer()
        _ = ns.encode(into: &zero)
        var bytes = Array(zero.readableBytesView)
        bytes[40 + 24 + 1] = 0
        #expect(throws: LinkLayerError.self) { try NDPPacket(decoding: ByteBuffer(bytes: bytes)) }
    }

    @Test("VLAN tags are understood when parsing")
    func vlan() throws {
        let arp = ARPPacket.gratuitousRequest(mac: macA, ip: ipA).frame(from: macA)
        var tagged = arp
        tagged.vlanTags = [0x0064]
        let decoded = try EthernetFrame(decoding: tagged.encoded)
        #expect(decoded.vlanTags == [0x0064] && decoded.etherType == EtherType.arp)
        #expect(try ARPPacket(decoding: decoded.payload).isGratuitous)
    }

    @Test("an unsolicited advertisement goes to all nodes with Override and a valid checksum")
    func unsolicited() throws {
        let vip = try IPv6Address("2001:db8::100")
        let packet = NDP.unsolicitedAdvertisement(ip: vip, mac: macA, from: try IPv6Address("fe80::ff:fe00:a"))
        let frame = packet.frame(from: macA)
        #expect(frame.destination == MACAddress(0x33, 0x33, 0, 0, 0, 1))
        let decoded = try NDPPacket(decoding: try EthernetFrame(decoding: frame.encoded).payload)
        #expect(decoded.message == .neighborAdvertisement(NeighborAdvertisement(solicited: false, override: true, target: vip, targetLinkLayer: macA)))
        #expect(decoded.destination == NDP.allNodes)
    }
}

@Suite("pcap files")
struct PcapFileTests {
    @Test("rejects what is not a whole pcap file")
    func rejects() throws {
        let bytes = [UInt8](try Data(contentsOf: try #require(Bundle.module.url(forResource: "Fixtures/arp-request-reply.pcap", withExtension: nil))))
        #expect(PcapFile.frames(bytes)?.count == 2)
        #expect(PcapFile.frames(Array(bytes.dropLast())) == nil)
        #expect(PcapFile.frames(Array(bytes.prefix(10))) == nil)
        #expect(PcapFile.frames([UInt8](repeating: 0, count: 40)) == nil)
    }
}

@Suite("Fuzz corpus")
struct FuzzCorpusTests {
    /// The kept libFuzzer corpus decodes (or is rejected) without a crash, and whatever decodes re-encodes to an
    /// equal value.
    @Test("replays without a crash and round-trips what decodes")
    func replay() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures/fuzz-corpus", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        #expect(files.count >= 6)
        for file in files {
            let frame = ByteBuffer(bytes: [UInt8](try Data(contentsOf: file)))
            guard let f = try? EthernetFrame(decoding: frame) else { continue }
            if f.etherType == EtherType.arp, let arp = try? ARPPacket(decoding: f.payload) {
                var out = ByteBuffer()
                arp.encode(into: &out)
                #expect(try ARPPacket(decoding: out) == arp)
            }
            if f.etherType == EtherType.ipv6, let ndp = try? NDPPacket(decoding: f.payload) {
                var out = ByteBuffer()
                _ = ndp.encode(into: &out)
                #expect(try NDPPacket(decoding: out) == ndp)
            }
        }
    }
}
