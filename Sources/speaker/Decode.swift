import ArgumentParser
import BGPProtocol
import Foundation
import LinkLayer
import NIOCore
import NetworkPrimitives

/// `speaker decode`: explains raw frames and BGP messages, from hex or from captures.
struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode ARP/NDP frames or BGP messages from hex, a pcap file (frames) or a raw file (BGP).",
        discussion: """
            Frames are whole Ethernet frames (as tcpdump -w captures them). BGP input is a byte stream of one or more \
            messages (for example a TCP payload). Malformed input is explained, not fatal: a bad frame says what is \
            wrong, a bad BGP message names the NOTIFICATION a speaker would send. Exits 1 when anything was malformed.
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable { case arp, ndp, frame, bgp }

    @Argument(help: "What to decode: arp, ndp, frame (either) or bgp.") var kind: Kind
    @Argument(help: "Hex bytes (spaces and colons allowed).") var hex: String?
    @Option(help: "A pcap file of Ethernet frames (arp, ndp, frame).") var pcap: String?
    @Option(help: "A file of raw bytes (bgp).") var file: String?

    func validate() throws {
        let sources = [hex, pcap, file].compactMap { $0 }.count
        if sources != 1 { throw ValidationError("give exactly one of HEX, --pcap FILE or --file FILE") }
        if pcap != nil && kind == .bgp { throw ValidationError("--pcap holds Ethernet frames; use --file for BGP bytes") }
        if let hex, Self.bytes(fromHex: hex) == nil { throw ValidationError("\"\(hex.prefix(40))\" is not hex") }
    }

    func run() throws {
        var inputs: [[UInt8]] = []
        if let hex, let b = Self.bytes(fromHex: hex) { inputs = [b] }
        if let path = pcap ?? file {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("speaker decode: cannot read \"\(path)\"\n".utf8))
                throw ExitCode(2)
            }
            if pcap != nil {
                guard let frames = PcapFile.frames([UInt8](data)) else {
                    FileHandle.standardError.write(Data("speaker decode: \"\(path)\" is not a pcap file\n".utf8))
                    throw ExitCode(2)
                }
                inputs = frames.map { Array($0.readableBytesView) }
            } else {
                inputs = [[UInt8](data)]
            }
        }
        var ok = true
        for (i, bytes) in inputs.enumerated() {
            let prefix = inputs.count > 1 ? "#\(i + 1) " : ""
            if kind == .bgp {
                ok = Self.describeBGP(bytes, prefix: prefix) && ok
            } else {
                let (line, good) = Self.describeFrame(bytes, kind: kind)
                print(prefix + line)
                ok = good && ok
            }
        }
        if !ok { throw ExitCode(1) }
    }

    static func describeFrame(_ bytes: [UInt8], kind: Kind) -> (String, Bool) {
        do {
            let frame = try EthernetFrame(decoding: ByteBuffer(bytes: bytes))
            var head = "\(frame.source) > \(frame.destination)"
            if !frame.vlanTags.isEmpty { head += " vlan " + frame.vlanTags.map { String($0 & 0x0fff) }.joined(separator: ",") }
            switch frame.etherType {
            case EtherType.arp where kind != .ndp:
                let a = try ARPPacket(decoding: frame.payload)
                let what: String
                switch (a.operation, a.isGratuitous) {
                case (.request, true): what = "gratuitous ARP request: \(a.senderIP) is at \(a.senderMAC)"
                case (.reply, true): what = "gratuitous ARP reply: \(a.senderIP) is at \(a.senderMAC)"
                case (.request, false): what = "ARP request: who has \(a.targetIP)? tell \(a.senderIP) (\(a.senderMAC))"
                case (.reply, false): what = "ARP reply: \(a.senderIP) is at \(a.senderMAC) (to \(a.targetIP))"
                }
                return ("\(head): \(what)", true)
            case EtherType.ipv6 where kind != .arp:
                let p = try NDPPacket(decoding: frame.payload)
                switch p.message {
                case .neighborSolicitation(let target, let sll):
                    let from = sll.map { " (\($0))" } ?? " (no source link-layer option: a DAD probe, not answered)"
                    return ("\(head): neighbour solicitation from \(p.source)\(from): who has \(target)?", true)
                case .neighborAdvertisement(let na):
                    var flags: [String] = []
                    if na.router { flags.append("router") }
                    if na.solicited { flags.append("solicited") }
                    if na.override { flags.append("override") }
                    let mac = na.targetLinkLayer.map { " is at \($0)" } ?? " (no target link-layer option)"
                    return ("\(head): neighbour advertisement to \(p.destination): \(na.target)\(mac) [\(flags.joined(separator: ", "))]", true)
                }
            default:
                return ("\(head): EtherType 0x\(String(frame.etherType, radix: 16)) is not \(kind == .frame ? "ARP or NDP" : kind.rawValue.uppercased())", false)
            }
        } catch {
            return ("\(error)", false)
        }
    }

    static func describeBGP(_ bytes: [UInt8], prefix: String) -> Bool {
        var b = ByteBuffer(bytes: bytes)
        var index = 0
        while b.readableBytes > 0 {
            index += 1
            do {
                guard let m = try b.readBGPMessage() else {
                    print("\(prefix)message \(index): truncated: \(b.readableBytes) bytes left, the header announces more")
                    return false
                }
                print("\(prefix)message \(index): " + describe(m))
            } catch {
                print("\(prefix)message \(index): malformed; a speaker answers NOTIFICATION \(error)")
                return false
            }
        }
        return true
    }

    static func describe(_ m: BGPMessage) -> String {
        switch m {
        case .keepalive: return "KEEPALIVE"
        case .notification(let n): return "NOTIFICATION \(n)"
        case .update(let body):
            // The AS width is a session property; 4 octets is what every modern peer negotiates.
            let u: UpdateMessage
            do { u = try UpdateMessage(decoding: body, fourOctetAS: true) } catch {
                return "UPDATE (\(body.readableBytes) bytes) malformed; a speaker answers NOTIFICATION \(error)"
            }
            if u.isEndOfRIB { return "UPDATE End-of-RIB" }
            var parts: [String] = []
            if !u.withdrawn.isEmpty { parts.append("withdraw \(u.withdrawn.map(\.description).joined(separator: " "))") }
            if !u.announced.isEmpty { parts.append("announce \(u.announced.map(\.description).joined(separator: " "))") }
            if let a = u.attributes, !u.announced.isEmpty {
                var attrs = ["origin \(a.origin)", "as-path [\(a.asPath.map(\.description).joined(separator: " "))]"]
                if let nh = a.nextHop { attrs.append("next-hop \(nh)") }
                if let nh = a.nextHopIPv6 { attrs.append("next-hop \(nh)") }
                if let m = a.med { attrs.append("med \(m)") }
                if let lp = a.localPreference { attrs.append("local-pref \(lp)") }
                if !a.communities.isEmpty { attrs.append("communities \(a.communities.map(\.description).joined(separator: " "))") }
                if !a.largeCommunities.isEmpty { attrs.append("large-communities \(a.largeCommunities.map(\.description).joined(separator: " "))") }
                parts.append(attrs.joined(separator: ", "))
            }
            if let why = u.treatAsWithdraw { parts.append("treated as withdraw (RFC 7606): \(why)") }
            return "UPDATE " + parts.joined(separator: "; ")
        case .routeRefresh(let afi, let subtype, let safi): return "ROUTE-REFRESH afi \(afi) safi \(safi) subtype \(subtype)"
        case .open(let o):
            let caps = o.capabilities.map { c -> String in
                switch c {
                case .multiprotocol(let afi, let safi): return "mp(\(afi == 1 ? "ipv4" : afi == 2 ? "ipv6" : String(afi))/\(safi == 1 ? "unicast" : String(safi)))"
                case .routeRefresh: return "route-refresh"
                case .enhancedRouteRefresh: return "enhanced-route-refresh"
                case .gracefulRestart(let r, _, let t, let f): return "graceful-restart(time \(t)s\(r ? ", restarting" : "")\(f.isEmpty ? "" : ", \(f.count) families"))"
                case .fourOctetASN(let a): return "4-octet-asn(\(a))"
                case .other(let code, let value): return "capability-\(code)(\(value.count) bytes)"
                }
            }
            return "OPEN version \(o.version) AS \(o.asn)\(o.myAutonomousSystem == 23456 ? " (AS_TRANS in the 2-octet field)" : "") hold \(o.holdTime)s id \(o.identifier) capabilities: \(caps.joined(separator: " "))"
        }
    }

    static func bytes(fromHex text: String) -> [UInt8]? {
        let digits = text.filter { !($0 == " " || $0 == ":" || $0 == "\n" || $0 == "-") }
        guard digits.count % 2 == 0, !digits.isEmpty else { return nil }
        var out: [UInt8] = []
        var i = digits.startIndex
        while i < digits.endIndex {
            let j = digits.index(i, offsetBy: 2)
            guard let b = UInt8(digits[i..<j], radix: 16) else { return nil }
            out.append(b)
            i = j
        }
        return out
    }
}
