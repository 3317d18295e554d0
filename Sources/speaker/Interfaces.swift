import ArgumentParser
import Foundation
import Netlink
import NetworkPrimitives

/// `speaker interfaces`: what netlink sees, and which interfaces layer 2 mode would answer on, and why.
struct Interfaces: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List network interfaces and whether layer 2 mode would announce on each, with the reason.",
        discussion: """
            Reads links and addresses from the kernel (netlink). An interface is used when it is up, broadcast-capable, \
            has ARP on, is not a bridge or bond port, and its name matches no exclude pattern (MetalLB's defaults \
            unless --exclude is given); --interface restricts the choice as an L2Advertisement's interfaces do. \
            With --ip, interfaces whose subnet contains the address are listed first.
            """
    )

    @Option(name: .shortAndLong, help: "Output format: text or json.") var output: OutputFormat = .text
    @Option(name: .customLong("interface"), help: "Only these interfaces (like an L2Advertisement's interfaces).") var listed: [String] = []
    @Option(name: .customLong("exclude"), help: "Exclude names matching these regular expressions instead of MetalLB's defaults.") var excludes: [String] = []
    @Option(help: "The service IP to rank interfaces for.") var ip: String?
    @Flag(help: "Print again whenever a link or address changes (netlink notifications), until interrupted.") var watch = false

    func validate() throws {
        if let ip, (try? IPAddress(ip)) == nil { throw ValidationError("--ip \"\(ip)\" is not an IP address") }
        for p in excludes { do { _ = try InterfacePattern(p) } catch { throw ValidationError("--exclude \(error)") } }
    }

    func run() async throws {
        if watch {
            do {
                try await InterfaceMonitor.watch { interfaces in
                    print("--- \(ISO8601DateFormatter().string(from: Date()))")
                    try render(interfaces)
                    fflush(nil)
                }
            } catch {
                FileHandle.standardError.write(Data("speaker interfaces: \(error)\n".utf8))
                throw ExitCode(2)
            }
            return
        }
        let interfaces: [NetworkInterface]
        do { interfaces = try NetlinkReader.interfaces() } catch {
            FileHandle.standardError.write(Data("speaker interfaces: \(error)\n".utf8))
            throw ExitCode(2)
        }
        try render(interfaces)
    }

    func render(_ interfaces: [NetworkInterface]) throws {
        let decisions = InterfaceEligibility.evaluate(
            interfaces, listed: listed, excludes: excludes.isEmpty ? InterfaceEligibility.defaultExcludes : excludes,
            ip: ip.flatMap { try? IPAddress($0) })
        switch output {
        case .json:
            struct Row: Encodable {
                var interface: NetworkInterface
                var eligible: Bool
                var decision: String
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let rows = decisions.map { Row(interface: $0.interface, eligible: $0.decision.isEligible, decision: $0.decision.description) }
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        case .text:
            let nameWidth = max(9, decisions.map(\.interface.name.count).max() ?? 0)
            print("INTERFACE".padding(toLength: nameWidth + 2, withPad: " ", startingAt: 0) + "INDEX  MAC                STATE    DECISION                                  ADDRESSES")
            for (i, d) in decisions {
                let columns = [
                    i.name.padding(toLength: nameWidth + 2, withPad: " ", startingAt: 0),
                    String(i.index).padding(toLength: 7, withPad: " ", startingAt: 0),
                    (i.mac ?? "-").padding(toLength: 19, withPad: " ", startingAt: 0),
                    i.operState.padding(toLength: 9, withPad: " ", startingAt: 0),
                    d.description.padding(toLength: max(42, d.description.count + 1), withPad: " ", startingAt: 0),
                    i.addresses.isEmpty ? "-" : i.addresses.joined(separator: ","),
                ]
                print(columns.joined())
            }
        }
    }
}
