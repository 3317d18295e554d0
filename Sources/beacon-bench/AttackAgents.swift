import ArgumentParser
import Crypto
import Foundation
import LinkLayer
import Membership
import NIOCore
import NetworkPrimitives
import PacketSocket

/// The attackers `beacon-bench attack` starts inside the lab's namespaces (`ip netns exec`): each throws one kind of
/// hostile input at one target and prints what it did as one JSON line. Not for use on their own.
struct AttackAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack-agent", abstract: "One attacker of `beacon-bench attack` (run inside a lab namespace).",
        shouldDisplay: false,
        subcommands: [HTTPAttacker.self, FrameAttacker.self, MembershipAttacker.self, BGPAttacker.self])
}

// MARK: - Admin HTTP

/// Malformed requests, each on its own connection, then slow connections (slowloris) held open by one byte a second.
struct HTTPAttacker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "http")

    @Option(help: "host:port (IPv6 in brackets).") var target: String
    @Option var requests = 10_000
    @Option(help: "Requests in flight at once.") var concurrency = 2
    @Option var slow = 1_000
    @Option(help: "Seconds the slow connections are kept trickling.") var slowSeconds = 15

    /// What a hostile client sends: the request that used to kill the daemons, broken request lines and headers,
    /// heads and bodies over the limits, bad chunking, binary noise, pipelined floods.
    static func payloads() -> [[UInt8]] {
        var rng = SystemRandomNumberGenerator()
        let texts = [
            "GET /healthz?= HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /healthz?%zz&&==&=&a=%00%ff HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /" + String(repeating: "a", count: 20_000) + " HTTP/1.1\r\n\r\n",
            "GET /metrics HTTP/1.1\r\n" + String(repeating: "X-Pad: " + String(repeating: "p", count: 100) + "\r\n", count: 300) + "\r\n",
            "POST /metrics HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n" + String(repeating: "b", count: 8192),
            "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzzzz\r\n",
            "POST /readyz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
            "GET / HTTP/9.9\r\n\r\n",
            "\r\n\r\n\r\n\r\n",
            "GET /debug/state HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /readyz HTTP/1.1\r\nHost: \u{0}\u{0}\r\nNoColonHere\r\n\r\n",
            "BREW /pot HTCPCP/1.0\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
            String(repeating: "GET /healthz?= HTTP/1.1\r\nHost: a\r\n\r\n", count: 200),
        ]
        var out = texts.map { Array($0.utf8) }
        for _ in 0..<5 { out.append((0..<Int.random(in: 1...4096, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        return out
    }

    func run() throws {
        raiseOpenFileLimit()
        guard let address = SocketTarget(target) else { throw ValidationError("bad target \(target)") }
        let payloads = Self.payloads()
        let started = Date()
        let counts = Counts()
        DispatchQueue.concurrentPerform(iterations: concurrency) { worker in
            var i = worker
            while i < requests {
                let payload = payloads[i % payloads.count]
                i += concurrency
                guard let fd = address.connect(timeoutSeconds: 2) else { counts.add(\.refused); continue }
                defer { close(fd) }
                _ = payload.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                shutdown(fd, Int32(SHUT_WR))
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &buffer, buffer.count, 0)
                counts.add(n > 0 ? \.answered : \.closed)
            }
        }
        let requestSeconds = Date().timeIntervalSince(started)

        // Slowloris: a partial head, then one byte a second. The server's request deadline and per-source cap end them.
        var fds: [Int32] = []
        for _ in 0..<slow {
            guard let fd = address.connect(timeoutSeconds: 2) else { counts.add(\.slowRefused); continue }
            var flags = fcntl(fd, F_GETFL)
            flags |= O_NONBLOCK
            _ = fcntl(fd, F_SETFL, flags)
            let head = Array("GET /metrics HTTP/1.1\r\nX-Slow: ".utf8)
            _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            fds.append(fd)
        }
        var openAfter: [Int] = []
        for _ in 0..<slowSeconds {
            Thread.sleep(forTimeInterval: 1)
            var byte: UInt8 = UInt8(ascii: "a")
            var peek: UInt8 = 0
            fds = fds.filter { fd in
                let closed = recv(fd, &peek, 1, Int32(MSG_DONTWAIT | MSG_PEEK)) == 0 || send(fd, &byte, 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) < 0
                if closed { close(fd) }
                return !closed
            }
            openAfter.append(fds.count)
        }
        for fd in fds { close(fd) }
        let c = counts.snapshot
        print(try jsonLine([
            "agent": "http", "target": target, "requests": requests, "answered": c.answered, "closed_unanswered": c.closed,
            "refused": c.refused, "request_seconds": requestSeconds, "slow": slow, "slow_refused": c.slowRefused,
            "slow_open_after_1s": openAfter.first ?? 0, "slow_open_at_end": openAfter.last ?? 0,
        ]))
    }

    final class Counts: @unchecked Sendable {
        struct Values { var answered = 0, closed = 0, refused = 0, slowRefused = 0 }
        private let lock = NSLock()
        private var values = Values()
        func add(_ field: WritableKeyPath<Values, Int>) { lock.withLock { values[keyPath: field] += 1 } }
        var snapshot: Values { lock.withLock { values } }
    }
}

/// A TCP or UDP destination, IPv4 or IPv6 (NIO's `SocketAddress` for the parsing and the sockaddr).
struct SocketTarget {
    var address: SocketAddress
    var family: Int32 { address.protocol.rawValue }

    /// `192.0.2.1:7473` or `[2001:db8::1]:7473`.
    init?(_ text: String) {
        let host: String, port: String
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            port = String(text[text.index(close, offsetBy: 2)...])
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = String(text[..<colon])
            port = String(text[text.index(after: colon)...])
        }
        guard let p = UInt16(port) else { return nil }
        self.init(host: host, port: p)
    }

    init?(host: String, port: UInt16) {
        guard let a = try? SocketAddress(ipAddress: host, port: Int(port)) else { return nil }
        address = a
    }

    func withAddress<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        address.withSockAddr { body($0, socklen_t($1)) }
    }

    /// A connected blocking TCP socket with send and receive timeouts, or nil.
    func connect(timeoutSeconds: Int) -> Int32? {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard withAddress({ Glibc.connect(fd, $0, $1) }) == 0 else { close(fd); return nil }
        return fd
    }
}

func raiseOpenFileLimit() {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = max(limit.rlim_cur, min(limit.rlim_max, 8192))
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

// MARK: - Spoofed ARP replies and neighbour advertisements

/// ARP replies and neighbour advertisements claiming the announced addresses, each from a new random MAC, sent to
/// the owner's MAC at a fixed rate. (Broadcast claims would poison every neighbour cache on the segment, which no
/// announcer can prevent; the target here is the speaker's conflict handling.)
struct FrameAttacker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "frames")

    @Option var interface = "eth0"
    @Option(help: "IPv4 address to claim with ARP replies.") var ipv4: String?
    @Option(help: "IPv6 address to claim with neighbour advertisements.") var ipv6: String?
    @Option(help: "The IPv4 address's owner's MAC.") var to: String
    @Option(help: "The IPv6 address's owner's MAC (default: --to).") var to6: String?
    @Option var count = 100_000
    @Option(help: "Frames per second.") var rate = 20_000

    func run() async throws {
        let index = Int(if_nametoindex(interface))
        let macText = try String(contentsOfFile: "/sys/class/net/\(interface)/address", encoding: .utf8)
        let endpoint = LinkEndpoint(name: interface, index: index, mac: try MACAddress(macText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let owner = try MACAddress(to)
        let owner6 = try to6.map { try MACAddress($0) } ?? owner
        let v4 = try ipv4.map { try IPv4Address($0) }
        let v6 = try ipv6.map { try IPv6Address($0) }
        guard v4 != nil || v6 != nil else { throw ValidationError("give --ipv4 or --ipv6") }
        let socket = try await PacketSocket.open(endpoint) { _ in nil }
        var rng = SystemRandomNumberGenerator()
        func randomMAC() -> MACAddress {
            // Locally administered unicast.
            MACAddress(UInt8.random(in: 0...255, using: &rng) & 0xfc | 0x02, .random(in: 0...255, using: &rng), .random(in: 0...255, using: &rng),
                       .random(in: 0...255, using: &rng), .random(in: 0...255, using: &rng), .random(in: 0...255, using: &rng))
        }
        let started = ContinuousClock.now
        let batch = max(1, rate / 100)
        var sent = 0, failed = 0, n = 0
        while n < count {
            var frames: [ByteBuffer] = []
            for _ in 0..<min(batch, count - n) {
                let mac = randomMAC()
                let frame: EthernetFrame
                if let v4, v6 == nil || n % 2 == 0 {
                    frame = ARPPacket(operation: .reply, senderMAC: mac, senderIP: v4, targetMAC: owner, targetIP: v4).frame(from: mac)
                } else {
                    let lladdr = try IPv6Address("fe80::\(String(mac.octets.4, radix: 16)):\(String(mac.octets.5, radix: 16))")
                    let na = NDPPacket(source: lladdr, destination: NDP.allNodes, message: .neighborAdvertisement(
                        NeighborAdvertisement(solicited: false, override: true, target: v6!, targetLinkLayer: mac)))
                    frame = na.frame(from: mac, to: owner6)
                }
                var b = ByteBuffer()
                var f = frame
                f.destination = frame.etherType == EtherType.arp ? owner : owner6
                _ = f.encode(into: &b)
                frames.append(b)
                n += 1
            }
            let ok = socket.send(frames)
            sent += ok
            failed += frames.count - ok
            // Pace: batch k is due at k × 10 ms.
            let due = started + .milliseconds(10 * (n / batch))
            if ContinuousClock.now < due { try await Task.sleep(until: due) }
        }
        let seconds = (ContinuousClock.now - started).seconds
        await socket.close()
        print(try jsonLine(["agent": "frames", "sent": sent, "failed": failed, "seconds": seconds, "rate": Double(sent) / seconds]))
    }
}

// MARK: - Membership datagrams

/// Forged (signed with a wrong key, claiming real members and reporting them dead), replayed (captured real
/// datagrams sent again) and garbage datagrams, in equal parts, to every target at a fixed rate.
struct MembershipAttacker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "membership")

    @Option(help: "host:port, repeatable.") var target: [String]
    @Option(help: "Member names to impersonate.") var member: [String]
    @Option(help: "A pcap of real membership traffic to replay.") var replay: String?
    @Option(help: "Datagrams per second to each target.") var rate = 50_000
    @Option var seconds = 10

    func run() throws {
        let targets = target.compactMap(SocketTarget.init)
        guard targets.count == target.count, !targets.isEmpty else { throw ValidationError("bad --target") }
        var replays: [[UInt8]] = []
        if let replay, let data = FileManager.default.contents(atPath: replay), let frames = PcapFile.frames(Array(data)) {
            replays = frames.compactMap(udpPayload)
        }
        var rng = SystemRandomNumberGenerator()
        let wrongKey = SymmetricKey(size: .bits256)
        var pool: [[UInt8]] = []
        for i in 0..<3000 {
            switch i % 3 {
            case 0:
                let name = member.isEmpty ? "node\(i % 5)" : member[i % member.count]
                let reports = member.map { MembershipMessage.Report(name: $0, alive: false, incarnation: .max - 1) }
                let m = MembershipMessage(kind: i % 6 == 0 ? .leave : .heartbeat, sender: name, incarnation: UInt64.random(in: 1...UInt64.max, using: &rng),
                                          sequence: UInt64(i), reports: reports)
                pool.append(Array(buffer: m.encode(key: wrongKey)))
            case 1 where !replays.isEmpty:
                var r = replays[i % replays.count]
                // Every sixth replay has one byte flipped (an altered datagram); the rest are exact copies.
                if i % 6 == 1, !r.isEmpty { r[Int.random(in: 0..<r.count, using: &rng)] ^= 0x5a }
                pool.append(r)
            default:
                var g = (0..<Int.random(in: 0...1400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if i % 2 == 0, g.count > 3 { g.replaceSubrange(0..<3, with: [0x42, 0x4d, 1]) }  // past the magic
                pool.append(g)
            }
        }
        let fd4 = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0), fd6 = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd4); close(fd6) }
        let started = ContinuousClock.now
        var sent = 0, failed = 0, tick = 0
        let perTick = max(1, rate / 1000)  // per millisecond, to each target
        while ContinuousClock.now - started < .seconds(seconds) {
            for t in targets {
                let fd = t.family == AF_INET6 ? fd6 : fd4
                for k in 0..<perTick {
                    let d = pool[(tick * perTick + k) % pool.count]
                    let r = t.withAddress { a, l in d.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), a, l) } }
                    if r < 0 { failed += 1 } else { sent += 1 }
                }
            }
            tick += 1
            let due = started + .milliseconds(tick)
            let now = ContinuousClock.now
            if now < due { Thread.sleep(forTimeInterval: (due - now).seconds) }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        print(try jsonLine(["agent": "membership", "targets": target.count, "sent": sent, "failed": failed, "seconds": elapsed,
                            "rate_per_target": Double(sent) / elapsed / Double(targets.count), "replayable": replays.count]))
    }

    /// The UDP payload of an Ethernet frame carrying IPv4 or IPv6 UDP to port 7946.
    func udpPayload(_ frame: ByteBuffer) -> [UInt8]? {
        guard let eth = try? EthernetFrame(decoding: frame) else { return nil }
        let p = Array(buffer: eth.payload)
        var udp: Int
        switch eth.etherType {
        case EtherType.ipv4:
            guard p.count > 20, p[9] == 17 else { return nil }
            udp = Int(p[0] & 0x0f) * 4
        case EtherType.ipv6:
            guard p.count > 40, p[6] == 17 else { return nil }
            udp = 40
        default: return nil
        }
        guard p.count >= udp + 8, Int(p[udp + 2]) << 8 | Int(p[udp + 3]) == 7946 else { return nil }
        return Array(p[(udp + 8)...])
    }
}

// MARK: - A hostile BGP peer

/// A BGP speaker that accepts the node's session, opens it properly, then sends the malformed UPDATEs RFC 7606
/// sorts: some that must be treated as withdraw (the session stays up) and, last, one that must reset the session.
/// Every connection the node makes gets the next reset kind in turn.
struct BGPAttacker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bgp")

    @Option var listen: String
    @Option var asn: UInt16 = 64666
    @Option var seconds = 20
    @Option(help: "Treat-as-withdraw UPDATEs per session before the one that resets it.") var withdrawals = 200

    static func message(_ type: UInt8, _ body: [UInt8], length: Int? = nil, marker: [UInt8] = .init(repeating: 0xff, count: 16)) -> [UInt8] {
        let l = length ?? 19 + body.count
        return marker + [UInt8(l >> 8), UInt8(l & 0xff), type] + body
    }

    static func update(_ attributes: [UInt8], nlri: [UInt8], totalAttributeLength: Int? = nil) -> [UInt8] {
        let l = totalAttributeLength ?? attributes.count
        return message(2, [0, 0, UInt8(l >> 8), UInt8(l & 0xff)] + attributes + nlri)
    }

    /// Kept-up cases: a malformed ORIGIN (length 9), a bad ORIGIN value, an AS_PATH segment overrunning its
    /// attribute, a NEXT_HOP of the wrong length, a MED of the wrong length.
    static let treatAsWithdraw: [[UInt8]] = [
        update([0x40, 1, 9, 0], nlri: [24, 203, 0, 113]),
        update([0x40, 1, 1, 7, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 2], nlri: [24, 203, 0, 113]),
        update([0x40, 1, 1, 0, 0x40, 2, 4, 2, 9, 0xfc, 0x9a, 0x40, 3, 4, 192, 0, 2, 2], nlri: [24, 203, 0, 113]),
        update([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 3, 192, 0, 2], nlri: [24, 203, 0, 113]),
        update([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 2, 0x80, 4, 3, 0, 0, 1], nlri: [24, 203, 0, 113]),
    ]

    /// Reset cases: a Total Path Attribute Length beyond the message, a /33, a bad marker, a bad length, a bad type.
    static let resets: [[UInt8]] = [
        update([0x40, 1, 1, 0], nlri: [], totalAttributeLength: 200),
        update([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 2], nlri: [33, 10, 0, 0, 0, 1]),
        message(4, [], marker: .init(repeating: 0, count: 16)),
        message(4, [], length: 5000),
        message(9, []),
    ]

    func run() throws {
        guard let address = SocketTarget(host: listen, port: 179) else { throw ValidationError("bad --listen") }
        let server = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard address.withAddress({ bind(server, $0, $1) }) == 0, Glibc.listen(server, 8) == 0 else {
            throw ValidationError("cannot listen on \(listen):179: \(String(cString: strerror(errno)))")
        }
        defer { close(server) }
        let deadline = Date().addingTimeInterval(TimeInterval(seconds))
        var sessions = 0, updates = 0, notifications = 0, withdrawn = 0
        while Date() < deadline {
            var p = pollfd(fd: server, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            let c = accept(server, nil, nil)
            guard c >= 0 else { continue }
            defer { close(c) }
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 65_536)
            guard recv(c, &buffer, buffer.count, 0) > 0 else { continue }  // the node's OPEN
            let caps: [UInt8] = [2, 6, 1, 4, 0, 1, 0, 1]
            let open = Self.message(1, [4, UInt8(asn >> 8), UInt8(asn & 0xff), 0, 9, 192, 0, 2, 2, UInt8(caps.count)] + caps)
            sendAll(c, open + Self.message(4, []))
            sessions += 1
            Thread.sleep(forTimeInterval: 0.2)
            for i in 0..<withdrawals {
                sendAll(c, Self.treatAsWithdraw[i % Self.treatAsWithdraw.count])
                updates += 1
            }
            withdrawn += withdrawals
            sendAll(c, Self.message(4, []))
            Thread.sleep(forTimeInterval: 0.5)
            sendAll(c, Self.resets[(sessions - 1) % Self.resets.count])
            updates += 1
            // Read until the node closes: count its NOTIFICATIONs (type 3 at byte 18 of a message).
            let until = Date().addingTimeInterval(3)
            var received: [UInt8] = []
            while Date() < until {
                let n = recv(c, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            var at = 0
            while at + 19 <= received.count {
                let length = Int(received[at + 16]) << 8 | Int(received[at + 17])
                if received[at + 18] == 3 { notifications += 1 }
                guard length >= 19 else { break }
                at += length
            }
        }
        print(try jsonLine(["agent": "bgp", "sessions": sessions, "updates": updates, "treated_as_withdraw_sent": withdrawn,
                            "notifications_received": notifications]))
    }

    func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var at = 0
        while at < bytes.count {
            let n = bytes[at...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            at += n
        }
    }
}
