import Foundation
import NIOCore
import NetworkPrimitives
import Testing
@testable import BGPProtocol

private func p(_ s: String) -> IPPrefix { try! IPPrefix(s) }

private let attrs = PathAttributes(asPath: [64512, 4_200_000_000], nextHop: IPv4Address(192, 0, 2, 11),
                                   nextHopIPv6: try! IPv6Address("2001:db8::11"), med: 10, localPreference: 200,
                                   communities: [BGPCommunity(65000, 1)], largeCommunities: [LargeCommunity(64512, 1, 2)])

@Suite("UPDATE messages")
struct UpdateTests {
    /// Every attribute Beacon sends survives a round trip, IPv4 in the classic fields and IPv6 in MP_REACH, with
    /// 4-octet and 2-octet AS paths (AS_TRANS plus AS4_PATH for the latter).
    @Test("round trip", arguments: [true, false])
    func roundTrip(fourOctet: Bool) throws {
        let u = UpdateMessage(withdrawn: [p("198.51.100.0/24"), p("2001:db8:1::/48")], attributes: attrs,
                              announced: [p("192.0.2.100/32"), p("203.0.113.0/25"), p("2001:db8::100/128")])
        let decoded = try UpdateMessage(decoding: u.encode(fourOctetAS: fourOctet), fourOctetAS: fourOctet)
        #expect(Set(decoded.withdrawn) == Set(u.withdrawn))
        #expect(Set(decoded.announced) == Set(u.announced))
        #expect(decoded.treatAsWithdraw == nil)
        let d = try #require(decoded.attributes)
        #expect(d.nextHop == attrs.nextHop && d.nextHopIPv6 == attrs.nextHopIPv6 && d.med == 10 && d.localPreference == 200)
        #expect(d.communities == attrs.communities && d.largeCommunities == attrs.largeCommunities)
        #expect(d.asPath == (fourOctet ? attrs.asPath : [64512, 23456]))
        if !fourOctet { #expect(d.unknown.contains { $0.type == 17 }, "AS4_PATH carried") }
    }

    /// End-of-RIB markers: an empty UPDATE (IPv4) and an empty MP_UNREACH_NLRI (IPv6).
    @Test("End-of-RIB")
    func endOfRIB() throws {
        for family in [IPFamily.ipv4, .ipv6] {
            let bytes = UpdateMessage.endOfRIB(family).encode(fourOctetAS: true)
            #expect(try UpdateMessage(decoding: bytes, fourOctetAS: true).isEndOfRIB, "\(family)")
        }
        #expect(UpdateMessage.endOfRIB(.ipv4).encode(fourOctetAS: true).readableBytes == 4)
    }

    /// RFC 4271/7606 cases, one per row: bytes of an UPDATE body and what the decoder must do with them.
    static let malformed: [(String, [UInt8], String)] = [
        ("withdrawn length beyond the message", [0x00, 0x10, 0x00, 0x00], "reset 3/1"),
        // RFC 7606 §4: the Total Attribute Length locates the NLRI; an attribute running past it is treat-as-withdraw.
        ("attribute length beyond the attribute list", [0x00, 0x00, 0x00, 0x04, 0x40, 0x01, 0x05, 0x00, 8, 10], "withdraw"),
        ("attribute list ends inside a header", [0x00, 0x00, 0x00, 0x02, 0x40, 0x01, 8, 10], "withdraw"),
        ("extended-length header cut short", [0x00, 0x00, 0x00, 0x03, 0x50, 0x01, 0x00, 8, 10], "withdraw"),
        // A Total Attribute Length beyond the message hides the NLRI: session reset.
        ("total attribute length beyond the message", [0x00, 0x00, 0x00, 0x20, 0x40, 0x01, 0x01, 0x00], "reset 3/1"),
        ("IPv6 prefix length 129 in MP_REACH", [0x00, 0x00, 0x00, 0x1a, 0x80, 0x0e, 0x17, 0x00, 0x02, 0x01, 0x10,
                                                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 129, 0x20], "reset 3/10"),
        ("MP_UNREACH twice", [0x00, 0x00, 0x00, 0x0c, 0x80, 0x0f, 0x03, 0x00, 0x02, 0x01, 0x80, 0x0f, 0x03, 0x00, 0x02, 0x01], "reset 3/1"),
        ("a repeated ORIGIN is discarded after the first", [0x00, 0x00, 0x00, 0x12, 0x40, 0x01, 0x01, 0x00, 0x40, 0x01, 0x01, 0x02, 0x40, 0x02, 0x00,
                                                            0x40, 0x03, 0x04, 192, 0, 2, 1, 8, 10], "accept"),
        ("ATOMIC_AGGREGATE is accepted, and discarded with a wrong length",
         [0x00, 0x00, 0x00, 0x15, 0x40, 0x01, 0x01, 0x00, 0x40, 0x02, 0x00, 0x40, 0x03, 0x04, 192, 0, 2, 1, 0x40, 0x06, 0x00,
          0x40, 0x06, 0x01, 0x00, 8, 10], "accept"),
        ("prefix length 33", [0x00, 0x00, 0x00, 0x00, 33, 1, 2, 3, 4, 5], "reset 3/10"),
        ("truncated NLRI", [0x00, 0x00, 0x00, 0x00, 24, 192, 0], "reset 3/10"),
        ("NLRI without attributes", [0x00, 0x00, 0x00, 0x00, 8, 10], "reset 3/3"),
        ("ORIGIN with the optional flag", [0x00, 0x00, 0x00, 0x0e, 0xc0, 0x01, 0x01, 0x00, 0x40, 0x02, 0x00, 0x40, 0x03, 0x04, 192, 0, 2, 1, 8, 10],
         "withdraw"),
        ("ORIGIN value 7", [0x00, 0x00, 0x00, 0x0e, 0x40, 0x01, 0x01, 0x07, 0x40, 0x02, 0x00, 0x40, 0x03, 0x04, 192, 0, 2, 1, 8, 10], "withdraw"),
        ("missing NEXT_HOP", [0x00, 0x00, 0x00, 0x07, 0x40, 0x01, 0x01, 0x00, 0x40, 0x02, 0x00, 8, 10], "withdraw"),
        ("unknown optional attribute is kept, route accepted",
         [0x00, 0x00, 0x00, 0x13, 0x40, 0x01, 0x01, 0x00, 0x40, 0x02, 0x00, 0x40, 0x03, 0x04, 192, 0, 2, 1, 0xc0, 0x63, 0x02, 0xaa, 0xbb, 8, 10], "accept"),
        ("unknown well-known attribute", [0x00, 0x00, 0x00, 0x03, 0x40, 0x63, 0x00], "reset 3/2"),
        ("AS_PATH segment type 9", [0x00, 0x00, 0x00, 0x14, 0x40, 0x01, 0x01, 0x00, 0x40, 0x02, 0x06, 0x09, 0x01, 0, 0, 0xfc, 0x00,
                                    0x40, 0x03, 0x04, 192, 0, 2, 1, 8, 10], "withdraw"),
        ("MP_REACH with a 3-byte next hop", [0x00, 0x00, 0x00, 0x0b, 0x80, 0x0e, 0x08, 0x00, 0x02, 0x01, 0x03, 1, 2, 3, 0x00], "reset 3/9"),
    ]

    /// Malformed UPDATEs reset the session with the right NOTIFICATION, or are treated as withdraw (RFC 7606).
    @Test("malformed UPDATEs", arguments: malformed.indices)
    func malformedUpdate(_ i: Int) {
        let (name, bytes, expected) = Self.malformed[i]
        do {
            let u = try UpdateMessage(decoding: ByteBuffer(bytes: bytes), fourOctetAS: true)
            let got = u.treatAsWithdraw != nil ? "withdraw" : "accept"
            #expect(got == expected, "\(name): \(u)")
            if got == "withdraw" { #expect(u.announced.isEmpty && !u.withdrawn.isEmpty, "\(name)") }
        } catch {
            #expect("reset \(error.code)/\(error.subcode)" == expected, "\(name): \(error)")
        }
    }

    /// Any truncation of a valid UPDATE is refused or handled, never a crash.
    @Test("every truncation of a valid UPDATE")
    func truncations() {
        let bytes = Array(UpdateMessage(attributes: attrs, announced: [p("192.0.2.100/32"), p("2001:db8::100/128")]).encode(fourOctetAS: true).readableBytesView)
        for n in 0..<bytes.count { _ = try? UpdateMessage(decoding: ByteBuffer(bytes: bytes[..<n]), fourOctetAS: true) }
    }
}

@Suite("Adj-RIB-Out")
struct AdjRIBOutTests {
    /// 100,000 /32s with one set of attributes pack into UPDATEs of at most 4,096 bytes, nearly full; a second call
    /// with no change sends nothing; one withdrawal sends one small UPDATE; a reset re-sends everything.
    @Test("packs, sends differences only, re-sends after reset")
    func packing() throws {
        var rib = AdjRIBOut()
        var desired: [IPPrefix: PathAttributes] = [:]
        for i in 0..<100_000 { desired[IPPrefix(host: .v4(IPv4Address(0x0A00_0000 + UInt32(i))))] = attrs }
        let first = rib.updates(to: desired, fourOctetAS: true)
        #expect(first.allSatisfy { $0.readableBytes + 19 <= 4096 })
        #expect(first.count <= 100_000 / 780, "\(first.count) UPDATEs")
        let announced = try first.flatMap { try UpdateMessage(decoding: $0, fourOctetAS: true).announced }
        #expect(Set(announced) == Set(desired.keys))
        #expect(rib.updates(to: desired, fourOctetAS: true).isEmpty)
        let gone = IPPrefix(host: .v4(IPv4Address(0x0A00_0005)))
        desired[gone] = nil
        let w = rib.updates(to: desired, fourOctetAS: true)
        #expect(w.count == 1)
        #expect(try UpdateMessage(decoding: w[0], fourOctetAS: true).withdrawn == [gone])
        rib.reset()
        #expect(rib.updates(to: desired, fourOctetAS: true).count == first.count)
    }

    /// Different attributes go in different UPDATEs; IPv6 prefixes go in MP_REACH; withdrawals of both families.
    @Test("groups by attributes and family")
    func grouping() throws {
        var rib = AdjRIBOut()
        var other = attrs
        other.communities = [BGPCommunity(65000, 2)]
        let d: [IPPrefix: PathAttributes] = [p("192.0.2.1/32"): attrs, p("192.0.2.2/32"): other, p("2001:db8::1/128"): attrs]
        let ups = try rib.updates(to: d, fourOctetAS: true).map { try UpdateMessage(decoding: $0, fourOctetAS: true) }
        #expect(ups.count == 3)
        let w = try rib.updates(to: [:], fourOctetAS: true).map { try UpdateMessage(decoding: $0, fourOctetAS: true) }
        #expect(Set(w.flatMap(\.withdrawn)) == Set(d.keys))
    }
}

@Suite("Session state machine (manual clock)")
struct SessionStateMachineTests {
    static var config: SessionStateMachine.Configuration {
        var c = SessionStateMachine.Configuration(localASN: 64513, peerASN: 64512, routerID: IPv4Address(192, 0, 2, 11))
        c.holdTime = .seconds(9)
        return c
    }

    static func peerOpen(asn: ASN = 64512, hold: UInt16 = 90) -> BGPMessage {
        .open(OpenMessage(asn: asn, holdTime: hold, identifier: IPv4Address(192, 0, 2, 1),
                          capabilities: [.ipv4Unicast, .ipv6Unicast, .fourOctetASN(asn)]))
    }

    func established() -> SessionStateMachine {
        var fsm = SessionStateMachine(configuration: Self.config)
        _ = fsm.start()
        _ = fsm.connected(now: .zero)
        _ = fsm.received(Self.peerOpen(), now: .seconds(1))
        _ = fsm.received(.keepalive, now: .seconds(1))
        return fsm
    }

    /// Idle → Connect → OpenSent → OpenConfirm → Established; the lower hold time wins, keepalive is a third.
    @Test("comes up and negotiates")
    func up() {
        var fsm = SessionStateMachine(configuration: Self.config)
        #expect(fsm.start() == [.connect])
        guard case .send(.open(let open))? = fsm.connected(now: .zero).first else { Issue.record("no OPEN"); return }
        #expect(open.holdTime == 9 && open.capabilities.contains(.fourOctetASN(64513)))
        #expect(fsm.received(Self.peerOpen(), now: .seconds(1)) == [.send(.keepalive)])
        let actions = fsm.received(.keepalive, now: .seconds(1))
        guard case .established(let n)? = actions.first else { Issue.record("\(actions)"); return }
        #expect(n.holdTime == .seconds(9) && n.keepaliveTime == .seconds(3) && n.fourOctetAS && n.families == [.ipv4, .ipv6])
        #expect(fsm.state == .established)
    }

    /// MetalLB's rule: the transport's family alone, both with dualStackAddressFamily; the OPEN offers exactly those,
    /// and the session carries what both sides offered.
    @Test("families per session", arguments: [
        (IPFamily.ipv4, false, [IPFamily.ipv4]), (.ipv6, false, [.ipv6]), (.ipv4, true, [.ipv4, .ipv6]), (.ipv6, true, [.ipv4, .ipv6]),
    ])
    func families(_ transport: IPFamily, _ dualStack: Bool, _ expected: [IPFamily]) {
        var c = Self.config
        c.families = SessionStateMachine.Configuration.families(transport: transport, dualStack: dualStack)
        #expect(c.families == expected)
        var fsm = SessionStateMachine(configuration: c)
        _ = fsm.start()
        guard case .send(.open(let open))? = fsm.connected(now: .zero).first else { Issue.record("no OPEN"); return }
        #expect(open.capabilities.filter { if case .multiprotocol = $0 { true } else { false } } == expected.map { .multiprotocol(afi: $0.afi, safi: 1) })
        #expect(open.capabilities.contains(.routeRefresh) && open.capabilities.contains(.enhancedRouteRefresh))
        _ = fsm.received(Self.peerOpen(), now: .seconds(1))
        guard case .established(let n)? = fsm.received(.keepalive, now: .seconds(1)).first else { Issue.record("not up"); return }
        #expect(n.families == expected)
    }

    /// RFC 2918: a request for a negotiated family asks for that family's routes again; other families, other SAFIs
    /// and the peer's own BoRR/EoRR are ignored; each resets the hold timer.
    @Test("ROUTE-REFRESH requests", arguments: [
        (UInt16(1), UInt8(0), UInt8(1), [SessionStateMachine.Action.refresh(.ipv4)]),
        (2, 0, 1, [.refresh(.ipv6)]),
        (1, 1, 1, []), (1, 2, 1, []), (1, 0, 128, []), (25, 0, 1, []),
    ])
    func routeRefresh(_ afi: UInt16, _ subtype: UInt8, _ safi: UInt8, _ expected: [SessionStateMachine.Action]) {
        var fsm = established()
        #expect(fsm.received(.routeRefresh(afi: afi, subtype: subtype, safi: safi), now: .seconds(8)) == expected)
        #expect(fsm.tick(now: .seconds(14)).contains(.send(.notification(.holdTimerExpired()))) == false, "the refresh counts as heard")
        var v4only = Self.config
        v4only.families = [.ipv4]
        var narrow = SessionStateMachine(configuration: v4only)
        _ = narrow.start(); _ = narrow.connected(now: .zero); _ = narrow.received(Self.peerOpen(), now: .zero); _ = narrow.received(.keepalive, now: .zero)
        #expect(narrow.received(.routeRefresh(afi: 2, subtype: 0, safi: 1), now: .seconds(1)) == [], "IPv6 was not negotiated")
    }

    /// `dynamicASN: external`: any peer AS but our own opens the session.
    @Test("dynamicASN external: any AS but ours", arguments: [(UInt32(64512), true), (65001, true), (64513, false)])
    func anyExternal(_ asn: UInt32, _ accepted: Bool) {
        var c = Self.config
        c.peerASN = ASN(0)
        c.anyExternalPeerAS = true
        var fsm = SessionStateMachine(configuration: c)
        _ = fsm.start(); _ = fsm.connected(now: .zero)
        let actions = fsm.received(Self.peerOpen(asn: ASN(asn)), now: .zero)
        #expect((actions == [.send(.keepalive)]) == accepted, "\(actions)")
    }

    /// Enhanced route refresh counts only when both sides offer it.
    @Test("enhanced route refresh is negotiated")
    func enhanced() {
        var fsm = SessionStateMachine(configuration: Self.config)
        _ = fsm.start(); _ = fsm.connected(now: .zero)
        let withIt = BGPMessage.open(OpenMessage(asn: 64512, holdTime: 90, identifier: IPv4Address(192, 0, 2, 1),
                                                 capabilities: [.ipv4Unicast, .enhancedRouteRefresh, .fourOctetASN(64512)]))
        _ = fsm.received(withIt, now: .zero)
        guard case .established(let n)? = fsm.received(.keepalive, now: .zero).first else { Issue.record("not up"); return }
        #expect(n.enhancedRouteRefresh && n.families == [.ipv4])
        #expect(established().negotiated?.enhancedRouteRefresh == false)
    }

    /// After `forget`, the next update sends that family's routes again and nothing of the other.
    @Test("Adj-RIB-Out forgets one family for a refresh")
    func forget() throws {
        var rib = AdjRIBOut()
        let attrs = PathAttributes(nextHop: IPv4Address(192, 0, 2, 11), nextHopIPv6: try IPv6Address("2001:db8::11"))
        let routes: [IPPrefix: PathAttributes] = [try IPPrefix("198.51.100.1/32"): attrs, try IPPrefix("2001:db8:5::1/128"): attrs]
        #expect(rib.updates(to: routes, fourOctetAS: true).count == 2)
        #expect(rib.updates(to: routes, fourOctetAS: true).isEmpty)
        rib.forget(.ipv6)
        let again = rib.updates(to: routes, fourOctetAS: true)
        #expect(again.count == 1)
        let u = try UpdateMessage(decoding: again[0], fourOctetAS: true)
        #expect(u.announced == [try IPPrefix("2001:db8:5::1/128")])
        #expect(rib.count == 2)
    }

    /// Keepalives every third of the hold time; a silent peer is dropped with Hold Timer Expired after 9 s.
    @Test("keepalives and hold timer")
    func timers() {
        var fsm = established()
        #expect(fsm.tick(now: .seconds(3)) == [])
        #expect(fsm.tick(now: .seconds(4)) == [.send(.keepalive)])
        #expect(fsm.received(.keepalive, now: .seconds(5)) == [])
        #expect(fsm.tick(now: .seconds(13)) != [.send(.notification(.holdTimerExpired())), .close])
        let expiry = fsm.tick(now: .seconds(14))
        #expect(expiry.prefix(2) == [.send(.notification(.holdTimerExpired())), .close], "\(expiry)")
        #expect(fsm.state == .idle && fsm.lastError?.contains("hold timer expired") == true)
    }

    /// A wrong peer AS is refused with Bad Peer AS; retries back off 1, 2, 4 ... up to 60 s and reset once up.
    @Test("bad peer AS and backoff")
    func badPeer() {
        var fsm = SessionStateMachine(configuration: Self.config)
        _ = fsm.start()
        _ = fsm.connected(now: .zero)
        let a = fsm.received(Self.peerOpen(asn: 65000), now: .zero)
        #expect(a.first == .send(.notification(.badPeerAS())))
        #expect(a.last == .down(reason: "peer's OPEN refused: OPEN Message Error / Bad Peer AS (2/2)", retry: .seconds(1)))
        var delays: [Duration] = []
        for _ in 0..<8 {
            _ = fsm.retry()
            if case .down(_, let retry)? = fsm.connectFailed("refused").last, let retry { delays.append(retry) }
        }
        #expect(delays == [.seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(32), .seconds(60), .seconds(60), .seconds(60)])
    }

    /// Stop sends Cease/Administrative Shutdown and schedules no retry.
    @Test("stop sends Cease")
    func stop() {
        var fsm = established()
        let a = fsm.stop(reason: "speaker shutting down")
        #expect(a.first == .send(.notification(.administrativeShutdown("speaker shutting down"))))
        #expect(a.last == .down(reason: "stopped", retry: nil))
        #expect(fsm.retry() == [])
    }

    /// RFC 7606 through the session: every row of the decoder table, as an UPDATE received while Established. A
    /// reset row sends its NOTIFICATION and drops the session (with a retry); a withdraw row keeps the session and
    /// says why; an accept row keeps it silently. The hold timer restarts either way until a reset.
    @Test("received UPDATEs: reset, treat-as-withdraw or accept, per RFC 7606", arguments: UpdateTests.malformed.indices)
    func updateErrors(_ i: Int) {
        let (name, bytes, expected) = UpdateTests.malformed[i]
        var fsm = established()
        let actions = fsm.received(.update(ByteBuffer(bytes: bytes)), now: .seconds(2))
        if expected.hasPrefix("reset") {
            guard case .send(.notification(let n))? = actions.first else { Issue.record("\(name): \(actions)"); return }
            #expect("reset \(n.code)/\(n.subcode)" == expected, "\(name)")
            #expect(actions.contains(.close), "\(name)")
            #expect(fsm.state == .idle && fsm.lastError?.contains("malformed UPDATE from peer") == true, "\(name)")
        } else {
            guard case .updateReceived(_, _, let treated)? = actions.first, actions.count == 1 else { Issue.record("\(name): \(actions)"); return }
            #expect((treated != nil) == (expected == "withdraw"), "\(name): \(treated ?? "accepted")")
            #expect(fsm.state == .established, "\(name)")
        }
    }

    /// An UPDATE before Established, or an OPEN when established, is an FSM error.
    @Test("unexpected messages")
    func unexpected() {
        var fsm = established()
        let a = fsm.received(Self.peerOpen(), now: .seconds(2))
        #expect(a.first == .send(.notification(.finiteStateMachineError())))
    }
}

@Suite("BGP fuzz corpus")
struct BGPFuzzCorpusTests {
    /// The kept libFuzzer corpus (10 minutes, 4.2 million inputs, then minimised) decodes or is refused without a
    /// crash, and every UPDATE that decodes re-encodes to the same prefixes.
    @Test("replays without a crash and round-trips what decodes")
    func replay() throws {
        let dir = try #require(Bundle.module.url(forResource: "Fixtures/fuzz-corpus", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
        #expect(files.count >= 100)
        var updates = 0
        for file in files {
            var b = ByteBuffer(bytes: [UInt8](try Data(contentsOf: file)))
            while let m = try? b.readBGPMessage() {
                guard case .update(let body) = m, let u = try? UpdateMessage(decoding: body, fourOctetAS: true) else { continue }
                updates += 1
                let again = try UpdateMessage(decoding: u.encode(fourOctetAS: true), fourOctetAS: true)
                #expect(Set(again.announced) == Set(u.announced))
            }
        }
        #expect(updates > 0)
    }
}
