import Testing
@testable import BFD

@Suite("BFD Control packets")
struct BFDPacketTests {
    /// A first packet to a new peer: Down, Your Discriminator 0, the 1 s slow-start TX, 300 ms RX, multiplier 3, 50 ms
    /// echo RX.
    static let frrDown: [UInt8] = [0x20, 0x40, 0x03, 0x18, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x0f, 0x42, 0x40, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x00, 0xc3, 0x50]

    @Test("decodes a Down packet and encodes it back")
    func roundTrip() throws {
        let p = try BFDPacket(decoding: Self.frrDown)
        #expect(p.state == .down && p.detectMultiplier == 3 && p.myDiscriminator == 42 && p.yourDiscriminator == 0)
        #expect(p.desiredMinTxInterval == 1_000_000 && p.requiredMinRxInterval == 300_000 && p.requiredMinEchoRxInterval == 50_000)
        #expect(p.encoded == Self.frrDown)
        var q = p
        q.state = .up; q.poll = true; q.diagnostic = .controlDetectionTimeExpired; q.yourDiscriminator = 7
        #expect(try BFDPacket(decoding: q.encoded) == q)
    }

    @Test("refuses what RFC 5880 §6.8.6 discards, saying why", arguments: [
        ([UInt8](frrDown.prefix(23)), "23 bytes, shorter than a Control packet (24)"),
        ({ var b = frrDown; b[0] = 0x40; return b }(), "version 2, not 1"),
        ({ var b = frrDown; b[3] = 30; return b }(), "length field 30 with 24 bytes received"),
        ({ var b = frrDown; b[3] = 20; return b }(), "length field 20 with 24 bytes received"),
        ({ var b = frrDown; b[2] = 0; return b }(), "detect multiplier 0"),
        ({ var b = frrDown; b[1] |= 0x01; return b }(), "multipoint bit set"),
        ({ var b = frrDown; b[1] |= 0x04; return b }(), "authentication present, none configured"),
        ({ var b = frrDown; b[4...7] = [0, 0, 0, 0]; return b }(), "My Discriminator 0"),
        ({ var b = frrDown; b[1] = 0xc0; return b }(), "Your Discriminator 0 in state Up"),
        ({ var b = frrDown; b[0] = 0x3f; return b }(), "diagnostic 31 unknown"),
    ])
    func refused(_ bytes: [UInt8], _ why: String) {
        #expect(throws: (any Error).self) { try BFDPacket(decoding: bytes) }
        do { _ = try BFDPacket(decoding: bytes) } catch { #expect(error.description == why) }
    }

    @Test("every byte string of up to 24 bytes with a valid header either decodes or throws, never traps")
    func hostile() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            var b = (0..<Int.random(in: 0...40, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            if b.count > 3 { b[0] = 0x20 | (b[0] & 0x1f) }
            if let p = try? BFDPacket(decoding: b) { #expect((try? BFDPacket(decoding: p.encoded))?.state == p.state) }
        }
    }
}

@Suite("BFD session state machine (manual clock)")
struct BFDSessionTests {
    static func config(_ ms: Int = 100, multiplier: UInt8 = 3, passive: Bool = false) -> BFDSession.Configuration {
        var c = BFDSession.Configuration()
        c.desiredMinTx = .milliseconds(ms)
        c.requiredMinRx = .milliseconds(ms)
        c.detectMultiplier = multiplier
        c.passive = passive
        return c
    }

    static func sent(_ actions: [BFDSession.Action]) -> [BFDPacket] {
        actions.compactMap { if case .send(let p) = $0 { p } else { nil } }
    }

    /// Two sessions wired back to back: the three-way handshake, then the Poll Sequence to the fast rate.
    @Test("two ends come up through Down → Init → Up and move to the configured rate with a Poll")
    func handshake() throws {
        var a = BFDSession(configuration: Self.config(), localDiscriminator: 1)
        var b = BFDSession(configuration: Self.config(), localDiscriminator: 2)
        let first = Self.sent(a.start(now: .zero))
        #expect(first.count == 1 && first[0].state == .down && first[0].yourDiscriminator == 0)
        #expect(first[0].desiredMinTxInterval == 1_000_000, "not Up: at most one packet a second")
        var toA = Self.sent(b.received(first[0], now: .milliseconds(1)))
        #expect(b.state == .initializing && toA.first?.state == .initializing && toA.first?.yourDiscriminator == 1)
        var toB = Self.sent(a.received(toA[0], now: .milliseconds(2)))
        #expect(a.state == .up && toB.first?.poll == true && toB.first?.desiredMinTxInterval == 100_000)
        toA = Self.sent(b.received(toB[0], now: .milliseconds(3)))
        #expect(b.state == .up)
        // b answers a's Poll with Final (and polls in turn, on its next packet).
        #expect(toA.first?.final == true && toA.first?.poll == false)
        toB = Self.sent(a.received(toA[0], now: .milliseconds(4)))
        #expect(a.transmitInterval == .milliseconds(100) && b.transmitInterval == .milliseconds(100))
        #expect(a.detectionTime == .milliseconds(300))
    }

    static func up() -> BFDSession {
        var a = BFDSession(configuration: config(), localDiscriminator: 1)
        _ = a.start(now: .zero)
        var peer = BFDPacket(state: .initializing, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 1,
                             desiredMinTxInterval: 100_000, requiredMinRxInterval: 100_000)
        _ = a.received(peer, now: .milliseconds(10))
        peer.state = .up
        peer.final = true
        _ = a.received(peer, now: .milliseconds(20))
        return a
    }

    @Test("a silent peer is declared Down after multiplier × interval, not before")
    func detection() {
        var a = Self.up()
        #expect(a.state == .up && a.detectionTime == .milliseconds(300))
        #expect(!a.tick(now: .milliseconds(319), jitter: 1).contains(.stateChanged(from: .up, to: .down, .controlDetectionTimeExpired)))
        #expect(a.tick(now: .milliseconds(320), jitter: 1).contains(.stateChanged(from: .up, to: .down, .controlDetectionTimeExpired)))
        #expect(a.state == .down && a.diagnostic == .controlDetectionTimeExpired && a.remoteDiscriminator == 0)
        #expect(a.desiredMinTx == .seconds(1), "back to the slow rate")
    }

    @Test("the peer's Down or AdminDown takes the session Down with the right diagnostic", arguments: [
        (BFDPacket.State.down, BFDPacket.Diagnostic.neighborSignaledSessionDown), (.adminDown, .neighborSignaledSessionDown),
    ])
    func peerDown(_ state: BFDPacket.State, _ diagnostic: BFDPacket.Diagnostic) {
        var a = Self.up()
        let p = BFDPacket(state: state, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: state == .down ? 1 : 0,
                          desiredMinTxInterval: 100_000, requiredMinRxInterval: 100_000)
        #expect(a.received(p, now: .milliseconds(50)).contains(.stateChanged(from: .up, to: .down, diagnostic)))
    }

    @Test("packets go at the slower of our rate and the peer's, with jitter of 75–100 %")
    func pacing() {
        var a = Self.up()
        var p = BFDPacket(state: .up, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 1,
                          desiredMinTxInterval: 100_000, requiredMinRxInterval: 500_000)
        _ = a.received(p, now: .milliseconds(30))
        #expect(a.transmitInterval == .milliseconds(500))
        p.requiredMinRxInterval = 50_000
        _ = a.received(p, now: .milliseconds(40))
        #expect(a.transmitInterval == .milliseconds(100))
        let due = a.nextDeadline ?? .zero
        #expect(Self.sent(a.tick(now: due, jitter: 0.5)).count == 1)
        #expect(a.nextDeadline == due + .milliseconds(75), "jitter is at least 75 %")
        #expect(Self.sent(a.tick(now: due + .milliseconds(74), jitter: 1)).isEmpty)
    }

    @Test("a passive session waits for the peer; a packet for another discriminator is ignored")
    func passiveAndForeign() {
        var a = BFDSession(configuration: Self.config(passive: true), localDiscriminator: 1)
        #expect(a.start(now: .zero).isEmpty && a.tick(now: .seconds(5), jitter: 1).isEmpty)
        let foreign = BFDPacket(state: .up, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 77,
                                desiredMinTxInterval: 100_000, requiredMinRxInterval: 100_000)
        #expect(a.received(foreign, now: .seconds(5)).isEmpty)
        let hello = BFDPacket(state: .down, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 0,
                              desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000)
        #expect(Self.sent(a.received(hello, now: .seconds(6))).first?.state == .initializing)
    }

    @Test("AdminDown tells the peer and stops detecting")
    func adminDown() {
        var a = Self.up()
        let actions = a.adminDown(now: .milliseconds(50))
        #expect(Self.sent(actions).first?.state == .adminDown && Self.sent(actions).first?.diagnostic == .administrativelyDown)
        #expect(a.tick(now: .seconds(10), jitter: 1).isEmpty)
    }
}
