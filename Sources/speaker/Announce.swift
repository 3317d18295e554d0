import ArgumentParser
import Foundation
import LinkLayer
import Logging
import NIOCore
import Netlink
import NetworkPrimitives
import PacketSocket
import ServiceLifecycle
import SpeakerRuntime
import Synchronization

/// The interface to use for `ip`: the one named, else the best eligible one (its subnet contains the address).
func linkEndpoint(named name: String?, for ip: IPAddress?) throws -> LinkEndpoint {
    let interfaces: [NetworkInterface]
    do { interfaces = try NetlinkReader.interfaces() } catch {
        throw CLIError("cannot read interfaces: \(error)")
    }
    let chosen: NetworkInterface
    if let name {
        guard let nic = interfaces.first(where: { $0.name == name }) else {
            throw CLIError("no interface \"\(name)\" (have: \(interfaces.map(\.name).joined(separator: ", ")))")
        }
        chosen = nic
    } else {
        let ranked = InterfaceEligibility.evaluate(interfaces, ip: ip)
        guard let best = ranked.first(where: { $0.decision.isEligible }) else {
            throw CLIError("no interface is eligible for layer 2 announcements; see `speaker interfaces`, or name one with --interface")
        }
        chosen = best.interface
    }
    guard let endpoint = LinkEndpoint(chosen) else { throw CLIError("interface \(chosen.name) has no Ethernet MAC address") }
    return endpoint
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func epochMilliseconds() -> String { String(format: "%.3f", Date().timeIntervalSince1970 * 1000) }

/// `speaker announce`: gratuitous ARP / unsolicited NA for addresses, once or while serving.
struct Announce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send gratuitous ARP (IPv4) or unsolicited neighbour advertisements (IPv6) for addresses; with --serve, keep answering for them.",
        discussion: """
            Without --serve, sends the gratuitous schedule (default 5 frames over 2 s; --count/--interval or --schedule \
            change it) and exits. With --serve, also answers ARP requests and neighbour solicitations for the addresses \
            until SIGTERM or SIGINT, and reports any other station that claims them. Needs CAP_NET_RAW. \
            Do not announce an address another host owns: its neighbours will send its traffic here.
            """
    )

    @Option(name: .customLong("ip"), help: "Address to announce (repeatable).") var ips: [String] = []
    @Option(name: .customLong("interface"), help: "Interface to announce on (default: the best eligible one for the first address).")
    var interface: String?
    @Option(help: "Number of gratuitous frames per address.") var count: Int?
    @Option(help: "Milliseconds between gratuitous frames (with --count).") var interval = 250
    @Option(help: "Gratuitous schedule as offsets, e.g. 0,250ms,500ms,1s,2s (overrides --count).") var schedule: String?
    @Flag(help: "Keep answering ARP/NDP for the addresses until SIGTERM or SIGINT.") var serve = false

    func run() async throws {
        guard !ips.isEmpty else { throw ValidationError("give at least one --ip") }
        var addresses: [IPAddress] = []
        for text in ips {
            guard let ip = try? IPAddress(text) else { throw ValidationError("--ip \"\(text)\" is not an IP address") }
            addresses.append(ip)
        }
        let plan: GratuitousSchedule
        if let schedule {
            do { plan = try GratuitousSchedule(schedule) } catch { throw ValidationError("--schedule: \(error)") }
        } else if let count {
            plan = .evenly(count: count, interval: .milliseconds(interval))
        } else {
            plan = .default
        }
        let endpoint: LinkEndpoint
        do { endpoint = try linkEndpoint(named: interface, for: addresses.first) } catch {
            FileHandle.standardError.write(Data("speaker announce: \(error)\n".utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "beacon.speaker")
        logger.logLevel = .warning
        let announcer = LayerTwoAnnouncer(schedule: plan, logger: logger) { conflict in
            print("\(epochMilliseconds()) conflict: \(conflict.mac) also claims \(conflict.ip)")
            fflush(nil)
        }
        let shared = SharedEndpoint(endpoint)
        let announcements = Set(addresses.map { LayerTwoAnnouncer.Announcement(ip: $0, interface: shared) })
        let report = await announcer.update(announcements)
        if let failure = report.failed.values.first {
            FileHandle.standardError.write(Data("speaker announce: \(failure)\n".utf8))
            throw ExitCode(2)
        }
        let list = addresses.map(\.description).joined(separator: ", ")
        print("\(epochMilliseconds()) announced \(list) on \(endpoint.name) (\(endpoint.mac)): first gratuitous frame sent; "
              + "\(plan.offsets.count) per address over \(plan.offsets.last.map { "\($0)" } ?? "0 s")")
        fflush(nil)
        if serve {
            print("answering ARP/NDP for \(list); SIGTERM or SIGINT to stop")
            fflush(nil)
            let group = ServiceGroup(configuration: .init(services: [UntilShutdown()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        } else if let last = plan.offsets.last {
            try await Task.sleep(for: last + .milliseconds(20))
        }
        await announcer.stop()
        print("\(epochMilliseconds()) released \(list)")
    }
}

/// A service that only waits for graceful shutdown.
struct UntilShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}

/// `speaker who-has`: ask the segment who answers for an address, and list every MAC that does.
struct WhoHas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "who-has",
        abstract: "Send ARP requests (IPv4) or neighbour solicitations (IPv6) for an address and print every MAC that answers.",
        discussion: """
            More than one MAC for one address means two stations answer for it: a split brain between speakers, or a \
            host with the address configured. Exit status: 0 when exactly one MAC answered, 1 when none did, 3 when \
            several did. Needs CAP_NET_RAW.
            """
    )

    @Argument(help: "The address to ask about.") var ip: String
    @Option(name: .customLong("interface"), help: "Interface to ask on (default: the best eligible one for the address).") var interface: String?
    @Option(help: "Requests to send, one per --wait.") var count = 3
    @Option(help: "Milliseconds to wait for answers after each request.") var wait = 300
    @Option(name: .shortAndLong, help: "Output format: text or json.") var output: OutputFormat = .text

    struct Answer: Encodable {
        var mac: String
        var request: Int
        var latencyMilliseconds: Double
    }

    func run() async throws {
        guard let address = try? IPAddress(ip) else { throw ValidationError("\"\(ip)\" is not an IP address") }
        let endpoint: LinkEndpoint
        do { endpoint = try linkEndpoint(named: interface, for: address) } catch {
            FileHandle.standardError.write(Data("speaker who-has: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let collected = Collected()
        let socket: PacketSocket
        do {
            socket = try await PacketSocket.open(endpoint) { bytes in
                guard let frame = try? EthernetFrame(decoding: bytes) else { return nil }
                let now = ContinuousClock.now
                switch frame.etherType {
                case EtherType.arp:
                    if let arp = try? ARPPacket(decoding: frame.payload), arp.operation == .reply, IPAddress.v4(arp.senderIP) == address {
                        collected.add(arp.senderMAC, at: now)
                    }
                case EtherType.ipv6:
                    if let ndp = try? NDPPacket(decoding: frame.payload), case .neighborAdvertisement(let na) = ndp.message,
                       IPAddress.v6(na.target) == address {
                        collected.add(na.targetLinkLayer ?? frame.source, at: now)
                    }
                default: break
                }
                return nil
            }
        } catch {
            FileHandle.standardError.write(Data("speaker who-has: \(error)\n".utf8))
            throw ExitCode(2)
        }
        for n in 1...max(1, count) {
            collected.startRequest(n)
            socket.send(LayerTwoAnnouncer.request(for: address, from: endpoint))
            try await Task.sleep(for: .milliseconds(wait))
        }
        await socket.close()
        let answers = collected.answers()
        let macs = Set(answers.map(\.mac))
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            struct Result: Encodable { var ip: String; var interface: String; var macs: [String]; var answers: [Answer] }
            print(String(decoding: try encoder.encode(Result(ip: ip, interface: endpoint.name, macs: macs.sorted(), answers: answers)), as: UTF8.self))
        case .text:
            for a in answers { print("\(ip) is at \(a.mac) (request \(a.request), \(String(format: "%.3f", a.latencyMilliseconds)) ms) on \(endpoint.name)") }
            switch macs.count {
            case 0: print("no answer for \(ip) on \(endpoint.name) after \(count) request(s)")
            case 1: print("1 MAC answers for \(ip)")
            default: print("\(macs.count) MACs answer for \(ip): \(macs.sorted().joined(separator: ", ")) — two stations claim this address (split brain?)")
            }
        }
        if macs.isEmpty { throw ExitCode(1) }
        if macs.count > 1 { throw ExitCode(3) }
    }

    /// An ARP request from the interface's own address (or an RFC 5227 probe from 0.0.0.0), or a neighbour
    /// solicitation to the solicited-node group with our link-layer address.
}

/// Answers seen by `who-has`, stamped against the latest request.
final class Collected: Sendable {
    private let state = Mutex<(request: Int, sent: ContinuousClock.Instant, answers: [WhoHas.Answer])>((0, .now, []))

    func startRequest(_ n: Int) { state.withLock { $0.request = n; $0.sent = .now } }

    func add(_ mac: MACAddress, at time: ContinuousClock.Instant) {
        state.withLock { s in
            let (sec, atto) = (time - s.sent).components
            s.answers.append(.init(mac: mac.description, request: s.request, latencyMilliseconds: Double(sec) * 1000 + Double(atto) / 1e15))
        }
    }

    func answers() -> [WhoHas.Answer] { state.withLock { $0.answers } }
}
