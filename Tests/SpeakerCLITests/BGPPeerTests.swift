import Foundation
import TestSupport
import Testing

/// A router namespace and a speaker namespace joined by a veth pair: router 192.0.2.1 / 2001:db8::1, speaker
/// 192.0.2.11 / 2001:db8::11. The router runs BIRD 2, FRR's bgpd or gobgpd in the foreground (netlab.md §4).
final class BGPLab {
    enum Kind: String, CaseIterable, Sendable { case bird, frr, gobgp }

    struct Neighbor {
        var address: String
        var asn: UInt32
        var password: String?
        /// RFC 5082 GTSM, one hop.
        var ttlSecurity = false
    }

    let kind: Kind
    let prefix: String
    let dir: URL
    var router: String { "\(prefix)-r" }
    var speaker: String { "\(prefix)-s" }
    private(set) var daemon: BackgroundSpeaker?
    private var zebra: BackgroundSpeaker?
    private(set) var bfdd: BackgroundSpeaker?
    private var made: [String] = []

    /// FRR only: zebra beside bgpd (routes reach the router's kernel table), and lines added to `router bgp`.
    struct FRROptions {
        var zebra = false
        /// bfdd with this profile body (e.g. "transmit-interval 100"), named `beacon`; needs zebra, through which bgpd
        /// hears of BFD state.
        var bfdProfile: [String]?
        var routerLines: [String] = []
        var globalLines: [String] = []
    }
    let frr: FRROptions

    /// BIRD only: BFD (100 ms × 3) on every BGP session.
    let birdBFD: Bool

    init(_ kind: Kind, routerAS: UInt32 = 64512, neighbors: [Neighbor], frr: FRROptions = FRROptions(), birdBFD: Bool = false) throws {
        self.kind = kind
        self.frr = frr
        self.birdBFD = birdBFD
        prefix = "bcn-bgp-\(getpid())-\(UInt32.random(in: 0..<1_000_000))"
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(prefix)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func must(_ args: [String]) throws {
            let r = try sh(args)
            try #require(r.status == 0, "\(args.joined(separator: " ")): \(r.output)")
        }
        for ns in [router, speaker] {
            try must(["ip", "netns", "add", ns]); made.append(ns)
            try must(["ip", "-n", ns, "link", "set", "lo", "up"])
        }
        try must(["ip", "link", "add", "eth0", "netns", router, "type", "veth", "peer", "name", "eth0", "netns", speaker])
        for (ns, host) in [(router, 1), (speaker, 11)] {
            try must(["ip", "-n", ns, "link", "set", "eth0", "up"])
            try must(["ip", "-n", ns, "addr", "add", "192.0.2.\(host)/24", "dev", "eth0"])
            try must(["ip", "-n", ns, "addr", "add", "2001:db8::\(host)/64", "dev", "eth0", "nodad"])
        }
        try start(routerAS: routerAS, neighbors: neighbors)
    }

    private func start(routerAS: UInt32, neighbors: [Neighbor]) throws {
        switch kind {
        case .bird:
            var conf = """
                log stderr all;
                router id 192.0.2.1;
                protocol device {}
                protocol kernel k4 { ipv4 { import none; export none; }; }
                \(birdBFD ? "protocol bfd { interface \"*\" { interval 100 ms; multiplier 3; }; }" : "")

                """
            for (i, n) in neighbors.enumerated() {
                let ibgp = n.asn == routerAS
                conf += """
                    protocol bgp p\(i) {
                      local as \(routerAS); neighbor \(n.address) as \(n.asn); passive on; \(ibgp ? "direct;" : "")
                      hold time 9; keepalive time 3; connect retry time 1; error wait time 1,2;
                      \(n.password.map { "password \"\($0)\";" } ?? "") \(n.ttlSecurity ? "ttl security yes;" : "") \(birdBFD ? "bfd on;" : "")
                      ipv4 { import all; export none; \(ibgp ? "gateway direct;" : "") };
                      ipv6 { import all; export none; \(ibgp ? "gateway direct;" : "") };
                    }

                    """
            }
            try conf.write(to: dir.appendingPathComponent("bird.conf"), atomically: true, encoding: .utf8)
            daemon = try BackgroundSpeaker(command: ["ip", "netns", "exec", router, "bird", "-f", "-c", dir.appendingPathComponent("bird.conf").path,
                                                    "-s", dir.appendingPathComponent("bird.ctl").path, "-P", dir.appendingPathComponent("bird.pid").path])
            #expect((0..<100).contains { _ in usleep(20_000); return FileManager.default.fileExists(atPath: dir.appendingPathComponent("bird.ctl").path) })
        case .frr:
            var conf = """
                frr defaults traditional
                log stdout
                router bgp \(routerAS)
                 bgp router-id 192.0.2.1
                 no bgp ebgp-requires-policy
                 no bgp network import-check

                """
            conf += " bgp graceful-restart\n"
            for n in neighbors {
                conf += " neighbor \(n.address) remote-as \(n.asn)\n neighbor \(n.address) timers 3 9\n neighbor \(n.address) passive\n"
                if let p = n.password { conf += " neighbor \(n.address) password \(p)\n" }
                if n.ttlSecurity { conf += " neighbor \(n.address) ttl-security hops 1\n" }
            }
            for line in frr.routerLines { conf += " \(line)\n" }
            // Both families on every neighbour, whatever its transport: FRR's common dual-stack configuration.
            conf += " address-family ipv6 unicast\n"
            for n in neighbors { conf += "  neighbor \(n.address) activate\n" }
            conf += " exit-address-family\n"
            for line in frr.globalLines { conf += "\(line)\n" }
            let frrDir = dir.appendingPathComponent("frr")
            try FileManager.default.createDirectory(at: frrDir, withIntermediateDirectories: true)
            try conf.write(to: frrDir.appendingPathComponent("bgpd.conf"), atomically: true, encoding: .utf8)
            let zserv = frrDir.appendingPathComponent("zserv.api").path
            if frr.zebra {
                try "".write(to: frrDir.appendingPathComponent("zebra.conf"), atomically: true, encoding: .utf8)
                // zebra always runs as the frr user (it has no option to stay root): its files are frr's.
                _ = try sh(["chown", "-R", "frr:frr", frrDir.path])
                zebra = try BackgroundSpeaker(command: ["ip", "netns", "exec", router, "/usr/lib/frr/zebra", "-f", frrDir.appendingPathComponent("zebra.conf").path,
                                                        "-i", frrDir.appendingPathComponent("zebra.pid").path, "--vty_socket", frrDir.path,
                                                        "-z", zserv, "-P", "0", "--log", "stdout"])
                #expect((0..<150).contains { _ in usleep(20_000); return FileManager.default.fileExists(atPath: zserv) })
            }
            if let profile = frr.bfdProfile {
                let bfdConf = "bfd\n profile beacon\n" + profile.map { "  \($0)\n" }.joined() + " !\n!\n"
                try bfdConf.write(to: frrDir.appendingPathComponent("bfdd.conf"), atomically: true, encoding: .utf8)
                _ = try sh(["chown", "-R", "frr:frr", frrDir.path])
                let control = frrDir.appendingPathComponent("bfdd.sock").path
                bfdd = try BackgroundSpeaker(command: ["ip", "netns", "exec", router, "/usr/lib/frr/bfdd", "-f", frrDir.appendingPathComponent("bfdd.conf").path,
                                                       "-i", frrDir.appendingPathComponent("bfdd.pid").path, "--vty_socket", frrDir.path,
                                                       "-z", zserv, "--bfdctl", control, "-P", "0", "--log", "stdout"])
                #expect((0..<150).contains { _ in usleep(20_000); return FileManager.default.fileExists(atPath: frrDir.appendingPathComponent("bfdd.vty").path) })
            }
            daemon = try BackgroundSpeaker(command: ["ip", "netns", "exec", router, "/usr/lib/frr/bgpd", "-f", frrDir.appendingPathComponent("bgpd.conf").path,
                                                    "-i", frrDir.appendingPathComponent("bgpd.pid").path, "--vty_socket", frrDir.path,
                                                    "-S", "-P", "0", "--log", "stdout"] + (frr.zebra ? ["-z", zserv] : ["-Z"]))
            #expect((0..<150).contains { _ in usleep(20_000); return FileManager.default.fileExists(atPath: frrDir.appendingPathComponent("bgpd.vty").path) })
        case .gobgp:
            var conf = """
                [global.config]
                  as = \(routerAS)
                  router-id = "192.0.2.1"
                  port = 179
                  local-address-list = ["192.0.2.1", "2001:db8::1"]

                """
            for n in neighbors {
                conf += """
                    [[neighbors]]
                      [neighbors.config]
                        neighbor-address = "\(n.address)"
                        peer-as = \(n.asn)
                        \(n.password.map { "auth-password = \"\($0)\"" } ?? "")
                      [neighbors.timers.config]
                        hold-time = 9
                        keepalive-interval = 3
                      [neighbors.transport.config]
                        passive-mode = true
                      [neighbors.graceful-restart.config]
                        enabled = true
                        helper-only = true
                      \(n.ttlSecurity ? "[neighbors.ttl-security.config]\n    enabled = true\n    ttl-min = 255" : "")
                      [[neighbors.afi-safis]]
                        [neighbors.afi-safis.config]
                          afi-safi-name = "ipv4-unicast"
                      [[neighbors.afi-safis]]
                        [neighbors.afi-safis.config]
                          afi-safi-name = "ipv6-unicast"

                    """
            }
            try conf.write(to: dir.appendingPathComponent("gobgpd.toml"), atomically: true, encoding: .utf8)
            daemon = try BackgroundSpeaker(command: ["ip", "netns", "exec", router, "gobgpd", "-f", dir.appendingPathComponent("gobgpd.toml").path,
                                                    "-p", "--api-hosts", "127.0.0.1:50051", "--pprof-disable"])
            #expect((0..<150).contains { _ in usleep(20_000); return (try? self.rib(.ipv4))?.status == 0 })
        }
    }

    enum Family { case ipv4, ipv6 }

    /// The router's table for a family, as the router prints it (text for BIRD, JSON for FRR and GoBGP).
    func rib(_ family: Family) throws -> (status: Int32, output: String) {
        switch kind {
        case .bird:
            return try sh(["birdc", "-s", dir.appendingPathComponent("bird.ctl").path, "show", "route", "all", "table", family == .ipv4 ? "master4" : "master6"])
        case .frr:
            return try sh(["ip", "netns", "exec", router, "vtysh", "--vty_socket", dir.appendingPathComponent("frr").path, "-c",
                           "show bgp \(family == .ipv4 ? "ipv4" : "ipv6") unicast json detail"])
        case .gobgp:
            return try sh(["ip", "netns", "exec", router, "gobgp", "-u", "127.0.0.1", "-p", "50051", "global", "rib", "-a", family == .ipv4 ? "ipv4" : "ipv6", "-j"])
        }
    }

    /// Whether the router holds `prefix`, waiting up to `seconds`.
    func waitForRoute(_ prefix: String, family: Family, present: Bool = true, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let out = try? rib(family).output, out.contains(prefix) == present { return true }
            usleep(50_000)
        } while Date() < deadline
        return false
    }

    func signal(_ sig: Int32) {
        guard let p = daemon?.process, p.isRunning else { return }
        kill(p.processIdentifier, sig)
    }

    /// vtysh on the FRR router.
    @discardableResult
    func vtysh(_ commands: [String]) throws -> String {
        try sh(["ip", "netns", "exec", router, "vtysh", "--vty_socket", dir.appendingPathComponent("frr").path] + commands.flatMap { ["-c", $0] }).output
    }

    /// The router's kernel routes for `prefix` (`ip route show`), as the next hops they go via.
    func kernelNextHops(_ prefix: String) throws -> [String] {
        let out = try sh(["ip", prefix.contains(":") ? "-6" : "-4", "-n", router, "route", "show", prefix]).output
        return out.split(whereSeparator: \.isWhitespace).map(String.init).enumerated().compactMap { i, w in
            i > 0 && out.split(whereSeparator: \.isWhitespace)[i - 1] == "via" ? w : nil
        }.sorted()
    }

    deinit {
        for p in [daemon?.process, bfdd?.process, zebra?.process].compactMap({ $0 }) where p.isRunning {
            kill(p.processIdentifier, SIGCONT); kill(p.processIdentifier, SIGKILL); p.waitUntilExit()
        }
        for ns in made.reversed() { _ = try? sh(["ip", "netns", "del", ns]) }
        try? FileManager.default.removeItem(at: dir)
    }
}

@Suite("BGP against BIRD, FRR and GoBGP (namespaces, real daemons)", .dedicatedThreads, .tags(.privileged))
struct BGPPeerTests {
    /// eBGP over IPv4 carrying an IPv4 and an IPv6 prefix (MP-BGP), with communities and large communities: the
    /// router holds both with the attributes as sent; SIGTERM of the speaker sends Cease and the routes go at once.
    @Test("eBGP: IPv4 and IPv6 prefixes with communities; SIGTERM withdraws at once", arguments: BGPLab.Kind.allCases)
    func ebgp(_ kind: BGPLab.Kind) throws {
        let lab = try BGPLab(kind, neighbors: [.init(address: "192.0.2.11", asn: 64513)])
        let probe = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                         "--hold-time", "9", "--announce", "198.51.100.10/32", "--announce", "2001:db8:5::10/128",
                                                         "--next-hop-ipv6", "2001:db8::11", "--dual-stack", "--community", "65000:7",
                                                         "--large-community", "64513:1:2"])
        #expect(probe.waitFor("Established"), "\(probe.output)")
        #expect(lab.waitForRoute("198.51.100.10", family: .ipv4), "\(kind): \((try? lab.rib(.ipv4).output) ?? "")\n\(probe.output)")
        #expect(lab.waitForRoute("2001:db8:5::10", family: .ipv6), "\(kind): \((try? lab.rib(.ipv6).output) ?? "")")
        let v4 = try lab.rib(.ipv4).output
        switch kind {
        case .bird:
            #expect(v4.contains("BGP.community: (65000,7)") && v4.contains("BGP.large_community: (64513, 1, 2)") && v4.contains("BGP.as_path: 64513"), "\(v4)")
        case .frr:
            #expect(v4.contains("65000:7") && v4.contains("64513:1:2"), "\(v4)")
        case .gobgp:
            #expect(v4.contains("65000:7") || v4.contains("4259840007"), "\(v4)")
            #expect(v4.contains(#"{"ASN":64513,"LocalData1":1,"LocalData2":2}"#), "\(v4)")
        }
        let stopAt = Date()
        probe.terminate()
        #expect(probe.output.contains("sent NOTIFICATION Cease / Administrative Shutdown"), "\(probe.output)")
        #expect(lab.waitForRoute("198.51.100.10", family: .ipv4, present: false, seconds: 3), "\(kind): route kept after Cease")
        #expect(Date().timeIntervalSince(stopAt) < 3)
    }

    /// iBGP over an IPv6 peer address with a 4-octet AS: the router sees LOCAL_PREF as sent and an empty AS path.
    @Test("iBGP over IPv6 with a 4-octet AS and LOCAL_PREF", arguments: BGPLab.Kind.allCases)
    func ibgp(_ kind: BGPLab.Kind) throws {
        let lab = try BGPLab(kind, routerAS: 4_200_000_001, neighbors: [.init(address: "2001:db8::11", asn: 4_200_000_001)])
        let probe = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "2001:db8::1", "--asn", "4200000001", "--peer-asn", "4200000001",
                                                         "--router-id", "192.0.2.11", "--hold-time", "9", "--local-pref", "250",
                                                         "--announce", "2001:db8:6::1/128"])
        #expect(probe.waitFor("Established"), "\(probe.output)")
        #expect(lab.waitForRoute("2001:db8:6::1", family: .ipv6), "\(kind): \((try? lab.rib(.ipv6).output) ?? "")\n\(probe.output)")
        let v6 = try lab.rib(.ipv6).output
        switch kind {
        case .bird: #expect(v6.contains("BGP.local_pref: 250"), "\(v6)")
        case .frr: #expect(v6.contains("\"locPrf\":250") || v6.contains("\"localPref\":250"), "\(v6)")
        case .gobgp: #expect(v6.contains(#"{"type":5,"value":250}"#), "\(v6)")
        }
        probe.terminate()
    }

    /// A router that goes silent (SIGSTOP) is dropped when the negotiated 9 s hold timer expires, with Hold Timer
    /// Expired; once it resumes the session comes back and the route is advertised again.
    @Test("hold timer expiry on a silent peer, then re-establishment and re-advertisement", arguments: BGPLab.Kind.allCases)
    func holdTimer(_ kind: BGPLab.Kind) throws {
        let lab = try BGPLab(kind, neighbors: [.init(address: "192.0.2.11", asn: 64513)])
        let probe = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                         "--hold-time", "9", "--announce", "198.51.100.20/32"])
        #expect(probe.waitFor("Established"), "\(probe.output)")
        #expect(lab.waitForRoute("198.51.100.20", family: .ipv4))
        lab.signal(SIGSTOP)
        let stopped = Date()
        #expect(probe.waitFor("sent NOTIFICATION Hold Timer Expired", seconds: 12), "\(probe.output)")
        let after = Date().timeIntervalSince(stopped)
        #expect(after > 8 && after < 10.5, "dropped after \(after) s")
        lab.signal(SIGCONT)
        // The router notices too (our NOTIFICATION, or its own hold timer), then accepts the reconnect.
        #expect(probe.waitFor("sent 2 UPDATE(s)", seconds: 1) || true)
        let deadline = Date().addingTimeInterval(30)
        var reestablished = false
        while Date() < deadline {
            if probe.output.components(separatedBy: "state OpenConfirm → Established").count >= 3 { reestablished = true; break }
            usleep(100_000)
        }
        #expect(reestablished, "\(probe.output)")
        #expect(lab.waitForRoute("198.51.100.20", family: .ipv4), "re-advertised after reconnect")
        probe.terminate()
    }

    /// TCP MD5: the right key establishes (the router's socket shows the key); a wrong key never connects, and the
    /// speaker says why it cannot tell the difference from a silent peer.
    @Test("TCP MD5: right key establishes, wrong key does not and is explained", arguments: BGPLab.Kind.allCases)
    func md5(_ kind: BGPLab.Kind) throws {
        let lab = try BGPLab(kind, neighbors: [.init(address: "192.0.2.11", asn: 64513, password: "s3cret")])
        let right = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                         "--hold-time", "9", "--password", "s3cret", "--announce", "198.51.100.30/32"])
        #expect(right.waitFor("Established", seconds: 15), "\(right.output)")
        #expect(lab.waitForRoute("198.51.100.30", family: .ipv4))
        let ss = try sh(["ip", "netns", "exec", lab.speaker, "ss", "-tni", "dst", "192.0.2.1"]).output
        #expect(ss.contains("md5keys") || ss.contains("md5"), "\(ss)")
        right.terminate()
        let wrong = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                         "--hold-time", "9", "--password", "wrong"])
        #expect(wrong.waitFor("a wrong or missing key on either side looks exactly like this", seconds: 10), "\(wrong.output)")
        #expect(!wrong.output.contains("Established"))
        wrong.terminate()
    }

    /// RFC 5082 GTSM: with TTL security on both ends (one hop) the session comes up and carries the route; from a
    /// speaker without it (TTL 1, as eBGP sends) the router's minimum TTL drops everything, and no route arrives.
    @Test("TTL security (GTSM): both ends establish; without it the router drops us", arguments: BGPLab.Kind.allCases)
    func ttlSecurity(_ kind: BGPLab.Kind) throws {
        let lab = try BGPLab(kind, neighbors: [.init(address: "192.0.2.11", asn: 64513, ttlSecurity: true)])
        let with = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                        "--hold-time", "9", "--ttl-security", "1", "--announce", "198.51.100.31/32"])
        #expect(with.waitFor("Established", seconds: 15), "\(with.output)")
        #expect(lab.waitForRoute("198.51.100.31", family: .ipv4))
        with.terminate()
        let without = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                           "--hold-time", "9", "--announce", "198.51.100.32/32"])
        usleep(6_000_000)
        // Judged at the router: our side can see the router's OPEN and KEEPALIVE (sent before the router set its minimum
        // TTL on the accepted socket), but nothing we send after that gets through, so our route never arrives.
        #expect(!((try? lab.rib(.ipv4).output) ?? "").contains("198.51.100.32"), "\(without.output)")
        without.terminate()
        // And ours: a router without GTSM answers with a TTL below 255, which our minimum TTL drops.
        let plain = try BGPLab(kind, neighbors: [.init(address: "192.0.2.11", asn: 64513)])
        let strict = try BackgroundSpeaker(plain.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512",
                                                            "--hold-time", "9", "--ttl-security", "1"])
        usleep(6_000_000)
        #expect(!strict.output.contains("Established"), "\(strict.output)")
        strict.terminate()
    }

    /// With graceful restart negotiated, stopping the speaker closes the session without a NOTIFICATION and BIRD
    /// keeps the route (stale) while the speaker is away; the restarted speaker re-establishes and refreshes it.
    @Test("graceful restart: the router keeps the routes while the speaker restarts", arguments: BGPLab.Kind.allCases)
    func gracefulRestart(_ kind: BGPLab.Kind) throws {
        let lab = try BGPLab(kind, neighbors: [.init(address: "192.0.2.11", asn: 64513)])
        let args = ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512", "--hold-time", "9",
                    "--graceful-restart", "--announce", "198.51.100.40/32"]
        let first = try BackgroundSpeaker(lab.speaker, args)
        #expect(first.waitFor("Established"), "\(first.output)")
        #expect(lab.waitForRoute("198.51.100.40", family: .ipv4))
        first.terminate()
        #expect(first.output.contains("closing without NOTIFICATION (graceful restart)"), "\(first.output)")
        usleep(2_000_000)
        let during = try lab.rib(.ipv4).output
        #expect(during.contains("198.51.100.40"), "route dropped during the restart: \(during)")
        let second = try BackgroundSpeaker(lab.speaker, args)
        #expect(second.waitFor("Established"), "\(second.output)")
        #expect(lab.waitForRoute("198.51.100.40", family: .ipv4))
        second.terminate()
    }

    /// A peer that sends garbage gets the RFC 4271 NOTIFICATION, the session resets cleanly and is retried; an UPDATE
    /// whose lengths hide its NLRI (a Total Attribute Length beyond the message) or whose NLRI cannot be parsed (a /33)
    /// resets the session (RFC 7606 §4, §5.3); an UPDATE with a malformed attribute, or an attribute running past the
    /// attribute list, is treated as withdraw and the session stays up. Never a crash.
    @Test("malformed input from a peer", arguments: ["marker", "length", "type", "attrlen", "prefix", "withdraw", "overrun"])
    func malformed(_ scenario: String) throws {
        let lab = try BGPLab(.bird, neighbors: [])  // only the namespaces; the peer here is a script
        lab.signal(SIGKILL)
        let script = """
            import socket, struct, sys, time
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("192.0.2.1", 179)); s.listen(1)
            def msg(t, body, marker=b"\\xff"*16, length=None):
                return marker + struct.pack(">HB", length if length is not None else 19 + len(body), t) + body
            caps = bytes([2, 6, 65, 4]) + struct.pack(">I", 64512)
            c, _ = s.accept()
            c.recv(4096)
            c.sendall(msg(1, struct.pack(">BHHIB", 4, 64512, 9, 0xC0000201, len(caps)) + caps) + msg(4, b""))
            time.sleep(0.3)
            bad = {"marker": msg(4, b"", marker=b"\\x00"*16), "length": msg(4, b"", length=5000), "type": msg(9, b""),
                   "withdraw": msg(2, struct.pack(">HH", 0, 7) + bytes([0xc0, 1, 1, 0, 0x40, 2, 0]) + bytes([8, 10])),
                   "attrlen": msg(2, struct.pack(">HH", 0, 200) + bytes([0x40, 1, 1, 0])),
                   "prefix": msg(2, struct.pack(">HH", 0, 14) + bytes([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 1]) + bytes([33, 10, 0, 0, 0, 1])),
                   "overrun": msg(2, struct.pack(">HH", 0, 4) + bytes([0x40, 1, 9, 0]) + bytes([8, 10]))}[sys.argv[1]]
            c.sendall(bad)
            time.sleep(1.5)
            c.sendall(msg(4, b""))
            time.sleep(6.0)
            """
        try script.write(to: lab.dir.appendingPathComponent("peer.py"), atomically: true, encoding: .utf8)
        let peer = try BackgroundSpeaker(command: ["ip", "netns", "exec", lab.router, "python3", lab.dir.appendingPathComponent("peer.py").path, scenario])
        usleep(300_000)
        let probe = try BackgroundSpeaker(lab.speaker, ["bgp-probe", "--peer", "192.0.2.1", "--asn", "64513", "--peer-asn", "64512", "--hold-time", "9"])
        #expect(probe.waitFor("Established"), "\(probe.output)\n\(peer.output)")
        switch scenario {
        case "marker": #expect(probe.waitFor("sent NOTIFICATION Message Header Error / Connection Not Synchronized (1/1)"), "\(probe.output)")
        case "length": #expect(probe.waitFor("sent NOTIFICATION Message Header Error / Bad Message Length (1/2)"), "\(probe.output)")
        case "type": #expect(probe.waitFor("sent NOTIFICATION Message Header Error / Bad Message Type (1/3)"), "\(probe.output)")
        case "attrlen": #expect(probe.waitFor("sent NOTIFICATION UPDATE Message Error / Malformed Attribute List (3/1)"), "\(probe.output)")
        case "prefix": #expect(probe.waitFor("sent NOTIFICATION UPDATE Message Error / Invalid Network Field (3/10)"), "\(probe.output)")
        default:
            // Treat-as-withdraw: no NOTIFICATION, the session stays up past the next keepalive.
            // The script may not be listening yet when the probe first connects (a refused connect before the session
            // is expected under load), so only what follows Established counts.
            usleep(2_000_000)
            let output = probe.output
            let afterUp = output.range(of: "state Established").map { String(output[$0.upperBound...]) } ?? output
            #expect(!afterUp.contains("sent NOTIFICATION"), "\(output)")
            #expect(!afterUp.contains("down:"), "\(output)")
            #expect(afterUp.contains("UPDATE treated as withdraw"), "\(output)")
        }
        if scenario != "withdraw" && scenario != "overrun" { #expect(probe.waitFor("retrying in about"), "\(probe.output)") }
        #expect(probe.process.isRunning, "the speaker must not crash")
        probe.terminate()
        peer.kill9()
    }
}
