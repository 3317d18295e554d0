import ArgumentParser
import BFDTransport
import BGPProtocol
import BGPTransport
import Foundation
import Logging
import Netlink
import NetworkPrimitives
import ServiceLifecycle

/// `speaker bgp-probe`: one real BGP session in the foreground, printing every transition and message.
struct BGPProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgp-probe",
        abstract: "Open one BGP session to a router and print what happens: the tool for \"why won't my router peer with me\".",
        discussion: """
            Connects (active open, port 179 unless --port), negotiates, optionally announces prefixes, and prints FSM \
            transitions, OPEN contents, NOTIFICATIONs and UPDATE counts with timestamps. Runs until SIGINT/SIGTERM (which \
            sends Cease/Administrative Shutdown) or for --duration seconds. Exit status 0 if the session reached \
            Established, 1 if it never did.
            """
    )

    @Option(help: "Peer address.") var peer: String
    @Option(help: "Our AS number.") var asn: String
    @Option(name: .customLong("peer-asn"), help: "The peer's AS number.") var peerASN: String
    @Option(help: "Peer TCP port.") var port = 179
    @Option(help: "TCP MD5 password (RFC 2385).") var password: String?
    @Option(name: .customLong("source"), help: "Source address for the session.") var source: String?
    @Option(name: .customLong("router-id"), help: "BGP identifier (default: the source address, else this host's first IPv4 address).")
    var routerID: String?
    @Option(name: .customLong("hold-time"), help: "Proposed hold time in seconds (0 or ≥ 3).") var holdTime = 90
    @Option(name: .customLong("keepalive-time"), help: "Keepalive interval in seconds (default: a third of the hold time).")
    var keepaliveTime: Int?
    @Option(help: "Prefix to announce (repeatable), e.g. 192.0.2.100/32 or 2001:db8::100/128.") var announce: [String] = []
    @Option(help: "Community to attach (repeatable), e.g. 65000:100.") var community: [String] = []
    @Option(name: .customLong("large-community"), help: "Large community to attach (repeatable), e.g. 64512:1:2.") var largeCommunity: [String] = []
    @Option(name: .customLong("local-pref"), help: "LOCAL_PREF (iBGP only).") var localPref: UInt32?
    @Option(name: .customLong("next-hop"), help: "Next hop for IPv4 routes (default: our end of the session).") var nextHop: String?
    @Option(name: .customLong("next-hop-ipv6"), help: "Next hop for IPv6 routes (default: our end of an IPv6 session, else a global IPv6 address on its interface).") var nextHopIPv6: String?
    @Flag(name: .customLong("dual-stack"), help: "Carry both address families (dualStackAddressFamily); without it the session carries its transport's family only.")
    var dualStack = false
    @Flag(name: .customLong("ebgp-multihop"), help: "eBGP peer is not directly connected (TTL 255 instead of 1).") var multihop = false
    @Option(name: .customLong("ttl-security"), help: "RFC 5082 GTSM: send with TTL 255, accept only packets from at most HOPS hops away.")
    var ttlSecurity: Int?
    @Flag(name: .customLong("graceful-restart"), help: "Advertise graceful restart (RFC 4724); on SIGTERM close without NOTIFICATION.")
    var gracefulRestart = false
    @Option(name: .customLong("bfd-interval"), help: "Run BFD beside the session (RFC 5880): transmit and receive interval in milliseconds.")
    var bfdInterval: Int?
    @Option(name: .customLong("bfd-multiplier"), help: "BFD detect multiplier.") var bfdMultiplier = 3
    @Option(help: "Stop after this many seconds.") var duration: Double?

    func run() async throws {
        guard let peerIP = try? IPAddress(peer) else { throw ValidationError("--peer \"\(peer)\" is not an IP address") }
        guard let local = try? ASN(asn) else { throw ValidationError("--asn \"\(asn)\" is not an AS number") }
        guard let remote = try? ASN(peerASN) else { throw ValidationError("--peer-asn \"\(peerASN)\" is not an AS number") }
        guard holdTime == 0 || holdTime >= 3 else { throw ValidationError("--hold-time must be 0 or at least 3 seconds") }
        if let password, password.utf8.count > 80 { throw ValidationError("--password is longer than TCP MD5's 80 bytes") }
        let sourceIP = try source.map { s -> IPAddress in
            guard let ip = try? IPAddress(s) else { throw ValidationError("--source \"\(s)\" is not an IP address") }
            return ip
        }
        let id: IPv4Address
        if let routerID {
            guard let v = try? IPv4Address(routerID) else { throw ValidationError("--router-id must be an IPv4 address") }
            id = v
        } else if case .v4(let v)? = sourceIP {
            id = v
        } else if let v = Self.firstIPv4() {
            id = v
        } else {
            throw ValidationError("no IPv4 address to use as router ID; give --router-id")
        }
        var attrs = PathAttributes()
        for c in community {
            guard let v = try? BGPCommunity(c) else { throw ValidationError("--community \"\(c)\" is not a community like 65000:100") }
            attrs.communities.append(v)
        }
        for c in largeCommunity {
            guard let v = try? LargeCommunity(c) else { throw ValidationError("--large-community \"\(c)\" is not like 64512:1:2") }
            attrs.largeCommunities.append(v)
        }
        attrs.localPreference = localPref
        if let nextHop { guard let v = try? IPv4Address(nextHop) else { throw ValidationError("--next-hop must be IPv4") }; attrs.nextHop = v }
        if let nextHopIPv6 { guard let v = try? IPv6Address(nextHopIPv6) else { throw ValidationError("--next-hop-ipv6 must be IPv6") }; attrs.nextHopIPv6 = v }
        var routes: [IPPrefix: PathAttributes] = [:]
        for p in announce {
            guard let prefix = try? IPPrefix(p) else { throw ValidationError("--announce \"\(p)\" is not a prefix") }
            routes[prefix] = attrs
        }

        if let ttlSecurity {
            guard (1...254).contains(ttlSecurity) else { throw ValidationError("--ttl-security must be a number of hops from 1 to 254") }
            guard !multihop else { throw ValidationError("--ttl-security and --ebgp-multihop are mutually exclusive: GTSM sets the hop limit") }
        }
        var fsm = SessionStateMachine.Configuration(localASN: local, peerASN: remote, routerID: id)
        fsm.holdTime = .seconds(holdTime)
        fsm.keepaliveTime = keepaliveTime.map { .seconds($0) }
        fsm.gracefulRestart = gracefulRestart
        fsm.families = SessionStateMachine.Configuration.families(transport: peerIP.family, dualStack: dualStack)
        var config = BGPSession.Configuration(peer: peerIP, fsm: fsm)
        config.port = port
        config.password = password
        config.sourceAddress = sourceIP
        config.ebgpMultiHop = multihop
        config.ttlSecurityHops = ttlSecurity
        if let bfdInterval {
            guard (10...60_000).contains(bfdInterval), (2...255).contains(bfdMultiplier) else {
                throw ValidationError("--bfd-interval must be 10-60000 ms and --bfd-multiplier 2-255, as in a BFDProfile")
            }
            var bfd = BFDEndpoint.Options()
            bfd.session.desiredMinTx = .milliseconds(bfdInterval)
            bfd.session.requiredMinRx = .milliseconds(bfdInterval)
            bfd.session.detectMultiplier = UInt8(bfdMultiplier)
            bfd.multihop = multihop
            bfd.source = sourceIP
            config.bfd = bfd
        }
        var logger = Logger(label: "beacon.bgp-probe")
        logger.logLevel = .critical
        let start = Date()
        let session = BGPSession(configuration: config, logger: logger, bfd: config.bfd == nil ? nil : BFDEndpoint(logger: logger)) { line in
            print(String(format: "%8.3f  ", Date().timeIntervalSince(start)) + line)
            fflush(nil)
        }
        if gracefulRestart { session.setStopMode(.gracefulRestart) }
        session.setRoutes(routes)
        print("bgp-probe: AS \(local) → \(config.label) AS \(remote) (\(config.isEBGP ? "eBGP" : "iBGP")), router ID \(id), hold \(holdTime) s"
              + (password != nil ? ", TCP MD5" : "") + (routes.isEmpty ? "" : ", announcing \(routes.count) prefix(es)"))
        fflush(nil)
        let probe = ServiceGroupConfiguration.ServiceConfiguration(service: ProbeService(session: session, duration: duration),
                                                                  successTerminationBehavior: .gracefullyShutdownGroup)
        let group = ServiceGroup(configuration: .init(services: [probe], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        let s = session.status
        print(String(format: "%8.3f  ", Date().timeIntervalSince(start)) + "stopped; messages sent \(s.messagesSent.sorted { $0.key < $1.key }), received \(s.messagesReceived.sorted { $0.key < $1.key }); prefixes received \(s.prefixesReceived)")
        if (s.messagesReceived["keepalive"] ?? 0) == 0 { throw ExitCode(1) }
    }

    static func firstIPv4() -> IPv4Address? {
        for nic in (try? NetlinkReader.interfaces()) ?? [] where !nic.isLoopback {
            for a in nic.addresses {
                if let v = try? IPv4Address(a.split(separator: "/").first ?? "") { return v }
            }
        }
        return nil
    }
}

/// Runs the session until graceful shutdown (or the duration), then lets it send its Cease.
struct ProbeService: Service {
    let session: BGPSession
    let duration: Double?

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await session.run() }
            if let duration {
                try? await Task.sleep(for: .milliseconds(Int(duration * 1000)))
            } else {
                try? await gracefulShutdown()
            }
            session.stop()
        }
    }
}
