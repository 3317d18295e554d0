import NIOCore

/// A NOTIFICATION (RFC 4271 §4.5): sent before closing, and thrown by the decoder for malformed input.
public struct BGPNotification: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: UInt8
    public var subcode: UInt8
    public var data: [UInt8]

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = []) {
        self.code = code
        self.subcode = subcode
        self.data = data
    }

    // RFC 4271 §6.1: message header errors.
    public static func connectionNotSynchronized() -> BGPNotification { .init(code: 1, subcode: 1) }
    public static func badMessageLength(_ length: UInt16) -> BGPNotification { .init(code: 1, subcode: 2, data: length.bigEndianBytes) }
    public static func badMessageType(_ type: UInt8) -> BGPNotification { .init(code: 1, subcode: 3, data: [type]) }
    // RFC 4271 §6.2: OPEN message errors.
    public static func unsupportedVersion(supported: UInt16 = 4) -> BGPNotification { .init(code: 2, subcode: 1, data: supported.bigEndianBytes) }
    public static func badPeerAS() -> BGPNotification { .init(code: 2, subcode: 2) }
    public static func badBGPIdentifier() -> BGPNotification { .init(code: 2, subcode: 3) }
    public static func unsupportedOptionalParameter() -> BGPNotification { .init(code: 2, subcode: 4) }
    public static func unacceptableHoldTime() -> BGPNotification { .init(code: 2, subcode: 6) }
    /// RFC 5492 §5.
    public static func unsupportedCapability(_ data: [UInt8]) -> BGPNotification { .init(code: 2, subcode: 7, data: data) }
    public static func malformedOpen() -> BGPNotification { .init(code: 2, subcode: 0) }
    // RFC 4271 §6.5, §6.6; RFC 4486 Cease subcodes.
    public static func holdTimerExpired() -> BGPNotification { .init(code: 4, subcode: 0) }
    public static func finiteStateMachineError() -> BGPNotification { .init(code: 5, subcode: 0) }
    public static func administrativeShutdown(_ reason: String = "") -> BGPNotification {
        // RFC 9003: a length-prefixed UTF-8 reason of at most 255 bytes.
        let bytes = Array(reason.utf8.prefix(255))
        return .init(code: 6, subcode: 2, data: bytes.isEmpty ? [] : [UInt8(bytes.count)] + bytes)
    }

    /// "OPEN Message Error / Unacceptable Hold Time (2/6)": the names routers print.
    public var description: String {
        let codes = ["", "Message Header Error", "OPEN Message Error", "UPDATE Message Error", "Hold Timer Expired",
                     "Finite State Machine Error", "Cease", "ROUTE-REFRESH Message Error"]
        let subcodes: [UInt8: [String]] = [
            1: ["Unspecific", "Connection Not Synchronized", "Bad Message Length", "Bad Message Type"],
            2: ["Unspecific", "Unsupported Version Number", "Bad Peer AS", "Bad BGP Identifier", "Unsupported Optional Parameter",
                "Deprecated", "Unacceptable Hold Time", "Unsupported Capability"],
            3: ["Unspecific", "Malformed Attribute List", "Unrecognized Well-known Attribute", "Missing Well-known Attribute",
                "Attribute Flags Error", "Attribute Length Error", "Invalid ORIGIN Attribute", "Deprecated", "Invalid NEXT_HOP Attribute",
                "Optional Attribute Error", "Invalid Network Field", "Malformed AS_PATH"],
            6: ["Unspecific", "Maximum Number of Prefixes Reached", "Administrative Shutdown", "Peer De-configured",
                "Administrative Reset", "Connection Rejected", "Other Configuration Change", "Connection Collision Resolution",
                "Out of Resources", "Hard Reset"],
        ]
        let c = Int(code) < codes.count ? codes[Int(code)] : "Code \(code)"
        let list = subcodes[code] ?? []
        let s = Int(subcode) < list.count ? list[Int(subcode)] : "Subcode \(subcode)"
        var text = "\(c) / \(s) (\(code)/\(subcode))"
        if !data.isEmpty { text += " data " + data.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        return text
    }
}

extension UInt16 {
    var bigEndianBytes: [UInt8] { [UInt8(self >> 8), UInt8(self & 0xff)] }
}

// RFC 4271 §6.3 UPDATE message errors (code 3).
extension BGPNotification {
    public static func malformedAttributeList() -> BGPNotification { .init(code: 3, subcode: 1) }
    public static func unrecognizedWellKnownAttribute(_ type: UInt8) -> BGPNotification { .init(code: 3, subcode: 2, data: [type]) }
    public static func missingWellKnownAttribute(_ type: UInt8) -> BGPNotification { .init(code: 3, subcode: 3, data: [type]) }
    public static func attributeLengthError(_ type: UInt8) -> BGPNotification { .init(code: 3, subcode: 5, data: [type]) }
    public static func optionalAttributeError() -> BGPNotification { .init(code: 3, subcode: 9) }
    public static func invalidNetworkField() -> BGPNotification { .init(code: 3, subcode: 10) }
}
