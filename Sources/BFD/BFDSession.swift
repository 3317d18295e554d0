/// One BFD session in asynchronous mode (RFC 5880 §6), as a value driven by received packets and a clock the caller
/// supplies (`now` is a monotonic instant as a Duration since a fixed origin), returning the packets to send and the
/// state changes. No I/O and no timers of its own: the tests drive it on a manual clock.
///
/// Timers follow §6.8.3: while the session is not Up it transmits at most once a second; once Up it moves to the
/// configured rate with a Poll Sequence. The detection time is the remote's multiplier times the slower of our
/// RequiredMinRx and its DesiredMinTx. Echo and demand mode are not used.
public struct BFDSession: Sendable {
    public typealias State = BFDPacket.State
    public typealias Diagnostic = BFDPacket.Diagnostic

    public struct Configuration: Hashable, Sendable {
        public var desiredMinTx: Duration = .milliseconds(300)
        public var requiredMinRx: Duration = .milliseconds(300)
        public var detectMultiplier: UInt8 = 3
        /// Wait for the peer's first packet before sending (MetalLB's `passiveMode`).
        public var passive = false
        public init() {}
    }

    public enum Action: Hashable, Sendable {
        case send(BFDPacket)
        case stateChanged(from: State, to: State, Diagnostic)
    }

    public let configuration: Configuration
    public let localDiscriminator: UInt32
    public private(set) var state: State = .down
    public private(set) var diagnostic: Diagnostic = .none
    public private(set) var remoteDiscriminator: UInt32 = 0
    public private(set) var remoteState: State = .down
    /// What the peer asked for, in its last packet.
    public private(set) var remoteMinRx: Duration = .microseconds(1)
    public private(set) var remoteDesiredMinTx: Duration = .zero
    public private(set) var remoteMultiplier: UInt8 = 0
    private var pollActive = false
    private var finalDue = false
    private var nextTransmit: Duration?
    private var detectionDeadline: Duration?

    /// Below this, a session that is not Up does not transmit (§6.8.3).
    public static let slowRate: Duration = .seconds(1)

    public init(configuration: Configuration, localDiscriminator: UInt32) {
        precondition(localDiscriminator != 0, "BFD discriminators are non-zero")
        self.configuration = configuration
        self.localDiscriminator = localDiscriminator
    }

    /// Starts transmitting (an active session) at `now`.
    public mutating func start(now: Duration) -> [Action] {
        guard !configuration.passive else { return [] }
        nextTransmit = now
        return tick(now: now, jitter: 1)
    }

    /// The interval we ask to transmit at: the configured one once Up, at least a second before.
    public var desiredMinTx: Duration { state == .up ? configuration.desiredMinTx : max(configuration.desiredMinTx, Self.slowRate) }

    /// The interval between our packets before jitter: the slower of ours and what the peer can receive.
    public var transmitInterval: Duration { max(desiredMinTx, remoteMinRx) }

    /// How long the peer may stay silent before the session goes Down.
    public var detectionTime: Duration? {
        guard remoteMultiplier > 0 else { return nil }
        return max(configuration.requiredMinRx, remoteDesiredMinTx) * Int(remoteMultiplier)
    }

    /// The earliest instant `tick` has work at.
    public var nextDeadline: Duration? {
        [nextTransmit, detectionDeadline].compactMap { $0 }.min()
    }

    /// A packet from the peer (already validated by `BFDPacket(decoding:)`), §6.8.6.
    public mutating func received(_ p: BFDPacket, now: Duration) -> [Action] {
        guard p.yourDiscriminator == 0 || p.yourDiscriminator == localDiscriminator else { return [] }
        remoteDiscriminator = p.myDiscriminator
        remoteState = p.state
        remoteMinRx = .microseconds(Int64(p.requiredMinRxInterval))
        remoteDesiredMinTx = .microseconds(Int64(p.desiredMinTxInterval))
        remoteMultiplier = p.detectMultiplier
        if p.final { pollActive = false }
        var actions: [Action] = []
        if state == .adminDown { return [] }
        let before = state
        if p.state == .adminDown {
            if state != .down { change(to: .down, .neighborSignaledSessionDown, &actions) }
        } else {
            switch state {
            case .down:
                if p.state == .down { change(to: .initializing, .none, &actions) }
                else if p.state == .initializing { change(to: .up, .none, &actions) }
            case .initializing:
                if p.state == .initializing || p.state == .up { change(to: .up, .none, &actions) }
            case .up:
                if p.state == .down { change(to: .down, .neighborSignaledSessionDown, &actions) }
            case .adminDown:
                break
            }
        }
        if state == .up || state == .initializing, let d = detectionTime { detectionDeadline = now + d } else { detectionDeadline = nil }
        // A passive session starts once it has heard the peer; a Poll is answered at once with Final.
        if nextTransmit == nil { nextTransmit = now }
        if p.poll { finalDue = true; nextTransmit = now }
        if before != state { nextTransmit = now }
        actions += tick(now: now, jitter: 1)
        return actions
    }

    /// Sends what is due and expires the detection time. `jitter` is the fraction (0.75–1, at most 0.9 with a
    /// multiplier of 1) of the interval to wait before the next packet (§6.8.7).
    public mutating func tick(now: Duration, jitter: Double) -> [Action] {
        var actions: [Action] = []
        if let deadline = detectionDeadline, now >= deadline, state == .up || state == .initializing {
            change(to: .down, .controlDetectionTimeExpired, &actions)
            detectionDeadline = nil
            // The peer is gone: forget it, and ask again at the slow rate.
            remoteDiscriminator = 0
            remoteMinRx = .microseconds(1)
            remoteMultiplier = 0
        }
        if let due = nextTransmit, now >= due {
            if configuration.passive && remoteDiscriminator == 0 {
                nextTransmit = nil
            } else {
                actions.append(.send(packet()))
                finalDue = false
                let j = configuration.detectMultiplier == 1 ? min(jitter, 0.9) : jitter
                nextTransmit = now + transmitInterval * max(0.75, min(1, j))
            }
        }
        return actions
    }

    /// Administratively down: tell the peer (which then goes Down without declaring a failure) and stop detecting.
    public mutating func adminDown(now: Duration) -> [Action] {
        var actions: [Action] = []
        if state != .adminDown { change(to: .adminDown, .administrativelyDown, &actions) }
        detectionDeadline = nil
        actions.append(.send(packet()))
        nextTransmit = nil
        return actions
    }

    /// The packet we send now.
    public func packet() -> BFDPacket {
        var p = BFDPacket(state: state, detectMultiplier: configuration.detectMultiplier, myDiscriminator: localDiscriminator,
                          yourDiscriminator: remoteDiscriminator, desiredMinTxInterval: Self.micros(desiredMinTx),
                          requiredMinRxInterval: Self.micros(configuration.requiredMinRx))
        p.diagnostic = diagnostic
        // A Final answers a Poll; both bits never go together (§6.5).
        if finalDue { p.final = true } else if pollActive { p.poll = true }
        return p
    }

    private mutating func change(to new: State, _ why: Diagnostic, _ actions: inout [Action]) {
        let old = state
        state = new
        diagnostic = why
        // Our DesiredMinTx changes with Up (the slow rate before): a Poll Sequence tells the peer (§6.8.3).
        if new == .up || old == .up { pollActive = new == .up }
        actions.append(.stateChanged(from: old, to: new, why))
    }

    static func micros(_ d: Duration) -> UInt32 {
        let (s, atto) = d.components
        return UInt32(clamping: s * 1_000_000 + atto / 1_000_000_000_000)
    }
}
