/// A BFD Control packet (RFC 5880 §4.1), without authentication: Beacon, like MetalLB's BFDProfile, configures none,
/// and a packet that asks for it is refused (§6.8.6).
public struct BFDPacket: Hashable, Sendable {
    public enum State: UInt8, Sendable, CustomStringConvertible {
        case adminDown = 0, down = 1, initializing = 2, up = 3
        public var description: String {
            switch self {
            case .adminDown: "AdminDown"
            case .down: "Down"
            case .initializing: "Init"
            case .up: "Up"
            }
        }
    }

    /// RFC 5880 §4.1's diagnostic codes.
    public enum Diagnostic: UInt8, Sendable, CustomStringConvertible {
        case none = 0, controlDetectionTimeExpired, echoFunctionFailed, neighborSignaledSessionDown, forwardingPlaneReset,
             pathDown, concatenatedPathDown, administrativelyDown, reverseConcatenatedPathDown
        public var description: String {
            switch self {
            case .none: "no diagnostic"
            case .controlDetectionTimeExpired: "control detection time expired"
            case .echoFunctionFailed: "echo function failed"
            case .neighborSignaledSessionDown: "neighbor signaled session down"
            case .forwardingPlaneReset: "forwarding plane reset"
            case .pathDown: "path down"
            case .concatenatedPathDown: "concatenated path down"
            case .administrativelyDown: "administratively down"
            case .reverseConcatenatedPathDown: "reverse concatenated path down"
            }
        }
    }

    public var diagnostic: Diagnostic = .none
    public var state: State
    public var poll = false
    public var final = false
    public var controlPlaneIndependent = false
    public var demand = false
    public var detectMultiplier: UInt8
    public var myDiscriminator: UInt32
    public var yourDiscriminator: UInt32
    /// Microseconds, as on the wire.
    public var desiredMinTxInterval: UInt32
    public var requiredMinRxInterval: UInt32
    public var requiredMinEchoRxInterval: UInt32 = 0

    public static let length = 24

    public init(state: State, detectMultiplier: UInt8, myDiscriminator: UInt32, yourDiscriminator: UInt32,
                desiredMinTxInterval: UInt32, requiredMinRxInterval: UInt32) {
        self.state = state
        self.detectMultiplier = detectMultiplier
        self.myDiscriminator = myDiscriminator
        self.yourDiscriminator = yourDiscriminator
        self.desiredMinTxInterval = desiredMinTxInterval
        self.requiredMinRxInterval = requiredMinRxInterval
    }

    public enum DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
        case tooShort(Int), badVersion(UInt8), badLength(UInt8, received: Int), zeroDetectMultiplier, multipoint,
             zeroMyDiscriminator, zeroYourDiscriminator(State), authentication, unknownDiagnostic(UInt8)
        public var description: String {
            switch self {
            case .tooShort(let n): "\(n) bytes, shorter than a Control packet (24)"
            case .badVersion(let v): "version \(v), not 1"
            case .badLength(let l, let n): "length field \(l) with \(n) bytes received"
            case .zeroDetectMultiplier: "detect multiplier 0"
            case .multipoint: "multipoint bit set"
            case .zeroMyDiscriminator: "My Discriminator 0"
            case .zeroYourDiscriminator(let s): "Your Discriminator 0 in state \(s)"
            case .authentication: "authentication present, none configured"
            case .unknownDiagnostic(let d): "diagnostic \(d) unknown"
            }
        }
    }

    /// Decodes and validates a packet as RFC 5880 §6.8.6 asks before any state is touched.
    public init(decoding bytes: some Collection<UInt8>) throws(DecodeError) {
        let b = Array(bytes)
        guard b.count >= Self.length else { throw .tooShort(b.count) }
        guard b[0] >> 5 == 1 else { throw .badVersion(b[0] >> 5) }
        let length = b[3]
        guard Int(length) >= Self.length, Int(length) <= b.count else { throw .badLength(length, received: b.count) }
        guard let diagnostic = Diagnostic(rawValue: b[0] & 0x1f) else { throw .unknownDiagnostic(b[0] & 0x1f) }
        let flags = b[1]
        guard flags & 0x04 == 0 else { throw .authentication }
        guard flags & 0x01 == 0 else { throw .multipoint }
        guard b[2] != 0 else { throw .zeroDetectMultiplier }
        func word(_ at: Int) -> UInt32 { UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3]) }
        let state = State(rawValue: flags >> 6)!  // Invariant: two bits, four states.
        let mine = word(4), yours = word(8)
        guard mine != 0 else { throw .zeroMyDiscriminator }
        guard yours != 0 || state == .down || state == .adminDown else { throw .zeroYourDiscriminator(state) }
        self.init(state: state, detectMultiplier: b[2], myDiscriminator: mine, yourDiscriminator: yours,
                  desiredMinTxInterval: word(12), requiredMinRxInterval: word(16))
        self.diagnostic = diagnostic
        poll = flags & 0x20 != 0
        final = flags & 0x10 != 0
        controlPlaneIndependent = flags & 0x08 != 0
        demand = flags & 0x02 != 0
        requiredMinEchoRxInterval = word(20)
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.length)
        out.append(1 << 5 | diagnostic.rawValue)
        var flags = state.rawValue << 6
        if poll { flags |= 0x20 }
        if final { flags |= 0x10 }
        if controlPlaneIndependent { flags |= 0x08 }
        if demand { flags |= 0x02 }
        out.append(flags)
        out.append(detectMultiplier)
        out.append(UInt8(Self.length))
        for w in [myDiscriminator, yourDiscriminator, desiredMinTxInterval, requiredMinRxInterval, requiredMinEchoRxInterval] {
            out += [UInt8(w >> 24), UInt8(w >> 16 & 0xff), UInt8(w >> 8 & 0xff), UInt8(w & 0xff)]
        }
        return out
    }
}
