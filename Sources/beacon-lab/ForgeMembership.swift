import ArgumentParser
import Crypto
import Foundation
import Membership
import NIOCore
import NIOPosix

/// `beacon-lab forge-membership`: sends membership datagrams an attacker (or a stale node) could send, to check that
/// speakers ignore them: a leave or a death report signed with the wrong key, or with the right key but an old
/// incarnation (a replay of an earlier life).
struct ForgeMembership: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forge-membership",
                                                    abstract: "Send forged membership datagrams (for tests).")
    @Option(help: "Target speaker address.") var to: String
    @Option(help: "UDP port.") var port = 7946
    @Option(help: "Claimed sender (a real member's name).") var sender: String
    @Option(help: "File with the key to sign with (the speakers' --ml-secret-key-path, or another).") var keyFile: String
    @Option(help: "Incarnation to claim (a replay uses an old one).") var incarnation: UInt64 = 1
    @Option(help: "Members to report dead in the datagram.") var reportDead: [String] = []
    @Option(help: "Datagrams to send.") var count = 20

    func run() async throws {
        guard let secret = FileManager.default.contents(atPath: keyFile) else { throw ValidationError("cannot read \(keyFile)") }
        let key = SymmetricKey(data: SHA256.hash(data: Array(secret)))
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "0.0.0.0", port: 0).get()
        let target = try SocketAddress(ipAddress: to, port: port)
        for i in 0..<count {
            let reports = reportDead.map { MembershipMessage.Report(name: $0, alive: false, incarnation: UInt64.max) }
            let kind: MembershipMessage.Kind = i.isMultiple(of: 2) ? .leave : .heartbeat
            let message = MembershipMessage(kind: kind, sender: sender, incarnation: incarnation, sequence: UInt64(i + 1), reports: reports)
            try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: message.encode(key: key)))
            try await Task.sleep(for: .milliseconds(10))
        }
        try await channel.close()
        print("sent \(count) forged datagrams claiming to be \(sender)")
    }
}
