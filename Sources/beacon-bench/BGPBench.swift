import ArgumentParser
import BGPProtocol
import BGPTransport
import Foundation
import Logging
import NIOCore
import NetworkPrimitives

/// `beacon-bench bgp`: how long until BIRD holds N prefixes announced by Beacon, and by gobgpd, over the same kind
/// of session in the same namespaces (root needed). Beacon: from `run()` (routes already set) to BIRD's route count
/// reaching N. GoBGP: routes injected into gobgpd first (MRT file, `gobgp mrt inject`), then from `gobgp neighbor
/// add` to the same count. Also prints Beacon's resident memory at the end.
struct BGPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bgp", abstract: "BGP table transfer to BIRD: Beacon vs GoBGP (root).")

    @Option(help: "IPv4 /32s to announce.") var ipv4 = 100_000
    @Option(help: "IPv6 /128s to announce.") var ipv6 = 10_000
    @Flag(help: "Skip the GoBGP comparison.") var skipGobgp = false

    func run() async throws {
        guard let dir = ProcessInfo.processInfo.environment["BEACON_BENCH_DIR"] else {
            guard getuid() == 0 else { throw ValidationError("beacon-bench bgp needs root (network namespaces)") }
            try outside()
            return
        }
        try await inside(dir: dir)
    }

    /// Builds router and speaker namespaces, runs BIRD in the router, runs this command again in the speaker.
    func outside() throws {
        let p = "bcn-bench-bgp-\(getpid())"
        let dir = NSTemporaryDirectory() + p
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var bird: Process?
        defer {
            // SIGKILL: a child started by Foundation's Process may have SIGTERM blocked (inherited signal mask).
            if let bird, bird.isRunning { kill(bird.processIdentifier, SIGKILL); bird.waitUntilExit() }
            _ = shellStatus(["ip", "netns", "del", "\(p)-r"]); _ = shellStatus(["ip", "netns", "del", "\(p)-s"])
            try? FileManager.default.removeItem(atPath: dir)
        }
        for step in [["ip", "netns", "add", "\(p)-r"], ["ip", "netns", "add", "\(p)-s"],
                     ["ip", "link", "add", "eth0", "netns", "\(p)-r", "type", "veth", "peer", "name", "eth0", "netns", "\(p)-s"],
                     ["ip", "-n", "\(p)-r", "link", "set", "eth0", "up"], ["ip", "-n", "\(p)-s", "link", "set", "eth0", "up"],
                     ["ip", "-n", "\(p)-r", "link", "set", "lo", "up"], ["ip", "-n", "\(p)-s", "link", "set", "lo", "up"],
                     ["ip", "-n", "\(p)-r", "addr", "add", "192.0.2.1/24", "dev", "eth0"], ["ip", "-n", "\(p)-s", "addr", "add", "192.0.2.11/24", "dev", "eth0"],
                     ["ip", "-n", "\(p)-s", "addr", "add", "192.0.2.12/24", "dev", "eth0"],
                     ["ip", "-n", "\(p)-r", "addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"],
                     ["ip", "-n", "\(p)-s", "addr", "add", "2001:db8::11/64", "dev", "eth0", "nodad"]] {
            guard shellStatus(step) == 0 else { throw ValidationError("failed: \(step.joined(separator: " "))") }
        }
        // One BIRD, one passive peer (192.0.2.11, AS 64513): Beacon first, then gobgpd from the same address once
        // Beacon's session is gone. Routes are counted, not installed.
        let conf = """
            log "\(dir)/bird.log" all;
            router id 192.0.2.1;
            protocol device {}
            template bgp t { local as 64512; passive on; hold time 90; ipv4 { import all; export none; }; ipv6 { import all; export none; }; }
            protocol bgp speaker from t { neighbor 192.0.2.11 as 64513; }

            """
        try conf.write(toFile: dir + "/bird.conf", atomically: true, encoding: .utf8)
        let b = Process()
        b.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        b.arguments = ["ip", "netns", "exec", "\(p)-r", "bird", "-f", "-c", dir + "/bird.conf", "-s", dir + "/bird.ctl", "-P", dir + "/bird.pid"]
        try b.run()
        bird = b
        usleep(500_000)
        var args = ["ip", "netns", "exec", "\(p)-s", "env", "BEACON_BENCH_DIR=\(dir)", CommandLine.arguments[0], "bgp",
                    "--ipv4", "\(ipv4)", "--ipv6", "\(ipv6)"]
        if skipGobgp { args.append("--skip-gobgp") }
        let rc = shellStatus(args)
        if rc != 0 { throw ExitCode(rc) }
    }

    func inside(dir: String) async throws {
        var routes: [IPPrefix: PathAttributes] = [:]
        for i in 0..<ipv4 { routes[IPPrefix(host: .v4(IPv4Address(0x0A00_0000 + UInt32(i))))] = PathAttributes() }
        var v6 = PathAttributes()
        v6.nextHopIPv6 = IPv6Address(0x2001_0db8_0000_0000_0000_0000_0000_0011)  // our address on the link
        for i in 0..<ipv6 { routes[IPPrefix(host: .v6(IPv6Address(0x2001_0db8_00aa_0000_0000_0000_0000_0000 + UInt128(i))))] = v6 }
        var fsm = SessionStateMachine.Configuration(localASN: 64513, peerASN: 64512, routerID: IPv4Address(192, 0, 2, 11))
        fsm.holdTime = .seconds(90)
        var config = BGPSession.Configuration(peer: .v4(IPv4Address(192, 0, 2, 1)), fsm: fsm)
        config.sourceAddress = .v4(IPv4Address(192, 0, 2, 11))
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let session = BGPSession(configuration: config, logger: logger)
        session.setRoutes(routes)
        let start = ContinuousClock.now
        var beacon: (v4: Double?, v6: Double?, up: Double?) = (nil, nil, nil)
        await withDiscardingTaskGroup { group in
            group.addTask { await session.run() }
            beacon = await waitForCounts(dir: dir, protocolName: "speaker", start: start)
            session.stop()
        }
        // BIRD drops Beacon's routes on the Cease; wait until they are gone before GoBGP's turn.
        let drained = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < drained, !capture(["birdc", "-s", dir + "/bird.ctl", "show", "protocols", "all", "speaker"]).contains("Routes:         0 imported") {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if capture(["birdc", "-s", dir + "/bird.ctl", "show", "protocols", "all", "speaker"]).contains("Established") {
            try? await Task.sleep(for: .milliseconds(500))
        }
        let rss = residentMegabytes()
        print(#"{"bench":"bgp-beacon-to-bird","ipv4":\#(ipv4),"ipv6":\#(ipv6),"ipv4_all_in_bird_s":\#(fmt(beacon.v4)),"ipv6_all_in_bird_s":\#(fmt(beacon.v6)),"established_s":\#(fmt(beacon.up)),"speaker_rss_mb":\#(String(format: "%.1f", rss))}"#)
        fflush(nil)
        guard !skipGobgp else { return }

        // GoBGP: the same prefixes loaded into gobgpd before its neighbour exists, then the neighbour is added.
        try mrt(routes: routes).write(to: URL(fileURLWithPath: dir + "/routes.mrt"))
        let toml = """
            [global.config]
              as = 64513
              router-id = "192.0.2.11"
              port = -1

            """
        try toml.write(toFile: dir + "/gobgpd.toml", atomically: true, encoding: .utf8)
        let g = Process()
        g.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        g.arguments = ["gobgpd", "-f", dir + "/gobgpd.toml", "-p", "--api-hosts", "127.0.0.1:50061", "--pprof-disable", "-l", "error"]
        g.standardOutput = FileHandle.nullDevice
        try g.run()
        defer { kill(g.processIdentifier, SIGKILL); g.waitUntilExit() }
        usleep(1_000_000)
        let loadStart = ContinuousClock.now
        guard shellStatus(["gobgp", "-u", "127.0.0.1", "-p", "50061", "mrt", "inject", "global", dir + "/routes.mrt"]) == 0 else {
            print(#"{"bench":"bgp-gobgp-to-bird","error":"gobgp mrt inject failed"}"#)
            return
        }
        let loaded = seconds(ContinuousClock.now - loadStart)
        let gStart = ContinuousClock.now
        guard shellStatus(["gobgp", "-u", "127.0.0.1", "-p", "50061", "neighbor", "add", "192.0.2.1", "as", "64512", "family", "ipv4-unicast,ipv6-unicast"]) == 0 else {
            print(#"{"bench":"bgp-gobgp-to-bird","error":"gobgp neighbor add failed"}"#)
            return
        }
        let gobgp = await waitForCounts(dir: dir, protocolName: "speaker", start: gStart)
        print(#"{"bench":"bgp-gobgp-to-bird","ipv4":\#(ipv4),"ipv6":\#(ipv6),"gobgp_inject_s":\#(String(format: "%.3f", loaded)),"ipv4_all_in_bird_s":\#(fmt(gobgp.v4)),"ipv6_all_in_bird_s":\#(fmt(gobgp.v6)),"established_s":\#(fmt(gobgp.up))}"#)
        // The fair comparison starts when BIRD sees the session up (GoBGP's first connect waits a random delay).
        if let b = beacon.v4, let bu = beacon.up, let o = gobgp.v4, let ou = gobgp.up {
            print(#"{"bench":"bgp-ratio","beacon_ipv4_after_up_s":\#(String(format: "%.3f", b - bu)),"gobgp_ipv4_after_up_s":\#(String(format: "%.3f", o - ou)),"ratio":\#(String(format: "%.2f", (b - bu) / max(0.001, o - ou)))}"#)
        }
    }

    /// Polls BIRD until the protocol's imported IPv4 and IPv6 counts reach the targets; seconds since `start` each.
    func waitForCounts(dir: String, protocolName: String, start: ContinuousClock.Instant) async -> (v4: Double?, v6: Double?, up: Double?) {
        var v4: Double?, v6: Double?, up: Double?
        let deadline = start + .seconds(120)
        while ContinuousClock.now < deadline, v4 == nil || (ipv6 > 0 && v6 == nil) {
            let out = capture(["birdc", "-s", dir + "/bird.ctl", "show", "protocols", "all", protocolName])
            // "Routes:         100000 imported, ..." once per channel, ipv4 first.
            let counts = out.split(separator: "\n").filter { $0.contains("Routes:") }.compactMap { line -> Int? in
                line.split(separator: " ").compactMap { Int($0) }.first
            }
            let now = seconds(ContinuousClock.now - start)
            if up == nil, out.contains("Established") { up = now }
            if v4 == nil, counts.count >= 1, counts[0] >= ipv4 { v4 = now }
            if v6 == nil, counts.count >= 2, counts[1] >= ipv6 { v6 = now }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return (v4, ipv6 == 0 ? 0 : v6, up)
    }

    /// RFC 6396 TABLE_DUMP_V2: a peer index table and one RIB entry per prefix, for `gobgp mrt inject`.
    func mrt(routes: [IPPrefix: PathAttributes]) -> Data {
        var out = ByteBuffer()
        func record(subtype: UInt16, _ body: ByteBuffer) {
            var body = body
            out.writeInteger(UInt32(0)); out.writeInteger(UInt16(13)); out.writeInteger(subtype)
            out.writeInteger(UInt32(body.readableBytes)); out.writeBuffer(&body)
        }
        var index = ByteBuffer()
        index.writeInteger(IPv4Address(192, 0, 2, 11).value); index.writeInteger(UInt16(0)); index.writeInteger(UInt16(1))
        index.writeInteger(UInt8(0x02)); index.writeInteger(IPv4Address(192, 0, 2, 11).value); index.writeInteger(IPv4Address(192, 0, 2, 11).value)
        index.writeInteger(UInt32(64513))
        record(subtype: 1, index)
        var seq: UInt32 = 0
        for prefix in routes.keys.sorted() {
            var e = ByteBuffer()
            e.writeInteger(seq); seq += 1
            e.writeInteger(UInt8(prefix.length))
            let width = prefix.family.bitWidth
            for i in 0..<((prefix.length + 7) / 8) { e.writeInteger(UInt8(truncatingIfNeeded: prefix.address.bits >> UInt128(width - 8 - 8 * i))) }
            e.writeInteger(UInt16(1)); e.writeInteger(UInt16(0)); e.writeInteger(UInt32(0))
            var attrs = ByteBuffer()
            attrs.writeBytes([0x40, 1, 1, 0, 0x40, 2, 0])
            if prefix.family == .ipv4 {
                attrs.writeBytes([0x40, 3, 4, 192, 0, 2, 11])
            } else {
                // GoBGP reads the full MP_REACH_NLRI form here (AFI, SAFI, next hop, reserved; no NLRI).
                attrs.writeBytes([0x80, 14, 21, 0, 2, 1, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11, 0])
            }
            e.writeInteger(UInt16(attrs.readableBytes)); e.writeBuffer(&attrs)
            record(subtype: prefix.family == .ipv4 ? 2 : 4, e)
        }
        return Data(out.readableBytesView)
    }
}

private func fmt(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "null" }
private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

private func capture(_ args: [String]) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return "" }
    let d = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: d, as: UTF8.self)
}

/// VmRSS of this process, in MiB.
func residentMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = line.split(separator: " ").compactMap({ Double($0) }).first else { return 0 }
    return kb / 1024
}
