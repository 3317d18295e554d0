import AsyncHTTPClient
import ArgumentParser
import Foundation
import NIOCore
import SpeakerRuntime

/// Where a running speaker serves /debug/state.
struct DebugEndpoint: ParsableArguments {
    @Option(name: .customLong("debug-addr"), help: "The speaker's debug address, HOST:PORT (its --debug-addr; default 127.0.0.1:7474).")
    var debugAddr = "127.0.0.1:7474"
    @Option(name: .shortAndLong, help: "Output format: text or json.") var output: OutputFormat = .text

    /// Fetches and decodes the state; exit 2 with a clear message when the speaker cannot be reached.
    func fetch(service: String? = nil) async throws -> (DebugState, [UInt8]) {
        var host = debugAddr
        if host.hasPrefix(":") { host = "127.0.0.1" + host }
        var url = "http://\(host)/debug/state"
        if let service, let q = service.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~/"))) {
            url += "?service=" + q
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let body: [UInt8]
        do {
            defer { _ = client.shutdown() }
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            guard response.status == .ok else {
                let hint = response.status == .notFound ? " (that is not a speaker's debug listener: /metrics and the probes are on --admin-addr, /debug/state on --debug-addr)" : ""
                throw CLIError("\(url) answered \(response.status)\(hint)")
            }
            var buffer = try await response.body.collect(upTo: 256 << 20)
            body = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let e as CLIError {
            FileHandle.standardError.write(Data("speaker: \(e)\n".utf8))
            throw ExitCode(2)
        } catch {
            FileHandle.standardError.write(Data("speaker: cannot reach the speaker at \(url): \(error) (is `speaker run` up on this node, and --debug-addr right?)\n".utf8))
            throw ExitCode(2)
        }
        do { return (try JSONDecoder().decode(DebugState.self, from: Data(body)), body) } catch {
            FileHandle.standardError.write(Data("speaker: \(url) did not return a speaker state: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try e.encode(value), as: UTF8.self))
}

func formatSeconds(_ s: Double?) -> String {
    guard let s else { return "-" }
    let t = Int(s)
    if t >= 86400 { return "\(t / 86400)d\(t % 86400 / 3600)h" }
    if t >= 3600 { return "\(t / 3600)h\(t % 3600 / 60)m" }
    if t >= 60 { return "\(t / 60)m\(t % 60)s" }
    return "\(t)s"
}

/// Left-aligned columns.
func table(_ rows: [[String]]) -> String {
    guard let header = rows.first else { return "" }
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    return rows.map { r in
        r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }.joined(separator: "\n")
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status",
        abstract: "This node's speaker: configuration, membership, the IPs it announces and where, interfaces, BGP peers.")
    @OptionGroup var endpoint: DebugEndpoint

    func run() async throws {
        let (s, _) = try await endpoint.fetch()
        if endpoint.output == .json { return try printJSON(s) }
        var lines = ["node \(s.node), up \(formatSeconds(s.uptimeSeconds)), \(s.passes) passes"]
        let c = s.configuration
        lines.append("configuration: " + (c.loaded ? "\(c.pools) pool(s), \(c.peers) peer(s)" : "none loaded")
                     + (c.stale ? " — the latest was REJECTED, the last good one is in force: \(c.error ?? "")" : ""))
        if s.membership.enabled {
            let alive = s.membership.members.filter(\.alive).map(\.name)
            lines.append("membership: \(alive.count)/\(s.membership.members.count) speakers alive (\(alive.joined(separator: ", "))), UDP \(s.membership.port)"
                         + (s.membership.refusedDatagrams > 0 ? ", \(s.membership.refusedDatagrams) datagrams refused" : ""))
        } else {
            lines.append("membership: off (\(s.membership.disabledReason ?? "disabled")); node conditions decide")
        }
        lines.append("layer 2: \(s.layer2.count) address(es) announced")
        for a in s.layer2 { lines.append("  \(a.ip)  \(a.service)  on \(a.interfaces.joined(separator: ", "))") }
        let bgpServices = s.services.filter { $0.bgp?.routes != nil }
        lines.append("bgp: \(s.peers.filter { $0.state == "Established" }.count)/\(s.peers.count) peers established, \(bgpServices.count) service(s) advertised")
        for p in s.peers {
            lines.append("  \(p.name) \(p.address) \(p.state)" + (p.state == "Established" ? " for \(formatSeconds(p.uptimeSeconds)), \(p.advertised) prefixes" : "")
                         + (p.bfd.map { "; BFD \($0)" } ?? "") + (p.lastError.map { "; last error: \($0)" } ?? ""))
            for w in p.withheld ?? [] { lines.append("    not sent: \(w)") }
        }
        let eligible = s.interfaces.filter(\.eligible).map(\.name)
        lines.append("interfaces eligible for layer 2: \(eligible.isEmpty ? "none" : eligible.joined(separator: ", "))")
        if let f = s.failover.lastSeconds { lines.append("takeovers after a lost member: \(s.failover.takeovers), last \(String(format: "%.1f", f * 1000)) ms") }
        if !s.conflicts.isEmpty {
            lines.append("CONFLICTS (another station answers for an announced IP):")
            for c in s.conflicts.prefix(5) { lines.append("  \(c)") }
        }
        print(lines.joined(separator: "\n"))
    }
}

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain",
        abstract: "Why this node does or does not announce a Service's IPs: pool, advertisements, ranked candidates, endpoints, interfaces, peers.",
        discussion: "The first command to run when an IP is assigned but nothing answers ARP, or a router lacks a route. Exit 1 when the speaker does not know the Service.")
    @OptionGroup var endpoint: DebugEndpoint
    @Argument(help: "NAMESPACE/NAME") var service: String

    func run() async throws {
        let (s, _) = try await endpoint.fetch(service: service)
        guard let e = s.services.first(where: { $0.service == service }) else {
            FileHandle.standardError.write(Data("speaker: \(service) is not a LoadBalancer Service with an assigned address that this speaker handles (check its status.loadBalancer.ingress, and --lb-class)\n".utf8))
            throw ExitCode(1)
        }
        if endpoint.output == .json { return try printJSON(e) }
        var lines = e.text(node: s.node)
        let mine = s.layer2.filter { $0.service == service }
        if !mine.isEmpty { lines.append("  announcing now: " + mine.map { "\($0.ip) on \($0.interfaces.joined(separator: ","))" }.joined(separator: "; ")) }
        if e.layer2.contains(where: \.announces), mine.isEmpty {
            lines.append("  PROBLEM: this node should announce but has no usable interface (eligible: \(s.interfaces.filter(\.eligible).map(\.name).joined(separator: ", ")))")
        }
        if let routes = e.bgp?.routes {
            // Each peer once, with the prefixes it is given.
            var prefixes: [String: [String]] = [:]
            for r in routes { for name in r.peers { prefixes[name, default: []].append(r.prefix) } }
            for (name, list) in prefixes.sorted(by: { $0.key < $1.key }) {
                let p = s.peers.first { $0.name == name }
                lines.append("  peer \(name): \(p.map { "\($0.address) \($0.state)" } ?? "no session on this node"), \(list.joined(separator: ", "))")
            }
        }
        if !s.conflicts.isEmpty, let c = s.conflicts.first(where: { line in e.addresses.contains { line.contains(" claims \($0)") } }) {
            lines.append("  CONFLICT: \(c)")
        }
        print(lines.joined(separator: "\n"))
    }
}

struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peers", abstract: "BGP sessions: state, uptime, last error, prefixes sent.")
    @OptionGroup var endpoint: DebugEndpoint

    func run() async throws {
        let (s, _) = try await endpoint.fetch()
        if endpoint.output == .json { return try printJSON(s.peers) }
        if s.peers.isEmpty { print("no BGP peers select node \(s.node)"); return }
        var rows = [["PEER", "ADDRESS", "ASN", "STATE", "UP", "HOLD", "BFD", "SENT", "PENDING", "LAST ERROR"]]
        for p in s.peers {
            rows.append([p.name, p.address, "\(p.localASN)→\(p.peerASN == 0 ? "external" : "\(p.peerASN)")", p.state, formatSeconds(p.uptimeSeconds),
                         p.holdTimeSeconds.map { "\(Int($0))s" } ?? "-", p.bfd ?? "-", "\(p.advertised)", "\(p.pending)",
                         p.lastError ?? (p.withheld?.joined(separator: "; ") ?? "-")])
        }
        print(table(rows))
    }
}

struct RoutesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "routes", abstract: "What this node advertises to each BGP peer (Adj-RIB-Out).")
    @OptionGroup var endpoint: DebugEndpoint
    @Option(help: "Only this BGPPeer.") var peer: String?

    func run() async throws {
        let (s, _) = try await endpoint.fetch()
        let peers = s.peers.filter { peer == nil || $0.name == peer }
        if endpoint.output == .json { return try printJSON(Dictionary(uniqueKeysWithValues: peers.map { ($0.name, $0.routes) })) }
        var rows = [["PEER", "PREFIX", "LOCAL_PREF", "COMMUNITIES", "SENT"]]
        for p in peers {
            for r in p.routes {
                rows.append([p.name, r.prefix, r.localPref.map(String.init) ?? "-", r.communities.isEmpty ? "-" : r.communities.joined(separator: " "),
                             Self.sent(r.prefix, p)])
            }
        }
        print(rows.count == 1 ? "no routes advertised" : table(rows))
    }
}

extension RoutesCommand {
    /// Whether the route is on the wire: only on an Established session, and not in a family withheld for want of a
    /// next hop.
    static func sent(_ prefix: String, _ p: DebugState.Peer) -> String {
        guard p.state == "Established" else { return "no (session \(p.state))" }
        let family = prefix.contains(":") ? "IPv6" : "IPv4"
        if let why = p.withheld?.first(where: { $0.hasPrefix(family + ":") }) { return "no (\(why))" }
        return "yes"
    }
}

struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "members", abstract: "The speakers this one knows, which are alive, and recent changes.")
    @OptionGroup var endpoint: DebugEndpoint

    func run() async throws {
        let (s, _) = try await endpoint.fetch()
        if endpoint.output == .json { return try printJSON(s.membership) }
        guard s.membership.enabled else {
            print("membership is off (\(s.membership.disabledReason ?? "disabled")); Node conditions decide who announces")
            return
        }
        var rows = [["MEMBER", "ADDRESS", "STATE"]]
        for m in s.membership.members { rows.append([m.name + (m.name == s.node ? " (this node)" : ""), m.address ?? "-", m.alive ? "alive" : "dead"]) }
        var out = table(rows)
        if s.membership.refusedDatagrams > 0 { out += "\n\(s.membership.refusedDatagrams) datagram(s) refused (wrong key, replay or stranger)" }
        if s.membership.talking == false { out += "\nPROBLEM: the membership socket is down (\(s.membership.socketError ?? "opening")); reopening with backoff" }
        if let n = s.membership.socketFailures, n > 0 { out += "\nthe membership socket failed \(n) time(s) and was opened again" }
        if !s.membership.recentChanges.isEmpty { out += "\nrecent changes:\n" + s.membership.recentChanges.prefix(10).map { "  \($0)" }.joined(separator: "\n") }
        print(out)
    }
}
