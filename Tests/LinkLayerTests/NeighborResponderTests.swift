import NIOCore
import NetworkPrimitives
import Testing
@testable import LinkLayer

private let us = MACAddress(0x02, 0, 0, 0, 0, 0x01)
private let them = MACAddress(0x02, 0, 0, 0, 0, 0x02)
private let other = MACAddress(0x02, 0, 0, 0, 0, 0x03)
private let vip = IPv4Address(192, 0, 2, 100)
private let client = IPv4Address(192, 0, 2, 50)
private let vip6 = try! IPv6Address("2001:db8::100")
private let client6 = try! IPv6Address("2001:db8::50")
private let responder = NeighborResponder(mac: us, ownedIPv4: [vip], ownedIPv6: [vip6])

private func arp(_ op: ARPPacket.Operation, from mac: MACAddress, _ sip: IPv4Address, asking tip: IPv4Address,
                 to destination: MACAddress = .broadcast) -> EthernetFrame {
    var f = ARPPacket(operation: op, senderMAC: mac, senderIP: sip, targetMAC: .zero, targetIP: tip).frame(from: mac)
    f.destination = destination
    return f
}

private func ns(_ target: IPv6Address, sll: MACAddress?, from source: IPv6Address = client6, to destination: MACAddress? = nil) -> EthernetFrame {
    var f = NDPPacket(source: source, destination: NDP.solicitedNodeMulticast(target),
                      message: .neighborSolicitation(target: target, sourceLinkLayer: sll)).frame(from: them)
    if let destination { f.destination = destination }
    return f
}

private func na(_ target: IPv6Address, claiming mac: MACAddress) -> EthernetFrame {
    NDP.unsolicitedAdvertisement(ip: target, mac: mac, from: client6).frame(from: mac)
}

/// The answer/ignore/conflict rules of issue 6, one row per case.
@Suite("NeighborResponder decides like a Linux-compatible ARP/NDP responder")
struct NeighborResponderTests {
    enum Expected: Sendable { case reply, refuse, conflict, ignore }

    static let cases: [(String, EthernetFrame, Expected)] = [
        ("ARP request for an owned IP, broadcast", arp(.request, from: them, client, asking: vip), .reply),
        ("ARP request for an owned IP, unicast to us (a refresh)", arp(.request, from: them, client, asking: vip, to: us), .reply),
        ("ARP request for an owned IP, unicast to another MAC", arp(.request, from: them, client, asking: vip, to: other), .refuse),
        ("ARP request for an IP we do not own", arp(.request, from: them, client, asking: IPv4Address(192, 0, 2, 101)), .ignore),
        ("ARP probe (sender 0.0.0.0) for an owned IP", arp(.request, from: them, IPv4Address(0), asking: vip), .reply),
        ("our own gratuitous request echoed back", arp(.request, from: us, vip, asking: vip), .ignore),
        ("another station's gratuitous request for our IP", arp(.request, from: them, vip, asking: vip), .conflict),
        ("another station's ARP reply for our IP", arp(.reply, from: them, vip, asking: client, to: us), .conflict),
        ("an ARP reply for someone else's IP", arp(.reply, from: them, client, asking: vip, to: us), .ignore),
        ("NS for an owned IP with a source link-layer option", ns(vip6, sll: them), .reply),
        ("NS for an owned IP unicast to us", ns(vip6, sll: them, to: us), .reply),
        ("NS for an owned IP unicast to another MAC", ns(vip6, sll: them, to: other), .refuse),
        ("DAD probe (from ::, no source link-layer option)", ns(vip6, sll: nil, from: IPv6Address(0)), .refuse),
        ("NS for an IP we do not own", ns(try! IPv6Address("2001:db8::101"), sll: them), .ignore),
        ("another station's NA for our IP", na(vip6, claiming: them), .conflict),
        ("our own NA", na(vip6, claiming: us), .ignore),
        ("an NA for another IP", na(client6, claiming: them), .ignore),
    ]

    /// Each row's frame gets the expected kind of decision.
    @Test("decision per frame", arguments: cases.indices)
    func decision(_ i: Int) {
        let (name, frame, expected) = Self.cases[i]
        let d = responder.respond(to: frame.encoded)
        switch (d, expected) {
        case (.reply, .reply), (.refuse, .refuse), (.conflict, .conflict), (.ignore, .ignore): break
        default: Issue.record("\(name): got \(d), expected \(expected)")
        }
    }

    /// The ARP answer is a unicast reply from our MAC to the asker, saying the owned IP is at our MAC.
    @Test("ARP reply fields")
    func arpReply() throws {
        guard case .reply(let ip, let frame) = responder.respond(to: arp(.request, from: them, client, asking: vip)) else {
            Issue.record("no reply"); return
        }
        #expect(ip == .v4(vip))
        #expect(frame.destination == them && frame.source == us && frame.etherType == EtherType.arp)
        let reply = try ARPPacket(decoding: frame.payload)
        #expect(reply == ARPPacket(operation: .reply, senderMAC: us, senderIP: vip, targetMAC: them, targetIP: client))
    }

    /// The NDP answer: unicast to the solicitation's link-layer source, Solicited and Override set, our MAC as target
    /// link-layer address, hop limit 255 and a valid checksum (the decoder checks both).
    @Test("NA fields")
    func naReply() throws {
        guard case .reply(_, let frame) = responder.respond(to: ns(vip6, sll: them)) else { Issue.record("no reply"); return }
        #expect(frame.destination == them && frame.source == us)
        let packet = try NDPPacket(decoding: frame.payload)
        #expect(packet.destination == client6 && packet.hopLimit == 255)
        #expect(packet.message == .neighborAdvertisement(NeighborAdvertisement(solicited: true, override: true, target: vip6, targetLinkLayer: us)))
    }

    /// Truncated and garbage frames are ignored with the decoder's reason, never answered.
    @Test("malformed frames are ignored", arguments: [[UInt8](), [0x01, 0x02], Array(repeating: 0xff, count: 60)])
    func malformed(_ bytes: [UInt8]) {
        if case .ignore = responder.respond(to: ByteBuffer(bytes: bytes)) {} else { Issue.record("answered garbage") }
    }
}

@Suite("GratuitousSchedule")
struct GratuitousScheduleTests {
    /// Offsets parse in ms or s, come out sorted, and bad text names the culprit.
    @Test("parsing")
    func parsing() throws {
        #expect(try GratuitousSchedule("0, 250ms,1s,0.5s").offsets == [.zero, .milliseconds(250), .milliseconds(500), .seconds(1)])
        #expect(GratuitousSchedule.default.offsets.first == .zero)
        #expect(GratuitousSchedule.default.offsets.count == 5)
        #expect(GratuitousSchedule.evenly(count: 3, interval: .milliseconds(100)).offsets == [.zero, .milliseconds(100), .milliseconds(200)])
        #expect(throws: LinkLayerError.self) { try GratuitousSchedule("soon") }
        #expect(throws: LinkLayerError.self) { try GratuitousSchedule("") }
        do { _ = try GratuitousSchedule("1s,-3ms") } catch { #expect(error.description.contains("-3ms")) }
    }
}
