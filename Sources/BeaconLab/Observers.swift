import Foundation
import Synchronization

/// The observer processes running now (tcpdump, ping, probes), so an interrupted run can stop them too.
public enum Observers {
    static let pids = Mutex<Set<Int32>>([])
    public static var running: [Int32] { pids.withLock { Array($0) } }
    static func started(_ p: Process) { pids.withLock { _ = $0.insert(p.processIdentifier) } }
    static func stop(_ p: Process) {
        pids.withLock { _ = $0.remove(p.processIdentifier) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }
}

/// tcpdump on the client's eth0 (ARP only, kernel timestamps): gratuitous requests and replies as they arrive.
public final class Capture: Sendable {
    public struct Frame: Sendable { public var time: Double; public var mac: String; public var line: String }
    private let frames = Mutex<[Frame]>([])
    private let process: Process

    public init(lab: Lab) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", lab.clientNS, "tcpdump", "-i", "eth0", "-n", "-l", "-tt", "-e", "--immediate-mode", "arp"]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        let partial = Mutex("")
        process = p
        _ = PipeReader(pipe.fileHandleForReading) { [self] data in
            let text = String(decoding: data, as: UTF8.self)
            let lines: [Substring] = partial.withLock { rest in
                let all = rest + text
                var parts = all.split(separator: "\n", omittingEmptySubsequences: false)
                rest = String(parts.removeLast())
                return parts
            }
            let parsed = lines.compactMap { line -> Frame? in
                let words = line.split(separator: " ")
                guard words.count > 2, let t = Double(words[0]) else { return nil }
                return Frame(time: t, mac: String(words[1]).lowercased(), line: String(line))
            }
            self.frames.withLock { $0 += parsed }
        }
        try p.run()
        Observers.started(p)
    }

    /// A gratuitous ARP request for `ip` (sender and target both `ip`) from one of `macs`.
    public func firstGratuitous(for ip: String, fromAnyOf macs: Set<String>, after t: Double) -> Double? {
        frames.withLock { f in
            f.first { $0.time > t && macs.contains($0.mac) && $0.line.contains("Request who-has \(ip) ") && $0.line.contains(" tell \(ip),") }?.time
        }
    }

    /// Every ARP frame seen between two times.
    public func frames(between a: Double, and b: Double) -> [Frame] {
        frames.withLock { f in f.filter { $0.time >= a && $0.time <= b } }
    }

    /// ARP replies for `ip` seen between two times.
    public func replies(for ip: String, between a: Double, and b: Double) -> [Frame] {
        frames.withLock { f in f.filter { $0.time >= a && $0.time <= b && $0.line.contains("Reply \(ip) is-at") } }
    }

    public func stop() { Observers.stop(process) }
}

/// `ping -D -i 0.01` from the client: the time and sequence number of every reply.
public final class Pinger: Sendable {
    private let replies = Mutex<[Double]>([])
    private let sequences = Mutex<Set<Int>>([])
    private let process: Process

    public init(lab: Lab, ip: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", lab.clientNS, "stdbuf", "-oL", "ping", "-D", "-n", "-i", "0.01", "-W", "1", ip]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        process = p
        _ = PipeReader(pipe.fileHandleForReading) { [self] data in
            let text = String(decoding: data, as: UTF8.self)
            // Lines: [1764599000.123456] 64 bytes from 192.0.2.200: icmp_seq=1 ttl=64 time=0.05 ms
            var times: [Double] = [], seqs: [Int] = []
            for line in text.split(separator: "\n") {
                guard line.hasPrefix("["), line.contains("bytes from"), let close = line.firstIndex(of: "]"),
                      let t = Double(line[line.index(after: line.startIndex)..<close]) else { continue }
                times.append(t)
                if let r = line.range(of: "icmp_seq="), let n = Int(line[r.upperBound...].prefix(while: \.isNumber)) { seqs.append(n) }
            }
            self.replies.withLock { $0 += times }
            self.sequences.withLock { $0.formUnion(seqs) }
        }
        try p.run()
        Observers.started(p)
    }

    public func firstReply(after t: Double) -> Double? { replies.withLock { $0.first { $0 > t } } }

    /// Echo requests up to the last one answered, and how many of them got no reply.
    public var loss: (sent: Int, lost: Int) {
        sequences.withLock { s in
            guard let last = s.max(), let first = s.min() else { return (0, 0) }
            return (last - first + 1, last - first + 1 - s.count)
        }
    }

    public func stop() { Observers.stop(process) }
}

/// A broadcast ARP request every 10 ms from the client (`speaker who-has`; iputils arping cannot go below 1 s).
/// The replies are seen by `Capture`.
public final class ARPProber: Sendable {
    private let process: Process
    public init(lab: Lab, ip: String, seconds: Int = 10) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["ip", "netns", "exec", lab.clientNS, lab.options.binDirectory + "/speaker", "who-has", ip, "--interface", "eth0",
                       "--count", "\(seconds * 100)", "--wait", "10"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        Observers.started(p)
        process = p
    }
    public func stop() { Observers.stop(process) }
}
