import ArgumentParser
import Foundation
import LinkLayer
import Logging
import NIOCore
import NetworkPrimitives
import PacketSocket
import SpeakerRuntime
import Synchronization

/// `beacon-bench l2`: layer 2 takeover and answer latency on a veth pair in a namespace of its own (root needed).
///
/// The announcer runs on one end; a packet socket on the other end stamps every frame as it arrives, so "on the
/// wire" means "delivered to the neighbour's interface". Takeover: from the decision (the call to `update`) to the
/// first gratuitous frame arriving, and to the first frame of every address arriving, for 1, 100 and 10,000
/// addresses, with the interface's socket already open (a node that announces anything has one). Answers: ARP
/// requests for random owned addresses at a fixed rate; latency from send to the reply's arrival. The anchor, in the
/// same run: the same requests answered by the kernel for an address of its own on the same interface.
struct LayerTwoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "l2", abstract: "Layer 2 takeover and ARP answer latency (root).")

    @Option(help: "Takeover sizes.") var sizes: [Int] = [1, 100, 10_000]
    @Option(help: "ARP requests per second for the answer test.") var rate = 10_000
    @Option(help: "Seconds of ARP requests.") var seconds = 2.0
    @Option(help: "Repeat each takeover this many times; medians are printed.") var runs = 5

    func run() async throws {
        let inside = ProcessInfo.processInfo.environment["BEACON_BENCH_NETNS"]
        guard let inside else {
            // Build the namespace and a veth pair, run again inside it, remove the namespace.
            guard getuid() == 0 else { throw ValidationError("beacon-bench l2 needs root (network namespaces, raw sockets)") }
            let ns = "bcn-bench-l2-\(getpid())"
            defer { _ = shellStatus(["ip", "netns", "del", ns]) }
            for step in [["ip", "netns", "add", ns], ["ip", "-n", ns, "link", "add", "a0", "type", "veth", "peer", "name", "b0"],
                         ["ip", "-n", ns, "link", "set", "a0", "up"], ["ip", "-n", ns, "link", "set", "b0", "up"],
                         ["ip", "-n", ns, "link", "set", "lo", "up"]] {
                guard shellStatus(step) == 0 else { throw ValidationError("failed: \(step.joined(separator: " "))") }
            }
            var args = ["ip", "netns", "exec", ns, "env", "BEACON_BENCH_NETNS=\(ns)", CommandLine.arguments[0], "l2",
                        "--rate", "\(rate)", "--seconds", "\(seconds)", "--runs", "\(runs)"]
            for s in sizes { args += ["--sizes", "\(s)"] }
            let rc = shellStatus(args)
            if rc != 0 { throw ExitCode(rc) }
            return
        }
        _ = inside
        let a = try endpoint("a0"), b = try endpoint("b0")
        let shared = SharedEndpoint(a)  // one reference for every announcement on the interface
        let arrivals = Arrivals()
        let listener = try await PacketSocket.open(b) { frame in arrivals.record(frame); return nil }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let announcer = LayerTwoAnnouncer(schedule: GratuitousSchedule(offsets: [.zero]), logger: logger)
        // The socket is open before the measured decision, as on a node that already announces something.
        await announcer.update([.init(ip: .v4(IPv4Address(203, 0, 113, 254)), interface: a)])
        try await Task.sleep(for: .milliseconds(100))

        for size in sizes {
            var firsts: [Double] = [], alls: [Double] = []
            for run in 0..<runs {
                let ips = (0..<size).map { i -> IPAddress in
                    let v = UInt32(0xC633_0000) | UInt32(run % 2) << 15 | UInt32(i)  // 198.51.0.0/16, alternating halves
                    return .v4(IPv4Address(v))
                }
                await announcer.update([.init(ip: .v4(IPv4Address(203, 0, 113, 254)), interface: a)])
                try await Task.sleep(for: .milliseconds(50))
                arrivals.reset(expecting: Set(ips))
                let desired = Set(ips.map { LayerTwoAnnouncer.Announcement(ip: $0, interface: shared) } + [.init(ip: .v4(IPv4Address(203, 0, 113, 254)), interface: shared)])
                let decision = ContinuousClock.now
                await announcer.update(desired)
                let deadline = ContinuousClock.now + .seconds(10)
                while !arrivals.complete, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
                let (first, last, seen) = arrivals.result()
                guard let first, let last, seen == size else {
                    print(#"{"bench":"l2-takeover","ips":\#(size),"error":"only \#(seen) of \#(size) addresses seen"}"#)
                    continue
                }
                firsts.append(ms(first - decision))
                alls.append(ms(last - decision))
            }
            firsts.sort(); alls.sort()
            guard !firsts.isEmpty else { continue }
            print(#"{"bench":"l2-takeover","ips":\#(size),"runs":\#(firsts.count),"first_frame_ms_median":\#(f3(firsts[firsts.count / 2])),"first_frame_ms_max":\#(f3(firsts.last ?? 0)),"all_first_frames_ms_median":\#(f3(alls[alls.count / 2])),"all_first_frames_ms_max":\#(f3(alls.last ?? 0))}"#)
        }

        // ARP answers at `rate` requests per second for random owned addresses; then, as the anchor, the same
        // requests to the kernel for an address of its own on the same interface.
        let owned = (0..<1000).map { IPv4Address(UInt32(0xCB00_7100) | UInt32($0 % 250 + 1)) }  // 203.0.113.1-250
        await announcer.update(Set(owned.map { LayerTwoAnnouncer.Announcement(ip: .v4($0), interface: shared) }))
        try await Task.sleep(for: .milliseconds(100))
        let replies = Replies()
        let asker = try await PacketSocket.open(b) { frame in replies.record(frame); return nil }
        await listener.close()
        try await answers(from: asker, b, replies, targets: Array(owned.prefix(250)), senders: IPv4Address(192, 0, 2, 1).value, bench: "l2-arp-answers")
        await announcer.stop()
        guard shellStatus(["ip", "addr", "add", "198.51.100.1/24", "dev", "a0"]) == 0 else { throw ValidationError("cannot address a0") }
        try await Task.sleep(for: .milliseconds(100))
        try await answers(from: asker, b, replies, targets: [IPv4Address(198, 51, 100, 1)], senders: IPv4Address(198, 51, 100, 2).value,
                          bench: "l2-arp-answers-kernel")
        await asker.close()
    }

    /// `rate` ARP requests a second for `seconds`, from 200 sender addresses to random targets; prints the latencies.
    func answers(from asker: PacketSocket, _ b: LinkEndpoint, _ replies: Replies, targets: [IPv4Address], senders: UInt32, bench: String) async throws {
        replies.reset()
        let total = Int(Double(rate) * seconds)
        let interval = Duration.nanoseconds(Int64(1e9 / Double(rate)))
        let start = ContinuousClock.now
        for n in 0..<total {
            let target = targets[Int.random(in: 0..<targets.count)]
            let sender = IPv4Address(senders + UInt32(n % 200))
            let request = ARPPacket(operation: .request, senderMAC: b.mac, senderIP: sender, targetMAC: .zero, targetIP: target)
            replies.sent(key: Replies.key(sender: sender, target: target))
            asker.send(request.frame(from: b.mac).encoded)
            let due = start + interval * (n + 1)
            if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
        }
        try await Task.sleep(for: .milliseconds(200))
        let elapsed = ContinuousClock.now - start
        let latencies = replies.latencies().sorted()
        let p = { (q: Double) -> String in latencies.isEmpty ? "null" : f3(latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]) }
        print(#"{"bench":"\#(bench)","requests":\#(total),"answered":\#(latencies.count),"target_rate":\#(rate),"achieved_rate":\#(Int(Double(total) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 - 0.2))),"latency_ms_p50":\#(p(0.5)),"latency_ms_p99":\#(p(0.99)),"latency_ms_max":\#(p(1.0))}"#)
    }

    func endpoint(_ name: String) throws -> LinkEndpoint {
        let path = "/sys/class/net/\(name)"
        let index = Int((try String(contentsOfFile: path + "/ifindex", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        let macText = (try String(contentsOfFile: path + "/address", encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)
        guard index > 0, let mac = try? MACAddress(macText) else { throw ValidationError("no interface \(name)") }
        return LinkEndpoint(name: name, index: index, mac: mac)
    }
}

private func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
private func f3(_ x: Double) -> String { String(format: "%.3f", x) }

func shellStatus(_ args: [String]) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    do { try p.run() } catch { return 127 }
    p.waitUntilExit()
    return p.terminationStatus
}

/// First arrival of a gratuitous frame per expected address.
final class Arrivals: Sendable {
    private let state = Mutex<(expected: Set<IPAddress>, seen: Set<IPAddress>, first: ContinuousClock.Instant?, last: ContinuousClock.Instant?)>(([], [], nil, nil))

    func reset(expecting ips: Set<IPAddress>) { state.withLock { $0 = (ips, [], nil, nil) } }

    func record(_ frame: ByteBuffer) {
        let now = ContinuousClock.now
        guard let f = try? EthernetFrame(decoding: frame), f.etherType == EtherType.arp, let arp = try? ARPPacket(decoding: f.payload),
              arp.isGratuitous else { return }
        state.withLock { s in
            let ip = IPAddress.v4(arp.senderIP)
            guard s.expected.contains(ip), s.seen.insert(ip).inserted else { return }
            if s.first == nil { s.first = now }
            s.last = now
        }
    }

    var complete: Bool { state.withLock { !$0.expected.isEmpty && $0.seen.count == $0.expected.count } }
    func result() -> (ContinuousClock.Instant?, ContinuousClock.Instant?, Int) { state.withLock { ($0.first, $0.last, $0.seen.count) } }
}

/// ARP requests in flight, keyed by (sender, target), and the latency of each answer.
final class Replies: Sendable {
    private let state = Mutex<(pending: [UInt64: ContinuousClock.Instant], latencies: [Double])>(([:], []))

    static func key(sender: IPv4Address, target: IPv4Address) -> UInt64 { UInt64(sender.value) << 32 | UInt64(target.value) }

    func sent(key: UInt64) { state.withLock { $0.pending[key] = .now } }
    func reset() { state.withLock { $0 = ([:], []) } }

    func record(_ frame: ByteBuffer) {
        let now = ContinuousClock.now
        guard let f = try? EthernetFrame(decoding: frame), f.etherType == EtherType.arp, let arp = try? ARPPacket(decoding: f.payload),
              arp.operation == .reply else { return }
        state.withLock { s in
            if let sent = s.pending.removeValue(forKey: Self.key(sender: arp.targetIP, target: arp.senderIP)) {
                s.latencies.append(ms(now - sent))
            }
        }
    }

    func latencies() -> [Double] { state.withLock { $0.latencies } }
}
